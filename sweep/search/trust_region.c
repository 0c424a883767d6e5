/* trust_region.c - the trust region of the bayes search's parallel
 * proposals; see include/sweep/search/trust_region.h. */
#include "sweep/search/trust_region.h"

#include <math.h>
#include <stddef.h>

double sw_tr_spread(const double *y, int n, double *mean)
{
	double m = 0.0, v = 0.0;
	int i;

	for (i = 0; i < n; i++)
		m += y[i];
	m /= n > 0 ? n : 1;
	for (i = 0; i < n; i++)
		v += (y[i] - m) * (y[i] - m);
	if (mean)
		*mean = m;
	return n > 0 ? sqrt(v / n) : 0.0;
}

double sw_tr_side(const double *y, int n, int n_init, int d)
{
	double side = SW_TR_INIT, best = INFINITY, gain = SW_TR_GAIN * sw_tr_spread(y, n, NULL);
	int i, succ = 0, fail = 0, fail_tol = d > 4 ? d : 4;

	for (i = 0; i < n && i < n_init; i++)
		if (y[i] < best)
			best = y[i];
	for (i = n_init; i < n; i++) {
		if (y[i] < best - gain) {
			succ++;
			fail = 0;
		} else {
			fail++;
			succ = 0;
		}
		if (y[i] < best)
			best = y[i];
		if (succ >= SW_TR_SUCC) {
			side = fmin(2.0 * side, SW_TR_MAX);
			succ = 0;
		}
		if (fail >= fail_tol) {
			side = fmax(0.5 * side, SW_TR_MIN);
			fail = 0;
		}
	}
	return side;
}

static double mean_log(const double *log_l, int d)
{
	double m = 0.0;
	int i;

	for (i = 0; i < d; i++)
		m += log_l[i];
	return d > 0 ? m / d : 0.0;
}

void sw_tr_box(const double *log_l, int d, const double *centre, double side,
	       double *lo, double *hi)
{
	double gm = mean_log(log_l, d);
	int i;

	for (i = 0; i < d; i++) {
		double h = 0.5 * side * exp(log_l[i] - gm);

		lo[i] = fmax(centre[i] - h, 0.0);
		hi[i] = fmin(centre[i] + h, 1.0);
	}
}

double sw_tr_separation(const double *log_l, int d, double side)
{
	return fmin(0.1, 0.25 * side / exp(mean_log(log_l, d)));
}
