/* test_data.c - the CIFAR-10 loader: generated files in the official format
 * (contents, limits, every kind of broken file), directory resolution,
 * sharing, and the real data set when it is on this machine. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "support/cifar_fake.h"
#include "support/support.h"
#include "trainer/data.h"

#define R 20  /* records per generated file */

static char *make_fake(void)
{
	char *dir = sw_test_tmpdir();

	assert_non_null(dir);
	assert_int_equal(sw_test_cifar_write(dir, R), 0);
	return dir;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Expects loading dir to fail with a message containing every needle. */
static void expect_load_error(const char *dir, const struct cnn_data_opts *o,
			      const char *n1, const char *n2)
{
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = (struct cnn_dataset *)1;

	assert_int_equal(cnn_dataset_load(dir, o, &ds, &err), -1);
	assert_null(ds);
	if (!strstr(err.msg, n1) || (n2 && !strstr(err.msg, n2)))
		fail_msg("error '%s' lacks '%s' / '%s'", err.msg, n1, n2 ? n2 : "");
}

static void test_load_contents(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	char *dir = make_fake();
	int f, r, k;

	(void)state;
	o.batch_records = R;
	assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
	assert_int_equal(ds->train.n, 5 * R);
	assert_int_equal(ds->test.n, R);
	assert_string_equal(ds->class_names[0], "airplane");
	assert_string_equal(ds->class_names[9], "truck");
	assert_string_equal(ds->dir, dir);
	for (f = 0; f < 5; f++)
		for (r = 0; r < R; r++) {
			int i = f * R + r;
			const uint8_t *px = ds->train.pixels + (size_t)i * CNN_CIFAR_PIXELS;

			assert_int_equal(ds->train.labels[i], sw_test_cifar_label(f, r));
			for (k = 0; k < CNN_CIFAR_PIXELS; k += 97)
				assert_int_equal(px[k], sw_test_cifar_pixel(f, r, k));
			assert_int_equal(px[CNN_CIFAR_PIXELS - 1],
					 sw_test_cifar_pixel(f, r, CNN_CIFAR_PIXELS - 1));
		}
	for (r = 0; r < R; r++) {
		assert_int_equal(ds->test.labels[r], sw_test_cifar_label(5, r));
		assert_int_equal(ds->test.pixels[(size_t)r * CNN_CIFAR_PIXELS + 5],
				 sw_test_cifar_pixel(5, r, 5));
	}
	cnn_dataset_unref(ds);
	sw_test_rmtree(dir);
	free(dir);
}

static void test_limits_and_skip(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	char *dir = make_fake();

	(void)state;
	o.batch_records = R;
	o.train_limit = R + 5;  /* spans batch 1 and part of batch 2 */
	o.val_limit = 7;
	assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
	assert_int_equal(ds->train.n, R + 5);
	assert_int_equal(ds->test.n, 7);
	assert_int_equal(ds->train.labels[R + 4], sw_test_cifar_label(1, 4));
	assert_int_equal(ds->train.pixels[(size_t)(R + 4) * CNN_CIFAR_PIXELS + 3],
			 sw_test_cifar_pixel(1, 4, 3));
	assert_int_equal(ds->test.labels[6], sw_test_cifar_label(5, 6));
	cnn_dataset_unref(ds);

	/* a limit above the size means everything */
	o.train_limit = 1000000;
	o.val_limit = 0;
	o.skip_train = 1;
	assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
	assert_int_equal(ds->train.n, 0);
	assert_int_equal(ds->test.n, R);
	cnn_dataset_unref(ds);

	/* eval needs no training files */
	{
		char *p = path_in(dir, "data_batch_2.bin");

		assert_int_equal(unlink(p), 0);
		assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
		cnn_dataset_unref(ds);
		o.skip_train = 0;
		expect_load_error(dir, &o, p, "No such file");
		/* a train_limit that fits in data_batch_1 does not need the others */
		o.train_limit = R;
		assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
		assert_int_equal(ds->train.n, R);
		cnn_dataset_unref(ds);
		o.train_limit = R + 1;
		expect_load_error(dir, &o, p, "No such file");
		free(p);
	}
	sw_test_rmtree(dir);
	free(dir);
}

static void test_bad_sizes(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	char *dir = make_fake();
	char *p = path_in(dir, "data_batch_3.bin");

	(void)state;
	o.batch_records = R;
	/* one byte short: not a multiple of 3073 */
	assert_int_equal(truncate(p, (off_t)R * 3073 - 1), 0);
	expect_load_error(dir, &o, p, "is not a multiple of 3073 bytes");
	/* whole records, but too few */
	assert_int_equal(truncate(p, (off_t)(R - 1) * 3073), 0);
	expect_load_error(dir, &o, p, "19 records, expected 20");
	/* empty */
	assert_int_equal(truncate(p, 0), 0);
	expect_load_error(dir, &o, p, "0 records, expected 20");
	/* the official count by default */
	assert_int_equal(sw_test_cifar_write(dir, R), 0);
	expect_load_error(dir, NULL, "data_batch_1.bin", "20 records, expected 10000");
	free(p);
	sw_test_rmtree(dir);
	free(dir);
}

static void test_bad_label(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	char *dir = make_fake();
	char *p = path_in(dir, "data_batch_3.bin");
	size_t len;
	char *data = sw_test_read_file(p, &len);
	char want[4200];

	(void)state;
	o.batch_records = R;
	data[(size_t)17 * 3073] = 12;
	assert_int_equal(sw_test_write_file(p, data, len), 0);
	snprintf(want, sizeof(want), "'%s' record 17: label 12 is not a class (0-9)", p);
	expect_load_error(dir, &o, want, NULL);
	/* the same record is outside the loaded part with a train_limit */
	o.train_limit = 2 * R + 17;
	{
		struct sw_err err = SW_ERR_INIT;
		struct cnn_dataset *ds = NULL;

		assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
		cnn_dataset_unref(ds);
	}
	o.train_limit = 2 * R + 18;
	expect_load_error(dir, &o, want, NULL);
	/* in the test batch, label 255 */
	free(p);
	free(data);
	assert_int_equal(sw_test_cifar_write(dir, R), 0);
	p = path_in(dir, "test_batch.bin");
	data = sw_test_read_file(p, &len);
	data[0] = (char)255;
	assert_int_equal(sw_test_write_file(p, data, len), 0);
	expect_load_error(dir, &o, "test_batch.bin' record 0: label 255", NULL);
	free(p);
	free(data);
	sw_test_rmtree(dir);
	free(dir);
}

static void test_bad_meta_and_dirs(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	char *dir = make_fake();
	char *p = path_in(dir, "batches.meta.txt");
	char *missing = path_in(dir, "nope");
	char *file = path_in(dir, "test_batch.bin");

	(void)state;
	o.batch_records = R;
	assert_int_equal(sw_test_write_file(p, "a\nb\nc\n", 6), 0);
	expect_load_error(dir, &o, p, "names 3 classes, expected 10");
	assert_int_equal(sw_test_write_file(p, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n", 22), 0);
	expect_load_error(dir, &o, p, "line 11: more than 10 class names");
	/* CRLF and blank lines are fine */
	{
		const char *crlf = "a\r\n\r\nb\nc\nd\ne\nf\ng\nh\ni\nj";

		assert_int_equal(sw_test_write_file(p, crlf, strlen(crlf)), 0);
	}
	{
		struct sw_err err = SW_ERR_INIT;
		struct cnn_dataset *ds = NULL;

		assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
		assert_string_equal(ds->class_names[0], "a");
		assert_string_equal(ds->class_names[9], "j");
		cnn_dataset_unref(ds);
	}
	assert_int_equal(sw_test_write_file(p, "a\0b\n", 4), 0);
	expect_load_error(dir, &o, p, "not a text file");
	assert_int_equal(unlink(p), 0);
	expect_load_error(dir, &o, p, "No such file");
	expect_load_error(missing, &o, missing, "cannot open data directory");
	expect_load_error(file, &o, file, "is not a directory");
	free(p);
	free(missing);
	free(file);
	sw_test_rmtree(dir);
	free(dir);
}

static void test_data_dir(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	char *d = NULL, *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	(void)state;
	setenv("SWEEP_DATA", "/env/data", 1);
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(cnn_data_dir("/flag", &d, &err), 0);
	assert_string_equal(d, "/flag");
	free(d);
	assert_int_equal(cnn_data_dir("", &d, &err), 0);
	assert_string_equal(d, "/env/data");
	free(d);
	setenv("SWEEP_DATA", "", 1);
	assert_int_equal(cnn_data_dir(NULL, &d, &err), 0);
	assert_string_equal(d, "/xdg/sweep/cifar-10-batches-bin");
	free(d);
	setenv("XDG_CACHE_HOME", "relative", 1);  /* ignored, per XDG */
	assert_int_equal(cnn_data_dir(NULL, &d, &err), 0);
	assert_string_equal(d, "/home/u/.cache/sweep/cifar-10-batches-bin");
	free(d);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_int_equal(cnn_data_dir(NULL, &d, &err), -1);
	assert_null(d);
	assert_non_null(strstr(err.msg, "pass --data DIR or set SWEEP_DATA"));
	unsetenv("SWEEP_DATA");
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

static void test_open(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	char *dir = make_fake();
	char *missing = path_in(dir, "absent");

	(void)state;
	o.batch_records = R;
	setenv("SWEEP_DATA", dir, 1);
	assert_int_equal(cnn_data_open(NULL, &o, NULL, &ds, &err), 0);
	assert_int_equal(ds->train.n, 5 * R);
	cnn_dataset_unref(ds);
	o.no_download = 1;
	assert_int_equal(cnn_data_open(missing, &o, NULL, &ds, &err), -1);
	assert_null(ds);
	assert_non_null(strstr(err.msg, missing));
	assert_non_null(strstr(err.msg, "downloading is disabled"));
	unsetenv("SWEEP_DATA");
	free(missing);
	sw_test_rmtree(dir);
	free(dir);
}

static void test_sharing(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	struct cnn_split v;
	char *dir = make_fake();
	int labels[3], idx[3] = { 4, 0, 2 };
	long sum = 0;

	(void)state;
	o.batch_records = R;
	assert_int_equal(cnn_dataset_load(dir, &o, &ds, &err), 0);
	/* trainers in several threads take and drop references concurrently
	 * while reading; the last unref (below) frees */
#pragma omp parallel for reduction(+:sum) num_threads(4)
	for (int t = 0; t < 400; t++) {
		struct cnn_dataset *mine = cnn_dataset_ref(ds);

		sum += mine->train.pixels[(size_t)(t % (5 * R)) * CNN_CIFAR_PIXELS];
		cnn_dataset_unref(mine);
	}
	assert_true(sum > 0);
	assert_int_equal(ds->refs_, 1);

	v = cnn_split_head(&ds->train, 5);
	assert_int_equal(v.n, 5);
	assert_ptr_equal(v.pixels, ds->train.pixels);
	assert_int_equal(cnn_split_head(&ds->train, 0).n, 5 * R);
	assert_int_equal(cnn_split_head(&ds->train, 5 * R + 1).n, 5 * R);
	cnn_split_labels(&v, idx, 3, labels);
	assert_int_equal(labels[0], sw_test_cifar_label(0, 4));
	assert_int_equal(labels[1], sw_test_cifar_label(0, 0));
	assert_int_equal(labels[2], sw_test_cifar_label(0, 2));
	cnn_dataset_unref(ds);
	cnn_dataset_unref(NULL);
	sw_test_rmtree(dir);
	free(dir);
}

static void test_permutation(void **state)
{
	struct sw_rng a, b;
	int p[100], q[100], seen[100] = { 0 }, i, moved = 0;

	(void)state;
	sw_rng_seed(&a, 1, 2);
	sw_rng_seed(&b, 1, 2);
	cnn_permutation(p, 100, &a);
	cnn_permutation(q, 100, &b);
	for (i = 0; i < 100; i++) {
		assert_int_equal(p[i], q[i]);
		assert_true(p[i] >= 0 && p[i] < 100);
		seen[p[i]]++;
		moved += p[i] != i;
	}
	for (i = 0; i < 100; i++)
		assert_int_equal(seen[i], 1);
	assert_true(moved > 80);
	cnn_permutation(p, 0, &a);
	cnn_permutation(p, 1, &a);
	assert_int_equal(p[0], 0);
}

/* The real data set, when present: counts, class balance, the spot check
 * and the channel means from its README. Prints the load time. */
static void test_real_data(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	struct timespec t0, t1;
	long hist[10] = { 0 }, test_hist[10] = { 0 };
	double mean_r = 0;
	int i;

	(void)state;
	const char *real = sw_test_cifar_real_dir();

	if (!real)
		skip();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cnn_dataset_load(real, NULL, &ds, &err) < 0)
		fail_msg("%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("loaded 60,000 CIFAR-10 images in %.3f s\n",
		      (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
	assert_int_equal(ds->train.n, 50000);
	assert_int_equal(ds->test.n, 10000);
	assert_string_equal(ds->class_names[2], "bird");
	for (i = 0; i < 50000; i++)
		hist[ds->train.labels[i]]++;
	for (i = 0; i < 10000; i++)
		test_hist[ds->test.labels[i]]++;
	for (i = 0; i < 10; i++) {
		assert_int_equal(hist[i], 5000);
		assert_int_equal(test_hist[i], 1000);
	}
	assert_int_equal(ds->train.labels[0], 2);  /* train/bird/1841.jpg */
	for (i = 0; i < 50000; i++) {
		const uint8_t *px = ds->train.pixels + (size_t)i * CNN_CIFAR_PIXELS;
		long s = 0;

		for (int k = 0; k < 1024; k++)
			s += px[k];
		mean_r += s;
	}
	mean_r /= 50000.0 * 1024;
	assert_true(mean_r > 125.26 && mean_r < 125.28);  /* README: 125.269 */
	cnn_dataset_unref(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_contents),
		cmocka_unit_test(test_limits_and_skip),
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_bad_label),
		cmocka_unit_test(test_bad_meta_and_dirs),
		cmocka_unit_test(test_data_dir),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_sharing),
		cmocka_unit_test(test_permutation),
		cmocka_unit_test(test_real_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
