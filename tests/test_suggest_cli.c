/* test_suggest_cli.c - end-to-end: `sweep suggest` as a program driving it
 * meets it: JSON lines out, observed runs in, grid continuing from runs,
 * reproducible random and bayes answers that never repeat, and every kind
 * of bad input with its exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/support.h"

static char *dir;

static const char *path_in(const char *name)
{
	static char buf[64][512];
	static int k;

	k = (k + 1) % 64;   /* paths stay valid for a while */
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

static const char *write_tmp(const char *name, const char *text)
{
	const char *p = path_in(name);

	assert_int_equal(sw_test_write_file(p, text, strlen(text)), 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	dir = sw_test_tmpdir();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(dir);
	free(dir);
	return 0;
}

static const char grid_yaml[] =
	"method: grid\n"
	"program: train.py\n"
	"parameters:\n"
	"  opt:\n"
	"    parameters:\n"
	"      name:\n"
	"        values: [adam, sgd]\n"
	"  layers:\n"
	"    min: 1\n"
	"    max: 3\n"
	"  epochs:\n"
	"    value: 5\n";

static const char bayes_yaml[] =
	"method: bayes\n"
	"program: train.py\n"
	"metric:\n"
	"  name: loss\n"
	"  goal: minimize\n"
	"parameters:\n"
	"  lr:\n"
	"    distribution: log_uniform_values\n"
	"    min: 0.0001\n"
	"    max: 0.1\n"
	"  dropout:\n"
	"    min: 0.0\n"
	"    max: 0.5\n"
	"  opt:\n"
	"    parameters:\n"
	"      momentum:\n"
	"        min: 0.5\n"
	"        max: 0.99\n";

static void test_grid_lists_remaining(void **state)
{
	const char *spec = write_tmp("grid.yaml", grid_yaml);
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--count", "100", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out,
		"{\"params\": {\"epochs\": 5, \"layers\": 1, \"opt\": {\"name\": \"adam\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 1, \"opt\": {\"name\": \"sgd\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 2, \"opt\": {\"name\": \"adam\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 2, \"opt\": {\"name\": \"sgd\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 3, \"opt\": {\"name\": \"adam\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 3, \"opt\": {\"name\": \"sgd\"}}}\n");
	assert_non_null(strstr(p.err, "grid is exhausted"));
	sw_test_proc_release(&p);

	/* default count 1: the first point */
	assert_int_equal(sw_test_sweep(&p, "suggest", spec, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "{\"params\": {\"epochs\": 5, \"layers\": 1, \"opt\": {\"name\": \"adam\"}}}\n");
	assert_string_equal(p.err, "");
	sw_test_proc_release(&p);

	/* runs recorded: the grid continues where they leave it */
	write_tmp("grid_runs.jsonl",
		  "{\"params\": {\"epochs\": 5, \"layers\": 1, \"opt\": {\"name\": \"adam\"}}, \"state\": \"finished\", \"summary\": {}}\n"
		  "{\"params\": {\"epochs\": 5, \"layers\": 2.0, \"opt\": {\"name\": \"adam\"}}, \"state\": \"failed\"}\n"
		  "{\"params\": {\"layers\": 1, \"opt\": {\"name\": \"sgd\"}}, \"state\": \"running\"}\n");
	assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--observed",
				       path_in("grid_runs.jsonl"), "--count", "100", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out,
		"{\"params\": {\"epochs\": 5, \"layers\": 2, \"opt\": {\"name\": \"sgd\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 3, \"opt\": {\"name\": \"adam\"}}}\n"
		"{\"params\": {\"epochs\": 5, \"layers\": 3, \"opt\": {\"name\": \"sgd\"}}}\n");
	sw_test_proc_release(&p);

	/* --observed - reads standard input */
	{
		const char *argv[] = { sw_test_bin(), "suggest", spec, "--observed", "-",
				       "--count", "2", NULL };

		assert_int_equal(sw_test_run(&p, argv,
			"{\"params\": {\"layers\": 1, \"opt\": {\"name\": \"adam\"}}}\n",
			NULL, 60), 0);
		assert_int_equal(p.status, 0);
		assert_string_equal(p.out,
			"{\"params\": {\"epochs\": 5, \"layers\": 1, \"opt\": {\"name\": \"sgd\"}}}\n"
			"{\"params\": {\"epochs\": 5, \"layers\": 2, \"opt\": {\"name\": \"adam\"}}}\n");
		sw_test_proc_release(&p);
		assert_int_equal(sw_test_run(&p, argv, "{\"params\": 1}\n", NULL, 60), 0);
		assert_int_equal(p.status, 1);
		assert_non_null(strstr(p.err, "<stdin>:1: 'params' must be an object"));
		sw_test_proc_release(&p);
	}
}

