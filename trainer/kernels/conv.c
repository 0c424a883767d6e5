/* conv.c - 2-D convolution (+ bias, optional fused ReLU) through im2col and
 * GEMM. The fast version hands chunks of CNN_CONV_CHUNK images to OpenMP
 * threads as they become free; each thread runs per-image GEMMs on one BLAS
 * thread; weight gradients accumulate per chunk and are reduced in chunk
 * order, so the result does not depend on the scheduling. 3x3 stride-1
 * same convolutions with >= CNN_WINOGRAD_MIN_C input channels run their
 * forward pass, input gradient and weight gradient through Winograd
 * F(4x4,3x3) (winograd.c) instead, in image groups fixed by the shape.
 * See kernels.h. */
#include "trainer/kernels.h"

#include <omp.h>
#include <string.h>

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

// per thread: col (CKK,OHW) | dcol (CKK,OHW) | Winograd scratch | dU
// (36,M,C); then the transformed weights U (36,M,C); then per chunk of
// images: dw (M,CKK) | db (M). The Winograd path has no col/dcol.
static size_t wino_floats(int C, int H, int W, int M, int K, int stride, int pad)
{
	size_t a, b;

	if (!cnn_winograd_applies(C, K, stride, pad))
		return 0;
	a = cnn_winograd_ws_floats(C, H, W, M);
	b = cnn_winograd_ws_floats(M, H, W, C);
	return round16(a > b ? a : b);
}

// one im2col matrix (C*K*K, OH*OW); none on the Winograd path
static size_t col_floats(int C, int H, int W, int K, int stride, int pad)
{
	size_t ckk = (size_t)C * K * K;
	size_t ohw = (size_t)cnn_conv_out(H, K, stride, pad) * cnn_conv_out(W, K, stride, pad);

	return cnn_winograd_applies(C, K, stride, pad) ? 0 : round16(ckk * ohw);
}

// transformed weights or weight gradient (36,M,C) on the Winograd path
static size_t u_floats(int C, int M, int K, int stride, int pad)
{
	return cnn_winograd_applies(C, K, stride, pad) ? round16((size_t)CNN_WINOGRAD_TILE * M * C) : 0;
}

static size_t thread_floats(int C, int H, int W, int M, int K, int stride,
			    int pad)
{
	return 2 * col_floats(C, H, W, K, stride, pad) +
	       wino_floats(C, H, W, M, K, stride, pad) + u_floats(C, M, K, stride, pad);
}

// a chunk's dw (M,CKK): the Winograd dU of a chunk is mapped back before
// it is stored, so a slot is 4 times smaller than dU
static size_t dw_floats(int C, int M, int K)
{
	return round16((size_t)M * C * K * K);
}

static size_t chunk_floats(int C, int M, int K)
{
	return dw_floats(C, M, K) + round16(M);
}

size_t cnn_conv_ws_floats(int N, int C, int H, int W, int M, int K,
			  int stride, int pad, int nthreads)
{
	size_t chunks = (size_t)(N + CNN_CONV_CHUNK - 1) / CNN_CONV_CHUNK;

	return nthreads * thread_floats(C, H, W, M, K, stride, pad) +
	       u_floats(C, M, K, stride, pad) + chunks * chunk_floats(C, M, K);
}

