/* cmd_import.c - `sweep import PATH...`: wandb offline runs (their
 * run-ID.wandb files, read by sweep/offline/wandb_runfile.c) into a new results
 * directory, so `sweep show`, `sweep report` and `sweep sync` work on runs
 * made by any wandb script without a server. */
#define _GNU_SOURCE
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/spec/spec.h"
#include "sweep/store/store.h"
#include "sweep/offline/wandb_runfile.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char cmd_import_usage[] =
"usage: sweep import PATH... [--metric NAME [--goal G]] [--name NAME]\n"
"                    [--results DIR]\n"
"\n"
"Read wandb offline runs into a new results directory, as if `sweep run`\n"
"had made them: each run's config (as its params), every history row,\n"
"its final summary and how it ended (exit code 0: finished; else failed;\n"
"a file without an exit record, from a killed run: killed). A PATH is a\n"
"run-ID.wandb file, an offline-run-DATE-ID directory, a wandb/ folder of\n"
"them, or the directory holding that wandb/ folder. Nested values are\n"
"flattened to \"a.b\" keys as the wandb UI shows them; NaN and infinities\n"
"are kept (as \"NaN\", \"Infinity\", \"-Infinity\"). A damaged or cut file\n"
"gives one warning and every intact record it holds.\n"
"\n"
"  --metric NAME   the summary value runs are ranked by (as wandb's sweep\n"
"                  controller reads a run's metric), e.g. val_loss\n"
"  --goal G        minimize (default) or maximize\n"
"  --name NAME     the sweep's name (default: the first run's project)\n"
"  --results DIR   where the directory is made (default results/)\n"
"\n"
"Prints the directory made on stdout. Exit status: 0 imported, 1 a file\n"
"named on the command line is not a readable wandb run file (nothing is\n"
"written) or no run was found, 2 usage.\n";

/* ==== Finding run files ==== */

struct found {
	char **paths;       /* run files, owned */
	int *named;         /* 1: given on the command line (errors are fatal) */
	size_t n, alloc;
	json_t *reals;      /* the files' real paths, to skip one seen twice */
};

static void found_release(struct found *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->paths[i]);
	free(f->paths);
	free(f->named);
	json_decref(f->reals);
}

/* Adds path (taking it) unless the same file is already there (a
 * latest-run link, a path given twice). */
