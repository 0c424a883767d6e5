/* test_report.c - `sweep report`: the structure of the HTML page produced
 * for a fixed results directory (tests/report/fixture), generated ones (one
 * run, 300 runs, no metric, no history), the statistics behind the
 * importance chart, the SVG primitives, and the command's errors. */
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
#include <unistd.h>

#include "support/report_gen.h"
#include "support/support.h"
#include "sweep/report/report.h"
#include "sweep/report/report_stats.h"
#include "sweep/report/report_svg.h"

#define FIXTURE "tests/report/fixture"

/* ==== Helpers ==== */

static int count(const char *s, const char *needle)
{
	int n = 0;
	size_t len = strlen(needle);

	while ((s = strstr(s, needle))) {
		n++;
		s += len;
	}
	return n;
}

static char *render(const char *dir)
{
	struct sw_report rep = SW_REPORT_INIT;
	struct sw_buf out = SW_BUF_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *html;

	if (sw_report_load(&rep, dir, &err) < 0)
		fail_msg("load %s: %s", dir, err.msg);
	if (sw_report_html(&rep, &out, &err) < 0)
		fail_msg("render %s: %s", dir, err.msg);
	sw_report_release(&rep);
	html = sw_buf_detach(&out, NULL);
	sw_buf_release(&out);
	assert_non_null(html);
	return html;
}

/* The text between the start of the first `from` and the next `to`, in a
 * new string. */
static char *between(const char *s, const char *from, const char *to)
{
	const char *a = strstr(s, from), *b;

	assert_non_null(a);
	b = strstr(a + strlen(from), to);
	assert_non_null(b);
	return strndup(a, (size_t)(b - a));
}

/* Strict UTF-8 check (no overlongs, surrogates or values past U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, len, k;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xC2 && s[i] <= 0xDF)
			len = 2, cp = s[i] & 0x1F;
		else if (s[i] >= 0xE0 && s[i] <= 0xEF)
			len = 3, cp = s[i] & 0x0F;
		else if (s[i] >= 0xF0 && s[i] <= 0xF4)
			len = 4, cp = s[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		i += len;
	}
	return 1;
}

/* No attribute may point outside the page. */
static void assert_self_contained(const char *html)
{
	assert_null(strstr(html, "src=\"http"));
	assert_null(strstr(html, "href=\"http"));
	assert_null(strstr(html, "src='http"));
	assert_null(strstr(html, "href='http"));
	assert_null(strstr(html, "url(http"));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "<img"));
	assert_null(strstr(html, "<iframe"));
	assert_int_equal(count(html, "<script"), 1);   /* the inline sorter */
	assert_null(strstr(html, "<script src"));
}

/* ==== The fixture ==== */

static void test_fixture_sections(void **state)
{
	static const char *const ids[] = {
		"id=\"outcome\"", "id=\"runs\"", "id=\"curves\"", "id=\"parallel\"",
		"id=\"scatter\"", "id=\"best-so-far\"", "id=\"importance\"",
		"id=\"alerts\"", "id=\"definition\"", NULL
	};
	char *html = render(FIXTURE);
	const char *prev = html, *at;
	int i;

	(void)state;
	assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(html, "<title>fixture-bayes – sweep report</title>"));
	for (i = 0; ids[i]; i++) {
		assert_int_equal(count(html, ids[i]), 1);
		at = strstr(html, ids[i]);
		assert_true(at > prev);          /* in the documented order */
		prev = at;
	}
	assert_int_equal(count(html, "<section"), count(html, "</section>"));
	assert_int_equal(count(html, "<svg"), count(html, "</svg>"));
	assert_int_equal(count(html, "<figure"), count(html, "</figure>"));
	assert_non_null(strstr(html, "</html>\n"));
	free(html);
}

