/* test_dl.c - libraries loaded on first use (base/dl.h): a library that is
 * not installed or lacks a symbol is a one-line error naming it and the
 * package, every time it is asked for; a present one resolves its symbols
 * once; and the real tables (libcurl, OpenBLAS, nettle's MD5) load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "base/blas_api.h"
#include "base/dl.h"
#include "base/libcurl.h"
#include "trainer/md5.h"

static void test_missing_library(void **state)
{
	static double (*fn)(double);
	static const struct sw_dl_sym syms[] = { { "cos", (void **)&fn }, { NULL, NULL } };
	static const char *const names[] = { "libsweep-none.so.9", "libsweep-none.so", NULL };
	static struct sw_dl_lib lib = SW_DL_LIB("libnone", names, "libnone9", syms);
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	assert_int_equal(sw_dl_load(&lib, &err), -1);
	assert_non_null(strstr(err.msg, "unable to load libnone: "));
	assert_non_null(strstr(err.msg, "libsweep-none.so"));
	assert_non_null(strstr(err.msg, "(install it: apt-get install libnone9)"));
	assert_null(strchr(err.msg, '\n'));
	assert_null(fn);
	/* asked again: the same error, without trying again */
	memset(&err, 0, sizeof(err));
	assert_int_equal(sw_dl_load(&lib, &err), -1);
	assert_non_null(strstr(err.msg, "unable to load libnone: "));
}

static void test_missing_symbol(void **state)
{
	static double (*fn)(double);
	static void *nope;
	static const struct sw_dl_sym syms[] = {
		{ "cos", (void **)&fn }, { "sweep_no_such_function", &nope }, { NULL, NULL },
	};
	static const char *const names[] = { "libm.so.6", NULL };
	static struct sw_dl_lib lib = SW_DL_LIB("libm", names, "libc6", syms);
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	assert_int_equal(sw_dl_load(&lib, &err), -1);
	assert_string_equal(err.msg, "unable to load libm: symbol "
			    "'sweep_no_such_function' missing (the library is too old?) "
			    "(install it: apt-get install libc6)");
}

static void test_present_library(void **state)
{
	static double (*fn)(double);
	static const struct sw_dl_sym syms[] = { { "cos", (void **)&fn }, { NULL, NULL } };
	static const char *const names[] = { "libsweep-none.so.9", "libm.so.6", NULL };
	static struct sw_dl_lib lib = SW_DL_LIB("libm", names, "libc6", syms);
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	assert_int_equal(sw_dl_load(&lib, &err), 0);   /* the second name */
	assert_non_null(fn);
	assert_true(fabs(fn(0.0) - 1.0) < 1e-12);
	assert_int_equal(sw_dl_load(&lib, NULL), 0);
}

static void test_real_libraries(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	struct cnn_md5 m;
	unsigned char d[16];
	char hex[33];
	double a[4] = { 4, 2, 2, 3 };   /* column-major SPD 2x2 */

	(void)state;
	assert_int_equal(sw_curl_load(&err), 0);
	assert_non_null(sw_curl.easy_init);
	assert_int_equal(sw_blas_load(&err), 0);
	assert_int_equal(sw_lapack_dpotrf('L', 2, a, 2), 0);
	assert_true(fabs(a[0] - 2.0) < 1e-12);               /* L = [2 0; 1 sqrt2] */
	assert_true(fabs(a[1] - 1.0) < 1e-12);
	assert_true(fabs(a[3] - sqrt(2.0)) < 1e-12);
	assert_int_equal(cnn_md5_load(&err), 0);
	cnn_md5_init(&m);
	cnn_md5_update(&m, "abc", 3);
	cnn_md5_final(&m, d);
	cnn_md5_hex(d, hex);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_present_library),
		cmocka_unit_test(test_real_libraries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