static int found_add(struct found *f, char *path, int named)
{
	char *real = realpath(path, NULL);

	if (!f->reals && !(f->reals = json_object()))
		goto oom;
	if (real && json_object_get(f->reals, real)) {
		free(real);
		free(path);
		return 0;
	}
	if (real && json_object_set_new(f->reals, real, json_true()) < 0)
		goto oom;
	free(real);
	real = NULL;
	if (f->n == f->alloc) {
		size_t alloc = f->alloc ? 2 * f->alloc : 8;
		char **p = realloc(f->paths, alloc * sizeof(*p));
		int *nm = p ? realloc(f->named, alloc * sizeof(*nm)) : NULL;
		if (p)
			f->paths = p;
		if (!p || !nm)
			goto oom;
		f->named = nm;
		f->alloc = alloc;
	}
	f->paths[f->n] = path;
	f->named[f->n++] = named;
	return 0;
oom:
	free(real);
	free(path);
	return -1;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Adds the run files under one PATH (a file is taken as one); -1 with err
 * set when a directory holds none (or on OOM). */
static int collect(struct found *f, const char *path, struct sw_err *err)
{
	char **files = NULL, *file;
	size_t n = 0;

	if (!is_dir(path)) {
		file = strdup(path);
		if (!file || found_add(f, file, 1) < 0)
			return sw_errorf(err, "out of memory");
		return 0;
	}
	if (sw_wandb_runfiles_list(path, &files, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* found_add takes the string */
		if (found_add(f, files[i], 0) < 0) {
			for (size_t k = i + 1; k < n; k++)
				free(files[k]);
			free(files);
			return sw_errorf(err, "out of memory");
		}
	}
	free(files);
	return 0;
}

/* ==== Turning a run file into a run record ==== */

/* A run id the store accepts: wandb's own when it fits, made unique. */
static void pick_id(char *out, size_t size, const char *wandb_id,
		    const json_t *taken)
{
	const char *src = wandb_id && *wandb_id ? wandb_id : "run";
	size_t n = 0;

	for (; src[n] && n + 1 < size && n < 56; n++) {
		char c = src[n];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '-';
		out[n] = ok ? c : '_';
	}
	out[n] = '\0';
	char base[64];
	snprintf(base, sizeof(base), "%.56s", out);
	/* the same id twice (a copied run directory): -2, -3, ... */
	for (size_t k = 2; json_object_get(taken, out); k++)
		snprintf(out, size, "%s-%zu", base, k);
}

static json_t *flat_rows(const json_t *history)
{
	json_t *rows = json_array(), *row;
	size_t i;

	json_array_foreach(history, i, row) {
		if (!rows || json_array_append_new(rows, sw_wandb_row_flatten(row)) < 0) {
			json_decref(rows);
			return NULL;
		}
	}
	return rows;
}

/* The run's summary: the file's, or when it has none (a killed run's file
 * ends before wandb writes it) what wandb's default summary would be, each
 * key's last logged value. Borrowed from rf. */
static json_t *last_values(struct sw_wandb_runfile *rf)
{
	json_t *row;
	size_t i;

	if (json_object_size(rf->summary) || !json_array_size(rf->history))
		return rf->summary;
	json_array_foreach(rf->history, i, row)
		json_object_update(rf->summary, row);
	return rf->summary;
}

/* A string field for the record: NULL (left out) when empty. */
static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* The runs.jsonl record of one run file (see sw_store_run_end). */
static json_t *run_record(struct sw_wandb_runfile *rf, const char *id,
			  const char *path, size_t index)
{
	json_t *params = json_deep_copy(rf->config), *summary, *rec, *wb;
	const char *state = "finished";
	char reason[128] = "";
	double runtime = rf->has_exit ? rf->runtime : 0, rt;

	if (!params)
		return NULL;
	json_object_del(params, "_wandb");     /* wandb's bookkeeping, not a parameter */
	summary = sw_wandb_row_flatten(last_values(rf));
	if (sw_wandb_value_number(json_object_get(summary, "_runtime"), &rt) && rt > runtime)
		runtime = rt;
	if (rf->has_exit && rf->exit_code != 0) {
		state = "failed";
		snprintf(reason, sizeof(reason), "the script exited with code %d", rf->exit_code);
	} else if (!rf->has_exit) {
		state = "killed";
		snprintf(reason, sizeof(reason), "the run file has no exit record (the run "
			 "was killed, or was still running)");
	}
	wb = json_pack("{s:s*, s:s*, s:s*, s:s*, s:s*, s:s}", "run_id", nonempty(rf->run_id),
		       "project", nonempty(rf->project), "entity", nonempty(rf->entity),
		       "name", nonempty(rf->display_name), "sweep_id",
		       nonempty(rf->sweep_id), "file", path);
	if (wb && rf->has_exit)
		json_object_set_new(wb, "exit_code", json_integer(rf->exit_code));
	rec = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:f, s:o}", "id", id,
			"state", state, "params", params, "summary",
			summary ? summary : json_object(), "epochs",
			(json_int_t)json_array_size(rf->history), "index",
			(json_int_t)index, "runtime_s", runtime, "wandb",
			wb ? wb : json_object());
	if (rec && reason[0])
		json_object_set_new(rec, "reason", json_string(reason));
	return rec;
}

/* The run's wandb.alert() calls as the sweep's alerts (alerts.jsonl), in
 * the shape alert rules give them; wandb's record has no time. */
