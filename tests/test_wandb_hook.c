/* test_wandb_hook.c - the Python start-up modules of wandb scripts
 * (sweep/offline/wandb_hook.c, sweep/wandb_sitecustomize.py, sweep/wandb_report.py),
 * run by python3 with
 * the stand-in wandb package of tests/wandb_standin: it chains to the
 * sitecustomize that was next on the path, leaves sys.path as it would be
 * without it, does nothing for scripts without wandb, reports wandb's rows
 * (commit=False, step=, nested dicts, non-numbers, NaN) and alerts as JSON
 * lines, and never changes what wandb records (the run file is the same
 * byte for byte with and without it). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/offline/wandb_hook.h"
#include "sweep/offline/wandb_runfile.h"
#include "support/support.h"

static char *tmp, *hook_dir, *standin;

/* Runs `python3 script` in tmp with PYTHONPATH=pythonpath (NULL: unset)
 * and SWEEP_METRICS_FILE=tmp/metrics.jsonl; returns stdout (owned). */
static char *python(const char *script, const char *pythonpath, int want_status)
{
	struct sw_test_proc p;
	char *sp = sw_test_pathf(tmp, "%s", script), *mf = sw_test_pathf(tmp, "metrics.jsonl"), *out;
	char *e_pp = NULL, *e_mf = NULL, *e_dir = NULL;
	const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	char *cmd = NULL;
	const char *env[6];
	int k = 0;

	assert_true(asprintf(&cmd, "cd '%s' && %s python3 '%s'", tmp,
			     pythonpath ? "" : "unset PYTHONPATH;", sp) > 0);
	argv[2] = cmd;
	assert_true(asprintf(&e_pp, "PYTHONPATH=%s", pythonpath ? pythonpath : "") > 0);
	assert_true(asprintf(&e_mf, "SWEEP_METRICS_FILE=%s", mf) > 0);
	assert_true(asprintf(&e_dir, "WANDB_DIR=%s", tmp) > 0);
	env[k++] = e_pp;
	env[k++] = e_mf;
	env[k++] = e_dir;
	env[k++] = "WANDB_MODE=offline";
	env[k++] = "WANDB_RUN_ID=hookrun1";
	env[k] = NULL;
	assert_int_equal(sw_test_run(&p, argv, NULL, env, 60), 0);
	if (p.status != want_status)
		fprintf(stderr, "python3 %s: status %d\n%s\n%s\n", script, p.status, p.out,
			p.err);
	assert_int_equal(p.status, want_status);
	out = p.out;
	p.out = NULL;
	sw_test_proc_release(&p);
	free(cmd);
	free(e_pp);
	free(e_mf);
	free(e_dir);
	free(sp);
	free(mf);
	return out;
}

static char *metrics(void)
{
	char *mf = sw_test_pathf(tmp, "metrics.jsonl"), *text = sw_test_read_file(mf, NULL);

	free(mf);
	return text ? text : strdup("");
}

static void reset_metrics(void)
{
	char *mf = sw_test_pathf(tmp, "metrics.jsonl");

	unlink(mf);
	free(mf);
}

static int setup(void **state)
{
	char buf[PATH_MAX];
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	tmp = sw_test_tmpdir();
	assert_true(asprintf(&hook_dir, "%s/hook", tmp) > 0);
	assert_int_equal(sw_wandb_hook_write(hook_dir, &err), 0);
	assert_non_null(realpath("tests/wandb_standin", buf));
	standin = strdup(buf);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(tmp);
	free(tmp);
	free(hook_dir);
	free(standin);
	return 0;
}

static void test_written_module_is_the_embedded_source(void **state)
{
	size_t len, n = 0;
	const char *src = sw_wandb_hook_source(&len);
	char *p = sw_test_pathf(tmp, "hook/sitecustomize.py"), *text = sw_test_read_file(p, &n);
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	assert_true(len > 1000);
	assert_int_equal(strlen(src), len);
	assert_non_null(strstr(src, "def _sweep_chain"));
	assert_int_equal(n, len);
	assert_memory_equal(text, src, len);
	free(text);
	free(p);
	src = sw_wandb_report_source(&len);
	assert_non_null(strstr(src, "def install(wandb, path)"));
	p = sw_test_pathf(tmp, "hook/sweep_wandb_report.py");
	text = sw_test_read_file(p, &n);
	assert_int_equal(n, len);
	assert_memory_equal(text, src, len);
	/* writing again over the same content is fine */
	assert_int_equal(sw_wandb_hook_write(hook_dir, &err), 0);
	/* a file in the way of the directory is an error naming it */
	sw_test_put(tmp, "blocker", "x");
	free(p);
	p = sw_test_pathf(tmp, "blocker/sub");
	assert_int_equal(sw_wandb_hook_write(p, &err), -1);
	assert_non_null(strstr(err.msg, "blocker"));
	free(text);
	free(p);
}