static void test_fixture_outcome(void **state)
{
	char *html = render(FIXTURE), *card, *cfg;

	(void)state;
	card = between(html, "id=\"best-run\"", "</div>\n");
	assert_non_null(strstr(card, ">a1<"));
	assert_non_null(strstr(card, "val_accuracy = <b>0.61</b> (maximize)"));
	free(card);
	card = between(html, "id=\"runs-by-state\"", "</div></div>");
	assert_non_null(strstr(card, ">7<"));
	assert_non_null(strstr(card, "finished 3"));
	assert_non_null(strstr(card, "stopped 1"));
	assert_non_null(strstr(card, "failed 2"));
	assert_non_null(strstr(card, "killed 1"));
	free(card);
	card = between(html, "id=\"total-time\"", "</div></div>");
	/* 46.4 * 3 + 23.4 * 2 + 11.9 + 0.4 = 198.3 s of training */
	assert_non_null(strstr(card, "3 min 18 s"));
	assert_non_null(strstr(card, "wall clock"));
	free(card);
	cfg = between(html, "id=\"best-config\"", "</table>");
	assert_non_null(strstr(cfg, "<td>arch.dropout</td><td>0.1</td>"));
	assert_non_null(strstr(cfg, "<td>learning_rate</td><td>0.003</td>"));
	assert_non_null(strstr(cfg, "<td>optimizer</td><td>adam</td>"));
	free(cfg);
	/* best.json agrees with the runs: no note about it */
	assert_null(strstr(html, "best.json names"));
	/* the torn last line of runs.jsonl is ignored, and said so */
	assert_non_null(strstr(html, "torn last line"));
	assert_null(strstr(html, "g7"));
	free(html);
}

static void test_fixture_table(void **state)
{
	char *html = render(FIXTURE), *table, *first;

	(void)state;
	table = between(html, "id=\"runs-table\"", "</table>");
	assert_int_equal(count(table, "<tr class=\"run "), 7);
	assert_int_equal(count(table, "<tr class=\"run finished"), 3);
	assert_int_equal(count(table, "<tr class=\"run stopped"), 1);
	assert_int_equal(count(table, "<tr class=\"run failed"), 2);
	assert_int_equal(count(table, "<tr class=\"run killed"), 1);
	assert_int_equal(count(table, " best\">"), 1);
	/* sorted best first: a1 (0.61) then f6 (0.58) */
	first = strstr(table, "<tr class=\"run ");
	assert_non_null(strstr(first, "a1"));
	assert_true(strstr(first, "a1") < strstr(first, "f6"));
	/* parameters flattened, sortable numbers carry their value */
	assert_non_null(strstr(table, "<th>arch.conv1_filters</th>"));
	assert_non_null(strstr(table, "<th>arch.dropout</th>"));
	assert_non_null(strstr(table, "data-v=\"0.0030000000000000001\">0.003<"));
	assert_non_null(strstr(table, "loss became NaN at epoch 2"));
	/* runs are numbered by trial (order started): f6 started before e5
	 * but ended after it */
	assert_non_null(strstr(table, "<td class=\"num\" data-v=\"7\">7</td><td>e5</td>"));
	assert_non_null(strstr(table, "<td class=\"num\" data-v=\"6\">6</td><td>f6</td>"));
	assert_non_null(strstr(html, "table.sortable"));
	free(table);
	free(html);
}

static void test_fixture_escaping(void **state)
{
	char *html = render(FIXTURE);

	(void)state;
	assert_true(valid_utf8((const unsigned char *)html, strlen(html)));
	/* the run named <img src=x onerror=alert(1)>&"ü/..' is shown as text */
	assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;ü/..&#39;"));
	assert_non_null(strstr(html, "out of memory &lt;b&gt;allocating&lt;/b&gt; &amp; "
			       "giving up"));
	assert_null(strstr(html, "<b>allocating"));
	assert_self_contained(html);
	assert_null(strstr(html, "http://"));
	assert_null(strstr(html, "https://"));
	free(html);
}

static void test_fixture_curves(void **state)
{
	char *html = render(FIXTURE), *sec, *fig;

	(void)state;
	sec = between(html, "id=\"curves\"", "</section>");
	/* training and validation of the metric and of the loss */
	assert_int_equal(count(sec, "<figure class=\"curve\""), 4);
	assert_non_null(strstr(sec, "data-metric=\"accuracy\""));
	assert_non_null(strstr(sec, "data-metric=\"val_accuracy\""));
	assert_non_null(strstr(sec, "data-metric=\"loss\""));
	assert_non_null(strstr(sec, "data-metric=\"val_loss\""));
	/* one curve per run with a history (6 of 7) in every panel */
	fig = between(sec, "data-metric=\"val_accuracy\"", "</figure>");
	assert_int_equal(count(fig, "<g class=\"run-curve "), 6);
	/* stopped dashed and ending in a square, failed ending in a cross,
	 * killed dotted with a triangle */
	{
		char *g = between(fig, "<g class=\"run-curve stopped\"", "</g>");

		assert_non_null(strstr(g, "stroke-dasharray=\"5 3\""));
		assert_non_null(strstr(g, "<rect "));
		free(g);
		g = between(fig, "<g class=\"run-curve failed\"", "</g>");
		assert_non_null(strstr(g, "stroke-width=\"2.2\""));   /* the cross */
		free(g);
		g = between(fig, "<g class=\"run-curve killed\"", "</g>");
		assert_non_null(strstr(g, "Z\" fill=\"#cc79a7\""));    /* triangle */
		free(g);
	}
	assert_int_equal(count(fig, "<g class=\"run-curve finished\""), 3);
	assert_non_null(strstr(fig, ">epoch</text>"));
	assert_non_null(strstr(fig, ">val_accuracy</text>"));
	/* a legend naming the runs (few runs: one colour each) and the marks */
	assert_non_null(strstr(sec, ">stopped (dashed, ■ at stop)</text>"));
	assert_non_null(strstr(sec, ">f6</text>"));
	free(fig);
	free(sec);
	free(html);
}

