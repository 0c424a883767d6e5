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
 * defines: struct sw_trial, struct sw_trial_hooks, SW_TRIAL_HOOKS_INIT,
 *          enum sw_trial_status,
 *          struct sw_trial_result, struct sw_trial_runner,
 *          sw_trial_runner_builtin, sw_trial_save_model, sw_trial_run,
 *          sw_trial_run_named, sw_trial_seed, struct sw_trial_process_config,
 *          SW_TRIAL_PROCESS_CONFIG_INIT, sw_trial_runner_process,
 *          sw_trial_runner_release, sw_trial_python,
 *          sw_trial_result_release, sw_trial_encode_state
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
	/* A wandb.alert(title, text, level) of a program's wandb script
	 * (level "INFO", "WARN" or "ERROR" as the script gave it; strings
	 * borrowed), after the epochs reported before it. May be NULL. */
	void (*on_alert)(void *ctx, int64_t epoch, const char *title,
			 const char *text, const char *level);
	/* Resuming a run that was in flight before (after a crash or an
	 * interrupt): an external program is told so (WANDB_RESUME=allow);
	 * the built-in runner first tries to continue from `checkpoint`. */
	int resuming;
	const char *checkpoint;     /* NULL: none */
	/* With resuming and checkpoint, once before training: the checkpoint
	 * loaded and `epochs` are done (note: what it keeps besides the
	 * trainer, borrowed; why_not NULL), or it could not be used (epochs
	 * 0, note NULL, why_not names the file and says why) and the run
	 * trains from the start. Returning non-zero refuses a loaded
	 * checkpoint: the run then trains from the start too. */
	int (*on_resume)(void *ctx, struct sw_trial *t, int64_t epochs,
			 const json_t *note, const char *why_not);
	/* The runner started the trial again, told to resume (a Slurm job
	 * that Slurm preempted or requeued, submitted again): line says so
	 * for the output. The epochs reported so far are to be taken back
	 * until the new start says where it goes on (on_resume, or its
	 * first on_epoch), as for a run resumed after a crash. May be NULL. */
	void (*on_restart)(void *ctx, const char *line);
};
#define SW_TRIAL_HOOKS_INIT { NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL }

enum sw_trial_status { SW_TRIAL_FINISHED, SW_TRIAL_FAILED, SW_TRIAL_STOPPED };

struct sw_trial_result {
	enum sw_trial_status status;
	int64_t epochs;             /* epochs reported through on_epoch */
	int exit_code;              /* 0 finished or stopped, non-zero failed
				       (a child's own exit code when it has one) */
	char reason[512];           /* why it failed; "" otherwise */
	/* A program run that used wandb offline (the run file was read; see
	 * struct sw_trial_process_config): its record, which wins over the
	 * epochs reported while it ran. Owned; sw_trial_result_release(). */
	json_t *wandb_history;      /* rows: "_step", "_runtime", "_timestamp"
				       and the numeric metrics (flattened
				       "a.b"; NaN etc. as strings); NULL: none */
	json_t *wandb_summary;      /* wandb's final summary, the same way */
	char warning[512];          /* "" or a warning about the run file */
	json_t *notes;              /* NULL, or fields for the run's record
				       ({"slurm_job_id": "42"}); owned,
				       sw_trial_result_release() */
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
	/* Encodes the trial's whole training state (inside on_epoch) with
	 * note (borrowed, may be NULL) into a new buffer: a checkpoint that
	 * hooks->checkpoint can resume from. NULL: the runner has none. */
	int (*encode_state)(struct sw_trial *t, const json_t *note, void **out,
			    size_t *len, struct sw_err *err);
};

/* The built-in CIFAR-10 CNN: params are its hyperparameters
 * (trainer/hparams.h; the seed parameter, when absent, is `seed`); it
 * borrows ds for its lifetime and trains each trial with `threads` threads.
 * Metrics per epoch: loss, accuracy, val_loss, val_accuracy,
 * learning_rate, images_per_sec, epoch_seconds. Its state encodes as a
 * trainer checkpoint (trainer/checkpoint.h); resuming from one continues
 * the run bit-identically with the same thread count. */
void sw_trial_runner_builtin(struct sw_trial_runner *r, struct cnn_dataset *ds,
			     int threads);

/* Frees what a result owns (the wandb record, the notes); accepts a zeroed
 * one. */
void sw_trial_result_release(struct sw_trial_result *res);

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
 *   WANDB_SWEEP_ID, WANDB_RUN_ID, WANDB_RESUME=allow when hooks->resuming
 *   (wandb's convention: a script that keeps its own checkpoints sees
 *   wandb.run.resumed), WANDB_SWEEP_PARAM_PATH (a YAML file
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
 *
 * wandb offline (wandb_offline set: `sweep run`): the run also gets
 * WANDB_MODE=offline and WANDB_ERROR_REPORTING=false (nothing contacts a
 * server, whatever WANDB_BASE_URL, WANDB_API_KEY or netrc say), WANDB_DIR
 * defaults to runs_dir/RUN (so wandb writes runs_dir/RUN/wandb/
 * offline-run-DATE-RUN/ for a later `wandb sync`), and PYTHONPATH starts
 * with hook_dir, where the wandb start-up module (wandb_hook.h) is written
 * when the runner is set up. Its lines in $SWEEP_METRICS_FILE,
 *   {"_wandb": "log", "_step": N, "row": {...}}   one epoch, N + 1 (or the
 *                                                 previous plus 1 when not
 *                                                 higher), the row's numbers
 *   {"_wandb": "alert", "title", "text", "level"} -> hooks->on_alert
 * may also come from any program. When the run ends, its run file
 * WANDB_DIR/wandb/offline-run-*-RUN/run-RUN.wandb (the newest changed
 * since the run started) is read: res->wandb_history from its rows when
 * they are at least as many as the epochs reported live (a stopped or
 * killed run's file may hold fewer), res->wandb_summary from its summary
 * when it has one, res->warning when it is damaged (not for a stopped
 * run), and, unless the run was stopped, its exit code decides finished
 * (0: what the process did after wandb.finish() is not the run) or failed.
 * No file (no wandb, or it crashed before wandb.init()): the run ends as
 * any program run.
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
	int wandb_offline;            /* run wandb scripts offline (above) */
	const char *hook_dir;         /* where the start-up module goes; needed
					 with wandb_offline */
};
#define SW_TRIAL_PROCESS_CONFIG_INIT { NULL, NULL, 0, NULL, NULL, NULL, NULL, \
				       NULL, 0, NULL, 0, 0, NULL }

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

/* r->encode_state when the runner has one; else an error. */
int sw_trial_encode_state(const struct sw_trial_runner *r, struct sw_trial *t,
			  const json_t *note, void **out, size_t *len,
			  struct sw_err *err);

/* r->save_model when the runner has one; else an error. */
int sw_trial_save_model(const struct sw_trial_runner *r, struct sw_trial *t,
			const char *path, struct sw_err *err);

#endif
