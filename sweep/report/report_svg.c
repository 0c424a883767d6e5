/* report_svg.c - SVG drawing primitives of `sweep report`; see
 * include/sweep/report/report_svg.h */
#include "sweep/report/report_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== Output buffer ==== */

void sw_html_puts(struct sw_html *h, const char *s)
{
	if (sw_buf_append(&h->buf, s, strlen(s)) < 0)
		h->failed = 1;
}

void sw_html_printf(struct sw_html *h, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		if (sw_buf_append(&h->buf, small, (size_t)n) < 0)
			h->failed = 1;
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big) {
			h->failed = 1;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		if (sw_buf_append(&h->buf, big, (size_t)n) < 0)
			h->failed = 1;
		free(big);
	}
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * when it is invalid (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	/* C1 controls are not allowed in HTML text either */
	if (cp >= 0x80 && cp <= 0x9F)
		return 0;
	return len;
}

void sw_html_escn(struct sw_html *h, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, len;
	const char *rep;

	while (i < n) {
		rep = NULL;
		len = 1;
		switch (p[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\t': case '\n': break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7F) {
				rep = "\xEF\xBF\xBD";
			} else if (p[i] >= 0x80) {
				len = utf8_len(p + i, n - i);
				if (!len) {
					rep = "\xEF\xBF\xBD";
					len = 1;
				}
			}
		}
		if (rep) {
			if (i > start && sw_buf_append(&h->buf, s + start, i - start) < 0)
				h->failed = 1;
			sw_html_puts(h, rep);
			start = i + len;
		}
		i += len;
	}
	if (n > start && sw_buf_append(&h->buf, s + start, n - start) < 0)
		h->failed = 1;
}

void sw_html_esc(struct sw_html *h, const char *s)
{
	sw_html_escn(h, s ? s : "", s ? strlen(s) : 0);
}

void sw_html_release(struct sw_html *h)
{
	if (!h)
		return;
	sw_buf_release(&h->buf);
	h->failed = 0;
}

/* ==== Scales ==== */

static double nice_step(double span, int target)
{
	double raw, mag, r;

	if (!(span > 0) || !isfinite(span))
		return 1;
	raw = span / target;
	mag = pow(10, floor(log10(raw)));
	r = raw / mag;
	if (r < 1.5)
		return mag;
	if (r < 3)
		return 2 * mag;
	if (r < 7)
		return 5 * mag;
	return 10 * mag;
}

void sw_scale_fit(struct sw_scale *s, enum sw_scale_kind kind, const double *v,
		  size_t n)
{
	double lo = INFINITY, hi = -INFINITY, step, pad;
	size_t i;

	s->kind = kind;
	if (kind == SW_SCALE_BAND) {
		s->n_bands = n ? n : 1;
		s->d0 = 0;
		s->d1 = (double)s->n_bands;
		return;
	}
	for (i = 0; v && i < n; i++) {
		if (!isfinite(v[i]) || (kind == SW_SCALE_LOG && v[i] <= 0))
			continue;
		if (v[i] < lo)
			lo = v[i];
		if (v[i] > hi)
			hi = v[i];
	}
	if (kind == SW_SCALE_LOG) {
		if (lo > hi) {
			lo = 1;
			hi = 10;
		}
		if (s->pad > 0) {
			/* padded, not widened to whole decades */
			pad = (log10(hi) - log10(lo)) * s->pad;
			if (!(pad > 0))
				pad = 0.15;
			s->d0 = pow(10, log10(lo) - pad);
			s->d1 = pow(10, log10(hi) + pad);
			return;
		}
		s->d0 = pow(10, floor(log10(lo) + 1e-9));
		s->d1 = pow(10, ceil(log10(hi) - 1e-9));
		if (s->d1 <= s->d0)
			s->d1 = s->d0 * 10;
		return;
	}
	if (lo > hi) {
		lo = 0;
		hi = 1;
	}
	if (lo == hi) {
		pad = s->integer ? 1 : fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
		lo -= pad;
		hi += pad;
	} else if (s->pad > 0) {
		pad = (hi - lo) * s->pad;
		lo -= pad;
		hi += pad;
	}
	step = nice_step(hi - lo, 5);
	if (s->integer && step < 1)
		step = 1;
	s->d0 = floor(lo / step + 1e-9) * step;
	s->d1 = ceil(hi / step - 1e-9) * step;
	if (s->d1 <= s->d0)
		s->d1 = s->d0 + step;
}

