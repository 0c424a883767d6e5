/* test_slurm_cli.c - end-to-end `sweep run --launcher slurm` against a real
 * single-node Slurm cluster: the one $SLURM_CONF names when it answers,
 * else one started here with tests/slurm/start.sh (and stopped after).
 * When no cluster can be started every test is skipped with the reason
 * printed, unless $SWEEP_TEST_REQUIRE_SLURM=1 (CI), where that fails.
 *
 * Covers: a grid of built-in CNN runs, a program sweep (same macros and
 * environment as locally), a hyperband stop that cancels a running job
 * (the program sees SIGTERM), a job killed by its time limit (TIMEOUT),
 * a SIGKILLed controller resumed with its jobs re-attached (no job
 * submitted twice; a vanished one submitted again), a job cancelled by
 * someone else (a failed run saying so; never more than --parallel jobs
 * in the queue), Ctrl-C (queued jobs cancelled at once, the running one
 * after its epoch), a job requeued by Slurm and jobs preempted or lost
 * with their node (a fake scontrol) submitted again to go on, and the
 * errors: no
 * sbatch on PATH, sbatch refusing --sbatch, the sweep binary unreachable
 * on the node. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cifar_fake.h"
#include "support/support.h"
#include "sweep/run/slurm.h"
#include "sweep/store/store.h"

static char *tmp, *data, *cluster_dir;
static char skip_reason[512];
static int started_cluster;

/* ==== Helpers ==== */

/* Whether `sinfo` answers for the cluster $SLURM_CONF names. */
static int cluster_answers(void)
{
	const char *argv[] = { "sinfo", "-h", "-o", "%t", NULL };
	struct sw_err err = SW_ERR_INIT;
	char *out = NULL;
	int status = 1, ok;

	ok = sw_slurm_exec(argv, &out, &status, &err) == 0 && status == 0 &&
	     out && strstr(out, "idle");
	free(out);
	return ok;
}

/* Starts a cluster in tmp/cluster with tests/slurm/start.sh; sets
 * SLURM_CONF. Returns 0, or -1 with skip_reason set. */
static int start_cluster(void)
{
	const char *argv[] = { "tests/slurm/start.sh", NULL, NULL };
	struct sw_err err = SW_ERR_INIT;
	char *out = NULL, *conf;
	int status = 1;

	cluster_dir = sw_test_strf("%s/cluster", tmp);
	argv[1] = cluster_dir;
	if (sw_slurm_exec(argv, &out, &status, &err) < 0 || status != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "%s",
			 out && *out ? out : err.msg);
		free(out);
		return -1;
	}
	started_cluster = 1;
	conf = strstr(out, "SLURM_CONF=");
	if (conf) {
		conf[strcspn(conf, "\n")] = '\0';
		setenv("SLURM_CONF", conf + strlen("SLURM_CONF="), 1);
	}
	free(out);
	return 0;
}

/* Official-size batch files with 1000 real records each, the rest zero. */
static int write_data(void)
{
	static const char *const files[] = { "data_batch_1.bin", "data_batch_2.bin",
		"data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
		"test_batch.bin" };
	size_t i;

	data = sw_test_strf("%s/data", tmp);
	if (mkdir(data, 0755) < 0 || sw_test_cifar_write(data, 1000) < 0)
		return -1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = sw_test_strf("%s/%s", data, files[i]);
		int rc = truncate(p, 10000L * 3073);

		free(p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int setup(void **state)
{
	char *bin;

	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp || write_data() < 0)
		return -1;
	/* the tests change directory: the binary by its absolute path */
	bin = realpath(sw_test_bin(), NULL);
	if (!bin)
		return -1;
	setenv("SWEEP_BIN", bin, 1);
	free(bin);
	/* jobs leave stopped programs quickly */
	setenv("WANDB_AGENT_KILL_DELAY", "5", 1);
	if (getenv("SLURM_CONF") && cluster_answers())
		return 0;
	if (start_cluster() < 0 || !cluster_answers()) {
		if (!skip_reason[0])
			snprintf(skip_reason, sizeof(skip_reason), "sinfo does not answer");
		fprintf(stderr, "[  SKIPPED ] Slurm tests: no Slurm cluster could be "
			"started: %s\n", skip_reason);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (started_cluster) {
		const char *argv[] = { "tests/slurm/stop.sh", cluster_dir, NULL };
		struct sw_err err = SW_ERR_INIT;
		char *out = NULL;
		int status;

		sw_slurm_exec(argv, &out, &status, &err);
		free(out);
	}
	sw_test_rmtree(tmp);
	free(tmp);
	free(data);
	free(cluster_dir);
	return 0;
}

/* Skips the test when there is no cluster (fails instead in CI). */
static void need_cluster(void)
{
	if (!skip_reason[0])
		return;
	if (getenv("SWEEP_TEST_REQUIRE_SLURM") &&
	    !strcmp(getenv("SWEEP_TEST_REQUIRE_SLURM"), "1"))
		fail_msg("no Slurm cluster, and SWEEP_TEST_REQUIRE_SLURM=1: %s", skip_reason);
	skip();
}

static char *write_text(const char *name, const char *text)
{
	char *path = sw_test_strf("%s/%s", tmp, name);

	assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
	return path;
}

#define RUN(p, ...) do { \
	const char *const args_[] = { __VA_ARGS__, NULL }; \
	sw_test_run_args((p), args_, NULL, 300); \
} while (0)

static json_t *load_jsonl(const char *path)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *a = NULL;

	if (sw_jsonl_load(path, 0, &a, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	return a;
}

/* runs.jsonl of dir, each run checked: recorded once, a Slurm job id, one
 * history line per epoch, the job named sweep-DIRNAME-ID and submitted
 * once (resubmitted: that many submissions). */
static json_t *check_runs(const char *dir, size_t n_runs)
{
	char *p = sw_test_strf("%s/runs.jsonl", dir);
	json_t *runs = load_jsonl(p), *rec, *ids = json_object();
	const char *base = strrchr(dir, '/') + 1;
	size_t i;

	free(p);
	assert_int_equal(json_array_size(runs), n_runs);
	json_array_foreach(runs, i, rec) {
		const char *id = sw_test_str(rec, "id");
		char *name = sw_test_strf("sweep-%s-%s", base, id);
		json_t *h, *subs;

		assert_null(json_object_get(ids, id));
		json_object_set_new(ids, id, json_true());
		assert_true(strlen(sw_test_str(rec, "slurm_job_id")) > 0);
		p = sw_test_strf("%s/runs/%s/history.jsonl", dir, id);
		h = load_jsonl(p);
		free(p);
		assert_int_equal(json_array_size(h),
				 json_integer_value(json_object_get(rec, "epochs")));
		json_decref(h);
		p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir, id);
		subs = load_jsonl(p);
		free(p);
		assert_true(json_array_size(subs) >= 1);
		assert_string_equal(sw_test_str(json_array_get(subs, json_array_size(subs) - 1),
					"job_name"), name);
		assert_string_equal(sw_test_str(json_array_get(subs, json_array_size(subs) - 1),
					"job_id"), sw_test_str(rec, "slurm_job_id"));
		json_decref(subs);
		free(name);
	}
	json_decref(ids);
	return runs;
}

static size_t submissions(const char *dir, const char *id)
{
	char *p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir, id);
	json_t *subs = load_jsonl(p);
	size_t n = json_array_size(subs);

	json_decref(subs);
	free(p);
	return n;
}

