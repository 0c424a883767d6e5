/* report.c - the HTML page of `sweep report`; see include/sweep/report.h.
 * Loading is in report_load.c, drawing primitives in report_svg.c, the
 * importance statistics in report_stats.c. */
#define _GNU_SOURCE
#include "sweep/report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep/cli.h"
#include "sweep/report_stats.h"
#include "sweep/report_svg.h"

/* Colours and marks of run states: never colour alone, always a shape or
 * a word too. */
#define COL_FINISHED "#0072b2"
#define COL_STOPPED "#e69f00"
#define COL_FAILED "#d55e00"
#define COL_KILLED "#cc79a7"
#define COL_NONE "#9a9a9a"
#define COL_BEST "#000000"

struct page {
	const struct sw_report *rep;
	struct sw_html h;
	double *metric;        /* per run; NaN when none */
	size_t best;           /* index of the best run; n_runs when none */
	size_t n_with_metric;
	double mlo, mhi;       /* metric range over runs */
	int *swept;            /* per parameter: drawn in the plots */
	size_t n_swept;
};

/* ==== Small helpers ==== */

static double jnum(const json_t *v)
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
static char *jtext(const json_t *v)
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

static void esc_json(struct sw_html *h, const json_t *v)
{
	char *s = jtext(v);

	if (!s) {
		h->failed = 1;
		return;
	}
	sw_html_esc(h, s);
	free(s);
}

static void fmt_duration(char *out, size_t n, double s)
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

static int better(const struct sw_report *rep, double a, double b)
{
	if (!isfinite(a))
		return 0;
	if (!isfinite(b))
		return 1;
	return rep->maximize ? a > b : a < b;
}

/* The number a run is shown with: its trial number (order started) when
 * every run has one, else its position in runs.jsonl (order ended); from 1. */
static double run_number(const struct sw_report *rep, const struct sw_report_run *r)
{
	return rep->by_trial ? (double)r->trial + 1 : (double)r->index + 1;
}

static const char *run_order_words(const struct sw_report *rep)
{
	return rep->by_trial ? "order started" : "order ended";
}

static const char *state_color(const char *st)
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

static enum sw_marker state_marker(const char *st)
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
static const char *state_class(const char *st)
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
static char *run_label(const struct page *pg, const struct sw_report_run *r)
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
static void metric_color(const struct page *pg, double v, char out[8])
{
	double t;

	if (!isfinite(v)) {
		snprintf(out, 8, "%s", COL_NONE);
		return;
	}
	t = pg->mhi > pg->mlo ? (v - pg->mlo) / (pg->mhi - pg->mlo) : 0.5;
	sw_color_viridis(t, out);
}

static void section_open(struct sw_html *h, const char *id, const char *title)
{
	sw_html_printf(h, "<section id=\"%s\">\n<h2>", id);
	sw_html_esc(h, title);
	sw_html_puts(h, "</h2>\n");
}

static void para(struct sw_html *h, const char *cls, const char *text)
{
	sw_html_printf(h, "<p class=\"%s\">", cls);
	sw_html_esc(h, text);
	sw_html_puts(h, "</p>\n");
}

/* The value of parameter p for run r on a plot axis: the number, or the
 * level index for categorical parameters; NaN when the run lacks it. */
static double param_pos(const struct sw_report_param *p, const struct sw_report_run *r)
{
	json_t *v = json_object_get(r->params, p->name), *l;
	size_t i;

	if (!v)
		return NAN;
	if (p->numeric)
		return json_number_value(v);
	json_array_foreach(p->levels, i, l)
		if (json_equal(l, v))
			return (double)i;
	return NAN;
}

/* Labels of a categorical parameter's levels, as a NULL-terminated array
 * of new strings; free with free_labels. */
static char **level_labels(const struct sw_report_param *p)
{
	size_t n = json_array_size(p->levels), i;
	char **l = calloc(n + 1, sizeof(char *));

	if (!l)
		return NULL;
	for (i = 0; i < n; i++) {
		l[i] = jtext(json_array_get(p->levels, i));
		if (!l[i])
			l[i] = strdup("?");
	}
	return l;
}

