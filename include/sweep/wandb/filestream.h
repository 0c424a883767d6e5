/*
 * filestream.h - a run's metrics stream to wandb (protocol notes §4.2):
 * POST {base}/files/{entity}/{project}/{run}/file_stream with
 *   {"files": {"wandb-history.jsonl": {"offset": N, "content": [lines]},
 *              "wandb-summary.json":  {"offset": 0, "content": [summary]}}}
 * and, to end the run, {"complete": true, "exitcode": N}.
 *
 * History lines are queued by sw_filestream_log() and stay queued until the
 * server has accepted them (a 2xx answer): a failed POST keeps them, and
 * the next flush re-sends from the same offset, so a server that fails or
 * disappears for a while loses nothing, and since a line is always re-sent
 * at its own offset (which the server treats as an overwrite) nothing is
 * duplicated either. The summary is the complete current summary, re-sent
 * at offset 0 until accepted. An answer {"stopped": true} is surfaced by
 * sw_filestream_stopped(). When idle, sw_filestream_poll() sends a `{}`
 * heartbeat every heartbeat_s (30 s). The completion is only sent once
 * every line has been accepted.
 *
 * Each POST goes through sw_http_send (retries, backoff, stop flag); when
 * even the retries fail, the data simply stays queued for the next call.
 * Not thread-safe: one stream is driven by one thread.
 *
 * defines: struct sw_filestream, SW_FILESTREAM_INIT, sw_filestream_init,
 *          sw_filestream_release, sw_filestream_log,
 *          sw_filestream_set_summary, sw_filestream_flush,
 *          sw_filestream_poll, sw_filestream_finish, sw_filestream_preempt,
 *          sw_filestream_stopped
 */
#ifndef SW_FILESTREAM_H
#define SW_FILESTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/http/http.h"

struct sw_filestream {
	struct sw_http *http;     /* borrowed; its base URL and key are used */
	char *url;                /* owned */
	char **lines;             /* owned: history lines not yet accepted */
	size_t n_lines, alloc;
	int64_t offset;           /* history line number of lines[0] = lines accepted */
	char *summary;            /* owned; latest summary line, NULL: none */
	int summary_pending;      /* summary changed since last accepted */
	int stopped;              /* the server answered "stopped": true */
	int completed;            /* the completion was accepted */
	double last_post_s;       /* monotonic time of the last accepted POST */
	double heartbeat_s;       /* idle interval for `{}` (default 30) */
	size_t max_request_bytes; /* per POST (default 4 MiB) */
	size_t max_line_bytes;    /* longer lines are refused (default 1 MiB) */
	int64_t posts;            /* accepted POSTs, for tests and logs */
};
#define SW_FILESTREAM_INIT { 0 }

/* Sets up the stream of run `run` (as named by UpsertBucket; entity and
 * project as the server returned them) starting at history line
 * history_offset (UpsertBucket's historyLineCount, or the number of lines
 * a previous process had sent). Returns 0 or -1 (bad names, OOM). */
int sw_filestream_init(struct sw_filestream *fs, struct sw_http *http,
		       const char *entity, const char *project, const char *run,
		       int64_t history_offset, struct sw_err *err);

/* Frees everything, including lines never accepted. Accepts NULL. */
void sw_filestream_release(struct sw_filestream *fs);

/* Queues one history row: a JSON object as one line of text (no newline),
 * e.g. {"_step":0,"_runtime":1.5,"_timestamp":1724300000.1,"loss":0.9}.
 * Copies it. Nothing is sent. Returns 0 or -1 (not one line, too long, OOM). */
int sw_filestream_log(struct sw_filestream *fs, const char *json_line, struct sw_err *err);

/* Replaces the summary line (a complete JSON object). Nothing is sent. */
int sw_filestream_set_summary(struct sw_filestream *fs, const char *json_line,
			      struct sw_err *err);

/* Sends every queued line (in POSTs of at most max_request_bytes) and the
 * summary if changed. Returns 0 when all of it was accepted; -1 (or
 * SW_ERR_INTR) otherwise, with what was not accepted still queued. */
int sw_filestream_flush(struct sw_filestream *fs, struct sw_err *err);

/* Flushes when something is queued, else sends `{}` when nothing was
 * accepted for heartbeat_s seconds; otherwise does nothing. now_s is a
 * CLOCK_MONOTONIC time in seconds (< 0: read the clock). */
int sw_filestream_poll(struct sw_filestream *fs, double now_s, struct sw_err *err);

/* Flushes, then sends {"complete": true, "exitcode": exitcode}. Returns 0
 * once the server accepted the completion; on failure the caller may call
 * it again later (nothing is lost). */
int sw_filestream_finish(struct sw_filestream *fs, int exitcode, struct sw_err *err);

/* Flushes, then sends {"preempting": true} and no completion: wandb's
 * mark_preempting(). The run ends without an exit code, so wandb's server
 * marks it preempted (not finished or failed) and hands it to an agent
 * again with a `resume` command. Returns 0 once accepted; on failure the
 * caller may call it again later. */
int sw_filestream_preempt(struct sw_filestream *fs, struct sw_err *err);

/* 1 once an answer said "stopped": true (the run should stop). */
int sw_filestream_stopped(const struct sw_filestream *fs);

#endif
