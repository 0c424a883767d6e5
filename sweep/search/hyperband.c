/* hyperband.c - wandb's hyperband stopping rule; see
 * include/sweep/search/hyperband.h */
#include "sweep/search/hyperband.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HB_LIMIT 4611686018427387904.0   /* 2^62 */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int sw_hyperband_bands(const struct sw_hyperband *hb, int64_t **bands,
		       size_t *n, struct sw_err *err)
{
	int64_t *b = NULL;
	size_t k = 0;

	*bands = NULL;
	*n = 0;
	if (!(hb->eta > 1.0))
		return sw_errorf(err, "hyperband eta must be greater than 1");
	if (hb->has_max_iter) {
		double band = (double)hb->max_iter;
		int64_t i;

		if (!hb->has_s)
			return sw_errorf(err, "hyperband max_iter needs s");
		b = malloc((size_t)(hb->s > 0 && hb->s < 200 ? hb->s : 200) *
			   sizeof(*b) + sizeof(*b));
		if (!b)
			return sw_errorf(err, "out of memory");
		for (i = 0; i < hb->s && k < 200; i++) {
			band /= hb->eta;
			if (band < 1.0)
				break;
			b[k++] = (int64_t)band;
		}
		qsort(b, k, sizeof(*b), cmp_i64);
	} else if (hb->has_min_iter) {
		double band = (double)hb->min_iter;
		int int_eta = hb->eta == floor(hb->eta);
		int64_t ib = hb->min_iter;

		b = malloc(100 * sizeof(*b));
		if (!b)
			return sw_errorf(err, "out of memory");
		for (k = 0; k < 100; k++) {
			if (int_eta) {
				b[k] = ib;
				if ((double)ib * hb->eta >= HB_LIMIT) {
					k++;
					break;
				}
				ib *= (int64_t)hb->eta;
			} else {
				if (band >= HB_LIMIT)
					break;
				b[k] = (int64_t)band;
				band *= hb->eta;
			}
		}
	} else {
		return sw_errorf(err, "hyperband needs min_iter, or max_iter and s");
	}
	if (k == 0) {
		free(b);
		return sw_errorf(err, "bands must be an array of length at least 1: "
				 "try increasing s, decreasing eta, or increasing "
				 "min_iter");
	}
	*bands = b;
	*n = k;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void sw_hyperband_judge(const int64_t *bands, size_t n_bands, double eta,
			int strict, const double *const *hist, const size_t *len,
			const int *running, size_t n_runs, int *stop,
			int *band_of, double *thresholds)
{
	double *vals = malloc((n_runs ? n_runs : 1) * sizeof(*vals));
	double *thr = thresholds ? thresholds :
		      malloc((n_bands ? n_bands : 1) * sizeof(*thr));
	size_t b, i;

	for (b = 0; b < n_bands; b++) {
		size_t nv = 0;

		thr[b] = INFINITY;
		if (!vals)
			continue;
		for (i = 0; i < n_runs; i++)
			if (len[i] > 0 && (int64_t)len[i] >= bands[b] && bands[b] >= 1)
				vals[nv++] = hist[i][bands[b] - 1];
		if (nv == 0)
			continue;
		qsort(vals, nv, sizeof(*vals), cmp_double);
		thr[b] = vals[(size_t)((1.0 / eta) * (double)nv)];
	}
	for (i = 0; i < n_runs; i++) {
		long at = -1;
		double cond;

		stop[i] = 0;
		if (band_of)
			band_of[i] = -1;
		if (!running[i] || len[i] == 0 || !thr)
			continue;
		for (b = 0; b < n_bands; b++) {
			if (bands[b] > (int64_t)len[i])
				break;
			at = (long)b;
		}
		if (at < 0 || bands[at] < 1)
			continue;
		if (band_of)
			band_of[i] = (int)at;
		if (strict) {
			cond = hist[i][bands[at] - 1];
		} else {
			size_t j;

			cond = hist[i][0];
			for (j = 1; j < len[i]; j++)
				if (hist[i][j] < cond)
					cond = hist[i][j];
		}
		stop[i] = cond > thr[at];
	}
	if (!thresholds)
		free(thr);
	free(vals);
}

int sw_hyperband_decide(const struct sw_spec *spec, const struct sw_runs *runs,
			struct sw_hb_result *res, struct sw_err *err)
{
	double **hist = NULL;
	size_t *len = NULL, i, j;
	int *running = NULL, ret = -1;
	int maximize = spec->metric.goal == SW_GOAL_MAXIMIZE;

	memset(res, 0, sizeof(*res));
	if (!spec->hyperband.present)
		return sw_errorf(err, "the sweep has no early_terminate section");
	if (!spec->metric.present || !spec->metric.name)
		return sw_errorf(err, "hyperband needs a metric");
	if (sw_hyperband_bands(&spec->hyperband, &res->bands, &res->n_bands, err) < 0)
		return -1;
	res->n_runs = runs->n;
	res->thresholds = malloc(res->n_bands * sizeof(double));
	res->stop = calloc(runs->n + 1, sizeof(int));
	res->band_of = calloc(runs->n + 1, sizeof(int));
	hist = calloc(runs->n + 1, sizeof(*hist));
	len = calloc(runs->n + 1, sizeof(*len));
	running = calloc(runs->n + 1, sizeof(*running));
	if (!res->thresholds || !res->stop || !res->band_of || !hist || !len ||
	    !running) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < runs->n; i++) {
		const struct sw_run_obs *r = &runs->items[i];
		size_t n = sw_run_metric_values(r, spec->metric.name, NULL, 0);

		running[i] = r->state == SW_OBS_RUNNING;
		hist[i] = malloc((n ? n : 1) * sizeof(double));
		if (!hist[i]) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		len[i] = sw_run_metric_values(r, spec->metric.name, hist[i], n);
		if (maximize)
			for (j = 0; j < len[i]; j++)
				hist[i][j] = -hist[i][j];
	}
	sw_hyperband_judge(res->bands, res->n_bands, spec->hyperband.eta,
			   spec->hyperband.strict, (const double *const *)hist, len,
			   running, runs->n, res->stop, res->band_of,
			   res->thresholds);
	ret = 0;
done:
	for (i = 0; hist && i < runs->n; i++)
		free(hist[i]);
	free(hist);
	free(len);
	free(running);
	if (ret < 0)
		sw_hb_result_release(res);
	return ret;
}

void sw_hb_result_release(struct sw_hb_result *res)
{
	if (!res)
		return;
	free(res->bands);
	free(res->thresholds);
	free(res->stop);
	free(res->band_of);
	memset(res, 0, sizeof(*res));
}
