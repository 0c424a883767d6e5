/* test_spec_validate.c - the golden cases of tests/config/ (jq-style data
 * tests) and unit tests of the validation pass, the grid point count and the
 * filled JSON dump.
 *
 * Golden cases: each tests/config/NAME.yaml is loaded and validated; its
 * diagnostics, printed as "NAME.yaml:LINE:COL: error: MESSAGE" lines, must
 * equal NAME.err exactly (no NAME.err: no diagnostics at all), and when
 * NAME.expected exists the file must be valid and sw_spec_to_json() of it,
 * printed with two-space indentation, must equal NAME.expected. Adding a
 * case is adding files. SWEEP_UPDATE_GOLDEN=1 rewrites the expectations of
 * the existing cases from the current output (review the diff!). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/support.h"
#include "sweep/spec/space.h"
#include "sweep/spec/spec.h"

static const char *config_dir(void)
{
	const char *d = getenv("SWEEP_TEST_CONFIG_DIR");

	return d ? d : "tests/config";
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads and validates path; the diagnostics (as printed) and the dump (NULL
 * when invalid) are returned in new strings. */
static void run_case(const char *path, const char *shown, char **diag_text,
		     char **dump)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_err err = SW_ERR_INIT;
	size_t len = 0;
	FILE *mem = open_memstream(diag_text, &len);

	assert_non_null(mem);
	sw_spec_load(&spec, path, &diags, &err);
	assert_non_null(spec.text);     /* the golden files are readable */
	sw_spec_validate(&spec, &diags);
	sw_diags_sort(&diags);
	sw_diags_print(&diags, shown, mem);
	fclose(mem);
	*dump = NULL;
	if (diags.n_errors == 0) {
		json_t *j = sw_spec_to_json(&spec);
		char *t;

		assert_non_null(j);
		t = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
		assert_non_null(t);
		assert_true(asprintf(dump, "%s\n", t) > 0);
		free(t);
		json_decref(j);
	}
	sw_diags_release(&diags);
	sw_spec_release(&spec);
}

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_golden_cases(void **state)
{
	const char *dir = config_dir();
	int update = getenv("SWEEP_UPDATE_GOLDEN") != NULL;
	char **names = NULL;
	size_t n = 0, alloc = 0, i, failures = 0, with_err = 0, with_expected = 0;
	struct dirent *de;
	DIR *d;

	(void)state;
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			names = realloc(names, alloc * sizeof(*names));
			assert_non_null(names);
		}
		names[n++] = strndup(de->d_name, len - 5);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	assert_true(n >= 50);

	for (i = 0; i < n; i++) {
		char *yaml, *errp, *expp, *shown, *got_diag, *got_dump;
		char *want_diag = NULL, *want_dump = NULL;
		int has_err, has_exp;

		assert_true(asprintf(&yaml, "%s/%s.yaml", dir, names[i]) > 0);
		assert_true(asprintf(&errp, "%s/%s.err", dir, names[i]) > 0);
		assert_true(asprintf(&expp, "%s/%s.expected", dir, names[i]) > 0);
		assert_true(asprintf(&shown, "%s.yaml", names[i]) > 0);
		run_case(yaml, shown, &got_diag, &got_dump);
		has_err = file_exists(errp);
		has_exp = file_exists(expp);
		if (update) {
			if (got_diag[0] || has_err)
				sw_test_write_file(errp, got_diag, strlen(got_diag));
			if (got_dump)
				sw_test_write_file(expp, got_dump, strlen(got_dump));
			else if (has_exp)
				unlink(expp);
			has_err = file_exists(errp);
			has_exp = file_exists(expp);
		}
		if (!has_err && !has_exp) {
			print_error("%s: add %s.err (expected diagnostics) or %s.expected "
				    "(expected dump)\n", yaml, names[i], names[i]);
			failures++;
		}
		want_diag = has_err ? sw_test_read_file(errp, NULL) : strdup("");
		assert_non_null(want_diag);
		with_err += has_err;
		if (strcmp(want_diag, got_diag) != 0) {
			print_error("%s: diagnostics differ\n--- expected\n%s--- got\n%s",
				    yaml, want_diag, got_diag);
			failures++;
		}
		if (has_exp) {
			with_expected++;
			want_dump = sw_test_read_file(expp, NULL);
			assert_non_null(want_dump);
			if (!got_dump || strcmp(want_dump, got_dump) != 0) {
				print_error("%s: dump differs\n--- expected\n%s--- got\n%s",
					    yaml, want_dump,
					    got_dump ? got_dump : "(invalid)\n");
				failures++;
			}
		}
		free(want_diag);
		free(want_dump);
		free(got_diag);
		free(got_dump);
		free(yaml);
		free(errp);
		free(expp);
		free(shown);
		free(names[i]);
	}
	free(names);
	print_message("%zu golden cases: %zu with .err, %zu with .expected\n", n,
		      with_err, with_expected);
	assert_int_equal(failures, 0);
}