// y (N,M,OH,OW) = relu?(w (M,C*K*K) . im2col(x (N,C,H,W)) + b (M))
void cnn_conv_forward_ref(float *y, double *part, const float *x,
			  const float *scale, const float *shift, const float *w,
			  const float *b, int N, int C, int H, int W, int M, int K,
			  int stride, int pad, int relu)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);

	for (int n = 0; n < N; n++)
		for (int m = 0; m < M; m++)
			for (int oh = 0; oh < OH; oh++)
				for (int ow = 0; ow < OW; ow++) {
					double sum = b[m];

					for (int c = 0; c < C; c++)
						for (int ki = 0; ki < K; ki++)
							for (int kj = 0; kj < K; kj++) {
								int ih = oh * stride - pad + ki;
								int iw = ow * stride - pad + kj;
								float v;

								if (ih < 0 || ih >= H || iw < 0 || iw >= W)
									continue;
								v = x[(((size_t)n * C + c) * H + ih) * W + iw];
								if (scale)
									v = v * scale[c] + shift[c];
								sum += (double)v * w[((m * C + c) * K + ki) * K + kj];
							}
					if (relu && sum < 0)
						sum = 0;
					y[(((size_t)n * M + m) * OH + oh) * OW + ow] = (float)sum;
				}
	if (part)
		cnn_bn_partials_ref(part, y, N, M, OH * OW);
}

// one image: y (M,ohw) += bias, ReLU, and the per-channel sums into part
CNN_SIMD_CLONES
static void epilogue_forward(float *yn, double *part, const float *b, int M,
			     int ohw, int relu)
{
	for (int m = 0; m < M; m++) {
		float *ym = yn + (size_t)m * ohw, bm = b[m];
		float s1 = 0, s2 = 0;

		if (relu) {
#pragma omp simd reduction(+:s1, s2)
			for (int i = 0; i < ohw; i++) {
				float v = ym[i] + bm;

				v = v > 0 ? v : 0;
				ym[i] = v;
				s1 += v;
				s2 += v * v;
			}
		} else {
#pragma omp simd reduction(+:s1, s2)
			for (int i = 0; i < ohw; i++) {
				float v = ym[i] + bm;

				ym[i] = v;
				s1 += v;
				s2 += v * v;
			}
		}
		if (part) {
			part[(size_t)m * 2] = s1;
			part[(size_t)m * 2 + 1] = s2;
		}
	}
}

// one image: dy (M,ohw) through the BatchNorm map and the ReLU mask, in
// place; db += its sums
CNN_SIMD_CLONES
static void epilogue_backward(float *dyn, float *dbl, const float *yn,
			      const float *ga, const float *gb, const float *gd,
			      int M, int ohw, int relu)
{
	for (int m = 0; m < M; m++) {
		float *g = dyn + (size_t)m * ohw, s = 0;
		const float *ym = yn + (size_t)m * ohw;

		if (ga) {
			float a = ga[m], bb = gb[m], d = gd[m];

			if (relu) {
#pragma omp simd reduction(+:s)
				for (int i = 0; i < ohw; i++) {
					float v = a * g[i] + bb * ym[i] + d;

					g[i] = ym[i] > 0 ? v : 0;
					s += g[i];
				}
			} else {
#pragma omp simd reduction(+:s)
				for (int i = 0; i < ohw; i++) {
					g[i] = a * g[i] + bb * ym[i] + d;
					s += g[i];
				}
			}
		} else if (relu) {
#pragma omp simd reduction(+:s)
			for (int i = 0; i < ohw; i++) {
				g[i] = ym[i] > 0 ? g[i] : 0;
				s += g[i];
			}
		} else {
#pragma omp simd reduction(+:s)
			for (int i = 0; i < ohw; i++)
				s += g[i];
		}
		dbl[m] += s;
	}
}

