/* gemm_nopack.c - C = A B (+ C) for the small-K products of the Winograd
 * path (K = channels, 16..128), where OpenBLAS spends as long packing its
 * operands as multiplying them. B (K,N) is read in place, 32 columns at a
 * time (two AVX-512 registers per row), against 8 rows of A broadcast one
 * value at a time: 16 accumulators stay in registers for the whole K.
 * Each C element sums k = 0..K-1 in order with one FMA chain, so the bits
 * depend only on the shapes. Without AVX-512 (checked once at run time)
 * it falls back to cnn_gemm. See kernels.h. */
#include "trainer/kernels.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX512_PATH 1
#endif

#ifdef HAVE_AVX512_PATH
#define AVX512 __attribute__((target("avx512f")))

// rows i0..i0+MR-1, columns n0..n0+31 (masks k0/k1 for the first/second 16)
static inline __attribute__((always_inline)) AVX512 void
tile(int MR, int K, const float *A, int lda, const float *B, int ldb, float *C,
     int ldc, __mmask16 k0, __mmask16 k1, int accumulate)
{
	__m512 c0[8], c1[8];

#pragma GCC unroll 8
	for (int i = 0; i < MR; i++) {
		c0[i] = accumulate ? _mm512_maskz_loadu_ps(k0, C + (size_t)i * ldc)
				   : _mm512_setzero_ps();
		c1[i] = accumulate ? _mm512_maskz_loadu_ps(k1, C + (size_t)i * ldc + 16)
				   : _mm512_setzero_ps();
	}
	for (int k = 0; k < K; k++) {
		const float *b = B + (size_t)k * ldb;
		__m512 b0 = _mm512_maskz_loadu_ps(k0, b);
		__m512 b1 = _mm512_maskz_loadu_ps(k1, b + 16);

	#pragma GCC unroll 8
	for (int i = 0; i < MR; i++) {
			__m512 a = _mm512_set1_ps(A[(size_t)i * lda + k]);

			c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
			c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < MR; i++) {
		_mm512_mask_storeu_ps(C + (size_t)i * ldc, k0, c0[i]);
		_mm512_mask_storeu_ps(C + (size_t)i * ldc + 16, k1, c1[i]);
	}
}

static AVX512 void gemm_avx512(int M, int N, int K, const float *A, int lda,
			       const float *B, int ldb, float *C, int ldc,
			       int accumulate)
{
	for (int n0 = 0; n0 < N; n0 += 32) {
		int nn = N - n0 < 32 ? N - n0 : 32;
		__mmask16 k0 = nn >= 16 ? 0xffff : (__mmask16)((1u << nn) - 1);
		__mmask16 k1 = nn >= 32 ? 0xffff
			     : nn > 16 ? (__mmask16)((1u << (nn - 16)) - 1) : 0;

		for (int i0 = 0; i0 < M; i0 += 8) {
			const float *a = A + (size_t)i0 * lda;
			float *c = C + (size_t)i0 * ldc + n0;

			/* a constant row count per case keeps the accumulators
			 * in registers */
			switch (M - i0 < 8 ? M - i0 : 8) {
			case 8: tile(8, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			case 7: tile(7, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			case 6: tile(6, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			case 5: tile(5, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			case 4: tile(4, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			case 3: tile(3, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			case 2: tile(2, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			default: tile(1, K, a, lda, B + n0, ldb, c, ldc, k0, k1, accumulate); break;
			}
		}
	}
}

// dst (16,16) = src (16,16)^T, rows lds / ldd floats apart: unpack pairs,
// then 64- and 128-bit lane shuffles
static AVX512 void transpose16(float *dst, size_t ldd, const float *src,
			       size_t lds)
{
	__m512 r[16], t[16];

	for (int i = 0; i < 16; i++)
		r[i] = _mm512_loadu_ps(src + i * lds);
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
		r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
	for (int i = 0; i < 4; i++) {
		t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
		t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
		t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
		t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
	}
	for (int i = 0; i < 8; i++) {
		r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
		r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
	}
	for (int i = 0; i < 16; i++)
		_mm512_storeu_ps(dst + i * ldd, r[i]);
}

static AVX512 void transpose_avx512(float *dst, int ldd, const float *src,
				    int lds, int rows, int cols)
{
	int r16 = rows & ~15, c16 = cols & ~15;

	for (int i = 0; i < r16; i += 16)
		for (int j = 0; j < c16; j += 16)
			transpose16(dst + (size_t)j * ldd + i, (size_t)ldd,
				    src + (size_t)i * lds + j, (size_t)lds);
	/* the edges */
	for (int i = 0; i < rows; i++)
		for (int j = i < r16 ? c16 : 0; j < cols; j++)
			dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j];
}
#endif

void cnn_transpose_ref(float *dst, int ldd, const float *src, int lds,
		       int rows, int cols)
{
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++)
			dst[(size_t)j * ldd + i] = src[(size_t)i * lds + j];
}

void cnn_transpose(float *dst, int ldd, const float *src, int lds, int rows,
		   int cols)
{
#ifdef HAVE_AVX512_PATH
	if (cnn_gemm_nopack_fast()) {
		transpose_avx512(dst, ldd, src, lds, rows, cols);
		return;
	}
#endif
	cnn_transpose_ref(dst, ldd, src, lds, rows, cols);
}

int cnn_gemm_nopack_fast(void)
{
#ifdef HAVE_AVX512_PATH
	static int have = -1;

	if (have < 0)
		have = __builtin_cpu_supports("avx512f") ? 1 : 0;
	return have;
#else
	return 0;
#endif
}

void cnn_gemm_nopack(int M, int N, int K, const float *A, int lda,
		     const float *B, int ldb, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
#ifdef HAVE_AVX512_PATH
	if (cnn_gemm_nopack_fast()) {
		gemm_avx512(M, N, K, A, lda, B, ldb, C, ldc, beta != 0);
		return;
	}
#endif
	cnn_gemm(0, 0, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
