/*
 * store.h - the results store of a local sweep: one directory per sweep that
 * survives Ctrl-C, crashes and SIGKILL without losing or duplicating a run.
 *
 * Layout of a sweep directory (results/<name>-<YYYYmmdd-HHMMSS>/):
 *
 *   sweep.yaml              the sweep definition exactly as given
 *   meta.json               format, versions, start time, method, metric,
 *                           plus what the controller adds (seed, parallel,
 *                           threads, search position...); replaced atomically
 *   runs.jsonl              one line per ENDED run (see sw_store_run_end)
 *   runs/<id>/history.jsonl one line per epoch: _step, _runtime, _timestamp
 *                           and the metrics (wandb's history keys)
 *   runs/<id>/running.json  in-flight marker: exists from sw_store_run_begin
 *                           until the run's line is in runs.jsonl
 *   runs/<id>/checkpoint.bin the in-flight run's training state after its
 *                           last finished epoch (trainer/checkpoint.h),
 *                           history rows included; replaced atomically every
 *                           epoch, deleted after the run's runs.jsonl line
 *                           (kept with keep_checkpoints)
 *   best.json               the best epoch seen so far (run, value, params);
 *                           replaced atomically (temp + fsync + rename)
 *   best.safetensors        that run's model, committed by the controller
 *                           with sw_store_commit_best_model()
 *   alerts.jsonl            one line per alert raised
 *
 * Durability: every append is one write(2) of a whole line followed by
 * fsync(2); new files and renames are followed by an fsync of their
 * directory. A crash can leave at most a torn (unterminated) last line,
 * which readers ignore and sw_store_open() cuts off before appending.
 * After sw_store_write_behind() these writes are done in order by a
 * thread of their own (see base/durable.h), so the callers do not wait
 * for the disk; a crash then loses a suffix of them, which leaves the
 * state of an earlier crash: a run whose runs.jsonl line did not land is
 * still in flight and runs again on resume. sw_store_flush() waits for
 * them; the functions that read the sweep's files back flush first.
 * A run id is appended to runs.jsonl at most once: the writer refuses an id
 * it has already recorded (also across resume), and readers keep only the
 * first line of an id.
 *
 * Processes: an open store holds an exclusive flock(2) on <dir>/.lock, so a
 * second `sweep resume` of a sweep that is still running is refused; the
 * kernel drops the lock when the process dies, even by SIGKILL.
 *
 * Threads: one struct sw_store may be shared by all trials of a sweep; every
 * sw_store_* function taking a store locks it. The readers (sw_store_load_*,
 * sw_jsonl_load) are independent of any open store.
 *
 * How the controller uses it:
 *   run:    sw_store_create -> sw_store_write_behind -> per trial:
 *           sw_store_run_begin, per epoch
 *           sw_store_epoch (+ sw_store_commit_best_model on a new best),
 *           sw_store_run_end -> sw_store_flush and sw_store_meta_update
 *           at the end.
 *           A run with a checkpoint: sw_store_checkpoint after each
 *           sw_store_epoch. A run stopped by the user's interrupt:
 *           sw_store_run_leave (still in flight for resume).
 *   resume: sw_store_open (repairs torn tails, loads recorded ids and the
 *           best) -> sw_store_load_runs / sw_store_inflight to rebuild the
 *           search -> rerun in-flight ids with sw_store_run_begin (their
 *           history is restarted), then, when the run's checkpoint loads,
 *           sw_store_run_restore with the history it holds -> as above.
 *           Because the checkpoint is written by the same ordered writer,
 *           after the epoch's history line, a checkpoint on disk never
 *           runs ahead of history.jsonl; history.jsonl may hold an epoch
 *           more, which the restore drops (that epoch trains again). The next trial index is 1 +
 *           the highest "index" among recorded and in-flight runs: a trial
 *           that crashed inside sw_store_run_begin before its marker was
 *           durable is not in flight, and gets its index (and, with
 *           sw_store_run_id, its id) again.
 *
 * defines: enum sw_run_state, sw_run_state_name, sw_run_state_parse,
 *          struct sw_kv, struct sw_store, SW_STORE_INIT, sw_store_dir_name,
 *          sw_store_create, sw_store_open, sw_store_release, sw_store_path,
 *          sw_store_write_behind, sw_store_flush,
 *          sw_store_meta_update, sw_store_run_begin, sw_store_epoch,
 *          sw_store_run_end, sw_store_run_record, sw_store_run_add,
 *          sw_store_run_leave, sw_store_checkpoint_path,
 *          sw_store_checkpoint, sw_store_run_rows, sw_store_run_restore,
 *          sw_store_run_restart,
 *          sw_store_run_note, sw_store_alert, sw_store_best,
 *          sw_store_commit_best_model, sw_store_inflight, sw_jsonl_load,
 *          sw_store_load_meta, sw_store_load_runs, sw_store_load_history,
 *          sw_store_load_alerts, sw_run_best_value, sw_runs_sort,
 *          sw_store_run_id, sw_method_name
 */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "sweep/spec/spec.h"

