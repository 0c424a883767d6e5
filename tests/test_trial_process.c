/* test_trial_process.c - an external program as a trial: a small Python
 * training-like script and shell scripts written into a temp dir, run
 * through the trial runner interface: metrics from SWEEP_METRICS_FILE and
 * `sweep:` lines, the exact argv and environment, output passed through,
 * stops (SIGTERM, then SIGKILL for a child that ignores it), exit codes,
 * signals, a missing interpreter / program / command, a flooding child. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/support.h"
#include "sweep/run/trial.h"

static char *tmp;

struct rec {
	int n;
	int64_t epochs[16];
	double val[16];
	char names[16][64];
	int stop_at;                /* return 1 from this epoch on (0: never) */
	atomic_int *flag;           /* set instead of returning 1 */
};

static int record_epoch(void *ctx, struct sw_trial *t, int64_t epoch,
			const struct sw_kv *m, size_t n)
{
	struct rec *r = ctx;

	(void)t;
	if (r->n < 16 && n > 0) {
		r->epochs[r->n] = epoch;
		r->val[r->n] = m[0].value;
		snprintf(r->names[r->n], sizeof(r->names[0]), "%s", m[0].name);
		r->n++;
	}
	if (r->stop_at && epoch >= r->stop_at) {
		if (r->flag) {
			atomic_store(r->flag, 1);
			return 0;
		}
		return 1;
	}
	return 0;
}

static char *path_in(const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", tmp, name) > 0);
	return p;
}

static void write_script(const char *name, const char *text)
{
	char *p = path_in(name);

	assert_int_equal(sw_test_write_file(p, text, strlen(text)), 0);
	chmod(p, 0755);
	free(p);
}

static void run_trial(const struct sw_trial_process_config *cfg, const char *id,
		      const char *params_json, struct rec *r, struct sw_trial_result *res)
{
	struct sw_trial_runner runner;
	struct sw_err err = SW_ERR_INIT;
	struct sw_trial_hooks h = { 0 };
	json_t *params = json_loads(params_json, 0, NULL);

	assert_non_null(params);
	assert_int_equal(sw_trial_runner_process(&runner, cfg, &err), 0);
	assert_string_equal(runner.kind, "program");
	h.on_epoch = record_epoch;
	h.ctx = r;
	h.stop = r->flag;
	assert_int_equal(sw_trial_run_named(&runner, id, params, 7, &h, res), 0);
	sw_trial_runner_release(&runner);
	json_decref(params);
}

static const char train_py[] =
"import json, os, sys, time\n"
"keys = ['WANDB_SWEEP_ID', 'WANDB_RUN_ID', 'WANDB_SWEEP_PARAM_PATH',\n"
"        'SWEEP_METRICS_FILE', 'WANDB_DIR', 'SWEEP_RUN_ID', 'EXTRA_VAR']\n"
"dump = {'argv': sys.argv, 'cwd': os.getcwd(),\n"
"        'env': {k: os.environ.get(k) for k in keys},\n"
"        'stdin': sys.stdin.read()}\n"
"with open('dump.json', 'w') as f:\n"
"    json.dump(dump, f)\n"
"print('hello from train', flush=True)\n"
"print('a warning', file=sys.stderr, flush=True)\n"
"mf = open(os.environ['SWEEP_METRICS_FILE'], 'a')\n"
"for epoch in range(1, 4):\n"
"    line = json.dumps({'epoch': epoch, 'val_loss': 1.0 / epoch, 'tag': 'x'})\n"
"    if epoch == 2:  # a partial line waits for its newline\n"
"        mf.write(line[:7]); mf.flush(); time.sleep(0.3)\n"
"        line = line[7:]\n"
"    mf.write(line + '\\n'); mf.flush()\n";

