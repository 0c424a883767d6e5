/* test_eval.c - the fused evaluation pass (trainer/eval.c) and its
 * channels-last kernels (trainer/kernels/conv_nhwc.c): the kernels against
 * their plain reference, the reference against the training layers'
 * references (conv, BatchNorm affine, max-pool), and the whole fused pass
 * against the layer-by-layer evaluation through the training kernels, on
 * odd sizes, with negative BatchNorm scales (the pool must see the affine
 * first), bit-identical across thread counts and repeated calls, and
 * following changed weights and moving statistics (its cached transforms).
 * Tolerance, normwise as tests/test_winograd.c: |got - want| <= 1e-4 *
 * (1 + max |want|). */
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
#include "trainer/eval.h"
#include "trainer/kernels.h"
#include "trainer/net.h"

#define TOL 1e-4

static struct sw_rng rng;

static float *rnd(size_t n, float lo, float hi)
{
	return sw_test_uniform_floats(&rng, n, lo, hi);
}

static void assert_close(const char *label, const float *got, const float *want,
			 size_t n)
{
	double maxw = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs((double)want[i]) > maxw)
			maxw = fabs((double)want[i]);
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - want[i]);

		if (!(d <= TOL * (1 + maxw))) {
			fprintf(stderr, "%s[%zu]: got %g want %g\n", label, i, got[i], want[i]);
			fail();
		}
	}
}

struct shape { int N, C, H, W, M, relu, affine, pool; };

static const struct shape shapes[] = {
	{ 1, 1, 4, 4, 1, 1, 1, 1 },    { 3, 5, 7, 9, 6, 1, 1, 0 },
	{ 2, 16, 8, 6, 3, 0, 0, 1 },   { 5, 17, 6, 10, 18, 1, 1, 1 },
	{ 4, 32, 12, 12, 40, 1, 1, 1 }, { 2, 32, 32, 32, 32, 1, 1, 1 },
	{ 3, 64, 16, 16, 64, 1, 1, 0 }, { 2, 20, 18, 18, 33, 1, 1, 1 },
	{ 1, 3, 9, 5, 7, 0, 1, 0 },
};

/* the epilogue's affine: scales of both signs, away from zero */
static float *rnd_scale(int M)
{
	float *s = rnd((size_t)M, 0.3f, 1.7f);

	for (int m = 0; m < M; m += 2)
		s[m] = -s[m];
	return s;
}

/* NCHW x -> padded channels-last images (cnn_nhwc_pad sides, zeros around) */
static float *to_padded(const float *x, int N, int C, int H, int W, size_t *xs)
{
	int PH = cnn_nhwc_pad(H), PW = cnn_nhwc_pad(W);
	float *p;

	*xs = (size_t)PH * PW * C;
	p = calloc(*xs * N, sizeof(float));
	assert_non_null(p);
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			for (int h = 0; h < H; h++)
				for (int w = 0; w < W; w++)
					p[n * *xs + ((size_t)(h + 1) * PW + w + 1) * C + c] =
						x[(((size_t)n * C + c) * H + h) * W + w];
	return p;
}

/* The reference against the training layers' references: conv (ReLU),
 * then the BatchNorm affine and the pool reading through it. */
static void test_reference_matches_training_layers(void **state)
{
	(void)state;
	sw_rng_seed(&rng, 11, 1);
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		struct shape s = shapes[si];
		int OH = s.pool ? s.H / 2 : s.H, OW = s.pool ? s.W / 2 : s.W;
		size_t ny = (size_t)s.N * s.M * s.H * s.W, no = (size_t)s.N * s.M * OH * OW;
		float *x = rnd((size_t)s.N * s.C * s.H * s.W, -1, 1);
		float *w = rnd((size_t)s.M * s.C * 9, -0.5f, 0.5f);
		float *b = rnd((size_t)s.M, -0.3f, 0.3f), *sc = rnd_scale(s.M);
		float *sh = rnd((size_t)s.M, -0.5f, 0.5f);
		float *y = malloc(sizeof(float) * ny), *o = malloc(sizeof(float) * no);
		float *got = malloc(sizeof(float) * no), *want = malloc(sizeof(float) * no);
		uint8_t *idx = malloc(no);
		struct cnn_conv_epilogue ep = { b, s.affine ? sc : NULL, s.affine ? sh : NULL,
						s.relu, s.pool };

		assert_true(y && o && got && want && idx);
		cnn_conv_nhwc_ref(got, (size_t)OH * OW * s.M, (size_t)OW * s.M, x, w, &ep,
				  s.N, s.C, s.H, s.W, s.M);
		cnn_conv_forward_ref(y, NULL, x, NULL, NULL, w, b, s.N, s.C, s.H, s.W, s.M,
				     3, 1, 1, s.relu);
		if (s.pool) {
			cnn_maxpool_forward_ref(o, idx, y, ep.scale, ep.shift, s.N, s.M, s.H,
						s.W);
		} else {
			for (size_t i = 0; i < ny; i++) {
				int m = (int)(i / ((size_t)s.H * s.W) % s.M);

				o[i] = s.affine ? y[i] * sc[m] + sh[m] : y[i];
			}
		}
		for (int n = 0; n < s.N; n++)
			for (int m = 0; m < s.M; m++)
				for (int i = 0; i < OH * OW; i++)
					want[((size_t)n * OH * OW + i) * s.M + m] =
						o[((size_t)n * s.M + m) * OH * OW + i];
		assert_close("reference", got, want, no);
		free(x), free(w), free(b), free(sc), free(sh), free(y), free(o);
		free(got), free(want), free(idx);
	}
}

