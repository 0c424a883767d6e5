/* controller.c - the local sweep controller; see include/sweep/run/controller.h
 *
 * Threads: the main thread proposes runs and starts one pthread per trial;
 * each trial thread trains its model and, after every epoch, takes the
 * controller lock to record the epoch, apply hyperband and the alert rules,
 * and keep the best model. The lock also guards the lists of running and
 * ended runs, from which every search and hyperband decision is made.
 */
#define _GNU_SOURCE
#include "sweep/run/controller.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sweep/run/alerts.h"
#include "base/cli.h"
#include "base/file.h"
#include "sweep/search/hyperband.h"
#include "base/interrupt.h"
#include "sweep/search/observed.h"
#include "sweep/run/progress.h"
#include "sweep/report/report.h"
#include "sweep/search/search.h"
#include "sweep/run/trial.h"
#include "sweep/offline/wandb_runfile.h"
#include "sweep/run/trial_slurm.h"

/* ==== Choosing P and T ==== */

/* Largest value parameter `name` can take in spec, def when it is not
 * searched, INFINITY when unbounded (normal families and the like). */
static double param_max(const struct sw_spec *spec, const char *name, double def)
{
	const struct sw_param *p = NULL;
	double m = -INFINITY;
	size_t i;

	for (i = 0; i < spec->n_params; i++)
		if (!strcmp(spec->params[i].name, name))
			p = &spec->params[i];
	if (!p)
		return def;
	switch (p->dist) {
	case SW_DIST_CONSTANT:
		return json_is_number(p->value) ? json_number_value(p->value) : def;
	case SW_DIST_CATEGORICAL:
	case SW_DIST_CATEGORICAL_W_PROBABILITIES:
		for (i = 0; i < json_array_size(p->values); i++) {
			json_t *v = json_array_get(p->values, i);

			if (json_is_number(v) && json_number_value(v) > m)
				m = json_number_value(v);
		}
		return m == -INFINITY ? def : m;
	case SW_DIST_INT_UNIFORM:
	case SW_DIST_UNIFORM:
	case SW_DIST_Q_UNIFORM:
	case SW_DIST_LOG_UNIFORM_VALUES:
	case SW_DIST_INV_LOG_UNIFORM_VALUES:
	case SW_DIST_Q_LOG_UNIFORM_VALUES:
		return p->max + (p->dist == SW_DIST_Q_UNIFORM ||
				 p->dist == SW_DIST_Q_LOG_UNIFORM_VALUES ? p->q : 0);
	default:
		return INFINITY;
	}
}

/* Training FLOPs per image of the notebook's model (forward x 3). */
static double model_mflop(double c1, double c2, double dense, double size)
{
	double s2 = size * size, fwd;

	fwd = s2 * c1 * 27 + s2 * c1 * c1 * 9 + s2 / 4 * c2 * c1 * 9 +
	      s2 / 4 * c2 * c2 * 9 + s2 / 16 * c2 * dense;
	return 3 * 2 * fwd / 1e6;
}

int sw_run_pick_parallel(const struct sw_spec *spec, int cores, int parallel,
			 int threads, int *p_out, int *t_out, struct sw_err *err)
{
	double mflop;
	int p = parallel, t = threads;

	if (cores < 1)
		cores = 1;
	if (p <= 0 && t <= 0) {
		mflop = model_mflop(param_max(spec, "conv1_filters", 32),
				    param_max(spec, "conv2_filters", 64),
				    param_max(spec, "dense_units", 64),
				    param_max(spec, "image_size", 32));
		if (mflop <= 200) {
			p = cores;
			t = 1;
		} else {
			p = 1;
			t = cores;
		}
	} else if (p <= 0) {
		p = cores / t > 0 ? cores / t : 1;
	} else if (t <= 0) {
		t = cores / p > 0 ? cores / p : 1;
	}
	*p_out = p;
	*t_out = t;
	if ((long)p * t > cores) {
		sw_errorf(err, "--parallel %d x --threads %d is more than the %d "
			  "cores of this machine: the trials will share them", p, t,
			  cores);
		return 1;
	}
	return 0;
}

void sw_run_data_opts(const struct sw_spec *spec, struct cnn_data_opts *opts)
{
	double tl = param_max(spec, "train_limit", 0);
	double vl = param_max(spec, "val_limit", 0);
	size_t i;

	memset(opts, 0, sizeof(*opts));
	/* a value of 0 ("all") anywhere in a parameter means all images */
	for (i = 0; i < spec->n_params; i++) {
		const struct sw_param *p = &spec->params[i];
		size_t k;

		if (strcmp(p->name, "train_limit") && strcmp(p->name, "val_limit"))
			continue;
		if (p->dist == SW_DIST_CONSTANT && json_is_number(p->value) &&
		    json_number_value(p->value) <= 0)
			(p->name[0] == 't' ? &tl : &vl)[0] = 0;
		for (k = 0; p->values && k < json_array_size(p->values); k++)
			if (json_number_value(json_array_get(p->values, k)) <= 0)
				(p->name[0] == 't' ? &tl : &vl)[0] = 0;
		if (p->dist != SW_DIST_CONSTANT && !p->values && p->min <= 0)
			(p->name[0] == 't' ? &tl : &vl)[0] = 0;
	}
	opts->train_limit = isfinite(tl) && tl > 0 ? (int)tl : 0;
	opts->val_limit = isfinite(vl) && vl > 0 ? (int)vl : 0;
}

/* ==== State ==== */

struct controller;

struct trial {
	struct controller *c;
	char id[9];
	int64_t index;
	uint64_t seed;
	json_t *params;             /* owned */
	json_t *history;            /* array of epoch metric objects (owned) */
	struct sw_alert_run alert_run;
	atomic_int abort_now;       /* polled between batches */
	int stop_after_epoch;       /* first Ctrl-C: end after this epoch */
	enum sw_run_state stop_state;   /* what a stop is recorded as */
	char stop_reason[160];
	int64_t epochs_done;
	int resuming;               /* in flight before: continue it */
	int interrupted;            /* stopped by the user: stays in flight */
	char *checkpoint;           /* its checkpoint file (owned), or NULL */
	json_t *prior;              /* a program run started again by resume:
				       its history.jsonl rows from before,
				       until its first epoch (owned) */
	int kept_prior;             /* rows from before the restart were kept */
	int thread_ok, done;
	pthread_t thread;
	struct trial *next;
};

struct controller {
	const struct sw_spec *spec;
	const struct sw_run_config *cfg;
	struct sw_store *store;
	struct sw_alerts alerts;
	struct sw_progress progress;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct trial *running;
	size_t n_running;
	json_t *ended;              /* run records of ended runs, incl. resumed */
	json_t *reruns;             /* in-flight markers to run again (resume) */
	int64_t next_index;
	int64_t n_runs;             /* distinct runs started or recorded */
	int stop_launching;
	int seen_interrupts;
	char fatal[512];            /* set when the sweep cannot go on */
};

