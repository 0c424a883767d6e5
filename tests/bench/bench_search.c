/* bench_search.c - drives `sweep suggest` as an ask/tell loop (one process
 * per suggestion, the way any external program would use it) and measures
 * search quality and whole-process suggestion latency.
 *
 *   bench_search quality SWEEP FUNC METHOD TRIALS SEEDS
 *         [ROUND batch|running|history]
 *       FUNC branin|hartmann6, METHOD bayes|random: prints each seed's best
 *       value, the median and the worst over seeds 0..SEEDS-1. With ROUND > 1
 *       the trials are proposed in rounds of ROUND whose results are told
 *       only when the round ends: asked as one `suggest --count ROUND`
 *       (batch) or one at a time, each call seeing the round's earlier
 *       proposals as running runs (running), as parallel workers do, or
 *       the same with each running run having logged a value HISTORY_GAP
 *       worse than its final one (history). BENCH_FIRST_SEED=K in the
 *       environment runs seeds K..K+SEEDS-1 instead (a held-out check).
 *   bench_search latency SWEEP NOBS REPEATS [NRUNNING]
 *       bayes in 6 dims with NOBS finished runs (and NRUNNING running ones,
 *       every other one with an intermediate value): median wall time of
 *       the whole `sweep suggest` process over REPEATS runs, in ms
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/rng.h"

static double branin(const double *x)
{
	double b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, t = 1 / (8 * M_PI);
	double u = x[1] - b * x[0] * x[0] + c * x[0] - 6;

	return u * u + 10 * (1 - t) * cos(x[0]) + 10;
}

static double hartmann6(const double *x)
{
	static const double A[4][6] = {
		{ 10, 3, 17, 3.5, 1.7, 8 }, { 0.05, 10, 17, 0.1, 8, 14 },
		{ 3, 3.5, 1.7, 10, 17, 8 }, { 17, 8, 0.05, 10, 0.1, 14 } };
	static const double P[4][6] = {
		{ 0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886 },
		{ 0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991 },
		{ 0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650 },
		{ 0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381 } };
	static const double alpha[4] = { 1.0, 1.2, 3.0, 3.2 };
	double s = 0.0;
	int i, j;

	for (i = 0; i < 4; i++) {
		double e = 0.0;

		for (j = 0; j < 6; j++)
			e += A[i][j] * (x[j] - P[i][j]) * (x[j] - P[i][j]);
		s -= alpha[i] * exp(-e);
	}
	return s;
}

static void write_spec(const char *path, const char *func, const char *method)
{
	FILE *f = fopen(path, "w");
	int i;

	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "method: %s\nprogram: bench.py\nmetric:\n  name: f\n  goal: minimize\n"
		"parameters:\n", method);
	if (!strcmp(func, "branin")) {
		fprintf(f, "  x1:\n    min: -5.0\n    max: 10.0\n");
		fprintf(f, "  x2:\n    min: 0.0\n    max: 15.0\n");
	} else {
		for (i = 1; i <= 6; i++)
			fprintf(f, "  x%d:\n    min: 0.0\n    max: 1.0\n", i);
	}
	fclose(f);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runs `sweep suggest` with the given extra arguments and reads up to max
 * suggestions' params into out (new references). Returns how many, -1 on
 * failure. */
static int ask(const char *cmd, json_t **out, int max)
{
	char line[4096];
	FILE *p = popen(cmd, "r");
	int n = 0;

	if (!p)
		return -1;
	while (n < max && fgets(line, sizeof(line), p)) {
		json_t *j = json_loads(line, 0, NULL);

		out[n] = json_incref(json_object_get(j, "params"));
		json_decref(j);
		if (!out[n])
			break;
		n++;
	}
	if (pclose(p) != 0 || n == 0) {
		fprintf(stderr, "bench_search: '%s' failed\n", cmd);
		while (n > 0)
			json_decref(out[--n]);
		return -1;
	}
	return n;
}

static void append_run(const char *path, const json_t *params, const char *state,
		       double y)
{
	FILE *o = fopen(path, "a");
	char *s = json_dumps(params, JSON_COMPACT);

	if (!o || !s) {
		perror(path);
		exit(1);
	}
	if (isnan(y))
		fprintf(o, "{\"params\": %s, \"state\": \"%s\"}\n", s, state);
	else if (!strcmp(state, "running"))   /* what it has logged so far */
		fprintf(o, "{\"params\": %s, \"state\": \"%s\", \"history\": "
			"[{\"f\": %.17g}]}\n", s, state, y);
	else
		fprintf(o, "{\"params\": %s, \"state\": \"%s\", \"summary\": "
			"{\"f\": %.17g}}\n", s, state, y);
	free(s);
	fclose(o);
}

