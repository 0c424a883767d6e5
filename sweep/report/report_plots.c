/* report_plots.c - the figures of `sweep report`'s page: learning curves,
 * parallel coordinates, one scatter plot per parameter, the best value so
 * far, and parameter importance. See sweep/report/report_page.h. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_page.h"
#include "sweep/report/report_stats.h"

/* ==== Learning curves ==== */

static int history_has(const struct sw_report *rep, const char *key)
{
	size_t i, k;
	json_t *e;

	for (i = 0; i < rep->n_runs; i++)
		json_array_foreach(rep->runs[i].history, k, e)
			if (isfinite(sw_rp_jnum(json_object_get(e, key))))
				return 1;
	return 0;
}

static double epoch_of(const json_t *e, size_t k)
{
	double x = sw_rp_jnum(json_object_get(e, "epoch"));

	if (isfinite(x))
		return x;
	x = sw_rp_jnum(json_object_get(e, "_step"));
	return isfinite(x) ? x + 1 : (double)(k + 1);
}

/* How the curves are coloured: one colour per run (few runs, with a
 * legend naming them), by the run's metric value (viridis), or all alike
 * (many runs and no metric). */
enum curve_colors { BY_RUN, BY_METRIC, PLAIN };

static enum curve_colors curve_colors(const struct sw_rp_page *pg)
{
	if (pg->rep->n_runs <= SW_PALETTE_N)
		return BY_RUN;
	return pg->n_with_metric ? BY_METRIC : PLAIN;
}

static void run_curve_color(const struct sw_rp_page *pg, size_t i, char out[8])
{
	switch (curve_colors(pg)) {
	case BY_RUN:
		snprintf(out, 8, "%s", sw_palette(i));
		break;
	case BY_METRIC:
		sw_rp_metric_color(pg, pg->metric[i], out);
		break;
	default:
		snprintf(out, 8, "%s", COL_FINISHED);
		break;
	}
}

static void curve_panel(struct sw_rp_page *pg, const char *key, const char *what)
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
			ey[n] = sw_rp_jnum(json_object_get(e, key));
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
	snprintf(title, sizeof(title), "%s: %s per epoch", what, key);
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

		for (k = i; k > 0 && sw_rp_better(rep, pg->metric[order[k - 1]], pg->metric[t]);
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
			v = sw_rp_jnum(json_object_get(e, key));
			ys[k] = isfinite(v) ? sw_scale_map(&p.y, v) : NAN;
		}
		if (!n)
			continue;
		run_curve_color(pg, i, col);
		label = sw_rp_run_label(pg, r);
		sw_html_printf(h, "<g class=\"run-curve %s\" data-run-index=\"%zu\">\n",
			       sw_rp_state_class(r->state), i);
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
				sw_svg_marker(h, sw_rp_state_marker(r->state), xs[k - 1], ys[k - 1],
					      many ? 3.5 : 4.5, sw_rp_state_color(r->state),
					      strcmp(r->state, "failed") ? "#333" : "none",
					      label);
		}
		sw_html_puts(h, "</g>\n");
		free(label);
	}
	sw_plot_close(h);
	sw_html_puts(h, "<figcaption>");
	sw_html_esc(h, title);
	sw_html_puts(h, "</figcaption>\n</figure>\n");
done:
	free(ex);
	free(ey);
	free(xs);
	free(ys);
	free(order);
}

static void curves_legend(struct sw_rp_page *pg)
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

