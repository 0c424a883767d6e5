/* test_winograd.c - the Winograd F(4x4,3x3) convolution against the plain
 * reference convolution (cnn_conv_forward_ref/cnn_conv_backward_ref) on odd
 * shapes: batch 1-9, channels 1-70, sides 4-33 odd and even, with and
 * without the pending affine; and the conv kernels that use it (forward,
 * input and weight gradients) against the reference, bit-identical for 1, 2, 3 threads.
 * Tolerance, normwise: |got - want| <= 1e-4 * (1 + max |want|) (Winograd
 * sums transformed products with factors up to 8 and 1/24, so it rounds
 * differently from the direct sum; elementwise, outputs near zero after
 * cancellation differ by more than their own size allows). The worst
 * ratio observed is printed at the end: about 6e-6. */
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

#define TOL 1e-4f

static struct sw_rng rng;

static float *rnd(size_t n, float lo, float hi)
{
	return sw_test_uniform_floats(&rng, n, lo, hi);
}

/* normwise: every |got - want| <= TOL * (1 + max |want|); prints the
 * worst ratio seen so a drift in accuracy shows before it fails */
static double worst_seen;

static int close_enough(const char *label, const float *got, const float *want,
			size_t n)
{
	size_t bad = 0;
	double maxd = 0, maxw = 0, lim;

	for (size_t i = 0; i < n; i++)
		if (fabs((double)want[i]) > maxw)
			maxw = fabs((double)want[i]);
	lim = TOL * (1 + maxw);
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - want[i]);

		if (d > maxd)
			maxd = d;
		if (!(d <= lim)) {
			if (bad < 3)
				fprintf(stderr, "%s[%zu]: got %g want %g\n", label, i, got[i],
					want[i]);
			bad++;
		}
	}
	if (maxd / (1 + maxw) > worst_seen)
		worst_seen = maxd / (1 + maxw);
	if (bad)
		fprintf(stderr, "%s: %zu of %zu differ, max diff %g (limit %g)\n", label,
			bad, n, maxd, lim);
	return bad == 0;
}

struct shape { int N, C, H, W, M; };

/* batch 1-9, channels 1-70, sides 4-33 */
static const struct shape shapes[] = {
	{ 1, 1, 4, 4, 1 },   { 3, 5, 7, 9, 6 },   { 2, 16, 8, 5, 3 },
	{ 9, 17, 5, 6, 18 }, { 4, 32, 33, 4, 7 }, { 1, 70, 9, 11, 70 },
	{ 5, 3, 32, 32, 33 }, { 2, 64, 16, 16, 64 }, { 7, 20, 13, 4, 2 },
};

static void test_winograd_conv_vs_reference(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
		for (int flip = 0; flip < 2; flip++) {
			const struct shape *s = &shapes[k];
			/* flip: input has M channels, output C (the input gradient) */
			int N = s->N, H = s->H, W = s->W, M = s->M, C = s->C;
			int cin = flip ? M : C, cout = flip ? C : M;
			int G = cnn_winograd_group(H, W);
			size_t nx = (size_t)N * cin * H * W, ny = (size_t)N * cout * H * W;
			size_t wsf = cnn_winograd_ws_floats(cin, H, W, cout);
			float *x = rnd(nx, -1, 1), *w = rnd((size_t)M * C * 9, -1, 1);
			float *sc = rnd(cin, 0.5f, 2), *sh = rnd(cin, -1, 1);
			float *y1 = rnd(ny, 0, 1), *y2 = rnd(ny, 0, 1);
			float *U = rnd((size_t)CNN_WINOGRAD_TILE * M * C, 0, 1), *ws = rnd(wsf, 0, 1);
			int affine = !flip && (k & 1);

			assert_true(G >= 1 && G <= CNN_CONV_CHUNK);
			cnn_winograd_weights(U, w, M, C, flip);
			for (int lo = 0; lo < N; lo += G) {
				int cnt = N - lo < G ? N - lo : G;

				cnn_winograd_conv(y2 + (size_t)lo * cout * H * W, ws,
						  x + (size_t)lo * cin * H * W, affine ? sc : NULL,
						  affine ? sh : NULL, U, cnt, cin, H, W, cout);
			}
			if (!flip) {
				float *b = calloc(M, sizeof(float));

				assert_non_null(b);
				cnn_conv_forward_ref(y1, NULL, x, affine ? sc : NULL,
						     affine ? sh : NULL, w, b, N, C, H, W, M, 3, 1,
						     1, 0);
				free(b);
			} else {
				/* dx of a conv C -> M with output gradient x (N,M,H,W) */
				float *dw = calloc((size_t)M * C * 9, sizeof(float));
				float *db = calloc(M, sizeof(float));
				float *xin = rnd((size_t)N * C * H * W, -1, 1);

				assert_non_null(dw);
				assert_non_null(db);
				cnn_conv_backward_ref(y1, dw, db, x, NULL, NULL, NULL, x, xin, NULL,
						      NULL, w, N, C, H, W, M, 3, 1, 1, 0);
				free(dw);
				free(db);
				free(xin);
			}
			if (!close_enough(flip ? "winograd dx" : "winograd y", y2, y1, ny))
				fail_msg("shape %zu (N %d C %d H %d W %d M %d) flip %d", k, N, C,
					 H, W, M, flip);
			free(x), free(w), free(sc), free(sh), free(y1), free(y2);
			free(U), free(ws);
		}
}