/* How a run ended (the `state` of its runs.jsonl line). */
enum sw_run_state {
	SW_RUN_FINISHED,   /* trained all its epochs (or reached the target) */
	SW_RUN_FAILED,     /* the trainer reported an error: `reason` says why */
	SW_RUN_STOPPED,    /* hyperband, an alert rule, wandb's stop */
	SW_RUN_KILLED      /* aborted (by the second Ctrl-C in sweeps written
			      before runs stayed in flight on Ctrl-C) */
};

/* "finished", "failed", "stopped", "killed". */
const char *sw_run_state_name(enum sw_run_state s);
/* Parses one of the names above; returns 0 or -1. */
int sw_run_state_parse(const char *name, enum sw_run_state *out);

/* "grid", "random", "bayes". */
const char *sw_method_name(enum sw_method m);

/* One metric of an epoch. NaN and infinities are allowed: they are written
 * as the JSON strings "NaN", "Infinity", "-Infinity". */
struct sw_kv {
	const char *name;
	double value;
};

struct sw_store_run;   /* private: one in-flight run */
struct sw_writer;      /* base/durable.h */

struct sw_store {
	char *dir;                  /* the sweep directory (owned) */
	char *metric;               /* sweep metric name, NULL if none (owned) */
	int maximize;               /* metric goal */
	pthread_mutex_t lock;
	int lock_ok;
	int runs_fd, alerts_fd;     /* O_APPEND descriptors, -1 when closed */
	int dir_lock_fd;            /* holds flock(LOCK_EX) on <dir>/.lock */
	json_t *recorded;           /* object: id -> true for ids in runs.jsonl */
	json_t *best;               /* current best.json content, or NULL */
	struct sw_store_run *active;/* linked list of begun, not ended runs */
	struct sw_writer *writer;   /* NULL: writes are done by the caller */
	int keep_checkpoints;       /* run_end leaves checkpoint.bin */
};
#define SW_STORE_INIT { NULL, NULL, 0, PTHREAD_MUTEX_INITIALIZER, 0, -1, -1, -1, \
			NULL, NULL, NULL, NULL, 0 }

/* The default directory name "<stem>-<YYYYmmdd-HHMMSS>" (local time of t):
 * stem is spec_name when set and non-empty, else the file name of spec_path
 * without directories and its .yaml/.yml/.json extension. Characters other
 * than [A-Za-z0-9._-] become '_'. Writes at most size bytes; returns out. */
char *sw_store_dir_name(char *out, size_t size, const char *spec_name,
			const char *spec_path, time_t t);

/* Creates a new sweep directory under root ("results" when NULL; created
 * with parents if missing) named sw_store_dir_name(spec->name, spec->path,
 * start); when that exists, "-2", "-3", ... is appended. Writes sweep.yaml
 * (spec->text), meta.json and empty runs.jsonl / alerts.jsonl, and opens
 * the store for appending. meta.json holds "format": 1, "sweep_version",
 * "versions" {sweep, jansson, compiler}, "start_time" (ISO 8601 UTC),
 * "start_timestamp", "name", "spec_file", "method", "metric" {name, goal}
 * (when the spec has one), then every member of `extra` (borrowed, may be
 * NULL: seed, parallel, threads, anything resume needs; an "versions" object
 * there is merged into ours, e.g. {"openblas": ...}). An unwritable root
 * gives an error naming it.
 * Borrows spec. On failure st is left released. */
int sw_store_create(struct sw_store *st, const char *root,
		    const struct sw_spec *spec, const json_t *extra, time_t start,
		    struct sw_err *err);

/* Opens an existing sweep directory for resuming: reads meta.json (metric
 * name and goal), cuts a torn last line off runs.jsonl, alerts.jsonl (a last
 * line that is complete JSON but lacks its newline gets the newline), loads
 * the recorded run ids and best.json, and deletes in-flight markers of runs
 * already recorded and the temporary files of replaces a crash cut short
 * (best.json.tmp, best.safetensors.*.tmp, ...). Corruption before the last
 * line is an error naming file:line. */
int sw_store_open(struct sw_store *st, const char *dir, struct sw_err *err);

/* Closes the files and frees everything, including runs begun but not
 * ended (their in-flight markers stay on disk for resume). Accepts NULL
 * and SW_STORE_INIT. */
void sw_store_release(struct sw_store *st);

