/* test_kernels.c - every fast kernel against its plain reference version on
 * random odd shapes (padding, stride 2, pending affine, 1 and 3 threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "support/support.h"
#include "trainer/kernels.h"

static struct sw_rng rng;

static float *rnd(size_t n, float lo, float hi)
{
	return sw_test_uniform_floats(&rng, n, lo, hi);
}

static float *dup(const float *a, size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));

	assert_non_null(p);
	memcpy(p, a, sizeof(float) * n);
	return p;
}

/* Compares got against want elementwise with |got-want| <= tol*(1+|want|);
 * prints the first few differences and the max difference. */
static int check_tensor(const char *label, const float *got, const float *want,
			size_t n, float tol)
{
	double maxd = 0;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - want[i]);

		if (d > maxd || isnan(d))
			maxd = isnan(d) ? INFINITY : d;
		if (!(d <= tol * (1 + fabs(want[i])))) {
			if (bad < 5)
				printf("  %s[%zu]: got %.7g want %.7g\n", label, i, got[i], want[i]);
			bad++;
		}
	}
	if (bad)
		printf("  %s: %d of %zu differ, max diff %.3g\n", label, bad, n, maxd);
	return bad == 0;
}

static void test_gemm(void **state)
{
	(void)state;
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			int M = 7, N = 13, K = 11;
			int lda = ta ? M + 2 : K + 1, ldb = tb ? K + 3 : N + 1, ldc = N + 2;
			float *A = rnd((size_t)lda * (ta ? K : M), -1, 1);
			float *B = rnd((size_t)ldb * (tb ? N : K), -1, 1);
			float *C1 = rnd((size_t)ldc * M, -1, 1), *C2 = dup(C1, (size_t)ldc * M);

			cnn_gemm_ref(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C1, ldc);
			cnn_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.25f, C2, ldc);
			assert_true(check_tensor("gemm", C2, C1, (size_t)ldc * M, 1e-5f));
			free(A); free(B); free(C1); free(C2);
		}
}

/* the no-pack GEMM of the Winograd path: odd row counts (every case of
 * its 8-row tile), column counts around its 32-column blocks, leading
 * dimensions wider than the matrices, beta 0 and 1; the padding of C
 * past N must stay untouched */
static void test_gemm_nopack(void **state)
{
	static const int shapes[][3] = {
		{ 1, 1, 1 }, { 7, 13, 11 }, { 8, 32, 16 }, { 9, 33, 64 },
		{ 17, 47, 3 }, { 64, 256, 64 }, { 23, 15, 100 }, { 5, 80, 0 },
	};

	(void)state;
	printf("  no-pack AVX-512 path: %s\n", cnn_gemm_nopack_fast() ? "yes" : "no");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (int beta = 0; beta < 2; beta++) {
			int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
			int lda = K + 3, ldb = N + 5, ldc = N + 2;
			float *A = rnd((size_t)lda * M, -1, 1);
			float *B = rnd((size_t)ldb * (K ? K : 1), -1, 1);
			float *C1 = rnd((size_t)ldc * M, -1, 1), *C2 = dup(C1, (size_t)ldc * M);

			cnn_gemm_ref(0, 0, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C1, ldc);
			cnn_gemm_nopack(M, N, K, A, lda, B, ldb, (float)beta, C2, ldc);
			assert_true(check_tensor("gemm_nopack", C2, C1, (size_t)ldc * M, 1e-5f));
			free(A); free(B); free(C1); free(C2);
		}
}

struct conv_case { int N, C, H, W, M, K, stride, pad, relu, affine; };

static const struct conv_case conv_cases[] = {
	{ 3, 5, 7, 9, 6, 3, 1, 1, 1, 1 },
	{ 2, 3, 8, 8, 4, 3, 1, 1, 0, 0 },
	{ 3, 4, 9, 7, 5, 3, 2, 1, 1, 1 },
	{ 2, 2, 6, 5, 3, 5, 1, 2, 1, 0 },
	{ 1, 3, 5, 5, 2, 1, 1, 0, 0, 1 },
	{ 5, 1, 3, 4, 7, 3, 1, 0, 1, 0 },
};