/* Both fast kernels against the reference, writing into the inside of a
 * larger buffer whose other values must stay untouched. */
static void test_kernels_vs_reference(void **state)
{
	(void)state;
	sw_rng_seed(&rng, 12, 1);
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		struct shape s = shapes[si];
		int OH = s.pool ? s.H / 2 : s.H, OW = s.pool ? s.W / 2 : s.W;
		/* output images (OH+3, OW+3, M), values from row 1, column 2 */
		size_t ys = (size_t)(OH + 3) * (OW + 3) * s.M, yrow = (size_t)(OW + 3) * s.M;
		size_t off = yrow + 2 * (size_t)s.M, no = (size_t)s.N * OH * OW * s.M, xs;
		float *x = rnd((size_t)s.N * s.C * s.H * s.W, -1, 1);
		float *w = rnd((size_t)s.M * s.C * 9, -0.5f, 0.5f);
		float *b = rnd((size_t)s.M, -0.3f, 0.3f), *sc = rnd_scale(s.M);
		float *sh = rnd((size_t)s.M, -0.5f, 0.5f);
		float *want = malloc(sizeof(float) * no), *y = malloc(sizeof(float) * ys * s.N);
		float *got = malloc(sizeof(float) * no);
		struct cnn_conv_epilogue ep = { b, s.affine ? sc : NULL, s.affine ? sh : NULL,
						s.relu, s.pool };
		float *xp = to_padded(x, s.N, s.C, s.H, s.W, &xs);

		assert_true(want && y && got);
		cnn_conv_nhwc_ref(want, (size_t)OH * OW * s.M, (size_t)OW * s.M, x, w, &ep,
				  s.N, s.C, s.H, s.W, s.M);
		for (int path = 0; path < 2; path++) {
			float *ws, *U = NULL, *tmp = NULL;

			if (path == 0 && s.pool)
				continue;       /* the direct kernel does not pool */
			for (size_t i = 0; i < ys * s.N; i++)
				y[i] = 12345.0f;
			if (path == 0) {
				float *wt = malloc(sizeof(float) * s.M * s.C * 9);

				assert_non_null(wt);
				cnn_conv_nhwc_direct_weights(wt, w, s.M, s.C);
				ws = malloc(sizeof(float) * cnn_conv_nhwc_direct_ws_floats(s.C, s.H, s.W));
				assert_non_null(ws);
				cnn_conv_nhwc_direct(y + off, ys, yrow, ws, x, wt, &ep, s.N, s.C, s.H,
						     s.W, s.M);
				free(wt);
			} else {
				U = malloc(sizeof(float) * 36 * s.M * s.C);
				tmp = malloc(sizeof(float) * 36 * s.M * s.C);
				ws = malloc(sizeof(float) * cnn_wino_nhwc_ws_floats(s.C, s.M));
				assert_true(U && tmp && ws);
				cnn_wino_nhwc_weights(U, tmp, w, s.M, s.C);
				cnn_wino_nhwc_conv(y + off, ys, yrow, ws, xp, xs, U, &ep, s.N, s.C, s.H,
						   s.W, s.M);
			}
			for (int n = 0; n < s.N; n++)
				for (int h = 0; h < OH + 3; h++)
					for (int c = 0; c < (OW + 3) * s.M; c++) {
						float v = y[n * ys + h * yrow + c];
						int inside = h >= 1 && h <= OH && c >= 2 * s.M &&
							     c < (OW + 2) * s.M;

						if (inside)
							got[(((size_t)n * OH + h - 1) * OW) * s.M + c - 2 * s.M] = v;
						else
							assert_true(v == 12345.0f);
					}
			assert_close(path ? "winograd" : "direct", got, want, no);
			free(ws), free(U), free(tmp);
		}
		free(x), free(w), free(b), free(sc), free(sh), free(want), free(y);
		free(got), free(xp);
	}
}

/* A net with random weights and non-trivial moving statistics. */
static void make_net(struct cnn_net *net, int S, int c1, int c2, int batch,
		     int threads, uint64_t seed)
{
	struct cnn_net_config cfg = { 3, S, c1, c2, 24, 10, 0.3f, 0.5f, 0.99f };
	struct sw_err err = SW_ERR_INIT;

	assert_int_equal(cnn_net_init(net, &cfg, batch, threads, &err), 0);
	cnn_net_init_weights(net, seed);
	sw_rng_seed(&rng, seed, 2);
	for (int i = 0; i < net->n_views; i++) {
		struct cnn_view *v = &net->views[i];
		const char *what = strrchr(v->name, '.') + 1;

		for (size_t k = 0; k < v->n; k++) {
			float r = (float)sw_rng_double(&rng);

			if (!strcmp(what, "gamma"))
				v->p[k] = (k % 3 ? 1 : -1) * (0.5f + r);
			else if (!strcmp(what, "beta") || !strcmp(what, "bias"))
				v->p[k] = r - 0.5f;
			else if (!strcmp(what, "moving_mean"))
				v->p[k] = r;
			else if (!strcmp(what, "moving_var"))
				v->p[k] = 0.2f + r;
		}
	}
}

