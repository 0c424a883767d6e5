/* test_store.c - the results store: layout, run lifecycle, best tracking,
 * torn and corrupt lines, resume repair, and crash safety under SIGKILL. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/support.h"
#include "sweep/store/store.h"

static const char yaml[] = "method: random\nmetric: {name: val_accuracy, goal: maximize}\n"
			   "parameters:\n  lr: {min: 0.001, max: 0.1}\n";

static void make_spec(struct sw_spec *spec, const char *name, int maximize)
{
	memset(spec, 0, sizeof(*spec));
	spec->path = (char *)"sweeps/cifar_lr.yaml";
	spec->text = (char *)yaml;
	spec->name = (char *)name;
	spec->method = SW_METHOD_RANDOM;
	spec->metric.present = 1;
	spec->metric.name = (char *)"val_accuracy";
	spec->metric.goal = maximize ? SW_GOAL_MAXIMIZE : SW_GOAL_MINIMIZE;
}

static char *readf(const char *dir, const char *rel)
{
	char *p = NULL, *data;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	data = sw_test_read_file(p, NULL);
	free(p);
	return data;
}

static void writef(const char *dir, const char *rel, const char *text)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	assert_int_equal(sw_test_write_file(p, text, strlen(text)), 0);
	free(p);
}

static int exists(const char *dir, const char *rel)
{
	char *p = NULL;
	int ok;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	ok = !access(p, F_OK);
	free(p);
	return ok;
}

static void test_dir_name(void **state)
{
	char out[256];
	time_t t;
	struct tm tm = { 0 };

	(void)state;
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 10;
	tm.tm_mday = 26;
	tm.tm_hour = 19;
	tm.tm_min = 30;
	tm.tm_sec = 5;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	assert_string_equal(sw_store_dir_name(out, sizeof(out), NULL, "sweeps/cifar_lr.yaml", t),
			    "cifar_lr-20261126-193005");
	assert_string_equal(sw_store_dir_name(out, sizeof(out), "", "a/b/x.yml", t),
			    "x-20261126-193005");
	assert_string_equal(sw_store_dir_name(out, sizeof(out), "my sweep/1", "x.yaml", t),
			    "my_sweep_1-20261126-193005");
	assert_string_equal(sw_store_dir_name(out, sizeof(out), NULL, "noext", t),
			    "noext-20261126-193005");
	assert_string_equal(sw_store_dir_name(out, sizeof(out), NULL, ".yaml", t),
			    "sweep-20261126-193005");
}

static void test_create_layout_and_unique_name(void **state)
{
	struct sw_store a = SW_STORE_INIT, b = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *root = NULL, *text;
	json_t *extra = json_pack("{s:I, s:i, s:i}", "seed", (json_int_t)42, "parallel", 2,
				  "threads", 1);
	json_t *meta;
	time_t t = 1700000000;

	(void)state;
	assert_true(asprintf(&root, "%s/res/deep", tmp) > 0);
	make_spec(&spec, NULL, 1);
	assert_int_equal(sw_store_create(&a, root, &spec, extra, t, &err), 0);
	assert_int_equal(sw_store_create(&b, root, &spec, extra, t, &err), 0);
	assert_string_not_equal(a.dir, b.dir);
	assert_int_equal(strncmp(a.dir, root, strlen(root)), 0);
	assert_non_null(strstr(a.dir, "/cifar_lr-"));
	assert_string_equal(b.dir + strlen(a.dir), "-2");

	text = readf(a.dir, "sweep.yaml");
	assert_string_equal(text, yaml);
	free(text);
	assert_true(exists(a.dir, "runs.jsonl"));
	assert_true(exists(a.dir, "alerts.jsonl"));
	assert_true(exists(a.dir, "runs"));
	assert_int_equal(sw_store_load_meta(a.dir, &meta, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(meta, "format")), 1);
	assert_string_equal(json_string_value(json_object_get(meta, "name")), "cifar_lr");
	assert_string_equal(json_string_value(json_object_get(meta, "method")), "random");
	assert_string_equal(json_string_value(json_object_get(meta, "start_time")),
			    "2023-11-14T22:13:20Z");
	assert_int_equal(json_integer_value(json_object_get(meta, "start_timestamp")), t);
	assert_int_equal(json_integer_value(json_object_get(meta, "seed")), 42);
	assert_int_equal(json_integer_value(json_object_get(meta, "parallel")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "metric"),
							      "goal")), "maximize");
	assert_non_null(json_object_get(meta, "sweep_version"));
	json_decref(meta);

	/* meta updates merge and keep the rest */
	json_t *upd = json_pack("{s:s, s:i}", "state", "interrupted", "next_index", 7);

	assert_int_equal(sw_store_meta_update(&a, upd, &err), 0);
	json_decref(upd);
	assert_int_equal(sw_store_load_meta(a.dir, &meta, &err), 0);
	assert_string_equal(json_string_value(json_object_get(meta, "state")), "interrupted");
	assert_int_equal(json_integer_value(json_object_get(meta, "seed")), 42);
	json_decref(meta);
	assert_false(exists(a.dir, "meta.json.tmp"));

	sw_store_release(&a);
	sw_store_release(&b);
	sw_store_release(&a); /* twice is fine */
	json_decref(extra);
	free(root);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_create_unwritable(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *root = NULL;

	(void)state;
	make_spec(&spec, "x", 1);
	writef(tmp, "file", "not a directory\n");
	assert_true(asprintf(&root, "%s/file/results", tmp) > 0);
	assert_int_equal(sw_store_create(&st, root, &spec, NULL, time(NULL), &err), -1);
	assert_non_null(strstr(err.msg, "results directory '"));
	assert_non_null(strstr(err.msg, "is not usable"));
	assert_non_null(strstr(err.msg, "/file"));
	assert_null(st.dir);
	sw_store_release(&st);
	free(root);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_run_lifecycle(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *text, bid[16];
	json_t *params = json_pack("{s:f, s:i}", "lr", 0.01, "batch_size", 64);
	json_t *runs, *hist, *rec, *r, *best;
	struct sw_kv m1[] = { { "train_loss", 1.5 }, { "val_accuracy", 0.40 } };
	struct sw_kv m2[] = { { "train_loss", NAN }, { "val_accuracy", 0.55 } };
	struct sw_kv m3[] = { { "train_loss", INFINITY }, { "val_accuracy", 0.50 } };
	int nb;
	double v;

	(void)state;
	make_spec(&spec, "s", 1);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	assert_int_equal(sw_store_best(&st, &v, bid, sizeof(bid)), -1);
	assert_int_equal(sw_store_run_begin(&st, "../evil", params, 1, 0, &err), -1);
	assert_non_null(strstr(err.msg, "invalid run id '../evil'"));
	assert_int_equal(sw_store_run_begin(&st, "run1", params, 99, 0, &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "run1", params, 99, 0, &err), -1);
	assert_non_null(strstr(err.msg, "already running"));
	assert_true(exists(st.dir, "runs/run1/running.json"));

	assert_int_equal(sw_store_epoch(&st, "run1", m1, 2, &nb, &err), 0);
	assert_int_equal(nb, 1);
	assert_int_equal(sw_store_epoch(&st, "run1", m2, 2, &nb, &err), 0);
	assert_int_equal(nb, 1);
	assert_int_equal(sw_store_epoch(&st, "run1", m3, 2, &nb, &err), 0);
	assert_int_equal(nb, 0);
	assert_int_equal(sw_store_epoch(&st, "nope", m3, 2, &nb, &err), -1);
	assert_non_null(strstr(err.msg, "run 'nope' was not begun"));
	assert_int_equal(sw_store_best(&st, &v, bid, sizeof(bid)), 0);
	assert_true(v == 0.55);
	assert_string_equal(bid, "run1");

	assert_int_equal(sw_store_load_history(st.dir, "run1", &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 3);
	json_array_foreach(hist, nb, r) {
		assert_int_equal(json_integer_value(json_object_get(r, "_step")), nb);
		assert_int_equal(json_integer_value(json_object_get(r, "epoch")), nb + 1);
		assert_true(json_is_real(json_object_get(r, "_runtime")));
		assert_true(json_real_value(json_object_get(r, "_timestamp")) > 1.6e9);
	}
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 1),
							      "train_loss")), "NaN");
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 2),
							      "train_loss")), "Infinity");
	json_decref(hist);

	assert_int_equal(sw_store_run_end(&st, "run1", SW_RUN_FINISHED, NULL, &rec, &err), 0);
	assert_false(exists(st.dir, "runs/run1/running.json"));
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "finished");
	json_decref(rec);
	assert_int_equal(sw_store_run_end(&st, "run1", SW_RUN_FINISHED, NULL, NULL, &err), -1);
	assert_int_equal(sw_store_run_begin(&st, "run1", params, 99, 0, &err), -1);
	assert_non_null(strstr(err.msg, "already recorded"));

	/* a failed run, which never logged the metric */
	assert_int_equal(sw_store_run_begin(&st, "run2", NULL, 7, 1, &err), 0);
	assert_int_equal(sw_store_run_end(&st, "run2", SW_RUN_FAILED, "out of memory", NULL,
					  &err), 0);

	assert_int_equal(sw_store_load_runs(st.dir, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 2);
	r = json_array_get(runs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "run1");
	assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 3);
	assert_int_equal(json_integer_value(json_object_get(r, "seed")), 99);
	assert_true(json_real_value(json_object_get(json_object_get(r, "params"), "lr")) == 0.01);
	assert_true(json_number_value(json_object_get(r, "runtime_s")) >= 0);
	assert_null(json_object_get(r, "reason"));
	/* summary: last epoch's metrics and the best */
	assert_true(json_real_value(json_object_get(json_object_get(r, "summary"),
						    "val_accuracy")) == 0.50);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "summary"),
							      "train_loss")), "Infinity");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "summary"),
							    "_step")), 2);
	assert_int_equal(sw_run_best_value(r, "val_accuracy", &v), 0);
	assert_true(v == 0.55);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_object_get(r, "summary"), "best"), "_step")), 1);
	r = json_array_get(runs, 1);
	assert_string_equal(json_string_value(json_object_get(r, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(r, "reason")), "out of memory");
	assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 0);
	assert_int_equal(sw_run_best_value(r, "val_accuracy", &v), -1);
	json_decref(runs);

	text = readf(st.dir, "best.json");
	best = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(best);
	assert_string_equal(json_string_value(json_object_get(best, "run")), "run1");
	assert_true(json_real_value(json_object_get(best, "value")) == 0.55);
	assert_int_equal(json_integer_value(json_object_get(best, "epoch")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(best, "params"),
							    "batch_size")), 64);
	json_decref(best);
	assert_false(exists(st.dir, "best.json.tmp"));

	sw_store_release(&st);
	json_decref(params);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_minimize_best_and_model_commit(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *mt;
	struct sw_kv a[] = { { "val_accuracy", 0.3 } }, b[] = { { "val_accuracy", 0.2 } };
	struct sw_kv c[] = { { "val_accuracy", 0.25 } };
	int nb;

	(void)state;
	make_spec(&spec, "m", 0);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "a", NULL, 1, 0, &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "b", NULL, 2, 1, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "a", a, 1, &nb, &err), 0);
	assert_int_equal(nb, 1);
	/* a writes its model; b beats it before a commits */
	mt = sw_store_path(&st, "best.safetensors.tmp.a");
	assert_int_equal(sw_test_write_file(mt, "A", 1), 0);
	assert_int_equal(sw_store_epoch(&st, "b", b, 1, &nb, &err), 0);
	assert_int_equal(nb, 1);
	assert_int_equal(sw_store_epoch(&st, "a", c, 1, &nb, &err), 0);
	assert_int_equal(nb, 0);
	assert_int_equal(sw_store_commit_best_model(&st, mt, "a", 0.3, &err), 0);
	assert_int_equal(access(mt, F_OK), -1);
	assert_false(exists(st.dir, "best.safetensors"));
	free(mt);
	mt = sw_store_path(&st, "best.safetensors.tmp.b");
	assert_int_equal(sw_test_write_file(mt, "B", 1), 0);
	assert_int_equal(sw_store_commit_best_model(&st, mt, "b", 0.2, &err), 1);
	free(mt);
	mt = readf(st.dir, "best.safetensors");
	assert_string_equal(mt, "B");
	free(mt);
	sw_store_release(&st);   /* a and b still in flight */
	sw_test_rmtree(tmp);
	free(tmp);
}

