/*
 * slurm.h - talking to Slurm through its client commands (sbatch, scontrol,
 * squeue, scancel), as a user would: no libslurm, so sweep builds and runs
 * where Slurm is absent and follows whatever Slurm the PATH and $SLURM_CONF
 * point at.
 *
 * The pure parts (splitting --sbatch ARGS, reading `scontrol show job -o`,
 * naming a job's outcome) are separate from the ones that run commands so
 * tests can check them without a cluster.
 *
 * defines: sw_slurm_exec, sw_slurm_split_args, struct sw_slurm_job,
 *          sw_slurm_job_parse, sw_slurm_job_query, sw_slurm_find_by_name,
 *          sw_slurm_state_terminal, sw_slurm_state_failure,
 *          enum sw_slurm_fate, sw_slurm_job_fate, sw_slurm_taken_why,
 *          sw_slurm_shell_quote
 */
#ifndef SW_SLURM_H
#define SW_SLURM_H

#include <stddef.h>

#include "base/err.h"

/* Runs argv[0] (looked up on PATH) with argv, stdin from /dev/null,
 * stdout and stderr together into *out (a new string the caller frees,
 * trailing newlines cut). *status is the exit code (128+N for signal N).
 * Returns 0, or -1 with err set when it could not run (not on PATH:
 * *status 127). */
int sw_slurm_exec(const char *const argv[], char **out, int *status,
		  struct sw_err *err);

/* Splits --sbatch's value into words as sh would for plain words and '...'
 * / "..." quotes (no expansions). Returns a new NULL-terminated array (free
 * each word and the array) with its length in *n, or NULL with err set (an
 * unclosed quote). */
char **sw_slurm_split_args(const char *s, size_t *n, struct sw_err *err);

/* The fields of `scontrol show job -o ID` sweep uses (empty when absent). */
struct sw_slurm_job {
	char id[32];
	char name[256];
	char state[32];          /* PENDING, RUNNING, COMPLETED, TIMEOUT, ... */
	char reason[128];        /* Slurm's Reason=, "None" when none */
	int exit_code;           /* ExitCode=C:S -> C, or 128+S for signal S */
	int restarts;            /* Restarts=: times Slurm requeued it */
};

/* Parses one `scontrol show job -o` line. Returns 0, or -1 when it holds no
 * JobId. */
int sw_slurm_job_parse(const char *line, struct sw_slurm_job *job);

/* Asks scontrol about job id. Returns 1 with *job filled, 0 when Slurm does
 * not know the job (never was, or forgotten MinJobAge seconds after its
 * end), -1 with err set when scontrol cannot answer (no controller). */
int sw_slurm_job_query(const char *id, struct sw_slurm_job *job,
		       struct sw_err *err);

/* The id of this user's queued or running job named name, into id (size
 * bytes). Returns 1 when found, 0 when none, -1 with err set. */
int sw_slurm_find_by_name(const char *name, char *id, size_t size,
			  struct sw_err *err);

/* Whether a job in state has ended (COMPLETED, FAILED, TIMEOUT, ...). */
int sw_slurm_state_terminal(const char *state);

/* For a job Slurm itself ended badly (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL,
 * CANCELLED, PREEMPTED, BOOT_FAIL, DEADLINE): what happened, in words
 * ("reached its time limit"); NULL for other states. */
const char *sw_slurm_state_failure(const char *state);

/* What a job's state means for its trial. TAKEN: Slurm took the job away
 * from a trial that did nothing wrong, so another job can continue it: it
 * was preempted (PREEMPTED), its node died (NODE_FAIL), or Slurm requeued
 * it (REQUEUED, REQUEUE_HOLD, REQUEUE_FED, or Restarts above 0 while it
 * waits or runs again: its batch script starts over from its first line,
 * a trial not told to resume). ENDED:
 * any other end (completed, failed, TIMEOUT, OUT_OF_MEMORY, cancelled...),
 * the trial's own outcome. GOING: queued, running or still ending. */
enum sw_slurm_fate { SW_SLURM_GOING, SW_SLURM_ENDED, SW_SLURM_TAKEN };
enum sw_slurm_fate sw_slurm_job_fate(const struct sw_slurm_job *job);

/* For a TAKEN job: what happened, in words ("was preempted"). */
const char *sw_slurm_taken_why(const struct sw_slurm_job *job);

/* s in single quotes for sh ('it'\''s'), as a new string; NULL on OOM. */
char *sw_slurm_shell_quote(const char *s);

#endif
