/* gp_linalg.c - small dense Cholesky kernels for the Gaussian process; see
 * include/sweep/search/gp_linalg.h. The loops run down columns (contiguous
 * in column-major storage) so that the compiler vectorises them. */
#include "sweep/search/gp_linalg.h"

#include <math.h>
#include <stddef.h>

#include "base/blas_api.h"

#define AT(m, ld, i, j) ((m)[(i) + (size_t)(j) * (ld)])

/* Each loop function is compiled twice, for AVX2 and for any x86-64, and
 * the loader picks one for the CPU. The Makefile builds this file with
 * -ffp-contract=off and the sums' order is written out, so both give the
 * same bits: a seed's suggestions do not depend on the CPU. gcc only:
 * clang 14 refuses clones of a function already called in the file (the
 * libFuzzer build uses clang). */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* From this order on the factor and the triangular solves go to
 * OpenBLAS when it loads (its blocked kernels: 1,000 observations took
 * 70 ms in plain loops, 52 ms with it); below, loading it costs more than
 * it saves. */
#define GPLA_BLAS_MIN 400

/* OpenBLAS loaded, and its thread count set to one (the matrices are too
 * small to wake a team for, and results then do not depend on the
 * machine's cores); returns the caller's count for blas_end, or 0 when
 * OpenBLAS is not there (the plain loops then serve). */
static int blas_begin(void)
{
	struct sw_err err = SW_ERR_INIT;
	int threads;

	if (sw_blas_load(&err) < 0)
		return 0;
	threads = sw_blas.openblas_get_num_threads();
	sw_blas.openblas_set_num_threads(1);
	return threads > 0 ? threads : 1;
}

static void blas_end(int threads)
{
	sw_blas.openblas_set_num_threads(threads);
}

/* left-looking: column j gets the updates of columns 0..j-1, then scaled */
VECTOR_CLONES
int gpla_chol(int n, double *a, int lda)
{
	int i, j, k, threads;

	if (n >= GPLA_BLAS_MIN && (threads = blas_begin()) > 0) {
		int info = sw_lapack_dpotrf('L', n, a, lda);

		blas_end(threads);
		return info;
	}

	for (j = 0; j < n; j++) {
		double *cj = &AT(a, lda, 0, j), piv;

		for (k = 0; k < j; k++) {
			const double *ck = &AT(a, lda, 0, k);
			double f = ck[j];

			for (i = j; i < n; i++)
				cj[i] -= f * ck[i];
		}
		piv = cj[j];
		if (!(piv > 0.0))
			return j + 1;
		piv = sqrt(piv);
		cj[j] = piv;
		piv = 1.0 / piv;
		for (i = j + 1; i < n; i++)
			cj[i] *= piv;
	}
	return 0;
}

VECTOR_CLONES
void gpla_solve_lower(int n, const double *l, int ldl, double *x)
{
	int i, k, threads;

	if (n >= GPLA_BLAS_MIN && (threads = blas_begin()) > 0) {
		sw_blas.cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans,
				    CblasNonUnit, n, l, ldl, x, 1);
		blas_end(threads);
		return;
	}

	for (k = 0; k < n; k++) {
		const double *ck = &AT(l, ldl, 0, k);
		double xk = x[k] / ck[k];

		x[k] = xk;
		for (i = k + 1; i < n; i++)
			x[i] -= xk * ck[i];
	}
}

/* four right-hand sides at a time: each column of L is read once for
 * four, the cost of this routine being memory traffic */
