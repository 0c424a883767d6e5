/* test_import_cli.c - end-to-end: `sweep import` of wandb offline runs (the
 * real SDK's files in tests/wandb_offline/, laid out as wandb leaves them)
 * into a results directory, then `sweep show`, `sweep report` and `sweep
 * sync` (to the fake wandb server) on it; bad paths and usage errors. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/fake_wandb.h"
#include "support/support.h"
#include "sweep/store/store.h"
#include "sweep/offline/wandb_runfile.h"

#define FIXTURES "tests/wandb_offline/"

struct fixture {
	char *tmp;
	char wandb_dir[512];    /* tmp/w: a WANDB_DIR holding wandb/ */
	char results[512];      /* tmp/results */
};

/* Copies the first `len` bytes (0: all) of fixture NAME's run file to
 * tmp/w/wandb/offline-run-20261204_00000N-ID/run-ID.wandb. */
static void place(struct fixture *fx, const char *name, const char *id, int n, size_t len)
{
	char src[256], dir[768], dst[1024];
	size_t size;
	char *data;

	snprintf(src, sizeof(src), FIXTURES "%s/run.wandb", name);
	data = sw_test_read_file(src, &size);
	assert_non_null(data);
	snprintf(dir, sizeof(dir), "%s/wandb/offline-run-20261204_00000%d-%s",
		 fx->wandb_dir, n, id);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dst, sizeof(dst), "%s/run-%s.wandb", dir, id);
	assert_int_equal(sw_test_write_file(dst, data, len ? len : size), 0);
	free(data);
}

/* tmp/w/wandb/ with basic_epochs, crash and a killed run (many_steps cut
 * at byte 100,003), plus wandb's latest-run link to one of them. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char path[768];

	fx->tmp = sw_test_tmpdir();
	snprintf(fx->wandb_dir, sizeof(fx->wandb_dir), "%s/w", fx->tmp);
	snprintf(fx->results, sizeof(fx->results), "%s/results", fx->tmp);
	snprintf(path, sizeof(path), "%s/wandb", fx->wandb_dir);
	if (mkdir(fx->wandb_dir, 0755) || mkdir(path, 0755))
		return -1;
	place(fx, "basic_epochs", "runbasic", 0, 0);
	place(fx, "crash", "runcrash", 1, 0);
	place(fx, "many_steps", "runmanyx", 2, 100003);
	snprintf(path, sizeof(path), "%s/wandb/latest-run", fx->wandb_dir);
	if (symlink("offline-run-20261204_000001-runcrash", path))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	sw_test_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

/* The results directory `sweep import` printed (its one stdout line). */
static char *printed_dir(const struct sw_test_proc *p)
{
	char *dir = strdup(p->out);
	char *nl = strchr(dir, '\n');
	assert_non_null(nl);
	assert_string_equal(nl, "\n");
	*nl = '\0';
	return dir;
}

static json_t *run_of(json_t *runs, const char *id)
{
	json_t *r;
	size_t i;
	json_array_foreach(runs, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "id")), id))
			return r;
	fail_msg("run %s not imported", id);
	return NULL;
}

/* The store's history of run id equals the reader's rows of its file. */
static void assert_history_is_file(const char *dir, const char *id, const char *file,
				   size_t cut, size_t rows)
{
	struct sw_wandb_runfile rf = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	json_t *hist;
	size_t len, i;
	char *data = sw_test_read_file(file, &len);

	assert_int_equal(sw_wandb_runfile_parse(data, cut ? cut : len, file, &rf, &err), 0);
	assert_int_equal(sw_store_load_history(dir, id, &hist, &err), 0);
	assert_int_equal(json_array_size(hist), rows);
	assert_int_equal(json_array_size(rf.history), rows);
	for (i = 0; i < rows; i++)
		assert_true(json_equal(json_array_get(hist, i), json_array_get(rf.history, i)));
	json_decref(hist);
	sw_wandb_runfile_release(&rf);
	free(data);
}

