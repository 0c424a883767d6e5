/* agent.c - the wandb sweep agent (see include/sweep/wandb/agent.h): the main
 * heartbeat loop, one trainer thread and one streamer thread per run, the
 * offline fallback and the sync marker. */
#define _GNU_SOURCE
#include "sweep/wandb/agent.h"
#include "base/durable.h"
#include "base/file.h"
#include "base/interrupt.h"
#include "sweep/wandb/wandb_cli.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sweep/run/alerts.h"
#include "base/cli.h"
#include "sweep/run/controller.h"
#include "sweep/wandb/filestream.h"
#include "base/rng.h"
#include "sweep/store/store.h"
#include "sweep/run/trial.h"
#include "sweep/wandb/wandb_api.h"
#include "sweep/offline/wandb_runfile.h"

/* ==== Signals ==== */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* ==== Sync marker ==== */

static pthread_mutex_t marker_lock = PTHREAD_MUTEX_INITIALIZER;

int sw_sync_marker_load(const char *dir, json_t **out, struct sw_err *err)
{
	char *path = NULL;
	json_t *m = NULL;
	json_error_t je;
	int ret = -1;

	*out = NULL;
	if (asprintf(&path, "%s/%s", dir, SW_SYNC_MARKER) < 0)
		return sw_errorf(err, "out of memory");
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		m = json_pack("{s:{}}", "runs");
	} else {
		m = json_load_file(path, 0, &je);
		if (!m) {
			sw_errorf(err, "'%s' line %d: corrupt sync marker (%s); remove it to "
				  "upload every run again", path, je.line, je.text);
			goto done;
		}
		if (!json_is_object(json_object_get(m, "runs"))) {
			sw_errorf(err, "'%s': corrupt sync marker (no \"runs\" object); remove "
				  "it to upload every run again", path);
			goto done;
		}
	}
	if (!m) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	*out = m;
	m = NULL;
	ret = 0;
done:
	json_decref(m);
	free(path);
	return ret;
}

int sw_sync_marker_done(const char *dir, const char *id, const char *entity,
			const char *project, const char *name, struct sw_err *err)
{
	json_t *m = NULL, *e;
	char *path = NULL, *text = NULL;
	int ret = -1;

	pthread_mutex_lock(&marker_lock);
	if (sw_sync_marker_load(dir, &m, err) < 0)
		goto done;
	e = json_object();
	if (!e || asprintf(&path, "%s/%s", dir, SW_SYNC_MARKER) < 0) {
		json_decref(e);
		sw_errorf(err, "out of memory");
		goto done;
	}
	json_object_set_new(e, "entity", json_string(entity ? entity : ""));
	json_object_set_new(e, "project", json_string(project ? project : ""));
	json_object_set_new(e, "name", json_string(name ? name : id));
	json_object_set_new(json_object_get(m, "runs"), id, e);
	text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_durable_replace(NULL, path, text, strlen(text), err);
done:
	pthread_mutex_unlock(&marker_lock);
	free(text);
	free(path);
	json_decref(m);
	return ret;
}

char *sw_agent_cache_path(const char *sweep)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *p = NULL;
	int rc;

	if (xdg && *xdg)
		rc = asprintf(&p, "%s/sweep/wandb-sweeps/%s.yaml", xdg, sweep);
	else if (home && *home)
		rc = asprintf(&p, "%s/.cache/sweep/wandb-sweeps/%s.yaml", home, sweep);
	else
		return NULL;
	return rc < 0 ? NULL : p;
}


static void cache_sweep(const char *sweep, const char *yaml)
{
	struct sw_err err = SW_ERR_INIT;
	char *path = sw_agent_cache_path(sweep);

	if (!path)
		return;
	sw_mkdir_parents(path, NULL);
	if (sw_durable_replace(NULL, path, yaml, strlen(yaml), &err) < 0)
		sw_cli_warning("cannot cache the sweep definition for offline use: %s", err.msg);
	free(path);
}

/* ==== Runs ==== */

struct agent;

struct agent_run {
	struct agent *a;
	struct agent_run *next;
	char id[65];
	json_t *params;            /* unwrapped arguments */
	uint64_t seed;
	int64_t index;
	int64_t planned;           /* epochs the parameters plan; 0: unknown */
	struct sw_alert_run alert_run;
	atomic_int stop;           /* polled by the trainer between batches */
	int stop_exitcode;         /* exit code for a stop: 0 (stop) or 130 */
	int interrupted;           /* stopped by the user's Ctrl-C: it stays in
				      flight with its checkpoint and is
				      preempted at wandb, for `resume` */
	char stop_reason[128];
	volatile sig_atomic_t abandon; /* the streamer gives up (its http stop) */

	/* shared with the streamer, under a->lock */
	json_t *rows;              /* array of history lines (strings) to send */
	char *summary;             /* latest summary line */
	int train_done, exitcode, epochs_done;
	int stream_done;
	double train_end_s;        /* monotonic time training ended */
	double start_unix, start_mono;

	pthread_t train_thread, stream_thread;
	int train_started, stream_started;
	char entity[128], project[128];
	char *resume_from;         /* a `resume`: an earlier agent's checkpoint
				      of this run (owned), or NULL */
	int ckpt_warned;           /* a checkpoint failed (warned once) */
};

struct alert_item {
	struct alert_item *next;
	char run[65];
	/* where the run lives (from its UpsertBucket); "" until it joined */
	char entity[128], project[128];
	char title[160];
	char text[512];
	char severity[8];
};

struct agent {
	const struct sw_agent_config *cfg;
	struct sw_spec *spec;
	struct sw_store store;
	struct sw_writer *ckpt_writer; /* writes the runs' checkpoints in order,
					  so training does not wait for fsync */
	struct cnn_dataset *ds;
	struct sw_trial_runner runner;
	struct sw_alerts alerts;
	int alerts_ok;
	const char *entity, *project;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct agent_run *runs;
	struct alert_item *alerts_head;
	int n_training;
	int slot_freed;
	int64_t started, finished, failed;
	double drain_s;
	/* program/command sweeps: runs are child processes (trial_process.c) */
	int program;
	double start_mono;
	int64_t exits_failed, exits_ended;  /* wandb's flapping counters */
	char give_up[256];                  /* why the agent stops taking runs */
};

static void run_free(struct agent_run *r)
{
	if (!r)
		return;
	sw_alert_run_release(&r->alert_run);
	json_decref(r->params);
	json_decref(r->rows);
	free(r->summary);
	free(r->resume_from);
	free(r);
}

/* Submits the run's state after this epoch, to replace its checkpoint in
 * its run directory, before its history row is queued for wandb. The
 * checkpoint writer does the write and fsync; a crash can cut off the last
 * one, so wandb may have one row more than the checkpoint (that epoch trains
 * again and the streamer skips the row wandb has). */
static void save_checkpoint(struct agent *a, struct agent_run *r, struct sw_trial *t)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *rows = sw_store_run_rows(&a->store, r->id);
	char *path = sw_store_checkpoint_path(&a->store, r->id);
	void *buf = NULL;
	size_t len = 0;

	if (!rows || !path) {
		sw_cli_warning("run %s: no checkpoint after this epoch: out of memory", r->id);
	} else if (sw_trial_encode_state(&a->runner, t, rows, &buf, &len, &err) < 0 ||
		   sw_durable_replace(a->ckpt_writer, path, buf, len, &err) < 0) {
		if (!r->ckpt_warned++)
			sw_cli_warning("run %s: no checkpoint after this epoch: %s", r->id,
				       err.msg);
	}
	json_decref(rows);
	free(path);
	free(buf);
}

