/* command_macros.c - wandb's command macros; see
 * include/sweep/spec/command_macros.h */
#include "sweep/spec/command_macros.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "sweep/spec/flow_style.h"

const char *const sw_command_default[4] = {
	"${env}", "${interpreter}", "${program}", "${args}",
};

void sw_argv_free(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* ==== Python formatting ==== */

void sw_py_repr_float(double x, char *buf, size_t size)
{
	char tmp[40], digits[24], *e;
	int p, exp10, decpt, nd = 0, i;
	const char *sign = signbit(x) ? "-" : "";

	if (isnan(x)) {
		snprintf(buf, size, "nan");
		return;
	}
	if (isinf(x)) {
		snprintf(buf, size, "%sinf", sign);
		return;
	}
	if (x == 0) {
		snprintf(buf, size, "%s0.0", sign);
		return;
	}
	/* the shortest digits that read back as x, as Python's repr finds */
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, fabs(x));
		if (strtod(tmp, NULL) == fabs(x))
			break;
	}
	e = strchr(tmp, 'e');
	exp10 = e ? atoi(e + 1) : 0;
	for (i = 0; tmp + i < e; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[nd++] = tmp[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = exp10 + 1;
	if (decpt <= -4 || decpt > 16) {
		snprintf(buf, size, "%s%c%s%.*se%c%02d", sign, digits[0],
			       nd > 1 ? "." : "", nd - 1, digits + 1,
			       exp10 < 0 ? '-' : '+', abs(exp10));
	} else if (decpt <= 0) {
		snprintf(buf, size, "%s0.%0*d%s", sign, -decpt, 0, digits);
		if (decpt == 0)   /* %0*d printed one "0" too many */
			snprintf(buf, size, "%s0.%s", sign, digits);
	} else if (decpt >= nd) {
		snprintf(buf, size, "%s%s%0*d.0", sign, digits, decpt - nd, 0);
		if (decpt == nd)
			snprintf(buf, size, "%s%s.0", sign, digits);
	} else {
		snprintf(buf, size, "%s%.*s.%s", sign, decpt, digits, digits + decpt);
	}
}

static int repr_str(struct sw_buf *b, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	const unsigned char *p;
	int rc = sw_buf_append(b, &q, 1);

	for (p = (const unsigned char *)s; rc == 0 && *p; p++) {
		if (*p == '\\' || *p == (unsigned char)q)
			rc = sw_buf_appendf(b, "\\%c", *p);
		else if (*p == '\n')
			rc = sw_buf_append(b, "\\n", 2);
		else if (*p == '\r')
			rc = sw_buf_append(b, "\\r", 2);
		else if (*p == '\t')
			rc = sw_buf_append(b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f)
			rc = sw_buf_appendf(b, "\\x%02x", *p);
		else
			rc = sw_buf_append(b, p, 1);
	}
	return rc ? rc : sw_buf_append(b, &q, 1);
}

/* Python's repr() of a scalar. */
static int py_repr_scalar(struct sw_buf *b, const json_t *v)
{
	char num[48];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return repr_str(b, json_string_value(v));
	case JSON_INTEGER:
		return sw_buf_appendf(b, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		sw_py_repr_float(json_real_value(v), num, sizeof(num));
		return sw_buf_append(b, num, strlen(num));
	case JSON_TRUE:
		return sw_buf_append(b, "True", 4);
	case JSON_FALSE:
		return sw_buf_append(b, "False", 5);
	case JSON_NULL:
		return sw_buf_append(b, "None", 4);
	default:
		return -1;
	}
}

static const struct sw_flow_style py_repr_style = { py_repr_scalar, repr_str };

/* str(v): a string bare, anything else as repr(v). */
static int py_format(struct sw_buf *b, const json_t *v)
{
	if (json_is_string(v))
		return sw_buf_append(b, json_string_value(v), json_string_length(v));
	return sw_flow_write(b, v, &py_repr_style);
}

char *sw_py_str(const json_t *v)
{
	struct sw_buf b = SW_BUF_INIT;

	if (py_format(&b, v) < 0 || sw_buf_append(&b, "", 0) < 0) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length and
 * the code point in *cp (a stray byte decodes as itself). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len = 1, i;
	unsigned c = s[0];

	if (c >= 0xf0 && c < 0xf8)
		len = 4, c &= 0x07;
	else if (c >= 0xe0)
		len = c < 0xf0 ? 3 : 1, c &= c < 0xf0 ? 0x0f : 0xff;
	else if (c >= 0xc0)
		len = 2, c &= 0x1f;
	if (len > n)
		len = 1, c = s[0];
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = s[0];
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

static int json_str(struct sw_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int rc = sw_buf_append(b, "\"", 1);

	while (rc == 0 && i < n) {
		unsigned cp;
		size_t len = utf8_decode(p + i, n - i, &cp);

		i += len;
		if (cp == '"' || cp == '\\')
			rc = sw_buf_appendf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			rc = sw_buf_append(b, "\\n", 2);
		else if (cp == '\r')
			rc = sw_buf_append(b, "\\r", 2);
		else if (cp == '\t')
			rc = sw_buf_append(b, "\\t", 2);
		else if (cp == '\b')
			rc = sw_buf_append(b, "\\b", 2);
		else if (cp == '\f')
			rc = sw_buf_append(b, "\\f", 2);
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0x10000))
			rc = cp == 0x7f ? sw_buf_append(b, "\x7f", 1) :
			     sw_buf_appendf(b, "\\u%04x", cp);
		else if (cp >= 0x10000)
			rc = sw_buf_appendf(b, "\\u%04x\\u%04x",
					    0xd800 + ((cp - 0x10000) >> 10),
					    0xdc00 + ((cp - 0x10000) & 0x3ff));
		else
			rc = sw_buf_append(b, p + i - len, len);
	}
	return rc ? rc : sw_buf_append(b, "\"", 1);
}

