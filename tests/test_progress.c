/* test_progress.c - the console view: exact plain log lines, the live view
 * rendered into a memory stream with a fake clock (cursor movement, rate
 * limit, width), the final summary table, and several trials at once. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/run/progress.h"

static double fake_now;

static double fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void open_view(struct sw_progress *p, FILE **f, char **buf, size_t *len,
		      int tty, int width)
{
	struct sw_progress_config cfg = SW_PROGRESS_CONFIG_INIT;

	*f = open_memstream(buf, len);
	assert_non_null(*f);
	cfg.out = *f;
	cfg.tty = tty;
	cfg.width = width;
	cfg.metric = "val_accuracy";
	cfg.maximize = 1;
	cfg.clock = fake_clock;
	assert_int_equal(sw_progress_init(p, &cfg, NULL), 0);
}

static void test_plain_lines(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;
	json_t *params = json_pack("{s:f, s:i, s:s}", "lr", 0.01, "batch_size", 64, "opt", "adam");
	struct sw_kv e1[] = { { "train_loss", 1.5 }, { "val_accuracy", 0.4 } };
	struct sw_kv e2[] = { { "train_loss", 1.2 }, { "val_accuracy", 0.35 } };

	(void)state;
	fake_now = 100;
	open_view(&p, &f, &buf, &len, 0, 80);
	assert_int_equal(p.live, 0);
	sw_progress_run_start(&p, "a", params, 2, 10);
	sw_progress_batch(&p, "a", 1, 5, 0);
	fake_now = 112.3;
	sw_progress_epoch(&p, "a", 1, e1, 2);
	fake_now = 300;
	sw_progress_epoch(&p, "a", 2, e2, 2);
	sw_progress_run_end(&p, "a", SW_RUN_FINISHED, NULL, 2, 200.0);
	sw_progress_run_start(&p, "b", NULL, 3, 0);
	sw_progress_run_end(&p, "b", SW_RUN_FAILED, "out of memory", 1, 5.0);
	sw_progress_run_start(&p, "c", NULL, 3, 0);
	sw_progress_run_end(&p, "c", SW_RUN_STOPPED, NULL, 0, 3725);
	sw_progress_run_start(&p, "d", NULL, 3, 0);
	fake_now = 301;
	sw_progress_epoch(&p, "d", 1, e1, 2);
	sw_progress_run_end(&p, "d", SW_RUN_STOPPED, "hyperband: val_accuracy at epoch 1 "
			    "is worse than the band's threshold", 1, 1.0);
	sw_progress_run_start(&p, "e", NULL, 3, 0);
	sw_progress_run_end(&p, "e", SW_RUN_KILLED, "interrupted twice: aborted", 0, 0.5);
	sw_progress_console(&p, "sweep: alert: [WARN] x");
	sw_progress_release(&p);
	fclose(f);
	assert_string_equal(buf,
		"run a started: lr=0.01 batch_size=64 opt=adam\n"
		"run a epoch 1/2: train_loss=1.5 val_accuracy=0.4 (12.3s)\n"
		"run a epoch 2/2: train_loss=1.2 val_accuracy=0.35 (3m20s)\n"
		"run a finished: 2 epochs in 3m20s, best val_accuracy=0.4\n"
		"run b started\n"
		"run b failed: 1 epoch in 5.0s: out of memory\n"
		"run c started\n"
		"run c stopped: 0 epochs in 1h02m\n"
		"run d started\n"
		"run d epoch 1/3: train_loss=1.5 val_accuracy=0.4 (1.0s)\n"
		"run d stopped: 1 epoch in 1.0s, best val_accuracy=0.4 (hyperband: "
		"val_accuracy at epoch 1 is worse than the band's threshold)\n"
		"run e started\n"
		"run e killed: 0 epochs in 0.5s (interrupted twice: aborted)\n"
		"sweep: alert: [WARN] x\n");
	free(buf);
	json_decref(params);
}

static void test_live_view_exact(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;
	struct sw_kv e1[] = { { "val_accuracy", 0.4 } };

	(void)state;
	fake_now = 0;
	open_view(&p, &f, &buf, &len, 1, 100);
	assert_int_equal(p.live, 1);
	sw_progress_run_start(&p, "a", NULL, 2, 100);
	fake_now = 0.05;
	sw_progress_batch(&p, "a", 1, 50, 0);    /* too soon: no redraw */
	fake_now = 10;
	sw_progress_batch(&p, "a", 1, 50, 0);
	fake_now = 20;
	sw_progress_epoch(&p, "a", 1, e1, 1);
	fake_now = 40;
	sw_progress_run_end(&p, "a", SW_RUN_FINISHED, NULL, 2, 40);
	sw_progress_release(&p);
	fclose(f);
	assert_string_equal(buf,
		/* run start */
		"\r1 running, 0 finished, 0 failed, 0 stopped, 0 killed\x1b[K\n"
		"\ra [....................] ep 1/2 b 0/100 ETA ?\x1b[K\n"
		/* batch 50 of epoch 1 at t=10: a quarter done */
		"\x1b[2A"
		"\r1 running, 0 finished, 0 failed, 0 stopped, 0 killed\x1b[K\n"
		"\ra [#####...............] ep 1/2 b 50/100 ETA 30.0s\x1b[K\n"
		/* epoch 1 ends at t=20 */
		"\x1b[2A"
		"\r1 running, 0 finished, 0 failed, 0 stopped, 0 killed"
		" | best val_accuracy 0.4 (a)\x1b[K\n"
		"\ra [##########..........] ep 2/2 b 0/100 ETA 20.0s val_accuracy 0.4\x1b[K\n"
		/* run end: the block is erased, the line printed, the block redrawn */
		"\x1b[2A\r\x1b[J"
		"run a finished: 2 epochs in 40.0s, best val_accuracy=0.4\n"
		"\r0 running, 1 finished, 0 failed, 0 stopped, 0 killed"
		" | best val_accuracy 0.4 (a)\x1b[K\n"
		/* release erases the block */
		"\x1b[1A\r\x1b[J");
	free(buf);
}