static void test_python_metrics_argv_env(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const env[] = { "EXTRA_VAR=extra value", NULL };
	struct sw_trial_result res;
	struct rec r = { 0 };
	char *dump_path = path_in("dump.json"), *out_path = path_in("out.txt");
	char *dump, *out, *yaml, *want = NULL;
	json_t *d, *argv, *e;
	FILE *outf = fopen(out_path, "w");

	(void)state;
	write_script("train.py", train_py);
	cfg.program = "train.py";
	cfg.sweep_id = "sw123";
	cfg.workdir = tmp;
	cfg.env = env;
	cfg.out = outf;
	cfg.grace_s = 2;
	run_trial(&cfg, "run1", "{\"lr\": 0.001, \"flag\": true, \"layers\": [1, 2], "
		  "\"opt\": {\"a\": 1e-05}, \"name\": null}", &r, &res);
	fclose(outf);
	assert_int_equal(res.status, SW_TRIAL_FINISHED);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.epochs, 3);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.epochs[0], 1);
	assert_int_equal(r.epochs[1], 2);
	assert_int_equal(r.epochs[2], 3);
	assert_string_equal(r.names[0], "val_loss");
	assert_true(r.val[1] == 0.5);

	dump = sw_test_read_file(dump_path, NULL);
	assert_non_null(dump);
	d = json_loads(dump, 0, NULL);
	assert_non_null(d);
	/* wandb's default command: /usr/bin/env python train.py --k=v ... */
	argv = json_object_get(d, "argv");
	assert_int_equal(json_array_size(argv), 6);
	assert_string_equal(json_string_value(json_array_get(argv, 0)), "train.py");
	assert_string_equal(json_string_value(json_array_get(argv, 1)), "--lr=0.001");
	assert_string_equal(json_string_value(json_array_get(argv, 2)), "--flag=True");
	assert_string_equal(json_string_value(json_array_get(argv, 3)), "--layers=[1, 2]");
	assert_string_equal(json_string_value(json_array_get(argv, 4)), "--opt={'a': 1e-05}");
	assert_string_equal(json_string_value(json_array_get(argv, 5)), "--name=None");
	e = json_object_get(d, "env");
	assert_string_equal(json_string_value(json_object_get(e, "WANDB_SWEEP_ID")), "sw123");
	assert_string_equal(json_string_value(json_object_get(e, "WANDB_RUN_ID")), "run1");
	assert_string_equal(json_string_value(json_object_get(e, "SWEEP_RUN_ID")), "run1");
	assert_string_equal(json_string_value(json_object_get(e, "EXTRA_VAR")), "extra value");
	assert_string_equal(json_string_value(json_object_get(e, "WANDB_DIR")), tmp);
	assert_true(asprintf(&want, "%s/wandb/sweep-sw123/metrics-run1.jsonl", tmp) > 0);
	assert_string_equal(json_string_value(json_object_get(e, "SWEEP_METRICS_FILE")), want);
	free(want);
	assert_true(asprintf(&want, "%s/wandb/sweep-sw123/config-run1.yaml", tmp) > 0);
	assert_string_equal(json_string_value(json_object_get(e, "WANDB_SWEEP_PARAM_PATH")),
			    want);
	assert_string_equal(json_string_value(json_object_get(d, "stdin")), "");
	/* the parameter file wandb.init reads */
	yaml = sw_test_read_file(want, NULL);
	assert_non_null(yaml);
	assert_string_equal(yaml, "wandb_version: 1\n\nlr:\n  value: 0.001\nflag:\n  value: true\n"
			    "layers:\n  value: [1, 2]\nopt:\n  value: {\"a\": 1.0e-05}\n"
			    "name:\n  value: null\n");
	/* other output passed through with the run's prefix */
	out = sw_test_read_file(out_path, NULL);
	assert_non_null(strstr(out, "[run1] hello from train\n"));
	assert_non_null(strstr(out, "[run1] a warning\n"));
	free(out);
	free(yaml);
	free(want);
	json_decref(d);
	free(dump);
	free(dump_path);
	free(out_path);
}

static const char report_sh[] =
"#!/bin/sh\n"
"printf '%s\\n' \"$@\" > args.txt\n"
"echo 'sweep: {\"epoch\": 1, \"loss\": 0.5}'\n"
"echo 'sweep: {\"loss\": 0.25, \"acc\": 0.5}'\n"
"echo 'sweep: not json'\n"
"echo 'something else'\n"
"echo 'boom: it broke' >&2\n"
"exit 3\n";

static void test_shell_stdout_metrics_and_exit_code(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const cmd[] = { "/bin/sh", "${program}", "${args_no_hyphens}",
					   "--json", "${args_json}" };
	struct sw_trial_result res;
	struct rec r = { 0 };
	char *args_path = path_in("args.txt"), *args;
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	write_script("report.sh", report_sh);
	cfg.program = "report.sh";
	cfg.command = cmd;
	cfg.n_command = 5;
	cfg.workdir = tmp;
	cfg.out = devnull;
	run_trial(&cfg, "run2", "{\"b\": false, \"x\": 2.5}", &r, &res);
	fclose(devnull);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_int_equal(res.exit_code, 3);
	assert_non_null(strstr(res.reason, "exited with code 3"));
	assert_non_null(strstr(res.reason, "boom: it broke"));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.epochs[0], 1);
	assert_int_equal(r.epochs[1], 2);
	assert_true(r.val[1] == 0.25 || r.val[1] == 0.5);
	args = sw_test_read_file(args_path, NULL);
	assert_string_equal(args, "b=False\nx=2.5\n--json\n{\"b\": false, \"x\": 2.5}\n");
	free(args);
	free(args_path);
}