static void test_fixture_scatter(void **state)
{
	char *html = render(FIXTURE), *sec;

	(void)state;
	sec = between(html, "id=\"scatter\"", "</section>");
	/* one per swept parameter; `epochs` is a constant, so none for it */
	assert_int_equal(count(sec, "<figure class=\"scatter\""), 5);
	assert_non_null(strstr(sec, "data-param=\"learning_rate\" data-scale=\"log\""));
	assert_non_null(strstr(sec, "data-param=\"batch_size\" data-scale=\"linear\""));
	assert_non_null(strstr(sec, "data-param=\"optimizer\" data-scale=\"band\""));
	assert_non_null(strstr(sec, "data-param=\"arch.conv1_filters\""));
	assert_non_null(strstr(sec, "data-param=\"arch.dropout\" data-scale=\"linear\""));
	assert_null(strstr(sec, "data-param=\"epochs\""));
	assert_int_equal(count(sec, "learning_rate (log scale)</text>"), 1);
	assert_int_equal(count(sec, "(log scale)"), 1);
	/* log ticks at powers of ten */
	assert_non_null(strstr(sec, ">0.001</text>"));
	assert_non_null(strstr(sec, ">0.01</text>"));
	/* categorical levels in sweep.yaml's order */
	assert_true(strstr(sec, ">adam</text>") < strstr(sec, ">sgd</text>"));
	free(sec);
	free(html);
}

static void test_fixture_parallel_best_importance(void **state)
{
	char *html = render(FIXTURE), *sec;

	(void)state;
	sec = between(html, "id=\"parallel\"", "</section>");
	assert_int_equal(count(sec, "<g class=\"pc-axis\""), 6);   /* 5 + metric */
	assert_int_equal(count(sec, "<g class=\"pc-axis\" data-scale=\"log\""), 1);
	/* optimizer, and the values: parameters batch_size and conv1_filters */
	assert_int_equal(count(sec, "<g class=\"pc-axis\" data-scale=\"band\""), 3);
	assert_int_equal(count(sec, "<g class=\"pc-line\""), 7);
	assert_non_null(strstr(sec, "linearGradient"));   /* the colour bar */
	free(sec);

	sec = between(html, "id=\"best-so-far\"", "</section>");
	assert_non_null(strstr(sec, "run number (order started)"));
	assert_non_null(strstr(sec, ">best so far<"));
	free(sec);

	sec = between(html, "id=\"importance\"", "</section>");
	assert_non_null(strstr(sec, "id=\"importance-method\""));
	assert_non_null(strstr(sec, "random forest"));
	assert_non_null(strstr(sec, "Spearman"));
	assert_int_equal(count(sec, "<g class=\"imp-row\""), 5);
	assert_non_null(strstr(sec, "Computed from 6 runs"));
	free(sec);

	sec = between(html, "id=\"alerts\"", "</section>");
	assert_non_null(strstr(sec, "run d4 failed"));
	free(sec);
	sec = between(html, "id=\"definition\"", "</section>");
	assert_non_null(strstr(sec, "log_uniform_values"));
	assert_non_null(strstr(sec, "<td>parallel</td><td>2</td>"));
	free(sec);
	free(html);
}

/* The parallel plot's axis group titled `title`, in a new string. */
static char *pc_axis(const char *sec, const char *title)
{
	const char *g = sec, *end, *t;
	char want[64];

	snprintf(want, sizeof(want), ">%s</text>", title);
	for (;;) {
		g = strstr(g, "<g class=\"pc-axis\"");
		assert_non_null(g);
		end = strstr(g, "</g>");
		assert_non_null(end);
		t = strstr(g, want);
		if (t && t < end)
			return strndup(g, (size_t)(end - g));
		g = end;
	}
}