/* Checks that no drawn line is longer than width - 1 columns. */
static void assert_lines_fit(const char *buf, int width)
{
	const char *p = buf;

	while ((p = strchr(p, '\r'))) {
		const char *end = strstr(p, "\x1b[K");

		p++;
		if (!end || memchr(p, '\n', (size_t)(end - p)))
			continue;
		if (end - p > width - 1)
			fail_msg("line of %d columns for width %d: %.*s", (int)(end - p), width,
				 (int)(end - p), p);
	}
}

static void test_live_rate_limit_and_width(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL, *q;
	size_t len = 0;
	int i, draws = 0;

	(void)state;
	fake_now = 0;
	open_view(&p, &f, &buf, &len, 1, 30);
	sw_progress_run_start(&p, "abcdefgh", NULL, 1, 1000);
	sw_progress_run_start(&p, "ijklmnop", NULL, 1, 1000);
	/* 1000 batch updates over 1 s of fake time: about 10 redraws */
	for (i = 1; i <= 1000; i++) {
		fake_now = i * 0.001;
		sw_progress_batch(&p, i % 2 ? "abcdefgh" : "ijklmnop", 1, i, 0);
	}
	sw_progress_log(&p, "a message");
	sw_progress_release(&p);
	fclose(f);
	for (q = buf; (q = strstr(q, "running, ")); q++)
		draws++;
	/* 2 run starts, ~10 rate-limited redraws, 1 after the log line */
	assert_true(draws >= 12 && draws <= 14);
	assert_lines_fit(buf, 30);
	assert_non_null(strstr(buf, "\r\x1b[Ja message\n"));
	free(buf);
}

/* A trial started without a batch count (the controller does not know it):
 * the first epoch's batches give it, and the ETA never grows while a trial
 * waits inside an epoch. */
static void test_live_unknown_batches(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;
	struct sw_kv e1[] = { { "val_accuracy", 0.4 } };

	(void)state;
	fake_now = 0;
	open_view(&p, &f, &buf, &len, 1, 100);
	sw_progress_run_start(&p, "a", NULL, 3, 0);
	fake_now = 5;
	sw_progress_batch(&p, "a", 1, 4, 0);
	fake_now = 10;
	sw_progress_batch(&p, "a", 1, 8, 0);
	sw_progress_epoch(&p, "a", 1, e1, 1);   /* 8 batches an epoch, 10 s */
	fake_now = 12.5;
	sw_progress_batch(&p, "a", 2, 2, 0);
	sw_progress_release(&p);
	fclose(f);
	assert_non_null(strstr(buf, "a [....................] ep 1/3 ETA ?\x1b[K\n"));
	assert_non_null(strstr(buf, "a [#######.............] ep 2/3 b 0/8 ETA 20.0s "
			   "val_accuracy 0.4\x1b[K\n"));
	assert_non_null(strstr(buf, "a [########............] ep 2/3 b 2/8 ETA 17.5s "
			   "val_accuracy 0.4\x1b[K\n"));
	free(buf);
}

