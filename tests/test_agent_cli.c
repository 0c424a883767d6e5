/* test_agent_cli.c - end-to-end `sweep agent` against the fake wandb server
 * (tests/fake_wandb.py) on tiny generated CIFAR-format data: a full cycle
 * with several runs in parallel, stops (heartbeat `stop` and file_stream
 * "stopped": true), faults throughout with nothing lost, wrong key, unknown
 * sweep, offline mode and the "server unreachable at start" fallback, the
 * local controller, usage errors, and the API key never printed; a server
 * answering as wandb's historical mock server (lower-case state, fixed ids,
 * no project for the sweep), alerts of parallel runs to their run's
 * project, and no gate on the sweep's state. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/fake_wandb.h"
#include "support/support.h"

#define SWEEP_NAME "sw12ab34"
#define LONG_EPOCHS 150

static char *data_dir;      /* generated once for the whole binary */

static const char sweep_yaml[] =
	"method: random\n"
	"metric:\n  name: val_loss\n  goal: minimize\n"
	"parameters:\n"
	"  learning_rate:\n    min: 0.001\n    max: 0.01\n"
	"  conv1_filters:\n    value: 4\n"
	"  conv2_filters:\n    value: 8\n"
	"  dense_units:\n    value: 16\n"
	"  epochs:\n    value: 2\n"
	"  train_limit:\n    value: 128\n"
	"  val_limit:\n    value: 64\n"
	"  batch_size:\n    value: 64\n";

/* Value-wrapped run arguments for the tiny model. */
static char *run_args(double lr, int epochs)
{
	char *s = NULL;

	assert_true(asprintf(&s, "{\"learning_rate\": {\"value\": %g}, \"conv1_filters\": "
			     "{\"value\": 4}, \"conv2_filters\": {\"value\": 8}, \"dense_units\": "
			     "{\"value\": 16}, \"epochs\": {\"value\": %d}, \"train_limit\": "
			     "{\"value\": 128}, \"val_limit\": {\"value\": 64}, \"batch_size\": "
			     "{\"value\": 64}}", lr, epochs) > 0);
	return s;
}

/* The fake's config: the sweep plus extra members (text, may be ""). */
static char *server_config(const char *extra, const char *yaml)
{
	json_t *c = json_object(), *sweeps = json_object();
	char *text, *full = NULL;

	json_object_set_new(sweeps, SWEEP_NAME, json_pack("{s:s,s:s,s:s}", "entity", "alice",
							   "project", "proj", "config",
							   yaml ? yaml : sweep_yaml));
	json_object_set_new(c, "sweeps", sweeps);
	text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	/* splice extra members in before the closing brace */
	text[strlen(text) - 1] = '\0';
	assert_true(asprintf(&full, "%s%s%s}", text, extra && *extra ? ", " : "",
			     extra ? extra : "") > 0);
	free(text);
	return full;
}

static int start_server(struct sw_fake_wandb *fw, const char *extra, const char *yaml)
{
	char *c = server_config(extra, yaml);
	int rc = sw_fake_wandb_start(fw, c);

	free(c);
	return rc;
}

struct env {
	struct sw_fake_env w;
	char results[512];
};

static void env_init(struct env *e, const char *base_url, const char *key)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(sw_fake_env_init(&e->w, base_url, key, 6), 0);
	snprintf(e->results, sizeof(e->results), "%s/results", e->w.tmp);
	e->w.vars[e->w.n++] = strdup("SWEEP_ALERT_WEBHOOK=");
	e->w.vars[e->w.n++] = strdup("SWEEP_AGENT_HEARTBEAT=0.1");
	e->w.vars[e->w.n++] = strdup("OMP_NUM_THREADS=1");
}

/* The fake server's "commands": one run of the sweep, its id and args
 * given (caller frees). */
static char *one_run(const char *run_id, const char *args)
{
	char *s = NULL;

	assert_true(asprintf(&s, "\"commands\": {\"" SWEEP_NAME "\": [{\"type\": \"run\", "
			     "\"run_id\": \"%s\", \"args\": %s}]}", run_id, args) > 0);
	return s;
}

/* Starts `sweep agent` of the sweep in the background with the env, its
 * output dropped; returns its pid. */
static pid_t spawn_agent(struct env *e)
{
	const char *const args[] = { "agent", "alice/proj/" SWEEP_NAME, "--data", data_dir,
				     "--results", e->results, NULL };

	return sw_test_spawn_files(args, (const char *const *)e->w.vars, NULL,
				   "/dev/null", "/dev/null");
}

/* What the fake server recorded (caller frees), asserting that it saw no
 * violation of the protocol. */
static json_t *checked_record(struct sw_fake_wandb *fw)
{
	json_t *rec = sw_fake_wandb_record(fw);

	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	return rec;
}

/* The fake wandb server (start_server) and an agent environment with the
 * right key pointed at it. */
static void start_fake(struct sw_fake_wandb *fw, struct env *e, const char *extra,
		       const char *yaml)
{
	assert_int_equal(start_server(fw, extra, yaml), 0);
	env_init(e, fw->url, SW_FAKE_WANDB_KEY);
}

/* Frees the environment and stops the server. */
static void stop_fake(struct sw_fake_wandb *fw, struct env *e)
{
	sw_fake_env_free(&e->w);
	sw_fake_wandb_stop(fw);
}

/* Runs `sweep agent ARGS... --data D --results R` with the env. */
static void run_agent(struct sw_test_proc *p, struct env *e, ...)
{
	const char *argv[24];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = sw_test_bin();
	argv[n++] = "agent";
	va_start(ap, e);
	while ((a = va_arg(ap, const char *)) && n < 18)
		argv[n++] = a;
	va_end(ap);
	argv[n++] = "--data";
	argv[n++] = data_dir;
	argv[n++] = "--results";
	argv[n++] = e->results;
	argv[n] = NULL;
	assert_int_equal(sw_test_run(p, argv, NULL, (const char *const *)e->w.vars, 90), 0);
	/* whatever happened, the key is never shown */
	assert_null(strstr(p->out, SW_FAKE_WANDB_KEY));
	assert_null(strstr(p->err, SW_FAKE_WANDB_KEY));
	assert_null(strstr(p->out, "YXBpOmZha2Vr"));  /* base64("api:fakek") */
	assert_null(strstr(p->err, "YXBpOmZha2Vr"));
}

/* The one results directory under e->results (a new string). */
static char *results_dir(struct env *e)
{
	DIR *d = opendir(e->results);
	struct dirent *de;
	char *found = NULL;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			free(found);
			assert_true(asprintf(&found, "%s/%s", e->results, de->d_name) > 0);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
	return found;
}

