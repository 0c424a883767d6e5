/* test_buf.c - the capped growable buffer and error helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

static void test_append_and_grow(void **state)
{
	struct sw_buf b;
	char *s;
	size_t len;
	int i;

	(void)state;
	sw_buf_init(&b, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(sw_buf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3000);
	assert_int_equal(b.data[3000], '\0');
	assert_memory_equal(b.data + 2997, "abc", 3);
	assert_int_equal(sw_buf_appendf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data + 3000, "42-x");
	s = sw_buf_detach(&b, &len);
	assert_int_equal(len, 3004);
	assert_null(b.data);
	free(s);
	sw_buf_release(&b);
}

static void test_cap_refuses_and_keeps_content(void **state)
{
	struct sw_buf b;

	(void)state;
	sw_buf_init(&b, 8);
	assert_int_equal(sw_buf_append(&b, "12345678", 8), 0);
	assert_int_equal(sw_buf_append(&b, "9", 1), -1);
	assert_int_equal(sw_buf_appendf(&b, "%s", "x"), -1);
	assert_string_equal(b.data, "12345678");
	sw_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	sw_buf_release(&b);
	sw_buf_release(NULL);
}

static void test_detach_empty(void **state)
{
	struct sw_buf b = SW_BUF_INIT;
	char *s = sw_buf_detach(&b, NULL);

	(void)state;
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_errorf_and_prefix(void **state)
{
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	assert_int_equal(sw_errorf(&err, "unable to open '%s'", "x.yaml"), SW_ERR);
	assert_string_equal(err.msg, "unable to open 'x.yaml'");
	assert_int_equal(sw_err_prefix(&err, "run %d", 3), SW_ERR);
	assert_string_equal(err.msg, "run 3: unable to open 'x.yaml'");
	assert_int_equal(sw_errorf(NULL, "ignored"), SW_ERR);
	sw_err_clear(&err);
	assert_string_equal(err.msg, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_grow),
		cmocka_unit_test(test_cap_refuses_and_keeps_content),
		cmocka_unit_test(test_detach_empty),
		cmocka_unit_test(test_errorf_and_prefix),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