static void test_import_wandb_dir_then_show_report(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	struct sw_err err = SW_ERR_INIT;
	json_t *runs, *r, *best, *alerts, *params;
	char *dir, path[1024];

	assert_int_equal(sw_test_sweep(&p, "import", fx->wandb_dir, "--metric", "val_loss",
				       "--results", fx->results, NULL), 0);
	if (p.status)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	dir = printed_dir(&p);
	assert_int_equal(strncmp(dir, fx->results, strlen(fx->results)), 0);
	/* the one warning: the killed run's file, with the torn record's offset */
	assert_int_equal(sw_test_count_lines(p.err, "warning"), 1);
	assert_non_null(strstr(p.err, "run-runmanyx.wandb': the file ends inside a record "
			       "at byte 99864"));
	assert_non_null(strstr(p.err, "imported 3 runs"));
	sw_test_proc_release(&p);

	assert_int_equal(sw_store_load_runs(dir, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 3);    /* latest-run not twice */
	r = run_of(runs, "runbasic");
	assert_string_equal(json_string_value(json_object_get(r, "state")), "finished");
	assert_true(json_real_value(json_object_get(json_object_get(r, "summary"),
						    "val_loss")) == 1.1599837863778304);
	assert_true(json_real_value(json_object_get(json_object_get(r, "summary"),
						    "best_val_accuracy")) == 0.549278328342204);
	params = json_pack("{s:f, s:i, s:i}", "learning_rate", 0.003, "batch_size", 128,
			   "epochs", 5);
	assert_true(json_equal(json_object_get(r, "params"), params));
	json_decref(params);
	assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 5);
	r = run_of(runs, "runcrash");
	assert_string_equal(json_string_value(json_object_get(r, "state")), "failed");
	assert_non_null(strstr(json_string_value(json_object_get(r, "reason")), "code 1"));
	r = run_of(runs, "runmanyx");
	assert_string_equal(json_string_value(json_object_get(r, "state")), "killed");
	assert_int_equal(json_integer_value(json_object_get(r, "epochs")), 179);
	/* no summary record in a killed run's file: each key's last value */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "summary"),
							    "_step")), 178);
	json_decref(runs);

	assert_history_is_file(dir, "runbasic", FIXTURES "basic_epochs/run.wandb", 0, 5);
	assert_history_is_file(dir, "runmanyx", FIXTURES "many_steps/run.wandb", 100003, 179);

	/* best: the lowest summary val_loss (the crashed run's 0.8) */
	snprintf(path, sizeof(path), "%s/best.json", dir);
	best = json_load_file(path, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(best, "run")), "runcrash");
	assert_true(json_real_value(json_object_get(best, "value")) == 0.8);
	json_decref(best);
	/* wandb.alert() calls became the sweep's alerts */
	assert_int_equal(sw_store_load_alerts(dir, &alerts, &err), 0);
	assert_int_equal(json_array_size(alerts), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 0), "run")),
			    "runbasic");
	assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 1), "text")),
			    "[INFO] accuracy: accuracy 0.578 at epoch 4");
	json_decref(alerts);

	assert_int_equal(sw_test_sweep(&p, "show", dir, "--csv", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "\n1,runcrash,failed,0.8,"));
	assert_non_null(strstr(p.out, "\n2,runbasic,finished,1.1599837863778304,"));
	sw_test_proc_release(&p);
	snprintf(path, sizeof(path), "%s/r.html", fx->tmp);
	assert_int_equal(sw_test_sweep(&p, "report", dir, "-o", path, NULL), 0);
	if (p.status)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_int_equal(access(path, F_OK), 0);
	sw_test_proc_release(&p);
	free(dir);
}

/* A .wandb file given directly; nested dicts flattened as the wandb UI
 * shows them; the same run twice gets a second id. */