static json_t *load_json(const char *dir, const char *name)
{
	char path[1024];
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	return j;
}

static int count_file_lines(const char *dir, const char *name)
{
	char path[1024], *text;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = sw_test_read_file(path, NULL);
	assert_non_null(text);
	n = sw_test_count_lines(text, "\"id\"");
	free(text);
	return n;
}

/* Every run of the record that is in the sweep: complete, exit code,
 * history rows with _step 0..n-1 exactly once and the metrics. */
static void check_run(json_t *run, int epochs, int exitcode)
{
	json_t *hist = json_object_get(run, "history"), *row;
	size_t i;

	assert_true(json_is_true(json_object_get(run, "complete")));
	assert_int_equal(json_integer_value(json_object_get(run, "exitcode")), exitcode);
	if (epochs >= 0)
		assert_int_equal(json_array_size(hist), epochs);
	json_array_foreach(hist, i, row) {
		assert_int_equal(json_integer_value(json_object_get(row, "_step")), (json_int_t)i);
		assert_true(json_is_number(json_object_get(row, "_runtime")));
		assert_true(json_is_number(json_object_get(row, "_timestamp")));
		assert_true(json_is_number(json_object_get(row, "val_loss")));
		assert_true(json_is_number(json_object_get(row, "loss")));
		assert_true(json_is_number(json_object_get(row, "val_accuracy")));
	}
	if (json_array_size(hist))
		assert_true(json_is_number(json_object_get(json_object_get(run, "summary"),
							   "val_loss")));
	assert_string_equal(json_string_value(json_object_get(run, "sweep")), SWEEP_NAME);
	assert_int_equal(json_integer_value(json_object_get(run, "resent_lines")) >= 0, 1);
}

/* 1 when some line of text contains both a and b, a first. */
static int has_line(const char *text, const char *a, const char *b)
{
	const char *line = text, *end, *pa, *pb;

	while (line && *line) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		pa = strstr(line, a);
		pb = pa ? strstr(pa, b) : NULL;
		if (pa && pa < end && pb && pb < end)
			return 1;
		line = *end ? end + 1 : end;
	}
	return 0;
}

static void test_full_cycle(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *runs, *run, *agents, *agent, *hb, *cfg, *marker, *reqs, *req;
	/* the first two runs are long enough (many 0.1 s heartbeats each) to be
	 * live at the same time, even on an idle machine */
	char *a1 = run_args(0.005, LONG_EPOCHS), *a2 = run_args(0.002, LONG_EPOCHS / 3), *a3 = run_args(0.008, 2);
	char *extra = NULL, *dir;
	const char *k;
	size_t i;
	int max_live = 0;

	(void)state;
	assert_true(asprintf(&extra, "\"commands\": {\"" SWEEP_NAME "\": ["
			     "{\"type\": \"run\", \"args\": %s}, {\"type\": \"run\", \"args\": %s},"
			     "{\"type\": \"run\", \"args\": %s}]}", a1, a2, a3) > 0);
	start_fake(&fw, &e, extra, NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "3", "--parallel", "2", NULL);
	sw_test_expect_status(&p, 0);
	assert_null(strstr(p.err, "plain http"));
	assert_non_null(strstr(p.err, "agent done: 3 runs (0 failed)"));
	rec = checked_record(&fw);
	runs = json_object_get(rec, "runs");
	assert_int_equal(json_object_size(runs), 3);
	json_object_foreach(runs, k, run) {
		check_run(run, (int)json_integer_value(json_object_get(json_object_get(
			json_object_get(run, "config"), "epochs"), "value")), 0);
		/* joined with the issued id, the config value-wrapped */
		assert_string_equal(json_string_value(json_object_get(json_object_get(rec,
			"issued_runs"), k)), SWEEP_NAME);
		cfg = json_object_get(run, "config");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(cfg,
			"conv1_filters"), "value")), 4);
		assert_true(json_is_number(json_object_get(json_object_get(cfg, "learning_rate"),
							   "value")));
		assert_int_equal(json_integer_value(json_object_get(run, "resent_lines")), 0);
	}
	/* one agent; runState only ever {id: true}, two runs live at once */
	agents = json_object_get(rec, "agents");
	assert_int_equal(json_object_size(agents), 1);
	json_object_foreach(agents, k, agent) {
		assert_string_equal(json_string_value(json_object_get(agent, "sweep")), SWEEP_NAME);
		json_array_foreach(json_object_get(agent, "heartbeats"), i, hb)
			if ((int)json_object_size(hb) > max_live)
				max_live = (int)json_object_size(hb);
	}
	assert_int_equal(max_live, 2);
	/* every request authenticated; heartbeats carry JSON strings */
	reqs = json_object_get(rec, "requests");
	json_array_foreach(reqs, i, req) {
		const char *op = json_string_value(json_object_get(req, "op"));

		assert_true(json_is_true(json_object_get(req, "auth")));
		if (op && !strcmp(op, "Heartbeat")) {
			assert_true(json_is_string(json_object_get(json_object_get(req, "variables"),
								   "runState")));
			assert_true(json_is_string(json_object_get(json_object_get(req, "variables"),
								   "metrics")));
		}
	}
	assert_int_equal(sw_fake_wandb_requests(rec, "CreateAgent"), 1);
	assert_int_equal(sw_fake_wandb_requests(rec, "UpsertBucket"), 3);

	/* the local record: three ended runs, all marked as accepted by wandb */
	dir = results_dir(&e);
	assert_int_equal(count_file_lines(dir, "runs.jsonl"), 3);
	{
		static const char *files[] = { "meta.json", "runs.jsonl", "sweep.yaml",
					       "wandb-sync.json" };
		char path[1024], *text;

		for (i = 0; i < 4; i++) {   /* the key is in no file either */
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			text = sw_test_read_file(path, NULL);
			assert_non_null(text);
			assert_null(strstr(text, SW_FAKE_WANDB_KEY));
			free(text);
		}
	}
	marker = load_json(dir, "wandb-sync.json");
	assert_int_equal(json_object_size(json_object_get(marker, "runs")), 3);
	json_decref(marker);
	free(dir);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(a1);
	free(a2);
	free(a3);
}

