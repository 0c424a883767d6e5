/*
 * report_page.h - private to `sweep report`'s page (sweep/report/report.c, the
 * text parts, and sweep/report/report_plots.c, the figures): the page being built
 * and the helpers both use. Not a public interface; prefix sw_rp_.
 *
 * defines: COL_* state colours, struct sw_rp_page, the sw_rp_* helpers and
 *          the sections sw_rp_curves, sw_rp_parallel, sw_rp_scatters,
 *          sw_rp_best_so_far, sw_rp_importance
 */
#ifndef SW_REPORT_PAGE_H
#define SW_REPORT_PAGE_H

#include <jansson.h>
#include <stddef.h>

#include "sweep/report/report.h"
#include "sweep/report/report_svg.h"

/* Colours and marks of run states: never colour alone, always a shape or
 * a word too. */
#define COL_FINISHED "#0072b2"
#define COL_STOPPED "#e69f00"
#define COL_FAILED "#d55e00"
#define COL_KILLED "#cc79a7"
#define COL_NONE "#9a9a9a"
#define COL_BEST "#000000"

/* The page being built: the report, the output, and per-run values the
 * sections share (computed once in sw_report_html). */
struct sw_rp_page {
	const struct sw_report *rep;
	struct sw_html h;
	double *metric;        /* per run; NaN when none */
	size_t best;           /* index of the best run; n_runs when none */
	size_t n_with_metric;
	double mlo, mhi;       /* metric range over runs */
	int *swept;            /* per parameter: drawn in the plots */
	size_t n_swept;
};

/* ==== Helpers (report_page.c) ==== */

/* A JSON number, or the strings "Infinity"/"-Infinity"; NaN otherwise. */
double sw_rp_jnum(const json_t *v);
/* A JSON value as display text in a new string (NULL when out of memory). */
char *sw_rp_jtext(const json_t *v);
/* Appends a JSON value's display text, escaped. */
void sw_rp_esc_json(struct sw_html *h, const json_t *v);
/* "12.3 s", "4 min 05 s", "1 h 02 min 03 s"; "–" for NaN. */
void sw_rp_fmt_duration(char *out, size_t n, double s);
/* Whether metric value a beats b for the sweep's goal (NaN never wins). */
int sw_rp_better(const struct sw_report *rep, double a, double b);
/* The number a run is shown with (from 1), and the words for that order. */
double sw_rp_run_number(const struct sw_report *rep, const struct sw_report_run *r);
const char *sw_rp_run_order_words(const struct sw_report *rep);
/* A run state's colour, marker, and CSS class. */
const char *sw_rp_state_color(const char *st);
enum sw_marker sw_rp_state_marker(const char *st);
const char *sw_rp_state_class(const char *st);
/* "id (state): metric = v" in a new string, for tooltips. */
char *sw_rp_run_label(const struct sw_rp_page *pg, const struct sw_report_run *r);
/* The viridis colour of a metric value (grey for NaN). */
void sw_rp_metric_color(const struct sw_rp_page *pg, double v, char out[8]);
/* <section id=..><h2>title</h2>, and a paragraph of escaped text. */
void sw_rp_section_open(struct sw_html *h, const char *id, const char *title);
void sw_rp_para(struct sw_html *h, const char *cls, const char *text);
/* A run's position on a parameter's axis: the number, or the level index
 * of a categorical value; NaN when the run lacks the parameter. */
double sw_rp_param_pos(const struct sw_report_param *p, const struct sw_report_run *r);
/* 1 when p is drawn with one tick per value, evenly spaced: its values are
 * not all numbers, or sweep.yaml lists them (`values:`, a categorical
 * distribution), so batch_size 64/128/256 gets three ticks, not 50..300. */
int sw_rp_param_is_categorical(const struct sw_report_param *p);
/* The index of run r's value among p's levels; NaN when the run lacks it. */
double sw_rp_param_level(const struct sw_report_param *p, const struct sw_report_run *r);
/* A categorical parameter's level labels (NULL-terminated new strings). */
char **sw_rp_level_labels(const struct sw_report_param *p);
void sw_rp_free_labels(char **l);

/* ==== Figure sections (report_plots.c) ==== */

void sw_rp_curves(struct sw_rp_page *pg);
void sw_rp_parallel(struct sw_rp_page *pg);
void sw_rp_scatters(struct sw_rp_page *pg);
void sw_rp_best_so_far(struct sw_rp_page *pg);
void sw_rp_importance(struct sw_rp_page *pg);

#endif
