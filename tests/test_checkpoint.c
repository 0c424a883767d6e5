/* test_checkpoint.c - a trainer saved between epochs and restored into a
 * fresh trainer finishes bit-identical to one never interrupted (every
 * optimizer, dropout, augmentation, precise BatchNorm, schedules), with
 * another thread count it continues, and a torn, corrupted, foreign or
 * missing checkpoint is refused with the file named, leaving the trainer
 * as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/cifar_fake.h"
#include "support/support.h"
#include "trainer/checkpoint.h"
#include "trainer/data.h"
#include "trainer/train.h"

#define RECORDS 40      /* per file: 200 training, 40 test images */
#define EPOCHS 3

static char *dir;
static struct cnn_dataset *ds;

static int setup(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	dir = sw_test_tmpdir();
	if (!dir || sw_test_cifar_write(dir, RECORDS) < 0)
		return -1;
	o.batch_records = RECORDS;
	if (cnn_dataset_load(dir, &o, &ds, &err) < 0) {
		printf("%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cnn_dataset_unref(ds);
	sw_test_rmtree(dir);
	free(dir);
	return 0;
}

/* Every source of randomness and every optimizer state switched on. */
static void hparams(struct cnn_hparams *hp, enum cnn_optimizer opt)
{
	cnn_hparams_default(hp);
	hp->conv1_filters = 4;
	hp->conv2_filters = 6;
	hp->dense_units = 12;
	hp->batch_size = 48;      /* 200 images: a short last batch */
	hp->epochs = EPOCHS;
	hp->image_size = 16;
	hp->learning_rate = 2e-3;
	hp->optimizer = opt;
	hp->momentum = 0.9;
	hp->nesterov = opt == CNN_OPT_SGD;
	hp->weight_decay = opt == CNN_OPT_RMSPROP ? 1e-4 : 0;
	hp->lr_schedule = opt == CNN_OPT_SGD ? CNN_LR_STEP : CNN_LR_COSINE;
	hp->augment = CNN_AUG_FLIP_CROP;
	hp->dropout_1 = 0.2;
	hp->dropout = 0.3;
	hp->precise_bn = 1;
	hp->seed = 11;
}

struct log {
	int n, stop_after;
	struct cnn_epoch_metrics m[EPOCHS];
};

static int log_epoch(const struct cnn_epoch_metrics *m, void *ctx)
{
	struct log *l = ctx;

	if (l->n < EPOCHS)
		l->m[l->n++] = *m;
	return l->stop_after && m->epoch >= l->stop_after;
}

static void run(struct cnn_trainer *t, struct log *l, int expect)
{
	struct cnn_train_opts o = CNN_TRAIN_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;

	o.on_epoch = log_epoch;
	o.ctx = l;
	assert_int_equal(cnn_trainer_run(t, &o, NULL, &err), expect);
}

static void assert_same_metrics(const struct cnn_epoch_metrics *a,
				const struct cnn_epoch_metrics *b)
{
	assert_int_equal(a->epoch, b->epoch);
	assert_memory_equal(&a->loss, &b->loss, sizeof(double));
	assert_memory_equal(&a->accuracy, &b->accuracy, sizeof(double));
	assert_memory_equal(&a->val_loss, &b->val_loss, sizeof(double));
	assert_memory_equal(&a->val_accuracy, &b->val_accuracy, sizeof(double));
	assert_memory_equal(&a->learning_rate, &b->learning_rate, sizeof(double));
}

static void assert_same_state(const struct cnn_trainer *a, const struct cnn_trainer *b)
{
	const struct cnn_net *x = &a->model.net, *y = &b->model.net;

	assert_int_equal(x->n_params, y->n_params);
	assert_memory_equal(x->params, y->params, x->n_params * sizeof(float));
	assert_memory_equal(x->stats, y->stats, x->n_stats * sizeof(float));
	assert_memory_equal(a->opt_m, b->opt_m, x->n_params * sizeof(float));
	assert_memory_equal(a->opt_v, b->opt_v, x->n_params * sizeof(float));
	assert_int_equal(a->step, b->step);
}

/* Uninterrupted vs. stopped after `at` epochs, saved, restored into a new
 * trainer with `threads` threads and finished. */
static void check_resume(enum cnn_optimizer opt, int at, int threads)
{
	struct cnn_hparams hp;
	struct cnn_trainer whole = CNN_TRAINER_INIT, part = CNN_TRAINER_INIT;
	struct cnn_trainer rest = CNN_TRAINER_INIT;
	struct log lw = { 0, 0, { { 0 } } }, lp = lw, lr = lw;
	struct sw_err err = SW_ERR_INIT;
	json_t *note = json_pack("[{s:i}]", "_step", 0), *back = NULL;
	char path[4096];

	hparams(&hp, opt);
	snprintf(path, sizeof(path), "%s/c%d-%d.ckpt", dir, (int)opt, at);
	assert_int_equal(cnn_trainer_init(&whole, &hp, ds, 1, &err), 0);
	run(&whole, &lw, 0);
	assert_int_equal(lw.n, EPOCHS);

	assert_int_equal(cnn_trainer_init(&part, &hp, ds, 1, &err), 0);
	lp.stop_after = at;
	run(&part, &lp, SW_ERR_INTR);
	assert_int_equal(cnn_checkpoint_save(&part, note, path, &err), 0);
	cnn_trainer_release(&part);

	assert_int_equal(cnn_trainer_init(&rest, &hp, ds, threads, &err), 0);
	if (cnn_checkpoint_load(&rest, path, &back, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(json_equal(note, back));
	assert_int_equal(rest.epochs_done, at);
	run(&rest, &lr, 0);
	assert_int_equal(lr.n, EPOCHS - at);
	for (int e = 0; e < at; e++)
		assert_same_metrics(&lp.m[e], &lw.m[e]);
	if (threads == 1) {
		for (int e = at; e < EPOCHS; e++)
			assert_same_metrics(&lr.m[e - at], &lw.m[e]);
		assert_same_state(&rest, &whole);
	} else {
		/* other bits, but the same run: same epochs and schedule */
		for (int e = at; e < EPOCHS; e++) {
			assert_int_equal(lr.m[e - at].epoch, e + 1);
			assert_true(isfinite(lr.m[e - at].val_loss));
			assert_memory_equal(&lr.m[e - at].learning_rate,
					    &lw.m[e].learning_rate, sizeof(double));
		}
	}
	json_decref(note);
	json_decref(back);
	cnn_trainer_release(&whole);
	cnn_trainer_release(&rest);
}

static void test_resume_adam_bit_identical(void **state)
{
	(void)state;
	check_resume(CNN_OPT_ADAM, 1, 1);
	check_resume(CNN_OPT_ADAM, 2, 1);
}

static void test_resume_sgd_and_rmsprop_bit_identical(void **state)
{
	(void)state;
	check_resume(CNN_OPT_SGD, 1, 1);
	check_resume(CNN_OPT_RMSPROP, 2, 1);
}

static void test_resume_other_thread_count(void **state)
{
	(void)state;
	check_resume(CNN_OPT_ADAM, 1, 2);
}

/* Decoding data must fail naming the file and leave t untouched. */
static void expect_refused(struct cnn_trainer *t, const void *data, size_t len,
			   const char *what)
{
	struct sw_err err = SW_ERR_INIT;
	size_t n = t->model.net.n_params * sizeof(float);
	float *before = malloc(n);
	int done = t->epochs_done;

	assert_non_null(before);
	memcpy(before, t->model.net.params, n);
	assert_int_equal(cnn_checkpoint_decode(t, data, len, "x.ckpt", NULL, &err), -1);
	printf("  %s\n", err.msg);
	assert_non_null(strstr(err.msg, "'x.ckpt'"));
	assert_non_null(strstr(err.msg, what));
	assert_memory_equal(before, t->model.net.params, n);
	assert_int_equal(t->epochs_done, done);
	free(before);
}

static void test_bad_checkpoints_are_refused(void **state)
{
	struct cnn_hparams hp, other;
	struct cnn_trainer t = CNN_TRAINER_INIT, u = CNN_TRAINER_INIT;
	struct log l = { 0, 1, { { 0 } } };
	struct sw_err err = SW_ERR_INIT;
	unsigned char *buf = NULL, *copy;
	size_t len = 0;
	char path[4096];

	(void)state;
	hparams(&hp, CNN_OPT_ADAM);
	assert_int_equal(cnn_trainer_init(&t, &hp, ds, 1, &err), 0);
	run(&t, &l, SW_ERR_INTR);
	assert_int_equal(cnn_checkpoint_encode(&t, NULL, (void **)&buf, &len, &err), 0);
	cnn_trainer_release(&t);
	assert_int_equal(cnn_trainer_init(&t, &hp, ds, 1, &err), 0);
	copy = malloc(len);
	assert_non_null(copy);

	/* torn at several points, including inside the header */
	expect_refused(&t, buf, 5, "not a sweep checkpoint");
	expect_refused(&t, buf, 30, "torn");
	expect_refused(&t, buf, len / 2, "torn");
	expect_refused(&t, buf, len - 1, "torn");
	/* one flipped bit in the weights */
	memcpy(copy, buf, len);
	copy[len - 100] ^= 4;
	expect_refused(&t, copy, len, "corrupt");
	/* another version */
	memcpy(copy, buf, len);
	copy[8] = 7;
	expect_refused(&t, copy, len, "version 7");
	free(copy);

	/* other hyperparameters, same network size */
	other = hp;
	other.learning_rate = 1e-3;
	assert_int_equal(cnn_trainer_init(&u, &other, ds, 1, &err), 0);
	expect_refused(&u, buf, len, "other hyperparameters");
	cnn_trainer_release(&u);

	/* the good one still loads */
	assert_int_equal(cnn_checkpoint_decode(&t, buf, len, "x.ckpt", NULL, &err), 0);
	assert_int_equal(t.epochs_done, 1);

	/* a missing file */
	snprintf(path, sizeof(path), "%s/none.ckpt", dir);
	assert_int_equal(cnn_checkpoint_load(&t, path, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "none.ckpt"));
	/* an unwritable place */
	assert_int_equal(cnn_checkpoint_save(&t, NULL, "/nonexistent/dir/a.ckpt", &err), -1);
	assert_non_null(strstr(err.msg, "a.ckpt"));
	free(buf);
	cnn_trainer_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_adam_bit_identical),
		cmocka_unit_test(test_resume_sgd_and_rmsprop_bit_identical),
		cmocka_unit_test(test_resume_other_thread_count),
		cmocka_unit_test(test_bad_checkpoints_are_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