static double evaluate(const json_t *params, int d)
{
	double x[6];
	char name[8];
	int i;

	for (i = 0; i < d; i++) {
		snprintf(name, sizeof(name), "x%d", i + 1);
		x[i] = json_number_value(json_object_get(params, name));
	}
	return d == 2 ? branin(x) : hartmann6(x);
}

/* How much worse than its final value a running run's logged value is in
 * the "history" way of asking (a run part way through its epochs). */
#define HISTORY_GAP 0.3

/* One seed: trials proposals in rounds of `round`; each round is asked as
 * one `suggest --count round` (batch) or as `round` single calls that see
 * the round's earlier proposals as running runs (running). The round's
 * results are told when the whole round is done. Returns the best value. */
static double one_seed(const char *sweep, const char *spec, const char *dir,
		       int d, int trials, int round, int batch, int history,
		       int seed)
{
	char fin[256], obs[256], cmd[1024];
	json_t *got[64];
	double best = INFINITY;
	int t = 0, k, n;

	snprintf(fin, sizeof(fin), "%s/finished.jsonl", dir);
	snprintf(obs, sizeof(obs), "%s/runs.jsonl", dir);
	fclose(fopen(fin, "w"));
	while (t < trials) {
		int r = trials - t < round ? trials - t : round;

		if (batch) {
			snprintf(cmd, sizeof(cmd), "%s suggest %s --observed %s --seed %d "
				 "--count %d", sweep, spec, fin, seed, r);
			n = ask(cmd, got, r);
			if (n != r)
				exit(1);
		} else {
			for (k = 0; k < r; k++) {
				int j;

				snprintf(cmd, sizeof(cmd), "cp %s %s", fin, obs);
				if (system(cmd) != 0)
					exit(1);
				for (j = 0; j < k; j++)
					append_run(obs, got[j], "running",
						   history ? evaluate(got[j], d) +
						   HISTORY_GAP : NAN);
				snprintf(cmd, sizeof(cmd), "%s suggest %s --observed %s "
					 "--seed %d", sweep, spec, obs, seed);
				if (ask(cmd, &got[k], 1) != 1)
					exit(1);
			}
		}
		for (k = 0; k < r; k++) {
			double y = evaluate(got[k], d);

			if (y < best)
				best = y;
			append_run(fin, got[k], "finished", y);
			json_decref(got[k]);
		}
		t += r;
	}
	return best;
}

