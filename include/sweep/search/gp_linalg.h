/*
 * gp_linalg.h - the dense linear algebra of the bayes search's Gaussian
 * process (sweep/search/search_bayes.c): Cholesky factor, solves and
 * inverse of a symmetric positive definite matrix, in plain loops.
 *
 * Why not OpenBLAS: the matrices are small (a 50 x 50 hyperparameter fit,
 * at most NMAX observations, 6-D points), where a call's overhead and the
 * 2 ms of loading OpenBLAS (base/blas.h) cost more than the arithmetic; a
 * `sweep suggest` process now loads no BLAS at all. tests/test_gp_linalg.c
 * checks every routine against OpenBLAS's LAPACK/CBLAS.
 *
 * Matrices are column-major with a leading dimension; only the lower
 * triangle of a symmetric matrix or a factor is read or written.
 *
 * defines: gpla_chol, gpla_chol_solve, gpla_chol_inverse, gpla_solve_lower,
 * gpla_solve_lower_many, gpla_solve_lower_trans, gpla_dot
 */
#ifndef SW_GP_LINALG_H
#define SW_GP_LINALG_H

/* A = L L^T in place (lower triangle, as LAPACK's dpotrf 'L'). Returns 0,
 * or k > 0 when the leading minor of order k is not positive definite. */
int gpla_chol(int n, double *a, int lda);

/* b := A^-1 b for A = L L^T (L from gpla_chol). */
void gpla_chol_solve(int n, const double *l, int ldl, double *b);

/* The lower triangle of A^-1 into ki (leading dimension ldk) from the
 * factor L (as dpotri 'L', but out of place; ki must not alias l). */
void gpla_chol_inverse(int n, const double *l, int ldl, double *ki, int ldk);

/* x := L^-1 x (forward substitution). */
void gpla_solve_lower(int n, const double *l, int ldl, double *x);

/* B := L^-1 B for the nrhs columns of B (n x nrhs, leading dimension ldb). */
void gpla_solve_lower_many(int n, int nrhs, const double *l, int ldl,
			   double *b, int ldb);

/* x := L^-T x (back substitution). */
void gpla_solve_lower_trans(int n, const double *l, int ldl, double *x);

/* sum_i x_i y_i */
double gpla_dot(int n, const double *x, const double *y);

#endif
