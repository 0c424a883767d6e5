/* report_load.c - reading a sweep results directory for `sweep report`;
 * see include/sweep/report/report.h.
 *
 * JSON Lines files are read with the results store's reader (torn last
 * lines ignored), sweep.yaml with the spec loader. Run records are checked
 * more leniently than sw_store_load_runs() does (any string id, any state)
 * because a report should show whatever a directory holds. */
#define _GNU_SOURCE
#include "sweep/report/report.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sweep/spec/spec.h"
#include "sweep/store/store.h"

/* ==== Small helpers ==== */

static char *path_join(const char *dir, const char *rel)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		return NULL;
	return p;
}

/* A JSON value as a number: numbers, and the strings "NaN", "Infinity",
 * "-Infinity" the store writes for non-finite metrics; NaN otherwise. */
static double jnum(const json_t *v)
{
	const char *s;

	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (!strcmp(s, "Infinity") || !strcmp(s, "inf"))
			return INFINITY;
		if (!strcmp(s, "-Infinity") || !strcmp(s, "-inf"))
			return -INFINITY;
	}
	return NAN;
}

/* ==== JSON Lines ==== */

/* Reads a JSON Lines file with the store's reader into a new array.
 * Returns 1 (and an empty array) when the file does not exist; a torn last
 * line sets *torn. */
static int jsonl_read(const char *path, json_t **out, int *torn,
		      struct sw_err *err)
{
	struct stat st;
	int t = 0, missing = stat(path, &st) < 0 && errno == ENOENT;

	if (sw_jsonl_load(path, 1, out, &t, err) < 0)
		return -1;
	if (t)
		*torn = 1;
	return missing ? 1 : 0;
}

/* ==== Parameters ==== */

static const char *const log_dists[] = {
	"log_uniform", "log_uniform_values", "q_log_uniform",
	"q_log_uniform_values", "inv_log_uniform", "inv_log_uniform_values",
	"log_normal", "q_log_normal", NULL
};

static int is_log_dist(const char *d)
{
	size_t i;

	for (i = 0; d && log_dists[i]; i++)
		if (!strcmp(d, log_dists[i]))
			return 1;
	return 0;
}

static struct sw_report_param *param_find(struct sw_report *rep, const char *name)
{
	size_t i;

	for (i = 0; i < rep->n_params; i++)
		if (!strcmp(rep->params[i].name, name))
			return &rep->params[i];
	return NULL;
}

static struct sw_report_param *param_add(struct sw_report *rep, const char *name)
{
	struct sw_report_param *p = param_find(rep, name), *np;

	if (p)
		return p;
	np = realloc(rep->params, (rep->n_params + 1) * sizeof(*np));
	if (!np)
		return NULL;
	rep->params = np;
	p = &rep->params[rep->n_params];
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->levels = json_array();
	if (!p->name || !p->levels) {
		free(p->name);
		json_decref(p->levels);
		return NULL;
	}
	rep->n_params++;
	return p;
}

static void note(struct sw_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Walks sweep.yaml's parameters (nested ones as "a.b"), adding each with
 * its distribution and, for categorical ones, its values' order. */
static int spec_params(struct sw_report *rep, const struct sw_param *params,
		       size_t n, const char *prefix, int depth)
{
	struct sw_report_param *p;
	char *name = NULL;
	size_t i, k;
	json_t *v;
	int rc;

	if (depth > 16)
		return 0;
	for (i = 0; i < n; i++) {
		if (asprintf(&name, "%s%s", prefix, params[i].name) < 0)
			return -1;
		if (params[i].dist == SW_DIST_NESTED) {
			char *pre = NULL;

			rc = asprintf(&pre, "%s.", name) < 0 ? -1 :
			     spec_params(rep, params[i].children, params[i].n_children,
					 pre, depth + 1);
			free(pre);
			free(name);
			if (rc < 0)
				return -1;
			continue;
		}
		p = param_add(rep, name);
		free(name);
		if (!p)
			return -1;
		p->dist = sw_dist_name(params[i].dist);
		p->log = is_log_dist(p->dist);
		json_array_foreach(params[i].values, k, v)
			json_array_append(p->levels, v);
	}
	return 0;
}

/* Reads sweep.yaml with the spec loader: metric, method, name and the
 * parameters' distributions. Returns 1 when the file does not exist. */
static int load_spec(struct sw_report *rep, const char *path, struct sw_err *err)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct stat st;
	size_t i;
	int ret = -1;

	if (stat(path, &st) < 0 && errno == ENOENT)
		return 1;
	if (sw_spec_load(&spec, path, &diags, err) < 0) {
		if (!spec.text)
			goto done;
		for (i = 0; i < diags.n && !diags.items[i].is_error; i++)
			;
		/* unreadable YAML is an error; a readable definition with
		 * problems (an unknown key, a missing field) is shown as far as
		 * it could be read, with the first problem noted */
		if (!json_is_object(spec.doc)) {
			if (i < diags.n)
				sw_errorf(err, "'%s' line %d: %s; fix or restore the sweep "
					  "definition", path, diags.items[i].loc.line,
					  diags.items[i].msg);
			else
				sw_errorf(err, "'%s': cannot be read as a sweep definition",
					  path);
			goto done;
		}
		if (i < diags.n)
			note(rep, "sweep.yaml line %d: %s (the definition is shown as far "
			     "as it could be read)", diags.items[i].loc.line,
			     diags.items[i].msg);
	}
	rep->spec_text = strdup(spec.text ? spec.text : "");
	rep->spec_len = rep->spec_text ? strlen(rep->spec_text) : 0;
	rep->spec = spec.doc ? json_incref(spec.doc) : NULL;
	if (spec.metric.present && spec.metric.name) {
		rep->metric = strdup(spec.metric.name);
		rep->maximize = spec.metric.goal == SW_GOAL_MAXIMIZE;
	}
	rep->method = strdup(sw_method_name(spec.method));
	if (spec.name && *spec.name)
		rep->name = strdup(spec.name);
	if (!rep->spec_text || !rep->method ||
	    spec_params(rep, spec.params, spec.n_params, "", 0) < 0) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = 0;
done:
	sw_spec_release(&spec);
	sw_diags_release(&diags);
	return ret;
}

