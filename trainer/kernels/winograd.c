/* winograd.c - 3x3 stride-1 "same" convolution by Winograd F(4x4,3x3)
 * (Lavin & Gray, interpolation points 0, 1, -1, 1/2, -1/2, inf): each 4x4
 * output tile costs 36 multiplies per input channel instead of 144, as 36
 * GEMMs (one per transformed position) between transformed weights and
 * transformed 6x6 input tiles. The reference is the direct convolution
 * (cnn_conv_forward_ref); tests/test_winograd.c bounds the difference.
 *
 * Planes are split into their four column phases (column 4i+p at phase p,
 * index i) so that every transform walks the tiles of a row with unit
 * stride and vectorises. See kernels.h. */
#include "trainer/kernels.h"
#include "winograd_tf.h"

#include <string.h>

#define NT CNN_WINOGRAD_TILE    /* 36 transformed positions */

/* The row transforms are inlined into one cloned function per plane (so a
 * plane costs one dispatched call, not one per row) and specialised there
 * for the common tile counts per row (8 and 4: 32- and 16-pixel sides). */
#define ROW_INLINE static inline __attribute__((always_inline))

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

int cnn_winograd_applies(int C, int K, int stride, int pad)
{
	return K == 3 && stride == 1 && pad == 1 && C >= CNN_WINOGRAD_MIN_C;
}

// images per GEMM group: about 64 tiles, so that the 36 planes of
// transformed inputs and products of a 64-channel group (1.2 MB) stay near
// the 1 MB L2 (measured: 2-3% faster per step than 128 tiles, 7% than
// 256), at most a conv chunk
int cnn_winograd_group(int H, int W)
{
	int T = ((H + 3) / 4) * ((W + 3) / 4), g = 64 / T;

	if (g < 1)
		g = 1;
	return g < CNN_CONV_CHUNK ? g : CNN_CONV_CHUNK;
}

// floats between the 36 planes of (rows, nT): not a multiple of 4 KB, so
// the 36 streams of a transform do not fight over the same cache sets
static size_t plane(int rows, size_t nT)
{
	return round16((size_t)rows * nT) + 16;
}

// padded input plane: rows 4TH+2, each as 4 phases of TW+1 floats
static size_t padded_floats(int TH, int TW)
{
	return round16((size_t)(4 * TH + 2) * 4 * (TW + 1));
}

// V (36,C,nT) | Mo (36,M,nT) | padded plane | output plane, or for the
// weight gradient V | D (36,M,nT) | padded plane | one V plane transposed
size_t cnn_winograd_ws_floats(int C, int H, int W, int M)
{
	int TH = (H + 3) / 4, TW = (W + 3) / 4;
	size_t nT = (size_t)TH * TW * cnn_winograd_group(H, W);
	size_t out = round16((size_t)(4 * TH) * (4 * TW)), vt = round16((size_t)C * nT);

	return NT * plane(C, nT) + NT * plane(M, nT) + padded_floats(TH, TW) +
	       (out > vt ? out : vt);
}

/* ==== The transforms on six (or four) values ==== */

// G g: 3 -> 6 (weights)
static inline void g_apply(float *o, float g0, float g1, float g2)
{
	o[0] = 0.25f * g0;
	o[1] = -(g0 + g1 + g2) / 6.0f;
	o[2] = -(g0 - g1 + g2) / 6.0f;
	o[3] = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f;
	o[4] = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f;
	o[5] = g2;
}

// U (36,R,S) = G g G^T, g = w[r][s] (forward: R=M outputs, S=C inputs), or
// with flip g = w[s][r] rotated by 180 degrees (R=C, S=M: the correlation
// that gives the input gradient). The plain version: the fast one below
// must give the same bits.
void cnn_winograd_weights_ref(float *U, const float *w, int M, int C, int flip)
{
	int R = flip ? C : M, S = flip ? M : C;

	for (int r = 0; r < R; r++)
		for (int s = 0; s < S; s++) {
			const float *k = flip ? w + ((size_t)s * C + r) * 9
					      : w + ((size_t)r * C + s) * 9;
			float g[3][3], t[6][3], u[6];

			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 3; j++)
					g[i][j] = flip ? k[(2 - i) * 3 + (2 - j)] : k[i * 3 + j];
			for (int j = 0; j < 3; j++) {
				float c[6];

				g_apply(c, g[0][j], g[1][j], g[2][j]);
				for (int i = 0; i < 6; i++)
					t[i][j] = c[i];
			}
			for (int i = 0; i < 6; i++) {
				g_apply(u, t[i][0], t[i][1], t[i][2]);
				for (int j = 0; j < 6; j++)
					U[((size_t)(i * 6 + j) * R + r) * S + s] = u[j];
			}
		}
}