static int import_alerts(struct sw_store *st, const struct sw_wandb_runfile *rf,
			 const char *id, struct sw_err *err)
{
	json_t *a;
	size_t i;

	json_array_foreach(rf->alerts, i, a) {
		const char *title = json_string_value(json_object_get(a, "title"));
		const char *text = json_string_value(json_object_get(a, "text"));
		const char *level = json_string_value(json_object_get(a, "level"));
		char *full = NULL;
		json_t *rec;
		int rc;

		if (!level || !*level)
			level = "INFO";     /* wandb.alert's default level */
		if (asprintf(&full, "[%s] %s: %s", level, title, text) < 0)
			return sw_errorf(err, "out of memory");
		rec = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "level", level, "rule",
				title, "when", "wandb.alert", "run", id, "stop_run", 0,
				"text", full);
		free(full);
		rc = rec ? sw_store_alert(st, rec, err) : sw_errorf(err, "out of memory");
		json_decref(rec);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ==== The sweep definition ==== */

/* A value as YAML flow text: JSON, with reals in their shortest exact form
 * (0.003, not 0.0030000000000000001). A new string, NULL on OOM. */
static char *yaml_value(const json_t *v)
{
	char *s = NULL;

	if (!json_is_real(v))
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	for (int prec = 15; prec <= 17; prec++) {
		free(s);
		if (asprintf(&s, "%.*g", prec, json_real_value(v)) < 0)
			return NULL;
		if (strtod(s, NULL) == json_real_value(v))
			break;
	}
	/* keep it a real for YAML (1.0, not 1) */
	if (!strpbrk(s, ".eEn")) {
		char *r = NULL;
		if (asprintf(&r, "%s.0", s) < 0)
			r = NULL;
		free(s);
		s = r;
	}
	return s;
}

/* "[v1, v2, ...]" of a list of values. */
static char *yaml_list(const json_t *values)
{
	char *text = NULL;
	size_t len, i;
	json_t *v;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputc('[', f);
	json_array_foreach(values, i, v) {
		char *one = yaml_value(v);
		fprintf(f, "%s%s", i ? ", " : "", one ? one : "null");
		free(one);
	}
	fputc(']', f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Adds v to the array of distinct values of key in params_seen. */
static void note_values(json_t *seen, const json_t *config)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)config, key, v) {
		json_t *list = json_object_get(seen, key), *x;
		size_t i;
		int dup = 0;

		if (!strcmp(key, "_wandb"))
			continue;
		if (!list) {
			list = json_array();
			json_object_set_new(seen, key, list);
		}
		json_array_foreach(list, i, x)
			if (json_equal(x, v))
				dup = 1;
		if (!dup)
			json_array_append(list, v);
	}
}

/* A sweep.yaml describing what was imported: every config key as a
 * parameter with the values the runs had. JSON flow text is valid YAML. */
static char *spec_text(const char *name, const char *metric, int maximize,
		       const json_t *seen, size_t n_runs)
{
	json_t *jname = json_string(name), *jmetric = metric ? json_string(metric) : NULL;
	char *qname = jname ? json_dumps(jname, JSON_ENCODE_ANY) : NULL;
	char *qmetric = jmetric ? json_dumps(jmetric, JSON_ENCODE_ANY) : NULL;
	char *text = NULL;
	const char *key;
	json_t *values;
	size_t len;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f || !qname || (metric && !qmetric))
		goto done;
	fprintf(f, "# written by `sweep import` from %zu wandb run%s: each config key "
		"with the values the runs had\n", n_runs, n_runs == 1 ? "" : "s");
	fprintf(f, "name: %s\nmethod: random\n", qname);
	if (metric)
		fprintf(f, "metric:\n  name: %s\n  goal: %s\n", qmetric,
			maximize ? "maximize" : "minimize");
	fprintf(f, "parameters:%s\n", json_object_size(seen) ? "" : " {}");
	json_object_foreach((json_t *)seen, key, values) {
		json_t *jkey = json_string(key);
		char *qkey = jkey ? json_dumps(jkey, JSON_ENCODE_ANY) : NULL;
		char *qvalues = yaml_list(values);
		if (qkey && qvalues)
			fprintf(f, "  %s:\n    values: %s\n", qkey, qvalues);
		free(qkey);
		free(qvalues);
		json_decref(jkey);
	}
