/* winograd.c - 3x3 stride-1 "same" convolution by Winograd F(2x2,3x3)
 * (Lavin & Gray): each 2x2 output tile costs 16 multiplies per input
 * channel instead of 36, as 16 GEMMs (one per transformed position) between
 * transformed weights and transformed input tiles. The reference is the
 * im2col+GEMM convolution (cnn_conv_forward_ref). See kernels.h. */
#include "trainer/kernels.h"

#include <string.h>

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

int cnn_winograd_applies(int C, int K, int stride, int pad)
{
	return K == 3 && stride == 1 && pad == 1 && C >= CNN_WINOGRAD_MIN_C;
}

// images per GEMM group: about 256 tiles, at most a conv chunk
int cnn_winograd_group(int H, int W)
{
	int T = ((H + 1) / 2) * ((W + 1) / 2), g = 256 / T;

	if (g < 1)
		g = 1;
	return g < CNN_CONV_CHUNK ? g : CNN_CONV_CHUNK;
}

// floats between the 16 planes of (rows, nT): not a multiple of 4 KB, so
// the 16 streams of a transform do not fight over the same cache sets
static size_t plane(int rows, size_t nT)
{
	return round16((size_t)rows * nT) + 16;
}

// V (16,C,nT) | Mo (16,M,nT) | padded plane | output plane
size_t cnn_winograd_ws_floats(int C, int H, int W, int M)
{
	int TH = (H + 1) / 2, TW = (W + 1) / 2;
	size_t nT = (size_t)TH * TW * cnn_winograd_group(H, W);

	return 16 * plane(C, nT) + 16 * plane(M, nT) +
	       round16((size_t)(2 * TH + 2) * (2 * TW + 2)) +
	       round16((size_t)(2 * TH) * (2 * TW));
}