static void free_labels(char **l)
{
	size_t i;

	for (i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

/* ==== Page parts ==== */

static const char css[] =
"<style>\n"
":root{color-scheme:light}\n"
"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,"
"sans-serif;color:#1d1d1f;background:#fff;margin:0 auto;max-width:1240px;"
"padding:16px 24px}\n"
"h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;"
"border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}\n"
"nav a{margin-right:12px;color:#0057a0}\n"
".sub{color:#555;margin:0 0 8px}\n"
".note{background:#fff7e0;border-left:4px solid #e69f00;padding:6px 10px;margin:6px 0}\n"
".empty{color:#555;font-style:italic}\n"
".method{color:#333;max-width:900px}\n"
"table{border-collapse:collapse;font-size:13px}\n"
"th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}\n"
"td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
"th{background:#f2f2f2}\n"
"table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}\n"
"table.sortable th[aria-sort=ascending]::after{content:' \\25B2'}\n"
"table.sortable th[aria-sort=descending]::after{content:' \\25BC'}\n"
".tablewrap{overflow-x:auto;max-height:640px;overflow-y:auto;border:1px solid #ddd}\n"
".tablewrap table{border:none}\n"
".tablewrap th{position:sticky;top:0}\n"
"tr.best td{background:#e8f1fa;font-weight:600}\n"
".state{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:12px}\n"
".state.finished{background:" COL_FINISHED "}.state.stopped{background:#a86b00}"
".state.failed{background:" COL_FAILED "}.state.killed{background:#8f4a78}"
".state.other{background:#666}\n"
".kv td:first-child{font-weight:600;background:#f7f7f7}\n"
"#runs-table td:nth-child(2){white-space:nowrap}\n"
"td.reason{min-width:320px}\n"
".cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}\n"
".card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;flex:1 1 200px}\n"
".card .big{font-size:20px;font-weight:600}\n"
".grid{stroke:#e4e4e4;stroke-width:1}\n"
".axis{stroke:#333;fill:none;stroke-width:1}\n"
"svg.plot{max-width:100%;height:auto;font-size:11px;fill:#333;display:block}\n"
"svg.plot text{fill:#333}\n"
"svg .axis-title{font-size:12px;font-weight:600}\n"
".plots{display:flex;flex-wrap:wrap;gap:10px}\n"
"figure{margin:6px 0;break-inside:avoid}\n"
"figcaption{font-size:12px;color:#555;max-width:1180px}\n"
"pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;overflow-x:auto;"
"font-size:12px}\n"
"@media print{nav{display:none}body{max-width:none;padding:0}"
".tablewrap{max-height:none;overflow:visible;border:none}"
"table{font-size:9px}th,td{padding:1px 3px}"
".tablewrap th{position:static}"
"section{break-before:auto}h2{break-after:avoid}}\n"
"</style>\n";

static const char script[] =
"<script>\n"
"/* click a column header to sort the runs; runs without a value stay last */\n"
"(function(){\n"
"function key(td){var v=td.getAttribute('data-v');\n"
" if(v!==null&&v!=='')return{n:parseFloat(v)};\n"
" var t=td.textContent.trim();return t===''||t==='\\u2013'?null:{s:t};}\n"
"function cmp(a,b){if(a===null)return b===null?0:1;if(b===null)return -1;\n"
" if(a.n!==undefined&&b.n!==undefined)return a.n-b.n;\n"
" if(a.n!==undefined)return -1;if(b.n!==undefined)return 1;\n"
" return a.s.localeCompare(b.s,undefined,{numeric:true});}\n"
"document.querySelectorAll('table.sortable').forEach(function(t){\n"
" t.querySelectorAll('thead th').forEach(function(th,i){\n"
"  th.addEventListener('click',function(){\n"
"   var asc=th.getAttribute('aria-sort')!=='ascending';\n"
"   t.querySelectorAll('thead th').forEach(function(o){o.removeAttribute('aria-sort');});\n"
"   th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
"   var tb=t.tBodies[0],rows=Array.prototype.slice.call(tb.rows);\n"
"   rows.sort(function(r1,r2){var a=key(r1.cells[i]),b=key(r2.cells[i]);\n"
"    if(a===null||b===null)return cmp(a,b);var c=cmp(a,b);return asc?c:-c;});\n"
"   rows.forEach(function(r){tb.appendChild(r);});});});});\n"
"})();\n"
"</script>\n";

/* ==== Outcome ==== */

static void outcome(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	static const char *const states[] = { "finished", "stopped", "failed",
					      "killed" };
	size_t counts[5] = { 0 }, i, k;
	double compute = 0, t0 = NAN, t1 = NAN, ts;
	char num[64], dur[64];
	json_t *e;
	const struct sw_report_run *b;

	section_open(h, "outcome", "Outcome");
	for (i = 0; i < rep->n_runs; i++) {
		for (k = 0; k < 4; k++)
			if (!strcmp(rep->runs[i].state, states[k]))
				break;
		counts[k]++;
		if (isfinite(rep->runs[i].runtime_s))
			compute += rep->runs[i].runtime_s;
		json_array_foreach(rep->runs[i].history, k, e) {
			ts = jnum(json_object_get(e, "_timestamp"));
			if (isfinite(ts) && !(ts <= t1))
				t1 = ts;
		}
	}
	t0 = jnum(json_object_get(rep->meta, "start_timestamp"));

	sw_html_puts(h, "<div class=\"cards\">\n");
	sw_html_puts(h, "<div class=\"card\" id=\"best-run\"><div>Best run</div>");
	if (pg->best < rep->n_runs) {
		b = &rep->runs[pg->best];
		sw_fmt_num(num, sizeof(num), b->metric, 0);
		sw_html_puts(h, "<div class=\"big\">");
		sw_html_esc(h, b->id);
		sw_html_puts(h, "</div><div>");
		sw_html_esc(h, rep->metric);
		sw_html_printf(h, " = <b>%s</b> (%s)</div>", num,
			       rep->maximize ? "maximize" : "minimize");
	} else {
		sw_html_puts(h, rep->metric ? "<div class=\"big\">none</div><div>no run "
			     "logged the metric</div>" :
			     "<div class=\"big\">none</div><div>the sweep has no metric</div>");
	}
	sw_html_puts(h, "</div>\n");
	sw_html_printf(h, "<div class=\"card\" id=\"runs-by-state\"><div>Runs</div>"
		       "<div class=\"big\">%zu</div><div>", rep->n_runs);
	for (k = 0; k < 5; k++) {
		if (!counts[k])
			continue;
		sw_html_printf(h, "<span class=\"state %s\">%s %zu</span> ",
			       k < 4 ? states[k] : "other", k < 4 ? states[k] : "other",
			       counts[k]);
	}
	sw_html_puts(h, "</div></div>\n");
	fmt_duration(dur, sizeof(dur), compute);
	sw_html_printf(h, "<div class=\"card\" id=\"total-time\"><div>Total time</div>"
		       "<div class=\"big\">%s</div><div>training time of all runs", dur);
	if (isfinite(t0) && isfinite(t1) && t1 >= t0) {
		fmt_duration(dur, sizeof(dur), t1 - t0);
		sw_html_printf(h, "; %s wall clock", dur);
	}
	sw_html_puts(h, "</div></div>\n");
	sw_html_puts(h, "<div class=\"card\"><div>Search</div><div class=\"big\">");
	sw_html_esc(h, rep->method ? rep->method : "unknown");
	sw_html_puts(h, "</div><div>metric: ");
	if (rep->metric) {
		sw_html_esc(h, rep->metric);
		sw_html_puts(h, rep->maximize ? " (maximize)" : " (minimize)");
	} else {
		sw_html_puts(h, "none");
	}
	sw_html_puts(h, "</div></div>\n</div>\n");

	for (i = 0; i < rep->n_notes; i++)
		para(h, "note", rep->notes[i]);

	if (pg->best < rep->n_runs) {
		const char *key;
		json_t *v;

		b = &rep->runs[pg->best];
		sw_html_puts(h, "<h3>Best configuration</h3>\n<table class=\"kv\" "
			     "id=\"best-config\">\n");
		json_object_foreach(b->params, key, v) {
			sw_html_puts(h, "<tr><td>");
			sw_html_esc(h, key);
			sw_html_puts(h, "</td><td>");
			esc_json(h, v);
			sw_html_puts(h, "</td></tr>\n");
		}
		sw_html_puts(h, "</table>\n");
	}
	sw_html_puts(h, "</section>\n");
}

/* ==== Runs table ==== */

/* Summary metrics shown in the table: the last epoch's, in a fixed order
 * for the trainer's usual ones, then any others. */
static json_t *summary_keys(const struct sw_report *rep)
{
	static const char *const first[] = { "loss", "accuracy", "val_loss",
					     "val_accuracy", NULL };
	json_t *keys = json_array(), *s, *v;
	const char *key;
	size_t i, k;

	if (!keys)
		return NULL;
	for (k = 0; first[k]; k++)
		for (i = 0; i < rep->n_runs; i++)
			if (json_object_get(json_object_get(rep->runs[i].record, "summary"),
					    first[k])) {
				json_array_append_new(keys, json_string(first[k]));
				break;
			}
	for (i = 0; i < rep->n_runs; i++) {
		s = json_object_get(rep->runs[i].record, "summary");
		json_object_foreach(s, key, v) {
			int dup = 0;
			json_t *kk;

			if (key[0] == '_' || !strcmp(key, "best") || json_is_object(v) ||
			    json_is_array(v))
				continue;
			json_array_foreach(keys, k, kk)
				if (!strcmp(json_string_value(kk), key))
					dup = 1;
			if (!dup && json_array_size(keys) < 24)
				json_array_append_new(keys, json_string(key));
		}
	}
	return keys;
}

static void td_num(struct sw_html *h, double v, const char *extra_cls)
{
	char num[64];

	sw_fmt_num(num, sizeof(num), v, 0);
	if (isfinite(v))
		sw_html_printf(h, "<td class=\"num%s\" data-v=\"%.17g\">%s</td>",
			       extra_cls ? extra_cls : "", v, num);
	else
		sw_html_printf(h, "<td class=\"num%s\">%s</td>", extra_cls ? extra_cls : "",
			       isnan(v) ? "–" : num);
}

struct order {
	const struct page *pg;
	size_t i;
};

static int cmp_runs(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	const struct sw_report *rep = x->pg->rep;
	double u = rep->runs[x->i].metric, v = rep->runs[y->i].metric;

	if (better(rep, u, v))
		return -1;
	if (better(rep, v, u))
		return 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void runs_table(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	json_t *keys = summary_keys(rep), *kk, *v, *summary;
	struct order *ord = calloc(rep->n_runs ? rep->n_runs : 1, sizeof(*ord));
	size_t i, j, k;
	const struct sw_report_run *r;
	char dur[64];

	section_open(h, "runs", "Runs");
	if (!keys || !ord) {
		h->failed = 1;
		goto done;
	}
	sw_html_printf(h, "<p class=\"sub\">%zu run%s, best first; click a column to "
		       "sort. # is the run's number in the %s.</p>\n", rep->n_runs,
		       rep->n_runs == 1 ? "" : "s", run_order_words(rep));
	sw_html_puts(h, "<div class=\"tablewrap\"><table class=\"sortable\" "
		     "id=\"runs-table\">\n<thead><tr><th>#</th><th>run</th><th>state</th>");
	if (rep->metric) {
		sw_html_puts(h, "<th>");
		sw_html_esc(h, rep->metric);
		sw_html_puts(h, rep->maximize ? " (best, max)</th>" : " (best, min)</th>");
	}
	for (j = 0; j < rep->n_params; j++) {
		sw_html_puts(h, "<th>");
		sw_html_esc(h, rep->params[j].name);
		sw_html_puts(h, "</th>");
	}
	sw_html_puts(h, "<th>epochs run</th><th>runtime</th>");
	json_array_foreach(keys, k, kk) {
		sw_html_puts(h, "<th>");
		sw_html_esc(h, json_string_value(kk));
		sw_html_puts(h, " (last)</th>");
	}
	sw_html_puts(h, "<th>reason</th></tr></thead>\n<tbody>\n");

	for (i = 0; i < rep->n_runs; i++) {
		ord[i].pg = pg;
		ord[i].i = i;
	}
	qsort(ord, rep->n_runs, sizeof(*ord), cmp_runs);
	for (k = 0; k < rep->n_runs; k++) {
		i = ord[k].i;
		r = &rep->runs[i];
		sw_html_printf(h, "<tr class=\"run %s%s\">", state_class(r->state),
			       i == pg->best ? " best" : "");
		sw_html_printf(h, "<td class=\"num\" data-v=\"%.0f\">%.0f</td><td>",
			       run_number(rep, r), run_number(rep, r));
		sw_html_esc(h, r->id);
		sw_html_printf(h, "%s</td><td><span class=\"state %s\">",
			       i == pg->best ? " ★" : "", state_class(r->state));
		sw_html_esc(h, r->state);
		sw_html_puts(h, "</span></td>");
		if (rep->metric)
			td_num(h, r->metric, NULL);
		for (j = 0; j < rep->n_params; j++) {
			v = json_object_get(r->params, rep->params[j].name);
			if (json_is_number(v)) {
				sw_html_printf(h, "<td class=\"num\" data-v=\"%.17g\">",
					       json_number_value(v));
			} else {
				sw_html_puts(h, "<td>");
			}
			if (v)
				esc_json(h, v);
			sw_html_puts(h, "</td>");
		}
		if (r->epochs >= 0)
			sw_html_printf(h, "<td class=\"num\" data-v=\"%lld\">%lld</td>",
				       r->epochs, r->epochs);
		else
			sw_html_puts(h, "<td class=\"num\">–</td>");
		fmt_duration(dur, sizeof(dur), r->runtime_s);
		if (isfinite(r->runtime_s))
			sw_html_printf(h, "<td class=\"num\" data-v=\"%.3f\">%s</td>",
				       r->runtime_s, dur);
		else
			sw_html_puts(h, "<td class=\"num\">–</td>");
		summary = json_object_get(r->record, "summary");
		json_array_foreach(keys, j, kk) {
			v = json_object_get(summary, json_string_value(kk));
			if (!v)
				sw_html_puts(h, "<td class=\"num\">–</td>");
			else if (json_is_number(v) || json_is_string(v))
				td_num(h, json_is_number(v) ? json_number_value(v) :
					  (!strcmp(json_string_value(v), "NaN") ? NAN : jnum(v)),
				       NULL);
			else {
				sw_html_puts(h, "<td>");
				esc_json(h, v);
				sw_html_puts(h, "</td>");
			}
		}
		sw_html_puts(h, "<td class=\"reason\">");
		if (r->reason)
			sw_html_esc(h, r->reason);
		sw_html_puts(h, "</td></tr>\n");
	}
	sw_html_puts(h, "</tbody></table></div>\n");
done:
	sw_html_puts(h, "</section>\n");
	json_decref(keys);
	free(ord);
}

/* ==== Learning curves ==== */

static int history_has(const struct sw_report *rep, const char *key)
{
	size_t i, k;
	json_t *e;

	for (i = 0; i < rep->n_runs; i++)
		json_array_foreach(rep->runs[i].history, k, e)
			if (isfinite(jnum(json_object_get(e, key))))
				return 1;
	return 0;
}

static double epoch_of(const json_t *e, size_t k)
{
	double x = jnum(json_object_get(e, "epoch"));

	if (isfinite(x))
		return x;
	x = jnum(json_object_get(e, "_step"));
	return isfinite(x) ? x + 1 : (double)(k + 1);
}

/* How the curves are coloured: one colour per run (few runs, with a
 * legend naming them), by the run's metric value (viridis), or all alike
 * (many runs and no metric). */
enum curve_colors { BY_RUN, BY_METRIC, PLAIN };

static enum curve_colors curve_colors(const struct page *pg)
{
	if (pg->rep->n_runs <= SW_PALETTE_N)
		return BY_RUN;
	return pg->n_with_metric ? BY_METRIC : PLAIN;
}

static void run_curve_color(const struct page *pg, size_t i, char out[8])
{
	switch (curve_colors(pg)) {
	case BY_RUN:
		snprintf(out, 8, "%s", sw_palette(i));
		break;
	case BY_METRIC:
		metric_color(pg, pg->metric[i], out);
		break;
	default:
		snprintf(out, 8, "%s", COL_FINISHED);
		break;
	}
}

static void curve_panel(struct page *pg, const char *key, const char *what)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	struct sw_plot p;
	double *ex = NULL, *ey = NULL, *xs = NULL, *ys = NULL, v;
	size_t total = 0, i, k, n, m, *order = NULL;
	json_t *e;
	char col[8], title[256];
	const struct sw_report_run *r;
	int many = rep->n_runs > 60;

	memset(&p, 0, sizeof(p));
	for (i = 0; i < rep->n_runs; i++)
		total += json_array_size(rep->runs[i].history);
	ex = malloc((total + 1) * sizeof(double));
	ey = malloc((total + 1) * sizeof(double));
	order = malloc((rep->n_runs + 1) * sizeof(size_t));
	if (!ex || !ey || !order) {
		h->failed = 1;
		goto done;
	}
	n = 0;
	for (i = 0; i < rep->n_runs; i++)
		json_array_foreach(rep->runs[i].history, k, e) {
			ex[n] = epoch_of(e, k);
			ey[n] = jnum(json_object_get(e, key));
			n++;
		}
	p.width = 580;
	p.height = 330;
	p.ml = 62;
	p.mr = 14;
	p.mt = 12;
	p.mb = 44;
	p.x.integer = 1;
	sw_scale_fit(&p.x, SW_SCALE_LINEAR, ex, n);
	if (p.x.d0 < 0 && ex[0] >= 0)
		p.x.d0 = 0;
	p.y.pad = 0.03;
	sw_scale_fit(&p.y, SW_SCALE_LINEAR, ey, n);
	snprintf(title, sizeof(title), "%s (%s) per epoch", key, what);
	p.title = title;
	p.xlabel = "epoch";
	p.ylabel = key;
	sw_html_printf(h, "<figure class=\"curve\" data-metric=\"");
	sw_html_esc(h, key);
	sw_html_puts(h, "\">\n");
	sw_plot_open(h, &p);

	/* runs without a metric first, then worst to best, best on top */
	for (i = 0; i < rep->n_runs; i++)
		order[i] = i;
	for (i = 1; i < rep->n_runs; i++) {
		size_t t = order[i];

		for (k = i; k > 0 && better(rep, pg->metric[order[k - 1]], pg->metric[t]);
		     k--)
			order[k] = order[k - 1];
		order[k] = t;
	}
	for (m = 0; m < rep->n_runs; m++) {
		char *label;
		int is_best;

		i = order[m];
		r = &rep->runs[i];
		is_best = i == pg->best;
		n = json_array_size(r->history);
		free(xs);
		free(ys);
		xs = malloc((n + 1) * sizeof(double));
		ys = malloc((n + 1) * sizeof(double));
		if (!xs || !ys) {
			h->failed = 1;
			goto done;
		}
		json_array_foreach(r->history, k, e) {
			xs[k] = sw_scale_map(&p.x, epoch_of(e, k));
			v = jnum(json_object_get(e, key));
			ys[k] = isfinite(v) ? sw_scale_map(&p.y, v) : NAN;
		}
		if (!n)
			continue;
		run_curve_color(pg, i, col);
		label = run_label(pg, r);
		sw_html_printf(h, "<g class=\"run-curve %s\" data-run-index=\"%zu\">\n",
			       state_class(r->state), i);
		sw_svg_polyline(h, xs, ys, n, is_best ? COL_BEST : col,
				is_best ? 2.6 : many ? 1.0 : 1.6,
				!strcmp(r->state, "stopped") ? "5 3" :
				!strcmp(r->state, "killed") ? "2 3" : NULL,
				is_best ? 1.0 : many ? 0.55 : 0.9, label);
		/* mark how a run that did not finish ended, at its last point */
		if (strcmp(r->state, "finished")) {
			for (k = n; k > 0 && !isfinite(ys[k - 1]); k--)
				;
			if (k > 0)
				sw_svg_marker(h, state_marker(r->state), xs[k - 1], ys[k - 1],
					      many ? 3.5 : 4.5, state_color(r->state),
					      strcmp(r->state, "failed") ? "#333" : "none",
					      label);
		}
		sw_html_puts(h, "</g>\n");
		free(label);
	}
	sw_plot_close(h);
	sw_html_puts(h, "</figure>\n");
done:
	free(ex);
	free(ey);
	free(xs);
	free(ys);
	free(order);
}

static void curves_legend(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	enum curve_colors mode = curve_colors(pg);
	double x = 8, y = 18;
	size_t i, rows = 1;
	char lab[128], col[8];

	if (mode == BY_RUN)
		rows += (rep->n_runs + 3) / 4;
	sw_html_printf(h, "<svg class=\"plot legend\" viewBox=\"0 0 1180 %zu\" "
		       "width=\"1180\" height=\"%zu\" role=\"img\" aria-label=\"legend\">\n",
		       rows * 22 + 8, rows * 22 + 8);
	if (pg->best < rep->n_runs)
		x = sw_svg_legend(h, x, y, -1, COL_BEST, NULL, "best run");
	x = sw_svg_legend(h, x, y, -1, "#555", "5 3", "stopped (dashed, ■ at stop)");
	x = sw_svg_legend(h, x, y, SW_MARK_CROSS, COL_FAILED, NULL, "failed (× at failure)");
	x = sw_svg_legend(h, x, y, -1, "#555", "2 3", "killed (dotted, ▲)");
	if (mode == BY_METRIC) {
		x = sw_svg_legend(h, x, y, -1, COL_NONE, NULL, "no metric value");
		/* the colour scale, horizontally: low value on the left */
		sw_html_puts(h, "<defs><linearGradient id=\"curves-cbar\" x1=\"0\" "
			     "y1=\"0\" x2=\"1\" y2=\"0\">");
		for (i = 0; i <= 8; i++) {
			sw_color_viridis(i / 8.0, col);
			sw_html_printf(h, "<stop offset=\"%.3f\" stop-color=\"%s\"/>",
				       i / 8.0, col);
		}
		sw_html_puts(h, "</linearGradient></defs>\n");
		snprintf(lab, sizeof(lab), "%s:", rep->metric);
		sw_svg_text(h, x, y, "start", NULL, lab);
		x += 7 * strlen(lab) + 6;
		sw_fmt_num(lab, sizeof(lab), pg->mlo, 0);
		sw_svg_text(h, x, y, "start", NULL, lab);
		x += 7 * strlen(lab) + 4;
		sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"120\" "
			       "height=\"10\" fill=\"url(#curves-cbar)\" stroke=\"#666\" "
			       "stroke-width=\"0.5\"/>\n", x, y - 9);
		sw_fmt_num(lab, sizeof(lab), pg->mhi, 0);
		sw_svg_text(h, x + 124, y, "start", NULL, lab);
	}
	if (mode == BY_RUN) {
		for (i = 0; i < rep->n_runs; i++) {
			snprintf(lab, sizeof(lab), "%s", rep->runs[i].id);
			sw_svg_legend(h, 8 + (i % 4) * 290, y + 22 * (1 + i / 4), -1,
				      i == pg->best ? COL_BEST : sw_palette(i), NULL, lab);
		}
	}
	sw_html_puts(h, "</svg>\n");
}

static void curves(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	const char *m = rep->metric;
	const char *bases[3] = { NULL, NULL, NULL };
	char train[128], val[128];
	size_t nb = 0, k, shown = 0;

	section_open(h, "curves", "Learning curves");
	if (m && !strncmp(m, "val_", 4))
		bases[nb++] = m + 4;
	else if (m)
		bases[nb++] = m;
	if (!m || strcmp(bases[0], "loss"))
		bases[nb++] = "loss";
	if (!m || strcmp(bases[0], "accuracy"))
		bases[nb++] = "accuracy";
	if (nb > 2 && m)
		nb = 2;
	for (k = 0; k < nb; k++) {
		snprintf(train, sizeof(train), "%s", bases[k]);
		snprintf(val, sizeof(val), "val_%s", bases[k]);
		shown += history_has(rep, train) + history_has(rep, val);
	}
	if (!shown && !(m && history_has(rep, m))) {
		para(h, "empty", "No run logged an epoch with these metrics, so there "
		     "are no curves to draw.");
		sw_html_puts(h, "</section>\n");
		return;
	}
	sw_html_printf(h, "<p class=\"sub\">Training and validation metrics per epoch "
		       "for every run. %s Stopped runs are dashed and end in a square, "
		       "killed runs dotted with a triangle, failed runs end in a cross; "
		       "the best run is drawn in black on top.</p>\n",
		       curve_colors(pg) == BY_RUN ? "Each run has its own colour." :
		       curve_colors(pg) == BY_METRIC ? "Colour shows the run's value of "
		       "the sweep metric (yellow high, purple low)." : "");
	curves_legend(pg);
	sw_html_puts(h, "<div class=\"plots\">\n");
	for (k = 0; k < nb; k++) {
		snprintf(train, sizeof(train), "%s", bases[k]);
		snprintf(val, sizeof(val), "val_%s", bases[k]);
		if (history_has(rep, train))
			curve_panel(pg, train, "training");
		if (history_has(rep, val))
			curve_panel(pg, val, "validation");
	}
	if (!shown)
		curve_panel(pg, m, "sweep metric");
	sw_html_puts(h, "</div>\n");
	sw_html_puts(h, "</section>\n");
}

/* ==== Parallel coordinates ==== */

static void parallel(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	size_t n_axes = pg->n_swept + (rep->metric ? 1 : 0), a, i, j, m, *order = NULL;
	struct sw_scale *sc = NULL;
	struct sw_report_param **ap = NULL;
	double *vals = NULL, *xs = NULL, *ys = NULL, x0 = 70, x1, top = 62, bot, W = 1180,
	       spacing, angle,
	       H = 470, ticks[32], step;
	char col[8], lab[64], attr[128];
	char ***labels = NULL;

	section_open(h, "parallel", "Parallel coordinates");
	if (!pg->n_swept) {
		para(h, "empty", "No parameter took more than one value, so there is "
		     "nothing to compare.");
		sw_html_puts(h, "</section>\n");
		return;
	}
	sw_html_puts(h, rep->metric ?
		     "<p class=\"sub\">One vertical axis per swept parameter and "
		     "one for the metric; each line is a run, coloured by its metric "
		     "value (runs without one are grey and dashed); the best run is "
		     "black. Categorical parameters have one tick per value.</p>\n" :
		     "<p class=\"sub\">One vertical axis per swept parameter; each "
		     "line is a run (the sweep has no metric to colour them by). "
		     "Categorical parameters have one tick per value.</p>\n");
	sc = calloc(n_axes, sizeof(*sc));
	ap = calloc(n_axes, sizeof(*ap));
	labels = calloc(n_axes, sizeof(*labels));
	vals = malloc((rep->n_runs + 1) * sizeof(double));
	xs = malloc(n_axes * sizeof(double));
	ys = malloc(n_axes * sizeof(double));
	order = malloc((rep->n_runs + 1) * sizeof(size_t));
	if (!sc || !ap || !labels || !vals || !xs || !ys || !order) {
		h->failed = 1;
		goto done;
	}
	x1 = W - 120;
	/* axis titles turn steeper, and need more room, as axes get closer */
	spacing = n_axes > 1 ? (x1 - x0) / (double)(n_axes - 1) : x1 - x0;
	angle = spacing >= 150 ? 18 : spacing >= 90 ? 30 : 50;
	top = angle == 18 ? 62 : angle == 30 ? 92 : 124;
	H += top - 62;
	bot = H - 40;
	for (a = 0, j = 0; j < rep->n_params; j++)
		if (pg->swept[j])
			ap[a++] = &rep->params[j];
	for (a = 0; a < n_axes; a++) {
		if (a < pg->n_swept) {
			for (i = 0; i < rep->n_runs; i++)
				vals[i] = param_pos(ap[a], &rep->runs[i]);
			sc[a].integer = ap[a]->integer;
			if (ap[a]->numeric)
				sw_scale_fit(&sc[a], ap[a]->log ? SW_SCALE_LOG : SW_SCALE_LINEAR,
					     vals, rep->n_runs);
			else {
				sw_scale_fit(&sc[a], SW_SCALE_BAND, NULL,
					     json_array_size(ap[a]->levels));
				labels[a] = level_labels(ap[a]);
			}
		} else {
			sw_scale_fit(&sc[a], SW_SCALE_LINEAR, pg->metric, rep->n_runs);
		}
		sc[a].r0 = bot;
		sc[a].r1 = top;
		xs[a] = n_axes > 1 ? x0 + (x1 - x0) * a / (double)(n_axes - 1) :
			(x0 + x1) / 2;
	}
	sw_html_printf(h, "<figure id=\"parallel-plot\"><svg class=\"plot\" viewBox=\"0 0 "
		       "%.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		       "aria-label=\"parallel coordinates of parameters and metric\">\n",
		       W, H, W, H);
	/* lines: runs without a metric first, best last */
	for (i = 0; i < rep->n_runs; i++)
		order[i] = i;
	for (i = 1; i < rep->n_runs; i++) {
		size_t t = order[i], k;

		for (k = i; k > 0 && better(rep, pg->metric[order[k - 1]], pg->metric[t]);
		     k--)
			order[k] = order[k - 1];
		order[k] = t;
	}
	for (m = 0; m < rep->n_runs; m++) {
		char *label;

		i = order[m];
		for (a = 0; a < n_axes; a++) {
			double v = a < pg->n_swept ? param_pos(ap[a], &rep->runs[i]) :
				   pg->metric[i];
			ys[a] = isfinite(v) ? sw_scale_map(&sc[a], v) : NAN;
		}
		if (rep->metric)
			metric_color(pg, pg->metric[i], col);
		else
			snprintf(col, sizeof(col), "%s", COL_FINISHED);
		label = run_label(pg, &rep->runs[i]);
		sw_html_printf(h, "<g class=\"pc-line\" data-run-index=\"%zu\">", i);
		sw_svg_polyline(h, xs, ys, n_axes, i == pg->best ? COL_BEST : col,
				i == pg->best ? 3 : rep->n_runs > 60 ? 1.1 : 1.8,
				isfinite(pg->metric[i]) || !rep->metric ? NULL : "4 3",
				i == pg->best ? 1.0 : isfinite(pg->metric[i]) ?
				(rep->n_runs > 60 ? 0.6 : 0.85) : 0.6,
				label);
		sw_html_puts(h, "</g>\n");
		free(label);
	}
	/* axes on top of the lines */
	for (a = 0; a < n_axes; a++) {
		const char *name = a < pg->n_swept ? ap[a]->name : rep->metric;
		size_t nt;

		sw_html_printf(h, "<g class=\"pc-axis\" data-scale=\"%s\">\n",
			       sc[a].kind == SW_SCALE_LOG ? "log" :
			       sc[a].kind == SW_SCALE_BAND ? "band" : "linear");
		sw_html_printf(h, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			       "y2=\"%.1f\" stroke-width=\"1.5\"/>\n", xs[a], top, xs[a], bot);
		if (sc[a].kind == SW_SCALE_BAND) {
			/* label at most ~24 levels so they stay readable */
			size_t every = sc[a].n_bands > 24 ? (sc[a].n_bands + 23) / 24 : 1;

			for (i = 0; labels[a] && labels[a][i]; i++) {
				double y = sw_scale_map(&sc[a], (double)i);
				char cut[40];

				snprintf(cut, sizeof(cut), "%.18s%s", labels[a][i],
					 strlen(labels[a][i]) > 18 ? "…" : "");
				sw_html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
					       "y2=\"%.1f\" stroke=\"#333\"/>\n", xs[a] - 4, y,
					       xs[a], y);
				if (i % every == 0)
					sw_svg_text(h, xs[a] - 6, y + 4, "end",
						    "class=\"pc-tick\" paint-order=\"stroke\" "
						    "stroke=\"#fff\" stroke-width=\"3\"", cut);
			}
		} else {
			nt = sw_scale_ticks(&sc[a], ticks, 32, &step);
			for (i = 0; i < nt; i++) {
				double y = sw_scale_map(&sc[a], ticks[i]);

				sw_fmt_num(lab, sizeof(lab), ticks[i], step);
				sw_html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
					       "y2=\"%.1f\" stroke=\"#333\"/>\n", xs[a] - 4, y,
					       xs[a], y);
				sw_svg_text(h, xs[a] - 6, y + 4, "end",
					    "class=\"pc-tick\" paint-order=\"stroke\" "
					    "stroke=\"#fff\" stroke-width=\"3\"", lab);
			}
		}
		snprintf(attr, sizeof(attr), "class=\"axis-title\" transform=\"rotate(-%.0f "
			 "%.1f %.1f)\"", angle, xs[a], top - 14);
		{
			char full[160];

			snprintf(full, sizeof(full), "%s%s", name,
				 sc[a].kind == SW_SCALE_LOG ? " (log)" : "");
			sw_svg_text(h, xs[a], top - 14, "start", attr, full);
		}
		sw_html_puts(h, "</g>\n");
	}
	if (rep->metric && pg->n_with_metric)
		sw_svg_colorbar(h, "pc-cbar", W - 60, top, 14, bot - top, pg->mlo, pg->mhi,
				rep->metric);
	sw_html_puts(h, "</svg></figure>\n");
