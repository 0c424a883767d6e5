/*
 * blas.h - OpenBLAS (BLAS and its LAPACKE), loaded on first use
 * (base/dl.h): the trainer's GEMM (trainer/kernels/gemm.c) and, from
 * 400 observations on, the bayes search's Gaussian process
 * (sweep/search/gp_linalg.c) call it through the pointers in sw_blas
 * (base/blas_api.h, which includes <cblas.h> and with it <complex.h>'s I
 * macro, so only those files include it). Loading OpenBLAS costs 2-3 ms
 * (its start-up probes the CPU and sets up buffers); commands that neither
 * train nor model 400 runs never pay it.
 *
 * The OpenMP build the Makefile compiles against is tried first
 * (SW_OPENBLAS_SO, from pkg-config), then whatever libopenblas.so.0 the
 * system's alternatives select.
 *
 * defines: sw_blas_load, sw_blas_need
 */
#ifndef SW_BLAS_H
#define SW_BLAS_H

#include "base/err.h"

/* Loads OpenBLAS once per process (thread-safe). Returns 0, or -1 with a
 * one-line error naming the library and the package to install. */
int sw_blas_load(struct sw_err *err);

/* For the trainer's kernels, which have no error path: sw_blas_load(), and
 * on failure the message on stderr and abort() (callers that can report an
 * error load it first: cnn_net_init does). */
void sw_blas_need(void);

#endif
