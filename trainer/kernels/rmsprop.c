/* rmsprop.c - RMSprop as Keras (rho, epsilon outside the square root,
 * optional momentum). See kernels.h. */
#include "trainer/kernels.h"

#include <math.h>

void cnn_rmsprop_ref(float *p, float *v, float *vel, const float *g, size_t n,
		     float lr, float rho, float mom, float eps, float wd)
{
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i], step;

		v[i] = rho * v[i] + (1.0f - rho) * gi * gi;
		step = lr * gi / (sqrtf(v[i]) + eps);
		if (mom > 0) {
			vel[i] = mom * vel[i] + step;
			p[i] -= vel[i];
		} else {
			p[i] -= step;
		}
	}
}

void cnn_rmsprop(float *p, float *v, float *vel, const float *g, size_t n,
		 float lr, float rho, float mom, float eps, float wd,
		 int nthreads)
{
#pragma omp parallel for simd num_threads(nthreads) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float gi = g[i] + wd * p[i], step;

		v[i] = rho * v[i] + (1.0f - rho) * gi * gi;
		step = lr * gi / (sqrtf(v[i]) + eps);
		if (mom > 0) {
			vel[i] = mom * vel[i] + step;
			p[i] -= vel[i];
		} else {
			p[i] -= step;
		}
	}
}