static void test_stops(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *runs;
	char *long_args = run_args(0.005, 400), *extra = NULL, *dir, *text, path[1024];

	(void)state;
	/* run stopme01 gets a heartbeat `stop`; fsstop01 is stopped by the
	 * file_stream answer; then the agent is told to exit */
	assert_true(asprintf(&extra, "\"stop_runs\": [\"fsstop01\"], \"commands\": {\""
			     SWEEP_NAME "\": [{\"type\": \"run\", \"run_id\": \"stopme01\", "
			     "\"args\": %s}, {\"type\": \"stop\", \"run_id\": \"stopme01\"}, "
			     "{\"type\": \"stop\", \"run_id\": \"notmine1\"}, "
			     "{\"type\": \"bogus\"}, "
			     "{\"type\": \"run\", \"run_id\": \"fsstop01\", \"args\": %s}]}",
			     long_args, long_args) > 0);
	start_fake(&fw, &e, extra, NULL);
	run_agent(&p, &e, SWEEP_NAME, "--project", "proj", "--entity", "alice", "--count", "2",
		  NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "run stopme01: wandb asked to stop it"));
	assert_non_null(strstr(p.err, "run fsstop01: wandb asked to stop it"));
	assert_non_null(strstr(p.err, "wandb asked to stop run notmine1, which is not running"));
	assert_non_null(strstr(p.err, "unknown command 'bogus'"));
	rec = checked_record(&fw);
	runs = json_object_get(rec, "runs");
	assert_int_equal(json_object_size(runs), 2);
	/* stopped long before their 400 epochs, ended cleanly (exit code 0) */
	check_run(json_object_get(runs, "stopme01"), -1, 0);
	check_run(json_object_get(runs, "fsstop01"), -1, 0);
	assert_true(json_array_size(json_object_get(json_object_get(runs, "stopme01"),
						    "history")) < 400);
	assert_true(json_array_size(json_object_get(json_object_get(runs, "fsstop01"),
						    "history")) < 400);
	dir = results_dir(&e);
	snprintf(path, sizeof(path), "%s/runs.jsonl", dir);
	text = sw_test_read_file(path, NULL);
	assert_int_equal(sw_test_count_lines(text, "\"state\":\"stopped\""), 2);
	assert_int_equal(sw_test_count_lines(text, "stopped by wandb"), 2);
	free(text);
	free(dir);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(long_args);
}

static void test_faults_nothing_lost(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *runs, *run;
	char *a1 = run_args(0.005, 3), *a2 = run_args(0.002, 3), *a3 = run_args(0.007, 3);
	char *extra = NULL;
	const char *k;
	int resent = 0;

	(void)state;
	assert_true(asprintf(&extra, "\"commands\": {\"" SWEEP_NAME "\": ["
		"{\"type\": \"run\", \"args\": %s}, {\"type\": \"run\", \"args\": %s},"
		"{\"type\": \"run\", \"args\": %s}]}, \"exit_when_done\": false, \"faults\": ["
		" {\"op\": \"SweepWithRuns\", \"status\": 502},"
		" {\"op\": \"CreateAgent\", \"status\": 429, \"retry_after\": 0.05},"
		" {\"op\": \"Heartbeat\", \"skip\": 1, \"times\": 2, \"status\": 500},"
		" {\"op\": \"Heartbeat\", \"skip\": 4, \"action\": \"drop\"},"
		" {\"op\": \"UpsertBucket\", \"times\": 1, \"status\": 503},"
		" {\"op\": \"UpsertBucket\", \"skip\": 2, \"action\": \"drop_after\"},"
		" {\"op\": \"file_stream\", \"skip\": 1, \"times\": 2, \"status\": 500},"
		" {\"op\": \"file_stream\", \"skip\": 3, \"action\": \"drop_after\"},"
		" {\"op\": \"file_stream\", \"skip\": 5, \"action\": \"drop\"},"
		" {\"op\": \"file_stream\", \"skip\": 6, \"status\": 429, \"retry_after\": 0.1},"
		" {\"op\": \"file_stream\", \"skip\": 7, \"action\": \"slow\", \"delay\": 0.5},"
		" {\"op\": \"file_stream\", \"skip\": 8, \"action\": \"refuse\", \"seconds\": 1.5},"
		" {\"op\": \"file_stream\", \"skip\": 12, \"times\": 3, \"action\": \"drop_after\"}"
		"]", a1, a2, a3) > 0);
	start_fake(&fw, &e, extra, NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "3", "--parallel", "2", NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "retrying in"));
	/* file_stream retries are said as GraphQL retries are, naming the run */
	assert_true(has_line(p.err, "sweep: warning: run ", "/file_stream"));
	assert_true(has_line(p.err, "/file_stream", "; retrying in"));
	rec = checked_record(&fw);
	runs = json_object_get(rec, "runs");
	assert_int_equal(json_object_size(runs), 3);
	/* every step exactly once, every run complete */
	json_object_foreach(runs, k, run) {
		check_run(run, 3, 0);
		resent += (int)json_integer_value(json_object_get(run, "resent_lines"));
	}
	/* the answers lost after processing made the agent re-send lines, which
	 * the server took as overwrites, never as new lines */
	assert_true(resent > 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(a1);
	free(a2);
	free(a3);
}

static void test_failed_run_alert(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run, *alert;

	(void)state;
	/* a learning rate the trainer refuses: the run fails, wandb hears of it
	 * through exit code 1 and an ERROR alert */
	start_fake(&fw, &e, "\"commands\": {\"" SWEEP_NAME "\": [{\"type\": "
				      "\"run\", \"run_id\": \"badrun01\", \"args\": "
				      "{\"learning_rate\": {\"value\": -1}}}]}", NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "1", NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "run badrun01 failed"));
	assert_non_null(strstr(p.err, "learning_rate"));
	assert_non_null(strstr(p.err, "agent done: 1 run (1 failed)"));
	rec = checked_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), "badrun01");
	assert_true(json_is_true(json_object_get(run, "complete")));
	assert_true(json_integer_value(json_object_get(run, "exitcode")) != 0);
	assert_int_equal(json_array_size(json_object_get(run, "history")), 0);
	assert_int_equal(json_array_size(json_object_get(rec, "alerts")), 1);
	alert = json_array_get(json_object_get(rec, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(alert, "runName")), "badrun01");
	assert_string_equal(json_string_value(json_object_get(alert, "severity")), "ERROR");
	assert_string_equal(json_string_value(json_object_get(alert, "entityName")), "alice");
	assert_string_equal(json_string_value(json_object_get(alert, "projectName")), "proj");
	assert_int_equal(json_integer_value(json_object_get(alert, "waitDuration")), 60000);
	assert_non_null(strstr(json_string_value(json_object_get(alert, "text")), "badrun01"));
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

/* Against a server answering as wandb's historical mock server does
 * (tests/fake_wandb.py "wandb_mock": sweep state "running" in lower case,
 * commands as a JSON string, fixed ids, no project for the sweep, runs put
 * in project "test"): the agent registers, runs the commands it is given,
 * several at once, and every alert goes to its run's entity and project,
 * including those raised before the run's UpsertBucket answered and those
 * of runs already ended and forgotten. */