static const char stubborn_sh[] =
"#!/bin/sh\n"
"trap '' TERM\n"
"echo $$ > pid.txt\n"
"echo 'sweep: {\"loss\": 1}'\n"
"while :; do sleep 0.05; done\n";

static void test_stop_sigterm_then_sigkill(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const cmd[] = { "/bin/sh", "${program}" };
	struct sw_trial_result res;
	struct rec r = { 0 };
	char *pid_path = path_in("pid.txt"), *pid_s;
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	write_script("stubborn.sh", stubborn_sh);
	cfg.program = "stubborn.sh";
	cfg.command = cmd;
	cfg.n_command = 2;
	cfg.workdir = tmp;
	cfg.out = devnull;
	cfg.grace_s = 0.3;
	r.stop_at = 1;              /* on_epoch returns 1 */
	run_trial(&cfg, "run3", "{}", &r, &res);
	fclose(devnull);
	assert_int_equal(res.status, SW_TRIAL_STOPPED);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.epochs, 1);
	pid_s = sw_test_read_file(pid_path, NULL);
	assert_non_null(pid_s);
	/* the script ignored SIGTERM: SIGKILL took it and its group */
	assert_int_equal(kill((pid_t)atoi(pid_s), 0), -1);
	assert_int_equal(errno, ESRCH);
	free(pid_s);
	free(pid_path);
}

static void test_stop_flag_graceful(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const cmd[] = { "/bin/sh", "-c",
		"trap 'echo got TERM >&2; exit 0' TERM; echo 'sweep: {\"loss\": 1}'; "
		"while :; do sleep 0.05; done" };
	struct sw_trial_result res;
	atomic_int flag = 0;
	struct rec r = { 0 };
	char *out_path = path_in("out2.txt"), *out;
	FILE *outf = fopen(out_path, "w");

	(void)state;
	cfg.command = cmd;
	cfg.n_command = 3;
	cfg.workdir = tmp;
	cfg.out = outf;
	cfg.grace_s = 20;           /* it goes on SIGTERM: no waiting for this */
	r.stop_at = 1;
	r.flag = &flag;             /* *hooks->stop becomes 1 */
	run_trial(&cfg, "run4", "{}", &r, &res);
	fclose(outf);
	assert_int_equal(res.status, SW_TRIAL_STOPPED);
	out = sw_test_read_file(out_path, NULL);
	assert_non_null(strstr(out, "[run4] got TERM\n"));
	free(out);
	free(out_path);
}

static void test_signal_death(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const cmd[] = { "/bin/sh", "-c", "kill -9 $$" };
	struct sw_trial_result res;
	struct rec r = { 0 };

	(void)state;
	cfg.command = cmd;
	cfg.n_command = 3;
	cfg.workdir = tmp;
	cfg.quiet = 1;
	run_trial(&cfg, "run5", "{}", &r, &res);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_int_equal(res.exit_code, 137);
	assert_non_null(strstr(res.reason, "killed by signal 9"));
}

static void test_missing_interpreter_program_command(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const cmd[] = { "no-such-command-xyz", "${args}" };
	struct sw_trial_result res;
	struct rec r = { 0 };

	(void)state;
	write_script("ok.py", "print('hi')\n");
	cfg.program = "ok.py";
	cfg.workdir = tmp;
	cfg.quiet = 1;
	cfg.interpreter = "no-such-python-xyz";
	run_trial(&cfg, "run6", "{}", &r, &res);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_non_null(strstr(res.reason, "interpreter 'no-such-python-xyz' not found "
			       "on PATH"));

	cfg.interpreter = NULL;
	cfg.program = "nope.py";
	run_trial(&cfg, "run7", "{}", &r, &res);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_non_null(strstr(res.reason, "program 'nope.py' not found in"));

	cfg.command = cmd;
	cfg.n_command = 2;
	run_trial(&cfg, "run8", "{}", &r, &res);
	assert_int_equal(res.status, SW_TRIAL_FAILED);
	assert_int_equal(res.exit_code, 127);
	assert_string_equal(res.reason, "command 'no-such-command-xyz' not found on PATH");
	assert_int_equal(r.n, 0);
}

