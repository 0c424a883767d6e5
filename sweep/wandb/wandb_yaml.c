/* wandb_yaml.c - sweep config -> YAML for wandb; see
 * include/sweep/wandb/wandb_yaml.h */
#include "sweep/wandb/wandb_yaml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ==== Scalars ==== */

/* Words some YAML resolver (1.1 or 1.2) reads as a bool or null. */
static int reserved_word(const char *s)
{
	static const char *const words[] = {
		"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", NULL
	};
	size_t i;

	for (i = 0; words[i]; i++)
		if (!strcasecmp(s, words[i]))
			return 1;
	return 0;
}

static int plain_ok(const char *s)
{
	const char *p;

	if (!*s || reserved_word(s))
		return 0;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
	      *s == '/'))
		return 0;
	for (p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-'))
			return 0;
	}
	return 1;
}

static int write_string(struct sw_buf *out, const char *s)
{
	json_t *j;
	char *q;
	int rc;

	if (plain_ok(s))
		return sw_buf_append(out, s, strlen(s));
	j = json_string(s);
	q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!q)
		return -1;
	rc = sw_buf_append(out, q, strlen(q));
	free(q);
	return rc;
}

/* The shortest repr that reads back as d, in PyYAML 1.1 float syntax: a
 * '.' in the mantissa and a signed exponent. */
static int write_real(struct sw_buf *out, double d)
{
	char tmp[40], fixed[48];
	char *e;
	int prec;

	if (!isfinite(d))
		return sw_buf_appendf(out, "%s", isnan(d) ? ".nan" : d > 0 ? ".inf" : "-.inf");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	e = strchr(tmp, 'e');
	if (e) {
		/* mantissa gets ".0" if it has no '.'; %g exponents are signed */
		*e = '\0';
		snprintf(fixed, sizeof(fixed), "%s%se%s", tmp, strchr(tmp, '.') ? "" : ".0", e + 1);
	} else {
		snprintf(fixed, sizeof(fixed), "%s%s", tmp, strchr(tmp, '.') ? "" : ".0");
	}
	return sw_buf_append(out, fixed, strlen(fixed));
}

static int is_block(json_t *v)
{
	return (json_is_object(v) && json_object_size(v)) ||
	       (json_is_array(v) && json_array_size(v));
}

static int write_scalar(struct sw_buf *out, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return sw_buf_append(out, "{}", 2);
	case JSON_ARRAY: return sw_buf_append(out, "[]", 2);
	case JSON_STRING: return write_string(out, json_string_value(v));
	case JSON_INTEGER: return sw_buf_appendf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: return write_real(out, json_real_value(v));
	case JSON_TRUE: return sw_buf_append(out, "true", 4);
	case JSON_FALSE: return sw_buf_append(out, "false", 5);
	default: return sw_buf_append(out, "null", 4);
	}
}

/* ==== Blocks ==== */

static int indent_to(struct sw_buf *out, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (sw_buf_append(out, " ", 1) < 0)
			return -1;
	return 0;
}

static int write_block(struct sw_buf *out, json_t *v, int indent, int first_inline);

/* "key:" then the value: inline when scalar, else on the next lines. */
static int write_entry(struct sw_buf *out, const char *key, json_t *v, int indent)
{
	if (write_string(out, key) < 0 || sw_buf_append(out, ":", 1) < 0)
		return -1;
	if (!is_block(v))
		return sw_buf_append(out, " ", 1) < 0 || write_scalar(out, v) < 0 ||
		       sw_buf_append(out, "\n", 1) < 0 ? -1 : 0;
	if (sw_buf_append(out, "\n", 1) < 0)
		return -1;
	return write_block(out, v, indent + 2, 0);
}

/* A non-empty map or list at `indent`. With first_inline, the first line's
 * indentation was already written (after "- "). */
static int write_block(struct sw_buf *out, json_t *v, int indent, int first_inline)
{
	size_t i;
	int first = 1;

	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		json_object_foreach(v, k, x) {
			if (!(first && first_inline) && indent_to(out, indent) < 0)
				return -1;
			first = 0;
			if (write_entry(out, k, x, indent) < 0)
				return -1;
		}
		return 0;
	}
	for (i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);

		if (!(first && first_inline) && indent_to(out, indent) < 0)
			return -1;
		first = 0;
		if (json_is_object(x) && json_object_size(x)) {
			if (sw_buf_append(out, "- ", 2) < 0 || write_block(out, x, indent + 2, 1) < 0)
				return -1;
		} else if (is_block(x)) {
			/* a list in a list: "-" alone, the items below */
			if (sw_buf_append(out, "-\n", 2) < 0 || write_block(out, x, indent + 2, 0) < 0)
				return -1;
		} else if (sw_buf_append(out, "- ", 2) < 0 || write_scalar(out, x) < 0 ||
			   sw_buf_append(out, "\n", 1) < 0) {
			return -1;
		}
	}
	return 0;
}

int sw_yaml_write_value(struct sw_buf *out, json_t *v, int indent)
{
	if (is_block(v))
		return write_block(out, v, indent, 0);
	if (indent_to(out, indent) < 0 || write_scalar(out, v) < 0)
		return -1;
	return sw_buf_append(out, "\n", 1);
}

/* ==== wandb's adjustments ==== */

/* min and max without distribution: int_uniform / uniform (wandb's
 * _validate_config_and_fill_distribution), also in nested parameters. */
static int fill_distributions(json_t *params)
{
	const char *k;
	json_t *p;

	if (!json_is_object(params))
		return 0;
	json_object_foreach(params, k, p) {
		json_t *lo, *hi;

		if (!json_is_object(p))
			continue;
		if (json_object_get(p, "parameters") &&
		    fill_distributions(json_object_get(p, "parameters")) < 0)
			return -1;
		lo = json_object_get(p, "min");
		hi = json_object_get(p, "max");
		if (!lo || !hi || json_object_get(p, "distribution"))
			continue;
		if (json_is_integer(lo) && json_is_integer(hi)) {
			if (json_object_set_new(p, "distribution", json_string("int_uniform")))
				return -1;
		} else if (json_is_real(lo) && json_is_real(hi)) {
			if (json_object_set_new(p, "distribution", json_string("uniform")))
				return -1;
		}
	}
	return 0;
}

char *sw_wandb_config_yaml(json_t *doc, struct sw_err *err)
{
	struct sw_buf out;
	json_t *copy = NULL;
	char *text = NULL;

	sw_buf_init(&out, 16u << 20);
	if (!json_is_object(doc)) {
		sw_errorf(err, "the sweep document is not a mapping");
		goto done;
	}
	copy = json_deep_copy(doc);
	if (!copy) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	json_object_del(copy, "alerts");
	if (fill_distributions(json_object_get(copy, "parameters")) < 0 ||
	    sw_yaml_write_value(&out, copy, 0) < 0) {
		sw_errorf(err, "out of memory writing the sweep config as YAML");
		goto done;
	}
	text = sw_buf_detach(&out, NULL);
	if (!text)
		sw_errorf(err, "out of memory");
done:
	json_decref(copy);
	sw_buf_release(&out);
	return text;
}
