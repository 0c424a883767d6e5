/*
 * kernels.h - the numeric kernels of the CIFAR-10 CNN, each in two versions:
 * a plain `_ref` version (obvious loops, used by the tests as the truth) and
 * the fast version the trainer runs (OpenBLAS sgemm called single-threaded
 * from inside OpenMP regions of `nthreads` threads, vectorisable loops).
 *
 * Conventions (llm.c style):
 *   - outputs first, then inputs, then sizes;
 *   - tensors are NCHW float32, row-major; a "col" matrix is (C*K*K, OH*OW);
 *   - parameter gradients accumulate (+=) so the caller zeroes them once per
 *     step; activation gradients (dx) are written (=) and, where a comment
 *     says so, may alias the incoming gradient;
 *   - `scale`/`shift` (C floats, both NULL for none) is a pending per-channel
 *     affine map x*scale[c]+shift[c] applied to the input on the fly: this is
 *     how a BatchNorm output reaches the next conv or pool without ever being
 *     stored. Padding stays zero (it pads the BatchNorm output).
 *   - fast kernels open `#pragma omp parallel num_threads(nthreads)` and call
 *     BLAS inside it, where the OpenMP build of OpenBLAS runs on one thread;
 *     cnn_blas_single_thread() makes that true for a team of one as well.
 *     Their results are bit-identical for the same nthreads.
 *
 * defines: cnn_gemm_ref, cnn_gemm, cnn_gemm_nopack, cnn_gemm_nopack_fast,
 *          cnn_transpose_ref, cnn_transpose,
 *          cnn_blas_single_thread,
 *          cnn_im2col_ref, cnn_im2col, cnn_col2im_ref, cnn_col2im,
 *          cnn_conv_out, cnn_conv_ws_floats, cnn_conv_forward_ref,
 *          cnn_conv_forward, cnn_conv_backward_ref, cnn_conv_backward,
 *          cnn_conv_backward_unpool,
 *          cnn_winograd_applies, cnn_winograd_group, cnn_winograd_ws_floats,
 *          cnn_winograd_weights, cnn_winograd_weights_ref,
 *          cnn_winograd_weights_rows, cnn_winograd_conv, cnn_winograd_wgrad,
 *          cnn_winograd_wgrad_finish,
 *          cnn_bn_stats_ref, cnn_bn_stats, cnn_bn_partials_ref,
 *          cnn_bn_stats_reduce, cnn_bn_affine, cnn_bn_backward_ref,
 *          cnn_bn_backward, cnn_bn_backward_affine,
 *          cnn_bn_backward_affine_pooled, cnn_relu_forward_ref,
 *          cnn_relu_forward,
 *          cnn_relu_backward_ref, cnn_relu_backward, cnn_maxpool_forward_ref,
 *          cnn_maxpool_forward, cnn_maxpool_backward_ref, cnn_maxpool_backward,
 *          cnn_dropout_mask, cnn_dropout_forward_ref, cnn_dropout_forward,
 *          cnn_dropout_backward_ref, cnn_dropout_backward,
 *          cnn_dense_forward_ref, cnn_dense_forward, cnn_dense_backward_ref,
 *          cnn_dense_backward, cnn_softmax_xent_ref,
 *          cnn_softmax_xent, cnn_adam_ref, cnn_adam, cnn_sgd_ref, cnn_sgd,
 *          cnn_rmsprop_ref, cnn_rmsprop,
 *          struct cnn_conv_epilogue, cnn_nhwc_pad, cnn_conv_nhwc_ref,
 *          cnn_conv_nhwc_direct_weights, cnn_conv_nhwc_direct_ws_floats,
 *          cnn_conv_nhwc_direct, cnn_wino_nhwc_weights, cnn_wino_nhwc_group,
 *          cnn_wino_nhwc_ws_floats, cnn_wino_nhwc_conv
 */
#ifndef CNN_KERNELS_H
#define CNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* For kernel implementations: compile a hot loop for AVX-512, AVX2 and the
 * baseline, picked at load time (GCC ifunc), since the build targets plain
 * x86-64. Empty elsewhere (clang builds, other architectures). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CNN_SIMD_CLONES \
	__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CNN_SIMD_CLONES
#endif

/* ==== GEMM (gemm.c) ==== */

/* C (M,N) = alpha * op(A) op(B) + beta * C, row-major, BLAS argument order
 * (darknet gemm()): op(A) is (M,K), op(B) is (K,N); TA/TB non-zero mean
 * transposed. beta 0 ignores C's old contents. */