static void test_pythonpath_keeps_the_users_entries(void **state)
{
	char *pp;

	(void)state;
	pp = sw_wandb_hook_pythonpath("/h", "/a:/b");
	assert_string_equal(pp, "/h:/a:/b");
	free(pp);
	pp = sw_wandb_hook_pythonpath("/h", "");
	assert_string_equal(pp, "/h");
	free(pp);
	pp = sw_wandb_hook_pythonpath("/h", NULL);
	assert_string_equal(pp, "/h");
	free(pp);
}

/* sys.path, the sitecustomize that ran, and whether wandb got imported:
 * the same with the hook first on the path as without it. */
static void test_sys_path_and_system_sitecustomize_unchanged(void **state)
{
	char *with, *without, *pp = NULL, *user = sw_test_pathf(tmp, "user");

	(void)state;
	sw_test_put(tmp, "probe.py",
	    "import sys, json\n"
	    "f = getattr(sys.modules.get('sitecustomize'), '__file__', None)\n"
	    "if f and f.endswith('/hook/sitecustomize.py'):\n"
	    "    f = None   # the hook stays as sitecustomize when none was next\n"
	    "print(json.dumps([sys.path[1:], f,\n"
	    "                  'wandb' in sys.modules]))\n");
	assert_true(asprintf(&pp, "%s:%s", hook_dir, user) > 0);
	with = python("probe.py", pp, 0);
	without = python("probe.py", user, 0);
	assert_string_equal(with, without);
	assert_non_null(strstr(with, "/user\""));
	assert_null(strstr(with, "/hook"));
	assert_non_null(strstr(with, "false]"));
	free(with);
	free(without);
	free(pp);
	free(user);
}

static void test_chains_to_the_users_sitecustomize(void **state)
{
	char *out, *pp = NULL, *user = sw_test_pathf(tmp, "user2");
	char *sc = sw_test_pathf(tmp, "user2/sitecustomize.py");

	(void)state;
	assert_int_equal(mkdir(user, 0755), 0);
	static const char user_sc[] = "import os\nos.environ['USER_SC'] = 'ran'\n";

	assert_int_equal(sw_test_write_file(sc, user_sc, strlen(user_sc)), 0);
	sw_test_put(tmp, "probe2.py",
	    "import os, sys\n"
	    "print(os.environ.get('USER_SC'), sys.modules['sitecustomize'].__file__)\n");
	assert_true(asprintf(&pp, "%s:%s", hook_dir, user) > 0);
	out = python("probe2.py", pp, 0);
	assert_non_null(strstr(out, "ran "));
	assert_non_null(strstr(out, "user2/sitecustomize.py"));
	free(out);
	free(pp);
	free(user);
	free(sc);
}

static void test_no_op_without_wandb(void **state)
{
	char *out, *m, *pp = NULL;

	(void)state;
	reset_metrics();
	sw_test_put(tmp, "plain.py",
	    "import json, sys\n"
	    "print('wandb' in sys.modules, json.dumps({'x': 1}))\n");
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	out = python("plain.py", pp, 0);
	assert_string_equal(out, "False {\"x\": 1}\n");
	m = metrics();
	assert_string_equal(m, "");
	free(m);
	free(out);
	free(pp);
}

