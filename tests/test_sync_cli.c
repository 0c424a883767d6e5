/* test_sync_cli.c - end-to-end `sweep sync DIR` against the fake wandb
 * server (tests/fake_wandb.py): a results directory uploaded as wandb runs
 * exactly once (a second sync uploads nothing), an interrupted sync resumed
 * without sending anything twice (also half-way through a run), runs
 * joining the agent's sweep, an offline agent's directory synced, errors,
 * and the API key never printed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/fake_wandb.h"
#include "support/support.h"

#define SWEEP_NAME "sy12ab34"

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
	"  val_limit:\n    value: 64\n";

struct env {
	struct sw_fake_env w;
	char dir[512];          /* the results directory */
};

static void env_init(struct env *e, const char *base_url, const char *key)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(sw_fake_env_init(&e->w, base_url, key, 4), 0);
	snprintf(e->dir, sizeof(e->dir), "%s/results/s-20260101-000000", e->w.tmp);
	e->w.vars[e->w.n++] = strdup("OMP_NUM_THREADS=1");
}

static void run_sweep(struct sw_test_proc *p, struct env *e, const char *cmd, ...)
{
	const char *argv[24];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = sw_test_bin();
	argv[n++] = cmd;
	va_start(ap, cmd);
	while ((a = va_arg(ap, const char *)) && n < 22)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(sw_test_run(p, argv, NULL, (const char *const *)e->w.vars, 90), 0);
	assert_null(strstr(p->out, SW_FAKE_WANDB_KEY));
	assert_null(strstr(p->err, SW_FAKE_WANDB_KEY));
	assert_null(strstr(p->out, "YXBpOmZha2Vr"));  /* base64("api:fakek") */
	assert_null(strstr(p->err, "YXBpOmZha2Vr"));
}

static void mkdirs(const char *path)
{
	char buf[1024], *s;

	snprintf(buf, sizeof(buf), "%s", path);
	for (s = buf + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(buf, 0755);
			*s = '/';
		}
	mkdir(buf, 0755);
}

static void write_in(const char *dir, const char *rel, const char *text)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
}

/* One history row as the results store writes it. */
static void add_row(char *buf, size_t size, int step, double loss)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "{\"_step\":%d,\"_runtime\":%.2f,\"_timestamp\":"
		 "%.3f,\"epoch\":%d,\"loss\":%.4f,\"val_loss\":%.4f}\n", step, 1.5 * (step + 1),
		 1790000000.0 + step, step + 1, loss, loss + 0.1);
}

/* A results directory as `sweep agent` leaves it: 3 ended runs (finished
 * after 3 epochs, stopped after 1, failed with none) and 1 still in flight. */
static void make_results(const char *dir)
{
	char path[1024], hist[2048];
	int i;

	mkdirs(dir);
	write_in(dir, "meta.json", "{\"format\": 1, \"name\": \"s\", \"method\": \"random\", "
		 "\"metric\": {\"name\": \"val_loss\", \"goal\": \"minimize\"}, \"wandb\": "
		 "{\"entity\": \"alice\", \"project\": \"proj\", \"sweep\": \"" SWEEP_NAME "\"}}\n");
	write_in(dir, "sweep.yaml", sweep_yaml);
	write_in(dir, "runs.jsonl",
		 "{\"id\":\"runaaaa1\",\"state\":\"finished\",\"params\":{\"learning_rate\":0.005,"
		 "\"epochs\":3},\"summary\":{\"loss\":0.7,\"val_loss\":0.8,\"_step\":2,"
		 "\"_runtime\":4.5,\"best\":{\"name\":\"val_loss\",\"value\":0.8,\"_step\":2}},"
		 "\"epochs\":3,\"seed\":1,\"index\":1,\"runtime_s\":4.5}\n"
		 "{\"id\":\"runbbbb2\",\"state\":\"stopped\",\"params\":{\"learning_rate\":0.002,"
		 "\"epochs\":3},\"summary\":{\"loss\":0.9,\"val_loss\":1.0,\"_step\":0,"
		 "\"_runtime\":1.5},\"epochs\":1,\"seed\":2,\"index\":2,\"runtime_s\":1.5,"
		 "\"reason\":\"stopped by wandb\"}\n"
		 "{\"id\":\"runcccc3\",\"state\":\"failed\",\"params\":{\"learning_rate\":-1},"
		 "\"summary\":{},\"epochs\":0,\"seed\":3,\"index\":3,\"runtime_s\":0.1,"
		 "\"reason\":\"learning_rate must be positive\"}\n");
	for (i = 0; i < 4; i++) {
		static const char *ids[] = { "runaaaa1", "runbbbb2", "runcccc3", "rundddd4" };
		static const int rows[] = { 3, 1, 0, 2 };
		int k;

		snprintf(path, sizeof(path), "%s/runs/%s", dir, ids[i]);
		mkdirs(path);
		hist[0] = '\0';
		for (k = 0; k < rows[i]; k++)
			add_row(hist, sizeof(hist), k, 1.0 - 0.1 * k - 0.01 * i);
		snprintf(path, sizeof(path), "runs/%s/history.jsonl", ids[i]);
		write_in(dir, path, hist);
	}
	write_in(dir, "runs/rundddd4/running.json", "{\"id\":\"rundddd4\",\"params\":{},"
		 "\"seed\":4,\"index\":4}\n");
}

