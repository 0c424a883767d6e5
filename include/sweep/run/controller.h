/*
 * controller.h - the local sweep controller behind `sweep run` and
 * `sweep resume`: proposes configurations with the search engine, trains P
 * of them at once in this process (each trainer with T OpenMP threads),
 * applies hyperband and the alert rules after every epoch, records every
 * run in the results store, and stops cleanly on Ctrl-C.
 *
 * Stopping: run_cap, --count (total runs of the sweep, resumed ones
 * included), grid exhausted, metric.target reached: no new runs start and
 * the running ones finish. First SIGINT/SIGTERM (base/interrupt.h):
 * no new runs; running ones end after their current epoch and stay in
 * flight (checkpoint saved). Second: running ones stop between batches,
 * in flight too (their last checkpoint stays). The result is then
 * SW_ERR_INTR (exit 130).
 *
 * Checkpoints: after every epoch but the last, a built-in run's whole
 * training state goes to runs/<id>/checkpoint.bin through the store's
 * ordered writer (store.h), and is deleted when the run is recorded.
 * A run stopped by the user's interrupt (either Ctrl-C) is not recorded:
 * it stays in flight, like a run of a killed sweep. Hyperband and alert
 * stops are recorded `stopped` and stay so.
 *
 * Resume: given a store opened with sw_store_open(), the runs recorded in
 * runs.jsonl are kept as observations (never run again), runs that were in
 * flight run again first with their id, index, seed and parameters -
 * built-in ones from their checkpoint when it loads (bit-identical with
 * the recorded thread count; else from the start, with a warning naming
 * the file), programs under the same run id with WANDB_RESUME=allow - and the
 * search continues from the recorded runs (grid skips points already run;
 * random and bayes draw suggestion i from (seed, i)).
 *
 * defines: struct sw_run_config, SW_RUN_CONFIG_INIT, sw_run_pick_parallel,
 *          sw_run_data_opts,
 *          sw_controller_run, sw_run_load_spec, sw_run_main
 */
#ifndef SW_CONTROLLER_H
#define SW_CONTROLLER_H

#include <stdint.h>

#include "base/err.h"
#include "sweep/spec/spec.h"
#include "sweep/store/store.h"
#include "sweep/run/trial.h"
#include "trainer/data.h"

struct sw_run_config {
	int64_t count;              /* total runs of the sweep; 0: no limit */
	int parallel;               /* trials at once (>= 1) */
	int threads;                /* OpenMP threads per trial (>= 1) */
	uint64_t seed;              /* sweep seed: search and trial seeds */
	const char *data_dir;       /* --data, or NULL */
	const char *webhook_url;    /* alert webhook, or NULL */
	int tty;                    /* progress view: -1 auto, 0 plain, 1 live */
	int write_report;           /* write report.html at the end */
	const struct sw_trial_runner *runner; /* trains each trial (borrowed) */
	const char *workdir;        /* program sweeps: the child's working
				       directory (NULL: chosen by sw_run_main) */
	int keep_checkpoints;       /* keep runs/<id>/checkpoint.bin after the
				       run ends (recorded in meta.json) */
	const char *launcher;       /* NULL or "local": trials run here;
				       "slurm": one Slurm job per trial
				       (trial_slurm.h), parallel = jobs at once,
				       threads = --cpus-per-task */
	const char *sbatch_args;    /* with "slurm": extra sbatch words */
};
#define SW_RUN_CONFIG_INIT { 0, 1, 1, 0, NULL, NULL, -1, 1, NULL, NULL, 0, NULL, NULL }

/* Chooses trials-at-once P and threads-per-trial T for `cores` cores from
 * the largest model the sweep can propose (--parallel auto): models up to
 * about 200 MFLOP per training image use one core each (P = cores, T = 1),
 * larger ones use all cores for one trial. A given parallel or threads (> 0)
 * is kept and the other derived. Returns 0, or 1 when the P x T given is
 * more than the cores (the trials then share them: a warning for the
 * caller, not an error, as scripts may wait on a GPU or a server); err
 * then says so. */
int sw_run_pick_parallel(const struct sw_spec *spec, int cores, int parallel,
			 int threads, int *p_out, int *t_out, struct sw_err *err);

/* What to load for this sweep: only as many training and test images as
 * the largest train_limit / val_limit it can propose (all when a trial may
 * use all of them). */
void sw_run_data_opts(const struct sw_spec *spec, struct cnn_data_opts *opts);

/* Runs the sweep to its end into store (created or opened by the caller;
 * borrowed, like spec). Prints progress on stderr and the final table on
 * stdout. Returns 0 when the sweep ended normally, SW_ERR_INTR after an
 * interrupt, SW_ERR with err set when it could not go on (data, store,
 * search failure). Every run that ended is in the store in every case. */
int sw_controller_run(const struct sw_spec *spec, struct sw_store *store,
		      const struct sw_run_config *cfg, struct sw_err *err);

/* Loads and validates the sweep file for `sweep run` / `sweep resume`,
 * printing every diagnostic as `sweep validate` does. Returns 0 when it can
 * run, else -1. */
int sw_run_load_spec(struct sw_spec *spec, const char *path);

/* The whole of `sweep run` / `sweep resume` once the spec is valid: loads
 * the data (downloading it when absent), then, for a new sweep (dir NULL)
 * creates the results directory under results_root, or opens dir to
 * resume it, and runs the controller. Prints errors itself; returns the
 * exit code (0, 1, 130).
 *
 * A sweep with `program` or `command` loads no data: each trial runs that
 * program as a child (trial.h, sw_trial_runner_process) in cfg->workdir,
 * or for a new sweep, in the current directory when the program is there,
 * else in the sweep file's directory when it is there (else an error); the
 * directory is recorded in meta.json ("workdir") for resume. Its metrics
 * file and output go to runs/<id>/metrics.jsonl and output.log, and
 * WANDB_SWEEP_ID is the results directory's name. Stops (hyperband, alerts,
 * the second Ctrl-C) send SIGTERM, then SIGKILL after
 * $WANDB_AGENT_KILL_DELAY (30) s; the first Ctrl-C stops each child at its
 * next reported epoch (or lets it end).
 *
 * With cfg->launcher "slurm" either kind of trial runs as a Slurm job
 * (trial_slurm.h); sbatch is checked first (on PATH, accepting the
 * arguments) and the launcher and sbatch words are recorded in meta.json
 * ("launcher", "sbatch") for resume. */
int sw_run_main(const struct sw_spec *spec, const char *dir,
		const char *results_root, struct sw_run_config *cfg);

#endif
