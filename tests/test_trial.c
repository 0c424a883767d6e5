/* test_trial.c - the built-in trial runner: metrics through hooks, stops,
 * failures, and saving the model from inside an epoch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/cifar_fake.h"
#include "support/support.h"
#include "sweep/run/trial.h"
#include "trainer/data.h"

static char *tmp;
static struct cnn_dataset *ds;

static int setup(void **state)
{
	struct cnn_data_opts opts = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp || sw_test_cifar_write(tmp, 64) < 0)
		return -1;
	opts.batch_records = 64;
	return cnn_dataset_load(tmp, &opts, &ds, &err);
}

static int teardown(void **state)
{
	(void)state;
	cnn_dataset_unref(ds);
	sw_test_rmtree(tmp);
	free(tmp);
	return 0;
}

static json_t *tiny_params(int epochs)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}", "conv1_filters", 2,
			 "conv2_filters", 4, "dense_units", 8, "batch_size", 32,
			 "epochs", epochs, "precise_bn", 0);
}

struct seen {
	int epochs, batches, stop_at;
	char names[8][32];
	size_t n;
	const struct sw_trial_runner *runner;
	char save_path[512];
	int saved;
};

static int record_epoch(void *ctx, struct sw_trial *t, int64_t epoch,
			const struct sw_kv *m, size_t n)
{
	struct seen *s = ctx;
	struct sw_err err = SW_ERR_INIT;
	size_t i;

	s->epochs++;
	assert_int_equal(epoch, s->epochs);
	s->n = n;
	for (i = 0; i < n && i < 8; i++)
		snprintf(s->names[i], sizeof(s->names[i]), "%s", m[i].name);
	if (s->save_path[0] &&
	    sw_trial_save_model(s->runner, t, s->save_path, &err) == 0)
		s->saved++;
	return s->stop_at && epoch >= s->stop_at;
}

static void record_batch(void *ctx, int64_t epoch, int64_t batch, int64_t n)
{
	struct seen *s = ctx;

	(void)epoch;
	assert_true(batch >= 1 && batch <= n);
	s->batches++;
}

static void test_finished_with_keras_metrics(void **state)
{
	struct sw_trial_runner r;
	struct sw_trial_result res;
	struct seen s = { 0 };
	struct sw_trial_hooks h = { record_epoch, record_batch, &s, NULL, NULL, 0, NULL, NULL, NULL };
	json_t *p = tiny_params(2);
	struct stat st;

	(void)state;
	sw_trial_runner_builtin(&r, ds, 1);
	s.runner = &r;
	snprintf(s.save_path, sizeof(s.save_path), "%s/model.safetensors", tmp);
	assert_int_equal(r.planned_epochs(&r, p), 2);
	assert_int_equal(sw_trial_run(&r, p, 7, &h, &res), 0);
	assert_int_equal(res.status, SW_TRIAL_FINISHED);
	assert_int_equal(res.epochs, 2);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(s.epochs, 2);
	assert_true(s.batches >= 4);      /* 320 images / 32 per batch, 2 epochs */
	assert_int_equal(s.n, 7);
	assert_string_equal(s.names[0], "loss");
	assert_string_equal(s.names[3], "val_accuracy");
	assert_int_equal(s.saved, 2);
	assert_int_equal(stat(s.save_path, &st), 0);
	assert_true(st.st_size > 1000);
	json_decref(p);
}

static void test_hook_stops_trial(void **state)
{
	struct sw_trial_runner r;
	struct sw_trial_result res;
	struct seen s = { 0 };
	struct sw_trial_hooks h = { record_epoch, NULL, &s, NULL, NULL, 0, NULL, NULL, NULL };
	json_t *p = tiny_params(5);

	(void)state;
	s.stop_at = 2;
	sw_trial_runner_builtin(&r, ds, 1);
	assert_int_equal(sw_trial_run(&r, p, 1, &h, &res), 0);
	assert_int_equal(res.status, SW_TRIAL_STOPPED);
	assert_int_equal(res.epochs, 2);
	json_decref(p);
}

static void test_stop_flag_before_start(void **state)
{
	struct sw_trial_runner r;
	struct sw_trial_result res;
	atomic_int stop = 1;
	struct seen s = { 0 };
	struct sw_trial_hooks h = { record_epoch, NULL, &s, &stop, NULL, 0, NULL, NULL, NULL };
	json_t *p = tiny_params(3);

	(void)state;
	sw_trial_runner_builtin(&r, ds, 1);
	assert_int_equal(sw_trial_run(&r, p, 1, &h, &res), 0);
	assert_int_equal(res.status, SW_TRIAL_STOPPED);
	assert_int_equal(s.epochs, 0);
	json_decref(p);
}

static void test_bad_params_fail_with_reason(void **state)
{
	struct sw_trial_runner r;
	struct sw_trial_result res;
	json_t *p = json_pack("{s:s}", "optimizer", "adamw");
	json_t *q = json_pack("{s:i}", "epocs", 2);

	(void)state;
	sw_trial_runner_builtin(&r, ds, 1);
	assert_int_equal(sw_trial_run(&r, p, 1, NULL, &res), 0);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_int_not_equal(res.exit_code, 0);
	assert_non_null(strstr(res.reason, "optimizer"));
	assert_int_equal(sw_trial_run(&r, q, 1, NULL, &res), 0);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_non_null(strstr(res.reason, "did you mean 'epochs'"));
	json_decref(p);
	json_decref(q);
}

static void test_nan_loss_fails(void **state)
{
	struct sw_trial_runner r;
	struct sw_trial_result res;
	json_t *p = tiny_params(3);

	(void)state;
	json_object_set_new(p, "learning_rate", json_real(10.0));
	json_object_set_new(p, "optimizer", json_string("sgd"));
	json_object_set_new(p, "momentum", json_real(0.99));
	sw_trial_runner_builtin(&r, ds, 1);
	assert_int_equal(sw_trial_run(&r, p, 3, NULL, &res), 0);
	/* with lr 10 and heavy momentum plain SGD diverges */
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_non_null(strstr(res.reason, "loss"));
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finished_with_keras_metrics),
		cmocka_unit_test(test_hook_stops_trial),
		cmocka_unit_test(test_stop_flag_before_start),
		cmocka_unit_test(test_bad_params_fail_with_reason),
		cmocka_unit_test(test_nan_loss_fails),
	};

	return cmocka_run_group_tests_name("trial", tests, setup, teardown);
}