/* The y of each labelled tick of an axis group, and the labels in order
 * ("32|64|128|"); returns the number of ticks. */
static int pc_ticks(const char *g, double *y, int max, char *labels, size_t cap)
{
	const char *t = g, *line, *a, *b;
	double x;
	int n = 0;

	labels[0] = '\0';
	while (n < max && (t = strstr(t, "class=\"pc-tick\""))) {
		for (line = t; line > g && strncmp(line, "<line x1=", 9); line--)
			;
		assert_int_equal(sscanf(line, "<line x1=\"%lf\" y1=\"%lf\"", &x, &y[n]), 2);
		a = strchr(t, '>') + 1;
		b = strchr(a, '<');
		snprintf(labels + strlen(labels), cap - strlen(labels), "%.*s|",
			 (int)(b - a), a);
		n++;
		t = b;
	}
	return n;
}

/* A `values:` parameter of numbers (batch_size: [32, 64, 128]) is drawn
 * like a categorical one: one tick per value, evenly spaced, in the order
 * sweep.yaml lists them, and a run's line crosses the axis at its value's
 * tick, instead of a continuous 30..130 axis. */
static void test_parallel_values_one_tick_per_value(void **state)
{
	char *html = render(FIXTURE), *sec, *axis, labels[256];
	const char *l;
	double y[16], x0, y0, x1, y1;

	(void)state;
	sec = between(html, "id=\"parallel\"", "</section>");
	axis = pc_axis(sec, "batch_size");
	assert_non_null(strstr(axis, "data-scale=\"band\""));
	assert_int_equal(pc_ticks(axis, y, 16, labels, sizeof(labels)), 3);
	assert_string_equal(labels, "32|64|128|");
	assert_true(y[0] > y[1] && y[1] > y[2]);   /* the first value lowest */
	assert_true(fabs((y[0] - y[1]) - (y[1] - y[2])) < 0.2);
	free(axis);
	/* run a1 has batch_size 64: its line's second point is on the 64 tick */
	l = strstr(sec, "a1 (finished)");
	assert_non_null(l);
	while (l > sec && strncmp(l, "points=\"", 8))
		l--;
	assert_int_equal(sscanf(l + 8, "%lf,%lf %lf,%lf", &x0, &y0, &x1, &y1), 4);
	assert_true(fabs(y1 - y[1]) < 0.05);

	axis = pc_axis(sec, "arch.conv1_filters");
	assert_non_null(strstr(axis, "data-scale=\"band\""));
	assert_int_equal(pc_ticks(axis, y, 16, labels, sizeof(labels)), 2);
	assert_string_equal(labels, "16|32|");
	free(axis);
	/* a continuous parameter keeps its numeric axis */
	axis = pc_axis(sec, "arch.dropout");
	assert_non_null(strstr(axis, "data-scale=\"linear\""));
	free(axis);
	free(sec);
	free(html);
}

/* ==== Generated directories ==== */

static char *gen(char **tmp, size_t n, int metric, int history)
{
	struct sw_gen_opts o = { n, metric, history, 12345 };
	char *dir;

	*tmp = sw_test_tmpdir();
	assert_non_null(*tmp);
	assert_true(asprintf(&dir, "%s/res", *tmp) > 0);
	assert_int_equal(sw_gen_results(dir, &o), 0);
	return dir;
}

static void test_300_runs(void **state)
{
	char *tmp, *dir = gen(&tmp, 300, 1, 1), *html, *sec;
	struct sw_report rep = SW_REPORT_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	html = render(dir);
	sec = between(html, "id=\"runs-table\"", "</table>");
	assert_int_equal(count(sec, "<tr class=\"run "), 300);
	free(sec);
	sec = between(html, "id=\"scatter\"", "</section>");
	/* learning_rate, batch_size, optimizer, epochs, model.* */
	assert_int_equal(count(sec, "<figure class=\"scatter\""), 6);
	assert_non_null(strstr(sec, "data-param=\"learning_rate\" data-scale=\"log\""));
	assert_non_null(strstr(sec, "data-param=\"model.dropout\""));
	free(sec);
	sec = between(html, "id=\"curves\"", "</section>");
	/* many runs: coloured by the metric, no per-run legend */
	assert_null(strstr(sec, ">r0001</text>"));
	free(sec);
	sec = between(html, "id=\"parallel\"", "</section>");
	assert_int_equal(count(sec, "<g class=\"pc-line\""), 300);
	free(sec);
	/* the planted optimum: learning rate near 3e-3 matters most */
	sec = between(html, "id=\"importance-chart\"", "</figure>");
	assert_true(strstr(sec, "learning_rate") < strstr(sec, "batch_size"));
	free(sec);
	assert_true(valid_utf8((const unsigned char *)html, strlen(html)));
	assert_self_contained(html);
	assert_true(strlen(html) < 8u << 20);
	free(html);

	assert_int_equal(sw_report_load(&rep, dir, &err), 0);
	assert_int_equal(rep.n_runs, 300);
	assert_int_equal(rep.n_params, 6);
	sw_report_release(&rep);
	sw_test_rmtree(tmp);
	free(tmp);
	free(dir);
}

