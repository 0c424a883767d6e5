/*
 * trial_slurm.h - a trial runner that runs every trial as one Slurm batch
 * job (`sweep run --launcher slurm`). Slurm queues, places, limits and kills;
 * the controller decides what runs next, reads metrics and stops runs, as
 * with the local runners behind the same interface (trial.h).
 *
 * The job runs `sweep trial SWEEP_DIR RUN_ID` on its node (sweep/commands/cmd_trial.c),
 * which trains the run there with the local runner of its kind (built-in
 * CNN, or the sweep's program exactly as `sweep run` starts it) and talks
 * back only through files in the run's directory on the shared filesystem:
 *
 *   runs/<id>/trial.json    {params, seed, threads}: what to train (controller)
 *   runs/<id>/job.sh        the batch script, kept for the user to read
 *   runs/<id>/slurm.jsonl   one line per job submitted {job_id, job_name,
 *                           time, and "after": STATE for a job that
 *                           replaced one Slurm took away}: how resume
 *                           re-attaches to the job
 *   runs/<id>/slurm.out     the job's stdout and stderr (sbatch --output)
 *   runs/<id>/node.json     {host, pid, time}: the trial started on a node
 *   runs/<id>/epochs.jsonl  one line per epoch {"_epoch": n, metrics...}
 *                           (metrics may include a logged "epoch"),
 *                           non-finite values as "NaN"/"Infinity", and
 *                           {"_alert": {epoch, title, text, level}} per
 *                           wandb.alert of a program; read by the
 *                           controller as it is written
 *   runs/<id>/model.safetensors  built-in CNN: the model of the run's best
 *                           epoch so far, replaced before that epoch's line is
 *                           written; the sweep's best.safetensors comes from it
 *   runs/<id>/progress      "EPOCH BATCH N_BATCHES", rewritten in place
 *                           (fixed width) for the live view's bar
 *   runs/<id>/checkpoint.bin built-in CNN: the trial's state after each
 *                           epoch but the last (trainer/checkpoint.h, note:
 *                           its history rows as the store's), written after
 *                           that epoch's line
 *   runs/<id>/resume.json   a job continuing an in-flight run ("resuming"
 *                           in trial.json): {epochs, rows} from the
 *                           checkpoint, or {epochs: 0, why_not}; written
 *                           before the first new epoch line, passed to
 *                           hooks->on_resume by the controller
 *   runs/<id>/cancelled     the id of a job the controller cancelled itself
 *   runs/<id>/result.json   {status, exit_code, reason, epochs, signalled,
 *                           and a program's wandb record: wandb_history,
 *                           wandb_summary, warning} written (atomically)
 *                           when the trial ends
 *
 * Jobs are named sweep-<SWEEP_DIR's name>-<run id> and ask for the user's
 * --sbatch words plus --cpus-per-task=threads (sweep's own options come last
 * and win: --job-name, --output, --chdir, --cpus-per-task). A stop (the hooks
 * asked for it) cancels the job with `scancel --signal=TERM --full` (the
 * trial ends after its batch or its program gets SIGTERM), then `scancel`
 * after grace_s; the run ends stopped. After a Ctrl-C (interrupt.h) a job
 * still pending is cancelled at once instead of waiting for an epoch. A job Slurm ended itself (TIMEOUT,
 * OUT_OF_MEMORY, cancelled by someone else...) is a failed run
 * whose reason names the state; result.exit_code and reason say what the
 * trial said otherwise. A job Slurm took away from its trial (PREEMPTED,
 * NODE_FAIL, requeued: sw_slurm_job_fate) is not an outcome: the job is
 * made sure gone and a new one, told to resume, continues the run from its
 * checkpoint (hooks->on_restart gets a line for the output first), at most
 * 3 times per run (counted in slurm.jsonl, across controller restarts);
 * then the run fails saying so. Each result carries notes {"slurm_job_id":
 * the last job, "slurm_resubmits": n when n > 0}.
 *
 * Ctrl-C leaves the runs in flight (the controller does not record them):
 * on resume, a run whose last job we cancelled ourselves (runs/<id>/cancelled)
 * gets a new job, told it is resuming (built-in: continue from
 * checkpoint.bin; program: WANDB_RESUME=allow), never "cancelled by someone
 * else".
 *
 * Resume: a run that already has a job (slurm.jsonl) is re-attached to it
 * when Slurm still has a job of that id AND name (ids are reused after a
 * slurmctld crash), or to the user's queued/running job of that name; a run
 * whose job ended meanwhile is read from its files (epochs replayed through
 * the hooks); only a run with neither is submitted again.
 *
 * defines: struct sw_slurm_config, SW_SLURM_CONFIG_INIT,
 *          sw_trial_runner_slurm, sw_slurm_preflight, sw_slurm_runner_start,
 *          sw_slurm_print_start, sw_slurm_job_name,
 *          sw_slurm_epoch_line, sw_slurm_epoch_parse, sw_slurm_write_result
 */