void cnn_gemm_ref(int TA, int TB, int M, int N, int K, float alpha,
		  const float *A, int lda, const float *B, int ldb, float beta,
		  float *C, int ldc);
/* Same through cblas_sgemm (single-threaded when called in our regions). */
void cnn_gemm(int TA, int TB, int M, int N, int K, float alpha,
	      const float *A, int lda, const float *B, int ldb, float beta,
	      float *C, int ldc);

/* Sets OpenBLAS to one thread (process-wide); every net calls it so that
 * BLAS never adds threads of its own. The OpenMP build also sets the calling
 * thread's OpenMP default to 1 and, at each call made outside an active
 * parallel region, follows that default: so a team of one must run with the
 * default at 1 (cnn_net_forward/backward see to it). */
void cnn_blas_single_thread(void);

/* C (M,N) = A (M,K) B (K,N) + beta * C, beta 0 or 1, row-major, no
 * transposes, for the small products of the convolutions (Winograd: K =
 * channels; im2col: K = 27 for 3 channels): AVX-512 without OpenBLAS's
 * packing, summing each element's k in order (so the bits depend only on
 * the shapes); cnn_gemm where the CPU lacks AVX-512.
 * The reference is cnn_gemm_ref(0, 0, ...) (gemm_nopack.c). */
void cnn_gemm_nopack(int M, int N, int K, const float *A, int lda,
		     const float *B, int ldb, float beta, float *C, int ldc);
/* Non-zero when cnn_gemm_nopack runs its AVX-512 path on this CPU. */
int cnn_gemm_nopack_fast(void);
/* dst (cols,rows) = src (rows,cols)^T, rows ldd / lds floats apart: the
 * operand cnn_gemm_nopack needs for an A B^T product (16x16 AVX-512
 * blocks where cnn_gemm_nopack_fast). */
void cnn_transpose_ref(float *dst, int ldd, const float *src, int lds,
		       int rows, int cols);
void cnn_transpose(float *dst, int ldd, const float *src, int lds, int rows,
		   int cols);

/* ==== im2col / col2im (im2col.c) ==== */

/* Output side of a convolution: (H + 2*pad - K) / stride + 1. */
int cnn_conv_out(int H, int K, int stride, int pad);

/* col (C*K*K, OH*OW) = patches of one image x (C,H,W) with the optional
 * affine; row (c*K+ki)*K+kj, column oh*OW+ow. */
void cnn_im2col_ref(float *col, const float *x, const float *scale,
		    const float *shift, int C, int H, int W, int K, int stride,
		    int pad);
void cnn_im2col(float *col, const float *x, const float *scale,
		const float *shift, int C, int H, int W, int K, int stride,
		int pad);

/* dx (C,H,W) += the patches of col (C*K*K, OH*OW) scattered back. */
void cnn_col2im_ref(float *dx, const float *col, int C, int H, int W, int K,
		    int stride, int pad);
/* The fast version uses col as scratch: its entries for padding positions
 * may be overwritten. */
void cnn_col2im(float *dx, float *col, int C, int H, int W, int K, int stride,
		int pad);

/* ==== Convolution (conv.c) ==== */

/* Images per work unit of the fast convolution: threads take chunks of
 * this many images as they become free (dynamic scheduling, so a thread
 * slowed down by another process does not hold the others up), and weight
 * gradients are summed per chunk and then over chunks in order, so results
 * do not depend on which thread ran which chunk. */
#define CNN_CONV_CHUNK 16

/* Floats of workspace cnn_conv_forward/backward need for a batch of up to
 * N images on nthreads threads. */
size_t cnn_conv_ws_floats(int N, int C, int H, int W, int M, int K,
			  int stride, int pad, int nthreads);

/* y (N,M,OH,OW) = conv(x (N,C,H,W) with affine, w (M,C*K*K)) + b (M), then
 * ReLU when relu is set. part (N,M,2), NULL to skip, receives per image and
 * channel the sum and sum of squares of y (what cnn_bn_stats_reduce turns
 * into BatchNorm statistics without another pass over y).
 * ws: cnn_conv_ws_floats() floats. */
void cnn_conv_forward_ref(float *y, double *part, const float *x,
			  const float *scale, const float *shift, const float *w,
			  const float *b, int N, int C, int H, int W, int M, int K,
			  int stride, int pad, int relu);
void cnn_conv_forward(float *y, double *part, float *ws, const float *x,
		      const float *scale, const float *shift, const float *w,
		      const float *b, int N, int C, int H, int W, int M, int K,
		      int stride, int pad, int relu, int nthreads);