/* the transpose (AVX-512 16x16 blocks and edges) against the plain one */
static void test_transpose(void **state)
{
	static const int sh[][2] = { { 1, 1 }, { 16, 16 }, { 27, 1024 }, { 33, 70 }, { 64, 17 } };

	(void)state;
	for (size_t k = 0; k < sizeof(sh) / sizeof(sh[0]); k++) {
		int R = sh[k][0], C = sh[k][1], lds = C + 3, ldd = R + 5;
		float *src = rnd((size_t)R * lds, -1, 1);
		float *a = rnd((size_t)C * ldd, 0, 1), *b = dup(a, (size_t)C * ldd);

		cnn_transpose_ref(a, ldd, src, lds, R, C);
		cnn_transpose(b, ldd, src, lds, R, C);
		assert_memory_equal(a, b, sizeof(float) * C * ldd);
		assert_true(a[ldd * (C - 1) + R - 1] == src[(size_t)(R - 1) * lds + C - 1]);
		free(src); free(a); free(b);
	}
}

static void test_im2col_col2im(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(conv_cases) / sizeof(conv_cases[0]); k++) {
		const struct conv_case *c = &conv_cases[k];
		int OH = cnn_conv_out(c->H, c->K, c->stride, c->pad);
		int OW = cnn_conv_out(c->W, c->K, c->stride, c->pad);
		size_t ncol = (size_t)c->C * c->K * c->K * OH * OW, nx = (size_t)c->C * c->H * c->W;
		float *x = rnd(nx, -1, 1), *s = rnd(c->C, 0.5f, 2), *t = rnd(c->C, -1, 1);
		float *c1 = rnd(ncol, 0, 1), *c2 = rnd(ncol, 0, 1);
		float *d1 = rnd(nx, -1, 1), *d2 = dup(d1, nx);

		cnn_im2col_ref(c1, x, c->affine ? s : NULL, t, c->C, c->H, c->W, c->K,
			       c->stride, c->pad);
		cnn_im2col(c2, x, c->affine ? s : NULL, t, c->C, c->H, c->W, c->K,
			   c->stride, c->pad);
		assert_true(check_tensor("im2col", c2, c1, ncol, 1e-6f));
		cnn_col2im_ref(d1, c1, c->C, c->H, c->W, c->K, c->stride, c->pad);
		cnn_col2im(d2, c1, c->C, c->H, c->W, c->K, c->stride, c->pad);
		assert_true(check_tensor("col2im", d2, d1, nx, 1e-5f));
		free(x); free(s); free(t); free(c1); free(c2); free(d1); free(d2);
	}
}