static const json_t *find_param(const json_t *runs, const char *name, double v)
{
	const json_t *rec;
	size_t i;

	json_array_foreach(runs, i, rec)
		if (json_number_value(json_object_get(json_object_get(rec, "params"),
						      name)) == v)
			return rec;
	return NULL;
}

static int file_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* A program trial: LR epochs (EPOCHS, SLEEP s each), loss lr/epoch; on
 * SIGTERM writes got-term beside its metrics file and exits. It checks
 * that it runs as `sweep run` runs it locally: in the sweep's directory,
 * with WANDB_SWEEP_PARAM_PATH and SWEEP_RUN_ID. */
static const char program[] =
	"import json, os, signal, sys, time\n"
	"args = dict(a[2:].split('=', 1) for a in sys.argv[1:])\n"
	"lr = float(args['lr']); epochs = int(args.get('epochs', 3))\n"
	"pause = float(args.get('sleep', 0.3))\n"
	"out = os.environ['SWEEP_METRICS_FILE']\n"
	"here = os.path.dirname(out)\n"
	"def term(*_):\n"
	"    open(os.path.join(here, 'got-term'), 'w').write('TERM')\n"
	"    sys.exit(0)\n"
	"signal.signal(signal.SIGTERM, term)\n"
	"local = int(os.path.exists('prog.py') and os.path.exists(os.environ['WANDB_SWEEP_PARAM_PATH'])\n"
	"            and os.path.basename(here) == os.environ['SWEEP_RUN_ID'])\n"
	"for e in range(1, epochs + 1):\n"
	"    time.sleep(pause)\n"
	"    with open(out, 'a') as f:\n"
	"        f.write(json.dumps({'epoch': e, 'loss': lr / e, 'local': local}) + '\\n')\n";

/* ==== Tests ==== */