/* A trainer that knows its batches per epoch says so with each batch: the
 * bar moves inside the first epoch already. */
static void test_live_batches_given_with_batch(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	fake_now = 0;
	open_view(&p, &f, &buf, &len, 1, 100);
	sw_progress_run_start(&p, "a", NULL, 3, 0);
	fake_now = 5;
	sw_progress_batch(&p, "a", 1, 6, 12);
	sw_progress_release(&p);
	fclose(f);
	assert_non_null(strstr(buf, "ep 1/3 b 6/12 ETA 25.0s"));
	free(buf);
}

/* A program trial reports no batches at all: whole epochs at their mean
 * duration, less the time spent in the current one. */
static void test_live_no_batches_eta(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;
	struct sw_kv e1[] = { { "val_accuracy", 0.4 } };

	(void)state;
	fake_now = 0;
	open_view(&p, &f, &buf, &len, 1, 100);
	p.cfg.min_interval_s = 0.01;
	sw_progress_run_start(&p, "a", NULL, 3, 0);
	fake_now = 10;
	sw_progress_epoch(&p, "a", 1, e1, 1);
	fake_now = 14;
	sw_progress_log(&p, "tick");          /* redraws the block */
	fake_now = 40;
	sw_progress_log(&p, "late");          /* over the estimate: 0, not more */
	sw_progress_release(&p);
	fclose(f);
	assert_non_null(strstr(buf, "ep 2/3 ETA 20.0s val_accuracy 0.4"));
	assert_non_null(strstr(buf, "ep 2/3 ETA 16.0s val_accuracy 0.4"));
	assert_non_null(strstr(buf, "ep 2/3 ETA 0.0s val_accuracy 0.4"));
	free(buf);
}

/* The alert sender may print after the view is gone (sweep run releases
 * the view before the alerts drain): a plain line, never a crash. */
static void test_log_after_release(void **state)
{
	struct sw_progress p;
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	open_view(&p, &f, &buf, &len, 1, 100);
	sw_progress_release(&p);
	sw_progress_console(&p, "sweep: warning: late");
	fclose(f);
	assert_string_equal(buf, "sweep: warning: late\n");
	free(buf);
	memset(&p, 0, sizeof(p));
	sw_progress_console(&p, "sweep: warning: to stderr");
}

static void test_summary_table(void **state)
{
	json_t *runs = json_loads("["
		"{\"id\":\"r1\",\"state\":\"finished\",\"params\":{\"lr\":0.01,\"bs\":64},"
		" \"summary\":{\"val_accuracy\":0.5,\"best\":{\"name\":\"val_accuracy\",\"value\":0.61}},"
		" \"epochs\":5,\"runtime_s\":192.4},"
		"{\"id\":\"r2\",\"state\":\"failed\",\"params\":{\"lr\":0.1,\"bs\":32},"
		" \"summary\":{},\"epochs\":1,\"runtime_s\":3.5,\"reason\":\"boom\"},"
		"{\"id\":\"r3\",\"state\":\"stopped\",\"params\":{\"lr\":0.001,\"bs\":128},"
		" \"summary\":{\"val_accuracy\":0.7},\"epochs\":2,\"runtime_s\":61}]", 0, NULL);
	char *buf = NULL, *before;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(runs);
	before = json_dumps(runs, JSON_COMPACT);
	sw_progress_summary(f, runs, "val_accuracy", 1, 2, "results/x");
	fclose(f);
	assert_string_equal(buf,
		"top 2 of 3 runs by val_accuracy (maximize):\n"
		"  rank  run       state     val_accuracy  epochs  runtime  params\n"
		"  1     r3        stopped   0.7           2       1m01s    lr=0.001 bs=128\n"
		"  2     r1        finished  0.61          5       3m12s    lr=0.01 bs=64\n"
		"best configuration (run r3, val_accuracy 0.7):\n"
		"  lr: 0.001\n"
		"  bs: 128\n"
		"results: results/x\n");
	free(buf);
	/* the caller's array is not reordered */
	buf = json_dumps(runs, JSON_COMPACT);
	assert_string_equal(buf, before);
	free(buf);
	free(before);

	/* minimize, all shown */
	buf = NULL;
	f = open_memstream(&buf, &len);
	sw_progress_summary(f, runs, "val_accuracy", 0, 0, NULL);
	fclose(f);
	assert_non_null(strstr(buf, "top 3 of 3 runs by val_accuracy (minimize):\n"));
	assert_non_null(strstr(buf, "  1     r1 "));
	assert_non_null(strstr(buf, "  3     r2        failed    -    "));
	assert_non_null(strstr(buf, "best configuration (run r1, val_accuracy 0.61):\n"));
	assert_null(strstr(buf, "results:"));
	free(buf);
	json_decref(runs);

	/* nothing recorded */
	buf = NULL;
	f = open_memstream(&buf, &len);
	runs = json_array();
	sw_progress_summary(f, runs, "val_accuracy", 1, 5, "r");
	fclose(f);
	assert_string_equal(buf, "no runs were recorded\nresults: r\n");
	free(buf);
	json_decref(runs);
}

