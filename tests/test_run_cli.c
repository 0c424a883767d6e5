/* test_run_cli.c - end-to-end `sweep run` and `sweep resume` through the
 * sweep binary, on tiny CIFAR-format data generated once for the whole
 * binary (a learnable pattern: each class has its own colour, plus noise).
 *
 * Covers: each search method (grid exhausted, --count, random with run_cap
 * and metric.target, bayes with --count), hyperband stopping a bad run,
 * alerts (a rule with stop_run, new_best, nan, run_failed, a webhook on a
 * loopback server), Ctrl-C once and twice (the runs stay in flight and
 * resume continues them), SIGKILL at random moments
 * followed by `sweep resume` many times, an unwritable results directory,
 * missing data, bad arguments, an invalid sweep file, endless sweeps and
 * resuming a directory that is not a sweep. Every store is checked with the
 * store's own reader (sw_jsonl_load): every run once, history per epoch. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/hook_server.h"
#include "support/support.h"
#include "base/cli.h"
#include "sweep/run/controller.h"
#include "sweep/store/store.h"

#define RECORD 3073
#define FILE_RECORDS 10000     /* the loader wants official-size files */
#define WRITTEN 1000           /* records with content; the rest are zero */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SAN 1
#else
#define UNDER_SAN 0
#endif

static char *tmp, *data;
static char env_url[] = "SWEEP_CIFAR_URL=http://127.0.0.1:9/none.tar.gz";
static char env_data[] = "SWEEP_DATA=";
static char env_hook[] = "SWEEP_ALERT_WEBHOOK=";
static char env_xdg[4200], env_home[4200];
static const char *env[6];

/* ==== Helpers ==== */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Writes one batch file: `written` records of class-coloured noise, then
 * zero records (label 0) up to the official size, left sparse. */
static int write_batch(const char *path, int written, uint32_t seed)
{
	static const uint8_t colour[10][3] = {
		{ 200, 60, 60 }, { 60, 200, 60 }, { 60, 60, 200 }, { 200, 200, 60 },
		{ 200, 60, 200 }, { 60, 200, 200 }, { 130, 130, 130 },
		{ 220, 140, 40 }, { 40, 120, 220 }, { 120, 40, 90 },
	};
	unsigned char *buf = malloc((size_t)written * RECORD);
	uint32_t x = seed * 2654435761u + 1;
	int fd, r, k, ok;

	if (!buf)
		return -1;
	for (r = 0; r < written; r++) {
		unsigned char *rec = buf + (size_t)r * RECORD;
		int label;

		x = x * 1664525u + 1013904223u;
		label = (int)((x >> 16) % 10);
		rec[0] = (unsigned char)label;
		for (k = 0; k < RECORD - 1; k++) {
			int v;

			x = x * 1664525u + 1013904223u;
			v = colour[label][k / 1024] + (int)((x >> 20) % 121) - 60;
			rec[1 + k] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok = fd >= 0 &&
	     write(fd, buf, (size_t)written * RECORD) == (ssize_t)((size_t)written * RECORD) &&
	     ftruncate(fd, (off_t)FILE_RECORDS * RECORD) == 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

static int setup(void **state)
{
	static const char meta[] =
		"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
	char *p;
	int b;

	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp)
		return -1;
	if (asprintf(&data, "%s/data", tmp) < 0 || mkdir(data, 0755) < 0)
		return -1;
	for (b = 1; b <= 5; b++) {
		if (asprintf(&p, "%s/data_batch_%d.bin", data, b) < 0)
			return -1;
		if (write_batch(p, b == 1 ? WRITTEN : 0, (uint32_t)b) < 0)
			return -1;
		free(p);
	}
	if (asprintf(&p, "%s/test_batch.bin", data) < 0 || write_batch(p, WRITTEN, 99) < 0)
		return -1;
	free(p);
	if (asprintf(&p, "%s/batches.meta.txt", data) < 0 ||
	    sw_test_write_file(p, meta, strlen(meta)) < 0)
		return -1;
	free(p);
	/* never the internet, never the user's cache */
	snprintf(env_xdg, sizeof(env_xdg), "XDG_CACHE_HOME=%s/cache", tmp);
	snprintf(env_home, sizeof(env_home), "HOME=%s/home", tmp);
	env[0] = env_url;
	env[1] = env_data;
	env[2] = env_hook;
	env[3] = env_xdg;
	env[4] = env_home;
	env[5] = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(tmp);
	free(tmp);
	free(data);
	return 0;
}

/* Writes a sweep file into the temp dir; returns its path (caller frees). */
static char *write_yaml(const char *name, const char *text)
{
	char *path = sw_test_strf("%s/%s.yaml", tmp, name);

	assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
	return path;
}

/* A results root under the temp dir that does not exist yet. */
static char *results_root(const char *name)
{
	return sw_test_strf("%s/results-%s", tmp, name);
}

#define RUN(p, ...) do { \
	const char *const args_[] = { __VA_ARGS__, NULL }; \
	sw_test_run_args((p), args_, env, 300); \
} while (0)

/* Runs the binary expecting a usage error (exit 2) whose message holds
 * needle (NULL: any message). */
static void expect_usage(struct sw_test_proc *p, const char *needle)
{
	sw_test_expect_status(p, 2);
	if (needle && !strstr(p->err, needle))
		fail_msg("'%s' not in: %s", needle, p->err);
	sw_test_proc_release(p);
}

#define EXPECT_USAGE(needle, ...) do { \
	struct sw_test_proc p_; \
	RUN(&p_, __VA_ARGS__); \
	expect_usage(&p_, needle); \
} while (0)

/* Starts the sweep binary in the background with the test environment,
 * stdout and stderr going to out_path and err_path (appended). Returns its
 * pid. */
static pid_t spawn(const char *const *args, const char *out_path, const char *err_path)
{
	return sw_test_spawn_files(args, env, NULL, out_path, err_path);
}

/* Waits for pid to exit: its exit code, 128+signal, or -1 after timeout_s
 * (then it is killed). */
static int wait_exit(pid_t pid, double timeout_s)
{
	double end = now_s() + timeout_s;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
		if (now_s() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sw_test_sleep(0.01);
	}
}

/* Number of lines of s (newline characters). */
static int n_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Count of lines of file `path` containing needle (0 when missing). */
static int file_count(const char *path, const char *needle)
{
	char *s = sw_test_read_file(path, NULL);
	int n = s ? sw_test_count_lines(s, needle) : 0;

	free(s);
	return n;
}

/* Waits until file `path` has at least n lines containing needle. */
static int wait_for_lines(const char *path, const char *needle, int n,
			  double timeout_s)
{
	double end = now_s() + timeout_s;

	while (now_s() < end) {
		if (file_count(path, needle) >= n)
			return 1;
		sw_test_sleep(0.01);
	}
	return 0;
}

/* Runs of the sweep in dir still in flight (their marker is there). */
static int count_inflight(const char *dir)
{
	char *rd = sw_test_strf("%s/runs", dir), *p;
	DIR *d = opendir(rd);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		p = sw_test_strf("%s/%s/running.json", rd, e->d_name);
		n += access(p, F_OK) == 0;
		free(p);
	}
	if (d)
		closedir(d);
	free(rd);
	return n;
}