/* The alert rules for a run continued from an earlier agent's checkpoint:
 * those that fired there (its alerts.jsonl) stay fired, those the kill kept
 * from firing on the restored epochs fire now; a stop_run among them stops
 * the run. */
static void resume_alerts(struct agent *a, struct agent_run *r, const json_t *rows)
{
	char *dir = strdup(r->resume_from), *runs = dir ? strstr(dir, "/runs/") : NULL;
	json_t *recorded = NULL;
	char *next;

	/* the earlier agent's directory: resume_from is DIR/runs/ID/checkpoint.bin */
	while (runs && (next = strstr(runs + 1, "/runs/")))
		runs = next;
	if (runs) {
		*runs = '\0';
		if (sw_store_load_alerts(dir, &recorded, NULL) < 0)
			recorded = NULL;   /* unreadable: at worst an alert fires again */
	}
	if (sw_alerts_resume(&a->alerts, &r->alert_run, recorded, rows)) {
		snprintf(r->stop_reason, sizeof(r->stop_reason),
			 "stopped by an alert rule at epoch %d", r->epochs_done);
		r->stop_exitcode = 0;
		atomic_store(&r->stop, 1);
	}
	json_decref(recorded);
	free(dir);
}

/* hooks.on_resume: continues the local history and the rows for wandb
 * from a loaded checkpoint, or says why the run trains from the start. */
static int on_resume(void *ctx, struct sw_trial *t, int64_t epochs,
		     const json_t *note, const char *why_not)
{
	struct agent_run *r = ctx;
	struct agent *a = r->a;
	struct sw_err err = SW_ERR_INIT;
	json_t *row, *last;
	size_t i;

	(void)t;
	if (why_not) {
		sw_cli_warning("run %s: %s: training it from the start", r->id, why_not);
		return 0;
	}
	if ((int64_t)json_array_size(note) != epochs ||
	    sw_store_run_restore(&a->store, r->id, note, &err) < 0) {
		sw_cli_warning("run %s: checkpoint '%s' holds no usable history%s%s: "
			       "training it from the start", r->id, r->resume_from,
			       err.msg[0] ? ": " : "", err.msg);
		return -1;
	}
	last = json_deep_copy(json_array_get(note, json_array_size(note) - 1));
	pthread_mutex_lock(&a->lock);
	/* wandb gets the rows it lacks (the streamer skips the ones it has) */
	json_array_foreach(note, i, row) {
		char *line = json_dumps(row, JSON_COMPACT);

		if (line)
			json_array_append_new(r->rows, json_string(line));
		free(line);
	}
	r->epochs_done = (int)epochs;
	r->start_mono = mono_now() - json_number_value(json_object_get(last, "_runtime"));
	if (last) {
		json_object_set_new(last, "_wandb", json_pack("{s:O}", "runtime",
			json_object_get(last, "_runtime")));
		free(r->summary);
		r->summary = json_dumps(last, JSON_COMPACT);
	}
	pthread_mutex_unlock(&a->lock);
	json_decref(last);
	fprintf(stderr, "sweep: run %s continues after epoch %lld from its checkpoint\n",
		r->id, (long long)epochs);
	if (a->alerts_ok)
		resume_alerts(a, r, note);
	return 0;
}

