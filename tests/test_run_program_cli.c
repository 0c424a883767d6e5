/* test_run_program_cli.c - `sweep run` / `sweep resume` of sweeps that name
 * the user's own program: a Python standard-library training-like script
 * over a 3-point grid (metrics read from SWEEP_METRICS_FILE, the results
 * store and table), hyperband stopping children with SIGTERM, SIGKILL of
 * sweep itself mid-run then `sweep resume` re-running the in-flight child
 * with every run recorded once, Ctrl-C once and twice, and clear errors. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "support/support.h"
#include "sweep/store/store.h"

static char *tmp;
static char env_home[4200], env_xdg[4200];
static const char *env[] = { "SWEEP_ALERT_WEBHOOK=", "WANDB_AGENT_KILL_DELAY=3",
			     env_home, env_xdg, NULL };

/* val_loss = lr * 10 / epoch; on SIGTERM it notes it and exits 0 */
static const char train_py[] =
"import json, os, signal, sys, time\n"
"args = dict(a[2:].split('=', 1) for a in sys.argv[1:])\n"
"run = os.environ['WANDB_RUN_ID']\n"
"with open('starts.log', 'a') as f:\n"
"    f.write('%s %d %s %s\\n' % (run, os.getpid(), os.environ['WANDB_SWEEP_ID'],\n"
"                              os.environ.get('WANDB_RESUME', '-')))\n"
"def on_term(sig, frame):\n"
"    with open('term-%s.txt' % run, 'w') as f:\n"
"        f.write('TERM')\n"
"    sys.exit(0)\n"
"signal.signal(signal.SIGTERM, on_term)\n"
"lr = float(args['lr'])\n"
"mf = open(os.environ['SWEEP_METRICS_FILE'], 'a')\n"
"own = args.get('own_ckpt') == '1'\n"
"ck = 'ckpt-%s.txt' % run\n"
"start = 1\n"
"if own and os.environ.get('WANDB_RESUME') == 'allow' and os.path.exists(ck):\n"
"    start = int(open(ck).read()) + 1\n"
"with open('from-%s.txt' % run, 'a') as f:\n"
"    f.write('%d\\n' % start)\n"
"for epoch in range(start, int(args['epochs']) + 1):\n"
"    time.sleep(float(args.get('sleep', '0.05')))\n"
"    mf.write(json.dumps({'epoch': epoch, 'val_loss': lr * 10 / epoch}) + '\\n')\n"
"    mf.flush()\n"
"    if own:\n"
"        with open(ck + '.tmp', 'w') as f:\n"
"            f.write(str(epoch))\n"
"        os.replace(ck + '.tmp', ck)\n"
"print('trained with lr', lr)\n";

static int run_sweep(struct sw_test_proc *p, const char *a1, const char *a2,
		     const char *a3, const char *a4, const char *a5, const char *a6)
{
	const char *argv[] = { sw_test_bin(), a1, a2, a3, a4, a5, a6, NULL };

	return sw_test_run(p, argv, NULL, env, 120);
}

/* The one results directory under tmp/<sub> (a new string). */
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

