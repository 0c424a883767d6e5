/* test_search_bayes.c - Bayesian search: converges on toy functions (both
 * goals), pending runs give distinct suggestions, rounds of parallel
 * proposals are spread and reproducible either way of asking, draws in
 * the trust region and one EI proposal in eight while runs pend, running
 * runs' intermediate values, imputation of failed and running runs,
 * determinism for a seed, discrete spaces, errors. */
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
#include "sweep/search/search.h"
#include "sweep/search/trust_region.h"
#include "search_fixture.h"

static void toy_spec(struct sw_spec *spec, enum sw_goal goal)
{
	struct sw_param p[3];

	p[0] = fx_range("x", SW_DIST_UNIFORM, -1, 1);
	p[0].min_is_int = p[0].max_is_int = 0;
	p[1] = fx_range("y", SW_DIST_UNIFORM, -1, 1);
	p[1].min_is_int = p[1].max_is_int = 0;
	p[2] = fx_const("tag", "\"toy\"");
	fx_spec(spec, SW_METHOD_BAYES, p, 3);
	fx_metric(spec, "f", goal);
}

static double toy(const json_t *params)
{
	double x = json_number_value(json_object_get(params, "x"));
	double y = json_number_value(json_object_get(params, "y"));

	return (x - 0.3) * (x - 0.3) + 2 * (y + 0.2) * (y + 0.2);
}

static void add_run(struct sw_runs *runs, json_t *params, enum sw_obs_state st,
		    const char *metric, double v)
{
	json_t *summary = json_pack("{sf}", metric, v);

	assert_int_equal(sw_runs_add(runs, params, st, summary, NULL), 0);
	json_decref(summary);
}

static json_t *ask(struct sw_spec *spec, struct sw_runs *runs, size_t count,
		   uint64_t seed)
{
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end;
	json_t *out = json_array();

	if (sw_search_next(spec, runs, count, seed, out, &end, &err) < 0)
		fail_msg("bayes failed: %s", err.msg);
	return out;
}

static double run_loop(enum sw_goal goal, int trials, uint64_t seed)
{
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	double best = INFINITY;
	int t;

	toy_spec(&spec, goal);
	for (t = 0; t < trials; t++) {
		json_t *out = ask(&spec, &runs, 1, seed), *p = json_array_get(out, 0);
		double f = toy(p);

		assert_string_equal(json_string_value(json_object_get(p, "tag")), "toy");
		if (f < best)
			best = f;
		add_run(&runs, p, SW_OBS_FINISHED, "f",
			goal == SW_GOAL_MAXIMIZE ? -f : f);
		json_decref(out);
	}
	sw_runs_release(&runs);
	fx_spec_free(&spec);
	return best;
}

static void test_converges_minimize(void **state)
{
	(void)state;
	/* random search needs ~1/(pi*0.01/4/sqrt2) ~ 180 trials for 1e-2 */
	for (uint64_t seed = 0; seed < 3; seed++) {
		double best = run_loop(SW_GOAL_MINIMIZE, 20, seed);

		if (!(best < 1e-3))
			fail_msg("seed %d: best %g after 20 trials", (int)seed, best);
	}
}

static void test_converges_maximize(void **state)
{
	double best;

	(void)state;
	best = run_loop(SW_GOAL_MAXIMIZE, 20, 5);
	if (!(best < 1e-3))
		fail_msg("best %g after 20 trials", best);
}

static void seed_history(struct sw_spec *spec, struct sw_runs *runs, int n)
{
	int t;

	for (t = 0; t < n; t++) {
		json_t *out = ask(spec, runs, 1, 11), *p = json_array_get(out, 0);

		add_run(runs, p, SW_OBS_FINISHED, "f", toy(p));
		json_decref(out);
	}
}

static void test_pending_gives_distinct_points(void **state)
{
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	json_t *batch, *one;
	size_t i, j;

	(void)state;
	toy_spec(&spec, SW_GOAL_MINIMIZE);
	seed_history(&spec, &runs, 8);
	batch = ask(&spec, &runs, 4, 3);
	assert_int_equal(json_array_size(batch), 4);
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++) {
			json_t *a = json_array_get(batch, i), *b = json_array_get(batch, j);
			double dx = json_number_value(json_object_get(a, "x")) -
				    json_number_value(json_object_get(b, "x"));
			double dy = json_number_value(json_object_get(a, "y")) -
				    json_number_value(json_object_get(b, "y"));

			if (!(sqrt(dx * dx + dy * dy) > 1e-3))
				fail_msg("suggestions %zu and %zu coincide", i, j);
		}
	/* a worker that sees the first as running gets the second */
	assert_int_equal(sw_runs_add(&runs, json_array_get(batch, 0), SW_OBS_RUNNING,
				     NULL, NULL), 0);
	one = ask(&spec, &runs, 1, 3);
	assert_true(json_equal(json_array_get(one, 0), json_array_get(batch, 1)));
	json_decref(one);
	json_decref(batch);
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

