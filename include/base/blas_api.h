/*
 * blas_api.h - the OpenBLAS functions sweep calls, as pointers filled by
 * sw_blas_load() (base/blas.h). Include it only where BLAS is called:
 * <cblas.h> brings <complex.h>, whose I macro clashes with ordinary names.
 *
 * defines: struct sw_blas_api, sw_blas, sw_lapack_dpotrf, sw_lapack_dpotri,
 *          sw_lapack_dpotrs
 */
#ifndef SW_BLAS_API_H
#define SW_BLAS_API_H

#include "base/blas.h"

#include <cblas.h>
#include <stddef.h>

struct sw_blas_api {
	__typeof__(cblas_sgemm) *cblas_sgemm;
	__typeof__(cblas_dgemv) *cblas_dgemv;
	__typeof__(cblas_dsyrk) *cblas_dsyrk;
	__typeof__(cblas_ddot) *cblas_ddot;
	__typeof__(cblas_dtrsm) *cblas_dtrsm;
	__typeof__(cblas_dtrsv) *cblas_dtrsv;
	/* LAPACK's Fortran routines (in libopenblas itself; liblapacke and
	 * the reference liblapack it drags in are not loaded): arguments by
	 * address, then gfortran's hidden length of each character argument */
	void (*dpotrf_)(const char *uplo, const int *n, double *a, const int *lda,
			int *info, size_t uplo_len);
	void (*dpotri_)(const char *uplo, const int *n, double *a, const int *lda,
			int *info, size_t uplo_len);
	void (*dpotrs_)(const char *uplo, const int *n, const int *nrhs,
			const double *a, const int *lda, double *b, const int *ldb,
			int *info, size_t uplo_len);
	__typeof__(openblas_get_num_threads) *openblas_get_num_threads;
	__typeof__(openblas_set_num_threads) *openblas_set_num_threads;
};

/* Filled by sw_blas_load(); read-only afterwards. */
extern struct sw_blas_api sw_blas;

/* Column-major Cholesky factor, inverse from it, and solve (LAPACK dpotrf,
 * dpotri, dpotrs; what LAPACKE_*_work do for LAPACK_COL_MAJOR). Return
 * LAPACK's info: 0 ok, > 0 not positive definite, < 0 a bad argument. */
int sw_lapack_dpotrf(char uplo, int n, double *a, int lda);
int sw_lapack_dpotri(char uplo, int n, double *a, int lda);
int sw_lapack_dpotrs(char uplo, int n, int nrhs, const double *a, int lda,
		     double *b, int ldb);

#endif
