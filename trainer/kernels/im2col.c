/* im2col.c - unfold image patches into columns (and back) so a convolution
 * becomes one GEMM (darknet's im2col_cpu, plus an optional per-channel affine
 * that applies a pending BatchNorm). See include/trainer/kernels.h. */
#include "trainer/kernels.h"

#include <string.h>

int cnn_conv_out(int H, int K, int stride, int pad)
{
	return (H + 2 * pad - K) / stride + 1;
}

// col (C*K*K, OH*OW) from x (C,H,W) with affine x*scale[c]+shift[c]
void cnn_im2col_ref(float *col, const float *x, const float *scale,
		    const float *shift, int C, int H, int W, int K, int stride,
		    int pad)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);

	for (int c = 0; c < C; c++)
		for (int ki = 0; ki < K; ki++)
			for (int kj = 0; kj < K; kj++) {
				int row = (c * K + ki) * K + kj;

				for (int oh = 0; oh < OH; oh++)
					for (int ow = 0; ow < OW; ow++) {
						int ih = oh * stride - pad + ki;
						int iw = ow * stride - pad + kj;
						float v = 0;

						if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
							v = x[(c * H + ih) * W + iw];
							if (scale)
								v = v * scale[c] + shift[c];
						}
						col[(size_t)row * OH * OW + oh * OW + ow] = v;
					}
			}
}

/* "Same" convolutions (stride 1, OH == H, OW == W): each col row is the
 * input plane shifted by (ki-pad) rows and (kj-pad) columns, so it is filled
 * with one contiguous loop over all valid rows, then the columns that wrapped
 * around from the neighbouring row are zeroed. */
CNN_SIMD_CLONES
static void im2col_same(float *col, const float *x, const float *scale,
			const float *shift, int C, int H, int W, int K, int pad)
{
	size_t hw = (size_t)H * W;

	for (int c = 0; c < C; c++) {
		const float *xc = x + (size_t)c * hw;
		float s = scale ? scale[c] : 1.0f, t = scale ? shift[c] : 0.0f;

		for (int ki = 0; ki < K; ki++)
			for (int kj = 0; kj < K; kj++) {
				float *dst = col + (size_t)((c * K + ki) * K + kj) * hw;
				int dr = ki - pad, off = kj - pad;
				int r0 = dr < 0 ? -dr : 0, r1 = H - dr < H ? H - dr : H;
				long lo, hi;

				if (r1 <= r0) {
					memset(dst, 0, sizeof(float) * hw);
					continue;
				}
				memset(dst, 0, sizeof(float) * (size_t)r0 * W);
				memset(dst + (size_t)r1 * W, 0, sizeof(float) * (size_t)(H - r1) * W);
				float *d = dst + (size_t)r0 * W;
				const float *sp = xc + (size_t)(r0 + dr) * W + off;
				lo = off < 0 ? -off : 0;
				hi = (long)(r1 - r0) * W - (off > 0 ? off : 0);
				if (scale) {
#pragma omp simd
					for (long i = lo; i < hi; i++)
						d[i] = sp[i] * s + t;
				} else {
					memcpy(d + lo, sp + lo, sizeof(float) * (size_t)(hi - lo));
				}
				/* columns that came from the neighbouring row: padding */
				for (int r = 0; r < r1 - r0; r++) {
					float *row = d + (size_t)r * W;

					for (int j = 0; j < -off; j++)
						row[j] = 0;
					for (int j = W - off; j < W; j++)
						row[j] = 0;
				}
			}
	}
}

/* The scatter back for "same" convolutions: the padding columns of col
 * (which it may overwrite: it is scratch) are zeroed, then each col row is
 * added to the shifted plane with one contiguous loop. */
CNN_SIMD_CLONES
static void col2im_same(float *dx, float *col, int C, int H, int W, int K,
			int pad)
{
	size_t hw = (size_t)H * W;

	for (int c = 0; c < C; c++) {
		float *dc = dx + (size_t)c * hw;

		for (int ki = 0; ki < K; ki++)
			for (int kj = 0; kj < K; kj++) {
				float *src = col + (size_t)((c * K + ki) * K + kj) * hw;
				int dr = ki - pad, off = kj - pad;
				int r0 = dr < 0 ? -dr : 0, r1 = H - dr < H ? H - dr : H;
				long lo, hi;

				if (r1 <= r0)
					continue;
				float *sp = src + (size_t)r0 * W;
				float *d = dc + (size_t)(r0 + dr) * W + off;
				for (int r = 0; r < r1 - r0; r++) {
					float *row = sp + (size_t)r * W;

					for (int j = 0; j < -off; j++)
						row[j] = 0;
					for (int j = W - off; j < W; j++)
						row[j] = 0;
				}
				lo = off < 0 ? -off : 0;
				hi = (long)(r1 - r0) * W - (off > 0 ? off : 0);
#pragma omp simd
				for (long i = lo; i < hi; i++)
					d[i] += sp[i];
			}
	}
}