static void test_deterministic_for_seed(void **state)
{
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	json_t *a, *b, *c;

	(void)state;
	toy_spec(&spec, SW_GOAL_MINIMIZE);
	seed_history(&spec, &runs, 10);
	a = ask(&spec, &runs, 2, 9);
	b = ask(&spec, &runs, 2, 9);
	c = ask(&spec, &runs, 2, 10);
	assert_true(json_equal(a, b));
	assert_false(json_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

/* ==== Parallel proposals (rounds) ==== */

/* Hartmann-6 on [0,1]^6 (minimum -3.32237) */
static double hartmann6(const json_t *params)
{
	static const double A[4][6] = {
		{ 10, 3, 17, 3.5, 1.7, 8 }, { 0.05, 10, 17, 0.1, 8, 14 },
		{ 3, 3.5, 1.7, 10, 17, 8 }, { 17, 8, 0.05, 10, 0.1, 14 } };
	static const double P[4][6] = {
		{ 0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886 },
		{ 0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991 },
		{ 0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650 },
		{ 0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381 } };
	static const double alpha[4] = { 1.0, 1.2, 3.0, 3.2 };
	double s = 0.0;
	int i, j;

	for (i = 0; i < 4; i++) {
		double e = 0.0;

		for (j = 0; j < 6; j++) {
			char name[4] = { 'x', (char)('1' + j), 0, 0 };
			double x = json_number_value(json_object_get(params, name));

			e += A[i][j] * (x - P[i][j]) * (x - P[i][j]);
		}
		s -= alpha[i] * exp(-e);
	}
	return s;
}

static void h6_spec(struct sw_spec *spec)
{
	struct sw_param p[6];
	int i;

	for (i = 0; i < 6; i++) {
		char name[4] = { 'x', (char)('1' + i), 0, 0 };

		p[i] = fx_range(name, SW_DIST_UNIFORM, 0, 1);
		p[i].min_is_int = p[i].max_is_int = 0;
	}
	fx_spec(spec, SW_METHOD_BAYES, p, 6);
	fx_metric(spec, "f", SW_GOAL_MINIMIZE);
}

/* Two rounds of 8 told as finished, then the third round asked both ways:
 * as one call with count 8 (*batch) and as 8 calls, each seeing the
 * round's earlier proposals as running (*single). */
static void h6_third_round(struct sw_spec *spec, struct sw_runs *runs,
			   uint64_t seed, json_t **batch, json_t **single)
{
	struct sw_runs with_running = SW_RUNS_INIT;
	size_t i, k;
	int r;

	for (r = 0; r < 2; r++) {
		json_t *out = ask(spec, runs, 8, seed);

		assert_int_equal(json_array_size(out), 8);
		for (i = 0; i < 8; i++) {
			json_t *p = json_array_get(out, i);

			add_run(runs, p, SW_OBS_FINISHED, "f", hartmann6(p));
		}
		json_decref(out);
	}
	*batch = ask(spec, runs, 8, seed);
	*single = json_array();
	for (k = 0; k < 8; k++) {
		json_t *one;

		sw_runs_release(&with_running);
		for (i = 0; i < runs->n; i++)
			assert_int_equal(sw_runs_add(&with_running, runs->items[i].params,
						     SW_OBS_FINISHED,
						     runs->items[i].summary, NULL), 0);
		for (i = 0; i < k; i++)
			assert_int_equal(sw_runs_add(&with_running,
						     json_array_get(*single, i),
						     SW_OBS_RUNNING, NULL, NULL), 0);
		one = ask(spec, &with_running, 1, seed);
		assert_int_equal(json_array_append(*single, json_array_get(one, 0)), 0);
		json_decref(one);
	}
	sw_runs_release(&with_running);
}

/* The smallest distance between two proposals of a round, in units of the
 * model's length scales (r^2 = sum ((a_i - b_i) / l_i)^2 on the unit cube). */
static double min_scaled_distance(const json_t *round, const double *l)
{
	double best = INFINITY;
	size_t i, j;
	int k;

	for (i = 0; i < json_array_size(round); i++)
		for (j = i + 1; j < json_array_size(round); j++) {
			double r2 = 0.0;

			for (k = 0; k < 6; k++) {
				char name[4] = { 'x', (char)('1' + k), 0, 0 };
				double t = json_number_value(json_object_get(
						json_array_get(round, i), name)) -
					   json_number_value(json_object_get(
						json_array_get(round, j), name));

				r2 += t * t / (l[k] * l[k]);
			}
			if (sqrt(r2) < best)
				best = sqrt(r2);
		}
	return best;
}

/* A round of parallel proposals is spread out, asked either way: no two
 * closer than sw_tr_separation (a tenth of a length scale, where Matern-5/2
 * correlation is 0.98 and a second evaluation adds almost nothing, or a
 * quarter of the trust region's side once the region has shrunk below
 * that to polish the best point). Before running runs moved EI's
 * incumbent, a round piled up next to its first point. */
static void test_round_is_spread(void **state)
{
	struct sw_spec spec;
	struct sw_space sp = SW_SPACE_INIT;
	struct sw_err err = SW_ERR_INIT;
	uint64_t seed;

	(void)state;
	h6_spec(&spec);
	assert_int_equal(sw_space_init(&sp, &spec, &err), 0);
	for (seed = 0; seed < 4; seed++) {
		struct sw_runs runs = SW_RUNS_INIT;
		json_t *batch, *single;
		double l[6], log_l[6], y[16], db, ds, sep;
		size_t i;

		h6_third_round(&spec, &runs, seed, &batch, &single);
		assert_int_equal(sw_bayes_length_scales(&spec, &sp, &runs, seed, l,
							&err), 1);
		assert_int_equal(runs.n, 16);
		for (i = 0; i < 16; i++)
			y[i] = json_number_value(json_object_get(runs.items[i].summary,
								 "f"));
		for (i = 0; i < 6; i++)
			log_l[i] = log(l[i]);
		/* 16 runs, the first 7 random (d + 1) */
		sep = sw_tr_separation(log_l, 6, sw_tr_side(y, 16, 7, 6));
		db = min_scaled_distance(batch, l);
		ds = min_scaled_distance(single, l);
		if (!(sep > 0.05) || !(db >= sep * (1 - 1e-9)) ||
		    !(ds >= sep * (1 - 1e-9)))
			fail_msg("seed %d: two proposals of a round %.3f / %.3f "
				 "length scales apart (separation %.3f)", (int)seed,
				 db, ds, sep);
		json_decref(batch);
		json_decref(single);
		sw_runs_release(&runs);
	}
	sw_space_release(&sp);
	fx_spec_free(&spec);
}

/* While runs are pending, proposals are Thompson draws in the trust region,
 * kept sw_tr_separation away from the pending points: after 40 runs of the
 * quadratic toy (the region has shrunk to a fifth of the cube's side) and
 * with a running run beside the optimum, the seven draws of a round
 * (indices 41 to 47) lie in one box of the side the history gives, whose
 * centre is within SW_TR_REACH / 2 sides of the best finished run, those
 * at odd indices in its middle third, and none comes closer to the
 * running run than the separation. Index 48 (one
 * in eight) maximises EI over the whole cube instead; it may land
 * anywhere. */
static void test_trust_region_slots(void **state)
{
	struct sw_spec spec;
	struct sw_space sp = SW_SPACE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_runs runs = SW_RUNS_INIT;
	json_t *near = json_pack("{sfsfss}", "x", 0.32, "y", -0.18, "tag", "toy");
	json_t *out;
	enum { NH = 40 };   /* a history long enough for the region to shrink */
	double l[2], log_l[2], y[NH], c[2], lo[2], hi[2], side, sep, best = INFINITY;
	double dmin[2] = { INFINITY, INFINITY }, dmax[2] = { -INFINITY, -INFINITY };
	double imin[2] = { INFINITY, INFINITY }, imax[2] = { -INFINITY, -INFINITY };
	size_t i;
	int k;

	(void)state;
	toy_spec(&spec, SW_GOAL_MINIMIZE);
	assert_int_equal(sw_space_init(&sp, &spec, &err), 0);
	seed_history(&spec, &runs, NH);
	for (i = 0; i < NH; i++) {
		const json_t *p = runs.items[i].params;

		y[i] = toy(p);
		if (y[i] < best) {   /* on the unit cube: (v + 1) / 2 */
			best = y[i];
			c[0] = (json_number_value(json_object_get(p, "x")) + 1) / 2;
			c[1] = (json_number_value(json_object_get(p, "y")) + 1) / 2;
		}
	}
	assert_int_equal(sw_bayes_length_scales(&spec, &sp, &runs, 3, l, &err), 1);
	log_l[0] = log(l[0]);
	log_l[1] = log(l[1]);
	side = sw_tr_side(y, NH, 3, 2);   /* d + 1 = 3 random first */
	sw_tr_box(log_l, 2, c, side, lo, hi);
	sep = sw_tr_separation(log_l, 2, side);
	assert_int_equal(sw_runs_add(&runs, near, SW_OBS_RUNNING, NULL, NULL), 0);
	out = ask(&spec, &runs, 8, 3);
	for (i = 0; i < 7; i++) {
		const json_t *p = json_array_get(out, i);
		double u = (json_number_value(json_object_get(p, "x")) + 1) / 2;
		double v = (json_number_value(json_object_get(p, "y")) + 1) / 2;
		double r = hypot((u - 0.66) / l[0], (v - 0.41) / l[1]), uv[2] = { u, v };

		for (k = 0; k < 2; k++) {
			double reach = 0.5 * (SW_TR_REACH + 1) * (hi[k] - lo[k]);

			if (!(fabs(uv[k] - c[k]) <= reach + 1e-12))
				fail_msg("draw %zu (%.4f, %.4f) farther than %.4f from "
					 "the best run (%.4f, %.4f)", i, u, v, reach,
					 c[0], c[1]);
			dmin[k] = fmin(dmin[k], uv[k]);
			dmax[k] = fmax(dmax[k], uv[k]);
			if (i % 2 == 0) {   /* indices 41, 43, 45, 47 */
				imin[k] = fmin(imin[k], uv[k]);
				imax[k] = fmax(imax[k], uv[k]);
			}
		}
		if (!(r >= sep * (1 - 1e-9)))
			fail_msg("draw %zu %.4f length scales from the running run "
				 "(separation %.4f)", i, r, sep);
	}
	for (k = 0; k < 2; k++) {
		if (!(dmax[k] - dmin[k] <= hi[k] - lo[k] + 1e-12))
			fail_msg("the draws span %.4f in dimension %d, more than the "
				 "region's side %.4f", dmax[k] - dmin[k], k, hi[k] - lo[k]);
		if (!(imax[k] - imin[k] <= SW_TR_INNER * (hi[k] - lo[k]) + 1e-12))
			fail_msg("the odd draws span %.4f in dimension %d, more than a "
				 "third of the region's side %.4f", imax[k] - imin[k], k,
				 hi[k] - lo[k]);
	}
	if (!(hi[0] - lo[0] < 0.5) || !(hi[1] - lo[1] < 0.5))
		fail_msg("the trust region [%.4f, %.4f] x [%.4f, %.4f] has not "
			 "shrunk", lo[0], hi[0], lo[1], hi[1]);
	json_decref(out);
	json_decref(near);
	sw_runs_release(&runs);
	sw_space_release(&sp);
	fx_spec_free(&spec);
}

/* The same seed and history give the same round, either way of asking;
 * another seed gives another. */
static void test_round_reproducible(void **state)
{
	struct sw_spec spec;
	struct sw_runs r1 = SW_RUNS_INIT, r2 = SW_RUNS_INIT, r3 = SW_RUNS_INIT;
	json_t *b1, *s1, *b2, *s2, *b3, *s3;

	(void)state;
	h6_spec(&spec);
	h6_third_round(&spec, &r1, 4, &b1, &s1);
	h6_third_round(&spec, &r2, 4, &b2, &s2);
	h6_third_round(&spec, &r3, 5, &b3, &s3);
	assert_true(json_equal(b1, b2));
	assert_true(json_equal(s1, s2));
	assert_false(json_equal(b1, b3));
	assert_false(json_equal(s1, s3));
	json_decref(b1);
	json_decref(s1);
	json_decref(b2);
	json_decref(s2);
	json_decref(b3);
	json_decref(s3);
	sw_runs_release(&r1);
	sw_runs_release(&r2);
	sw_runs_release(&r3);
	fx_spec_free(&spec);
}

/* Distance from the first proposal for runs (seed 2) to (-0.8, 0.8). */
static double toy_distance_to_corner(struct sw_spec *spec, struct sw_runs *runs)
{
	json_t *out = ask(spec, runs, 1, 2), *p = json_array_get(out, 0);
	double dist = hypot(json_number_value(json_object_get(p, "x")) + 0.8,
			    json_number_value(json_object_get(p, "y")) - 0.8);

	json_decref(out);
	return dist;
}

/* A running run that has already logged a value far better than the model
 * expects there draws the next proposal towards it (it can only end at or
 * below that value); without what it logged it only keeps the next
 * proposal away. */
static void test_running_intermediate_value(void **state)
{
	struct sw_spec spec;
	struct sw_runs quiet = SW_RUNS_INIT, logged = SW_RUNS_INIT;
	json_t *p = json_pack("{sfsfss}", "x", -0.8, "y", 0.8, "tag", "toy");
	json_t *hist = json_pack("[{sf}]", "f", -5.0);
	double dw, dwo;
	size_t i;

	(void)state;
	toy_spec(&spec, SW_GOAL_MINIMIZE);
	seed_history(&spec, &quiet, 10);
	for (i = 0; i < quiet.n; i++)
		assert_int_equal(sw_runs_add(&logged, quiet.items[i].params,
					     quiet.items[i].state,
					     quiet.items[i].summary, NULL), 0);
	assert_int_equal(sw_runs_add(&quiet, p, SW_OBS_RUNNING, NULL, NULL), 0);
	assert_int_equal(sw_runs_add(&logged, p, SW_OBS_RUNNING, NULL, hist), 0);
	dwo = toy_distance_to_corner(&spec, &quiet);
	dw = toy_distance_to_corner(&spec, &logged);
	if (!(dw < 0.3) || !(dwo > 0.5))
		fail_msg("distance to the running run %.3f with its value, %.3f "
			 "without", dw, dwo);
	json_decref(hist);
	json_decref(p);
	sw_runs_release(&quiet);
	sw_runs_release(&logged);
	fx_spec_free(&spec);
}

static void test_impute(void **state)
{
	struct sw_spec spec;
	struct sw_space sp = SW_SPACE_INIT;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	double *X, *y, *P;
	int d, n, np;

	(void)state;
	toy_spec(&spec, SW_GOAL_MINIMIZE);
	assert_int_equal(sw_space_init(&sp, &spec, &err), 0);
	/* finished: best of history and summary */
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 0, \"y\": 0}, \"state\": \"finished\", \"summary\": {\"f\": 3}, \"history\": [{\"f\": 5}, {\"f\": 2}, {\"f\": 4}]}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 1, \"y\": -1}, \"state\": \"finished\", \"summary\": {\"f\": 7}, \"history\": [{\"f\": 9}, {\"f\": 8}]}"), 0);
	/* failed with values: imputed anyway (worst: max over runs' maxima) */
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 0.5, \"y\": 0.5}, \"state\": \"failed\", \"history\": [{\"f\": 1}, {\"f\": 6}]}"), 0);
	/* crashed without values */
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": -0.5, \"y\": 0.5}, \"state\": \"crashed\"}"), 0);
	/* running and pending: in flight */
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": -1, \"y\": 1}, \"state\": \"running\", \"history\": [{\"f\": 0.5}]}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 1, \"y\": 1}, \"state\": \"pending\"}"), 0);
	/* missing a parameter: not part of the model */
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 1}, \"state\": \"finished\", \"summary\": {\"f\": 0}}"), 0);

	assert_int_equal(sw_bayes_data(&spec, &sp, &runs, &d, &X, &y, &n, &P, &np, &err), 0);
	assert_int_equal(d, 2);
	assert_int_equal(n, 4);
	assert_int_equal(np, 2);
	assert_true(y[0] == 2 && y[1] == 7 && y[2] == 9 && y[3] == 9);
	assert_true(X[0] == 0.5 && X[1] == 0.5 && X[2] == 1.0 && X[3] == 0.0);
	assert_true(P[0] == 0.0 && P[1] == 1.0);
	free(X);
	free(y);
	free(P);

	/* impute best / latest, impute_while_running */
	spec.metric.impute = SW_IMPUTE_BEST;
	spec.metric.impute_while_running = SW_IMPUTE_LATEST;
	assert_int_equal(sw_bayes_data(&spec, &sp, &runs, &d, &X, &y, &n, &P, &np, &err), 0);
	assert_int_equal(n, 5);
	assert_int_equal(np, 1);
	/* failed: its own best 1; crashed: nothing of its own, so worst 9;
	 * running: its best value so far */
	assert_true(y[2] == 1 && y[3] == 9 && y[4] == 0.5);
	free(X);
	free(y);
	free(P);
	spec.metric.impute = SW_IMPUTE_LATEST;
	assert_int_equal(sw_bayes_data(&spec, &sp, &runs, &d, &X, &y, &n, &P, &np, &err), 0);
	assert_true(y[2] == 6);
	free(X);
	free(y);
	free(P);

	/* maximize: values negated, worst = min over runs' minima (the run
	 * missing a parameter counts here: its 0 is the worst) */
	spec.metric.goal = SW_GOAL_MAXIMIZE;
	spec.metric.impute = SW_IMPUTE_WORST;
	spec.metric.impute_while_running = SW_IMPUTE_FALSE;
	assert_int_equal(sw_bayes_data(&spec, &sp, &runs, &d, &X, &y, &n, &P, &np, &err), 0);
	assert_true(y[0] == -5 && y[1] == -9 && y[2] == 0 && y[3] == 0);
	free(X);
	free(y);
	free(P);

	/* all failed: the search still answers (random, nothing to learn) */
	spec.metric.goal = SW_GOAL_MINIMIZE;
	sw_runs_release(&runs);
	for (int i = 0; i < 6; i++) {
		char line[128];

		snprintf(line, sizeof(line), "{\"params\": {\"x\": %g, \"y\": 0}, \"state\": \"failed\"}", i / 10.0);
		assert_int_equal(fx_run(&runs, line), 0);
	}
	{
		json_t *out = ask(&spec, &runs, 2, 0);

		assert_int_equal(json_array_size(out), 2);
		json_decref(out);
	}
	sw_runs_release(&runs);
	sw_space_release(&sp);
	fx_spec_free(&spec);
}

