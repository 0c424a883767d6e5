/*
 * hyperband.h - wandb's hyperband early-stopping rule
 * (../shared/docs/sweep-semantics.md §5), as pure functions the `sweep run`
 * controller calls after every epoch.
 *
 * Bands (epoch counts at which runs are compared):
 *  - max_iter given (it wins over min_iter): band = max_iter, then s times
 *    band /= eta (as a real), stopping once band < 1, each int(band) kept;
 *    sorted ascending (81,s=3,eta=3 -> 3 9 27; 10,5,3 -> 1 3).
 *  - else min_iter: int(min_iter * eta^k) for k = 0..99 by repeated
 *    multiplication (30, eta 1.5 -> 30 45 67 101 151 ...); bands past
 *    2^62 are dropped.
 * A run's history h is the sequence of finite numeric values of the metric
 * it logged (summary ignored), negated for goal maximize, so lower is better.
 * Threshold of band b: the values h[b-1] of every run (any state) with at
 * least b values, sorted; threshold = sorted[int(len / eta)] (+inf when no
 * run has reached b). A RUNNING run whose history reached some band is
 * judged at the largest band <= len(h): strict (default) compares h[band-1],
 * non-strict the minimum of h so far; it is stopped iff that value is
 * strictly greater than the band's threshold.
 *
 * defines: struct sw_hb_result, SW_HB_RESULT_INIT, sw_hyperband_bands,
 *          sw_hyperband_judge, sw_hyperband_decide, sw_hb_result_release
 */
#ifndef SW_HYPERBAND_H
#define SW_HYPERBAND_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/search/observed.h"
#include "sweep/spec/spec.h"

struct sw_hb_result {
	int64_t *bands;         /* ascending */
	double *thresholds;     /* one per band, minimisation space (+inf: none) */
	size_t n_bands;
	int *stop;              /* one per run: 1 = stop it now */
	int *band_of;           /* one per run: index of the band it was judged
				   at, -1 when not judged */
	size_t n_runs;
};
#define SW_HB_RESULT_INIT { NULL, NULL, 0, NULL, NULL, 0 }

/* The bands of hb (see above) in a new array *bands the caller frees.
 * Fails with wandb's advice when there is no band ("bands must be an array
 * of length at least 1: try increasing s, decreasing eta, or increasing
 * min_iter") or when hb is not set up (no min_iter, no max_iter with s,
 * eta <= 1). */
int sw_hyperband_bands(const struct sw_hyperband *hb, int64_t **bands,
		       size_t *n, struct sw_err *err);

/* The rule on plain arrays: hist[i] (len[i] values, minimisation space) is
 * run i's history, running[i] whether it is running. Fills stop[i],
 * band_of[i] (may be NULL) and thresholds[n_bands] (may be NULL). */
void sw_hyperband_judge(const int64_t *bands, size_t n_bands, double eta,
			int strict, const double *const *hist, const size_t *len,
			const int *running, size_t n_runs, int *stop,
			int *band_of, double *thresholds);

/* The rule for a sweep: bands from spec->hyperband, histories of
 * spec->metric from runs (state SW_OBS_RUNNING ones may be stopped). Fails
 * when the spec has no early_terminate or no metric. The result is owned
 * by the caller (sw_hb_result_release). */
int sw_hyperband_decide(const struct sw_spec *spec, const struct sw_runs *runs,
			struct sw_hb_result *res, struct sw_err *err);

void sw_hb_result_release(struct sw_hb_result *res);

#endif
