/*
 * agent.h - `sweep agent`: work on a wandb sweep from this process.
 *
 * Online (sw_agent_run): registers an agent (CreateAgent) and heartbeats
 * (about every 5 s, and at once when a slot frees) with runState
 * {"run_id": true} for the runs still training. The server's commands:
 *   run / resume  train the built-in model in-process with the given
 *                 (value-wrapped) arguments; up to `parallel` runs at once,
 *                 more are queued until a slot frees. Every epoch but the
 *                 last is checkpointed in the run's directory (store.h) by
 *                 a writer thread (a crash loses at most the last one, so
 *                 at most one epoch wandb has trains again); a `resume` of a run
 *                 that an earlier agent of this sweep left a checkpoint of
 *                 under the results root continues from it (its history
 *                 goes on at the right _step), else trains from the start;
 *   stop          stops that run between batches (it ends with exit code 0:
 *                 a stopped run is not a failed one);
 *   exit          no new runs; running ones stop between batches; the
 *                 agent ends once their completions are delivered.
 * Each run joins the sweep (UpsertBucket with the issued run id, the sweep
 * and the config as {k: {"value": v}}), then a streamer thread of its own,
 * with its own HTTP client, sends the per-epoch history rows (_step,
 * _runtime, _timestamp and the metrics) and the summary through file_stream
 * starting at UpsertBucket's historyLineCount, honours "stopped": true and
 * ends with {"complete": true, "exitcode": N}; a run stopped by the user's
 * Ctrl-C instead ends with {"preempting": true} and no completion, keeps
 * its checkpoint and stays in flight locally, so that wandb's `resume`
 * continues it as a killed one. Training never waits for the
 * network: the trainer only appends to the results store on disk and to an
 * in-memory queue. Every run is also recorded in a local results store
 * (results/<sweep>-<time>/, as `sweep run` writes it), and the store's
 * wandb-sync.json marker lists the runs whose completion wandb accepted,
 * so `sweep sync DIR` later uploads exactly what the server never got
 * (e.g. when the agent gave up on a server that stayed away).
 *
 * Offline (sw_agent_offline): WANDB_MODE=offline, or the server cannot be
 * reached at start: the sweep's definition (given with --sweep-file, or the
 * copy cached by an earlier online agent) is searched locally by the
 * `sweep run` controller, into a results store whose meta.json names the
 * wandb entity/project/sweep, for `sweep sync` to upload later.
 *
 * Local controller (sw_agent_controller): our own search engine proposes
 * the runs of a wandb sweep, as wandb's local controller does: it reads the
 * sweep and its runs (SweepWithRuns) and writes one schedule entry at a time
 * with UpsertSweep(controller = {"schedule": [{"id", "data": {"args"}}],
 * "earlystop": [runs hyperband stops]}).
 *
 * Signals: the first SIGINT/SIGTERM stops taking runs and stops running ones
 * between batches (exit code 130 to wandb), waiting for their completions;
 * the second abandons the uploads (what was not accepted stays on disk for
 * `sweep sync`). The result is then SW_ERR_INTR.
 *
 * defines: struct sw_agent_config, SW_AGENT_CONFIG_INIT, sw_agent_run,
 *          sw_agent_offline, sw_agent_controller,
 *          sw_agent_cache_path, sw_sync_marker_load,
 *          sw_sync_marker_done, SW_SYNC_MARKER
 */
#ifndef SW_AGENT_H
#define SW_AGENT_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/spec/spec.h"
#include "sweep/wandb/wandb_settings.h"
#include "trainer/data.h"

/* The marker file of a results directory: which runs wandb has accepted. */
#define SW_SYNC_MARKER "wandb-sync.json"

struct sw_agent_config {
	const struct sw_wandb_settings *settings;  /* borrowed */
	const char *entity, *project;  /* NULL: the server's defaults */
	const char *sweep;             /* the sweep's short name */
	int64_t count;                 /* runs to take; 0: no limit */
	int parallel;                  /* runs at once (>= 1) */
	int threads;                   /* OpenMP threads per run (>= 1) */
	const char *data_dir;          /* --data, or NULL */
	const char *results_root;      /* NULL: "results" */
	const char *sweep_file;        /* offline: the definition to use */
	double heartbeat_s;            /* default 5 (SWEEP_AGENT_HEARTBEAT) */
};
#define SW_AGENT_CONFIG_INIT { NULL, NULL, NULL, NULL, 0, 1, 1, NULL, NULL, \
			       NULL, 5.0 }

/* Runs the online agent until `exit`, --count runs done, a deleted sweep
 * or an interrupt. Prints progress on stderr. Returns 0, SW_ERR_INTR,
 * SW_ERR_USAGE (settings, bad key, unknown sweep: nothing started) or
 * SW_ERR. *unreachable is set to 1 (with SW_ERR) when the server could not
 * be reached at all at start (the caller may go offline). */
int sw_agent_run(const struct sw_agent_config *cfg, int *unreachable,
		 struct sw_err *err);

/* The offline agent described above. Returns 0, SW_ERR_INTR, SW_ERR_USAGE
 * (no definition available) or SW_ERR. */
int sw_agent_offline(const struct sw_agent_config *cfg, struct sw_err *err);

/* The local controller: proposes runs for the sweep until the search ends,
 * --count runs were scheduled, the sweep stops running, or an interrupt.
 * Returns 0, SW_ERR_INTR, SW_ERR_USAGE or SW_ERR. */
int sw_agent_controller(const struct sw_agent_config *cfg, struct sw_err *err);

/* Where an online agent caches a sweep's definition for offline use:
 * ${XDG_CACHE_HOME:-$HOME/.cache}/sweep/wandb-sweeps/SWEEP.yaml. Returns a
 * new string the caller frees, or NULL (no HOME, OOM). */
char *sw_agent_cache_path(const char *sweep);

/* The marker of results directory dir as a new object
 * {"runs": {ID: {"entity", "project", "name"}}} (empty when missing).
 * Returns 0 or -1 (unreadable or corrupt marker). */
int sw_sync_marker_load(const char *dir, json_t **out, struct sw_err *err);

/* Records (atomically) that wandb accepted the completion of run id as
 * entity/project/name. Safe to call from several threads. */
int sw_sync_marker_done(const char *dir, const char *id, const char *entity,
			const char *project, const char *name, struct sw_err *err);

#endif