static void test_builtin_grid(void **state)
{
	char *y, *root = sw_test_strf("%s/res-builtin", tmp), *dir;
	struct sw_test_proc p;
	json_t *runs, *rec;
	size_t i;

	(void)state;
	need_cluster();
	y = write_text("builtin.yaml",
		"method: grid\n"
		"metric: {name: val_accuracy, goal: maximize}\n"
		"parameters:\n"
		"  learning_rate: {values: [0.01, 0.003]}\n"
		"  batch_size: {value: 64}\n"
		"  epochs: {value: 2}\n"
		"  conv1_filters: {value: 4}\n"
		"  conv2_filters: {value: 8}\n"
		"  dense_units: {value: 16}\n"
		"  train_limit: {value: 500}\n"
		"  val_limit: {value: 200}\n");
	RUN(&p, "run", y, "--launcher", "slurm", "--parallel", "2", "--data", data,
	    "--results", root, "--seed", "3");
	sw_test_expect_status(&p, 0);
	/* the default and the settings are said at start */
	assert_non_null(strstr(p.err, "on Slurm: up to 2 jobs at once (--parallel), "
			       "1 CPU each (--threads)"));
	sw_test_proc_release(&p);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_runs(dir, 2);
	json_array_foreach(runs, i, rec) {
		char *out = sw_test_strf("%s/runs/%s/slurm.out", dir, sw_test_str(rec, "id"));

		assert_string_equal(sw_test_str(rec, "state"), "finished");
		assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 2);
		assert_true(json_is_number(json_object_get(json_object_get(rec, "summary"),
							   "val_accuracy")));
		assert_true(file_exists(out));   /* job output in the run's dir */
		free(out);
		/* the in-epoch position for the live view ends at the last batch */
		out = sw_test_strf("%s/runs/%s/progress", dir, sw_test_str(rec, "id"));
		{
			char *text = sw_test_read_file(out, NULL);
			long long e = 0, b = 0, n = -1;

			assert_non_null(text);
			assert_int_equal(sscanf(text, "%lld %lld %lld", &e, &b, &n), 3);
			assert_int_equal(e, 2);
			assert_true(b == n && n > 0);
			free(text);
		}
		free(out);
	}
	/* the sweep's best model comes from the node that trained it */
	{
		char *best = sw_test_strf("%s/best.safetensors", dir);
		struct stat sb;

		assert_int_equal(stat(best, &sb), 0);
		assert_true(sb.st_size > 1000);
		RUN(&p, "eval", best, "--data", data);
		sw_test_expect_status(&p, 0);
		sw_test_proc_release(&p);
		free(best);
	}
	/* show displays the job ids */
	RUN(&p, "show", dir);
	sw_test_expect_status(&p, 0);
	assert_non_null(strstr(p.out, "SLURM_JOB"));
	assert_non_null(strstr(p.out, sw_test_str(json_array_get(runs, 0), "slurm_job_id")));
	sw_test_proc_release(&p);
	/* the report reads it as any sweep */
	RUN(&p, "report", dir);
	sw_test_expect_status(&p, 0);
	sw_test_proc_release(&p);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_program_sweep(void **state)
{
	char *y, *root = sw_test_strf("%s/res-program", tmp), *dir, *cwd;
	struct sw_test_proc p;
	json_t *runs, *rec;
	size_t i;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("program.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {values: [0.1, 0.2, 0.3]}\n");
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	RUN(&p, "run", y, "--launcher", "slurm", "--parallel", "3", "--threads", "1",
	    "--results", root, "--sbatch", "--time=10 --job-name=ignored-is-overridden");
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	sw_test_expect_status(&p, 0);
	sw_test_proc_release(&p);
	dir = sw_test_sweep_dir(root);
	runs = check_runs(dir, 3);
	json_array_foreach(runs, i, rec) {
		json_t *s = json_object_get(rec, "summary");

		assert_string_equal(sw_test_str(rec, "state"), "finished");
		assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 3);
		assert_true(json_number_value(json_object_get(s, "local")) == 1);
	}
	rec = (json_t *)find_param(runs, "lr", 0.2);
	assert_non_null(rec);
	assert_true(json_number_value(json_object_get(json_object_get(rec, "summary"),
						      "loss")) > 0.066 &&
		    json_number_value(json_object_get(json_object_get(rec, "summary"),
						      "loss")) < 0.067);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_hyperband_cancels_job(void **state)
{
	char *y, *root = sw_test_strf("%s/res-hb", tmp), *dir, *cwd, *marker;
	struct sw_test_proc p;
	struct sw_slurm_job job;
	struct sw_err err = SW_ERR_INIT;
	json_t *runs;
	const json_t *bad, *good;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	/* one job at a time in grid order: two good runs set the threshold,
	 * the third is far worse after its first epoch and is cancelled */
	y = write_text("hb.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {values: [0.1, 0.2, 50]}\n"
		"  epochs: {value: 4}\n"
		"  sleep: {value: 1}\n"
		"early_terminate: {type: hyperband, min_iter: 1, eta: 2}\n");
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	RUN(&p, "run", y, "--launcher", "slurm", "--parallel", "1", "--results", root);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	sw_test_expect_status(&p, 0);
	sw_test_proc_release(&p);
	dir = sw_test_sweep_dir(root);
	runs = check_runs(dir, 3);
	good = find_param(runs, "lr", 0.1);
	bad = find_param(runs, "lr", 50);
	assert_non_null(good);
	assert_non_null(bad);
	assert_string_equal(sw_test_str(good, "state"), "finished");
	assert_string_equal(sw_test_str(bad, "state"), "stopped");
	assert_non_null(strstr(sw_test_str(bad, "reason"), "hyperband"));
	assert_true(json_integer_value(json_object_get(bad, "epochs")) < 4);
	/* the program got SIGTERM, and the job is over */
	marker = sw_test_strf("%s/runs/%s/got-term", dir, sw_test_str(bad, "id"));
	assert_true(file_exists(marker));
	free(marker);
	if (sw_slurm_job_query(sw_test_str(bad, "slurm_job_id"), &job, &err) == 1)
		assert_true(sw_slurm_state_terminal(job.state) ||
			    !strcmp(job.state, "COMPLETING"));
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_time_limit(void **state)
{
	char *y, *root = sw_test_strf("%s/res-timeout", tmp), *dir, *cwd;
	struct sw_test_proc p;
	json_t *runs;
	const json_t *rec;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("timeout.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {value: 0.1}\n"
		"  epochs: {value: 1000}\n"
		"  sleep: {value: 1}\n");
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	/* Slurm's smallest limit is a minute; it checks limits every 30 s */
	RUN(&p, "run", y, "--launcher", "slurm", "--results", root, "--sbatch",
	    "--time=1");
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	sw_test_expect_status(&p, 0);
	sw_test_proc_release(&p);
	dir = sw_test_sweep_dir(root);
	runs = check_runs(dir, 1);
	rec = json_array_get(runs, 0);
	assert_string_equal(sw_test_str(rec, "state"), "failed");
	assert_non_null(strstr(sw_test_str(rec, "reason"), "TIMEOUT"));
	assert_non_null(strstr(sw_test_str(rec, "reason"), "time limit"));
	assert_true(json_integer_value(json_object_get(rec, "epochs")) > 10);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

/* Starts `sweep run ...` in the background (output to files in tmp). */
static pid_t spawn_sweep(const char *const *args)
{
	char *out = sw_test_strf("%s/spawn.out", tmp), *errp = sw_test_strf("%s/spawn.err", tmp);
	pid_t pid = sw_test_spawn_files(args, NULL, tmp, out, errp);

	free(out);
	free(errp);
	return pid;
}

/* Number of runs of dir whose trial started on the node. */
static int started_runs(const char *dir)
{
	char *runs = sw_test_strf("%s/runs", dir);
	DIR *d = opendir(runs);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char *p = sw_test_strf("%s/%s/node.json", runs, e->d_name);

		n += e->d_name[0] != '.' && file_exists(p);
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	return n;
}

/* Lines in runs/<id>/epochs.jsonl of the one run of dir (0 before). */
static int node_epochs(const char *dir)
{
	char *runs = sw_test_strf("%s/runs", dir), *text = NULL;
	DIR *d = opendir(runs);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char *p = sw_test_strf("%s/%s/epochs.jsonl", runs, e->d_name);

		if (e->d_name[0] != '.' && (text = sw_test_read_file(p, NULL)))
			n = sw_test_count_lines(text, "\"_epoch\"");
		free(text);
		text = NULL;
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	return n;
}

/* Waits (up to timeout_s, looking every poll_s) for the one sweep
 * directory under root to have at least n of count(dir); returns the
 * directory (caller frees), or NULL when none appeared. */
static char *await_sweep(const char *root, int (*count)(const char *), int n,
			 double timeout_s, double poll_s)
{
	double end = sw_test_now() + timeout_s;
	char *dir = NULL;

	while (sw_test_now() < end && (!dir || count(dir) < n)) {
		if (!dir)
			dir = sw_test_sweep_dir(root);
		sw_test_sleep(poll_s);
	}
	return dir;
}

/* The last job id recorded for run id (new string). */
static char *last_job(const char *dir, const char *id)
{
	char *p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir, id);
	json_t *subs = load_jsonl(p);
	char *job = strdup(sw_test_str(json_array_get(subs, json_array_size(subs) - 1), "job_id"));

	json_decref(subs);
	free(p);
	return job;
}

static void test_sigkill_resume_reattaches(void **state)
{
	char *y, *root = sw_test_strf("%s/res-kill", tmp), *dir = NULL, *p;
	const char *const args[] = { "run", "kill.yaml", "--launcher", "slurm",
				     "--parallel", "2", "--results", root, NULL };
	const char *argv[8];
	struct sw_test_proc pr;
	struct sw_err err = SW_ERR_INIT;
	json_t *runs, *rec, *inflight = NULL;
	char vanished[300] = "", *job, *out = NULL, *line;
	double end;
	pid_t pid;
	size_t i;
	int status;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("kill.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {values: [0.1, 0.2, 0.3, 0.4]}\n"
		"  epochs: {value: 4}\n"
		"  sleep: {value: 1}\n");
	pid = spawn_sweep(args);
	/* SIGKILL once two jobs run on the node */
	dir = await_sweep(root, started_runs, 2, 60, 0.05);
	assert_non_null(dir);
	assert_true(started_runs(dir) >= 2);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	/* one job vanishes meanwhile (lost by a slurmctld crash): its job is
	 * cancelled and its files and recorded id no longer lead to it */
	p = sw_test_strf("%s/runs", dir);
	{
		DIR *d = opendir(p);
		struct dirent *e;

		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.' && !vanished[0]) {
				char *rf = sw_test_strf("%s/%s/node.json", p, e->d_name);

				if (file_exists(rf))
					snprintf(vanished, sizeof(vanished), "%s", e->d_name);
				free(rf);
			}
		if (d)
			closedir(d);
	}
	free(p);
	assert_true(vanished[0]);
	job = last_job(dir, vanished);
	argv[0] = "scancel";
	argv[1] = job;
	argv[2] = NULL;
	assert_int_equal(sw_slurm_exec(argv, &out, &status, &err), 0);
	free(out);
	end = sw_test_now() + 30;
	for (;;) {
		char id[32];

		p = sw_test_strf("sweep-%s-%s", strrchr(dir, '/') + 1, vanished);
		status = sw_slurm_find_by_name(p, id, sizeof(id), &err);
		free(p);
		if (status == 0 || sw_test_now() > end)
			break;
		sw_test_sleep(0.2);
	}
	assert_int_equal(status, 0);
	p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir, vanished);
	line = sw_test_strf("{\"job_id\":\"987654\",\"job_name\":\"sweep-%s-%s\",\"time\":0}\n",
		     strrchr(dir, '/') + 1, vanished);
	assert_int_equal(sw_test_write_file(p, line, strlen(line)), 0);
	free(p);
	free(line);
	p = sw_test_strf("%s/runs/%s/result.json", dir, vanished);
	unlink(p);
	free(p);
	free(job);

	/* resume: the running job is followed, not submitted again */
	RUN(&pr, "resume", dir);
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	runs = check_runs(dir, 4);
	json_array_foreach(runs, i, rec) {
		assert_string_equal(sw_test_str(rec, "state"), "finished");
		assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 4);
		/* one job per run; the vanished one a second (the fake id first) */
		assert_int_equal(submissions(dir, sw_test_str(rec, "id")),
				 strcmp(sw_test_str(rec, "id"), vanished) ? 1 : 2);
	}
	json_decref(runs);
	json_decref(inflight);
	free(dir);
	free(root);
	free(y);
}