static void check_uploaded(json_t *rec, const char *id, int rows, int exitcode)
{
	json_t *run = json_object_get(json_object_get(rec, "runs"), id), *row;
	size_t i;

	assert_non_null(run);
	assert_true(json_is_true(json_object_get(run, "complete")));
	assert_int_equal(json_integer_value(json_object_get(run, "exitcode")), exitcode);
	assert_int_equal(json_array_size(json_object_get(run, "history")), rows);
	assert_int_equal(json_integer_value(json_object_get(run, "resent_lines")), 0);
	json_array_foreach(json_object_get(run, "history"), i, row) {
		assert_int_equal(json_integer_value(json_object_get(row, "_step")), (json_int_t)i);
		assert_true(json_is_number(json_object_get(row, "loss")));
	}
	assert_string_equal(json_string_value(json_object_get(run, "project")), "proj");
	assert_string_equal(json_string_value(json_object_get(run, "sweep")), SWEEP_NAME);
	assert_true(json_is_number(json_object_get(json_object_get(json_object_get(run,
		"config"), "learning_rate"), "value")));
}

static char *server_config(const char *extra)
{
	char *c = NULL;
	json_t *y = json_string(sweep_yaml);
	char *yq = json_dumps(y, JSON_ENCODE_ANY);

	assert_true(asprintf(&c, "{\"strict_run_ids\": false, \"sweeps\": {\"" SWEEP_NAME
			     "\": {\"entity\": \"alice\", \"project\": \"proj\", \"config\": %s}}%s%s}",
			     yq, extra ? ", " : "", extra ? extra : "") > 0);
	free(yq);
	json_decref(y);
	return c;
}