// G g: 3 -> 6, the same operations as g_apply, on scalars (no arrays in
// the vectorised loop below: GCC leaves it scalar with them)
#define G6(o0, o1, o2, o3, o4, o5, a, b, c)                                   \
	do {                                                                  \
		o0 = 0.25f * (a);                                             \
		o1 = -((a) + (b) + (c)) / 6.0f;                               \
		o2 = -((a) - (b) + (c)) / 6.0f;                               \
		o3 = (a) / 24.0f + (b) / 12.0f + (c) / 6.0f;                  \
		o4 = (a) / 24.0f - (b) / 12.0f + (c) / 6.0f;                  \
		o5 = (c);                                                     \
	} while (0)

// rows r0..r1-1 of U, vectorised over s: one kernel per lane, the same
// operations in the same order as the reference
CNN_SIMD_CLONES
static void weights_rows(float *U, const float *w, int M, int C, int flip,
			 int r0, int r1)
{
	int R = flip ? C : M, S = flip ? M : C;
	size_t ks = flip ? (size_t)C * 9 : 9;  /* floats from kernel s to s+1 */
	size_t RS = (size_t)R * S;

	for (int r = r0; r < r1; r++) {
		const float *k0 = flip ? w + (size_t)r * 9 : w + (size_t)r * C * 9;
		float *ur = U + (size_t)r * S;

#pragma omp simd
		for (int s = 0; s < S; s++) {
			const float *k = k0 + s * ks;
			float k0_ = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4];
			float k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
			/* with flip the kernel rotated by 180 degrees */
			float g00 = flip ? k8 : k0_, g01 = flip ? k7 : k1, g02 = flip ? k6 : k2;
			float g10 = flip ? k5 : k3, g11 = k4, g12 = flip ? k3 : k5;
			float g20 = flip ? k2 : k6, g21 = flip ? k1 : k7, g22 = flip ? k0_ : k8;
			float t00, t10, t20, t30, t40, t50, t01, t11, t21, t31, t41, t51;
			float t02, t12, t22, t32, t42, t52, u0, u1, u2, u3, u4, u5;

			G6(t00, t10, t20, t30, t40, t50, g00, g10, g20);
			G6(t01, t11, t21, t31, t41, t51, g01, g11, g21);
			G6(t02, t12, t22, t32, t42, t52, g02, g12, g22);
			G6(u0, u1, u2, u3, u4, u5, t00, t01, t02);
			ur[(size_t)(0) * RS + s] = u0;
			ur[(size_t)(1) * RS + s] = u1;
			ur[(size_t)(2) * RS + s] = u2;
			ur[(size_t)(3) * RS + s] = u3;
			ur[(size_t)(4) * RS + s] = u4;
			ur[(size_t)(5) * RS + s] = u5;
			G6(u0, u1, u2, u3, u4, u5, t10, t11, t12);
			ur[(size_t)(6) * RS + s] = u0;
			ur[(size_t)(7) * RS + s] = u1;
			ur[(size_t)(8) * RS + s] = u2;
			ur[(size_t)(9) * RS + s] = u3;
			ur[(size_t)(10) * RS + s] = u4;
			ur[(size_t)(11) * RS + s] = u5;
			G6(u0, u1, u2, u3, u4, u5, t20, t21, t22);
			ur[(size_t)(12) * RS + s] = u0;
			ur[(size_t)(13) * RS + s] = u1;
			ur[(size_t)(14) * RS + s] = u2;
			ur[(size_t)(15) * RS + s] = u3;
			ur[(size_t)(16) * RS + s] = u4;
			ur[(size_t)(17) * RS + s] = u5;
			G6(u0, u1, u2, u3, u4, u5, t30, t31, t32);
			ur[(size_t)(18) * RS + s] = u0;
			ur[(size_t)(19) * RS + s] = u1;
			ur[(size_t)(20) * RS + s] = u2;
			ur[(size_t)(21) * RS + s] = u3;
			ur[(size_t)(22) * RS + s] = u4;
			ur[(size_t)(23) * RS + s] = u5;
			G6(u0, u1, u2, u3, u4, u5, t40, t41, t42);
			ur[(size_t)(24) * RS + s] = u0;
			ur[(size_t)(25) * RS + s] = u1;
			ur[(size_t)(26) * RS + s] = u2;
			ur[(size_t)(27) * RS + s] = u3;
			ur[(size_t)(28) * RS + s] = u4;
			ur[(size_t)(29) * RS + s] = u5;
			G6(u0, u1, u2, u3, u4, u5, t50, t51, t52);
			ur[(size_t)(30) * RS + s] = u0;
			ur[(size_t)(31) * RS + s] = u1;
			ur[(size_t)(32) * RS + s] = u2;
			ur[(size_t)(33) * RS + s] = u3;
			ur[(size_t)(34) * RS + s] = u4;
			ur[(size_t)(35) * RS + s] = u5;
		}
	}
}

