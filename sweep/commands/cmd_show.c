/* cmd_show.c - `sweep show`: the runs of one sweep, best first. */
#define _GNU_SOURCE
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/run/progress.h"
#include "sweep/store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char cmd_show_usage[] =
"usage: sweep show DIR [--csv | --json] [--top N]\n"
"\n"
"Print the runs of the sweep in DIR (a directory written by `sweep run`)\n"
"sorted by the sweep metric, best first (goal-aware); runs that never\n"
"logged the metric come last. One column per hyperparameter (params.NAME\n"
"when NAME is also a column's name, such as epochs or seed), then the Slurm\n"
"job of each run (sweeps run with --launcher slurm) and why runs failed.\n"
"\n"
"  --csv      comma-separated values (RFC 4180), full precision\n"
"  --json     {\"dir\", \"name\", \"method\", \"metric\", \"runs\": [...]} with the\n"
"             run records of runs.jsonl, sorted\n"
"  --top N    only the N best runs\n";

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };

/* The shortest %g form that reads back as the same double (0.1, not
 * jansson's 0.10000000000000001). */
static char *shortest_real(double d)
{
	char *s = NULL;
	int prec;

	for (prec = 15; prec <= 17; prec++) {
		free(s);
		if (asprintf(&s, "%.*g", prec, d) < 0)
			return NULL;
		if (strtod(s, NULL) == d)
			break;
	}
	return s;
}

/* A cell value: strings as they are, reals %.6g (table) or exact (csv). */
static char *cell_of(const json_t *v, int exact)
{
	char *s = NULL;

	if (!v)
		return strdup("");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_real(v) && exact)
		return shortest_real(json_real_value(v));
	if (json_is_real(v)) {
		if (asprintf(&s, "%.6g", json_real_value(v)) < 0)
			return NULL;
		return s;
	}
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Whether a hyperparameter called name would repeat a fixed column's name
 * (csv's, compared without case so the table's upper-case ones count). */
static int column_taken(const char *name, const char *metric, int has_reason)
{
	static const char *const fixed[] = { "rank", "id", "run", "state", "value",
					     "epochs", "runtime", "runtime_s", "seed",
					     "slurm_job_id", "slurm_job" };
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcasecmp(name, fixed[i]))
			return 1;
	return (metric && !strcmp(name, metric)) ||
	       (has_reason && !strcasecmp(name, "reason"));
}

