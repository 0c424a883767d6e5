/* test_search_random.c - random search: values inside each distribution's
 * support, reproducible from the seed, independent of how suggestions are
 * batched, never repeating an observed run; run_cap and metric.target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep/search/observed.h"
#include "sweep/search/search.h"
#include "search_fixture.h"

static void make_spec(struct sw_spec *spec)
{
	struct sw_param kids[2], p[4];

	kids[0] = fx_range("lr", SW_DIST_LOG_UNIFORM_VALUES, 1e-4, 1e-1);
	kids[1] = fx_values("kind", "[\"adam\", \"sgd\"]");
	p[0] = fx_range("x", SW_DIST_UNIFORM, -2, 3);
	p[1] = fx_range("n", SW_DIST_INT_UNIFORM, 1, 5);
	p[2] = fx_nested("opt", kids, 2);
	p[3] = fx_const("epochs", "3");
	fx_spec(spec, SW_METHOD_RANDOM, p, 4);
}

/* suggestions of one call, as one string */
static char *suggest(struct sw_spec *spec, struct sw_runs *runs, size_t count,
		     uint64_t seed, enum sw_search_end *end)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *out = json_array();
	enum sw_search_end e;
	char *s;

	if (sw_search_next(spec, runs, count, seed, out, end ? end : &e, &err) < 0)
		fail_msg("search failed: %s", err.msg);
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

static void test_values_in_support(void **state)
{
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end;
	json_t *out = json_array();
	size_t i;
	int seen_n[6] = { 0 }, kinds[2] = { 0 };

	(void)state;
	make_spec(&spec);
	assert_int_equal(sw_search_next(&spec, &runs, 500, 3, out, &end, &err), 0);
	assert_int_equal(json_array_size(out), 500);
	assert_int_equal(end, SW_SEARCH_MORE);
	for (i = 0; i < 500; i++) {
		json_t *p = json_array_get(out, i), *opt = json_object_get(p, "opt");
		double x = json_real_value(json_object_get(p, "x"));
		double lr = json_real_value(json_object_get(opt, "lr"));
		json_int_t n = json_integer_value(json_object_get(p, "n"));
		const char *kind = json_string_value(json_object_get(opt, "kind"));

		assert_true(json_is_real(json_object_get(p, "x")));
		assert_true(x >= -2 && x <= 3);
		assert_true(json_is_integer(json_object_get(p, "n")));
		assert_true(n >= 1 && n <= 5);
		seen_n[n]++;
		assert_true(lr >= 1e-4 && lr <= 1e-1);
		assert_non_null(kind);
		kinds[!strcmp(kind, "sgd")]++;
		assert_int_equal(json_integer_value(json_object_get(p, "epochs")), 3);
		assert_int_equal(json_object_size(p), 4);
	}
	for (i = 1; i <= 5; i++)
		assert_true(seen_n[i] > 60);   /* 100 expected each */
	assert_true(kinds[0] > 200 && kinds[1] > 200);
	json_decref(out);
	fx_spec_free(&spec);
}

static void test_seed_reproducible_and_batching_free(void **state)
{
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *a, *b, *c;
	json_t *batch, *one;
	enum sw_search_end end;
	int i;

	(void)state;
	make_spec(&spec);
	a = suggest(&spec, &runs, 5, 42, NULL);
	b = suggest(&spec, &runs, 5, 42, NULL);
	c = suggest(&spec, &runs, 5, 43, NULL);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);

	/* --count 5 gives what five calls give when each one's suggestion is
	 * added to the history as pending */
	batch = json_array();
	assert_int_equal(sw_search_next(&spec, &runs, 5, 7, batch, &end, &err), 0);
	for (i = 0; i < 5; i++) {
		one = json_array();
		assert_int_equal(sw_search_next(&spec, &runs, 1, 7, one, &end, &err), 0);
		assert_true(json_equal(json_array_get(one, 0), json_array_get(batch, i)));
		assert_int_equal(sw_runs_add(&runs, json_array_get(one, 0),
					     SW_OBS_PENDING, NULL, NULL), 0);
		json_decref(one);
	}
	json_decref(batch);
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