static void test_one_run(void **state)
{
	char *tmp, *dir = gen(&tmp, 1, 1, 1), *html, *sec;

	(void)state;
	html = render(dir);
	sec = between(html, "id=\"runs-table\"", "</table>");
	assert_int_equal(count(sec, "<tr class=\"run "), 1);
	free(sec);
	sec = between(html, "id=\"importance\"", "</section>");
	assert_non_null(strstr(sec, "Needs at least 3 runs"));
	free(sec);
	/* one point per parameter is still drawn */
	assert_int_equal(count(html, "<figure class=\"scatter\""), 6);
	assert_self_contained(html);
	free(html);
	sw_test_rmtree(tmp);
	free(tmp);
	free(dir);
}

static void test_no_metric_no_history(void **state)
{
	char *tmp, *dir = gen(&tmp, 12, 0, 1), *html, *sec;

	(void)state;
	html = render(dir);
	sec = between(html, "id=\"scatter\"", "</section>");
	assert_non_null(strstr(sec, "The sweep defines no metric."));
	free(sec);
	assert_non_null(strstr(html, "the sweep has no metric"));
	/* curves are still drawn, for loss and accuracy */
	assert_true(count(html, "<figure class=\"curve\"") >= 2);
	/* the parallel plot still shows the parameters (grey lines) */
	assert_true(count(html, "<g class=\"pc-line\"") == 12);
	free(html);
	sw_test_rmtree(tmp);
	free(tmp);
	free(dir);

	dir = gen(&tmp, 5, 1, 0);
	html = render(dir);
	assert_non_null(strstr(html, "No run logged an epoch"));
	assert_non_null(strstr(html, "runs without a history"));
	assert_non_null(strstr(html, "No run logged the sweep metric."));
	free(html);
	sw_test_rmtree(tmp);
	free(tmp);
	free(dir);
}

static void write_at(const char *dir, const char *name, const char *text)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	assert_int_equal(sw_test_write_file(p, text, strlen(text)), 0);
	free(p);
}

/* Records with odd field types still render (the report is a viewer). */
static void test_odd_records(void **state)
{
	static const char runs[] =
		"{\"id\": \"a\", \"state\": \"finished\", \"params\": 5, \"summary\": \"x\", "
		"\"epochs\": \"many\", \"runtime_s\": \"slow\"}\n"
		"{\"id\": \"\", \"state\": \"running\", \"params\": {\"lr\": [1, 2], "
		"\"opt\": {\"name\": null}}, \"summary\": {\"best\": 3, \"val_accuracy\": "
		"\"NaN\"}}\n"
		"{\"id\": \"../..\", \"state\": \"failed\", \"params\": {\"lr\": true}, "
		"\"summary\": {\"val_accuracy\": 1e308}, \"reason\": 7}\n"
		"{\"id\": \"a\", \"state\": \"killed\"}\n";
	char *tmp = sw_test_tmpdir(), *html, *sec;

	(void)state;
	assert_non_null(tmp);
	write_at(tmp, "sweep.yaml", "method: random\nmetric: {name: val_accuracy, goal: "
		 "maximize}\nparameters: {lr: {values: [1, 2]}}\n");
	write_at(tmp, "runs.jsonl", runs);
	html = render(tmp);
	sec = between(html, "id=\"runs-table\"", "</table>");
	/* the repeated id "a" is kept once (the first line wins) */
	assert_int_equal(count(sec, "<tr class=\"run "), 3);
	assert_int_equal(count(sec, "<tr class=\"run other"), 1);
	free(sec);
	assert_non_null(strstr(html, "id=\"best-run\""));
	assert_true(valid_utf8((const unsigned char *)html, strlen(html)));
	free(html);
	sw_test_rmtree(tmp);
	free(tmp);
}

/* ==== The command ==== */

