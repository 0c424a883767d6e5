/* test_transform.c - the transform pipeline: each step against hand-worked
 * values, the fast version against the reference on random pipelines and
 * odd sizes, independence from the thread count, fitting, the hparams
 * builder and the JSON form (round trip and strict errors). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/cifar_fake.h"
#include "trainer/transform.h"

#define NIMG 24

/* NIMG random images with labels, as a split. */
static uint8_t pixels[NIMG * CNN_CIFAR_PIXELS], labels[NIMG];

static struct cnn_split random_split(uint64_t seed)
{
	struct cnn_split s = { NIMG, pixels, labels };
	struct sw_rng r;
	size_t i;

	sw_rng_seed(&r, seed, 1);
	for (i = 0; i < sizeof(pixels); i++)
		pixels[i] = (uint8_t)sw_rng_u32(&r);
	for (i = 0; i < NIMG; i++)
		labels[i] = (uint8_t)(i % 10);
	return s;
}

static void add(struct cnn_pipeline *p, enum cnn_step_op op, int size,
		float scale)
{
	struct cnn_step s;
	struct sw_err err = SW_ERR_INIT;
	int c;

	memset(&s, 0, sizeof(s));
	s.op = op;
	s.size = size;
	s.padding = size;
	s.scale = scale;
	for (c = 0; c < 3; c++) {
		s.mean[c] = 0.1f * (c + 1);
		s.std[c] = 0.2f + 0.1f * c;
	}
	if (cnn_pipeline_add(p, &s, &err) < 0)
		fail_msg("%s", err.msg);
}

static float *alloc_out(const struct cnn_pipeline *p, int n)
{
	int S = cnn_pipeline_out_size(p);
	float *o = malloc(sizeof(float) * 3 * S * S * (size_t)n);

	assert_non_null(o);
	return o;
}

static void test_rescale_exact(void **state)
{
	struct cnn_split s = random_split(1);
	struct cnn_pipeline p;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;
	float *o;
	int idx[3] = { 5, 0, 23 }, j, k;

	(void)state;
	cnn_hparams_default(&hp);
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, NULL, &err), 0);
	assert_int_equal(cnn_pipeline_out_size(&p), 32);
	o = alloc_out(&p, 3);
	cnn_pipeline_apply(&p, o, &s, idx, 3, 1, NULL);
	for (j = 0; j < 3; j++)
		for (k = 0; k < CNN_CIFAR_PIXELS; k++) {
			float want = (float)pixels[(size_t)idx[j] * CNN_CIFAR_PIXELS + k] *
				     (1.0f / 255.0f);

			assert_true(o[j * CNN_CIFAR_PIXELS + k] == want);
		}
	free(o);
}

/* A ramp in x (value 8x) resized: to 16, output x samples source 2x+0.5,
 * value 16x+4; to 64, source x/2-0.25 clamped at both borders. */
static void test_resize_values(void **state)
{
	struct cnn_split s = random_split(2);
	struct cnn_pipeline p;
	float *o;
	int c, y, x;

	(void)state;
	for (c = 0; c < 3; c++)
		for (y = 0; y < 32; y++)
			for (x = 0; x < 32; x++)
				pixels[(c * 32 + y) * 32 + x] = (uint8_t)(8 * x);
	cnn_pipeline_init(&p);
	add(&p, CNN_STEP_RESIZE, 16, 0);
	o = alloc_out(&p, 1);
	cnn_pipeline_apply(&p, o, &s, NULL, 1, 0, NULL);
	for (c = 0; c < 3; c++)
		for (y = 0; y < 16; y++)
			for (x = 0; x < 16; x++)
				assert_float_equal(o[(c * 16 + y) * 16 + x], 16 * x + 4, 1e-4);
	free(o);

	cnn_pipeline_init(&p);
	add(&p, CNN_STEP_RESIZE, 64, 0);
	o = alloc_out(&p, 1);
	cnn_pipeline_apply(&p, o, &s, NULL, 1, 0, NULL);
	for (y = 0; y < 64; y++) {
		assert_float_equal(o[y * 64 + 0], 0, 1e-4);
		for (x = 1; x < 63; x++)
			assert_float_equal(o[y * 64 + x], 4 * x - 2, 1e-4);
		assert_float_equal(o[y * 64 + 63], 248, 1e-4);
	}
	free(o);
}