done:
	sw_html_puts(h, "</section>\n");
	if (labels)
		for (a = 0; a < n_axes; a++)
			free_labels(labels[a]);
	free(labels);
	free(sc);
	free(ap);
	free(vals);
	free(xs);
	free(ys);
	free(order);
}

/* ==== Scatter plots ==== */

static void state_legend_row(struct sw_html *h, int with_best)
{
	double x = 8;

	sw_html_puts(h, "<svg class=\"plot legend\" viewBox=\"0 0 1180 26\" width=\"1180\" "
		     "height=\"26\" role=\"img\" aria-label=\"legend\">\n");
	x = sw_svg_legend(h, x, 18, SW_MARK_CIRCLE, COL_FINISHED, NULL, "finished");
	x = sw_svg_legend(h, x, 18, SW_MARK_SQUARE, COL_STOPPED, NULL, "stopped");
	x = sw_svg_legend(h, x, 18, SW_MARK_CROSS, COL_FAILED, NULL, "failed");
	x = sw_svg_legend(h, x, 18, SW_MARK_TRIANGLE, COL_KILLED, NULL, "killed");
	if (with_best)
		sw_svg_legend(h, x, 18, SW_MARK_STAR, COL_BEST, NULL, "best run");
	sw_html_puts(h, "</svg>\n");
}

