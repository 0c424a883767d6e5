/* test_ls_show_cli.c - end-to-end: `sweep ls` and `sweep show` on results
 * directories written with the store API, their output formats, and their
 * errors (missing, corrupt, not a sweep, usage). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/support.h"
#include "sweep/store/store.h"

struct fixture {
	char *tmp;              /* temp dir */
	char *results;          /* tmp/results */
	char *alpha, *beta;     /* the two sweep directories */
	char *rt[3];            /* runtime_s of ccc, aaa, bbb as JSON text */
};

static void run(struct sw_store *st, const char *id, json_t *params, uint64_t seed,
		int64_t index, const struct sw_kv *m, size_t n_epochs, size_t n_metrics,
		enum sw_run_state state, const char *reason, char **rt)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *rec;
	size_t e;

	assert_int_equal(sw_store_run_begin(st, id, params, seed, index, &err), 0);
	for (e = 0; e < n_epochs; e++)
		assert_int_equal(sw_store_epoch(st, id, m + e * n_metrics, n_metrics, NULL, &err), 0);
	if (state == (enum sw_run_state)-1) {
		json_decref(params);
		return;   /* left in flight */
	}
	assert_int_equal(sw_store_run_end(st, id, state, reason, &rec, &err), 0);
	if (rt) {
		double d = json_real_value(json_object_get(rec, "runtime_s"));
		int prec;

		for (prec = 15; prec <= 17; prec++) {
			free(*rt);
			assert_true(asprintf(rt, "%.*g", prec, d) > 0);
			if (strtod(*rt, NULL) == d)
				break;
		}
	}
	json_decref(rec);
	json_decref(params);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_spec spec;
	struct sw_kv ma[] = { { "val_accuracy", 0.5 }, { "val_accuracy", 0.6 } };
	struct sw_kv mb[] = { { "val_accuracy", NAN } };
	struct sw_kv mc[] = { { "val_accuracy", 0.7 } };
	struct sw_kv me[] = { { "loss", 0.3 } };

	assert_non_null(fx);
	fx->tmp = sw_test_tmpdir();
	assert_true(asprintf(&fx->results, "%s/results", fx->tmp) > 0);

	memset(&spec, 0, sizeof(spec));
	spec.path = (char *)"sweeps/a.yaml";
	spec.text = (char *)"method: random\n";
	spec.name = (char *)"alpha";
	spec.method = SW_METHOD_RANDOM;
	spec.metric.present = 1;
	spec.metric.name = (char *)"val_accuracy";
	spec.metric.goal = SW_GOAL_MAXIMIZE;
	assert_int_equal(sw_store_create(&st, fx->results, &spec, NULL, 1700000000, &err), 0);
	fx->alpha = strdup(st.dir);
	run(&st, "aaa", json_pack("{s:f, s:i}", "lr", 0.01, "bs", 64), 11, 0, ma, 2, 1,
	    SW_RUN_FINISHED, NULL, &fx->rt[1]);
	run(&st, "bbb", json_pack("{s:f, s:i}", "lr", 0.1, "bs", 32), 22, 1, mb, 1, 1,
	    SW_RUN_FAILED, "bad, \"very\" bad", &fx->rt[2]);
	run(&st, "ccc", json_pack("{s:f, s:i, s:s}", "lr", 0.001, "bs", 128, "opt", "sgd"),
	    33, 2, mc, 1, 1, SW_RUN_STOPPED, NULL, &fx->rt[0]);
	run(&st, "ddd", json_object(), 44, 3, NULL, 0, 0, (enum sw_run_state)-1, NULL, NULL);
	sw_store_release(&st);

	spec.path = (char *)"b.yaml";
	spec.name = NULL;
	spec.method = SW_METHOD_GRID;
	spec.metric.name = (char *)"loss";
	spec.metric.goal = SW_GOAL_MINIMIZE;
	assert_int_equal(sw_store_create(&st, fx->results, &spec, NULL, 1700000100, &err), 0);
	fx->beta = strdup(st.dir);
	/* hyperparameters named like columns: epochs, seed, even the metric */
	run(&st, "eee", json_pack("{s:i, s:i, s:i, s:f}", "x", 1, "epochs", 3, "seed", 9,
				  "loss", 0.5), 5, 0, me, 1, 1, SW_RUN_FINISHED, NULL, NULL);
	sw_store_release(&st);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int i;

	sw_test_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx->results);
	free(fx->alpha);
	free(fx->beta);
	for (i = 0; i < 3; i++)
		free(fx->rt[i]);
	free(fx);
	return 0;
}

