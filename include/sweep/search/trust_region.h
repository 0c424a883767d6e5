/*
 * trust_region.h - the trust region of the bayes search's parallel
 * proposals (sweep/search/search_bayes.c): while runs are pending, the
 * search draws Thompson samples in a box around the best run whose side
 * follows the successes and failures of the runs so far, as TuRBO does
 * (Eriksson et al., 2019), so that a round of parallel proposals descends
 * and then polishes the best basin.
 *
 * The history alone decides the region (no state between calls), so a
 * batch, single calls with the earlier proposals pending, and every
 * worker of a controller see the same one.
 *
 * defines: sw_tr_spread, sw_tr_side, sw_tr_box, sw_tr_separation
 */
#ifndef SW_TRUST_REGION_H
#define SW_TRUST_REGION_H

#define SW_TR_INIT 0.8          /* side at the start */
#define SW_TR_MIN (1.0 / 128)   /* bounds of the side */
#define SW_TR_MAX 1.6
#define SW_TR_SUCC 3            /* improvements in a row that double it */
#define SW_TR_REACH 4.0         /* its centre: the model's lowest point
				   within this many sides of the best run */
#define SW_TR_INNER (1.0 / 3)   /* every other draw: in the middle third
				   of the box, as clipped to the cube */
#define SW_TR_GAIN 0.1          /* an improvement: by this many standard
				   deviations of the values */

/* The mean (*mean, when non-NULL) and population standard deviation of
 * the n values: the bayes model standardises by them, and the region's
 * success threshold is SW_TR_GAIN of the latter. */
double sw_tr_spread(const double *y, int n, double *mean);

/* The side of the region, in units of the length scales divided by their
 * geometric mean, from the n values y (minimised, in the order the runs
 * were made), the first n_init of them random: SW_TR_INIT, halved after
 * max(4, d) values in a row that did not improve on the best before them
 * by SW_TR_GAIN standard deviations of all n values, doubled after
 * SW_TR_SUCC in a row that did, kept within [SW_TR_MIN, SW_TR_MAX]. A
 * threshold in the values' own spread (TuRBO's is 1e-3 of the best's size)
 * does not depend on where the metric's zero is, and counts the small
 * gains of polishing a basin's bottom as failures, so the region shrinks
 * there sooner. */
double sw_tr_side(const double *y, int n, int n_init, int d);

/* The box [lo, hi] of the given side around centre on the unit cube: side
 * i scaled by length scale i over the geometric mean of the d length
 * scales (log_l holds their logarithms), clipped to [0, 1]. */
void sw_tr_box(const double *log_l, int d, const double *centre, double side,
	       double *lo, double *hi);

/* How far apart (in length scales) a proposal keeps from the pending ones:
 * a tenth of a length scale (closer, a second evaluation adds almost
 * nothing: Matern-5/2 correlation above 0.98), or a quarter of the box's
 * side in length scales when the region has shrunk below that. */
double sw_tr_separation(const double *log_l, int d, double side);

#endif