// one plane of epilogue_unpool: rows 2ph, 2ph+1 of dy from row ph of the
// pooled gradient p and argmax k, through the map and the ReLU mask;
// returns the plane's sum. Vectorised over pooled columns like
// pooled_sums in bn.c (values loaded unconditionally, the mask without a
// branch, bytes widened first, rows shorter than 16 several at a time
// through side-by-side copies), the sum in 16 explicit lanes (an OpenMP
// reduction in an inlined function does not vectorise).
static inline __attribute__((always_inline)) float
unpool_plane_body(float *g, const float *ym, const float *p, const uint8_t *k,
		  float a, float bb, float d, int PH, int PW, int W, int relu)
{
	int R = PW < 16 ? 16 / PW : 1;
	float acc[16] = { 0 }, s = 0, Y0[32], Y1[32], G0[32], G1[32];

	for (int ph0 = 0; ph0 < PH; ph0 += R) {
		int r = PH - ph0 < R ? PH - ph0 : R, len = r * PW;
		float *g0 = g + (size_t)2 * ph0 * W, *g1 = g0 + W;
		const float *y0 = ym + (size_t)2 * ph0 * W, *y1 = y0 + W;
		const float *pr = p + (size_t)ph0 * PW;
		const uint8_t *kr = k + (size_t)ph0 * PW;

		if (R > 1) {
			for (int j = 0; j < r; j++) {
				memcpy(Y0 + 2 * j * PW, ym + (size_t)(2 * (ph0 + j)) * W,
				       sizeof(float) * 2 * PW);
				memcpy(Y1 + 2 * j * PW, ym + (size_t)(2 * (ph0 + j) + 1) * W,
				       sizeof(float) * 2 * PW);
			}
			y0 = Y0, y1 = Y1, g0 = G0, g1 = G1;
		}
		for (int pw0 = 0; pw0 < len; pw0 += 64) {
			int kq[64], n = len - pw0 < 64 ? len - pw0 : 64;

			for (int i = 0; i < n; i++)
				kq[i] = kr[pw0 + i];
#pragma omp simd
			for (int i = 0; i < n; i++) {
				int pw = pw0 + i, q = kq[i];
				float v = pr[pw];
				float z0 = y0[2 * pw], z1 = y0[2 * pw + 1];
				float z2 = y1[2 * pw], z3 = y1[2 * pw + 1];
				float o0 = a * (q == 0 ? v : 0.0f) + bb * z0 + d;
				float o1 = a * (q == 1 ? v : 0.0f) + bb * z1 + d;
				float o2 = a * (q == 2 ? v : 0.0f) + bb * z2 + d;
				float o3 = a * (q == 3 ? v : 0.0f) + bb * z3 + d;

				o0 = !relu || z0 > 0 ? o0 : 0.0f;
				o1 = !relu || z1 > 0 ? o1 : 0.0f;
				o2 = !relu || z2 > 0 ? o2 : 0.0f;
				o3 = !relu || z3 > 0 ? o3 : 0.0f;
				g0[2 * pw] = o0;
				g0[2 * pw + 1] = o1;
				g1[2 * pw] = o2;
				g1[2 * pw + 1] = o3;
			}
		}
		if (R > 1)
			for (int j = 0; j < r; j++) {
				memcpy(g + (size_t)(2 * (ph0 + j)) * W, G0 + 2 * j * PW,
				       sizeof(float) * 2 * PW);
				memcpy(g + (size_t)(2 * (ph0 + j) + 1) * W, G1 + 2 * j * PW,
				       sizeof(float) * 2 * PW);
			}

		/* the 2r rows just written */
		const float *w0 = g + (size_t)2 * ph0 * W;
		int i = 0, nw = 2 * r * W;

		for (; i + 16 <= nw; i += 16)
#pragma GCC unroll 16
			for (int l = 0; l < 16; l++)
				acc[l] += w0[i + l];
		for (; i < nw; i++)
			s += w0[i];
	}
	for (int l = 0; l < 16; l++)
		s += acc[l];
	return s;
}

// one image: dy (M,OH,OW) = the map (identity without ga) of the pooled
// gradient dyp routed to the argmax idx, masked by ReLU; db += its sums.
// One dispatched call per image.
CNN_SIMD_CLONES
static void epilogue_unpool(float *dyn, float *dbl, const float *yn,
			    const float *pn, const uint8_t *kn, const float *ga,
			    const float *gb, const float *gd, int M, int OH,
			    int OW, int relu)
{
	int PH = OH / 2, PW = OW / 2;
	size_t ohw = (size_t)OH * OW, php = (size_t)PH * PW;

	for (int m = 0; m < M; m++) {
		float a = ga ? ga[m] : 1.0f, bb = ga ? gb[m] : 0.0f, d = ga ? gd[m] : 0.0f;
		float *g = dyn + m * ohw;
		const float *ym = yn + m * ohw, *p = pn + m * php;
		const uint8_t *k = kn + m * php;

		dbl[m] += unpool_plane_body(g, ym, p, k, a, bb, d, PH, PW, OW, relu);
	}
}

