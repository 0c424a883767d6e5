/* test_space.c - leaves in wandb's order, every distribution's ppf against
 * its CDF (Kolmogorov-Smirnov on 10,000 draws for continuous ones,
 * chi-square for discrete ones), and the documented edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/search/observed.h"
#include "base/rng.h"
#include "sweep/spec/space.h"
#include "search_fixture.h"

#define NDRAW 10000

/* One leaf spec around param p; the space's only dim. */
struct one {
	struct sw_spec spec;
	struct sw_space sp;
};

static void one_init(struct one *o, struct sw_param p)
{
	struct sw_err err = SW_ERR_INIT;

	fx_spec(&o->spec, SW_METHOD_RANDOM, &p, 1);
	assert_int_equal(sw_space_init(&o->sp, &o->spec, &err), 0);
	assert_int_equal(o->sp.n, 1);
}

static void one_release(struct one *o)
{
	sw_space_release(&o->sp);
	fx_spec_free(&o->spec);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ==== Order ==== */

static void test_flatten_order_nested_names(void **state)
{
	struct sw_param kids[2], top[4];
	struct sw_spec spec;
	struct sw_space sp = SW_SPACE_INIT;
	struct sw_err err = SW_ERR_INIT;
	json_t *params;

	(void)state;
	kids[0] = fx_range("z", SW_DIST_UNIFORM, 0, 1);
	kids[1] = fx_values("c", "[1, 2]");
	top[0] = fx_range("b", SW_DIST_INT_UNIFORM, 0, 3);
	top[1] = fx_nested("a", kids, 2);
	top[2] = fx_const("a_b", "7");
	top[3] = fx_const("A", "\"x\"");
	fx_spec(&spec, SW_METHOD_RANDOM, top, 4);
	assert_int_equal(sw_space_init(&sp, &spec, &err), 0);
	assert_int_equal(sp.n, 5);
	assert_string_equal(sp.dims[0].name, "A");
	assert_string_equal(sp.dims[1].name, "a.wbnest[599c28ca25da].c");
	assert_string_equal(sp.dims[2].name, "a.wbnest[599c28ca25da].z");
	assert_string_equal(sp.dims[3].name, "a_b");
	assert_string_equal(sp.dims[4].name, "b");
	assert_int_equal(sp.dims[2].depth, 2);
	assert_string_equal(sp.dims[2].path[0], "a");
	assert_string_equal(sp.dims[2].path[1], "z");
	assert_string_equal(sp.dims[2].label, "a.z");
	assert_false(sw_dim_searchable(&sp.dims[0]));
	assert_true(sw_dim_searchable(&sp.dims[1]));

	/* set/get through the nested path */
	params = json_object();
	assert_int_equal(sw_dim_set(&sp.dims[2], params, json_real(0.5)), 0);
	assert_int_equal(sw_dim_set(&sp.dims[1], params, json_integer(2)), 0);
	assert_true(json_number_value(sw_dim_get(&sp.dims[2], params)) == 0.5);
	assert_true(json_is_object(json_object_get(params, "a")));
	assert_null(sw_dim_get(&sp.dims[4], params));
	json_decref(params);
	sw_space_release(&sp);
	fx_spec_free(&spec);
}

/* ==== Special functions ==== */

static void test_norm_and_beta_functions(void **state)
{
	(void)state;
	assert_true(fabs(sw_norm_ppf(0.975) - 1.959963984540054) < 1e-12);
	assert_true(fabs(sw_norm_ppf(0.5)) < 1e-14);
	assert_true(fabs(sw_norm_ppf(1e-10) + 6.361340902404056) < 1e-9);
	assert_true(fabs(sw_norm_ppf(1 - 1e-6) - 4.753424308822899) < 1e-8);
	assert_true(isinf(sw_norm_ppf(0.0)) && sw_norm_ppf(0.0) < 0);
	assert_true(isinf(sw_norm_ppf(1.0)) && sw_norm_ppf(1.0) > 0);
	assert_true(isnan(sw_norm_ppf(1.5)));
	for (double x = -8; x <= 5; x += 0.37)  /* Phi(x) near 1 loses digits */
		assert_true(fabs(sw_norm_ppf(sw_norm_cdf(x)) - x) < 1e-9);
	/* Beta(2,3) at 0.5 = 11/16; Beta(1,1) is uniform; Beta(0.5,0.5) is the
	 * arcsine law 2/pi asin(sqrt x) */
	assert_true(fabs(sw_beta_cdf(0.5, 2, 3) - 0.6875) < 1e-13);
	assert_true(fabs(sw_beta_cdf(0.3, 1, 1) - 0.3) < 1e-13);
	assert_true(fabs(sw_beta_cdf(0.2, 0.5, 0.5) - 2 / M_PI * asin(sqrt(0.2))) < 1e-12);
	assert_true(fabs(sw_beta_cdf(0.9, 50, 30) - (1 - sw_beta_cdf(0.1, 30, 50))) < 1e-12);
	assert_true(fabs(sw_beta_ppf(0.6875, 2, 3) - 0.5) < 1e-12);
	/* degenerate shapes */
	assert_true(sw_beta_ppf(0.3, 0, 2) == 0.0);
	assert_true(sw_beta_ppf(0.3, 2, 0) == 1.0);
	assert_true(sw_beta_ppf(0.3, 0, 0) == 0.0 && sw_beta_ppf(0.7, 0, 0) == 1.0);
	/* numpy rounding: ties to even */
	assert_true(sw_round_half_even(2.5) == 2.0);
	assert_true(sw_round_half_even(3.5) == 4.0);
	assert_true(sw_round_half_even(-2.5) == -2.0);
	assert_true(sw_round_half_even(0.5) == 0.0);
	assert_true(sw_round_half_even(1.5000001) == 2.0);
	assert_true(sw_q_round(7.5, 5) == 10.0);
	assert_true(sw_q_round(12.5, 5) == 10.0);
}

/* ==== Kolmogorov-Smirnov ==== */

typedef double (*cdf_fn)(double x, const struct sw_param *p);

static double ks_statistic(struct one *o, cdf_fn F, uint64_t seed)
{
	static double xs[NDRAW];
	struct sw_rng rng;
	double dmax = 0.0;
	int i;

	sw_rng_seed(&rng, seed, 1);
	for (i = 0; i < NDRAW; i++) {
		double u = ((double)(sw_rng_u64(&rng) >> 11) + 0.5) / 9007199254740992.0;
		json_t *v = sw_dim_ppf(&o->sp.dims[0], u);

		assert_true(json_is_real(v));
		xs[i] = json_real_value(v);
		json_decref(v);
	}
	qsort(xs, NDRAW, sizeof(double), cmp_d);
	for (i = 0; i < NDRAW; i++) {
		double f = F(xs[i], o->sp.dims[0].param);
		double d1 = fabs((i + 1.0) / NDRAW - f), d2 = fabs(f - (double)i / NDRAW);

		if (d1 > dmax)
			dmax = d1;
		if (d2 > dmax)
			dmax = d2;
	}
	return dmax;
}

/* reference CDFs written from the distributions' definitions */
static double F_uniform(double x, const struct sw_param *p)
{
	return (x - p->min) / (p->max - p->min);
}
static double F_log_exponents(double x, const struct sw_param *p)
{
	return (log(x) - p->min) / (p->max - p->min);
}
static double F_log_values(double x, const struct sw_param *p)
{
	return (log(x) - log(p->min)) / (log(p->max) - log(p->min));
}
static double F_inv_log_exponents(double x, const struct sw_param *p)
{
	/* -ln X ~ U(min, max) */
	return (p->max + log(x)) / (p->max - p->min);
}
static double F_normal(double x, const struct sw_param *p)
{
	return 0.5 * erfc(-(x - p->mu) / (p->sigma * sqrt(2.0)));
}
static double F_log_normal(double x, const struct sw_param *p)
{
	return 0.5 * erfc(-(log(x) - p->mu) / (p->sigma * sqrt(2.0)));
}
static double F_beta(double x, const struct sw_param *p)
{
	return sw_beta_cdf(x, p->a, p->b);
}
static double F_arcsine(double x, const struct sw_param *p)
{
	(void)p;
	return 2.0 / M_PI * asin(sqrt(x));
}

/* KS critical value at alpha = 0.001 for n = 10,000: 1.95 / sqrt(n) */
#define KS_CRIT (1.95 / 100.0)

static void check_ks(struct sw_param p, cdf_fn F)
{
	struct one o;
	double d;

	one_init(&o, p);
	d = ks_statistic(&o, F, 12345);
	if (d >= KS_CRIT)
		fail_msg("KS statistic %.4f for %s exceeds %.4f", d, p.name, KS_CRIT);
	/* the module's own CDF agrees with the reference */
	for (double u = 0.05; u < 1.0; u += 0.1) {
		json_t *v = sw_dim_ppf(&o.sp.dims[0], u);
		double c;
		struct sw_err err = SW_ERR_INIT;

		assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), 0);
		assert_true(fabs(c - u) < 1e-9);
		assert_true(fabs(F(json_real_value(v), o.sp.dims[0].param) - u) < 1e-9);
		json_decref(v);
	}
	one_release(&o);
}