void sw_rp_curves(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	const char *m = rep->metric;
	const char *bases[3] = { NULL, NULL, NULL };
	char train[128], val[128];
	size_t nb = 0, k, shown = 0;

	sw_rp_section_open(h, "curves", "Learning curves");
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
		sw_rp_para(h, "empty", "No run logged an epoch with these metrics, so there "
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

void sw_rp_parallel(struct sw_rp_page *pg)
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

	sw_rp_section_open(h, "parallel", "Parallel coordinates");
	if (!pg->n_swept) {
		sw_rp_para(h, "empty", "No parameter took more than one value, so there is "
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
				vals[i] = sw_rp_param_pos(ap[a], &rep->runs[i]);
			sc[a].integer = ap[a]->integer;
			if (!sw_rp_param_is_categorical(ap[a]))
				sw_scale_fit(&sc[a], ap[a]->log ? SW_SCALE_LOG : SW_SCALE_LINEAR,
					     vals, rep->n_runs);
			else {
				sw_scale_fit(&sc[a], SW_SCALE_BAND, NULL,
					     json_array_size(ap[a]->levels));
				labels[a] = sw_rp_level_labels(ap[a]);
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

		for (k = i; k > 0 && sw_rp_better(rep, pg->metric[order[k - 1]], pg->metric[t]);
		     k--)
			order[k] = order[k - 1];
		order[k] = t;
	}
	for (m = 0; m < rep->n_runs; m++) {
		char *label;

		i = order[m];
		for (a = 0; a < n_axes; a++) {
			double v = a >= pg->n_swept ? pg->metric[i] :
				   sc[a].kind == SW_SCALE_BAND ?
				   sw_rp_param_level(ap[a], &rep->runs[i]) :
				   sw_rp_param_pos(ap[a], &rep->runs[i]);
			ys[a] = isfinite(v) ? sw_scale_map(&sc[a], v) : NAN;
		}
		if (rep->metric)
			sw_rp_metric_color(pg, pg->metric[i], col);
		else
			snprintf(col, sizeof(col), "%s", COL_FINISHED);
		label = sw_rp_run_label(pg, &rep->runs[i]);
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
			sw_rp_free_labels(labels[a]);
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

void sw_rp_scatters(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	double *vals = NULL;
	size_t j, i;
	struct sw_plot p;
	char **labels = NULL, title[256], ylabel[160];

	sw_rp_section_open(h, "scatter", "Parameters against the metric");
	if (!rep->metric || !pg->n_with_metric || !pg->n_swept) {
		sw_rp_para(h, "empty", !rep->metric ? "The sweep defines no metric." :
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
			vals[i] = sw_rp_param_pos(pr, &rep->runs[i]);
		p.x.integer = pr->integer;
		if (kind == SW_SCALE_BAND) {
			size_t maxlen = 0, k, nl = json_array_size(pr->levels);

			sw_scale_fit(&p.x, kind, NULL, nl);
			labels = sw_rp_level_labels(pr);
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
			label = sw_rp_run_label(pg, r);
			sw_svg_marker(h, sw_rp_state_marker(r->state), x, y,
				      rep->n_runs > 60 ? 3 : 4.5, sw_rp_state_color(r->state),
				      !strcmp(r->state, "failed") ? "none" : "#fff", label);
			free(label);
		}
		if (pg->best < rep->n_runs && isfinite(vals[pg->best])) {
			char *label = sw_rp_run_label(pg, &rep->runs[pg->best]);

			sw_svg_marker(h, SW_MARK_STAR,
				      sw_scale_map(&p.x, vals[pg->best]),
				      sw_scale_map(&p.y, pg->metric[pg->best]), 7, COL_BEST,
				      "#fff", label);
			free(label);
		}
		sw_plot_close(h);
		sw_html_puts(h, "</figure>\n");
		sw_rp_free_labels(labels);
		labels = NULL;
	}
	sw_html_puts(h, "</div>\n");
done:
	sw_html_puts(h, "</section>\n");
	free(vals);
}

/* ==== Best so far ==== */

void sw_rp_best_so_far(struct sw_rp_page *pg)
{
	const struct sw_report *rep = pg->rep;
	struct sw_html *h = &pg->h;
	struct sw_plot p;
	double *xs = NULL, *ys = NULL, *idx = NULL, best = NAN;
	size_t i, n = 0, m, *seq = NULL;
	char ylabel[160], xlabel[64];

	sw_rp_section_open(h, "best-so-far", "Best value so far");
	if (!rep->metric || !pg->n_with_metric) {
		sw_rp_para(h, "empty", !rep->metric ? "The sweep defines no metric." :
		     "No run logged the sweep metric.");
		sw_html_puts(h, "</section>\n");
		return;
	}
	sw_html_printf(h, "<p class=\"sub\">Each run's value of the metric by run "
		       "number (%s), and the best value reached so far.</p>\n",
		       sw_rp_run_order_words(rep));
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
		idx[i] = sw_rp_run_number(rep, &rep->runs[i]);
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
	snprintf(xlabel, sizeof(xlabel), "run number (%s)", sw_rp_run_order_words(rep));
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
		if (sw_rp_better(rep, v, best)) {
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
		label = sw_rp_run_label(pg, &rep->runs[i]);
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

void sw_rp_importance(struct sw_rp_page *pg)
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

	sw_rp_section_open(h, "importance", "Parameter importance");
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
		sw_rp_para(h, "empty", !rep->metric ? "The sweep defines no metric." :
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
				xv[r] = sw_rp_param_pos(pr, &rep->runs[rowmap[r]]);
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
				double pos = sw_rp_param_pos(pr, &rep->runs[rowmap[r]]);

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