void cnn_winograd_weights_rows(float *U, const float *w, int M, int C,
			       int flip, int r0, int r1)
{
	weights_rows(U, w, M, C, flip, r0, r1);
}

void cnn_winograd_weights(float *U, const float *w, int M, int C, int flip)
{
	weights_rows(U, w, M, C, flip, 0, flip ? C : M);
}

// B^T d and A^T m come from winograd_tf.h (shared with conv_nhwc.c)
#define BT6 WTF_BT6
#define AT6 WTF_AT6

// A y: 4 -> 6 (output-gradient tiles)
#define A4(o0, o1, o2, o3, o4, o5, y0, y1, y2, y3)                            \
	do {                                                                  \
		float e_ = (y0) + (y2), f_ = (y1) + (y3);                     \
		float g_ = (y0) + 4 * (y2), h_ = 2 * (y1) + 8 * (y3);         \
		o0 = (y0);                                                    \
		o1 = e_ + f_;                                                 \
		o2 = e_ - f_;                                                 \
		o3 = g_ + h_;                                                 \
		o4 = g_ - h_;                                                 \
		o5 = (y3);                                                    \
	} while (0)

/* ==== Forward (and input gradient) ==== */

// one row of tiles from 6 padded rows p[0..5], each as 4 column phases of
// wq floats: v[k*stride + t] = (B^T d B)[k] for the tile at padded columns
// 4t..4t+5 (phase 0..3 at t, phase 0..1 at t+1)
ROW_INLINE void input_row(float *restrict v, size_t stride, const float *p0,
		      size_t rs, size_t wq, int TW)
{
#pragma omp simd
	for (int t = 0; t < TW; t++) {
		float h[6][6];

		/* B^T along each row (the columns of the tile) */
#pragma GCC unroll 6
		for (int r = 0; r < 6; r++) {
			const float *p = p0 + (size_t)r * rs;

			BT6(h[r][0], h[r][1], h[r][2], h[r][3], h[r][4], h[r][5], p[t],
			    p[wq + t], p[2 * wq + t], p[3 * wq + t], p[t + 1],
			    p[wq + t + 1]);
		}
		/* then B^T down each column */
#pragma GCC unroll 6
		for (int k = 0; k < 6; k++) {
			float o0, o1, o2, o3, o4, o5;

			BT6(o0, o1, o2, o3, o4, o5, h[0][k], h[1][k], h[2][k], h[3][k],
			    h[4][k], h[5][k]);
			v[(size_t)(0 * 6 + k) * stride + t] = o0;
			v[(size_t)(1 * 6 + k) * stride + t] = o1;
			v[(size_t)(2 * 6 + k) * stride + t] = o2;
			v[(size_t)(3 * 6 + k) * stride + t] = o3;
			v[(size_t)(4 * 6 + k) * stride + t] = o4;
			v[(size_t)(5 * 6 + k) * stride + t] = o5;
		}
	}
}

// one row of tiles: m[k*stride + t] -> 4 output rows o + q*ld, columns
// 4t..4t+3 (A^T m A)
ROW_INLINE void output_row(float *restrict o, size_t ld, const float *m,
		       size_t stride, int TW)
{
#pragma omp simd
	for (int t = 0; t < TW; t++) {
		float s[4][6];

		/* A^T down each column */
#pragma GCC unroll 6
		for (int k = 0; k < 6; k++)
			AT6(s[0][k], s[1][k], s[2][k], s[3][k], m[(size_t)k * stride + t],
			    m[(size_t)(6 + k) * stride + t], m[(size_t)(12 + k) * stride + t],
			    m[(size_t)(18 + k) * stride + t], m[(size_t)(24 + k) * stride + t],
			    m[(size_t)(30 + k) * stride + t]);
		/* then along each row */
#pragma GCC unroll 6
		for (int q = 0; q < 4; q++) {
			float *oq = o + (size_t)q * ld + 4 * t;

			AT6(oq[0], oq[1], oq[2], oq[3], s[q][0], s[q][1], s[q][2], s[q][3],
			    s[q][4], s[q][5]);
		}
	}
}