VECTOR_CLONES
void gpla_solve_lower_many(int n, int nrhs, const double *l, int ldl,
			   double *b, int ldb)
{
	int i, j, k, threads;

	if (n >= GPLA_BLAS_MIN && (threads = blas_begin()) > 0) {
		sw_blas.cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans,
				    CblasNonUnit, n, nrhs, 1.0, l, ldl, b, ldb);
		blas_end(threads);
		return;
	}
	for (j = 0; j + 4 <= nrhs; j += 4) {
		double *restrict x0 = b + (size_t)j * ldb, *restrict x1 = x0 + ldb;
		double *restrict x2 = x1 + ldb, *restrict x3 = x2 + ldb;

		for (k = 0; k < n; k++) {
			const double *restrict ck = &AT(l, ldl, 0, k);
			double y0 = x0[k] / ck[k], y1 = x1[k] / ck[k];
			double y2 = x2[k] / ck[k], y3 = x3[k] / ck[k];

			x0[k] = y0;
			x1[k] = y1;
			x2[k] = y2;
			x3[k] = y3;
			for (i = k + 1; i < n; i++) {
				double c = ck[i];

				x0[i] -= y0 * c;
				x1[i] -= y1 * c;
				x2[i] -= y2 * c;
				x3[i] -= y3 * c;
			}
		}
	}
	for (; j < nrhs; j++)
		gpla_solve_lower(n, l, ldl, b + (size_t)j * ldb);
}

VECTOR_CLONES
void gpla_solve_lower_trans(int n, const double *l, int ldl, double *x)
{
	int k, threads;

	if (n >= GPLA_BLAS_MIN && (threads = blas_begin()) > 0) {
		sw_blas.cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans,
				    CblasNonUnit, n, l, ldl, x, 1);
		blas_end(threads);
		return;
	}

	for (k = n - 1; k >= 0; k--) {
		const double *ck = &AT(l, ldl, 0, k);

		x[k] = (x[k] - gpla_dot(n - k - 1, ck + k + 1, x + k + 1)) / ck[k];
	}
}

void gpla_chol_solve(int n, const double *l, int ldl, double *b)
{
	gpla_solve_lower(n, l, ldl, b);
	gpla_solve_lower_trans(n, l, ldl, b);
}

/* A^-1 = L^-T L^-1: M = L^-1 (lower triangular) into the lower triangle
 * of ki by forward substitution on the unit vectors, then in place
 * (A^-1)_ab = sum_{k>=a} M_ka M_kb for a >= b. Column b of M is last read
 * as the left factor by the entries (b, b') with b' < b, done before it,
 * and (a, b) is overwritten after the entries above it, the only ones of
 * its column that read row a. */
VECTOR_CLONES
void gpla_chol_inverse(int n, const double *l, int ldl, double *ki, int ldk)
{
	int a, b, k;

	for (b = 0; b < n; b++) {
		double *mb = &AT(ki, ldk, 0, b);

		for (a = b; a < n; a++)
			mb[a] = 0.0;
		mb[b] = 1.0;
		/* forward substitution from row b: rows above b are zero */
		for (k = b; k < n; k++) {
			const double *ck = &AT(l, ldl, 0, k);
			double xk = mb[k] / ck[k];

			mb[k] = xk;
			for (a = k + 1; a < n; a++)
				mb[a] -= xk * ck[a];
		}
	}
	for (b = 0; b < n; b++) {
		for (a = b; a < n; a++) {
			const double *ma = &AT(ki, ldk, 0, a), *mb = &AT(ki, ldk, 0, b);

			AT(ki, ldk, a, b) = gpla_dot(n - a, ma + a, mb + a);
		}
	}
}

/* four partial sums: a single one waits on each addition's latency (the
 * compiler may not reorder floating-point sums itself); the order is fixed,
 * so the result is the same on every machine */
VECTOR_CLONES
double gpla_dot(int n, const double *x, const double *y)
{
	double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
	int i;

	for (i = 0; i + 4 <= n; i += 4) {
		s0 += x[i] * y[i];
		s1 += x[i + 1] * y[i + 1];
		s2 += x[i + 2] * y[i + 2];
		s3 += x[i + 3] * y[i + 3];
	}
	for (; i < n; i++)
		s0 += x[i] * y[i];
	return (s0 + s2) + (s1 + s3);
}
