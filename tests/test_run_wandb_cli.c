/* test_run_wandb_cli.c - `sweep run` of an unchanged wandb script (the
 * stand-in wandb package of tests/wandb_standin on the user's PYTHONPATH),
 * with WANDB_BASE_URL on a closed port and an API key set: a grid sweep
 * whose runs finish with exactly the logged values, live and from the run
 * file (summary, history), wandb.alert in alerts.jsonl and at the
 * webhook, the offline run
 * directories under the sweep's results; a hyperband sweep that stops runs
 * while they train; a script that crashes before wandb.init(); a program
 * that is not Python whose run file (the real SDK's, from
 * tests/wandb_offline) is its whole record. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "support/hook_server.h"
#include "support/support.h"

static char *tmp;
static char env_home[4200], env_xdg[4200], env_pp[4200], env_url[64];
static char env_fix[4200];
static const char *env[] = { "SWEEP_ALERT_WEBHOOK=", "WANDB_AGENT_KILL_DELAY=3",
			     "WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567",
			     "WANDB_MODE=online", "WANDB_DIR=", env_home, env_xdg,
			     env_pp, env_url, env_fix, NULL };

/* val_loss = lr * 10 / (epoch + 1), logged once per epoch with a nested
 * dict and a string; an alert at epoch 1; a summary value of its own. */
static const char train_py[] =
"import time\n"
"import wandb\n"
"run = wandb.init(project='offline-e2e', config={'lr': 0.01, 'epochs': 3, 'sleep': 0.0})\n"
"cfg = wandb.config\n"
"for epoch in range(cfg.epochs):\n"
"    time.sleep(cfg.sleep)\n"
"    loss = cfg.lr * 10 / (epoch + 1)\n"
"    wandb.log({'epoch': epoch, 'val_loss': loss, 'val': {'acc': 1 - loss / 10},\n"
"               'note': 'text'})\n"
"    if epoch == 1:\n"
"        wandb.alert(title='halfway', text='val_loss %r' % loss,\n"
"                    level=wandb.AlertLevel.WARN)\n"
"run.summary['final_note'] = 7\n"
"wandb.finish()\n";

/* sweep run YAML --parallel 1 --results RES [--alert-webhook URL] */
static int run_sweep_hook(struct sw_test_proc *p, const char *yaml, const char *res,
			  const char *webhook)
{
	char *sweep = sw_test_pathf(tmp, "%s", yaml), *results = sw_test_pathf(tmp, "%s", res);
	const char *argv[] = { sw_test_bin(), "run", sweep, "--parallel", "1",
			       "--results", results, webhook ? "--alert-webhook" : NULL,
			       webhook, NULL };
	int rc = sw_test_run(p, argv, NULL, env, 120);

	free(sweep);
	free(results);
	return rc;
}

static int run_sweep(struct sw_test_proc *p, const char *yaml, const char *res)
{
	return run_sweep_hook(p, yaml, res, NULL);
}

static char *results_dir(const char *sub)
{
	char *pat = sw_test_pathf(tmp, "%s/*/meta.json", sub), *dir;
	glob_t g;

	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	dir = strdup(g.gl_pathv[0]);
	*strrchr(dir, '/') = '\0';
	globfree(&g);
	free(pat);
	return dir;
}

static json_t *load_jsonl(const char *dir, const char *name)
{
	char *p = NULL, *text;
	json_t *arr = json_array();
	const char *line;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	text = sw_test_read_file(p, NULL);
	assert_non_null(text);
	for (line = text; *line;) {
		const char *nl = strchr(line, '\n');
		json_t *o = json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);

		assert_non_null(o);
		json_array_append_new(arr, o);
		line = nl ? nl + 1 : line + strlen(line);
	}
	free(text);
	free(p);
	return arr;
}

static double num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* The history of run r: one row per wandb.log with the logged values,
 * bit for bit. */