// dw (M,ckk) += dy (M,ohw) col (ckk,ohw)^T. With AVX-512, col is first
// transposed into colt (ohw,ckk) so that the product runs in
// cnn_gemm_nopack (no packing, k in order; with the transpose measured
// 1.3x faster than sgemm's NT product for the 27-row im2col of conv1)
static void wgrad_gemm(float *dw, const float *dy, const float *col,
		       float *colt, int M, int ckk, int ohw)
{
	if (!cnn_gemm_nopack_fast()) {
		cnn_gemm(0, 1, M, ckk, ohw, 1.0f, dy, ohw, col, ohw, 1.0f, dw, ckk);
		return;
	}
	cnn_transpose(colt, ckk, col, ohw, ckk, ohw);
	cnn_gemm_nopack(M, ckk, ohw, dy, ohw, colt, ckk, 1.0f, dw, ckk);
}

static void chunk(int n, int tid, int nt, int *lo, int *hi)
{
	*lo = (int)((long)n * tid / nt);
	*hi = (int)((long)n * (tid + 1) / nt);
}

// inside a parallel region: this thread's share of the rows of the
// Winograd weights U, then a barrier (every thread reads all of U)
static void weights_share(float *U, const float *w, int M, int C, int flip)
{
	int lo, hi;

	chunk(flip ? C : M, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
	cnn_winograd_weights_rows(U, w, M, C, flip, lo, hi);
#pragma omp barrier
}

void cnn_conv_forward(float *y, double *part, float *ws, const float *x,
		      const float *scale, const float *shift, const float *w,
		      const float *b, int N, int C, int H, int W, int M, int K,
		      int stride, int pad, int relu, int nthreads)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);
	int ckk = C * K * K, ohw = OH * OW;
	size_t per = thread_floats(C, H, W, M, K, stride, pad);

	if (cnn_winograd_applies(C, K, stride, pad)) {
		int G = cnn_winograd_group(H, W), ng = (N + G - 1) / G;
		float *U = ws + per * nthreads;
		size_t colsz = 2 * col_floats(C, H, W, K, stride, pad);

#pragma omp parallel num_threads(nthreads)
		{
			float *wws = ws + per * omp_get_thread_num() + colsz;

			weights_share(U, w, M, C, 0);
#pragma omp for schedule(dynamic, 1)
			for (int g = 0; g < ng; g++) {
				int lo = g * G, cnt = N - lo < G ? N - lo : G;

				cnn_winograd_conv(y + (size_t)lo * M * ohw, wws,
						  x + (size_t)lo * C * H * W, scale, shift, U,
						  cnt, C, H, W, M);
				for (int n = lo; n < lo + cnt; n++)
					epilogue_forward(y + (size_t)n * M * ohw,
							 part ? part + (size_t)n * M * 2 : NULL, b,
							 M, ohw, relu);
			}
		}
		return;
	}

#pragma omp parallel num_threads(nthreads)
	{
		float *col = ws + per * omp_get_thread_num();

#pragma omp for schedule(dynamic, 2)
		for (int n = 0; n < N; n++) {
			const float *xn = x + (size_t)n * C * H * W;
			float *yn = y + (size_t)n * M * ohw;

			cnn_im2col(col, xn, scale, shift, C, H, W, K, stride, pad);
			cnn_gemm_nopack(M, ohw, ckk, w, ckk, col, ohw, 0.0f, yn, ohw);
			epilogue_forward(yn, part ? part + (size_t)n * M * 2 : NULL, b, M,
					 ohw, relu);
		}
	}
}