static void test_wandb_mock_server(void **state)
{
	static const char yaml[] =
		"method: random\n"
		"metric:\n  name: val_loss\n"
		"parameters:\n"
		"  learning_rate:\n    min: 0.001\n    max: 0.01\n"
		"  epochs:\n    value: 1\n"
		"alerts:\n  - {name: any-loss, when: \"loss > -1\", level: INFO}\n";
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *runs, *run, *alert, *agents;
	char *good = run_args(0.005, 1), *extra = NULL;
	const char *bad = "{\"learning_rate\": {\"value\": -1}}";
	const char *k;
	size_t i;
	int failed_alerts = 0;

	(void)state;
	/* six runs, three at a time: the odd ones fail at once (an ERROR alert
	 * as the run starts), the even ones train an epoch (an INFO alert) */
	assert_true(asprintf(&extra, "\"wandb_mock\": true, \"commands\": {\"" SWEEP_NAME "\": ["
			     "{\"type\": \"run\", \"args\": %s}, {\"type\": \"run\", \"args\": %s},"
			     "{\"type\": \"run\", \"args\": %s}, {\"type\": \"run\", \"args\": %s},"
			     "{\"type\": \"run\", \"args\": %s}, {\"type\": \"run\", \"args\": %s}]}",
			     bad, good, bad, good, bad, good) > 0);
	{
		/* the sweep in the mock's entity, not in the fake's usual one */
		json_t *c = json_pack("{s:b, s:{s:{s:s, s:s}}}", "wandb_mock", 1, "sweeps",
				      SWEEP_NAME, "project", "test", "config", yaml);
		char *text = json_dumps(c, JSON_COMPACT), *full = NULL;

		text[strlen(text) - 1] = '\0';
		assert_true(asprintf(&full, "%s, %s}", text, extra) > 0);
		assert_int_equal(sw_fake_wandb_start(&fw, full), 0);
		free(text);
		free(full);
		json_decref(c);
	}
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	/* no entity or project: the viewer's entity, the project wandb picks */
	run_agent(&p, &e, SWEEP_NAME, "--count", "6", "--parallel", "3", NULL);
	sw_test_expect_status(&p, 0);
	assert_null(strstr(p.err, "not running"));
	assert_null(strstr(p.err, "registering anyway"));
	assert_non_null(strstr(p.err, "agent done: 6 runs (3 failed)"));
	rec = checked_record(&fw);
	agents = json_object_get(rec, "agents");
	assert_non_null(json_object_get(agents, "mock-server-agent-93xy"));
	runs = json_object_get(rec, "runs");
	assert_int_equal(json_object_size(runs), 6);
	for (i = 1; i <= 6; i++) {
		char name[64];

		snprintf(name, sizeof(name), "mocker-sweep-run-x9%zu", i);
		run = json_object_get(runs, name);
		assert_non_null(run);
		assert_true(json_is_true(json_object_get(run, "complete")));
		assert_string_equal(json_string_value(json_object_get(run, "project")), "test");
		assert_string_equal(json_string_value(json_object_get(run, "entity")),
				    "mock_server_entity");
		assert_int_equal(json_integer_value(json_object_get(run, "exitcode")) != 0,
				 i % 2 == 1);
	}
	/* one alert per run, each to its run's entity and project */
	if (json_array_size(json_object_get(rec, "alerts")) != 6)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(json_array_size(json_object_get(rec, "alerts")), 6);
	json_array_foreach(json_object_get(rec, "alerts"), i, alert) {
		const char *name = json_string_value(json_object_get(alert, "runName"));

		run = json_object_get(runs, name ? name : "");
		assert_non_null(run);
		assert_string_equal(json_string_value(json_object_get(alert, "projectName")),
				    json_string_value(json_object_get(run, "project")));
		assert_string_equal(json_string_value(json_object_get(alert, "entityName")),
				    json_string_value(json_object_get(run, "entity")));
		if (!strcmp(json_string_value(json_object_get(alert, "severity")), "ERROR"))
			failed_alerts++;
	}
	assert_int_equal(failed_alerts, 3);
	json_object_foreach(runs, k, run)
		assert_string_equal(json_string_value(json_object_get(run, "sweep")), SWEEP_NAME);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(good);
}

/* No project given (nor in WANDB_PROJECT): the runs land in the project
 * the server found the sweep in, never in a null or default project. */
/* Starts the fake with one run, run_id (lr 0.005, 1 epoch), of the sweep
 * yaml (NULL: the default one), and runs `sweep agent SWEEP --count 1`,
 * which must exit 0; the caller reads p and the record, then stops the
 * fake. */
static void agent_one_run(struct sw_fake_wandb *fw, struct env *e,
			  struct sw_test_proc *p, const char *run_id, const char *yaml)
{
	char *a1 = run_args(0.005, 1), *extra = one_run(run_id, a1);

	start_fake(fw, e, extra, yaml);
	run_agent(p, e, SWEEP_NAME, "--count", "1", NULL);
	sw_test_expect_status(p, 0);
	free(extra);
	free(a1);
}

static void test_runs_land_in_sweep_project(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run;

	(void)state;
	agent_one_run(&fw, &e, &p, "inproj01", NULL);
	rec = checked_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), "inproj01");
	assert_non_null(run);
	assert_string_equal(json_string_value(json_object_get(run, "project")), "proj");
	assert_string_equal(json_string_value(json_object_get(run, "entity")), "alice");
	check_run(run, 1, 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

/* A sweep wandb accepts but whose runs the built-in CNN cannot train (no
 * program; a parameter the trainer does not know): refused before the
 * agent registers, with the located messages of `sweep run` (exit 2). */
static void test_trainer_refuses_before_registering(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;

	(void)state;
	start_fake(&fw, &e, "", "method: random\nparameters:\n"
				      "  lr: {min: 0.001, max: 0.1}\n");
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, SWEEP_NAME ".yaml:3:3: error: unknown hyperparameter "
			       "'lr' for the built-in trainer"));
	assert_non_null(strstr(p.err, "the built-in CNN cannot train the runs of sweep"));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, "CreateAgent"), 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

/* A method: custom sweep (an external scheduler proposes its runs through
 * wandb): the agent trains what wandb sends, as for any other method, and
 * finds nothing wrong with the definition. */