static void test_flip_and_crop(void **state)
{
	struct cnn_split s = random_split(3);
	struct cnn_pipeline p;
	struct sw_rng rng;
	float *o;
	int j, c, y, x, flipped = 0, kept = 0, shifted = 0;

	(void)state;
	cnn_pipeline_init(&p);
	add(&p, CNN_STEP_RANDOM_FLIP, 0, 0);
	o = alloc_out(&p, NIMG);
	/* evaluation: no flip */
	cnn_pipeline_apply(&p, o, &s, NULL, NIMG, 0, NULL);
	for (j = 0; j < NIMG * CNN_CIFAR_PIXELS; j++)
		assert_true(o[j] == (float)pixels[j]);
	sw_rng_seed(&rng, 9, 9);
	cnn_pipeline_apply(&p, o, &s, NULL, NIMG, 1, &rng);
	for (j = 0; j < NIMG; j++) {
		const float *im = o + (size_t)j * CNN_CIFAR_PIXELS;
		const uint8_t *px = pixels + (size_t)j * CNN_CIFAR_PIXELS;
		int same = 1, mirror = 1;

		for (c = 0; c < 3; c++)
			for (y = 0; y < 32; y++)
				for (x = 0; x < 32; x++) {
					float v = im[(c * 32 + y) * 32 + x];

					same &= v == px[(c * 32 + y) * 32 + x];
					mirror &= v == px[(c * 32 + y) * 32 + 31 - x];
				}
		assert_true(same || mirror);
		flipped += mirror;
		kept += same;
	}
	assert_true(flipped > 3 && kept > 3);
	free(o);

	cnn_pipeline_init(&p);
	add(&p, CNN_STEP_RANDOM_CROP, 4, 0);
	o = alloc_out(&p, NIMG);
	cnn_pipeline_apply(&p, o, &s, NULL, NIMG, 1, &rng);
	for (j = 0; j < NIMG; j++) {
		const float *im = o + (size_t)j * CNN_CIFAR_PIXELS;
		const uint8_t *px = pixels + (size_t)j * CNN_CIFAR_PIXELS;
		int found = 0, dy, dx;

		for (dy = 0; dy <= 8 && !found; dy++)
			for (dx = 0; dx <= 8 && !found; dx++) {
				int ok = 1;

				for (c = 0; c < 3 && ok; c++)
					for (y = 0; y < 32 && ok; y++)
						for (x = 0; x < 32 && ok; x++) {
							int sy = y + dy - 4, sx = x + dx - 4;
							float want = sy < 0 || sy > 31 || sx < 0 || sx > 31
									     ? 0.0f
									     : px[(c * 32 + sy) * 32 + sx];

							ok = im[(c * 32 + y) * 32 + x] == want;
						}
				if (ok) {
					found = 1;
					shifted += dy != 4 || dx != 4;
				}
			}
		assert_true(found);
	}
	assert_true(shifted > NIMG / 2);
	free(o);
}

/* Random pipelines of random steps in random order, odd sizes: the fast
 * version equals the reference (1e-5) and does not depend on the thread
 * count (bit for bit), and the same rng gives the same batch. */