static void test_flood(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	/* an 8 MB line without a newline, 100,000 short lines on both
	 * streams, then a metric */
	static const char *const cmd[] = { "/bin/sh", "-c",
		"head -c 8000000 /dev/zero | tr '\\0' x; echo; "
		"yes line | head -n 100000; yes err | head -n 100000 >&2; "
		"echo 'sweep: {\"loss\": 2}'" };
	struct sw_trial_result res;
	struct rec r = { 0 };
	char *out_path = path_in("flood.txt"), *out;
	size_t len = 0;
	FILE *outf = fopen(out_path, "w");

	(void)state;
	cfg.command = cmd;
	cfg.n_command = 3;
	cfg.workdir = tmp;
	cfg.out = outf;
	run_trial(&cfg, "run9", "{}", &r, &res);
	fclose(outf);
	assert_int_equal(res.status, SW_TRIAL_FINISHED);
	assert_int_equal(r.n, 1);
	assert_true(r.val[0] == 2);
	out = sw_test_read_file(out_path, &len);
	assert_non_null(out);
	/* the long line was cut at 16 KiB, every short line went through */
	assert_true(len < 3000000);
	assert_int_equal(sw_test_count_lines(out, "[line cut]"), 1);
	assert_int_equal(sw_test_count_lines(out, "[run9] line"), 100000);
	assert_int_equal(sw_test_count_lines(out, "[run9] err"), 100000);
	free(out);
	unlink(out_path);
	free(out_path);
}

static void test_runs_dir_and_log(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	static const char *const cmd[] = { "/bin/sh", "-c",
		"echo \"{\\\"val_loss\\\": 0.5}\" >> \"$SWEEP_METRICS_FILE\"; echo out line" };
	struct sw_trial_result res;
	struct rec r = { 0 };
	char *runs = path_in("runs"), *log = path_in("runs/run10/output.log"), *text;
	char *metrics = path_in("runs/run10/metrics.jsonl");

	(void)state;
	cfg.command = cmd;
	cfg.n_command = 3;
	cfg.workdir = tmp;
	cfg.runs_dir = runs;
	cfg.quiet = 1;
	run_trial(&cfg, "run10", "{}", &r, &res);
	assert_int_equal(res.status, SW_TRIAL_FINISHED);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.epochs[0], 1);
	text = sw_test_read_file(log, NULL);
	assert_string_equal(text, "out line\n");
	free(text);
	text = sw_test_read_file(metrics, NULL);
	assert_string_equal(text, "{\"val_loss\": 0.5}\n");
	free(text);
	free(metrics);
	free(log);
	free(runs);
}

static int setup(void **state)
{
	(void)state;
	tmp = sw_test_tmpdir();
	return tmp ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(tmp);
	free(tmp);
	return 0;
}

/* wandb offline (sweep run): the run's environment, the wandb hook's lines
 * as epochs and alerts, and a line kind from a newer hook ignored. */
struct alerts_seen {
	int n;
	int64_t epoch;
	char title[64], text[64], level[16];
};

static void record_alert(void *ctx, int64_t epoch, const char *title,
			 const char *text, const char *level)
{
	struct alerts_seen *a = ctx;

	a->n++;
	a->epoch = epoch;
	snprintf(a->title, sizeof(a->title), "%s", title);
	snprintf(a->text, sizeof(a->text), "%s", text);
	snprintf(a->level, sizeof(a->level), "%s", level);
}

struct hook_seen {
	struct alerts_seen a;       /* first: record_alert takes the context */
	struct rec r;
};

static int hook_seen_epoch(void *ctx, struct sw_trial *t, int64_t epoch,
			   const struct sw_kv *m, size_t n)
{
	struct hook_seen *both = ctx;

	return record_epoch(&both->r, t, epoch, m, n);
}