/* Runs suggest, returns stdout (owned) after checking exit 0. */
static char *suggest_out(const char *spec, const char *observed, const char *count,
			 const char *seed)
{
	struct sw_test_proc p;
	char *out;

	if (observed)
		assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--observed", observed,
					       "--count", count, "--seed", seed, NULL), 0);
	else
		assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--count", count,
					       "--seed", seed, NULL), 0);
	if (p.status != 0)
		fail_msg("suggest exited %d: %s", p.status, p.err);
	out = strdup(p.out);
	sw_test_proc_release(&p);
	return out;
}

/* Ask/tell loop: each suggestion is evaluated and appended to the
 * observed file; checks valid JSON, nesting, no repeats. */
static void ask_tell(const char *spec, const char *obs_name, int trials)
{
	const char *obs = write_tmp(obs_name, "");
	char **seen = calloc((size_t)trials, sizeof(char *));
	int t, i;

	for (t = 0; t < trials; t++) {
		char *out = suggest_out(spec, obs, "1", "7"), *line;
		json_error_t jerr;
		json_t *j = json_loads(out, 0, &jerr), *params, *opt;
		double lr, dropout, mom, loss;
		FILE *f;

		if (!j)
			fail_msg("not JSON: %s (%s)", out, jerr.text);
		params = json_object_get(j, "params");
		opt = json_object_get(params, "opt");
		assert_true(json_is_object(opt));
		lr = json_number_value(json_object_get(params, "lr"));
		dropout = json_number_value(json_object_get(params, "dropout"));
		mom = json_number_value(json_object_get(opt, "momentum"));
		assert_true(lr >= 1e-4 && lr <= 0.1);
		assert_true(dropout >= 0 && dropout <= 0.5);
		assert_true(mom >= 0.5 && mom <= 0.99);
		for (i = 0; i < t; i++)
			assert_string_not_equal(seen[i], out);
		seen[t] = out;
		loss = (dropout - 0.2) * (dropout - 0.2) + (mom - 0.9) * (mom - 0.9);
		line = json_dumps(params, JSON_COMPACT);
		f = fopen(obs, "a");
		fprintf(f, "{\"params\": %s, \"state\": \"%s\", \"summary\": {\"loss\": %.17g}}\n",
			line, t % 5 == 4 ? "failed" : "finished", loss);
		fclose(f);
		free(line);
		json_decref(j);
	}
	for (i = 0; i < trials; i++)
		free(seen[i]);
	free(seen);
}

static void test_bayes_ask_tell(void **state)
{
	const char *spec = write_tmp("bayes.yaml", bayes_yaml);
	char *a, *b, *c;

	(void)state;
	ask_tell(spec, "bayes_runs.jsonl", 12);
	/* same seed and history: same answer; another seed: another */
	a = suggest_out(spec, path_in("bayes_runs.jsonl"), "3", "1");
	b = suggest_out(spec, path_in("bayes_runs.jsonl"), "3", "1");
	c = suggest_out(spec, path_in("bayes_runs.jsonl"), "3", "2");
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(sw_test_count_lines(a, "\"params\""), 3);
	free(a);
	free(b);
	free(c);
}

static void test_random_ask_tell(void **state)
{
	const char *spec;
	char *a, *b;

	(void)state;
	spec = write_tmp("random.yaml",
			 "method: random\n"
			 "program: train.py\n"
			 "parameters:\n"
			 "  lr:\n"
			 "    distribution: log_uniform_values\n"
			 "    min: 0.0001\n"
			 "    max: 0.1\n"
			 "  dropout:\n"
			 "    min: 0.0\n"
			 "    max: 0.5\n"
			 "  opt:\n"
			 "    parameters:\n"
			 "      momentum:\n"
			 "        min: 0.5\n"
			 "        max: 0.99\n");
	ask_tell(spec, "random_runs.jsonl", 6);
	a = suggest_out(spec, NULL, "4", "99");
	b = suggest_out(spec, NULL, "4", "99");
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* A wandb file for the user's own code (no program, names the built-in
 * trainer does not know): suggest needs no trainer names, so it neither
 * refuses nor warns about them. */
static void test_no_program_file(void **state)
{
	const char *spec = write_tmp("own_code.yaml",
				     "method: random\n"
				     "metric: {name: validation/loss}\n"
				     "parameters:\n"
				     "  lr: {distribution: log_uniform_values, min: 0.001, max: 0.1}\n"
				     "  model:\n"
				     "    parameters:\n"
				     "      layers: {values: [2, 4]}\n");
	struct sw_test_proc p;
	json_t *j;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--count", "1", "--seed", "3",
				       NULL), 0);
	if (p.status != 0 || p.err[0])
		fail_msg("suggest exited %d: %s", p.status, p.err);
	j = json_loads(p.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_non_null(strstr(p.out, "\"lr\""));
	assert_non_null(strstr(p.out, "\"layers\""));
	json_decref(j);
	sw_test_proc_release(&p);
}

