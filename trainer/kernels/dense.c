/* dense.c - fully connected layer y = x w + b (Keras kernel layout (I,O)),
 * optional fused ReLU. The fast version splits rows of the batch (forward,
 * dx) and rows of the kernel (dw) across threads, so every output element is
 * written by one thread in a fixed order. See kernels.h. */
#include "trainer/kernels.h"

#include <omp.h>

void cnn_dense_forward_ref(float *y, const float *x, const float *w,
			   const float *b, int N, int I, int O, int relu)
{
	for (int n = 0; n < N; n++)
		for (int o = 0; o < O; o++) {
			double s = b[o];

			for (int i = 0; i < I; i++)
				s += (double)x[(size_t)n * I + i] * w[(size_t)i * O + o];
			y[(size_t)n * O + o] = relu && s < 0 ? 0.0f : (float)s;
		}
}

static void chunk(int n, int tid, int nt, int *lo, int *hi)
{
	*lo = (int)((long)n * tid / nt);
	*hi = (int)((long)n * (tid + 1) / nt);
}

void cnn_dense_forward(float *y, const float *x, const float *w,
		       const float *b, int N, int I, int O, int relu,
		       int nthreads)
{
#pragma omp parallel num_threads(nthreads)
	{
		int lo, hi;

		chunk(N, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
		if (hi > lo) {
			cnn_gemm(0, 0, hi - lo, O, I, 1.0f, x + (size_t)lo * I, I, w, O,
				 0.0f, y + (size_t)lo * O, O);
			for (int n = lo; n < hi; n++)
				for (int o = 0; o < O; o++) {
					float v = y[(size_t)n * O + o] + b[o];
					y[(size_t)n * O + o] = relu && v < 0 ? 0.0f : v;
				}
		}
	}
}

void cnn_dense_backward_ref(float *dx, float *dw, float *db, float *dy,
			    const float *y, const float *x, const float *w,
			    int N, int I, int O, int relu)
{
	for (size_t k = 0; k < (size_t)N * O; k++)
		if (relu && !(y[k] > 0))
			dy[k] = 0;
	for (int o = 0; o < O; o++)
		for (int n = 0; n < N; n++)
			db[o] += dy[(size_t)n * O + o];
	for (int i = 0; i < I; i++)
		for (int o = 0; o < O; o++) {
			double s = 0;

			for (int n = 0; n < N; n++)
				s += (double)x[(size_t)n * I + i] * dy[(size_t)n * O + o];
			dw[(size_t)i * O + o] += (float)s;
		}
	if (dx)
		for (int n = 0; n < N; n++)
			for (int i = 0; i < I; i++) {
				double s = 0;

				for (int o = 0; o < O; o++)
					s += (double)dy[(size_t)n * O + o] * w[(size_t)i * O + o];
				dx[(size_t)n * I + i] = (float)s;
			}
}

void cnn_dense_backward(float *dx, float *dw, float *db, float *dy,
			const float *y, const float *x, const float *w, int N,
			int I, int O, int relu, int nthreads)
{
#pragma omp parallel num_threads(nthreads)
	{
		int tid = omp_get_thread_num(), nt = omp_get_num_threads(), lo, hi;

		chunk(N, tid, nt, &lo, &hi);
		if (relu)
			for (size_t k = (size_t)lo * O; k < (size_t)hi * O; k++)
				if (!(y[k] > 0))
					dy[k] = 0;
#pragma omp barrier
		int olo, ohi;
		chunk(O, tid, nt, &olo, &ohi);
		for (int o = olo; o < ohi; o++) {
			float s = 0;

			for (int n = 0; n < N; n++)
				s += dy[(size_t)n * O + o];
			db[o] += s;
		}
		int ilo, ihi;
		chunk(I, tid, nt, &ilo, &ihi);
		if (ihi > ilo)
			cnn_gemm(1, 0, ihi - ilo, O, N, 1.0f, x + ilo, I, dy, O, 1.0f,
				 dw + (size_t)ilo * O, O);
		if (dx && hi > lo)
			cnn_gemm(0, 1, hi - lo, I, O, 1.0f, dy + (size_t)lo * O, O, w, O,
				 0.0f, dx + (size_t)lo * I, I);
	}
}