static void check_history(const char *dir, const json_t *r, int64_t rows,
			  int from_file)
{
	const char *id = json_string_value(json_object_get(r, "id"));
	double lr = num(json_object_get(r, "params"), "lr");
	char *name = NULL;
	json_t *hist;
	int64_t e;

	assert_true(asprintf(&name, "runs/%s/history.jsonl", id) > 0);
	hist = load_jsonl(dir, name);
	assert_int_equal(json_array_size(hist), rows);
	for (e = 0; e < rows; e++) {
		json_t *row = json_array_get(hist, (size_t)e);
		double loss = lr * 10 / (double)(e + 1);

		assert_true(num(row, "val_loss") == loss);
		assert_true(num(row, "val.acc") == 1 - loss / 10);
		assert_true(num(row, "epoch") == (double)e);
		assert_int_equal(json_integer_value(json_object_get(row, "_step")), e);
		/* the run file's integer, not the live double */
		if (from_file)
			assert_true(json_is_integer(json_object_get(row, "epoch")));
		assert_null(json_object_get(row, "note"));
	}
	json_decref(hist);
	free(name);
}

static void test_grid_offline_with_closed_server(void **state)
{
	struct sw_test_proc p;
	struct sw_hook_server *hook = sw_hook_server_start(SW_HOOK_OK, 0);
	char *dir, *req;
	json_t *runs, *alerts;
	size_t i, n_alerts = 0;
	int k, n_posts = 0;

	(void)state;
	assert_non_null(hook);
	sw_test_put(tmp, "grid.yaml",
	    "name: wb-grid\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.1, 0.03, 0.01]}\n  epochs: {value: 3}\n");
	assert_int_equal(run_sweep_hook(&p, "grid.yaml", "res-grid", sw_hook_server_url(hook)),
			 0);
	if (p.status != 0)
		fprintf(stderr, "%s\n%s\n", p.out, p.err);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "top 3 of 3 runs by val_loss"));
	assert_null(strstr(p.err, "timed out"));
	dir = results_dir("res-grid");
	runs = load_jsonl(dir, "runs.jsonl");
	assert_int_equal(json_array_size(runs), 3);
	for (i = 0; i < 3; i++) {
		json_t *r = json_array_get(runs, i);
		json_t *sum = json_object_get(r, "summary");
		double lr = num(json_object_get(r, "params"), "lr");
		const char *id = json_string_value(json_object_get(r, "id"));
		char *pat = NULL;
		glob_t g;

		assert_string_equal(json_string_value(json_object_get(r, "state")), "finished");
		assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 3);
		assert_true(num(sum, "val_loss") == lr * 10 / 3);
		/* set with run.summary[...]: only the run file has it */
		assert_int_equal(json_integer_value(json_object_get(sum, "final_note")), 7);
		assert_true(num(json_object_get(sum, "best"), "value") == lr * 10 / 3);
		check_history(dir, r, 3, 1);
		/* the offline run directory, for `wandb sync` later */
		assert_true(asprintf(&pat, "%s/runs/%s/wandb/offline-run-*-%s/run-%s.wandb",
				     dir, id, id, id) > 0);
		assert_int_equal(glob(pat, 0, NULL, &g), 0);
		assert_int_equal(g.gl_pathc, 1);
		globfree(&g);
		free(pat);
	}
	/* each run's wandb.alert is one of the sweep's alerts */
	alerts = load_jsonl(dir, "alerts.jsonl");
	for (i = 0; i < json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i);

		if (strcmp(json_string_value(json_object_get(a, "when")), "wandb.alert"))
			continue;
		n_alerts++;
		assert_string_equal(json_string_value(json_object_get(a, "rule")), "halfway");
		assert_string_equal(json_string_value(json_object_get(a, "level")), "WARN");
		assert_int_equal(json_integer_value(json_object_get(a, "epoch")), 2);
		assert_non_null(strstr(json_string_value(json_object_get(a, "text")),
				       "val_loss "));
	}
	assert_int_equal(n_alerts, 3);
	assert_int_equal(sw_test_count_lines(p.err, "sweep: alert: [WARN] halfway: run "), 3);
	/* and at the webhook */
	for (k = 0; k < sw_hook_server_count(hook); k++) {
		req = sw_hook_server_request(hook, k);
		if (req && strstr(req, "[WARN] halfway: run "))
			n_posts++;
		free(req);
	}
	assert_int_equal(n_posts, 3);
	sw_hook_server_stop(hook);
	json_decref(alerts);
	json_decref(runs);
	free(dir);
	sw_test_proc_release(&p);
}