static void test_fast_vs_ref(void **state)
{
	static const int sizes[] = { 7, 16, 31, 32, 33, 50 };
	struct cnn_split s = random_split(4);
	struct sw_rng gen;
	int trial;

	(void)state;
	sw_rng_seed(&gen, 77, 1);
	for (trial = 0; trial < 60; trial++) {
		struct cnn_pipeline p;
		struct sw_rng r1, r2, r3;
		int idx[NIMG], n = 1 + (int)sw_rng_bounded(&gen, NIMG), j, k;
		int steps = (int)sw_rng_bounded(&gen, 6), training = trial % 3 != 0;
		float *ref, *fast, *fast1;
		size_t total;
		double maxd = 0;

		cnn_pipeline_init(&p);
		/* half the time the builder's order, else anything goes */
		if (trial % 2 == 0) {
			add(&p, CNN_STEP_RESIZE, sizes[sw_rng_bounded(&gen, 6)], 0);
			if (sw_rng_bounded(&gen, 2))
				add(&p, CNN_STEP_RANDOM_FLIP, 0, 0);
			if (sw_rng_bounded(&gen, 2))
				add(&p, CNN_STEP_RANDOM_CROP, 1 + (int)sw_rng_bounded(&gen, 5), 0);
			add(&p, CNN_STEP_RESCALE, 0, 1.0f / 255);
			if (sw_rng_bounded(&gen, 2))
				add(&p, CNN_STEP_STANDARDIZE, 0, 0);
		} else {
			for (k = 0; k < steps; k++) {
				enum cnn_step_op op = (enum cnn_step_op)sw_rng_bounded(&gen, 5);

				add(&p, op, op == CNN_STEP_RESIZE ? sizes[sw_rng_bounded(&gen, 6)]
								 : 1 + (int)sw_rng_bounded(&gen, 4),
				    0.5f + (float)sw_rng_double(&gen));
			}
		}
		for (j = 0; j < n; j++)
			idx[j] = (int)sw_rng_bounded(&gen, NIMG);
		total = (size_t)n * 3 * cnn_pipeline_out_size(&p) * cnn_pipeline_out_size(&p);
		ref = alloc_out(&p, n);
		fast = alloc_out(&p, n);
		fast1 = alloc_out(&p, n);
		sw_rng_seed(&r1, trial, 3);
		r2 = r3 = r1;
		cnn_pipeline_apply_ref(&p, ref, &s, idx, n, training, &r1);
		omp_set_num_threads(3);
		cnn_pipeline_apply(&p, fast, &s, idx, n, training, &r2);
		omp_set_num_threads(1);
		cnn_pipeline_apply(&p, fast1, &s, idx, n, training, &r3);
		omp_set_num_threads(2);
		assert_memory_equal(&r1, &r2, sizeof(r1));  /* same rng use */
		assert_memory_equal(&r1, &r3, sizeof(r1));
		assert_memory_equal(fast, fast1, total * sizeof(float));
		for (size_t t = 0; t < total; t++) {
			double d = fabs((double)ref[t] - fast[t]);

			maxd = d > maxd ? d : maxd;
		}
		if (maxd > 1e-5 * 256)
			fail_msg("trial %d: fast differs from reference by %g", trial, maxd);
		/* relative check on values of order 1 */
		for (size_t t = 0; t < total; t++)
			assert_true(fabs((double)ref[t] - fast[t]) <=
				    1e-5 * (1 + fabs((double)ref[t])));
		free(ref);
		free(fast);
		free(fast1);
	}
}

static void test_rng_use(void **state)
{
	struct cnn_split s = random_split(5);
	struct cnn_pipeline p;
	struct sw_rng a, b, untouched;
	float *o1, *o2;
	size_t bytes = sizeof(float) * NIMG * CNN_CIFAR_PIXELS;

	(void)state;
	cnn_pipeline_init(&p);
	add(&p, CNN_STEP_RANDOM_FLIP, 0, 0);
	add(&p, CNN_STEP_RANDOM_CROP, 4, 0);
	o1 = alloc_out(&p, NIMG);
	o2 = alloc_out(&p, NIMG);
	sw_rng_seed(&a, 1, 1);
	b = untouched = a;
	cnn_pipeline_apply(&p, o1, &s, NULL, NIMG, 1, &a);
	cnn_pipeline_apply(&p, o2, &s, NULL, NIMG, 1, &b);
	assert_memory_equal(o1, o2, bytes);
	/* the rng advanced: the next batch is augmented differently */
	cnn_pipeline_apply(&p, o2, &s, NULL, NIMG, 1, &b);
	assert_memory_not_equal(o1, o2, bytes);
	/* evaluation does not touch the rng */
	a = untouched;
	cnn_pipeline_apply(&p, o1, &s, NULL, NIMG, 0, &a);
	assert_memory_equal(&a, &untouched, sizeof(a));
	free(o1);
	free(o2);
}

