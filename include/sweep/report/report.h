/*
 * report.h - `sweep report`: one self-contained HTML page about a sweep's
 * results directory (the layout of include/sweep/store/store.h).
 *
 * The page holds, in order: the sweep's definition and outcome (best run,
 * best configuration, runs by state, total time, the sweep.yaml text); a
 * sortable table of all runs with their parameters and metrics; learning
 * curves (training and validation metric per epoch for every run, stopped
 * and failed runs marked); a parallel-coordinates plot of the parameters
 * and the metric; one scatter plot per parameter against the metric (log x
 * axis for log-distributed parameters); the best value so far against the
 * run index; a parameter-importance chart (Spearman / correlation ratio and
 * random-forest importance, see report_stats.h); the alerts raised.
 * Everything is inline: SVG drawn by report_svg.c, CSS, and a few lines of
 * plain JavaScript for table sorting. Nothing is fetched from the network.
 *
 * Two steps: sw_report_load() reads a directory into a struct sw_report;
 * sw_report_html() renders it. sw_report_write() does both and replaces the
 * output file atomically; `sweep run` calls it at the end of a sweep.
 *
 * defines: struct sw_report_run, struct sw_report_param, struct sw_report,
 *          SW_REPORT_INIT, sw_report_load, sw_report_release,
 *          sw_report_html, sw_report_write
 */
#ifndef SW_REPORT_H
#define SW_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* One ended run (a line of runs.jsonl) with its history. */
struct sw_report_run {
	const char *id;             /* borrowed from record */
	const char *state;          /* "finished" | "failed" | "stopped" | "killed" */
	const char *reason;         /* failures; NULL when absent */
	json_t *record;             /* the runs.jsonl object (owned reference) */
	json_t *params;             /* flattened {"a.b": value} (owned) */
	json_t *history;            /* array of epoch objects (owned) */
	double metric;              /* best value of the sweep metric; NaN: none */
	double runtime_s;           /* NaN when absent */
	long long epochs;           /* -1 when absent */
	size_t index;               /* position in runs.jsonl, from 0 */
	long long trial;            /* the record's "index" (trial number, in
				       the order runs started), -1 if absent */
};

/* One parameter column: a flattened name ("optimizer.lr" for nested). */
struct sw_report_param {
	char *name;                 /* owned */
	const char *dist;           /* wandb distribution name from sweep.yaml,
				       NULL when not found there */
	int log;                    /* log-distributed: log axes */
	int numeric;                /* every value recorded is a number */
	int integer;                /* ... and an integer */
	int varies;                 /* at least two distinct values recorded */
	size_t n_recorded;          /* runs that recorded a value */
	json_t *levels;             /* categorical: distinct values in display
				       order (sweep.yaml's order first) (owned) */
};

struct sw_report {
	char *dir;                  /* owned */
	char *spec_text;            /* sweep.yaml as given; NULL if missing */
	size_t spec_len;
	json_t *spec;               /* sweep.yaml as JSON; NULL if missing */
	json_t *meta;               /* meta.json; NULL if missing */
	json_t *best;               /* best.json; NULL if missing */
	json_t *alerts;             /* alerts.jsonl lines (array, maybe empty) */
	char *metric;               /* sweep metric name; NULL: none */
	int maximize;
	char *method;               /* NULL when unknown */
	char *name;                 /* sweep name; falls back to the dir name */
	struct sw_report_run *runs;
	size_t n_runs;
	struct sw_report_param *params;
	size_t n_params;
	int by_trial;               /* every run has a trial number: runs are
				       numbered by it, else by position */
	int torn;                   /* a torn last line was ignored somewhere */
	char notes[4][256];         /* problems worth showing on the page */
	size_t n_notes;
};
#define SW_REPORT_INIT { 0 }

/* Reads results directory dir. Errors (one line, naming the file and what
 * to do): dir missing or not a directory; no runs.jsonl and no sweep.yaml
 * ("not a sweep results directory"); runs.jsonl without a complete run
 * line ("no runs recorded"); corrupt JSON anywhere but a torn last line
 * (file:line); unparsable sweep.yaml, meta.json or best.json. A missing
 * sweep.yaml, meta.json, best.json, alerts.jsonl or history is tolerated
 * (noted on the page). On failure rep is left released. */
int sw_report_load(struct sw_report *rep, const char *dir, struct sw_err *err);

void sw_report_release(struct sw_report *rep);

/* Appends the HTML page for rep to out. Returns 0, or -1 when memory runs
 * out or out's cap is reached. */
int sw_report_html(const struct sw_report *rep, struct sw_buf *out,
		   struct sw_err *err);

/* Loads dir, renders it and writes the page to out_path (NULL:
 * "<dir>/report.html") atomically: a temporary file beside it, fsync,
 * rename. Returns 0 or -1 with err set. */
int sw_report_write(const char *dir, const char *out_path, struct sw_err *err);

#endif
