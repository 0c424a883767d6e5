/*
 * alerts.h - the `alerts:` rules of a sweep, evaluated after every epoch of
 * a run and when it ends, and delivered to the console, alerts.jsonl and a
 * webhook without ever blocking training.
 *
 * Rules (struct sw_alert_rule in spec.h, borrowed from the spec):
 *   "METRIC OP NUMBER"  fires when the epoch logged METRIC and the comparison
 *                       holds (NaN compares false, except with "!=");
 *   nan                 fires when any metric of the epoch is NaN or +-inf;
 *   new_best            fires whenever the epoch set a new best value of the
 *                       sweep metric over the whole sweep (the store says so);
 *   run_failed          fires when a run ends in state failed.
 * A rule applies from epoch after_epoch + 1 on (epochs count from 1; the
 * default 0 means from the first epoch; ignored for run_failed). COMPARE and
 * nan rules fire at most once per run, new_best every time it happens. A
 * failed run always raises an ERROR alert: when no run_failed rule with
 * level ERROR exists, a built-in rule "run-failed" does it. A firing rule
 * with stop_run: true makes sw_alerts_epoch() return 1: the controller
 * stops the run and records it as `stopped`.
 *
 * Each alert is:
 *   - one line through the console hook (default: stderr), e.g.
 *     "sweep: alert: [WARN] low-accuracy: run ab12cd34 epoch 3: val_accuracy
 *     = 0.21 (val_accuracy < 0.3); stopping the run";
 *   - one line in alerts.jsonl (struct sw_store, when given): {"time",
 *     "_timestamp", "level", "rule", "when", "run", "epoch", "metric",
 *     "value", "stop_run", "text"} (metric/value only where they apply);
 *   - when a webhook URL is set, a POST of Slack-compatible JSON
 *     {"text": "sweep NAME: [WARN] low-accuracy: ..."} made by a background
 *     sender thread from a bounded queue (full: the alert is dropped from
 *     the webhook and counted), through sw_http_send() (include/sweep/http/http.h:
 *     retries with backoff on 429/5xx/time-outs/refused connections, none on
 *     other 4xx; its stop flag aborts a transfer or a backoff at shutdown).
 *     Training threads only enqueue. The URL's path is never printed (it is
 *     the secret of Slack-style webhooks): messages show the URL with its path
 *     replaced by "***".
 *   - passed to the on_alert hook (for `sweep agent` to forward to wandb).
 *
 * Threads: one struct sw_alerts is shared by all trials; each trial owns
 * its struct sw_alert_run. sw_alerts_epoch/run_end may be called from any
 * thread at the same time.
 *
 * defines: struct sw_alerts_config, SW_ALERTS_CONFIG_INIT, struct sw_alerts,
 *          struct sw_alert_run, sw_alerts_init, sw_alerts_release,
 *          sw_alert_run_init, sw_alert_run_release, sw_alerts_epoch,
 *          sw_alerts_run_end, sw_alerts_resume, sw_alerts_script, sw_alerts_stats, sw_alert_level_name,
 *          sw_alerts_webhook_url, sw_alerts_check_url
 */
#ifndef SW_ALERTS_H
#define SW_ALERTS_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/spec/spec.h"
#include "sweep/store/store.h"

struct sw_alerts_config {
	const char *sweep_name;     /* webhook text prefix "sweep NAME: " */
	const char *metric;         /* the sweep metric (for new_best), or NULL */
	const char *webhook_url;    /* NULL or "": no webhook. The controller
				       passes --alert-webhook, else
				       getenv("SWEEP_ALERT_WEBHOOK") */
	struct sw_store *store;     /* NULL: no alerts.jsonl */
	/* Console: one line without '\n'. NULL: "LINE\n" on stderr. Route it
	 * through sw_progress_log() while a live view is drawn. */
	void (*console)(void *ctx, const char *line);
	void *console_ctx;
	/* Extra sink, e.g. wandb under `sweep agent` (record is borrowed). */
	void (*on_alert)(void *ctx, const json_t *record);
	void *on_alert_ctx;
	size_t queue_max;           /* webhook queue length; default 64 */
	int max_tries;              /* POSTs per alert; default 4 */
	double backoff_s;           /* first retry wait, doubled; default 0.5 */
	double backoff_max_s;       /* default 8 */
	double timeout_s;           /* per POST (connect included); default 10 */
	double drain_s;             /* at release: time left to flush; default 3 */
};
#define SW_ALERTS_CONFIG_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
				0, 0, 0, 0, 0, 0 }

struct sw_hook_item;            /* private: one queued webhook body */

struct sw_alerts {
	const struct sw_alert_rule *rules;   /* borrowed */
	size_t n_rules;
	struct sw_alerts_config cfg;         /* strings copied below */
	char *sweep_name, *metric, *url;
	int builtin_failed;                  /* the built-in ERROR rule is needed */

