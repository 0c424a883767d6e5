/* softmax.c - softmax with cross-entropy over logits (N,K), the loss of the
 * network. See kernels.h. */
#include "trainer/kernels.h"

#include <math.h>

double cnn_softmax_xent_ref(float *dlogits, int *correct, const float *logits,
			    const uint8_t *labels, int N, int K,
			    float grad_scale)
{
	double loss = 0;
	int ok = 0;

	for (int n = 0; n < N; n++) {
		const float *z = logits + (size_t)n * K;
		double mx = z[0], sum = 0;
		int arg = 0;

		for (int k = 1; k < K; k++)
			if (z[k] > mx) {
				mx = z[k];
				arg = k;
			}
		for (int k = 0; k < K; k++)
			sum += exp(z[k] - mx);
		loss += log(sum) - (z[labels[n]] - mx);
		ok += arg == labels[n];
		if (dlogits)
			for (int k = 0; k < K; k++)
				dlogits[(size_t)n * K + k] = (float)(
					(exp(z[k] - mx) / sum - (k == labels[n])) * grad_scale);
	}
	if (correct)
		*correct = ok;
	return loss;
}

double cnn_softmax_xent(float *dlogits, int *correct, const float *logits,
			const uint8_t *labels, int N, int K, float grad_scale,
			int nthreads)
{
	double loss = 0;
	int ok = 0;

	(void)nthreads;
	for (int n = 0; n < N; n++) {
		const float *z = logits + (size_t)n * K;
		float mx = z[0], sum = 0;
		int arg = 0;

		for (int k = 1; k < K; k++)
			if (z[k] > mx) {
				mx = z[k];
				arg = k;
			}
		for (int k = 0; k < K; k++)
			sum += expf(z[k] - mx);
		loss += (double)logf(sum) - (z[labels[n]] - mx);
		ok += arg == labels[n];
		if (dlogits) {
			float inv = 1.0f / sum;

			for (int k = 0; k < K; k++)
				dlogits[(size_t)n * K + k] =
					(expf(z[k] - mx) * inv - (k == labels[n])) * grad_scale;
		}
	}
	if (correct)
		*correct = ok;
	return loss;
}