#ifndef SW_TRIAL_SLURM_H
#define SW_TRIAL_SLURM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "sweep/store/store.h"
#include "sweep/run/trial.h"

struct sw_slurm_config {
	const char *sweep_dir;       /* the store's directory (absolute) */
	const char *sbatch_args;     /* --sbatch ARGS, or NULL */
	const char *sweep_bin;       /* what the job runs; NULL: this binary,
					or $SWEEP_SLURM_BIN */
	const char *workdir;         /* the job's cwd (program sweeps); NULL:
					the run's directory */
	int threads;                 /* --cpus-per-task */
	double grace_s;              /* TERM -> scancel; <= 0: 30 s or
					$WANDB_AGENT_KILL_DELAY */
	double poll_s;               /* how often files and Slurm are read;
					<= 0: 0.1 s (Slurm at most every 1 s) */
	const struct sw_trial_runner *local; /* borrowed: planned_epochs */
};
#define SW_SLURM_CONFIG_INIT { NULL, NULL, NULL, NULL, 1, 0, 0, NULL }

/* Sets r up to run trials as Slurm jobs (strings copied; release with
 * sw_trial_runner_release). Returns 0, or -1 with err set: --sbatch ARGS
 * that do not split, out of memory. */
int sw_trial_runner_slurm(struct sw_trial_runner *r,
			  const struct sw_slurm_config *cfg, struct sw_err *err);

/* Before a sweep starts: sbatch is on PATH, Slurm answers, and sbatch
 * accepts the job's arguments (`sbatch --test-only`; its message in err
 * when not). Warnings (a results directory compute nodes are unlikely to
 * see) go to warn (may be NULL). Returns 0 or -1. */
int sw_slurm_preflight(const struct sw_trial_runner *r, FILE *warn,
		       struct sw_err *err);

/* sw_trial_runner_slurm, then (check) sw_slurm_preflight, printing an
 * error ("sweep: error: ...") and warnings on stderr. Returns 0 or -1. */
int sw_slurm_runner_start(struct sw_trial_runner *r, const struct sw_slurm_config *cfg,
			  int check);

/* The start line of a sweep on Slurm: jobs at once, CPUs per job, the
 * sbatch words, seed and results directory. */
void sw_slurm_print_start(FILE *out, const char *name, int resuming, int parallel,
			  uint64_t seed, const struct sw_trial_runner *r);

/* "sweep-<basename of sweep_dir>-<run_id>" into out. */
void sw_slurm_job_name(char *out, size_t size, const char *sweep_dir,
		       const char *run_id);

/* One epoch as an epochs.jsonl line (with its newline), a new string. */
char *sw_slurm_epoch_line(int64_t epoch, const struct sw_kv *m, size_t n);

/* Parses an epochs.jsonl line: *epoch and a new array of metrics (names
 * point into *obj, a new object the caller json_decrefs with the array
 * freed). Returns the count of metrics, or -1 when the line is not one. */
long sw_slurm_epoch_parse(const char *line, int64_t *epoch, struct sw_kv **m,
			  json_t **obj);

/* Writes runs/<id>/result.json atomically (temp file + rename). */
int sw_slurm_write_result(const char *run_dir, const struct sw_trial_result *res,
			  const char *signalled, struct sw_err *err);

#endif
