/* cmd_ls.c - `sweep ls`: list the sweeps of a results directory. */
#define _GNU_SOURCE
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/store/store.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cmd_ls_usage[] =
"usage: sweep ls [RESULTS]\n"
"\n"
"List the sweeps under RESULTS (default: results/), oldest first: name,\n"
"method, runs by state (RUNNING counts runs that were in flight when the\n"
"sweep stopped; `sweep resume` reruns them), the best value of the sweep\n"
"metric, and the start time. RESULTS may also be one sweep directory.\n";

#define NCOLS 11

struct row {
	char *cell[NCOLS];
	long long start;
};

static const char *const headers[NCOLS] = {
	"NAME", "METHOD", "RUNS", "FINISHED", "FAILED", "STOPPED", "KILLED",
	"RUNNING", "METRIC", "BEST", "STARTED"
};

static int is_sweep_dir(const char *dir)
{
	char *p = NULL;
	int ok;

	if (asprintf(&p, "%s/meta.json", dir) < 0)
		return 0;
	ok = !access(p, F_OK);
	free(p);
	return ok;
}

/* Runs in flight: markers runs/<id>/running.json not recorded in runs. */
static long long count_running(const char *dir, const json_t *runs)
{
	json_t *seen = json_object();
	char *rdir = NULL;
	DIR *d;
	struct dirent *de;
	long long n = 0;
	size_t i;
	json_t *r;

	json_array_foreach(runs, i, r)
		json_object_set_new(seen, json_string_value(json_object_get(r, "id")),
				    json_true());
	if (asprintf(&rdir, "%s/runs", dir) < 0) {
		json_decref(seen);
		return 0;
	}
	d = opendir(rdir);
	while (d && (de = readdir(d))) {
		char *m = NULL;

		if (de->d_name[0] == '.' || json_object_get(seen, de->d_name))
			continue;
		if (asprintf(&m, "%s/%s/running.json", rdir, de->d_name) >= 0 &&
		    !access(m, F_OK))
			n++;
		free(m);
	}
	if (d)
		closedir(d);
	free(rdir);
	json_decref(seen);
	return n;
}

static int make_row(const char *dir, const char *name, struct row *row,
		    struct sw_err *err)
{
	json_t *meta = NULL, *runs = NULL, *r;
	long long count[4] = { 0, 0, 0, 0 };
	const char *metric, *goal, *method, *started;
	int maximize, has_best = 0, ret = -1;
	double best = 0;
	size_t i;

	memset(row, 0, sizeof(*row));
	if (sw_store_load_meta(dir, &meta, err) || sw_store_load_runs(dir, &runs, err))
		goto done;
	metric = json_string_value(json_object_get(json_object_get(meta, "metric"), "name"));
	goal = json_string_value(json_object_get(json_object_get(meta, "metric"), "goal"));
	maximize = goal && !strcmp(goal, "maximize");
	method = json_string_value(json_object_get(meta, "method"));
	started = json_string_value(json_object_get(meta, "start_time"));
	json_array_foreach(runs, i, r) {
		enum sw_run_state st;
		double v;

		if (!sw_run_state_parse(json_string_value(json_object_get(r, "state")), &st))
			count[st]++;
		if (metric && !sw_run_best_value(r, metric, &v) &&
		    (!has_best || (maximize ? v > best : v < best))) {
			has_best = 1;
			best = v;
		}
	}
	row->start = json_integer_value(json_object_get(meta, "start_timestamp"));
	if (asprintf(&row->cell[0], "%s", name) < 0 ||
	    asprintf(&row->cell[1], "%s", method ? method : "?") < 0 ||
	    asprintf(&row->cell[2], "%zu", json_array_size(runs)) < 0 ||
	    asprintf(&row->cell[3], "%lld", count[SW_RUN_FINISHED]) < 0 ||
	    asprintf(&row->cell[4], "%lld", count[SW_RUN_FAILED]) < 0 ||
	    asprintf(&row->cell[5], "%lld", count[SW_RUN_STOPPED]) < 0 ||
	    asprintf(&row->cell[6], "%lld", count[SW_RUN_KILLED]) < 0 ||
	    asprintf(&row->cell[7], "%lld", count_running(dir, runs)) < 0 ||
	    asprintf(&row->cell[8], "%s%s", metric ? metric : "-",
		     metric ? (maximize ? " (max)" : " (min)") : "") < 0 ||
	    (has_best ? asprintf(&row->cell[9], "%.6g", best)
		      : asprintf(&row->cell[9], "-")) < 0 ||
	    asprintf(&row->cell[10], "%s", started ? started : "?") < 0) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = 0;
done:
	json_decref(meta);
	json_decref(runs);
	return ret;
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return strcmp(a->cell[0], b->cell[0]);
}