static void test_wandb_offline_env_and_hook_lines(void **state)
{
	struct sw_trial_process_config cfg = SW_TRIAL_PROCESS_CONFIG_INIT;
	struct sw_trial_runner runner;
	struct sw_err err = SW_ERR_INIT;
	struct sw_trial_hooks h = { 0 };
	struct sw_trial_result res;
	static const char *const cmd[] = { "/bin/sh", "hooklines.sh" };
	struct hook_seen both;
	char *runs = path_in("wruns"), *hook = path_in("whook"), *env_path, *env_text;
	char *want = NULL, *sc;
	json_t *params = json_object();
	struct stat sb;

	(void)state;
	memset(&both, 0, sizeof(both));
	write_script("hooklines.sh",
		     "env > \"$WANDB_DIR/env.txt\"\n"
		     "m=$SWEEP_METRICS_FILE\n"
		     "echo '{\"_wandb\":\"log\",\"_step\":0,\"row\":{\"loss\":0.5,\"s\":\"x\"}}' >> $m\n"
		     "echo '{\"_wandb\":\"alert\",\"title\":\"t\",\"text\":\"hi\",\"level\":\"WARN\"}' >> $m\n"
		     "echo '{\"_wandb\":\"future\",\"loss\":9}' >> $m\n"
		     "echo '{\"_wandb\":\"log\",\"_step\":9,\"row\":{\"loss\":\"NaN\"}}' >> $m\n"
		     "echo '{\"_wandb\":\"log\",\"_step\":3,\"row\":{\"loss\":0.25}}' >> $m\n");
	cfg.command = cmd;
	cfg.n_command = 2;
	cfg.sweep_id = "swW";
	cfg.workdir = tmp;
	cfg.runs_dir = runs;
	cfg.quiet = 1;
	cfg.wandb_offline = 1;
	cfg.hook_dir = hook;
	unsetenv("WANDB_DIR");
	setenv("PYTHONPATH", "/user/a:/user/b", 1);
	assert_int_equal(sw_trial_runner_process(&runner, &cfg, &err), 0);
	/* the start-up modules are written when the runner is set up */
	assert_true(asprintf(&sc, "%s/sitecustomize.py", hook) > 0);
	assert_int_equal(stat(sc, &sb), 0);
	free(sc);
	h.on_epoch = hook_seen_epoch;
	h.on_alert = record_alert;
	h.ctx = &both;
	assert_int_equal(sw_trial_run_named(&runner, "wr1", params, 7, &h, &res), 0);
	unsetenv("PYTHONPATH");
	assert_int_equal(res.status, SW_TRIAL_FINISHED);
	assert_null(res.wandb_history);      /* no run file: nothing from it */
	/* rows: _step + 1 is the epoch; NaN is a metric; later lower steps go on */
	assert_int_equal(both.r.n, 3);
	assert_int_equal(both.r.epochs[0], 1);
	assert_true(both.r.val[0] == 0.5);
	assert_int_equal(both.r.epochs[1], 10);
	assert_true(isnan(both.r.val[1]));
	assert_int_equal(both.r.epochs[2], 11);
	assert_int_equal(both.a.n, 1);
	assert_int_equal(both.a.epoch, 1);
	assert_string_equal(both.a.title, "t");
	assert_string_equal(both.a.text, "hi");
	assert_string_equal(both.a.level, "WARN");
	/* the environment: offline, WANDB_DIR under runs/RUN, the hook first */
	assert_true(asprintf(&env_path, "%s/wr1/env.txt", runs) > 0);
	env_text = sw_test_read_file(env_path, NULL);
	assert_non_null(env_text);
	assert_non_null(strstr(env_text, "\nWANDB_MODE=offline\n"));
	assert_non_null(strstr(env_text, "\nWANDB_ERROR_REPORTING=false\n"));
	assert_true(asprintf(&want, "\nPYTHONPATH=%s:/user/a:/user/b\n", hook) > 0);
	assert_non_null(strstr(env_text, want));
	free(want);
	assert_true(asprintf(&want, "\nWANDB_DIR=%s/wr1\n", runs) > 0);
	assert_non_null(strstr(env_text, want));
	free(want);
	free(env_text);
	free(env_path);
	sw_trial_result_release(&res);
	/* a WANDB_DIR the user set is kept */
	env_path = path_in("userwdir");
	assert_int_equal(mkdir(env_path, 0755), 0);
	setenv("WANDB_DIR", env_path, 1);
	memset(&both, 0, sizeof(both));
	assert_int_equal(sw_trial_run_named(&runner, "wr2", params, 7, &h, &res), 0);
	unsetenv("WANDB_DIR");
	assert_int_equal(res.status, SW_TRIAL_FINISHED);
	free(env_path);
	env_path = path_in("userwdir/env.txt");
	env_text = sw_test_read_file(env_path, NULL);
	assert_non_null(env_text);
	assert_true(asprintf(&want, "\nWANDB_DIR=%s/userwdir\n", tmp) > 0);
	assert_non_null(strstr(env_text, want));
	free(want);
	free(env_text);
	free(env_path);
	sw_trial_result_release(&res);
	sw_trial_runner_release(&runner);
	json_decref(params);
	free(runs);
	free(hook);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wandb_offline_env_and_hook_lines),
		cmocka_unit_test(test_python_metrics_argv_env),
		cmocka_unit_test(test_shell_stdout_metrics_and_exit_code),
		cmocka_unit_test(test_stop_sigterm_then_sigkill),
		cmocka_unit_test(test_stop_flag_graceful),
		cmocka_unit_test(test_signal_death),
		cmocka_unit_test(test_missing_interpreter_program_command),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_runs_dir_and_log),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