double sw_scale_map(const struct sw_scale *s, double v)
{
	double t;

	switch (s->kind) {
	case SW_SCALE_BAND:
		t = (v + 0.5) / (double)(s->n_bands ? s->n_bands : 1);
		break;
	case SW_SCALE_LOG:
		if (!(v > 0))
			return NAN;
		t = (log10(v) - log10(s->d0)) / (log10(s->d1) - log10(s->d0));
		break;
	default:
		t = (v - s->d0) / (s->d1 - s->d0);
		break;
	}
	return s->r0 + t * (s->r1 - s->r0);
}

size_t sw_scale_ticks(const struct sw_scale *s, double *ticks, size_t max,
		      double *step)
{
	size_t n = 0;
	double st, t;
	int k0, k1, k, every, m;
	static const int mult[] = { 1, 2, 5 };

	if (step)
		*step = 0;
	if (s->kind == SW_SCALE_BAND)
		return 0;
	if (s->kind == SW_SCALE_LOG) {
		k0 = (int)floor(log10(s->d0) + 1e-9);
		k1 = (int)ceil(log10(s->d1) - 1e-9);
		every = k1 - k0 > 6 ? (k1 - k0 + 5) / 6 : 1;
		for (k = k0; k <= k1 && n < max; k += every) {
			for (m = 0; m < 3 && n < max; m++) {
				if (m > 0 && k1 - k0 > 2)
					break;
				t = mult[m] * pow(10, k);
				if (t >= s->d0 * (1 - 1e-9) && t <= s->d1 * (1 + 1e-9))
					ticks[n++] = t;
			}
		}
		return n;
	}
	st = nice_step(s->d1 - s->d0, 5);
	if (s->integer && st < 1)
		st = 1;
	if (step)
		*step = st;
	for (t = ceil(s->d0 / st - 1e-9) * st; t <= s->d1 + st * 1e-9 && n < max;
	     t += st)
		ticks[n++] = fabs(t) < st * 1e-9 ? 0 : t;
	return n;
}

/* "1e-05" -> "1e-5", "2.5e+06" -> "2.5e6" */
static void tidy_exponent(char *s)
{
	char *e = strchr(s, 'e'), *d;

	if (!e)
		return;
	d = e + 1;
	if (*d == '+')
		memmove(d, d + 1, strlen(d + 1) + 1);
	else if (*d == '-')
		d++;
	while (d[0] == '0' && d[1])
		memmove(d, d + 1, strlen(d + 1) + 1);
}

void sw_fmt_num(char *out, size_t n, double v, double step)
{
	int dec;

	if (isnan(v)) {
		snprintf(out, n, "–");
		return;
	}
	if (isinf(v)) {
		snprintf(out, n, v > 0 ? "∞" : "-∞");
		return;
	}
	if (step > 0) {
		v = round(v / step) * step;
		if (fabs(v) < step * 1e-9)
			v = 0;
		if (step >= 1 && fabs(v) < 1e6) {
			snprintf(out, n, "%.0f", v);
			return;
		}
		dec = (int)ceil(-log10(step) - 1e-9);
		if (dec >= 0 && dec <= 5 && fabs(v) < 1e6) {
			snprintf(out, n, "%.*f", dec, v);
			return;
		}
	}
	if (v == 0) {
		snprintf(out, n, "0");
		return;
	}
	snprintf(out, n, "%.4g", v);
	tidy_exponent(out);
}

/* ==== Plots ==== */

/* Copies at most max characters (UTF-8 aware) of s, adding an ellipsis
 * when cut. */
static void shorten(char *out, size_t n, const char *s, size_t max)
{
	size_t i = 0, chars = 0, o = 0;

	while (s[i] && o + 4 < n) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (chars == max) {
				memcpy(out + o, "…", 3);
				o += 3;
				break;
			}
			chars++;
		}
		out[o++] = s[i++];
	}
	out[o] = '\0';
}