/* the vectorised weight transform, whole and in row ranges, gives the
 * reference's bits */
static void test_winograd_weights_vs_reference(void **state)
{
	static const int mc[][2] = { { 1, 1 }, { 3, 70 }, { 64, 32 }, { 17, 64 } };

	(void)state;
	for (size_t k = 0; k < sizeof(mc) / sizeof(mc[0]); k++)
		for (int flip = 0; flip < 2; flip++) {
			int M = mc[k][0], C = mc[k][1], R = flip ? C : M;
			size_t nu = (size_t)CNN_WINOGRAD_TILE * M * C;
			float *w = rnd((size_t)M * C * 9, -1, 1), *want = rnd(nu, 0, 1);
			float *got = rnd(nu, 0, 1), *rows = rnd(nu, 0, 1);

			cnn_winograd_weights_ref(want, w, M, C, flip);
			cnn_winograd_weights(got, w, M, C, flip);
			cnn_winograd_weights_rows(rows, w, M, C, flip, 0, R / 3);
			cnn_winograd_weights_rows(rows, w, M, C, flip, R / 3, R);
			assert_memory_equal(got, want, sizeof(float) * nu);
			assert_memory_equal(rows, want, sizeof(float) * nu);
			free(w), free(want), free(got), free(rows);
		}
}

/* the weight gradient: dU summed over image groups, mapped back to dw */
static void test_winograd_wgrad_vs_reference(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		const struct shape *s = &shapes[k];
		int N = s->N, H = s->H, W = s->W, M = s->M, C = s->C;
		int G = cnn_winograd_group(H, W), affine = k & 1;
		size_t nx = (size_t)N * C * H * W, ny = (size_t)N * M * H * W;
		size_t nw = (size_t)M * C * 9;
		float *x = rnd(nx, -1, 1), *w = rnd(nw, -1, 1), *dy = rnd(ny, -1, 1);
		float *sc = rnd(C, 0.5f, 2), *sh = rnd(C, -1, 1);
		float *dw1 = calloc(nw, sizeof(float)), *db1 = calloc(M, sizeof(float));
		float *dw2 = rnd(nw, -1, 1);
		float *dU = calloc((size_t)CNN_WINOGRAD_TILE * M * C, sizeof(float));
		float *ws = rnd(cnn_winograd_ws_floats(C, H, W, M), 0, 1);

		assert_non_null(dw1);
		assert_non_null(db1);
		assert_non_null(dU);
		/* dw accumulates: start both from the same values */
		memcpy(dw1, dw2, sizeof(float) * nw);
		cnn_conv_backward_ref(NULL, dw1, db1, dy, NULL, NULL, NULL, dy, x,
				      affine ? sc : NULL, affine ? sh : NULL, w, N, C, H,
				      W, M, 3, 1, 1, 0);
		for (int lo = 0; lo < N; lo += G)
			cnn_winograd_wgrad(dU, ws, dy + (size_t)lo * M * H * W,
					   x + (size_t)lo * C * H * W, affine ? sc : NULL,
					   affine ? sh : NULL, N - lo < G ? N - lo : G, C, H, W,
					   M);
		cnn_winograd_wgrad_finish(dw2, dU, M, C);
		if (!close_enough("winograd dw", dw2, dw1, nw))
			fail_msg("shape %zu (N %d C %d H %d W %d M %d)", k, N, C, H, W, M);
		free(x), free(w), free(dy), free(sc), free(sh), free(dw1), free(db1);
		free(dw2), free(dU), free(ws);
	}
}

/* the conv kernels with C >= CNN_WINOGRAD_MIN_C against the reference,
 * with the fused BatchNorm map, ReLU and affine; 1, 2 and 3 threads give
 * the same bits */