/* Jobs of this sweep Slurm has queued or running right now. */
static int jobs_in_queue(const char *dir)
{
	const char *argv[] = { "squeue", "--me", "-h", "-o", "%j", NULL };
	struct sw_err err = SW_ERR_INIT;
	char *out = NULL, *prefix = sw_test_strf("sweep-%s-", strrchr(dir, '/') + 1);
	int status, n = 0;

	if (sw_slurm_exec(argv, &out, &status, &err) == 0 && status == 0)
		n = sw_test_count_lines(out, prefix);
	free(out);
	free(prefix);
	return n;
}

static void test_cancelled_by_someone_else(void **state)
{
	char *y, *root = sw_test_strf("%s/res-cancel", tmp), *dir = NULL, *job = NULL;
	const char *const args[] = { "run", "cancel.yaml", "--launcher", "slurm",
				     "--parallel", "2", "--results", root, NULL };
	const char *argv[] = { "scancel", NULL, NULL };
	struct sw_err err = SW_ERR_INIT;
	json_t *runs;
	const json_t *rec;
	char *out = NULL;
	int status, most = 0;
	double end;
	pid_t pid;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("cancel.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {values: [0.1, 0.2, 0.3]}\n"
		"  epochs: {value: 3}\n"
		"  sleep: {value: 1}\n");
	pid = spawn_sweep(args);
	/* someone cancels the first run's job while it runs */
	end = sw_test_now() + 60;
	while (sw_test_now() < end && !job) {
		char *p;

		if (!dir)
			dir = sw_test_sweep_dir(root);
		if (dir && started_runs(dir) >= 1) {
			DIR *d;
			struct dirent *e;

			p = sw_test_strf("%s/runs", dir);
			d = opendir(p);
			while (d && (e = readdir(d)) && !job) {
				char *nf = sw_test_strf("%s/%s/node.json", p, e->d_name);

				if (e->d_name[0] != '.' && file_exists(nf))
					job = last_job(dir, e->d_name);
				free(nf);
			}
			if (d)
				closedir(d);
			free(p);
		}
		sw_test_sleep(0.05);
	}
	assert_non_null(job);
	argv[1] = job;
	assert_int_equal(sw_slurm_exec(argv, &out, &status, &err), 0);
	free(out);
	/* never more than --parallel jobs queued or running */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		int n = jobs_in_queue(dir);

		most = n > most ? n : most;
		sw_test_sleep(0.1);
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(most >= 1 && most <= 2);
	runs = check_runs(dir, 3);
	rec = NULL;
	{
		size_t i;
		const json_t *r;

		json_array_foreach(runs, i, r)
			if (!strcmp(sw_test_str(r, "slurm_job_id"), job))
				rec = r;
	}
	assert_non_null(rec);
	assert_string_equal(sw_test_str(rec, "state"), "failed");
	assert_non_null(strstr(sw_test_str(rec, "reason"), "cancelled by someone else"));
	{
		size_t i, finished = 0;
		const json_t *r;

		json_array_foreach(runs, i, r)
			finished += !strcmp(sw_test_str(r, "state"), "finished");
		assert_int_equal(finished, 2);
	}
	json_decref(runs);
	free(job);
	free(dir);
	free(root);
	free(y);
}

static void test_ctrl_c_leaves_runs_for_resume(void **state)
{
	char *y, *root = sw_test_strf("%s/res-ctrlc", tmp), *dir = NULL;
	/* two CPUs a job on a two-CPU node: one runs, three wait */
	const char *const args[] = { "run", "ctrlc.yaml", "--launcher", "slurm",
				     "--parallel", "4", "--threads", "2",
				     "--results", root, NULL };
	struct sw_test_proc pr;
	json_t *runs;
	const json_t *r;
	char *p, *text;
	size_t i;
	double lr;
	pid_t pid;
	int status;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("ctrlc.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {values: [1, 2, 3, 4]}\n"
		"  epochs: {value: 5}\n"
		"  sleep: {value: 1}\n");
	pid = spawn_sweep(args);
	dir = await_sweep(root, started_runs, 1, 60, 0.05);
	assert_non_null(dir);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 130);
	/* Ctrl-C is an interruption (issue 15): the queued jobs were cancelled
	 * at once, the running one after its epoch, and every run stays in
	 * flight for resume: nothing recorded, nothing left in Slurm's queue */
	p = sw_test_strf("%s/runs.jsonl", dir);
	text = sw_test_read_file(p, NULL);
	assert_true(!text || !text[0]);
	free(text);
	free(p);
	assert_int_equal(jobs_in_queue(dir), 0);
	assert_true(started_runs(dir) >= 1);
	/* resume: the jobs we cancelled are ours, not "cancelled by someone
	 * else": each is submitted again and every grid point finishes */
	RUN(&pr, "resume", dir);
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	runs = check_runs(dir, 4);      /* each recorded once */
	json_array_foreach(runs, i, r) {
		assert_string_equal(sw_test_str(r, "state"), "finished");
		assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 5);
		assert_true(submissions(dir, sw_test_str(r, "id")) >= 1 &&
			    submissions(dir, sw_test_str(r, "id")) <= 2);
	}
	for (lr = 1; lr <= 4; lr++)
		assert_non_null(find_param(runs, "lr", lr));
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

/* The history of dir's one run (runs.jsonl has exactly one). */
static json_t *only_history(const char *dir, char *id, size_t size)
{
	json_t *runs = check_runs(dir, 1), *h;
	char *p;

	snprintf(id, size, "%s", sw_test_str(json_array_get(runs, 0), "id"));
	assert_string_equal(sw_test_str(json_array_get(runs, 0), "state"), "finished");
	p = sw_test_strf("%s/runs/%s/history.jsonl", dir, id);
	h = load_jsonl(p);
	free(p);
	json_decref(runs);
	return h;
}

/* History hb (of a resumed run) is ha's bit for bit, each epoch once at its
 * _step. */
static void same_history(const json_t *ha, const json_t *hb)
{
	static const char *const keys[] = { "loss", "accuracy", "val_loss",
					    "val_accuracy", "learning_rate" };
	size_t i, k;

	assert_int_equal(json_array_size(hb), json_array_size(ha));
	for (i = 0; i < json_array_size(ha); i++) {
		json_t *ra = json_array_get(ha, i), *rb = json_array_get(hb, i);

		assert_int_equal(json_integer_value(json_object_get(rb, "_step")), (int)i);
		assert_int_equal(json_integer_value(json_object_get(rb, "epoch")), (int)i + 1);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			assert_true(json_number_value(json_object_get(ra, keys[k])) ==
				    json_number_value(json_object_get(rb, keys[k])));
	}
}

