/* report_page.c - the small helpers both halves of the report page use
 * (report.c, the text, and report_plots.c, the figures); they sit below
 * both so that neither calls back into the other. See report_page.h. */
#define _GNU_SOURCE
#include "report_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Small helpers ==== */

double sw_rp_jnum(const json_t *v)
{
	const char *s;

	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (!strcmp(s, "Infinity"))
			return INFINITY;
		if (!strcmp(s, "-Infinity"))
			return -INFINITY;
	}
	return NAN;
}

/* A JSON value as display text, in a new string the caller frees. */
char *sw_rp_jtext(const json_t *v)
{
	char *s = NULL;

	if (!v)
		return strdup("");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		if (asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0)
			return NULL;
		return s;
	}
	if (json_is_real(v)) {
		if (asprintf(&s, "%.6g", json_real_value(v)) < 0)
			return NULL;
		return s;
	}
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

void sw_rp_esc_json(struct sw_html *h, const json_t *v)
{
	char *s = sw_rp_jtext(v);

	if (!s) {
		h->failed = 1;
		return;
	}
	sw_html_esc(h, s);
	free(s);
}

void sw_rp_fmt_duration(char *out, size_t n, double s)
{
	long t;

	if (!isfinite(s) || s < 0) {
		snprintf(out, n, "–");
		return;
	}
	if (s < 60) {
		snprintf(out, n, "%.1f s", s);
		return;
	}
	t = lround(s);
	if (t < 3600)
		snprintf(out, n, "%ld min %02ld s", t / 60, t % 60);
	else
		snprintf(out, n, "%ld h %02ld min %02ld s", t / 3600, t / 60 % 60, t % 60);
}

int sw_rp_better(const struct sw_report *rep, double a, double b)
{
	if (!isfinite(a))
		return 0;
	if (!isfinite(b))
		return 1;
	return rep->maximize ? a > b : a < b;
}

/* The number a run is shown with: its trial number (order started) when
 * every run has one, else its position in runs.jsonl (order ended); from 1. */
double sw_rp_run_number(const struct sw_report *rep, const struct sw_report_run *r)
{
	return rep->by_trial ? (double)r->trial + 1 : (double)r->index + 1;
}

const char *sw_rp_run_order_words(const struct sw_report *rep)
{
	return rep->by_trial ? "order started" : "order ended";
}

const char *sw_rp_state_color(const char *st)
{
	if (!strcmp(st, "finished"))
		return COL_FINISHED;
	if (!strcmp(st, "stopped"))
		return COL_STOPPED;
	if (!strcmp(st, "failed"))
		return COL_FAILED;
	if (!strcmp(st, "killed"))
		return COL_KILLED;
	return COL_NONE;
}

enum sw_marker sw_rp_state_marker(const char *st)
{
	if (!strcmp(st, "stopped"))
		return SW_MARK_SQUARE;
	if (!strcmp(st, "failed"))
		return SW_MARK_CROSS;
	if (!strcmp(st, "killed"))
		return SW_MARK_TRIANGLE;
	return SW_MARK_CIRCLE;
}

/* A CSS class name for a state: letters only. */
const char *sw_rp_state_class(const char *st)
{
	static const char *const known[] = { "finished", "stopped", "failed",
					     "killed", NULL };
	size_t i;

	for (i = 0; known[i]; i++)
		if (!strcmp(st, known[i]))
			return known[i];
	return "other";
}

/* A run's label for tooltips: "id (state): metric = v". */
char *sw_rp_run_label(const struct sw_rp_page *pg, const struct sw_report_run *r)
{
	char *s = NULL, num[64];

	sw_fmt_num(num, sizeof(num), r->metric, 0);
	if (asprintf(&s, "%s (%s)%s%s%s%s", r->id, r->state,
		     pg->rep->metric ? ": " : "", pg->rep->metric ? pg->rep->metric : "",
		     pg->rep->metric ? " = " : "", pg->rep->metric ? num : "") < 0)
		return NULL;
	return s;
}

/* Colour of a run's metric on the viridis scale (grey without one). */
void sw_rp_metric_color(const struct sw_rp_page *pg, double v, char out[8])
{
	double t;

	if (!isfinite(v)) {
		snprintf(out, 8, "%s", COL_NONE);
		return;
	}
	t = pg->mhi > pg->mlo ? (v - pg->mlo) / (pg->mhi - pg->mlo) : 0.5;
	sw_color_viridis(t, out);
}

void sw_rp_section_open(struct sw_html *h, const char *id, const char *title)
{
	sw_html_printf(h, "<section id=\"%s\">\n<h2>", id);
	sw_html_esc(h, title);
	sw_html_puts(h, "</h2>\n");
}

void sw_rp_para(struct sw_html *h, const char *cls, const char *text)
{
	sw_html_printf(h, "<p class=\"%s\">", cls);
	sw_html_esc(h, text);
	sw_html_puts(h, "</p>\n");
}

/* The value of parameter p for run r on a plot axis: the number, or the
 * level index for categorical parameters; NaN when the run lacks it. */
double sw_rp_param_pos(const struct sw_report_param *p, const struct sw_report_run *r)
{
	json_t *v = json_object_get(r->params, p->name);

	if (!v)
		return NAN;
	if (p->numeric)
		return json_number_value(v);
	return sw_rp_param_level(p, r);
}

int sw_rp_param_is_categorical(const struct sw_report_param *p)
{
	return !p->numeric ||
	       (p->dist && !strncmp(p->dist, "categorical", strlen("categorical")));
}

double sw_rp_param_level(const struct sw_report_param *p, const struct sw_report_run *r)
{
	json_t *v = json_object_get(r->params, p->name), *l;
	size_t i;

	if (!v)
		return NAN;
	json_array_foreach(p->levels, i, l)
		if (json_equal(l, v))
			return (double)i;
	return NAN;
}

/* Labels of a categorical parameter's levels, as a NULL-terminated array
 * of new strings; free with free_labels. */
char **sw_rp_level_labels(const struct sw_report_param *p)
{
	size_t n = json_array_size(p->levels), i;
	char **l = calloc(n + 1, sizeof(char *));

	if (!l)
		return NULL;
	for (i = 0; i < n; i++) {
		l[i] = sw_rp_jtext(json_array_get(p->levels, i));
		if (!l[i])
			l[i] = strdup("?");
	}
	return l;
}

void sw_rp_free_labels(char **l)
{
	size_t i;

	for (i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}