/* A small deterministic jitter in [-1, 1] for categorical scatter points. */
static double jitter(size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u;

	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	return (x & 0xffff) / 32767.5 - 1;
}

static void scatters(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	double *vals = NULL;
	size_t j, i;
	struct sw_plot p;
	char **labels = NULL, title[256], ylabel[160];

	section_open(h, "scatter", "Parameters against the metric");
	if (!rep->metric || !pg->n_with_metric || !pg->n_swept) {
		para(h, "empty", !rep->metric ? "The sweep defines no metric." :
		     !pg->n_with_metric ? "No run logged the sweep metric." :
		     "No parameter took more than one value.");
		sw_html_puts(h, "</section>\n");
		return;
	}
	sw_html_puts(h, "<p class=\"sub\">One plot per swept parameter: each point "
		     "is a run's best value of the metric. Log-distributed parameters "
		     "have a log x axis; categorical ones one column per value.</p>\n");
	state_legend_row(h, 1);
	vals = malloc((rep->n_runs + 1) * sizeof(double));
	if (!vals) {
		h->failed = 1;
		goto done;
	}
	snprintf(ylabel, sizeof(ylabel), "%s", rep->metric);
	sw_html_puts(h, "<div class=\"plots\">\n");
	for (j = 0; j < rep->n_params; j++) {
		const struct sw_report_param *pr = &rep->params[j];
		enum sw_scale_kind kind = !pr->numeric ? SW_SCALE_BAND :
					  pr->log ? SW_SCALE_LOG : SW_SCALE_LINEAR;

		if (!pg->swept[j])
			continue;
		memset(&p, 0, sizeof(p));
		p.width = 384;
		p.height = 290;
		p.ml = 60;
		p.mr = 20;
		p.mt = 10;
		p.mb = pr->numeric ? 44 : 62;
		for (i = 0; i < rep->n_runs; i++)
			vals[i] = param_pos(pr, &rep->runs[i]);
		p.x.integer = pr->integer;
		if (kind == SW_SCALE_BAND) {
			size_t maxlen = 0, k, nl = json_array_size(pr->levels);

			sw_scale_fit(&p.x, kind, NULL, nl);
			labels = level_labels(pr);
			p.xbands = (const char *const *)labels;
			/* room for labels that sw_plot_open will rotate */
			for (k = 0; labels && labels[k]; k++)
				if (strlen(labels[k]) > maxlen)
					maxlen = strlen(labels[k]);
			if (maxlen > 14)
				maxlen = 14;
			if (nl && maxlen * 6.5 * (nl > 16 ? 16 : nl) > p.width - p.ml - p.mr)
				p.mb = 44 + maxlen * 3.6;
		} else {
			p.x.pad = 0.04;
			sw_scale_fit(&p.x, kind, vals, rep->n_runs);
		}
		p.y.pad = 0.04;
		sw_scale_fit(&p.y, SW_SCALE_LINEAR, pg->metric, rep->n_runs);
		snprintf(title, sizeof(title), "%s against %s", rep->metric, pr->name);
		p.title = title;
		p.xlabel = pr->name;
		p.ylabel = ylabel;
		sw_html_puts(h, "<figure class=\"scatter\" data-param=\"");
		sw_html_esc(h, pr->name);
		sw_html_printf(h, "\" data-scale=\"%s\">\n",
			       kind == SW_SCALE_LOG ? "log" :
			       kind == SW_SCALE_BAND ? "band" : "linear");
		sw_plot_open(h, &p);
		for (i = 0; i < rep->n_runs; i++) {
			const struct sw_report_run *r = &rep->runs[i];
			double x, y;
			char *label;

			if (!isfinite(pg->metric[i]) || !isfinite(vals[i]) || i == pg->best)
				continue;
			x = sw_scale_map(&p.x, vals[i]);
			if (kind == SW_SCALE_BAND)
				x += jitter(i) * 0.25 * (p.x.r1 - p.x.r0) / p.x.n_bands;
			y = sw_scale_map(&p.y, pg->metric[i]);
			label = run_label(pg, r);
			sw_svg_marker(h, state_marker(r->state), x, y,
				      rep->n_runs > 60 ? 3 : 4.5, state_color(r->state),
				      !strcmp(r->state, "failed") ? "none" : "#fff", label);
			free(label);
		}
		if (pg->best < rep->n_runs && isfinite(vals[pg->best])) {
			char *label = run_label(pg, &rep->runs[pg->best]);

			sw_svg_marker(h, SW_MARK_STAR,
				      sw_scale_map(&p.x, vals[pg->best]),
				      sw_scale_map(&p.y, pg->metric[pg->best]), 7, COL_BEST,
				      "#fff", label);
			free(label);
		}
		sw_plot_close(h);
		sw_html_puts(h, "</figure>\n");
		free_labels(labels);
		labels = NULL;
	}
	sw_html_puts(h, "</div>\n");
done:
	sw_html_puts(h, "</section>\n");
	free(vals);
}

