/* trial_builtin.c - the built-in CNN as a trial runner; see
 * include/sweep/run/trial.h */
#include "sweep/run/trial.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trainer/checkpoint.h"
#include "trainer/train.h"

struct sw_trial {
	const struct sw_trial_runner *runner;
	const struct sw_trial_hooks *hooks;
	struct cnn_trainer trainer;
	int64_t epochs_done;
};

static int builtin_on_epoch(const struct cnn_epoch_metrics *m, void *ctx)
{
	struct sw_trial *t = ctx;
	const struct sw_kv kv[7] = {
		{ "loss", m->loss }, { "accuracy", m->accuracy },
		{ "val_loss", m->val_loss }, { "val_accuracy", m->val_accuracy },
		{ "learning_rate", m->learning_rate },
		{ "images_per_sec", m->images_per_sec },
		{ "epoch_seconds", m->seconds },
	};

	t->epochs_done = m->epoch;
	if (!t->hooks->on_epoch)
		return 0;
	return t->hooks->on_epoch(t->hooks->ctx, t, m->epoch, kv, 7);
}

static void builtin_on_batch(int epoch, int batch, int n_batches, double loss,
			     void *ctx)
{
	struct sw_trial *t = ctx;

	(void)loss;
	if (t->hooks->on_batch)
		t->hooks->on_batch(t->hooks->ctx, epoch, batch, n_batches);
}

static int params_to_hparams(const json_t *params, uint64_t seed,
			     struct cnn_hparams *hp, struct sw_err *err)
{
	const char *key;
	json_t *v;

	cnn_hparams_default(hp);
	hp->seed = seed & ((1ULL << 53) - 1);
	json_object_foreach((json_t *)params, key, v)
		if (cnn_hparams_set_json(hp, key, v, err) < 0)
			return -1;
	return 0;
}

static int64_t builtin_planned_epochs(const struct sw_trial_runner *r,
				      const json_t *params)
{
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;

	(void)r;
	if (params_to_hparams(params, 0, &hp, &err) < 0)
		return 0;
	return hp.epochs;
}

/* Continues t from hooks->checkpoint when it loads and the caller takes
 * it; else t starts over (a fresh trainer). */
static int builtin_resume(struct sw_trial *t, const struct sw_trial_runner *r,
			  const struct cnn_hparams *hp, struct sw_err *err)
{
	const struct sw_trial_hooks *h = t->hooks;
	struct sw_err why = SW_ERR_INIT;
	json_t *note = NULL;
	int taken;

	if (cnn_checkpoint_load(&t->trainer, h->checkpoint, &note, &why) < 0) {
		if (h->on_resume)
			h->on_resume(h->ctx, t, 0, NULL, why.msg);
		return 0;
	}
	taken = h->on_resume &&
		h->on_resume(h->ctx, t, t->trainer.epochs_done, note, NULL) == 0;
	json_decref(note);
	if (taken) {
		t->epochs_done = t->trainer.epochs_done;
		return 0;
	}
	cnn_trainer_release(&t->trainer);
	return cnn_trainer_init(&t->trainer, hp, r->impl, r->threads, err);
}

static int builtin_run(const struct sw_trial_runner *r, const json_t *params,
		       uint64_t seed, const struct sw_trial_hooks *h,
		       struct sw_trial_result *res)
{
	struct sw_trial t;
	struct cnn_train_opts opts = CNN_TRAIN_OPTS_INIT;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;
	int rc;

	memset(&t, 0, sizeof(t));
	t.runner = r;
	t.hooks = h;
	opts.on_epoch = builtin_on_epoch;
	opts.on_batch = builtin_on_batch;
	opts.ctx = &t;
	opts.stop = h->stop;
	rc = params_to_hparams(params, seed, &hp, &err);
	if (rc == 0)
		rc = cnn_trainer_init(&t.trainer, &hp, r->impl, r->threads, &err);
	if (rc == 0 && h->resuming && h->checkpoint)
		rc = builtin_resume(&t, r, &hp, &err);
	if (rc == 0)
		rc = cnn_trainer_run(&t.trainer, &opts, NULL, &err);
	res->epochs = t.epochs_done;
	if (rc == SW_ERR_INTR && t.epochs_done < hp.epochs) {
		res->status = SW_TRIAL_STOPPED;
	} else if (rc < 0 && rc != SW_ERR_INTR) {
		res->status = SW_TRIAL_FAILED;
		res->exit_code = 1;
		snprintf(res->reason, sizeof(res->reason), "%s",
			 err.msg[0] ? err.msg : "training failed");
	}
	cnn_trainer_release(&t.trainer);
	return 0;
}

static int builtin_save_model(struct sw_trial *t, const char *path,
			      struct sw_err *err)
{
	return cnn_model_save(&t->trainer.model, path, NULL, err);
}

static int builtin_encode_state(struct sw_trial *t, const json_t *note,
				void **out, size_t *len, struct sw_err *err)
{
	return cnn_checkpoint_encode(&t->trainer, note, out, len, err);
}

void sw_trial_runner_builtin(struct sw_trial_runner *r, struct cnn_dataset *ds,
			     int threads)
{
	memset(r, 0, sizeof(*r));
	r->kind = "builtin";
	r->planned_epochs = builtin_planned_epochs;
	r->run = builtin_run;
	r->save_model = builtin_save_model;
	r->encode_state = builtin_encode_state;
	r->impl = ds;
	r->threads = threads > 0 ? threads : 1;
}

int sw_trial_run(const struct sw_trial_runner *r, const json_t *params,
		 uint64_t seed, const struct sw_trial_hooks *h,
		 struct sw_trial_result *res)
{
	static const struct sw_trial_hooks none = SW_TRIAL_HOOKS_INIT;

	memset(res, 0, sizeof(*res));
	res->status = SW_TRIAL_FINISHED;
	return r->run(r, params, seed, h ? h : &none, res);
}

uint64_t sw_trial_seed(const json_t *params, uint64_t seed)
{
	json_t *v = json_object_get(params, "seed");
	double s;

	if (!json_is_number(v))
		return seed;
	s = json_number_value(v);
	if (s >= 0 && s <= 9007199254740991.0 && s == floor(s))
		return (uint64_t)s;
	return seed;
}

int sw_trial_encode_state(const struct sw_trial_runner *r, struct sw_trial *t,
			  const json_t *note, void **out, size_t *len,
			  struct sw_err *err)
{
	if (!r->encode_state)
		return sw_errorf(err, "a '%s' trial has no state to save", r->kind);
	return r->encode_state(t, note, out, len, err);
}

int sw_trial_save_model(const struct sw_trial_runner *r, struct sw_trial *t,
			const char *path, struct sw_err *err)
{
	if (!r->save_model)
		return sw_errorf(err, "a '%s' trial has no model to save", r->kind);
	return r->save_model(t, path, err);
}