	pthread_mutex_t lock;                /* console, counters, queue */
	pthread_cond_t cond;
	int lock_ok, thread_ok;
	pthread_t thread;
	struct sw_hook_item *head, *tail;
	size_t queued;
	int busy;                            /* sender is posting an item */
	int closing;                         /* release started: drain */
	volatile sig_atomic_t abort;         /* drain time over: give up now */

	/* counters (read with sw_alerts_stats) */
	size_t n_alerts, n_sent, n_failed, n_dropped;
	int warned_full, warned_store;
};

/* Per-run state: which rules already fired. */
struct sw_alert_run {
	char id[65];
	unsigned char *fired;                /* one flag per rule */
	size_t n;
	int64_t epochs;   /* planned epochs, set by the caller; 0: unknown. A
			   * stop_run rule firing at the last one stops nothing */
};

/* Sets up al for rules (borrowed; n may be 0) and cfg (copied; its strings
 * too, the store and hooks are borrowed) and starts the webhook sender
 * thread when a URL is set (an URL that is not http:// or https:// is an
 * error). On failure al is left released. */
int sw_alerts_init(struct sw_alerts *al, const struct sw_alert_rule *rules,
		   size_t n, const struct sw_alerts_config *cfg, struct sw_err *err);

/* Stops the sender: it gets cfg.drain_s to deliver what is queued (retries
 * included), then any transfer or backoff in progress is aborted (libcurl
 * notices within about a second: release returns after at most drain_s +
 * ~1 s, measured 1.2 s with drain_s 0.2 against a server that never
 * answers) and what is left is counted as dropped. Frees everything.
 * Accepts NULL and zeroed structs. */
void sw_alerts_release(struct sw_alerts *al);

/* Per-run state for run id (copied). Returns 0, or -1 on OOM. */
int sw_alert_run_init(struct sw_alert_run *r, const struct sw_alerts *al,
		      const char *id);
void sw_alert_run_release(struct sw_alert_run *r);

/* Evaluates the rules after epoch (1-based) with the epoch's metrics;
 * new_best is what sw_store_epoch() reported. Raises the alerts that fire.
 * Returns 1 when a firing rule has stop_run (stop the run), else 0. Never
 * blocks on the network. */
int sw_alerts_epoch(struct sw_alerts *al, struct sw_alert_run *r, int64_t epoch,
		    const struct sw_kv *m, size_t n, int new_best);

/* A run continued from its checkpoint (r fresh from sw_alert_run_init):
 * the rules that fired for it before (recorded: the alerts.jsonl records,
 * any run's; may be NULL) count as fired, so a once-per-run rule does not
 * fire twice; then the restored epochs (rows: its history rows, with
 * "epoch" and the metrics) are checked again, so an alert the kill kept
 * from firing fires now. new_best is not re-checked (whether an old epoch
 * was a new best of the sweep is not known any more). Returns 1 when the
 * run must stop: a stop_run rule fired before or fires now. */
int sw_alerts_resume(struct sw_alerts *al, struct sw_alert_run *r, const json_t *recorded,
		     const json_t *rows);

/* An alert the run's own script raised (wandb.alert(title, text, level)
 * of a program run): delivered like the rules' alerts, with rule = title,
 * when = "wandb.alert", the level named by level ("INFO", "WARN" or
 * "ERROR", any case; anything else is WARN), and the text prefixed with
 * "run ID epoch N: " (epoch: the epochs reported before it; 0 leaves it
 * out). Never stops the run. */
void sw_alerts_script(struct sw_alerts *al, struct sw_alert_run *r, int64_t epoch,
		      const char *title, const char *text, const char *level);

/* At the end of a run: a failed run raises its run_failed alerts, or the
 * built-in ERROR alert; reason may be NULL. */
void sw_alerts_run_end(struct sw_alerts *al, struct sw_alert_run *r,
		       enum sw_run_state state, const char *reason, int64_t epochs);

/* Counters: alerts raised, webhook POSTs delivered, webhook alerts given
 * up after all tries, and dropped (queue full or left at shutdown). Any
 * pointer may be NULL. Also valid after sw_alerts_release() (final counts). */
void sw_alerts_stats(struct sw_alerts *al, size_t *raised, size_t *sent,
		     size_t *failed, size_t *dropped);

/* The webhook to use: cli_url (--alert-webhook) when non-empty, else
 * $SWEEP_ALERT_WEBHOOK when set and non-empty, else NULL. Borrowed strings. */
const char *sw_alerts_webhook_url(const char *cli_url);

/* Checks a webhook URL before anything starts: NULL and "" (no webhook)
 * pass; otherwise it must be http:// or https:// with a host. Returns 0, or
 * -1 with a message naming the URL as what (e.g. "--alert-webhook"), never
 * repeating it (its path is a secret). */
int sw_alerts_check_url(const char *what, const char *url, struct sw_err *err);

/* "INFO", "WARN", "ERROR". */
const char *sw_alert_level_name(enum sw_alert_level level);

#endif