static json_t *load_runs(const char *dir)
{
	char *p = NULL, *text;
	json_t *arr = json_array();
	const char *line;

	assert_true(asprintf(&p, "%s/runs.jsonl", dir) > 0);
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

static void test_grid_three_points(void **state)
{
	struct sw_test_proc p;
	char *dir, *hist = NULL, *text, *sweep = sw_test_pathf(tmp, "grid.yaml");
	json_t *runs;
	size_t i;

	(void)state;
	sw_test_put(tmp, "grid.yaml",
	    "name: prog-grid\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.1, 0.01, 0.001]}\n  epochs: {value: 3}\n");
	char *res = sw_test_pathf(tmp, "res-grid");

	assert_int_equal(run_sweep(&p, "run", sweep, "--seed", "5", "--results", res), 0);
	free(res);
	assert_int_equal(p.status, 0);
	/* the final table names the best run by the program's metric */
	assert_non_null(strstr(p.out, "top 3 of 3 runs by val_loss"));
	assert_non_null(strstr(p.out, "lr: 0.001"));
	assert_non_null(strstr(p.err, "] trained with lr 0.1\n"));
	dir = results_dir("res-grid");
	runs = load_runs(dir);
	assert_int_equal(json_array_size(runs), 3);
	for (i = 0; i < 3; i++) {
		json_t *r = json_array_get(runs, i);
		double lr = json_number_value(json_object_get(json_object_get(r, "params"),
							      "lr"));

		assert_string_equal(json_string_value(json_object_get(r, "state")), "finished");
		assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 3);
		assert_true(fabs(json_number_value(json_object_get(json_object_get(r, "summary"),
				  "val_loss")) - lr * 10 / 3) < 1e-9);
		free(hist);
		assert_true(asprintf(&hist, "%s/runs/%s/history.jsonl", dir,
				     json_string_value(json_object_get(r, "id"))) > 0);
		text = sw_test_read_file(hist, NULL);
		assert_int_equal(sw_test_count_lines(text, "val_loss"), 3);
		free(text);
	}
	/* the working directory is recorded for resume */
	free(hist);
	assert_true(asprintf(&hist, "%s/meta.json", dir) > 0);
	text = sw_test_read_file(hist, NULL);
	assert_non_null(strstr(text, "\"workdir\""));
	free(text);
	free(hist);
	json_decref(runs);
	free(dir);
	free(sweep);
	sw_test_proc_release(&p);
}

static void test_hyperband_sigterm(void **state)
{
	struct sw_test_proc p;
	char *dir, *sweep = sw_test_pathf(tmp, "hb.yaml");
	json_t *runs;
	size_t i;
	int stopped = 0, finished = 0;

	(void)state;
	/* sequential: the first (best) run sets the threshold at epoch 1, the
	 * worse ones are stopped there with SIGTERM and say so */
	sw_test_put(tmp, "hb.yaml",
	    "name: prog-hb\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "early_terminate: {type: hyperband, min_iter: 1, eta: 3}\n"
	    "parameters:\n  lr: {values: [0.001, 0.5, 1.0]}\n  epochs: {value: 6}\n"
	    "  sleep: {value: 0.3}\n");
	char *res = sw_test_pathf(tmp, "res-hb");

	assert_int_equal(run_sweep(&p, "run", sweep, "--parallel", "1", "--results", res), 0);
	free(res);
	assert_int_equal(p.status, 0);
	dir = results_dir("res-hb");
	runs = load_runs(dir);
	assert_int_equal(json_array_size(runs), 3);
	for (i = 0; i < 3; i++) {
		json_t *r = json_array_get(runs, i);
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *st = json_string_value(json_object_get(r, "state"));
		char *term = sw_test_pathf(tmp, "term-%s.txt", id);
		struct stat sb;

		if (!strcmp(st, "stopped")) {
			stopped++;
			/* the child got SIGTERM (its handler wrote the file) */
			assert_int_equal(stat(term, &sb), 0);
			assert_non_null(strstr(json_string_value(json_object_get(r, "reason")),
					       "hyperband"));
			assert_true(json_integer_value(json_object_get(r, "epochs")) < 6);
		} else {
			assert_string_equal(st, "finished");
			finished++;
			assert_int_equal(stat(term, &sb), -1);
		}
		free(term);
	}
	assert_int_equal(finished, 1);
	assert_int_equal(stopped, 2);
	json_decref(runs);
	free(dir);
	free(sweep);
	sw_test_proc_release(&p);
}