static const char rows_py[] =
"import math, time, wandb\n"
"run = wandb.init(project='p', config={'lr': 0.1})\n"
"d = {'loss': 0.5, 'val': {'acc': 0.25, 'img': {'_type': 'image-file'}}}\n"
"wandb.log(d)\n"
"assert d == {'loss': 0.5, 'val': {'acc': 0.25, 'img': {'_type': 'image-file'}}}\n"
"wandb.log({'a': 1}, commit=False)\n"
"run.log({'b': 2, 's': 'text', 'flag': True, 'none': None, 'l': [1, 2]})\n"
"wandb.log({'bad': float('nan'), 'up': math.inf, 'down': -math.inf, 'big': 2**60,\n"
"           'huge': 2**64, 'vast': 10**400})\n"
"wandb.log({'late': 1.0}, step=10)\n"
"wandb.log({'old': 1.0}, step=3)\n"
"wandb.log({'late2': 2.0}, step=12)\n"
"wandb.alert(title='t', text='x', level=wandb.AlertLevel.ERROR)\n"
"wandb.alert('t2', 'y')\n"
"wandb.finish()\n";

static void test_rows_and_alerts_as_wandb_records_them(void **state)
{
	char *out, *m, *pp = NULL;

	(void)state;
	reset_metrics();
	sw_test_put(tmp, "rows.py", rows_py);
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	out = python("rows.py", pp, 0);
	m = metrics();
	assert_string_equal(m,
	    "{\"_wandb\":\"log\",\"_step\":0,\"row\":{\"loss\":0.5,\"val.acc\":0.25}}\n"
	    "{\"_wandb\":\"log\",\"_step\":1,\"row\":{\"a\":1,\"b\":2}}\n"
	    "{\"_wandb\":\"log\",\"_step\":2,\"row\":{\"bad\":\"NaN\",\"up\":\"Infinity\","
	    "\"down\":\"-Infinity\",\"big\":1152921504606846976,"
	    "\"huge\":1.8446744073709552e+19,\"vast\":\"Infinity\"}}\n"
	    "{\"_wandb\":\"log\",\"_step\":10,\"row\":{\"late\":1.0}}\n"
	    "{\"_wandb\":\"alert\",\"title\":\"t\",\"text\":\"x\",\"level\":\"ERROR\"}\n"
	    "{\"_wandb\":\"alert\",\"title\":\"t2\",\"text\":\"y\",\"level\":\"INFO\"}\n"
	    "{\"_wandb\":\"log\",\"_step\":12,\"row\":{\"late2\":2.0}}\n");
	free(m);
	free(out);
	free(pp);
}

/* The stand-in's run file, with time frozen, is the same byte for byte
 * whether the hook is loaded or not. */
static void test_what_wandb_records_is_unchanged(void **state)
{
	char *out, *pp = NULL, *a, *b, *fa = NULL, *fb = NULL;
	size_t na = 0, nb = 0;
	char *frozen = NULL;

	(void)state;
	assert_true(asprintf(&frozen, "import time\ntime.time = lambda: 1000.0\n"
			     "import os, glob, shutil\n"
			     "shutil.rmtree('wandb', ignore_errors=True)\n%s"
			     "src = glob.glob('wandb/offline-run-*-hookrun1/run-hookrun1.wandb')\n"
			     "shutil.move(src[0], os.environ['OUT_NAME'])\n"
			     "shutil.rmtree('wandb')\n", rows_py) > 0);
	sw_test_put(tmp, "frozen.py", frozen);
	setenv("OUT_NAME", "with.wandb", 1);
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	out = python("frozen.py", pp, 0);
	free(out);
	setenv("OUT_NAME", "without.wandb", 1);
	out = python("frozen.py", standin, 0);
	free(out);
	unsetenv("OUT_NAME");
	fa = sw_test_pathf(tmp, "with.wandb");
	fb = sw_test_pathf(tmp, "without.wandb");
	a = sw_test_read_file(fa, &na);
	b = sw_test_read_file(fb, &nb);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(na > 100);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
	free(fa);
	free(fb);
	free(frozen);
	free(pp);
}

/* wandb.init(mode="online") in the script runs offline under the hook:
 * the stand-in would otherwise try the (closed) server and fail. */
static void test_online_mode_becomes_offline(void **state)
{
	char *out, *pp = NULL;

	(void)state;
	reset_metrics();
	sw_test_put(tmp, "online.py",
	    "import wandb\n"
	    "run = wandb.init(mode='online')\n"
	    "wandb.log({'x': 1.5})\n"
	    "wandb.finish()\n"
	    "print('ok')\n");
	setenv("WANDB_BASE_URL", "http://127.0.0.1:9", 1);
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	out = python("online.py", pp, 0);
	assert_string_equal(out, "ok\n");
	free(out);
	/* the stand-in does fail without the hook: the check above can fail */
	out = python("online.py", standin, 1);
	free(out);
	unsetenv("WANDB_BASE_URL");
	free(pp);
}