static void test_ks_continuous(void **state)
{
	struct sw_param p;

	(void)state;
	check_ks(fx_range("uniform", SW_DIST_UNIFORM, -3, 7), F_uniform);
	check_ks(fx_range("log_uniform", SW_DIST_LOG_UNIFORM, -4, 1), F_log_exponents);
	check_ks(fx_range("log_uniform_values", SW_DIST_LOG_UNIFORM_VALUES, 1e-5, 0.1),
		 F_log_values);
	check_ks(fx_range("inv_log_uniform", SW_DIST_INV_LOG_UNIFORM, 1, 3),
		 F_inv_log_exponents);
	/* inv_log_uniform_values is log_uniform_values in disguise (§3) */
	check_ks(fx_range("inv_log_uniform_values", SW_DIST_INV_LOG_UNIFORM_VALUES,
			  0.01, 10), F_log_values);
	p = fx_param("normal", SW_DIST_NORMAL);
	p.mu = 2.0;
	p.sigma = 0.5;
	check_ks(p, F_normal);
	p = fx_param("log_normal", SW_DIST_LOG_NORMAL);
	p.mu = -1.0;
	p.sigma = 0.7;
	check_ks(p, F_log_normal);
	p = fx_param("beta", SW_DIST_BETA);
	p.a = 2.0;
	p.b = 5.0;
	check_ks(p, F_beta);
	p = fx_param("beta_arcsine", SW_DIST_BETA);
	p.a = 0.5;
	p.b = 0.5;
	check_ks(p, F_arcsine);
}