static void test_never_repeats_history(void **state)
{
	struct sw_param p[2];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end;
	int i;

	(void)state;
	/* 6 points in all: six calls with growing history give all six */
	p[0] = fx_values("a", "[\"x\", \"y\", \"z\"]");
	p[1] = fx_values("b", "[true, false]");
	fx_spec(&spec, SW_METHOD_RANDOM, p, 2);
	for (i = 0; i < 6; i++) {
		json_t *out = json_array();
		size_t j;

		assert_int_equal(sw_search_next(&spec, &runs, 1, 1, out, &end, &err), 0);
		for (j = 0; j < runs.n; j++)
			assert_false(json_equal(runs.items[j].params,
						json_array_get(out, 0)));
		assert_int_equal(sw_runs_add(&runs, json_array_get(out, 0),
					     SW_OBS_FINISHED, NULL, NULL), 0);
		json_decref(out);
	}
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

static void test_run_cap_and_target(void **state)
{
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	enum sw_search_end end;
	char *s;

	(void)state;
	make_spec(&spec);
	spec.run_cap = 4;
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 1}, \"state\": \"failed\"}"), 0);
	s = suggest(&spec, &runs, 10, 0, &end);
	assert_int_equal(end, SW_SEARCH_RUN_CAP);
	{
		json_t *a = json_loads(s, 0, NULL);

		assert_int_equal(json_array_size(a), 3);
		json_decref(a);
	}
	free(s);
	spec.run_cap = 1;
	s = suggest(&spec, &runs, 10, 0, &end);
	assert_string_equal(s, "[]");
	assert_int_equal(end, SW_SEARCH_RUN_CAP);
	free(s);
	spec.run_cap = 0;

	/* metric.target: a run at or past it ends the search */
	fx_metric(&spec, "acc", SW_GOAL_MAXIMIZE);
	spec.metric.has_target = 1;
	spec.metric.target = 0.9;
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 2}, \"summary\": {\"acc\": 0.85}}"), 0);
	s = suggest(&spec, &runs, 2, 0, &end);
	assert_int_equal(end, SW_SEARCH_MORE);
	free(s);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"x\": 2}, \"state\": \"running\", \"history\": [{\"acc\": 0.5}, {\"acc\": 0.9}]}"), 0);
	s = suggest(&spec, &runs, 2, 0, &end);
	assert_int_equal(end, SW_SEARCH_TARGET);
	assert_string_equal(s, "[]");
	free(s);
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

static void test_observed_file_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "{\"params\": {}}\n{\"params\": \n", "runs.jsonl:2: invalid JSON" },
		{ "\n\n{\"params\": {}, \"state\": \"done\"}\n", "runs.jsonl:3: unknown state 'done'" },
		{ "{\"params\": [1]}\n", "runs.jsonl:1: 'params' must be an object" },
		{ "{\"params\": {}, \"summary\": 3}\n", "runs.jsonl:1: 'summary' must be an object" },
		{ "{\"params\": {}, \"history\": [1]}\n", "runs.jsonl:1: 'history' item 1 is not an object" },
		{ "[]\n", "runs.jsonl:1: a run must be a JSON object" },
		{ "{\"params\": {}, \"state\": 3}\n", "runs.jsonl:1: 'state' must be a string" },
	};
	char path[] = "/tmp/sweep-test-XXXXXX", file[64];
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/runs.jsonl", path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sw_runs runs = SW_RUNS_INIT;
		struct sw_err err = SW_ERR_INIT;
		FILE *f = fopen(file, "w");

		fputs(cases[i].text, f);
		fclose(f);
		assert_int_equal(sw_runs_load(&runs, file, &err), -1);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
		sw_runs_release(&runs);
	}
	{
		struct sw_runs runs = SW_RUNS_INIT;
		struct sw_err err = SW_ERR_INIT;
		FILE *f = fopen(file, "w");

		/* other keys of runs.jsonl are ignored; blank lines skipped */
		fputs("{\"id\": \"r1\", \"params\": {\"x\": 1}, \"state\": \"stopped\", "
		      "\"summary\": {\"loss\": 0.5}, \"seed\": 3}\n\n"
		      "{\"params\": {\"x\": 2}, \"state\": \"running\", "
		      "\"history\": [{\"loss\": 1}, {\"other\": 2}, {\"loss\": \"NaN\"}, {\"loss\": 0.7}]}\n", f);
		fclose(f);
		assert_int_equal(sw_runs_load(&runs, file, &err), 0);
		assert_int_equal(runs.n, 2);
		assert_int_equal(runs.items[0].state, SW_OBS_STOPPED);
		assert_int_equal(runs.items[1].line, 3);
		assert_int_equal(sw_run_metric_values(&runs.items[1], "loss", NULL, 0), 2);
		sw_runs_release(&runs);
		unlink(file);
	}
	{
		struct sw_runs runs = SW_RUNS_INIT;
		struct sw_err err = SW_ERR_INIT;

		assert_int_equal(sw_runs_load(&runs, "/nonexistent/runs.jsonl", &err), -1);
		assert_non_null(strstr(err.msg, "unable to open '/nonexistent/runs.jsonl'"));
	}
	rmdir(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_in_support),
		cmocka_unit_test(test_seed_reproducible_and_batching_free),
		cmocka_unit_test(test_never_repeats_history),
		cmocka_unit_test(test_run_cap_and_target),
		cmocka_unit_test(test_observed_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