/* ==== Best so far ==== */

static void best_so_far(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	struct sw_plot p;
	double *xs = NULL, *ys = NULL, *idx = NULL, best = NAN;
	size_t i, n = 0, m, *seq = NULL;
	char ylabel[160], xlabel[64];

	section_open(h, "best-so-far", "Best value so far");
	if (!rep->metric || !pg->n_with_metric) {
		para(h, "empty", !rep->metric ? "The sweep defines no metric." :
		     "No run logged the sweep metric.");
		sw_html_puts(h, "</section>\n");
		return;
	}
	sw_html_printf(h, "<p class=\"sub\">Each run's value of the metric by run "
		       "number (%s), and the best value reached so far.</p>\n",
		       run_order_words(rep));
	xs = malloc((2 * rep->n_runs + 2) * sizeof(double));
	ys = malloc((2 * rep->n_runs + 2) * sizeof(double));
	idx = malloc((rep->n_runs + 1) * sizeof(double));
	seq = malloc((rep->n_runs + 1) * sizeof(size_t));
	if (!xs || !ys || !idx || !seq) {
		h->failed = 1;
		goto done;
	}
	/* seq: the runs in run-number order (insertion sort: nearly sorted) */
	for (i = 0; i < rep->n_runs; i++) {
		idx[i] = run_number(rep, &rep->runs[i]);
		for (m = i; m > 0 && idx[seq[m - 1]] > idx[i]; m--)
			seq[m] = seq[m - 1];
		seq[m] = i;
	}
	memset(&p, 0, sizeof(p));
	p.width = 1180;
	p.height = 320;
	p.ml = 70;
	p.mr = 20;
	p.mt = 34;
	p.mb = 44;
	p.x.integer = 1;
	sw_scale_fit(&p.x, SW_SCALE_LINEAR, idx, rep->n_runs);
	if (p.x.d0 > 0 && p.x.d0 <= 1)
		p.x.d0 = 0;
	p.y.pad = 0.04;
	sw_scale_fit(&p.y, SW_SCALE_LINEAR, pg->metric, rep->n_runs);
	snprintf(ylabel, sizeof(ylabel), "%s", rep->metric);
	snprintf(xlabel, sizeof(xlabel), "run number (%s)", run_order_words(rep));
	p.xlabel = xlabel;
	p.ylabel = ylabel;
	p.title = "best value so far against run index";
	sw_html_puts(h, "<figure id=\"best-so-far-plot\">\n");
	sw_plot_open(h, &p);
	{
		double x = p.ml + 4;

		x = sw_svg_legend(h, x, 20, SW_MARK_CIRCLE, COL_NONE, NULL, "a run's value");
		x = sw_svg_legend(h, x, 20, -1, COL_FINISHED, NULL, "best so far");
		sw_svg_legend(h, x, 20, SW_MARK_STAR, COL_BEST, NULL, "best run");
	}
	for (m = 0; m < rep->n_runs; m++) {
		double v;
		char *label;

		i = seq[m];
		v = pg->metric[i];
		if (better(rep, v, best)) {
			if (n) {
				xs[n] = sw_scale_map(&p.x, idx[i]);
				ys[n] = ys[n - 1];
				n++;
			}
			best = v;
			xs[n] = sw_scale_map(&p.x, idx[i]);
			ys[n] = sw_scale_map(&p.y, best);
			n++;
		}
		if (!isfinite(v))
			continue;
		label = run_label(pg, &rep->runs[i]);
		sw_svg_marker(h, SW_MARK_CIRCLE, sw_scale_map(&p.x, idx[i]),
			      sw_scale_map(&p.y, v), rep->n_runs > 60 ? 2.5 : 3.5,
			      COL_NONE, "none", label);
		free(label);
	}
	if (n) {
		xs[n] = sw_scale_map(&p.x, idx[seq[rep->n_runs - 1]]);
		ys[n] = ys[n - 1];
		n++;
	}
	sw_svg_polyline(h, xs, ys, n, COL_FINISHED, 2.2, NULL, 1, "best so far");
	if (pg->best < rep->n_runs)
		sw_svg_marker(h, SW_MARK_STAR, sw_scale_map(&p.x, idx[pg->best]),
			      sw_scale_map(&p.y, pg->metric[pg->best]), 7, COL_BEST, "#fff",
			      rep->runs[pg->best].id);
	sw_plot_close(h);
	sw_html_puts(h, "</figure>\n");
done:
	sw_html_puts(h, "</section>\n");
	free(xs);
	free(ys);
	free(idx);
	free(seq);
}