void cnn_conv_backward_ref(float *dx, float *dw, float *db, float *dy,
			   const float *ga, const float *gb, const float *gd,
			   const float *y, const float *x, const float *scale,
			   const float *shift, const float *w, int N, int C,
			   int H, int W, int M, int K, int stride, int pad,
			   int relu)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);
	size_t ny = (size_t)N * M * OH * OW;

	if (ga)
		for (size_t i = 0; i < ny; i++) {
			int m = (int)((i / ((size_t)OH * OW)) % M);

			dy[i] = ga[m] * dy[i] + gb[m] * y[i] + gd[m];
		}
	if (relu)
		for (size_t i = 0; i < ny; i++)
			if (!(y[i] > 0))
				dy[i] = 0;
	if (dx)
		memset(dx, 0, sizeof(float) * (size_t)N * C * H * W);
	for (int n = 0; n < N; n++)
		for (int m = 0; m < M; m++)
			for (int oh = 0; oh < OH; oh++)
				for (int ow = 0; ow < OW; ow++) {
					float g = dy[(((size_t)n * M + m) * OH + oh) * OW + ow];

					db[m] += g;
					for (int c = 0; c < C; c++)
						for (int ki = 0; ki < K; ki++)
							for (int kj = 0; kj < K; kj++) {
								int ih = oh * stride - pad + ki;
								int iw = ow * stride - pad + kj;
								size_t xi = (((size_t)n * C + c) * H + ih) * W + iw;
								int wi = ((m * C + c) * K + ki) * K + kj;
								float v;

								if (ih < 0 || ih >= H || iw < 0 || iw >= W)
									continue;
								v = x[xi];
								if (scale)
									v = v * scale[c] + shift[c];
								dw[wi] += g * v;
								if (dx)
									dx[xi] += g * w[wi];
							}
				}
}

