/* test_cli.c - end-to-end: the sweep binary's help, version, usage errors and
 * exit codes, as a user meets them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "support/support.h"
#include "base/cli.h"

static const char *const commands[] = {
	"validate", "suggest", "train", "eval", "bench", "run", "resume",
	"report", "create", "agent", "sync", "ls", "show", NULL
};

static void test_help_lists_every_command(void **state)
{
	struct sw_test_proc p;
	int i;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "--help", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "usage: sweep"));
	for (i = 0; commands[i]; i++)
		assert_non_null(strstr(p.out, commands[i]));
	assert_string_equal(p.err, "");
	sw_test_proc_release(&p);
}

static void test_every_command_answers_h(void **state)
{
	struct sw_test_proc p;
	char expect[64];
	int i;

	(void)state;
	for (i = 0; commands[i]; i++) {
		snprintf(expect, sizeof(expect), "usage: sweep %s", commands[i]);
		assert_int_equal(sw_test_sweep(&p, commands[i], "-h", NULL), 0);
		assert_int_equal(p.status, 0);
		assert_non_null(strstr(p.out, expect));
		sw_test_proc_release(&p);

		assert_int_equal(sw_test_sweep(&p, "help", commands[i], NULL), 0);
		assert_int_equal(p.status, 0);
		assert_non_null(strstr(p.out, expect));
		sw_test_proc_release(&p);

		assert_int_equal(sw_test_sweep(&p, commands[i], "--help", NULL), 0);
		assert_int_equal(p.status, 0);
		sw_test_proc_release(&p);
	}
}

static void test_version(void **state)
{
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "--version", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "sweep " SW_VERSION "\n");
	sw_test_proc_release(&p);
}

static void test_no_arguments_is_usage_error(void **state)
{
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, NULL), 0);
	assert_int_equal(p.status, 2);
	assert_string_equal(p.out, "");
	assert_non_null(strstr(p.err, "usage: sweep"));
	sw_test_proc_release(&p);
}

static void test_unknown_command_suggests(void **state)
{
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "rnu", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "sweep: error: unknown command 'rnu'; did you mean 'run'?"));
	assert_string_equal(p.out, "");
	sw_test_proc_release(&p);

	assert_int_equal(sw_test_sweep(&p, "xyzzy-plugh", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "unknown command 'xyzzy-plugh'\n"));
	sw_test_proc_release(&p);

	assert_int_equal(sw_test_sweep(&p, "help", "nope", NULL), 0);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
}

static void test_unknown_global_option(void **state)
{
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "--frobnicate", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "sweep: error: unknown option '--frobnicate'"));
	assert_non_null(strstr(p.err, "usage: sweep"));
	sw_test_proc_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_lists_every_command),
		cmocka_unit_test(test_every_command_answers_h),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_no_arguments_is_usage_error),
		cmocka_unit_test(test_unknown_command_suggests),
		cmocka_unit_test(test_unknown_global_option),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