/* A scalar as Python's json.dumps() writes it (NaN and Infinity bare). */
static int py_json_scalar(struct sw_buf *b, const json_t *v)
{
	char num[48];
	double x;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return sw_buf_appendf(b, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		x = json_real_value(v);
		if (isnan(x))
			return sw_buf_append(b, "NaN", 3);
		if (isinf(x))
			return x > 0 ? sw_buf_append(b, "Infinity", 8) :
			       sw_buf_append(b, "-Infinity", 9);
		sw_py_repr_float(x, num, sizeof(num));
		return sw_buf_append(b, num, strlen(num));
	case JSON_TRUE:
		return sw_buf_append(b, "true", 4);
	case JSON_FALSE:
		return sw_buf_append(b, "false", 5);
	case JSON_NULL:
		return sw_buf_append(b, "null", 4);
	default:
		return -1;
	}
}

static int py_json_key(struct sw_buf *b, const char *key)
{
	return json_str(b, key, strlen(key));
}

static const struct sw_flow_style py_json_style = { py_json_scalar, py_json_key };

char *sw_py_json_dumps(const json_t *v)
{
	struct sw_buf b = SW_BUF_INIT;

	if (sw_flow_write(&b, v, &py_json_style) < 0 || sw_buf_append(&b, "", 0) < 0) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

/* ==== Expansion ==== */

struct argv_out {
	char **v;
	size_t n, alloc;
};

/* Appends s (taken) to out; frees s and returns -1 when out of memory. */
static int push(struct argv_out *out, char *s)
{
	if (!s)
		return -1;
	if (out->n + 2 > out->alloc) {
		size_t na = out->alloc ? out->alloc * 2 : 16;
		char **nv = realloc(out->v, na * sizeof(*nv));

		if (!nv) {
			free(s);
			return -1;
		}
		out->v = nv;
		out->alloc = na;
	}
	out->v[out->n++] = s;
	out->v[out->n] = NULL;
	return 0;
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* Pushes a new string a b c d; -1 when out of memory. */
static int push4(struct argv_out *out, const char *a, const char *b,
		 const char *c, const char *d)
{
	char *ab = join3(a, b, ""), *s = ab ? join3(ab, c, d) : NULL;

	free(ab);
	return push(out, s);
}

/* Pushes the items of the arguments macro `name`; -1 when out of memory. */
static int push_args(struct argv_out *out, const char *name, const json_t *params)
{
	const char *key;
	json_t *v;
	char *s;
	int rc = 0;

	if (!strcmp(name, "args_json"))
		return push(out, sw_py_json_dumps(params));
	json_object_foreach((json_t *)params, key, v) {
		s = sw_py_str(v);
		if (!s)
			return -1;
		if (!strcmp(name, "args")) {
			rc = push4(out, "--", key, "=", s);
		} else if (!strcmp(name, "args_no_hyphens")) {
			rc = push4(out, "", key, "=", s);
		} else if (!strcmp(name, "args_append_hydra")) {
			rc = push4(out, "+", key, "=", s);
		} else if (!strcmp(name, "args_override_hydra")) {
			rc = push4(out, "++", key, "=", s);
		} else if (!strcmp(name, "args_no_equals")) {
			rc = push4(out, "--", key, "", "");
			if (rc == 0)
				rc = push(out, strdup(s));
		} else if (!strcmp(name, "args_no_boolean_flags")) {
			if (json_is_true(v))
				rc = push4(out, "--", key, "", "");
			else if (!json_is_false(v))
				rc = push4(out, "--", key, "=", s);
		}
		free(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int is_args_macro(const char *name)
{
	static const char *const names[] = {
		"args", "args_no_hyphens", "args_no_equals", "args_no_boolean_flags",
		"args_append_hydra", "args_override_hydra", "args_json", NULL,
	};
	size_t i;

	for (i = 0; names[i]; i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

/* Replaces every ${envvar:NAME} in item; a new string, NULL when OOM. */
static char *expand_envvars(const char *item, const struct sw_macro_ctx *ctx)
{
	struct sw_buf b = SW_BUF_INIT;
	const char *p = item, *q;
	int rc = 0;

	while (rc == 0 && *p) {
		q = strstr(p, "${envvar:");
		if (q) {
			const char *n = q + 9, *e = n;

			while ((*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') || *e == '_')
				e++;
			if (*e == '}') {
				char name[256];
				const char *val;

				snprintf(name, sizeof(name), "%.*s", (int)(e - n), n);
				val = ctx->getenv ? ctx->getenv(ctx->getenv_ctx, name) : getenv(name);
				rc = sw_buf_append(&b, p, (size_t)(q - p));
				if (rc == 0)
					rc = sw_buf_append(&b, val ? val : name,
							   strlen(val ? val : name));
				p = e + 1;
				continue;
			}
			rc = sw_buf_append(&b, p, (size_t)(n - p));
			p = n;
			continue;
		}
		rc = sw_buf_append(&b, p, strlen(p));
		break;
	}
	if (rc < 0 || sw_buf_append(&b, "", 0) < 0) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

int sw_command_expand(const char *const *command, size_t n,
		      const struct sw_macro_ctx *ctx, char ***argv_out,
		      size_t *argc_out, struct sw_err *err)
{
	struct argv_out out = { NULL, 0, 0 };
	json_t *empty = NULL;
	const json_t *params = ctx->params;
	char *item = NULL;
	size_t i;
	int rc = 0;

	if (!command) {
		command = sw_command_default;
		n = 4;
	}
	if (!params || !json_is_object(params)) {
		empty = json_object();
		params = empty;
		if (!empty)
			return sw_errorf(err, "out of memory");
	}
	for (i = 0; rc == 0 && i < n; i++) {
		size_t len;

		item = expand_envvars(command[i] ? command[i] : "", ctx);
		if (!item) {
			rc = -1;
			break;
		}
		len = strlen(item);
		if (len >= 3 && !strncmp(item, "${", 2) && item[len - 1] == '}') {
			item[len - 1] = '\0';
			if (!strcmp(item + 2, "env"))
				rc = push(&out, strdup(ctx->env ? ctx->env : "/usr/bin/env"));
			else if (!strcmp(item + 2, "interpreter"))
				rc = push(&out, strdup(ctx->interpreter ? ctx->interpreter :
						       "python"));
			else if (!strcmp(item + 2, "program"))
				rc = ctx->program ? push(&out, strdup(ctx->program)) : 0;
			else if (!strcmp(item + 2, "args_json_file"))
				rc = ctx->args_json_file ?
				     push(&out, strdup(ctx->args_json_file)) : 0;
			else if (is_args_macro(item + 2))
				rc = push_args(&out, item + 2, params);
			free(item);
		} else {
			rc = push(&out, item);
		}
		item = NULL;
	}
	json_decref(empty);
	if (rc == 0 && !out.v) {
		out.v = calloc(1, sizeof(char *));
		rc = out.v ? 0 : -1;
	}
	if (rc < 0) {
		sw_argv_free(out.v);
		return sw_errorf(err, "out of memory expanding the sweep's command");
	}
	*argv_out = out.v;
	*argc_out = out.n;
	return 0;
}

int sw_command_uses(const char *const *command, size_t n, const char *name)
{
	size_t i, len = strlen(name);

	if (!command) {
		command = sw_command_default;
		n = 4;
	}
	for (i = 0; i < n; i++)
		if (command[i] && !strncmp(command[i], "${", 2) &&
		    !strncmp(command[i] + 2, name, len) && !strcmp(command[i] + 2 + len, "}"))
			return 1;
	return 0;
}