static int quality(const char *sweep, const char *func, const char *method,
		   int trials, int seeds, int round, const char *how)
{
	char dir[] = "/tmp/sweep-bench-XXXXXX", spec[256], cmd[1024];
	double *best = calloc((size_t)seeds, sizeof(double)), worst = -INFINITY;
	int d = !strcmp(func, "branin") ? 2 : 6, seed, seed0 = 0;
	int batch = !strcmp(how, "batch"), history = !strcmp(how, "history");
	char label[64];

	if (!mkdtemp(dir) || !best) {
		perror("mkdtemp");
		return 1;
	}
	if (round < 1 || round > 64)
		round = 1;
	if (round == 1)
		snprintf(label, sizeof(label), "sequential");
	else
		snprintf(label, sizeof(label), "rounds of %d, %s", round,
			 batch ? "suggest --count" : history ?
			 "one at a time with running, partial values logged" :
			 "one at a time with running");
	if (getenv("BENCH_FIRST_SEED"))
		seed0 = atoi(getenv("BENCH_FIRST_SEED"));
	snprintf(spec, sizeof(spec), "%s/spec.yaml", dir);
	write_spec(spec, func, method);
	for (seed = 0; seed < seeds; seed++) {
		best[seed] = one_seed(sweep, spec, dir, d, trials, round, batch,
				      history, seed0 + seed);
		if (best[seed] > worst)
			worst = best[seed];
		printf("  %s %s %s seed %d: best %.6f\n", func, method, label,
		       seed0 + seed, best[seed]);
	}
	printf("%s %s %d trials, %s: median best over seeds %d-%d: %.6f worst %.6f\n",
	       func, method, trials, label, seed0, seed0 + seeds - 1,
	       median(best, seeds), worst);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	free(best);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs `sweep suggest spec --observed obs --seed 1` (or `sweep --version`
 * when spec is NULL); wall and CPU time in ms. */
static int time_process(const char *sweep, const char *spec, const char *obs,
			double *wall, double *cpu)
{
	double t0 = now_ms();
	pid_t pid = fork();
	struct rusage ru;
	int status;

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		if (spec)
			execl(sweep, sweep, "suggest", spec, "--observed", obs, "--seed",
			      "1", (char *)NULL);
		else
			execl(sweep, sweep, "--version", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	*wall = now_ms() - t0;
	*cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	return 0;
}

static int latency(const char *sweep, int nobs, int repeats, int nrun)
{
	char dir[] = "/tmp/sweep-bench-XXXXXX", spec[256], obs[256], cmd[512];
	double *ms = calloc((size_t)repeats, sizeof(double));
	double *cpu = calloc((size_t)repeats, sizeof(double));
	double *ms0 = calloc((size_t)repeats, sizeof(double));
	double *cpu0 = calloc((size_t)repeats, sizeof(double));
	struct sw_rng rng;
	FILE *o;
	int i, j, r;

	if (!mkdtemp(dir) || !ms || !cpu || !ms0 || !cpu0)
		return 1;
	snprintf(spec, sizeof(spec), "%s/spec.yaml", dir);
	snprintf(obs, sizeof(obs), "%s/runs.jsonl", dir);
	write_spec(spec, "hartmann6", "bayes");
	sw_rng_seed(&rng, 2024, 7);
	o = fopen(obs, "w");
	for (i = 0; i < nobs; i++) {
		double x[6];

		fprintf(o, "{\"params\": {");
		for (j = 0; j < 6; j++) {
			x[j] = sw_rng_double(&rng);
			fprintf(o, "%s\"x%d\": %.17g", j ? ", " : "", j + 1, x[j]);
		}
		fprintf(o, "}, \"state\": \"finished\", \"summary\": {\"f\": %.17g}}\n",
			hartmann6(x));
	}
	/* running runs: half have logged an intermediate value */
	for (i = 0; i < nrun; i++) {
		double x[6];

		fprintf(o, "{\"params\": {");
		for (j = 0; j < 6; j++) {
			x[j] = sw_rng_double(&rng);
			fprintf(o, "%s\"x%d\": %.17g", j ? ", " : "", j + 1, x[j]);
		}
		if (i % 2)
			fprintf(o, "}, \"state\": \"running\", \"history\": "
				"[{\"f\": %.17g}]}\n", hartmann6(x) + 0.5);
		else
			fprintf(o, "}, \"state\": \"running\"}\n");
	}
	fclose(o);
	/* each repeat runs `sweep --version` and the suggestion back to back,
	 * so the start-up cost is measured under the same load */
	for (r = 0; r < repeats; r++) {
		if (time_process(sweep, spec, obs, &ms[r], &cpu[r]) < 0 ||
		    time_process(sweep, NULL, NULL, &ms0[r], &cpu0[r]) < 0) {
			fprintf(stderr, "bench_search: sweep suggest failed\n");
			return 1;
		}
	}
	{
		double m = median(ms, repeats), c = median(cpu, repeats);
		double m0 = median(ms0, repeats), c0 = median(cpu0, repeats);

		printf("bayes suggestion, 6 dims, %d observed runs, %d running: whole "
		       "process median %.1f ms (min %.1f, max %.1f, %d runs), CPU %.1f "
		       "ms; `sweep --version` alone: %.1f ms, CPU %.1f ms\n", nobs, nrun,
		       m, ms[0], ms[repeats - 1], repeats, c, m0, c0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	free(ms);
	free(cpu);
	free(ms0);
	free(cpu0);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 7 || argc == 9) && !strcmp(argv[1], "quality"))
		return quality(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]),
			       argc == 9 ? atoi(argv[7]) : 1,
			       argc == 9 ? argv[8] : "running");
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "latency"))
		return latency(argv[2], atoi(argv[3]), atoi(argv[4]),
			       argc == 6 ? atoi(argv[5]) : 0);
	fprintf(stderr, "usage: bench_search quality SWEEP branin|hartmann6 "
		"bayes|random TRIALS SEEDS [ROUND batch|running|history]\n"
		"       bench_search latency SWEEP NOBS REPEATS [NRUNNING]\n");
	return 2;
}
