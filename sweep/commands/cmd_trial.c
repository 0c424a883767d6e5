/* cmd_trial.c - `sweep trial SWEEP_DIR RUN_ID`: the compute-node half of
 * `sweep run --launcher slurm` (include/sweep/run/trial_slurm.h). Trains one
 * run of a sweep here, with the runner `sweep run` would use locally, and
 * reports through files in the run's directory: epochs.jsonl per epoch
 * (and, built-in, checkpoint.bin after it), result.json at the end; a job
 * resubmitted for a run in flight continues it (resume.json). SIGTERM
 * (scancel --signal=TERM --full, or Slurm's time limit) stops the trial
 * between batches, or passes SIGTERM on to the program. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/run/controller.h"
#include "base/durable.h"
#include "sweep/store/store.h"
#include "sweep/run/trial.h"
#include "sweep/run/trial_slurm.h"
#include "trainer/data.h"
#include "sweep/offline/wandb_runfile.h"

const char cmd_trial_usage[] =
"usage: sweep trial SWEEP_DIR RUN_ID\n"
"\n"
"Train run RUN_ID of the sweep in SWEEP_DIR on this machine, as written to\n"
"SWEEP_DIR/runs/RUN_ID/trial.json by 'sweep run --launcher slurm', and\n"
"report through files in that directory (epochs.jsonl, result.json). This\n"
"is what each Slurm job runs; users do not normally call it.\n"
"\n"
"Exit status: 0 finished or stopped, 1 failed, 2 usage error.\n";

static atomic_int stop_flag;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
	atomic_store(&stop_flag, 1);
}

struct trial_ctx {
	const struct sw_trial_runner *runner;
	const char *metric;         /* the sweep metric, or NULL */
	int maximize;
	int has_best;
	double best;                /* this run's best value of it so far */
	char *model_path;           /* runs/<id>/model.safetensors */
	char *epochs_path;
	int failed_write;
	int progress_fd;            /* runs/<id>/progress, or -1 */
	double progress_t;          /* when it was last written */
	const char *run_dir;
	char *checkpoint_path;      /* runs/<id>/checkpoint.bin: built-in runs */
	json_t *rows;               /* the run's history rows so far (the
				       checkpoint's note, as the store's) */
	double t0;                  /* when training started, minus runtime
				       already done before a resume */
	int64_t planned;            /* the run's epochs (0: unknown) */
	int keep;                   /* --keep-checkpoints: the last one too */
};

/* Keeps the model of this run's best epoch in runs/<id>/model.safetensors
 * (the controller takes it as the sweep's best.safetensors when it is). It
 * is written before the epoch's line, so the line never comes first. */
static void keep_model(struct trial_ctx *c, struct sw_trial *t,
		       const struct sw_kv *m, size_t n)
{
	struct sw_err err = SW_ERR_INIT;
	char *tmp = NULL;
	size_t i;

	if (!c->metric || !c->runner->save_model || !t)
		return;
	for (i = 0; i < n && strcmp(m[i].name, c->metric); i++)
		;
	if (i == n || !isfinite(m[i].value) ||
	    (c->has_best && (c->maximize ? m[i].value <= c->best : m[i].value >= c->best)))
		return;
	c->has_best = 1;
	c->best = m[i].value;
	if (asprintf(&tmp, "%s.tmp", c->model_path) < 0)
		return;
	if (sw_trial_save_model(c->runner, t, tmp, &err) < 0 ||
	    rename(tmp, c->model_path) < 0) {
		fprintf(stderr, "sweep: warning: model not kept: %s\n",
			err.msg[0] ? err.msg : strerror(errno));
		unlink(tmp);
	}
	free(tmp);
}

static double now_mono(void);

/* The epoch as a history row the way the store writes one (_step, _runtime,
 * _timestamp, epoch, metrics): the checkpoint's note is the run's rows, which
 * the controller restores on resume as it does for a local run. */
static void add_row(struct trial_ctx *c, int64_t epoch, const struct sw_kv *m,
		    size_t n)
{
	json_t *row = json_pack("{s:I, s:f, s:f, s:I}", "_step", (json_int_t)(epoch - 1),
				"_runtime", now_mono() - c->t0,
				"_timestamp", (double)time(NULL), "epoch", (json_int_t)epoch);
	size_t i;

	for (i = 0; row && i < n; i++)
		json_object_set_new(row, m[i].name, sw_wandb_number_json(m[i].value));
	if (row)
		json_array_append_new(c->rows, row);
}

/* The run's state after this epoch in runs/<id>/checkpoint.bin (written,
 * fsynced, renamed: base/durable.h), after the epoch's line, so a
 * checkpoint never holds an epoch the controller has not been told of. */