/* From now on the store's writes are queued to a writer thread instead of
 * being done by the calling thread; each sw_store_* function then returns
 * only errors of earlier writes. sw_store_release() waits for the queue. */
int sw_store_write_behind(struct sw_store *st, struct sw_err *err);

/* Waits until every write so far is on disk; returns 0, or -1 with the
 * first write that failed (a sweep must stop then: see durable.h). */
int sw_store_flush(struct sw_store *st, struct sw_err *err);

/* "<dir>/<rel>" in a new string the caller frees (NULL on OOM). */
char *sw_store_path(const struct sw_store *st, const char *rel);

/* Sets the members of `fields` (borrowed) in meta.json, replacing it
 * atomically: e.g. {"state": "interrupted", "end_time": ...} or the search
 * position. */
int sw_store_meta_update(struct sw_store *st, const json_t *fields,
			 struct sw_err *err);

/* Starts run `id` ([A-Za-z0-9_-], 1..64 chars): creates runs/<id>/, writes
 * the in-flight marker running.json {id, params, seed, index, start_time},
 * starts a new, empty history.jsonl (a rerun after a crash starts over), and
 * starts the run's clock (for _runtime and runtime_s). params is borrowed
 * (copied). Refuses an id already recorded in runs.jsonl or already active. */
int sw_store_run_begin(struct sw_store *st, const char *id,
		       const json_t *params, uint64_t seed, int64_t index,
		       struct sw_err *err);

/* Appends one epoch of run `id` to its history.jsonl: {"_step": n (0 for
 * the first epoch), "_runtime": seconds since run_begin, "_timestamp": unix
 * time, "epoch": n + 1, metrics...} and remembers the metrics as the run's
 * last and, for the sweep metric, its best. When the sweep metric is among
 * the metrics, finite, and strictly better than the best of the whole
 * sweep so far (goal-aware), best.json is replaced and *new_best (may be
 * NULL) is set to 1, else 0. Metric names must be non-empty and must not
 * start with '_' (wandb's system keys). */
int sw_store_epoch(struct sw_store *st, const char *id, const struct sw_kv *m,
		   size_t n, int *new_best, struct sw_err *err);

/* Ends run `id`: appends to runs.jsonl {"id", "state", "params", "summary",
 * "epochs", "seed", "index", "runtime_s", "reason" (only when reason is
 * non-NULL)} and then removes the in-flight marker. summary = the last
 * epoch's metrics plus "_step", "_runtime", and, when the sweep has a metric
 * and the run logged a finite value of it, "best": {"name", "value",
 * "_step"}. If out (may be NULL) is given it receives a new reference to the
 * record written. Then deletes the run's checkpoint.bin unless
 * st->keep_checkpoints. Refuses an id not begun; the run is forgotten even
 * when the append fails. */
int sw_store_run_end(struct sw_store *st, const char *id,
		     enum sw_run_state state, const char *reason, json_t **out,
		     struct sw_err *err);

/* Makes run `id`'s record what its wandb run file says (before
 * sw_store_run_end; both borrowed, either may be NULL):
 *   history: rows that replace runs/<id>/history.jsonl (one compact line
 *            each, as given: "_step", "_runtime", "_timestamp", metrics)
 *            and set the run's epoch count;
 *   summary: the run's summary in runs.jsonl, as given, plus "best":
 *            {"name", "value", "_step"} when it holds a finite value of the
 *            sweep metric: wandb's controller ranks runs by the summary.
 * best.json is not changed. */
int sw_store_run_record(struct sw_store *st, const char *id, const json_t *history,
			const json_t *summary, struct sw_err *err);

/* Records, whole, a run that trained elsewhere (`sweep import` of a wandb
 * run file): writes runs/<id>/history.jsonl with the rows of `history` (an
 * array of objects, borrowed, written as given: the run's own _step,
 * _runtime and _timestamp) in one atomic replace, then appends `record`
 * (borrowed: an object with a string "id" and a valid "state", plus the
 * members sw_store_run_end writes) to runs.jsonl. When the sweep has a
 * metric and record.summary holds a finite number for it that beats the
 * sweep's best, best.json is replaced ({run, metric, goal, value, _step,
 * params}) as by sw_store_epoch. Refuses an invalid id, or one recorded or
 * active. */
int sw_store_run_add(struct sw_store *st, const json_t *record,
		     const json_t *history, struct sw_err *err);
/* Forgets active run `id` without recording it: its marker, history and
 * checkpoint stay, so resume continues it (a run the user interrupted).
 * Refuses an id not begun. */
int sw_store_run_leave(struct sw_store *st, const char *id, struct sw_err *err);

/* "<dir>/runs/<id>/checkpoint.bin" in a new string (NULL on OOM). */
char *sw_store_checkpoint_path(const struct sw_store *st, const char *id);