static void test_custom_sweep_trains(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run;

	(void)state;
	agent_one_run(&fw, &e, &p, "custom01", "method: custom\nmetrics:\n"
		      "  - {name: val_loss}\n  - {name: val_accuracy, goal: maximize}\n"
		      "parameters:\n  learning_rate: {min: 0.001, max: 0.1}\n");
	assert_null(strstr(p.err, "has problems"));
	assert_null(strstr(p.err, "error"));
	rec = checked_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), "custom01");
	assert_non_null(run);
	check_run(run, 1, 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

/* wandb's agent does not gate on the sweep's state: a sweep that says it is
 * over (any case) gets a warning, and the heartbeat's commands decide. */
static void test_sweep_state_does_not_gate(void **state)
{
	static const char *const states[] = { "finished", "CANCELED", "Running" };
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	char *cfg = NULL;
	json_t *rec;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_true(asprintf(&cfg, "{\"wandb_mock\": true, \"exit_when_done\": true, "
				     "\"sweeps\": {\"" SWEEP_NAME "\": {\"state\": \"%s\", "
				     "\"config\": \"method: random\\nparameters:\\n  epochs: "
				     "{value: 1}\\n\"}}}", states[i]) > 0);
		assert_int_equal(sw_fake_wandb_start(&fw, cfg), 0);
		env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
		run_agent(&p, &e, SWEEP_NAME, NULL);
		sw_test_expect_status(&p, 0);
		assert_int_equal(strstr(p.err, "registering anyway") != NULL, i < 2);
		assert_non_null(strstr(p.err, "wandb asked the agent to exit"));
		rec = sw_fake_wandb_record(&fw);
		assert_true(sw_fake_wandb_requests(rec, "Heartbeat") >= 1);
		json_decref(rec);
		sw_test_proc_release(&p);
		stop_fake(&fw, &e);
		free(cfg);
	}
}

/* A swept `seed` is the seed the trainer uses, so runs.jsonl records that
 * one, as under `sweep run`, not the seed derived from the run id. */
static void test_swept_seed_is_recorded(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	char *args = run_args(0.005, 1), *extra = NULL, *dir, *text, path[1024];
	json_t *run;

	(void)state;
	/* run_args ends with "}": add the seed as one more argument */
	args[strlen(args) - 1] = '\0';
	assert_true(asprintf(&extra, "\"commands\": {\"" SWEEP_NAME "\": [{\"type\": "
			     "\"run\", \"run_id\": \"seeded01\", \"args\": %s, "
			     "\"seed\": {\"value\": 7}}}]}", args) > 0);
	start_fake(&fw, &e, extra, NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "1", NULL);
	sw_test_expect_status(&p, 0);
	dir = results_dir(&e);
	assert_int_equal(count_file_lines(dir, "runs.jsonl"), 1);
	snprintf(path, sizeof(path), "%s/runs.jsonl", dir);
	text = sw_test_read_file(path, NULL);
	assert_non_null(text);
	run = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(run);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(run, "params"),
							    "seed")), 7);
	assert_int_equal(json_integer_value(json_object_get(run, "seed")), 7);
	json_decref(run);
	free(text);
	free(dir);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(args);
}

/* Ctrl-C: the running run stops between batches, its history still
 * reaches wandb, which is told it is preempting (as wandb.mark_preempting())
 * and gets no completion, so it can be resumed; it stays in flight in the
 * agent's results; the agent exits 130. */
static void test_interrupt(void **state)
{
	struct sw_fake_wandb fw;
	struct env e;
	json_t *rec, *run = NULL;
	char *long_args = run_args(0.005, 400), *extra = NULL, buf[16384];
	int err_fd, status, i;
	pid_t pid;
	size_t n;

	(void)state;
	extra = one_run("ctrlc001", long_args);
	start_fake(&fw, &e, extra, NULL);
	{
		const char *const args[] = { "agent", "alice/proj/" SWEEP_NAME, "--data",
					     data_dir, "--results", e.results, NULL };

		pid = sw_test_spawn(args, e.w.vars, e.w.n, &err_fd);
	}
	/* wait until wandb has a history line of the run (up to 60 s) */
	for (i = 0; i < 600; i++) {
		rec = sw_fake_wandb_record(&fw);
		run = json_object_get(json_object_get(rec, "runs"), "ctrlc001");
		n = json_array_size(json_object_get(run, "history"));
		json_decref(rec);
		if (n > 0)
			break;
		usleep(100 * 1000);
	}
	assert_true(sw_test_interrupt(pid, err_fd, buf, sizeof(buf), 300, &status) > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 130);
	assert_non_null(strstr(buf, "interrupted: stopping the runs"));
	assert_null(strstr(buf, SW_FAKE_WANDB_KEY));
	rec = checked_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), "ctrlc001");
	assert_false(json_is_true(json_object_get(run, "complete")));
	assert_true(json_is_true(json_object_get(run, "preempting")));
	assert_string_equal(json_string_value(json_object_get(run, "state")), "preempting");
	assert_true(json_array_size(json_object_get(run, "history")) >= 1);
	assert_true(json_array_size(json_object_get(run, "history")) < 400);
	assert_non_null(strstr(buf, "run ctrlc001 interrupted after epoch"));
	json_decref(rec);
	stop_fake(&fw, &e);
	free(extra);
	free(long_args);
}

/* An agent killed mid-run; wandb hands the run to another agent with
 * `resume`: it trains again and sends only the rows wandb does not have
 * (from UpsertBucket's historyLineCount on), so every step is there once. */
static void test_resume_after_kill(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run;
	char *long_args = run_args(0.005, 400), *short_args, *extra = NULL, *ctl = NULL;
	int status = 0, i;
	size_t have = 0;
	pid_t pid;

	(void)state;
	extra = one_run("resum001", long_args);
	start_fake(&fw, &e, extra, NULL);
	pid = spawn_agent(&e);
	for (i = 0; i < 600 && have < 2; i++) {
		rec = sw_fake_wandb_record(&fw);
		run = json_object_get(json_object_get(rec, "runs"), "resum001");
		have = json_array_size(json_object_get(run, "history"));
		json_decref(rec);
		if (have < 2)
			usleep(100 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	rec = sw_fake_wandb_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), "resum001");
	have = json_array_size(json_object_get(run, "history"));
	assert_true(have >= 2);
	assert_false(json_is_true(json_object_get(run, "complete")));
	json_decref(rec);

	/* the resumed run plans two epochs more than wandb has */
	short_args = run_args(0.005, (int)have + 2);
	assert_true(asprintf(&ctl, "{\"commands\": {\"" SWEEP_NAME "\": [{\"type\": "
			     "\"resume\", \"run_id\": \"resum001\", \"args\": %s}]}}",
			     short_args) > 0);
	assert_int_equal(sw_fake_wandb_control(&fw, ctl), 0);
	sw_test_rmtree(e.results);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "1", NULL);
	sw_test_expect_status(&p, 0);
	rec = checked_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), "resum001");
	check_run(run, (int)have + 2, 0);
	assert_int_equal(json_integer_value(json_object_get(run, "resent_lines")), 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(ctl);
	free(long_args);
	free(short_args);
}

