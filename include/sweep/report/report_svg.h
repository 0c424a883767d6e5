/*
 * report_svg.h - the drawing primitives of `sweep report`: an HTML output
 * buffer with escaping, scales (linear, log10, categorical bands) with
 * "nice" ticks, plot frames with labelled axes, polylines, markers, legends
 * and colour scales, all written as inline SVG text. Nothing here fetches
 * or references anything outside the page.
 *
 * Output goes to a struct sw_html: a growable buffer that remembers whether
 * any append failed (out of memory), so a page can be built with plain
 * calls and checked once at the end.
 *
 * Text is always escaped with sw_html_esc(): & < > " ' become entities,
 * invalid UTF-8 and C0 control characters (other than tab and newline)
 * become U+FFFD, so the page is valid UTF-8 whatever the input held.
 *
 * defines: struct sw_html, sw_html_puts, sw_html_printf, sw_html_esc,
 *          sw_html_escn, sw_html_release, enum sw_scale_kind, struct sw_scale,
 *          sw_scale_fit, sw_scale_map, sw_scale_ticks, sw_fmt_num,
 *          struct sw_plot, sw_plot_open, sw_plot_close, enum sw_marker,
 *          sw_svg_marker, sw_svg_polyline, sw_svg_text, sw_svg_legend,
 *          sw_svg_colorbar, sw_color_viridis, sw_palette, SW_PALETTE_N
 */
#ifndef SW_REPORT_SVG_H
#define SW_REPORT_SVG_H

#include <stddef.h>

#include "base/buf.h"

/* ==== Output buffer ==== */

struct sw_html {
	struct sw_buf buf;
	int failed;         /* an append ran out of memory: the text is incomplete */
};
#define SW_HTML_INIT { SW_BUF_INIT, 0 }

void sw_html_puts(struct sw_html *h, const char *s);
void sw_html_printf(struct sw_html *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s (n bytes / NUL-terminated) escaped for HTML text and attribute
 * values, replacing invalid UTF-8 and control characters with U+FFFD. */
void sw_html_escn(struct sw_html *h, const char *s, size_t n);
void sw_html_esc(struct sw_html *h, const char *s);
void sw_html_release(struct sw_html *h);

/* ==== Scales ==== */

enum sw_scale_kind { SW_SCALE_LINEAR, SW_SCALE_LOG, SW_SCALE_BAND };

/* Maps a domain [d0, d1] (log: both > 0; band: categories 0..n_bands-1) to
 * the pixel range [r0, r1] (r1 < r0 is fine: y axes grow upwards). */
struct sw_scale {
	enum sw_scale_kind kind;
	double d0, d1;
	double r0, r1;
	size_t n_bands;
	int integer;        /* linear: integer data (epochs, indices): ticks
			       at least 1 apart; set before sw_scale_fit */
	double pad;         /* fraction of the data's span kept free at each
			       end, so points are not drawn on the frame;
			       set before sw_scale_fit */
};

/* Sets s's domain from n values (NaN and, for log, non-positive values are
 * skipped), widened to nice tick boundaries; an empty or single-valued set
 * gets a small domain around the value. For SW_SCALE_BAND pass v = NULL and
 * n = the number of categories. Leaves the range alone. */
void sw_scale_fit(struct sw_scale *s, enum sw_scale_kind kind, const double *v,
		  size_t n);

/* Pixel position of v; for bands, the centre of band (size_t)v. */
double sw_scale_map(const struct sw_scale *s, double v);

/* Writes up to max tick values of a linear or log scale; returns the count
 * (0 for bands). *step gets the linear step (for formatting; 0 for log). */
size_t sw_scale_ticks(const struct sw_scale *s, double *ticks, size_t max,
		      double *step);

/* Formats v compactly ("0.001", "3.2e-05" -> "3.2e-5", "128"), rounded to
 * step's precision when step > 0. */
void sw_fmt_num(char *out, size_t n, double v, double step);

/* ==== Plots ==== */

/* A plot: an SVG of width x height with the data area inside the margins.
 * Fill in the fields, then sw_plot_open() sets the scales' ranges, opens
 * the <svg>, and draws the grid, the axes, their ticks and labels. */
struct sw_plot {
	double width, height;
	double ml, mt, mr, mb;            /* margins: left, top, right, bottom */
	struct sw_scale x, y;             /* domains set by the caller */
	const char *xlabel, *ylabel;      /* axis titles (escaped here) */
	const char *const *xbands;        /* labels of band categories (NULL-
					     terminated, may be shorter), or NULL */
	const char *const *ybands;
	const char *title;                /* accessible name of the figure */
};

void sw_plot_open(struct sw_html *h, struct sw_plot *p);
void sw_plot_close(struct sw_html *h);

enum sw_marker { SW_MARK_CIRCLE, SW_MARK_SQUARE, SW_MARK_CROSS,
		 SW_MARK_TRIANGLE, SW_MARK_DIAMOND, SW_MARK_STAR };

/* A marker of radius r centred at (x, y); fill/stroke are CSS colours
 * ("none" allowed); title (may be NULL) becomes a hover tooltip. */
void sw_svg_marker(struct sw_html *h, enum sw_marker m, double x, double y,
		   double r, const char *fill, const char *stroke,
		   const char *title);

/* A polyline through n screen points; NaN points break the line. dash may
 * be NULL (solid); title may be NULL. */
void sw_svg_polyline(struct sw_html *h, const double *xs, const double *ys,
		     size_t n, const char *stroke, double width,
		     const char *dash, double opacity, const char *title);

/* Text at (x, y); anchor "start" | "middle" | "end"; extra attributes
 * (may be NULL) are written verbatim. */
void sw_svg_text(struct sw_html *h, double x, double y, const char *anchor,
		 const char *extra, const char *text);

/* One legend entry at (x, y): a line swatch (marker < 0: a line of colour
 * and dash) or a marker, then the label. Returns the x after the entry so
 * entries can be laid out in a row. */
double sw_svg_legend(struct sw_html *h, double x, double y, int marker,
		     const char *color, const char *dash, const char *label);

/* A vertical colour bar for the viridis scale from lo (bottom) to hi (top)
 * at (x, y) of size w x hgt, with ticks and a label; id must be unique in
 * the page (it names the gradient). */
void sw_svg_colorbar(struct sw_html *h, const char *id, double x, double y,
		     double w, double hgt, double lo, double hi,
		     const char *label);

/* ==== Colours ==== */

/* Viridis (colour-blind safe, prints in grey) at t in [0,1] as "#rrggbb". */
void sw_color_viridis(double t, char out[8]);

/* The Okabe-Ito categorical palette (colour-blind safe), its yellow and
 * black replaced by one wine colour (contrast on white; black is kept for
 * marking the best run). */
#define SW_PALETTE_N 7
const char *sw_palette(size_t i);

#endif
