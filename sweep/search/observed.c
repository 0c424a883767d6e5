/* observed.c - runs seen by a search, read from runs.jsonl lines; see
 * include/sweep/search/observed.h */
#include "sweep/search/observed.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[SW_OBS_STATE_COUNT] = {
	"pending", "running", "finished", "failed", "crashed", "killed",
	"stopped", "preempted", "preempting"
};

const char *sw_obs_state_name(enum sw_obs_state s)
{
	return (unsigned)s < SW_OBS_STATE_COUNT ? state_names[s] : "unknown";
}

int sw_obs_state_parse(const char *name, enum sw_obs_state *out)
{
	int i;

	for (i = 0; i < SW_OBS_STATE_COUNT; i++) {
		if (!strcmp(name, state_names[i])) {
			*out = (enum sw_obs_state)i;
			return 0;
		}
	}
	return -1;
}

int sw_obs_state_terminal(enum sw_obs_state s)
{
	return s == SW_OBS_FINISHED || s == SW_OBS_FAILED || s == SW_OBS_CRASHED ||
	       s == SW_OBS_KILLED || s == SW_OBS_STOPPED;
}

int sw_runs_add(struct sw_runs *runs, json_t *params, enum sw_obs_state state,
		json_t *summary, json_t *history)
{
	struct sw_run_obs *r;

	if (runs->n == runs->alloc) {
		size_t na = runs->alloc ? 2 * runs->alloc : 16;
		struct sw_run_obs *ni = realloc(runs->items, na * sizeof(*ni));

		if (!ni)
			return -1;
		runs->items = ni;
		runs->alloc = na;
	}
	r = &runs->items[runs->n++];
	r->params = json_incref(params);
	r->state = state;
	r->summary = summary ? json_incref(summary) : NULL;
	r->history = history ? json_incref(history) : NULL;
	r->line = 0;
	return 0;
}

int sw_runs_add_json(struct sw_runs *runs, const json_t *obj,
		     struct sw_err *err)
{
	json_t *params, *state, *summary, *history;
	enum sw_obs_state st;
	size_t i;

	if (!json_is_object(obj))
		return sw_errorf(err, "a run must be a JSON object");
	params = json_object_get(obj, "params");
	if (!json_is_object(params))
		return sw_errorf(err, "'params' must be an object of parameter values");
	state = json_object_get(obj, "state");
	if (!state)
		st = SW_OBS_FINISHED;
	else if (!json_is_string(state))
		return sw_errorf(err, "'state' must be a string");
	else if (sw_obs_state_parse(json_string_value(state), &st) < 0)
		return sw_errorf(err, "unknown state '%s' (expected finished, "
				 "running, failed, stopped, crashed, killed or "
				 "pending)", json_string_value(state));
	summary = json_object_get(obj, "summary");
	if (json_is_null(summary))
		summary = NULL;
	if (summary && !json_is_object(summary))
		return sw_errorf(err, "'summary' must be an object of metric values");
	history = json_object_get(obj, "history");
	if (json_is_null(history))
		history = NULL;
	if (history) {
		if (!json_is_array(history))
			return sw_errorf(err, "'history' must be an array of objects");
		for (i = 0; i < json_array_size(history); i++)
			if (!json_is_object(json_array_get(history, i)))
				return sw_errorf(err, "'history' item %zu is not an "
						 "object", i + 1);
	}
	if (sw_runs_add(runs, params, st, summary, history) < 0)
		return sw_errorf(err, "out of memory");
	return 0;
}

int sw_runs_load(struct sw_runs *runs, const char *path, struct sw_err *err)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, ret = -1;
	json_t *obj = NULL;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return sw_errorf(err, "unable to open '%s': %s", path,
				 strerror(errno));
	if (f == stdin)
		path = "<stdin>";
	while ((len = getline(&line, &cap, f)) >= 0) {
		json_error_t jerr;
		ssize_t i;
		int blank = 1;

		lineno++;
		for (i = 0; i < len; i++) {
			if (line[i] != ' ' && line[i] != '\t' && line[i] != '\n' &&
			    line[i] != '\r') {
				blank = 0;
				break;
			}
		}
		if (blank)
			continue;
		obj = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!obj) {
			sw_errorf(err, "%s:%d: invalid JSON: %s", path, lineno,
				  jerr.text);
			goto done;
		}
		if (sw_runs_add_json(runs, obj, err) < 0) {
			sw_err_prefix(err, "%s:%d", path, lineno);
			goto done;
		}
		runs->items[runs->n - 1].line = lineno;
		json_decref(obj);
		obj = NULL;
	}
	if (ferror(f)) {
		sw_errorf(err, "unable to read '%s': %s", path, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	json_decref(obj);
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

void sw_runs_release(struct sw_runs *runs)
{
	size_t i;

	if (!runs)
		return;
	for (i = 0; i < runs->n; i++) {
		json_decref(runs->items[i].params);
		json_decref(runs->items[i].summary);
		json_decref(runs->items[i].history);
	}
	free(runs->items);
	runs->items = NULL;
	runs->n = runs->alloc = 0;
}

/* A finite number that is not a boolean (jansson keeps those apart). */
static int finite_number(const json_t *v, double *out)
{
	double x;

	if (!json_is_number(v))
		return 0;
	x = json_number_value(v);
	if (!isfinite(x))
		return 0;
	*out = x;
	return 1;
}

size_t sw_run_metric_values(const struct sw_run_obs *r, const char *name,
			    double *out, size_t cap)
{
	size_t i, n = 0;
	double x;

	if (!r->history)
		return 0;
	for (i = 0; i < json_array_size(r->history); i++) {
		json_t *row = json_array_get(r->history, i);

		if (finite_number(json_object_get(row, name), &x)) {
			if (out && n < cap)
				out[n] = x;
			n++;
		}
	}
	return n;
}

int sw_run_metric_extremum(const struct sw_run_obs *r, const char *name,
			   int maximize, double *out)
{
	size_t i;
	double x, best = 0.0;
	int found = 0;

	if (r->history) {
		for (i = 0; i < json_array_size(r->history); i++) {
			json_t *row = json_array_get(r->history, i);

			if (!finite_number(json_object_get(row, name), &x))
				continue;
			if (!found || (maximize ? x > best : x < best))
				best = x;
			found = 1;
		}
	}
	if (r->summary && finite_number(json_object_get(r->summary, name), &x)) {
		if (!found || (maximize ? x > best : x < best))
			best = x;
		found = 1;
	}
	if (found)
		*out = best;
	return found;
}

int sw_run_metric_latest(const struct sw_run_obs *r, const char *name,
			 double *out)
{
	size_t i;
	double x;

	if (r->history) {
		for (i = json_array_size(r->history); i-- > 0;) {
			if (finite_number(json_object_get(json_array_get(r->history, i),
							  name), &x)) {
				*out = x;
				return 1;
			}
		}
	}
	if (r->summary && finite_number(json_object_get(r->summary, name), &x)) {
		*out = x;
		return 1;
	}
	return 0;
}