/* Every way a script can ask wandb for an online run (the forms the SDK
 * takes, in its precedence: init's mode, init's settings as a dict or a
 * Settings, setup's settings, $WANDB_MODE changed in the script, no mode at
 * all) runs offline under the hook: the row arrives and the offline run
 * file is written. Each script does go online (and fail, the server's port
 * being closed) under the stand-in without the hook. */
static void test_every_online_request_stays_offline(void **state)
{
	static const char *const asks[] = {
		"wandb.init(mode='online')",
		"wandb.init('p', None, 'run')",   /* mode as a positional argument */
		"wandb.init(settings={'mode': 'online'})",
		"wandb.init(settings={'mode': 'shared'}, project='p')",
		"wandb.init(settings=wandb.Settings(mode='run'))",
		"wandb.init(mode=None, settings=wandb.Settings(mode='shared'))",
		"wandb.setup(settings=wandb.Settings(mode='run')); wandb.init()",
		"wandb.setup({'mode': 'online'}); wandb.init(settings={'project': 'p'})",
		"os.environ['WANDB_MODE'] = 'online'; wandb.init()",
		"os.environ['WANDB_MODE'] = 'run'; wandb.init(settings=wandb.Settings())",
		"os.environ.pop('WANDB_MODE'); wandb.init()",
		/* wandb keeps the environment it saw when it set up */
		"os.environ['WANDB_MODE'] = 'online'; wandb.setup(); "
		"os.environ['WANDB_MODE'] = 'offline'; wandb.init()",
		"wandb.init(settings={'mode': 'online'}); wandb.finish(); "
		"wandb.init(settings={'mode': 'run'})",
	};
	char *pp = NULL, *out, *m, *script = NULL;
	size_t i;

	(void)state;
	setenv("WANDB_BASE_URL", "http://127.0.0.1:9", 1);
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	for (i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		reset_metrics();
		free(script);
		assert_true(asprintf(&script,
				     "import os, glob, shutil\n"
				     "shutil.rmtree('wandb', ignore_errors=True)\n"
				     "import wandb\n"
				     "%s\n"
				     "wandb.log({'x': 1.5})\n"
				     "wandb.finish()\n"
				     "print(len(glob.glob('wandb/offline-run-*/run-*.wandb')))\n",
				     asks[i]) > 0);
		sw_test_put(tmp, "ask.py", script);
		out = python("ask.py", pp, 0);
		if (strcmp(out, "1\n") && strcmp(out, "2\n"))
			fail_msg("%s: %s", asks[i], out);
		free(out);
		m = metrics();
		if (!strstr(m, "{\"_wandb\":\"log\",\"_step\":0,\"row\":{\"x\":1.5}}\n"))
			fail_msg("%s: metrics %s", asks[i], m);
		free(m);
		out = python("ask.py", standin, 1);
		free(out);
	}
	/* what wandb refuses stays refused: the hook makes no bad mode good */
	sw_test_put(tmp, "ask.py", "import wandb\ntry:\n    wandb.init(mode='bogus')\n"
	    "except wandb.UsageError:\n    print('refused')\n");
	out = python("ask.py", pp, 0);
	assert_string_equal(out, "refused\n");
	free(out);
	/* offline, dryrun and disabled are the script's to choose */
	sw_test_put(tmp, "ask.py", "import wandb, os\nos.environ['WANDB_MODE'] = 'online'\n"
	    "for m in ('offline', 'dryrun', 'disabled'):\n"
	    "    print(wandb.init(mode=m).settings.mode)\n"
	    "    print(wandb.init(settings={'mode': m}).settings.mode)\n"
	    "wandb.finish()\n");
	out = python("ask.py", pp, 0);
	assert_string_equal(out, "offline\noffline\ndryrun\ndryrun\ndisabled\ndisabled\n");
	free(out);
	/* newer SDKs' pydantic Settings: a mode counts when it was set */
	sw_test_put(tmp, "ask.py", "import runpy\n"
	    "f = runpy.run_path('hook/sweep_wandb_report.py')['_sweep_settings_mode']\n"
	    "class S:\n"
	    "    def __init__(self, given, **kw):\n"
	    "        self.mode = 'online'; self.__dict__.update(kw)\n"
	    "        self.model_fields_set = set(given)\n"
	    "print(f(S([])), f(S(['mode'])), f(S(['mode'], mode='offline')))\n");
	out = python("ask.py", NULL, 0);
	assert_string_equal(out, "None online offline\n");
	free(out);
	unsetenv("WANDB_BASE_URL");
	free(script);
	free(pp);
}