/* Flattens nested objects of a run's params into "a.b" keys. */
static int flatten(json_t *out, const json_t *obj, const char *prefix, int depth)
{
	const char *key;
	json_t *v;
	char *name = NULL;
	int rc;

	json_object_foreach((json_t *)obj, key, v) {
		if (asprintf(&name, "%s%s", prefix, key) < 0)
			return -1;
		if (json_is_object(v) && json_object_size(v) && depth < 16) {
			char *pre = NULL;

			rc = asprintf(&pre, "%s.", name) < 0 ? -1 :
			     flatten(out, v, pre, depth + 1);
			free(pre);
		} else {
			rc = json_object_set(out, name, v);
		}
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int level_index(const json_t *levels, const json_t *v)
{
	size_t i;
	json_t *l;

	json_array_foreach(levels, i, l)
		if (json_equal(l, (json_t *)v))
			return (int)i;
	return -1;
}

/* After the runs are read: which values each parameter took. */
static int params_finish(struct sw_report *rep)
{
	size_t i, j;
	json_t *v, *seen;
	struct sw_report_param *p;
	int n_num, n_other, n_int;

	for (i = 0; i < rep->n_runs; i++) {
		const char *key;

		json_object_foreach(rep->runs[i].params, key, v)
			if (!param_add(rep, key))
				return -1;
	}
	for (j = 0; j < rep->n_params; j++) {
		p = &rep->params[j];
		n_num = n_other = n_int = 0;
		seen = json_array();
		if (!seen)
			return -1;
		for (i = 0; i < rep->n_runs; i++) {
			v = json_object_get(rep->runs[i].params, p->name);
			if (!v)
				continue;
			p->n_recorded++;
			if (json_is_number(v))
				n_num++;
			else
				n_other++;
			if (json_is_integer(v))
				n_int++;
			if (level_index(seen, v) < 0)
				json_array_append(seen, v);
			if (level_index(p->levels, v) < 0)
				json_array_append(p->levels, v);
		}
		p->numeric = n_num > 0 && n_other == 0;
		p->integer = p->numeric && n_int == n_num;
		p->varies = json_array_size(seen) > 1;
		json_decref(seen);
		if (p->log && p->numeric) {
			for (i = 0; i < rep->n_runs; i++) {
				v = json_object_get(rep->runs[i].params, p->name);
				if (v && !(json_number_value(v) > 0))
					p->log = 0;
			}
		}
	}
	return 0;
}

/* ==== Runs ==== */


static void note(struct sw_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->n_notes >= sizeof(rep->notes) / sizeof(rep->notes[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(rep->notes[rep->n_notes++], sizeof(rep->notes[0]), fmt, ap);
	va_end(ap);
}

/* The run's value of the sweep metric: sw_run_best_value() (summary.best,
 * else summary.<metric>), else the best over its history. */
static double run_metric(const struct sw_report *rep, const struct sw_report_run *r)
{
	json_t *e;
	double v = NAN, x;
	size_t i;

	if (!rep->metric)
		return NAN;
	if (sw_run_best_value(r->record, rep->metric, &v) == 0)
		return v;
	v = NAN;
	json_array_foreach(r->history, i, e) {
		x = jnum(json_object_get(e, rep->metric));
		if (!isfinite(x))
			continue;
		if (isnan(v) || (rep->maximize ? x > v : x < v))
			v = x;
	}
	return v;
}

/* A run id can be a directory name: no '/', not "." or "..". */
static int id_is_path_safe(const char *id)
{
	return *id && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, "..");
}

static int load_runs(struct sw_report *rep, const char *path, json_t *lines,
		     struct sw_err *err)
{
	size_t i, k, no_history = 0;
	json_t *rec, *id, *state, *seen = NULL;
	struct sw_report_run *r;
	char *hpath = NULL, *rel = NULL;
	int torn = 0, rc, ret = -1;

	rep->runs = calloc(json_array_size(lines) ? json_array_size(lines) : 1,
			   sizeof(*rep->runs));
	seen = json_object();
	if (!rep->runs || !seen) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	json_array_foreach(lines, i, rec) {
		id = json_object_get(rec, "id");
		state = json_object_get(rec, "state");
		if (!json_is_object(rec) || !json_is_string(id) || !json_is_string(state)) {
			sw_errorf(err, "'%s' run %zu: not a run record (needs a string "
				  "\"id\" and \"state\"); was the file edited by hand?",
				  path, i + 1);
			goto done;
		}
		if (json_object_get(seen, json_string_value(id)))
			continue;   /* the first line of an id wins */
		json_object_set_new(seen, json_string_value(id), json_true());
		r = &rep->runs[rep->n_runs++];
		r->record = json_incref(rec);
		r->id = json_string_value(id);
		r->state = json_string_value(state);
		r->reason = json_string_value(json_object_get(rec, "reason"));
		r->index = rep->n_runs - 1;
		r->trial = json_is_integer(json_object_get(rec, "index")) &&
			   json_integer_value(json_object_get(rec, "index")) >= 0 ?
			   json_integer_value(json_object_get(rec, "index")) : -1;
		r->runtime_s = jnum(json_object_get(rec, "runtime_s"));
		r->epochs = json_is_integer(json_object_get(rec, "epochs")) ?
			    json_integer_value(json_object_get(rec, "epochs")) : -1;
		r->params = json_object();
		if (!r->params || flatten(r->params, json_object_get(rec, "params"), "",
					  0) < 0) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		r->history = NULL;
		if (id_is_path_safe(r->id)) {
			free(rel);
			rel = NULL;
			free(hpath);
			if (asprintf(&rel, "runs/%s/history.jsonl", r->id) < 0 ||
			    !(hpath = path_join(rep->dir, rel))) {
				hpath = NULL;
				sw_errorf(err, "out of memory");
				goto done;
			}
			rc = jsonl_read(hpath, &r->history, &torn, err);
			if (rc < 0)
				goto done;
			if (rc == 1)
				no_history++;
			for (k = 0; k < json_array_size(r->history); k++) {
				if (!json_is_object(json_array_get(r->history, k))) {
					sw_errorf(err, "'%s' line %zu: not a JSON object",
						  hpath, k + 1);
					goto done;
				}
			}
		} else {
			no_history++;
		}
		if (!r->history && !(r->history = json_array())) {
			sw_errorf(err, "out of memory");
			goto done;
		}
	}
	if (torn)
		rep->torn = 1;
	if (no_history)
		note(rep, "runs without a history (no epoch ended, or no "
		     "history.jsonl): %zu of %zu", no_history, rep->n_runs);
	ret = 0;
done:
	free(rel);
	free(hpath);
	json_decref(seen);
	return ret;
}

/* ==== Loading ==== */

static int load_json_file(const char *dir, const char *name, json_t **out,
			  struct sw_err *err)
{
	char *path = path_join(dir, name);
	json_error_t je;
	struct stat st;
	int ret = -1;

	*out = NULL;
	if (!path)
		return sw_errorf(err, "out of memory");
	if (stat(path, &st) < 0 && errno == ENOENT) {
		ret = 0;
		goto done;
	}
	*out = json_load_file(path, JSON_DECODE_ANY, &je);
	if (!*out) {
		sw_errorf(err, "'%s' line %d: corrupt JSON (%s); restore the file or "
			  "delete it", path, je.line, je.text);
		goto done;
	}
	ret = 0;
done:
	free(path);
	return ret;
}

static char *dup_str(const json_t *v)
{
	return json_is_string(v) && *json_string_value(v) ?
	       strdup(json_string_value(v)) : NULL;
}

int sw_report_load(struct sw_report *rep, const char *dir, struct sw_err *err)
{
	char *runs_path = NULL, *spec_path = NULL;
	json_t *lines = NULL, *m;
	struct stat st;
	const char *base;
	int torn = 0, rc_runs, rc;
	size_t i;

	memset(rep, 0, sizeof(*rep));
	if (stat(dir, &st) < 0)
		return sw_errorf(err, "cannot open results directory '%s': %s", dir,
				 strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sw_errorf(err, "'%s' is not a directory: give the results "
				 "directory of a sweep (results/<name>-<time>/)", dir);
	rep->dir = strdup(dir);
	runs_path = path_join(dir, "runs.jsonl");
	spec_path = path_join(dir, "sweep.yaml");
	if (!rep->dir || !runs_path || !spec_path) {
		sw_errorf(err, "out of memory");
		goto fail;
	}

	rc = stat(spec_path, &st) < 0 && errno == ENOENT ? 1 : 0;
	rc_runs = jsonl_read(runs_path, &lines, &torn, err);
	if (rc_runs < 0)
		goto fail;
	if (rc_runs == 1 && rc == 1) {
		sw_errorf(err, "'%s' is not a sweep results directory (no runs.jsonl "
			  "or sweep.yaml in it)", dir);
		goto fail;
	}
	if (rc_runs == 1 || json_array_size(lines) == 0) {
		sw_errorf(err, "no runs recorded in '%s' yet: a report needs at least "
			  "one ended run", runs_path);
		goto fail;
	}
	if (torn)
		rep->torn = 1;
	if (rc == 0 && load_spec(rep, spec_path, err) < 0)
		goto fail;
	if (rc == 1)
		note(rep, "sweep.yaml is missing: parameter distributions unknown");
	if (load_json_file(dir, "meta.json", &rep->meta, err) < 0 ||
	    load_json_file(dir, "best.json", &rep->best, err) < 0)
		goto fail;
	{
		char *ap = path_join(dir, "alerts.jsonl");

		rc = ap ? jsonl_read(ap, &rep->alerts, &torn, err) : -1;
		if (!ap)
			sw_errorf(err, "out of memory");
		free(ap);
		if (rc < 0)
			goto fail;
		if (torn)
			rep->torn = 1;
	}

	/* without sweep.yaml: metric, method and name from meta.json */
	m = json_object_get(rep->meta, "metric");
	if (!rep->spec_text && json_is_object(m)) {
		rep->metric = dup_str(json_object_get(m, "name"));
		rep->maximize = json_is_string(json_object_get(m, "goal")) &&
			!strcmp(json_string_value(json_object_get(m, "goal")), "maximize");
	}
	if (!rep->method)
		rep->method = dup_str(json_object_get(rep->meta, "method"));
	if (!rep->name)
		rep->name = dup_str(json_object_get(rep->meta, "name"));
	if (!rep->name) {
		size_t n = strlen(dir);

		while (n > 1 && dir[n - 1] == '/')
			n--;
		base = dir + n;
		while (base > dir && base[-1] != '/')
			base--;
		rep->name = strndup(base, (size_t)(dir + n - base));
	}

	if (load_runs(rep, runs_path, lines, err) < 0)
		goto fail;
	if (params_finish(rep) < 0) {
		sw_errorf(err, "out of memory");
		goto fail;
	}
	rep->by_trial = 1;
	for (i = 0; i < rep->n_runs; i++) {
		rep->runs[i].metric = run_metric(rep, &rep->runs[i]);
		if (rep->runs[i].trial < 0)
			rep->by_trial = 0;
	}
	if (rep->torn)
		note(rep, "a torn last line (from a crash while writing) was ignored");
	json_decref(lines);
	free(runs_path);
	free(spec_path);
	return 0;
fail:
	json_decref(lines);
	free(runs_path);
	free(spec_path);
	sw_report_release(rep);
	return -1;
}

void sw_report_release(struct sw_report *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->n_runs; i++) {
		json_decref(rep->runs[i].record);
		json_decref(rep->runs[i].params);
		json_decref(rep->runs[i].history);
	}
	free(rep->runs);
	for (i = 0; i < rep->n_params; i++) {
		free(rep->params[i].name);
		json_decref(rep->params[i].levels);
	}
	free(rep->params);
	free(rep->dir);
	free(rep->spec_text);
	json_decref(rep->spec);
	json_decref(rep->meta);
	json_decref(rep->best);
	json_decref(rep->alerts);
	free(rep->metric);
	free(rep->method);
	free(rep->name);
	memset(rep, 0, sizeof(*rep));
}
