/* report_gen.c - see tests/support/report_gen.h */
#define _GNU_SOURCE
#include "report_gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char spec_metric[] =
"name: generated\n"
"method: random\n"
"metric:\n"
"  name: val_accuracy\n"
"  goal: maximize\n";

static const char spec_params[] =
"parameters:\n"
"  learning_rate:\n"
"    distribution: log_uniform_values\n"
"    min: 0.00001\n"
"    max: 0.1\n"
"  batch_size:\n"
"    values: [32, 64, 128, 256]\n"
"  optimizer:\n"
"    values: [adam, sgd, rmsprop]\n"
"  epochs:\n"
"    distribution: int_uniform\n"
"    min: 1\n"
"    max: 6\n"
"  model:\n"
"    parameters:\n"
"      conv1_filters:\n"
"        values: [8, 16, 32, 64]\n"
"      dropout:\n"
"        distribution: uniform\n"
"        min: 0.0\n"
"        max: 0.6\n";

/* xorshift: enough for test data, independent of the library's RNG */
static double rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (*s % 1000000) / 1000000.0;
}

int sw_gen_results(const char *dir, const struct sw_gen_opts *o)
{
	static const char *const opts[] = { "adam", "sgd", "rmsprop" };
	static const int bss[] = { 32, 64, 128, 256 }, filt[] = { 8, 16, 32, 64 };
	unsigned s = o->seed ? o->seed : 1;
	char path[4096];
	FILE *runs = NULL, *f = NULL;
	size_t i;
	int e, ret = -1;

	if (mkdir(dir, 0755) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/sweep.yaml", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	if (o->with_metric)
		fputs(spec_metric, f);
	else
		fputs("name: generated\nmethod: random\n", f);
	fputs(spec_params, f);
	fclose(f);
	f = NULL;
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fprintf(f, "{\"format\": 1, \"start_time\": \"2026-11-26T10:00:00Z\", "
		"\"start_timestamp\": 1795687200, \"seed\": %u, \"parallel\": 2, "
		"\"threads\": 1}\n", o->seed);
	fclose(f);
	f = NULL;
	snprintf(path, sizeof(path), "%s/runs", dir);
	if (mkdir(path, 0755) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/runs.jsonl", dir);
	if (!(runs = fopen(path, "w")))
		return -1;
	for (i = 0; i < o->n_runs; i++) {
		double lr = pow(10, -5 + 4 * rnd(&s)), drop = 0.6 * rnd(&s), quality;
		int bs = bss[(int)(rnd(&s) * 4) % 4], fl = filt[(int)(rnd(&s) * 4) % 4];
		const char *opt = opts[(int)(rnd(&s) * 3) % 3];
		int epochs = 1 + (int)(rnd(&s) * 6) % 6, ran = epochs;
		double u = rnd(&s), best = NAN, va = 0, t = 1795687200 + i * 30.0;
		const char *state = u < 0.08 ? "failed" : u < 0.2 ? "stopped" :
				    u < 0.23 ? "killed" : "finished";
		char id[32];

		snprintf(id, sizeof(id), "r%04zu", i);
		/* best near lr 3e-3, adam, more filters, less dropout */
		quality = 0.75 - 0.08 * pow(log10(lr) + 2.5, 2) - 0.2 * drop +
			  (strcmp(opt, "adam") ? -0.05 : 0.03) + 0.02 * log2(fl / 8.0) +
			  0.03 * (rnd(&s) - 0.5);
		if (!strcmp(state, "stopped") || !strcmp(state, "killed"))
			ran = epochs > 1 ? 1 + (int)(rnd(&s) * (epochs - 1)) : 1;
		if (!strcmp(state, "failed"))
			ran = (int)(rnd(&s) * 2);
		if (o->with_history && ran > 0) {
			snprintf(path, sizeof(path), "%s/runs/%s", dir, id);
			mkdir(path, 0755);
			snprintf(path, sizeof(path), "%s/runs/%s/history.jsonl", dir, id);
			if (!(f = fopen(path, "w")))
				goto done;
			for (e = 0; e < ran; e++) {
				double frac = (e + 1.0) / 6;

				va = 0.1 + (quality - 0.1) * (1 - (1 - frac) * (1 - frac));
				if (va < 0.05)
					va = 0.05;
				if (isnan(best) || va > best)
					best = va;
				fprintf(f, "{\"_step\": %d, \"_runtime\": %.2f, \"_timestamp\": "
					"%.2f, \"epoch\": %d, \"loss\": %.4f, \"accuracy\": %.4f, "
					"\"val_loss\": %.4f, \"val_accuracy\": %.4f, "
					"\"learning_rate\": %g, \"images_per_sec\": 900.0}\n",
					e, 5.0 * (e + 1), t + 5.0 * (e + 1), e + 1,
					2.3 - 1.6 * va, va + 0.04, 2.35 - 1.5 * va, va, lr);
			}
			fclose(f);
			f = NULL;
		}
		fprintf(runs, "{\"id\": \"%s\", \"state\": \"%s\", \"params\": "
			"{\"learning_rate\": %.6g, \"batch_size\": %d, \"optimizer\": \"%s\", "
			"\"epochs\": %d, \"model\": {\"conv1_filters\": %d, \"dropout\": %.4f}}, "
			"\"summary\": {", id, state, lr, bs, opt, epochs, fl, drop);
		if (o->with_history && ran > 0)
			fprintf(runs, "\"_step\": %d, \"loss\": %.4f, \"val_accuracy\": %.4f",
				ran - 1, 2.3 - 1.6 * va, va);
		if (o->with_history && ran > 0 && o->with_metric)
			fprintf(runs, ", \"best\": {\"name\": \"val_accuracy\", \"value\": %.4f, "
				"\"_step\": %d}", best, ran - 1);
		fprintf(runs, "}, \"epochs\": %d, \"seed\": %zu, \"index\": %zu, "
			"\"runtime_s\": %.2f%s}\n", ran, 1000 + i, i, 5.0 * ran + 0.3,
			!strcmp(state, "failed") ? ", \"reason\": \"loss became NaN\"" : "");
	}
	ret = 0;
done:
	if (f)
		fclose(f);
	fclose(runs);
	return ret;
}
