/* adam.c - the Adam optimizer as Keras implements it (epsilon added to
 * sqrt(v) with the bias correction folded into the step size). One flat loop
 * over the parameter slab. See kernels.h. */
#include "trainer/kernels.h"

#include <math.h>

void cnn_adam_ref(float *p, float *m, float *v, const float *g, size_t n,
		  float lr, float b1, float b2, float eps, float wd, long t)
{
	double alpha = lr * sqrt(1.0 - pow(b2, (double)t)) / (1.0 - pow(b1, (double)t));

	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i];

		m[i] = b1 * m[i] + (1.0f - b1) * gi;
		v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
		p[i] -= (float)alpha * m[i] / (sqrtf(v[i]) + eps);
	}
}

void cnn_adam(float *p, float *m, float *v, const float *g, size_t n,
	      float lr, float b1, float b2, float eps, float wd, long t,
	      int nthreads)
{
	float alpha = (float)(lr * sqrt(1.0 - pow(b2, (double)t)) /
			      (1.0 - pow(b1, (double)t)));

#pragma omp parallel for simd num_threads(nthreads) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i];

		m[i] = b1 * m[i] + (1.0f - b1) * gi;
		v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
		p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
	}
}
