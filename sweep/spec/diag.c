/* diag.c - located diagnostics of the sweep loader and validator. See
 * include/sweep/spec/spec.h. */
#define _GNU_SOURCE
#include "sweep/spec/spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Escapes control characters (a newline quoted from the file, say) so that
 * every diagnostic stays on one line. */
static int one_line(char **msg)
{
	const unsigned char *p;
	size_t extra = 0, o = 0;
	char *out;

	for (p = (const unsigned char *)*msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			extra += 3;
	if (!extra)
		return 0;
	out = malloc(strlen(*msg) + extra + 1);
	if (!out)
		return -1;
	for (p = (const unsigned char *)*msg; *p; p++) {
		if (*p == '\n' || *p == '\t') {
			out[o++] = '\\';
			out[o++] = *p == '\n' ? 'n' : 't';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)sprintf(out + o, "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	free(*msg);
	*msg = out;
	return 0;
}

int sw_diags_add(struct sw_diags *diags, int is_error, struct sw_loc loc,
		 const char *fmt, ...)
{
	struct sw_diag *d;
	va_list ap;
	char *msg = NULL;
	int n;

	if (!diags)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (one_line(&msg) < 0) {
		free(msg);
		return -1;
	}
	if (diags->n == diags->alloc) {
		size_t alloc = diags->alloc ? 2 * diags->alloc : 8;
		struct sw_diag *items = realloc(diags->items, alloc * sizeof(*items));

		if (!items) {
			free(msg);
			return -1;
		}
		diags->items = items;
		diags->alloc = alloc;
	}
	d = &diags->items[diags->n++];
	d->is_error = is_error;
	d->loc = loc;
	d->msg = msg;
	if (is_error)
		diags->n_errors++;
	return 0;
}

static int loc_before(struct sw_loc a, struct sw_loc b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

void sw_diags_sort(struct sw_diags *diags)
{
	size_t i, j;

	/* insertion sort: stable, and lists are short */
	for (i = 1; diags && i < diags->n; i++) {
		struct sw_diag d = diags->items[i];

		for (j = i; j > 0 && loc_before(d.loc, diags->items[j - 1].loc); j--)
			diags->items[j] = diags->items[j - 1];
		diags->items[j] = d;
	}
}

void sw_diags_print(const struct sw_diags *diags, const char *file, FILE *out)
{
	size_t i;

	for (i = 0; diags && i < diags->n; i++) {
		const struct sw_diag *d = &diags->items[i];
		const char *kind = d->is_error ? "error" : "warning";

		if (d->loc.line > 0)
			fprintf(out, "%s:%d:%d: %s: %s\n", file, d->loc.line,
				d->loc.col, kind, d->msg);
		else
			fprintf(out, "%s: %s: %s\n", file, kind, d->msg);
	}
}

void sw_diags_release(struct sw_diags *diags)
{
	size_t i;

	if (!diags)
		return;
	for (i = 0; i < diags->n; i++)
		free(diags->items[i].msg);
	free(diags->items);
	memset(diags, 0, sizeof(*diags));
}