/* ==== Chi-square ==== */

/* Draws NDRAW values, bins them by key, compares with expected
 * probabilities; fails above the 0.001 quantile (Wilson-Hilferty). */
static void check_chi2(struct sw_param p, const char *const *keys,
		       const double *prob, int k, int expect_int)
{
	struct one o;
	struct sw_rng rng;
	int counts[64] = { 0 }, i, j;
	double chi2 = 0.0, dof, crit;

	one_init(&o, p);
	sw_rng_seed(&rng, 777, 3);
	for (i = 0; i < NDRAW; i++) {
		double u = ((double)(sw_rng_u64(&rng) >> 11) + 0.5) / 9007199254740992.0;
		json_t *v = sw_dim_ppf(&o.sp.dims[0], u);
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (expect_int == 1)
			assert_true(json_is_integer(v));
		else if (expect_int == 0)
			assert_true(json_is_real(v));
		for (j = 0; j < k; j++)
			if (!strcmp(s, keys[j]))
				break;
		if (j == k)
			fail_msg("%s drew unexpected value %s", p.name, s);
		counts[j]++;
		free(s);
		json_decref(v);
	}
	for (j = 0; j < k; j++) {
		double e = prob[j] * NDRAW;

		chi2 += (counts[j] - e) * (counts[j] - e) / e;
	}
	dof = k - 1;
	crit = dof * pow(1 - 2 / (9 * dof) + 3.09 * sqrt(2 / (9 * dof)), 3);
	if (chi2 > crit)
		fail_msg("chi-square %.2f for %s exceeds %.2f", chi2, p.name, crit);
	one_release(&o);
}

