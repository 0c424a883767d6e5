/* sgd.c - stochastic gradient descent with optional (Nesterov) momentum and
 * L2 weight decay, as Keras's SGD. See kernels.h. */
#include "trainer/kernels.h"

void cnn_sgd_ref(float *p, float *vel, const float *g, size_t n, float lr,
		 float mom, int nesterov, float wd)
{
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i];

		vel[i] = mom * vel[i] - lr * gi;
		p[i] += nesterov ? mom * vel[i] - lr * gi : vel[i];
	}
}

void cnn_sgd(float *p, float *vel, const float *g, size_t n, float lr,
	     float mom, int nesterov, float wd, int nthreads)
{
#pragma omp parallel for simd num_threads(nthreads) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i];

		vel[i] = mom * vel[i] - lr * gi;
		p[i] += nesterov ? mom * vel[i] - lr * gi : vel[i];
	}
}