/* Number of entries of dir (not starting with '.'); -1 when missing. */
static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static json_t *load_jsonl(const char *path, int *torn)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *a = NULL;
	int t = 0;

	if (sw_jsonl_load(path, 0, &a, &t, &err) < 0)
		fail_msg("%s", err.msg);
	if (torn)
		*torn = t;
	else if (t)
		fail_msg("'%s' has a torn last line", path);
	return a;
}

static json_t *load_json(const char *path)
{
	json_error_t je;
	json_t *v = json_load_file(path, 0, &je);

	if (!v)
		fail_msg("'%s': %s", path, je.text);
	return v;
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* Checks a sweep directory and returns its run records (new array):
 * every file parses with the store's reader (a torn last line is allowed
 * only when !final), every id is recorded once, every run's history has
 * one line per recorded epoch, and (final) no run is left in flight. */
static json_t *check_store(const char *dir, int final)
{
	char *p = sw_test_strf("%s/runs.jsonl", dir);
	json_t *runs = load_jsonl(p, final ? NULL : &(int){ 0 });
	json_t *ids = json_object(), *rec;
	size_t i;
	int torn;

	free(p);
	json_array_foreach(runs, i, rec) {
		const char *id = sw_test_str(rec, "id");
		enum sw_run_state st;
		json_t *h;

		assert_true(strlen(id) > 0);
		if (json_object_get(ids, id))
			fail_msg("run %s is recorded twice in %s/runs.jsonl", id, dir);
		json_object_set_new(ids, id, json_true());
		assert_int_equal(sw_run_state_parse(sw_test_str(rec, "state"), &st), 0);
		assert_true(json_is_object(json_object_get(rec, "params")));
		assert_true(json_is_integer(json_object_get(rec, "seed")));
		p = sw_test_strf("%s/runs/%s/history.jsonl", dir, id);
		h = load_jsonl(p, NULL);
		free(p);
		if ((json_int_t)json_array_size(h) != json_integer_value(json_object_get(rec, "epochs")))
			fail_msg("run %s: %zu history lines for %lld epochs", id,
				 json_array_size(h),
				 (long long)json_integer_value(json_object_get(rec, "epochs")));
		if (json_array_size(h) > 0) {
			json_t *row = json_array_get(h, 0);

			assert_int_equal(json_integer_value(json_object_get(row, "_step")), 0);
			assert_non_null(json_object_get(row, "_runtime"));
			assert_non_null(json_object_get(row, "_timestamp"));
			assert_non_null(json_object_get(row, "val_accuracy"));
		}
		json_decref(h);
		p = sw_test_strf("%s/runs/%s/running.json", dir, id);
		assert_int_not_equal(access(p, F_OK), 0);
		free(p);
	}
	/* alerts.jsonl and the history of any run in flight parse too */
	p = sw_test_strf("%s/alerts.jsonl", dir);
	json_decref(load_jsonl(p, final ? NULL : &torn));
	free(p);
	{
		char *rd = sw_test_strf("%s/runs", dir);
		DIR *d = opendir(rd);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			p = sw_test_strf("%s/%s/running.json", rd, e->d_name);
			if (access(p, F_OK) == 0) {
				if (final)
					fail_msg("run %s is still in flight", e->d_name);
				json_decref(load_json(p));
				free(p);
				p = sw_test_strf("%s/%s/history.jsonl", rd, e->d_name);
				if (access(p, F_OK) == 0)
					json_decref(load_jsonl(p, &torn));
			}
			free(p);
		}
		if (d)
			closedir(d);
		free(rd);
	}
	json_decref(ids);
	return runs;
}

static int count_state(const json_t *runs, const char *state)
{
	size_t i;
	json_t *r;
	int n = 0;

	json_array_foreach(runs, i, r)
		n += !strcmp(sw_test_str(r, "state"), state);
	return n;
}

static const json_t *param(const json_t *rec, const char *name)
{
	return json_object_get(json_object_get(rec, "params"), name);
}

/* The first run whose params has name == value (a number), or NULL. */
static json_t *find_run(const json_t *runs, const char *name, double value)
{
	size_t i;
	json_t *r;

	json_array_foreach(runs, i, r)
		if (fabs(json_number_value(param(r, name)) - value) < 1e-12)
			return r;
	return NULL;
}

/* The params every tiny trial shares (a few tenths of a second each). */
#define TINY \
	"  conv1_filters: {value: 4}\n" \
	"  conv2_filters: {value: 8}\n" \
	"  dense_units: {value: 16}\n" \
	"  train_limit: {value: 500}\n" \
	"  val_limit: {value: 200}\n" \
	"  precise_bn: {value: true}\n"

#define METRIC "metric: {name: val_accuracy, goal: maximize}\n"

/* ==== Methods ==== */