static void csv_field(FILE *out, const char *s, int last)
{
	if (strpbrk(s, ",\"\r\n") || (*s && (s[0] == ' ' || s[strlen(s) - 1] == ' '))) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else {
		fputs(s, out);
	}
	fputs(last ? "\r\n" : ",", out);
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct sw_err err = SW_ERR_INIT;
	json_t *meta = NULL, *runs = NULL, *keys = NULL, *r;
	const char *dir, *metric, *goal, *key;
	enum fmt fmt = FMT_TABLE;
	char ***cells = NULL, *end;
	size_t i, nrows = 0, ncols = 0, c;
	int opt, maximize, ret = SW_EXIT_FAILURE, has_reason = 0, has_job = 0;
	size_t job_col = 0;
	long top = 0;
	int *w = NULL;
	struct stat sb;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
		case 'j':
			if (fmt != FMT_TABLE && fmt != (opt == 'c' ? FMT_CSV : FMT_JSON))
				return sw_cli_usage_error("show", "--csv and --json exclude each other");
			fmt = opt == 'c' ? FMT_CSV : FMT_JSON;
			break;
		case 't':
			top = strtol(optarg, &end, 10);
			if (!*optarg || *end || top < 1)
				return sw_cli_usage_error("show", "--top needs a positive integer, not '%s'",
							  optarg);
			break;
		default:
			return sw_cli_bad_option("show", argc, argv, opt);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("show", "missing the sweep directory");
	if (argc - optind > 1)
		return sw_cli_usage_error("show", "too many arguments");
	dir = argv[optind];
	if (stat(dir, &sb) < 0) {
		sw_cli_error("cannot open sweep directory '%s': %s", dir, strerror(errno));
		goto done;
	}
	if (sw_store_load_meta(dir, &meta, &err) || sw_store_load_runs(dir, &runs, &err)) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	metric = json_string_value(json_object_get(json_object_get(meta, "metric"), "name"));
	goal = json_string_value(json_object_get(json_object_get(meta, "metric"), "goal"));
	maximize = goal && !strcmp(goal, "maximize");
	sw_runs_sort(runs, metric, maximize);
	if (top > 0)
		while (json_array_size(runs) > (size_t)top)
			json_array_remove(runs, json_array_size(runs) - 1);

	if (fmt == FMT_JSON) {
		json_t *doc = json_pack("{s:s, s:O?, s:O?, s:O?, s:O}", "dir", dir,
					"name", json_object_get(meta, "name"),
					"method", json_object_get(meta, "method"),
					"metric", json_object_get(meta, "metric"), "runs", runs);
		char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;

		json_decref(doc);
		if (!text) {
			sw_cli_error("out of memory");
			goto done;
		}
		printf("%s\n", text);
		free(text);
		ret = SW_EXIT_OK;
		goto done;
	}

	/* columns: rank id state metric epochs runtime seed params... [reason] */
	keys = json_array();
	json_array_foreach(runs, i, r) {
		json_t *v;
		size_t k;
		int found;

		json_object_foreach(json_object_get(r, "params"), key, v) {
			found = 0;
			for (k = 0; k < json_array_size(keys); k++)
				if (!strcmp(json_string_value(json_array_get(keys, k)), key))
					found = 1;
			if (!found)
				json_array_append_new(keys, json_string(key));
		}
		if (json_object_get(r, "reason"))
			has_reason = 1;
		if (json_object_get(r, "slurm_job_id"))
			has_job = 1;
	}
	/* ... [slurm_job_id] [reason] */
	job_col = 7 + json_array_size(keys);
	ncols = job_col + (size_t)has_job + (size_t)has_reason;
	nrows = json_array_size(runs) + 1;
	cells = calloc(nrows, sizeof(*cells));
	w = calloc(ncols, sizeof(*w));
	if (!cells || !w) {
		sw_cli_error("out of memory");
		goto done;
	}
	for (i = 0; i < nrows; i++) {
		cells[i] = calloc(ncols, sizeof(**cells));
		if (!cells[i]) {
			sw_cli_error("out of memory");
			goto done;
		}
	}
	cells[0][0] = strdup(fmt == FMT_CSV ? "rank" : "RANK");
	cells[0][1] = strdup(fmt == FMT_CSV ? "id" : "RUN");
	cells[0][2] = strdup(fmt == FMT_CSV ? "state" : "STATE");
	cells[0][3] = strdup(metric ? metric : "value");
	cells[0][4] = strdup(fmt == FMT_CSV ? "epochs" : "EPOCHS");
	cells[0][5] = strdup(fmt == FMT_CSV ? "runtime_s" : "RUNTIME");
	cells[0][6] = strdup(fmt == FMT_CSV ? "seed" : "SEED");
	for (c = 0; c < json_array_size(keys); c++) {
		const char *k = json_string_value(json_array_get(keys, c));

		/* a hyperparameter named like a fixed column (epochs, seed, ...)
		 * gets "params." so no two columns share a name */
		if (column_taken(k, metric, has_reason)) {
			if (asprintf(&cells[0][7 + c], "params.%s", k) < 0)
				cells[0][7 + c] = NULL;
		} else {
			cells[0][7 + c] = strdup(k);
		}
	}
	if (has_job)
		cells[0][job_col] = strdup(fmt == FMT_CSV ? "slurm_job_id" : "SLURM_JOB");
	if (has_reason)
		cells[0][ncols - 1] = strdup(fmt == FMT_CSV ? "reason" : "REASON");
	json_array_foreach(runs, i, r) {
		char **row = cells[i + 1], dur[32];
		double v;

		if (asprintf(&row[0], "%zu", i + 1) < 0)
			row[0] = NULL;
		row[1] = cell_of(json_object_get(r, "id"), 1);
		row[2] = cell_of(json_object_get(r, "state"), 1);
		if (!sw_run_best_value(r, metric, &v)) {
			json_t *jv = json_real(v);   /* shortest exact form for csv */

			row[3] = jv ? cell_of(jv, fmt == FMT_CSV) : NULL;
			json_decref(jv);
		} else {
			row[3] = strdup(fmt == FMT_CSV ? "" : "-");
		}
		row[4] = cell_of(json_object_get(r, "epochs"), 1);
		if (fmt == FMT_CSV)
			row[5] = cell_of(json_object_get(r, "runtime_s"), 1);
		else
			row[5] = strdup(sw_format_duration(dur, sizeof(dur), json_number_value(
				json_object_get(r, "runtime_s"))));
		row[6] = cell_of(json_object_get(r, "seed"), 1);
		for (c = 0; c < json_array_size(keys); c++) {
			json_t *pv = json_object_get(json_object_get(r, "params"),
						     json_string_value(json_array_get(keys, c)));

			row[7 + c] = pv ? cell_of(pv, fmt == FMT_CSV)
					: strdup(fmt == FMT_CSV ? "" : "-");
		}
		if (has_job) {
			json_t *jv = json_object_get(r, "slurm_job_id");

			row[job_col] = jv ? cell_of(jv, 1) : strdup(fmt == FMT_CSV ? "" : "-");
		}
		if (has_reason)
			row[ncols - 1] = cell_of(json_object_get(r, "reason"), 1);
	}
	for (i = 0; i < nrows; i++)
		for (c = 0; c < ncols; c++)
			if (!cells[i][c]) {
				sw_cli_error("out of memory");
				goto done;
			}

	if (fmt == FMT_CSV) {
		for (i = 0; i < nrows; i++)
			for (c = 0; c < ncols; c++)
				csv_field(stdout, cells[i][c], c == ncols - 1);
		ret = SW_EXIT_OK;
		goto done;
	}
	printf("sweep %s (%s): %zu run%s", json_string_value(json_object_get(meta, "name")) ?
	       json_string_value(json_object_get(meta, "name")) : dir,
	       json_string_value(json_object_get(meta, "method")) ?
	       json_string_value(json_object_get(meta, "method")) : "?",
	       nrows - 1, nrows == 2 ? "" : "s");
	if (metric)
		printf(", sorted by %s (%s)\n", metric, maximize ? "maximize" : "minimize");
	else
		printf(", no metric\n");
	for (c = 0; c < ncols; c++)
		for (i = 0; i < nrows; i++)
			if ((int)strlen(cells[i][c]) > w[c])
				w[c] = (int)strlen(cells[i][c]);
	for (i = 0; i < nrows; i++) {
		for (c = 0; c < ncols; c++) {
			if (c == ncols - 1)
				printf("%s\n", cells[i][c]);
			else
				printf("%-*s  ", w[c], cells[i][c]);
		}
	}
	ret = SW_EXIT_OK;
done:
	for (i = 0; cells && i < nrows; i++) {
		for (c = 0; cells[i] && c < ncols; c++)
			free(cells[i][c]);
		free(cells[i]);
	}
	free(cells);
	free(w);
	json_decref(keys);
	json_decref(meta);
	json_decref(runs);
	return ret;
}