static void expect_fail(int status, const char *err_part, ...)
{
	const char *argv[16];
	struct sw_test_proc p;
	va_list ap;
	int n = 0;

	argv[n++] = sw_test_bin();
	va_start(ap, err_part);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(sw_test_run(&p, argv, NULL, NULL, 60), 0);
	if (p.status != status || !strstr(p.err, err_part))
		fail_msg("%s %s: exit %d, stderr '%s' (wanted %d and '%s')", argv[1],
			 argv[2] ? argv[2] : "", p.status, p.err, status, err_part);
	assert_string_equal(p.out, "");
	sw_test_proc_release(&p);
}

static void test_bad_input(void **state)
{
	const char *spec = write_tmp("b.yaml", bayes_yaml);
	const char *bad_yaml = write_tmp("bad.yaml",
		"method: grid\nprogram: x\nparameters:\n  lr:\n    min: 0.1\n    max: 0.5\n");
	const char *typo = write_tmp("typo.yaml", "method: bayes\nmetrc:\n  name: loss\n");
	const char *bad_json = write_tmp("bad.jsonl",
		"{\"params\": {\"lr\": 0.01}, \"state\": \"finished\"}\n{\"params\": {\n");
	const char *bad_state = write_tmp("state.jsonl",
		"{\"params\": {\"lr\": 0.01}, \"state\": \"finished\"}\n\n"
		"{\"params\": {\"lr\": 0.01}, \"state\": \"done\"}\n");
	const char *bad_params = write_tmp("params.jsonl", "{\"params\": 3}\n");

	(void)state;
	expect_fail(2, "bad.yaml:4:3: error:", "suggest", bad_yaml, NULL);
	expect_fail(2, "typo.yaml:2:1: error:", "suggest", typo, NULL);
	expect_fail(1, "bad.jsonl:2: invalid JSON", "suggest", spec, "--observed",
		    bad_json, NULL);
	expect_fail(1, "state.jsonl:3: unknown state 'done'", "suggest", spec,
		    "--observed", bad_state, NULL);
	expect_fail(1, "params.jsonl:1: 'params' must be an object", "suggest", spec,
		    "--observed", bad_params, NULL);
	expect_fail(1, "unable to open", "suggest", spec, "--observed",
		    path_in("missing.jsonl"), NULL);
	expect_fail(2, "missing.yaml: error: unable to read", "suggest",
		    path_in("missing.yaml"), NULL);
	expect_fail(2, "--count must be", "suggest", spec, "--count", "0", NULL);
	expect_fail(2, "--count must be", "suggest", spec, "--count", "x", NULL);
	expect_fail(2, "--seed must be", "suggest", spec, "--seed", "-1", NULL);
	expect_fail(2, "missing sweep FILE", "suggest", NULL);
	expect_fail(2, "unexpected argument", "suggest", spec, spec, NULL);
	expect_fail(2, "--bogus", "suggest", spec, "--bogus", NULL);
	/* a value the space cannot hold: names the observed line */
	write_tmp("cat.yaml", "method: bayes\nprogram: x\nmetric: {name: loss}\n"
		  "parameters:\n  opt:\n    values: [adam, sgd]\n");
	write_tmp("cat.jsonl", "{\"params\": {\"opt\": \"adam\"}, \"summary\": {\"loss\": 1}}\n"
		  "{\"params\": {\"opt\": \"lamb\"}, \"summary\": {\"loss\": 1}}\n");
	expect_fail(1, "observed run on line 2: \"lamb\" is not a permitted value",
		    "suggest", path_in("cat.yaml"), "--observed", path_in("cat.jsonl"), NULL);
}

static void test_run_cap_and_target(void **state)
{
	struct sw_test_proc p;
	const char *spec = write_tmp("cap.yaml",
		"method: random\nprogram: x\nrun_cap: 3\n"
		"metric:\n  name: acc\n  goal: maximize\n  target: 0.9\n"
		"parameters:\n  x:\n    values: [1, 2, 3, 4, 5, 6, 7, 8]\n");
	const char *obs = write_tmp("cap.jsonl",
		"{\"params\": {\"x\": 1}, \"state\": \"finished\", \"summary\": {\"acc\": 0.5}}\n");

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--observed", obs, "--count",
				       "10", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "\"params\""), 2);
	assert_non_null(strstr(p.err, "run_cap 3 reached"));
	sw_test_proc_release(&p);
	obs = write_tmp("cap.jsonl",
		"{\"params\": {\"x\": 1}, \"state\": \"finished\", \"summary\": {\"acc\": 0.95}}\n");
	assert_int_equal(sw_test_sweep(&p, "suggest", spec, "--observed", obs, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "");
	assert_non_null(strstr(p.err, "metric.target"));
	sw_test_proc_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_lists_remaining),
		cmocka_unit_test(test_bayes_ask_tell),
		cmocka_unit_test(test_no_program_file),
		cmocka_unit_test(test_random_ask_tell),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_run_cap_and_target),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