static void test_grid_runs_every_point_once(void **state)
{
	char *y = write_yaml("grid",
		"method: grid\n" METRIC
		"parameters:\n"
		"  learning_rate: {values: [0.003, 0.01, 0.03]}\n"
		"  batch_size: {values: [64, 128]}\n"
		"  epochs: {value: 1}\n" TINY);
	char *root = results_root("grid"), *dir, *p;
	struct sw_test_proc pr;
	json_t *runs, *r, *best, *meta;
	static const double lrs[] = { 0.003, 0.01, 0.03 };
	static const int bss[] = { 64, 128 };
	double best_v = -1;
	const char *best_id = NULL;
	size_t i;
	int a, b;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "1",
	    "--parallel", "2", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "grid exhausted"));
	assert_non_null(strstr(pr.out, "best configuration"));
	assert_non_null(strstr(pr.out, "results: "));
	assert_int_equal(sw_test_count_lines(pr.err, " started: "), 6);
	sw_test_proc_release(&pr);

	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 6);
	assert_int_equal(count_state(runs, "finished"), 6);
	for (a = 0; a < 3; a++) {
		for (b = 0; b < 2; b++) {
			int n = 0;

			json_array_foreach(runs, i, r)
				n += fabs(json_number_value(param(r, "learning_rate")) - lrs[a]) < 1e-12 &&
				     json_integer_value(param(r, "batch_size")) == bss[b];
			assert_int_equal(n, 1);
		}
	}
	json_array_foreach(runs, i, r) {
		double v = num(json_object_get(r, "summary"), "val_accuracy");

		assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 1);
		assert_true(v >= 0 && v <= 1);
		if (v > best_v) {
			best_v = v;
			best_id = sw_test_str(r, "id");
		}
	}
	/* the pattern is learnable: the best run is far above chance */
	assert_true(best_v > 0.3);
	p = sw_test_strf("%s/best.json", dir);
	best = load_json(p);
	free(p);
	assert_string_equal(sw_test_str(best, "run"), best_id);
	assert_true(fabs(num(best, "value") - best_v) < 1e-12);
	json_decref(best);
	p = sw_test_strf("%s/best.safetensors", dir);
	assert_int_equal(access(p, R_OK), 0);
	free(p);
	p = sw_test_strf("%s/meta.json", dir);
	meta = load_json(p);
	free(p);
	assert_string_equal(sw_test_str(meta, "state"), "finished");
	assert_int_equal(json_integer_value(json_object_get(meta, "seed")), 1);
	assert_int_equal(json_integer_value(json_object_get(meta, "parallel")), 2);
	assert_int_equal(json_integer_value(json_object_get(meta, "threads")), 1);
	/* the data directory is recorded absolute, so resume works from anywhere */
	assert_true(sw_test_str(meta, "data_dir")[0] == '/');
	json_decref(meta);
	p = sw_test_strf("%s/sweep.yaml", dir);
	{
		char *given = sw_test_read_file(y, NULL), *kept = sw_test_read_file(p, NULL);

		assert_non_null(kept);
		assert_string_equal(given, kept);
		free(given);
		free(kept);
	}
	free(p);
	json_decref(runs);

	/* resuming a finished sweep runs nothing more */
	RUN(&pr, "resume", dir);
	sw_test_expect_status(&pr, 0);
	assert_int_equal(sw_test_count_lines(pr.err, " started: "), 0);
	sw_test_proc_release(&pr);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 6);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_grid_count_survives_resume(void **state)
{
	char *y = write_yaml("gridcount",
		"method: grid\n" METRIC
		"parameters:\n"
		"  learning_rate: {values: [0.003, 0.01, 0.03]}\n"
		"  batch_size: {values: [64, 128]}\n"
		"  epochs: {value: 1}\n" TINY);
	char *root = results_root("gridcount"), *dir;
	struct sw_test_proc pr;
	json_t *runs;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "2",
	    "--count", "2", "--parallel", "1", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 2);
	/* the first two grid points, in wandb's order */
	assert_non_null(find_run(runs, "learning_rate", 0.003));
	json_decref(runs);

	RUN(&pr, "resume", dir);
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_random_run_cap(void **state)
{
	char *y = write_yaml("random",
		"method: random\n" METRIC
		"parameters:\n"
		"  learning_rate: {distribution: log_uniform_values, min: 0.001, max: 0.03}\n"
		"  batch_size: {values: [64, 128]}\n"
		"  epochs: {value: 1}\n" TINY
		"run_cap: 5\n");
	char *root = results_root("random"), *dir;
	struct sw_test_proc pr;
	json_t *runs, *r, *seeds = json_object();
	size_t i;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "3",
	    "--parallel", "2", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "run_cap reached"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 5);
	assert_int_equal(count_state(runs, "finished"), 5);
	json_array_foreach(runs, i, r) {
		double lr = json_number_value(param(r, "learning_rate"));
		json_int_t bs = json_integer_value(param(r, "batch_size"));
		char key[32];

		assert_true(lr >= 0.001 && lr <= 0.03);
		assert_true(bs == 64 || bs == 128);
		snprintf(key, sizeof(key), "%lld",
			 (long long)json_integer_value(json_object_get(r, "seed")));
		assert_null(json_object_get(seeds, key));
		json_object_set_new(seeds, key, json_true());
	}
	json_decref(seeds);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

/* A swept `seed` (an integer, or a whole real such as 12.0) is the seed the
 * trainer uses, so it is the one recorded
 * (runs.jsonl and best.json), not the seed derived from the sweep's. */
static void test_swept_seed_is_recorded(void **state)
{
	char *y = write_yaml("seeded",
		"method: grid\n" METRIC
		"parameters:\n"
		"  seed: {values: [11, 12.0]}\n"
		"  epochs: {value: 1}\n" TINY);
	char *root = results_root("seeded"), *dir, *p;
	struct sw_test_proc pr;
	json_t *runs, *r, *best;
	size_t i;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--parallel", "2",
	    "--threads", "1");
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 2);
	/* 12.0 is a whole number: the trainer takes it as seed 12 */
	json_array_foreach(runs, i, r)
		assert_int_equal(json_integer_value(json_object_get(r, "seed")),
				 (json_int_t)json_number_value(param(r, "seed")));
	p = sw_test_strf("%s/best.json", dir);
	best = load_json(p);
	assert_int_equal(json_integer_value(json_object_get(best, "seed")),
			 (json_int_t)json_number_value(json_object_get(json_object_get(best, "params"),
								       "seed")));
	json_decref(best);
	json_decref(runs);
	free(p);
	free(dir);
	free(root);
	free(y);
}