static const char *base(const char *path)
{
	return strrchr(path, '/') + 1;
}

static void test_ls(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	char expect[2048];
	int nw = (int)strlen(base(fx->alpha));
	const char *fmt = "%-*s  %-6s  %-4s  %-8s  %-6s  %-7s  %-6s  %-7s  %-18s  %-4s  %s\n";
	size_t n;

	if ((int)strlen(base(fx->beta)) > nw)
		nw = (int)strlen(base(fx->beta));
	n = (size_t)snprintf(expect, sizeof(expect), fmt, nw, "NAME", "METHOD", "RUNS",
			     "FINISHED", "FAILED", "STOPPED", "KILLED", "RUNNING", "METRIC", "BEST",
			     "STARTED");
	n += (size_t)snprintf(expect + n, sizeof(expect) - n, fmt, nw, base(fx->alpha), "random",
			      "3", "1", "1", "1", "0", "1", "val_accuracy (max)", "0.7",
			      "2023-11-14T22:13:20Z");
	snprintf(expect + n, sizeof(expect) - n, fmt, nw, base(fx->beta), "grid", "1", "1", "0",
		 "0", "0", "0", "loss (min)", "0.3", "2023-11-14T22:15:00Z");
	assert_int_equal(sw_test_sweep(&p, "ls", fx->results, NULL), 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, expect);
	sw_test_proc_release(&p);

	/* one sweep directory */
	assert_int_equal(sw_test_sweep(&p, "ls", fx->beta, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.out, ""), 2);
	assert_non_null(strstr(p.out, base(fx->beta)));
	assert_non_null(strstr(p.out, "loss (min)"));
	sw_test_proc_release(&p);

	/* beta's name is the file stem */
	assert_int_equal(strncmp(base(fx->beta), "b-", 2), 0);
}

static void test_ls_errors(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	char *empty = NULL, *bad = NULL, *path = NULL;

	assert_true(asprintf(&empty, "%s/empty", fx->tmp) > 0);
	assert_int_equal(mkdir(empty, 0755), 0);
	assert_int_equal(sw_test_sweep(&p, "ls", empty, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.out, "");
	assert_non_null(strstr(p.err, "no sweeps in '"));
	sw_test_proc_release(&p);

	assert_true(asprintf(&path, "%s/nope", fx->tmp) > 0);
	assert_int_equal(sw_test_sweep(&p, "ls", path, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "sweep: error: cannot read results directory '"));
	assert_non_null(strstr(p.err, "No such file or directory"));
	sw_test_proc_release(&p);
	free(path);

	/* no RESULTS given and no results/ yet (a new user): nothing to list */
	{
		char *bin = realpath(sw_test_bin(), NULL), *cmd = NULL;
		const char *argv[4] = { "/bin/sh", "-c", NULL, NULL };

		assert_non_null(bin);
		assert_true(asprintf(&cmd, "cd '%s' && exec '%s' ls", empty, bin) > 0);
		argv[2] = cmd;
		assert_int_equal(sw_test_run(&p, argv, NULL, NULL, 60), 0);
		assert_int_equal(p.status, 0);
		assert_string_equal(p.out, "");
		assert_string_equal(p.err, "no sweeps in 'results' yet ('sweep run FILE.yaml' "
				    "writes them there)\n");
		sw_test_proc_release(&p);
		free(cmd);
		free(bin);
	}

	assert_int_equal(sw_test_sweep(&p, "ls", "a", "b", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "too many arguments"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "ls", "--bogus", NULL), 0);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);

	/* a corrupt sweep is reported, the others still listed, exit 1 */
	assert_true(asprintf(&bad, "%s/zz-bad", empty) > 0);
	assert_int_equal(mkdir(bad, 0755), 0);
	assert_true(asprintf(&path, "%s/meta.json", bad) > 0);
	assert_int_equal(sw_test_write_file(path, "{\"method\": \"grid\"", 17), 0);
	free(path);
	assert_int_equal(sw_test_sweep(&p, "ls", empty, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "sweep: warning: skipping '"));
	assert_non_null(strstr(p.err, "meta.json' line 1: corrupt JSON"));
	sw_test_proc_release(&p);
	free(bad);
	free(empty);
}

