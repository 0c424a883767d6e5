/*
 * observed.h - runs a search has seen: the "tell" half of ask/tell.
 *
 * Each observed run has its parameters (nested JSON objects, as suggestions
 * are printed), a state, a summary ({"<metric>": value, ...}) and optionally
 * a history (a JSON array of logged rows, each an object). This is the shape
 * of the results store's runs.jsonl lines:
 *   {"params": {...}, "state": "finished", "summary": {"loss": 0.3},
 *    "history": [{"loss": 0.9}, {"loss": 0.5}, ...]}
 * Other keys on a line are ignored, so runs.jsonl can be passed as is; a
 * line without "state" is a finished run.
 *
 * States (wandb's RunState plus our "stopped", a run ended early by
 * hyperband, which counts as finished): pending, running, finished, failed,
 * crashed, killed, stopped, preempted, preempting.
 *
 * Ownership: struct sw_runs owns its runs and their JSON references;
 * sw_runs_release() frees them.
 *
 * defines: enum sw_obs_state, struct sw_run_obs, struct sw_runs,
 *          SW_RUNS_INIT, sw_obs_state_name, sw_obs_state_parse,
 *          sw_obs_state_terminal, sw_runs_add, sw_runs_add_json,
 *          sw_runs_load, sw_runs_release, sw_run_metric_values,
 *          sw_run_metric_extremum, sw_run_metric_latest
 */
#ifndef SW_OBSERVED_H
#define SW_OBSERVED_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

enum sw_obs_state {
	SW_OBS_PENDING,
	SW_OBS_RUNNING,
	SW_OBS_FINISHED,
	SW_OBS_FAILED,
	SW_OBS_CRASHED,
	SW_OBS_KILLED,
	SW_OBS_STOPPED,
	SW_OBS_PREEMPTED,
	SW_OBS_PREEMPTING,
	SW_OBS_STATE_COUNT
};

struct sw_run_obs {
	json_t *params;             /* object (owned reference) */
	enum sw_obs_state state;
	json_t *summary;            /* object or NULL (owned reference) */
	json_t *history;            /* array of objects or NULL (owned) */
	int line;                   /* line in the file it came from, or 0 */
};

struct sw_runs {
	struct sw_run_obs *items;
	size_t n, alloc;
};
#define SW_RUNS_INIT { NULL, 0, 0 }

const char *sw_obs_state_name(enum sw_obs_state s);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int sw_obs_state_parse(const char *name, enum sw_obs_state *out);
/* finished, failed, crashed, killed, stopped. */
int sw_obs_state_terminal(enum sw_obs_state s);

/* Appends a run; takes new references to params, summary and history
 * (both may be NULL). Returns 0 or -1 on allocation failure. */
int sw_runs_add(struct sw_runs *runs, json_t *params, enum sw_obs_state state,
		json_t *summary, json_t *history);

/* Appends the run described by one JSON object (runs.jsonl shape). On a
 * malformed object returns -1 with a message naming the bad field. */
int sw_runs_add_json(struct sw_runs *runs, const json_t *obj,
		     struct sw_err *err);

/* Reads JSON lines from path ("-": standard input, named "<stdin>" in
 * errors), blank lines skipped. Errors name the file and line:
 * "runs.jsonl:3: unknown state 'done' (...)". */
int sw_runs_load(struct sw_runs *runs, const char *path, struct sw_err *err);

void sw_runs_release(struct sw_runs *runs);

/* The finite numeric values of metric `name` in the run's history, in
 * order (rows without it, and NaN/inf/bool/string values are skipped; the
 * summary is not included). Writes up to cap values to out (may be NULL)
 * and returns how many there are. */
size_t sw_run_metric_values(const struct sw_run_obs *r, const char *name,
			    double *out, size_t cap);

/* The best (min, or max when maximize) finite value of the metric over the
 * history and the summary. Returns 1 and sets *out, or 0 when there is none. */
int sw_run_metric_extremum(const struct sw_run_obs *r, const char *name,
			   int maximize, double *out);

/* The last finite value in the history, else the summary's. Returns 1 and
 * sets *out, or 0. */
int sw_run_metric_latest(const struct sw_run_obs *r, const char *name,
			 double *out);

#endif