static void test_fit(void **state)
{
	struct cnn_split s = random_split(6);
	struct cnn_pipeline p;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;
	double sum[3] = { 0 }, sq[3] = { 0 };
	float *o;
	int c, k, j;

	(void)state;
	/* make channel 1 darker so the channels differ */
	for (j = 0; j < NIMG; j++)
		for (k = 0; k < 1024; k++)
			pixels[(size_t)j * CNN_CIFAR_PIXELS + 1024 + k] /= 3;
	cnn_hparams_default(&hp);
	hp.normalize = CNN_NORM_STANDARDIZE;
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "needs the training set"));
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, &s, &err), 0);
	assert_int_equal(p.n_steps, 3);
	assert_int_equal(p.steps[2].op, CNN_STEP_STANDARDIZE);
	assert_true(p.steps[2].mean[1] < p.steps[2].mean[0] - 0.2f);
	o = alloc_out(&p, NIMG);
	cnn_pipeline_apply(&p, o, &s, NULL, NIMG, 0, NULL);
	for (j = 0; j < NIMG; j++)
		for (c = 0; c < 3; c++)
			for (k = 0; k < 1024; k++) {
				double v = o[(size_t)j * CNN_CIFAR_PIXELS + c * 1024 + k];

				sum[c] += v;
				sq[c] += v * v;
			}
	for (c = 0; c < 3; c++) {
		double m = sum[c] / (NIMG * 1024.0);

		assert_float_equal(m, 0, 1e-4);
		assert_float_equal(sq[c] / (NIMG * 1024.0) - m * m, 1, 1e-3);
	}
	/* fitting is independent of the thread count */
	{
		struct cnn_pipeline q = p;

		omp_set_num_threads(1);
		assert_int_equal(cnn_pipeline_fit(&q, &s, &err), 0);
		omp_set_num_threads(2);
		assert_memory_equal(&q, &p, sizeof(p));
	}
	/* the generic path (a real resize before standardize) too */
	{
		struct cnn_pipeline q;
		float *r;

		cnn_pipeline_init(&q);
		add(&q, CNN_STEP_RESIZE, 20, 0);
		add(&q, CNN_STEP_RANDOM_CROP, 2, 0);
		add(&q, CNN_STEP_RESCALE, 0, 1.0f / 255);
		add(&q, CNN_STEP_STANDARDIZE, 0, 0);
		assert_int_equal(cnn_pipeline_fit(&q, &s, &err), 0);
		r = alloc_out(&q, NIMG);
		cnn_pipeline_apply(&q, r, &s, NULL, NIMG, 0, NULL);
		for (c = 0; c < 3; c++) {
			double m = 0, v = 0;

			for (j = 0; j < NIMG; j++)
				for (k = 0; k < 400; k++) {
					double x = r[(size_t)j * 1200 + c * 400 + k];

					m += x;
					v += x * x;
				}
			m /= NIMG * 400.0;
			assert_float_equal(m, 0, 1e-4);
			assert_float_equal(v / (NIMG * 400.0) - m * m, 1, 1e-3);
		}
		free(r);
	}
	/* an empty set cannot be fitted */
	{
		struct cnn_split empty = { 0, pixels, labels };

		assert_int_equal(cnn_pipeline_fit(&p, &empty, &err), -1);
	}
	free(o);
}

static void test_from_hparams(void **state)
{
	struct cnn_pipeline p;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	cnn_hparams_default(&hp);
	hp.augment = CNN_AUG_FLIP_CROP;
	hp.image_size = 24;
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, NULL, &err), 0);
	assert_int_equal(p.n_steps, 4);
	assert_int_equal(p.steps[0].op, CNN_STEP_RESIZE);
	assert_int_equal(p.steps[0].size, 24);
	assert_int_equal(p.steps[1].op, CNN_STEP_RANDOM_FLIP);
	assert_int_equal(p.steps[2].op, CNN_STEP_RANDOM_CROP);
	assert_int_equal(p.steps[2].padding, 4);
	assert_int_equal(p.steps[3].op, CNN_STEP_RESCALE);
	assert_int_equal(cnn_pipeline_out_size(&p), 24);
	hp.augment = CNN_AUG_FLIP;
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, NULL, &err), 0);
	assert_int_equal(p.n_steps, 3);
	assert_int_equal(p.steps[1].op, CNN_STEP_RANDOM_FLIP);
}

static void test_json_round_trip(void **state)
{
	struct cnn_split s = random_split(7);
	struct cnn_pipeline p, q;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;
	json_t *j, *back;
	char *text;

	(void)state;
	cnn_hparams_default(&hp);
	hp.normalize = CNN_NORM_STANDARDIZE;
	hp.augment = CNN_AUG_FLIP_CROP;
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, &s, &err), 0);
	j = cnn_pipeline_to_json(&p);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(text, "\"op\":\"random_crop\",\"padding\":4"));
	back = json_loads(text, 0, NULL);
	assert_non_null(back);
	memset(&q, 0x55, sizeof(q));
	if (cnn_pipeline_from_json(&q, back, &err) < 0)
		fail_msg("%s", err.msg);
	/* bit-identical, including the fitted floats */
	assert_int_equal(q.n_steps, p.n_steps);
	for (int i = 0; i < p.n_steps; i++) {
		assert_int_equal(q.steps[i].op, p.steps[i].op);
		assert_memory_equal(q.steps[i].mean, p.steps[i].mean, sizeof(p.steps[i].mean));
		assert_memory_equal(q.steps[i].std, p.steps[i].std, sizeof(p.steps[i].std));
		assert_true(q.steps[i].scale == p.steps[i].scale);
	}
	free(text);
	json_decref(j);
	json_decref(back);
}

static void expect_json_error(const char *text, const char *needle)
{
	struct cnn_pipeline p;
	struct sw_err err = SW_ERR_INIT;
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (!j)
		fail_msg("bad test JSON %s: %s", text, je.text);
	assert_int_equal(cnn_pipeline_from_json(&p, j, &err), -1);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
	json_decref(j);
}

