/*
 * trial.h - training one configuration of a sweep, whatever does the
 * training: the controller (`sweep run`) and the wandb agent hand a runner
 * the run's parameters and get per-epoch metrics back through hooks; they
 * never see whether the built-in CNN trains in this process
 * (trial_builtin.c) or the sweep's own program runs as a child
 * (trial_process.c, `program:`/`command:` sweeps). Both are implementations
 * of struct sw_trial_runner.
 *
 * A run ends in one of three ways: finished (all its epochs), failed (bad
 * parameters, NaN loss, a crash of the program: `reason` says why) or
 * stopped (a hook returned non-zero, or *stop became non-zero: hyperband,
 * an alert rule, Ctrl-C, wandb's stop command). The caller decides how a
 * stop is recorded (stopped or killed).
 *
 * Threads: one runner may run several trials at once from different
 * threads (the built-in one shares its read-only dataset); hooks are called
 * from the thread that called run.
 *
 * defines: struct sw_trial, struct sw_trial_hooks, enum sw_trial_status,
 *          struct sw_trial_result, struct sw_trial_runner,
 *          sw_trial_runner_builtin, sw_trial_save_model, sw_trial_run,
 *          sw_trial_run_named, sw_trial_seed, struct sw_trial_process_config,
 *          SW_TRIAL_PROCESS_CONFIG_INIT, sw_trial_runner_process,
 *          sw_trial_runner_release, sw_trial_python
 */
#ifndef SW_TRIAL_H
#define SW_TRIAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/store/store.h"

struct cnn_dataset;
struct sw_trial;                /* a trial in progress (runner-private) */

struct sw_trial_hooks {
	/* After every epoch (1-based) with its metrics (borrowed). Return
	 * non-zero to stop the trial after this epoch. May be NULL. */
	int (*on_epoch)(void *ctx, struct sw_trial *t, int64_t epoch,
			const struct sw_kv *m, size_t n);
	/* Progress inside an epoch (cheap; may be NULL). */
	void (*on_batch)(void *ctx, int64_t epoch, int64_t batch, int64_t n_batches);
	void *ctx;
	const atomic_int *stop;     /* polled between batches; may be NULL */
};

enum sw_trial_status { SW_TRIAL_FINISHED, SW_TRIAL_FAILED, SW_TRIAL_STOPPED };

struct sw_trial_result {
	enum sw_trial_status status;
	int64_t epochs;             /* epochs reported through on_epoch */
	int exit_code;              /* 0 finished or stopped, non-zero failed
				       (a child's own exit code when it has one) */
	char reason[512];           /* why it failed; "" otherwise */
};

struct sw_trial_runner {
	const char *kind;           /* "builtin" */
	/* Epochs the parameters plan (for progress bars); 0 when unknown. */
	int64_t (*planned_epochs)(const struct sw_trial_runner *r,
				  const json_t *params);
	/* Trains params (borrowed) with seed; fills *res. Returns 0, or -1
	 * only when the trial could not be attempted at all (out of memory):
	 * every training problem is a failed result, not an error. */
	int (*run)(const struct sw_trial_runner *r, const json_t *params,
		   uint64_t seed, const struct sw_trial_hooks *h,
		   struct sw_trial_result *res);
	/* Writes the trial's model (inside on_epoch) to path; NULL when the
	 * runner has no model to save. */
	int (*save_model)(struct sw_trial *t, const char *path, struct sw_err *err);
	void *impl;                 /* runner-private */
	int threads;                /* OpenMP threads per trial */
	/* Like run, for runners that use the run's id (an external program's
	 * WANDB_RUN_ID and output prefix); NULL when run is all there is. */
	int (*run_named)(const struct sw_trial_runner *r, const char *run_id,
			 const json_t *params, uint64_t seed,
			 const struct sw_trial_hooks *h, struct sw_trial_result *res);
	/* Frees what the runner owns (NULL: nothing). */
	void (*release)(struct sw_trial_runner *r);
};

/* The built-in CIFAR-10 CNN: params are its hyperparameters
 * (trainer/hparams.h; the seed parameter, when absent, is `seed`); it
 * borrows ds for its lifetime and trains each trial with `threads` threads.
 * Metrics per epoch: loss, accuracy, val_loss, val_accuracy,
 * learning_rate, images_per_sec, epoch_seconds. */
void sw_trial_runner_builtin(struct sw_trial_runner *r, struct cnn_dataset *ds,
			     int threads);