/* A wandb.login() that would go online (the script sets $WANDB_MODE to an
 * online mode or removes it, which wandb.login reads when called, or asks
 * for the key to be verified with the server) logs in offline under the
 * hook and returns what an offline login returns (False), the run then
 * records its row, and the script's $WANDB_MODE is what it set. Without the
 * hook each fails: no key on a machine with no account, the server's port
 * closed, or, for verify offline, wandb's own error. A login the script
 * keeps offline or disabled is left alone. */
static void test_login_stays_offline(void **state)
{
	static const char *const asks[] = {
		"os.environ['WANDB_MODE'] = 'online'; r = wandb.login()",
		"os.environ['WANDB_MODE'] = 'run'; r = wandb.login(anonymous='allow')",
		"os.environ.pop('WANDB_MODE'); r = wandb.login(relogin=True)",
		"r = wandb.login(key='k' * 40, verify=True)",
		"os.environ['WANDB_MODE'] = 'online'; "
		"r = wandb.login(None, 'k' * 40, None, None, None, None, True)",
	};
	char *pp = NULL, *out, *m, *script = NULL;
	size_t i;

	(void)state;
	setenv("WANDB_BASE_URL", "http://127.0.0.1:9", 1);
	unsetenv("WANDB_API_KEY");
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	for (i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		reset_metrics();
		free(script);
		assert_true(asprintf(&script,
				     "import os, shutil\n"
				     "shutil.rmtree('wandb', ignore_errors=True)\n"
				     "import wandb\n"
				     "%s\n"
				     "mode = os.environ.get('WANDB_MODE')\n"
				     "wandb.init(mode='offline')\n"
				     "wandb.log({'x': 2.5})\n"
				     "wandb.finish()\n"
				     "print(r, mode)\n", asks[i]) > 0);
		sw_test_put(tmp, "login.py", script);
		out = python("login.py", pp, 0);
		if (strncmp(out, "False ", 6) || (i != 3 && strstr(out, "offline")))
			fail_msg("%s: %s", asks[i], out);
		free(out);
		m = metrics();
		if (!strstr(m, "{\"_wandb\":\"log\",\"_step\":0,\"row\":{\"x\":2.5}}\n"))
			fail_msg("%s: metrics %s", asks[i], m);
		free(m);
		out = python("login.py", standin, 1);
		free(out);
	}
	sw_test_put(tmp, "login.py", "import wandb, os\nprint(wandb.login())\n"
	    "os.environ['WANDB_MODE'] = 'disabled'\nprint(wandb.login(verify=True))\n"
	    "print(os.environ['WANDB_MODE'])\n");
	out = python("login.py", pp, 0);
	assert_string_equal(out, "False\nTrue\ndisabled\n");
	free(out);
	unsetenv("WANDB_BASE_URL");
	free(script);
	free(pp);
}

/* wandb.log from several threads: every row reaches the metrics file once,
 * with the step wandb gave it (the run file's), none lost or mixed. A
 * switch interval of a microsecond makes Python change threads inside the
 * hook's bookkeeping. */
