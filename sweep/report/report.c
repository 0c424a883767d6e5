/* report.c - the HTML page of `sweep report`; see include/sweep/report/report.h.
 * This file has the page's frame and its text parts (outcome, runs table,
 * alerts, definition) and writes the file; the figures are in
 * report_plots.c, the helpers both use in report_page.c, loading in
 * report_load.c, drawing primitives in
 * report_svg.c, the importance statistics in report_stats.c. */
#define _GNU_SOURCE
#include "sweep/report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_page.h"
#include "base/cli.h"

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

/* best.json is written at every new best epoch, also of runs that never
 * ended (in flight at a crash): say so when it names another run than the
 * best ended one. */
static void best_json_note(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	const char *id = json_string_value(json_object_get(rep->best, "run"));
	double v = sw_rp_jnum(json_object_get(rep->best, "value"));
	char num[64], *msg = NULL;
	size_t i;

	if (!id || !isfinite(v) || (pg->best < rep->n_runs &&
				    !strcmp(rep->runs[pg->best].id, id)))
		return;
	for (i = 0; i < rep->n_runs && strcmp(rep->runs[i].id, id); i++)
		;
	sw_fmt_num(num, sizeof(num), v, 0);
	if (asprintf(&msg, "best.json names run %s (%s = %s)%s", id,
		     rep->metric ? rep->metric : "metric", num,
		     i < rep->n_runs ? ", not the best ended run shown here" :
		     ", which never ended (it was in flight when the sweep stopped); "
		     "it is not in the table") < 0) {
		pg->h.failed = 1;
		return;
	}
	sw_rp_para(&pg->h, "note", msg);
	free(msg);
}

/* A table (class kv, the given id) of obj's members: the key, then the
 * value as JSON. */
static void kv_table(struct sw_html *h, const char *id, const json_t *obj)
{
	const char *key;
	json_t *v;

	sw_html_puts(h, "<table class=\"kv\" id=\"");
	sw_html_puts(h, id);
	sw_html_puts(h, "\">\n");
	json_object_foreach((json_t *)obj, key, v) {
		sw_html_puts(h, "<tr><td>");
		sw_html_esc(h, key);
		sw_html_puts(h, "</td><td>");
		sw_rp_esc_json(h, v);
		sw_html_puts(h, "</td></tr>\n");
	}
	sw_html_puts(h, "</table>\n");
}