/* A run added whole (sweep import): its rows as given, its record, the
 * best from its summary; ids and states checked like run_begin's. */
static void test_run_add(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	json_t *rows, *rec, *runs, *hist, *best, *empty;
	char *tmp = sw_test_tmpdir(), *text, *dir;

	(void)state;
	make_spec(&spec, "add", 1);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	rows = json_loads("[{\"_step\": 10, \"_runtime\": 0.5, \"val_accuracy\": 0.25,"
			  " \"note\": \"x\"}, {\"_step\": 12, \"val_accuracy\": \"NaN\"}]", 0, NULL);
	rec = json_loads("{\"id\": \"w1\", \"state\": \"finished\", \"params\": {\"lr\": 0.1},"
			 " \"summary\": {\"val_accuracy\": 0.5, \"_step\": 12}, \"epochs\": 2}",
			 0, NULL);
	assert_int_equal(sw_store_run_add(&st, rec, rows, &err), 0);
	/* the same id again, or one in flight: refused */
	assert_int_equal(sw_store_run_add(&st, rec, rows, &err), -1);
	assert_non_null(strstr(err.msg, "'w1' is already in"));
	assert_int_equal(sw_store_run_begin(&st, "w2", NULL, 1, 1, &err), 0);
	json_object_set_new(rec, "id", json_string("w2"));
	assert_int_equal(sw_store_run_add(&st, rec, rows, &err), -1);
	/* a worse summary does not replace best.json; a bad state or id is refused */
	json_object_set_new(rec, "id", json_string("w3"));
	json_object_set_new(json_object_get(rec, "summary"), "val_accuracy", json_real(0.4));
	empty = json_array();
	assert_int_equal(sw_store_run_add(&st, rec, empty, &err), 0);
	json_decref(empty);
	json_object_set_new(rec, "id", json_string("w4"));
	json_object_set_new(rec, "state", json_string("done"));
	assert_int_equal(sw_store_run_add(&st, rec, rows, &err), -1);
	json_object_set_new(rec, "id", json_string("no/slash"));
	json_object_set_new(rec, "state", json_string("failed"));
	assert_int_equal(sw_store_run_add(&st, rec, rows, &err), -1);
	assert_non_null(strstr(err.msg, "invalid run id"));
	dir = strdup(st.dir);
	sw_store_release(&st);

	assert_int_equal(sw_store_load_runs(dir, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "id")), "w1");
	json_decref(runs);
	assert_int_equal(sw_store_load_history(dir, "w1", &hist, &err), 0);
	assert_true(json_equal(hist, rows));
	json_decref(hist);
	assert_int_equal(sw_store_load_history(dir, "w3", &hist, &err), 0);
	assert_int_equal(json_array_size(hist), 0);
	json_decref(hist);
	text = readf(dir, "best.json");
	best = json_loads(text, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(best, "run")), "w1");
	assert_true(json_real_value(json_object_get(best, "value")) == 0.5);
	assert_int_equal(json_integer_value(json_object_get(best, "_step")), 12);
	json_decref(best);
	/* the directory opens again as resume opens it */
	assert_int_equal(sw_store_open(&st, dir, &err), 0);
	sw_store_release(&st);
	free(dir);
	free(text);
	json_decref(rows);
	json_decref(rec);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_jsonl_torn_and_corrupt(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), *p = NULL;
	json_t *arr;
	int torn;

	(void)state;
	assert_true(asprintf(&p, "%s/x.jsonl", tmp) > 0);
	/* torn last line: ignored */
	assert_int_equal(sw_test_write_file(p, "{\"a\":1}\n\n{\"a\":2}\n{\"a\":3,\"b", 26), 0);
	assert_int_equal(sw_jsonl_load(p, 0, &arr, &torn, &err), 0);
	assert_int_equal(torn, 1);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
	/* a complete last line without its newline is kept */
	assert_int_equal(sw_test_write_file(p, "{\"a\":1}\n{\"a\":2}", 15), 0);
	assert_int_equal(sw_jsonl_load(p, 0, &arr, &torn, &err), 0);
	assert_int_equal(torn, 0);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
	/* corruption before the last line: error with file:line */
	assert_int_equal(sw_test_write_file(p, "{\"a\":1}\n\n{\"a\":\n{\"a\":3}\n", 24), 0);
	assert_int_equal(sw_jsonl_load(p, 0, &arr, &torn, &err), -1);
	assert_null(arr);
	assert_non_null(strstr(err.msg, "x.jsonl' line 3: corrupt JSON"));
	/* missing file */
	unlink(p);
	assert_int_equal(sw_jsonl_load(p, 0, &arr, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unable to read"));
	assert_int_equal(sw_jsonl_load(p, 1, &arr, NULL, &err), 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);
	free(p);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_load_runs_dedupes_and_validates(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir();
	json_t *runs;

	(void)state;
	writef(tmp, "runs.jsonl",
	       "{\"id\":\"a\",\"state\":\"finished\",\"epochs\":3}\n"
	       "{\"id\":\"b\",\"state\":\"failed\"}\n"
	       "{\"id\":\"a\",\"state\":\"killed\",\"epochs\":1}\n"
	       "{\"id\":\"c\",\"sta");
	assert_int_equal(sw_store_load_runs(tmp, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "epochs")), 3);
	json_decref(runs);

	writef(tmp, "runs.jsonl", "{\"id\":\"a\",\"state\":\"finished\"}\n\n"
				  "{\"id\":\"b\",\"state\":\"exploded\"}\n");
	assert_int_equal(sw_store_load_runs(tmp, &runs, &err), -1);
	assert_non_null(strstr(err.msg, "runs.jsonl' line 3: run 'b' has an invalid \"state\""));
	writef(tmp, "runs.jsonl", "[1,2]\n");
	assert_int_equal(sw_store_load_runs(tmp, &runs, &err), -1);
	assert_non_null(strstr(err.msg, "runs.jsonl' line 1: run record without a valid \"id\""));
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_open_repairs_and_resumes(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *dir, *text, *p = NULL;
	json_t *infl, *runs, *params = json_pack("{s:i}", "x", 1);
	struct sw_kv m[] = { { "val_accuracy", 0.7 } };
	FILE *f;
	double v;
	char bid[16];

	(void)state;
	make_spec(&spec, "r", 1);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	dir = strdup(st.dir);
	assert_int_equal(sw_store_run_begin(&st, "done1", params, 1, 0, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "done1", m, 1, NULL, &err), 0);
	assert_int_equal(sw_store_run_end(&st, "done1", SW_RUN_FINISHED, NULL, NULL, &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "flying", params, 2, 2, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "flying", m, 1, NULL, &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "early", params, 3, 1, &err), 0);
	sw_store_release(&st);  /* "crash": flying and early stay in flight */

	/* simulate a torn append and a marker left behind by a crash between
	 * the runs.jsonl append and the marker's removal */
	assert_true(asprintf(&p, "%s/runs.jsonl", dir) > 0);
	f = fopen(p, "a");
	fputs("{\"id\":\"torn\",\"state\":\"fini", f);
	fclose(f);
	free(p);
	writef(dir, "runs/done1/running.json", "{\"id\":\"done1\",\"index\":0}\n");
	/* and temporary files of replaces the crash cut short */
	writef(dir, "best.json.tmp", "{\"run\":");
	writef(dir, "best.safetensors.flying-1.tmp", "partial");
	writef(dir, "notes.tmp", "the user's own");
	p = NULL;
	assert_true(asprintf(&p, "%s/alerts.jsonl", dir) > 0);
	assert_int_equal(sw_test_write_file(p, "{\"level\":\"WARN\"}", 16), 0);
	free(p);

	assert_int_equal(sw_store_open(&st, dir, &err), 0);
	{
		struct sw_store again = SW_STORE_INIT;

		assert_int_equal(sw_store_open(&again, dir, &err), -1);
		assert_non_null(strstr(err.msg, "is in use by another sweep process"));
		sw_store_release(&again);
	}
	assert_false(exists(dir, "runs/done1/running.json"));
	assert_false(exists(dir, "best.json.tmp"));
	assert_false(exists(dir, "best.safetensors.flying-1.tmp"));
	assert_true(exists(dir, "notes.tmp"));
	text = readf(dir, "runs.jsonl");
	assert_int_equal(sw_test_count_lines(text, "\"id\""), 1);
	assert_null(strstr(text, "torn"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
	text = readf(dir, "alerts.jsonl");
	assert_string_equal(text, "{\"level\":\"WARN\"}\n");
	free(text);
	assert_int_equal(sw_store_best(&st, &v, bid, sizeof(bid)), 0);
	assert_true(v == 0.7);

	assert_int_equal(sw_store_inflight(&st, &infl, &err), 0);
	assert_int_equal(json_array_size(infl), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(infl, 0), "id")),
			    "early");
	assert_string_equal(json_string_value(json_object_get(json_array_get(infl, 1), "id")),
			    "flying");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(infl, 1), "seed")), 2);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(json_array_get(infl, 1), "params"), "x")), 1);
	json_decref(infl);

	/* rerun an in-flight run from scratch; a recorded one is refused */
	assert_int_equal(sw_store_run_begin(&st, "done1", params, 1, 0, &err), -1);
	assert_int_equal(sw_store_run_begin(&st, "flying", params, 2, 2, &err), 0);
	text = readf(dir, "runs/flying/history.jsonl");
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(sw_store_inflight(&st, &infl, &err), 0);
	assert_int_equal(json_array_size(infl), 1);  /* active ones are not listed */
	json_decref(infl);
	assert_int_equal(sw_store_run_end(&st, "flying", SW_RUN_STOPPED, NULL, NULL, &err), 0);
	sw_store_release(&st);

	assert_int_equal(sw_store_load_runs(dir, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);

	/* corruption in the middle is reported by open */
	writef(dir, "runs.jsonl", "garbage\n{\"id\":\"a\",\"state\":\"finished\"}\n");
	assert_int_equal(sw_store_open(&st, dir, &err), -1);
	assert_non_null(strstr(err.msg, "runs.jsonl' line 1: corrupt JSON"));
	/* not a sweep directory */
	assert_int_equal(sw_store_open(&st, tmp, &err), -1);
	assert_non_null(strstr(err.msg, "is not a sweep results directory"));

	json_decref(params);
	free(dir);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_sort_and_ids(void **state)
{
	json_t *runs = json_loads("["
		"{\"id\":\"c\",\"state\":\"finished\",\"summary\":{\"best\":{\"name\":\"acc\",\"value\":0.5}}},"
		"{\"id\":\"a\",\"state\":\"failed\",\"summary\":{}},"
		"{\"id\":\"b\",\"state\":\"finished\",\"summary\":{\"acc\":0.9}},"
		"{\"id\":\"d\",\"state\":\"stopped\",\"summary\":{\"acc\":\"NaN\"}}]", 0, NULL);
	char id[9], id2[9];

	(void)state;
	assert_non_null(runs);
	sw_runs_sort(runs, "acc", 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "id")), "b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "id")), "c");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 2), "id")), "a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 3), "id")), "d");
	sw_runs_sort(runs, "acc", 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "id")), "c");
	json_decref(runs);

	sw_store_run_id(id, 42, 0);
	sw_store_run_id(id2, 42, 0);
	assert_string_equal(id, id2);
	assert_int_equal(strlen(id), 8);
	assert_int_equal(strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"), 8);
	sw_store_run_id(id2, 42, 1);
	assert_string_not_equal(id, id2);
}