static void set_fatal(struct controller *c, const char *msg)
{
	if (!c->fatal[0])
		snprintf(c->fatal, sizeof(c->fatal), "%s", msg);
	c->stop_launching = 1;
}

/* ==== Observations for search and hyperband (lock held) ==== */

static int add_record(struct sw_runs *runs, const json_t *rec, json_t *history)
{
	const char *st = json_string_value(json_object_get(rec, "state"));
	enum sw_obs_state state;

	if (!st || sw_obs_state_parse(st, &state) < 0)
		state = SW_OBS_FAILED;
	return sw_runs_add(runs, json_object_get(rec, "params"), state,
			   json_object_get(rec, "summary"), history);
}

/* Every run of the sweep: ended ones (with their history when with_history),
 * then the running ones as "running" with the epochs they logged. */
static int collect_runs(struct controller *c, struct sw_runs *runs,
			int with_history)
{
	struct trial *t;
	size_t i;

	for (i = 0; i < json_array_size(c->ended); i++) {
		json_t *rec = json_array_get(c->ended, i);
		json_t *h = with_history ? json_object_get(rec, "_history") : NULL;

		if (add_record(runs, rec, h) < 0)
			return -1;
	}
	/* a trial that ended is already among c->ended until it is reaped */
	for (t = c->running; t; t = t->next)
		if (!t->done &&
		    sw_runs_add(runs, t->params, SW_OBS_RUNNING, NULL, t->history) < 0)
			return -1;
	return 0;
}

/* ==== Trials ==== */

static void trial_free(struct trial *t)
{
	if (!t)
		return;
	sw_alert_run_release(&t->alert_run);
	json_decref(t->params);
	json_decref(t->history);
	json_decref(t->prior);
	free(t->checkpoint);
	free(t);
}

/* Saves the model of a trial that just set the sweep's best (lock held). */
static void keep_best_model(struct controller *c, struct trial *t,
			    struct sw_trial *handle, double value)
{
	struct sw_err err = SW_ERR_INIT;
	char name[64];
	char *tmp;

	/* one name per save: an earlier one may still wait for its rename */
	snprintf(name, sizeof(name), "best.safetensors.%s-%lld.tmp", t->id,
		 (long long)t->epochs_done);
	tmp = sw_store_path(c->store, name);
	if (!tmp)
		return;
	if (sw_trial_save_model(c->cfg->runner, handle, tmp, &err) < 0 ||
	    sw_store_commit_best_model(c->store, tmp, t->id, value, &err) < 0) {
		char line[700];

		snprintf(line, sizeof(line), "sweep: warning: run %s: best model not saved: %s",
			 t->id, err.msg);
		sw_progress_log(&c->progress, line);
		unlink(tmp);
	}
	free(tmp);
}

/* Hyperband over every run; stops the running ones it condemns (lock held). */
static void apply_hyperband(struct controller *c)
{
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_hb_result res = SW_HB_RESULT_INIT;
	struct sw_err err = SW_ERR_INIT;
	size_t i, first_running = json_array_size(c->ended);
	struct trial *t;

	if (!c->spec->hyperband.present || !c->spec->metric.present)
		return;
	if (collect_runs(c, &runs, 1) < 0 ||
	    sw_hyperband_decide(c->spec, &runs, &res, &err) < 0) {
		sw_runs_release(&runs);
		return;
	}
	for (t = c->running, i = first_running; t && i < res.n_runs; t = t->next) {
		size_t k = i;

		if (t->done)
			continue;       /* not in runs (see collect_runs) */
		i++;
		if (!res.stop[k] || atomic_load(&t->abort_now))
			continue;
		t->stop_state = SW_RUN_STOPPED;
		snprintf(t->stop_reason, sizeof(t->stop_reason),
			 "hyperband: %s at epoch %lld is worse than the band's threshold",
			 c->spec->metric.name, (long long)res.bands[res.band_of[k]]);
		atomic_store(&t->abort_now, 1);
	}
	sw_hb_result_release(&res);
	sw_runs_release(&runs);
}

/* Submits trial t's state after its epoch, with its history rows, to the
 * store's ordered writer (lock not held: encoding takes a few ms). */
static void save_checkpoint(struct controller *c, struct trial *t,
			    struct sw_trial *handle)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *rows = sw_store_run_rows(c->store, t->id);
	void *buf = NULL;
	size_t len = 0;

	if (!rows || sw_trial_encode_state(c->cfg->runner, handle, rows, &buf,
					   &len, &err) < 0) {
		char line[700];

		snprintf(line, sizeof(line), "sweep: warning: run %s: no checkpoint "
			 "after this epoch: %s", t->id, rows ? err.msg : "out of memory");
		sw_progress_log(&c->progress, line);
	} else if (sw_store_checkpoint(c->store, t->id, buf, len, &err) < 0) {
		pthread_mutex_lock(&c->lock);
		set_fatal(c, err.msg);
		pthread_mutex_unlock(&c->lock);
	}
	json_decref(rows);
	free(buf);
}

/* The history rows of a checkpoint as the metrics hyperband and the
 * search read (row minus wandb's keys and "epoch"), into t->history. */
static void history_from_rows(struct trial *t, const json_t *rows)
{
	size_t i;
	json_t *row, *v;
	const char *key;

	json_array_clear(t->history);
	json_array_foreach(rows, i, row) {
		json_t *m = json_object();

		json_object_foreach((json_t *)row, key, v)
			if (m && key[0] != '_' && strcmp(key, "epoch"))
				json_object_set(m, key, v);
		json_array_append_new(t->history, m);
	}
}

/* The alert rules for a run continued from its checkpoint: those that
 * fired before the kill stay fired, those the kill kept from firing on its
 * restored epochs fire now; a stop_run among them stops it (lock held). */
static void resume_alerts(struct controller *c, struct trial *t, const json_t *rows)
{
	json_t *recorded = NULL;

	if (sw_store_load_alerts(c->store->dir, &recorded, NULL) < 0)
		recorded = NULL;   /* unreadable: at worst an alert fires again */
	if (sw_alerts_resume(&c->alerts, &t->alert_run, recorded, rows)) {
		t->stop_state = SW_RUN_STOPPED;
		snprintf(t->stop_reason, sizeof(t->stop_reason), "stopped by an alert "
			 "rule at epoch %lld", (long long)t->epochs_done);
		atomic_store(&t->abort_now, 1);
	}
	json_decref(recorded);
}

/* hooks.on_resume: takes a loaded checkpoint's history, or says why the
 * run trains from the start. */