done:
	if (f && fclose(f) != 0) {
		free(text);
		text = NULL;
	}
	free(qname);
	free(qmetric);
	json_decref(jname);
	json_decref(jmetric);
	return text;
}

/* ==== The command ==== */

struct import_opts {
	const char *metric, *name, *results;
	int maximize;
};

/* What the first pass learns from every file, to describe the sweep
 * before any run is written. */
struct survey {
	char **paths;       /* the readable run files (borrowed from found) */
	size_t n;
	json_t *seen;       /* config key -> the distinct values the runs had */
	char *project, *entity;   /* of the first run that names them */
};

static void survey_release(struct survey *sv)
{
	free(sv->paths);
	json_decref(sv->seen);
	free(sv->project);
	free(sv->entity);
}

/* Pass 1: reads every file (one at a time: a thousand runs need not fit in
 * memory at once) and gives each damaged one its warning. A named file that
 * fails is an error, one found in a directory a warning. */
static int survey_files(const struct found *f, struct survey *sv)
{
	struct sw_wandb_runfile rf = SW_WANDB_RUNFILE_INIT;
	int failed = 0;

	sv->paths = calloc(f->n ? f->n : 1, sizeof(*sv->paths));
	sv->seen = json_object();
	if (!sv->paths || !sv->seen)
		return sw_cli_error("out of memory"), -1;
	for (size_t i = 0; i < f->n; i++) {
		struct sw_err err = SW_ERR_INIT;

		if (sw_wandb_runfile_read(f->paths[i], &rf, &err) < 0) {
			if (f->named[i]) {
				sw_cli_error("%s", err.msg);
				failed = 1;
			} else {
				sw_cli_warning("skipped: %s", err.msg);
			}
			continue;
		}
		if (rf.warning[0])
			sw_cli_warning("%s", rf.warning);
		note_values(sv->seen, rf.config);
		if (!sv->project && rf.project && *rf.project)
			sv->project = strdup(rf.project);
		if (!sv->entity && rf.entity && *rf.entity)
			sv->entity = strdup(rf.entity);
		sv->paths[sv->n++] = f->paths[i];
		sw_wandb_runfile_release(&rf);
	}
	return failed ? -1 : 0;
}

/* Pass 2, for one file: its run, history and alerts into the store. */
static int import_run(struct sw_store *st, const char *path, size_t index,
		      json_t *taken, struct sw_err *err)
{
	struct sw_wandb_runfile rf = SW_WANDB_RUNFILE_INIT;
	json_t *rec = NULL, *rows = NULL;
	char id[72];
	int ret = -1;

	if (sw_wandb_runfile_read(path, &rf, err) < 0)
		return -1;
	pick_id(id, sizeof(id), rf.run_id, taken);
	if (rf.run_id && strcmp(id, rf.run_id))
		sw_cli_warning("'%s': run id '%s' is recorded as '%s'", path, rf.run_id, id);
	json_object_set_new(taken, id, json_true());
	rec = run_record(&rf, id, path, index);
	rows = flat_rows(rf.history);
	if (!rec || !rows) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (sw_store_run_add(st, rec, rows, err) < 0 || import_alerts(st, &rf, id, err) < 0)
		goto done;
	ret = 0;
done:
	json_decref(rec);
	json_decref(rows);
	sw_wandb_runfile_release(&rf);
	return ret;
}