static void test_hyperband_stops_wandb_runs_while_they_train(void **state)
{
	struct sw_test_proc p;
	char *dir;
	json_t *runs;
	size_t i;
	int stopped = 0, finished = 0;

	(void)state;
	/* one at a time: the best run goes first and sets the bands; the
	 * worse ones are stopped early, mid-training */
	sw_test_put(tmp, "hb.yaml",
	    "name: wb-hb\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n"
	    "parameters:\n  lr: {values: [0.001, 0.5, 1.0]}\n  epochs: {value: 6}\n"
	    "  sleep: {value: 0.3}\n");
	assert_int_equal(run_sweep(&p, "hb.yaml", "res-hb"), 0);
	if (p.status != 0)
		fprintf(stderr, "%s\n%s\n", p.out, p.err);
	assert_int_equal(p.status, 0);
	dir = results_dir("res-hb");
	runs = load_jsonl(dir, "runs.jsonl");
	assert_int_equal(json_array_size(runs), 3);
	for (i = 0; i < 3; i++) {
		json_t *r = json_array_get(runs, i);
		const char *st = json_string_value(json_object_get(r, "state"));
		int64_t epochs = json_integer_value(json_object_get(r, "epochs"));

		if (!strcmp(st, "stopped")) {
			stopped++;
			assert_true(epochs >= 1 && epochs < 6);
			assert_non_null(strstr(json_string_value(json_object_get(r, "reason")),
					       "hyperband"));
		} else {
			assert_string_equal(st, "finished");
			assert_int_equal(epochs, 6);
			finished++;
		}
		/* a stopped run was killed before wandb wrote its file */
		check_history(dir, r, epochs, !strcmp(st, "finished"));
	}
	assert_int_equal(finished, 1);
	assert_int_equal(stopped, 2);
	json_decref(runs);
	free(dir);
	sw_test_proc_release(&p);
}

/* A script that dies before wandb.init(): a failed program run as today. */
static void test_crash_before_init_fails_the_run(void **state)
{
	struct sw_test_proc p;
	char *dir;
	json_t *runs, *r;

	(void)state;
	sw_test_put(tmp, "crash.py", "import wandb\nraise SystemExit('no data here')\n");
	sw_test_put(tmp, "crash.yaml",
	    "name: wb-crash\nprogram: crash.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.1]}\n");
	assert_int_equal(run_sweep(&p, "crash.yaml", "res-crash"), 0);
	dir = results_dir("res-crash");
	runs = load_jsonl(dir, "runs.jsonl");
	assert_int_equal(json_array_size(runs), 1);
	r = json_array_get(runs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "state")), "failed");
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")),
			       "exited with code 1"));
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")),
			       "no data here"));
	assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 0);
	json_decref(runs);
	free(dir);
	sw_test_proc_release(&p);
}

/* A program that is not Python and reports nothing live, but leaves a run
 * file (one the real SDK wrote): history, summary and exit code come from
 * it; exit code 1 there fails the run although the program exited 0. */