static void save_checkpoint(struct trial_ctx *c, struct sw_trial *t, int64_t epoch)
{
	struct sw_err err = SW_ERR_INIT;
	void *buf = NULL;
	size_t len = 0;

	if (!c->checkpoint_path || !t || (!c->keep && c->planned && epoch >= c->planned))
		return;         /* the last epoch: the run ends, nothing to resume */
	if (sw_trial_encode_state(c->runner, t, c->rows, &buf, &len, &err) < 0 ||
	    sw_durable_replace(NULL, c->checkpoint_path, buf, len, &err) < 0)
		fprintf(stderr, "sweep: warning: no checkpoint after epoch %lld: %s\n",
			(long long)epoch, err.msg);
	free(buf);
}

static int on_epoch(void *arg, struct sw_trial *t, int64_t epoch,
		    const struct sw_kv *m, size_t n)
{
	struct trial_ctx *c = arg;
	struct sw_err err = SW_ERR_INIT;
	char *line;

	keep_model(c, t, m, n);
	line = sw_slurm_epoch_line(epoch, m, n);
	/* one write per line, so the controller never reads half an epoch */
	if (!line || sw_durable_append(NULL, -1, c->epochs_path, line, strlen(line),
				       &err) < 0) {
		fprintf(stderr, "sweep: error: epoch %lld not recorded: %s\n",
			(long long)epoch, line ? err.msg : "out of memory");
		c->failed_write = 1;
	}
	free(line);
	add_row(c, epoch, m, n);
	if (!c->failed_write)
		save_checkpoint(c, t, epoch);
	return c->failed_write;
}

/* A wandb script's wandb.alert: a line {"_alert": {epoch, title, text,
 * level}} in epochs.jsonl, after the epochs before it, for the controller's
 * on_alert (alerts.jsonl, console, webhook). */
static void on_alert(void *arg, int64_t epoch, const char *title, const char *text,
		     const char *level)
{
	struct trial_ctx *c = arg;
	struct sw_err err = SW_ERR_INIT;
	json_t *o = json_pack("{s:{s:I, s:s, s:s, s:s}}", "_alert", "epoch",
			      (json_int_t)epoch, "title", title, "text", text,
			      "level", level);
	char *text_ = o ? json_dumps(o, JSON_COMPACT) : NULL, *line = NULL;

	if (!text_ || asprintf(&line, "%s\n", text_) < 0 ||
	    sw_durable_append(NULL, -1, c->epochs_path, line, strlen(line), &err) < 0)
		fprintf(stderr, "sweep: warning: alert '%s' not passed on: %s\n", title,
			err.msg[0] ? err.msg : "out of memory");
	json_decref(o);
	free(text_);
	free(line);
}

/* hooks.on_resume on the node: tells the controller through
 * runs/<id>/resume.json where the run continues ({"epochs": N, "rows":
 * [...]}, the checkpoint's history) or why it trains from the start
 * ({"epochs": 0, "why_not": "..."}), before the first new epoch line. */