// cnn_conv_backward, and with dyp cnn_conv_backward_unpool
static void conv_backward(float *dx, float *dw, float *db, float *ws, float *dy,
			  const float *dyp, const uint8_t *idx, const float *ga,
			  const float *gb, const float *gd, const float *y,
			  const float *x, const float *scale, const float *shift,
			  const float *w, int N, int C, int H, int W, int M,
			  int K, int stride, int pad, int relu, int nthreads)
{
	int OH = cnn_conv_out(H, K, stride, pad), OW = cnn_conv_out(W, K, stride, pad);
	int ckk = C * K * K, ohw = OH * OW;
	size_t per = thread_floats(C, H, W, M, K, stride, pad);
	size_t colsz = col_floats(C, H, W, K, stride, pad), slot = chunk_floats(C, M, K);
	int nch = (N + CNN_CONV_CHUNK - 1) / CNN_CONV_CHUNK;
	int wgw = cnn_winograd_applies(C, K, stride, pad), wino = dx && wgw;
	int G = wgw ? cnn_winograd_group(H, W) : 1;
	int nd = M * ckk;
	size_t wsz = wino_floats(C, H, W, M, K, stride, pad);
	size_t dwoff = dw_floats(C, M, K);
	float *U = ws + per * nthreads;
	float *slots = U + u_floats(C, M, K, stride, pad);

#pragma omp parallel num_threads(nthreads)
	{
		int tid = omp_get_thread_num(), nt = omp_get_num_threads();
		float *col = ws + per * tid, *dcol = col + colsz;
		float *wws = col + 2 * colsz, *dU = wws + wsz;

		if (wino)
			weights_share(U, w, M, C, 1);
#pragma omp for schedule(dynamic, 1)
		for (int ch = 0; ch < nch; ch++) {
			float *dwl = slots + slot * ch, *dbl = dwl + dwoff;
			int hi = (ch + 1) * CNN_CONV_CHUNK < N ? (ch + 1) * CNN_CONV_CHUNK : N;

			memset(dwl, 0, sizeof(float) * (size_t)nd);
			memset(dbl, 0, sizeof(float) * M);
			if (wgw)
				memset(dU, 0, sizeof(float) * CNN_WINOGRAD_TILE * (size_t)M * C);
			for (int lo = ch * CNN_CONV_CHUNK; lo < hi; lo += G) {
				int ghi = lo + G < hi ? lo + G : hi;

				for (int n = lo; n < ghi; n++) {
					float *dyn = dy + (size_t)n * M * ohw;
					const float *yn = y + (size_t)n * M * ohw;

					if (dyp)
						epilogue_unpool(dyn, dbl, yn, dyp + (size_t)n * M * (ohw / 4),
								idx + (size_t)n * M * (ohw / 4), ga, gb,
								gd, M, OH, OW, relu);
					else
						epilogue_backward(dyn, dbl, yn, ga, gb, gd, M, ohw, relu);
					if (wgw)
						continue;
					cnn_im2col(col, x + (size_t)n * C * H * W, scale, shift, C, H,
						   W, K, stride, pad);
					wgrad_gemm(dwl, dyn, col, dcol, M, ckk, ohw);
					if (dx) {
						float *dxn = dx + (size_t)n * C * H * W;

						cnn_gemm(1, 0, ckk, ohw, M, 1.0f, w, ckk, dyn, ohw, 0.0f,
							 dcol, ohw);
						memset(dxn, 0, sizeof(float) * (size_t)C * H * W);
						cnn_col2im(dxn, dcol, C, H, W, K, stride, pad);
					}
				}
				if (!wgw)
					continue;
				cnn_winograd_wgrad(dU, wws, dy + (size_t)lo * M * ohw,
						   x + (size_t)lo * C * H * W, scale, shift,
						   ghi - lo, C, H, W, M);
				if (wino)
					cnn_winograd_conv(dx + (size_t)lo * C * H * W, wws,
							  dy + (size_t)lo * M * ohw, NULL, NULL, U,
							  ghi - lo, M, H, W, C);
			}
			if (wgw)
				cnn_winograd_wgrad_finish(dwl, dU, M, C);
		}
		/* (the omp for ends with a barrier) reduce the chunks in order */
		int elo, ehi;
		chunk(nd + M, tid, nt, &elo, &ehi);
		for (int e = elo; e < ehi; e++) {
			size_t off = e < nd ? (size_t)e : dwoff + (size_t)(e - nd);
			float s = 0;

			for (int c = 0; c < nch; c++)
				s += slots[slot * c + off];
			if (e >= nd)
				db[e - nd] += s;
			else
				dw[e] += s;
		}
	}
}

void cnn_conv_backward(float *dx, float *dw, float *db, float *ws, float *dy,
		       const float *ga, const float *gb, const float *gd,
		       const float *y, const float *x, const float *scale,
		       const float *shift, const float *w, int N, int C, int H,
		       int W, int M, int K, int stride, int pad, int relu,
		       int nthreads)
{
	conv_backward(dx, dw, db, ws, dy, NULL, NULL, ga, gb, gd, y, x, scale,
		      shift, w, N, C, H, W, M, K, stride, pad, relu, nthreads);
}

void cnn_conv_backward_unpool(float *dx, float *dw, float *db, float *ws,
			      float *dy, const float *dyp, const uint8_t *idx,
			      const float *ga, const float *gb, const float *gd,
			      const float *y, const float *x, const float *scale,
			      const float *shift, const float *w, int N, int C,
			      int H, int W, int M, int K, int stride, int pad,
			      int relu, int nthreads)
{
	conv_backward(dx, dw, db, ws, dy, dyp, idx, ga, gb, gd, y, x, scale,
		      shift, w, N, C, H, W, M, K, stride, pad, relu, nthreads);
}