static void test_random_target_stops_early(void **state)
{
	char *y = write_yaml("target",
		"method: random\n"
		"metric: {name: val_accuracy, goal: maximize, target: 0.25}\n"
		"parameters:\n"
		"  learning_rate: {values: [0.01]}\n"
		"  batch_size: {value: 64}\n"
		"  epochs: {value: 2}\n" TINY
		"run_cap: 30\n");
	char *root = results_root("target"), *dir;
	struct sw_test_proc pr;
	json_t *runs;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "4",
	    "--parallel", "1", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "metric.target reached"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	runs = check_store(dir, 1);
	assert_true(json_array_size(runs) >= 1 && json_array_size(runs) < 30);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_bayes_count(void **state)
{
	char *y = write_yaml("bayes",
		"method: bayes\n" METRIC
		"parameters:\n"
		"  learning_rate: {distribution: log_uniform_values, min: 0.001, max: 0.03}\n"
		"  batch_size: {value: 64}\n"
		"  epochs: {value: 1}\n" TINY);
	char *root = results_root("bayes"), *dir, *p;
	struct sw_test_proc pr;
	json_t *runs, *r, *meta;
	size_t i, j;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "5",
	    "--count", "4", "--parallel", "2", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "sweep: --count 4 reached"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 4);
	assert_int_equal(count_state(runs, "finished"), 4);
	json_array_foreach(runs, i, r) {
		double lr = json_number_value(param(r, "learning_rate"));

		assert_true(lr >= 0.001 && lr <= 0.03);
		for (j = 0; j < i; j++)
			assert_true(lr != json_number_value(param(json_array_get(runs, j),
								  "learning_rate")));
	}
	p = sw_test_strf("%s/meta.json", dir);
	meta = load_json(p);
	assert_int_equal(json_integer_value(json_object_get(meta, "count")), 4);
	assert_string_equal(sw_test_str(meta, "method"), "bayes");
	json_decref(meta);
	free(p);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

/* ==== Hyperband ==== */

static void test_hyperband_stops_bad_run(void **state)
{
	/* one trial at a time, in grid order: two good runs set the band's
	 * threshold at epoch 1, the third (learning rate 10) is far below it */
	char *y = write_yaml("hyperband",
		"method: grid\n" METRIC
		"parameters:\n"
		"  learning_rate: {values: [0.01, 0.02, 10]}\n"
		"  batch_size: {value: 64}\n"
		"  epochs: {value: 3}\n" TINY
		"early_terminate: {type: hyperband, min_iter: 1, eta: 2}\n");
	char *root = results_root("hyperband"), *dir, *p;
	struct sw_test_proc pr;
	json_t *runs, *bad, *good, *h;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "6",
	    "--parallel", "1", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 3);
	good = find_run(runs, "learning_rate", 0.01);
	assert_non_null(good);
	assert_string_equal(sw_test_str(good, "state"), "finished");
	assert_int_equal(json_integer_value(json_object_get(good, "epochs")), 3);
	bad = find_run(runs, "learning_rate", 10);
	assert_non_null(bad);
	assert_string_equal(sw_test_str(bad, "state"), "stopped");
	assert_non_null(strstr(sw_test_str(bad, "reason"), "hyperband"));
	assert_true(json_integer_value(json_object_get(bad, "epochs")) >= 1);
	assert_true(json_integer_value(json_object_get(bad, "epochs")) < 3);
	/* its history is kept */
	p = sw_test_strf("%s/runs/%s/history.jsonl", dir, sw_test_str(bad, "id"));
	h = load_jsonl(p, NULL);
	assert_int_equal(json_array_size(h),
			 json_integer_value(json_object_get(bad, "epochs")));
	json_decref(h);
	free(p);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

/* ==== Alerts ==== */

static json_t *alerts_of(const char *dir)
{
	char *p = sw_test_strf("%s/alerts.jsonl", dir);
	json_t *a = load_jsonl(p, NULL);

	free(p);
	return a;
}

static int count_rule(const json_t *alerts, const char *rule, const char *run)
{
	size_t i;
	json_t *a;
	int n = 0;

	json_array_foreach(alerts, i, a)
		n += !strcmp(sw_test_str(a, "rule"), rule) && (!run || !strcmp(sw_test_str(a, "run"), run));
	return n;
}

static void test_alert_rule_stops_run_and_webhook(void **state)
{
	char *y = write_yaml("alerts",
		"name: alerting\n"
		"method: grid\n" METRIC
		"parameters:\n"
		"  learning_rate: {values: [0.01, 10]}\n"
		"  batch_size: {value: 64}\n"
		"  epochs: {value: 3}\n" TINY
		"alerts:\n"
		"  - {name: diverged, when: \"val_loss > 10\", after_epoch: 1,\n"
		"     level: WARN, stop_run: true}\n"
		"  - {name: best, when: new_best, level: INFO}\n");
	char *root = results_root("alerts"), *dir;
	struct sw_hook_server *hs = sw_hook_server_start(SW_HOOK_OK, 0);
	struct sw_test_proc pr;
	json_t *runs, *alerts, *bad, *good, *a;
	size_t i;
	int n_hooks, k, saw_low = 0;

	(void)state;
	assert_non_null(hs);
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "7",
	    "--parallel", "2", "--threads", "1", "--alert-webhook", sw_hook_server_url(hs));
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "diverged"));
	/* the webhook's secret path is never printed */
	assert_null(strstr(pr.err, "/hook"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	runs = check_store(dir, 1);
	bad = find_run(runs, "learning_rate", 10);
	good = find_run(runs, "learning_rate", 0.01);
	assert_non_null(bad);
	assert_non_null(good);
	/* the rule applies from epoch 2 on and stops the run there (the loss,
	 * not the accuracy: on 200 validation images a diverged run's accuracy
	 * wanders around chance, while its loss stays in the hundreds) */
	assert_string_equal(sw_test_str(bad, "state"), "stopped");
	assert_int_equal(json_integer_value(json_object_get(bad, "epochs")), 2);
	assert_string_equal(sw_test_str(good, "state"), "finished");
	alerts = alerts_of(dir);
	assert_int_equal(count_rule(alerts, "diverged", sw_test_str(bad, "id")), 1);
	assert_int_equal(count_rule(alerts, "diverged", sw_test_str(good, "id")), 0);
	assert_true(count_rule(alerts, "best", sw_test_str(good, "id")) >= 1);
	json_array_foreach(alerts, i, a) {
		if (strcmp(sw_test_str(a, "rule"), "diverged"))
			continue;
		assert_string_equal(sw_test_str(a, "level"), "WARN");
		assert_int_equal(json_integer_value(json_object_get(a, "epoch")), 2);
		assert_true(json_is_true(json_object_get(a, "stop_run")));
		assert_true(num(a, "value") > 10);
	}
	/* every alert was POSTed as Slack-style JSON */
	n_hooks = sw_hook_server_wait(hs, (int)json_array_size(alerts), 10);
	assert_int_equal(n_hooks, (int)json_array_size(alerts));
	for (k = 0; k < n_hooks; k++) {
		char *req = sw_hook_server_request(hs, k), *body;
		json_t *j;

		assert_non_null(req);
		assert_true(!strncmp(req, "POST /hook\n", 11));
		assert_non_null(strstr(req, "application/json"));
		body = strstr(req, "\n\n");
		assert_non_null(body);
		j = json_loads(body + 2, 0, NULL);
		assert_non_null(j);
		assert_true(json_is_string(json_object_get(j, "text")));
		assert_non_null(strstr(sw_test_str(j, "text"), "alerting"));
		saw_low += strstr(sw_test_str(j, "text"), "diverged") != NULL;
		json_decref(j);
		free(req);
	}
	assert_int_equal(saw_low, 1);
	sw_hook_server_stop(hs);
	json_decref(alerts);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

static void test_alert_nan_and_run_failed(void **state)
{
	/* plain SGD with learning rate 10 and momentum 0.999 on one batch per
	 * epoch: the weights blow up until validation gives NaN, which raises
	 * the nan alert and then fails the run (run_failed) */
	char *y = write_yaml("nan",
		"method: grid\n" METRIC
		"parameters:\n"
		"  learning_rate: {value: 10}\n"
		"  optimizer: {value: sgd}\n"
		"  momentum: {value: 0.999}\n"
		"  seed: {values: [1, 2, 3, 4]}\n"
		"  batch_size: {value: 64}\n"
		"  epochs: {value: 80}\n"
		"  conv1_filters: {value: 4}\n"
		"  conv2_filters: {value: 8}\n"
		"  dense_units: {value: 16}\n"
		"  train_limit: {value: 64}\n"
		"  val_limit: {value: 100}\n"
		"  precise_bn: {value: false}\n"
		"alerts:\n"
		"  - {name: diverged, when: nan, level: ERROR}\n"
		"  - {name: failed, when: run_failed, level: ERROR}\n");
	char *root = results_root("nan"), *dir;
	struct sw_test_proc pr;
	json_t *runs, *alerts, *r;
	size_t i;
	int n_nan = 0, n_failed = 0;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root, "--seed", "8",
	    "--parallel", "2", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "[ERROR] failed"));
	sw_test_proc_release(&pr);
	dir = sw_test_sweep_dir(root);
	runs = check_store(dir, 1);
	alerts = alerts_of(dir);
	assert_int_equal(json_array_size(runs), 4);
	json_array_foreach(runs, i, r) {
		if (strcmp(sw_test_str(r, "state"), "failed")) {
			/* did not diverge within its epochs: no alert about it */
			assert_int_equal(count_rule(alerts, "failed", sw_test_str(r, "id")), 0);
			continue;
		}
		n_failed++;
		assert_non_null(strstr(sw_test_str(r, "reason"), "diverged"));
		assert_int_equal(count_rule(alerts, "failed", sw_test_str(r, "id")), 1);
		n_nan += count_rule(alerts, "diverged", sw_test_str(r, "id"));
	}
	/* usually NaN reaches the validation loss first (one batch per epoch,
	 * seen by the nan rule); else the training loss (failed only) */
	assert_true(n_failed >= 1);
	assert_true(n_nan >= 1);
	json_decref(alerts);
	json_decref(runs);
	free(dir);
	free(root);
	free(y);
}