static void expect_error(const char *dir, const char *needle)
{
	struct sw_test_proc p;

	assert_int_equal(sw_test_sweep(&p, "report", dir, NULL), 0);
	if (p.status != 1 || !strstr(p.err, needle) ||
	    strncmp(p.err, "sweep: error: ", 14) || sw_test_count_lines(p.err, "") != 1)
		fail_msg("report %s: status %d, stderr %s (wanted '%s')", dir, p.status,
			 p.err, needle);
	sw_test_proc_release(&p);
}

static void test_cli_writes_report(void **state)
{
	struct sw_test_proc p;
	char *tmp = sw_test_tmpdir(), *dir, *out, *html, *cmd;
	struct stat st;

	(void)state;
	assert_non_null(tmp);
	/* a copy of the fixture, so the default DIR/report.html lands in tmp */
	assert_true(asprintf(&cmd, "cp -r " FIXTURE " '%s/fx'", tmp) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_true(asprintf(&dir, "%s/fx", tmp) > 0);
	assert_int_equal(sw_test_sweep(&p, "report", dir, NULL), 0);
	assert_int_equal(p.status, 0);
	assert_string_equal(p.err, "");
	assert_true(asprintf(&out, "%s/report.html", dir) > 0);
	assert_non_null(strstr(p.out, out));
	sw_test_proc_release(&p);
	html = sw_test_read_file(out, NULL);
	assert_non_null(html);
	assert_non_null(strstr(html, "id=\"runs-table\""));
	free(html);
	free(out);

	/* -o elsewhere; no temporary file left behind */
	assert_true(asprintf(&out, "%s/x.html", tmp) > 0);
	assert_int_equal(sw_test_sweep(&p, "report", dir, "-o", out, NULL), 0);
	assert_int_equal(p.status, 0);
	sw_test_proc_release(&p);
	assert_int_equal(stat(out, &st), 0);
	assert_true(st.st_size > 10000);
	assert_true(asprintf(&cmd, "ls '%s' '%s' | grep -q '[.]tmp-'", tmp, dir) > 0);
	assert_int_not_equal(system(cmd), 0);   /* grep found nothing */
	free(cmd);
	free(out);

	/* an output that cannot be written */
	assert_int_equal(sw_test_sweep(&p, "report", dir, "-o",
				       "/nonexistent-dir/x.html", NULL), 0);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "sweep: error: cannot write "
			       "'/nonexistent-dir/x.html'"));
	sw_test_proc_release(&p);
	sw_test_rmtree(tmp);
	free(tmp);
	free(dir);
}

static void test_cli_usage(void **state)
{
	struct sw_test_proc p;

	(void)state;
	assert_int_equal(sw_test_sweep(&p, "report", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "missing results directory"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "report", "a", "b", NULL), 0);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "unexpected argument 'b'"));
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "report", "--bogus", "a", NULL), 0);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
	assert_int_equal(sw_test_sweep(&p, "report", FIXTURE, "-o", NULL), 0);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
}

