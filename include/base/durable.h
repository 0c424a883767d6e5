/*
 * durable.h - file writes that survive a crash: appends followed by
 * fsync(2), atomic replaces (temp file, fsync, rename, fsync of the
 * directory), renames after fsync. Each is carried out at once, or, when a
 * writer is given, by the writer's thread in the order submitted.
 *
 * Why write-behind: a sweep's trials otherwise wait for the disk (a
 * directory, two new files and three fsyncs per run, ~1-3 ms here) while
 * holding the controller's lock. Because one thread performs the
 * operations strictly in order, what a crash or SIGKILL cuts off is a
 * suffix of them: the files on disk are always a state the synchronous
 * writes could have crashed in, so the readers' repair rules still apply.
 * The queue is bounded (a submission waits for room), so that suffix stays
 * short even when runs end faster than the disk can record them.
 *
 * A failed operation makes the writer drop everything queued after it and
 * refuse every later submission with the same error (nothing lands after a
 * hole); sw_writer_flush reports it too. Errors name the file.
 *
 * defines: struct sw_writer, sw_writer_start, sw_writer_flush,
 *          sw_writer_stop, sw_durable_mkdir, sw_durable_create_empty,
 *          sw_durable_replace, sw_durable_append, sw_durable_unlink,
 *          sw_durable_rename, sw_fsync_dir
 */
#ifndef SW_DURABLE_H
#define SW_DURABLE_H

#include <stddef.h>

#include "base/err.h"

struct sw_writer;   /* private: a queue and the thread that empties it */

/* Starts a writer thread that holds at most max_queued operations not yet
 * begun (0 counts as 1); *out is freed by sw_writer_stop. */
int sw_writer_start(struct sw_writer **out, size_t max_queued, struct sw_err *err);

/* Waits until everything submitted so far is on disk; returns 0, or -1 with
 * the first error any operation met. Accepts NULL (returns 0). */
int sw_writer_flush(struct sw_writer *w, struct sw_err *err);

/* Performs what is queued, stops the thread and frees w. Accepts NULL.
 * Errors are for sw_writer_flush to report before this. */
void sw_writer_stop(struct sw_writer *w);

/* The operations. With w NULL each is done before returning; else it is
 * queued (its arguments copied) and only a previous failure is returned.
 * Return 0, or -1 with err set. */

/* mkdir (mode 0755); an existing directory is fine. */
int sw_durable_mkdir(struct sw_writer *w, const char *path, struct sw_err *err);

/* Creates path empty, or truncates it. */
int sw_durable_create_empty(struct sw_writer *w, const char *path,
			    struct sw_err *err);

/* Replaces path with len bytes of data atomically: "path.tmp", fsync,
 * rename, fsync of the directory. */
int sw_durable_replace(struct sw_writer *w, const char *path, const void *data,
		       size_t len, struct sw_err *err);

/* Appends data with one write(2), then fsync(2). fd >= 0 is an O_APPEND
 * descriptor the caller keeps open until the writer is flushed (path only
 * names it in errors); with fd -1 path is opened (created if missing). */
int sw_durable_append(struct sw_writer *w, int fd, const char *path,
		      const void *data, size_t len, struct sw_err *err);

/* Removes path, best effort: never fails, so a file that is merely left
 * behind (the store's in-flight marker of a recorded run, which resume
 * deletes) does not stop the writes after it. */
int sw_durable_unlink(struct sw_writer *w, const char *path, struct sw_err *err);

/* Makes the file `from` durable (fsync), renames it to `to`, then fsyncs
 * the directory of `to`. */
int sw_durable_rename(struct sw_writer *w, const char *from, const char *to,
		      struct sw_err *err);

/* fsync(2) of a directory, making its new and renamed entries durable;
 * best effort (a filesystem that refuses it has nothing better). */
void sw_fsync_dir(const char *dir);

#endif
