/*
 * report_stats.h - the statistics behind the parameter-importance chart of
 * `sweep report`: rank correlation, the correlation ratio for categorical
 * parameters, and a small seeded random forest whose impurity decrease per
 * parameter is its importance (what wandb's parameter-importance panel
 * shows, computed here in C).
 *
 * All functions are pure: they read caller-owned arrays and write results
 * into caller-owned arrays; nothing is kept between calls.
 *
 * defines: sw_stat_pearson, sw_stat_spearman, sw_stat_corr_ratio,
 *          struct sw_forest_opts, SW_FOREST_OPTS_INIT, sw_forest_importance
 */
#ifndef SW_REPORT_STATS_H
#define SW_REPORT_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Pearson's correlation of x and y over the n pairs where both are finite;
 * NaN when fewer than 3 such pairs or either side is constant. */
double sw_stat_pearson(const double *x, const double *y, size_t n);

/* Spearman's rank correlation (Pearson on average ranks, so ties are
 * handled) over the finite pairs; NaN as for sw_stat_pearson. */
double sw_stat_spearman(const double *x, const double *y, size_t n);

/* The correlation ratio eta in [0, 1] of a categorical x (codes
 * 0..n_cat-1; negative codes are skipped) and a numeric y (NaN skipped):
 * sqrt(between-category sum of squares / total sum of squares). NaN when
 * fewer than 3 pairs, fewer than 2 categories or y is constant. */
double sw_stat_corr_ratio(const int *cat, size_t n_cat, const double *y,
			  size_t n);

struct sw_forest_opts {
	size_t n_trees;        /* default 100 */
	int max_depth;         /* default 8 */
	size_t min_leaf;       /* samples per leaf, default 2 */
	size_t mtry;           /* columns tried per split; 0: ceil(p / 3) */
	uint64_t seed;         /* bootstrap and column sampling */
};
#define SW_FOREST_OPTS_INIT { 100, 8, 2, 0, 42 }

/* Fits a regression random forest (bootstrap samples, variance-reduction
 * splits on mtry random columns) to X (n rows x p columns, row-major, all
 * finite) and y (n finite values) and writes each column group's share of
 * the total impurity decrease to imp[0..n_groups): group[j] (< n_groups)
 * says which group column j belongs to, so one-hot columns of a categorical
 * parameter add up to one importance. The shares sum to 1, or are all 0
 * when no split helped (constant y or n < 2 * min_leaf). Deterministic for
 * a given seed. Returns 0, or -1 when memory runs out. */
int sw_forest_importance(const double *X, size_t n, size_t p, const double *y,
			 const size_t *group, size_t n_groups,
			 const struct sw_forest_opts *opts, double *imp);

#endif
