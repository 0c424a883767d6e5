/* test_agent_program_cli.c - `sweep agent` on a sweep that names the user's
 * program, against the fake wandb server (tests/fake_wandb.py): the command
 * line built with wandb's macros exactly, the environment wandb's agent
 * sets (WANDB_SWEEP_ID, WANDB_RUN_ID, WANDB_SWEEP_PARAM_PATH and its file,
 * ${args_json_file} and its file), output with the run prefix, a stop
 * command (SIGTERM), wandb's flapping limits, and offline mode. The agent runs in a
 * temporary directory, as wandb's agent is run from the program's one. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "support/fake_wandb.h"
#include "support/support.h"

#define SWEEP "sw12ab34"

static char *tmp;

static const char train_py[] =
"import json, os, signal, sys, time\n"
"run = os.environ['WANDB_RUN_ID']\n"
"keys = ['WANDB_SWEEP_ID', 'WANDB_RUN_ID', 'WANDB_SWEEP_PARAM_PATH', 'WANDB_DIR',\n"
"        'WANDB_ENTITY', 'WANDB_PROJECT', 'WANDB_BASE_URL', 'SWEEP_METRICS_FILE']\n"
"d = {'argv': sys.argv, 'env': {k: os.environ.get(k) for k in keys}}\n"
"d['param_file'] = open(os.environ['WANDB_SWEEP_PARAM_PATH']).read()\n"
"if sys.argv[-1].endswith('.json'):\n"
"    d['json_file'] = open(sys.argv[-1]).read()\n"
"with open('dump-%s.json' % run, 'w') as f:\n"
"    json.dump(d, f)\n"
"def on_term(sig, frame):\n"
"    open('term-%s.txt' % run, 'w').write('TERM')\n"
"    sys.exit(0)\n"
"signal.signal(signal.SIGTERM, on_term)\n"
"print('hello from', run, flush=True)\n"
"print('sweep: {\"epoch\": 1, \"loss\": 0.5}', flush=True)\n"
"if any(a.startswith('--wait') for a in sys.argv[1:]):\n"
"    time.sleep(60)\n";

static int start_server(struct sw_fake_wandb *fw, const char *yaml, const char *commands,
			int exit_when_done)
{
	json_t *c = json_object(), *sweeps = json_object(), *cmds;
	char *text;
	int rc;

	json_object_set_new(sweeps, SWEEP, json_pack("{s:s,s:s,s:s}", "entity", "alice",
						     "project", "proj", "config", yaml));
	json_object_set_new(c, "sweeps", sweeps);
	cmds = json_loads(commands, 0, NULL);
	assert_non_null(cmds);
	json_object_set_new(c, "commands", json_pack("{s:o}", SWEEP, cmds));
	json_object_set_new(c, "exit_when_done", json_boolean(exit_when_done));
	text = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	rc = sw_fake_wandb_start(fw, text);
	free(text);
	return rc;
}

/* Runs `sweep agent alice/proj/SWEEP [extra]` in tmp; fills p. */
static void run_agent(struct sw_fake_wandb *fw, struct sw_test_proc *p,
		      const char *extra_env, const char *a1, const char *a2)
{
	char *out = sw_test_pathf(tmp, "agent.out"), *err = sw_test_pathf(tmp, "agent.err"), *results = sw_test_pathf(tmp, "results");
	char url[128], home[4200], xdg[4200];
	char *bin = realpath(sw_test_bin(), NULL);
	const char *argv[] = { bin, "agent", "alice/proj/" SWEEP, "--results",
			       results, a1, a2, NULL };
	pid_t pid;
	int status, i;

	snprintf(url, sizeof(url), "WANDB_BASE_URL=%s", fw->url);
	snprintf(home, sizeof(home), "HOME=%s", tmp);
	snprintf(xdg, sizeof(xdg), "XDG_CACHE_HOME=%s/cache", tmp);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *vars[] = {
			url, home, xdg, "WANDB_API_KEY=" SW_FAKE_WANDB_KEY, "WANDB_ENTITY=",
			"WANDB_PROJECT=", "WANDB_MODE=", "NETRC=", "WANDB_DIR=",
			"SWEEP_ALERT_WEBHOOK=", "SWEEP_HTTP_BACKOFF=0.02",
			"SWEEP_AGENT_HEARTBEAT=0.1", "WANDB_AGENT_KILL_DELAY=5",
			extra_env ? extra_env : "SWEEP_TEST_NOTHING=", NULL,
		};
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		for (i = 0; vars[i]; i++)
			putenv((char *)vars[i]);
		unsetenv("WANDB_DIR");
		dup2(fo, 1);
		dup2(fe, 2);
		if (chdir(tmp) < 0)
			_exit(126);
		alarm(90);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	p->out = sw_test_read_file(out, NULL);
	p->err = sw_test_read_file(err, NULL);
	assert_null(strstr(p->err, SW_FAKE_WANDB_KEY));
	free(out);
	free(err);
	free(results);
	free(bin);
}