/* ==== Interrupts and crashes ==== */

/* Epochs long enough (a few tenths of a second with the fast trainer) that
 * runs are still training when a signal follows a first epoch's line. */
static const char slow_grid[] =
	"method: grid\n" METRIC
	"parameters:\n"
	"  learning_rate: {values: [0.002, 0.004, 0.006, 0.008]}\n"
	"  batch_size: {value: 64}\n"
	"  epochs: {value: 3}\n"
	"  conv1_filters: {value: 16}\n"
	"  conv2_filters: {value: 32}\n"
	"  dense_units: {value: 16}\n"
	"  train_limit: {value: 1000}\n"
	"  val_limit: {value: 200}\n"
	"  precise_bn: {value: false}\n";

/* Epochs of a few seconds even on an idle machine, so that a second Ctrl-C
 * sent after the first one's message surely lands inside an epoch. */
static const char slower_grid[] =
	"method: grid\n" METRIC
	"parameters:\n"
	"  learning_rate: {values: [0.002, 0.004, 0.006, 0.008]}\n"
	"  batch_size: {value: 64}\n"
	"  epochs: {value: 3}\n"
	"  conv1_filters: {value: 16}\n"
	"  conv2_filters: {value: 32}\n"
	"  dense_units: {value: 16}\n"
	"  train_limit: {value: 10000}\n"
	"  val_limit: {value: 200}\n"
	"  precise_bn: {value: false}\n";

/* Starts the binary with args, sends sig once a first epoch has ended and
 * returns its exit code (see wait_exit). */
static int signal_after_first_epoch(const char *const *args, const char *out,
				    const char *err, int sig, double timeout_s)
{
	pid_t pid = spawn(args, out, err);

	assert_true(wait_for_lines(err, "epoch 1/3", 1, 120));
	kill(pid, sig);
	return wait_exit(pid, timeout_s);
}

static void test_ctrl_c_once_then_resume(void **state)
{
	char *y = write_yaml("ctrlc1", slow_grid);
	char *root = results_root("ctrlc1"), *out = sw_test_strf("%s/ctrlc1.out", tmp);
	char *err = sw_test_strf("%s/ctrlc1.err", tmp), *dir, *p, *text, *after;
	const char *const args[] = { "run", y, "--data", data, "--results", root,
				     "--seed", "9", "--parallel", "2", "--threads", "1", NULL };
	struct sw_test_proc pr;
	json_t *runs, *r, *meta;
	size_t i;
	int rc;

	(void)state;
	rc = signal_after_first_epoch(args, out, err, SIGINT, 120);
	text = sw_test_read_file(err, NULL);
	if (rc != 130)
		fprintf(stderr, "exit %d\n%s\n", rc, text);
	assert_int_equal(rc, 130);
	/* no run starts after the interrupt */
	after = strstr(text, "interrupted:");
	assert_non_null(after);
	assert_null(strstr(after, " started: "));
	assert_non_null(strstr(text, "sweep resume"));
	free(text);

	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	/* running ones ended after their epoch and stay in flight for resume
	 * (a run that reached its last epoch is finished) */
	runs = check_store(dir, 0);
	assert_true(json_array_size(runs) < 4);
	assert_true(count_inflight(dir) >= 1);
	json_array_foreach(runs, i, r)
		assert_string_equal(sw_test_str(r, "state"), "finished");
	json_decref(runs);
	p = sw_test_strf("%s/meta.json", dir);
	meta = load_json(p);
	assert_string_equal(sw_test_str(meta, "state"), "interrupted");
	json_decref(meta);

	/* resume finishes the grid, the interrupted runs from their last
	 * epoch; nothing recorded runs again */
	RUN(&pr, "resume", dir);
	sw_test_expect_status(&pr, 0);
	assert_non_null(strstr(pr.err, "from its checkpoint"));
	sw_test_proc_release(&pr);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 4);
	assert_int_equal(count_state(runs, "finished"), 4);
	json_decref(runs);
	meta = load_json(p);
	assert_string_equal(sw_test_str(meta, "state"), "finished");
	json_decref(meta);
	free(p);
	free(dir);
	free(root);
	free(out);
	free(err);
	free(y);
}

/* A closed terminal (SIGHUP) stops the sweep as Ctrl-C does; under nohup,
 * which leaves SIGHUP ignored, the sweep goes on to its end. */
static void test_hangup(void **state)
{
	char *y = write_yaml("hup", slow_grid);
	char *root = results_root("hup"), *quiet = results_root("nohup");
	char *out = sw_test_strf("%s/hup.out", tmp), *err = sw_test_strf("%s/hup.err", tmp);
	char *err2 = sw_test_strf("%s/nohup.err", tmp), *dir, *p, *text;
	const char *const args[] = { "run", y, "--data", data, "--results", root,
				     "--seed", "9", "--parallel", "2", "--threads", "1", NULL };
	const char *const args2[] = { "run", y, "--data", data, "--results", quiet,
				      "--seed", "9", "--parallel", "2", "--threads", "1", NULL };
	json_t *runs, *meta;
	int rc;

	(void)state;
	assert_int_equal(signal_after_first_epoch(args, out, err, SIGHUP, 120), 130);
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	runs = check_store(dir, 0);
	assert_true(json_array_size(runs) < 4);
	assert_true(count_inflight(dir) >= 1);
	json_decref(runs);
	p = sw_test_strf("%s/meta.json", dir);
	meta = load_json(p);
	assert_string_equal(sw_test_str(meta, "state"), "interrupted");
	json_decref(meta);
	free(p);
	free(dir);

	signal(SIGHUP, SIG_IGN);     /* as nohup does, inherited by the child */
	rc = signal_after_first_epoch(args2, out, err2, SIGHUP, 240);
	signal(SIGHUP, SIG_DFL);
	assert_int_equal(rc, 0);
	text = sw_test_read_file(err2, NULL);
	assert_null(strstr(text, "interrupted"));
	free(text);
	dir = sw_test_sweep_dir(quiet);
	assert_non_null(dir);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 4);
	json_decref(runs);
	free(dir);
	free(root);
	free(quiet);
	free(out);
	free(err);
	free(err2);
	free(y);
}

static void test_ctrl_c_twice_aborts(void **state)
{
	char *y = write_yaml("ctrlc2", slower_grid);
	char *root = results_root("ctrlc2"), *out = sw_test_strf("%s/ctrlc2.out", tmp);
	char *err = sw_test_strf("%s/ctrlc2.err", tmp), *dir;
	const char *const args[] = { "run", y, "--data", data, "--results", root,
				     "--seed", "10", "--parallel", "2", "--threads", "1", NULL };
	json_t *runs;
	pid_t pid;
	int rc;

	(void)state;
	pid = spawn(args, out, err);
	assert_true(wait_for_lines(err, " started: ", 2, 120));
	/* a sweep that is running cannot be resumed at the same time */
	dir = sw_test_sweep_dir(root);
	assert_non_null(dir);
	{
		struct sw_test_proc pr;

		RUN(&pr, "resume", dir);
		sw_test_expect_status(&pr, 1);
		assert_non_null(strstr(pr.err, "in use"));
		assert_null(strstr(pr.err, " started: "));
		sw_test_proc_release(&pr);
	}
	/* interrupt twice early in the first epoch */
	kill(pid, SIGINT);
	assert_true(wait_for_lines(err, "interrupted:", 1, 60));
	kill(pid, SIGINT);
	rc = wait_exit(pid, 60);
	assert_int_equal(rc, 130);
	assert_int_equal(file_count(err, "interrupted again"), 1);
	/* aborted between batches, the runs stay in flight for resume */
	runs = check_store(dir, 0);
	assert_int_equal(json_array_size(runs), 0);
	assert_int_equal(count_inflight(dir), 2);
	json_decref(runs);
	free(dir);
	free(root);
	free(out);
	free(err);
	free(y);
}