/* ==== Parameter importance ==== */

struct imp_row {
	size_t param;
	double importance, corr;
	int categorical;
};

static int cmp_imp(const void *a, const void *b)
{
	const struct imp_row *x = a, *y = b;

	if (x->importance != y->importance)
		return x->importance > y->importance ? -1 : 1;
	return x->param < y->param ? -1 : x->param > y->param;
}

static void importance(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	size_t n = 0, cols = 0, i, j, c, r, *rowmap = NULL, *group = NULL, g;
	double *X = NULL, *y = NULL, *xv = NULL, *imp = NULL;
	int *cat = NULL;
	struct imp_row *rows = NULL;
	struct sw_forest_opts fo = SW_FOREST_OPTS_INIT;
	double W = 1180, rowh = 26, top = 40, H, bx0 = 250, bw = 380, cx0 = 720, cw = 380;
	char num[64];

	section_open(h, "importance", "Parameter importance");
	sw_html_puts(h, "<p class=\"method\" id=\"importance-method\">How this is "
		     "computed: <b>importance</b> is a random forest's share of the "
		     "variance explained per parameter (100 regression trees on bootstrap "
		     "samples of the runs, depth at most 8, predicting the metric from the "
		     "parameters, categorical values one-hot encoded, log-distributed "
		     "values as log10; the importances are mean decreases in impurity and "
		     "add up to 1, as in wandb's parameter-importance panel). "
		     "<b>Correlation</b> is Spearman's rank correlation between the "
		     "parameter and the metric (blue positive, orange negative); for "
		     "categorical parameters it is the correlation ratio &eta; (0 to 1, no "
		     "sign, grey). Both use only runs with a value of the metric.</p>\n");
	for (i = 0; i < rep->n_runs; i++)
		if (isfinite(pg->metric[i]))
			n++;
	if (!rep->metric || n < 3 || !pg->n_swept) {
		para(h, "empty", !rep->metric ? "The sweep defines no metric." :
		     !pg->n_swept ? "No parameter took more than one value." :
		     "Needs at least 3 runs with a value of the metric.");
		sw_html_puts(h, "</section>\n");
		return;
	}
	rowmap = malloc(n * sizeof(size_t));
	y = malloc(n * sizeof(double));
	xv = malloc(n * sizeof(double));
	cat = malloc(n * sizeof(int));
	rows = calloc(pg->n_swept, sizeof(*rows));
	imp = calloc(pg->n_swept, sizeof(double));
	if (!rowmap || !y || !xv || !cat || !rows || !imp) {
		h->failed = 1;
		goto done;
	}
	for (i = 0, r = 0; i < rep->n_runs; i++)
		if (isfinite(pg->metric[i])) {
			rowmap[r] = i;
			y[r++] = pg->metric[i];
		}
	for (j = 0; j < rep->n_params; j++)
		if (pg->swept[j])
			cols += rep->params[j].numeric ? 1 : json_array_size(rep->params[j].levels);
	X = calloc(n * cols, sizeof(double));
	group = calloc(cols, sizeof(size_t));
	if (!X || !group) {
		h->failed = 1;
		goto done;
	}
	for (j = 0, c = 0, g = 0; j < rep->n_params; j++) {
		const struct sw_report_param *pr = &rep->params[j];

		if (!pg->swept[j])
			continue;
		rows[g].param = j;
		rows[g].categorical = !pr->numeric;
		if (pr->numeric) {
			double lo = INFINITY, hi = -INFINITY;

			for (r = 0; r < n; r++) {
				xv[r] = param_pos(pr, &rep->runs[rowmap[r]]);
				if (pr->log && isfinite(xv[r]))
					xv[r] = log10(xv[r]);
				if (isfinite(xv[r])) {
					lo = xv[r] < lo ? xv[r] : lo;
					hi = xv[r] > hi ? xv[r] : hi;
				}
			}
			rows[g].corr = sw_stat_spearman(xv, y, n);
			for (r = 0; r < n; r++)
				X[r * cols + c] = isfinite(xv[r]) ? xv[r] :
						  (isfinite(lo) ? lo - (hi - lo + 1) : 0);
			group[c++] = g;
		} else {
			size_t nl = json_array_size(pr->levels), l;

			for (r = 0; r < n; r++) {
				double pos = param_pos(pr, &rep->runs[rowmap[r]]);

				cat[r] = isfinite(pos) ? (int)pos : -1;
			}
			rows[g].corr = sw_stat_corr_ratio(cat, nl, y, n);
			for (l = 0; l < nl; l++) {
				for (r = 0; r < n; r++)
					X[r * cols + c] = cat[r] == (int)l;
				group[c++] = g;
			}
		}
		g++;
	}
	if (sw_forest_importance(X, n, cols, y, group, pg->n_swept, &fo, imp) < 0) {
		h->failed = 1;
		goto done;
	}
	for (g = 0; g < pg->n_swept; g++)
		rows[g].importance = imp[g];
	qsort(rows, pg->n_swept, sizeof(*rows), cmp_imp);

	H = top + rowh * pg->n_swept + 16;
	sw_html_printf(h, "<figure id=\"importance-chart\"><svg class=\"plot\" viewBox=\"0 0 "
		       "%.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		       "aria-label=\"parameter importance\">\n", W, H, W, H);
	sw_svg_text(h, 10, 22, "start", "class=\"axis-title\"", "parameter");
	sw_svg_text(h, bx0, 22, "start", "class=\"axis-title\"",
		    "importance (random forest, 0 to 1)");
	sw_svg_text(h, cx0, 22, "start", "class=\"axis-title\"",
		    "correlation (Spearman, or η for categorical; -1 to 1)");
	sw_html_printf(h, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		       "y2=\"%.1f\"/>\n", cx0 + cw / 2, top - 6, cx0 + cw / 2, H - 8);
	for (g = 0; g < pg->n_swept; g++) {
		double yy = top + g * rowh, v = rows[g].importance, cr = rows[g].corr;
		const char *name = rep->params[rows[g].param].name;
		char cut[64];

		sw_html_printf(h, "<g class=\"imp-row\" data-importance=\"%.4f\">\n", v);
		snprintf(cut, sizeof(cut), "%.30s%s", name, strlen(name) > 30 ? "…" : "");
		sw_svg_text(h, 10, yy + 16, "start", NULL, cut);
		sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			       "fill=\"#f0f0f0\"/>\n", bx0, yy + 4, bw, rowh - 8);
		sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			       "fill=\"%s\"/>\n", bx0, yy + 4, bw * (isfinite(v) ? v : 0),
			       rowh - 8, "#009e73");
		sw_fmt_num(num, sizeof(num), v, 0.001);
		sw_svg_text(h, bx0 + bw + 6, yy + 16, "start", NULL, num);
		if (isfinite(cr)) {
			double mid = cx0 + cw / 2, wdt = fabs(cr) * cw / 2;
			const char *col = rows[g].categorical ? "#8a8a8a" :
					  cr >= 0 ? COL_FINISHED : COL_STOPPED;

			sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				       "height=\"%.1f\" fill=\"%s\"/>\n",
				       cr >= 0 ? mid : mid - wdt, yy + 4, wdt, rowh - 8, col);
			sw_fmt_num(num, sizeof(num), cr, 0.01);
			if (rows[g].categorical) {
				char eta[80];

				snprintf(eta, sizeof(eta), "η %s", num);
				sw_svg_text(h, cx0 + cw + 6, yy + 16, "start", NULL, eta);
			} else {
				sw_svg_text(h, cx0 + cw + 6, yy + 16, "start", NULL, num);
			}
		} else {
			sw_svg_text(h, cx0 + cw + 6, yy + 16, "start", NULL,
				    "– (constant among runs with a metric)");
		}
		sw_html_puts(h, "</g>\n");
	}
	sw_html_puts(h, "</svg></figure>\n");
	sw_html_printf(h, "<p class=\"sub\">Computed from %zu runs with a value of the "
		       "metric.%s</p>\n", n, n < 10 ? " With this few runs, treat it as a "
		       "hint only." : "");