static void band_labels_x(struct sw_html *h, const struct sw_plot *p)
{
	size_t i, maxlen = 0, n = p->x.n_bands;
	double band = (p->x.r1 - p->x.r0) / (double)(n ? n : 1);
	int rotate;
	char lab[64], attr[64];

	size_t every;

	for (i = 0; i < n && p->xbands[i]; i++)
		if (strlen(p->xbands[i]) > maxlen)
			maxlen = strlen(p->xbands[i]);
	n = i;      /* the labels given may be fewer than the bands */
	every = n > 16 ? (n + 15) / 16 : 1;
	rotate = maxlen * 6.5 > band * every;
	for (i = 0; i < n; i += every) {
		double x = sw_scale_map(&p->x, (double)i);
		double y = p->height - p->mb + 14;

		shorten(lab, sizeof(lab), p->xbands[i], rotate ? 14 : 24);
		if (rotate) {
			snprintf(attr, sizeof(attr), "transform=\"rotate(-30 %.1f %.1f)\"",
				 x, y);
			sw_svg_text(h, x + 3, y, "end", attr, lab);
		} else {
			sw_svg_text(h, x, y, "middle", NULL, lab);
		}
	}
}

void sw_plot_open(struct sw_html *h, struct sw_plot *p)
{
	double ticks[64], step, x0, x1, y0, y1, pos;
	size_t n, i;
	char lab[64], attr[96];

	p->x.r0 = p->ml;
	p->x.r1 = p->width - p->mr;
	p->y.r0 = p->height - p->mb;
	p->y.r1 = p->mt;
	x0 = p->x.r0;
	x1 = p->x.r1;
	y0 = p->y.r0;
	y1 = p->y.r1;

	sw_html_printf(h, "<svg class=\"plot\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
		       "height=\"%.0f\" role=\"img\" aria-label=\"",
		       p->width, p->height, p->width, p->height);
	sw_html_esc(h, p->title ? p->title : "plot");
	sw_html_puts(h, "\">\n");
	sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		       "fill=\"#fafafa\" stroke=\"none\"/>\n", x0, y1, x1 - x0, y0 - y1);

	/* x grid, ticks, labels */
	n = sw_scale_ticks(&p->x, ticks, 64, &step);
	for (i = 0; i < n; i++) {
		pos = sw_scale_map(&p->x, ticks[i]);
		sw_html_printf(h, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			       "y2=\"%.1f\"/>\n", pos, y0, pos, y1);
		sw_fmt_num(lab, sizeof(lab), ticks[i], step);
		sw_svg_text(h, pos, y0 + 14, "middle", NULL, lab);
	}
	if (p->x.kind == SW_SCALE_BAND && p->xbands)
		band_labels_x(h, p);
	/* y grid, ticks, labels */
	n = sw_scale_ticks(&p->y, ticks, 64, &step);
	for (i = 0; i < n; i++) {
		pos = sw_scale_map(&p->y, ticks[i]);
		sw_html_printf(h, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			       "y2=\"%.1f\"/>\n", x0, pos, x1, pos);
		sw_fmt_num(lab, sizeof(lab), ticks[i], step);
		sw_svg_text(h, x0 - 5, pos + 4, "end", NULL, lab);
	}
	if (p->y.kind == SW_SCALE_BAND && p->ybands) {
		for (i = 0; i < p->y.n_bands && p->ybands[i]; i++) {
			shorten(lab, sizeof(lab), p->ybands[i], 16);
			sw_svg_text(h, x0 - 5, sw_scale_map(&p->y, (double)i) + 4,
				    "end", NULL, lab);
		}
	}
	/* axis lines */
	sw_html_printf(h, "<path class=\"axis\" d=\"M%.1f %.1fV%.1fH%.1f\"/>\n",
		       x0, y1, y0, x1);
	/* a log axis says so in its title: it must not be misread */
	if (p->xlabel) {
		char full[160];

		snprintf(full, sizeof(full), "%s%s", p->xlabel,
			 p->x.kind == SW_SCALE_LOG ? " (log scale)" : "");
		sw_svg_text(h, (x0 + x1) / 2, p->height - 6, "middle",
			    "class=\"axis-title\"", full);
	}
	if (p->ylabel) {
		char full[160];

		snprintf(full, sizeof(full), "%s%s", p->ylabel,
			 p->y.kind == SW_SCALE_LOG ? " (log scale)" : "");
		snprintf(attr, sizeof(attr), "class=\"axis-title\" transform=\"rotate(-90 "
			 "%.1f %.1f)\"", 14.0, (y0 + y1) / 2);
		sw_svg_text(h, 14, (y0 + y1) / 2, "middle", attr, full);
	}
}