/* Backward of cnn_conv_forward. dy (N,M,OH,OW) is the gradient of y; when
 * ga is non-NULL it is first replaced by ga[m]*dy + gb[m]*y + gd[m] (the
 * backward of a BatchNorm that follows, see cnn_bn_backward_affine); with
 * relu set it is then masked by y > 0; all in place. dw (M,C*K*K) +=,
 * db (M) +=, dx (N,C,H,W) = gradient of the (affine-mapped) input, or NULL
 * to skip. */
void cnn_conv_backward_ref(float *dx, float *dw, float *db, float *dy,
			   const float *ga, const float *gb, const float *gd,
			   const float *y, const float *x, const float *scale,
			   const float *shift, const float *w, int N, int C,
			   int H, int W, int M, int K, int stride, int pad,
			   int relu);
void cnn_conv_backward(float *dx, float *dw, float *db, float *ws, float *dy,
		       const float *ga, const float *gb, const float *gd,
		       const float *y, const float *x, const float *scale,
		       const float *shift, const float *w, int N, int C, int H,
		       int W, int M, int K, int stride, int pad, int relu,
		       int nthreads);
/* cnn_conv_backward when a BatchNorm and a 2x2 max-pool follow the conv
 * (conv -> ReLU -> BatchNorm -> pool): dy is not read but written, each
 * image's planes built from the pool's output gradient dyp (N,M,OH/2,OW/2)
 * and argmax idx just before they are used, then mapped as above. Gives
 * what cnn_maxpool_backward into dy then cnn_conv_backward give, up to the
 * rounding of db. OH and OW even; dyp must not overlap dx or dy. */
void cnn_conv_backward_unpool(float *dx, float *dw, float *db, float *ws,
			      float *dy, const float *dyp, const uint8_t *idx,
			      const float *ga, const float *gb, const float *gd,
			      const float *y, const float *x, const float *scale,
			      const float *shift, const float *w, int N, int C,
			      int H, int W, int M, int K, int stride, int pad,
			      int relu, int nthreads);

/* ==== Winograd F(4x4,3x3) convolution (winograd.c) ==== */

/* cnn_conv_forward uses Winograd for the forward pass, and
 * cnn_conv_backward for the input gradient, of 3x3 stride-1 pad-1
 * convolutions with at least this many input channels, and for the weight
 * gradient (summed in the transformed domain over a chunk of images, mapped
 * back, then summed over chunks in order). Winograd rounds differently from the
 * direct sum: the tests bound the difference (see tests/test_winograd.c). */
#define CNN_WINOGRAD_MIN_C 16
/* Transformed positions of a tile: 6x6 inputs for 4x4 outputs. */
#define CNN_WINOGRAD_TILE 36

/* Non-zero when cnn_conv_forward/backward take the Winograd path for C
 * input channels. */
int cnn_winograd_applies(int C, int K, int stride, int pad);
/* Images per cnn_winograd_conv call the conv kernels use for HxW planes
 * (1..CNN_CONV_CHUNK, a fixed function of the shape so results do not
 * depend on the thread count). */
int cnn_winograd_group(int H, int W);
/* Floats of scratch one cnn_winograd_conv call of cnn_winograd_group(H, W)
 * images needs (one per thread). */
size_t cnn_winograd_ws_floats(int C, int H, int W, int M);
/* U (36,R,S) = the transformed 3x3 kernels of w (M,C,3,3): R=M, S=C
 * forward; with flip R=C, S=M and each kernel rotated by 180 degrees (the
 * correlation that maps an output gradient (M,H,W) to the input gradient). */
void cnn_winograd_weights(float *U, const float *w, int M, int C, int flip);
void cnn_winograd_weights_ref(float *U, const float *w, int M, int C, int flip);
/* Rows r0..r1-1 of that U (R = M, or C with flip), so that threads can
 * share the transform; the same bits as the whole. */
void cnn_winograd_weights_rows(float *U, const float *w, int M, int C,
			       int flip, int r0, int r1);
/* y (nimg,M,H,W) = the 3x3 pad-1 correlation of x (nimg,C,H,W) (with the
 * optional affine) with the kernels U (36,M,C) from cnn_winograd_weights;
 * no bias. Any H, W >= 1 and 1 <= nimg <= cnn_winograd_group(H, W); ws:
 * cnn_winograd_ws_floats(C, H, W, M) floats. Serial (single-threaded
 * GEMMs); each image's result does not depend on nimg's grouping only if
 * the groups are the same, which is why the grouping is fixed. */