/* Whether process pid is gone (or a zombie nobody reaped yet). */
static int gone(pid_t pid)
{
	char path[64], *stat_text;
	int dead;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat_text = sw_test_read_file(path, NULL);
	if (!stat_text)
		return 1;
	dead = strstr(stat_text, ") Z ") != NULL;
	free(stat_text);
	return dead;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* own_ckpt: the script keeps its own checkpoint and, started again under
 * WANDB_RESUME=allow, goes on after its last epoch; else it starts over. */
static void sigkill_then_resume(int own_ckpt)
{
	struct sw_test_proc p;
	char *sweep = sw_test_pathf(tmp, "crash.yaml"), *res = sw_test_pathf(tmp, own_ckpt ? "res-own" : "res-crash");
	char *dir = NULL;
	char *starts_path = sw_test_pathf(tmp, "starts.log"), *starts, *runs_path = NULL, *text;
	char inflight[64] = "", *line;
	const char *args[] = { "run", sweep, "--parallel", "1", "--seed", "9",
			       "--results", res, NULL };
	json_t *runs, *ids = json_object();
	pid_t pid, child_pid = 0;
	int i, status;
	size_t k;

	unlink(starts_path);
	sw_test_put(tmp, "crash.yaml", own_ckpt ?
	    "name: prog-crash\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.3, 0.2, 0.1]}\n  epochs: {value: 4}\n"
	    "  sleep: {value: 0.25}\n  own_ckpt: {value: 1}\n" :
	    "name: prog-crash\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.3, 0.2, 0.1]}\n  epochs: {value: 4}\n"
	    "  sleep: {value: 0.25}\n");
	pid = sw_test_spawn_files(args, env, NULL, "/dev/null", "/dev/null");
	/* wait until run 1 ended and run 2 is in flight with an epoch */
	for (i = 0; i < 600; i++) {
		json_t *r;

		sleep_ms(50);
		if (!dir) {
			glob_t g;
			char *pat = sw_test_pathf(tmp, "%s/*/runs.jsonl", own_ckpt ? "res-own" : "res-crash");

			memset(&g, 0, sizeof(g));
			if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc == 1) {
				runs_path = strdup(g.gl_pathv[0]);
				dir = strdup(g.gl_pathv[0]);
				*strrchr(dir, '/') = '\0';
			}
			globfree(&g);
			free(pat);
			continue;
		}
		text = sw_test_read_file(runs_path, NULL);
		k = text ? (size_t)sw_test_count_lines(text, "\"id\"") : 0;
		free(text);
		starts = sw_test_read_file(starts_path, NULL);
		if (k == 1 && starts && sw_test_count_lines(starts, " ") == 2) {
			/* the second start line is the in-flight run */
			line = strchr(starts, '\n') + 1;
			sscanf(line, "%63s %d", inflight, &child_pid);
			free(starts);
			r = NULL;
			(void)r;
			text = NULL;
			assert_true(asprintf(&text, "%s/runs/%s/history.jsonl", dir, inflight) > 0);
			{
				char *h = sw_test_read_file(text, NULL);
				int n = h ? sw_test_count_lines(h, "val_loss") : 0;

				free(h);
				free(text);
				if (n >= 1)
					break;
			}
			continue;
		}
		free(starts);
	}
	assert_true(i < 600);
	if (own_ckpt) {     /* its own checkpoint of epoch 1 at least */
		char *ck = sw_test_pathf(tmp, "ckpt-%s.txt", inflight);

		for (i = 0; i < 100 && access(ck, F_OK) < 0; i++)
			sleep_ms(20);
		free(ck);
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* the orphaned child was told to go (PR_SET_PDEATHSIG: SIGTERM) */
	for (i = 0; i < 100 && !gone((pid_t)child_pid); i++)
		sleep_ms(50);
	assert_true(gone((pid_t)child_pid));

	assert_int_equal(run_sweep(&p, "resume", dir, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "rerunning run"));
	assert_non_null(strstr(p.err, inflight));
	runs = load_runs(dir);
	assert_int_equal(json_array_size(runs), 3);
	for (k = 0; k < 3; k++) {
		json_t *r = json_array_get(runs, k);
		const char *id = json_string_value(json_object_get(r, "id"));

		assert_null(json_object_get(ids, id));     /* each run once */
		json_object_set_new(ids, id, json_true());
		assert_string_equal(json_string_value(json_object_get(r, "state")), "finished");
		assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 4);
	}
	assert_non_null(json_object_get(ids, inflight));
	/* the in-flight run's history: 4 epochs, not 5+, each once, in order
	 * (started over, or gone on after the rows kept from before) */
	{
		json_t *hist = NULL, *run = NULL, *row;
		double lr = -1;

		assert_int_equal(sw_store_load_history(dir, inflight, &hist, NULL), 0);
		assert_int_equal(json_array_size(hist), 4);
		for (k = 0; k < json_array_size(runs); k++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(runs, k),
								      "id")), inflight))
				run = json_array_get(runs, k);
		lr = json_number_value(json_object_get(json_object_get(run, "params"), "lr"));
		json_array_foreach(hist, k, row) {
			assert_int_equal(json_integer_value(json_object_get(row, "_step")),
					 (json_int_t)k);
			assert_true(fabs(json_number_value(json_object_get(row, "val_loss")) -
					 lr * 10 / (double)(k + 1)) < 1e-12);
		}
		json_decref(hist);
	}
	if (own_ckpt) {     /* it went on from its own checkpoint */
		char *from = sw_test_pathf(tmp, "from-%s.txt", inflight), *f = sw_test_read_file(from, NULL);
		char *last;

		/* its starts (earlier tests of this seed had the same run ids):
		 * the last one went on after epoch 1 at least */
		assert_non_null(f);
		f[strlen(f) - 1] = '\0';
		last = strrchr(f, '\n') ? strrchr(f, '\n') + 1 : f;
		assert_true(atoi(last) > 1);
		assert_non_null(strstr(p.err, "(the rows recorded before the restart are kept)"));
		free(f);
		free(from);
	}
	/* the child started twice for it, with the same sweep id both times;
	 * the second time under wandb's resume convention, the others not */
	starts = sw_test_read_file(starts_path, NULL);
	assert_int_equal(sw_test_count_lines(starts, inflight), 2);
	assert_int_equal(sw_test_count_lines(starts, " allow"), 1);
	line = strstr(starts, " allow");
	while (line > starts && line[-1] != '\n')
		line--;
	assert_memory_equal(line, inflight, strlen(inflight));
	free(starts);
	json_decref(ids);
	json_decref(runs);
	free(runs_path);
	free(dir);
	free(res);
	free(sweep);
	free(starts_path);
	sw_test_proc_release(&p);
}