static void test_run_file_is_the_record(void **state)
{
	struct sw_test_proc p;
	char *dir, *name = NULL, *yaml = NULL;
	json_t *runs, *hist;
	size_t i;
	int seen = 0;

	(void)state;
	/* "cut": many_steps cut mid-record at byte 100,003, a killed run's */
	sw_test_put(tmp, "copy.sh",
	    "f=${1#fixture=}\n"
	    "d=\"$WANDB_DIR/wandb/offline-run-20260101_000000-$WANDB_RUN_ID\"\n"
	    "mkdir -p \"$d\" || exit 1\n"
	    "if [ \"$f\" = cut ]; then\n"
	    "  head -c 100003 \"$FIXTURES/many_steps/run.wandb\" > \"$d/run-$WANDB_RUN_ID.wandb\"\n"
	    "else\n"
	    "  cp \"$FIXTURES/$f/run.wandb\" \"$d/run-$WANDB_RUN_ID.wandb\"\n"
	    "fi\n");
	assert_true(asprintf(&yaml, "name: wb-file\nmethod: grid\n"
			     "command: [/bin/sh, %s/copy.sh, \"${args_no_hyphens}\"]\n"
			     "metric: {name: val_loss, goal: minimize}\n"
			     "parameters:\n  fixture: {values: [basic_epochs, crash, cut]}\n",
			     tmp) > 0);
	sw_test_put(tmp, "file.yaml", yaml);
	free(yaml);
	assert_int_equal(run_sweep(&p, "file.yaml", "res-file"), 0);
	if (p.status != 0)
		fprintf(stderr, "%s\n%s\n", p.out, p.err);
	assert_int_equal(p.status, 0);
	dir = results_dir("res-file");
	runs = load_jsonl(dir, "runs.jsonl");
	assert_int_equal(json_array_size(runs), 3);
	for (i = 0; i < 3; i++) {
		json_t *r = json_array_get(runs, i);
		json_t *sum = json_object_get(r, "summary");
		const char *fx = json_string_value(json_object_get(json_object_get(r, "params"),
								   "fixture"));
		const char *st = json_string_value(json_object_get(r, "state"));

		free(name);
		assert_true(asprintf(&name, "runs/%s/history.jsonl",
				     json_string_value(json_object_get(r, "id"))) > 0);
		hist = load_jsonl(dir, name);
		if (!strcmp(fx, "basic_epochs")) {
			seen |= 1;
			assert_string_equal(st, "finished");
			assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 5);
			assert_int_equal(json_array_size(hist), 5);
			assert_true(num(json_array_get(hist, 4), "val_loss") == 1.1599837863778304);
			assert_true(num(sum, "val_loss") == 1.1599837863778304);
			assert_true(num(sum, "best_val_accuracy") == 0.549278328342204);
		} else if (!strcmp(fx, "cut")) {
			/* every intact row; one warning naming the file and offset */
			seen |= 4;
			assert_string_equal(st, "finished");
			assert_int_equal(json_array_size(hist), 179);
			assert_int_equal(json_integer_value(json_object_get(
				json_array_get(hist, 178), "_step")), 178);
			assert_int_equal(sw_test_count_lines(p.err, "sweep: warning: run "), 1);
			assert_non_null(strstr(p.err, "byte 99864"));
		} else {
			seen |= 2;
			assert_string_equal(st, "failed");
			assert_non_null(strstr(json_string_value(json_object_get(r, "reason")),
					       "exit code 1"));
			assert_int_equal(json_array_size(hist), 3);
			assert_true(num(sum, "val_loss") == 0.8);
		}
		json_decref(hist);
	}
	assert_int_equal(seen, 7);
	/* ranked by wandb's summary value */
	assert_non_null(strstr(p.out, "val_loss"));
	free(name);
	json_decref(runs);
	free(dir);
	sw_test_proc_release(&p);
}

/* A port on 127.0.0.1 that nothing listens on. */
static int closed_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return 9;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int setup(void **state)
{
	char standin[PATH_MAX], fixtures[PATH_MAX];

	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp || !realpath("tests/wandb_standin", standin) ||
	    !realpath("tests/wandb_offline", fixtures))
		return -1;
	snprintf(env_fix, sizeof(env_fix), "FIXTURES=%s", fixtures);
	snprintf(env_home, sizeof(env_home), "HOME=%s", tmp);
	snprintf(env_xdg, sizeof(env_xdg), "XDG_CACHE_HOME=%s/cache", tmp);
	/* the user's own PYTHONPATH (where "wandb" is installed) is kept */
	snprintf(env_pp, sizeof(env_pp), "PYTHONPATH=%s", standin);
	snprintf(env_url, sizeof(env_url), "WANDB_BASE_URL=http://127.0.0.1:%d",
		 closed_port());
	sw_test_put(tmp, "train.py", train_py);
	sw_test_put(tmp, ".netrc", "machine 127.0.0.1\n  login user\n  password 0123456789\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(tmp);
	free(tmp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_offline_with_closed_server),
		cmocka_unit_test(test_hyperband_stops_wandb_runs_while_they_train),
		cmocka_unit_test(test_crash_before_init_fails_the_run),
		cmocka_unit_test(test_run_file_is_the_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