static void test_json_errors(void **state)
{
	(void)state;
#define HEAD "{\"version\":1,\"input\":[3,32,32],\"steps\":"
	expect_json_error("[]", "not a JSON object");
	expect_json_error("{\"version\":2,\"input\":[3,32,32],\"steps\":[]}",
			  "unsupported version");
	expect_json_error("{\"version\":1,\"input\":[1,28,28],\"steps\":[]}",
			  "must be [3, 32, 32]");
	expect_json_error("{\"version\":1,\"input\":[3,32,32],\"steps\":[],\"x\":1}",
			  "unknown key 'x'");
	expect_json_error(HEAD "{}}", "'steps' must be an array");
	expect_json_error(HEAD "[{\"op\":\"blur\"}]}", "pipeline step 0: unknown op 'blur'");
	expect_json_error(HEAD "[{\"op\":\"resize\",\"size\":0}]}",
			  "pipeline step 0 (resize): size must be between 1 and 512, got 0");
	expect_json_error(HEAD "[{\"op\":\"resize\",\"size\":\"32\"}]}",
			  "'size' must be an integer");
	expect_json_error(HEAD "[{\"op\":\"random_flip\",\"p\":0.5}]}",
			  "pipeline step 0 (random_flip): unknown key 'p'");
	expect_json_error(HEAD "[{\"op\":\"random_flip\"},{\"op\":\"random_crop\",\"padding\":-1}]}",
			  "pipeline step 1 (random_crop): padding must be between 0 and 64");
	expect_json_error(HEAD "[{\"op\":\"rescale\",\"scale\":1}]}",
			  "'offset' must be a number");
	expect_json_error(HEAD "[{\"op\":\"standardize\",\"mean\":[0,0,0],\"std\":[1,0,1]}]}",
			  "pipeline step 0 (standardize): std[1] must be > 0");
	expect_json_error(HEAD "[{\"op\":\"standardize\",\"mean\":[0,0],\"std\":[1,1,1]}]}",
			  "'mean' must be an array of 3 numbers");
	expect_json_error(HEAD "[1]}", "pipeline step 0: must be an object");
	expect_json_error(HEAD "[{\"op\":\"random_flip\"},{\"op\":\"random_flip\"},"
			  "{\"op\":\"random_flip\"},{\"op\":\"random_flip\"},"
			  "{\"op\":\"random_flip\"},{\"op\":\"random_flip\"},"
			  "{\"op\":\"random_flip\"},{\"op\":\"random_flip\"},"
			  "{\"op\":\"random_flip\"}]}", "more than 8 steps");
#undef HEAD
}

/* The real training set, when present: the fitted statistics match the
 * README's channel means and standard deviations. Prints throughput. */
static void test_real_data(void **state)
{
	static const double mean[3] = { 125.269, 122.933, 113.863 };
	static const double sd[3] = { 62.534, 61.909, 66.460 };
	struct cnn_dataset *ds = NULL;
	struct cnn_pipeline p;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;
	struct sw_rng rng;
	struct timespec t0, t1;
	float *o;
	int c, idx[256], i, reps = 20;

	(void)state;
	const char *real = sw_test_cifar_real_dir();

	if (!real)
		skip();
	assert_int_equal(cnn_dataset_load(real, NULL, &ds, &err), 0);
	cnn_hparams_default(&hp);
	hp.normalize = CNN_NORM_STANDARDIZE;
	hp.augment = CNN_AUG_FLIP_CROP;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, &ds->train, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("fitted standardize on 50,000 images in %.3f s\n",
		      (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	assert_int_equal(p.steps[4].op, CNN_STEP_STANDARDIZE);
	for (c = 0; c < 3; c++) {
		assert_float_equal(p.steps[4].mean[c], mean[c] / 255, 2e-5);
		assert_float_equal(p.steps[4].std[c], sd[c] / 255, 2e-5);
	}
	o = alloc_out(&p, 256);
	sw_rng_seed(&rng, 1, 1);
	cnn_permutation(idx, 256, &rng);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < reps; i++)
		cnn_pipeline_apply(&p, o, &ds->train, idx, 256, 1, &rng);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("training batches of 256 (flip+crop+standardize): %.0f images/s\n",
		      reps * 256 / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9));
	free(o);
	cnn_dataset_unref(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rescale_exact),
		cmocka_unit_test(test_resize_values),
		cmocka_unit_test(test_flip_and_crop),
		cmocka_unit_test(test_fast_vs_ref),
		cmocka_unit_test(test_rng_use),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_from_hparams),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_real_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
