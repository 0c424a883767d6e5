/* conv_nhwc.c - the convolutions of the evaluation pass, channels last: each
 * image is (H,W,C), so every transform and epilogue loop runs over
 * contiguous channels in full-width vectors (the channels-first Winograd of
 * winograd.c vectorises over the 4 or 8 tiles of a row). The BatchNorm with
 * moving statistics, the ReLU and the 2x2 max-pool that follow a conv are
 * applied in its epilogue, so their outputs are never stored apart.
 *
 * The Winograd path reads zero-bordered inputs, so its tiles need no edge
 * cases; per transformed position the product is (tiles, C) x (C, M) in
 * cnn_gemm_nopack, each output summing its C products in channel order as
 * winograd.c's (M, C) x (C, tiles) does. See kernels.h. */
#include "trainer/kernels.h"

#include <string.h>

#include "winograd_tf.h"

#define NT CNN_WINOGRAD_TILE

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

int cnn_nhwc_pad(int H)
{
	return 4 * ((H + 3) / 4) + 2;
}

/* ==== The epilogue ==== */

// v = relu?(acc + b) * s + t (affine only when aff), as both fast kernels
// and the reference apply it
static inline float epi(float acc, float b, float s, float t, int relu, int aff)
{
	float v = acc + b, r = v > 0 ? v : 0, a;

	v = relu ? r : v;
	a = v * s + t;
	return aff ? a : v;
}

static inline float max4(float v0, float v1, float v2, float v3)
{
	float best = v0;

	best = v1 > best ? v1 : best;
	best = v2 > best ? v2 : best;
	return v3 > best ? v3 : best;
}

/* ==== Reference ==== */

void cnn_conv_nhwc_ref(float *y, size_t ys, size_t yrow, const float *x,
		       const float *w, const struct cnn_conv_epilogue *ep, int N,
		       int C, int H, int W, int M)
{
	int aff = ep->scale != NULL, OH = ep->pool ? H / 2 : H, OW = ep->pool ? W / 2 : W;

	for (int n = 0; n < N; n++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++)
				for (int m = 0; m < M; m++) {
					float v[4];
					int np = ep->pool ? 4 : 1;

					for (int k = 0; k < np; k++) {
						int h = ep->pool ? 2 * oh + k / 2 : oh;
						int ww = ep->pool ? 2 * ow + k % 2 : ow;
						double sum = 0;

						for (int c = 0; c < C; c++)
							for (int ki = 0; ki < 3; ki++)
								for (int kj = 0; kj < 3; kj++) {
									int ih = h - 1 + ki, iw = ww - 1 + kj;

									if (ih < 0 || ih >= H || iw < 0 || iw >= W)
										continue;
									sum += (double)x[(((size_t)n * C + c) * H + ih) * W + iw] *
									       w[((m * C + c) * 3 + ki) * 3 + kj];
								}
						v[k] = epi((float)sum, ep->b[m], aff ? ep->scale[m] : 1,
							   aff ? ep->shift[m] : 0, ep->relu, aff);
					}
					y[n * ys + (size_t)oh * yrow + (size_t)ow * M + m] =
						ep->pool ? max4(v[0], v[1], v[2], v[3]) : v[0];
				}
}

/* ==== First layer: direct, three GEMMs per output row ==== */

// wt ((ki,kj,c), M) from w (M,C,3,3): the order of a patch's values in
// a channels-last image
void cnn_conv_nhwc_direct_weights(float *wt, const float *w, int M, int C)
{
	for (int m = 0; m < M; m++)
		for (int c = 0; c < C; c++)
			for (int k = 0; k < 9; k++)
				wt[((size_t)k * C + c) * M + m] = w[((size_t)m * C + c) * 9 + k];
}

size_t cnn_conv_nhwc_direct_ws_floats(int C, int H, int W)
{
	return round16((size_t)(H + 2) * (W + 2) * C);
}

// xp ((H+2), (W+2), C) = x (C,H,W) channels last inside a border of zeros
static void pad_nhwc(float *xp, const float *x, int C, int H, int W)
{
	int PW = W + 2;

	memset(xp, 0, sizeof(float) * (size_t)(H + 2) * PW * C);
	for (int c = 0; c < C; c++)
		for (int h = 0; h < H; h++)
			for (int w = 0; w < W; w++)
				xp[((size_t)(h + 1) * PW + w + 1) * C + c] =
					x[((size_t)c * H + h) * W + w];
}

// one output row (W pixels of M channels, in place) through the epilogue
CNN_SIMD_CLONES
static void epilogue_row(float *yr, const float *b, const float *s,
			 const float *t, int relu, int aff, int W, int M)
{
	for (int w = 0; w < W; w++) {
		float *p = yr + (size_t)w * M;

#pragma omp simd
		for (int m = 0; m < M; m++)
			p[m] = epi(p[m], b[m], s[m], t[m], relu, aff);
	}
}