static void test_chi2_discrete(void **state)
{
	static const char *const cat_keys[] = { "\"a\"", "\"b\"", "3", "[1,2]" };
	static const double cat_p[] = { 0.25, 0.25, 0.25, 0.25 };
	static const char *const w_keys[] = { "\"x\"", "\"y\"", "\"z\"" };
	static const double w_p[] = { 0.1, 0.2, 0.7 };
	static const char *const int_keys[] = { "-2", "-1", "0", "1", "2", "3" };
	static const double int_p[] = { 1 / 6., 1 / 6., 1 / 6., 1 / 6., 1 / 6., 1 / 6. };
	static const char *const q_keys[] = { "0", "2", "4", "6", "8", "10" };
	static const double q_p[] = { 0.1, 0.2, 0.2, 0.2, 0.2, 0.1 };
	static const char *const qf_keys[] = { "0.0", "2.0", "4.0", "6.0", "8.0", "10.0" };
	const char *qn_keys[16];
	double qn_p[16];
	char qn_buf[16][16];
	struct sw_param p;
	int j;

	(void)state;
	check_chi2(fx_values("categorical", "[\"a\", \"b\", 3, [1, 2]]"), cat_keys,
		   cat_p, 4, -1);
	p = fx_values("weighted", "[\"x\", \"y\", \"z\"]");
	p.dist = SW_DIST_CATEGORICAL_W_PROBABILITIES;
	p.probabilities = malloc(3 * sizeof(double));
	memcpy(p.probabilities, w_p, sizeof(w_p));
	p.n_probabilities = 3;
	check_chi2(p, w_keys, w_p, 3, -1);
	check_chi2(fx_range("int_uniform", SW_DIST_INT_UNIFORM, -2, 3), int_keys,
		   int_p, 6, 1);
	/* q_uniform with an integer q gives integers, with 2.0 reals */
	p = fx_range("q_uniform", SW_DIST_Q_UNIFORM, 0, 10);
	p.q = 2;
	p.q_is_int = 1;
	check_chi2(p, q_keys, q_p, 6, 1);
	p = fx_range("q_uniform_real", SW_DIST_Q_UNIFORM, 0, 10);
	p.q = 2.0;
	check_chi2(p, qf_keys, q_p, 6, 0);
	/* q_normal(0, 1, q=2): value 2k has probability
	 * Phi(2k+1) - Phi(2k-1); beyond +-4 (|x| > 5) is 6e-7 */
	p = fx_param("q_normal", SW_DIST_Q_NORMAL);
	p.q = 2;
	p.q_is_int = 1;
	for (j = 0; j < 5; j++) {
		int v = 2 * (j - 2);

		snprintf(qn_buf[j], sizeof(qn_buf[j]), "%d", v);
		qn_keys[j] = qn_buf[j];
		qn_p[j] = sw_norm_cdf(v + 1.0) - sw_norm_cdf(v - 1.0);
	}
	check_chi2(p, qn_keys, qn_p, 5, 1);
}

/* ==== Edge cases ==== */

static void test_ppf_edges(void **state)
{
	struct one o;
	json_t *v;
	struct sw_param p;

	(void)state;
	/* categorical: scipy randint.ppf(0) = -1 => Python's values[-1] */
	one_init(&o, fx_values("c", "[10, 20, 30, 40]"));
	v = sw_dim_ppf(&o.sp.dims[0], 0.0);
	assert_int_equal(json_integer_value(v), 40);
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 0.25);     /* ceil(1) - 1 = 0 */
	assert_int_equal(json_integer_value(v), 10);
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 0.2500001);
	assert_int_equal(json_integer_value(v), 20);
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 1.0);
	assert_int_equal(json_integer_value(v), 40);
	json_decref(v);
	one_release(&o);

	/* int_uniform: u = 0 gives min - 1, u = 1 gives max */
	one_init(&o, fx_range("i", SW_DIST_INT_UNIFORM, 1, 4));
	v = sw_dim_ppf(&o.sp.dims[0], 0.0);
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), 0);
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 1.0);
	assert_int_equal(json_integer_value(v), 4);
	json_decref(v);
	one_release(&o);

	/* categorical_w_probabilities: u >= sum(p) gives index 0 */
	p = fx_values("w", "[\"a\", \"b\"]");
	p.dist = SW_DIST_CATEGORICAL_W_PROBABILITIES;
	p.probabilities = malloc(2 * sizeof(double));
	p.probabilities[0] = 0.3;
	p.probabilities[1] = 0.7;
	p.n_probabilities = 2;
	one_init(&o, p);
	v = sw_dim_ppf(&o.sp.dims[0], 1.0);
	assert_string_equal(json_string_value(v), "a");
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 0.3);      /* first cumsum > u is 1.0 */
	assert_string_equal(json_string_value(v), "b");
	json_decref(v);
	one_release(&o);

	/* q_log_uniform_values with q > min can give 0 */
	p = fx_range("ql", SW_DIST_Q_LOG_UNIFORM_VALUES, 0.1, 100);
	p.q = 1;
	p.q_is_int = 1;
	one_init(&o, p);
	v = sw_dim_ppf(&o.sp.dims[0], 0.0);
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), 0);
	json_decref(v);
	one_release(&o);

	/* q_uniform may round outside [min, max]: 0..9 with q 5, u=1 -> 10 */
	p = fx_range("qu", SW_DIST_Q_UNIFORM, 0, 9);
	p.q = 5;
	p.q_is_int = 1;
	one_init(&o, p);
	v = sw_dim_ppf(&o.sp.dims[0], 1.0);
	assert_int_equal(json_integer_value(v), 10);
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 0.25);     /* 2.25 / 5 = 0.45 -> 0 */
	assert_int_equal(json_integer_value(v), 0);
	json_decref(v);
	v = sw_dim_ppf(&o.sp.dims[0], 7.5 / 9);  /* 7.5/5 = 1.5 -> 2 (even) */
	assert_int_equal(json_integer_value(v), 10);
	json_decref(v);
	one_release(&o);

	/* normal: ppf(0) would be -inf: JSON null, never a crash */
	one_init(&o, fx_param("n", SW_DIST_NORMAL));
	v = sw_dim_ppf(&o.sp.dims[0], 0.0);
	assert_true(json_is_null(v));
	json_decref(v);
	one_release(&o);

	/* constant: the value, whatever its shape */
	one_init(&o, fx_const("k", "{\"a\": [1, 2]}"));
	v = sw_dim_ppf(&o.sp.dims[0], 0.7);
	assert_true(json_is_object(v));
	json_decref(v);
	one_release(&o);
}