static void test_rows_logged_from_threads(void **state)
{
	enum { THREADS = 4, ROWS = 400, N = THREADS * ROWS };
	int seen[N], steps_file[N];
	char *pp = NULL, *out, *m, *line, *save = NULL, *nl;
	struct sw_wandb_runfile rf = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	size_t i;
	json_t *row;
	int k;

	(void)state;
	reset_metrics();
	sw_test_put(tmp, "threads.py",
	    "import os, shutil, sys, threading\n"
	    "shutil.rmtree('wandb', ignore_errors=True)\n"
	    "import wandb\n"
	    "sys.setswitchinterval(1e-6)\n"
	    "run = wandb.init()\n"
	    "def work(t):\n"
	    "    for i in range(400):\n"
	    "        wandb.log({'row': t * 400 + i, 'v': {'t': t}})\n"
	    "ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]\n"
	    "[t.start() for t in ts]\n"
	    "[t.join() for t in ts]\n"
	    "wandb.finish()\n"
	    "print(os.path.join(run.dir, 'run-%s.wandb' % run.id), end='')\n");
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	out = python("threads.py", pp, 0);
	/* what wandb recorded: each row's step */
	assert_int_equal(sw_wandb_runfile_read(out, &rf, &err), 0);
	assert_int_equal(json_array_size(rf.history), N);
	for (k = 0; k < N; k++)
		steps_file[k] = -1;
	json_array_foreach(rf.history, i, row) {
		k = (int)json_integer_value(json_object_get(row, "row"));
		assert_true(k >= 0 && k < N);
		assert_int_equal(steps_file[k], -1);
		steps_file[k] = (int)json_integer_value(json_object_get(row, "_step"));
	}
	/* what the hook reported: the same rows, each once, at the same step */
	memset(seen, 0, sizeof(seen));
	m = metrics();
	for (line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int step, r, t;

		nl = strstr(line, "\"row\":{\"row\":");
		assert_non_null(nl);
		assert_int_equal(sscanf(line, "{\"_wandb\":\"log\",\"_step\":%d,", &step), 1);
		assert_int_equal(sscanf(nl, "\"row\":{\"row\":%d,\"v.t\":%d}}", &r, &t), 2);
		assert_true(r >= 0 && r < N);
		assert_int_equal(t, r / ROWS);
		seen[r]++;
		if (step != steps_file[r])
			fail_msg("row %d: step %d reported, %d in the run file", r, step,
				 steps_file[r]);
	}
	for (k = 0; k < N; k++)
		if (seen[k] != 1)
			fail_msg("row %d reported %d times", k, seen[k]);
	sw_wandb_runfile_release(&rf);
	free(m);
	free(out);
	free(pp);
	/* a child forked while a thread is inside wandb.log can log too (the
	 * stand-in's own lock is taken out of the way, and its log made slow) */
	reset_metrics();
	sw_test_put(tmp, "fork.py",
	    "import contextlib, os, threading, time, wandb\n"
	    "run = wandb.init()\n"
	    "run._lock = contextlib.nullcontext()\n"
	    "slow = type(run)._log\n"
	    "def _log(self, *a):\n"
	    "    time.sleep(0.5); slow(self, *a)\n"
	    "type(run)._log = _log\n"
	    "t = threading.Thread(target=wandb.log, args=({'t': 1},)); t.start()\n"
	    "time.sleep(0.1)\n"
	    "pid = os.fork()\n"
	    "if pid == 0:\n"
	    "    type(run)._log = slow\n"
	    "    wandb.log({'c': 1}); os._exit(0)\n"
	    "for _ in range(100):\n"
	    "    if os.waitpid(pid, os.WNOHANG)[0]: print('child logged'); break\n"
	    "    time.sleep(0.05)\n"
	    "else:\n"
	    "    os.kill(pid, 9); print('child stuck')\n"
	    "t.join(); wandb.finish()\n");
	assert_true(asprintf(&pp, "%s:%s", hook_dir, standin) > 0);
	out = python("fork.py", pp, 0);
	assert_string_equal(out, "child logged\n");
	free(out);
	free(pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_module_is_the_embedded_source),
		cmocka_unit_test(test_pythonpath_keeps_the_users_entries),
		cmocka_unit_test(test_sys_path_and_system_sitecustomize_unchanged),
		cmocka_unit_test(test_chains_to_the_users_sitecustomize),
		cmocka_unit_test(test_no_op_without_wandb),
		cmocka_unit_test(test_rows_and_alerts_as_wandb_records_them),
		cmocka_unit_test(test_what_wandb_records_is_unchanged),
		cmocka_unit_test(test_online_mode_becomes_offline),
		cmocka_unit_test(test_every_online_request_stays_offline),
		cmocka_unit_test(test_login_stays_offline),
		cmocka_unit_test(test_rows_logged_from_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
