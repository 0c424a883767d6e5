/* test_durable.c - crash-safe writes, done at once or by the writer thread:
 * results, order, errors naming the file, nothing after a failure. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/support.h"
#include "base/durable.h"

static char *join(const char *dir, const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

/* mkdir, create, append, replace, rename and unlink through w (NULL: at
 * once), checking the files they leave. */
static void every_operation(struct sw_writer *w)
{
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), *sub = join(tmp, "a"), *log = join(sub, "log.jsonl");
	char *conf = join(sub, "conf.json"), *model = join(sub, "m.tmp");
	char *final = join(sub, "m.bin"), *text;
	struct stat sb;

	assert_int_equal(sw_durable_mkdir(w, sub, &err), 0);
	assert_int_equal(sw_durable_mkdir(w, sub, &err), 0);   /* exists: fine */
	assert_int_equal(sw_durable_create_empty(w, log, &err), 0);
	assert_int_equal(sw_durable_append(w, -1, log, "1\n", 2, &err), 0);
	assert_int_equal(sw_durable_append(w, -1, log, "2\n", 2, &err), 0);
	assert_int_equal(sw_durable_replace(w, conf, "{\"a\":1}\n", 8, &err), 0);
	assert_int_equal(sw_durable_replace(w, conf, "{\"a\":2}\n", 8, &err), 0);
	/* a file the caller writes itself needs the queued mkdir done */
	assert_int_equal(sw_writer_flush(w, &err), 0);
	assert_int_equal(sw_test_write_file(model, "weights", 7), 0);
	assert_int_equal(sw_durable_rename(w, model, final, &err), 0);
	assert_int_equal(sw_durable_unlink(w, log, &err), 0);
	assert_int_equal(sw_durable_unlink(w, log, &err), 0);   /* missing: fine */
	assert_int_equal(sw_writer_flush(w, &err), 0);

	assert_int_equal(stat(log, &sb), -1);
	text = sw_test_read_file(conf, NULL);
	assert_string_equal(text, "{\"a\":2}\n");
	free(text);
	text = sw_test_read_file(final, NULL);
	assert_string_equal(text, "weights");
	free(text);
	assert_int_equal(stat(model, &sb), -1);
	/* the replace left no temporary file behind */
	{
		char *t = join(sub, "conf.json.tmp");

		assert_int_equal(stat(t, &sb), -1);
		free(t);
	}
	sw_test_rmtree(tmp);
	free(tmp);
	free(sub);
	free(log);
	free(conf);
	free(model);
	free(final);
}

static void test_at_once(void **state)
{
	(void)state;
	every_operation(NULL);
}

static void test_write_behind(void **state)
{
	struct sw_writer *w = NULL;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	assert_int_equal(sw_writer_start(&w, 64, &err), 0);
	every_operation(w);
	sw_writer_stop(w);
}

/* Thousands of appends to a descriptor and a path come out in order, and
 * an operation that depends on an earlier one (a file in a new directory)
 * finds it done. */
static void test_order_is_kept(void **state)
{
	struct sw_writer *w = NULL;
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), *path = join(tmp, "seq"), *text, *p, line[32];
	FILE *f;
	int i, fd;

	(void)state;
	assert_int_equal(sw_writer_start(&w, 3, &err), 0);   /* often full */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	assert_true(fd >= 0);
	for (i = 0; i < 2000; i++) {
		char *dir = NULL, *file = NULL;
		int n = snprintf(line, sizeof(line), "%d\n", i);

		assert_int_equal(sw_durable_append(w, fd, path, line, (size_t)n, &err), 0);
		if (i % 200 == 0) {
			assert_true(asprintf(&dir, "%s/d%d", tmp, i) > 0);
			assert_true(asprintf(&file, "%s/h", dir) > 0);
			assert_int_equal(sw_durable_mkdir(w, dir, &err), 0);
			assert_int_equal(sw_durable_append(w, -1, file, line, (size_t)n, &err), 0);
			free(dir);
			free(file);
		}
	}
	sw_writer_stop(w);   /* performs what is still queued */
	close(fd);
	text = sw_test_read_file(path, NULL);
	assert_non_null(text);
	f = fmemopen(text, strlen(text), "r");
	for (i = 0; i < 2000; i++) {
		assert_non_null(fgets(line, sizeof(line), f));
		assert_int_equal(atoi(line), i);
	}
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	free(text);
	p = join(tmp, "d1800/h");
	text = sw_test_read_file(p, NULL);
	assert_string_equal(text, "1800\n");
	free(text);
	free(p);
	sw_test_rmtree(tmp);
	free(tmp);
	free(path);
}

