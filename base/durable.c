/* durable.c - crash-safe file writes, now or in order behind the caller;
 * see include/base/durable.h */
#define _GNU_SOURCE
#include "base/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum op_kind { OP_MKDIR, OP_CREATE_EMPTY, OP_REPLACE, OP_APPEND, OP_UNLINK, OP_RENAME };

struct op {
	struct op *next;
	enum op_kind kind;
	int fd;
	char *path, *path2;
	char *data;
	size_t len;
};

struct sw_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t more;        /* an operation was queued, or stop */
	pthread_cond_t idle;        /* the queue emptied */
	pthread_cond_t room;        /* the queue has room again */
	struct op *head, **tail;
	size_t queued, max_queued;
	int busy;                   /* the thread is performing one */
	int stop;
	int failed;
	struct sw_err error;        /* the first failure */
};

/* ==== Performing one operation ==== */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void sw_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Makes a new or renamed entry of the directory holding path durable. */
static void fsync_dir_of(const char *path)
{
	char *copy = strdup(path), *slash;

	if (!copy)
		return;
	slash = strrchr(copy, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(copy, ".");
	sw_fsync_dir(copy);
	free(copy);
}

static int do_replace(const char *path, const char *data, size_t len,
		      struct sw_err *err)
{
	char *tmp = NULL;
	int fd = -1, ret = -1;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return sw_errorf(err, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, data, len) || fsync(fd)) {
		sw_errorf(err, "cannot write '%s': %s", tmp, strerror(errno));
		goto done;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path)) {
		sw_errorf(err, "cannot rename '%s' to '%s': %s", tmp, path,
			  strerror(errno));
		goto done;
	}
	fsync_dir_of(path);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

static int do_append(int fd, const char *path, const char *data, size_t len,
		     struct sw_err *err)
{
	int own = fd < 0, ret = 0;

	if (own)
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sw_errorf(err, "cannot open '%s': %s", path, strerror(errno));
	if (write_all(fd, data, len) || fsync(fd))
		ret = sw_errorf(err, "cannot append to '%s': %s", path, strerror(errno));
	if (own)
		close(fd);
	return ret;
}

