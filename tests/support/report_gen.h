/*
 * report_gen.h - writes synthetic sweep results directories (the layout of
 * include/sweep/store/store.h) for the report tests: any number of runs with a
 * log-distributed, a categorical, an integer and a nested parameter, a mix
 * of finished, stopped, failed and killed runs, and a plausible history.
 *
 * defines: struct sw_gen_opts, sw_gen_results
 */
#ifndef SW_TEST_REPORT_GEN_H
#define SW_TEST_REPORT_GEN_H

#include <stddef.h>

struct sw_gen_opts {
	size_t n_runs;
	int with_metric;        /* sweep.yaml has metric val_accuracy (maximize) */
	int with_history;       /* write runs/<id>/history.jsonl */
	unsigned seed;
};

/* Creates dir (must not exist) and fills it. Returns 0 or -1. */
int sw_gen_results(const char *dir, const struct sw_gen_opts *o);

#endif