static json_t *load_dump(const char *run)
{
	char *p = sw_test_pathf(tmp, "dump-%s.json", run);
	json_t *d = json_load_file(p, 0, NULL);

	assert_non_null(d);
	free(p);
	return d;
}

static void test_macros_and_environment(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p = { 0 };
	json_t *d, *argv, *env;
	char *want = NULL;

	(void)state;
	assert_int_equal(start_server(&fw,
		"method: grid\nprogram: train.py\n"
		"command: [\"${env}\", \"${interpreter}\", \"${program}\", \"--fixed\", "
		"\"${args_no_boolean_flags}\", \"${args_json_file}\"]\n"
		"parameters:\n  lr:\n    values: [0.001]\n",
		"[{\"type\": \"run\", \"run_id\": \"runaaaa1\", \"args\": {\"lr\": {\"value\": 0.001},"
		" \"flag\": {\"value\": true}, \"off\": {\"value\": false}, \"layers\": "
		"{\"value\": [1, 2]}, \"opt\": {\"value\": {\"a\": 1e-05}}}}]", 0), 0);
	run_agent(&fw, &p, NULL, "--count", "1");
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "[runaaaa1] hello from runaaaa1\n"));
	assert_non_null(strstr(p.err, "agent done: 1 run (0 failed)"));
	d = load_dump("runaaaa1");
	/* /usr/bin/env python train.py --fixed --lr=0.001 --flag
	 *   --layers=[1, 2] --opt={'a': 1e-05} wandb/sweep-.../config-....json */
	argv = json_object_get(d, "argv");
	assert_int_equal(json_array_size(argv), 7);
	assert_string_equal(json_string_value(json_array_get(argv, 0)), "train.py");
	assert_string_equal(json_string_value(json_array_get(argv, 1)), "--fixed");
	assert_string_equal(json_string_value(json_array_get(argv, 2)), "--lr=0.001");
	assert_string_equal(json_string_value(json_array_get(argv, 3)), "--flag");
	assert_string_equal(json_string_value(json_array_get(argv, 4)), "--layers=[1, 2]");
	assert_string_equal(json_string_value(json_array_get(argv, 5)),
			    "--opt={'a': 1e-05}");
	assert_string_equal(json_string_value(json_array_get(argv, 6)),
			    "wandb/sweep-" SWEEP "/config-runaaaa1.json");
	env = json_object_get(d, "env");
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_SWEEP_ID")), SWEEP);
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_RUN_ID")),
			    "runaaaa1");
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_ENTITY")), "alice");
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_PROJECT")), "proj");
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_BASE_URL")), fw.url);
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_DIR")), tmp);
	assert_true(asprintf(&want, "%s/wandb/sweep-" SWEEP "/config-runaaaa1.yaml", tmp) > 0);
	assert_string_equal(json_string_value(json_object_get(env, "WANDB_SWEEP_PARAM_PATH")),
			    want);
	free(want);
	assert_string_equal(json_string_value(json_object_get(d, "param_file")),
			    "wandb_version: 1\n\nlr:\n  value: 0.001\nflag:\n  value: true\n"
			    "off:\n  value: false\nlayers:\n  value: [1, 2]\n"
			    "opt:\n  value: {\"a\": 1.0e-05}\n");
	assert_string_equal(json_string_value(json_object_get(d, "json_file")),
			    "{\"lr\": 0.001, \"flag\": true, \"off\": false, \"layers\": [1, 2], "
			    "\"opt\": {\"a\": 1e-05}}");
	json_decref(d);
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);
}

