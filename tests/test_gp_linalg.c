/* test_gp_linalg.c - the Gaussian process's plain-loop linear algebra
 * (sweep/search/gp_linalg.h) against OpenBLAS's LAPACK and CBLAS, the
 * reference, on random positive definite matrices of the sizes the bayes
 * search uses, with leading dimensions larger than the order; and a matrix
 * that is not positive definite is reported at the right minor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/blas_api.h"
#include "base/rng.h"
#include "sweep/search/gp_linalg.h"

#define TOL 1e-9

/* a random SPD matrix B B^T / n + I into a (n x n, leading dimension lda),
 * upper triangle left NaN: only the lower one may be read */
static void random_spd(struct sw_rng *rng, int n, double *a, int lda)
{
	double *b = malloc((size_t)n * n * sizeof(double));
	int i, j, k;

	assert_non_null(b);
	for (i = 0; i < n * n; i++)
		b[i] = 2.0 * sw_rng_double(rng) - 1.0;
	for (j = 0; j < n; j++)
		for (i = 0; i < n; i++) {
			double s = 0.0;

			for (k = 0; k < n; k++)
				s += b[i + k * n] * b[j + k * n];
			a[i + (size_t)j * lda] = i >= j ? s / n + (i == j) : NAN;
		}
	free(b);
}

static void assert_close(double got, double want)
{
	if (!(fabs(got - want) <= TOL * (1.0 + fabs(want))))
		fail_msg("got %.17g, want %.17g", got, want);
}

static void check_size(int n, int lda)
{
	struct sw_err err = SW_ERR_INIT;
	struct sw_rng rng;
	double *a = malloc((size_t)lda * n * sizeof(double));
	double *ref = malloc((size_t)lda * n * sizeof(double));
	double *ki = malloc((size_t)lda * n * sizeof(double));
	double *b = malloc((size_t)n * 7 * sizeof(double));
	double *rb = malloc((size_t)n * 7 * sizeof(double));
	double *x = malloc((size_t)n * sizeof(double));
	double *rx = malloc((size_t)n * sizeof(double));
	int i, j;

	assert_non_null(a);
	assert_non_null(ref);
	assert_non_null(ki);
	assert_non_null(b);
	assert_non_null(rb);
	assert_non_null(x);
	assert_non_null(rx);
	assert_int_equal(sw_blas_load(&err), 0);
	sw_rng_seed(&rng, 17, (uint64_t)n);
	random_spd(&rng, n, a, lda);
	memcpy(ref, a, (size_t)lda * n * sizeof(double));
	assert_int_equal(gpla_chol(n, a, lda), 0);
	assert_int_equal(sw_lapack_dpotrf('L', n, ref, lda), 0);
	for (j = 0; j < n; j++)
		for (i = j; i < n; i++)
			assert_close(a[i + (size_t)j * lda], ref[i + (size_t)j * lda]);

	/* solves: one right-hand side, seven (the four-at-a-time path and
	 * the rest), the transposed one and the full solve */
	for (i = 0; i < n * 7; i++)
		b[i] = rb[i] = sw_rng_double(&rng) - 0.5;
	gpla_solve_lower_many(n, 7, a, lda, b, n);
	sw_blas.cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans,
			    CblasNonUnit, n, 7, 1.0, ref, lda, rb, n);
	for (i = 0; i < n * 7; i++)
		assert_close(b[i], rb[i]);
	for (i = 0; i < n; i++)
		x[i] = rx[i] = sw_rng_double(&rng) - 0.5;
	gpla_solve_lower(n, a, lda, x);
	sw_blas.cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit,
			    n, ref, lda, rx, 1);
	for (i = 0; i < n; i++)
		assert_close(x[i], rx[i]);
	gpla_solve_lower_trans(n, a, lda, x);
	sw_blas.cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit,
			    n, ref, lda, rx, 1);
	for (i = 0; i < n; i++)
		assert_close(x[i], rx[i]);
	for (i = 0; i < n; i++)
		x[i] = rx[i] = sw_rng_double(&rng) - 0.5;
	gpla_chol_solve(n, a, lda, x);
	assert_int_equal(sw_lapack_dpotrs('L', n, 1, ref, lda, rx, n), 0);
	for (i = 0; i < n; i++)
		assert_close(x[i], rx[i]);
	assert_close(gpla_dot(n, x, rx), sw_blas.cblas_ddot(n, x, 1, rx, 1));

	/* the inverse's lower triangle */
	gpla_chol_inverse(n, a, lda, ki, lda);
	assert_int_equal(sw_lapack_dpotri('L', n, ref, lda), 0);
	for (j = 0; j < n; j++)
		for (i = j; i < n; i++)
			assert_close(ki[i + (size_t)j * lda], ref[i + (size_t)j * lda]);
	free(a);
	free(ref);
	free(ki);
	free(b);
	free(rb);
	free(x);
	free(rx);
}

static void test_against_lapack(void **state)
{
	(void)state;
	check_size(1, 1);
	check_size(6, 9);
	check_size(50, 50);
	check_size(203, 260);
	check_size(420, 430);   /* the OpenBLAS path of the factor and solve */
}

static void test_not_positive_definite(void **state)
{
	/* [[1, 2, 0], [2, 1, 0], [0, 0, 1]]: the second minor is -3 */
	double a[9] = { 1, 2, 0, NAN, 1, 0, NAN, NAN, 1 };
	double z[1] = { 0.0 };

	(void)state;
	assert_int_equal(gpla_chol(3, a, 3), 2);
	assert_int_equal(gpla_chol(1, z, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_lapack),
		cmocka_unit_test(test_not_positive_definite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
