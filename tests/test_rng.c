/* test_rng.c - PCG32 against the reference output, and the statistical
 * shape of the derived draws. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "base/rng.h"

/* pcg32-demo from the reference implementation: seed 42, stream 54 */
static void test_reference_sequence(void **state)
{
	static const uint32_t expected[6] = {
		0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e
	};
	struct sw_rng rng;
	int i;

	(void)state;
	sw_rng_seed(&rng, 42u, 54u);
	for (i = 0; i < 6; i++)
		assert_int_equal(sw_rng_u32(&rng), expected[i]);
}

static void test_streams_differ(void **state)
{
	struct sw_rng a, b;
	int i, same = 0;

	(void)state;
	sw_rng_seed(&a, 42u, 54u);
	sw_rng_seed(&b, 42u, 55u);
	for (i = 0; i < 100; i++)
		same += sw_rng_u32(&a) == sw_rng_u32(&b);
	assert_true(same < 3);
}

static void test_double_range_and_mean(void **state)
{
	struct sw_rng rng;
	double sum = 0, lo = 1, hi = 0;
	int i, n = 200000;

	(void)state;
	sw_rng_seed(&rng, 1, 1);
	for (i = 0; i < n; i++) {
		double u = sw_rng_double(&rng);

		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
		lo = u < lo ? u : lo;
		hi = u > hi ? u : hi;
	}
	/* mean of U(0,1): sd of the mean is 1/sqrt(12 n) = 0.00065 */
	assert_true(fabs(sum / n - 0.5) < 0.004);
	assert_true(lo < 1e-4 && hi > 1 - 1e-4);
}

static void test_double_uses_53_bits(void **state)
{
	struct sw_rng rng;
	int i, low_bit_set = 0;

	(void)state;
	sw_rng_seed(&rng, 7, 3);
	for (i = 0; i < 1000; i++) {
		double u = sw_rng_double(&rng) * 9007199254740992.0; /* 2^53 */

		assert_true(u == floor(u));
		low_bit_set += fmod(u, 2.0) == 1.0;
	}
	/* the lowest of the 53 bits is random too, not always zero */
	assert_in_range(low_bit_set, 400, 600);
}

static void test_bounded_unbiased(void **state)
{
	struct sw_rng rng;
	int counts[7] = { 0 }, i, n = 70000;
	double chi2 = 0;

	(void)state;
	sw_rng_seed(&rng, 123, 4);
	for (i = 0; i < n; i++) {
		uint32_t k = sw_rng_bounded(&rng, 7);

		assert_true(k < 7);
		counts[k]++;
	}
	for (i = 0; i < 7; i++)
		chi2 += (counts[i] - n / 7.0) * (counts[i] - n / 7.0) / (n / 7.0);
	assert_true(chi2 < 22.46); /* chi-square, 6 dof, p = 0.001 */
	assert_int_equal(sw_rng_bounded(&rng, 0), 0);
	assert_int_equal(sw_rng_bounded(&rng, 1), 0);
}

static void test_bounded_large_bound(void **state)
{
	struct sw_rng rng;
	uint32_t bound = 3000000000u;
	int i, above_half = 0;

	(void)state;
	/* 2^32 mod 3e9 is large: with plain modulo, results below 1.29e9 would be
	 * twice as likely, so values above 1.5e9 would be only 1/3 of draws */
	sw_rng_seed(&rng, 9, 9);
	for (i = 0; i < 20000; i++) {
		uint32_t k = sw_rng_bounded(&rng, bound);

		assert_true(k < bound);
		above_half += k >= bound / 2;
	}
	assert_in_range(above_half, 9600, 10400);
}

static void test_normal_moments(void **state)
{
	struct sw_rng rng;
	double sum = 0, sum2 = 0, sum4 = 0;
	int i, n = 200000;

	(void)state;
	sw_rng_seed(&rng, 2024, 1);
	for (i = 0; i < n; i++) {
		double z = sw_rng_normal(&rng);

		sum += z;
		sum2 += z * z;
		sum4 += z * z * z * z;
	}
	assert_true(fabs(sum / n) < 0.01);
	assert_true(fabs(sum2 / n - 1.0) < 0.015);
	assert_true(fabs(sum4 / n - 3.0) < 0.1); /* kurtosis of a normal */
}

static void test_derive_independent_and_repeatable(void **state)
{
	struct sw_rng parent, c1, c1again, c2;
	uint64_t before;
	int i, same = 0;

	(void)state;
	sw_rng_seed(&parent, 5, 0);
	sw_rng_derive(&parent, 1, &c1);
	sw_rng_derive(&parent, 1, &c1again);
	sw_rng_derive(&parent, 2, &c2);
	for (i = 0; i < 100; i++) {
		uint32_t a = sw_rng_u32(&c1);

		assert_int_equal(a, sw_rng_u32(&c1again));
		same += a == sw_rng_u32(&c2);
	}
	assert_true(same < 3);
	/* deriving does not advance the parent */
	before = parent.state;
	sw_rng_derive(&parent, 3, &c1);
	assert_int_equal(before, parent.state);
	assert_int_not_equal(sw_seed_derive(0, 0), sw_seed_derive(0, 1));
	assert_int_equal(sw_seed_derive(17, 4), sw_seed_derive(17, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_sequence),
		cmocka_unit_test(test_streams_differ),
		cmocka_unit_test(test_double_range_and_mean),
		cmocka_unit_test(test_double_uses_53_bits),
		cmocka_unit_test(test_bounded_unbiased),
		cmocka_unit_test(test_bounded_large_bound),
		cmocka_unit_test(test_normal_moments),
		cmocka_unit_test(test_derive_independent_and_repeatable),
	};

	return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