static void test_conv(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(conv_cases) / sizeof(conv_cases[0]); k++)
		for (int nt = 1; nt <= 3; nt += 2) {
			const struct conv_case *c = &conv_cases[k];
			int OH = cnn_conv_out(c->H, c->K, c->stride, c->pad);
			int OW = cnn_conv_out(c->W, c->K, c->stride, c->pad);
			int ckk = c->C * c->K * c->K;
			size_t nx = (size_t)c->N * c->C * c->H * c->W;
			size_t ny = (size_t)c->N * c->M * OH * OW;
			const float *s = NULL, *t = NULL;
			float *sc = rnd(c->C, -1.5f, 2), *sh = rnd(c->C, -1, 1);
			float *x = rnd(nx, -1, 1), *w = rnd((size_t)c->M * ckk, -0.5f, 0.5f);
			float *b = rnd(c->M, -0.2f, 0.2f);
			float *y1 = rnd(ny, 0, 1), *y2 = rnd(ny, 0, 1);
			float *ws = rnd(cnn_conv_ws_floats(c->N, c->C, c->H, c->W, c->M, c->K,
							   c->stride, c->pad, nt), 0, 1);
			float *dy1 = rnd(ny, -1, 1), *dy2 = dup(dy1, ny);
			float *dw1 = rnd((size_t)c->M * ckk, -1, 1), *dw2 = dup(dw1, (size_t)c->M * ckk);
			float *db1 = rnd(c->M, -1, 1), *db2 = dup(db1, c->M);
			float *dx1 = rnd(nx, 0, 1), *dx2 = rnd(nx, 0, 1);

			if (c->affine) {
				s = sc;
				t = sh;
			}
			double *p1 = malloc(sizeof(double) * 2 * c->N * c->M);
			double *p2 = malloc(sizeof(double) * 2 * c->N * c->M);
			float *ga = rnd(c->M, 0.5f, 2), *gb = rnd(c->M, -1, 1), *gd = rnd(c->M, -1, 1);

			cnn_conv_forward_ref(y1, p1, x, s, t, w, b, c->N, c->C, c->H, c->W, c->M,
					     c->K, c->stride, c->pad, c->relu);
			cnn_conv_forward(y2, p2, ws, x, s, t, w, b, c->N, c->C, c->H, c->W, c->M,
					 c->K, c->stride, c->pad, c->relu, nt);
			assert_true(check_tensor("conv y", y2, y1, ny, 1e-5f));
			for (int i = 0; i < 2 * c->N * c->M; i++)
				assert_true(fabs(p1[i] - p2[i]) <= 1e-4 * (1 + fabs(p1[i])));
			for (int fused = 0; fused < 2; fused++) {
				memcpy(dy2, dy1, sizeof(float) * ny);
				float *dyr = dup(dy1, ny), *dwr = dup(dw1, (size_t)c->M * ckk);
				float *dbr = dup(db1, c->M), *dwf = dup(dw1, (size_t)c->M * ckk);
				float *dbf = dup(db1, c->M);

				cnn_conv_backward_ref(dx1, dwr, dbr, dyr, fused ? ga : NULL, gb, gd,
						      y1, x, s, t, w, c->N, c->C, c->H, c->W, c->M,
						      c->K, c->stride, c->pad, c->relu);
				cnn_conv_backward(dx2, dwf, dbf, ws, dy2, fused ? ga : NULL, gb, gd,
						  y1, x, s, t, w, c->N, c->C, c->H, c->W, c->M,
						  c->K, c->stride, c->pad, c->relu, nt);
				assert_true(check_tensor("conv dy", dy2, dyr, ny, 1e-6f));
				assert_true(check_tensor("conv dx", dx2, dx1, nx, 1e-5f));
				assert_true(check_tensor("conv dw", dwf, dwr, (size_t)c->M * ckk, 1e-5f));
				assert_true(check_tensor("conv db", dbf, dbr, c->M, 1e-5f));
				free(dyr); free(dwr); free(dbr); free(dwf); free(dbf);
			}
			/* dx NULL: parameter gradients only */
			memcpy(dy2, dy1, sizeof(float) * ny);
			cnn_conv_backward(NULL, dw2, db2, ws, dy2, NULL, NULL, NULL, y1, x, s, t,
					  w, c->N, c->C, c->H, c->W, c->M, c->K, c->stride,
					  c->pad, c->relu, nt);
			free(p1); free(p2); free(ga); free(gb); free(gd);
			free(sc); free(sh); free(x); free(w); free(b); free(y1); free(y2);
			free(ws); free(dy1); free(dy2); free(dw1); free(dw2); free(db1);
			free(db2); free(dx1); free(dx2);
		}
}