void cnn_winograd_conv(float *y, float *ws, const float *x, const float *scale,
		       const float *shift, const float *U, int nimg, int C,
		       int H, int W, int M);
/* The weight gradient of that correlation in the transformed domain:
 * dU (36,M,C) += the products of the transformed output gradient dy
 * (nimg,M,H,W) and input tiles of x (nimg,C,H,W) (with the affine); same
 * limits and ws as cnn_winograd_conv. */
void cnn_winograd_wgrad(float *dU, float *ws, const float *dy, const float *x,
			const float *scale, const float *shift, int nimg, int C,
			int H, int W, int M);
/* dw (M,C,3,3) += G^T dU G: the 3x3 weight gradient from the summed dU
 * (36,M,C). */
void cnn_winograd_wgrad_finish(float *dw, const float *dU, int M, int C);

/* ==== Evaluation convolutions, channels last (conv_nhwc.c) ==== */

/* The fused evaluation pass (trainer/eval.c) keeps each image channels
 * last, (H,W,C), and applies what follows a conv in its epilogue. Serial
 * kernels: the caller runs them on its threads' chunks of images; each
 * image's result does not depend on the chunking.
 *
 * A "padded" image is (cnn_nhwc_pad(H), cnn_nhwc_pad(W), C): the values at
 * rows 1..H and columns 1..W, zeros elsewhere (the 3x3 'same' padding, and
 * up to whole 4x4 Winograd tiles). Outputs: image n's value (h,w,m)
 * (pooled coordinates with pool) at y[n*ys + h*yrow + w*M + m], so a conv
 * can write into the inside of the next one's padded input. */
int cnn_nhwc_pad(int H);        /* 4*ceil(H/4) + 2 */

/* Per output channel m: v = acc + b[m]; max(v, 0) when relu; then
 * v*scale[m] + shift[m] (the BatchNorm after, with moving statistics;
 * scale NULL for none); with pool, the max over each 2x2 window (odd
 * trailing rows/columns dropped) - the order of the training layers. */
struct cnn_conv_epilogue {
	const float *b, *scale, *shift;
	int relu, pool;
};

/* Reference of both: the direct 3x3 pad-1 correlation of x (N,C,H,W)
 * (channels first) with w (M,C,3,3), summed in double, then the epilogue. */
void cnn_conv_nhwc_ref(float *y, size_t ys, size_t yrow, const float *x,
		       const float *w, const struct cnn_conv_epilogue *ep, int N,
		       int C, int H, int W, int M);

/* The first layer (few channels): x (N,C,H,W) channels first, copied
 * channels last with a border of zeros, then per output row three
 * cnn_gemm_nopack products (one per kernel row, the image rows read in
 * place as overlapping patch rows) with wt (9*C, M) from
 * cnn_conv_nhwc_direct_weights; no pool. ws:
 * cnn_conv_nhwc_direct_ws_floats. */
void cnn_conv_nhwc_direct_weights(float *wt, const float *w, int M, int C);
size_t cnn_conv_nhwc_direct_ws_floats(int C, int H, int W);
void cnn_conv_nhwc_direct(float *y, size_t ys, size_t yrow, float *ws,
			  const float *x, const float *wt,
			  const struct cnn_conv_epilogue *ep, int N, int C, int H,
			  int W, int M);

/* Winograd F(4x4,3x3) on padded channels-last images (image n at
 * xp + n*xs) with UT (36,C,M) from cnn_wino_nhwc_weights (tmp: 36*M*C
 * floats); tiles of all N images in groups of cnn_wino_nhwc_group(C, M).
 * ws: cnn_wino_nhwc_ws_floats(C, M). Rounds as cnn_winograd_conv does. */
void cnn_wino_nhwc_weights(float *UT, float *tmp, const float *w, int M,
			   int C);
int cnn_wino_nhwc_group(int C, int M);
size_t cnn_wino_nhwc_ws_floats(int C, int M);
void cnn_wino_nhwc_conv(float *y, size_t ys, size_t yrow, float *ws,
			const float *xp, size_t xs, const float *UT,
			const struct cnn_conv_epilogue *ep, int N, int C, int H,
			int W, int M);

/* ==== BatchNorm (bn.c) ==== */

/* Batch statistics of x (N,C,HW) per channel: mean (C) and biased var (C),
 * accumulated in double. */