/* ==== Crash safety: a writer SIGKILLed at random moments, many times ==== */

/* The child: resumes the store, reruns what was in flight, then starts new
 * runs forever (until killed). Index i always has id sw_store_run_id(7, i). */
static void crash_writer(const char *dir, int write_behind)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	json_t *runs = NULL, *infl = NULL, *r;
	int64_t next = 0;
	size_t k;

	if (sw_store_open(&st, dir, &err) || sw_store_load_runs(dir, &runs, &err) ||
	    sw_store_inflight(&st, &infl, &err) ||
	    (write_behind && sw_store_write_behind(&st, &err))) {
		fprintf(stderr, "writer: %s\n", err.msg);
		_exit(3);
	}
	json_array_foreach(runs, k, r)
		if (json_integer_value(json_object_get(r, "index")) + 1 > next)
			next = json_integer_value(json_object_get(r, "index")) + 1;
	json_array_foreach(infl, k, r)
		if (json_integer_value(json_object_get(r, "index")) + 1 > next)
			next = json_integer_value(json_object_get(r, "index")) + 1;
	for (k = 0;; k++) {
		char id[9];
		int64_t idx, e;
		json_t *params;

		if (k < json_array_size(infl))
			idx = json_integer_value(json_object_get(json_array_get(infl, k), "index"));
		else
			idx = next++;
		sw_store_run_id(id, 7, (uint64_t)idx);
		params = json_pack("{s:I}", "i", (json_int_t)idx);
		if (sw_store_run_begin(&st, id, params, (uint64_t)idx, idx, &err)) {
			fprintf(stderr, "writer: %s\n", err.msg);
			_exit(4);
		}
		json_decref(params);
		for (e = 0; e < 1 + idx % 3; e++) {
			struct sw_kv m[] = { { "val_accuracy", (double)((idx * 37 + e) % 100) / 100 },
					     { "loss", 1.0 / (double)(e + 1) } };
			json_t *alert = json_pack("{s:s, s:I}", "run", id, "epoch", (json_int_t)e);

			if (sw_store_epoch(&st, id, m, 2, NULL, &err) ||
			    sw_store_alert(&st, alert, &err)) {
				fprintf(stderr, "writer: %s\n", err.msg);
				_exit(5);
			}
			json_decref(alert);
		}
		if (sw_store_run_end(&st, id, idx % 5 == 4 ? SW_RUN_FAILED : SW_RUN_FINISHED,
				     idx % 5 == 4 ? "boom" : NULL, NULL, &err)) {
			fprintf(stderr, "writer: %s\n", err.msg);
			_exit(6);
		}
	}
}