static void test_conv_threads_bit_identical(void **state)
{
	int N = 21, C = 3, H = 6, W = 6, M = 4;
	size_t nx = (size_t)N * C * H * W, ny = (size_t)N * M * H * W;
	float *x = rnd(nx, -1, 1), *w = rnd((size_t)M * C * 9, -1, 1), *b = rnd(M, 0, 0);
	float *ws = rnd(cnn_conv_ws_floats(N, C, H, W, M, 3, 1, 1, 2), 0, 1);
	float *y1 = rnd(ny, 0, 1), *y2 = rnd(ny, 0, 1);
	float *dy = rnd(ny, -1, 1), *dy2 = dup(dy, ny);
	float *dwa = calloc((size_t)M * C * 9, 4), *dwb = calloc((size_t)M * C * 9, 4);
	float dba[4] = { 0 }, dbb[4] = { 0 };

	(void)state;
	cnn_conv_forward(y1, NULL, ws, x, NULL, NULL, w, b, N, C, H, W, M, 3, 1, 1, 1, 2);
	cnn_conv_forward(y2, NULL, ws, x, NULL, NULL, w, b, N, C, H, W, M, 3, 1, 1, 1, 2);
	assert_memory_equal(y1, y2, sizeof(float) * ny);
	cnn_conv_backward(NULL, dwa, dba, ws, dy, NULL, NULL, NULL, y1, x, NULL, NULL, w, N, C, H, W,
			  M, 3, 1, 1, 1, 2);
	cnn_conv_backward(NULL, dwb, dbb, ws, dy2, NULL, NULL, NULL, y1, x, NULL, NULL, w, N, C, H, W,
			  M, 3, 1, 1, 1, 2);
	assert_memory_equal(dwa, dwb, sizeof(float) * M * C * 9);
	/* chunks are reduced in order: 1 and 3 threads give the same bits */
	float *ws3 = rnd(cnn_conv_ws_floats(N, C, H, W, M, 3, 1, 1, 3), 0, 1);
	memset(dwa, 0, sizeof(float) * M * C * 9);
	memset(dwb, 0, sizeof(float) * M * C * 9);
	memcpy(dy2, dy, sizeof(float) * ny);
	cnn_conv_backward(NULL, dwa, dba, ws3, dy2, NULL, NULL, NULL, y1, x, NULL, NULL,
			  w, N, C, H, W, M, 3, 1, 1, 1, 1);
	memcpy(dy2, dy, sizeof(float) * ny);
	cnn_conv_backward(NULL, dwb, dbb, ws3, dy2, NULL, NULL, NULL, y1, x, NULL, NULL,
			  w, N, C, H, W, M, 3, 1, 1, 1, 3);
	assert_memory_equal(dwa, dwb, sizeof(float) * M * C * 9);
	free(ws3);
	free(x); free(w); free(b); free(ws); free(y1); free(y2); free(dy); free(dy2);
	free(dwa); free(dwb);
}

static void test_bn(void **state)
{
	(void)state;
	for (int nt = 1; nt <= 3; nt += 2) {
		int N = 5, C = 3, HW = 13;
		size_t n = (size_t)N * C * HW;
		float *x = rnd(n, 2, 5), *dy = rnd(n, -1, 1), *g = rnd(C, 0.5f, 2);
		float m1[3], v1[3], m2[3], v2[3];
		float dg1[3] = { 0.1f, 0.2f, 0.3f }, db1[3] = { 0 }, dg2[3], db2[3];
		float *dx1 = rnd(n, 0, 1), *dx2 = dup(dy, n);

		memcpy(dg2, dg1, sizeof(dg1));
		memcpy(db2, db1, sizeof(db1));
		cnn_bn_stats_ref(m1, v1, x, N, C, HW);
		cnn_bn_stats(m2, v2, x, N, C, HW, nt);
		assert_true(check_tensor("bn mean", m2, m1, C, 1e-5f));
		assert_true(check_tensor("bn var", v2, v1, C, 1e-4f));
		cnn_bn_backward_ref(dx1, dg1, db1, dy, x, m1, v1, g, 1e-3f, N, C, HW);
		/* fast version in place (dx aliases dy) */
		cnn_bn_backward(dx2, dg2, db2, dx2, x, m1, v1, g, 1e-3f, N, C, HW, nt);
		assert_true(check_tensor("bn dx", dx2, dx1, n, 1e-4f));
		assert_true(check_tensor("bn dgamma", dg2, dg1, C, 1e-4f));
		assert_true(check_tensor("bn dbeta", db2, db1, C, 1e-4f));
		/* split backward: the map ga*dy + gb*x + gd gives the same dx */
		float ga[3], gb[3], gd[3], dg3[3] = { 0.1f, 0.2f, 0.3f }, db3[3] = { 0 };
		float *dx3 = rnd(n, 0, 1);
		cnn_bn_backward_affine(ga, gb, gd, dg3, db3, dy, x, m1, v1, g, 1e-3f, N, C,
				       HW, nt);
		for (size_t i = 0; i < n; i++) {
			int ch = (int)((i / HW) % C);
			dx3[i] = ga[ch] * dy[i] + gb[ch] * x[i] + gd[ch];
		}
		assert_true(check_tensor("bn map dx", dx3, dx1, n, 1e-4f));
		assert_true(check_tensor("bn map dgamma", dg3, dg1, C, 1e-4f));
		assert_true(check_tensor("bn map dbeta", db3, db1, C, 1e-4f));
		/* statistics from per-image partial sums */
		double *part = malloc(sizeof(double) * 2 * N * C);
		cnn_bn_partials_ref(part, x, N, C, HW);
		cnn_bn_stats_reduce(m2, v2, part, N, C, HW);
		assert_true(check_tensor("bn reduce mean", m2, m1, C, 1e-5f));
		assert_true(check_tensor("bn reduce var", v2, v1, C, 1e-4f));
		free(part);
		free(dx3);
		free(x); free(dy); free(g); free(dx1); free(dx2);
	}
}