static void test_sigkill_then_resume(void **state)
{
	(void)state;
	sigkill_then_resume(0);
}

/* A script that continues from its own checkpoint under WANDB_RESUME=allow:
 * the rows recorded before the kill are kept, none twice, none lost. */
static void test_sigkill_then_resume_own_checkpoint(void **state)
{
	(void)state;
	sigkill_then_resume(1);
}

/* Starts `sweep run` of name.yaml in the background; returns its pid. */
static pid_t start_sweep(const char *yaml_path, const char *res)
{
	const char *args[] = { "run", yaml_path, "--parallel", "1", "--results", res, NULL };

	return sw_test_spawn_files(args, env, NULL, "/dev/null", "/dev/null");
}

/* Waits until some history.jsonl under tmp/sub has n epochs; returns the
 * run id (a new string). */
static char *wait_epochs(const char *sub, int n)
{
	char *pat = sw_test_pathf(tmp, "%s/*/runs/*/history.jsonl", sub), *id = NULL;
	int i;

	for (i = 0; i < 600 && !id; i++) {
		glob_t g;
		size_t k;

		sleep_ms(50);
		memset(&g, 0, sizeof(g));
		if (glob(pat, 0, NULL, &g) == 0)
			for (k = 0; k < g.gl_pathc && !id; k++) {
				char *h = sw_test_read_file(g.gl_pathv[k], NULL);

				if (h && sw_test_count_lines(h, "val_loss") >= n) {
					char *e = strrchr(g.gl_pathv[k], '/');

					*e = '\0';
					id = strdup(strrchr(g.gl_pathv[k], '/') + 1);
				}
				free(h);
			}
		globfree(&g);
	}
	free(pat);
	assert_non_null(id);
	return id;
}

/* The one run of the sweep under results name was interrupted: nothing
 * recorded in runs.jsonl, its running.json left for resume. */
static void expect_in_flight(const char *name, const char *id)
{
	char *dir = results_dir(name), *p = NULL;
	json_t *runs = load_runs(dir);
	struct stat sb;

	assert_int_equal(json_array_size(runs), 0);
	json_decref(runs);
	assert_true(asprintf(&p, "%s/runs/%s/running.json", dir, id) > 0);
	assert_int_equal(stat(p, &sb), 0);
	free(p);
	free(dir);
}

