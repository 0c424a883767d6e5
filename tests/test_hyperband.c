/* test_hyperband.c - hyperband bands, thresholds and the strict and
 * non-strict stopping rules, with the examples of sweep-semantics.md §5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/search/hyperband.h"
#include "sweep/search/observed.h"
#include "search_fixture.h"

/* the first n bands are want[]; total bands: total */
static void check_bands(struct sw_hyperband hb, const int64_t *want, size_t n,
			size_t total)
{
	struct sw_err err = SW_ERR_INIT;
	int64_t *b;
	size_t got, i;

	assert_int_equal(sw_hyperband_bands(&hb, &b, &got, &err), 0);
	assert_int_equal(got, total);
	for (i = 0; i < n; i++)
		if (b[i] != want[i])
			fail_msg("band %zu: %lld, expected %lld", i, (long long)b[i],
				 (long long)want[i]);
	free(b);
}

static struct sw_hyperband max_iter(int64_t max, int64_t s, double eta)
{
	struct sw_hyperband hb;

	memset(&hb, 0, sizeof(hb));
	hb.present = 1;
	hb.has_max_iter = hb.has_s = 1;
	hb.max_iter = max;
	hb.s = s;
	hb.eta = eta;
	hb.strict = 1;
	return hb;
}

static struct sw_hyperband min_iter(int64_t min, double eta)
{
	struct sw_hyperband hb;

	memset(&hb, 0, sizeof(hb));
	hb.present = 1;
	hb.has_min_iter = 1;
	hb.min_iter = min;
	hb.eta = eta;
	hb.strict = 1;
	return hb;
}

static void test_bands(void **state)
{
	static const int64_t b1[] = { 3, 9, 27 }, b2[] = { 2, 6 }, b3[] = { 1, 2 },
		b4[] = { 1, 3 }, b5[] = { 30, 45, 67, 101, 151, 227 },
		b6[] = { 1, 3, 9, 27, 81, 243 }, b7[] = { 2, 4, 8, 16 };
	struct sw_hyperband hb;
	struct sw_err err = SW_ERR_INIT;
	int64_t *b;
	size_t n;

	(void)state;
	check_bands(max_iter(81, 3, 3), b1, 3, 3);
	check_bands(max_iter(18, 2, 3), b2, 2, 2);
	check_bands(max_iter(5, 2, 2), b3, 2, 2);
	check_bands(max_iter(10, 5, 3), b4, 2, 2);
	check_bands(min_iter(30, 1.5), b5, 6, 98);   /* 30*1.5^98 > 2^62 */
	check_bands(min_iter(1, 3), b6, 6, 40);   /* 3^39 < 2^62 */
	check_bands(min_iter(2, 2), b7, 4, 61);   /* 2^62 not kept */
	/* max_iter wins over min_iter */
	hb = max_iter(81, 3, 3);
	hb.has_min_iter = 1;
	hb.min_iter = 5;
	check_bands(hb, b1, 3, 3);
	/* 100 bands from min_iter when they stay below 2^62 */
	hb = min_iter(3, 1.2);
	assert_int_equal(sw_hyperband_bands(&hb, &b, &n, &err), 0);
	assert_int_equal(n, 100);
	assert_int_equal(b[1], 3);            /* int(3.6) */
	assert_int_equal(b[2], 4);            /* int(4.32) */
	free(b);
	hb = min_iter(1, 3);
	assert_int_equal(sw_hyperband_bands(&hb, &b, &n, &err), 0);
	assert_int_equal(n, 40);   /* 3^39 < 2^62 <= 3^40 */
	free(b);
	/* no band: wandb's advice */
	hb = max_iter(2, 2, 3);
	assert_int_equal(sw_hyperband_bands(&hb, &b, &n, &err), -1);
	assert_non_null(strstr(err.msg, "length at least 1"));
	assert_null(b);
	hb = min_iter(1, 1.0);
	assert_int_equal(sw_hyperband_bands(&hb, &b, &n, &err), -1);
	assert_non_null(strstr(err.msg, "eta"));
}