static void test_sync_twice(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *marker, *summary;
	char *cfg = server_config(NULL), path[1024];
	int before;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, cfg), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	make_results(e.dir);
	run_sweep(&p, &e, "sync", e.dir, NULL);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "/alice/proj/runs/run"), 3);
	assert_non_null(strstr(p.out, "runaaaa1 "));
	assert_null(strstr(p.out, "rundddd4"));   /* in flight: not uploaded */
	assert_non_null(strstr(p.err, "synced 3 runs to wandb (0 uploaded before)"));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 3);
	check_uploaded(rec, "runaaaa1", 3, 0);
	check_uploaded(rec, "runbbbb2", 1, 0);
	check_uploaded(rec, "runcccc3", 0, 1);
	summary = json_object_get(json_object_get(json_object_get(rec, "runs"), "runaaaa1"),
				  "summary");
	assert_true(json_real_value(json_object_get(summary, "val_loss")) == 0.8);
	assert_null(json_object_get(summary, "best"));
	before = sw_fake_wandb_requests(rec, NULL);
	json_decref(rec);
	snprintf(path, sizeof(path), "%s/wandb-sync.json", e.dir);
	marker = json_load_file(path, 0, NULL);
	assert_int_equal(json_object_size(json_object_get(marker, "runs")), 3);
	json_decref(marker);
	sw_test_proc_release(&p);

	/* the second sync uploads nothing: not one request */
	run_sweep(&p, &e, "sync", e.dir, NULL);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "");
	assert_non_null(strstr(p.err, "synced 0 runs to wandb (3 uploaded before)"));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, NULL), before);
	json_decref(rec);
	sw_test_proc_release(&p);

	/* --project elsewhere: the runs go there and do not join the sweep (a
	 * fresh server: the fake keys runs by name alone) */
	sw_fake_env_free(&e.w);
	sw_fake_wandb_stop(&fw);
	assert_int_equal(sw_fake_wandb_start(&fw, cfg), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	make_results(e.dir);
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_ENTITY=bob"), 0);
	run_sweep(&p, &e, "sync", e.dir, "--project", "other", NULL);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "/bob/other/runs/run"), 3);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	assert_true(json_is_null(json_object_get(json_object_get(json_object_get(rec, "runs"),
								 "runaaaa1"), "sweep")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		rec, "runs"), "runaaaa1"), "project")), "other");
	json_decref(rec);
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);
	sw_fake_wandb_stop(&fw);
	free(cfg);
}

static void test_sync_interrupted_resumes(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run;
	/* run 1 goes through (after a dropped answer re-sent); the completion
	 * of run 2 is refused for good: the sync stops half-way into run 2 */
	char *cfg = server_config("\"faults\": ["
		" {\"op\": \"file_stream\", \"action\": \"drop_after\"},"
		" {\"op\": \"UpsertBucket\", \"status\": 500},"
		" {\"op\": \"file_stream\", \"skip\": 4, \"times\": -1, \"status\": 403}]");

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, cfg), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	make_results(e.dir);
	run_sweep(&p, &e, "sync", e.dir, NULL);
	assert_int_equal(p.status, 1);
	assert_int_equal(sw_test_count_lines(p.out, "/alice/proj/runs/run"), 1);
	assert_non_null(strstr(p.err, "HTTP 403"));
	assert_non_null(strstr(p.err, "sync stopped after 1 run; run `sweep sync "));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	run = json_object_get(json_object_get(rec, "runs"), "runbbbb2");
	assert_non_null(run);   /* its history arrived, its completion did not */
	assert_int_equal(json_array_size(json_object_get(run, "history")), 1);
	assert_false(json_is_true(json_object_get(run, "complete")));
	json_decref(rec);
	sw_test_proc_release(&p);

	/* the server is fine again: the sync resumes and finishes */
	assert_int_equal(sw_fake_wandb_control(&fw, "{\"faults\": []}"), 0);
	run_sweep(&p, &e, "sync", e.dir, NULL);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "/alice/proj/runs/run"), 2);
	assert_null(strstr(p.out, "runaaaa1"));
	assert_non_null(strstr(p.err, "synced 2 runs to wandb (1 uploaded before)"));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 3);
	check_uploaded(rec, "runbbbb2", 1, 0);
	check_uploaded(rec, "runcccc3", 0, 1);
	/* run 1's lines were re-sent once after the lost answer: overwrites */
	run = json_object_get(json_object_get(rec, "runs"), "runaaaa1");
	assert_true(json_is_true(json_object_get(run, "complete")));
	assert_int_equal(json_array_size(json_object_get(run, "history")), 3);
	json_decref(rec);
	sw_test_proc_release(&p);

	/* and a third sync sends nothing */
	run_sweep(&p, &e, "sync", e.dir, NULL);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "");
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);
	sw_fake_wandb_stop(&fw);
	free(cfg);
}