/* ==== Unit tests of the validation pass ==== */

/* Loads text and validates it for use; returns the number of errors; *all
 * gets the diagnostics as printed, in a new string. */
static size_t check_for(const char *text, enum sw_spec_use use, char **all)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	size_t n_errors, len = 0;
	FILE *mem = open_memstream(all, &len);

	sw_spec_load_string(&spec, text, strlen(text), "t.yaml", &diags, NULL);
	sw_spec_validate_for(&spec, use, &diags);
	sw_diags_sort(&diags);
	sw_diags_print(&diags, "t.yaml", mem);
	fclose(mem);
	n_errors = diags.n_errors;
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	return n_errors;
}

/* The strictest use: `sweep run`, where the trainer's checks are errors. */
static size_t check(const char *text, char **all)
{
	return check_for(text, SW_USE_RUN, all);
}

static void expect_error(const char *text, const char *needle)
{
	char *all = NULL;
	size_t n = check(text, &all);

	if (n == 0 || !strstr(all, needle))
		fail_msg("expected an error containing '%s' for:\n%s\ngot:\n%s", needle,
			 text, all);
	free(all);
}

static void expect_valid(const char *text)
{
	char *all = NULL;
	size_t n = check(text, &all);

	if (n != 0)
		fail_msg("expected valid:\n%s\ngot:\n%s", text, all);
	free(all);
}

static void test_trainer_ranges_of_every_distribution(void **state)
{
	(void)state;
	/* q rounding: round(0.05 / 0.1) * 0.1 = 0 (half to even) is outside
	 * learning_rate > 0 */
	expect_error("method: random\nparameters:\n  learning_rate: {distribution: "
		     "q_uniform, min: 0.05, max: 0.5, q: 0.1}\n",
		     "lowest value (after q rounding)");
	expect_valid("method: random\nparameters:\n  learning_rate: {distribution: "
		     "q_uniform, min: 0.1, max: 0.5, q: 0.1}\n");
	/* inv_log_uniform: values e^-max .. e^-min; e^-(-1) = 2.7 > 0.95 */
	expect_error("method: random\nparameters:\n  dropout: {distribution: "
		     "inv_log_uniform, min: -1, max: 3}\n", "dropout");
	expect_valid("method: random\nparameters:\n  dropout: {distribution: "
		     "inv_log_uniform, min: 1, max: 3}\n");
	/* beta produces [0, 1]: bn_momentum max is 0.9999 */
	expect_error("method: random\nparameters:\n  bn_momentum: {distribution: "
		     "beta}\n", "bn_momentum");
	expect_error("method: random\nparameters:\n  dropout: {distribution: beta, "
		     "a: 2, b: 5}\n", "must be between 0 and 0.95, got 1");
	expect_valid("method: random\nparameters:\n  weight_decay: {distribution: "
		     "beta, a: 2, b: 5}\n");
}

static void test_trainer_int_params(void **state)
{
	(void)state;
	expect_valid("method: random\nparameters:\n  batch_size: {min: 16, max: 256}\n");
	expect_valid("method: random\nparameters:\n  batch_size: {distribution: "
		     "q_uniform, min: 16, max: 256, q: 16}\n");
	expect_error("method: random\nparameters:\n  batch_size: {distribution: "
		     "q_uniform, min: 16, max: 256, q: 2.5}\n", "takes integers");
	expect_error("method: random\nparameters:\n  epochs: {distribution: "
		     "log_uniform_values, min: 1, max: 10}\n", "takes integers");
	expect_valid("method: random\nparameters:\n  epochs: {distribution: "
		     "q_log_uniform_values, min: 1, max: 10, q: 1}\n");
	expect_valid("method: random\nparameters:\n  image_size: {distribution: "
		     "q_uniform, min: 16, max: 64, q: 8}\n");
	expect_valid("method: random\nparameters:\n  epochs: {value: 3.0}\n");
	expect_valid("method: random\nparameters:\n  nesterov: {values: [true, false]}\n"
		     "  optimizer: {values: [adam, sgd, rmsprop]}\n");
}