static void test_judge_strict_and_not(void **state)
{
	/* bands 1 and 3, eta 3 */
	static const int64_t bands[] = { 1, 3 };
	static const double hA[] = { 1, 4, 4 }, hB[] = { 1, 1, 1 }, hC[] = { 2, 2, 2 },
		hD[] = { 4 }, hE[] = { 1 }, hF[] = { 0.5, 0.5 };
	const double *hist[] = { hA, hB, hC, hD, hE, hF };
	const size_t len[] = { 3, 3, 3, 1, 1, 2 };
	const int running[] = { 1, 0, 0, 1, 1, 1 };
	int stop[6], band_of[6];
	double thr[2];

	(void)state;
	/* band 1 values {1,1,2,4,1,0.5} sorted {0.5,1,1,1,2,4}: [int(6/3)] = 1;
	 * band 3 values {4,1,2} sorted {1,2,4}: [1] = 2 */
	sw_hyperband_judge(bands, 2, 3.0, 1, hist, len, running, 6, stop, band_of, thr);
	assert_true(thr[0] == 1.0 && thr[1] == 2.0);
	assert_int_equal(stop[0], 1);      /* h[2] = 4 > 2 */
	assert_int_equal(band_of[0], 1);
	assert_int_equal(stop[1], 0);      /* not running */
	assert_int_equal(stop[2], 0);
	assert_int_equal(band_of[1], -1);
	assert_int_equal(stop[3], 1);      /* 4 > 1 at band 1 */
	assert_int_equal(stop[4], 0);      /* 1 > 1 is false: strict inequality */
	assert_int_equal(stop[5], 0);      /* 2 values: judged at band 1 */
	assert_int_equal(band_of[5], 0);

	/* non-strict: the minimum so far (A's 1) is compared */
	sw_hyperband_judge(bands, 2, 3.0, 0, hist, len, running, 6, stop, NULL, NULL);
	assert_int_equal(stop[0], 0);
	assert_int_equal(stop[3], 1);

	/* no run has reached band 3: +inf threshold, nobody stopped there */
	{
		const double *h2[] = { hD, hE };
		const size_t l2[] = { 1, 1 };
		const int r2[] = { 1, 1 };

		sw_hyperband_judge(bands, 2, 3.0, 1, h2, l2, r2, 2, stop, NULL, thr);
		assert_true(isinf(thr[1]));
		assert_true(thr[0] == 1.0);   /* sorted {1,4}: [int(2/3)] = 1 */
		assert_int_equal(stop[0], 1);
		assert_int_equal(stop[1], 0);
	}
}

static void test_decide_from_runs(void **state)
{
	struct sw_param p[1];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_hb_result res;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	p[0] = fx_range("x", SW_DIST_UNIFORM, 0, 1);
	fx_spec(&spec, SW_METHOD_RANDOM, p, 1);
	assert_int_equal(sw_hyperband_decide(&spec, &runs, &res, &err), -1);
	assert_non_null(strstr(err.msg, "early_terminate"));
	spec.hyperband = min_iter(1, 2);
	assert_int_equal(sw_hyperband_decide(&spec, &runs, &res, &err), -1);
	assert_non_null(strstr(err.msg, "metric"));
	fx_metric(&spec, "acc", SW_GOAL_MAXIMIZE);

	/* maximize: values negated; invalid entries skipped, summary ignored */
	assert_int_equal(fx_run(&runs, "{\"params\": {}, \"state\": \"finished\", \"history\": [{\"acc\": 0.9}, {\"acc\": 0.95}]}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {}, \"state\": \"finished\", \"history\": [{\"acc\": 0.8}, {\"acc\": 0.85}]}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {}, \"state\": \"running\", \"summary\": {\"acc\": 0.99}, \"history\": [{\"acc\": 0.2}, {\"acc\": \"NaN\"}, {\"acc\": true}, {\"loss\": 1}, {\"acc\": 0.3}]}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {}, \"state\": \"running\", \"history\": [{\"acc\": 0.97}]}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {}, \"state\": \"running\"}"), 0);
	assert_int_equal(sw_hyperband_decide(&spec, &runs, &res, &err), 0);
	assert_int_equal(res.n_runs, 5);
	/* bands 1,2,4,...; band 1: {-.9,-.8,-.2,-.97} sorted -> [int(4/2)] =
	 * -0.8; band 2: {-.95,-.85,-.3} -> [1] = -0.85 */
	assert_true(res.bands[0] == 1 && res.bands[1] == 2);
	assert_true(fabs(res.thresholds[0] + 0.8) < 1e-12);
	assert_true(fabs(res.thresholds[1] + 0.85) < 1e-12);
	assert_int_equal(res.stop[0], 0);
	assert_int_equal(res.stop[1], 0);
	assert_int_equal(res.stop[2], 1);     /* -0.3 > -0.85 */
	assert_int_equal(res.band_of[2], 1);
	assert_int_equal(res.stop[3], 0);     /* -0.97 <= -0.8 */
	assert_int_equal(res.stop[4], 0);     /* nothing logged yet */
	sw_hb_result_release(&res);
	sw_hb_result_release(&res);           /* twice is harmless */
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bands),
		cmocka_unit_test(test_judge_strict_and_not),
		cmocka_unit_test(test_decide_from_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