/* Value-wrapped arguments with a swept seed (the trainer uses it, so two
 * run ids train the same) and dropout and augmentation (random streams). */
static char *seeded_args(int epochs)
{
	char *base = run_args(0.005, epochs), *s = NULL;

	base[strlen(base) - 1] = '\0';
	assert_true(asprintf(&s, "%s, \"seed\": {\"value\": 7}, \"dropout\": {\"value\": "
			     "0.2}, \"augment\": {\"value\": \"flip_crop\"}}", base) > 0);
	free(base);
	return s;
}

/* An agent SIGKILLed mid-run; wandb sends `resume` to the next agent on
 * this machine: the run continues from the checkpoint the first agent left
 * (no epoch before it trains again), wandb's history goes on at the right
 * _step with every step once, and the metrics are bit-identical to the same
 * run never interrupted. */
static void resume_from_checkpoint(int sig, const char *id)
{
	static const char *const keys[] = { "loss", "accuracy", "val_loss",
					    "val_accuracy", "learning_rate", NULL };
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run, *ref;
	char *args = seeded_args(40), *extra = NULL, *ctl = NULL, *at;
	int status = 0, i;
	long long cont = -1;
	size_t have = 0, k;
	pid_t pid;

	extra = one_run("ckref001", args);
	start_fake(&fw, &e, extra, NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "1", NULL);
	assert_int_equal(p.status, 0);
	sw_test_proc_release(&p);

	assert_true(asprintf(&ctl, "{\"commands\": {\"" SWEEP_NAME "\": [{\"type\": "
			     "\"run\", \"run_id\": \"%s\", \"args\": %s}]}}", id, args) > 0);
	assert_int_equal(sw_fake_wandb_control(&fw, ctl), 0);
	free(ctl);
	pid = spawn_agent(&e);
	for (i = 0; i < 3000 && have < 3; i++) {
		rec = sw_fake_wandb_record(&fw);
		run = json_object_get(json_object_get(rec, "runs"), id);
		have = json_array_size(json_object_get(run, "history"));
		json_decref(rec);
		if (have < 3)
			usleep(10 * 1000);
	}
	kill(pid, sig);
	if (sig == SIGINT) {   /* the agent ends by itself, exit code 130 */
		pid_t done = 0;

		for (i = 0; i < 600 && !done; i++) {
			done = waitpid(pid, &status, WNOHANG);
			if (!done)
				usleep(100 * 1000);
		}
		if (!done) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		assert_true(done > 0 && WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 130);
	} else {
		waitpid(pid, &status, 0);
	}
	rec = sw_fake_wandb_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), id);
	have = json_array_size(json_object_get(run, "history"));
	assert_true(have >= 3 && have < 40);
	assert_false(json_is_true(json_object_get(run, "complete")));
	if (sig == SIGINT)
		assert_true(json_is_true(json_object_get(run, "preempting")));
	json_decref(rec);

	assert_true(asprintf(&ctl, "{\"commands\": {\"" SWEEP_NAME "\": [{\"type\": "
			     "\"resume\", \"run_id\": \"%s\", \"args\": %s}]}}",
			     id, args) > 0);
	assert_int_equal(sw_fake_wandb_control(&fw, ctl), 0);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "1", NULL);
	sw_test_expect_status(&p, 0);
	at = strstr(p.err, "continues after epoch ");
	if (!at)
		fail_msg("not continued from a checkpoint:\n%s", p.err);
	assert_int_equal(sscanf(at, "continues after epoch %lld", &cont), 1);
	printf("  %s with %zu steps at wandb; continued after epoch %lld\n",
	       sig == SIGINT ? "Ctrl-C" : "killed", have, cont);
	/* at most the epoch whose checkpoint was being written trains again;
	 * after Ctrl-C none does (the agent waits for its checkpoints) */
	assert_true(cont >= (long long)have - (sig == SIGINT ? 0 : 1));
	assert_null(strstr(p.err, "epoch 1/40"));
	sw_test_proc_release(&p);

	rec = checked_record(&fw);
	run = json_object_get(json_object_get(rec, "runs"), id);
	ref = json_object_get(json_object_get(rec, "runs"), "ckref001");
	check_run(run, 40, 0);
	check_run(ref, 40, 0);
	for (k = 0; k < 40; k++) {
		json_t *x = json_array_get(json_object_get(ref, "history"), k);
		json_t *y = json_array_get(json_object_get(run, "history"), k);

		for (i = 0; keys[i]; i++)
			if (!json_equal(json_object_get(x, keys[i]), json_object_get(y, keys[i])))
				fail_msg("step %zu: %s differs after the resume", k, keys[i]);
	}
	json_decref(rec);
	stop_fake(&fw, &e);
	free(extra);
	free(ctl);
	free(args);
}

static void test_resume_from_checkpoint(void **state)
{
	(void)state;
	resume_from_checkpoint(SIGKILL, "ckpt0001");
}

/* The same after the user's Ctrl-C of the first agent: the run is left
 * resumable like a killed one (checkpoint kept, preempting at wandb, no
 * completion), and `resume` continues it after its last finished epoch,
 * bit-identical to the uninterrupted run with every step once. */
static void test_resume_after_interrupt(void **state)
{
	(void)state;
	resume_from_checkpoint(SIGINT, "ckint001");
}

/* A heartbeat answered 404: the sweep was deleted. The running run still
 * finishes and is delivered; then the agent exits 1. */
static void test_sweep_deleted(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;
	char *args = run_args(0.005, 4), *extra = NULL;

	(void)state;
	assert_true(asprintf(&extra, "\"commands\": {\"" SWEEP_NAME "\": [{\"type\": \"run\", "
			     "\"run_id\": \"delrun01\", \"args\": %s}]}, \"faults\": [{\"op\": "
			     "\"Heartbeat\", \"skip\": 2, \"times\": -1, \"status\": 404}]",
			     args) > 0);
	start_fake(&fw, &e, extra, NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, NULL);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "letting the running runs finish"));
	assert_non_null(strstr(p.err, "was deleted"));
	rec = checked_record(&fw);
	check_run(json_object_get(json_object_get(rec, "runs"), "delrun01"), 4, 0);
	/* no heartbeat after the 404 */
	assert_int_equal(sw_fake_wandb_requests(rec, "Heartbeat"), 3);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(extra);
	free(args);
}

