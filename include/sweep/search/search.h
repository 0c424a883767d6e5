/*
 * search.h - the search engines: given a sweep definition and the runs seen
 * so far, propose the next parameter sets (wandb's next_runs, as pure
 * functions; ../shared/docs/sweep-semantics.md §2-§4).
 *
 *  - grid: the cartesian product of the discrete leaves in wandb's order
 *    (names sorted, last one varying fastest), values that print the same
 *    counted once, points any observed run (any state) already has skipped;
 *    it ends when the product is exhausted.
 *  - random: each searchable leaf drawn by its inverse CDF from PCG32.
 *  - bayes: a Gaussian process on the unit cube (each leaf mapped by its
 *    CDF), ARD Matern-5/2 kernel with signal variance and noise fitted by
 *    maximising the log marginal likelihood (weak log-normal priors, L-BFGS,
 *    several restarts), Expected Improvement maximised from many random and
 *    local starts refined by projected L-BFGS; pending/running runs and the
 *    suggestions already made in the same call are "kriging believer"
 *    fantasies (at the model's mean, or at what a running run has logged
 *    when that is better) and EI's incumbent counts them, so a round of
 *    parallel proposals spreads out; while runs are pending, every other
 *    proposal is sought near the best runs only; failed runs imputed per
 *    metric.impute.
 *
 * Determinism: suggestion i of a call is drawn from a generator derived
 * from (seed, number of observed runs + i), so one call with --count N gives
 * the same as N calls that each add the previous suggestion as pending, and
 * a growing history never replays an earlier draw. Random and bayes reject a
 * draw equal to an observed run or an earlier suggestion (up to 64 redraws;
 * a tiny discrete space may still repeat).
 *
 * run_cap counts every observed run (any state) plus the suggestions made:
 * no method proposes past it. When metric.target is set and any run has
 * reached it (<= target for minimize, >= for maximize), the search is done.
 *
 * Ownership: results are appended to a caller-owned JSON array; spec and
 * runs are borrowed.
 *
 * defines: enum sw_search_end, sw_search_end_name, sw_search_next,
 *          sw_search_grid, sw_search_random, sw_search_bayes, sw_bayes_data,
 *          sw_bayes_length_scales,
 *          sw_search_target_reached (and, through points.h, the helpers
 *          the engines share)
 */
#ifndef SW_SEARCH_H
#define SW_SEARCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/search/observed.h"
#include "sweep/search/points.h"
#include "base/rng.h"
#include "sweep/spec/space.h"
#include "sweep/spec/spec.h"

/* Why a search returned fewer suggestions than asked (or none). */
enum sw_search_end {
	SW_SEARCH_MORE = 0,      /* not done: more can be asked for */
	SW_SEARCH_EXHAUSTED,     /* grid: every point has been run or proposed */
	SW_SEARCH_RUN_CAP,       /* run_cap reached */
	SW_SEARCH_TARGET,        /* a run reached metric.target */
};

/* "more", "exhausted", "run_cap", "target". */
const char *sw_search_end_name(enum sw_search_end end);

/* Appends up to count parameter objects (nested leaves as nested objects)
 * to the JSON array out and sets *end. Fails (-1, err set) on a spec the
 * method cannot search (grid with a continuous parameter, bayes without a
 * metric or searchable parameter) or an observed run whose value cannot
 * belong to the space ("run 3: ..."; the observed line when known). */
int sw_search_next(const struct sw_spec *spec, const struct sw_runs *runs,
		   size_t count, uint64_t seed, json_t *out,
		   enum sw_search_end *end, struct sw_err *err);

/* The methods themselves, without run_cap and target handling. count is
 * already capped; *exhausted (grid only) is set when no point remains. */
int sw_search_grid(const struct sw_space *sp, const struct sw_runs *runs,
		   size_t count, json_t *out, int *exhausted, struct sw_err *err);
int sw_search_random(const struct sw_space *sp, const struct sw_runs *runs,
		     size_t count, uint64_t seed, json_t *out, struct sw_err *err);
int sw_search_bayes(const struct sw_spec *spec, const struct sw_space *sp,
		    const struct sw_runs *runs, size_t count, uint64_t seed,
		    json_t *out, struct sw_err *err);

/* The data the bayes model is built from: each run whose searchable values
 * are all present becomes an observation (its unit-cube point in X, d per
 * row, and its metric in y, negated for maximize; failed/crashed/killed
 * runs and finished ones without the metric imputed per metric.impute,
 * running ones per impute_while_running) or a pending point (P: pending,
 * preempted, and running ones when impute_while_running is "false"). Runs
 * that cannot be imputed (nothing to impute from) are left out. Arrays are
 * new (caller frees); *d is the number of searchable leaves. */
int sw_bayes_data(const struct sw_spec *spec, const struct sw_space *sp,
		  const struct sw_runs *runs, int *d, double **X, double **y,
		  int *n, double **P, int *n_pend, struct sw_err *err);

/* The length scales (unit cube, one per searchable leaf in leaf order, at
 * most 64, written to l) of the model the next bayes suggestion for runs
 * and seed would use. Returns 1, or 0 when there is no model yet (the
 * search still draws at random; l untouched), -1 on error (err set). */
int sw_bayes_length_scales(const struct sw_spec *spec, const struct sw_space *sp,
			   const struct sw_runs *runs, uint64_t seed, double *l,
			   struct sw_err *err);

/* 1 when metric.target is set and some run reached it. */
int sw_search_target_reached(const struct sw_spec *spec,
			     const struct sw_runs *runs);

#endif