/* One built-in run of six short epochs, seed 5 (the Slurm resume tests). */
static const char six_epochs[] =
	"method: grid\n"
	"metric: {name: val_accuracy, goal: maximize}\n"
	"parameters:\n"
	"  learning_rate: {value: 0.01}\n"
	"  batch_size: {value: 32}\n"
	"  epochs: {value: 6}\n"
	"  conv1_filters: {value: 4}\n"
	"  conv2_filters: {value: 8}\n"
	"  dense_units: {value: 16}\n"
	"  train_limit: {value: 2000}\n"
	"  val_limit: {value: 200}\n";

/* Runs the sweep y on Slurm without a break into root; its directory in
 * *dir, its one run's id in id and its history (6 epochs) returned. */
static json_t *uninterrupted(const char *y, const char *root, char **dir,
			     char *id, size_t size)
{
	struct sw_test_proc pr;
	json_t *h;

	RUN(&pr, "run", y, "--launcher", "slurm", "--data", data, "--results", root,
	    "--seed", "5");
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	*dir = sw_test_sweep_dir(root);
	assert_non_null(*dir);
	h = only_history(*dir, id, size);
	assert_int_equal(json_array_size(h), 6);
	return h;
}

/* A built-in run whose job Slurm requeues (as PreemptMode=REQUEUE does;
 * `scontrol requeue`, for real, after its second epoch) is not failed and
 * does not start over: the controller cancels the requeued job, submits a
 * new one told to resume, says so in one line, and the node continues from
 * its checkpoint: the same metrics bit for bit as an uninterrupted run,
 * each epoch recorded once. */
static void test_requeued_job_continues(void **state)
{
	char *y, *root_a = sw_test_strf("%s/res-rq-a", tmp), *root_b = sw_test_strf("%s/res-rq-b", tmp);
	char *dir_a, *dir_b = NULL, *p, *text, *job, *out = NULL, id_a[64], id_b[64];
	const char *const args[] = { "run", "requeue.yaml", "--launcher", "slurm",
				     "--data", data, "--results", root_b, "--seed", "5",
				     NULL };
	const char *rq[] = { "scontrol", "requeue", NULL, NULL };
	struct sw_err err = SW_ERR_INIT;
	json_t *ha, *hb, *subs, *runs;
	pid_t pid;
	int status;

	(void)state;
	need_cluster();
	y = write_text("requeue.yaml", six_epochs);
	ha = uninterrupted(y, root_a, &dir_a, id_a, sizeof(id_a));

	pid = spawn_sweep(args);
	dir_b = await_sweep(root_b, node_epochs, 2, 120, 0.02);
	assert_non_null(dir_b);
	assert_true(node_epochs(dir_b) < 6);
	{
		char *rp = sw_test_strf("%s/runs", dir_b);
		DIR *d = opendir(rp);
		struct dirent *e;

		job = NULL;
		while (d && (e = readdir(d)) && !job)
			if (e->d_name[0] != '.')
				job = last_job(dir_b, e->d_name);
		if (d)
			closedir(d);
		free(rp);
	}
	assert_non_null(job);
	rq[2] = job;
	assert_int_equal(sw_slurm_exec(rq, &out, &status, &err), 0);
	if (status != 0)
		fail_msg("scontrol requeue %s: %s", job, out);
	free(out);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	p = sw_test_strf("%s/spawn.err", tmp);
	text = sw_test_read_file(p, NULL);
	free(p);
	assert_non_null(text);
	p = sw_test_strf("Slurm job %s was requeued by Slurm (REQUEUED)", job);
	if (!strstr(text, p))
		fail_msg("no line '%s' in:\n%s", p, text);
	free(p);
	assert_non_null(strstr(text, "(1 of at most 3), to continue from its checkpoint"));
	assert_non_null(strstr(text, "from its checkpoint"));
	free(text);
	hb = only_history(dir_b, id_b, sizeof(id_b));
	same_history(ha, hb);
	/* two jobs: the second replaced the requeued one and ran the run */
	assert_int_equal(submissions(dir_b, id_b), 2);
	p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir_b, id_b);
	subs = load_jsonl(p);
	free(p);
	assert_string_equal(sw_test_str(json_array_get(subs, 1), "after"), "REQUEUED");
	assert_null(json_object_get(json_array_get(subs, 0), "after"));
	json_decref(subs);
	runs = check_runs(dir_b, 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0),
							    "slurm_resubmits")), 1);
	assert_string_not_equal(sw_test_str(json_array_get(runs, 0), "slurm_job_id"), job);
	json_decref(runs);
	assert_int_equal(jobs_in_queue(dir_b), 0);
	json_decref(ha);
	json_decref(hb);
	free(job);
	free(dir_a);
	free(dir_b);
	free(root_a);
	free(root_b);
	free(y);
}

/* A `scontrol` before the real one on PATH that takes jobs away as Slurm
 * does when it preempts them or loses their node, which a one-node test
 * cluster cannot do for real: a job of ours running after its first epoch
 * is cancelled, then shown in state $FAKE_TAKEN_STATE; with
 * $FAKE_TAKEN_ONCE only the first such job. Returns the directory to put
 * first on PATH (caller frees). */
static char *fake_scontrol(const char *marks)
{
	char *bin = sw_test_strf("%s/fakebin", tmp), *path, *real = NULL, *script = NULL;
	const char *argv[] = { "sh", "-c", "command -v scontrol", NULL };
	struct sw_err err = SW_ERR_INIT;
	int status;

	assert_int_equal(sw_slurm_exec(argv, &real, &status, &err), 0);
	assert_int_equal(status, 0);
	mkdir(bin, 0755);
	mkdir(marks, 0755);
	assert_true(asprintf(&script,
		"#!/bin/sh\n"
		"out=$('%s' \"$@\"); rc=$?\n"
		"if [ \"$1 $2 $3\" != 'show job -o' ] || [ $rc -ne 0 ]; then\n"
		"\tprintf '%%s\\n' \"$out\"; exit $rc\n"
		"fi\n"
		"id=$4; m='%s'\n"
		"run=$(printf '%%s' \"$out\" | sed -n 's/.* StdOut=\\([^ ]*\\)\\/slurm.out.*/\\1/p')\n"
		"case \"$out\" in *JobState=RUNNING*)\n"
		"\tif [ ! -e \"$m/taken-$id\" ] && [ -s \"$run/epochs.jsonl\" ] &&\n"
		"\t   { [ -z \"$FAKE_TAKEN_ONCE\" ] || [ ! -e \"$m/once\" ]; }; then\n"
		"\t\ttouch \"$m/taken-$id\" \"$m/once\"; scancel \"$id\"\n"
		"\tfi;;\n"
		"esac\n"
		"if [ -e \"$m/taken-$id\" ]; then\n"
		"\tout=$(printf '%%s' \"$out\" | sed \"s/JobState=CANCELLED/JobState=$FAKE_TAKEN_STATE/\")\n"
		"fi\n"
		"printf '%%s\\n' \"$out\"\n", real, marks) > 0);
	path = sw_test_strf("%s/scontrol", bin);
	assert_int_equal(sw_test_write_file(path, script, strlen(script)), 0);
	assert_int_equal(chmod(path, 0755), 0);
	free(path);
	free(script);
	free(real);
	return bin;
}