void cnn_bn_stats_ref(float *mean, float *var, const float *x, int N, int C,
		      int HW);
void cnn_bn_stats(float *mean, float *var, const float *x, int N, int C,
		  int HW, int nthreads);

/* Per-image partial sums of x (N,C,HW): part (N,C,2) = sum, sum of squares
 * (the reference of what cnn_conv_forward produces). */
void cnn_bn_partials_ref(double *part, const float *x, int N, int C, int HW);
/* mean, biased var (C) from per-image partial sums part (N,C,2) over
 * N*HW values, reduced in image order. */
void cnn_bn_stats_reduce(float *mean, float *var, const double *part, int N,
			 int C, int HW);

/* scale (C) = gamma / sqrt(var + eps), shift (C) = beta - mean * scale: the
 * BatchNorm output is x*scale + shift. */
void cnn_bn_affine(float *scale, float *shift, const float *gamma,
		   const float *beta, const float *mean, const float *var,
		   float eps, int C);

/* Backward of BatchNorm with batch statistics. dy (N,C,HW) gradient of the
 * output; x the input; mean/var its batch statistics. dgamma, dbeta (C) +=;
 * dx (N,C,HW) = gradient of x (may alias dy). */
void cnn_bn_backward_ref(float *dx, float *dgamma, float *dbeta,
			 const float *dy, const float *x, const float *mean,
			 const float *var, const float *gamma, float eps,
			 int N, int C, int HW);
void cnn_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
		     const float *x, const float *mean, const float *var,
		     const float *gamma, float eps, int N, int C, int HW,
		     int nthreads);

/* The same backward split in two so that the gradient pass can be fused
 * into the layer before: dgamma, dbeta (C) += and the per-channel map
 * dx = ga*dy + gb*x + gd (ga, gb, gd: C each), after one reading pass over
 * dy and x. cnn_conv_backward applies the map while it reads dy. */
void cnn_bn_backward_affine(float *ga, float *gb, float *gd, float *dgamma,
			    float *dbeta, const float *dy, const float *x,
			    const float *mean, const float *var,
			    const float *gamma, float eps, int N, int C, int HW,
			    int nthreads);
/* The same when a 2x2 max-pool follows the BatchNorm: dy is never
 * stored, only the pool's output gradient dyp (N,C,H/2,W/2) and its argmax
 * idx (cnn_maxpool_forward), so that x is read only at each window's max;
 * H and W even. Equals cnn_maxpool_backward followed by
 * cnn_bn_backward_affine up to rounding (the zeros are not summed). */
void cnn_bn_backward_affine_pooled(float *ga, float *gb, float *gd,
				   float *dgamma, float *dbeta,
				   const float *dyp, const uint8_t *idx,
				   const float *x, const float *mean,
				   const float *var, const float *gamma,
				   float eps, int N, int C, int H, int W,
				   int nthreads);

/* ==== ReLU (act.c) ==== */

/* y (n) = max(x, 0) (may alias x). */
void cnn_relu_forward_ref(float *y, const float *x, size_t n);
void cnn_relu_forward(float *y, const float *x, size_t n, int nthreads);
/* dx (n) = dy where y > 0, else 0 (may alias dy). */
void cnn_relu_backward_ref(float *dx, const float *dy, const float *y,
			   size_t n);
void cnn_relu_backward(float *dx, const float *dy, const float *y, size_t n,
		       int nthreads);

/* ==== Max pooling 2x2, stride 2 (pool.c) ==== */

/* y (N,C,H/2,W/2) = max over each 2x2 window of x (N,C,H,W) with affine;
 * idx (N,C,H/2,W/2) = position of the max in its window (0..3, first wins);
 * odd trailing rows/columns are dropped (Keras "valid"). */
void cnn_maxpool_forward_ref(float *y, uint8_t *idx, const float *x,
			     const float *scale, const float *shift, int N,
			     int C, int H, int W);
void cnn_maxpool_forward(float *y, uint8_t *idx, const float *x,
			 const float *scale, const float *shift, int N, int C,
			 int H, int W, int nthreads);
/* dx (N,C,H,W) = dy (N,C,H/2,W/2) routed to each window's max, 0 elsewhere. */
void cnn_maxpool_backward_ref(float *dx, const float *dy, const uint8_t *idx,
			      int N, int C, int H, int W);
void cnn_maxpool_backward(float *dx, const float *dy, const uint8_t *idx,
			  int N, int C, int H, int W, int nthreads);

/* ==== Dropout (dropout.c) ==== */