void sw_plot_close(struct sw_html *h)
{
	sw_html_puts(h, "</svg>\n");
}

static void title_child(struct sw_html *h, const char *title)
{
	if (!title)
		return;
	sw_html_puts(h, "<title>");
	sw_html_esc(h, title);
	sw_html_puts(h, "</title>");
}

void sw_svg_marker(struct sw_html *h, enum sw_marker m, double x, double y,
		   double r, const char *fill, const char *stroke,
		   const char *title)
{
	const char *end = title ? ">" : "/>";
	const char *close = NULL;
	int i;

	if (!isfinite(x) || !isfinite(y))
		return;
	switch (m) {
	case SW_MARK_CIRCLE:
		sw_html_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" "
			       "stroke=\"%s\"%s", x, y, r, fill, stroke, end);
		close = "</circle>";
		break;
	case SW_MARK_SQUARE:
		sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			       "height=\"%.1f\" fill=\"%s\" stroke=\"%s\"%s",
			       x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8, fill, stroke, end);
		close = "</rect>";
		break;
	case SW_MARK_CROSS:
		sw_html_printf(h, "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" "
			       "fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\"%s",
			       x - r, y - r, x + r, y + r, x - r, y + r, x + r, y - r,
			       strcmp(stroke, "none") ? stroke : fill, end);
		close = "</path>";
		break;
	case SW_MARK_TRIANGLE:
		sw_html_printf(h, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" "
			       "stroke=\"%s\"%s", x, y - r * 1.1, x + r, y + r * 0.8,
			       x - r, y + r * 0.8, fill, stroke, end);
		close = "</path>";
		break;
	case SW_MARK_DIAMOND:
		sw_html_printf(h, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" "
			       "fill=\"%s\" stroke=\"%s\"%s", x, y - r * 1.2, x + r, y,
			       x, y + r * 1.2, x - r, y, fill, stroke, end);
		close = "</path>";
		break;
	case SW_MARK_STAR:
		sw_html_puts(h, "<path d=\"");
		for (i = 0; i < 10; i++) {
			double a = -M_PI / 2 + i * M_PI / 5;
			double rr = i % 2 ? r * 0.45 : r * 1.15;

			sw_html_printf(h, "%c%.1f %.1f", i ? 'L' : 'M', x + rr * cos(a),
				       y + rr * sin(a));
		}
		sw_html_printf(h, "Z\" fill=\"%s\" stroke=\"%s\"%s", fill, stroke, end);
		close = "</path>";
		break;
	}
	if (title) {
		title_child(h, title);
		sw_html_puts(h, close);
	}
	sw_html_puts(h, "\n");
}

void sw_svg_polyline(struct sw_html *h, const double *xs, const double *ys,
		     size_t n, const char *stroke, double width,
		     const char *dash, double opacity, const char *title)
{
	size_t i = 0, j, k;

	while (i < n) {
		while (i < n && !(isfinite(xs[i]) && isfinite(ys[i])))
			i++;
		j = i;
		while (j < n && isfinite(xs[j]) && isfinite(ys[j]))
			j++;
		if (j == i)
			break;
		if (j - i == 1) {
			/* a single epoch: a dot, so the run is still visible */
			sw_html_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" "
				       "fill=\"%s\" fill-opacity=\"%.2f\"%s", xs[i], ys[i],
				       width + 1.5, stroke, opacity, title ? ">" : "/>");
			if (title) {
				title_child(h, title);
				sw_html_puts(h, "</circle>");
			}
			sw_html_puts(h, "\n");
		} else {
			sw_html_puts(h, "<polyline points=\"");
			for (k = i; k < j; k++)
				sw_html_printf(h, "%s%.1f,%.1f", k > i ? " " : "", xs[k], ys[k]);
			sw_html_printf(h, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
				       "stroke-opacity=\"%.2f\" stroke-linejoin=\"round\"",
				       stroke, width, opacity);
			if (dash)
				sw_html_printf(h, " stroke-dasharray=\"%s\"", dash);
			if (title) {
				sw_html_puts(h, ">");
				title_child(h, title);
				sw_html_puts(h, "</polyline>\n");
			} else {
				sw_html_puts(h, "/>\n");
			}
		}
		i = j;
	}
}