/* A program run whose job is preempted (PREEMPTED) after its first epoch,
 * every time: submitted again 3 times (a line each), then failed saying
 * so. One whose node fails (NODE_FAIL) once: submitted again, and the
 * script, started over, gives each epoch once. OUT_OF_MEMORY and TIMEOUT
 * stay failures (test_time_limit, and the fate unit test). */
static void test_preempted_and_node_fail_resubmitted(void **state)
{
	char *y, *root = sw_test_strf("%s/res-pre", tmp), *root2 = sw_test_strf("%s/res-nf", tmp);
	char *marks = sw_test_strf("%s/marks-pre", tmp), *marks2 = sw_test_strf("%s/marks-nf", tmp);
	char *bin, *path_env = NULL, *dir, *p, *cwd;
	const char *env[4];
	struct sw_test_proc pr;
	json_t *runs, *rec, *subs, *h;
	size_t i;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("preempt.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"metric: {name: loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {value: 0.1}\n"
		"  epochs: {value: 3}\n"
		"  sleep: {value: 1.5}\n");   /* time to be taken away */
	bin = fake_scontrol(marks);
	assert_true(asprintf(&path_env, "PATH=%s:%s", bin, getenv("PATH")) > 0);
	env[0] = path_env;
	env[1] = "FAKE_TAKEN_STATE=PREEMPTED";
	env[2] = NULL;
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	{
		const char *const args[] = { "run", "preempt.yaml", "--launcher", "slurm",
					     "--results", root, NULL };

		sw_test_run_args(&pr, args, env, 300);
	}
	sw_test_expect_status(&pr, 0);
	if (sw_test_count_lines(pr.err, "was preempted (PREEMPTED) after epoch") != 3)
		fail_msg("not 3 lines of preemption in:\n%s", pr.err);
	assert_non_null(strstr(pr.err, "(3 of at most 3)"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	runs = check_runs(dir, 1);
	rec = json_array_get(runs, 0);
	assert_string_equal(sw_test_str(rec, "state"), "failed");
	assert_non_null(strstr(sw_test_str(rec, "reason"), "was preempted (PREEMPTED), and the run "
			       "was submitted again 3 times already"));
	assert_int_equal(submissions(dir, sw_test_str(rec, "id")), 4);
	p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir, sw_test_str(rec, "id"));
	subs = load_jsonl(p);
	free(p);
	for (i = 1; i < 4; i++)
		assert_string_equal(sw_test_str(json_array_get(subs, i), "after"), "PREEMPTED");
	json_decref(subs);
	json_decref(runs);
	assert_int_equal(jobs_in_queue(dir), 0);
	free(dir);

	/* the node fails once: the run goes on in a new job */
	free(bin);
	bin = fake_scontrol(marks2);
	env[1] = "FAKE_TAKEN_STATE=NODE_FAIL";
	env[2] = "FAKE_TAKEN_ONCE=1";
	env[3] = NULL;
	{
		const char *const args[] = { "run", "preempt.yaml", "--launcher", "slurm",
					     "--results", root2, NULL };

		sw_test_run_args(&pr, args, env, 300);
	}
	sw_test_expect_status(&pr, 0);
	if (sw_test_count_lines(pr.err, "failed with its node (NODE_FAIL) after epoch") != 1)
		fail_msg("not 1 line of node failure in:\n%s", pr.err);
	sw_test_proc_release(&pr);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	dir = sw_test_sweep_dir(root2);
	runs = check_runs(dir, 1);
	rec = json_array_get(runs, 0);
	assert_string_equal(sw_test_str(rec, "state"), "finished");
	assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 3);
	assert_int_equal(submissions(dir, sw_test_str(rec, "id")), 2);
	p = sw_test_strf("%s/runs/%s/history.jsonl", dir, sw_test_str(rec, "id"));
	h = load_jsonl(p);
	free(p);
	assert_int_equal(json_array_size(h), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(json_integer_value(json_object_get(json_array_get(h, i),
								    "_step")), (int)i);
		assert_true(json_number_value(json_object_get(json_array_get(h, i), "loss")) ==
			    0.1 / (double)(i + 1));
	}
	json_decref(h);
	json_decref(runs);
	free(dir);
	free(bin);
	free(path_env);
	free(marks);
	free(marks2);
	free(root);
	free(root2);
	free(y);
}

/* A built-in run interrupted on its node (Ctrl-C: the job is cancelled
 * after an epoch and the run stays in flight) continues under `sweep resume`
 * from the checkpoint the node saved after its last finished epoch: the
 * same metrics bit for bit as an uninterrupted run, each epoch recorded once
 * at its _step, and the same weights. The same after a SIGKILL of the
 * controller that lost the job too. */
static void test_builtin_resume_from_node_checkpoint(void **state)
{
	char *y, *root_a = sw_test_strf("%s/res-ck-a", tmp), *root_b = sw_test_strf("%s/res-ck-b", tmp);
	char *dir_a, *dir_b = NULL, *p, *text, id_a[64], id_b[64];
	const char *const args[] = { "run", "ckpt.yaml", "--launcher", "slurm",
				     "--data", data, "--results", root_b, "--seed", "5",
				     NULL };
	struct sw_test_proc pr;
	json_t *ha, *hb;
	char *ma, *mb;
	size_t la, lb;
	double end;
	pid_t pid;
	int status;

	(void)state;
	need_cluster();
	y = write_text("ckpt.yaml", six_epochs);
	/* uninterrupted */
	ha = uninterrupted(y, root_a, &dir_a, id_a, sizeof(id_a));

	/* interrupted after its second epoch */
	pid = spawn_sweep(args);
	dir_b = await_sweep(root_b, node_epochs, 2, 120, 0.02);
	assert_non_null(dir_b);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 130);
	p = sw_test_strf("%s/runs.jsonl", dir_b);
	text = sw_test_read_file(p, NULL);
	assert_true(!text || !text[0]);          /* still in flight */
	free(text);
	free(p);
	assert_int_equal(jobs_in_queue(dir_b), 0);
	assert_true(node_epochs(dir_b) >= 2 && node_epochs(dir_b) < 6);

	RUN(&pr, "resume", dir_b);
	sw_test_expect_status(&pr, 0);
	/* continued from the node's checkpoint, not retrained */
	assert_non_null(strstr(pr.err, "from its checkpoint"));
	assert_null(strstr(pr.err, "from the start"));
	sw_test_proc_release(&pr);
	hb = only_history(dir_b, id_b, sizeof(id_b));
	same_history(ha, hb);
	assert_int_equal(submissions(dir_b, id_b), 2);
	/* the same best model, byte for byte; the checkpoint gone with the run */
	p = sw_test_strf("%s/best.safetensors", dir_a);
	ma = sw_test_read_file(p, &la);
	free(p);
	p = sw_test_strf("%s/best.safetensors", dir_b);
	mb = sw_test_read_file(p, &lb);
	free(p);
	assert_non_null(ma);
	assert_non_null(mb);
	assert_int_equal(la, lb);
	assert_memory_equal(ma, mb, la);
	p = sw_test_strf("%s/runs/%s/checkpoint.bin", dir_b, id_b);
	assert_false(file_exists(p));
	free(p);
	free(ma);
	free(mb);
	json_decref(hb);

	/* SIGKILL of the controller, and the job lost with it (cancelled, its
	 * result and recorded id gone): resume submits it again and the node
	 * continues from its last checkpoint */
	{
		char *root_c = sw_test_strf("%s/res-ck-c", tmp), *dir_c = NULL, *job, *out = NULL;
		char *line, *jname, id_c[300], found[32];
		const char *const args_c[] = { "run", "ckpt.yaml", "--launcher", "slurm",
					       "--data", data, "--results", root_c,
					       "--seed", "5", NULL };
		const char *sc[] = { "scancel", NULL, NULL };
		struct sw_err err = SW_ERR_INIT;
		DIR *d;
		struct dirent *e;

		pid = spawn_sweep(args_c);
		dir_c = await_sweep(root_c, node_epochs, 2, 120, 0.02);
		assert_non_null(dir_c);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		p = sw_test_strf("%s/runs", dir_c);
		d = opendir(p);
		id_c[0] = '\0';
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				snprintf(id_c, sizeof(id_c), "%s", e->d_name);
		if (d)
			closedir(d);
		free(p);
		assert_true(id_c[0]);
		job = last_job(dir_c, id_c);
		sc[1] = job;
		assert_int_equal(sw_slurm_exec(sc, &out, &status, &err), 0);
		free(out);
		jname = sw_test_strf("sweep-%s-%s", strrchr(dir_c, '/') + 1, id_c);
		end = sw_test_now() + 30;
		while (sw_slurm_find_by_name(jname, found, sizeof(found), &err) != 0 &&
		       sw_test_now() < end)
			sw_test_sleep(0.2);
		p = sw_test_strf("%s/runs/%s/slurm.jsonl", dir_c, id_c);
		line = sw_test_strf("{\"job_id\":\"987655\",\"job_name\":\"%s\",\"time\":0}\n",
			     jname);
		assert_int_equal(sw_test_write_file(p, line, strlen(line)), 0);
		free(p);
		free(line);
		p = sw_test_strf("%s/runs/%s/result.json", dir_c, id_c);
		unlink(p);
		free(p);
		p = sw_test_strf("%s/runs/%s/checkpoint.bin", dir_c, id_c);
		assert_true(file_exists(p));
		free(p);
		RUN(&pr, "resume", dir_c);
		sw_test_expect_status(&pr, 0);
		assert_non_null(strstr(pr.err, "from its checkpoint"));
		sw_test_proc_release(&pr);
		hb = only_history(dir_c, id_c, sizeof(id_c));
		same_history(ha, hb);
		json_decref(hb);
		free(job);
		free(jname);
		free(dir_c);
		free(root_c);
	}
	json_decref(ha);
	free(dir_a);
	free(dir_b);
	free(root_a);
	free(root_b);
	free(y);
}