static void test_sigkill_and_resume_rounds(void **state)
{
	char *y = write_yaml("crash",
		"method: random\n" METRIC
		"parameters:\n"
		"  learning_rate: {distribution: log_uniform_values, min: 0.001, max: 0.03}\n"
		"  batch_size: {values: [64, 128]}\n"
		"  epochs: {value: 2}\n"
		"  conv1_filters: {value: 4}\n"
		"  conv2_filters: {value: 8}\n"
		"  dense_units: {value: 16}\n"
		"  train_limit: {value: 300}\n"
		"  val_limit: {value: 100}\n"
		"  precise_bn: {value: true}\n"
		"alerts:\n"
		"  - {name: best, when: new_best, level: INFO}\n"
		"run_cap: 6\n");
	char *root = results_root("crash"), *ref_root = results_root("crash-ref");
	char *out = sw_test_strf("%s/crash.out", tmp), *err = sw_test_strf("%s/crash.err", tmp);
	char *dir = NULL, *ref_dir, *p;
	const char *const run_args_[] = { "run", y, "--data", data, "--results", root,
					  "--seed", "11", "--parallel", "2", "--threads", "1",
					  NULL };
	struct sw_test_proc pr;
	json_t *runs, *ref, *r;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int round, rounds = UNDER_SAN ? 6 : 12, killed = 0;
	size_t i;

	(void)state;
	printf("[ INFO     ] kill timings seeded with %u\n", seed);
	srand(seed);
	for (round = 0; round < rounds; round++) {
		const char *const resume_args[] = { "resume", dir, NULL };
		pid_t pid;
		int rc;

		pid = spawn(dir ? resume_args : run_args_, out, err);
		/* a random moment: loading, mid-epoch, recording, or at the end */
		if (!dir) {
			/* first round: from the moment the sweep directory is whole */
			double end = now_s() + 60;

			while (now_s() < end && !dir) {
				char *d = sw_test_sweep_dir(root);

				p = d ? sw_test_strf("%s/alerts.jsonl", d) : NULL;
				if (p && access(p, F_OK) == 0)
					dir = d;
				else
					free(d);
				free(p);
				sw_test_sleep(0.005);
			}
			assert_non_null(dir);
		}
		sw_test_sleep((rand() % 1000) / 1000.0 * (UNDER_SAN ? 2.0 : 0.8));
		kill(pid, SIGKILL);
		rc = wait_exit(pid, 60);
		if (rc != 128 + SIGKILL && rc != 0) {
			char *text = sw_test_read_file(err, NULL);

			fprintf(stderr, "round %d: exit %d\n%s\n", round, rc,
				text ? text : "");
			free(text);
			fail();
		}
		killed += rc == 128 + SIGKILL;
		/* between crashes: every line but a torn last one parses, no run
		 * twice */
		runs = check_store(dir, 0);
		assert_true(json_array_size(runs) <= 6);
		json_decref(runs);
	}
	RUN(&pr, "resume", dir);
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	runs = check_store(dir, 1);
	assert_int_equal(json_array_size(runs), 6);
	assert_int_equal(count_state(runs, "finished"), 6);
	{
		int seen[6] = { 0 };

		json_array_foreach(runs, i, r) {
			json_int_t idx = json_integer_value(json_object_get(r, "index"));

			assert_true(idx >= 0 && idx < 6);
			seen[idx]++;
		}
		for (i = 0; i < 6; i++)
			assert_int_equal(seen[i], 1);
	}
	/* the same sweep without crashes proposes the same runs */
	RUN(&pr, "run", y, "--data", data, "--results", ref_root, "--seed", "11",
	    "--parallel", "2", "--threads", "1");
	sw_test_expect_status(&pr, 0);
	sw_test_proc_release(&pr);
	ref_dir = sw_test_sweep_dir(ref_root);
	ref = check_store(ref_dir, 1);
	assert_int_equal(json_array_size(ref), 6);
	json_array_foreach(ref, i, r) {
		size_t j;
		json_t *q;
		int found = 0;

		json_array_foreach(runs, j, q) {
			if (strcmp(sw_test_str(q, "id"), sw_test_str(r, "id")))
				continue;
			found = 1;
			assert_true(json_equal(json_object_get(q, "params"),
					       json_object_get(r, "params")));
			assert_int_equal(json_integer_value(json_object_get(q, "seed")),
					 json_integer_value(json_object_get(r, "seed")));
		}
		assert_true(found);
	}
	printf("[ INFO     ] %d of %d rounds killed mid-way\n", killed, rounds);
	json_decref(ref);
	json_decref(runs);
	free(ref_dir);
	free(dir);
	free(root);
	free(ref_root);
	free(out);
	free(err);
	free(y);
}

/* ==== Choosing P and T, and what data to load (library level) ==== */

static void load_spec(struct sw_spec *spec, const char *text)
{
	struct sw_diags diags = { 0 };
	struct sw_err err = SW_ERR_INIT;

	sw_spec_init(spec);
	assert_int_equal(sw_spec_load_string(spec, text, strlen(text), "t.yaml", &diags,
					     &err), 0);
	assert_int_equal(sw_spec_validate(spec, &diags), 0);
	sw_diags_release(&diags);
}

static void test_pick_parallel_and_data(void **state)
{
	struct sw_spec small, big;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_data_opts o;
	int p = 0, t = 0;

	(void)state;
	load_spec(&small, "method: grid\nparameters:\n"
		  "  conv1_filters: {values: [8, 16]}\n"
		  "  train_limit: {values: [500, 2000]}\n"
		  "  val_limit: {value: 300}\n");
	load_spec(&big, "method: grid\nparameters:\n"
		  "  conv1_filters: {values: [16, 48]}\n"
		  "  conv2_filters: {value: 96}\n"
		  "  train_limit: {values: [0, 2000]}\n");
	/* auto: small models one core each, big ones every core for one trial */
	assert_int_equal(sw_run_pick_parallel(&small, 4, 0, 0, &p, &t, &err), 0);
	assert_int_equal(p, 4);
	assert_int_equal(t, 1);
	assert_int_equal(sw_run_pick_parallel(&big, 4, 0, 0, &p, &t, &err), 0);
	assert_int_equal(p, 1);
	assert_int_equal(t, 4);
	/* one given, the other derived */
	assert_int_equal(sw_run_pick_parallel(&small, 4, 1, 0, &p, &t, &err), 0);
	assert_int_equal(p, 1);
	assert_int_equal(t, 4);
	assert_int_equal(sw_run_pick_parallel(&small, 4, 0, 2, &p, &t, &err), 0);
	assert_int_equal(p, 2);
	assert_int_equal(t, 2);
	/* more than the cores: kept, with a warning for the caller */
	assert_int_equal(sw_run_pick_parallel(&small, 2, 0, 4, &p, &t, &err), 1);
	assert_int_equal(p, 1);
	assert_int_equal(t, 4);
	assert_int_equal(sw_run_pick_parallel(&small, 2, 3, 1, &p, &t, &err), 1);
	assert_int_equal(p, 3);
	assert_int_equal(t, 1);
	assert_non_null(strstr(err.msg, "more than the 2 cores"));
	/* only as many images as the largest limit; 0 anywhere means all */
	sw_run_data_opts(&small, &o);
	assert_int_equal(o.train_limit, 2000);
	assert_int_equal(o.val_limit, 300);
	sw_run_data_opts(&big, &o);
	assert_int_equal(o.train_limit, 0);
	assert_int_equal(o.val_limit, 0);
	sw_spec_release(&small);
	sw_spec_release(&big);
}