void cnn_conv_nhwc_direct(float *y, size_t ys, size_t yrow, float *ws,
			  const float *x, const float *wt,
			  const struct cnn_conv_epilogue *ep, int N, int C, int H,
			  int W, int M)
{
	int aff = ep->scale != NULL;
	const float *s = aff ? ep->scale : ep->b, *t = aff ? ep->shift : ep->b;

	/* the patch rows of pixel w in input row h+ki are the 3*C values
	 * from xp[h+ki][w]: the rows of a (W, 3*C) matrix C floats apart.
	 * Three products per output row, the second and third accumulating,
	 * sum each output's 9*C terms in one chain ((ki,kj,c) order), as
	 * one product over an im2col would. */
	for (int n = 0; n < N; n++) {
		pad_nhwc(ws, x + (size_t)n * C * H * W, C, H, W);
		for (int h = 0; h < H; h++) {
			float *yr = y + n * ys + (size_t)h * yrow;

			for (int ki = 0; ki < 3; ki++)
				cnn_gemm_nopack(W, M, 3 * C, ws + (size_t)(h + ki) * (W + 2) * C, C,
						wt + (size_t)ki * 3 * C * M, M, ki ? 1.0f : 0.0f, yr,
						M);
			epilogue_row(yr, ep->b, s, t, ep->relu, aff, W, M);
		}
	}
}

/* ==== Winograd F(4x4,3x3) ==== */

void cnn_wino_nhwc_weights(float *UT, float *tmp, const float *w, int M, int C)
{
	cnn_winograd_weights(tmp, w, M, C, 0);          /* (36, M, C) */
	for (int k = 0; k < NT; k++)
		for (int m = 0; m < M; m++)
			for (int c = 0; c < C; c++)
				UT[((size_t)k * C + c) * M + m] = tmp[((size_t)k * M + m) * C + c];
}

// tiles per GEMM group: the 36 planes of transformed inputs (g, C) and of
// products (g, M) together about 600 KB, so that they stay in the 1 MB L2
// between the transform and the product
int cnn_wino_nhwc_group(int C, int M)
{
	int g = (int)(600000 / ((size_t)NT * 4 * (C + M))) / 8 * 8;

	return g < 8 ? 8 : g > 256 ? 256 : g;
}

// floats between two of the 36 planes: not a multiple of 4 KB, so that the
// 36 streams of a transform do not fight over the same cache sets
static size_t plane(int g, int C)
{
	return round16((size_t)g * C) + 16;
}

size_t cnn_wino_nhwc_ws_floats(int C, int M)
{
	int g = cnn_wino_nhwc_group(C, M);

	return NT * plane(g, C) + NT * plane(g, M) + round16((size_t)16 * M);
}

// V (36 planes of pv floats, each (ng, C)) = B^T d B of the tiles g0..
// g0+ng-1 of the padded images xp (tile index n*T + th*TW + tw)
CNN_SIMD_CLONES
static void input_group(float *V, size_t pv, const float *xp, size_t xs,
			size_t prow, int C, int TW, int T, int g0, int ng)
{
	for (int i = 0; i < ng; i++) {
		int g = g0 + i, n = g / T, th = g % T / TW, tw = g % T % TW;
		const float *p = xp + n * xs + (size_t)4 * th * prow + (size_t)4 * tw * C;
		float *v = V + (size_t)i * C;

#pragma omp simd
		for (int c = 0; c < C; c++) {
			float h[6][6];

			/* B^T along each row (the columns of the tile) */
#pragma GCC unroll 6
			for (int r = 0; r < 6; r++) {
				const float *q = p + (size_t)r * prow + c;

				WTF_BT6(h[r][0], h[r][1], h[r][2], h[r][3], h[r][4], h[r][5],
					q[0], q[C], q[2 * C], q[3 * C], q[4 * C], q[5 * C]);
			}
			/* then B^T down each column */
#pragma GCC unroll 6
			for (int k = 0; k < 6; k++) {
				float o0, o1, o2, o3, o4, o5;

				WTF_BT6(o0, o1, o2, o3, o4, o5, h[0][k], h[1][k], h[2][k],
					h[3][k], h[4][k], h[5][k]);
				v[(0 * 6 + k) * pv + c] = o0;
				v[(1 * 6 + k) * pv + c] = o1;
				v[(2 * 6 + k) * pv + c] = o2;
				v[(3 * 6 + k) * pv + c] = o3;
				v[(4 * 6 + k) * pv + c] = o4;
				v[(5 * 6 + k) * pv + c] = o5;
			}
		}
	}
}