done:
	sw_html_puts(h, "</section>\n");
	free(rowmap);
	free(y);
	free(xv);
	free(cat);
	free(rows);
	free(imp);
	free(X);
	free(group);
}

/* ==== Alerts and definition ==== */

static void alerts(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	json_t *keys = json_array(), *a, *kk, *v;
	const char *key;
	size_t i, k;

	section_open(h, "alerts", "Alerts");
	if (!keys) {
		h->failed = 1;
		goto done;
	}
	if (!json_array_size(rep->alerts)) {
		para(h, "empty", "No alerts were raised.");
		goto done;
	}
	json_array_foreach(rep->alerts, i, a) {
		json_object_foreach(a, key, v) {
			int dup = 0;

			json_array_foreach(keys, k, kk)
				if (!strcmp(json_string_value(kk), key))
					dup = 1;
			if (!dup && json_array_size(keys) < 10)
				json_array_append_new(keys, json_string(key));
		}
	}
	sw_html_printf(h, "<p class=\"sub\">%zu alerts.</p>\n<div class=\"tablewrap\">"
		       "<table class=\"sortable\" id=\"alerts-table\"><thead><tr>",
		       json_array_size(rep->alerts));
	json_array_foreach(keys, k, kk) {
		sw_html_puts(h, "<th>");
		sw_html_esc(h, json_string_value(kk));
		sw_html_puts(h, "</th>");
	}
	sw_html_puts(h, "</tr></thead><tbody>\n");
	json_array_foreach(rep->alerts, i, a) {
		sw_html_puts(h, "<tr>");
		json_array_foreach(keys, k, kk) {
			v = json_object_get(a, json_string_value(kk));
			sw_html_puts(h, "<td>");
			if (v && !json_is_null(v))
				esc_json(h, v);
			sw_html_puts(h, "</td>");
		}
		sw_html_puts(h, "</tr>\n");
	}
	sw_html_puts(h, "</tbody></table></div>\n");
done:
	sw_html_puts(h, "</section>\n");
	json_decref(keys);
}