/* r->run(...), after filling *res with a clean default. */
int sw_trial_run(const struct sw_trial_runner *r, const json_t *params,
		 uint64_t seed, const struct sw_trial_hooks *h,
		 struct sw_trial_result *res);

/* Like sw_trial_run, telling the runner the run's id (r->run_named when the
 * runner has one, else r->run). */
int sw_trial_run_named(const struct sw_trial_runner *r, const char *run_id,
		       const json_t *params, uint64_t seed,
		       const struct sw_trial_hooks *h, struct sw_trial_result *res);

/* The seed a run with params trains with, to record: a swept `seed` the
 * trainer takes (a whole number in 0..2^53-1, 12.0 as well as 12), else
 * seed. */
uint64_t sw_trial_seed(const json_t *params, uint64_t seed);

/*
 * An external program as the trial (sweeps with `program` or `command`):
 * each run is a child process in its own process group, started as wandb's
 * agent starts it (command_macros.h), with stdin from /dev/null and this
 * environment added to ours:
 *   WANDB_SWEEP_ID, WANDB_RUN_ID, WANDB_SWEEP_PARAM_PATH (a YAML file
 *   `wandb_version: 1` then `k: {value: v}` per argument, at
 *   $WANDB_DIR/wandb/sweep-ID/config-RUN.yaml), WANDB_DIR (the working
 *   directory when unset), SWEEP_METRICS_FILE, SWEEP_RUN_ID, and cfg->env.
 * Metrics: every line appended to $SWEEP_METRICS_FILE, and every stdout
 * line `sweep: {...}`, is one JSON object of numbers for one epoch
 * ({"epoch": 3, "val_loss": 0.81}; without "epoch" it is the previous one
 * plus 1; keys starting with '_' and non-numbers are skipped); each goes to
 * hooks->on_epoch as it arrives (a partial line waits for its newline).
 * Other output lines go to cfg->out as "[RUN] line" (lines longer than
 * 16 KiB are cut), read as fast as the child writes.
 * Stop (on_epoch returned non-zero, or *hooks->stop): SIGTERM to the
 * group, SIGKILL after grace_s if anything is left -> stopped (a child that
 * ended by itself before it was signalled keeps its own outcome). Exit 0 ->
 * finished; other codes and signals -> failed, exit_code the code (128+N
 * for signal N), reason naming it and the last lines of stderr. A command
 * whose program or interpreter is not found, or a missing program file,
 * fails the run at once with a reason naming it. If this process dies,
 * the child gets SIGTERM (PR_SET_PDEATHSIG).
 */
struct sw_trial_process_config {
	const char *program;          /* the sweep's `program`; NULL: none */
	const char *const *command;   /* the sweep's `command`; NULL: default */
	size_t n_command;
	const char *sweep_id;         /* WANDB_SWEEP_ID; NULL: "local" */
	const char *workdir;          /* the child's cwd; NULL: ours */
	const char *runs_dir;         /* NULL, or where <RUN>/metrics.jsonl and
					 <RUN>/output.log go (the store's runs/);
					 default: workdir/wandb/sweep-ID/ */
	const char *const *env;       /* extra "K=V", NULL-terminated; or NULL */
	const char *interpreter;      /* ${interpreter}; NULL: sw_trial_python() */
	double grace_s;               /* SIGTERM -> SIGKILL; <= 0: 30 s, or
					 $WANDB_AGENT_KILL_DELAY */
	FILE *out;                    /* passed-through output; NULL: stderr */
	int quiet;                    /* do not pass output through */
};
#define SW_TRIAL_PROCESS_CONFIG_INIT { NULL, NULL, 0, NULL, NULL, NULL, NULL, \
				       NULL, 0, NULL, 0 }

/* Sets r up to run cfg's program (strings copied; release with
 * sw_trial_runner_release). Returns 0, or -1 with err set (out of memory,
 * or neither program nor command). */
int sw_trial_runner_process(struct sw_trial_runner *r,
			    const struct sw_trial_process_config *cfg,
			    struct sw_err *err);

/* Frees what r owns (any runner; accepts a zeroed one). */
void sw_trial_runner_release(struct sw_trial_runner *r);

/* ${interpreter}: "python" as wandb's agent, or "python3" when only that
 * is on PATH (Debian has no `python`). */
const char *sw_trial_python(void);

/* r->save_model when the runner has one; else an error. */
int sw_trial_save_model(const struct sw_trial_runner *r, struct sw_trial *t,
			const char *path, struct sw_err *err);

#endif