void sw_svg_text(struct sw_html *h, double x, double y, const char *anchor,
		 const char *extra, const char *text)
{
	sw_html_printf(h, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y,
		       anchor, extra ? " " : "", extra ? extra : "");
	sw_html_esc(h, text);
	sw_html_puts(h, "</text>\n");
}

double sw_svg_legend(struct sw_html *h, double x, double y, int marker,
		     const char *color, const char *dash, const char *label)
{
	size_t chars = 0;
	const char *s;

	if (marker < 0) {
		sw_html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			       "stroke=\"%s\" stroke-width=\"2.5\"%s%s%s/>\n", x, y - 4,
			       x + 18, y - 4, color, dash ? " stroke-dasharray=\"" : "",
			       dash ? dash : "", dash ? "\"" : "");
	} else {
		sw_svg_marker(h, (enum sw_marker)marker, x + 9, y - 4, 4.5, color,
			      marker == SW_MARK_CROSS ? "none" : "#333", NULL);
	}
	sw_svg_text(h, x + 23, y, "start", NULL, label);
	for (s = label; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			chars++;
	return x + 23 + chars * 6.3 + 16;
}

void sw_svg_colorbar(struct sw_html *h, const char *id, double x, double y,
		     double w, double hgt, double lo, double hi,
		     const char *label)
{
	struct sw_scale s = { SW_SCALE_LINEAR, lo, hi, y + hgt, y, 0, 0, 0 };
	double ticks[16], step, pos;
	size_t n, i;
	char col[8], lab[64], attr[96];

	if (!(hi > lo)) {
		double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;

		s.d0 = lo - pad;
		s.d1 = lo + pad;
	}
	sw_html_printf(h, "<defs><linearGradient id=\"%s\" x1=\"0\" y1=\"1\" x2=\"0\" "
		       "y2=\"0\">", id);
	for (i = 0; i <= 8; i++) {
		sw_color_viridis(i / 8.0, col);
		sw_html_printf(h, "<stop offset=\"%.3f\" stop-color=\"%s\"/>", i / 8.0, col);
	}
	sw_html_puts(h, "</linearGradient></defs>\n");
	sw_html_printf(h, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		       "fill=\"url(#%s)\" stroke=\"#666\" stroke-width=\"0.5\"/>\n",
		       x, y, w, hgt, id);
	n = sw_scale_ticks(&s, ticks, 16, &step);
	for (i = 0; i < n; i++) {
		if (ticks[i] < s.d0 - step * 1e-9 || ticks[i] > s.d1 + step * 1e-9)
			continue;
		pos = sw_scale_map(&s, ticks[i]);
		sw_html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			       "stroke=\"#333\"/>\n", x + w, pos, x + w + 3, pos);
		sw_fmt_num(lab, sizeof(lab), ticks[i], step / 10);
		sw_svg_text(h, x + w + 5, pos + 4, "start", NULL, lab);
	}
	if (label) {
		snprintf(attr, sizeof(attr), "class=\"axis-title\" transform=\"rotate(-90 "
			 "%.1f %.1f)\"", x - 6, y + hgt / 2);
		sw_svg_text(h, x - 6, y + hgt / 2, "middle", attr, label);
	}
}

/* ==== Colours ==== */

void sw_color_viridis(double t, char out[8])
{
	/* viridis sampled at 0, 1/8, ..., 1 */
	static const unsigned char stops[9][3] = {
		{ 0x44, 0x01, 0x54 }, { 0x48, 0x28, 0x78 }, { 0x3e, 0x49, 0x89 },
		{ 0x31, 0x68, 0x8e }, { 0x26, 0x82, 0x8e }, { 0x1f, 0x9e, 0x89 },
		{ 0x35, 0xb7, 0x79 }, { 0x6e, 0xce, 0x58 }, { 0xfd, 0xe7, 0x25 },
	};
	double f;
	int i, c[3], k;

	if (!isfinite(t))
		t = 0;
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	i = (int)floor(t * 8);
	if (i >= 8)
		i = 7;
	f = t * 8 - i;
	for (k = 0; k < 3; k++)
		c[k] = (int)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
	snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

const char *sw_palette(size_t i)
{
	/* Okabe-Ito, ordered for contrast on white; its yellow and black are
	 * replaced by Tol's wine (black marks the best run on the page) */
	static const char *const pal[SW_PALETTE_N] = {
		"#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9",
		"#882255",
	};

	return pal[i % SW_PALETTE_N];
}