static int on_resume(void *arg, struct sw_trial *t, int64_t epochs,
		     const json_t *note, const char *why_not)
{
	struct trial_ctx *c = arg;
	struct sw_err err = SW_ERR_INIT;
	json_t *o;
	char *text = NULL, *path = NULL, why[600];
	int ret = 0;

	(void)t;
	if (!why_not && (!json_is_array(note) || (int64_t)json_array_size(note) != epochs)) {
		snprintf(why, sizeof(why), "checkpoint '%.500s' holds no usable history",
			 c->checkpoint_path);
		why_not = why;
		ret = -1;
	}
	if (!why_not) {
		json_decref(c->rows);
		c->rows = json_deep_copy(note);
		c->t0 = now_mono() - json_number_value(json_object_get(
			json_array_get(note, json_array_size(note) - 1), "_runtime"));
		o = json_pack("{s:I, s:O}", "epochs", (json_int_t)epochs, "rows", note);
	} else {
		json_array_clear(c->rows);
		o = json_pack("{s:i, s:s}", "epochs", 0, "why_not", why_not);
	}
	if (!c->rows || !o || !(text = json_dumps(o, JSON_COMPACT)) ||
	    asprintf(&path, "%s/resume.json", c->run_dir) < 0 ||
	    sw_durable_replace(NULL, path, text, strlen(text), &err) < 0) {
		fprintf(stderr, "sweep: warning: resume not reported: %s\n",
			err.msg[0] ? err.msg : "out of memory");
		/* the controller would miss the epochs before: start over */
		ret = -1;
		json_array_clear(c->rows);
		c->t0 = now_mono();
	}
	json_decref(o);
	free(text);
	free(path);
	return ret;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Progress inside an epoch for the controller's live view, at most four
 * times a second: one fixed-width line rewritten in place, so a reader
 * never sees a line of another length. */
static void on_batch(void *arg, int64_t epoch, int64_t batch, int64_t n_batches)
{
	struct trial_ctx *c = arg;
	char line[64];
	double t = now_mono();
	int len;

	if (c->progress_fd < 0 || (t - c->progress_t < 0.25 && batch < n_batches))
		return;
	c->progress_t = t;
	len = snprintf(line, sizeof(line), "%12lld %12lld %12lld\n", (long long)epoch,
		       (long long)batch, (long long)n_batches);
	if (pwrite(c->progress_fd, line, (size_t)len, 0) != len)
		c->progress_fd = -1;    /* a view without a bar; not worth failing */
}

static int write_node_file(const char *run_dir)
{
	char host[256] = "", *path = NULL, *text = NULL;
	struct sw_err err = SW_ERR_INIT;
	int ret = -1;

	gethostname(host, sizeof(host) - 1);
	if (asprintf(&path, "%s/node.json", run_dir) < 0)
		return -1;
	if (asprintf(&text, "{\"host\":\"%s\",\"pid\":%d,\"time\":%.3f}\n", host,
		     (int)getpid(), (double)time(NULL)) >= 0)
		ret = sw_durable_replace(NULL, path, text, strlen(text), &err);
	else
		text = NULL;
	free(path);
	free(text);
	return ret;
}

/* The runner `sweep run` would use for this sweep, on this node. */
static int make_runner(const struct sw_spec *spec, const char *dir,
		       const json_t *meta, int threads,
		       struct sw_trial_runner *runner, struct cnn_dataset **ds,
		       char **runs_dir, char **hook_dir, struct sw_err *err)
{
	struct sw_trial_process_config pc = SW_TRIAL_PROCESS_CONFIG_INIT;
	struct cnn_data_opts dopts;
	const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

	if (spec->program || spec->command) {
		if (asprintf(runs_dir, "%s/runs", dir) < 0) {
			*runs_dir = NULL;
			return sw_errorf(err, "out of memory");
		}
		if (asprintf(hook_dir, "%s/python-hook", dir) < 0) {
			*hook_dir = NULL;
			return sw_errorf(err, "out of memory");
		}
		pc.program = spec->program;
		pc.command = (const char *const *)spec->command;
		pc.n_command = spec->command ? spec->n_command : 0;
		pc.sweep_id = name;
		pc.workdir = json_string_value(json_object_get(meta, "workdir"));
		pc.runs_dir = *runs_dir;
		pc.out = stdout;
		/* as `sweep run` runs it locally: wandb offline, the start-up
		 * module from the results directory, the run file as the record */
		pc.wandb_offline = 1;
		pc.hook_dir = *hook_dir;
		return sw_trial_runner_process(runner, &pc, err);
	}
	sw_run_data_opts(spec, &dopts);
	if (cnn_data_open(json_string_value(json_object_get(meta, "data_dir")), &dopts,
			  NULL, ds, err) < 0)
		return -1;
	sw_trial_runner_builtin(runner, *ds, threads);
	return 0;
}

int cmd_trial(int argc, char **argv)
{
	struct sw_trial_runner runner;
	struct sw_trial_hooks hooks = SW_TRIAL_HOOKS_INIT;
	struct sw_trial_result res = { 0 };
	struct sw_spec spec = { 0 };
	struct sw_err err = SW_ERR_INIT;
	struct trial_ctx ctx = { NULL, NULL, 0, 0, 0, NULL, NULL, 0, -1, 0, NULL, NULL,
				 NULL, 0, 0, 0 };
	struct cnn_dataset *ds = NULL;
	struct sigaction sa;
	json_t *meta = NULL, *trial = NULL;
	char *yaml = NULL, *run_dir = NULL, *trial_path = NULL, *runs_dir = NULL;
	char *progress = NULL, *hook_dir = NULL;
	const char *dir, *id;
	int ret = SW_EXIT_FAILURE;

	memset(&runner, 0, sizeof(runner));
	memset(&res, 0, sizeof(res));
	if (argc != 3)
		return sw_cli_usage_error("trial", "needs SWEEP_DIR and RUN_ID");
	dir = argv[1];
	id = argv[2];
	if (asprintf(&run_dir, "%s/runs/%s", dir, id) < 0 ||
	    asprintf(&trial_path, "%s/trial.json", run_dir) < 0 ||
	    asprintf(&ctx.epochs_path, "%s/epochs.jsonl", run_dir) < 0 ||
	    asprintf(&progress, "%s/progress", run_dir) < 0 ||
	    asprintf(&ctx.model_path, "%s/model.safetensors", run_dir) < 0 ||
	    asprintf(&yaml, "%s/sweep.yaml", dir) < 0) {
		sw_cli_error("out of memory");
		goto done;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (write_node_file(run_dir) < 0) {
		sw_cli_error("cannot write in '%s' on this node: %s (is the results "
			     "directory on a filesystem the nodes share?)", run_dir,
			     strerror(errno));
		goto done;
	}
	res.status = SW_TRIAL_FAILED;
	res.exit_code = 1;
	trial = json_load_file(trial_path, 0, NULL);
	if (!json_is_object(trial)) {
		snprintf(res.reason, sizeof(res.reason), "cannot read '%s' on this node",
			 trial_path);
		goto report;
	}
	if (sw_store_load_meta(dir, &meta, &err) < 0 || sw_run_load_spec(&spec, yaml) < 0) {
		snprintf(res.reason, sizeof(res.reason), "%s", err.msg[0] ? err.msg :
			 "the sweep file in the results directory is not valid");
		goto report;
	}
	if (make_runner(&spec, dir, meta,
			(int)json_integer_value(json_object_get(trial, "threads")),
			&runner, &ds, &runs_dir, &hook_dir, &err) < 0) {
		snprintf(res.reason, sizeof(res.reason), "%s", err.msg);
		goto report;
	}
	hooks.on_epoch = on_epoch;
	hooks.on_batch = on_batch;
	hooks.on_alert = on_alert;
	hooks.ctx = &ctx;
	hooks.stop = &stop_flag;
	ctx.runner = &runner;
	ctx.metric = spec.metric.present ? spec.metric.name : NULL;
	ctx.maximize = spec.metric.goal == SW_GOAL_MAXIMIZE;
	ctx.progress_fd = open(progress, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ctx.run_dir = run_dir;
	ctx.keep = json_is_true(json_object_get(meta, "keep_checkpoints"));
	ctx.rows = json_array();
	ctx.t0 = now_mono();
	ctx.planned = runner.planned_epochs ?
		      runner.planned_epochs(&runner, json_object_get(trial, "params")) : 0;
	/* built-in runs keep their state per epoch, as local ones (store.h) */
	if (runner.encode_state &&
	    asprintf(&ctx.checkpoint_path, "%s/checkpoint.bin", run_dir) < 0)
		ctx.checkpoint_path = NULL;
	/* resubmitted after being in flight: continue from the checkpoint, or
	 * (a program) WANDB_RESUME=allow */
	hooks.resuming = json_is_true(json_object_get(trial, "resuming"));
	hooks.checkpoint = ctx.checkpoint_path;
	hooks.on_resume = on_resume;
	if (!ctx.rows) {
		res.status = SW_TRIAL_FAILED;
		snprintf(res.reason, sizeof(res.reason), "out of memory");
		goto report;
	}
	if (sw_trial_run_named(&runner, id, json_object_get(trial, "params"),
			       (uint64_t)json_integer_value(json_object_get(trial, "seed")),
			       &hooks, &res) < 0) {
		res.status = SW_TRIAL_FAILED;
		snprintf(res.reason, sizeof(res.reason), "out of memory");
	}
	if (ctx.failed_write) {
		res.status = SW_TRIAL_FAILED;
		snprintf(res.reason, sizeof(res.reason), "could not append to '%s'",
			 ctx.epochs_path);
	}
report:
	if (sw_slurm_write_result(run_dir, &res,
				  got_signal == SIGTERM ? "TERM" : got_signal ? "INT" : NULL,
				  &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	if (res.status == SW_TRIAL_FAILED)
		fprintf(stderr, "sweep: run %s failed: %s\n", id, res.reason);
	ret = res.status == SW_TRIAL_FAILED ? SW_EXIT_FAILURE : SW_EXIT_OK;
done:
	if (ctx.progress_fd >= 0)
		close(ctx.progress_fd);
	free(progress);
	sw_trial_result_release(&res);
	sw_trial_runner_release(&runner);
	cnn_dataset_unref(ds);
	sw_spec_release(&spec);
	json_decref(meta);
	json_decref(trial);
	free(yaml);
	free(run_dir);
	free(trial_path);
	free(runs_dir);
	free(hook_dir);
	free(ctx.checkpoint_path);
	json_decref(ctx.rows);
	free(ctx.epochs_path);
	free(ctx.model_path);
	return ret;
}
