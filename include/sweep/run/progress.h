/*
 * progress.h - what `sweep run` shows while it works, and its final table.
 *
 * Two modes, chosen at init (by isatty() unless forced):
 *   - live view (a terminal): a block of lines redrawn in place with ANSI
 *     cursor movement, at most every min_interval_s (default 0.1 s) for
 *     batch updates; run starts, epoch ends and run ends redraw at once.
 *     First line: runs running and ended by state, and the best so far,
 *       "2 running, 3 finished, 1 failed, 0 stopped, 0 killed | best val_accuracy 0.61 (ab12cd34)"
 *     then one line per running trial:
 *       "ab12cd34 [######..............] ep 2/5 b 120/390 ETA 1m23s val_accuracy 0.5512"
 *     Lines are cut to the terminal width so they never wrap. Log lines
 *     (sw_progress_log, run ends) are printed above the block, which is
 *     then redrawn below them.
 *   - plain lines (a pipe, a file, CI): exactly one line per event,
 *       "run ab12cd34 started: batch_size=64 lr=0.001"
 *       "run ab12cd34 epoch 2/5: train_loss=1.234 val_accuracy=0.5512 (12.3s)"
 *       "run ab12cd34 finished: 5 epochs in 3m12s, best val_accuracy=0.6011"
 *       "run ab12cd34 failed: 2 epochs in 10.0s: REASON"
 *     and nothing for batch updates.
 * Numbers print with %.6g, durations as 12.3s / 3m12s / 1h02m.
 *
 * Threads: every function locks the struct; several trials may report at
 * once. The clock is injectable so tests render deterministically into a
 * memory stream (open_memstream).
 *
 * defines: struct sw_progress_config, SW_PROGRESS_CONFIG_INIT,
 *          struct sw_progress, sw_progress_init, sw_progress_release,
 *          sw_progress_run_start, sw_progress_batch, sw_progress_epoch,
 *          sw_progress_run_end, sw_progress_log, sw_progress_console,
 *          sw_progress_summary,
 *          sw_format_duration, sw_format_params
 */
#ifndef SW_PROGRESS_H
#define SW_PROGRESS_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "sweep/store/store.h"

struct sw_progress_config {
	FILE *out;                  /* NULL: stderr (borrowed, not closed) */
	int tty;                    /* -1: isatty(fileno(out)); 0 plain; 1 live */
	int width;                  /* columns; 0: the terminal's, else 80 */
	const char *metric;         /* shown per trial and as "best" (copied) */
	int maximize;
	double (*clock)(void *ctx); /* monotonic seconds; NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
	double min_interval_s;      /* live redraw limit; 0: 0.1 s */
};
#define SW_PROGRESS_CONFIG_INIT { NULL, -1, 0, NULL, 0, NULL, NULL, 0 }

struct sw_progress_trial;       /* private: one running trial */

struct sw_progress {
	struct sw_progress_config cfg;
	char *metric;
	int live;
	pthread_mutex_t lock;
	int lock_ok;
	struct sw_progress_trial *trials;   /* in start order */
	int drawn;                  /* lines of the live block on screen */
	double last_draw;
	int64_t ended[4];           /* by enum sw_run_state */
	int has_best;
	double best;
	char best_id[65];
};

/* Sets up the view (no output yet). Returns 0, or -1 on OOM. */
int sw_progress_init(struct sw_progress *p, const struct sw_progress_config *cfg,
		     struct sw_err *err);

/* Erases the live block (so what follows starts on a clean line) and frees
 * everything. Accepts NULL and zeroed structs. */
void sw_progress_release(struct sw_progress *p);

/* A trial started: epochs planned, batches per epoch (0 if unknown: then
 * the last batch reported in its first epoch is taken as the count, and
 * until then the ETA counts whole epochs at their mean duration); params
 * (borrowed, may be NULL) are printed in plain mode. */
void sw_progress_run_start(struct sw_progress *p, const char *id,
			   const json_t *params, int64_t epochs, int64_t batches);

/* Trial id is in epoch (1-based) at batch (1-based) of n_batches (0 when
 * the trainer does not know: then the first epoch's batches tell). Cheap;
 * redraws only when min_interval_s has passed. */
void sw_progress_batch(struct sw_progress *p, const char *id, int64_t epoch,
		       int64_t batch, int64_t n_batches);

/* Trial id finished epoch (1-based) with these metrics. */
void sw_progress_epoch(struct sw_progress *p, const char *id, int64_t epoch,
		       const struct sw_kv *m, size_t n);

/* Trial id ended; reason (may be NULL) is shown for failed, stopped and
 * killed runs ("run ab12cd34 stopped: 1 epoch in 9.0s, best val_loss=0.9
 * (hyperband: ...)"). */
void sw_progress_run_end(struct sw_progress *p, const char *id,
			 enum sw_run_state state, const char *reason,
			 int64_t epochs, double runtime_s);

/* One message line (no '\n'), above the live block or as a plain line.
 * After sw_progress_release(), or on a zeroed struct, a plain line on
 * cfg.out (NULL: stderr), so a hook that outlives the view stays safe. */
void sw_progress_log(struct sw_progress *p, const char *line);

/* sw_progress_log with the signature of struct sw_alerts_config.console:
 * cfg.console = sw_progress_console; cfg.console_ctx = &progress. */
void sw_progress_console(void *progress, const char *line);

/* The final report, independent of the mode: the top `top` runs (records
 * as in runs.jsonl; borrowed, not modified) sorted by metric (goal-aware),
 * the best configuration, and "results: DIR" (when dir is non-NULL):
 *
 *   top 2 of 3 runs by val_accuracy (maximize):
 *     rank  run       state     val_accuracy  epochs  runtime  params
 *     1     ab12cd34  finished  0.6123        5       3m12s    batch_size=64 lr=0.01
 *   best configuration (run ab12cd34, val_accuracy 0.6123):
 *     batch_size: 64
 *     lr: 0.01
 *   results: results/cifar_lr-20261126-193000
 */
void sw_progress_summary(FILE *out, const json_t *runs, const char *metric,
			 int maximize, int top, const char *dir);

/* "12.3s", "3m12s", "1h02m" into out (size >= 16). */
char *sw_format_duration(char *out, size_t size, double s);

/* "k=v k2=v2" of a params object (strings unquoted, others compact JSON),
 * into a new string the caller frees ("" for NULL/empty). */
char *sw_format_params(const json_t *params);

#endif