static int on_epoch(void *ctx, struct sw_trial *t, int64_t epoch,
		    const struct sw_kv *kv, size_t n)
{
	struct agent_run *r = ctx;
	struct agent *a = r->a;
	struct sw_err err = SW_ERR_INIT;
	json_t *row = json_object(), *summary;
	double now = unix_now();
	char *line = NULL, *sline = NULL;
	int new_best = 0, stop = 0;
	size_t i;

	if (sw_store_epoch(&a->store, r->id, kv, n, &new_best, &err) < 0)
		sw_cli_warning("run %s: %s", r->id, err.msg);
	else if (a->runner.encode_state && epoch < r->planned)
		save_checkpoint(a, r, t);
	if (a->alerts_ok && sw_alerts_epoch(&a->alerts, &r->alert_run, epoch, kv, n,
					    new_best)) {
		snprintf(r->stop_reason, sizeof(r->stop_reason),
			 "stopped by an alert rule at epoch %lld", (long long)epoch);
		stop = 1;
	}
	/* the wandb history row: _step from 0, runtime, timestamp, metrics */
	if (row) {
		json_object_set_new(row, "_step", json_integer(epoch - 1));
		json_object_set_new(row, "_runtime", json_real(mono_now() - r->start_mono));
		json_object_set_new(row, "_timestamp", json_real(now));
		json_object_set_new(row, "epoch", json_integer(epoch));
		for (i = 0; i < n; i++)
			json_object_set_new(row, kv[i].name, sw_wandb_number_json(kv[i].value));
		line = json_dumps(row, JSON_COMPACT);
		summary = json_deep_copy(row);
		if (summary) {
			json_object_set_new(summary, "_wandb", json_pack("{s:f}", "runtime",
				json_real_value(json_object_get(row, "_runtime"))));
			sline = json_dumps(summary, JSON_COMPACT);
			json_decref(summary);
		}
	}
	json_decref(row);
	{
		char shown[256];
		int len = 0;

		for (i = 0; i < n && i < 4 && len < (int)sizeof(shown) - 40; i++)
			len += snprintf(shown + len, sizeof(shown) - (size_t)len, " %s %.4g",
					kv[i].name, kv[i].value);
		shown[len < (int)sizeof(shown) ? len : (int)sizeof(shown) - 1] = '\0';
		if (r->planned > 0)
			fprintf(stderr, "sweep: run %s epoch %lld/%lld:%s\n", r->id,
				(long long)epoch, (long long)r->planned, shown);
		else
			fprintf(stderr, "sweep: run %s epoch %lld:%s\n", r->id,
				(long long)epoch, shown);
	}
	pthread_mutex_lock(&a->lock);
	r->epochs_done = (int)epoch;
	if (line)
		json_array_append_new(r->rows, json_string(line));
	if (sline) {
		free(r->summary);
		r->summary = sline;
		sline = NULL;
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	free(line);
	free(sline);
	return stop || atomic_load(&r->stop);
}

/* wandb's agent safety limits for program runs (lock held): a run ended,
 * with a non-zero exit code when failed_exit. 3 such exits in the agent's
 * first 60 s (unless WANDB_AGENT_DISABLE_FLAPPING=true), or failures at
 * least as many as the runs ended before and at least
 * WANDB_AGENT_MAX_INITIAL_FAILURES (5), make the agent stop. */
static void flapping_check(struct agent *a, int failed_exit)
{
	const char *off = getenv("WANDB_AGENT_DISABLE_FLAPPING");
	const char *mx = getenv("WANDB_AGENT_MAX_INITIAL_FAILURES");
	long max_fail = mx && *mx ? strtol(mx, NULL, 10) : 5;

	if (failed_exit) {
		a->exits_failed++;
		if (!(off && !strcmp(off, "true")) && a->exits_failed >= 3 &&
		    mono_now() - a->start_mono < 60 && !a->give_up[0])
			snprintf(a->give_up, sizeof(a->give_up), "%lld runs failed in the "
				 "agent's first 60 s (set WANDB_AGENT_DISABLE_FLAPPING=true to "
				 "carry on)", (long long)a->exits_failed);
		if (a->exits_failed >= a->exits_ended && max_fail > 0 &&
		    a->exits_failed >= max_fail && !a->give_up[0])
			snprintf(a->give_up, sizeof(a->give_up), "%lld runs failed, as many "
				 "as ended before (WANDB_AGENT_MAX_INITIAL_FAILURES=%ld)",
				 (long long)a->exits_failed, max_fail);
	}
	a->exits_ended++;
}

/* A run the user interrupted: like a killed one, it stays in flight in
 * this agent's results with its checkpoint (and history), where a later
 * agent's `resume` finds it; its alert rules have not seen its end. */
static void leave_interrupted(struct agent *a, struct agent_run *r)
{
	struct sw_err err = SW_ERR_INIT;
	char *own = sw_store_checkpoint_path(&a->store, r->id);
	struct stat sb;

	if (sw_store_run_leave(&a->store, r->id, &err) < 0)
		sw_cli_warning("run %s: %s", r->id, err.msg);
	/* the earlier agent's checkpoint is superseded once this one wrote its own */
	if (r->resume_from && own && stat(own, &sb) == 0)
		unlink(r->resume_from);
	free(own);
	fprintf(stderr, "sweep: run %s interrupted after epoch %d: preempted at wandb; "
		"its `resume` command continues it from its checkpoint in %s\n", r->id,
		r->epochs_done, a->store.dir);
}

static void *train_main(void *arg)
{
	struct agent_run *r = arg;
	struct agent *a = r->a;
	struct sw_trial_hooks hooks = { 0 };
	struct sw_trial_result res;
	struct sw_err serr = SW_ERR_INIT;
	enum sw_run_state state = SW_RUN_FINISHED;
	const char *reason = NULL;
	int exitcode = 0;

	hooks.on_epoch = on_epoch;
	hooks.ctx = r;
	hooks.stop = &r->stop;
	hooks.resuming = r->resume_from != NULL;
	hooks.checkpoint = r->resume_from;
	hooks.on_resume = on_resume;
	if (sw_trial_run_named(&a->runner, r->id, r->params, r->seed, &hooks, &res) < 0) {
		res.status = SW_TRIAL_FAILED;
		res.exit_code = 1;
		snprintf(res.reason, sizeof(res.reason), "out of memory");
	}
	if (res.status == SW_TRIAL_STOPPED) {
		state = SW_RUN_STOPPED;
		exitcode = r->stop_exitcode;
		reason = r->stop_reason[0] ? r->stop_reason : "stopped";
	} else if (res.status == SW_TRIAL_FAILED) {
		state = SW_RUN_FAILED;
		exitcode = res.exit_code ? res.exit_code : 1;
		reason = res.reason[0] ? res.reason : "training failed";
	}
	/* its last checkpoint on disk before run_end deletes it */
	sw_writer_flush(a->ckpt_writer, NULL);
	if (res.status == SW_TRIAL_STOPPED && r->interrupted) {
		leave_interrupted(a, r);
	} else {
		if (sw_store_run_end(&a->store, r->id, state, reason, NULL, &serr) < 0)
			sw_cli_warning("run %s: %s", r->id, serr.msg);
		else if (r->resume_from)
			unlink(r->resume_from);     /* the earlier agent's, now superseded */
		if (a->alerts_ok)
			sw_alerts_run_end(&a->alerts, &r->alert_run, state, reason,
					  r->epochs_done);
		fprintf(stderr, "sweep: run %s %s after %d epoch%s%s%s\n", r->id,
			sw_run_state_name(state), r->epochs_done,
			r->epochs_done == 1 ? "" : "s", reason ? ": " : "",
			reason ? reason : "");
	}
	pthread_mutex_lock(&a->lock);
	r->exitcode = exitcode;
	r->train_done = 1;
	r->train_end_s = mono_now();
	a->n_training--;
	a->slot_freed = 1;
	if (state == SW_RUN_FAILED)
		a->failed++;
	if (a->program)
		flapping_check(a, state == SW_RUN_FAILED && res.exit_code > 0 &&
			       res.exit_code < 128);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Waits up to s seconds on the agent's condition (lock held). */
static void cond_wait_s(struct agent *a, double s)
{
	struct timespec ts;
	double t;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (double)ts.tv_nsec / 1e9 + s;
	ts.tv_sec += (time_t)t;
	ts.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
	pthread_cond_timedwait(&a->cond, &a->lock, &ts);
}

static int fatal_status(long st)
{
	return st == 400 || st == 401 || st == 403 || st == 404 || st == 410 ||
	       st == 413 || st == 422;
}

/* Gives the run's queued alerts its entity and project, now known (lock
 * held). */
static void alerts_locate(struct agent *a, const struct agent_run *r)
{
	struct alert_item *it;

	for (it = a->alerts_head; it; it = it->next) {
		if (it->project[0] || strcmp(it->run, r->id))
			continue;
		snprintf(it->entity, sizeof(it->entity), "%s", r->entity);
		snprintf(it->project, sizeof(it->project), "%s", r->project);
	}
}

/* http.h on_retry hook of a run's streamer: says which run is retrying, as
 * GraphQL retries are said. */
static void stream_on_retry(void *ctx, const char *msg)
{
	const struct agent_run *r = ctx;

	sw_cli_warning("run %s: %s", r->id, msg);
}

static void *stream_main(void *arg)
{
	struct agent_run *r = arg;
	struct agent *a = r->a;
	struct sw_http http;
	struct sw_filestream fs = SW_FILESTREAM_INIT;
	struct sw_wandb_run_args args = { 0 };
	struct sw_wandb_run joined = { 0 };
	struct sw_err err = SW_ERR_INIT;
	json_t *wrapped = NULL, *rows;
	char *config = NULL, *summary = NULL, host[256];
	int64_t skip = 0, seen = 0;
	int rc, joined_ok = 0, warned = 0, done = 0, fails = 0, exitcode;
	double pause;
	size_t i;

	sw_http_init(&http);
	if (sw_wandb_http_init(&http, a->cfg->settings, &err) < 0)
		goto give_up;
	/* few tries per call: the loop below keeps trying, and training never
	 * waits for this thread */
	if (http.max_tries > 3)
		http.max_tries = 3;
	http.stop = &r->abandon;
	http.on_retry = stream_on_retry;
	http.on_retry_ctx = r;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	wrapped = sw_wandb_wrap_config(r->params);
	config = wrapped ? json_dumps(wrapped, JSON_COMPACT) : NULL;
	args.name = r->id;
	args.entity = a->entity;
	args.project = a->project;
	args.sweep = a->cfg->sweep;
	args.config = config;
	args.host = host;
	args.program = "sweep";

	/* join the sweep */
	while (!r->abandon) {
		rc = sw_wandb_upsert_bucket(&http, &args, &joined, &err);
		if (rc == 0) {
			joined_ok = 1;
			break;
		}
		if (fatal_status(http.last_status)) {
			sw_cli_warning("run %s could not join the sweep: %s; it is kept in %s "
				       "for `sweep sync`", r->id, err.msg, a->store.dir);
			goto give_up;
		}
		if (!warned++)
			sw_cli_warning("run %s: %s; still trying", r->id, err.msg);
		sleep_s(fails < 4 ? 0.25 * (1 << fails) : 4.0);
		fails++;
	}
	if (!joined_ok)
		goto give_up;
	pthread_mutex_lock(&a->lock);
	snprintf(r->entity, sizeof(r->entity), "%s",
		 joined.entity ? joined.entity : a->entity ? a->entity : "");
	snprintf(r->project, sizeof(r->project), "%s",
		 joined.project ? joined.project : a->project ? a->project : "");
	alerts_locate(a, r);
	pthread_mutex_unlock(&a->lock);
	skip = joined.history_line_count > 0 ? joined.history_line_count : 0;
	if (sw_filestream_init(&fs, &http, r->entity, r->project,
			       joined.name ? joined.name : r->id, skip, &err) < 0) {
		sw_cli_warning("run %s: %s", r->id, err.msg);
		goto give_up;
	}
	fails = 0;
	warned = 0;
	while (!r->abandon) {
		pthread_mutex_lock(&a->lock);
		rows = r->rows;
		r->rows = json_array();
		free(summary);
		summary = r->summary ? strdup(r->summary) : NULL;
		done = r->train_done;
		exitcode = r->exitcode;
		pthread_mutex_unlock(&a->lock);
		for (i = 0; rows && i < json_array_size(rows); i++, seen++) {
			if (seen < skip)
				continue;   /* the server already has these lines */
			if (sw_filestream_log(&fs, json_string_value(json_array_get(rows, i)),
					      &err) < 0)
				sw_cli_warning("run %s: %s", r->id, err.msg);
		}
		json_decref(rows);
		if (summary && (!fs.summary || strcmp(summary, fs.summary)))
			sw_filestream_set_summary(&fs, summary, &err);
		if (done && r->interrupted)   /* in flight: no exit code, for `resume` */
			rc = sw_filestream_preempt(&fs, &err);
		else if (done)
			rc = sw_filestream_finish(&fs, exitcode, &err);
		else
			rc = sw_filestream_poll(&fs, -1, &err);
		if (sw_filestream_stopped(&fs) && !atomic_load(&r->stop)) {
			snprintf(r->stop_reason, sizeof(r->stop_reason), "stopped by wandb");
			r->stop_exitcode = 0;
			atomic_store(&r->stop, 1);
			fprintf(stderr, "sweep: run %s: wandb asked to stop it\n", r->id);
		}
		if (done && rc == 0 && r->interrupted)
			break;
		if (done && rc == 0) {
			if (sw_sync_marker_done(a->store.dir, r->id, r->entity, r->project,
						r->id, &err) < 0)
				sw_cli_warning("run %s: %s", r->id, err.msg);
			break;
		}
		pause = 0.2;
		if (rc < 0 && rc != SW_ERR_INTR && fatal_status(http.last_status)) {
			sw_cli_warning("run %s: %s; giving up on streaming it: upload it later "
				       "with `sweep sync %s`", r->id, err.msg, a->store.dir);
			break;
		}
		if (rc < 0 && rc != SW_ERR_INTR) {
			if (!warned++)
				sw_cli_warning("run %s: %s; history is kept and re-sent", r->id,
					       err.msg);
			pause = fails < 4 ? 0.25 * (1 << fails) : 4.0;
			fails++;
			if (done && mono_now() - r->train_end_s > a->drain_s) {
				sw_cli_warning("run %s: wandb did not accept its history for %.0f s; "
					       "giving up: upload it later with `sweep sync %s`",
					       r->id, a->drain_s, a->store.dir);
				break;
			}
		} else if (rc == 0) {
			if (warned)
				fprintf(stderr, "sweep: run %s: wandb is answering again\n", r->id);
			fails = 0;
			warned = 0;
		}
		pthread_mutex_lock(&a->lock);
		if (!r->train_done || done)
			cond_wait_s(a, pause);
		pthread_mutex_unlock(&a->lock);
	}
give_up:
	pthread_mutex_lock(&a->lock);
	r->stream_done = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	free(summary);
	free(config);
	json_decref(wrapped);
	sw_wandb_run_release(&joined);
	sw_filestream_release(&fs);
	sw_http_release(&http);
	return NULL;
}

/* ==== Agent ==== */

static uint64_t id_seed(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return sw_seed_derive(h, 0) & ((1ULL << 53) - 1);
}

static int valid_run_id(const char *id)
{
	size_t n = strlen(id), i;

	if (n < 1 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!(id[i] == '-' || id[i] == '_' || (id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')))
			return 0;
	return 1;
}

static struct agent_run *find_run(struct agent *a, const char *id)
{
	struct agent_run *r;

	for (r = a->runs; r; r = r->next)
		if (!strcmp(r->id, id))
			return r;
	return NULL;
}

/* The newest checkpoint of run `id` that an earlier agent of this sweep
 * left in its results directory under the results root (a new string), or
 * NULL. A killed agent's directory keeps the run in flight there. */
static char *find_checkpoint(struct agent *a, const char *id)
{
	const char *root = a->cfg->results_root ? a->cfg->results_root : "results";
	DIR *d = opendir(root);
	struct dirent *de;
	char *best = NULL, *path = NULL, *dir = NULL;
	time_t best_t = 0;
	struct stat sb;

	while (d && (de = readdir(d))) {
		json_t *meta = NULL;
		const char *sweep;

		if (de->d_name[0] == '.' || asprintf(&dir, "%s/%s", root, de->d_name) < 0)
			continue;
		if (strcmp(dir, a->store.dir) && asprintf(&path, "%s/runs/%s/checkpoint.bin",
							  dir, id) >= 0 &&
		    stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sw_store_load_meta(dir, &meta, NULL) == 0) {
			sweep = json_string_value(json_object_get(json_object_get(meta, "wandb"),
								  "sweep"));
			if (sweep && !strcmp(sweep, a->cfg->sweep) &&
			    (!best || sb.st_mtime > best_t)) {
				free(best);
				best = path;
				best_t = sb.st_mtime;
				path = NULL;
			}
		}
		json_decref(meta);
		free(path);
		free(dir);
		path = dir = NULL;
	}
	if (d)
		closedir(d);
	return best;
}

/* Starts a run from a run/resume command (lock not held). */
static void start_run(struct agent *a, const json_t *cmd)
{
	struct sw_err err = SW_ERR_INIT;
	const char *id = json_string_value(json_object_get(cmd, "run_id"));
	json_t *args = json_object_get(cmd, "args");
	struct agent_run *r = NULL;
	const char *type;

	if (!id || !valid_run_id(id)) {
		sw_cli_warning("wandb sent a run command without a usable run_id; ignored");
		return;
	}
	if (find_run(a, id)) {
		sw_cli_warning("run %s is already running here; command ignored", id);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto oom;
	r->a = a;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->rows = json_array();
	r->params = json_is_object(args) ? sw_wandb_unwrap_config(args, &err) : json_object();
	if (!r->rows || !r->params) {
		sw_cli_warning("run %s: %s; not started", id, err.msg[0] ? err.msg :
			       "its arguments are not an object");
		run_free(r);
		return;
	}
	/* a swept `seed` is the one the trainer uses: record that one */
	r->seed = sw_trial_seed(r->params, id_seed(id));
	type = json_string_value(json_object_get(cmd, "type"));
	if (type && !strcmp(type, "resume") && a->runner.encode_state) {
		r->resume_from = find_checkpoint(a, id);
		if (r->resume_from)
			fprintf(stderr, "sweep: run %s: resuming from '%s'\n", id,
				r->resume_from);
		else
			fprintf(stderr, "sweep: run %s: no checkpoint of it on this machine: "
				"training it from the start\n", id);
	}
	if (a->runner.planned_epochs)
		r->planned = a->runner.planned_epochs(&a->runner, r->params);
	r->index = a->started + 1;
	r->start_unix = unix_now();
	r->start_mono = mono_now();
	if (sw_store_run_begin(&a->store, r->id, r->params, r->seed, r->index, &err) < 0) {
		sw_cli_warning("run %s: %s; not started", id, err.msg);
		run_free(r);
		return;
	}
	if (a->alerts_ok && sw_alert_run_init(&r->alert_run, &a->alerts, r->id) < 0)
		goto oom;
	r->alert_run.epochs = r->planned;
	pthread_mutex_lock(&a->lock);
	r->next = a->runs;
	a->runs = r;
	a->started++;
	a->n_training++;
	pthread_mutex_unlock(&a->lock);
	{
		char *shown = json_dumps(r->params, JSON_COMPACT | JSON_SORT_KEYS |
					 JSON_REAL_PRECISION(10));
		fprintf(stderr, "sweep: run %s started: %s\n", r->id, shown ? shown : "");
		free(shown);
	}
	if (pthread_create(&r->train_thread, NULL, train_main, r) == 0) {
		r->train_started = 1;
	} else {
		sw_cli_warning("run %s: cannot start a thread", r->id);
		pthread_mutex_lock(&a->lock);
		r->exitcode = 1;
		r->train_done = 1;
		a->n_training--;
		pthread_mutex_unlock(&a->lock);
	}
	if (a->program) {
		/* the program logs itself to wandb (WANDB_RUN_ID...), as under
		 * wandb agent: nothing to stream from here */
		pthread_mutex_lock(&a->lock);
		r->stream_done = 1;
		pthread_mutex_unlock(&a->lock);
	} else if (pthread_create(&r->stream_thread, NULL, stream_main, r) == 0) {
		r->stream_started = 1;
	} else {
		pthread_mutex_lock(&a->lock);
		r->stream_done = 1;
		pthread_mutex_unlock(&a->lock);
	}
	return;
oom:
	sw_cli_warning("out of memory starting run %s", id);
	run_free(r);
}

/* Joins and frees the runs whose training and upload are over. */
static void reap(struct agent *a)
{
	struct agent_run **pp, *r;

	pthread_mutex_lock(&a->lock);
	pp = &a->runs;
	while ((r = *pp)) {
		if (!(r->train_done && r->stream_done)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		pthread_mutex_unlock(&a->lock);
		if (r->train_started)
			pthread_join(r->train_thread, NULL);
		if (r->stream_started)
			pthread_join(r->stream_thread, NULL);
		run_free(r);
		pthread_mutex_lock(&a->lock);
		a->finished++;
		pp = &a->runs;
	}
	pthread_mutex_unlock(&a->lock);
}

/* runState: the runs still training. */
static char *run_state(void *ctx)
{
	struct agent *a = ctx;
	json_t *o = json_object();
	struct agent_run *r;
	char *s;

	pthread_mutex_lock(&a->lock);
	for (r = a->runs; o && r; r = r->next)
		if (!r->train_done)
			json_object_set_new(o, r->id, json_true());
	pthread_mutex_unlock(&a->lock);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

/* Stops every run still training; interrupted: by the user's Ctrl-C (the
 * runs stay in flight for `resume`; built-in runs only: a program's own
 * wandb reports its end, as under wandb agent). */
static void stop_all(struct agent *a, int exitcode, int interrupted, const char *reason)
{
	struct agent_run *r;

	pthread_mutex_lock(&a->lock);
	for (r = a->runs; r; r = r->next) {
		if (r->train_done || atomic_load(&r->stop))
			continue;
		r->stop_exitcode = exitcode;
		r->interrupted = interrupted;
		snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", reason);
		atomic_store(&r->stop, 1);
	}
	pthread_mutex_unlock(&a->lock);
}

static void abandon_all(struct agent *a)
{
	struct agent_run *r;

	pthread_mutex_lock(&a->lock);
	for (r = a->runs; r; r = r->next) {
		r->abandon = 1;
		atomic_store(&r->stop, 1);
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* alerts.h hook (any thread): queue it for the main loop to send. */
static void on_alert(void *ctx, const json_t *rec)
{
	struct agent *a = ctx;
	struct alert_item *it = calloc(1, sizeof(*it)), **pp;
	const char *run = json_string_value(json_object_get(rec, "run"));
	const char *level = json_string_value(json_object_get(rec, "level"));
	const char *rule = json_string_value(json_object_get(rec, "rule"));
	const char *text = json_string_value(json_object_get(rec, "text"));
	struct agent_run *r;

	if (!it || !run)
		goto drop;
	snprintf(it->run, sizeof(it->run), "%s", run);
	snprintf(it->title, sizeof(it->title), "%s", rule ? rule : "alert");
	snprintf(it->text, sizeof(it->text), "%s", text ? text : "");
	snprintf(it->severity, sizeof(it->severity), "%s",
		 level && (!strcmp(level, "WARN") || !strcmp(level, "ERROR")) ? level : "INFO");
	pthread_mutex_lock(&a->lock);
	r = find_run(a, it->run);
	if (r && r->project[0]) {
		snprintf(it->entity, sizeof(it->entity), "%s", r->entity);
		snprintf(it->project, sizeof(it->project), "%s", r->project);
	}
	for (pp = &a->alerts_head; *pp; pp = &(*pp)->next)
		;
	*pp = it;
	pthread_mutex_unlock(&a->lock);
	return;
drop:
	free(it);
}

/* Takes the first queued alert that can be sent (lock held): one whose
 * run's entity and project are known, or whose run will never learn them
 * (it did not join, or a program run logs itself). An alert of a run still
 * joining waits, so it goes to its run's project, not a guess. */
static struct alert_item *next_alert(struct agent *a)
{
	struct alert_item **pp, *it;
	struct agent_run *r;

	for (pp = &a->alerts_head; (it = *pp); pp = &it->next) {
		r = it->project[0] ? NULL : find_run(a, it->run);
		if (!it->project[0] && r && !r->stream_done)
			continue;
		*pp = it->next;
		if (!it->project[0]) {
			snprintf(it->entity, sizeof(it->entity), "%s",
				 r && r->entity[0] ? r->entity : a->entity ? a->entity : "");
			snprintf(it->project, sizeof(it->project), "%s",
				 r && r->project[0] ? r->project :
				 a->project ? a->project : "uncategorized");
		}
		return it;
	}
	return NULL;
}

static void send_alerts(struct agent *a, struct sw_http *http)
{
	struct alert_item *it;
	struct sw_err err = SW_ERR_INIT;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		it = next_alert(a);
		pthread_mutex_unlock(&a->lock);
		if (!it)
			return;
		if (sw_wandb_alert(http, it->entity, it->project, it->run, it->title, it->text,
				   it->severity, 60000, &err) < 0)
			sw_cli_warning("alert for run %s not delivered to wandb: %s", it->run,
				       err.msg);
		free(it);
	}
}

static double env_double(const char *name, double def)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	return *end || !(v > 0) ? def : v;
}

/* Reads the sweep and loads its definition; *project gets the project the
 * server found the sweep in (a new string; NULL when the answer does not
 * say). Returns 0, -1, or SW_ERR_USAGE when the built-in CNN cannot train
 * the sweep's runs. */
static int fetch_spec(struct sw_http *http, const struct sw_agent_config *cfg,
		      const char *entity, struct sw_spec *spec, char **project,
		      struct sw_err *err)
{
	json_t *sweep = NULL;
	struct sw_diags diags = { 0 }, scratch = { 0 };
	const char *yaml, *state, *sweep_project;
	char *name = NULL;
	int ret = -1, program, wandb_ok;

	*project = NULL;

	if (sw_wandb_sweep_with_runs(http, entity, cfg->project, cfg->sweep, NULL, &sweep,
				     err) < 0)
		goto done;
	state = json_string_value(json_object_get(sweep, "state"));
	yaml = json_string_value(json_object_get(sweep, "config"));
	sweep_project = json_string_value(json_object_get(json_object_get(sweep, "project"),
							  "name"));
	if (sweep_project && *sweep_project && !(*project = strdup(sweep_project))) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (!yaml) {
		sw_errorf(err, "wandb sent no definition for sweep '%s'", cfg->sweep);
		goto done;
	}
	/* as wandb's agent: no gate on the state, the heartbeat's commands
	 * decide; only say when the sweep looks over */
	if (state && (!strcasecmp(state, "FINISHED") || !strcasecmp(state, "CANCELED") ||
		      !strcasecmp(state, "CANCELLED") || !strcasecmp(state, "CRASHED") ||
		      !strcasecmp(state, "FAILED")))
		sw_cli_warning("sweep '%s' is %s; registering anyway: wandb's commands "
			       "decide whether there is anything to run", cfg->sweep, state);
	cache_sweep(cfg->sweep, yaml);
	if (asprintf(&name, "%s.yaml", cfg->sweep) < 0) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	sw_spec_load_string(spec, yaml, strlen(yaml), name, &diags, err);
	if (!spec->text || !spec->doc) {
		sw_err_prefix(err, "the definition of sweep '%s' from wandb", cfg->sweep);
		goto done;
	}
	program = spec->program || spec->command;
	wandb_ok = diags.n_errors == 0 && sw_spec_validate(spec, &scratch) == 0;
	if (sw_spec_validate_for(spec, program ? SW_USE_FILE : SW_USE_TRAIN, &diags) < 0) {
		sw_diags_sort(&diags);
		sw_diags_print(&diags, name, stderr);
		if (wandb_ok) {
			/* wandb accepts it, but the built-in CNN cannot train its
			 * runs: refuse before registering */
			sw_errorf(err, "the built-in CNN cannot train the runs of sweep "
				  "'%s' (%zu error%s); give the sweep a 'program' or "
				  "'command' to run your own script", cfg->sweep,
				  diags.n_errors, diags.n_errors == 1 ? "" : "s");
			ret = SW_ERR_USAGE;
			goto done;
		}
		/* runs still come with their own arguments: only warn */
		sw_cli_warning("the definition of sweep '%s' has problems for `sweep`; "
			       "training what wandb sends anyway", cfg->sweep);
	}
	ret = 0;
done:
	sw_diags_release(&diags);
	sw_diags_release(&scratch);
	json_decref(sweep);
	free(name);
	return ret;
}

/* The process runner of a program/command sweep, with wandb's agent
 * environment (WANDB_ENTITY, WANDB_PROJECT, WANDB_BASE_URL besides what
 * the runner sets); runs in the current directory. */
static int program_runner(struct agent *a, const struct sw_spec *spec,
			  struct sw_err *err)
{
	struct sw_trial_process_config pc = SW_TRIAL_PROCESS_CONFIG_INIT;
	char *env[4] = { NULL, NULL, NULL, NULL }, *runs_dir = NULL;
	int n = 0, rc = -1;

	if ((a->entity && asprintf(&env[n++], "WANDB_ENTITY=%s", a->entity) < 0) ||
	    (a->project && asprintf(&env[n++], "WANDB_PROJECT=%s", a->project) < 0) ||
	    (a->cfg->settings && a->cfg->settings->base_url &&
	     asprintf(&env[n++], "WANDB_BASE_URL=%s", a->cfg->settings->base_url) < 0) ||
	    asprintf(&runs_dir, "%s/runs", a->store.dir) < 0) {
		if (n > 0)
			env[--n] = NULL;
		runs_dir = NULL;
		sw_errorf(err, "out of memory");
		goto done;
	}
	pc.program = spec->program;
	pc.command = (const char *const *)spec->command;
	pc.n_command = spec->command ? spec->n_command : 0;
	pc.sweep_id = a->cfg->sweep;
	pc.runs_dir = runs_dir;
	pc.env = (const char *const *)env;
	rc = sw_trial_runner_process(&a->runner, &pc, err);
done:
	while (n > 0)
		free(env[--n]);
	free(runs_dir);
	return rc;
}

int sw_agent_run(const struct sw_agent_config *cfg, int *unreachable, struct sw_err *err)
{
	struct agent a;
	struct sw_http http;
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_alerts_config acfg = SW_ALERTS_CONFIG_INIT;
	struct cnn_data_opts dopts;
	struct sw_err hb_err = SW_ERR_INIT;
	json_t *extra = NULL, *cmds = NULL, *cmd, *pending = NULL;
	char *viewer_entity = NULL, *agent_id = NULL, host[256];
	char *sweep_project = NULL;
	const char *type;
	double next_hb = 0, hb_s = cfg->heartbeat_s > 0 ? cfg->heartbeat_s : 5.0;
	int ret = SW_ERR, rc, exiting = 0, deleted = 0, seen_interrupts = 0;
	size_t i;

	*unreachable = 0;
	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	a.spec = &spec;
	a.store = (struct sw_store)SW_STORE_INIT;
	a.drain_s = env_double("SWEEP_AGENT_DRAIN", 300);
	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	sw_http_init(&http);
	pending = json_array();
	if (sw_wandb_http_init(&http, cfg->settings, err) < 0) {
		ret = SW_ERR_USAGE;
		goto done;
	}
	http.stop = sw_interrupt_flag();
	http.on_retry = sw_wandb_cli_on_retry;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';

	/* 1. who we are, the sweep, the agent */
	a.entity = cfg->entity;
	a.project = cfg->project;
	if (!a.entity) {
		rc = sw_wandb_viewer(&http, &viewer_entity, err);
		if (rc < 0)
			goto start_failed;
		a.entity = viewer_entity;
	}
	rc = fetch_spec(&http, cfg, a.entity, &spec, &sweep_project, err);
	if (rc < 0)
		goto start_failed;
	/* no project given or found: the sweep's, where wandb puts its runs */
	if (!a.project)
		a.project = sweep_project;
	rc = sw_wandb_create_agent(&http, host, a.entity, a.project, cfg->sweep, &agent_id,
				   err);
	if (rc < 0)
		goto start_failed;

	/* 2. data, results store, alerts */
	a.program = spec.program || spec.command;
	a.start_mono = mono_now();
	sw_run_data_opts(&spec, &dopts);
	rc = a.program ? 0 : cnn_data_open(cfg->data_dir, &dopts,
					   (const volatile int *)sw_interrupt_flag(), &a.ds, err);
	if (rc < 0) {
		if (rc != SW_ERR_INTR)
			sw_err_prefix(err, "no training data (pass --data DIR or set "
				      "SWEEP_DATA)");
		ret = rc;
		goto done;
	}
	if (!a.program)
		sw_trial_runner_builtin(&a.runner, a.ds, cfg->threads);
	extra = json_pack("{s:{s:s?,s:s?,s:s,s:s},s:i,s:i,s:s}",
			  "wandb", "entity", a.entity, "project", a.project, "sweep", cfg->sweep,
			  "agent", agent_id, "parallel", cfg->parallel, "threads", cfg->threads,
			  "state", "running");
	if (!extra || sw_store_create(&a.store, cfg->results_root, &spec, extra, time(NULL),
				      err) < 0)
		goto done;
	if (a.program && program_runner(&a, &spec, err) < 0)
		goto done;
	if (!a.program && sw_writer_start(&a.ckpt_writer, 2 * (size_t)cfg->parallel, err) < 0)
		goto done;
	acfg.sweep_name = cfg->sweep;
	acfg.metric = spec.metric.present ? spec.metric.name : NULL;
	acfg.webhook_url = sw_alerts_webhook_url(NULL);
	acfg.store = &a.store;
	acfg.on_alert = on_alert;
	acfg.on_alert_ctx = &a;
	if (sw_alerts_init(&a.alerts, spec.alerts, spec.n_alerts, &acfg, err) < 0)
		goto done;
	a.alerts_ok = 1;
	fprintf(stderr, "sweep: agent for %s%s%s%s%s: up to %d run%s at once x %d thread%s, "
		"results in %s\n", a.entity ? a.entity : "", a.entity ? "/" : "",
		a.project ? a.project : "", a.project ? "/" : "", cfg->sweep, cfg->parallel,
		cfg->parallel == 1 ? "" : "s", cfg->threads, cfg->threads == 1 ? "" : "s",
		a.store.dir);

	/* 3. the loop. A failed heartbeat only means no commands this time:
	 * few tries keep the loop (starting runs, stop commands) responsive
	 * during an outage */
	if (http.max_tries > 3)
		http.max_tries = 3;
	for (;;) {
		double now = mono_now();
		int live, want;

		if (*sw_interrupt_flag() > seen_interrupts) {
			seen_interrupts = *sw_interrupt_flag();
			if (seen_interrupts == 1) {
				fprintf(stderr, "sweep: interrupted: stopping the runs (they stay "
					"resumable: wandb's `resume` continues them from their "
					"checkpoint); Ctrl-C again to leave their upload to "
					"`sweep sync`\n");
				exiting = 1;
				stop_all(&a, 130, !a.program, "interrupted");
			} else {
				abandon_all(&a);
			}
		}
		reap(&a);
		send_alerts(&a, &http);
		pthread_mutex_lock(&a.lock);
		if (a.give_up[0] && !exiting) {
			sw_cli_error("%s: stopping the agent", a.give_up);
			exiting = 1;
			pthread_mutex_unlock(&a.lock);
			stop_all(&a, 0, 0, "the agent stopped: runs keep failing");
			pthread_mutex_lock(&a.lock);
		}
		live = a.n_training;
		want = !exiting && (!cfg->count || a.started < cfg->count);
		if (a.slot_freed && want) {
			next_hb = now;
			a.slot_freed = 0;
		}
		pthread_mutex_unlock(&a.lock);
		if (!want && !a.runs && !json_array_size(pending))
			break;
		/* start what is queued while slots are free */
		while (want && live < cfg->parallel && json_array_size(pending)) {
			start_run(&a, json_array_get(pending, 0));
			json_array_remove(pending, 0);
			live++;
			want = !cfg->count || a.started < cfg->count;
		}
		if (!want && json_array_size(pending)) {
			for (i = 0; i < json_array_size(pending); i++)
				sw_cli_warning("run %s not started: %s",
					       json_string_value(json_object_get(
						json_array_get(pending, i), "run_id")),
					       exiting ? "the agent is stopping" :
					       "--count reached");
			json_array_clear(pending);
		}
		if (!deleted && !*sw_interrupt_flag() && now >= next_hb && (want || live)) {
			json_decref(cmds);
			cmds = NULL;
			rc = sw_wandb_agent_heartbeat_live(&http, agent_id, run_state, &a, &cmds,
							   &hb_err);
			next_hb = mono_now() + hb_s;
			if (rc < 0 && http.last_status == 404) {
				sw_cli_error("%s; letting the running runs finish", hb_err.msg);
				deleted = 1;
				exiting = 1;
			} else if (rc < 0 && rc != SW_ERR_INTR) {
				sw_cli_warning("heartbeat: %s", hb_err.msg);
			}
			for (i = 0; rc == 0 && i < json_array_size(cmds); i++) {
				cmd = json_array_get(cmds, i);
				type = json_string_value(json_object_get(cmd, "type"));
				if (!type) {
					sw_cli_warning("wandb sent a command without a type; ignored");
				} else if (!strcmp(type, "run") || !strcmp(type, "resume")) {
					if (exiting || (cfg->count && a.started +
					    (int64_t)json_array_size(pending) >= cfg->count))
						sw_cli_warning("run %s not started: %s",
							json_string_value(json_object_get(cmd, "run_id")),
							exiting ? "the agent is stopping" : "--count reached");
					else
						json_array_append(pending, cmd);
				} else if (!strcmp(type, "stop")) {
					const char *id = json_string_value(json_object_get(cmd, "run_id"));
					struct agent_run *r;

					pthread_mutex_lock(&a.lock);
					r = id ? find_run(&a, id) : NULL;
					if (r && !r->train_done) {
						r->stop_exitcode = 0;
						snprintf(r->stop_reason, sizeof(r->stop_reason),
							 "stopped by wandb");
						atomic_store(&r->stop, 1);
					}
					pthread_mutex_unlock(&a.lock);
					if (r)
						fprintf(stderr, "sweep: run %s: wandb asked to stop it\n",
							id);
					else
						sw_cli_warning("wandb asked to stop run %s, which is not "
							       "running here", id ? id : "(none)");
				} else if (!strcmp(type, "exit")) {
					fprintf(stderr, "sweep: wandb asked the agent to exit\n");
					exiting = 1;
					stop_all(&a, 0, 0, "the agent was asked to exit");
				} else {
					sw_cli_warning("wandb sent an unknown command '%s'; ignored",
						       type);
				}
			}
			continue;
		}
		pthread_mutex_lock(&a.lock);
		cond_wait_s(&a, 0.05);
		pthread_mutex_unlock(&a.lock);
	}
	send_alerts(&a, &http);
	fprintf(stderr, "sweep: agent done: %lld run%s (%lld failed), results in %s\n",
		(long long)a.finished, a.finished == 1 ? "" : "s", (long long)a.failed,
		a.store.dir);
	if (*sw_interrupt_flag()) {
		ret = SW_ERR_INTR;
	} else if (a.give_up[0]) {
		sw_errorf(err, "%s", a.give_up);
		ret = SW_ERR;
	} else if (deleted) {
		sw_errorf(err, "sweep '%s' was deleted on the server", cfg->sweep);
		ret = SW_ERR;
	} else {
		ret = 0;
	}
	goto done;

start_failed:
	if (rc == SW_ERR_INTR || rc == SW_ERR_USAGE)
		ret = rc;
	else if (http.last_status == 0)
		*unreachable = 1, ret = SW_ERR;
	else if (http.last_status == 404 || strstr(err->msg, "not found") ||
		 strstr(err->msg, "not running"))
		ret = SW_ERR_USAGE;
	else
		ret = SW_ERR;
done:
	abandon_all(&a);
	reap(&a);
	if (a.alerts_ok)
		sw_alerts_release(&a.alerts);
	while (a.alerts_head) {
		struct alert_item *it = a.alerts_head;

		a.alerts_head = it->next;
		free(it);
	}
	if (a.store.dir) {
		json_t *end = json_pack("{s:s}", "state", ret == 0 ? "finished" :
					ret == SW_ERR_INTR ? "interrupted" : "failed");
		struct sw_err e2 = SW_ERR_INIT;

		if (end)
			sw_store_meta_update(&a.store, end, &e2);
		json_decref(end);
	}
	sw_writer_stop(a.ckpt_writer);
	sw_store_release(&a.store);
	sw_trial_runner_release(&a.runner);
	cnn_dataset_unref(a.ds);
	json_decref(extra);
	json_decref(cmds);
	json_decref(pending);
	free(agent_id);
	free(viewer_entity);
	free(sweep_project);
	sw_spec_release(&spec);
	sw_http_release(&http);
	pthread_mutex_destroy(&a.lock);
	pthread_cond_destroy(&a.cond);
	return ret;
}

/* ==== Offline ==== */

int sw_agent_offline(const struct sw_agent_config *cfg, struct sw_err *err)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_store store = SW_STORE_INIT;
	struct sw_run_config rc = SW_RUN_CONFIG_INIT;
	struct sw_trial_runner offline_runner;
	struct cnn_data_opts dopts;
	struct cnn_dataset *ds = NULL;
	json_t *extra = NULL;
	char *cached = NULL, *runs_dir = NULL, *hook_dir = NULL;
	int program = 0;
	const char *path = cfg->sweep_file;
	int ret = SW_ERR, r;

	if (!path) {
		cached = cfg->sweep ? sw_agent_cache_path(cfg->sweep) : NULL;
		if (!cached || access(cached, R_OK) < 0) {
			sw_errorf(err, "offline: no definition of sweep '%s' here (no earlier "
				  "online agent cached it); pass --sweep-file FILE.yaml",
				  cfg->sweep ? cfg->sweep : "");
			ret = SW_ERR_USAGE;
			goto done;
		}
		path = cached;
	}
	sw_spec_load(&spec, path, &diags, err);
	if (!spec.text || sw_spec_validate_for(&spec, SW_USE_RUN, &diags) < 0) {
		sw_diags_sort(&diags);
		sw_diags_print(&diags, path, stderr);
		if (!err->msg[0])
			sw_errorf(err, "'%s' is not a valid sweep (%zu error%s)", path,
				  diags.n_errors, diags.n_errors == 1 ? "" : "s");
		ret = SW_ERR_USAGE;
		goto done;
	}
	sw_interrupt_install();
	sw_run_data_opts(&spec, &dopts);
	program = spec.program || spec.command;
	r = program ? 0 : cnn_data_open(cfg->data_dir, &dopts, (const volatile int *)sw_interrupt_flag(),
					 &ds, err);
	if (r < 0) {
		if (r != SW_ERR_INTR)
			sw_err_prefix(err, "no training data (pass --data DIR or set SWEEP_DATA)");
		ret = r;
		goto done;
	}
	rc.count = cfg->count;
	rc.parallel = cfg->parallel;
	rc.threads = cfg->threads;
	rc.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	rc.seed &= (1ULL << 53) - 1;
	rc.data_dir = ds ? ds->dir : NULL;
	memset(&offline_runner, 0, sizeof(offline_runner));
	if (!program)
		sw_trial_runner_builtin(&offline_runner, ds, rc.threads);
	rc.runner = &offline_runner;
	rc.tty = 0;
	extra = json_pack("{s:{s:s?,s:s?,s:s?,s:b},s:I,s:i,s:i,s:I,s:s?,s:s}",
			  "wandb", "entity", cfg->entity, "project", cfg->project,
			  "sweep", cfg->sweep, "offline", 1,
			  "seed", (json_int_t)rc.seed, "parallel", rc.parallel,
			  "threads", rc.threads, "count", (json_int_t)rc.count,
			  "data_dir", ds ? ds->dir : NULL, "state", "running");
	if (!extra || sw_store_create(&store, cfg->results_root, &spec, extra, time(NULL),
				      err) < 0)
		goto done;
	if (program) {
		/* no server: a wandb script runs offline, as under sweep run,
		 * and its metrics go to the store */
		struct sw_trial_process_config pc = SW_TRIAL_PROCESS_CONFIG_INIT;

		if (asprintf(&runs_dir, "%s/runs", store.dir) < 0) {
			runs_dir = NULL;
			sw_errorf(err, "out of memory");
			goto done;
		}
		if (asprintf(&hook_dir, "%s/python-hook", store.dir) < 0) {
			hook_dir = NULL;
			sw_errorf(err, "out of memory");
			goto done;
		}
		pc.wandb_offline = 1;
		pc.hook_dir = hook_dir;
		pc.program = spec.program;
		pc.command = (const char *const *)spec.command;
		pc.n_command = spec.command ? spec.n_command : 0;
		pc.sweep_id = cfg->sweep;
		pc.runs_dir = runs_dir;
		if (sw_trial_runner_process(&offline_runner, &pc, err) < 0)
			goto done;
	}
	fprintf(stderr, "sweep: offline: searching sweep %s locally, results in %s\n",
		cfg->sweep ? cfg->sweep : path, store.dir);
	r = sw_controller_run(&spec, &store, &rc, err);
	if (r == 0 || r == SW_ERR_INTR)
		fprintf(stderr, "sweep: upload the runs to wandb later with: sweep sync %s\n",
			store.dir);
	ret = r;
done:
	sw_store_release(&store);
	if (program)
		sw_trial_runner_release(&offline_runner);
	free(runs_dir);
	free(hook_dir);
	cnn_dataset_unref(ds);
	json_decref(extra);
	free(cached);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	return ret;
}
