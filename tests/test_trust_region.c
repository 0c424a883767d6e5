/* test_trust_region.c - the bayes search's trust region
 * (sweep/search/trust_region.h): its side follows the successes and
 * failures of the runs in order, within its bounds; the box is scaled by
 * the length scales and clipped to the cube; the separation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "sweep/search/trust_region.h"

#define EPS 1e-12

static void assert_near(double got, double want, int line)
{
	if (!(fabs(got - want) <= EPS))
		fail_msg("line %d: %.17g, expected %.17g", line, got, want);
}

#define NEAR(a, b) assert_near((a), (b), __LINE__)

/* n values: v0 for the first n_init, then each step improving (1) or not
 * (0) as the pattern says */
static int fill(double *y, int n_init, const char *pattern)
{
	double best = 0.0;
	int n = 0, i;

	for (i = 0; i < n_init; i++)
		y[n++] = i == 0 ? best : best + 1.0;
	for (i = 0; pattern[i]; i++) {
		if (pattern[i] == '1')
			best -= 1.0;
		y[n++] = pattern[i] == '1' ? best : best + 0.5;
	}
	return n;
}

static void test_side_follows_history(void **state)
{
	double y[256];
	int n;

	(void)state;
	/* nothing after the random points yet */
	n = fill(y, 7, "");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_INIT);
	/* d = 6: six failures in a row halve it, five do not */
	n = fill(y, 7, "00000");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_INIT);
	n = fill(y, 7, "000000");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_INIT / 2);
	n = fill(y, 7, "000000000000");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_INIT / 4);
	/* a success breaks a run of failures */
	n = fill(y, 7, "000001000001");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_INIT);
	/* d = 2: four failures in a row (at least 4) */
	n = fill(y, 3, "0000");
	NEAR(sw_tr_side(y, n, 3, 2), SW_TR_INIT / 2);
	/* three successes in a row double it, up to the maximum */
	n = fill(y, 7, "11");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_INIT);
	n = fill(y, 7, "111");
	NEAR(sw_tr_side(y, n, 7, 6), 2 * SW_TR_INIT);
	n = fill(y, 7, "111111111");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_MAX);
	/* and never below the minimum */
	n = fill(y, 7, "000000000000000000000000000000000000000000000000000000000000"
		 "000000000000000000000000000000000000000000000000000000000000");
	NEAR(sw_tr_side(y, n, 7, 6), SW_TR_MIN);
}

/* An improvement smaller than SW_TR_GAIN standard deviations of the values
 * is a failure, wherever the metric's zero is. */
static void test_small_improvement_fails(void **state)
{
	double y[16], shift;
	int i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		shift = k ? 1000.0 : 0.0;
		y[0] = shift - 3.0;
		y[1] = shift - 1.0;
		y[2] = shift - 2.0;
		/* sd of the nine values about 0.8: steps of 0.05 fail */
		for (i = 3; i < 9; i++)
			y[i] = shift - 3.0 - 0.05 * (i - 2);
		NEAR(sw_tr_side(y, 9, 3, 2), SW_TR_INIT / 2);
		/* steps of 0.15 (sd about 0.9) succeed */
		for (i = 3; i < 9; i++)
			y[i] = shift - 3.0 - 0.15 * (i - 2);
		NEAR(sw_tr_side(y, 9, 3, 2), SW_TR_MAX);
	}
}

/* Sides scale with length scale over their geometric mean; the box is
 * clipped to the cube; the separation is a tenth of a length scale or a
 * quarter of the side in length scales, whichever is smaller. */
static void test_box_and_separation(void **state)
{
	double log_l[2] = { log(0.2), log(0.8) }, c[2] = { 0.5, 0.1 };
	double lo[2], hi[2];

	(void)state;
	/* geometric mean 0.4: sides 0.5 L and 2 L */
	sw_tr_box(log_l, 2, c, 0.4, lo, hi);
	NEAR(lo[0], 0.4);
	NEAR(hi[0], 0.6);
	NEAR(lo[1], 0.0);
	NEAR(hi[1], 0.5);
	NEAR(sw_tr_separation(log_l, 2, 0.4), 0.1);
	/* side 0.08 over the geometric mean 0.4 = 0.2 length scales */
	NEAR(sw_tr_separation(log_l, 2, 0.08), 0.05);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_side_follows_history),
		cmocka_unit_test(test_small_improvement_fails),
		cmocka_unit_test(test_box_and_separation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