static int do_rename(const char *from, const char *to, struct sw_err *err)
{
	int fd = open(from, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sw_errorf(err, "cannot open '%s': %s", from, strerror(errno));
	fsync(fd);
	close(fd);
	if (rename(from, to))
		return sw_errorf(err, "cannot rename '%s' to '%s': %s", from, to,
				 strerror(errno));
	fsync_dir_of(to);
	return 0;
}

static int op_perform(const struct op *op, struct sw_err *err)
{
	int fd;

	switch (op->kind) {
	case OP_MKDIR:
		if (mkdir(op->path, 0755) && errno != EEXIST)
			return sw_errorf(err, "cannot create directory '%s': %s", op->path,
					 strerror(errno));
		return 0;
	case OP_CREATE_EMPTY:
		fd = open(op->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return sw_errorf(err, "cannot create '%s': %s", op->path,
					 strerror(errno));
		close(fd);
		return 0;
	case OP_REPLACE:
		return do_replace(op->path, op->data, op->len, err);
	case OP_APPEND:
		return do_append(op->fd, op->path, op->data, op->len, err);
	case OP_UNLINK:
		unlink(op->path);   /* best effort, see durable.h */
		return 0;
	case OP_RENAME:
		return do_rename(op->path, op->path2, err);
	}
	return sw_errorf(err, "unknown file operation");
}

static void op_free(struct op *op)
{
	if (!op)
		return;
	free(op->path);
	free(op->path2);
	free(op->data);
	free(op);
}

/* ==== The writer thread ==== */

static void drop_queue(struct sw_writer *w)
{
	struct op *op, *next;

	for (op = w->head; op; op = next) {
		next = op->next;
		op_free(op);
	}
	w->head = NULL;
	w->tail = &w->head;
	w->queued = 0;
	pthread_cond_broadcast(&w->room);
}

static void *writer_main(void *arg)
{
	struct sw_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct sw_err err = SW_ERR_INIT;
		struct op *op;
		int rc;

		while (!w->head && !w->stop)
			pthread_cond_wait(&w->more, &w->mu);
		if (!w->head)
			break;
		op = w->head;
		w->head = op->next;
		if (!w->head)
			w->tail = &w->head;
		w->queued--;
		pthread_cond_signal(&w->room);
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		rc = op_perform(op, &err);
		op_free(op);
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		if (rc < 0 && !w->failed) {
			w->failed = 1;
			w->error = err;
			drop_queue(w);
		}
		if (!w->head)
			pthread_cond_broadcast(&w->idle);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int sw_writer_start(struct sw_writer **out, size_t max_queued, struct sw_err *err)
{
	struct sw_writer *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!w)
		return sw_errorf(err, "out of memory");
	w->tail = &w->head;
	w->max_queued = max_queued ? max_queued : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->idle, NULL);
	pthread_cond_init(&w->room, NULL);
	/* the thread inherits a full mask: Ctrl-C is for the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&w->room);
		pthread_cond_destroy(&w->idle);
		pthread_cond_destroy(&w->more);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return sw_errorf(err, "cannot start the results writer thread");
	}
	*out = w;
	return 0;
}

int sw_writer_flush(struct sw_writer *w, struct sw_err *err)
{
	int ret = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (w->head || w->busy)
		pthread_cond_wait(&w->idle, &w->mu);
	if (w->failed)
		ret = sw_errorf(err, "%s", w->error.msg);
	pthread_mutex_unlock(&w->mu);
	return ret;
}

void sw_writer_stop(struct sw_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	drop_queue(w);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Performs op now (no writer) or queues it; takes op. */
static int submit(struct sw_writer *w, struct op *op, struct sw_err *err)
{
	int ret = 0;

	if (!w) {
		ret = op_perform(op, err);
		op_free(op);
		return ret;
	}
	pthread_mutex_lock(&w->mu);
	/* a bounded lag: what a crash can lose stays a few runs' writes */
	while (w->queued >= w->max_queued && !w->failed)
		pthread_cond_wait(&w->room, &w->mu);
	if (w->failed) {
		ret = sw_errorf(err, "%s", w->error.msg);
		op_free(op);
	} else {
		*w->tail = op;
		w->tail = &op->next;
		w->queued++;
		pthread_cond_signal(&w->more);
	}
	pthread_mutex_unlock(&w->mu);
	return ret;
}

/* A new operation with copies of its arguments (path2, data may be NULL). */
static struct op *op_new(enum op_kind kind, int fd, const char *path,
			 const char *path2, const void *data, size_t len)
{
	struct op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->kind = kind;
	op->fd = fd;
	op->len = len;
	op->path = strdup(path);
	op->path2 = path2 ? strdup(path2) : NULL;
	op->data = data ? malloc(len ? len : 1) : NULL;
	if (!op->path || (path2 && !op->path2) || (data && !op->data)) {
		op_free(op);
		return NULL;
	}
	if (data)
		memcpy(op->data, data, len);
	return op;
}

static int queue_op(struct sw_writer *w, enum op_kind kind, int fd,
		    const char *path, const char *path2, const void *data,
		    size_t len, struct sw_err *err)
{
	struct op *op = op_new(kind, fd, path, path2, data, len);

	if (!op)
		return sw_errorf(err, "out of memory");
	return submit(w, op, err);
}

int sw_durable_mkdir(struct sw_writer *w, const char *path, struct sw_err *err)
{
	return queue_op(w, OP_MKDIR, -1, path, NULL, NULL, 0, err);
}

int sw_durable_create_empty(struct sw_writer *w, const char *path,
			    struct sw_err *err)
{
	return queue_op(w, OP_CREATE_EMPTY, -1, path, NULL, NULL, 0, err);
}

int sw_durable_replace(struct sw_writer *w, const char *path, const void *data,
		       size_t len, struct sw_err *err)
{
	return queue_op(w, OP_REPLACE, -1, path, NULL, data, len, err);
}

int sw_durable_append(struct sw_writer *w, int fd, const char *path,
		      const void *data, size_t len, struct sw_err *err)
{
	return queue_op(w, OP_APPEND, fd, path, NULL, data, len, err);
}

int sw_durable_unlink(struct sw_writer *w, const char *path, struct sw_err *err)
{
	return queue_op(w, OP_UNLINK, -1, path, NULL, NULL, 0, err);
}

int sw_durable_rename(struct sw_writer *w, const char *from, const char *to,
		      struct sw_err *err)
{
	return queue_op(w, OP_RENAME, -1, from, to, NULL, 0, err);
}