static void print_rows(struct row *rows, size_t n)
{
	int w[NCOLS];
	size_t i;
	int c;

	for (c = 0; c < NCOLS; c++) {
		w[c] = (int)strlen(headers[c]);
		for (i = 0; i < n; i++)
			if ((int)strlen(rows[i].cell[c]) > w[c])
				w[c] = (int)strlen(rows[i].cell[c]);
	}
	for (c = 0; c < NCOLS; c++) {
		if (c == NCOLS - 1)
			printf("%s\n", headers[c]);
		else
			printf("%-*s  ", w[c], headers[c]);
	}
	for (i = 0; i < n; i++)
		for (c = 0; c < NCOLS; c++) {
			if (c == NCOLS - 1)
				printf("%s\n", rows[i].cell[c]);
			else
				printf("%-*s  ", w[c], rows[i].cell[c]);
		}
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = { { NULL, 0, NULL, 0 } };
	const char *root = "results";
	struct row *rows = NULL;
	size_t n = 0, alloc = 0, i;
	struct sw_err err = SW_ERR_INIT;
	struct dirent **ents = NULL;
	int opt, nents = 0, ret = SW_EXIT_OK, k;
	struct stat sb;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1)
		return sw_cli_bad_option("ls", argc, argv, opt);
	if (argc - optind > 1)
		return sw_cli_usage_error("ls", "too many arguments");
	if (optind < argc)
		root = argv[optind];
	if (stat(root, &sb)) {
		/* the default place before the first sweep: nothing to list */
		if (optind == argc && errno == ENOENT) {
			fprintf(stderr, "no sweeps in '%s' yet ('sweep run FILE.yaml' "
				"writes them there)\n", root);
			return SW_EXIT_OK;
		}
		return sw_cli_error("cannot read results directory '%s': %s", root,
				    strerror(errno));
	}
	if (!S_ISDIR(sb.st_mode))
		return sw_cli_error("'%s' is not a directory", root);

	if (is_sweep_dir(root)) {
		const char *slash = strrchr(root, '/');
		char *name = strdup(slash && slash[1] ? slash + 1 : root);

		rows = calloc(1, sizeof(*rows));
		if (!rows || !name) {
			free(name);
			free(rows);
			return sw_cli_error("out of memory");
		}
		if (make_row(root, name, &rows[0], &err)) {
			free(name);
			free(rows);
			return sw_cli_error("%s", err.msg);
		}
		free(name);
		n = 1;
		goto print;
	}
	nents = scandir(root, &ents, NULL, alphasort);
	if (nents < 0)
		return sw_cli_error("cannot read results directory '%s': %s", root,
				    strerror(errno));
	for (k = 0; k < nents; k++) {
		char *dir = NULL;

		if (ents[k]->d_name[0] == '.' ||
		    asprintf(&dir, "%s/%s", root, ents[k]->d_name) < 0)
			continue;
		if (!is_sweep_dir(dir)) {
			free(dir);
			continue;
		}
		if (n == alloc) {
			struct row *nr;

			alloc = alloc ? alloc * 2 : 16;
			nr = realloc(rows, alloc * sizeof(*rows));
			if (!nr) {
				free(dir);
				ret = sw_cli_error("out of memory");
				goto done;
			}
			rows = nr;
		}
		if (make_row(dir, ents[k]->d_name, &rows[n], &err)) {
			int c;

			sw_cli_warning("skipping '%s': %s", dir, err.msg);
			for (c = 0; c < NCOLS; c++)
				free(rows[n].cell[c]);
			ret = SW_EXIT_FAILURE;
		} else {
			n++;
		}
		free(dir);
	}
	if (n == 0) {
		if (ret == SW_EXIT_OK)
			fprintf(stderr, "no sweeps in '%s'\n", root);
		goto done;
	}
print:
	qsort(rows, n, sizeof(*rows), cmp_rows);
	print_rows(rows, n);
done:
	for (i = 0; i < n; i++) {
		int c;

		for (c = 0; c < NCOLS; c++)
			free(rows[i].cell[c]);
	}
	free(rows);
	for (k = 0; k < nents; k++)
		free(ents[k]);
	free(ents);
	return ret;
}