/* Row i of the table output (0 = first line). */
static char *nth_line(const char *text, int i)
{
	const char *p = text, *nl;

	while (i-- > 0) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	nl = strchr(p, '\n');
	return strndup(p, nl ? (size_t)(nl - p) : strlen(p));
}

/* Compares a table line, skipping the RUNTIME cell (which depends on the
 * clock): fixed-width columns make its offset known. */
static void assert_row(const char *line, const char *before, const char *after)
{
	size_t nb = strlen(before);

	assert_true(strlen(line) >= nb + 9);
	assert_memory_equal(line, before, nb);
	assert_string_equal(line + nb + 9, after);
}

static void test_show_table(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	char *l;

	assert_int_equal(sw_test_sweep(&p, "show", fx->alpha, NULL), 0);
	assert_string_equal(p.err, "");
	assert_int_equal(p.status, 0);
	l = nth_line(p.out, 0);
	assert_string_equal(l, "sweep alpha (random): 3 runs, sorted by val_accuracy (maximize)");
	free(l);
	l = nth_line(p.out, 1);
	assert_string_equal(l, "RANK  RUN  STATE     val_accuracy  EPOCHS  RUNTIME  SEED  lr     "
			       "bs   opt  REASON");
	free(l);
	l = nth_line(p.out, 2);
	assert_row(l, "1     ccc  stopped   0.7           1       ", "33    0.001  128  sgd  ");
	free(l);
	l = nth_line(p.out, 3);
	assert_row(l, "2     aaa  finished  0.6           2       ", "11    0.01   64   -    ");
	free(l);
	l = nth_line(p.out, 4);
	assert_row(l, "3     bbb  failed    -             1       ",
		   "22    0.1    32   -    bad, \"very\" bad");
	free(l);
	assert_null(nth_line(p.out, 6));
	sw_test_proc_release(&p);

	assert_int_equal(sw_test_sweep(&p, "show", fx->alpha, "--top", "1", NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "1 run, sorted by"));
	assert_null(strstr(p.out, "aaa"));
	sw_test_proc_release(&p);

	/* minimize */
	assert_int_equal(sw_test_sweep(&p, "show", fx->beta, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "sweep b (grid): 1 run, sorted by loss (minimize)\n"));
	sw_test_proc_release(&p);
}