static void test_wrong_key_unknown_sweep(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;

	(void)state;
	assert_int_equal(start_server(&fw, "", NULL), 0);
	env_init(&e, fw.url, "not-the-right-key-0000");
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, NULL);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "sweep: error: wandb rejected the API key (HTTP 401"));
	assert_non_null(strstr(p.err, "WANDB_API_KEY"));
	assert_null(strstr(p.err, "not-the-right-key"));
	assert_null(strstr(p.err, "going offline"));
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);

	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_agent(&p, &e, "alice/proj/nosuch99", NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "not found"));
	assert_non_null(strstr(p.err, "nosuch99"));
	assert_int_equal(sw_test_count_lines(p.err, "error"), 1);
	sw_test_proc_release(&p);

	/* no key at all: how to set one */
	sw_fake_env_free(&e.w);
	env_init(&e, fw.url, "");
	run_agent(&p, &e, SWEEP_NAME, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "WANDB_API_KEY"));
	sw_test_proc_release(&p);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, "CreateAgent"), 0);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 0);
	json_decref(rec);
	stop_fake(&fw, &e);
}

static void test_offline_and_unreachable(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *meta;
	char *dir, yaml_path[1024], *dead = NULL;

	(void)state;
	/* 1. WANDB_MODE=offline with the definition given */
	env_init(&e, "http://127.0.0.1:9", SW_FAKE_WANDB_KEY);
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_MODE=offline"), 0);
	snprintf(yaml_path, sizeof(yaml_path), "%s/sweep.yaml", e.w.tmp);
	assert_int_equal(sw_test_write_file(yaml_path, sweep_yaml, strlen(sweep_yaml)), 0);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "2", "--sweep-file", yaml_path,
		  NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "WANDB_MODE is offline"));
	assert_non_null(strstr(p.err, "sweep sync "));
	dir = results_dir(&e);
	assert_int_equal(count_file_lines(dir, "runs.jsonl"), 2);
	meta = load_json(dir, "meta.json");
	assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "wandb"),
							       "sweep")), SWEEP_NAME);
	assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "wandb"),
							       "project")), "proj");
	json_decref(meta);
	free(dir);
	sw_test_proc_release(&p);

	/* offline without a definition: says what to do */
	run_agent(&p, &e, "otherswp", NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--sweep-file"));
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);

	/* 2. an online agent caches the definition; later the server is gone */
	start_fake(&fw, &e, "\"exit_when_done\": true", NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, NULL);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "wandb asked the agent to exit"));
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);
	assert_true(asprintf(&dead, "WANDB_BASE_URL=%s", fw.url) > 0);
	sw_fake_env_add(&e.w, dead);  /* later entries win: same URL, server now down */
	assert_int_equal(sw_fake_env_add(&e.w, "SWEEP_HTTP_TRIES=2"), 0);
	sw_test_rmtree(e.results);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "1", NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "cannot be reached"));
	assert_non_null(strstr(p.err, "going offline"));
	dir = results_dir(&e);
	assert_int_equal(count_file_lines(dir, "runs.jsonl"), 1);
	free(dir);
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);
	free(dead);
}

static void test_local_controller(void **state)
{
	static const char local_yaml[] =
		"method: grid\n"
		"controller:\n  type: local\n"
		"metric:\n  name: val_loss\n  goal: minimize\n"
		"parameters:\n"
		"  learning_rate:\n    values: [0.001, 0.003, 0.01]\n"
		"  conv1_filters:\n    value: 4\n"
		"  conv2_filters:\n    value: 8\n"
		"  dense_units:\n    value: 16\n"
		"  epochs:\n    value: 1\n"
		"  train_limit:\n    value: 128\n"
		"  val_limit:\n    value: 64\n";
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *sweep, *runs, *run, *ctl, *sched;
	const char *k;
	double lrs = 0;

	(void)state;
	assert_int_equal(start_server(&fw, "\"auto_schedule\": true, \"exit_when_done\": true",
				      local_yaml), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--controller", "--count", "3", NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "controller done: 3 runs scheduled"));
	rec = checked_record(&fw);
	runs = json_object_get(rec, "runs");
	assert_int_equal(json_object_size(runs), 3);
	json_object_foreach(runs, k, run)
		lrs += json_real_value(json_object_get(json_object_get(json_object_get(run,
			"config"), "learning_rate"), "value"));
	assert_true(lrs > 0.01399 && lrs < 0.01401);   /* each grid point once */
	json_decref(rec);
	sw_test_proc_release(&p);

	/* an agent then trains what the controller scheduled */
	assert_int_equal(sw_fake_wandb_control(&fw, "{\"exit_when_done\": false}"), 0);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--count", "3", NULL);
	sw_test_expect_status(&p, 0);
	rec = checked_record(&fw);
	json_object_foreach(json_object_get(rec, "runs"), k, run)
		check_run(run, 1, 0);
	json_decref(rec);
	sw_test_proc_release(&p);

	/* the controller again: the grid is exhausted, so it schedules the
	 * end (null args) and the backend finishes the sweep */
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--controller", NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "the search is over (exhausted)"));
	rec = checked_record(&fw);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 3);
	sweep = json_object_get(json_object_get(rec, "sweeps"), SWEEP_NAME);
	assert_string_equal(json_string_value(json_object_get(sweep, "state")), "FINISHED");
	ctl = json_loads(json_string_value(json_object_get(sweep, "controller")), 0, NULL);
	sched = json_object_get(ctl, "schedule");
	assert_int_equal(json_array_size(sched), 1);
	assert_true(json_is_null(json_object_get(json_object_get(json_array_get(sched, 0),
								 "data"), "args")));
	assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(sched, 0),
								  "id"))), 10);
	json_decref(ctl);
	json_decref(rec);
	sw_test_proc_release(&p);

	/* a sweep without `controller: {type: local}` is refused */
	stop_fake(&fw, &e);
	start_fake(&fw, &e, "", NULL);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--controller", NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "controller: {type: local}"));
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

/* The local controller against a server that says "running" in lower case
 * (as wandb's historical mock did): it schedules, it does not stop. */