/* ==== Bad setups ==== */

static const char small_grid[] =
	"method: grid\n" METRIC
	"parameters:\n"
	"  learning_rate: {values: [0.01]}\n"
	"  batch_size: {value: 64}\n"
	"  epochs: {value: 1}\n" TINY;

static void test_unwritable_results(void **state)
{
	char *y = write_yaml("unwritable", small_grid);
	char *file = sw_test_strf("%s/a-file", tmp), *under = sw_test_strf("%s/a-file/results", tmp);
	struct sw_test_proc pr;

	(void)state;
	assert_int_equal(sw_test_write_file(file, "x\n", 2), 0);
	RUN(&pr, "run", y, "--data", data, "--results", under, "--seed", "1");
	sw_test_expect_status(&pr, 1);
	assert_non_null(strstr(pr.err, "sweep: error: "));
	assert_non_null(strstr(pr.err, under));
	assert_null(strstr(pr.err, " started: "));
	assert_int_equal(n_lines(pr.err), 1);
	sw_test_proc_release(&pr);

	RUN(&pr, "run", y, "--data", data, "--results", file, "--seed", "1");
	sw_test_expect_status(&pr, 1);
	assert_non_null(strstr(pr.err, file));
	assert_null(strstr(pr.err, " started: "));
	sw_test_proc_release(&pr);

	if (geteuid() != 0) {
		char *ro = sw_test_strf("%s/read-only", tmp);

		assert_int_equal(mkdir(ro, 0555), 0);
		RUN(&pr, "run", y, "--data", data, "--results", ro, "--seed", "1");
		sw_test_expect_status(&pr, 1);
		assert_non_null(strstr(pr.err, ro));
		assert_null(strstr(pr.err, " started: "));
		assert_int_equal(dir_entries(ro), 0);
		sw_test_proc_release(&pr);
		chmod(ro, 0755);
		free(ro);
	}
	free(under);
	free(file);
	free(y);
}

static void test_missing_data(void **state)
{
	char *y = write_yaml("nodata", small_grid);
	char *root = results_root("nodata"), *missing = sw_test_strf("%s/no-such-data", tmp);
	struct sw_test_proc pr;

	(void)state;
	/* --data names a directory that does not exist (the download it tries
	 * goes to a refused loopback port) */
	RUN(&pr, "run", y, "--data", missing, "--results", root, "--seed", "1");
	sw_test_expect_status(&pr, 1);
	assert_non_null(strstr(pr.err, "sweep: error: "));
	assert_non_null(strstr(pr.err, missing));
	assert_non_null(strstr(pr.err, "--data"));
	assert_non_null(strstr(pr.err, "SWEEP_DATA"));
	assert_null(strstr(pr.err, " started: "));
	assert_true(dir_entries(root) <= 0);
	sw_test_proc_release(&pr);
	assert_int_not_equal(access(missing, F_OK), 0);

	/* no --data, no SWEEP_DATA: the cache under XDG_CACHE_HOME is empty */
	RUN(&pr, "run", y, "--results", root, "--seed", "1");
	sw_test_expect_status(&pr, 1);
	assert_non_null(strstr(pr.err, "--data"));
	assert_non_null(strstr(pr.err, "SWEEP_DATA"));
	assert_non_null(strstr(pr.err, "cifar-10-batches-bin"));
	assert_null(strstr(pr.err, " started: "));
	assert_true(dir_entries(root) <= 0);
	sw_test_proc_release(&pr);

	/* a data directory with a broken file */
	{
		char *bad = sw_test_strf("%s/bad-data", tmp), *f;

		assert_int_equal(mkdir(bad, 0755), 0);
		f = sw_test_strf("%s/batches.meta.txt", bad);
		assert_int_equal(sw_test_write_file(f, "a\n", 2), 0);
		free(f);
		RUN(&pr, "run", y, "--data", bad, "--results", root, "--seed", "1");
		sw_test_expect_status(&pr, 1);
		assert_non_null(strstr(pr.err, bad));
		assert_null(strstr(pr.err, " started: "));
		sw_test_proc_release(&pr);
		free(bad);
	}
	free(missing);
	free(root);
	free(y);
}

static void test_bad_arguments(void **state)
{
	char *y = write_yaml("args", small_grid);
	char *root = results_root("args"), too_many[32];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	EXPECT_USAGE("--parallel",
		     "run", y, "--parallel", "0", "--data", data, "--results", root);

	/* more trials than cores: they share the cores, with a warning (a
	 * script may wait on a GPU or a server most of the time) */
	snprintf(too_many, sizeof(too_many), "%ld", cores + 1);
	{
		struct sw_test_proc p_;
		char *shared = results_root("args-shared");

		RUN(&p_, "run", y, "--parallel", too_many, "--threads", "2", "--count", "1",
		    "--data", data, "--results", shared);
		sw_test_expect_status(&p_, 0);
		assert_non_null(strstr(p_.err, "warning: --parallel "));
		assert_non_null(strstr(p_.err, "the trials will share them"));
		sw_test_proc_release(&p_);
		free(shared);
	}

	EXPECT_USAGE("'abc'",
		     "run", y, "--count", "abc", "--data", data, "--results", root);

	EXPECT_USAGE(NULL, "run", y, "--count", "0", "--data", data, "--results", root);

	EXPECT_USAGE(NULL, "run", y, "--seed", "-1", "--data", data, "--results", root);

	EXPECT_USAGE("--frobnicate",
		     "run", y, "--frobnicate", "--data", data, "--results", root);

	/* a webhook URL that can never work is refused before the sweep starts */
	EXPECT_USAGE("--alert-webhook must start with http://",
		     "run", y, "--alert-webhook", "hooks.example.com/x", "--data", data,
		     "--results", root);

	EXPECT_USAGE("--alert-webhook has no host name",
		     "run", y, "--alert-webhook", "http://", "--data", data,
		     "--results", root);

	/* an empty directory name would silently mean the default one */
	EXPECT_USAGE("--results needs a directory",
		     "run", y, "--results", "", "--data", data);

	EXPECT_USAGE("--data needs a directory",
		     "run", y, "--data", "", "--results", root);

	EXPECT_USAGE(NULL,
		     "resume", tmp, "--alert-webhook", "ftp://hooks.example.com/x");

	EXPECT_USAGE(NULL, "run", "--data", data);

	EXPECT_USAGE(NULL, "run", y, "extra.yaml", "--data", data);

	EXPECT_USAGE(NULL, "resume");

	EXPECT_USAGE(NULL, "resume", tmp, "--frobnicate");

	/* nothing was created by any of them */
	assert_true(dir_entries(root) <= 0);
	free(root);
	free(y);
}