static void test_sync_errors(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;
	char *cfg = server_config(NULL);

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, cfg), 0);
	env_init(&e, fw.url, "not-the-right-key-0000");
	make_results(e.dir);
	run_sweep(&p, &e, "sync", e.dir, NULL);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "wandb rejected the API key (HTTP 401"));
	assert_null(strstr(p.err, "not-the-right-key"));
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);

	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_sweep(&p, &e, "sync", e.w.tmp, NULL);   /* not a results directory */
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "meta.json"));
	sw_test_proc_release(&p);
	run_sweep(&p, &e, "sync", NULL);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
	make_results(e.dir);
	write_in(e.dir, "wandb-sync.json", "{\"runs\": [");
	run_sweep(&p, &e, "sync", e.dir, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "corrupt sync marker"));
	sw_test_proc_release(&p);
	write_in(e.dir, "wandb-sync.json", "{\"runs\": {}}\n");
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_MODE=offline"), 0);
	run_sweep(&p, &e, "sync", e.dir, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "offline"));
	sw_test_proc_release(&p);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 0);
	json_decref(rec);
	sw_fake_env_free(&e.w);
	sw_fake_wandb_stop(&fw);
	free(cfg);
}

/* An offline agent's directory, then synced: the runs join the sweep. */
static void test_offline_agent_then_sync(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *run;
	char data[512], path[1100], yaml[600], results[600], *buf, *dir = NULL;
	static const char *names[] = { "data_batch_1.bin", "test_batch.bin" };
	static const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\n"
				   "horse\nship\ntruck\n";
	size_t n = 10000, i, k;
	const char *key;
	DIR *d;
	struct dirent *de;
	int f;
	char *cfg = server_config(NULL);

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, cfg), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	/* tiny CIFAR-format data: the CLI reads the official 10,000 records */
	snprintf(data, sizeof(data), "%s/data", e.w.tmp);
	mkdirs(data);
	buf = malloc(n * 3073);
	assert_non_null(buf);
	for (f = 0; f < 2; f++) {
		for (i = 0; i < n; i++) {
			buf[i * 3073] = (char)((i * 3 + (size_t)f) % 10);
			for (k = 0; k < 3072; k++)
				buf[i * 3073 + 1 + k] = (char)((i * 17 + k * 5) & 255);
		}
		snprintf(path, sizeof(path), "%s/%s", data, names[f]);
		assert_int_equal(sw_test_write_file(path, buf, n * 3073), 0);
	}
	free(buf);
	for (f = 2; f <= 5; f++) {
		snprintf(path, sizeof(path), "%s/data_batch_%d.bin", data, f);
		assert_int_equal(symlink("data_batch_1.bin", path), 0);
	}
	write_in(data, "batches.meta.txt", meta);
	snprintf(yaml, sizeof(yaml), "%s/sweep.yaml", e.w.tmp);
	write_in(e.w.tmp, "sweep.yaml", sweep_yaml);
	snprintf(results, sizeof(results), "%s/res", e.w.tmp);
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_MODE=offline"), 0);
	run_sweep(&p, &e, "agent", "alice/proj/" SWEEP_NAME, "--count", "2", "--sweep-file",
		  yaml, "--data", data, "--results", results, NULL);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	sw_test_proc_release(&p);
	d = opendir(results);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			assert_true(asprintf(&dir, "%s/%s", results, de->d_name) > 0);
	closedir(d);
	assert_non_null(dir);
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_MODE=online"), 0);
	run_sweep(&p, &e, "sync", dir, NULL);
	if (p.status != 0)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, "/alice/proj/runs/"), 2);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	assert_int_equal(json_object_size(json_object_get(rec, "runs")), 2);
	json_object_foreach(json_object_get(rec, "runs"), key, run)
		check_uploaded(rec, key, 2, 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	run_sweep(&p, &e, "sync", dir, NULL);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "");
	sw_test_proc_release(&p);
	free(dir);
	sw_fake_env_free(&e.w);
	sw_fake_wandb_stop(&fw);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_twice),
		cmocka_unit_test(test_sync_interrupted_resumes),
		cmocka_unit_test(test_sync_errors),
		cmocka_unit_test(test_offline_agent_then_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