static void test_program_skips_trainer_table(void **state)
{
	(void)state;
	expect_valid("method: random\nprogram: train.py\nmetric: {name: val_acc}\n"
		     "parameters:\n  lr: {min: 0, max: 1}\n");
	expect_valid("method: random\ncommand: [python, t.py, \"${args}\"]\n"
		     "parameters:\n  lr: {min: 0, max: 1}\n");
	expect_error("method: random\nparameters:\n  lr: {min: 0, max: 1}\n",
		     "unknown hyperparameter 'lr'");
}

static void test_hyperband_brackets(void **state)
{
	(void)state;
	/* wandb: 81,3,3 -> [3, 9, 27]; 5,2,2 -> [1, 2]; 10,3,5 -> [1, 3] */
	expect_valid("method: random\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {value: 81}\nearly_terminate: {type: hyperband, "
		     "max_iter: 81, s: 3}\n");
	expect_valid("method: random\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {value: 5}\nearly_terminate: {type: hyperband, "
		     "max_iter: 5, s: 2, eta: 2}\n");
	expect_valid("method: random\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {value: 10}\nearly_terminate: {type: hyperband, "
		     "max_iter: 10, s: 5}\n");
	expect_error("method: random\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {value: 10}\nearly_terminate: {type: hyperband, "
		     "max_iter: 2, s: 2}\n", "no brackets");
	expect_error("method: random\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {value: 10}\nearly_terminate: {type: hyperband, "
		     "max_iter: 27, s: 0}\n", "s of early_terminate must be at least 1");
	expect_error("method: random\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {value: 10}\nearly_terminate: {type: hyperband, "
		     "min_iter: 2, eta: 0.5}\n", "greater than 1");
}

static void test_bayes_rules(void **state)
{
	(void)state;
	expect_valid("method: bayes\nmetric: {name: loss}\nparameters:\n"
		     "  epochs: {values: [1, 2]}\n");
	/* nested constants only: still nothing to search */
	expect_error("method: bayes\nprogram: t.py\nmetric: {name: loss}\nparameters:\n"
		     "  a:\n    parameters:\n      b: {value: 1}\n", "not constant");
	expect_valid("method: bayes\nprogram: t.py\nmetric: {name: loss}\nparameters:\n"
		     "  a:\n    parameters:\n      b: {min: 0, max: 1}\n");
}