static void test_format_helpers(void **state)
{
	char d[32], *s;
	json_t *params = json_pack("{s:[i,i], s:b, s:n, s:s}", "layers", 1, 2, "bn", 1,
				   "none", "act", "relu");

	(void)state;
	assert_string_equal(sw_format_duration(d, sizeof(d), 0), "0.0s");
	assert_string_equal(sw_format_duration(d, sizeof(d), 59.94), "59.9s");
	assert_string_equal(sw_format_duration(d, sizeof(d), 60), "1m00s");
	assert_string_equal(sw_format_duration(d, sizeof(d), 3599), "59m59s");
	assert_string_equal(sw_format_duration(d, sizeof(d), 7260), "2h01m");
	assert_string_equal(sw_format_duration(d, sizeof(d), -1), "?");
	s = sw_format_params(params);
	assert_string_equal(s, "layers=[1,2] bn=true none=null act=relu");
	free(s);
	s = sw_format_params(NULL);
	assert_string_equal(s, "");
	free(s);
	json_decref(params);
}

struct trial_arg {
	struct sw_progress *p;
	char id[8];
};

static void *trial(void *ctx)
{
	struct trial_arg *a = ctx;
	int e, b;

	sw_progress_run_start(a->p, a->id, NULL, 3, 50);
	for (e = 1; e <= 3; e++) {
		struct sw_kv m = { "val_accuracy", 0.1 * e };

		for (b = 1; b <= 50; b++)
			sw_progress_batch(a->p, a->id, e, b, 0);
		sw_progress_epoch(a->p, a->id, e, &m, 1);
	}
	sw_progress_run_end(a->p, a->id, SW_RUN_FINISHED, NULL, 3, 1.0);
	return NULL;
}

static void test_threads(void **state)
{
	struct sw_progress_config cfg = SW_PROGRESS_CONFIG_INIT;
	struct sw_progress p;
	struct trial_arg args[4];
	pthread_t th[4];
	char *buf = NULL, id[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	(void)state;
	cfg.out = f;
	cfg.tty = 1;
	cfg.width = 120;
	cfg.metric = "val_accuracy";
	cfg.maximize = 1;
	cfg.min_interval_s = 0.001;
	assert_int_equal(sw_progress_init(&p, &cfg, NULL), 0);
	for (i = 0; i < 4; i++) {
		args[i].p = &p;
		snprintf(args[i].id, sizeof(args[i].id), "t%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, trial, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(p.ended[SW_RUN_FINISHED], 4);
	assert_null(p.trials);
	sw_progress_release(&p);
	fclose(f);
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "run t%d finished: 3 epochs", i);
		assert_non_null(strstr(buf, id));
	}
	assert_non_null(strstr(buf, "best val_accuracy 0.3 (t"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_lines),
		cmocka_unit_test(test_live_view_exact),
		cmocka_unit_test(test_live_rate_limit_and_width),
		cmocka_unit_test(test_live_unknown_batches),
		cmocka_unit_test(test_live_batches_given_with_batch),
		cmocka_unit_test(test_live_no_batches_eta),
		cmocka_unit_test(test_log_after_release),
		cmocka_unit_test(test_summary_table),
		cmocka_unit_test(test_format_helpers),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
