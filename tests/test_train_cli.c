/* test_train_cli.c - end-to-end `sweep train`, `sweep eval` and `sweep
 * bench` on tiny generated CIFAR-format data: output per epoch (text and
 * JSON), saving and evaluating a model, bad hyperparameters, bad data
 * directories and bad model files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/cifar_fake.h"
#include "support/support.h"
#include "base/rng.h"

#define RECORDS 40

static char *dir, *data;

static const char *const env[] = {
	"SWEEP_TEST_CIFAR_RECORDS=40",
	"SWEEP_CIFAR_URL=http://127.0.0.1:9/none.tar.gz",
	"SWEEP_DATA=",
	NULL
};

static int setup(void **state)
{
	char p[4096];

	(void)state;
	dir = sw_test_tmpdir();
	if (!dir)
		return -1;
	snprintf(p, sizeof(p), "%s/data", dir);
	data = strdup(p);
	if (mkdir(data, 0755) < 0 || sw_test_cifar_write(data, RECORDS) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(dir);
	free(dir);
	free(data);
	return 0;
}

/* Runs the sweep binary with args (NULL-terminated) and the test env. */
static void run(struct sw_test_proc *p, const char *const *args)
{
	sw_test_run_args(p, args, env, 120);
}

/* Runs args expecting success and one JSON object on stdout; returns it
 * (caller frees). */
static json_t *run_json(const char *const *args)
{
	struct sw_test_proc p;
	json_error_t jerr;
	json_t *o;

	run(&p, args);
	sw_test_expect_status(&p, 0);
	o = json_loads(p.out, 0, &jerr);
	assert_non_null(o);
	sw_test_proc_release(&p);
	return o;
}

/* Runs args expecting the exit status and an error holding needle. */
static void expect_error(const char *const *args, int status, const char *needle)
{
	struct sw_test_proc p;

	run(&p, args);
	assert_int_equal(p.status, status);
	assert_non_null(strstr(p.err, needle));
	sw_test_proc_release(&p);
}

#define TINY "epochs=2", "conv1_filters=4", "conv2_filters=4", "dense_units=8", \
	"batch_size=16", "image_size=16"

#define TINY4 "epochs=4", "conv1_filters=16", "conv2_filters=32", "dense_units=32", \
	"batch_size=16", "image_size=32", "augment=flip_crop", "dropout=0.3"

static void test_train_text(void **state)
{
	struct sw_test_proc p;
	const char *args[] = { "train", "--data", data, "--threads", "1", TINY, NULL };

	(void)state;
	run(&p, args);
	if (p.status != 0)
		printf("%s", p.err);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "epoch "), 2);
	assert_non_null(strstr(p.out, "epoch 1/2: loss "));
	assert_non_null(strstr(p.out, "val_accuracy "));
	assert_non_null(strstr(p.out, "images/s"));
	sw_test_proc_release(&p);
}

static void test_train_json_save_eval(void **state)
{
	struct sw_test_proc p;
	char model[4096];
	const char *args[] = { "train", "--data", data, "--threads", "2", "--json",
			       "--save", model, TINY, "seed=3", NULL };
	const char *eargs[] = { "eval", model, "--data", data, "--json", NULL };
	json_error_t jerr;
	json_t *ep, *sum;
	char *nl;

	(void)state;
	snprintf(model, sizeof(model), "%s/m.safetensors", dir);
	run(&p, args);
	if (p.status != 0)
		printf("%s", p.err);
	assert_int_equal(p.status, 0);
	/* two epoch objects then the summary */
	nl = strchr(p.out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	ep = json_loads(p.out, 0, &jerr);
	assert_non_null(ep);
	assert_int_equal(json_integer_value(json_object_get(ep, "epoch")), 1);
	const char *keys[] = { "loss", "accuracy", "val_loss", "val_accuracy",
			       "learning_rate", "images_per_sec" };
	for (int i = 0; i < 6; i++)
		assert_true(json_is_number(json_object_get(ep, keys[i])));
	json_decref(ep);
	assert_int_equal(sw_test_count_lines(nl + 1, "\"epoch\""), 1);
	sum = json_loads(strstr(nl + 1, "{\"summary\""), JSON_DISABLE_EOF_CHECK, &jerr);
	assert_non_null(sum);
	json_t *s = json_object_get(sum, "summary");
	assert_string_equal(json_string_value(json_object_get(s, "status")), "ok");
	assert_int_equal(json_integer_value(json_object_get(s, "epochs")), 2);
	assert_int_equal(json_integer_value(json_object_get(s, "seed")), 3);
	double val_loss = json_real_value(json_object_get(s, "val_loss"));
	json_decref(sum);
	sw_test_proc_release(&p);

	/* the saved model evaluates to the last epoch's validation loss */
	ep = run_json(eargs);
	assert_float_equal(json_real_value(json_object_get(ep, "test_loss")), val_loss, 1e-4);
	assert_int_equal(json_integer_value(json_object_get(ep, "images")), RECORDS);
	json_decref(ep);
}

static void test_bad_hyperparameters(void **state)
{
	struct sw_test_proc p;
	const char *a1[] = { "train", "--data", data, "lerning_rate=0.1", NULL };
	const char *a2[] = { "train", "--data", data, "batch_size=0", NULL };
	const char *a3[] = { "train", "--data", data, "optimizer=adamw", NULL };
	const char *a4[] = { "train", "--data", data, "epochs", NULL };
	const char *a5[] = { "train", "--threads", "zero", NULL };
	const char *a6[] = { "train", "--bogus", NULL };

	(void)state;
	run(&p, a1);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "unknown hyperparameter 'lerning_rate'; did you mean 'learning_rate'?"));
	assert_string_equal(p.out, "");
	sw_test_proc_release(&p);
	expect_error(a2, 2, "batch_size");
	expect_error(a3, 2, "optimizer");
	expect_error(a4, 2, "expected key=value, got 'epochs'");
	expect_error(a5, 2, "--threads");
	expect_error(a6, 2, "--bogus");
}