/* An unchanged wandb script (tests/wandb_standin) through Slurm, with a
 * wandb server that does not answer: the node runs it as `sweep run` does
 * locally (offline, WANDB_DIR under the run, the start-up module from the
 * results directory), its run file is the record (a summary key only the
 * file has), wandb.alert is one of the sweep's alerts; interrupted and
 * resumed, the resubmitted run gets WANDB_RESUME=allow. */
static const char wandb_train_py[] =
"import os, time\n"
"import wandb\n"
"run = wandb.init(project='slurm', config={'lr': 0.01, 'epochs': 3, 'sleep': 0.0})\n"
"cfg = wandb.config\n"
"for epoch in range(cfg.epochs):\n"
"    time.sleep(cfg.sleep)\n"
"    loss = cfg.lr * 10 / (epoch + 1)\n"
"    wandb.log({'epoch': epoch, 'val_loss': loss, 'val': {'acc': 1 - loss / 10}})\n"
"    if epoch == 1:\n"
"        wandb.alert(title='halfway', text='val_loss %r' % loss,\n"
"                    level=wandb.AlertLevel.WARN)\n"
"run.summary['final_note'] = 7\n"
"run.summary['resumed'] = int(os.environ.get('WANDB_RESUME') == 'allow')\n"
"run.summary['hooked'] = int(os.environ.get('WANDB_MODE') == 'offline' and\n"
"                            'python-hook' in os.environ.get('PYTHONPATH', ''))\n"
"wandb.finish()\n";