static void test_discrete_space_no_repeats(void **state)
{
	struct sw_param p[3];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	int t;

	(void)state;
	p[0] = fx_values("opt", "[\"adam\", \"sgd\", \"rmsprop\"]");
	p[1] = fx_range("layers", SW_DIST_INT_UNIFORM, 1, 3);
	p[2] = fx_range("bs", SW_DIST_Q_LOG_UNIFORM_VALUES, 16, 256);
	p[2].q = 16;
	p[2].q_is_int = 1;
	fx_spec(&spec, SW_METHOD_BAYES, p, 3);
	fx_metric(&spec, "loss", SW_GOAL_MINIMIZE);
	for (t = 0; t < 15; t++) {
		json_t *out = ask(&spec, &runs, 1, 2), *s = json_array_get(out, 0);
		const char *opt = json_string_value(json_object_get(s, "opt"));
		json_int_t layers = json_integer_value(json_object_get(s, "layers"));
		json_int_t bs = json_integer_value(json_object_get(s, "bs"));
		size_t j;

		assert_non_null(opt);
		assert_true(layers >= 1 && layers <= 3);
		assert_true(json_is_integer(json_object_get(s, "bs")));
		assert_true(bs % 16 == 0 && bs >= 16 && bs <= 256);
		for (j = 0; j < runs.n; j++)
			assert_false(json_equal(runs.items[j].params, s));
		add_run(&runs, s, SW_OBS_FINISHED, "loss",
			(double)layers + (strcmp(opt, "sgd") ? 1.0 : 0.0) +
			fabs(log((double)bs / 64.0)));
		json_decref(out);
	}
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

/* Every distribution through the model: encode observed values, fit,
 * decode suggestions. */
static void test_every_distribution(void **state)
{
	static const enum sw_dist dists[] = {
		SW_DIST_UNIFORM, SW_DIST_Q_UNIFORM, SW_DIST_LOG_UNIFORM,
		SW_DIST_LOG_UNIFORM_VALUES, SW_DIST_Q_LOG_UNIFORM,
		SW_DIST_Q_LOG_UNIFORM_VALUES, SW_DIST_INV_LOG_UNIFORM,
		SW_DIST_INV_LOG_UNIFORM_VALUES, SW_DIST_NORMAL, SW_DIST_Q_NORMAL,
		SW_DIST_LOG_NORMAL, SW_DIST_Q_LOG_NORMAL, SW_DIST_BETA, SW_DIST_Q_BETA,
		SW_DIST_INT_UNIFORM,
	};
	enum { ND = sizeof(dists) / sizeof(dists[0]) };
	struct sw_param p[ND + 3];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	char name[16];
	int i, t;

	(void)state;
	for (i = 0; i < ND; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		p[i] = fx_range(name, dists[i], 1, 4);
		p[i].q = 0.5;
		p[i].a = 2;
		p[i].b = 3;
		p[i].mu = 1;
		p[i].sigma = 0.5;
	}
	p[ND] = fx_values("cat", "[\"a\", [1, 2], {\"k\": null}, 3.5]");
	p[ND + 1] = fx_values("wcat", "[\"x\", \"y\", \"z\"]");
	p[ND + 1].dist = SW_DIST_CATEGORICAL_W_PROBABILITIES;
	p[ND + 1].probabilities = calloc(3, sizeof(double));
	p[ND + 1].probabilities[0] = 0.2;
	p[ND + 1].probabilities[2] = 0.8;   /* y has probability 0 */
	p[ND + 1].n_probabilities = 3;
	p[ND + 2] = fx_const("c", "[true]");
	fx_spec(&spec, SW_METHOD_BAYES, p, ND + 3);
	fx_metric(&spec, "m", SW_GOAL_MAXIMIZE);
	for (t = 0; t < 30; t++) {
		json_t *out = ask(&spec, &runs, 1, 4), *s = json_array_get(out, 0);
		double sum = 0.0;

		assert_int_equal(json_object_size(s), ND + 3);
		for (i = 0; i < ND; i++) {
			json_t *v;

			snprintf(name, sizeof(name), "p%02d", i);
			v = json_object_get(s, name);
			if (!json_is_number(v))
				fail_msg("%s is not a number at trial %d", name, t);
			sum += json_number_value(v);
		}
		assert_string_not_equal(json_string_value(json_object_get(s, "wcat")) ?
					json_string_value(json_object_get(s, "wcat")) : "",
					"y");
		assert_non_null(json_object_get(s, "cat"));
		add_run(&runs, s, t % 7 == 6 ? SW_OBS_CRASHED : SW_OBS_FINISHED, "m",
			-fabs(sum - 20.0));
		json_decref(out);
	}
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

static void test_errors(void **state)
{
	struct sw_param p[1];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end;
	json_t *out = json_array();

	(void)state;
	p[0] = fx_values("opt", "[\"adam\", \"sgd\"]");
	fx_spec(&spec, SW_METHOD_BAYES, p, 1);
	assert_int_equal(sw_search_next(&spec, &runs, 1, 0, out, &end, &err), -1);
	assert_non_null(strstr(err.msg, "needs a metric"));
	fx_metric(&spec, "loss", SW_GOAL_MINIMIZE);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"opt\": \"lamb\"}, \"summary\": {\"loss\": 1}}"), 0);
	assert_int_equal(sw_search_next(&spec, &runs, 1, 0, out, &end, &err), -1);
	assert_non_null(strstr(err.msg, "observed run 1"));
	assert_non_null(strstr(err.msg, "\"lamb\" is not a permitted value"));
	sw_runs_release(&runs);
	fx_spec_free(&spec);

	p[0] = fx_const("k", "1");
	fx_spec(&spec, SW_METHOD_BAYES, p, 1);
	fx_metric(&spec, "loss", SW_GOAL_MINIMIZE);
	assert_int_equal(sw_search_next(&spec, &runs, 1, 0, out, &end, &err), -1);
	assert_non_null(strstr(err.msg, "not constant"));
	fx_spec_free(&spec);
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converges_minimize),
		cmocka_unit_test(test_converges_maximize),
		cmocka_unit_test(test_pending_gives_distinct_points),
		cmocka_unit_test(test_deterministic_for_seed),
		cmocka_unit_test(test_round_is_spread),
		cmocka_unit_test(test_round_reproducible),
		cmocka_unit_test(test_trust_region_slots),
		cmocka_unit_test(test_running_intermediate_value),
		cmocka_unit_test(test_impute),
		cmocka_unit_test(test_discrete_space_no_repeats),
		cmocka_unit_test(test_every_distribution),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