static void test_bad_data(void **state)
{
	struct sw_test_proc p;
	char bad[2048], file[4096], missing[4096];
	const char *a1[] = { "train", "--data", bad, TINY, NULL };
	const char *a2[] = { "train", "--data", missing, TINY, NULL };

	(void)state;
	/* a truncated training file */
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	assert_int_equal(mkdir(bad, 0755), 0);
	assert_int_equal(sw_test_cifar_write(bad, RECORDS), 0);
	snprintf(file, sizeof(file), "%s/data_batch_3.bin", bad);
	assert_int_equal(truncate(file, 3073 * 10 + 5), 0);
	run(&p, a1);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "data_batch_3.bin"));
	assert_null(strstr(p.err, "Segmentation"));
	sw_test_proc_release(&p);
	/* a directory that does not exist and cannot be downloaded */
	snprintf(missing, sizeof(missing), "%s/nothing/here", dir);
	run(&p, a2);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "sweep: error:"));
	assert_non_null(strstr(p.err, "127.0.0.1"));
	sw_test_proc_release(&p);
}

static void test_eval_bad_model(void **state)
{
	char model[4096];
	const char *a1[] = { "eval", model, "--data", data, NULL };
	const char *a2[] = { "eval", NULL };

	(void)state;
	snprintf(model, sizeof(model), "%s/junk.safetensors", dir);
	assert_int_equal(sw_test_write_file(model, "not a model", 11), 0);
	expect_error(a1, 1, "junk.safetensors");
	expect_error(a2, 2, "missing the model file");
}

static void test_bench_json(void **state)
{
	const char *a1[] = { "bench", "--batch", "8", "--threads", "1", "--seconds",
			     "0.05", "--json", NULL };
	const char *a2[] = { "bench", "--seconds", "-1", NULL };
	json_t *o;

	(void)state;
	o = run_json(a1);
	const char *keys[] = { "train_images_per_sec", "infer_images_per_sec", "gflops",
			       "peak_rss_mb" };
	for (int i = 0; i < 4; i++)
		assert_true(json_number_value(json_object_get(o, keys[i])) > 0);
	assert_int_equal(json_integer_value(json_object_get(o, "batch")), 8);
	assert_int_equal(json_integer_value(json_object_get(o, "threads")), 1);
	json_decref(o);
	expect_error(a2, 2, "--seconds");
}

/* The values of every epoch line {"epoch": N, ...} of a --json output, by
 * epoch, into by_epoch[N] (an epoch printed twice must be the same). */
static void collect_epochs(const char *out, json_t *by_epoch)
{
	const char *line = out;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		json_t *o = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
		json_t *ep = json_object_get(o, "epoch");

		if (json_is_integer(ep)) {
			char key[16];
			json_t *prev;

			/* wall times differ between attempts */
			json_object_del(o, "images_per_sec");
			json_object_del(o, "seconds");
			snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(ep));
			prev = json_object_get(by_epoch, key);
			if (prev && !json_equal(prev, o))
				fail_msg("epoch %s differs after a resume", key);
			json_object_set(by_epoch, key, o);
		}
		json_decref(o);
		line = nl ? nl + 1 : NULL;
	}
}