static int write_results(const struct import_opts *o, const struct survey *sv)
{
	struct sw_store st = SW_STORE_INIT;
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_err err = SW_ERR_INIT;
	json_t *taken = json_object(), *extra = NULL, *files;
	const char *name = o->name ? o->name : sv->project ? sv->project : "wandb-import";
	char *text = NULL;
	int ret = SW_EXIT_FAILURE;

	text = spec_text(name, o->metric, o->maximize, sv->seen, sv->n);
	if (!text || !taken)
		goto oom;
	sw_spec_load_string(&spec, text, strlen(text), "sweep.yaml", NULL, &err);
	if (!spec.text) {
		sw_cli_error("cannot describe the imported runs as a sweep: %s", err.msg);
		goto done;
	}
	files = json_array();
	for (size_t i = 0; files && i < sv->n; i++)
		json_array_append_new(files, json_string(sv->paths[i]));
	extra = json_pack("{s:{s:s?, s:s?}, s:{s:o*, s:I}, s:s}", "wandb", "project",
			  sv->project, "entity", sv->entity, "imported", "files", files,
			  "runs", (json_int_t)sv->n, "state", "finished");
	if (!extra)
		goto oom;
	if (sw_store_create(&st, o->results, &spec, extra, time(NULL), &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	for (size_t i = 0; i < sv->n; i++)
		if (import_run(&st, sv->paths[i], i, taken, &err) < 0) {
			sw_cli_error("%s (the runs before it are in %s)", err.msg, st.dir);
			goto done;
		}
	if (sw_store_flush(&st, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	printf("%s\n", st.dir);
	fprintf(stderr, "sweep: imported %zu run%s into %s\n", sv->n, sv->n == 1 ? "" : "s",
		st.dir);
	ret = SW_EXIT_OK;
	goto done;
oom:
	sw_cli_error("out of memory");
done:
	sw_store_release(&st);
	sw_spec_release(&spec);
	json_decref(taken);
	json_decref(extra);
	free(text);
	return ret;
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metric", required_argument, NULL, 'm' },
		{ "goal", required_argument, NULL, 'g' },
		{ "name", required_argument, NULL, 'n' },
		{ "results", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct import_opts o = { NULL, NULL, NULL, 0 };
	struct found f = { NULL, NULL, 0, 0, NULL };
	struct survey sv = { NULL, 0, NULL, NULL, NULL };
	int rc, ret = SW_EXIT_FAILURE, goal_given = 0;

	opterr = 0;
	optind = 1;
	while ((rc = getopt_long(argc, argv, ":m:g:n:r:", opts, NULL)) != -1) {
		if (rc == 'm' || rc == 'n' || rc == 'r') {
			if (!*optarg)
				return sw_cli_usage_error("import", "--%s needs a value, not an "
							  "empty string", rc == 'm' ? "metric" :
							  rc == 'n' ? "name" : "results");
			*(rc == 'm' ? &o.metric : rc == 'n' ? &o.name : &o.results) = optarg;
		} else if (rc == 'g') {
			if (strcmp(optarg, "minimize") && strcmp(optarg, "maximize"))
				return sw_cli_usage_error("import", "--goal is minimize or "
							  "maximize, not '%s'", optarg);
			o.maximize = !strcmp(optarg, "maximize");
			goal_given = 1;
		} else {
			return sw_cli_bad_option("import", argc, argv, rc);
		}
	}
	if (goal_given && !o.metric)
		return sw_cli_usage_error("import", "--goal needs --metric");
	if (optind >= argc)
		return sw_cli_usage_error("import", "no wandb run given (a run-ID.wandb "
					  "file, an offline-run directory or a wandb/ folder)");
	for (int i = optind; i < argc; i++) {
		struct sw_err err = SW_ERR_INIT;
		if (collect(&f, argv[i], &err) < 0) {
			sw_cli_error("%s", err.msg);
			goto done;
		}
	}
	if (survey_files(&f, &sv) < 0) {
		sw_cli_error("nothing imported: give only wandb run files");
		goto done;
	}
	if (sv.n == 0) {
		sw_cli_error("no readable wandb run among the paths given");
		goto done;
	}
	ret = write_results(&o, &sv);
done:
	survey_release(&sv);
	found_release(&f);
	return ret;
}
