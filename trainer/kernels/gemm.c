/* gemm.c - matrix multiply: plain loops and cblas_sgemm, BLAS argument order.
 * See include/trainer/kernels.h. */
#include "trainer/kernels.h"

#include "base/blas_api.h"

// C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, row-major
void cnn_gemm_ref(int TA, int TB, int M, int N, int K, float alpha,
		  const float *A, int lda, const float *B, int ldb, float beta,
		  float *C, int ldc)
{
	for (int i = 0; i < M; i++) {
		for (int j = 0; j < N; j++) {
			double sum = 0;

			for (int k = 0; k < K; k++) {
				float a = TA ? A[k * lda + i] : A[i * lda + k];
				float b = TB ? B[j * ldb + k] : B[k * ldb + j];

				sum += (double)a * b;
			}
			C[i * ldc + j] = (float)(alpha * sum +
				(beta == 0 ? 0.0 : (double)beta * C[i * ldc + j]));
		}
	}
}

void cnn_gemm(int TA, int TB, int M, int N, int K, float alpha,
	      const float *A, int lda, const float *B, int ldb, float beta,
	      float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return;
	if (K <= 0) {
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
				C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
		return;
	}
	sw_blas_need();
	sw_blas.cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans,
		    TB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
		    ldb, beta, C, ldc);
}

void cnn_blas_single_thread(void)
{
	sw_blas_need();
	sw_blas.openblas_set_num_threads(1);
}