static void test_conv_winograd_path(void **state)
{
	static const struct shape cs[] = {
		{ 9, 16, 7, 6, 5 }, { 3, 17, 11, 13, 20 }, { 1, 32, 32, 32, 4 },
		{ 10, 20, 5, 4, 16 },
	};

	(void)state;
	assert_true(cnn_winograd_applies(16, 3, 1, 1));
	assert_false(cnn_winograd_applies(15, 3, 1, 1));
	assert_false(cnn_winograd_applies(32, 3, 2, 1));
	assert_false(cnn_winograd_applies(32, 5, 1, 2));
	for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
		const struct shape *s = &cs[k];
		int N = s->N, C = s->C, H = s->H, W = s->W, M = s->M;
		size_t nx = (size_t)N * C * H * W, ny = (size_t)N * M * H * W;
		size_t nw = (size_t)M * C * 9;
		float *x = rnd(nx, -1, 1), *w = rnd(nw, -1, 1), *b = rnd(M, -1, 1);
		float *sc = rnd(C, 0.5f, 2), *sh = rnd(C, -1, 1);
		float *ga = rnd(M, -1, 1), *gb = rnd(M, -1, 1), *gd = rnd(M, -1, 1);
		float *g0 = rnd(ny, -1, 1), *y1 = rnd(ny, 0, 1), *dy1 = rnd(ny, 0, 1);
		float *dx1 = rnd(nx, 0, 1), *dw1 = calloc(nw, sizeof(float));
		float *db1 = calloc(M, sizeof(float));
		double *p1 = calloc((size_t)N * M * 2, sizeof(double));
		float *ref_y = NULL, *ref_dx = NULL, *ref_dw = NULL;

		assert_non_null(dw1);
		assert_non_null(db1);
		assert_non_null(p1);
		cnn_conv_forward_ref(y1, p1, x, sc, sh, w, b, N, C, H, W, M, 3, 1, 1, 1);
		memcpy(dy1, g0, sizeof(float) * ny);
		cnn_conv_backward_ref(dx1, dw1, db1, dy1, ga, gb, gd, y1, x, sc, sh, w, N,
				      C, H, W, M, 3, 1, 1, 1);
		for (int t = 1; t <= 3; t++) {
			size_t wsf = cnn_conv_ws_floats(N, C, H, W, M, 3, 1, 1, t);
			float *ws = rnd(wsf, 0, 1), *y2 = rnd(ny, 0, 1), *dy2 = rnd(ny, 0, 1);
			float *dx2 = rnd(nx, 0, 1), *dw2 = calloc(nw, sizeof(float));
			float *db2 = calloc(M, sizeof(float));
			double *p2 = calloc((size_t)N * M * 2, sizeof(double));

			assert_non_null(dw2);
			assert_non_null(db2);
			assert_non_null(p2);
			cnn_conv_forward(y2, p2, ws, x, sc, sh, w, b, N, C, H, W, M, 3, 1, 1, 1,
					 t);
			assert_true(close_enough("conv y", y2, y1, ny));
			for (size_t i = 0; i < (size_t)N * M * 2; i++)
				assert_true(fabs(p2[i] - p1[i]) <=
					    1e-3 * (1 + fabs(p1[i])) * H * W);
			/* backward from the reference y so the ReLU masks agree */
			memcpy(dy2, g0, sizeof(float) * ny);
			cnn_conv_backward(dx2, dw2, db2, ws, dy2, ga, gb, gd, y1, x, sc, sh, w,
					  N, C, H, W, M, 3, 1, 1, 1, t);
			assert_true(close_enough("conv dx", dx2, dx1, nx));
			assert_true(close_enough("conv dw", dw2, dw1, nw));
			assert_true(close_enough("conv db", db2, db1, M));
			if (!ref_y) {
				ref_y = y2, ref_dx = dx2, ref_dw = dw2;
			} else {
				assert_memory_equal(y2, ref_y, sizeof(float) * ny);
				assert_memory_equal(dx2, ref_dx, sizeof(float) * nx);
				assert_memory_equal(dw2, ref_dw, sizeof(float) * nw);
				free(y2), free(dx2), free(dw2);
			}
			free(ws), free(dy2), free(db2), free(p2);
		}
		free(ref_y), free(ref_dx), free(ref_dw);
		free(x), free(w), free(b), free(sc), free(sh), free(ga), free(gb);
		free(gd), free(g0), free(y1), free(dy1), free(dx1), free(dw1);
		free(db1), free(p1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_winograd_conv_vs_reference),
		cmocka_unit_test(test_winograd_weights_vs_reference),
		cmocka_unit_test(test_winograd_wgrad_vs_reference),
		cmocka_unit_test(test_conv_winograd_path),
	};

	sw_rng_seed(&rng, 20261126, 7);
	cnn_blas_single_thread();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	fprintf(stderr, "worst |got - want| / (1 + max |want|): %.3g (limit %g)\n",
		worst_seen, (double)TOL);
	return failed;
}