/* A failure names the file at once without a writer; with one, flush and
 * every later call report it, and nothing queued after it is done. */
static void test_failure_stops_everything_after(void **state)
{
	struct sw_writer *w = NULL;
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), *bad = join(tmp, "no/such/dir/x.jsonl");
	char *good = join(tmp, "after.jsonl");
	struct stat sb;

	(void)state;
	assert_int_equal(sw_durable_append(NULL, -1, bad, "x\n", 2, &err), -1);
	assert_non_null(strstr(err.msg, "no/such/dir/x.jsonl"));
	sw_err_clear(&err);
	assert_int_equal(sw_durable_rename(NULL, bad, good, &err), -1);
	assert_non_null(strstr(err.msg, "x.jsonl"));

	assert_int_equal(sw_writer_start(&w, 8, &err), 0);
	sw_err_clear(&err);
	assert_int_equal(sw_durable_append(w, -1, bad, "x\n", 2, &err), 0);
	/* queued (0), or refused (-1) when the writer already met the failure:
	 * which one depends on the thread's timing */
	if (sw_durable_append(w, -1, good, "y\n", 2, &err) < 0)
		assert_non_null(strstr(err.msg, "no/such/dir/x.jsonl"));
	sw_err_clear(&err);
	assert_int_equal(sw_writer_flush(w, &err), -1);
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_non_null(strstr(err.msg, "no/such/dir/x.jsonl"));
	sw_err_clear(&err);
	assert_int_equal(sw_durable_append(w, -1, good, "z\n", 2, &err), -1);
	assert_non_null(strstr(err.msg, "no/such/dir/x.jsonl"));
	sw_err_clear(&err);
	assert_int_equal(sw_writer_flush(w, &err), -1);
	sw_writer_stop(w);
	assert_int_equal(stat(good, &sb), -1);
	sw_writer_stop(NULL);
	assert_int_equal(sw_writer_flush(NULL, &err), 0);
	sw_test_rmtree(tmp);
	free(tmp);
	free(bad);
	free(good);
}

struct submitter {
	struct sw_writer *w;
	const char *path;
	atomic_int done;
};

static void *submit_one(void *arg)
{
	struct submitter *sub = arg;
	struct sw_err err = SW_ERR_INIT;

	sw_durable_append(sub->w, -1, sub->path, "4\n", 2, &err);
	atomic_store(&sub->done, 1);
	return NULL;
}

/* With max_queued operations waiting, the next submission waits for room:
 * the writer is held up opening a FIFO nobody reads yet. */
static void test_queue_is_bounded(void **state)
{
	struct sw_writer *w = NULL;
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), *fifo = join(tmp, "fifo"), *log = join(tmp, "log");
	struct submitter sub;
	struct timespec tick = { 0, 10 * 1000000L };
	pthread_t th;
	char buf[8];
	int fd, i;

	(void)state;
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(sw_writer_start(&w, 2, &err), 0);
	assert_int_equal(sw_durable_create_empty(w, fifo, &err), 0);
	assert_int_equal(sw_durable_append(w, -1, log, "2\n", 2, &err), 0);
	assert_int_equal(sw_durable_append(w, -1, log, "3\n", 2, &err), 0);
	sub.w = w;
	sub.path = log;
	atomic_init(&sub.done, 0);
	assert_int_equal(pthread_create(&th, NULL, submit_one, &sub), 0);
	/* whatever the machine's speed, the FIFO keeps the writer busy: the
	 * third queued operation cannot have been accepted */
	for (i = 0; i < 20; i++)
		nanosleep(&tick, NULL);
	assert_int_equal(atomic_load(&sub.done), 0);
	fd = open(fifo, O_RDONLY);   /* lets the writer go on */
	assert_true(fd >= 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&sub.done), 1);
	assert_int_equal(sw_writer_flush(w, &err), 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);   /* opened, closed */
	close(fd);
	sw_writer_stop(w);
	{
		char *text = sw_test_read_file(log, NULL);

		assert_string_equal(text, "2\n3\n4\n");
		free(text);
	}
	sw_test_rmtree(tmp);
	free(tmp);
	free(fifo);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_at_once),
		cmocka_unit_test(test_write_behind),
		cmocka_unit_test(test_order_is_kept),
		cmocka_unit_test(test_failure_stops_everything_after),
		cmocka_unit_test(test_queue_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