/* mask (N,D): 1 with probability 1-rate (rate rounded to a multiple of
 * 1/65536), else 0; row i drawn from a PCG32 stream derived from (seed, i),
 * so masks do not depend on thread count. */
void cnn_dropout_mask(uint8_t *mask, uint64_t seed, float rate, int N, int D,
		      int nthreads);
/* y (N,D) = (x*scale+shift) * mask / (1-rate), the affine per channel of
 * HW consecutive values (D = C*HW; scale/shift NULL for none); may alias x
 * when there is no affine. */
void cnn_dropout_forward_ref(float *y, const float *x, const float *scale,
			     const float *shift, const uint8_t *mask,
			     float rate, int N, int C, int HW);
void cnn_dropout_forward(float *y, const float *x, const float *scale,
			 const float *shift, const uint8_t *mask, float rate,
			 int N, int C, int HW, int nthreads);
/* dx (n) = dy * mask / (1-rate) (may alias dy). */
void cnn_dropout_backward_ref(float *dx, const float *dy, const uint8_t *mask,
			      float rate, size_t n);
void cnn_dropout_backward(float *dx, const float *dy, const uint8_t *mask,
			  float rate, size_t n, int nthreads);

/* ==== Dense (dense.c) ==== */

/* y (N,O) = x (N,I) w (I,O) + b (O), ReLU when relu is set (Keras kernel
 * layout: inputs by outputs). */
void cnn_dense_forward_ref(float *y, const float *x, const float *w,
			   const float *b, int N, int I, int O, int relu);
void cnn_dense_forward(float *y, const float *x, const float *w,
		       const float *b, int N, int I, int O, int relu,
		       int nthreads);
/* dy (N,O) masked in place by y > 0 when relu; dw (I,O) +=, db (O) +=,
 * dx (N,I) = dy w^T (NULL to skip). */
void cnn_dense_backward_ref(float *dx, float *dw, float *db, float *dy,
			    const float *y, const float *x, const float *w,
			    int N, int I, int O, int relu);
void cnn_dense_backward(float *dx, float *dw, float *db, float *dy,
			const float *y, const float *x, const float *w, int N,
			int I, int O, int relu, int nthreads);

/* ==== Softmax cross-entropy (softmax.c) ==== */

/* For logits (N,K) and labels (N): returns the summed loss over the batch
 * (double); dlogits (N,K) = (softmax - onehot) * grad_scale (NULL to skip);
 * *correct (NULL to skip) = how many argmax(logits) equal the label. The
 * fast version is serial (N*K is tiny) but works in float with expf. */
double cnn_softmax_xent_ref(float *dlogits, int *correct, const float *logits,
			    const uint8_t *labels, int N, int K,
			    float grad_scale);
double cnn_softmax_xent(float *dlogits, int *correct, const float *logits,
			const uint8_t *labels, int N, int K, float grad_scale,
			int nthreads);

/* ==== Optimizers (adam.c, sgd.c, rmsprop.c) ==== */

/* One step over n parameters p with gradients g (L2 decay wd*p added to g
 * first). Adam as Keras: m,v moments, t the 1-based step,
 * p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps). */
void cnn_adam_ref(float *p, float *m, float *v, const float *g, size_t n,
		  float lr, float b1, float b2, float eps, float wd, long t);
void cnn_adam(float *p, float *m, float *v, const float *g, size_t n,
	      float lr, float b1, float b2, float eps, float wd, long t,
	      int nthreads);
/* SGD as Keras: vel = mom*vel - lr*g; p += vel, or with nesterov
 * p += mom*vel - lr*g. */
void cnn_sgd_ref(float *p, float *vel, const float *g, size_t n, float lr,
		 float mom, int nesterov, float wd);
void cnn_sgd(float *p, float *vel, const float *g, size_t n, float lr,
	     float mom, int nesterov, float wd, int nthreads);
/* RMSprop as Keras (rho 0.9, no momentum when mom is 0): v = rho*v +
 * (1-rho)*g^2; with momentum, vel = mom*vel + lr*g/(sqrt(v)+eps), p -= vel;
 * else p -= lr*g/(sqrt(v)+eps). */
void cnn_rmsprop_ref(float *p, float *v, float *vel, const float *g, size_t n,
		     float lr, float rho, float mom, float eps, float wd);
void cnn_rmsprop(float *p, float *v, float *vel, const float *g, size_t n,
		 float lr, float rho, float mom, float eps, float wd,
		 int nthreads);

#endif