static int on_resume(void *ctx, struct sw_trial *handle, int64_t epochs,
		     const json_t *note, const char *why_not)
{
	struct trial *t = ctx;
	struct controller *c = t->c;
	struct sw_err err = SW_ERR_INIT;
	char line[800];
	int ret = 0;

	(void)handle;
	pthread_mutex_lock(&c->lock);
	/* a run with a trainer checkpoint (a built-in run here or on a Slurm
	 * node) goes on from it, not from rows kept for a program */
	json_decref(t->prior);
	t->prior = NULL;
	if (why_not) {
		snprintf(line, sizeof(line), "sweep: warning: run %s: %s: training it "
			 "from the start", t->id, why_not);
	} else if ((int64_t)json_array_size(note) != epochs ||
		   sw_store_run_restore(c->store, t->id, note, &err) < 0) {
		snprintf(line, sizeof(line), "sweep: warning: run %s: checkpoint '%s' "
			 "holds no usable history%s%s: training it from the start",
			 t->id, t->checkpoint ? t->checkpoint : "checkpoint.bin",
			 err.msg[0] ? ": " : "", err.msg);
		ret = -1;
	} else {
		history_from_rows(t, note);
		t->epochs_done = epochs;
		snprintf(line, sizeof(line), "sweep: run %s continues after epoch %lld "
			 "from its checkpoint", t->id, (long long)epochs);
	}
	sw_progress_log(&c->progress, line);
	if (!why_not && ret == 0)
		resume_alerts(c, t, note);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* hooks.on_restart: the runner started the run again (a Slurm job taken
 * away and submitted again): its rows so far wait, as after a resume, for
 * the new start to say where it goes on: on_resume (a checkpoint's rows) or
 * its first epoch (keep_prior_rows); the store's history starts over. */
static void on_restart(void *ctx, const char *line)
{
	struct trial *t = ctx;
	struct controller *c = t->c;
	struct sw_err err = SW_ERR_INIT;
	json_t *rows;

	pthread_mutex_lock(&c->lock);
	sw_progress_log(&c->progress, line);
	rows = sw_store_run_rows(c->store, t->id);
	if (sw_store_run_restart(c->store, t->id, &err) < 0) {
		set_fatal(c, err.msg);
		json_decref(rows);
	} else {
		json_decref(t->prior);
		t->prior = rows;
		json_array_clear(t->history);
		t->epochs_done = 0;
		t->kept_prior = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

/* A program run started again by resume (WANDB_RESUME=allow) reports its
 * first epoch: of the rows recorded before the restart, those before that
 * epoch are kept and the run goes on after them, so a script that continues
 * from its own checkpoint loses none and one that starts over replaces
 * them all; none is recorded twice (lock held). */
static void keep_prior_rows(struct controller *c, struct trial *t, int64_t epoch)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *kept = json_array();
	char line[800];
	size_t i;

	for (i = 0; kept && i < json_array_size(t->prior) && (int64_t)i < epoch - 1; i++)
		json_array_append(kept, json_array_get(t->prior, i));
	if (json_array_size(kept) > 0) {
		if (sw_store_run_restore(c->store, t->id, kept, &err) < 0) {
			snprintf(line, sizeof(line), "sweep: warning: run %s: its rows from "
				 "before the restart are lost: %s", t->id, err.msg);
		} else {
			history_from_rows(t, kept);
			t->kept_prior = 1;
			snprintf(line, sizeof(line), "sweep: run %s goes on after epoch %zu "
				 "(the rows recorded before the restart are kept)", t->id,
				 json_array_size(kept));
			resume_alerts(c, t, kept);
		}
		sw_progress_log(&c->progress, line);
	}
	json_decref(kept);
	json_decref(t->prior);
	t->prior = NULL;
}

static int on_epoch(void *ctx, struct sw_trial *handle, int64_t epoch,
		    const struct sw_kv *kv, size_t n)
{
	struct trial *t = ctx;
	struct controller *c = t->c;
	struct sw_err err = SW_ERR_INIT;
	json_t *row = json_object();
	int new_best = 0, stop = 0, save;
	size_t i;
	double value = NAN;

	for (i = 0; row && i < n; i++)
		json_object_set_new(row, kv[i].name, json_real(kv[i].value));
	pthread_mutex_lock(&c->lock);
	if (t->prior)
		keep_prior_rows(c, t, epoch);
	t->epochs_done = epoch;
	if (row)
		json_array_append_new(t->history, row);
	if (sw_store_epoch(c->store, t->id, kv, n, &new_best, &err) < 0) {
		set_fatal(c, err.msg);
		stop = 1;
	}
	sw_progress_epoch(&c->progress, t->id, epoch, kv, n);
	for (i = 0; c->spec->metric.present && i < n; i++)
		if (!strcmp(kv[i].name, c->spec->metric.name))
			value = kv[i].value;
	if (new_best && isfinite(value) && c->cfg->runner->save_model)
		keep_best_model(c, t, handle, value);
	if (sw_alerts_epoch(&c->alerts, &t->alert_run, epoch, kv, n, new_best)) {
		t->stop_state = SW_RUN_STOPPED;
		snprintf(t->stop_reason, sizeof(t->stop_reason),
			 "stopped by an alert rule at epoch %lld", (long long)epoch);
		stop = 1;
	}
	apply_hyperband(c);
	if (atomic_load(&t->abort_now) || t->stop_after_epoch || c->fatal[0])
		stop = 1;
	/* a run that goes on, or stays in flight for resume, keeps its state;
	 * one about to be recorded as ended does not need it */
	save = t->checkpoint && !c->fatal[0] &&
	       (epoch < t->alert_run.epochs || c->store->keep_checkpoints) &&
	       (!stop || t->interrupted || c->store->keep_checkpoints);
	pthread_mutex_unlock(&c->lock);
	if (save)
		save_checkpoint(c, t, handle);
	return stop;
}

/* wandb.alert() in a program's script: one of the sweep's alerts. */
static void on_alert(void *ctx, int64_t epoch, const char *title, const char *text,
		     const char *level)
{
	struct trial *t = ctx;

	sw_alerts_script(&t->c->alerts, &t->alert_run, epoch, title, text, level);
}

static void on_batch(void *ctx, int64_t epoch, int64_t batch, int64_t n_batches)
{
	struct trial *t = ctx;

	sw_progress_batch(&t->c->progress, t->id, epoch, batch, n_batches);
}

/* Records how trial t ended (lock held). */
static void trial_end(struct controller *c, struct trial *t,
		      enum sw_run_state state, const char *reason)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *rec = NULL;
	double runtime = 0;

	if (sw_store_run_end(c->store, t->id, state, reason, &rec, &err) < 0) {
		set_fatal(c, err.msg);
	} else {
		runtime = json_number_value(json_object_get(rec, "runtime_s"));
		json_object_set(rec, "_history", t->history);
		json_array_append_new(c->ended, rec);
	}
	sw_alerts_run_end(&c->alerts, &t->alert_run, state, reason, t->epochs_done);
	sw_progress_run_end(&c->progress, t->id, state, reason, t->epochs_done, runtime);
}

/* A program run's wandb run file is its record: its history and summary
 * replace what arrived live (lock held). */
static void take_wandb_record(struct controller *c, struct trial *t,
			      const struct sw_trial_result *res)
{
	struct sw_err err = SW_ERR_INIT;
	char line[800];

	if (res->warning[0]) {
		snprintf(line, sizeof(line), "sweep: warning: run %s: %s", t->id, res->warning);
		sw_progress_log(&c->progress, line);
	}
	if (!res->wandb_history && !res->wandb_summary)
		return;
	/* the run file of a run that went on after kept rows holds only its
	 * own part: the history stays the one reported live */
	if (sw_store_run_record(c->store, t->id, t->kept_prior ? NULL : res->wandb_history,
				res->wandb_summary, &err) < 0) {
		set_fatal(c, err.msg);
		return;
	}
	if (res->wandb_history && !t->kept_prior) {
		json_t *rows = json_array(), *row, *v;
		const char *key;
		size_t i;
		double x;

		json_array_foreach(res->wandb_history, i, row) {
			json_t *m = json_object();

			json_object_foreach(row, key, v)
				if (key[0] != '_' && sw_wandb_value_number(v, &x) && isfinite(x))
					json_object_set_new(m, key, json_real(x));
			json_array_append_new(rows, m);
		}
		if (rows) {
			json_decref(t->history);
			t->history = rows;
			t->epochs_done = (int64_t)json_array_size(rows);
		}
	}
}

/* A run the user interrupted stays in flight, with its checkpoint, for
 * resume to continue (lock held). */
static void trial_leave(struct controller *c, struct trial *t)
{
	struct sw_err err = SW_ERR_INIT;
	char reason[160];

	if (sw_store_run_leave(c->store, t->id, &err) < 0)
		set_fatal(c, err.msg);
	snprintf(reason, sizeof(reason), "interrupted after epoch %lld: sweep resume "
		 "continues it", (long long)t->epochs_done);
	sw_progress_run_end(&c->progress, t->id, SW_RUN_STOPPED, reason,
			    t->epochs_done, 0);
}

static void *trial_main(void *arg)
{
	struct trial *t = arg;
	struct controller *c = t->c;
	struct sw_trial_hooks hooks = SW_TRIAL_HOOKS_INIT;
	struct sw_trial_result res;
	enum sw_run_state state = SW_RUN_FINISHED;
	const char *reason = NULL;

	hooks.on_epoch = on_epoch;
	hooks.on_batch = on_batch;
	hooks.on_alert = on_alert;
	hooks.ctx = t;
	hooks.stop = &t->abort_now;
	hooks.resuming = t->resuming;
	hooks.checkpoint = t->checkpoint;
	hooks.on_resume = on_resume;
	hooks.on_restart = on_restart;
	if (sw_trial_run_named(c->cfg->runner, t->id, t->params, t->seed, &hooks,
			       &res) < 0) {
		res.status = SW_TRIAL_FAILED;
		snprintf(res.reason, sizeof(res.reason), "out of memory");
	}
	if (res.notes)          /* e.g. the run's Slurm job id */
		sw_store_run_note(c->store, t->id, res.notes, NULL);

	pthread_mutex_lock(&c->lock);
	/* a runner may see the interrupt before handle_interrupts marks the
	 * trial (a Slurm job still queued is cancelled at once) */
	if (res.status == SW_TRIAL_STOPPED &&
	    (t->interrupted || (*sw_interrupt_flag() && !t->stop_reason[0]))) {
		trial_leave(c, t);
		t->done = 1;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		sw_trial_result_release(&res);
		return NULL;
	}
	take_wandb_record(c, t, &res);
	if (res.status == SW_TRIAL_STOPPED) {
		state = t->stop_state;
		reason = t->stop_reason[0] ? t->stop_reason : NULL;
	} else if (res.status == SW_TRIAL_FAILED) {
		state = SW_RUN_FAILED;
		reason = res.reason;
	}
	trial_end(c, t, state, reason);
	t->done = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	sw_trial_result_release(&res);
	return NULL;
}

/* Starts a trial (lock held); resuming: it was in flight before. Takes
 * the reference to params. */
static int trial_start(struct controller *c, json_t *params, int64_t index,
		       const char *id, uint64_t seed, int resuming)
{
	struct sw_err err = SW_ERR_INIT;
	struct trial *t = calloc(1, sizeof(*t));
	struct trial **tail;

	if (!t) {
		json_decref(params);
		set_fatal(c, "out of memory");
		return -1;
	}
	/* a swept `seed` is the one the trainer uses: record that one */
	seed = sw_trial_seed(params, seed);
	t->c = c;
	t->params = params;
	t->history = json_array();
	t->index = index;
	t->seed = seed;
	t->stop_state = SW_RUN_STOPPED;
	t->resuming = resuming;
	snprintf(t->id, sizeof(t->id), "%s", id);
	if (c->cfg->runner->encode_state &&
	    !(t->checkpoint = sw_store_checkpoint_path(c->store, id))) {
		set_fatal(c, "out of memory");
		trial_free(t);
		return -1;
	}
	/* a program keeps no checkpoint of ours: its rows from before the
	 * restart are kept until it says where it goes on (keep_prior_rows) */
	if (resuming && !c->cfg->runner->encode_state &&
	    sw_store_load_history(c->store->dir, id, &t->prior, NULL) < 0)
		t->prior = NULL;
	if (!t->history || sw_alert_run_init(&t->alert_run, &c->alerts, t->id) < 0 ||
	    sw_store_run_begin(c->store, t->id, params, seed, index, &err) < 0) {
		set_fatal(c, err.msg[0] ? err.msg : "out of memory");
		trial_free(t);
		return -1;
	}
	t->alert_run.epochs = c->cfg->runner->planned_epochs(c->cfg->runner, params);
	sw_progress_run_start(&c->progress, t->id, params, t->alert_run.epochs, 0);
	for (tail = &c->running; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	c->n_running++;
	if (pthread_create(&t->thread, NULL, trial_main, t) != 0) {
		t->thread_ok = 0;
		trial_end(c, t, SW_RUN_FAILED, "could not start a thread");
		t->done = 1;
		return -1;
	}
	t->thread_ok = 1;
	return 0;
}

/* Joins and frees trials that ended (lock held; released while joining). */
static void reap(struct controller *c)
{
	struct trial **pp = &c->running;

	while (*pp) {
		struct trial *t = *pp;

		if (!t->done) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		c->n_running--;
		if (t->thread_ok) {
			pthread_mutex_unlock(&c->lock);
			pthread_join(t->thread, NULL);
			pthread_mutex_lock(&c->lock);
		}
		trial_free(t);
		pp = &c->running;
	}
}

/* ==== Proposing runs (lock held) ==== */

static void log_line(struct controller *c, const char *fmt, const char *arg)
{
	char line[600];

	snprintf(line, sizeof(line), fmt, arg);
	sw_progress_log(&c->progress, line);
}

/* Starts the next run if one is due. Returns 1 if a run started, 0 when
 * nothing more will start. */
static int launch_next(struct controller *c)
{
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	enum sw_search_end end = SW_SEARCH_MORE;
	json_t *out, *marker;
	char id[9];
	int64_t index;

	marker = json_array_get(c->reruns, 0);
	if (marker) {
		json_t *params = json_incref(json_object_get(marker, "params"));

		index = json_integer_value(json_object_get(marker, "index"));
		snprintf(id, sizeof(id), "%s",
			 json_string_value(json_object_get(marker, "id")));
		log_line(c, "sweep: rerunning run %s, which was in flight", id);
		trial_start(c, params, index, id,
			    (uint64_t)json_integer_value(json_object_get(marker, "seed")), 1);
		json_array_remove(c->reruns, 0);
		return !c->fatal[0];
	}
	if (c->cfg->count > 0 && c->n_runs >= c->cfg->count) {
		char n[32];

		snprintf(n, sizeof(n), "%lld", (long long)c->cfg->count);
		log_line(c, "sweep: --count %s reached", n);
		c->stop_launching = 1;
		return 0;
	}
	out = json_array();
	if (!out || collect_runs(c, &runs, 0) < 0 ||
	    sw_search_next(c->spec, &runs, 1, c->cfg->seed, out, &end, &err) < 0) {
		set_fatal(c, err.msg[0] ? err.msg : "out of memory");
		goto stop;
	}
	if (json_array_size(out) == 0) {
		if (end == SW_SEARCH_EXHAUSTED)
			log_line(c, "sweep: %s", "grid exhausted: every point has run");
		else if (end == SW_SEARCH_RUN_CAP)
			log_line(c, "sweep: %s", "run_cap reached");
		else if (end == SW_SEARCH_TARGET)
			log_line(c, "sweep: %s", "metric.target reached");
		c->stop_launching = 1;
		goto stop;
	}
	index = c->next_index++;
	sw_store_run_id(id, c->cfg->seed, (uint64_t)index);
	c->n_runs++;
	/* seeds stay below 2^53 so they survive JSON and the seed hparam range */
	trial_start(c, json_incref(json_array_get(out, 0)), index, id,
		    sw_seed_derive(c->cfg->seed, (uint64_t)index) & ((1ULL << 53) - 1), 0);
	json_decref(out);
	sw_runs_release(&runs);
	return !c->fatal[0];
stop:
	json_decref(out);
	sw_runs_release(&runs);
	return 0;
}

/* ==== Setup and main loop ==== */

/* Loads what a resumed sweep already has: ended runs (with history) and
 * the in-flight markers to run again. */
static int load_previous(struct controller *c, struct sw_err *err)
{
	json_t *runs = NULL, *inflight = NULL;
	size_t i;
	int64_t max_index = -1;

	if (sw_store_load_runs(c->store->dir, &runs, err) < 0)
		return -1;
	if (sw_store_inflight(c->store, &inflight, err) < 0) {
		json_decref(runs);
		return -1;
	}
	for (i = 0; i < json_array_size(runs); i++) {
		json_t *rec = json_array_get(runs, i), *h = NULL;
		const char *id = json_string_value(json_object_get(rec, "id"));
		int64_t idx = json_integer_value(json_object_get(rec, "index"));

		if (sw_store_load_history(c->store->dir, id, &h, err) < 0)
			goto fail;
		json_object_set_new(rec, "_history", h);
		json_array_append(c->ended, rec);
		if (idx > max_index)
			max_index = idx;
	}
	for (i = 0; i < json_array_size(inflight); i++) {
		int64_t idx = json_integer_value(json_object_get(json_array_get(inflight, i),
								 "index"));
		if (idx > max_index)
			max_index = idx;
	}
	c->next_index = max_index + 1;
	c->n_runs = (int64_t)(json_array_size(runs) + json_array_size(inflight));
	json_decref(c->reruns);
	c->reruns = inflight;
	json_decref(runs);
	return 0;
fail:
	json_decref(runs);
	json_decref(inflight);
	return -1;
}

static int controller_init(struct controller *c, const struct sw_spec *spec,
			   struct sw_store *store, const struct sw_run_config *cfg,
			   struct sw_err *err)
{
	struct sw_progress_config pc = SW_PROGRESS_CONFIG_INIT;
	struct sw_alerts_config ac = SW_ALERTS_CONFIG_INIT;

	memset(c, 0, sizeof(*c));
	c->spec = spec;
	c->cfg = cfg;
	c->store = store;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->ended = json_array();
	c->reruns = json_array();
	if (!c->ended || !c->reruns)
		return sw_errorf(err, "out of memory");
	pc.tty = cfg->tty;
	pc.metric = spec->metric.present ? spec->metric.name : NULL;
	pc.maximize = spec->metric.goal == SW_GOAL_MAXIMIZE;
	if (sw_progress_init(&c->progress, &pc, err) < 0)
		return -1;
	ac.sweep_name = spec->name ? spec->name : spec->path;
	ac.metric = pc.metric;
	ac.webhook_url = cfg->webhook_url;
	ac.store = store;
	ac.console = sw_progress_console;
	ac.console_ctx = &c->progress;
	if (sw_alerts_init(&c->alerts, spec->alerts, spec->n_alerts, &ac, err) < 0)
		return -1;
	return load_previous(c, err);
}

static void controller_release(struct controller *c)
{
	sw_alerts_release(&c->alerts);
	sw_progress_release(&c->progress);
	json_decref(c->ended);
	json_decref(c->reruns);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

/* Passes interrupts on to the running trials (lock held). */
static void handle_interrupts(struct controller *c)
{
	int n = *sw_interrupt_flag();
	struct trial *t;

	if (n == c->seen_interrupts)
		return;
	c->seen_interrupts = n;
	c->stop_launching = 1;
	for (t = c->running; t; t = t->next) {
		t->interrupted = 1;
		if (n >= 2) {
			t->stop_state = SW_RUN_KILLED;
			snprintf(t->stop_reason, sizeof(t->stop_reason),
				 "interrupted twice: aborted");
			atomic_store(&t->abort_now, 1);
		} else {
			t->stop_after_epoch = 1;
			t->stop_state = SW_RUN_STOPPED;
			snprintf(t->stop_reason, sizeof(t->stop_reason),
				 "interrupted: stopped after its epoch");
		}
	}
	sw_progress_log(&c->progress, n >= 2 ?
			"sweep: interrupted again: aborting the running trials" :
			"sweep: interrupted: starting no new runs; running ones end "
			"after their epoch (Ctrl-C again to abort them now)");
}

/* After a failed write: keeps in c->ended only the runs that reached
 * runs.jsonl, so the summary shows what a resume will find. */
static void keep_recorded_runs(struct controller *c)
{
	json_t *runs = NULL, *ids = json_object(), *kept = json_array(), *r;
	size_t i;

	if (!ids || !kept || sw_store_load_runs(c->store->dir, &runs, NULL) < 0)
		goto done;
	json_array_foreach(runs, i, r)
		json_object_set(ids, json_string_value(json_object_get(r, "id")), json_true());
	json_array_foreach(c->ended, i, r)
		if (json_object_get(ids, json_string_value(json_object_get(r, "id"))))
			json_array_append(kept, r);
	json_decref(c->ended);
	c->ended = kept;
	kept = NULL;
done:
	json_decref(runs);
	json_decref(ids);
	json_decref(kept);
}

static void finish(struct controller *c, int interrupted)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *fields = json_object(), *summary_runs = json_array();
	char when[32];
	time_t now = time(NULL);
	size_t i;

	/* the webhook's last alerts (bounded wait) while the view still
	 * shows what the sender says; then every ended run on disk before
	 * the sweep says it is done */
	sw_alerts_release(&c->alerts);
	if (sw_store_flush(c->store, &err) < 0) {
		set_fatal(c, err.msg);
		keep_recorded_runs(c);
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_set_new(fields, "state", json_string(c->fatal[0] ? "failed" :
				interrupted ? "interrupted" : "finished"));
	json_object_set_new(fields, "end_time", json_string(when));
	if (sw_store_meta_update(c->store, fields, &err) < 0) {
		char line[600];

		snprintf(line, sizeof(line), "sweep: warning: the sweep's end is not in "
			 "meta.json: %s", err.msg);
		sw_progress_log(&c->progress, line);
	}
	json_decref(fields);
	sw_progress_release(&c->progress);
	memset(&c->progress, 0, sizeof(c->progress));
	if (c->cfg->write_report && sw_report_write(c->store->dir, NULL, &err) < 0 &&
	    json_array_size(c->ended) > 0)
		fprintf(stderr, "sweep: warning: report not written: %s\n", err.msg);
	for (i = 0; i < json_array_size(c->ended); i++) {
		json_t *r = json_deep_copy(json_array_get(c->ended, i));

		json_object_del(r, "_history");
		json_array_append_new(summary_runs, r);
	}
	fflush(stderr);
	sw_progress_summary(stdout, summary_runs,
			    c->spec->metric.present ? c->spec->metric.name : NULL,
			    c->spec->metric.goal == SW_GOAL_MAXIMIZE, 10, c->store->dir);
	fflush(stdout);
	json_decref(summary_runs);
}

int sw_controller_run(const struct sw_spec *spec, struct sw_store *store,
		      const struct sw_run_config *cfg, struct sw_err *err)
{
	struct controller c;
	int interrupted, ret;

	if (controller_init(&c, spec, store, cfg, err) < 0 ||
	    sw_store_write_behind(store, err) < 0) {
		controller_release(&c);
		return SW_ERR;
	}
	pthread_mutex_lock(&c.lock);
	for (;;) {
		struct timespec ts;

		reap(&c);
		handle_interrupts(&c);
		if (!c.stop_launching && c.n_running < (size_t)cfg->parallel &&
		    launch_next(&c))
			continue;
		if (c.n_running == 0 && c.stop_launching)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c.cond, &c.lock, &ts);
	}
	interrupted = c.seen_interrupts > 0;
	pthread_mutex_unlock(&c.lock);
	finish(&c, interrupted);
	ret = 0;
	if (c.fatal[0])
		ret = sw_errorf(err, "%s", c.fatal);
	else if (interrupted)
		ret = SW_ERR_INTR;
	controller_release(&c);
	return ret;
}

/* ==== The command's body ==== */

int sw_run_load_spec(struct sw_spec *spec, const char *path)
{
	struct sw_diags diags = { 0 };
	struct sw_err err = SW_ERR_INIT;
	int bad;

	sw_spec_load(spec, path, &diags, &err);
	if (!spec->text)
		sw_diags_add(&diags, 1, (struct sw_loc){ 0, 0 }, "%s", err.msg);
	else
		sw_spec_validate_for(spec, SW_USE_RUN, &diags);
	sw_diags_sort(&diags);
	sw_diags_print(&diags, path, stderr);
	bad = !spec->text || diags.n_errors;
	sw_diags_release(&diags);
	return bad ? -1 : 0;
}


static json_t *meta_extra(const struct sw_run_config *cfg)
{
	json_t *o = json_object();

	json_object_set_new(o, "seed", json_integer((json_int_t)cfg->seed));
	json_object_set_new(o, "parallel", json_integer(cfg->parallel));
	json_object_set_new(o, "threads", json_integer(cfg->threads));
	json_object_set_new(o, "count", json_integer(cfg->count));
	if (cfg->data_dir)
		json_object_set_new(o, "data_dir", json_string(cfg->data_dir));
	if (cfg->workdir)
		json_object_set_new(o, "workdir", json_string(cfg->workdir));
	if (cfg->keep_checkpoints)
		json_object_set_new(o, "keep_checkpoints", json_true());
	if (cfg->launcher)
		json_object_set_new(o, "launcher", json_string(cfg->launcher));
	if (cfg->sbatch_args)
		json_object_set_new(o, "sbatch", json_string(cfg->sbatch_args));
	json_object_set_new(o, "state", json_string("running"));
	return o;
}

static int on_slurm(const struct sw_run_config *cfg)
{
	return cfg->launcher && !strcmp(cfg->launcher, "slurm");
}

/* With --launcher slurm: *slurm runs the trials of the sweep in sweep_dir
 * as Slurm jobs (local gives planned epochs); check: sbatch first. */
static int slurm_runner(const struct sw_run_config *cfg, const char *sweep_dir,
			const struct sw_trial_runner *local, const char *workdir,
			int check, struct sw_trial_runner *slurm)
{
	struct sw_slurm_config sc = SW_SLURM_CONFIG_INIT;

	sc.sweep_dir = sweep_dir;
	sc.sbatch_args = cfg->sbatch_args;
	sc.workdir = workdir;
	sc.threads = cfg->threads;
	sc.local = local;
	return sw_slurm_runner_start(slurm, &sc, check);
}

/* A new sweep directory under results_root for spec, its meta.json
 * holding cfg's settings. Returns 0, or -1 with the error reported. */
static int create_store(struct sw_store *store, const char *results_root,
			const struct sw_spec *spec, const struct sw_run_config *cfg)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *extra = meta_extra(cfg);
	int rc = sw_store_create(store, results_root, spec, extra, time(NULL), &err);

	json_decref(extra);
	if (rc < 0) {
		sw_cli_error("%s", err.msg);
		return -1;
	}
	store->keep_checkpoints = cfg->keep_checkpoints;
	return 0;
}

/* With --launcher slurm, checks that sbatch takes jobs before a sweep
 * directory is made (dir when resuming, else under results_root). */
static int check_slurm(const struct sw_run_config *cfg, const char *dir,
		       const char *results_root, const char *workdir)
{
	struct sw_trial_runner slurm;

	if (!on_slurm(cfg))
		return 0;
	memset(&slurm, 0, sizeof(slurm));
	if (slurm_runner(cfg, dir ? dir : results_root ? results_root : "results",
			 NULL, workdir, 1, &slurm) < 0)
		return -1;
	sw_trial_runner_release(&slurm);
	return 0;
}

/* With --launcher slurm: *slurm runs the trials of the sweep in store_dir
 * (local gives planned epochs), cfg->runner points at it, and the start is
 * announced. Returns 1 so, 0 when not on Slurm, -1 on error. */
static int start_on_slurm(struct sw_run_config *cfg, const struct sw_spec *spec,
			  const char *store_dir, int resuming,
			  const struct sw_trial_runner *local, const char *workdir,
			  struct sw_trial_runner *slurm)
{
	if (!on_slurm(cfg))
		return 0;
	if (slurm_runner(cfg, store_dir, local, workdir, 0, slurm) < 0)
		return -1;
	cfg->runner = slurm;
	sw_slurm_print_start(stderr, spec->name ? spec->name : spec->path,
			     resuming, cfg->parallel, cfg->seed, slurm);
	return 1;
}

/* Makes sure a new sweep directory can be written under root (created with
 * its parents when missing) before any data is downloaded or loaded: a
 * probe file is created there and removed again. */
static int check_results_root(const char *root, struct sw_err *err)
{
	char *path = NULL;
	int fd, ret = -1;

	if (!root || !*root)
		root = "results";
	if (asprintf(&path, "%s/.sweep-probe-XXXXXX", root) < 0)
		return sw_errorf(err, "out of memory");
	/* errors are reported by the probe below */
	sw_mkdir_parents(path, NULL);
	fd = mkstemp(path);
	if (fd < 0) {
		struct stat sb;

		if (stat(root, &sb) == 0 && !S_ISDIR(sb.st_mode))
			sw_errorf(err, "results directory '%s' is not usable: it is "
				  "not a directory (pass --results DIR)", root);
		else
			sw_errorf(err, "results directory '%s' is not usable: cannot "
				  "create files in it: %s (pass --results DIR)", root,
				  strerror(errno));
		goto done;
	}
	close(fd);
	unlink(path);
	ret = 0;
done:
	free(path);
	return ret;
}

/* Resuming (dir set): opens the sweep's store; else checks that a new
 * sweep directory can be made under results_root. Returns 0, or -1 with
 * the error reported. */
static int open_or_check(struct sw_store *store, const char *dir,
			 const char *results_root)
{
	struct sw_err err = SW_ERR_INIT;

	if (dir ? sw_store_open(store, dir, &err) < 0 :
		  check_results_root(results_root, &err) < 0) {
		sw_cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

/* Where the data is expected, for messages ("" when unknown). */
static void data_where(const char *flag, char *out, size_t size)
{
	struct sw_err err = SW_ERR_INIT;
	char *dir = NULL;

	out[0] = '\0';
	if (cnn_data_dir(flag, &dir, &err) == 0)
		snprintf(out, size, "%s", dir);
	free(dir);
}

/* Whether path/name exists. */
static int exists_in(const char *path, const char *name)
{
	struct stat sb;
	char *full = NULL;
	int ok;

	if (name[0] == '/')
		return stat(name, &sb) == 0;
	if (asprintf(&full, "%s/%s", path, name) < 0)
		return 0;
	ok = stat(full, &sb) == 0;
	free(full);
	return ok;
}

/* The working directory of a new program sweep's children (a new string):
 * the current directory when the program is there (as wandb's agent runs
 * it), else the sweep file's directory when it is there. */
static char *program_workdir(const struct sw_spec *spec, struct sw_err *err)
{
	char *cwd = getcwd(NULL, 0), *sdir = NULL, *slash, *abs = NULL;

	if (!cwd) {
		sw_errorf(err, "cannot read the current directory: %s", strerror(errno));
		return NULL;
	}
	if (!spec->program || exists_in(cwd, spec->program))
		return cwd;
	sdir = strdup(spec->path ? spec->path : ".");
	if (!sdir) {
		free(cwd);
		sw_errorf(err, "out of memory");
		return NULL;
	}
	slash = strrchr(sdir, '/');
	if (slash)
		slash[slash == sdir ? 1 : 0] = '\0';
	else
		snprintf(sdir, strlen(sdir) + 1, ".");
	abs = realpath(sdir, NULL);
	if (abs && exists_in(abs, spec->program)) {
		free(cwd);
		free(sdir);
		return abs;
	}
	sw_errorf(err, "program '%s' of '%s' not found in the current directory '%s' "
		  "nor next to the sweep file (run sweep from the program's directory)",
		  spec->program, spec->path, cwd);
	free(cwd);
	free(sdir);
	free(abs);
	return NULL;
}

/* `sweep run` / `sweep resume` of a program/command sweep: no data; each
 * trial is a child process. */
/* Runs the sweep in store and says how it ended; returns the exit code. */
static int run_and_report(const struct sw_spec *spec, struct sw_store *store,
			  struct sw_run_config *cfg)
{
	struct sw_err err = SW_ERR_INIT;
	int rc = sw_controller_run(spec, store, cfg, &err);

	if (rc == SW_ERR_INTR) {
		fprintf(stderr, "sweep: interrupted; continue with: sweep resume %s\n",
			store->dir);
		return SW_EXIT_INTERRUPTED;
	}
	if (rc < 0) {
		sw_cli_error("%s", err.msg);
		fprintf(stderr, "sweep: what ended is kept; continue with: sweep resume %s\n",
			store->dir);
		return SW_EXIT_FAILURE;
	}
	return SW_EXIT_OK;
}

static int run_program_main(const struct sw_spec *spec, const char *dir,
			    const char *results_root, struct sw_run_config *cfg)
{
	struct sw_trial_process_config pc = SW_TRIAL_PROCESS_CONFIG_INIT;
	struct sw_store store = SW_STORE_INIT;
	struct sw_trial_runner runner, slurm;
	struct sw_err err = SW_ERR_INIT;
	char *workdir = NULL, *runs_dir = NULL, *hook_dir = NULL;
	const char *name;
	int ret = SW_EXIT_FAILURE, on;

	memset(&runner, 0, sizeof(runner));
	memset(&slurm, 0, sizeof(slurm));
	if (open_or_check(&store, dir, results_root) < 0)
		goto done;
	if (cfg->workdir) {
		workdir = strdup(cfg->workdir);
		if (workdir && spec->program && !exists_in(workdir, spec->program)) {
			sw_cli_error("program '%s' not found in '%s', where the sweep ran",
				     spec->program, workdir);
			goto done;
		}
	} else {
		workdir = program_workdir(spec, &err);
		if (!workdir) {
			sw_cli_error("%s", err.msg);
			goto done;
		}
	}
	if (!workdir) {
		sw_cli_error("out of memory");
		goto done;
	}
	cfg->workdir = workdir;
	cfg->data_dir = NULL;
	/* sbatch must take the jobs before a sweep directory is made */
	if (check_slurm(cfg, dir, results_root, workdir) < 0)
		goto done;
	if (!dir && create_store(&store, results_root, spec, cfg) < 0)
		goto done;
	if (asprintf(&runs_dir, "%s/runs", store.dir) < 0) {
		runs_dir = NULL;
		sw_cli_error("out of memory");
		goto done;
	}
	if (asprintf(&hook_dir, "%s/python-hook", store.dir) < 0) {
		hook_dir = NULL;
		sw_cli_error("out of memory");
		goto done;
	}
	name = strrchr(store.dir, '/') ? strrchr(store.dir, '/') + 1 : store.dir;
	pc.program = spec->program;
	pc.command = (const char *const *)spec->command;
	pc.n_command = spec->command ? spec->n_command : 0;
	pc.sweep_id = name;
	pc.workdir = workdir;
	pc.runs_dir = runs_dir;
	pc.wandb_offline = 1;       /* wandb scripts run offline, reporting here */
	pc.hook_dir = hook_dir;
	if (sw_trial_runner_process(&runner, &pc, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	cfg->runner = &runner;
	on = start_on_slurm(cfg, spec, store.dir, dir != NULL, &runner, workdir, &slurm);
	if (on < 0)
		goto done;
	if (!on) {
		fprintf(stderr, "sweep: %s %s: %d program%s at once in %s, seed %llu, "
			"results in %s\n", dir ? "resuming" : "running",
			spec->name ? spec->name : spec->path, cfg->parallel,
			cfg->parallel == 1 ? "" : "s", workdir,
			(unsigned long long)cfg->seed, store.dir);
	}
	ret = run_and_report(spec, &store, cfg);
done:
	cfg->runner = NULL;
	if (cfg->workdir == workdir)
		cfg->workdir = NULL;
	sw_trial_runner_release(&slurm);
	sw_trial_runner_release(&runner);
	sw_store_release(&store);
	free(runs_dir);
	free(hook_dir);
	free(workdir);
	return ret;
}

int sw_run_main(const struct sw_spec *spec, const char *dir,
		const char *results_root, struct sw_run_config *cfg)
{
	struct sw_store store = SW_STORE_INIT;
	struct sw_trial_runner runner, slurm;
	struct cnn_data_opts dopts;
	struct cnn_dataset *ds = NULL;
	struct sw_err err = SW_ERR_INIT;
	char where[4096], *data_abs = NULL;
	struct stat sb;
	int rc, ret = SW_EXIT_FAILURE, data_missing, on;

	sw_interrupt_install();
	if (spec->program || spec->command)
		return run_program_main(spec, dir, results_root, cfg);
	memset(&slurm, 0, sizeof(slurm));
	if (open_or_check(&store, dir, results_root) < 0)
		goto done;
	if (check_slurm(cfg, dir, results_root, NULL) < 0)
		goto done;
	sw_run_data_opts(spec, &dopts);
	/* tests use small generated files: records per file (official: 10,000) */
	if (getenv("SWEEP_TEST_CIFAR_RECORDS"))
		dopts.batch_records = atoi(getenv("SWEEP_TEST_CIFAR_RECORDS"));
	data_where(cfg->data_dir, where, sizeof(where));
	data_missing = where[0] && stat(where, &sb) < 0 && errno == ENOENT;
	rc = cnn_data_open(cfg->data_dir, &dopts, (const volatile int *)sw_interrupt_flag(), &ds, &err);
	if (rc == SW_ERR_INTR) {
		sw_cli_error("interrupted while getting the data");
		ret = SW_EXIT_INTERRUPTED;
		goto done;
	}
	if (rc < 0 && data_missing) {
		sw_cli_error("no CIFAR-10 data in '%s' and it could not be downloaded: %s; "
			     "pass --data DIR or set SWEEP_DATA to a cifar-10-batches-bin "
			     "directory", where, err.msg);
		goto done;
	}
	if (rc < 0) {
		sw_cli_error("%s (pass --data DIR or set SWEEP_DATA to a "
			     "cifar-10-batches-bin directory)", err.msg);
		goto done;
	}
	sw_trial_runner_builtin(&runner, ds, cfg->threads);
	cfg->runner = &runner;
	/* record where the data is as an absolute path, for resume elsewhere */
	data_abs = ds->dir ? realpath(ds->dir, NULL) : NULL;
	if (data_abs)
		cfg->data_dir = data_abs;
	if (!dir && create_store(&store, results_root, spec, cfg) < 0)
		goto done;
	/* on Slurm the data stays loaded only to have checked it (and fetched
	 * it where the nodes will read it) */
	on = start_on_slurm(cfg, spec, store.dir, dir != NULL, &runner, NULL, &slurm);
	if (on < 0)
		goto done;
	if (!on) {
		fprintf(stderr, "sweep: %s %s: %d trial%s at once x %d thread%s, seed %llu, "
			"results in %s\n", dir ? "resuming" : "running",
			spec->name ? spec->name : spec->path, cfg->parallel,
			cfg->parallel == 1 ? "" : "s", cfg->threads, cfg->threads == 1 ? "" : "s",
			(unsigned long long)cfg->seed, store.dir);
	}
	ret = run_and_report(spec, &store, cfg);
done:
	cfg->runner = NULL;
	sw_trial_runner_release(&slurm);
	sw_store_release(&store);
	cnn_dataset_unref(ds);
	if (data_abs && cfg->data_dir == data_abs)
		cfg->data_dir = NULL;
	free(data_abs);
	return ret;
}