static void test_cli_bad_directories(void **state)
{
	char *tmp = sw_test_tmpdir(), *d;

	(void)state;
	assert_non_null(tmp);
	assert_true(asprintf(&d, "%s/missing", tmp) > 0);
	expect_error(d, "cannot open results directory");
	free(d);
	expect_error(FIXTURE "/meta.json", "is not a directory");
	/* an empty directory */
	expect_error(tmp, "is not a sweep results directory");
	/* a sweep that has not ended a run yet */
	write_at(tmp, "sweep.yaml", "method: random\nparameters: {x: {values: [1]}}\n");
	expect_error(tmp, "no runs recorded");
	write_at(tmp, "runs.jsonl", "");
	expect_error(tmp, "no runs recorded");
	/* only a torn line */
	write_at(tmp, "runs.jsonl", "{\"id\": \"a\", \"st");
	expect_error(tmp, "no runs recorded");
	/* corrupt JSON before the last line */
	write_at(tmp, "runs.jsonl", "{\"id\": \"a\", \"state\": \"finished\"}\n"
		 "{garbage\n{\"id\": \"b\", \"state\": \"finished\"}\n");
	expect_error(tmp, "runs.jsonl' line 2: corrupt JSON");
	/* a line that is JSON but not a run */
	write_at(tmp, "runs.jsonl", "[1, 2]\n");
	expect_error(tmp, "not a run record");
	write_at(tmp, "runs.jsonl", "{\"id\": \"a\", \"state\": \"finished\"}\n");
	/* best.json naming a run that never ended is reported on the page */
	write_at(tmp, "best.json", "{\"run\": \"zz\", \"value\": 0.9}");
	{
		char *html = render(tmp);

		assert_non_null(strstr(html, "best.json names run zz (metric = 0.9), "
				       "which never ended"));
		free(html);
	}
	write_at(tmp, "best.json", "{\"run\": ");
	expect_error(tmp, "best.json' line 1: corrupt JSON");
	write_at(tmp, "best.json", "{}");
	/* corrupt side files */
	write_at(tmp, "meta.json", "{\"seed\": ");
	expect_error(tmp, "meta.json' line 1: corrupt JSON");
	write_at(tmp, "meta.json", "{}");
	write_at(tmp, "sweep.yaml", "method: [random\n");
	expect_error(tmp, "sweep.yaml' line");
	write_at(tmp, "sweep.yaml", "- a list\n");
	expect_error(tmp, "sweep.yaml' line 1: a sweep file must be a mapping");
	/* a readable definition with a problem is shown, the problem noted */
	write_at(tmp, "sweep.yaml", "method: random\n");
	{
		char *html = render(tmp);

		assert_non_null(strstr(html, "sweep.yaml line 1: missing required key "
				       "&#39;parameters&#39;"));
		free(html);
	}
	write_at(tmp, "sweep.yaml", "method: random\nparameters: {x: {values: [1]}}\n");
	/* a corrupt history line names its file and line */
	assert_true(asprintf(&d, "%s/runs", tmp) > 0);
	assert_int_equal(mkdir(d, 0755), 0);
	free(d);
	assert_true(asprintf(&d, "%s/runs/a", tmp) > 0);
	assert_int_equal(mkdir(d, 0755), 0);
	free(d);
	write_at(tmp, "runs/a/history.jsonl", "{\"epoch\": 1}\nnope\n{\"epoch\": 2}\n");
	expect_error(tmp, "history.jsonl' line 2: corrupt JSON");
	/* a torn last history line is fine */
	write_at(tmp, "runs/a/history.jsonl", "{\"epoch\": 1, \"loss\": 1}\n{\"ep");
	{
		struct sw_test_proc p;

		assert_int_equal(sw_test_sweep(&p, "report", tmp, NULL), 0);
		assert_int_equal(p.status, 0);
		sw_test_proc_release(&p);
	}
	sw_test_rmtree(tmp);
	free(tmp);
}

/* ==== Statistics ==== */

static void test_stats_correlation(void **state)
{
	double x[] = { 1, 2, 3, 4, 5, NAN }, y[] = { 1, 4, 9, 16, 25, 3 };
	double yd[] = { 5, 4, 3, 2, 1, 0 }, c[] = { 7, 7, 7, 7, 7, 7 };
	int cat[] = { 0, 0, 1, 1, 2, -1 };
	double yc[] = { 1, 1, 5, 5, 9, 100 };

	(void)state;
	assert_float_equal(sw_stat_spearman(x, y, 6), 1.0, 1e-12);
	assert_float_equal(sw_stat_spearman(x, yd, 6), -1.0, 1e-12);
	assert_true(sw_stat_pearson(x, y, 6) > 0.95 && sw_stat_pearson(x, y, 6) < 1);
	assert_true(isnan(sw_stat_pearson(x, c, 6)));
	assert_true(isnan(sw_stat_spearman(x, y, 2)));
	/* categories explain all the variance */
	assert_float_equal(sw_stat_corr_ratio(cat, 3, yc, 6), 1.0, 1e-12);
	assert_true(isnan(sw_stat_corr_ratio(cat, 3, c, 6)));
}

static void test_stats_forest(void **state)
{
	struct sw_forest_opts o = SW_FOREST_OPTS_INIT;
	enum { N = 200, P = 3 };
	double X[N * P], y[N], imp[2], imp2[2];
	size_t group[P] = { 0, 1, 1 }, i;
	unsigned s = 99;

	(void)state;
	for (i = 0; i < N; i++) {
		s = s * 1103515245u + 12345u;
		X[i * P] = (s >> 8) % 1000 / 1000.0;
		s = s * 1103515245u + 12345u;
		X[i * P + 1] = (s >> 8) % 2;
		X[i * P + 2] = 1 - X[i * P + 1];
		/* depends strongly on column 0, weakly on the one-hot pair */
		y[i] = 3 * X[i * P] * X[i * P] + 0.1 * X[i * P + 1];
	}
	assert_int_equal(sw_forest_importance(X, N, P, y, group, 2, &o, imp), 0);
	assert_float_equal(imp[0] + imp[1], 1.0, 1e-9);
	assert_true(imp[0] > 0.8);
	assert_true(imp[1] > 0.0);
	/* deterministic for a seed */
	assert_int_equal(sw_forest_importance(X, N, P, y, group, 2, &o, imp2), 0);
	assert_memory_equal(imp, imp2, sizeof(imp));
	/* constant target: nothing to explain */
	for (i = 0; i < N; i++)
		y[i] = 1;
	assert_int_equal(sw_forest_importance(X, N, P, y, group, 2, &o, imp), 0);
	assert_true(imp[0] == 0 && imp[1] == 0);
}