/* Replaces active run id's checkpoint.bin with len bytes of data (copied),
 * atomically and after every write submitted before. Returns 0 or -1. */
int sw_store_checkpoint(struct sw_store *st, const char *id, const void *data,
			size_t len, struct sw_err *err);

/* The history rows of active run `id` so far, exactly as written to
 * history.jsonl: a new array (what a checkpoint keeps), or NULL. */
json_t *sw_store_run_rows(struct sw_store *st, const char *id);

/* Continues active run `id`, just begun again, after the epochs of `rows`
 * (borrowed; rows as sw_store_run_rows gave them): history.jsonl is
 * replaced by them, and the run's step, clock (_runtime goes on from the
 * last row's), last metrics and best continue from them. Returns 0 or -1
 * (rows that are not history rows: the run is left as begun). */
int sw_store_run_restore(struct sw_store *st, const char *id, const json_t *rows,
			 struct sw_err *err);

/* Starts active run `id` over as if just begun: history.jsonl emptied, and
 * its step, clock, last metrics and best reset (a Slurm job that Slurm took
 * away, submitted again: its rows come back through sw_store_run_restore
 * or sw_store_epoch). Returns 0 or -1. */
int sw_store_run_restart(struct sw_store *st, const char *id, struct sw_err *err);

/* Adds fields (borrowed object) to the record sw_store_run_end will write
 * for active run `id`, e.g. {"slurm_job_id": "42"}; fields the store writes
 * itself (id, state, params, ...) keep the store's value. */
int sw_store_run_note(struct sw_store *st, const char *id, const json_t *fields,
		      struct sw_err *err);
/* Appends one alert record (borrowed object) to alerts.jsonl. */
int sw_store_alert(struct sw_store *st, const json_t *alert, struct sw_err *err);

/* The sweep's best so far: returns 0 and fills *value / run_id (size
 * bytes) when there is one, -1 when no run has logged the metric yet. */
int sw_store_best(struct sw_store *st, double *value, char *run_id, size_t size);

/* Moves a model file the caller wrote at tmp_path (in the sweep directory,
 * e.g. sw_store_path(st, "best.safetensors.tmp")) to best.safetensors,
 * after fsync, but only if run `id` with `value` is still the best in
 * best.json (another trial may have beaten it meanwhile): then returns 1;
 * returns 0 and deletes tmp_path when it is stale; -1 on error. */
int sw_store_commit_best_model(struct sw_store *st, const char *tmp_path,
			       const char *id, double value, struct sw_err *err);

/* The runs that were in flight when the sweep stopped: a new JSON array of
 * their markers ({id, params, seed, index, start_time}), sorted by index,
 * excluding ids recorded in runs.jsonl and ids currently active. */
int sw_store_inflight(struct sw_store *st, json_t **out, struct sw_err *err);

/* Reads a JSON Lines file into a new array of its lines' values (blank
 * lines skipped). A last line that lacks its newline and does not parse is
 * torn: ignored, *torn (may be NULL) set to 1. A bad line elsewhere is an
 * error "'PATH' line N: corrupt JSON (...)". A missing file is an error
 * unless missing_ok (then an empty array). */
int sw_jsonl_load(const char *path, int missing_ok, json_t **out, int *torn,
		  struct sw_err *err);

/* meta.json of a sweep directory, as a new object. */
int sw_store_load_meta(const char *dir, json_t **out, struct sw_err *err);

/* runs.jsonl of a sweep directory as a new array, in file order, with a
 * repeated id dropped (the first line wins). Lines that are not objects
 * with a string "id" and a valid "state" are errors naming file:line. */
int sw_store_load_runs(const char *dir, json_t **out, struct sw_err *err);

/* runs/<id>/history.jsonl (an empty array when missing). */
int sw_store_load_history(const char *dir, const char *id, json_t **out,
			  struct sw_err *err);

/* alerts.jsonl (an empty array when missing). */
int sw_store_load_alerts(const char *dir, json_t **out, struct sw_err *err);

/* The run record's best value of the sweep metric (summary.best.value, or
 * else summary.<metric> when finite); 0 and *value set, or -1 when none. */
int sw_run_best_value(const json_t *run, const char *metric, double *value);

/* Sorts an array of run records in place: runs with a value first, best
 * first (goal-aware), then runs without a value, each group by id. */
void sw_runs_sort(json_t *runs, const char *metric, int maximize);

/* An 8-character lowercase base-36 run id determined by the sweep seed and
 * the trial index (so a rerun of trial i after a crash keeps its id). */
void sw_store_run_id(char out[9], uint64_t sweep_seed, uint64_t index);

#endif
