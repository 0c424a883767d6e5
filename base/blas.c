/* blas.c - OpenBLAS loaded on first use; see include/base/blas.h */
#include "base/blas_api.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/dl.h"

#ifndef SW_OPENBLAS_SO
#define SW_OPENBLAS_SO "libopenblas.so.0"
#endif

struct sw_blas_api sw_blas;

#define SYM(f) { #f, (void **)&sw_blas.f }
static const struct sw_dl_sym syms[] = {
	SYM(cblas_sgemm), SYM(cblas_dgemv), SYM(cblas_dsyrk),
	SYM(cblas_ddot), SYM(cblas_dtrsm), SYM(cblas_dtrsv),
	SYM(dpotrf_), SYM(dpotri_), SYM(dpotrs_), SYM(openblas_get_num_threads),
	SYM(openblas_set_num_threads),
	{ NULL, NULL },
};
#undef SYM

static const char *const sonames[] = { SW_OPENBLAS_SO, "libopenblas.so.0", NULL };
static struct sw_dl_lib lib =
	SW_DL_LIB("OpenBLAS", sonames, "libopenblas0-openmp", syms);

int sw_blas_load(struct sw_err *err)
{
	return sw_dl_load(&lib, err);
}

void sw_blas_need(void)
{
	struct sw_err err = SW_ERR_INIT;

	if (sw_dl_load(&lib, &err) < 0) {
		fprintf(stderr, "sweep: error: %s\n", err.msg);
		abort();
	}
}

int sw_lapack_dpotrf(char uplo, int n, double *a, int lda)
{
	int info = 0;

	sw_blas.dpotrf_(&uplo, &n, a, &lda, &info, 1);
	return info;
}

int sw_lapack_dpotri(char uplo, int n, double *a, int lda)
{
	int info = 0;

	sw_blas.dpotri_(&uplo, &n, a, &lda, &info, 1);
	return info;
}

int sw_lapack_dpotrs(char uplo, int n, int nrhs, const double *a, int lda,
		     double *b, int ldb)
{
	int info = 0;

	sw_blas.dpotrs_(&uplo, &n, &nrhs, a, &lda, b, &ldb, &info, 1);
	return info;
}