/* 40 SIGKILLs of a process writing runs, each followed by a resume; with
 * write_behind the writes go through the store's writer thread. */
static void sigkill_many_times(int write_behind)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *dir, *text, *rpath = NULL;
	json_t *runs, *infl, *alerts, *seen, *r;
	unsigned seed = 12345;
	int iter, maxidx = -1;
	size_t k;

	make_spec(&spec, "crash", 1);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	dir = strdup(st.dir);
	sw_store_release(&st);
	assert_true(asprintf(&rpath, "%s/runs.jsonl", dir) > 0);
	for (iter = 0; iter < 40; iter++) {
		struct timespec ts = { 0, (long)(rand_r(&seed) % 45000) * 1000L + 2000000L };
		struct timespec tick = { 0, 1000000L };
		struct stat sb;
		off_t size0 = stat(rpath, &sb) ? 0 : sb.st_size;
		pid_t pid = fork();
		int status, waited;

		assert_true(pid >= 0);
		if (pid == 0)
			crash_writer(dir, write_behind);
		/* odd iterations: at a random moment (often while resuming);
		 * even ones: once the writer has ended a run, plus a random
		 * delay, so progress does not depend on the machine's load */
		if (iter % 2 == 0) {
			for (waited = 0; waited < 5000; waited++) {
				if (!stat(rpath, &sb) && sb.st_size > size0)
					break;
				nanosleep(&tick, NULL);
			}
			ts.tv_nsec = (long)(rand_r(&seed) % 10000) * 1000L;
		}
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* died by our signal, not by an error exit */
		if (!WIFSIGNALED(status))
			fail_msg("writer exited with %d", WEXITSTATUS(status));
	}

	/* every file parses; no id is in runs.jsonl twice (raw lines) */
	text = readf(dir, "runs.jsonl");
	assert_non_null(text);
	free(text);
	assert_int_equal(sw_store_open(&st, dir, &err), 0);  /* repairs the tail */
	assert_int_equal(sw_jsonl_load(rpath, 0, &runs, NULL, &err), 0);
	free(rpath);
	seen = json_object();
	json_array_foreach(runs, k, r) {
		const char *id = json_string_value(json_object_get(r, "id"));
		json_t *hist;
		char expect[9];
		int idx = (int)json_integer_value(json_object_get(r, "index"));

		assert_non_null(id);
		if (json_object_get(seen, id))
			fail_msg("run %s recorded twice", id);
		json_object_set_new(seen, id, json_integer(idx));
		sw_store_run_id(expect, 7, (uint64_t)idx);
		assert_string_equal(id, expect);
		if (idx > maxidx)
			maxidx = idx;
		/* the history of a recorded run is complete and parses */
		assert_int_equal(sw_store_load_history(dir, id, &hist, &err), 0);
		assert_int_equal(json_array_size(hist),
				 json_integer_value(json_object_get(r, "epochs")));
		assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 1 + idx % 3);
		json_decref(hist);
	}
	assert_int_equal(sw_store_inflight(&st, &infl, &err), 0);
	/* every index below the highest is recorded or in flight */
	{
		int i;

		for (i = 0; i <= maxidx; i++) {
			char id[9];
			size_t j;
			int found = 0;

			sw_store_run_id(id, 7, (uint64_t)i);
			if (json_object_get(seen, id))
				continue;
			json_array_foreach(infl, j, r)
				if (!strcmp(json_string_value(json_object_get(r, "id")), id))
					found = 1;
			if (!found)
				fail_msg("run index %d was lost", i);
		}
	}
	json_array_foreach(infl, k, r) {
		json_t *hist;

		assert_int_equal(sw_store_load_history(dir, json_string_value(
			json_object_get(r, "id")), &hist, &err), 0);
		json_decref(hist);
	}
	assert_int_equal(sw_store_load_alerts(dir, &alerts, &err), 0);
	assert_true(json_array_size(alerts) >= json_array_size(runs));
	print_message("sigkill%s: %zu runs recorded, %zu in flight, %zu alerts after 40 kills\n",
		      write_behind ? " (write-behind)" : "", json_array_size(runs),
		      json_array_size(infl), json_array_size(alerts));
	assert_true(json_array_size(runs) >= 10);
	json_decref(alerts);
	json_decref(infl);
	json_decref(runs);
	json_decref(seen);
	sw_store_release(&st);
	free(dir);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_sigkill_many_times(void **state)
{
	(void)state;
	sigkill_many_times(0);
}