static void test_local_controller_lower_case_state(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *c, *rec;
	char *text;

	(void)state;
	c = json_pack("{s:b, s:b, s:b, s:{s:{s:s}}}", "wandb_mock", 1, "auto_schedule", 1,
		      "exit_when_done", 1, "sweeps", SWEEP_NAME, "config",
		      "method: grid\ncontroller: {type: local}\nprogram: train.py\n"
		      "parameters:\n  x: {values: [1, 2, 3]}\n");
	text = json_dumps(c, JSON_COMPACT);
	assert_int_equal(sw_fake_wandb_start(&fw, text), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_agent(&p, &e, SWEEP_NAME, "--controller", "--count", "3", NULL);
	sw_test_expect_status(&p, 0);
	assert_null(strstr(p.err, "is running: controller done"));
	assert_non_null(strstr(p.err, "controller done: 3 runs scheduled"));
	rec = checked_record(&fw);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 3);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
	free(text);
	json_decref(c);
}

/* Local controller with hyperband: a running run far behind the others at
 * its band is listed in the controller's `earlystop`. */
static void test_local_controller_earlystop(void **state)
{
	static const char hb_yaml[] =
		"method: random\n"
		"controller:\n  type: local\n"
		"metric:\n  name: val_loss\n  goal: minimize\n"
		"early_terminate:\n  type: hyperband\n  min_iter: 1\n  eta: 2\n"
		"parameters:\n"
		"  learning_rate:\n    min: 0.001\n    max: 0.01\n"
		"  epochs:\n    value: 4\n";
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *sweep, *ctl, *es;

	(void)state;
	start_fake(&fw, &e, "\"auto_schedule\": true, \"runs\": {"
		"\"hbrun001\": {\"sweep\": \"" SWEEP_NAME "\", \"state\": \"finished\", "
		"\"config\": {\"learning_rate\": {\"value\": 0.002}, \"epochs\": {\"value\": 4}}, "
		"\"history\": [{\"_step\": 0, \"val_loss\": 0.5}, {\"_step\": 1, \"val_loss\": 0.4}]},"
		"\"hbrun002\": {\"sweep\": \"" SWEEP_NAME "\", \"state\": \"finished\", "
		"\"config\": {\"learning_rate\": {\"value\": 0.003}, \"epochs\": {\"value\": 4}}, "
		"\"history\": [{\"_step\": 0, \"val_loss\": 0.6}, {\"_step\": 1, \"val_loss\": 0.5}]},"
		"\"hbrun003\": {\"sweep\": \"" SWEEP_NAME "\", \"state\": \"running\", "
		"\"config\": {\"learning_rate\": {\"value\": 0.009}, \"epochs\": {\"value\": 4}}, "
		"\"history\": [{\"_step\": 0, \"val_loss\": 2.0}]},"
		"\"hbrun004\": {\"sweep\": \"" SWEEP_NAME "\", \"state\": \"running\", "
		"\"config\": {\"learning_rate\": {\"value\": 0.004}, \"epochs\": {\"value\": 4}}, "
		"\"history\": [{\"_step\": 0, \"val_loss\": 0.3}]}}", hb_yaml);
	run_agent(&p, &e, "alice/proj/" SWEEP_NAME, "--controller", "--count", "1", NULL);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.err, "early-stopping run hbrun003 (hyperband)"));
	assert_null(strstr(p.err, "early-stopping run hbrun004"));
	rec = checked_record(&fw);
	sweep = json_object_get(json_object_get(rec, "sweeps"), SWEEP_NAME);
	ctl = json_loads(json_string_value(json_object_get(sweep, "controller")), 0, NULL);
	es = json_object_get(ctl, "earlystop");
	assert_int_equal(json_array_size(es), 1);
	assert_string_equal(json_string_value(json_array_get(es, 0)), "hbrun003");
	json_decref(ctl);
	/* one new run was scheduled, drawn from the space */
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 5);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_usage(void **state)
{
	struct sw_test_proc p;
	struct env e;

	(void)state;
	env_init(&e, "http://127.0.0.1:9", SW_FAKE_WANDB_KEY);
	run_agent(&p, &e, "a/b/c/d", NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "is not a sweep ID"));
	sw_test_proc_release(&p);
	run_agent(&p, &e, "abc", "--count", "0", NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--count must be a positive"));
	sw_test_proc_release(&p);
	run_agent(&p, &e, "abc", "--parallel", "x", NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--parallel"));
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);
}

/* data_batch_1.bin and test_batch.bin at the official 10,000 records (the
 * CLI loads official sizes), the other training files as links to the
 * first: runs use train_limit 128. */
static int group_setup(void **state)
{
	size_t n = 10000, i, k;
	unsigned char *buf = malloc(n * 3073);
	char path[1024], *names[] = { "data_batch_1.bin", "test_batch.bin" };
	static const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\n"
				   "horse\nship\ntruck\n";
	int f, b;

	(void)state;
	data_dir = sw_test_tmpdir();
	if (!buf || !data_dir)
		return -1;
	for (f = 0; f < 2; f++) {
		for (i = 0; i < n; i++) {
			unsigned char *r = buf + i * 3073;

			r[0] = (unsigned char)((i * 7 + (size_t)f) % 10);
			for (k = 0; k < 3072; k++)
				r[1 + k] = (unsigned char)((i * 31 + k * (r[0] + 1)) & 255);
		}
		snprintf(path, sizeof(path), "%s/%s", data_dir, names[f]);
		if (sw_test_write_file(path, buf, n * 3073) < 0)
			return -1;
	}
	free(buf);
	for (b = 2; b <= 5; b++) {
		snprintf(path, sizeof(path), "%s/data_batch_%d.bin", data_dir, b);
		if (symlink("data_batch_1.bin", path) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/batches.meta.txt", data_dir);
	return sw_test_write_file(path, meta, strlen(meta));
}

static int group_teardown(void **state)
{
	(void)state;
	sw_test_rmtree(data_dir);
	free(data_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_cycle),
		cmocka_unit_test(test_stops),
		cmocka_unit_test(test_faults_nothing_lost),
		cmocka_unit_test(test_failed_run_alert),
		cmocka_unit_test(test_wandb_mock_server),
		cmocka_unit_test(test_sweep_state_does_not_gate),
		cmocka_unit_test(test_runs_land_in_sweep_project),
		cmocka_unit_test(test_trainer_refuses_before_registering),
		cmocka_unit_test(test_custom_sweep_trains),
		cmocka_unit_test(test_swept_seed_is_recorded),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_resume_after_kill),
		cmocka_unit_test(test_resume_from_checkpoint),
		cmocka_unit_test(test_resume_after_interrupt),
		cmocka_unit_test(test_sweep_deleted),
		cmocka_unit_test(test_wrong_key_unknown_sweep),
		cmocka_unit_test(test_offline_and_unreachable),
		cmocka_unit_test(test_local_controller),
		cmocka_unit_test(test_local_controller_earlystop),
		cmocka_unit_test(test_local_controller_lower_case_state),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