// padded row (4 phases of wq floats) from input row x (W) with the affine:
// padded column j = input column j-1, at phase j%4, index j/4
ROW_INLINE void fill_row(float *restrict r, size_t wq, const float *x, int W,
		     float s, float t)
{
	int q = W / 4;

#pragma omp simd
	for (int i = 0; i < q; i++) {
		r[wq + i] = x[4 * i] * s + t;
		r[2 * wq + i] = x[4 * i + 1] * s + t;
		r[3 * wq + i] = x[4 * i + 2] * s + t;
		r[i + 1] = x[4 * i + 3] * s + t;
	}
	for (int c = 4 * q; c < W; c++)
		r[((c + 1) % 4) * wq + (c + 1) / 4] = x[c] * s + t;
}

// one channel plane xc (H,W) with the affine into the padded plane P, then
// its TH rows of tiles into v (tile th*TW+tw of each of the 36 planes)
ROW_INLINE void input_plane_body(float *v, size_t pv, float *P, const float *xc,
				 int H, int W, float s, float t, int TH, int TW)
{
	size_t wq = (size_t)TW + 1, rs = 4 * wq;

	for (int h = 0; h < H; h++)
		fill_row(P + (size_t)(h + 1) * rs, wq, xc + (size_t)h * W, W, s, t);
	for (int th = 0; th < TH; th++)
		input_row(v + (size_t)th * TW, pv, P + (size_t)4 * th * rs, rs, wq, TW);
}

CNN_SIMD_CLONES
static void input_plane(float *v, size_t pv, float *P, const float *xc, int H,
			int W, float s, float t, int TH, int TW)
{
	if (TW == 8)
		input_plane_body(v, pv, P, xc, H, W, s, t, TH, 8);
	else if (TW == 4)
		input_plane_body(v, pv, P, xc, H, W, s, t, TH, 4);
	else
		input_plane_body(v, pv, P, xc, H, W, s, t, TH, TW);
}

// V (36 planes of pv floats, each (C, nT)) = the transformed input tiles of
// x (nimg,C,H,W) with the affine; P: the padded plane scratch
static void input_tiles(float *V, size_t pv, float *P, const float *x,
			const float *scale, const float *shift, int nimg, int C,
			int H, int W)
{
	int TH = (H + 3) / 4, TW = (W + 3) / 4, T = TH * TW;
	size_t nT = (size_t)T * nimg, hw = (size_t)H * W;

	/* the padding (row 0, rows > H, columns 0 and > W) stays zero: every
	 * channel writes the same positions */
	memset(P, 0, sizeof(float) * padded_floats(TH, TW));
	for (int n = 0; n < nimg; n++)
		for (int c = 0; c < C; c++) {
			const float *xc = x + ((size_t)n * C + c) * hw;
			float s = scale ? scale[c] : 1.0f, t = scale ? shift[c] : 0.0f;

			input_plane(V + (size_t)c * nT + (size_t)n * T, pv, P, xc, H, W, s, t,
				    TH, TW);
		}
}

// the TH rows of tiles of one output channel: m (tile th*TW+tw of each of
// the 36 planes of stride floats) -> dst (4TH rows of ld floats)
ROW_INLINE void output_plane_body(float *dst, size_t ld, const float *m,
				  size_t stride, int TH, int TW)
{
	for (int th = 0; th < TH; th++)
		output_row(dst + (size_t)4 * th * ld, ld, m + (size_t)th * TW, stride, TW);
}

CNN_SIMD_CLONES
static void output_plane(float *dst, size_t ld, const float *m, size_t stride,
			 int TH, int TW)
{
	if (TW == 8)
		output_plane_body(dst, ld, m, stride, TH, 8);
	else if (TW == 4)
		output_plane_body(dst, ld, m, stride, TH, 4);
	else
		output_plane_body(dst, ld, m, stride, TH, TW);
}

