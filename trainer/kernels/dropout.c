/* dropout.c - inverted dropout (Keras): kept values are scaled by 1/(1-rate)
 * in training so evaluation is the identity. Masks come from one PCG32 stream
 * per image, derived from the step's seed. See kernels.h. */
#include "trainer/kernels.h"

#include "base/rng.h"

// sw_rng_u32 inlined (the same PCG32 step): the mask is the hot loop
static inline uint32_t pcg_next(uint64_t *state, uint64_t inc)
{
	uint64_t old = *state;
	uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
	uint32_t rot = (uint32_t)(old >> 59);

	*state = old * 6364136223846793005ULL + inc;
	return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

// each 32-bit draw decides two elements, 16 bits each: keep when the
// half-word >= rate * 65536 (the rate is rounded to a multiple of 1/65536)
void cnn_dropout_mask(uint8_t *mask, uint64_t seed, float rate, int N, int D,
		      int nthreads)
{
	double t = (double)rate * 65536.0 + 0.5;
	uint32_t thresh = t > 65536.0 ? 65536u : (uint32_t)t;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int n = 0; n < N; n++) {
		struct sw_rng r;
		uint8_t *m = mask + (size_t)n * D;
		int i = 0;

		sw_rng_seed(&r, seed, (uint64_t)n);
		uint64_t st = r.state;
		for (; i + 2 <= D; i += 2) {
			uint32_t u = pcg_next(&st, r.inc);

			m[i] = (u & 0xffffu) >= thresh;
			m[i + 1] = (u >> 16) >= thresh;
		}
		if (i < D)
			m[i] = (pcg_next(&st, r.inc) & 0xffffu) >= thresh;
	}
}

// y (N,C*HW) = affine(x) * mask / (1-rate)
void cnn_dropout_forward_ref(float *y, const float *x, const float *scale,
			     const float *shift, const uint8_t *mask,
			     float rate, int N, int C, int HW)
{
	float keep = 1.0f / (1.0f - rate);

	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			for (int i = 0; i < HW; i++) {
				size_t k = ((size_t)n * C + c) * HW + i;
				float v = x[k];

				if (scale)
					v = v * scale[c] + shift[c];
				y[k] = mask[k] ? v * keep : 0.0f;
			}
}

CNN_SIMD_CLONES
static void dropout_plane(float *yp, const float *xp, const uint8_t *mp,
			  float s, float t, int HW)
{
#pragma omp simd
	for (int i = 0; i < HW; i++)
		yp[i] = mp[i] ? xp[i] * s + t : 0.0f;
}

void cnn_dropout_forward(float *y, const float *x, const float *scale,
			 const float *shift, const uint8_t *mask, float rate,
			 int N, int C, int HW, int nthreads)
{
	float keep = 1.0f / (1.0f - rate);

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int nc = 0; nc < N * C; nc++) {
		int c = nc % C;
		float s = scale ? scale[c] * keep : keep;
		float t = scale ? shift[c] * keep : 0.0f;

		dropout_plane(y + (size_t)nc * HW, x + (size_t)nc * HW,
			      mask + (size_t)nc * HW, s, t, HW);
	}
}

void cnn_dropout_backward_ref(float *dx, const float *dy, const uint8_t *mask,
			      float rate, size_t n)
{
	float keep = 1.0f / (1.0f - rate);

	for (size_t i = 0; i < n; i++)
		dx[i] = mask[i] ? dy[i] * keep : 0.0f;
}

CNN_SIMD_CLONES
static void dropout_back_range(float *dx, const float *dy, const uint8_t *mask,
			       float keep, size_t lo, size_t hi)
{
#pragma omp simd
	for (size_t i = lo; i < hi; i++)
		dx[i] = mask[i] ? dy[i] * keep : 0.0f;
}

void cnn_dropout_backward(float *dx, const float *dy, const uint8_t *mask,
			  float rate, size_t n, int nthreads)
{
	float keep = 1.0f / (1.0f - rate);
	size_t blk = 16384, nb = (n + blk - 1) / blk;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (size_t b = 0; b < nb; b++)
		dropout_back_range(dx, dy, mask, keep, b * blk,
				   (b + 1) * blk < n ? (b + 1) * blk : n);
}