static void test_grid_count(void **state)
{
	static const struct {
		const char *params;
		uint64_t points;
	} cases[] = {
		{ "  a: {values: [1, 2, 3]}\n", 3 },
		{ "  a: {values: [3, 3.0, 4]}\n", 2 },             /* 3 == 3.0 */
		{ "  a: {values: [true, 1, \"1\", [1], [1.0]]}\n", 5 },
		{ "  a: {values: [{x: 1, y: 2}, {y: 2, x: 1}]}\n", 1 }, /* key order */
		{ "  a: {min: -2, max: 2}\n", 5 },                 /* inclusive */
		{ "  a: {distribution: q_uniform, min: 0, max: 1, q: 0.25}\n", 4 },
		{ "  a: {distribution: q_uniform, min: 0, max: 10, q: 3}\n", 4 },
		{ "  a: {value: 7}\n  b: {values: [1, 2]}\n", 2 },
		{ "  a:\n    parameters:\n      b: {values: [1, 2]}\n      c: {values: "
		  "[x, y, z]}\n  d: {min: 1, max: 4}\n", 24 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sw_spec spec = SW_SPEC_INIT;
		struct sw_err err = SW_ERR_INIT;
		uint64_t points = 0;
		char *text;

		assert_true(asprintf(&text, "method: grid\nprogram: t.py\nparameters:\n%s",
				     cases[i].params) > 0);
		assert_int_equal(sw_spec_load_string(&spec, text, strlen(text), "t",
						     NULL, &err), 0);
		assert_int_equal(sw_spec_validate(&spec, NULL), 0);
		assert_int_equal(sw_spec_grid_count(&spec, &points, &err), 0);
		if (points != cases[i].points)
			fail_msg("case %zu: %llu points, want %llu", i,
				 (unsigned long long)points,
				 (unsigned long long)cases[i].points);
		sw_spec_release(&spec);
		free(text);
	}
}

static void test_grid_count_refuses_continuous(void **state)
{
	const char *text = "method: random\nprogram: t.py\nparameters:\n"
			   "  a:\n    parameters:\n      lr: {min: 0.1, max: 0.2}\n";
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_err err = SW_ERR_INIT;
	uint64_t points = 0;

	(void)state;
	assert_int_equal(sw_spec_load_string(&spec, text, strlen(text), "t", NULL,
					     &err), 0);
	assert_int_equal(sw_spec_grid_count(&spec, &points, &err), -1);
	assert_non_null(strstr(err.msg, "'a.lr' is uniform"));
	sw_spec_release(&spec);
}

static void test_grid_value_key(void **state)
{
	json_t *a = json_real(3.0), *b = json_integer(3), *c = json_string("3");
	json_t *d = json_pack("[f]", 1.0), *e = json_pack("[i]", 1);
	char *ka = sw_value_key(a), *kb = sw_value_key(b);
	char *kc = sw_value_key(c), *kd = sw_value_key(d);
	char *ke = sw_value_key(e);

	(void)state;
	assert_string_equal(ka, kb);
	assert_string_not_equal(kb, kc);
	assert_string_not_equal(kd, ke);
	free(ka), free(kb), free(kc), free(kd), free(ke);
	json_decref(a), json_decref(b), json_decref(c), json_decref(d), json_decref(e);
}

static void test_validate_reports_every_problem(void **state)
{
	char *all = NULL;
	size_t n;

	(void)state;
	n = check("method: grid\nparameters:\n  lr: {min: 1, max: 0.5}\n"
		  "  epochs: {value: 0}\n  batch_size: {values: [0]}\n", &all);
	/* lr: unknown, not discrete, min >= max; epochs and batch_size: range */
	assert_int_equal(n, 5);
	assert_int_equal(sw_test_count_lines(all, "error:"), 5);
	free(all);
	/* validate: only what wandb refuses (not discrete, min >= max) */
	n = check_for("method: grid\nparameters:\n  lr: {min: 1, max: 0.5}\n"
		      "  epochs: {value: 0}\n  batch_size: {values: [0]}\n",
		      SW_USE_FILE, &all);
	assert_int_equal(n, 2);
	assert_int_equal(sw_test_count_lines(all, "error:"), 2);
	assert_int_equal(sw_test_count_lines(all, "warning:"), 3);
	free(all);
}

/* A file without program/command: the trainer's checks are warnings that
 * say why for validate, the same located messages as errors for run, and
 * nothing for suggest. */
static void test_trainer_checks_by_use(void **state)
{
	const char *text = "method: random\nmetric: {name: val_acc}\nparameters:\n"
			   "  learning_rat: {value: 0.01}\n";
	char *file = NULL, *run = NULL, *search = NULL;

	(void)state;
	assert_int_equal(check_for(text, SW_USE_FILE, &file), 0);
	assert_int_equal(check_for(text, SW_USE_RUN, &run), 2);
	assert_int_equal(check_for(text, SW_USE_SEARCH, &search), 0);
	assert_string_equal(search, "");
	assert_int_equal(sw_test_count_lines(file, "warning:"), 2);
	assert_int_equal(sw_test_count_lines(file, "matters only for training the "
					     "built-in CNN"), 2);
	assert_non_null(strstr(run, "t.yaml:2:9: error: metric 'val_acc' is not logged "
			       "by the built-in trainer; did you mean 'val_accuracy'?\n"));
	assert_non_null(strstr(file, "t.yaml:2:9: warning: metric 'val_acc' is not "
			       "logged by the built-in trainer; did you mean "
			       "'val_accuracy'? (this matters"));
	assert_non_null(strstr(run, "t.yaml:4:3: error: unknown hyperparameter "
			       "'learning_rat' for the built-in trainer; did you mean "
			       "'learning_rate'?\n"));
	free(file), free(run), free(search);
	/* the online agent trains the built-in CNN: errors as for run */
	assert_int_equal(check_for(text, SW_USE_TRAIN, &run), 2);
	free(run);
}

/* method: custom leaves the search to an external scheduler: a warning for
 * the file (wandb accepts it), nothing for the online agent, which trains
 * what wandb sends, and an error where sweep's own search would run.
 * metrics (several objectives) is taken only with custom and without
 * metric, and its items are checked as metric is, as wandb's schema does. */
static void test_custom_method_by_use(void **state)
{
	const char *text = "method: custom\nmetrics:\n  - {name: loss}\n"
			   "  - {name: acc, goal: maximize}\nparameters:\n"
			   "  learning_rate: {min: 0.001, max: 0.1}\n";
	char *out = NULL;

	(void)state;
	assert_int_equal(check_for(text, SW_USE_FILE, &out), 0);
	assert_non_null(strstr(out, "t.yaml:1:9: warning: method 'custom' leaves the "
			       "search to an external scheduler"));
	free(out);
	assert_int_equal(check_for(text, SW_USE_TRAIN, &out), 0);
	assert_null(strstr(out, "custom"));
	free(out);
	assert_int_equal(check_for(text, SW_USE_SEARCH, &out), 1);
	assert_non_null(strstr(out, "t.yaml:1:9: error: method 'custom' needs an "
			       "external scheduler, which sweep does not run"));
	free(out);
	assert_int_equal(check_for(text, SW_USE_RUN, &out), 1);
	free(out);
	/* what wandb refuses about metrics */
	assert_int_equal(check_for("method: random\nmetrics: [{name: a}, {name: b}]\n"
				   "parameters: {x: {values: [1, 2]}}\n", SW_USE_FILE,
				   &out), 1);
	assert_non_null(strstr(out, "t.yaml:2:1: error: 'metrics' (several "
			       "objectives) needs method: custom"));
	free(out);
	assert_int_equal(check_for("method: custom\nmetric: {name: a}\n"
				   "metrics: [{name: a}, {name: b}]\n"
				   "parameters: {x: {values: [1, 2]}}\n", SW_USE_FILE,
				   &out), 1);
	assert_non_null(strstr(out, "give 'metric' or 'metrics', not both"));
	free(out);
	assert_int_equal(check_for("method: custom\nmetrics: [{name: a}]\n"
				   "parameters: {x: {values: [1, 2]}}\n", SW_USE_FILE,
				   &out), 1);
	assert_non_null(strstr(out, "'metrics' must be a list of at least two"));
	free(out);
	assert_int_equal(check_for("method: custom\nmetrics: [{name: a}, {goal: up}]\n"
				   "parameters: {x: {values: [1, 2]}}\n", SW_USE_FILE,
				   &out), 2);
	free(out);
	/* a space that is only the scheduler's: a file wandb takes, nothing
	 * sweep's own search can read */
	text = "method: random\nprogram: t.py\n"
	       "scheduler: {engine: wandb, source: s, search_space: sp}\n";
	assert_int_equal(check_for(text, SW_USE_FILE, &out), 0);
	free(out);
	assert_int_equal(check_for(text, SW_USE_SEARCH, &out), 1);
	assert_non_null(strstr(out, "t.yaml:3:12: error: the sweep has no 'parameters'"));
	free(out);
}

/* Duplicate keys: wandb (PyYAML) keeps the last value; so does every use. */
static void test_duplicate_key_last_wins(void **state)
{
	const char *text = "method: random\nprogram: t.py\nparameters:\n"
			   "  x: {value: 1}\n  y: {value: 2}\n  x: {values: [3, 4]}\n";
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };

	(void)state;
	assert_int_equal(sw_spec_load_string(&spec, text, strlen(text), "t", &diags,
					     NULL), 0);
	assert_int_equal(diags.n, 1);
	assert_int_equal(diags.items[0].is_error, 0);
	assert_int_equal(diags.items[0].loc.line, 6);
	assert_non_null(strstr(diags.items[0].msg, "line 6 replaces the value given "
			       "at line 4"));
	assert_int_equal(spec.n_params, 2);
	assert_string_equal(spec.params[0].name, "x");    /* first key's place */
	assert_int_equal(spec.params[0].dist, SW_DIST_CATEGORICAL);
	assert_int_equal(spec.params[0].loc.line, 6);
	assert_int_equal(json_array_size(spec.params[0].values), 2);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_cases),
		cmocka_unit_test(test_trainer_ranges_of_every_distribution),
		cmocka_unit_test(test_trainer_int_params),
		cmocka_unit_test(test_program_skips_trainer_table),
		cmocka_unit_test(test_hyperband_brackets),
		cmocka_unit_test(test_bayes_rules),
		cmocka_unit_test(test_grid_count),
		cmocka_unit_test(test_grid_count_refuses_continuous),
		cmocka_unit_test(test_grid_value_key),
		cmocka_unit_test(test_validate_reports_every_problem),
		cmocka_unit_test(test_trainer_checks_by_use),
		cmocka_unit_test(test_custom_method_by_use),
		cmocka_unit_test(test_duplicate_key_last_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