static void test_cdf_edges(void **state)
{
	struct one o;
	struct sw_err err = SW_ERR_INIT;
	double c;
	json_t *v;

	(void)state;
	one_init(&o, fx_values("c", "[\"a\", 2, 3.5]"));
	v = json_integer(2);
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), 0);
	assert_true(fabs(c - 2.0 / 3) < 1e-15);             /* (idx+1)/n */
	assert_int_equal(sw_dim_encode(&o.sp.dims[0], v, &c, &err), 0);
	assert_true(fabs(c - 1.5 / 3) < 1e-15);             /* cell centre */
	json_decref(v);
	v = json_real(2.0);                                 /* Python 2 == 2.0 */
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), 0);
	json_decref(v);
	v = json_string("b");
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), -1);
	assert_non_null(strstr(err.msg, "not a permitted value"));
	assert_non_null(strstr(err.msg, "'c'"));
	json_decref(v);
	one_release(&o);

	one_init(&o, fx_range("i", SW_DIST_INT_UNIFORM, 1, 4));
	v = json_real(2.7);                                 /* floor */
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), 0);
	assert_true(fabs(c - 0.5) < 1e-15);
	json_decref(v);
	v = json_string("x");
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), -1);
	assert_non_null(strstr(err.msg, "not a number"));
	json_decref(v);
	one_release(&o);

	one_init(&o, fx_range("u", SW_DIST_UNIFORM, 0, 10));
	v = json_integer(20);                               /* clipped */
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), 0);
	assert_true(c == 1.0);
	json_decref(v);
	one_release(&o);

	one_init(&o, fx_const("k", "5"));
	v = json_integer(9);
	assert_int_equal(sw_dim_cdf(&o.sp.dims[0], v, &c, &err), 0);
	assert_true(c == 0.0);
	json_decref(v);
	one_release(&o);

	/* snap: discrete coordinates move to their cell centre */
	one_init(&o, fx_range("i", SW_DIST_INT_UNIFORM, 0, 4));
	assert_true(fabs(sw_dim_snap(&o.sp.dims[0], 0.33) - 0.3) < 1e-15);
	assert_true(fabs(sw_dim_snap(&o.sp.dims[0], 0.0) - 0.1) < 1e-15);
	one_release(&o);
}

static void test_value_keys(void **state)
{
	static const char *const same[][2] = {
		{ "3", "3.0" }, { "{\"a\": 1, \"b\": 2}", "{\"b\": 2, \"a\": 1}" },
		{ "-0.0", "0" },
	};
	static const char *const differ[][2] = {
		{ "true", "1" }, { "\"3\"", "3" }, { "[1.0]", "[1]" }, { "null", "false" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		json_t *a = json_loads(same[i][0], JSON_DECODE_ANY, NULL);
		json_t *b = json_loads(same[i][1], JSON_DECODE_ANY, NULL);
		char *ka = sw_value_key(a), *kb = sw_value_key(b);

		assert_string_equal(ka, kb);
		free(ka);
		free(kb);
		json_decref(a);
		json_decref(b);
	}
	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		json_t *a = json_loads(differ[i][0], JSON_DECODE_ANY, NULL);
		json_t *b = json_loads(differ[i][1], JSON_DECODE_ANY, NULL);
		char *ka = sw_value_key(a), *kb = sw_value_key(b);

		assert_string_not_equal(ka, kb);
		free(ka);
		free(kb);
		json_decref(a);
		json_decref(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flatten_order_nested_names),
		cmocka_unit_test(test_norm_and_beta_functions),
		cmocka_unit_test(test_ks_continuous),
		cmocka_unit_test(test_chi2_discrete),
		cmocka_unit_test(test_ppf_edges),
		cmocka_unit_test(test_cdf_edges),
		cmocka_unit_test(test_value_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