/* conv -> ReLU -> BatchNorm -> 2x2 max-pool, backward with the pool
 * folded in (cnn_bn_backward_affine_pooled, cnn_conv_backward_unpool)
 * against the plain kernels one after another (cnn_maxpool_backward_ref,
 * cnn_bn_backward_ref, cnn_conv_backward_ref); im2col and Winograd
 * convolutions, pooled rows shorter and longer than 16, 1 and 3 threads
 * bit-identical */
static void test_pool_folded_backward(void **state)
{
	static const int sh[][3] = { /* C, M, side */
		{ 3, 5, 8 }, { 16, 6, 16 }, { 17, 4, 32 }, { 4, 3, 6 }, { 16, 2, 36 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(sh) / sizeof(sh[0]); k++) {
		int N = 3, C = sh[k][0], M = sh[k][1], H = sh[k][2], W = sh[k][2];
		size_t nx = (size_t)N * C * H * W, ny = (size_t)N * M * H * W, np = ny / 4;
		float *x = rnd(nx, -1, 1), *w = rnd((size_t)M * C * 9, -0.5f, 0.5f);
		float *b = rnd(M, -0.2f, 0.2f), *y = rnd(ny, 0, 1), *gp = rnd(np, -1, 1);
		float *gamma = rnd(M, 0.5f, 2), *beta = rnd(M, -1, 1);
		float *mean = rnd(M, 0, 1), *var = rnd(M, 0, 1), *sc = rnd(M, 0, 1);
		float *shf = rnd(M, 0, 1), *yp = rnd(np, 0, 1), *dyf = rnd(ny, 0, 1);
		float *dybn = rnd(ny, 0, 1), *dx1 = rnd(nx, 0, 1);
		float *dw1 = calloc((size_t)M * C * 9, sizeof(float)), *db1 = calloc(M, sizeof(float));
		float *dg1 = calloc(M, sizeof(float)), *dbt1 = calloc(M, sizeof(float));
		uint8_t *idx = malloc(np);
		float *got[2][5];

		assert_non_null(idx);
		cnn_conv_forward_ref(y, NULL, x, NULL, NULL, w, b, N, C, H, W, M, 3, 1, 1, 1);
		cnn_bn_stats_ref(mean, var, y, N, M, H * W);
		cnn_bn_affine(sc, shf, gamma, beta, mean, var, 1e-3f, M);
		cnn_maxpool_forward_ref(yp, idx, y, sc, shf, N, M, H, W);
		/* the reference: each backward on its own */
		cnn_maxpool_backward_ref(dyf, gp, idx, N, M, H, W);
		cnn_bn_backward_ref(dybn, dg1, dbt1, dyf, y, mean, var, gamma, 1e-3f, N, M,
				    H * W);
		cnn_conv_backward_ref(dx1, dw1, db1, dybn, NULL, NULL, NULL, y, x, NULL,
				      NULL, w, N, C, H, W, M, 3, 1, 1, 1);
		for (int t = 0; t < 2; t++) {
			int nt = t ? 3 : 1;
			float ga[8], gb[8], gd[8], *dy = rnd(ny, 0, 1);
			float *ws = rnd(cnn_conv_ws_floats(N, C, H, W, M, 3, 1, 1, nt), 0, 1);
			float **o = got[t];

			o[0] = rnd(nx, 0, 1);
			for (int j = 1; j < 5; j++)
				o[j] = calloc(j == 1 ? (size_t)M * C * 9 : (size_t)M, sizeof(float));
			cnn_bn_backward_affine_pooled(ga, gb, gd, o[3], o[4], gp, idx, y, mean,
						      var, gamma, 1e-3f, N, M, H, W, nt);
			cnn_conv_backward_unpool(o[0], o[1], o[2], ws, dy, gp, idx, ga, gb, gd,
						 y, x, NULL, NULL, w, N, C, H, W, M, 3, 1, 1, 1,
						 nt);
			assert_true(check_tensor("folded dx", o[0], dx1, nx, 1e-3f));
			assert_true(check_tensor("folded dw", o[1], dw1, (size_t)M * C * 9, 1e-3f));
			assert_true(check_tensor("folded db", o[2], db1, M, 1e-3f));
			assert_true(check_tensor("folded dgamma", o[3], dg1, M, 1e-3f));
			assert_true(check_tensor("folded dbeta", o[4], dbt1, M, 1e-3f));
			free(dy);
			free(ws);
		}
		assert_memory_equal(got[0][0], got[1][0], sizeof(float) * nx);
		assert_memory_equal(got[0][1], got[1][1], sizeof(float) * M * C * 9);
		assert_memory_equal(got[0][2], got[1][2], sizeof(float) * M);
		assert_memory_equal(got[0][3], got[1][3], sizeof(float) * M);
		for (int t = 0; t < 2; t++)
			for (int j = 0; j < 5; j++)
				free(got[t][j]);
		free(x); free(w); free(b); free(y); free(gp); free(gamma); free(beta);
		free(mean); free(var); free(sc); free(shf); free(yp); free(dyf);
		free(dybn); free(dx1); free(dw1); free(db1); free(dg1); free(dbt1);
		free(idx);
	}
}

static void test_bn_affine(void **state)
{
	float gamma[2] = { 2, 0.5f }, beta[2] = { 1, -1 }, mean[2] = { 3, 0 };
	float var[2] = { 4 - 1e-3f, 1 - 1e-3f }, s[2], t[2];

	(void)state;
	cnn_bn_affine(s, t, gamma, beta, mean, var, 1e-3f, 2);
	assert_float_equal(s[0], 1.0f, 1e-6);
	assert_float_equal(t[0], -2.0f, 1e-6);
	assert_float_equal(s[1], 0.5f, 1e-6);
	assert_float_equal(t[1], -1.0f, 1e-6);
}

static void test_relu(void **state)
{
	size_t n = 1001;
	float *x = rnd(n, -1, 1), *y1 = rnd(n, 0, 1), *y2 = rnd(n, 0, 1);
	float *dy = rnd(n, -1, 1), *d1 = rnd(n, 0, 1), *d2 = rnd(n, 0, 1);

	(void)state;
	cnn_relu_forward_ref(y1, x, n);
	cnn_relu_forward(y2, x, n, 3);
	assert_true(check_tensor("relu y", y2, y1, n, 0));
	cnn_relu_backward_ref(d1, dy, y1, n);
	cnn_relu_backward(d2, dy, y1, n, 3);
	assert_true(check_tensor("relu dx", d2, d1, n, 0));
	free(x); free(y1); free(y2); free(dy); free(d1); free(d2);
}

static void test_maxpool(void **state)
{
	(void)state;
	for (int aff = 0; aff < 4; aff++) {
		/* odd sides (trailing row/column dropped), then even ones */
		int N = 3, C = 4, H = aff < 2 ? 7 : 8, W = aff < 2 ? 9 : 6;
		int OH = H / 2, OW = W / 2;
		size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * OH * OW;
		float *x = rnd(nx, -1, 1), *s = rnd(C, -2, 2), *t = rnd(C, -1, 1);
		float *y1 = rnd(ny, 0, 1), *y2 = rnd(ny, 0, 1), *dy = rnd(ny, -1, 1);
		float *d1 = rnd(nx, 0, 1), *d2 = rnd(nx, 0, 1);
		uint8_t *i1 = malloc(ny), *i2 = malloc(ny);

		cnn_maxpool_forward_ref(y1, i1, x, aff & 1 ? s : NULL, t, N, C, H, W);
		cnn_maxpool_forward(y2, i2, x, aff & 1 ? s : NULL, t, N, C, H, W, 3);
		/* the fast version may fuse x*s+t into one FMA: 1 ulp */
		assert_true(check_tensor("pool y", y2, y1, ny, 1e-6f));
		assert_memory_equal(i1, i2, ny);
		cnn_maxpool_backward_ref(d1, dy, i1, N, C, H, W);
		cnn_maxpool_backward(d2, dy, i1, N, C, H, W, 3);
		assert_true(check_tensor("pool dx", d2, d1, nx, 0));
		free(x); free(s); free(t); free(y1); free(y2); free(dy); free(d1);
		free(d2); free(i1); free(i2);
	}
}

static void test_dropout(void **state)
{
	int N = 4, C = 3, HW = 250;
	size_t n = (size_t)N * C * HW, kept = 0;
	uint8_t *m1 = malloc(n), *m2 = malloc(n);
	float *x = rnd(n, -1, 1), *s = rnd(C, 0.5f, 2), *t = rnd(C, -1, 1);
	float *y1 = rnd(n, 0, 1), *y2 = rnd(n, 0, 1), *d1 = rnd(n, 0, 1), *d2 = rnd(n, 0, 1);

	(void)state;
	cnn_dropout_mask(m1, 42, 0.3f, N, C * HW, 1);
	cnn_dropout_mask(m2, 42, 0.3f, N, C * HW, 3);
	assert_memory_equal(m1, m2, n);
	for (size_t i = 0; i < n; i++)
		kept += m1[i];
	assert_in_range(kept, (size_t)(0.65 * n), (size_t)(0.75 * n));
	cnn_dropout_mask(m2, 43, 0.3f, N, C * HW, 1);
	assert_memory_not_equal(m1, m2, n);
	for (int aff = 0; aff < 2; aff++) {
		cnn_dropout_forward_ref(y1, x, aff ? s : NULL, t, m1, 0.3f, N, C, HW);
		cnn_dropout_forward(y2, x, aff ? s : NULL, t, m1, 0.3f, N, C, HW, 3);
		assert_true(check_tensor("dropout y", y2, y1, n, 1e-6f));
	}
	cnn_dropout_backward_ref(d1, x, m1, 0.3f, n);
	cnn_dropout_backward(d2, x, m1, 0.3f, n, 3);
	assert_true(check_tensor("dropout dx", d2, d1, n, 1e-6f));
	free(m1); free(m2); free(x); free(s); free(t); free(y1); free(y2);
	free(d1); free(d2);
}

static void test_dense(void **state)
{
	(void)state;
	for (int relu = 0; relu < 2; relu++)
		for (int nt = 1; nt <= 3; nt += 2) {
			int N = 7, I = 37, O = 5;
			float *x = rnd((size_t)N * I, -1, 1), *w = rnd((size_t)I * O, -1, 1);
			float *b = rnd(O, -1, 1), *y1 = rnd((size_t)N * O, 0, 1);
			float *y2 = rnd((size_t)N * O, 0, 1), *dy1 = rnd((size_t)N * O, -1, 1);
			float *dy2 = dup(dy1, (size_t)N * O), *dw1 = rnd((size_t)I * O, -1, 1);
			float *dw2 = dup(dw1, (size_t)I * O), *db1 = rnd(O, -1, 1);
			float *db2 = dup(db1, O), *dx1 = rnd((size_t)N * I, 0, 1);
			float *dx2 = rnd((size_t)N * I, 0, 1);

			cnn_dense_forward_ref(y1, x, w, b, N, I, O, relu);
			cnn_dense_forward(y2, x, w, b, N, I, O, relu, nt);
			assert_true(check_tensor("dense y", y2, y1, (size_t)N * O, 1e-5f));
			cnn_dense_backward_ref(dx1, dw1, db1, dy1, y1, x, w, N, I, O, relu);
			cnn_dense_backward(dx2, dw2, db2, dy2, y1, x, w, N, I, O, relu, nt);
			assert_true(check_tensor("dense dx", dx2, dx1, (size_t)N * I, 1e-5f));
			assert_true(check_tensor("dense dw", dw2, dw1, (size_t)I * O, 1e-5f));
			assert_true(check_tensor("dense db", db2, db1, O, 1e-5f));
			free(x); free(w); free(b); free(y1); free(y2); free(dy1); free(dy2);
			free(dw1); free(dw2); free(db1); free(db2); free(dx1); free(dx2);
		}
}

static void test_softmax_xent(void **state)
{
	int N = 9, K = 10, c1, c2;
	float *z = rnd((size_t)N * K, -30, 30), *d1 = rnd((size_t)N * K, 0, 1);
	float *d2 = rnd((size_t)N * K, 0, 1);
	uint8_t lab[9] = { 0, 1, 2, 3, 4, 5, 6, 7, 9 };
	double l1, l2;

	(void)state;
	l1 = cnn_softmax_xent_ref(d1, &c1, z, lab, N, K, 1.0f / N);
	l2 = cnn_softmax_xent(d2, &c2, z, lab, N, K, 1.0f / N, 2);
	assert_float_equal(l1, l2, 1e-4 * (1 + fabs(l1)));
	assert_int_equal(c1, c2);
	assert_true(check_tensor("xent dlogits", d2, d1, (size_t)N * K, 1e-5f));
	/* uniform logits: loss log(K) per image, nothing "correct" but class 0 */
	memset(z, 0, sizeof(float) * N * K);
	l1 = cnn_softmax_xent_ref(NULL, &c1, z, lab, N, K, 1);
	assert_float_equal(l1 / N, log(10.0), 1e-6);
	assert_int_equal(c1, 1);
	free(z); free(d1); free(d2);
}

static void test_optimizers(void **state)
{
	size_t n = 517;
	float *p1 = rnd(n, -1, 1), *p2 = dup(p1, n), *g = rnd(n, -1, 1);
	float *m1 = calloc(n, 4), *m2 = calloc(n, 4), *v1 = calloc(n, 4), *v2 = calloc(n, 4);

	(void)state;
	for (long t = 1; t <= 3; t++) {
		cnn_adam_ref(p1, m1, v1, g, n, 1e-2f, 0.9f, 0.999f, 1e-7f, 0.01f, t);
		cnn_adam(p2, m2, v2, g, n, 1e-2f, 0.9f, 0.999f, 1e-7f, 0.01f, t, 3);
	}
	assert_true(check_tensor("adam p", p2, p1, n, 1e-6f));
	/* first Adam step moves every weight by about lr against its gradient */
	{
		float p = 1, m = 0, v = 0, gg = 0.5f;

		cnn_adam_ref(&p, &m, &v, &gg, 1, 0.1f, 0.9f, 0.999f, 1e-7f, 0, 1);
		assert_float_equal(p, 0.9f, 1e-5);
	}
	for (int nest = 0; nest < 2; nest++) {
		memset(m1, 0, 4 * n);
		memset(m2, 0, 4 * n);
		for (int t = 0; t < 3; t++) {
			cnn_sgd_ref(p1, m1, g, n, 0.1f, 0.9f, nest, 0.001f);
			cnn_sgd(p2, m2, g, n, 0.1f, 0.9f, nest, 0.001f, 3);
		}
		assert_true(check_tensor("sgd p", p2, p1, n, 1e-6f));
	}
	for (int mom = 0; mom < 2; mom++) {
		for (int t = 0; t < 3; t++) {
			cnn_rmsprop_ref(p1, v1, m1, g, n, 0.01f, 0.9f, mom ? 0.9f : 0, 1e-7f, 0);
			cnn_rmsprop(p2, v2, m2, g, n, 0.01f, 0.9f, mom ? 0.9f : 0, 1e-7f, 0, 3);
		}
		assert_true(check_tensor("rmsprop p", p2, p1, n, 1e-6f));
	}
	free(p1); free(p2); free(g); free(m1); free(m2); free(v1); free(v2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gemm),
		cmocka_unit_test(test_gemm_nopack),
		cmocka_unit_test(test_transpose),
		cmocka_unit_test(test_im2col_col2im),
		cmocka_unit_test(test_conv),
		cmocka_unit_test(test_conv_threads_bit_identical),
		cmocka_unit_test(test_bn),
		cmocka_unit_test(test_bn_affine),
		cmocka_unit_test(test_pool_folded_backward),
		cmocka_unit_test(test_relu),
		cmocka_unit_test(test_maxpool),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_softmax_xent),
		cmocka_unit_test(test_optimizers),
	};

	sw_rng_seed(&rng, 12345, 1);
	cnn_blas_single_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