// U (16,R,S) = G g G^T, g = w[r][s] (forward: R=M outputs, S=C inputs), or
// with flip g = w[s][r] rotated by 180 degrees (R=C, S=M: the correlation
// that gives the input gradient)
void cnn_winograd_weights(float *U, const float *w, int M, int C, int flip)
{
	int R = flip ? C : M, S = flip ? M : C;

	for (int r = 0; r < R; r++)
		for (int s = 0; s < S; s++) {
			const float *k = flip ? w + ((size_t)s * C + r) * 9
					      : w + ((size_t)r * C + s) * 9;
			float g[3][3], t[4][3];

			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 3; j++)
					g[i][j] = flip ? k[(2 - i) * 3 + (2 - j)] : k[i * 3 + j];
			for (int j = 0; j < 3; j++) {
				t[0][j] = g[0][j];
				t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
				t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
				t[3][j] = g[2][j];
			}
			for (int i = 0; i < 4; i++) {
				float u[4];

				u[0] = t[i][0];
				u[1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
				u[2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
				u[3] = t[i][2];
				for (int j = 0; j < 4; j++)
					U[((size_t)(i * 4 + j) * R + r) * S + s] = u[j];
			}
		}
}

// one row of tiles from 4 padded input rows, each split into its even (e)
// and odd (o) columns: v[xi*stride + tw] = B^T d B for the tile at columns
// 2tw..2tw+3, i.e. e[tw], o[tw], e[tw+1], o[tw+1]
CNN_SIMD_CLONES
static void input_row(float *restrict v, size_t stride, const float *e0,
		      const float *o0, const float *e1, const float *o1,
		      const float *e2, const float *o2, const float *e3,
		      const float *o3, int TW)
{
#pragma omp simd
	for (int t = 0; t < TW; t++) {
		/* B^T on the rows, at the four columns */
		float a0 = e0[t] - e2[t], a1 = e1[t] + e2[t], a2 = e2[t] - e1[t], a3 = e1[t] - e3[t];
		float b0 = o0[t] - o2[t], b1 = o1[t] + o2[t], b2 = o2[t] - o1[t], b3 = o1[t] - o3[t];
		float c0 = e0[t + 1] - e2[t + 1], c1 = e1[t + 1] + e2[t + 1];
		float c2 = e2[t + 1] - e1[t + 1], c3 = e1[t + 1] - e3[t + 1];
		float d0 = o0[t + 1] - o2[t + 1], d1 = o1[t + 1] + o2[t + 1];
		float d2 = o2[t + 1] - o1[t + 1], d3 = o1[t + 1] - o3[t + 1];

		/* then B on the columns */
		v[0 * stride + t] = a0 - c0;
		v[1 * stride + t] = b0 + c0;
		v[2 * stride + t] = c0 - b0;
		v[3 * stride + t] = b0 - d0;
		v[4 * stride + t] = a1 - c1;
		v[5 * stride + t] = b1 + c1;
		v[6 * stride + t] = c1 - b1;
		v[7 * stride + t] = b1 - d1;
		v[8 * stride + t] = a2 - c2;
		v[9 * stride + t] = b2 + c2;
		v[10 * stride + t] = c2 - b2;
		v[11 * stride + t] = b2 - d2;
		v[12 * stride + t] = a3 - c3;
		v[13 * stride + t] = b3 + c3;
		v[14 * stride + t] = c3 - b3;
		v[15 * stride + t] = b3 - d3;
	}
}

// one row of tiles: m[xi*stride + tw] -> 2 output rows o0, o1 = A^T m A
CNN_SIMD_CLONES
static void output_row(float *restrict o0, float *restrict o1, const float *m,
		       size_t stride, int TW)
{
#pragma omp simd
	for (int t = 0; t < TW; t++) {
		float m0 = m[0 * stride + t], m1 = m[1 * stride + t];
		float m2 = m[2 * stride + t], m3 = m[3 * stride + t];
		float m4 = m[4 * stride + t], m5 = m[5 * stride + t];
		float m6 = m[6 * stride + t], m7 = m[7 * stride + t];
		float m8 = m[8 * stride + t], m9 = m[9 * stride + t];
		float m10 = m[10 * stride + t], m11 = m[11 * stride + t];
		float m12 = m[12 * stride + t], m13 = m[13 * stride + t];
		float m14 = m[14 * stride + t], m15 = m[15 * stride + t];
		/* A^T on the rows */
		float s0 = m0 + m4 + m8, s1 = m1 + m5 + m9;
		float s2 = m2 + m6 + m10, s3 = m3 + m7 + m11;
		float u0 = m4 - m8 - m12, u1 = m5 - m9 - m13;
		float u2 = m6 - m10 - m14, u3 = m7 - m11 - m15;

		/* then A on the columns */
		o0[2 * t] = s0 + s1 + s2;
		o0[2 * t + 1] = s1 - s2 - s3;
		o1[2 * t] = u0 + u1 + u2;
		o1[2 * t + 1] = u1 - u2 - u3;
	}
}

// padded row (e: even columns, o: odd) from input row x (W) with the affine:
// padded column j = input column j-1, so x[2i] -> o[i], x[2i+1] -> e[i+1]
CNN_SIMD_CLONES
static void fill_row(float *restrict e, float *restrict o, const float *x,
		     int W, float s, float t)
{
	int h = W / 2;

#pragma omp simd
	for (int i = 0; i < h; i++) {
		o[i] = x[2 * i] * s + t;
		e[i + 1] = x[2 * i + 1] * s + t;
	}
	if (W & 1)
		o[h] = x[2 * h] * s + t;
}

// V (16 planes of pv floats, each (C, nT)) = the transformed input tiles of
// x (nimg,C,H,W) with the affine; P: the padded plane scratch
static void input_tiles(float *V, size_t pv, float *P, const float *x,
			const float *scale, const float *shift, int nimg, int C,
			int H, int W)
{
	int TH = (H + 1) / 2, TW = (W + 1) / 2, T = TH * TW;
	int Hp = 2 * TH + 2, Wh = TW + 1, Wp = 2 * Wh;
	size_t nT = (size_t)T * nimg, hw = (size_t)H * W;

	/* the padded plane, each row as its even columns then its odd columns
	 * (padded column j = input column j-1); the padding stays zero */
	memset(P, 0, sizeof(float) * (size_t)Hp * Wp);
	for (int n = 0; n < nimg; n++)
		for (int c = 0; c < C; c++) {
			const float *xc = x + ((size_t)n * C + c) * hw;
			float s = scale ? scale[c] : 1.0f, t = scale ? shift[c] : 0.0f;

			for (int h = 0; h < H; h++)
				fill_row(P + (size_t)(h + 1) * Wp, P + (size_t)(h + 1) * Wp + Wh,
					 xc + (size_t)h * W, W, s, t);
			for (int th = 0; th < TH; th++) {
				const float *p0 = P + (size_t)2 * th * Wp;

				input_row(V + (size_t)c * nT + (size_t)n * T + (size_t)th * TW,
					  pv, p0, p0 + Wh, p0 + Wp, p0 + Wp + Wh, p0 + 2 * Wp,
					  p0 + 2 * Wp + Wh, p0 + 3 * Wp, p0 + 3 * Wp + Wh, TW);
			}
		}
}

void cnn_winograd_conv(float *y, float *ws, const float *x, const float *scale,
		       const float *shift, const float *U, int nimg, int C,
		       int H, int W, int M)
{
	int TH = (H + 1) / 2, TW = (W + 1) / 2, T = TH * TW;
	int Hp = 2 * TH + 2, Wp = 2 * TW + 2, even = !(H & 1) && !(W & 1);
	size_t nT = (size_t)T * nimg, hw = (size_t)H * W;
	size_t pv = plane(C, nT), pm = plane(M, nT);
	float *V = ws, *Mo = V + 16 * pv;
	float *P = Mo + 16 * pm;
	float *O = P + round16((size_t)Hp * Wp);

	input_tiles(V, pv, P, x, scale, shift, nimg, C, H, W);
	for (int k = 0; k < 16; k++)
		cnn_gemm(0, 0, M, (int)nT, C, 1.0f, U + (size_t)k * M * C, C,
			 V + k * pv, (int)nT, 0.0f, Mo + k * pm, (int)nT);
	for (int n = 0; n < nimg; n++)
		for (int m = 0; m < M; m++) {
			float *ym = y + ((size_t)n * M + m) * hw;
			float *dst = even ? ym : O;
			int ld = even ? W : 2 * TW;

			for (int th = 0; th < TH; th++)
				output_row(dst + (size_t)2 * th * ld, dst + (size_t)(2 * th + 1) * ld,
					   Mo + (size_t)m * nT + (size_t)n * T + (size_t)th * TW,
					   pm, TW);
			if (!even)
				for (int h = 0; h < H; h++)
					memcpy(ym + (size_t)h * W, O + (size_t)h * ld,
					       sizeof(float) * W);
		}
}

// one row of output-gradient tiles, rows split into even (e) and odd (o)
// columns: v[xi*stride + tw] = A dY A^T for the 2x2 tile e0/o0, e1/o1 at tw
CNN_SIMD_CLONES
static void grad_row(float *restrict v, size_t stride, const float *e0,
		     const float *o0, const float *e1, const float *o1, int TW)
{
#pragma omp simd
	for (int t = 0; t < TW; t++) {
		float a0 = e0[t], b0 = o0[t];
		float a1 = e0[t] + e1[t], b1 = o0[t] + o1[t];
		float a2 = e0[t] - e1[t], b2 = o0[t] - o1[t];
		float a3 = -e1[t], b3 = -o1[t];

		v[0 * stride + t] = a0;
		v[1 * stride + t] = a0 + b0;
		v[2 * stride + t] = a0 - b0;
		v[3 * stride + t] = -b0;
		v[4 * stride + t] = a1;
		v[5 * stride + t] = a1 + b1;
		v[6 * stride + t] = a1 - b1;
		v[7 * stride + t] = -b1;
		v[8 * stride + t] = a2;
		v[9 * stride + t] = a2 + b2;
		v[10 * stride + t] = a2 - b2;
		v[11 * stride + t] = -b2;
		v[12 * stride + t] = a3;
		v[13 * stride + t] = a3 + b3;
		v[14 * stride + t] = a3 - b3;
		v[15 * stride + t] = -b3;
	}
}

// output row x (W) split into even columns e and odd columns o
CNN_SIMD_CLONES
static void split_row(float *restrict e, float *restrict o, const float *x,
		      int W)
{
	int h = W / 2;

#pragma omp simd
	for (int i = 0; i < h; i++) {
		e[i] = x[2 * i];
		o[i] = x[2 * i + 1];
	}
	if (W & 1)
		e[h] = x[2 * h];
}

void cnn_winograd_wgrad(float *dU, float *ws, const float *dy, const float *x,
			const float *scale, const float *shift, int nimg, int C,
			int H, int W, int M)
{
	int TH = (H + 1) / 2, TW = (W + 1) / 2, T = TH * TW;
	size_t nT = (size_t)T * nimg, hw = (size_t)H * W;
	size_t pv = plane(C, nT), pm = plane(M, nT);
	float *V = ws, *D = V + 16 * pv, *P = D + 16 * pm;

	input_tiles(V, pv, P, x, scale, shift, nimg, C, H, W);
	/* dy planes padded to 2TH x 2TW with zeros (the cropped outputs) */
	memset(P, 0, sizeof(float) * (size_t)2 * TH * 2 * TW);
	for (int n = 0; n < nimg; n++)
		for (int m = 0; m < M; m++) {
			const float *g = dy + ((size_t)n * M + m) * hw;

			for (int h = 0; h < H; h++)
				split_row(P + (size_t)h * 2 * TW, P + (size_t)h * 2 * TW + TW,
					  g + (size_t)h * W, W);
			for (int th = 0; th < TH; th++) {
				const float *r0 = P + (size_t)2 * th * 2 * TW, *r1 = r0 + 2 * TW;

				grad_row(D + (size_t)m * nT + (size_t)n * T + (size_t)th * TW, pm,
					 r0, r0 + TW, r1, r1 + TW, TW);
			}
		}
	for (int k = 0; k < 16; k++)
		cnn_gemm(0, 1, M, C, (int)nT, 1.0f, D + k * pm, (int)nT, V + k * pv,
			 (int)nT, 1.0f, dU + (size_t)k * M * C, C);
}

void cnn_winograd_wgrad_finish(float *dw, const float *dU, int M, int C)
{
	size_t mc = (size_t)M * C;

	for (size_t i = 0; i < mc; i++) {
		float d[4][4], t[3][4];

		for (int k = 0; k < 16; k++)
			d[k / 4][k % 4] = dU[k * mc + i];
		/* G^T on the rows, then G on the columns */
		for (int l = 0; l < 4; l++) {
			t[0][l] = d[0][l] + 0.5f * (d[1][l] + d[2][l]);
			t[1][l] = 0.5f * (d[1][l] - d[2][l]);
			t[2][l] = 0.5f * (d[1][l] + d[2][l]) + d[3][l];
		}
		for (int r = 0; r < 3; r++) {
			dw[i * 9 + r * 3 + 0] += t[r][0] + 0.5f * (t[r][1] + t[r][2]);
			dw[i * 9 + r * 3 + 1] += 0.5f * (t[r][1] - t[r][2]);
			dw[i * 9 + r * 3 + 2] += 0.5f * (t[r][1] + t[r][2]) + t[r][3];
		}
	}
}