/* SIGKILL `sweep train --save-every-epoch` at random moments, --resume each
 * time: the epochs and the saved model are bit-identical to a run never
 * interrupted, and no finished epoch is trained again. */
static void test_train_killed_and_resumed(void **state)
{
	char ckpt[4096], m1[4096], m2[4096];
	const char *whole[] = { "train", "--data", data, "--threads", "1", "--json",
				"--save", m1, TINY4, NULL };
	const char *part[] = { "train", "--data", data, "--threads", "1", "--json",
			       "--save", m2, "--save-every-epoch", ckpt, "--resume", ckpt,
			       TINY4, NULL };
	const char *argv[32];
	json_t *ref = json_object(), *got = json_object();
	struct sw_test_proc p;
	struct sw_rng rng;
	char *a, *b;
	size_t la, lb;
	int kills = 0, resumed = 0, i, n = 0;
	double t0, full;

	(void)state;
	snprintf(ckpt, sizeof(ckpt), "%s/train.ckpt", dir);
	snprintf(m1, sizeof(m1), "%s/whole.safetensors", dir);
	snprintf(m2, sizeof(m2), "%s/resumed.safetensors", dir);
	t0 = sw_test_now();
	run(&p, whole);
	full = sw_test_now() - t0;
	assert_int_equal(p.status, 0);
	collect_epochs(p.out, ref);
	assert_int_equal(json_object_size(ref), 4);
	sw_test_proc_release(&p);

	argv[n++] = sw_test_bin();
	for (i = 0; part[i]; i++)
		argv[n++] = part[i];
	argv[n] = NULL;
	sw_rng_seed(&rng, 15, 1);
	for (i = 0; i < 40; i++) {
		/* the first kill well after a checkpoint, then anywhere (early
		 * ones land in data loading, some in a checkpoint's write) */
		double at = i == 0 ? 0.6 * full :
			    i < 8 ? full * (0.1 + 0.5 * sw_rng_double(&rng)) : 60;

		assert_int_equal(sw_test_run_for(&p, argv, NULL, env, at), 0);
		collect_epochs(p.out, got);
		resumed += strstr(p.err, "resuming after epoch") != NULL;
		if (i > 0 && strstr(p.out, "\"epoch\":1,"))
			assert_null(strstr(p.err, "resuming after epoch"));
		if (p.status == 0) {
			sw_test_proc_release(&p);
			break;
		}
		assert_int_equal(p.status, 128 + 9);
		kills++;
		sw_test_proc_release(&p);
	}
	printf("  %d kills in a %.2f s run, %d resumes\n", kills,
	       full, resumed);
	assert_true(kills >= 1 && resumed >= 1);
	assert_true(json_equal(ref, got));
	a = sw_test_read_file(m1, &la);
	b = sw_test_read_file(m2, &lb);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);

	/* a torn checkpoint: warned about by name, and training starts over */
	assert_int_equal(truncate(ckpt, 100), 0);
	run(&p, part);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "warning: checkpoint '"));
	assert_non_null(strstr(p.err, "train.ckpt' is torn"));
	assert_int_equal(sw_test_count_lines(p.out, "\"epoch\":"), 4);
	sw_test_proc_release(&p);
	json_decref(ref);
	json_decref(got);
}

/* model sizes as key=value, as sweep train takes them */
static void test_bench_model_sizes(void **state)
{
	const char *a1[] = { "bench", "--batch", "4", "--threads", "1", "--seconds",
			     "0.05", "--json", "conv1_filters=16", "conv2_filters=24", NULL };
	const char *a2[] = { "bench", "conv1_filters", NULL };
	const char *a3[] = { "bench", "conv1_filter=8", NULL };
	json_t *o;

	(void)state;
	o = run_json(a1);
	assert_int_equal(json_integer_value(json_object_get(o, "conv1_filters")), 16);
	assert_int_equal(json_integer_value(json_object_get(o, "conv2_filters")), 24);
	json_decref(o);
	expect_error(a2, 2, "expected key=value, got 'conv1_filters'");
	expect_error(a3, 2, "conv1_filter");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_train_text),
		cmocka_unit_test(test_train_json_save_eval),
		cmocka_unit_test(test_bad_hyperparameters),
		cmocka_unit_test(test_bad_data),
		cmocka_unit_test(test_eval_bad_model),
		cmocka_unit_test(test_bench_json),
		cmocka_unit_test(test_train_killed_and_resumed),
		cmocka_unit_test(test_bench_model_sizes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
