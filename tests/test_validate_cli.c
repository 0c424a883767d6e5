/* test_validate_cli.c - end-to-end: `sweep validate` as a user runs it: the
 * line format, exit codes, several files, unreadable files, --json, and the
 * example sweeps of sweeps/ all valid. */
#define _GNU_SOURCE
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

static char *tmp;

static int setup(void **state)
{
	(void)state;
	tmp = sw_test_tmpdir();
	return tmp ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(tmp);
	free(tmp);
	return 0;
}

static char *write_tmp(const char *name, const char *text)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s", tmp, name) > 0);
	assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
	return path;
}

static void test_examples_are_valid(void **state)
{
	static const char *const files[] = {
		"sweeps/cifar_lr.yaml", "sweeps/cifar_bayes.yaml", "sweeps/cifar_grid.yaml",
		"sweeps/cifar_hyperband.yaml", "sweeps/cifar_alerts.yaml",
	};
	struct sw_test_proc p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char expect[128];

		assert_int_equal(sw_test_sweep(&p, "validate", files[i], NULL), 0);
		if (p.status != 0)
			fail_msg("%s: exit %d\n%s", files[i], p.status, p.err);
		assert_string_equal(p.err, "");        /* not even a warning */
		snprintf(expect, sizeof(expect), "%s: valid (", files[i]);
		assert_non_null(strstr(p.out, expect));
		sw_test_proc_release(&p);
	}
	assert_int_equal(sw_test_sweep(&p, "validate", "sweeps/cifar_grid.yaml", NULL), 0);
	assert_non_null(strstr(p.out, "12 grid points"));
	sw_test_proc_release(&p);
}

static void test_errors_one_per_line(void **state)
{
	char *bad = write_tmp("bad.yaml",
			      "method: grid\n"
			      "metric: {name: val_accuracy, goal: maximise}\n"
			      "parameters:\n"
			      "  learning_rate: {min: 1e-5, max: 0.1}\n"
			      "  batch_size: {values: [32, 0]}\n"
			      "  lr_shedule: {value: cosine}\n");
	struct sw_test_proc p;
	char line[512];

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "validate", bad, NULL), 0);
	assert_int_equal(p.status, 2);
	assert_string_equal(p.out, "");
	snprintf(line, sizeof(line), "%s:2:36: error: goal of metric: 'maximise' is not "
		 "known; did you mean 'maximize'?\n", bad);
	assert_non_null(strstr(p.err, line));
	snprintf(line, sizeof(line), "%s:4:3: error: grid search needs discrete "
		 "parameters: 'learning_rate' is uniform", bad);
	assert_non_null(strstr(p.err, line));
	snprintf(line, sizeof(line), "%s:4:24: warning: '1e-5' is the number 1e-5 here "
		 "(YAML 1.2) but a string for wandb's YAML 1.1 loader (PyYAML): write "
		 "1.0e-5\n", bad);
	assert_non_null(strstr(p.err, line));
	/* the built-in trainer's checks: warnings for validate (wandb accepts
	 * the file), saying they matter only for training the built-in CNN */
	snprintf(line, sizeof(line), "%s:5:29: warning: value 2 of parameter 'batch_size' "
		 "does not fit the built-in trainer: must be between 1 and 4096, got 0 "
		 "(this matters only for training the built-in CNN", bad);
	assert_non_null(strstr(p.err, line));
	snprintf(line, sizeof(line), "%s:6:3: warning: unknown hyperparameter 'lr_shedule' "
		 "for the built-in trainer; did you mean 'lr_schedule'? (this matters "
		 "only for training the built-in CNN", bad);
	assert_non_null(strstr(p.err, line));
	/* every line is FILE:LINE:COL: error|warning: ... */
	assert_int_equal(sw_test_count_lines(p.err, ": error: "), 2);
	assert_int_equal(sw_test_count_lines(p.err, ": warning: "), 3);
	assert_int_equal(sw_test_count_lines(p.err, bad), 5);
	sw_test_proc_release(&p);
	free(bad);
}

static void test_warnings_only_exit_0(void **state)
{
	char *f = write_tmp("warn.yaml", "method: random\nparameters:\n"
			    "  learning_rate: {distribution: log_uniform_values, "
			    "min: 1e-4, max: 1.0e-2}\n");
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "validate", f, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.err, ": warning: '1e-4'"), 1);
	assert_non_null(strstr(p.out, "valid (random, 1 parameter, 1 warning)"));
	sw_test_proc_release(&p);
	free(f);
}

static void test_several_files_and_unreadable(void **state)
{
	char *good = write_tmp("good.yaml", "method: random\nparameters:\n"
			       "  epochs: {value: 1}\n");
	char *missing, *bin = write_tmp("bin.yaml", "\x7f" "ELF\x02\x01\x01\xff\xfe");
	struct sw_test_proc p;

	(void)state;
	assert_true(asprintf(&missing, "%s/missing.yaml", tmp) > 0);
	assert_int_equal(sw_test_sweep(&p, "validate", good, missing, bin, tmp, NULL), 0);
	assert_int_equal(p.status, 2);
	assert_int_equal(sw_test_count_lines(p.out, "valid ("), 1);
	assert_int_equal(sw_test_count_lines(p.err, "unable to read"), 2);
	assert_int_equal(sw_test_count_lines(p.err, "No such file or directory"), 1);
	assert_int_equal(sw_test_count_lines(p.err, "is a directory"), 1);
	assert_int_equal(sw_test_count_lines(p.err, "invalid UTF-8"), 1);
	sw_test_proc_release(&p);

	assert_int_equal(sw_test_sweep(&p, "validate", good, good, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "valid ("), 2);
	sw_test_proc_release(&p);
	free(good);
	free(missing);
	free(bin);
}

