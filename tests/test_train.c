/* test_train.c - the training loop on small data: the loss goes down (on a
 * generated learnable set, and on a real CIFAR-10 subset when present),
 * runs are bit-identical for the same seed and threads, two trainers run
 * side by side without interfering, a diverging run fails with a clear
 * reason, the stop flag and the epoch callback stop a run, schedules, and
 * save/load round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/support.h"
#include "trainer/data.h"
#include "trainer/safetensors.h"
#include "trainer/train.h"

#define RECORDS 96    /* per file: 480 training, 96 test images */

static char *dir;
static struct cnn_dataset *ds;

/* A learnable set: class c is a bright square at one of 10 places over
 * noise, tinted by channel c % 3. */
static void write_learnable(const char *d)
{
	static const char *const names[6] = {
		"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
		"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"
	};
	struct sw_rng rng;
	char path[4096];
	size_t len = (size_t)RECORDS * CNN_CIFAR_RECORD;
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	sw_rng_seed(&rng, 99, 1);
	for (int f = 0; f < 6; f++) {
		for (int r = 0; r < RECORDS; r++) {
			uint8_t *rec = buf + (size_t)r * CNN_CIFAR_RECORD;
			int c = (int)sw_rng_bounded(&rng, 10);
			int y0 = (c / 5) * 14 + 2, x0 = (c % 5) * 6;

			rec[0] = (uint8_t)c;
			for (int k = 0; k < CNN_CIFAR_PIXELS; k++) {
				int ch = k / 1024, y = (k / 32) % 32, x = k % 32;
				int v = (int)sw_rng_bounded(&rng, 80);

				if (y >= y0 && y < y0 + 12 && x >= x0 && x < x0 + 6)
					v += ch == c % 3 ? 170 : 90;
				rec[1 + k] = (uint8_t)v;
			}
		}
		snprintf(path, sizeof(path), "%s/%s", d, names[f]);
		assert_int_equal(sw_test_write_file(path, buf, len), 0);
	}
	snprintf(path, sizeof(path), "%s/batches.meta.txt", d);
	const char *meta = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
	assert_int_equal(sw_test_write_file(path, meta, strlen(meta)), 0);
	free(buf);
}