static void test_wandb_script(void **state)
{
	char *y, *y2, *root = sw_test_strf("%s/res-wandb", tmp), *root2 = sw_test_strf("%s/res-wandb2", tmp);
	char *dir, *dir2 = NULL, *p, *text, standin[4096];
	const char *const args[] = { "run", "wandb2.yaml", "--launcher", "slurm",
				     "--results", root2, NULL };
	struct sw_test_proc pr;
	json_t *runs, *rec, *alerts, *h;
	size_t i, n_alerts = 0;
	pid_t pid;
	int status;

	(void)state;
	need_cluster();
	assert_non_null(realpath("tests/wandb_standin", standin));
	setenv("PYTHONPATH", standin, 1);
	setenv("WANDB_BASE_URL", "http://127.0.0.1:9", 1);
	setenv("WANDB_API_KEY", "0123456789abcdef0123456789abcdef01234567", 1);
	setenv("WANDB_MODE", "online", 1);
	free(write_text("train.py", wandb_train_py));
	y = write_text("wandb.yaml",
		"program: train.py\n"
		"method: grid\n"
		"metric: {name: val_loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {values: [0.1, 0.03]}\n"
		"  epochs: {value: 3}\n");
	RUN(&pr, "run", y, "--launcher", "slurm", "--parallel", "2", "--results", root);
	sw_test_expect_status(&pr, 0);
	assert_null(strstr(pr.err, "timed out"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_runs(dir, 2);
	json_array_foreach(runs, i, rec) {
		const json_t *sum = json_object_get(rec, "summary");
		double lr = json_number_value(json_object_get(json_object_get(rec, "params"),
							      "lr"));
		char *pat = sw_test_strf("%s/runs/%s/wandb", dir, sw_test_str(rec, "id"));
		DIR *d;
		struct dirent *e;
		int found = 0;

		assert_string_equal(sw_test_str(rec, "state"), "finished");
		assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 3);
		assert_true(json_number_value(json_object_get(sum, "val_loss")) == lr * 10 / 3);
		/* only the run file has these: it was read as the record */
		assert_int_equal(json_integer_value(json_object_get(sum, "final_note")), 7);
		assert_int_equal(json_integer_value(json_object_get(sum, "hooked")), 1);
		assert_int_equal(json_integer_value(json_object_get(sum, "resumed")), 0);
		/* the run file's history: integer epochs at _step 0..2 */
		p = sw_test_strf("%s/runs/%s/history.jsonl", dir, sw_test_str(rec, "id"));
		h = load_jsonl(p);
		free(p);
		assert_int_equal(json_array_size(h), 3);
		assert_true(json_is_integer(json_object_get(json_array_get(h, 2), "epoch")));
		assert_true(json_number_value(json_object_get(json_array_get(h, 1), "val.acc")) ==
			    1 - lr * 10 / 2 / 10);
		json_decref(h);
		/* the offline run directory, for `wandb sync` later */
		d = opendir(pat);
		while (d && (e = readdir(d)))
			found += !strncmp(e->d_name, "offline-run-", 12);
		if (d)
			closedir(d);
		assert_int_equal(found, 1);
		free(pat);
	}
	p = sw_test_strf("%s/alerts.jsonl", dir);
	alerts = load_jsonl(p);
	free(p);
	json_array_foreach(alerts, i, rec)
		n_alerts += !strcmp(sw_test_str(rec, "when"), "wandb.alert") &&
			    !strcmp(sw_test_str(rec, "rule"), "halfway");
	assert_int_equal(n_alerts, 2);
	json_decref(alerts);
	json_decref(runs);

	/* interrupted while it trains, then resumed: WANDB_RESUME=allow */
	y2 = write_text("wandb2.yaml",
		"program: train.py\n"
		"method: grid\n"
		"metric: {name: val_loss, goal: minimize}\n"
		"parameters:\n"
		"  lr: {value: 0.1}\n"
		"  epochs: {value: 6}\n"
		"  sleep: {value: 1}\n");
	pid = spawn_sweep(args);
	dir2 = await_sweep(root2, started_runs, 1, 60, 0.05);
	assert_non_null(dir2);
	sw_test_sleep(1.5);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 130);
	p = sw_test_strf("%s/runs.jsonl", dir2);
	text = sw_test_read_file(p, NULL);
	assert_true(!text || !text[0]);
	free(text);
	free(p);
	RUN(&pr, "resume", dir2);
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	runs = check_runs(dir2, 1);
	rec = json_array_get(runs, 0);
	assert_string_equal(sw_test_str(rec, "state"), "finished");
	assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 6);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "summary"),
							    "resumed")), 1);
	assert_int_equal(submissions(dir2, sw_test_str(rec, "id")), 2);
	json_decref(runs);
	unsetenv("PYTHONPATH");
	unsetenv("WANDB_BASE_URL");
	unsetenv("WANDB_API_KEY");
	unsetenv("WANDB_MODE");
	free(dir);
	free(dir2);
	free(root);
	free(root2);
	free(y);
	free(y2);
}

static void test_errors(void **state)
{
	char *y, *root = sw_test_strf("%s/res-errors", tmp), *dir, *cwd, *bin_env;
	const char *env_nopath[] = { "PATH=/nonexistent", NULL };
	const char *env_bin[] = { "SWEEP_SLURM_BIN=/nonexistent/sweep", NULL };
	const char *env_false[] = { "SWEEP_SLURM_BIN=/bin/false", NULL };
	char *root2;
	const char *args_run[] = { "run", NULL, "--launcher", "slurm", "--results",
				   NULL, NULL, NULL, NULL };
	struct sw_test_proc p;
	json_t *runs;

	(void)state;
	need_cluster();
	free(write_text("prog.py", program));
	y = write_text("err.yaml",
		"program: prog.py\n"
		"method: grid\n"
		"parameters:\n"
		"  lr: {value: 0.1}\n");
	args_run[1] = y;
	args_run[5] = root;
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);

	/* no sbatch on PATH: said, and no sweep directory made */
	sw_test_run_args(&p, args_run, env_nopath, 60);
	sw_test_expect_status(&p, 1);
	assert_non_null(strstr(p.err, "sbatch not found on PATH"));
	sw_test_proc_release(&p);
	assert_null(sw_test_sweep_dir(root));

	/* sbatch refusing an argument: its own message is shown */
	args_run[6] = "--sbatch";
	args_run[7] = "--partition=no_such_partition";
	sw_test_run_args(&p, args_run, NULL, 60);
	sw_test_expect_status(&p, 1);
	assert_non_null(strstr(p.err, "sbatch refused"));
	assert_non_null(strstr(p.err, "artition"));
	sw_test_proc_release(&p);
	assert_null(sw_test_sweep_dir(root));

	/* an unclosed quote in --sbatch */
	args_run[7] = "--comment='x";
	sw_test_run_args(&p, args_run, NULL, 60);
	sw_test_expect_status(&p, 2);
	assert_non_null(strstr(p.err, "unclosed"));
	sw_test_proc_release(&p);

	/* the sweep binary not reachable on the node: a failed run saying so */
	args_run[6] = NULL;
	sw_test_run_args(&p, args_run, env_bin, 120);
	sw_test_expect_status(&p, 0);
	sw_test_proc_release(&p);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_runs(dir, 1);
	assert_string_equal(sw_test_str(json_array_get(runs, 0), "state"), "failed");
	bin_env = (char *)sw_test_str(json_array_get(runs, 0), "reason");
	assert_non_null(strstr(bin_env, "/nonexistent/sweep"));
	assert_non_null(strstr(bin_env, "not reachable on node"));
	json_decref(runs);
	free(dir);

	/* a job that ends before `sweep trial` could write anything in the run's
	 * directory (as when the nodes do not see it): the reason says so */
	root2 = sw_test_strf("%s/res-errors2", tmp);
	args_run[5] = root2;
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(tmp), 0);
	sw_test_run_args(&p, args_run, env_false, 120);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	sw_test_expect_status(&p, 0);
	sw_test_proc_release(&p);
	dir = sw_test_sweep_dir(root2);
	runs = check_runs(dir, 1);
	assert_string_equal(sw_test_str(json_array_get(runs, 0), "state"), "failed");
	assert_non_null(strstr(sw_test_str(json_array_get(runs, 0), "reason"),
			       "may not see the results directory"));
	assert_non_null(strstr(sw_test_str(json_array_get(runs, 0), "reason"), "--results"));
	json_decref(runs);
	free(dir);
	free(root2);
	free(root);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_grid),
		cmocka_unit_test(test_program_sweep),
		cmocka_unit_test(test_hyperband_cancels_job),
		cmocka_unit_test(test_sigkill_resume_reattaches),
		cmocka_unit_test(test_cancelled_by_someone_else),
		cmocka_unit_test(test_ctrl_c_leaves_runs_for_resume),
		cmocka_unit_test(test_builtin_resume_from_node_checkpoint),
		cmocka_unit_test(test_requeued_job_continues),
		cmocka_unit_test(test_preempted_and_node_fail_resubmitted),
		cmocka_unit_test(test_wandb_script),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_time_limit),
	};

	/* SWEEP_TEST_FILTER=test_time_limit (a glob): only those, by hand */
	if (getenv("SWEEP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SWEEP_TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