/* ==== SVG primitives ==== */

static void test_svg_escape(void **state)
{
	struct sw_html h = SW_HTML_INIT;

	(void)state;
	sw_html_escn(&h, "a<b>&\"'\xff\x01\n\tü\xed\xa0\x80\xc0\xaf€", 21);
	assert_false(h.failed);
	assert_string_equal(h.buf.data, "a&lt;b&gt;&amp;&quot;&#39;\xEF\xBF\xBD\xEF\xBF\xBD"
			    "\n\tü\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
			    "\xEF\xBF\xBD€");
	assert_true(valid_utf8((const unsigned char *)h.buf.data, h.buf.len));
	sw_html_release(&h);
}

static void test_svg_scales(void **state)
{
	struct sw_scale s = { 0 };
	double v[] = { 0.00012, 0.05, NAN, -1 }, t[32], step;
	double lin[] = { 0.13, 0.61 };
	size_t n;
	char buf[32];

	(void)state;
	sw_scale_fit(&s, SW_SCALE_LOG, v, 4);
	assert_float_equal(s.d0, 1e-4, 1e-12);
	assert_float_equal(s.d1, 0.1, 1e-12);
	s.r0 = 0;
	s.r1 = 300;
	assert_float_equal(sw_scale_map(&s, 1e-3), 100, 1e-6);
	n = sw_scale_ticks(&s, t, 32, &step);
	assert_int_equal(n, 4);                 /* 1e-4 1e-3 1e-2 1e-1 */
	assert_float_equal(t[1], 1e-3, 1e-15);
	sw_scale_fit(&s, SW_SCALE_LINEAR, lin, 2);
	assert_float_equal(s.d0, 0.1, 1e-12);
	assert_float_equal(s.d1, 0.7, 1e-12);
	n = sw_scale_ticks(&s, t, 32, &step);
	assert_int_equal(n, 7);
	assert_float_equal(step, 0.1, 1e-12);
	sw_fmt_num(buf, sizeof(buf), t[2], step);
	assert_string_equal(buf, "0.3");
	sw_fmt_num(buf, sizeof(buf), 3.2e-05, 0);
	assert_string_equal(buf, "3.2e-5");
	sw_fmt_num(buf, sizeof(buf), 128, 0);
	assert_string_equal(buf, "128");
	sw_scale_fit(&s, SW_SCALE_BAND, NULL, 4);
	s.r0 = 0;
	s.r1 = 400;
	assert_float_equal(sw_scale_map(&s, 0), 50, 1e-9);
	assert_float_equal(sw_scale_map(&s, 3), 350, 1e-9);
	/* a single value still gets a usable domain */
	sw_scale_fit(&s, SW_SCALE_LINEAR, lin, 1);
	assert_true(s.d0 < 0.13 && s.d1 > 0.13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_sections),
		cmocka_unit_test(test_fixture_outcome),
		cmocka_unit_test(test_fixture_table),
		cmocka_unit_test(test_fixture_escaping),
		cmocka_unit_test(test_fixture_curves),
		cmocka_unit_test(test_fixture_scatter),
		cmocka_unit_test(test_fixture_parallel_best_importance),
		cmocka_unit_test(test_parallel_values_one_tick_per_value),
		cmocka_unit_test(test_300_runs),
		cmocka_unit_test(test_one_run),
		cmocka_unit_test(test_no_metric_no_history),
		cmocka_unit_test(test_odd_records),
		cmocka_unit_test(test_cli_writes_report),
		cmocka_unit_test(test_cli_usage),
		cmocka_unit_test(test_cli_bad_directories),
		cmocka_unit_test(test_stats_correlation),
		cmocka_unit_test(test_stats_forest),
		cmocka_unit_test(test_svg_escape),
		cmocka_unit_test(test_svg_scales),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