static void test_import_files_nested_and_twice(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	struct sw_err err = SW_ERR_INIT;
	json_t *runs, *hist, *row;
	char *dir;

	assert_int_equal(sw_test_sweep(&p, "import", FIXTURES "steps_and_commit/run.wandb",
				       FIXTURES "values", FIXTURES "values/run.wandb",
				       "--results", fx->results, "--name", "mine", NULL), 0);
	assert_int_equal(p.status, 0);
	dir = printed_dir(&p);
	assert_non_null(strstr(dir, "/mine-"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_store_load_runs(dir, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 2);    /* values/ and values/run.wandb: one */
	json_decref(runs);
	assert_int_equal(sw_store_load_history(dir, "runsteps", &hist, &err), 0);
	row = json_array_get(hist, 0);
	assert_true(json_real_value(json_object_get(row, "val.loss")) == 2.0);
	assert_true(json_real_value(json_object_get(row, "val.acc")) == 0.0);
	assert_null(json_object_get(row, "val"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(hist, 7), "_step")), 12);
	json_decref(hist);
	assert_int_equal(sw_store_load_history(dir, "runvalue", &hist, &err), 0);
	row = json_array_get(hist, 0);
	assert_string_equal(json_string_value(json_object_get(row, "loss")), "NaN");
	assert_string_equal(json_string_value(json_object_get(row, "down")), "-Infinity");
	assert_true(json_integer_value(json_object_get(row, "big")) == (json_int_t)1 << 60);
	json_decref(hist);
	free(dir);

	/* a copy of one run directory beside it: recorded as runbasic-2 */
	assert_int_equal(sw_test_sweep(&p, "import", FIXTURES "basic_epochs",
				       FIXTURES "basic_epochs/../basic_epochs/run.wandb",
				       "--results", fx->results, NULL), 0);
	assert_int_equal(p.status, 0);   /* the same file twice: once */
	sw_test_proc_release(&p);
	char copy[768];
	snprintf(copy, sizeof(copy), "%s/copy.wandb", fx->tmp);
	size_t len;
	char *data = sw_test_read_file(FIXTURES "basic_epochs/run.wandb", &len);
	assert_int_equal(sw_test_write_file(copy, data, len), 0);
	free(data);
	assert_int_equal(sw_test_sweep(&p, "import", FIXTURES "basic_epochs", copy,
				       "--results", fx->results, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "run id 'runbasic' is recorded as 'runbasic-2'"));
	dir = printed_dir(&p);
	sw_test_proc_release(&p);
	assert_int_equal(sw_store_load_runs(dir, &runs, &err), 0);
	assert_int_equal(json_array_size(runs), 2);
	assert_non_null(run_of(runs, "runbasic-2"));
	json_decref(runs);
	free(dir);
}

static void test_import_errors(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	char foreign[768], empty[768];

	snprintf(foreign, sizeof(foreign), "%s/notes.txt", fx->tmp);
	assert_int_equal(sw_test_write_file(foreign, "hello\n", 6), 0);
	snprintf(empty, sizeof(empty), "%s/emptydir", fx->tmp);
	assert_int_equal(mkdir(empty, 0755), 0);

	/* a named file that is not a run file: nothing is written */
	assert_int_equal(sw_test_sweep(&p, "import", FIXTURES "crash/run.wandb", foreign,
				       "--results", fx->results, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "notes.txt' is not a wandb run file"));
	assert_string_equal(p.out, "");
	assert_int_equal(access(fx->results, F_OK), -1);
	sw_test_proc_release(&p);

	assert_int_equal(sw_test_sweep(&p, "import", empty, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "no wandb runs in '"));
	sw_test_proc_release(&p);

	assert_int_equal(sw_test_sweep(&p, "import", NULL), 0);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "import", empty, "--goal", "up", "--metric", "x",
				       NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--goal is minimize or maximize"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "import", empty, "--goal", "maximize", NULL), 0);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
}

/* `sweep sync` uploads the imported runs: history rows, summary, exit code. */
static void test_import_then_sync(void **state)
{
	struct fixture *fx = *state;
	struct sw_fake_wandb fw;
	struct sw_fake_env env;
	struct sw_test_proc p;
	const char *argv[6];
	json_t *rec, *runs, *run;
	char *dir;

	assert_int_equal(sw_test_sweep(&p, "import", fx->wandb_dir, "--results", fx->results,
				       NULL), 0);
	assert_int_equal(p.status, 0);
	dir = printed_dir(&p);
	sw_test_proc_release(&p);

	assert_int_equal(sw_fake_wandb_start(&fw, "{\"strict_run_ids\": false}"), 0);
	assert_int_equal(sw_fake_env_init(&env, fw.url, SW_FAKE_WANDB_KEY, 4), 0);
	argv[0] = sw_test_bin();
	argv[1] = "sync";
	argv[2] = dir;
	argv[3] = NULL;
	assert_int_equal(sw_test_run(&p, argv, NULL, (const char *const *)env.vars, 90), 0);
	if (p.status)
		fprintf(stderr, "%s", p.err);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "synced 3 runs"));
	sw_test_proc_release(&p);
	rec = sw_fake_wandb_record(&fw);
	runs = json_object_get(rec, "runs");
	assert_int_equal(json_object_size(runs), 3);
	run = json_object_get(runs, "runbasic");
	assert_int_equal(json_array_size(json_object_get(run, "history")), 5);
	assert_int_equal(json_integer_value(json_object_get(run, "exitcode")), 0);
	assert_true(json_real_value(json_object_get(json_object_get(run, "summary"),
						    "val_loss")) == 1.1599837863778304);
	run = json_object_get(runs, "runcrash");
	assert_int_equal(json_integer_value(json_object_get(run, "exitcode")), 1);
	run = json_object_get(runs, "runmanyx");
	assert_int_equal(json_array_size(json_object_get(run, "history")), 179);
	json_decref(rec);
	sw_fake_env_free(&env);
	sw_fake_wandb_stop(&fw);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_wandb_dir_then_show_report,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_files_nested_and_twice,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_then_sync, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