static void test_sigkill_many_times_write_behind(void **state)
{
	(void)state;
	sigkill_many_times(1);
}

/* A wandb run file's record replaces what arrived live: history.jsonl,
 * the epoch count, and the summary, whose metric value is the run's best
 * (wandb ranks by the summary). */
static void test_run_record_from_run_file(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *text;
	struct sw_kv m1[] = { { "val_accuracy", 0.9 } };
	json_t *rows = json_loads("[{\"_step\": 0, \"epoch\": 0, \"val_accuracy\": 0.5},"
				  " {\"_step\": 4, \"epoch\": 1, \"val_accuracy\": \"NaN\"}]",
				  0, NULL);
	json_t *sum = json_loads("{\"_step\": 4, \"val_accuracy\": 0.7, \"note\": 2}", 0, NULL);
	json_t *rec = NULL, *s;
	int nb;

	(void)state;
	make_spec(&spec, "rec", 1);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "w1", NULL, 1, 0, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "w1", m1, 1, &nb, &err), 0);
	assert_int_equal(sw_store_run_record(&st, "nope", rows, sum, &err), -1);
	assert_int_equal(sw_store_run_record(&st, "w1", rows, sum, &err), 0);
	assert_int_equal(sw_store_run_end(&st, "w1", SW_RUN_FINISHED, NULL, &rec, &err), 0);
	assert_int_equal(sw_store_flush(&st, &err), 0);
	text = readf(st.dir, "runs/w1/history.jsonl");
	assert_string_equal(text, "{\"_step\":0,\"epoch\":0,\"val_accuracy\":0.5}\n"
			    "{\"_step\":4,\"epoch\":1,\"val_accuracy\":\"NaN\"}\n");
	free(text);
	assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 2);
	s = json_object_get(rec, "summary");
	assert_int_equal(json_integer_value(json_object_get(s, "note")), 2);
	assert_true(json_real_value(json_object_get(s, "val_accuracy")) == 0.7);
	assert_true(json_real_value(json_object_get(json_object_get(s, "best"), "value")) == 0.7);
	json_decref(rec);
	json_decref(rows);
	json_decref(sum);
	sw_store_release(&st);
	sw_test_rmtree(tmp);
	free(tmp);
}

