/* report_stats.c - correlation and random-forest importance for
 * `sweep report`; see include/sweep/report/report_stats.h */
#include "sweep/report/report_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

/* ==== Correlation ==== */

double sw_stat_pearson(const double *x, const double *y, size_t n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		mx += x[i];
		my += y[i];
		m++;
	}
	if (m < 3)
		return NAN;
	mx /= m;
	my /= m;
	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		sxx += (x[i] - mx) * (x[i] - mx);
		syy += (y[i] - my) * (y[i] - my);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	if (!(sxx > 0) || !(syy > 0))
		return NAN;
	return sxy / sqrt(sxx * syy);
}

struct ranked {
	double v;
	size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v < y->v)
		return -1;
	if (x->v > y->v)
		return 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Average ranks (1-based) of v[0..m) into r. */
static int ranks(const double *v, size_t m, double *r)
{
	struct ranked *t = malloc((m ? m : 1) * sizeof(*t));
	size_t i, j, k;

	if (!t)
		return -1;
	for (i = 0; i < m; i++) {
		t[i].v = v[i];
		t[i].i = i;
	}
	qsort(t, m, sizeof(*t), cmp_ranked);
	for (i = 0; i < m; i = j) {
		for (j = i + 1; j < m && t[j].v == t[i].v; j++)
			;
		for (k = i; k < j; k++)
			r[t[k].i] = (i + j + 1) / 2.0;
	}
	free(t);
	return 0;
}

double sw_stat_spearman(const double *x, const double *y, size_t n)
{
	double *xs = NULL, *ys = NULL, *rx = NULL, *ry = NULL, rho = NAN;
	size_t i, m = 0;

	xs = malloc((n ? n : 1) * sizeof(double));
	ys = malloc((n ? n : 1) * sizeof(double));
	rx = malloc((n ? n : 1) * sizeof(double));
	ry = malloc((n ? n : 1) * sizeof(double));
	if (!xs || !ys || !rx || !ry)
		goto done;
	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		xs[m] = x[i];
		ys[m] = y[i];
		m++;
	}
	if (ranks(xs, m, rx) < 0 || ranks(ys, m, ry) < 0)
		goto done;
	rho = sw_stat_pearson(rx, ry, m);
done:
	free(xs);
	free(ys);
	free(rx);
	free(ry);
	return rho;
}

double sw_stat_corr_ratio(const int *cat, size_t n_cat, const double *y,
			  size_t n)
{
	double *sum = NULL, mean = 0, ss_tot = 0, ss_between = 0, eta = NAN;
	size_t *cnt = NULL, i, m = 0, used = 0;

	sum = calloc(n_cat ? n_cat : 1, sizeof(double));
	cnt = calloc(n_cat ? n_cat : 1, sizeof(size_t));
	if (!sum || !cnt)
		goto done;
	for (i = 0; i < n; i++) {
		if (cat[i] < 0 || (size_t)cat[i] >= n_cat || !isfinite(y[i]))
			continue;
		sum[cat[i]] += y[i];
		cnt[cat[i]]++;
		mean += y[i];
		m++;
	}
	if (m < 3)
		goto done;
	mean /= m;
	for (i = 0; i < n; i++) {
		if (cat[i] < 0 || (size_t)cat[i] >= n_cat || !isfinite(y[i]))
			continue;
		ss_tot += (y[i] - mean) * (y[i] - mean);
	}
	for (i = 0; i < n_cat; i++) {
		if (!cnt[i])
			continue;
		used++;
		ss_between += cnt[i] * (sum[i] / cnt[i] - mean) * (sum[i] / cnt[i] - mean);
	}
	if (used < 2 || !(ss_tot > 0))
		goto done;
	eta = sqrt(ss_between / ss_tot);
	if (eta > 1)
		eta = 1;
done:
	free(sum);
	free(cnt);
	return eta;
}

/* ==== Random forest ==== */

struct forest {
	const double *X, *y;
	size_t n, p;
	const struct sw_forest_opts *o;
	size_t mtry;
	struct sw_rng rng;
	double *gain;          /* per column */
	struct ranked *tmp;    /* scratch for sorting a node's rows */
	size_t *cols;          /* scratch for the column draw */
};

/* Sum of squared deviations of y over rows idx[0..m). */
static double node_sse(const struct forest *f, const size_t *idx, size_t m)
{
	double s = 0, s2 = 0;
	size_t i;

	for (i = 0; i < m; i++) {
		s += f->y[idx[i]];
		s2 += f->y[idx[i]] * f->y[idx[i]];
	}
	return m ? s2 - s * s / m : 0;
}

