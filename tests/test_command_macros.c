/* test_command_macros.c - wandb's command macros, and Python's str(),
 * repr(float) and json.dumps as the agent formats values (expected strings
 * were printed by CPython 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/spec/command_macros.h"

static void test_repr_float(void **state)
{
	static const struct { double x; const char *want; } cases[] = {
		{ 0.001, "0.001" }, { 1e-05, "1e-05" }, { 0.0001, "0.0001" },
		{ 3.0, "3.0" }, { 1e16, "1e+16" }, { 1e15, "1000000000000000.0" },
		{ 123456789.123, "123456789.123" },
		{ 0.1 + 0.2, "0.30000000000000004" }, { -2.5e-7, "-2.5e-07" },
		{ 1.5e300, "1.5e+300" }, { 100.0, "100.0" }, { 0.00123, "0.00123" },
		{ -0.0, "-0.0" }, { 1.4142135623730951, "1.4142135623730951" },
		{ 0.5, "0.5" }, { 12.25, "12.25" },
	};
	char buf[48];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sw_py_repr_float(cases[i].x, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static void check_str(const char *json, const char *want)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *s;

	assert_non_null(v);
	s = sw_py_str(v);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
	json_decref(v);
}

static void test_py_str(void **state)
{
	(void)state;
	check_str("true", "True");
	check_str("false", "False");
	check_str("null", "None");
	check_str("3", "3");
	check_str("3.0", "3.0");
	check_str("1e-5", "1e-05");
	check_str("\"adam\"", "adam");
	check_str("[1, 2]", "[1, 2]");
	check_str("[1.0, \"a\", true, null]", "[1.0, 'a', True, None]");
	check_str("{\"a\": 1, \"b\": \"x\"}", "{'a': 1, 'b': 'x'}");
	check_str("{\"n1\": 0.01, \"n2\": [64]}", "{'n1': 0.01, 'n2': [64]}");
	check_str("[\"it's\"]", "[\"it's\"]");
	check_str("[\"a'b\\\"c\"]", "['a\\'b\"c']");
	check_str("[\"tab\\there\"]", "['tab\\there']");
}

static void test_json_dumps(void **state)
{
	json_t *v = json_loads("{\"lr\": 0.001, \"flag\": true, \"off\": false, "
			       "\"n\": null, \"layers\": [1, 2], \"opt\": {\"a\": 1, "
			       "\"b\": \"x\"}, \"name\": \"it's\", \"u\": \"\xc3\xa9\\n\"}",
			       0, NULL);
	char *s;

	(void)state;
	assert_non_null(v);
	s = sw_py_json_dumps(v);
	assert_string_equal(s, "{\"lr\": 0.001, \"flag\": true, \"off\": false, "
			    "\"n\": null, \"layers\": [1, 2], \"opt\": {\"a\": 1, "
			    "\"b\": \"x\"}, \"name\": \"it's\", \"u\": \"\\u00e9\\n\"}");
	free(s);
	json_decref(v);
}

static char **expand(const char *const *cmd, size_t n, const char *params_json,
		     const char *program, size_t *argc)
{
	struct sw_macro_ctx ctx = SW_MACRO_CTX_INIT;
	struct sw_err err = SW_ERR_INIT;
	json_t *params = json_loads(params_json, 0, NULL);
	char **argv = NULL;

	assert_non_null(params);
	ctx.params = params;
	ctx.program = program;
	ctx.args_json_file = "wandb/sweep-sw1/config-run1.json";
	assert_int_equal(sw_command_expand(cmd, n, &ctx, &argv, argc, &err), 0);
	json_decref(params);
	return argv;
}

static void check_argv(char **argv, size_t argc, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		assert_true(i < argc);
		assert_string_equal(argv[i], want[i]);
	}
	assert_int_equal(argc, i);
	assert_null(argv[argc]);
}

/* the run arguments of wandb's own agent test, plus a float and a dict */
static const char params[] = "{\"a\": true, \"b\": false, \"c\": 1, \"d\": null, "
			     "\"lr\": 1e-05, \"p2\": {\"n1\": 0.01}}";

static void test_default_command(void **state)
{
	static const char *const want[] = {
		"/usr/bin/env", "python", "train.py", "--a=True", "--b=False", "--c=1",
		"--d=None", "--lr=1e-05", "--p2={'n1': 0.01}", NULL,
	};
	size_t argc;
	char **argv = expand(NULL, 0, params, "train.py", &argc);

	(void)state;
	check_argv(argv, argc, want);
	sw_argv_free(argv);
}