static void outcome(struct sw_rp_page *pg)
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

	sw_rp_section_open(h, "outcome", "Outcome");
	for (i = 0; i < rep->n_runs; i++) {
		for (k = 0; k < 4; k++)
			if (!strcmp(rep->runs[i].state, states[k]))
				break;
		counts[k]++;
		if (isfinite(rep->runs[i].runtime_s))
			compute += rep->runs[i].runtime_s;
		json_array_foreach(rep->runs[i].history, k, e) {
			ts = sw_rp_jnum(json_object_get(e, "_timestamp"));
			if (isfinite(ts) && !(ts <= t1))
				t1 = ts;
		}
	}
	t0 = sw_rp_jnum(json_object_get(rep->meta, "start_timestamp"));

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
	sw_rp_fmt_duration(dur, sizeof(dur), compute);
	sw_html_printf(h, "<div class=\"card\" id=\"total-time\"><div>Total time</div>"
		       "<div class=\"big\">%s</div><div>training time of all runs", dur);
	if (isfinite(t0) && isfinite(t1) && t1 >= t0) {
		sw_rp_fmt_duration(dur, sizeof(dur), t1 - t0);
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
		sw_rp_para(h, "note", rep->notes[i]);
	best_json_note(pg);

	if (pg->best < rep->n_runs) {
		b = &rep->runs[pg->best];
		sw_html_puts(h, "<h3>Best configuration</h3>\n");
		kv_table(h, "best-config", b->params);
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
	const struct sw_rp_page *pg;
	size_t i;
};

static int cmp_runs(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	const struct sw_report *rep = x->pg->rep;
	double u = rep->runs[x->i].metric, v = rep->runs[y->i].metric;

	if (sw_rp_better(rep, u, v))
		return -1;
	if (sw_rp_better(rep, v, u))
		return 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void runs_table(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	json_t *keys = summary_keys(rep), *kk, *v, *summary;
	struct order *ord = calloc(rep->n_runs ? rep->n_runs : 1, sizeof(*ord));
	size_t i, j, k;
	const struct sw_report_run *r;
	char dur[64];

	sw_rp_section_open(h, "runs", "Runs");
	if (!keys || !ord) {
		h->failed = 1;
		goto done;
	}
	sw_html_printf(h, "<p class=\"sub\">%zu run%s, best first; click a column to "
		       "sort. # is the run's number in the %s.</p>\n", rep->n_runs,
		       rep->n_runs == 1 ? "" : "s", sw_rp_run_order_words(rep));
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
		sw_html_printf(h, "<tr class=\"run %s%s\">", sw_rp_state_class(r->state),
			       i == pg->best ? " best" : "");
		sw_html_printf(h, "<td class=\"num\" data-v=\"%.0f\">%.0f</td><td>",
			       sw_rp_run_number(rep, r), sw_rp_run_number(rep, r));
		sw_html_esc(h, r->id);
		sw_html_printf(h, "%s</td><td><span class=\"state %s\">",
			       i == pg->best ? " ★" : "", sw_rp_state_class(r->state));
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
				sw_rp_esc_json(h, v);
			sw_html_puts(h, "</td>");
		}
		if (r->epochs >= 0)
			sw_html_printf(h, "<td class=\"num\" data-v=\"%lld\">%lld</td>",
				       r->epochs, r->epochs);
		else
			sw_html_puts(h, "<td class=\"num\">–</td>");
		sw_rp_fmt_duration(dur, sizeof(dur), r->runtime_s);
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
					  (!strcmp(json_string_value(v), "NaN") ? NAN : sw_rp_jnum(v)),
				       NULL);
			else {
				sw_html_puts(h, "<td>");
				sw_rp_esc_json(h, v);
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

/* ==== Alerts and definition ==== */

static void alerts(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	json_t *keys = json_array(), *a, *kk, *v;
	const char *key;
	size_t i, k;

	sw_rp_section_open(h, "alerts", "Alerts");
	if (!keys) {
		h->failed = 1;
		goto done;
	}
	if (!json_array_size(rep->alerts)) {
		sw_rp_para(h, "empty", "No alerts were raised.");
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
				sw_rp_esc_json(h, v);
			sw_html_puts(h, "</td>");
		}
		sw_html_puts(h, "</tr>\n");
	}
	sw_html_puts(h, "</tbody></table></div>\n");
done:
	sw_html_puts(h, "</section>\n");
	json_decref(keys);
}

static void definition(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;

	sw_rp_section_open(h, "definition", "Sweep definition");
	if (rep->meta && json_is_object(rep->meta)) {
		kv_table(h, "meta", rep->meta);
	} else {
		sw_rp_para(h, "empty", "meta.json is missing.");
	}
	sw_html_puts(h, "<h3>sweep.yaml</h3>\n");
	if (rep->spec_text) {
		sw_html_puts(h, "<pre id=\"sweep-yaml\">");
		sw_html_escn(h, rep->spec_text, rep->spec_len);
		sw_html_puts(h, "</pre>\n");
	} else {
		sw_rp_para(h, "empty", "sweep.yaml is missing.");
	}
	sw_html_puts(h, "</section>\n");
}

/* ==== The page ==== */

int sw_report_html(const struct sw_report *rep, struct sw_buf *out,
		   struct sw_err *err)
{
	struct sw_rp_page pg;
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
		if (pg.best == rep->n_runs || sw_rp_better(rep, pg.metric[i], pg.metric[pg.best]))
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
	sw_rp_curves(&pg);
	sw_rp_parallel(&pg);
	sw_rp_scatters(&pg);
	sw_rp_best_so_far(&pg);
	sw_rp_importance(&pg);
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