static void test_usage_errors(void **state)
{
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "validate", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "usage: sweep validate"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "validate", "--jsn", "x.yaml", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--jsn"));
	sw_test_proc_release(&p);
}

static void test_json_report(void **state)
{
	char *bad = write_tmp("j.yaml", "method: bayes\nparameters:\n"
			      "  epochs: {value: 1e3}\n");
	char *grid = write_tmp("g.yaml", "method: grid\nparameters:\n"
			       "  epochs: {min: 1, max: 4}\n  optimizer: {values: "
			       "[adam, sgd, adam]}\n  batch_size: {value: 64}\n");
	struct sw_test_proc p;
	json_error_t jerr;
	json_t *a, *b, *e;
	char *nl;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "validate", "--json", bad, grid, NULL), 0);
	assert_int_equal(p.status, 2);
	assert_string_equal(p.err, "");
	nl = strchr(p.out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	a = json_loads(p.out, 0, &jerr);
	b = json_loads(nl + 1, 0, &jerr);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(a, "file")), bad);
	assert_string_equal(json_string_value(json_object_get(a, "verdict")), "invalid");
	assert_string_equal(json_string_value(json_object_get(a, "method")), "bayes");
	assert_true(json_is_null(json_object_get(a, "grid_points")));
	/* bayes without metric; all constant; 1e3 warning */
	assert_int_equal(json_array_size(json_object_get(a, "errors")), 2);
	assert_int_equal(json_array_size(json_object_get(a, "warnings")), 1);
	e = json_array_get(json_object_get(a, "warnings"), 0);
	assert_int_equal(json_integer_value(json_object_get(e, "line")), 3);
	assert_int_equal(json_integer_value(json_object_get(e, "column")), 19);
	assert_non_null(strstr(json_string_value(json_object_get(e, "message")),
			       "write 1.0e+3"));
	assert_string_equal(json_string_value(json_object_get(b, "verdict")), "valid");
	assert_string_equal(json_string_value(json_object_get(b, "method")), "grid");
	/* 4 epochs x 2 distinct optimizers x 1 */
	assert_int_equal(json_integer_value(json_object_get(b, "grid_points")), 8);
	assert_int_equal(json_integer_value(json_object_get(b, "parameters")), 3);
	json_decref(a);
	json_decref(b);
	sw_test_proc_release(&p);
	free(bad);
	free(grid);
}

/* --json follows the same rule: a file for the user's own code (no
 * program) with a duplicate key and a BOM is valid; the trainer's checks
 * and the duplicate are warnings. */
static void test_json_wandb_rule(void **state)
{
	char *own = write_tmp("own.yaml", "\xef\xbb\xbfmethod: random\r\nparameters:\r\n"
			      "  lr: {min: 0.001, max: 0.1}\r\n  lr: {min: 0.01, max: 0.1}\r\n");
	struct sw_test_proc p;
	json_t *a, *w;
	size_t i;
	int dup = 0, trainer = 0;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "validate", "--json", own, NULL), 0);
	assert_int_equal(p.status, 0);
	a = json_loads(p.out, 0, NULL);
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "verdict")), "valid");
	assert_int_equal(json_array_size(json_object_get(a, "errors")), 0);
	json_array_foreach(json_object_get(a, "warnings"), i, w) {
		const char *m = json_string_value(json_object_get(w, "message"));

		dup += strstr(m, "duplicate key 'lr': line 4 replaces the value given at "
			      "line 3") != NULL;
		trainer += strstr(m, "matters only for training the built-in CNN") != NULL;
	}
	assert_int_equal(dup, 1);
	assert_int_equal(trainer, 1);
	json_decref(a);
	sw_test_proc_release(&p);
	free(own);
}

/* Every golden case through the binary: exit 0 or 2, never a crash, and a
 * non-empty .err means exit 2 exactly when it holds an error line. */
static void test_golden_files_exit_codes(void **state)
{
	static const char *const some[] = {
		"e_alias_bomb", "e_deep_nesting", "e_non_utf8", "e_utf16", "e_nul_byte",
		"e_multi_document", "e_big_integer", "e_empty", "e_many",
		"v_all_distributions", "v_yaml11_warnings", "w_hyperband_never_stops",
	};
	struct sw_test_proc p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
		char yaml[128], errf[128], *want;

		snprintf(yaml, sizeof(yaml), "tests/config/%s.yaml", some[i]);
		snprintf(errf, sizeof(errf), "tests/config/%s.err", some[i]);
		assert_int_equal(sw_test_sweep(&p, "validate", yaml, NULL), 0);
		want = sw_test_read_file(errf, NULL);
		if (p.status != (want && strstr(want, ": error: ") ? 2 : 0))
			fail_msg("%s: exit %d\n%s", yaml, p.status, p.err);
		free(want);
		sw_test_proc_release(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_are_valid),
		cmocka_unit_test(test_errors_one_per_line),
		cmocka_unit_test(test_warnings_only_exit_0),
		cmocka_unit_test(test_several_files_and_unreadable),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_json_report),
		cmocka_unit_test(test_json_wandb_rule),
		cmocka_unit_test(test_golden_files_exit_codes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