static void test_show_csv(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	char expect[2048];

	snprintf(expect, sizeof(expect),
		 "rank,id,state,val_accuracy,epochs,runtime_s,seed,lr,bs,opt,reason\r\n"
		 "1,ccc,stopped,0.7,1,%s,33,0.001,128,sgd,\r\n"
		 "2,aaa,finished,0.6,2,%s,11,0.01,64,,\r\n"
		 "3,bbb,failed,,1,%s,22,0.1,32,,\"bad, \"\"very\"\" bad\"\r\n",
		 fx->rt[0], fx->rt[1], fx->rt[2]);
	assert_int_equal(sw_test_sweep(&p, "show", "--csv", fx->alpha, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.err, "");
	assert_string_equal(p.out, expect);
	sw_test_proc_release(&p);

	/* no two columns share a name */
	assert_int_equal(sw_test_sweep(&p, "show", "--csv", fx->beta, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_int_equal(strncmp(p.out, "rank,id,state,loss,epochs,runtime_s,seed,x,"
				 "params.epochs,params.seed,params.loss\r\n", 82), 0);
	sw_test_proc_release(&p);
}

static void test_show_json(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	json_error_t jerr;
	json_t *doc, *runs;

	assert_int_equal(sw_test_sweep(&p, "show", fx->alpha, "--json", NULL), 0);
	assert_int_equal(p.status, 0);
	doc = json_loads(p.out, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), "alpha");
	assert_string_equal(json_string_value(json_object_get(doc, "method")), "random");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "metric"),
							      "goal")), "maximize");
	runs = json_object_get(doc, "runs");
	assert_int_equal(json_array_size(runs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "id")), "ccc");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "id")), "aaa");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 2), "id")), "bbb");
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 2), "reason")),
			    "bad, \"very\" bad");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 1), "epochs")), 2);
	json_decref(doc);
	sw_test_proc_release(&p);
}

static void test_show_errors(void **state)
{
	struct fixture *fx = *state;
	struct sw_test_proc p;
	char *copy = NULL, *path = NULL, *cmd = NULL;

	assert_int_equal(sw_test_sweep(&p, "show", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "sweep: error: missing the sweep directory"));
	assert_non_null(strstr(p.err, "usage: sweep show"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "show", "--csv", "--json", fx->alpha, NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--csv and --json exclude each other"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "show", "--top", "0", fx->alpha, NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "--top needs a positive integer, not '0'"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "show", fx->tmp, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "is not a sweep results directory (no meta.json)"));
	assert_string_equal(p.out, "");
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "show", "/nonexistent/sweep-dir", NULL), 0);
	assert_int_equal(p.status, 1);
	assert_string_equal(p.err, "sweep: error: cannot open sweep directory "
			    "'/nonexistent/sweep-dir': No such file or directory\n");
	sw_test_proc_release(&p);

	/* a copy of alpha whose runs.jsonl is corrupt in the middle */
	assert_true(asprintf(&copy, "%s/copy", fx->tmp) > 0);
	assert_true(asprintf(&cmd, "cp -r '%s' '%s'", fx->alpha, copy) > 0);
	assert_int_equal(system(cmd), 0);
	assert_true(asprintf(&path, "%s/runs.jsonl", copy) > 0);
	{
		char *text = sw_test_read_file(path, NULL), *nl = strchr(text, '\n');
		char *broken = NULL;

		assert_non_null(nl);
		assert_true(asprintf(&broken, "%.*s\n{oops\n%s", (int)(nl - text), text, nl + 1) > 0);
		assert_int_equal(sw_test_write_file(path, broken, strlen(broken)), 0);
		free(broken);
		free(text);
	}
	assert_int_equal(sw_test_sweep(&p, "show", copy, NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "runs.jsonl' line 2: corrupt JSON"));
	sw_test_proc_release(&p);

	/* a torn last line is ignored */
	{
		char *text = NULL;

		assert_true(asprintf(&text, "{\"id\":\"aaa\",\"state\":\"finished\"}\n{\"id\":\"zz") > 0);
		assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
		free(text);
	}
	assert_int_equal(sw_test_sweep(&p, "show", copy, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "1 run, sorted"));
	assert_null(strstr(p.out, "zz"));
	sw_test_proc_release(&p);
	free(path);
	free(cmd);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ls),
		cmocka_unit_test(test_ls_errors),
		cmocka_unit_test(test_show_table),
		cmocka_unit_test(test_show_csv),
		cmocka_unit_test(test_show_json),
		cmocka_unit_test(test_show_errors),
	};

	return cmocka_run_group_tests_name("ls_show_cli", tests, setup, teardown);
}