static void test_ctrl_c(void **state)
{
	char *yaml = sw_test_pathf(tmp, "ctrlc.yaml"), *res = sw_test_pathf(tmp, "res-ctrlc"), *res2 = sw_test_pathf(tmp, "res-ctrlc2");
	char *id, *term;
	pid_t pid;
	int status;
	struct stat sb;

	(void)state;
	sw_test_put(tmp, "ctrlc.yaml",
	    "name: prog-ctrlc\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.3, 0.2]}\n  epochs: {value: 40}\n"
	    "  sleep: {value: 0.4}\n");
	/* first Ctrl-C: no new runs; the child is stopped (SIGTERM) at its
	 * next reported epoch and stays in flight for resume; exit 130 */
	pid = start_sweep(yaml, res);
	id = wait_epochs("res-ctrlc", 1);
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 130);
	term = sw_test_pathf(tmp, "term-%s.txt", id);
	assert_int_equal(stat(term, &sb), 0);
	free(term);
	expect_in_flight("res-ctrlc", id);
	free(id);

	/* twice: SIGTERM at once, in flight too (epochs 2 s apart, so both
	 * interrupts land between two epochs) */
	sw_test_put(tmp, "ctrlc2.yaml",
	    "name: prog-ctrlc2\nprogram: train.py\nmethod: grid\n"
	    "metric: {name: val_loss, goal: minimize}\n"
	    "parameters:\n  lr: {values: [0.3, 0.2]}\n  epochs: {value: 40}\n"
	    "  sleep: {value: 2.0}\n");
	free(yaml);
	yaml = sw_test_pathf(tmp, "ctrlc2.yaml");
	pid = start_sweep(yaml, res2);
	id = wait_epochs("res-ctrlc2", 1);
	assert_int_equal(kill(pid, SIGINT), 0);
	sleep_ms(20);
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 130);
	expect_in_flight("res-ctrlc2", id);
	free(id);
	free(yaml);
	free(res);
	free(res2);
}

static void test_errors(void **state)
{
	struct sw_test_proc p;
	char *sweep = sw_test_pathf(tmp, "missing.yaml"), *bad = sw_test_pathf(tmp, "badinterp.yaml");

	(void)state;
	sw_test_put(tmp, "missing.yaml", "program: nowhere.py\nmethod: grid\n"
	    "parameters:\n  lr: {values: [0.1]}\n");
	char *res = sw_test_pathf(tmp, "res-err"), *res2 = sw_test_pathf(tmp, "res-bad");

	assert_int_equal(run_sweep(&p, "run", sweep, "--results", res, NULL, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "program 'nowhere.py'"));
	assert_non_null(strstr(p.err, "not found"));
	assert_int_equal(sw_test_count_lines(p.err, "error"), 1);
	sw_test_proc_release(&p);

	/* a command naming a missing interpreter: each run fails, saying so */
	sw_test_put(tmp, "badinterp.yaml", "program: train.py\nmethod: grid\n"
	    "command: [\"${env}\", \"no-such-python-xyz\", \"${program}\", \"${args}\"]\n"
	    "parameters:\n  lr: {values: [0.1, 0.2]}\n  epochs: {value: 1}\n");
	assert_int_equal(run_sweep(&p, "run", bad, "--results", res2, NULL, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_true(sw_test_count_lines(p.err, "interpreter 'no-such-python-xyz' "
					"not found") >= 2);
	assert_int_equal(sw_test_count_lines(p.out, "  failed  "), 2);
	sw_test_proc_release(&p);
	free(sweep);
	free(bad);
	free(res);
	free(res2);
}

static int setup(void **state)
{
	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp)
		return -1;
	snprintf(env_home, sizeof(env_home), "HOME=%s", tmp);
	snprintf(env_xdg, sizeof(env_xdg), "XDG_CACHE_HOME=%s/cache", tmp);
	sw_test_put(tmp, "train.py", train_py);
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
		cmocka_unit_test(test_grid_three_points),
		cmocka_unit_test(test_hyperband_sigterm),
		cmocka_unit_test(test_sigkill_then_resume),
		cmocka_unit_test(test_sigkill_then_resume_own_checkpoint),
		cmocka_unit_test(test_ctrl_c),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
