/* test_search_grid.c - grid search: wandb's order, nested names, int_uniform
 * and q_uniform expansions, duplicate values, and resuming from runs. */
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
#include "search_fixture.h"

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Runs the grid (all points, or count) and returns the suggestions as
 * compact JSON lines joined by '\n' (caller frees). */
static char *grid_lines(struct sw_spec *spec, struct sw_runs *runs,
			size_t count, enum sw_search_end *end)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *out = json_array();
	char *buf = malloc(1 << 16);
	size_t i, len = 0;

	buf[0] = 0;
	if (sw_search_next(spec, runs, count, 0, out, end, &err) < 0)
		fail_msg("grid failed: %s", err.msg);
	for (i = 0; i < json_array_size(out); i++) {
		char *s = json_dumps(json_array_get(out, i), JSON_COMPACT);

		len += (size_t)snprintf(buf + len, (1 << 16) - len, "%s\n", s);
		free(s);
	}
	json_decref(out);
	return buf;
}

static void test_order_last_name_fastest(void **state)
{
	struct sw_param p[3];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	enum sw_search_end end;
	char *s;

	(void)state;
	p[0] = fx_values("b", "[1, 2]");
	p[1] = fx_values("a", "[\"x\", \"y\"]");
	p[2] = fx_const("c", "0.5");
	fx_spec(&spec, SW_METHOD_GRID, p, 3);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s,
		"{\"a\":\"x\",\"b\":1,\"c\":0.5}\n"
		"{\"a\":\"x\",\"b\":2,\"c\":0.5}\n"
		"{\"a\":\"y\",\"b\":1,\"c\":0.5}\n"
		"{\"a\":\"y\",\"b\":2,\"c\":0.5}\n");
	assert_int_equal(end, SW_SEARCH_EXHAUSTED);
	free(s);
	/* only the first two, and more remain */
	s = grid_lines(&spec, &runs, 2, &end);
	assert_int_equal(count_lines(s), 2);
	assert_int_equal(end, SW_SEARCH_MORE);
	free(s);
	fx_spec_free(&spec);
}

static void test_nested_names_sort(void **state)
{
	struct sw_param kids[2], p[2];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	enum sw_search_end end;
	char *s;

	(void)state;
	kids[0] = fx_values("z", "[1, 2]");
	kids[1] = fx_values("c", "[true, false]");
	p[0] = fx_nested("n", kids, 2);
	p[1] = fx_values("m-x", "[0]");     /* '-' sorts before the nested 'n' */
	fx_spec(&spec, SW_METHOD_GRID, p, 2);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s,
		"{\"m-x\":0,\"n\":{\"c\":true,\"z\":1}}\n"
		"{\"m-x\":0,\"n\":{\"c\":true,\"z\":2}}\n"
		"{\"m-x\":0,\"n\":{\"c\":false,\"z\":1}}\n"
		"{\"m-x\":0,\"n\":{\"c\":false,\"z\":2}}\n");
	free(s);
	fx_spec_free(&spec);
}

static void test_int_and_q_uniform_expansions(void **state)
{
	struct sw_param p[1];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end;
	uint64_t n;
	char *s;

	(void)state;
	/* int_uniform: max inclusive, integers */
	p[0] = fx_range("i", SW_DIST_INT_UNIFORM, -1, 2);
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s, "{\"i\":-1}\n{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
	free(s);
	fx_spec_free(&spec);

	/* q_uniform with integers: np.arange(0, 10, 3), max excluded */
	p[0] = fx_range("q", SW_DIST_Q_UNIFORM, 0, 10);
	p[0].q = 3;
	p[0].q_is_int = 1;
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s, "{\"q\":0}\n{\"q\":3}\n{\"q\":6}\n{\"q\":9}\n");
	free(s);
	assert_int_equal(sw_spec_grid_count(&spec, &n, &err), 0);
	assert_int_equal(n, 4);
	fx_spec_free(&spec);

	/* ... and with reals: np.arange(0, 1, 0.25) */
	p[0] = fx_range("q", SW_DIST_Q_UNIFORM, 0, 1);
	p[0].q = 0.25;
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s, "{\"q\":0.0}\n{\"q\":0.25}\n{\"q\":0.5}\n{\"q\":0.75}\n");
	free(s);
	fx_spec_free(&spec);

	/* np.arange(0.1, 0.7, 0.2) has 3 values (0.1, 0.3.., 0.5..) */
	p[0] = fx_range("q", SW_DIST_Q_UNIFORM, 0.1, 0.7);
	p[0].q = 0.2;
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_int_equal(count_lines(s), 3);
	assert_non_null(strstr(s, "{\"q\":0.10000000000000001}\n{\"q\":0.30000000000000004}\n{\"q\":0.50000000000000011}\n"));
	free(s);
	fx_spec_free(&spec);

	/* continuous parameters are refused, naming the parameter */
	p[0] = fx_range("lr", SW_DIST_UNIFORM, 0, 1);
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	{
		json_t *out = json_array();

		assert_int_equal(sw_search_next(&spec, &runs, 1, 0, out, &end, &err), -1);
		assert_non_null(strstr(err.msg, "'lr'"));
		assert_non_null(strstr(err.msg, "grid"));
		json_decref(out);
	}
	fx_spec_free(&spec);
}