static void definition(struct page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	const char *key;
	json_t *v;

	section_open(h, "definition", "Sweep definition");
	if (rep->meta && json_is_object(rep->meta)) {
		sw_html_puts(h, "<table class=\"kv\" id=\"meta\">\n");
		json_object_foreach(rep->meta, key, v) {
			sw_html_puts(h, "<tr><td>");
			sw_html_esc(h, key);
			sw_html_puts(h, "</td><td>");
			esc_json(h, v);
			sw_html_puts(h, "</td></tr>\n");
		}
		sw_html_puts(h, "</table>\n");
	} else {
		para(h, "empty", "meta.json is missing.");
	}
	sw_html_puts(h, "<h3>sweep.yaml</h3>\n");
	if (rep->spec_text) {
		sw_html_puts(h, "<pre id=\"sweep-yaml\">");
		sw_html_escn(h, rep->spec_text, rep->spec_len);
		sw_html_puts(h, "</pre>\n");
	} else {
		para(h, "empty", "sweep.yaml is missing.");
	}
	sw_html_puts(h, "</section>\n");
}

/* ==== The page ==== */

int sw_report_html(const struct sw_report *rep, struct sw_buf *out,
		   struct sw_err *err)
{
	struct page pg;
	size_t i, j;
	int ret = -1;

	memset(&pg, 0, sizeof(pg));
	pg.rep = rep;
	pg.h.buf = *out;
	pg.metric = malloc((rep->n_runs + 1) * sizeof(double));
	pg.swept = calloc(rep->n_params + 1, sizeof(int));
	if (!pg.metric || !pg.swept) {
		sw_errorf(err, "out of memory rendering the report");
		goto done;
	}
	pg.best = rep->n_runs;
	pg.mlo = INFINITY;
	pg.mhi = -INFINITY;
	for (i = 0; i < rep->n_runs; i++) {
		pg.metric[i] = rep->runs[i].metric;
		if (!isfinite(pg.metric[i]))
			continue;
		pg.n_with_metric++;
		if (pg.best == rep->n_runs || better(rep, pg.metric[i], pg.metric[pg.best]))
			pg.best = i;
		pg.mlo = pg.metric[i] < pg.mlo ? pg.metric[i] : pg.mlo;
		pg.mhi = pg.metric[i] > pg.mhi ? pg.metric[i] : pg.mhi;
	}
	/* swept: not a constant in sweep.yaml, and took 2+ values (or there is
	 * only one run, which still gets its single point) */
	for (j = 0; j < rep->n_params; j++) {
		const struct sw_report_param *p = &rep->params[j];

		if (!p->n_recorded || (p->dist && !strcmp(p->dist, "constant")))
			continue;
		if (!p->varies && !(rep->n_runs == 1 && p->dist))
			continue;
		pg.swept[j] = 1;
		pg.n_swept++;
	}

	sw_html_puts(&pg.h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		     "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
		     "content=\"width=device-width, initial-scale=1\">\n"
		     "<meta name=\"generator\" content=\"sweep " SW_VERSION "\">\n<title>");
	sw_html_esc(&pg.h, rep->name);
	sw_html_puts(&pg.h, " – sweep report</title>\n");
	sw_html_puts(&pg.h, css);
	sw_html_puts(&pg.h, "</head>\n<body>\n<header>\n<h1>Sweep report: ");
	sw_html_esc(&pg.h, rep->name);
	sw_html_puts(&pg.h, "</h1>\n<p class=\"sub\">");
	sw_html_esc(&pg.h, rep->dir);
	sw_html_puts(&pg.h, " · written by sweep " SW_VERSION "</p>\n"
		     "<nav><a href=\"#outcome\">Outcome</a><a href=\"#runs\">Runs</a>"
		     "<a href=\"#curves\">Learning curves</a>"
		     "<a href=\"#parallel\">Parallel coordinates</a>"
		     "<a href=\"#scatter\">Parameters vs metric</a>"
		     "<a href=\"#best-so-far\">Best so far</a>"
		     "<a href=\"#importance\">Importance</a>"
		     "<a href=\"#alerts\">Alerts</a>"
		     "<a href=\"#definition\">Definition</a></nav>\n</header>\n<main>\n");
	outcome(&pg);
	runs_table(&pg);
	curves(&pg);
	parallel(&pg);
	scatters(&pg);
	best_so_far(&pg);
	importance(&pg);
	alerts(&pg);
	definition(&pg);
	sw_html_puts(&pg.h, "</main>\n");
	sw_html_puts(&pg.h, script);
	sw_html_puts(&pg.h, "</body>\n</html>\n");
	if (pg.h.failed) {
		sw_errorf(err, "out of memory rendering the report");
		goto done;
	}
	ret = 0;
done:
	*out = pg.h.buf;
	free(pg.metric);
	free(pg.swept);
	return ret;
}

/* ==== Writing ==== */

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes data to path through path.tmp-PID, fsync and rename. */
static int replace_file(const char *path, const char *data, size_t len,
			struct sw_err *err)
{
	char *tmp = NULL;
	int fd = -1, ret = -1;

	if (asprintf(&tmp, "%s.tmp-%ld", path, (long)getpid()) < 0)
		return sw_errorf(err, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		sw_errorf(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		sw_errorf(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		sw_errorf(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		sw_errorf(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

int sw_report_write(const char *dir, const char *out_path, struct sw_err *err)
{
	struct sw_report rep = SW_REPORT_INIT;
	struct sw_buf html = SW_BUF_INIT;
	char *def = NULL;
	int ret = -1;

	if (sw_report_load(&rep, dir, err) < 0)
		return -1;
	if (!out_path) {
		if (asprintf(&def, "%s/report.html", dir) < 0) {
			def = NULL;
			sw_errorf(err, "out of memory");
			goto done;
		}
		out_path = def;
	}
	if (sw_report_html(&rep, &html, err) < 0)
		goto done;
	if (replace_file(out_path, html.data, html.len, err) < 0)
		goto done;
	ret = 0;
done:
	free(def);
	sw_buf_release(&html);
	sw_report_release(&rep);
	return ret;
}