static void test_stop_command(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p = { 0 };
	char *term = sw_test_pathf(tmp, "term-runbbbb2.txt"), *text;

	(void)state;
	assert_int_equal(start_server(&fw,
		"method: grid\nprogram: train.py\n"
		"parameters:\n  wait:\n    values: [true]\n",
		"[{\"type\": \"run\", \"run_id\": \"runbbbb2\", \"args\": {\"wait\": {\"value\": "
		"true}}}, {\"type\": \"noop\"}, {\"type\": \"noop\"}, {\"type\": \"noop\"},"
		" {\"type\": \"noop\"}, {\"type\": \"noop\"}, {\"type\": \"noop\"},"
		" {\"type\": \"noop\"}, {\"type\": \"noop\"}, {\"type\": \"noop\"},"
		" {\"type\": \"stop\", \"run_id\": \"runbbbb2\"}]", 1), 0);
	run_agent(&fw, &p, NULL, NULL, NULL);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "wandb asked to stop it"));
	assert_non_null(strstr(p.err, "run runbbbb2 stopped"));
	/* the program got SIGTERM (its handler ran) */
	text = sw_test_read_file(term, NULL);
	assert_non_null(text);
	assert_string_equal(text, "TERM");
	free(text);
	free(term);
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);
}

static const char failing_yaml[] =
	"method: grid\nprogram: fail.py\nparameters:\n  x:\n    values: [1, 2, 3, 4]\n";
static const char four_runs[] =
	"[{\"type\": \"run\", \"args\": {\"x\": {\"value\": 1}}},"
	" {\"type\": \"run\", \"args\": {\"x\": {\"value\": 2}}},"
	" {\"type\": \"run\", \"args\": {\"x\": {\"value\": 3}}},"
	" {\"type\": \"run\", \"args\": {\"x\": {\"value\": 4}}}]";

static void test_flapping(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p = { 0 };
	char *fail = sw_test_pathf(tmp, "fail.py");

	(void)state;
	assert_int_equal(sw_test_write_file(fail, "import sys\nsys.exit(2)\n", 22), 0);
	/* three non-zero exits in the first minute end the agent */
	assert_int_equal(start_server(&fw, failing_yaml, four_runs, 0), 0);
	run_agent(&fw, &p, NULL, NULL, NULL);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "3 runs failed in the agent's first 60 s"));
	assert_non_null(strstr(p.err, "WANDB_AGENT_DISABLE_FLAPPING=true"));
	assert_int_equal(sw_test_count_lines(p.err, "alert: [ERROR] run-failed"), 3);
	assert_int_equal(sw_test_count_lines(p.err, "'fail.py' exited with code 2"), 6);
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);

	/* with flapping detection off, all four run (fewer than 5 failures) */
	assert_int_equal(start_server(&fw, failing_yaml, four_runs, 0), 0);
	run_agent(&fw, &p, "WANDB_AGENT_DISABLE_FLAPPING=true", "--count", "4");
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "agent done: 4 runs (4 failed)"));
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);

	/* WANDB_AGENT_MAX_INITIAL_FAILURES=2: the second failure ends it */
	assert_int_equal(start_server(&fw, failing_yaml, four_runs, 0), 0);
	run_agent(&fw, &p, "WANDB_AGENT_MAX_INITIAL_FAILURES=2", "--count", "4");
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "2 runs failed, as many as ended before"));
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);
	free(fail);
}

static void test_offline(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p = { 0 };
	char *file = sw_test_pathf(tmp, "off.yaml");
	static const char yaml[] = "method: grid\nprogram: train.py\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n  x:\n    values: [1, 2]\n";

	(void)state;
	assert_int_equal(sw_test_write_file(file, yaml, strlen(yaml)), 0);
	assert_int_equal(start_server(&fw, yaml, "[]", 0), 0);
	/* offline: the program runs through the local controller, no data */
	run_agent(&fw, &p, "WANDB_MODE=offline", "--sweep-file", file);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.err, "] hello from "), 2);
	assert_non_null(strstr(p.out, "top 2 of 2 runs by loss"));
	sw_test_proc_release(&p);
	sw_fake_wandb_stop(&fw);
	free(file);
}

static int setup(void **state)
{
	char *p;

	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp)
		return -1;
	p = sw_test_pathf(tmp, "train.py");
	sw_test_write_file(p, train_py, strlen(train_py));
	free(p);
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
		cmocka_unit_test(test_macros_and_environment),
		cmocka_unit_test(test_stop_command),
		cmocka_unit_test(test_flapping),
		cmocka_unit_test(test_offline),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
