/* act.c - ReLU, forward and backward. The convolutions and the hidden dense
 * layer fuse it; these stand-alone versions serve other layer orders and the
 * tests. See kernels.h. */
#include "trainer/kernels.h"

void cnn_relu_forward_ref(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0;
}

void cnn_relu_forward(float *y, const float *x, size_t n, int nthreads)
{
#pragma omp parallel for simd num_threads(nthreads) schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0;
}

void cnn_relu_backward_ref(float *dx, const float *dy, const float *y,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = y[i] > 0 ? dy[i] : 0;
}

void cnn_relu_backward(float *dx, const float *dy, const float *y, size_t n,
		       int nthreads)
{
#pragma omp parallel for simd num_threads(nthreads) schedule(static)
	for (size_t i = 0; i < n; i++)
		dx[i] = y[i] > 0 ? dy[i] : 0;
}