static void test_invalid_yaml(void **state)
{
	char *y = write_yaml("invalid",
		"method: random\n" METRIC
		"parameters:\n"
		"  learning_rate: {min: 0.1, max: 0.01}\n"
		"  lerning_rate: {value: 1}\n"
		"run_cap: 3\n");
	char *broken = write_yaml("broken", "method: grid\nparameters: {a: [1, 2\n");
	char *own = write_yaml("own_code", "# for wandb.agent(function=train)\n"
			       "method: random\nmetric: {name: validation/loss}\n"
			       "parameters:\n  lr: {min: 0.001, max: 0.1}\n");
	char *missing = sw_test_strf("%s/missing.yaml", tmp), *root = results_root("invalid");
	struct sw_test_proc pr, pv;

	(void)state;
	RUN(&pr, "run", y, "--data", data, "--results", root);
	sw_test_expect_status(&pr, 2);
	RUN(&pv, "validate", y);
	assert_int_equal(pv.status, 2);
	/* the same located diagnostics as sweep validate; the built-in
	 * trainer's checks, warnings there, are errors for run */
	assert_non_null(strstr(pr.err, "invalid.yaml:4:"));
	assert_non_null(strstr(pv.err, "invalid.yaml:4:"));
	assert_non_null(strstr(pr.err, "invalid.yaml:5:3: error: unknown hyperparameter "
			       "'lerning_rate' for the built-in trainer; did you mean "
			       "'learning_rate'?\n"));
	assert_non_null(strstr(pv.err, "invalid.yaml:5:3: warning: unknown hyperparameter "
			       "'lerning_rate' for the built-in trainer; did you mean "
			       "'learning_rate'? (this matters only for training the "
			       "built-in CNN"));
	sw_test_proc_release(&pr);
	sw_test_proc_release(&pv);

	/* a file wandb accepts, for the user's own code: valid, but run
	 * refuses it before anything starts */
	RUN(&pv, "validate", own);
	assert_int_equal(pv.status, 0);
	RUN(&pr, "run", own, "--data", data, "--results", root);
	sw_test_expect_status(&pr, 2);
	assert_non_null(strstr(pr.err, "own_code.yaml:3:9: error: metric 'validation/loss' "
			       "is not logged by the built-in trainer"));
	assert_non_null(strstr(pr.err, "own_code.yaml:5:3: error: unknown hyperparameter "
			       "'lr'"));
	sw_test_proc_release(&pr);
	sw_test_proc_release(&pv);

	EXPECT_USAGE("broken.yaml:", "run", broken, "--data", data, "--results", root);

	EXPECT_USAGE("missing.yaml", "run", missing, "--data", data, "--results", root);

	assert_true(dir_entries(root) <= 0);
	free(root);
	free(missing);
	free(broken);
	free(own);
	free(y);
}

static void test_endless_sweep_refused(void **state)
{
	char *yr = write_yaml("endless-random",
		"method: random\n" METRIC
		"parameters:\n"
		"  learning_rate: {min: 0.001, max: 0.01}\n");
	char *yb = write_yaml("endless-bayes",
		"method: bayes\n" METRIC
		"parameters:\n"
		"  learning_rate: {min: 0.001, max: 0.01}\n");
	char *root = results_root("endless");
	struct sw_test_proc pr;

	(void)state;
	RUN(&pr, "run", yr, "--data", data, "--results", root);
	sw_test_expect_status(&pr, 2);
	assert_non_null(strstr(pr.err, "--count"));
	assert_non_null(strstr(pr.err, "run_cap"));
	sw_test_proc_release(&pr);
	EXPECT_USAGE("bayes", "run", yb, "--data", data, "--results", root);
	assert_true(dir_entries(root) <= 0);
	free(root);
	free(yr);
	free(yb);
}

static void test_resume_not_a_sweep(void **state)
{
	char *missing = sw_test_strf("%s/no-such-sweep", tmp);
	struct sw_test_proc pr;

	(void)state;
	RUN(&pr, "resume", data);
	sw_test_expect_status(&pr, 1);
	assert_non_null(strstr(pr.err, "sweep: error: "));
	assert_non_null(strstr(pr.err, data));
	assert_non_null(strstr(pr.err, "sweep run"));
	assert_int_equal(n_lines(pr.err), 1);
	sw_test_proc_release(&pr);

	RUN(&pr, "resume", missing);
	sw_test_expect_status(&pr, 1);
	assert_non_null(strstr(pr.err, missing));
	sw_test_proc_release(&pr);
	free(missing);

	/* a damaged meta.json: resuming with seed 0 would be another search */
	{
		char *dir = sw_test_strf("%s/damaged-meta", tmp), *meta = sw_test_strf("%s/meta.json", dir);
		const char *text = "{\"format\": 1, \"seed\": \"x\"}\n";

		assert_int_equal(mkdir(dir, 0755), 0);
		assert_int_equal(sw_test_write_file(meta, text, strlen(text)), 0);
		RUN(&pr, "resume", dir);
		sw_test_expect_status(&pr, 1);
		assert_non_null(strstr(pr.err, "meta.json' is damaged: 'seed' is not a whole "
				       "number 0 or more"));
		assert_int_equal(n_lines(pr.err), 1);
		sw_test_proc_release(&pr);
		free(meta);
		free(dir);
	}
}

/* SWEEP_TEST_TIMES=1 prints each test's wall time (to keep them short). */
static double t_start;

static int timer_start(void **state)
{
	(void)state;
	t_start = now_s();
	return 0;
}

static int timer_report(void **state)
{
	(void)state;
	if (getenv("SWEEP_TEST_TIMES"))
		printf("[ TIME     ] %.1f s\n", now_s() - t_start);
	return 0;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, timer_start, timer_report)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_pick_parallel_and_data),
		TEST(test_bad_arguments),
		TEST(test_invalid_yaml),
		TEST(test_endless_sweep_refused),
		TEST(test_resume_not_a_sweep),
		TEST(test_unwritable_results),
		TEST(test_missing_data),
		TEST(test_grid_runs_every_point_once),
		TEST(test_grid_count_survives_resume),
		TEST(test_random_run_cap),
		TEST(test_random_target_stops_early),
		TEST(test_swept_seed_is_recorded),
		TEST(test_bayes_count),
		TEST(test_hyperband_stops_bad_run),
		TEST(test_alert_rule_stops_run_and_webhook),
		TEST(test_alert_nan_and_run_failed),
		TEST(test_ctrl_c_once_then_resume),
		TEST(test_ctrl_c_twice_aborts),
		TEST(test_hangup),
		TEST(test_sigkill_and_resume_rounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