void cnn_winograd_conv(float *y, float *ws, const float *x, const float *scale,
		       const float *shift, const float *U, int nimg, int C,
		       int H, int W, int M)
{
	int TH = (H + 3) / 4, TW = (W + 3) / 4, T = TH * TW;
	int even = !(H & 3) && !(W & 3);
	size_t nT = (size_t)T * nimg, hw = (size_t)H * W;
	size_t pv = plane(C, nT), pm = plane(M, nT);
	float *V = ws, *Mo = V + NT * pv;
	float *P = Mo + NT * pm;
	float *O = P + padded_floats(TH, TW);

	input_tiles(V, pv, P, x, scale, shift, nimg, C, H, W);
	for (int k = 0; k < NT; k++)
		cnn_gemm_nopack(M, (int)nT, C, U + (size_t)k * M * C, C, V + k * pv,
				(int)nT, 0.0f, Mo + k * pm, (int)nT);
	for (int n = 0; n < nimg; n++)
		for (int m = 0; m < M; m++) {
			float *ym = y + ((size_t)n * M + m) * hw;
			float *dst = even ? ym : O;
			size_t ld = even ? (size_t)W : (size_t)4 * TW;

			output_plane(dst, ld, Mo + (size_t)m * nT + (size_t)n * T, pm, TH, TW);
			if (!even)
				for (int h = 0; h < H; h++)
					memcpy(ym + (size_t)h * W, O + (size_t)h * ld,
					       sizeof(float) * W);
		}
}

/* ==== Weight gradient ==== */

// one row of output-gradient tiles from 4 rows g[0..3] (each as 4 column
// phases of tw floats): v[k*stride + t] = (A dY A^T)[k]
ROW_INLINE void grad_row(float *restrict v, size_t stride, const float *g0,
		     size_t rs, size_t tw, int TW)
{
#pragma omp simd
	for (int t = 0; t < TW; t++) {
		float h[4][6];

#pragma GCC unroll 6
		for (int r = 0; r < 4; r++) {
			const float *g = g0 + (size_t)r * rs;

			A4(h[r][0], h[r][1], h[r][2], h[r][3], h[r][4], h[r][5], g[t],
			   g[tw + t], g[2 * tw + t], g[3 * tw + t]);
		}
#pragma GCC unroll 6
		for (int k = 0; k < 6; k++) {
			float o0, o1, o2, o3, o4, o5;

			A4(o0, o1, o2, o3, o4, o5, h[0][k], h[1][k], h[2][k], h[3][k]);
			v[(size_t)(0 * 6 + k) * stride + t] = o0;
			v[(size_t)(1 * 6 + k) * stride + t] = o1;
			v[(size_t)(2 * 6 + k) * stride + t] = o2;
			v[(size_t)(3 * 6 + k) * stride + t] = o3;
			v[(size_t)(4 * 6 + k) * stride + t] = o4;
			v[(size_t)(5 * 6 + k) * stride + t] = o5;
		}
	}
}

// output-gradient row x (W) split into its 4 column phases of tw floats
ROW_INLINE void split_row(float *restrict r, size_t tw, const float *x, int W)
{
	int q = W / 4;

#pragma omp simd
	for (int i = 0; i < q; i++) {
		r[i] = x[4 * i];
		r[tw + i] = x[4 * i + 1];
		r[2 * tw + i] = x[4 * i + 2];
		r[3 * tw + i] = x[4 * i + 3];
	}
	for (int c = 4 * q; c < W; c++)
		r[(c % 4) * tw + c / 4] = x[c];
}

// one output-gradient plane g (H,W) split into column phases in P (4TH
// rows of rs floats, zero beyond H and W), then its tiles into d
ROW_INLINE void grad_plane_body(float *d, size_t pm, float *P, const float *g,
				int H, int W, int TH, int TW)
{
	size_t rs = (size_t)4 * TW;

	for (int h = 0; h < H; h++)
		split_row(P + (size_t)h * rs, (size_t)TW, g + (size_t)h * W, W);
	for (int th = 0; th < TH; th++)
		grad_row(d + (size_t)th * TW, pm, P + (size_t)4 * th * rs, rs, (size_t)TW, TW);
}

CNN_SIMD_CLONES
static void grad_plane(float *d, size_t pm, float *P, const float *g, int H,
		       int W, int TH, int TW)
{
	if (TW == 8)
		grad_plane_body(d, pm, P, g, H, W, TH, 8);
	else if (TW == 4)
		grad_plane_body(d, pm, P, g, H, W, TH, 4);
	else
		grad_plane_body(d, pm, P, g, H, W, TH, TW);
}