static const float *layerwise(struct cnn_net *net, const float *x, int n, float *out)
{
	size_t k = (size_t)n * net->cfg.classes;

	net->eval_layerwise = 1;
	memcpy(out, cnn_net_forward(net, x, n, CNN_EVAL, 0), sizeof(float) * k);
	net->eval_layerwise = 0;
	return out;
}

struct netshape { int S, c1, c2, batch, n; };

/* 32: the default model; 12 and 20: tiles reaching past 6x6 and 10x10
 * planes; 8, 1 and 2 filters: below the training path's Winograd
 * threshold */
static const struct netshape nets[] = {
	{ 32, 32, 64, 9, 9 }, { 12, 16, 20, 7, 5 }, { 20, 8, 24, 6, 6 },
	{ 16, 17, 33, 3, 1 }, { 8, 1, 2, 3, 3 },
};

static void test_fused_vs_layerwise(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		struct netshape s = nets[i];
		struct cnn_net net;
		float *x, want[16 * 10], got[16 * 10];
		size_t k = (size_t)s.n * 10;

		make_net(&net, s.S, s.c1, s.c2, s.batch, 2, 40 + i);
		x = rnd((size_t)s.batch * 3 * s.S * s.S, 0, 1);
		layerwise(&net, x, s.n, want);
		memcpy(got, cnn_net_forward(&net, x, s.n, CNN_EVAL, 0), sizeof(float) * k);
		assert_non_null(net.eval_);     /* the fused pass ran */
		assert_close("fused", got, want, k);
		free(x);
		cnn_net_release(&net);
	}
}

/* The same bits for 1, 2 and 3 threads and on a repeated call (every sum
 * of the pass runs in cnn_gemm_nopack, in order, whatever the split of the
 * images); an image's logits do not depend on its batch's others. */
static void test_fused_deterministic(void **state)
{
	float first[8 * 10], got[8 * 10], one[10];
	float *x;

	(void)state;
	sw_rng_seed(&rng, 5, 5);
	x = rnd((size_t)8 * 3 * 16 * 16, 0, 1);
	for (int t = 1; t <= 3; t++) {
		struct cnn_net net;

		make_net(&net, 16, 16, 32, 8, t, 77);
		for (int rep = 0; rep < 2; rep++) {
			memcpy(got, cnn_net_forward(&net, x, 8, CNN_EVAL, 0), sizeof(got));
			if (t == 1 && rep == 0)
				memcpy(first, got, sizeof(got));
			assert_memory_equal(got, first, sizeof(got));
		}
		/* image 5 alone */
		memcpy(one, cnn_net_forward(&net, x + (size_t)5 * 3 * 16 * 16, 1, CNN_EVAL,
					    0), sizeof(one));
		assert_memory_equal(one, first + 50, sizeof(one));
		cnn_net_release(&net);
	}
	free(x);
}

/* The cached transforms follow changed weights and moving statistics. */
static void test_fused_follows_changes(void **state)
{
	const char *names[] = { "conv1.weight", "conv3.weight", "conv4.bias", "bn2.gamma",
				"bn4.moving_var", "dense1.weight", "bn5.moving_mean" };
	struct cnn_net net;
	float want[4 * 10], got[4 * 10], before[4 * 10];
	float *x;

	(void)state;
	make_net(&net, 16, 16, 32, 4, 2, 9);
	x = rnd((size_t)4 * 3 * 16 * 16, 0, 1);
	memcpy(before, cnn_net_forward(&net, x, 4, CNN_EVAL, 0), sizeof(before));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct cnn_view *v = cnn_net_view(&net, names[i]);
		double moved = 0;

		assert_non_null(v);
		for (size_t k = 0; k < v->n; k += 3)
			v->p[k] += 0.5f;
		memcpy(got, cnn_net_forward(&net, x, 4, CNN_EVAL, 0), sizeof(got));
		layerwise(&net, x, 4, want);
		assert_close(names[i], got, want, 40);
		for (int k = 0; k < 40; k++)
			moved = fmax(moved, fabs((double)want[k] - before[k]));
		assert_true(moved > 1e-3);      /* the change reached the logits */
		memcpy(before, want, sizeof(before));
	}
	free(x);
	cnn_net_release(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_matches_training_layers),
		cmocka_unit_test(test_kernels_vs_reference),
		cmocka_unit_test(test_fused_vs_layerwise),
		cmocka_unit_test(test_fused_deterministic),
		cmocka_unit_test(test_fused_follows_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