/* Grows one node on rows idx[0..m) (a bootstrap sample, repeats allowed),
 * adding each split's impurity decrease to its column's gain. */
static void grow(struct forest *f, size_t *idx, size_t m, int depth)
{
	size_t c, k, i, best_col = 0, n_left = 0, lo, hi;
	double best_gain = 0, best_thr = 0, parent, sl, sl2, st, st2, sse, thr;
	int found = 0;

	if (depth >= f->o->max_depth || m < 2 * f->o->min_leaf)
		return;
	parent = node_sse(f, idx, m);
	if (!(parent > 1e-12))
		return;
	/* draw mtry distinct columns (partial Fisher-Yates) */
	for (c = 0; c < f->p; c++)
		f->cols[c] = c;
	for (k = 0; k < f->mtry; k++) {
		size_t j = k + sw_rng_bounded(&f->rng, (uint32_t)(f->p - k));
		size_t t = f->cols[k];

		f->cols[k] = f->cols[j];
		f->cols[j] = t;
	}
	st = st2 = 0;
	for (i = 0; i < m; i++) {
		st += f->y[idx[i]];
		st2 += f->y[idx[i]] * f->y[idx[i]];
	}
	for (k = 0; k < f->mtry; k++) {
		c = f->cols[k];
		for (i = 0; i < m; i++) {
			f->tmp[i].v = f->X[idx[i] * f->p + c];
			f->tmp[i].i = idx[i];
		}
		qsort(f->tmp, m, sizeof(*f->tmp), cmp_ranked);
		sl = sl2 = 0;
		for (i = 0; i + 1 < m; i++) {
			double yi = f->y[f->tmp[i].i];
			size_t nl = i + 1, nr = m - nl;

			sl += yi;
			sl2 += yi * yi;
			if (f->tmp[i].v == f->tmp[i + 1].v)
				continue;
			if (nl < f->o->min_leaf || nr < f->o->min_leaf)
				continue;
			sse = (sl2 - sl * sl / nl) +
			      ((st2 - sl2) - (st - sl) * (st - sl) / nr);
			if (parent - sse > best_gain + 1e-12) {
				best_gain = parent - sse;
				best_col = c;
				best_thr = (f->tmp[i].v + f->tmp[i + 1].v) / 2;
				found = 1;
			}
		}
	}
	if (!found)
		return;
	f->gain[best_col] += best_gain;
	/* partition idx in place: left (<= thr) first */
	thr = best_thr;
	lo = 0;
	hi = m;
	while (lo < hi) {
		if (f->X[idx[lo] * f->p + best_col] <= thr) {
			lo++;
		} else {
			size_t t = idx[lo];

			idx[lo] = idx[--hi];
			idx[hi] = t;
		}
	}
	n_left = lo;
	grow(f, idx, n_left, depth + 1);
	grow(f, idx + n_left, m - n_left, depth + 1);
}

int sw_forest_importance(const double *X, size_t n, size_t p, const double *y,
			 const size_t *group, size_t n_groups,
			 const struct sw_forest_opts *opts, double *imp)
{
	struct sw_forest_opts def = SW_FOREST_OPTS_INIT;
	struct forest f;
	size_t *idx = NULL, t, i, j;
	double total = 0;
	int ret = -1;

	memset(&f, 0, sizeof(f));
	if (!opts)
		opts = &def;
	for (j = 0; j < n_groups; j++)
		imp[j] = 0;
	if (!n || !p)
		return 0;
	f.X = X;
	f.y = y;
	f.n = n;
	f.p = p;
	f.o = opts;
	f.mtry = opts->mtry ? opts->mtry : (p + 2) / 3;
	if (f.mtry > p)
		f.mtry = p;
	sw_rng_seed(&f.rng, opts->seed, 0x5eed);
	f.gain = calloc(p, sizeof(double));
	f.tmp = malloc(n * sizeof(*f.tmp));
	f.cols = malloc(p * sizeof(size_t));
	idx = malloc(n * sizeof(size_t));
	if (!f.gain || !f.tmp || !f.cols || !idx)
		goto done;
	for (t = 0; t < opts->n_trees; t++) {
		for (i = 0; i < n; i++)
			idx[i] = sw_rng_bounded(&f.rng, (uint32_t)n);
		grow(&f, idx, n, 0);
	}
	for (j = 0; j < p; j++) {
		if (group[j] < n_groups)
			imp[group[j]] += f.gain[j];
		total += f.gain[j];
	}
	if (total > 0)
		for (j = 0; j < n_groups; j++)
			imp[j] /= total;
	ret = 0;
done:
	free(f.gain);
	free(f.tmp);
	free(f.cols);
	free(idx);
	return ret;
}