// one tile: the 36 product planes at m (pm apart) -> A^T m A (4x4), the
// epilogue, and with pool the 2x2 maxima, written to dst (rows drow apart,
// pixels M apart; 4x4 or 2x2 pixels)
static inline __attribute__((always_inline)) void
output_tile(float *dst, size_t drow, const float *mo, size_t pm,
	    const float *b, const float *s, const float *t, int relu, int aff,
	    int pool, int M)
{
#pragma omp simd
	for (int m = 0; m < M; m++) {
		float sv[4][6], o[4][4];

		/* A^T down each column, then along each row */
#pragma GCC unroll 6
		for (int k = 0; k < 6; k++)
			WTF_AT6(sv[0][k], sv[1][k], sv[2][k], sv[3][k], mo[k * pm + m],
				mo[(6 + k) * pm + m], mo[(12 + k) * pm + m],
				mo[(18 + k) * pm + m], mo[(24 + k) * pm + m],
				mo[(30 + k) * pm + m]);
#pragma GCC unroll 4
		for (int q = 0; q < 4; q++) {
			WTF_AT6(o[q][0], o[q][1], o[q][2], o[q][3], sv[q][0], sv[q][1],
				sv[q][2], sv[q][3], sv[q][4], sv[q][5]);
#pragma GCC unroll 4
			for (int p = 0; p < 4; p++)
				o[q][p] = epi(o[q][p], b[m], s[m], t[m], relu, aff);
		}
		if (pool) {     /* a constant where output_group calls it */
#pragma GCC unroll 2
			for (int a = 0; a < 2; a++)
#pragma GCC unroll 2
				for (int c = 0; c < 2; c++)
					dst[a * drow + (size_t)c * M + m] =
						max4(o[2 * a][2 * c], o[2 * a][2 * c + 1],
						     o[2 * a + 1][2 * c], o[2 * a + 1][2 * c + 1]);
		} else {
#pragma GCC unroll 4
			for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
				for (int p = 0; p < 4; p++)
					dst[q * drow + (size_t)p * M + m] = o[q][p];
		}
	}
}

// the products Mo (36 planes of pm floats, each (ng, M)) of tiles g0..
// through output_tile into y; a tile reaching past the image (sides not a
// multiple of 4) goes through the scratch tile tmp (16*M floats) and only
// its pixels inside are copied
CNN_SIMD_CLONES
static void output_group(float *y, size_t ys, size_t yrow, float *tmp,
			 const float *Mo, size_t pm, const float *b, const float *s,
			 const float *t, int relu, int aff, int pool, int M, int H,
			 int W, int TW, int T, int g0, int ng)
{
	int f = pool ? 2 : 1, OH = H / f, OW = W / f, side = 4 / f;

	for (int i = 0; i < ng; i++) {
		int g = g0 + i, n = g / T, th = g % T / TW, tw = g % T % TW;
		int h0 = th * side, w0 = tw * side;
		int nh = OH - h0 < side ? OH - h0 : side, nw = OW - w0 < side ? OW - w0 : side;
		float *yt = y + n * ys + (size_t)h0 * yrow + (size_t)w0 * M;

		float *dst = nh == side && nw == side ? yt : tmp;
		size_t drow = dst == yt ? yrow : (size_t)side * M;

		if (pool)
			output_tile(dst, drow, Mo + (size_t)i * M, pm, b, s, t, relu, aff, 1, M);
		else
			output_tile(dst, drow, Mo + (size_t)i * M, pm, b, s, t, relu, aff, 0, M);
		if (dst == yt)
			continue;
		for (int q = 0; q < nh; q++)
			memcpy(yt + (size_t)q * yrow, tmp + (size_t)q * side * M,
			       sizeof(float) * (size_t)nw * M);
	}
}

void cnn_wino_nhwc_conv(float *y, size_t ys, size_t yrow, float *ws,
			const float *xp, size_t xs, const float *UT,
			const struct cnn_conv_epilogue *ep, int N, int C, int H,
			int W, int M)
{
	int TH = (H + 3) / 4, TW = (W + 3) / 4, T = TH * TW, G = cnn_wino_nhwc_group(C, M);
	int aff = ep->scale != NULL, total = N * T;
	size_t prow = (size_t)cnn_nhwc_pad(W) * C, pv = plane(G, C), pm = plane(G, M);
	float *V = ws, *Mo = V + NT * pv, *tmp = Mo + NT * pm;
	const float *s = aff ? ep->scale : ep->b, *t = aff ? ep->shift : ep->b;

	for (int g0 = 0; g0 < total; g0 += G) {
		int ng = total - g0 < G ? total - g0 : G;

		input_group(V, pv, xp, xs, prow, C, TW, T, g0, ng);
		for (int k = 0; k < NT; k++)
			cnn_gemm_nopack(ng, M, C, V + k * pv, C, UT + (size_t)k * C * M, M,
					0.0f, Mo + k * pm, M);
		output_group(y, ys, yrow, tmp, Mo, pm, ep->b, s, t, ep->relu, aff,
			     ep->pool, M, H, W, TW, T, g0, ng);
	}
}