// same as the reference; rows are filled with contiguous runs (stride 1)
// and the affine is applied once per run
CNN_SIMD_CLONES
void cnn_im2col(float *col, const float *x, const float *scale,
		const float *shift, int C, int H, int W, int K, int stride,
		int pad)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);

	if (stride != 1) {
		cnn_im2col_ref(col, x, scale, shift, C, H, W, K, stride, pad);
		return;
	}
	if (OH == H && OW == W && pad < W) {
		im2col_same(col, x, scale, shift, C, H, W, K, pad);
		return;
	}
	for (int c = 0; c < C; c++) {
		const float *xc = x + (size_t)c * H * W;
		float s = scale ? scale[c] : 1.0f, t = scale ? shift[c] : 0.0f;

		for (int ki = 0; ki < K; ki++)
			for (int kj = 0; kj < K; kj++) {
				float *dst = col + (size_t)((c * K + ki) * K + kj) * OH * OW;
				int off = kj - pad;
				// valid ow range: 0 <= ow + off < W
				int lo = off < 0 ? -off : 0;
				int hi = W - off < OW ? W - off : OW;

				if (hi < lo)
					hi = lo;
				for (int oh = 0; oh < OH; oh++, dst += OW) {
					int ih = oh - pad + ki;

					if (ih < 0 || ih >= H) {
						memset(dst, 0, sizeof(float) * OW);
						continue;
					}
					const float *src = xc + (size_t)ih * W + off;
					for (int ow = 0; ow < lo; ow++)
						dst[ow] = 0;
					if (scale) {
#pragma omp simd
						for (int ow = lo; ow < hi; ow++)
							dst[ow] = src[ow] * s + t;
					} else {
						memcpy(dst + lo, src + lo, sizeof(float) * (size_t)(hi - lo));
					}
					for (int ow = hi; ow < OW; ow++)
						dst[ow] = 0;
				}
			}
	}
}

// dx (C,H,W) += col (C*K*K, OH*OW) scattered back
void cnn_col2im_ref(float *dx, const float *col, int C, int H, int W, int K,
		    int stride, int pad)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);

	for (int c = 0; c < C; c++)
		for (int ki = 0; ki < K; ki++)
			for (int kj = 0; kj < K; kj++) {
				int row = (c * K + ki) * K + kj;

				for (int oh = 0; oh < OH; oh++)
					for (int ow = 0; ow < OW; ow++) {
						int ih = oh * stride - pad + ki;
						int iw = ow * stride - pad + kj;

						if (ih >= 0 && ih < H && iw >= 0 && iw < W)
							dx[(c * H + ih) * W + iw] +=
								col[(size_t)row * OH * OW + oh * OW + ow];
					}
			}
}

CNN_SIMD_CLONES
void cnn_col2im(float *dx, float *col, int C, int H, int W, int K, int stride,
		int pad)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);

	if (stride != 1) {
		cnn_col2im_ref(dx, col, C, H, W, K, stride, pad);
		return;
	}
	if (OH == H && OW == W && pad < W) {
		col2im_same(dx, col, C, H, W, K, pad);
		return;
	}
	for (int c = 0; c < C; c++) {
		float *dc = dx + (size_t)c * H * W;

		for (int ki = 0; ki < K; ki++)
			for (int kj = 0; kj < K; kj++) {
				const float *src = col + (size_t)((c * K + ki) * K + kj) * OH * OW;
				int off = kj - pad;
				int lo = off < 0 ? -off : 0;
				int hi = W - off < OW ? W - off : OW;

				for (int oh = 0; oh < OH; oh++, src += OW) {
					int ih = oh - pad + ki;

					if (ih < 0 || ih >= H)
						continue;
					float *dst = dc + (size_t)ih * W + off;
#pragma omp simd
					for (int ow = lo; ow < hi; ow++)
						dst[ow] += src[ow];
				}
			}
	}
}