void cnn_winograd_wgrad(float *dU, float *ws, const float *dy, const float *x,
			const float *scale, const float *shift, int nimg, int C,
			int H, int W, int M)
{
	int TH = (H + 3) / 4, TW = (W + 3) / 4, T = TH * TW;
	size_t nT = (size_t)T * nimg, hw = (size_t)H * W, rs = (size_t)4 * TW;
	size_t pv = plane(C, nT), pm = plane(M, nT);
	float *V = ws, *D = V + NT * pv, *P = D + NT * pm;
	float *Vt = P + padded_floats(TH, TW);

	input_tiles(V, pv, P, x, scale, shift, nimg, C, H, W);
	/* dy planes padded to 4TH x 4TW with zeros (the cropped outputs) */
	memset(P, 0, sizeof(float) * (size_t)4 * TH * rs);
	for (int n = 0; n < nimg; n++)
		for (int m = 0; m < M; m++) {
			const float *g = dy + ((size_t)n * M + m) * hw;

			grad_plane(D + (size_t)m * nT + (size_t)n * T, pm, P, g, H, W, TH, TW);
		}
	/* dU += D V^T: with AVX-512 each V plane transposed (16x16 blocks, in
	 * L1) for the no-pack kernel, which then reads D in place; measured
	 * faster than OpenBLAS's NT sgemm, which packs both and runs its AVX2
	 * kernel here */
	for (int k = 0; k < NT; k++) {
		float *dUk = dU + (size_t)k * M * C;

		if (!cnn_gemm_nopack_fast()) {
			cnn_gemm(0, 1, M, C, (int)nT, 1.0f, D + k * pm, (int)nT, V + k * pv,
				 (int)nT, 1.0f, dUk, C);
			continue;
		}
		cnn_transpose(Vt, C, V + k * pv, (int)nT, C, (int)nT);
		cnn_gemm_nopack(M, C, (int)nT, D + k * pm, (int)nT, Vt, C, 1.0f, dUk, C);
	}
}

// G^T d: 6 -> 3
#define GT6(o0, o1, o2, d0, d1, d2, d3, d4, d5)                               \
	do {                                                                  \
		float p_ = (d1) + (d2), q_ = (d1) - (d2);                     \
		float r_ = (d3) + (d4), s_ = (d3) - (d4);                     \
		o0 = 0.25f * (d0) - p_ / 6.0f + r_ / 24.0f;                   \
		o1 = -q_ / 6.0f + s_ / 12.0f;                                 \
		o2 = -p_ / 6.0f + r_ / 6.0f + (d5);                           \
	} while (0)

// o (9, n) = G^T dU G for n <= 16 consecutive elements of the 36 planes
// of mc floats at dU (planar out, so that it vectorises)
CNN_SIMD_CLONES
static void finish_block(float (*restrict o)[16], const float *dU, size_t mc,
			 int n)
{
#pragma omp simd
	for (int i = 0; i < n; i++) {
		float t[6][3];

		/* G^T along each row of dU, then down each column */
#pragma GCC unroll 6
		for (int r = 0; r < 6; r++)
			GT6(t[r][0], t[r][1], t[r][2], dU[(size_t)(r * 6) * mc + i],
			    dU[(size_t)(r * 6 + 1) * mc + i], dU[(size_t)(r * 6 + 2) * mc + i],
			    dU[(size_t)(r * 6 + 3) * mc + i], dU[(size_t)(r * 6 + 4) * mc + i],
			    dU[(size_t)(r * 6 + 5) * mc + i]);
#pragma GCC unroll 3
		for (int j = 0; j < 3; j++)
			GT6(o[j][i], o[3 + j][i], o[6 + j][i], t[0][j], t[1][j], t[2][j],
			    t[3][j], t[4][j], t[5][j]);
	}
}

void cnn_winograd_wgrad_finish(float *dw, const float *dU, int M, int C)
{
	size_t mc = (size_t)M * C;
	float o[9][16];

	for (size_t i0 = 0; i0 < mc; i0 += 16) {
		int n = mc - i0 < 16 ? (int)(mc - i0) : 16;

		finish_block(o, dU + i0, mc, n);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < 9; k++)
				dw[(i0 + i) * 9 + k] += o[k][i];
	}
}