static void test_every_args_macro(void **state)
{
	static const char *const cmd[] = {
		"${args_no_hyphens}", "|", "${args_no_equals}", "|",
		"${args_no_boolean_flags}", "|", "${args_json}", "|", "${args_json_file}",
		"|", "${args_append_hydra}", "|", "${args_override_hydra}",
	};
	static const char *const want[] = {
		"a=True", "b=False", "c=1", "d=None", "lr=1e-05", "p2={'n1': 0.01}", "|",
		"--a", "True", "--b", "False", "--c", "1", "--d", "None", "--lr", "1e-05",
		"--p2", "{'n1': 0.01}", "|",
		"--a", "--c=1", "--d=None", "--lr=1e-05", "--p2={'n1': 0.01}", "|",
		"{\"a\": true, \"b\": false, \"c\": 1, \"d\": null, \"lr\": 1e-05, "
		"\"p2\": {\"n1\": 0.01}}", "|",
		"wandb/sweep-sw1/config-run1.json", "|",
		"+a=True", "+b=False", "+c=1", "+d=None", "+lr=1e-05", "+p2={'n1': 0.01}", "|",
		"++a=True", "++b=False", "++c=1", "++d=None", "++lr=1e-05",
		"++p2={'n1': 0.01}", NULL,
	};
	size_t argc;
	char **argv = expand(cmd, sizeof(cmd) / sizeof(cmd[0]), params, "x.py", &argc);

	(void)state;
	check_argv(argv, argc, want);
	sw_argv_free(argv);
}

static void test_whole_items_only_and_unknown(void **state)
{
	/* macros inside an item stay as written; unknown macros expand to
	 * nothing; plain items are kept */
	static const char *const cmd[] = {
		"bash", "-c", "echo ${args}", "${nope}", "x${program}", "${program}",
		"${interpreter}", "--",
	};
	static const char *const want[] = {
		"bash", "-c", "echo ${args}", "x${program}", "run.sh", "python", "--", NULL,
	};
	size_t argc;
	char **argv = expand(cmd, sizeof(cmd) / sizeof(cmd[0]), "{\"a\": 1}", "run.sh",
			     &argc);

	(void)state;
	check_argv(argv, argc, want);
	sw_argv_free(argv);
}

static void test_envvar(void **state)
{
	static const char *const cmd[] = {
		"${envvar:SW_TEST_MACRO_A}", "pre-${envvar:SW_TEST_MACRO_A}-${envvar:SW_UNSET_Z}",
		"${envvar:lower}", "${envvar:SW_TEST_MACRO_B}",
	};
	static const char *const want[] = {
		"/data/x", "pre-/data/x-SW_UNSET_Z", NULL,
	};
	size_t argc;
	char **argv;

	(void)state;
	setenv("SW_TEST_MACRO_A", "/data/x", 1);
	/* ${envvar:lower} is no variable (A-Z, 0-9, _ only) but a whole-item
	 * macro wandb does not know: nothing. A variable whose value is a
	 * whole macro is expanded as one, as
	 * wandb substitutes variables first */
	setenv("SW_TEST_MACRO_B", "${unknown_macro}", 1);
	unsetenv("SW_UNSET_Z");
	argv = expand(cmd, sizeof(cmd) / sizeof(cmd[0]), "{}", NULL, &argc);
	check_argv(argv, argc, want);
	sw_argv_free(argv);
}

static void test_no_params_and_uses(void **state)
{
	static const char *const cmd[] = { "${env}", "python3", "${program}", "${args}" };
	static const char *const want[] = { "/usr/bin/env", "python3", "t.py", NULL };
	size_t argc;
	char **argv = expand(cmd, 4, "{}", "t.py", &argc);

	(void)state;
	check_argv(argv, argc, want);
	sw_argv_free(argv);
	assert_true(sw_command_uses(NULL, 0, "program"));
	assert_false(sw_command_uses(NULL, 0, "args_json_file"));
	assert_true(sw_command_uses(cmd, 4, "args"));
	assert_false(sw_command_uses(cmd, 4, "arg"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repr_float),
		cmocka_unit_test(test_py_str),
		cmocka_unit_test(test_json_dumps),
		cmocka_unit_test(test_default_command),
		cmocka_unit_test(test_every_args_macro),
		cmocka_unit_test(test_whole_items_only_and_unknown),
		cmocka_unit_test(test_envvar),
		cmocka_unit_test(test_no_params_and_uses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