static void test_duplicates_counted_once(void **state)
{
	struct sw_param p[1];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end;
	uint64_t n;
	char *s;

	(void)state;
	/* 1 and 1.0 print the same once wandb makes integral floats ints:
	 * the point keeps the first position and the LAST value; "1", true
	 * and [1] are different values */
	p[0] = fx_values("v", "[1, 2, 1.0, \"1\", true, [1], [1.0], {\"b\": 1, \"a\": 2}, {\"a\": 2, \"b\": 1}]");
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	assert_int_equal(sw_spec_grid_count(&spec, &n, &err), 0);
	assert_int_equal(n, 7);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s,
		"{\"v\":1.0}\n{\"v\":2}\n{\"v\":\"1\"}\n{\"v\":true}\n"
		"{\"v\":[1]}\n{\"v\":[1.0]}\n{\"v\":{\"a\":2,\"b\":1}}\n");
	free(s);
	fx_spec_free(&spec);
}

static void test_resume_from_runs(void **state)
{
	struct sw_param kids[1], p[3];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	enum sw_search_end end;
	char *s;

	(void)state;
	kids[0] = fx_values("k", "[1, 2]");
	p[0] = fx_values("a", "[10, 20]");
	p[1] = fx_nested("n", kids, 1);
	p[2] = fx_values("d", "[{\"x\": 1}, {\"x\": 2}]");
	fx_spec(&spec, SW_METHOD_GRID, p, 3);
	/* any state occupies its point; 10.0 matches 10; a dict's extra keys
	 * are ignored; a run missing a parameter matches nothing */
	assert_int_equal(fx_run(&runs, "{\"params\": {\"a\": 10, \"d\": {\"x\": 1}, \"n\": {\"k\": 1}}, \"state\": \"finished\"}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"a\": 10.0, \"d\": {\"x\": 1, \"extra\": 5}, \"n\": {\"k\": 2}}, \"state\": \"running\"}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"a\": 20, \"d\": {\"x\": 2}}, \"state\": \"failed\"}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"a\": 20, \"d\": {\"x\": 2}, \"n\": {\"k\": 2}}, \"state\": \"pending\"}"), 0);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s,
		"{\"a\":10,\"d\":{\"x\":2},\"n\":{\"k\":1}}\n"
		"{\"a\":10,\"d\":{\"x\":2},\"n\":{\"k\":2}}\n"
		"{\"a\":20,\"d\":{\"x\":1},\"n\":{\"k\":1}}\n"
		"{\"a\":20,\"d\":{\"x\":1},\"n\":{\"k\":2}}\n"
		"{\"a\":20,\"d\":{\"x\":2},\"n\":{\"k\":1}}\n");
	assert_int_equal(end, SW_SEARCH_EXHAUSTED);
	free(s);
	/* the grid continues where the runs leave it: one at a time */
	s = grid_lines(&spec, &runs, 1, &end);
	assert_string_equal(s, "{\"a\":10,\"d\":{\"x\":2},\"n\":{\"k\":1}}\n");
	assert_int_equal(end, SW_SEARCH_MORE);
	free(s);
	sw_runs_release(&runs);

	/* all points run: nothing left */
	{
		const char *pts[] = { "10", "20" };
		int i, j, k;
		char line[256];

		for (i = 0; i < 2; i++)
			for (j = 1; j <= 2; j++)
				for (k = 1; k <= 2; k++) {
					snprintf(line, sizeof(line), "{\"params\": {\"a\": %s, \"d\": {\"x\": %d}, \"n\": {\"k\": %d}}}", pts[i], j, k);
					assert_int_equal(fx_run(&runs, line), 0);
				}
	}
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s, "");
	assert_int_equal(end, SW_SEARCH_EXHAUSTED);
	free(s);
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

static void test_run_cap(void **state)
{
	struct sw_param p[1];
	struct sw_spec spec;
	struct sw_runs runs = SW_RUNS_INIT;
	enum sw_search_end end;
	char *s;

	(void)state;
	p[0] = fx_range("i", SW_DIST_INT_UNIFORM, 1, 10);
	fx_spec(&spec, SW_METHOD_GRID, p, 1);
	spec.run_cap = 3;
	assert_int_equal(fx_run(&runs, "{\"params\": {\"i\": 1}, \"state\": \"finished\"}"), 0);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s, "{\"i\":2}\n{\"i\":3}\n");
	assert_int_equal(end, SW_SEARCH_RUN_CAP);
	free(s);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"i\": 2}}"), 0);
	assert_int_equal(fx_run(&runs, "{\"params\": {\"i\": 3}}"), 0);
	s = grid_lines(&spec, &runs, 100, &end);
	assert_string_equal(s, "");
	assert_int_equal(end, SW_SEARCH_RUN_CAP);
	free(s);
	sw_runs_release(&runs);
	fx_spec_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_last_name_fastest),
		cmocka_unit_test(test_nested_names_sort),
		cmocka_unit_test(test_int_and_q_uniform_expansions),
		cmocka_unit_test(test_duplicates_counted_once),
		cmocka_unit_test(test_resume_from_runs),
		cmocka_unit_test(test_run_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
