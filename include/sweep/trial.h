/*
 * trial.h - training one configuration of a sweep, whatever does the
 * training: the controller (`sweep run`) and the wandb agent hand a runner
 * the run's parameters and get per-epoch metrics back through hooks; they
 * never see whether the built-in CNN trains in this process or, later, an
 * external program runs as a child (issue: program/command sweeps). Both are
 * implementations of struct sw_trial_runner.
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
 *          sw_trial_runner_builtin, sw_trial_save_model, sw_trial_run
 */
#ifndef SW_TRIAL_H
#define SW_TRIAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sweep/err.h"
#include "sweep/store.h"

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

/* r->save_model when the runner has one; else an error. */
int sw_trial_save_model(const struct sw_trial_runner *r, struct sw_trial *t,
			const char *path, struct sw_err *err);

#endif