/* Checkpoints: written beside the history, the rows a checkpoint keeps
 * restore a rerun (history replaced, step, runtime, best and summary go
 * on), a left run stays in flight, run_end deletes the checkpoint (unless
 * keep_checkpoints), and open deletes those of recorded runs. */
static void test_checkpoint_restore_leave(void **state)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	char *tmp = sw_test_tmpdir(), *text, *dir;
	json_t *params = json_pack("{s:f}", "lr", 0.01), *rows, *rec = NULL, *summary, *bad;
	struct sw_kv m1[] = { { "val_accuracy", 0.40 } }, m2[] = { { "val_accuracy", 0.55 } };
	struct sw_kv m3[] = { { "val_accuracy", 0.50 } };

	(void)state;
	make_spec(&spec, "ck", 1);
	assert_int_equal(sw_store_create(&st, tmp, &spec, NULL, time(NULL), &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "r1", params, 5, 0, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "r1", m1, 1, NULL, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "r1", m2, 1, NULL, &err), 0);
	rows = sw_store_run_rows(&st, "r1");
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(sw_store_checkpoint(&st, "r1", "state", 5, &err), 0);
	assert_int_equal(sw_store_checkpoint(&st, "nope", "state", 5, &err), -1);
	text = readf(st.dir, "runs/r1/checkpoint.bin");
	assert_string_equal(text, "state");
	free(text);
	/* a third epoch the checkpoint does not have, then the user's stop */
	assert_int_equal(sw_store_epoch(&st, "r1", m3, 1, NULL, &err), 0);
	assert_int_equal(sw_store_run_leave(&st, "r1", &err), 0);
	assert_int_equal(sw_store_run_leave(&st, "r1", &err), -1);
	assert_true(exists(st.dir, "runs/r1/running.json"));
	dir = strdup(st.dir);
	sw_store_release(&st);

	/* resume: the rerun takes the checkpoint's two rows */
	assert_int_equal(sw_store_open(&st, dir, &err), 0);
	assert_int_equal(sw_store_run_begin(&st, "r1", params, 5, 0, &err), 0);
	bad = json_pack("[{s:i}]", "x", 1);
	assert_int_equal(sw_store_run_restore(&st, "r1", bad, &err), -1);
	json_decref(bad);
	assert_int_equal(sw_store_run_restore(&st, "r1", rows, &err), 0);
	text = readf(dir, "runs/r1/history.jsonl");
	assert_int_equal(sw_test_count_lines(text, "_step"), 2);
	free(text);
	assert_int_equal(sw_store_epoch(&st, "r1", m3, 1, NULL, &err), 0);
	text = readf(dir, "runs/r1/history.jsonl");
	assert_int_equal(sw_test_count_lines(text, "\"_step\":2"), 1);
	free(text);
	assert_int_equal(sw_store_run_end(&st, "r1", SW_RUN_FINISHED, NULL, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 3);
	summary = json_object_get(rec, "summary");
	assert_int_equal(json_integer_value(json_object_get(summary, "_step")), 2);
	/* the best is the restored epoch 2's */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(summary, "best"),
							    "_step")), 1);
	json_decref(rec);
	assert_false(exists(dir, "runs/r1/checkpoint.bin"));
	sw_store_release(&st);

	/* a checkpoint beside a recorded run (the crash came between the line
	 * and the delete) goes at open; kept with keep_checkpoints */
	writef(dir, "runs/r1/checkpoint.bin", "old");
	writef(dir, "runs/r1/checkpoint.bin.tmp", "torn");
	assert_int_equal(sw_store_open(&st, dir, &err), 0);
	assert_false(exists(dir, "runs/r1/checkpoint.bin"));
	assert_false(exists(dir, "runs/r1/checkpoint.bin.tmp"));
	st.keep_checkpoints = 1;
	assert_int_equal(sw_store_run_begin(&st, "r2", params, 6, 1, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "r2", m1, 1, NULL, &err), 0);
	assert_int_equal(sw_store_checkpoint(&st, "r2", "s2", 2, &err), 0);
	assert_int_equal(sw_store_run_end(&st, "r2", SW_RUN_FINISHED, NULL, NULL, &err), 0);
	assert_true(exists(dir, "runs/r2/checkpoint.bin"));

	/* restart (a Slurm job taken away, submitted again): the history
	 * starts over, and so do the step and the best */
	assert_int_equal(sw_store_run_begin(&st, "r3", params, 7, 2, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "r3", m2, 1, NULL, &err), 0);
	assert_int_equal(sw_store_epoch(&st, "r3", m1, 1, NULL, &err), 0);
	assert_int_equal(sw_store_run_restart(&st, "r3", &err), 0);
	assert_int_equal(sw_store_run_restart(&st, "nope", &err), -1);
	text = readf(dir, "runs/r3/history.jsonl");
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(sw_store_epoch(&st, "r3", m3, 1, NULL, &err), 0);
	text = readf(dir, "runs/r3/history.jsonl");
	assert_int_equal(sw_test_count_lines(text, "\"_step\":0"), 1);
	assert_int_equal(sw_test_count_lines(text, "_step"), 1);
	free(text);
	assert_int_equal(sw_store_run_end(&st, "r3", SW_RUN_FINISHED, NULL, &rec, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(rec, "epochs")), 1);
	summary = json_object_get(rec, "summary");
	assert_true(json_number_value(json_object_get(json_object_get(summary, "best"),
						      "value")) == 0.50);
	json_decref(rec);
	sw_store_release(&st);
	json_decref(rows);
	json_decref(params);
	free(dir);
	sw_test_rmtree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_name),
		cmocka_unit_test(test_create_layout_and_unique_name),
		cmocka_unit_test(test_create_unwritable),
		cmocka_unit_test(test_run_lifecycle),
		cmocka_unit_test(test_checkpoint_restore_leave),
		cmocka_unit_test(test_minimize_best_and_model_commit),
		cmocka_unit_test(test_run_add),
		cmocka_unit_test(test_jsonl_torn_and_corrupt),
		cmocka_unit_test(test_load_runs_dedupes_and_validates),
		cmocka_unit_test(test_open_repairs_and_resumes),
		cmocka_unit_test(test_sort_and_ids),
		cmocka_unit_test(test_run_record_from_run_file),
		cmocka_unit_test(test_sigkill_many_times),
		cmocka_unit_test(test_sigkill_many_times_write_behind),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
