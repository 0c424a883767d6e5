/* bench_wandb_runfile.c - speed of the wandb run file reader on the real
 * SDK's 3,000-step file (1.7 MB, records spanning 32 KiB blocks).
 *
 *   bench_wandb_runfile FILE [REPEATS]
 *
 * Each repetition times, back to back under the same load: the whole
 * decode (sw_wandb_runfile_parse over the bytes in memory), the same
 * through sw_wandb_runfile_read (file read included), and a baseline: jansson
 * parsing the same rows as JSON text (what any JSON reader of this data
 * must pay at least). Prints medians in ms, wall-clock and CPU time of the
 * process (the machine is shared: under load the wall time grows, the CPU
 * time much less), and the ratio to the baseline.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sweep/offline/wandb_runfile.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	int reps = argc > 2 ? atoi(argv[2]) : 31;
	double *t_parse, *t_read, *t_json, *c_parse, *c_json, t, c;
	char *data, *rows_text;
	long size;
	FILE *f;

	if (argc < 2 || reps < 1) {
		fprintf(stderr, "usage: bench_wandb_runfile FILE [REPEATS]\n");
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return perror(argv[1]), 1;
	data = malloc((size_t)size);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size)
		return perror(argv[1]), 1;
	fclose(f);
	if (sw_wandb_runfile_parse(data, (size_t)size, argv[1], &run, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	/* the baseline's input: the decoded rows as one JSON array text */
	rows_text = json_dumps(run.history, JSON_COMPACT);
	printf("%s: %ld bytes, %zu records, %zu history rows%s%s\n", argv[1], size,
	       run.records, json_array_size(run.history), run.warning[0] ? "; " : "",
	       run.warning);
	sw_wandb_runfile_release(&run);
	t_parse = calloc((size_t)reps, sizeof(double));
	t_read = calloc((size_t)reps, sizeof(double));
	t_json = calloc((size_t)reps, sizeof(double));
	c_parse = calloc((size_t)reps, sizeof(double));
	c_json = calloc((size_t)reps, sizeof(double));
	if (!rows_text || !t_parse || !t_read || !t_json || !c_parse || !c_json)
		return 1;
	for (int i = 0; i < reps; i++) {
		json_t *v;

		t = now_ms();
		c = cpu_ms();
		sw_wandb_runfile_parse(data, (size_t)size, argv[1], &run, &err);
		sw_wandb_runfile_release(&run);
		c_parse[i] = cpu_ms() - c;
		t_parse[i] = now_ms() - t;
		t = now_ms();
		sw_wandb_runfile_read(argv[1], &run, &err);
		sw_wandb_runfile_release(&run);
		t_read[i] = now_ms() - t;
		t = now_ms();
		c = cpu_ms();
		v = json_loads(rows_text, 0, NULL);
		json_decref(v);
		c_json[i] = cpu_ms() - c;
		t_json[i] = now_ms() - t;
	}
	double mp = median(t_parse, reps), mr = median(t_read, reps), mj = median(t_json, reps);
	double cp = median(c_parse, reps), cj = median(c_json, reps);
	printf("decode in memory, median of %d: %.2f ms wall (min %.2f), %.2f ms CPU\n",
	       reps, mp, t_parse[0], cp);
	printf("read file + decode, median:     %.2f ms wall (min %.2f)\n", mr, t_read[0]);
	printf("baseline, jansson parsing the same rows as JSON text (%zu bytes), median: "
	       "%.2f ms wall, %.2f ms CPU; decode/baseline %.2f (CPU %.2f)\n",
	       strlen(rows_text), mj, cj, mp / mj, cp / cj);
	free(c_parse);
	free(c_json);
	free(t_parse);
	free(t_read);
	free(t_json);
	free(rows_text);
	free(data);
	return 0;
}
