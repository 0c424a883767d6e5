/* pool.c - 2x2 max pooling with stride 2 (Keras MaxPooling2D defaults),
 * reading its input through a pending per-channel affine. See kernels.h. */
#include "trainer/kernels.h"

#include <string.h>

// y (N,C,H/2,W/2), idx same shape, from x (N,C,H,W)
void cnn_maxpool_forward_ref(float *y, uint8_t *idx, const float *x,
			     const float *scale, const float *shift, int N,
			     int C, int H, int W)
{
	int OH = H / 2, OW = W / 2;

	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			for (int oh = 0; oh < OH; oh++)
				for (int ow = 0; ow < OW; ow++) {
					float best = 0;
					int arg = 0;

					for (int k = 0; k < 4; k++) {
						int ih = 2 * oh + k / 2, iw = 2 * ow + k % 2;
						float v = x[(((size_t)n * C + c) * H + ih) * W + iw];

						if (scale)
							v = v * scale[c] + shift[c];
						if (k == 0 || v > best) {
							best = v;
							arg = k;
						}
					}
					size_t o = (((size_t)n * C + c) * OH + oh) * OW + ow;
					y[o] = best;
					idx[o] = (uint8_t)arg;
				}
}

// one output row from two input rows, through the affine (s, t)
static inline __attribute__((always_inline)) void
pool_row(float *yp, uint8_t *ip, const float *r0, const float *r1, float s,
	 float t, int OW)
{
#pragma omp simd
	for (int ow = 0; ow < OW; ow++) {
		float v0 = r0[2 * ow] * s + t, v1 = r0[2 * ow + 1] * s + t;
		float v2 = r1[2 * ow] * s + t, v3 = r1[2 * ow + 1] * s + t;
		float best = v0;
		int arg = 0;

		if (v1 > best) { best = v1; arg = 1; }
		if (v2 > best) { best = v2; arg = 2; }
		if (v3 > best) { best = v3; arg = 3; }
		yp[ow] = best;
		ip[ow] = (uint8_t)arg;
	}
}

static inline __attribute__((always_inline)) void
pool_plane_body(float *yp, uint8_t *ip, const float *xp, float s, float t,
		int OH, int OW, int W)
{
	for (int oh = 0; oh < OH; oh++) {
		const float *r0 = xp + (size_t)(2 * oh) * W;

		pool_row(yp + (size_t)oh * OW, ip + (size_t)oh * OW, r0, r0 + W, s, t, OW);
	}
}

// one plane per dispatched call (not one per row), specialised for the
// 16- and 8-wide outputs of the default 32x32 model
CNN_SIMD_CLONES
static void pool_plane(float *yp, uint8_t *ip, const float *xp, float s,
		       float t, int OH, int OW, int W)
{
	if (OW == 16)
		pool_plane_body(yp, ip, xp, s, t, OH, 16, W);
	else if (OW == 8)
		pool_plane_body(yp, ip, xp, s, t, OH, 8, W);
	else
		pool_plane_body(yp, ip, xp, s, t, OH, OW, W);
}

void cnn_maxpool_forward(float *y, uint8_t *idx, const float *x,
			 const float *scale, const float *shift, int N, int C,
			 int H, int W, int nthreads)
{
	int OH = H / 2, OW = W / 2;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int nc = 0; nc < N * C; nc++) {
		int c = nc % C;
		float s = scale ? scale[c] : 1.0f, t = scale ? shift[c] : 0.0f;

		pool_plane(y + (size_t)nc * OH * OW, idx + (size_t)nc * OH * OW,
			   x + (size_t)nc * H * W, s, t, OH, OW, W);
	}
}

void cnn_maxpool_backward_ref(float *dx, const float *dy, const uint8_t *idx,
			      int N, int C, int H, int W)
{
	int OH = H / 2, OW = W / 2;

	memset(dx, 0, sizeof(float) * (size_t)N * C * H * W);
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			for (int oh = 0; oh < OH; oh++)
				for (int ow = 0; ow < OW; ow++) {
					size_t o = (((size_t)n * C + c) * OH + oh) * OW + ow;
					int k = idx[o];
					int ih = 2 * oh + k / 2, iw = 2 * ow + k % 2;

					dx[(((size_t)n * C + c) * H + ih) * W + iw] = dy[o];
				}
}

// one plane, even H and W: every 2x2 window written whole, no memset
static inline __attribute__((always_inline)) void
unpool_plane_body(float *xp, const float *yp, const uint8_t *ip, int OH, int OW,
		  int W)
{
	for (int oh = 0; oh < OH; oh++) {
		float *r0 = xp + (size_t)(2 * oh) * W, *r1 = r0 + W;
		const float *g = yp + (size_t)oh * OW;
		const uint8_t *k = ip + (size_t)oh * OW;

#pragma omp simd
		for (int ow = 0; ow < OW; ow++) {
			float v = g[ow];
			int a = k[ow];

			r0[2 * ow] = a == 0 ? v : 0.0f;
			r0[2 * ow + 1] = a == 1 ? v : 0.0f;
			r1[2 * ow] = a == 2 ? v : 0.0f;
			r1[2 * ow + 1] = a == 3 ? v : 0.0f;
		}
	}
}

// specialised for the 16- and 8-wide outputs of the default 32x32 model
CNN_SIMD_CLONES
static void unpool_plane(float *xp, const float *yp, const uint8_t *ip, int OH,
			 int OW, int W)
{
	if (OW == 16)
		unpool_plane_body(xp, yp, ip, OH, 16, W);
	else if (OW == 8)
		unpool_plane_body(xp, yp, ip, OH, 8, W);
	else
		unpool_plane_body(xp, yp, ip, OH, OW, W);
}

void cnn_maxpool_backward(float *dx, const float *dy, const uint8_t *idx,
			  int N, int C, int H, int W, int nthreads)
{
	int OH = H / 2, OW = W / 2;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int nc = 0; nc < N * C; nc++) {
		float *xp = dx + (size_t)nc * H * W;
		const float *yp = dy + (size_t)nc * OH * OW;
		const uint8_t *ip = idx + (size_t)nc * OH * OW;

		if (!(H & 1) && !(W & 1)) {
			unpool_plane(xp, yp, ip, OH, OW, W);
			continue;
		}
		memset(xp, 0, sizeof(float) * (size_t)H * W);
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				int k = ip[oh * OW + ow];

				xp[(size_t)(2 * oh + (k >> 1)) * W + 2 * ow + (k & 1)] =
					yp[oh * OW + ow];
			}
	}
}