static int setup(void **state)
{
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	dir = sw_test_tmpdir();
	if (!dir)
		return -1;
	write_learnable(dir);
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

static void small_hparams(struct cnn_hparams *hp)
{
	cnn_hparams_default(hp);
	hp->conv1_filters = 6;
	hp->conv2_filters = 8;
	hp->dense_units = 16;
	hp->batch_size = 32;
	hp->epochs = 4;
	hp->image_size = 16;
	hp->learning_rate = 3e-3;
	hp->seed = 5;
}

struct log {
	int n;
	struct cnn_epoch_metrics m[16];
	int stop_after_epoch;       /* on_epoch returns 1 after this epoch */
	int stop_at_batch;          /* raise the stop flag at this batch */
	atomic_int stop;
	int batches;
};

static int log_epoch(const struct cnn_epoch_metrics *m, void *ctx)
{
	struct log *l = ctx;

	if (l->n < 16)
		l->m[l->n++] = *m;
	return l->stop_after_epoch && m->epoch >= l->stop_after_epoch;
}

static void log_batch(int epoch, int batch, int nb, double loss, void *ctx)
{
	struct log *l = ctx;

	(void)epoch;
	(void)batch;
	(void)nb;
	assert_true(isfinite(loss));
	l->batches++;
	if (l->stop_at_batch && l->batches >= l->stop_at_batch)
		atomic_store(&l->stop, 1);
}

/* Trains hp on d; when keep is non-NULL the trainer is built there and left
 * for the caller to release (a trainer refers to itself: never copy one). */
static int train(const struct cnn_hparams *hp, struct cnn_dataset *d, int threads,
		 struct log *l, struct cnn_trainer *keep, struct sw_err *err)
{
	struct cnn_trainer local = CNN_TRAINER_INIT, *t = keep ? keep : &local;
	struct cnn_train_opts o = CNN_TRAIN_OPTS_INIT;
	int rc;

	if (cnn_trainer_init(t, hp, d, threads, err) < 0)
		return -100;
	o.on_epoch = log_epoch;
	o.on_batch = log_batch;
	o.ctx = l;
	o.stop = &l->stop;
	rc = cnn_trainer_run(t, &o, NULL, err);
	if (!keep)
		cnn_trainer_release(t);
	return rc;
}

static void test_loss_decreases_and_learns(void **state)
{
	struct cnn_hparams hp;
	struct log l;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	memset(&l, 0, sizeof(l));
	small_hparams(&hp);
	assert_int_equal(train(&hp, ds, 1, &l, NULL, &err), 0);
	assert_int_equal(l.n, 4);
	for (int i = 0; i < l.n; i++)
		printf("  epoch %d: loss %.4f acc %.3f val_loss %.4f val_acc %.3f\n",
		       l.m[i].epoch, l.m[i].loss, l.m[i].accuracy, l.m[i].val_loss,
		       l.m[i].val_accuracy);
	assert_true(l.m[3].loss < 0.7 * l.m[0].loss);
	assert_true(l.m[3].val_accuracy > 0.5);
	assert_int_equal(l.m[0].epoch, 1);
	assert_true(l.m[0].images_per_sec > 0);
	assert_float_equal(l.m[0].learning_rate, 3e-3, 1e-12);
}

static void test_loss_decreases_on_real_subset(void **state)
{
	const char *real = "/work/shared/data/cifar-10-batches-bin";
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct cnn_dataset *rd = NULL;
	struct cnn_hparams hp;
	struct log l;
	struct sw_err err = SW_ERR_INIT;
	struct stat st;

	(void)state;
	if (getenv("SWEEP_DATA"))
		real = getenv("SWEEP_DATA");
	if (stat(real, &st) < 0) {
		printf("  no real CIFAR-10 at %s: skipped\n", real);
		skip();
	}
	o.train_limit = 768;
	o.val_limit = 500;
	assert_int_equal(cnn_dataset_load(real, &o, &rd, &err), 0);
	memset(&l, 0, sizeof(l));
	small_hparams(&hp);
	hp.train_limit = 768;
	hp.val_limit = 500;
	hp.epochs = 3;
	hp.batch_size = 32;
	assert_int_equal(train(&hp, rd, 1, &l, NULL, &err), 0);
	for (int i = 0; i < l.n; i++)
		printf("  real epoch %d: loss %.4f acc %.3f val_acc %.3f\n", l.m[i].epoch,
		       l.m[i].loss, l.m[i].accuracy, l.m[i].val_accuracy);
	assert_true(l.m[2].loss < l.m[0].loss);
	assert_true(l.m[2].val_accuracy > 0.15);
	cnn_dataset_unref(rd);
}

static void test_bit_identical(void **state)
{
	struct cnn_hparams hp;
	struct log a, b, c;
	struct cnn_trainer ta, tb;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	small_hparams(&hp);
	hp.epochs = 2;
	hp.augment = CNN_AUG_FLIP_CROP;
	assert_int_equal(train(&hp, ds, 2, &a, &ta, &err), 0);
	assert_int_equal(train(&hp, ds, 2, &b, &tb, &err), 0);
	for (int i = 0; i < 2; i++) {
		assert_memory_equal(&a.m[i].loss, &b.m[i].loss, sizeof(double));
		assert_memory_equal(&a.m[i].val_loss, &b.m[i].val_loss, sizeof(double));
		assert_memory_equal(&a.m[i].accuracy, &b.m[i].accuracy, sizeof(double));
	}
	assert_memory_equal(ta.model.net.params, tb.model.net.params,
			    sizeof(float) * ta.model.net.n_params);
	assert_memory_equal(ta.model.net.stats, tb.model.net.stats,
			    sizeof(float) * ta.model.net.n_stats);
	cnn_trainer_release(&ta);
	cnn_trainer_release(&tb);
	/* another seed gives another run */
	hp.seed = 6;
	assert_int_equal(train(&hp, ds, 2, &c, NULL, &err), 0);
	assert_true(c.m[0].loss != a.m[0].loss);
}

struct side { struct cnn_hparams hp; struct log l; int rc; };

static void *side_run(void *arg)
{
	struct side *s = arg;
	struct sw_err err = SW_ERR_INIT;

	s->rc = train(&s->hp, ds, 1, &s->l, NULL, &err);
	return NULL;
}

static void test_two_trainers_side_by_side(void **state)
{
	struct side s[2];
	struct log alone;
	struct sw_err err = SW_ERR_INIT;
	pthread_t th[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		small_hparams(&s[i].hp);
		s[i].hp.epochs = 1;
		s[i].hp.seed = 10 + i;
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, side_run, &s[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	memset(&alone, 0, sizeof(alone));
	assert_int_equal(train(&s[1].hp, ds, 1, &alone, NULL, &err), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(s[i].rc, 0);
	/* concurrent and alone: the same numbers */
	assert_memory_equal(&alone.m[0].loss, &s[1].l.m[0].loss, sizeof(double));
	assert_memory_equal(&alone.m[0].val_loss, &s[1].l.m[0].val_loss, sizeof(double));
}

static void test_divergence_fails(void **state)
{
	struct cnn_hparams hp;
	struct log l;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	memset(&l, 0, sizeof(l));
	small_hparams(&hp);
	hp.optimizer = CNN_OPT_SGD;
	hp.learning_rate = 1e30;
	assert_int_equal(train(&hp, ds, 1, &l, NULL, &err), SW_ERR);
	printf("  %s\n", err.msg);
	assert_true(strstr(err.msg, "loss is nan") || strstr(err.msg, "loss is infinite") ||
		    strstr(err.msg, "validation loss is"));
	assert_non_null(strstr(err.msg, "learning_rate"));
}

static void test_stop_flag_and_callback(void **state)
{
	struct cnn_hparams hp;
	struct log l;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	small_hparams(&hp);
	memset(&l, 0, sizeof(l));
	l.stop_at_batch = 3;
	assert_int_equal(train(&hp, ds, 1, &l, NULL, &err), SW_ERR_INTR);
	assert_int_equal(l.batches, 3);
	assert_int_equal(l.n, 0);

	memset(&l, 0, sizeof(l));
	l.stop_after_epoch = 2;
	assert_int_equal(train(&hp, ds, 1, &l, NULL, &err), SW_ERR_INTR);
	assert_int_equal(l.n, 2);
}

static void test_lr_schedules(void **state)
{
	struct cnn_hparams hp;

	(void)state;
	cnn_hparams_default(&hp);
	hp.learning_rate = 0.1;
	assert_float_equal(cnn_lr_at_epoch(&hp, 3, 5), 0.1, 1e-12);
	hp.lr_schedule = CNN_LR_COSINE;
	assert_float_equal(cnn_lr_at_epoch(&hp, 0, 4), 0.1, 1e-12);
	assert_float_equal(cnn_lr_at_epoch(&hp, 2, 4), 0.05, 1e-12);
	assert_true(cnn_lr_at_epoch(&hp, 3, 4) < 0.015);
	hp.lr_schedule = CNN_LR_STEP;
	assert_float_equal(cnn_lr_at_epoch(&hp, 0, 8), 0.1, 1e-12);
	assert_float_equal(cnn_lr_at_epoch(&hp, 3, 8), 0.1, 1e-12);
	assert_float_equal(cnn_lr_at_epoch(&hp, 4, 8), 0.01, 1e-12);
	assert_float_equal(cnn_lr_at_epoch(&hp, 6, 8), 0.001, 1e-12);
}

static void test_precise_bn_and_optimizers(void **state)
{
	struct cnn_hparams hp;
	struct log on, off;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	small_hparams(&hp);
	hp.epochs = 1;
	memset(&on, 0, sizeof(on));
	memset(&off, 0, sizeof(off));
	assert_int_equal(train(&hp, ds, 1, &on, NULL, &err), 0);
	hp.precise_bn = 0;
	assert_int_equal(train(&hp, ds, 1, &off, NULL, &err), 0);
	/* same training, different moving statistics at evaluation */
	assert_memory_equal(&on.m[0].loss, &off.m[0].loss, sizeof(double));
	assert_true(on.m[0].val_loss != off.m[0].val_loss);
	printf("  1 epoch: val_accuracy %.3f with precise_bn, %.3f without\n",
	       on.m[0].val_accuracy, off.m[0].val_accuracy);
	/* no dropout at all still learns */
	{
		struct log l0;

		memset(&l0, 0, sizeof(l0));
		small_hparams(&hp);
		hp.epochs = 2;
		hp.dropout = 0;
		hp.dropout_1 = 0;
		assert_int_equal(train(&hp, ds, 1, &l0, NULL, &err), 0);
		assert_true(l0.m[1].loss < 0.8 * l0.m[0].loss);
	}
	/* every optimizer and schedule trains without diverging */
	for (int opt = 0; opt < 3; opt++) {
		struct log l;

		memset(&l, 0, sizeof(l));
		small_hparams(&hp);
		hp.epochs = 2;
		hp.optimizer = (enum cnn_optimizer)opt;
		hp.learning_rate = opt == CNN_OPT_SGD ? 0.05 : 1e-3;
		hp.nesterov = 1;
		hp.weight_decay = 1e-4;
		hp.lr_schedule = CNN_LR_COSINE;
		assert_int_equal(train(&hp, ds, 1, &l, NULL, &err), 0);
		assert_true(l.m[1].loss < l.m[0].loss);
	}
}

static void test_save_load_roundtrip(void **state)
{
	struct cnn_hparams hp;
	struct log l;
	struct cnn_trainer t;
	struct cnn_model m;
	struct sw_err err = SW_ERR_INIT;
	char path[4096], bad[4096];
	double l1, a1, l2, a2;

	(void)state;
	memset(&l, 0, sizeof(l));
	small_hparams(&hp);
	hp.epochs = 1;
	hp.normalize = CNN_NORM_STANDARDIZE;
	assert_int_equal(train(&hp, ds, 1, &l, &t, &err), 0);
	snprintf(path, sizeof(path), "%s/m.safetensors", dir);
	assert_int_equal(cnn_model_save(&t.model, path, NULL, &err), 0);
	cnn_model_evaluate(&t.model, &ds->test, &l1, &a1);
	assert_int_equal(cnn_model_load(&m, path, 50, 1, &err), 0);
	cnn_model_evaluate(&m, &ds->test, &l2, &a2);
	assert_float_equal(l1, l2, 1e-5);
	assert_float_equal(a1, a2, 1e-12);
	assert_float_equal(l1, l.m[0].val_loss, 1e-5);
	assert_int_equal(m.hp.conv1_filters, 6);
	assert_int_equal(m.hp.normalize, CNN_NORM_STANDARDIZE);
	cnn_model_release(&m);
	cnn_trainer_release(&t);

	/* a file that is not a model, and a missing one */
	snprintf(bad, sizeof(bad), "%s/bad.safetensors", dir);
	assert_int_equal(sw_test_write_file(bad, "\x10\0\0\0\0\0\0\0{\"a\":1}        ", 24), 0);
	assert_int_equal(cnn_model_load(&m, bad, 50, 1, &err), -1);
	printf("  %s\n", err.msg);
	assert_non_null(strstr(err.msg, "bad.safetensors"));
	assert_int_equal(cnn_model_load(&m, "/nonexistent/x.safetensors", 50, 1, &err), -1);
	assert_non_null(strstr(err.msg, "x.safetensors"));
}

static void test_too_big_is_an_error(void **state)
{
	struct cnn_hparams hp;
	struct cnn_trainer t = CNN_TRAINER_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	cnn_hparams_default(&hp);
	hp.batch_size = 4096;
	hp.conv1_filters = 512;
	hp.conv2_filters = 512;
	hp.image_size = 128;
	assert_int_equal(cnn_trainer_init(&t, &hp, ds, 1, &err), -1);
	printf("  %s\n", err.msg);
	assert_non_null(strstr(err.msg, "lower batch_size"));
	cnn_trainer_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loss_decreases_and_learns),
		cmocka_unit_test(test_loss_decreases_on_real_subset),
		cmocka_unit_test(test_bit_identical),
		cmocka_unit_test(test_two_trainers_side_by_side),
		cmocka_unit_test(test_divergence_fails),
		cmocka_unit_test(test_stop_flag_and_callback),
		cmocka_unit_test(test_lr_schedules),
		cmocka_unit_test(test_precise_bn_and_optimizers),
		cmocka_unit_test(test_save_load_roundtrip),
		cmocka_unit_test(test_too_big_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
