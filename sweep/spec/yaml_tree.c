/* yaml_tree.c - libyaml events to a located node tree with JSON values, YAML
 * 1.2 scalar resolution and YAML 1.1 (PyYAML) difference warnings. See
 * include/sweep/spec/yaml_tree.h. */
#include "sweep/spec/yaml_tree.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 100
#define MAX_WEIGHT 1000000

struct anchor {
	char *name;
	struct sw_ynode *node;
};

struct frame {
	struct sw_ynode *node;
	struct sw_ynode *key;       /* MAP: key waiting for its value */
	int merge_pending;          /* MAP: has `<<` keys to merge at the end */
};

struct ctx {
	struct sw_ytree *t;
	struct sw_diags *diags;
	struct anchor *anchors;
	size_t n_anchors, alloc_anchors;
	struct frame stack[MAX_DEPTH + 1];
	size_t depth;
	int failed;                 /* stop: the tree cannot be completed */
};

static struct sw_loc mark_loc(yaml_mark_t m)
{
	struct sw_loc l = { (int)m.line + 1, (int)m.column + 1 };

	return l;
}

/* Copies text for a message: at most 40 characters, control characters
 * escaped, so a diagnostic always stays on one line. */
static const char *shown(const char *text, size_t len, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (i >= 40) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}

/* ==== Nodes ==== */

static struct sw_ynode *node_new(struct ctx *c, enum sw_ynode_kind kind,
				 struct sw_loc loc)
{
	struct sw_ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->loc = loc;
	n->weight = 1;
	n->next_alloc = c->t->all;
	c->t->all = n;
	return n;
}

static int node_push(struct sw_ynode *n, struct sw_ynode *key,
		     struct sw_ynode *item)
{
	if (n->n == n->alloc) {
		size_t alloc = n->alloc ? 2 * n->alloc : 4;
		struct sw_ynode **items = realloc(n->items, alloc * sizeof(*items));

		if (!items)
			return -1;
		n->items = items;
		if (n->kind == SW_YNODE_MAP) {
			struct sw_ynode **keys = realloc(n->keys, alloc * sizeof(*keys));

			if (!keys)
				return -1;
			n->keys = keys;
		}
		n->alloc = alloc;
	}
	if (n->kind == SW_YNODE_MAP)
		n->keys[n->n] = key;
	n->items[n->n++] = item;
	return 0;
}

void sw_ytree_release(struct sw_ytree *t)
{
	struct sw_ynode *n, *next;

	if (!t)
		return;
	for (n = t->all; n; n = next) {
		next = n->next_alloc;
		json_decref(n->json);
		free(n->text);
		free(n->items);
		free(n->keys);
		free(n);
	}
	t->all = NULL;
	t->root = NULL;
}

const struct sw_ynode *sw_ymap_get(const struct sw_ynode *map, const char *key,
				   const struct sw_ynode **kidx)
{
	size_t i;

	if (!map || map->kind != SW_YNODE_MAP)
		return NULL;
	for (i = 0; i < map->n; i++) {
		if (strcmp(map->keys[i]->text, key) == 0) {
			if (kidx)
				*kidx = map->keys[i];
			return map->items[i];
		}
	}
	return NULL;
}

const char *sw_ynode_describe(const struct sw_ynode *n)
{
	if (n->kind == SW_YNODE_SEQ)
		return "a list";
	if (n->kind == SW_YNODE_MAP)
		return "a mapping";
	switch (n->type) {
	case SW_YS_NULL: return "null";
	case SW_YS_BOOL: return "a boolean";
	case SW_YS_INT: return "an integer";
	case SW_YS_FLOAT: return "a number";
	case SW_YS_STR: break;
	}
	return "a string";
}

/* ==== YAML 1.2 core schema ==== */

static int all_in(const char *s, size_t n, const char *set)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

static int is_one_of(const char *s, const char *const *words)
{
	size_t i;

	for (i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* Float syntax of the core schema:
 * [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int core_float_syntax(const char *s)
{
	size_t i = 0, digits = 0;

	if (s[i] == '-' || s[i] == '+')
		i++;
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++, digits++;
		if (!digits)
			return 0;
	} else {
		while (s[i] >= '0' && s[i] <= '9')
			i++, digits++;
		if (!digits)
			return 0;
		if (s[i] == '.') {
			i++;
			while (s[i] >= '0' && s[i] <= '9')
				i++;
		}
	}
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		digits = 0;
		if (s[i] == '-' || s[i] == '+')
			i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++, digits++;
		if (!digits)
			return 0;
	}
	return s[i] == '\0';
}

enum core_result { CORE_OK, CORE_TOO_BIG, CORE_NONFINITE };

/* Resolves a plain scalar; *json gets a new reference. */
static enum core_result core_resolve(const char *s, size_t len,
				     enum sw_yscalar *type, json_t **json,
				     int64_t *ival)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const infs[] = { ".inf", "+.inf", "-.inf", ".Inf", "+.Inf",
		"-.Inf", ".INF", "+.INF", "-.INF", ".nan", ".NaN", ".NAN", NULL };
	const char *digits = s;
	int base = 10;
	char *end;

	*ival = 0;
	if (strlen(s) != len) {         /* an escaped NUL: only strings */
		*type = SW_YS_STR;
		*json = json_stringn(s, len);
		return CORE_OK;
	}
	if (is_one_of(s, nulls)) {
		*type = SW_YS_NULL;
		*json = json_null();
		return CORE_OK;
	}
	if (is_one_of(s, trues) || is_one_of(s, falses)) {
		*type = SW_YS_BOOL;
		*json = json_boolean(is_one_of(s, trues));
		return CORE_OK;
	}
	if (s[0] == '0' && s[1] == 'o' && all_in(s + 2, len - 2, "01234567")) {
		base = 8;
		digits = s + 2;
	} else if (s[0] == '0' && s[1] == 'x' &&
		   all_in(s + 2, len - 2, "0123456789abcdefABCDEF")) {
		base = 16;
		digits = s + 2;
	} else if (!(all_in(s, len, "0123456789") ||
		     ((s[0] == '-' || s[0] == '+') &&
		      all_in(s + 1, len - 1, "0123456789")))) {
		base = 0;
	}
	if (base) {
		*type = SW_YS_INT;
		errno = 0;
		if (base == 10) {
			long long v = strtoll(digits, &end, 10);

			if (errno == ERANGE)
				goto too_big;
			*ival = v;
		} else {
			unsigned long long v = strtoull(digits, &end, base);

			if (errno == ERANGE || v > INT64_MAX)
				goto too_big;
			*ival = (int64_t)v;
		}
		*json = json_integer(*ival);
		return CORE_OK;
	}
	if (is_one_of(s, infs)) {
		*type = SW_YS_FLOAT;
		*json = json_null();
		return CORE_NONFINITE;
	}
	if (core_float_syntax(s)) {
		double v = strtod(s, &end);

		*type = SW_YS_FLOAT;
		if (!isfinite(v)) {
			*json = json_null();
			return CORE_TOO_BIG;
		}
		*json = json_real(v);
		return CORE_OK;
	}
	*type = SW_YS_STR;
	*json = json_stringn(s, len);
	return CORE_OK;
too_big:
	*json = json_null();
	return CORE_TOO_BIG;
}

/* ==== YAML 1.1 (PyYAML's resolver) ==== */

enum py_kind { PY_STR, PY_NULL, PY_BOOL, PY_INT, PY_FLOAT, PY_DATE };

static regex_t py_bool, py_float, py_int, py_null, py_date;
static int py_ready;
static pthread_once_t py_once = PTHREAD_ONCE_INIT;

static void py_compile(void)
{
	int bad = 0;

	bad |= regcomp(&py_bool, "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|"
		       "FALSE|on|On|ON|off|Off|OFF)$", REG_EXTENDED | REG_NOSUB);
	bad |= regcomp(&py_float, "^([-+]?[0-9][0-9_]*\\.[0-9_]*([eE][-+][0-9]+)?|"
		       "\\.[0-9_]+([eE][-+][0-9]+)?|"
		       "[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|"
		       "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
		       REG_EXTENDED | REG_NOSUB);
	bad |= regcomp(&py_int, "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|"
		       "[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
		       REG_EXTENDED | REG_NOSUB);
	bad |= regcomp(&py_null, "^(~|null|Null|NULL|)$", REG_EXTENDED | REG_NOSUB);
	bad |= regcomp(&py_date, "^([0-9]{4}-[0-9]{2}-[0-9]{2}|"
		       "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:"
		       "[0-9]{2}(\\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)$",
		       REG_EXTENDED | REG_NOSUB);
	py_ready = !bad;
}

static int py_match(regex_t *re, const char *s)
{
	return regexec(re, s, 0, NULL, 0) == 0;
}

/* PyYAML's value of an int or float scalar (construct_yaml_int/float):
 * underscores dropped, 0b/0x/leading-0 octal, base-60 with ':'. */
static double py_number(const char *s, int is_int, int *exact, int64_t *ival)
{
	char buf[256];
	size_t o = 0, i;
	double sign = 1, v = 0;
	const char *p;

	*exact = 1;
	*ival = 0;
	for (i = 0; s[i] && o + 1 < sizeof(buf); i++)
		if (s[i] != '_')
			buf[o++] = s[i];
	buf[o] = '\0';
	p = buf;
	if (*p == '-')
		sign = -1;
	if (*p == '-' || *p == '+')
		p++;
	if (strchr(p, ':')) {
		char *part = strtok(buf + (p - buf), ":");

		while (part) {
			v = v * 60 + strtod(part, NULL);
			part = strtok(NULL, ":");
		}
		if (is_int) {
			if (v < 9e18)
				*ival = (int64_t)v * (int64_t)sign;
			else
				*exact = 0;
		}
	} else if (!is_int) {
		if (strcasecmp(p, ".inf") == 0)
			v = INFINITY;
		else if (strcasecmp(p, ".nan") == 0)
			v = NAN;
		else
			v = strtod(p, NULL);
	} else {
		int base = 10;
		unsigned long long u;

		if (p[0] == '0' && p[1] == 'b')
			base = 2, p += 2;
		else if (p[0] == '0' && p[1] == 'x')
			base = 16, p += 2;
		else if (p[0] == '0' && p[1])
			base = 8;
		errno = 0;
		u = strtoull(p, NULL, base);
		if (errno == ERANGE || u > INT64_MAX)
			*exact = 0;
		else
			*ival = (int64_t)u * (int64_t)sign;
		v = (double)u;
	}
	v *= sign;
	return v;
}

/* The text of a YAML 1.2 float rewritten so that PyYAML reads the same
 * number: a digit before and after the point, a sign on the exponent. */
static void float_for_both(const char *s, char *out, size_t size)
{
	size_t i = 0, o = 0;

	if (s[i] == '-' || s[i] == '+')
		out[o++] = s[i++];
	if (s[i] == '.')
		out[o++] = '0';
	while (s[i] >= '0' && s[i] <= '9' && o + 8 < size)
		out[o++] = s[i++];
	out[o++] = '.';
	if (s[i] == '.')
		i++;
	if (!(s[i] >= '0' && s[i] <= '9'))
		out[o++] = '0';
	while (s[i] >= '0' && s[i] <= '9' && o + 8 < size)
		out[o++] = s[i++];
	if (s[i] == 'e' || s[i] == 'E') {
		out[o++] = s[i++];
		if (s[i] == '-' || s[i] == '+')
			out[o++] = s[i++];
		else
			out[o++] = '+';
		while (s[i] >= '0' && s[i] <= '9' && o + 2 < size)
			out[o++] = s[i++];
	}
	out[o] = '\0';
}

/* Warns when PyYAML reads the plain scalar s differently from YAML 1.2. */
static void py_compare(struct ctx *c, const struct sw_ynode *n, int64_t ival)
{
	const char *s = n->text;
	char txt[200], is[300], was[160], fix[600];
	enum py_kind pk = PY_STR;
	int exact = 1;
	int64_t pyint = 0;
	double pyv = 0;

	pthread_once(&py_once, py_compile);
	if (!py_ready || strlen(s) != n->len || n->len > 200)
		return;
	if (py_match(&py_bool, s))
		pk = PY_BOOL;
	else if (py_match(&py_float, s))
		pk = PY_FLOAT;
	else if (py_match(&py_int, s))
		pk = PY_INT;
	else if (py_match(&py_null, s))
		pk = PY_NULL;
	else if (py_match(&py_date, s))
		pk = PY_DATE;
	if (pk == PY_INT || pk == PY_FLOAT)
		pyv = py_number(s, pk == PY_INT, &exact, &pyint);

	switch (n->type) {
	case SW_YS_STR:
		if (pk == PY_STR)
			return;
		break;
	case SW_YS_NULL:
		if (pk == PY_NULL)
			return;
		break;
	case SW_YS_BOOL:
		if (pk == PY_BOOL)
			return;     /* true/false read the same */
		break;
	case SW_YS_INT:
		if (pk == PY_INT && exact && pyint == ival)
			return;
		break;
	case SW_YS_FLOAT:
		if (pk == PY_FLOAT)
			return;     /* same text, same number */
		break;
	}

	shown(s, n->len, txt, sizeof(txt));
	switch (n->type) {
	case SW_YS_INT:
		snprintf(is, sizeof(is), "the integer %" PRId64, ival);
		if (pk == PY_INT && exact)
			snprintf(fix, sizeof(fix), "write %" PRId64 ", or %" PRId64
				 " if you meant that", ival, pyint);
		else
			snprintf(fix, sizeof(fix), "write %" PRId64, ival);
		break;
	case SW_YS_FLOAT:
		snprintf(is, sizeof(is), "the number %s", txt);
		float_for_both(s, fix + 6, sizeof(fix) - 6);
		memcpy(fix, "write ", 6);
		break;
	case SW_YS_STR:
		snprintf(is, sizeof(is), "a string");
		if (pk == PY_BOOL)
			snprintf(fix, sizeof(fix), "quote it (\"%s\") to keep the string, "
				 "or write %s for the boolean", txt,
				 strchr("yYtToO", s[0]) && strcasecmp(s, "off") != 0 ?
				 "true" : "false");
		else if (pk == PY_INT && exact)
			snprintf(fix, sizeof(fix), "quote it (\"%s\") to keep the string, "
				 "or write %" PRId64 " for the number", txt, pyint);
		else if (pk == PY_FLOAT && isfinite(pyv))
			snprintf(fix, sizeof(fix), "quote it (\"%s\") to keep the string, "
				 "or write %.17g for the number", txt, pyv);
		else
			snprintf(fix, sizeof(fix), "quote it (\"%s\") so both read a string",
				 txt);
		break;
	default:
		snprintf(is, sizeof(is), "%s", n->type == SW_YS_NULL ? "null" : "a boolean");
		snprintf(fix, sizeof(fix), "quote it if you mean a string");
		break;
	}
	switch (pk) {
	case PY_STR: snprintf(was, sizeof(was), "a string"); break;
	case PY_NULL: snprintf(was, sizeof(was), "null"); break;
	case PY_BOOL:
		snprintf(was, sizeof(was), "the boolean %s",
			 strchr("yYtToO", s[0]) && strcasecmp(s, "off") != 0 ?
			 "true" : "false");
		break;
	case PY_INT:
		if (exact)
			snprintf(was, sizeof(was), "the integer %" PRId64, pyint);
		else
			snprintf(was, sizeof(was), "an integer");
		break;
	case PY_FLOAT: snprintf(was, sizeof(was), "the number %.17g", pyv); break;
	case PY_DATE: snprintf(was, sizeof(was), "a date"); break;
	}
	sw_diags_add(c->diags, 0, n->loc,
		     "'%s' is %s here (YAML 1.2) but %s for wandb's YAML 1.1 loader "
		     "(PyYAML): %s", txt, is, was, fix);
}

/* ==== Events to nodes ==== */

static int fail(struct ctx *c, struct sw_loc loc, const char *fmt, const char *a,
		const char *b)
{
	sw_diags_add(c->diags, 1, loc, fmt, a, b);
	c->failed = 1;
	return -1;
}

static const char *tag_short(const char *tag)
{
	static const char prefix[] = "tag:yaml.org,2002:";

	if (tag && strncmp(tag, prefix, sizeof(prefix) - 1) == 0)
		return tag + sizeof(prefix) - 1;
	return tag;
}

static struct sw_ynode *scalar_node(struct ctx *c, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *t = tag_short(tag);
	struct sw_ynode *n = node_new(c, SW_YNODE_SCALAR, mark_loc(ev->start_mark));
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	enum core_result r = CORE_OK;
	int64_t ival = 0;
	char buf[200];

	if (!n)
		return NULL;
	n->complete = 1;
	n->text = malloc(len + 1);
	if (!n->text)
		return NULL;
	memcpy(n->text, text, len);
	n->text[len] = '\0';
	n->len = len;
	n->plain = plain && !tag;

	if (tag && strcmp(tag, "!") != 0 && strcmp(t, "str") != 0 &&
	    strcmp(t, "int") != 0 && strcmp(t, "float") != 0 &&
	    strcmp(t, "bool") != 0 && strcmp(t, "null") != 0) {
		sw_diags_add(c->diags, 1, n->loc, "unsupported YAML tag '%s%s': only "
			     "!!str, !!int, !!float, !!bool and !!null are understood",
			     t != tag ? "!!" : "", shown(t, strlen(t), buf, sizeof(buf)));
		n->bad = 1;
		n->type = SW_YS_STR;
		n->json = json_stringn(text, len);
	} else if ((!plain && !tag) || strcmp(t ? t : "", "str") == 0 ||
		   strcmp(tag ? tag : "", "!") == 0) {
		n->type = SW_YS_STR;
		n->json = json_stringn(text, len);
	} else {
		r = core_resolve(n->text, len, &n->type, &n->json, &ival);
		if (t) {
			int ok = (strcmp(t, "int") == 0 && n->type == SW_YS_INT) ||
				 (strcmp(t, "float") == 0 &&
				  (n->type == SW_YS_FLOAT || n->type == SW_YS_INT)) ||
				 (strcmp(t, "bool") == 0 && n->type == SW_YS_BOOL) ||
				 (strcmp(t, "null") == 0 && n->type == SW_YS_NULL);

			if (!ok) {
				sw_diags_add(c->diags, 1, n->loc, "'%s' is not a valid !!%s",
					     shown(text, len, buf, sizeof(buf)), t);
				n->bad = 1;
			} else if (strcmp(t, "float") == 0 && n->type == SW_YS_INT) {
				json_decref(n->json);
				n->json = json_real((double)ival);
				n->type = SW_YS_FLOAT;
			}
		} else if (plain && r == CORE_OK) {
			py_compare(c, n, ival);
		}
	}
	if (r == CORE_TOO_BIG) {
		if (n->type == SW_YS_INT)
			sw_diags_add(c->diags, 1, n->loc, "integer '%s' does not fit in "
				     "64 bits", shown(text, len, buf, sizeof(buf)));
		else
			sw_diags_add(c->diags, 1, n->loc, "number '%s' is out of range",
				     shown(text, len, buf, sizeof(buf)));
		n->bad = 1;
	} else if (r == CORE_NONFINITE) {
		sw_diags_add(c->diags, 1, n->loc, "'%s' is not a finite number: "
			     "infinite and NaN values cannot be used in a sweep "
			     "(they cannot be sent as JSON)",
			     shown(text, len, buf, sizeof(buf)));
		n->bad = 1;
	}
	if (!n->json)
		return NULL;
	return n;
}

static int add_anchor(struct ctx *c, const yaml_char_t *name, struct sw_ynode *n)
{
	if (!name)
		return 0;
	if (c->n_anchors == c->alloc_anchors) {
		size_t alloc = c->alloc_anchors ? 2 * c->alloc_anchors : 8;
		struct anchor *a = realloc(c->anchors, alloc * sizeof(*a));

		if (!a)
			return -1;
		c->anchors = a;
		c->alloc_anchors = alloc;
	}
	c->anchors[c->n_anchors].name = strdup((const char *)name);
	if (!c->anchors[c->n_anchors].name)
		return -1;
	c->anchors[c->n_anchors++].node = n;
	return 0;
}

static struct sw_ynode *find_anchor(struct ctx *c, const char *name)
{
	size_t i = c->n_anchors;

	while (i-- > 0)     /* the latest definition wins */
		if (strcmp(c->anchors[i].name, name) == 0)
			return c->anchors[i].node;
	return NULL;
}

static int is_merge(const struct sw_ynode *k)
{
	return k->plain && strcmp(k->text, "<<") == 0;
}

/* Adds key: value to an open mapping; reports duplicates. */
static int map_add(struct ctx *c, struct frame *f, struct sw_ynode *key,
		   struct sw_ynode *val)
{
	struct sw_ynode *m = f->node;
	char buf[200];
	size_t i;

	if (is_merge(key)) {
		/* merged at the end of the mapping, when all explicit keys are
		 * known (they win over merged ones, as in PyYAML) */
		f->merge_pending = 1;
		return node_push(m, key, val);
	}
	if (json_object_getn(m->json, key->text, key->len)) {
		for (i = 0; i < m->n; i++)
			if (m->keys[i]->len == key->len &&
			    memcmp(m->keys[i]->text, key->text, key->len) == 0)
				break;
		/* PyYAML (so wandb) keeps the last value, at the first key's
		 * place in the mapping's order */
		sw_diags_add(c->diags, 0, key->loc, "duplicate key '%s': line %d "
			     "replaces the value given at line %d; wandb uses the "
			     "last value (line %d), and so does sweep",
			     shown(key->text, key->len, buf, sizeof(buf)), key->loc.line,
			     i < m->n ? m->keys[i]->loc.line : 0, key->loc.line);
		if (json_object_setn(m->json, key->text, key->len, val->json) < 0)
			return -1;
		if (i < m->n) {
			m->keys[i] = key;
			m->items[i] = val;
		}
		return 0;
	}
	if (json_object_setn(m->json, key->text, key->len, val->json) < 0 ||
	    node_push(m, key, val) < 0)
		return -1;
	return 0;
}

static int merge_from(struct ctx *c, struct sw_ynode *m, struct sw_ynode *src,
		      struct sw_ynode **keys, struct sw_ynode **items, size_t *n)
{
	size_t i;

	if (src->kind != SW_YNODE_MAP)
		return fail(c, src->loc, "a '<<' merge key needs a mapping or a list "
			    "of mappings%s%s", "", "");
	for (i = 0; i < src->n; i++) {
		struct sw_ynode *k = src->keys[i];

		if (json_object_getn(m->json, k->text, k->len))
			continue;
		if (json_object_setn(m->json, k->text, k->len, src->items[i]->json) < 0)
			return -1;
		keys[*n] = k;
		items[(*n)++] = src->items[i];
	}
	return 0;
}

/* Applies `<<` merge keys of a finished mapping. */
static int map_merge(struct ctx *c, struct sw_ynode *m)
{
	struct sw_ynode **keys = NULL, **items = NULL;
	size_t cap = 0, n = 0, i, j;
	int ret = -1;

	for (i = 0; i < m->n; i++) {
		if (!is_merge(m->keys[i])) {
			cap++;
			continue;
		}
		if (m->items[i]->kind == SW_YNODE_SEQ) {
			for (j = 0; j < m->items[i]->n; j++)
				cap += m->items[i]->items[j]->n;
		} else {
			cap += m->items[i]->n;
		}
	}
	keys = calloc(cap + 1, sizeof(*keys));
	items = calloc(cap + 1, sizeof(*items));
	if (!keys || !items)
		goto done;
	for (i = 0; i < m->n; i++) {
		if (!is_merge(m->keys[i])) {
			keys[n] = m->keys[i];
			items[n++] = m->items[i];
		}
	}
	for (i = 0; i < m->n; i++) {
		struct sw_ynode *v = m->items[i];

		if (!is_merge(m->keys[i]))
			continue;
		if (v->kind == SW_YNODE_SEQ) {
			for (j = 0; j < v->n; j++)
				if (merge_from(c, m, v->items[j], keys, items, &n) < 0)
					goto done;
		} else if (merge_from(c, m, v, keys, items, &n) < 0) {
			goto done;
		}
	}
	free(m->keys);
	free(m->items);
	m->keys = keys;
	m->items = items;
	m->n = n;
	m->alloc = cap + 1;
	keys = items = NULL;
	ret = 0;
done:
	free(keys);
	free(items);
	return ret;
}

/* Attaches a complete node to the open container (or makes it the root). */
static int attach(struct ctx *c, struct sw_ynode *n)
{
	struct frame *f;

	if (c->depth == 0) {
		c->t->root = n;
		return 0;
	}
	f = &c->stack[c->depth - 1];
	if (f->node->kind == SW_YNODE_SEQ) {
		if (json_array_append(f->node->json, n->json) < 0)
			return -1;
		return node_push(f->node, NULL, n);
	}
	if (!f->key) {
		if (n->kind != SW_YNODE_SCALAR)
			return fail(c, n->loc, "mapping keys must be plain values, "
				    "not %s%s", sw_ynode_describe(n), "");
		f->key = n;
		return 0;
	}
	if (map_add(c, f, f->key, n) < 0)
		return -1;
	f->key = NULL;
	return 0;
}

static int start_container(struct ctx *c, const yaml_event_t *ev, int is_map)
{
	const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag :
					 ev->data.sequence_start.tag);
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor :
				    ev->data.sequence_start.anchor;
	const char *t = tag_short(tag);
	struct sw_ynode *n;
	char buf[200];

	if (c->depth >= MAX_DEPTH)
		return fail(c, mark_loc(ev->start_mark), "nesting deeper than %s "
			    "levels%s", "100", "");
	n = node_new(c, is_map ? SW_YNODE_MAP : SW_YNODE_SEQ, mark_loc(ev->start_mark));
	if (!n)
		return -1;
	n->json = is_map ? json_object() : json_array();
	if (!n->json)
		return -1;
	if (tag && strcmp(tag, "!") != 0 && strcmp(t, is_map ? "map" : "seq") != 0)
		sw_diags_add(c->diags, 1, n->loc, "unsupported YAML tag '%s%s'",
			     t != tag ? "!!" : "", shown(t, strlen(t), buf, sizeof(buf)));
	if (add_anchor(c, anchor, n) < 0)
		return -1;
	c->stack[c->depth].node = n;
	c->stack[c->depth].key = NULL;
	c->stack[c->depth].merge_pending = 0;
	c->depth++;
	return 0;
}

static int end_container(struct ctx *c)
{
	struct frame *f = &c->stack[--c->depth];
	struct sw_ynode *n = f->node;
	size_t i;

	if (f->merge_pending && map_merge(c, n) < 0)
		return -1;
	if (c->failed)
		return -1;
	for (i = 0; i < n->n; i++) {
		n->weight += n->items[i]->weight + (n->keys ? 1 : 0);
		if (n->weight > MAX_WEIGHT)
			return fail(c, n->loc, "the document is too large once its "
				    "aliases are expanded (more than %s nodes)%s",
				    "1000000", "");
	}
	n->complete = 1;
	return attach(c, n);
}

static void syntax_error(struct ctx *c, const yaml_parser_t *p)
{
	struct sw_loc loc = mark_loc(p->problem_mark);
	char ctxbuf[160] = "";

	if (p->error == YAML_MEMORY_ERROR) {
		sw_diags_add(c->diags, 1, loc, "out of memory while reading YAML");
		c->failed = 1;
		return;
	}
	if (p->context)
		snprintf(ctxbuf, sizeof(ctxbuf), " (%s that starts at line %d)",
			 p->context, (int)p->context_mark.line + 1);
	sw_diags_add(c->diags, 1, loc, "invalid YAML: %s%s",
		     p->problem ? p->problem : "unknown error", ctxbuf);
	c->failed = 1;
}

/* Checks UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF); reports the first bad byte with its location. */
static int check_utf8(struct ctx *c, const unsigned char *s, size_t len)
{
	size_t i = 0;
	struct sw_loc loc = { 1, 1 };

	if (len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff))) {
		sw_diags_add(c->diags, 1, loc, "the file is UTF-16: save it as UTF-8");
		return -1;
	}
	while (i < len) {
		unsigned char b = s[i];
		size_t need, k;
		uint32_t cp;

		if (b < 0x80) {
			if (b == '\n') {
				loc.line++;
				loc.col = 0;
			}
			i++;
			loc.col++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)
			need = 1, cp = b & 0x1f;
		else if (b >= 0xe0 && b <= 0xef)
			need = 2, cp = b & 0x0f;
		else if (b >= 0xf0 && b <= 0xf4)
			need = 3, cp = b & 0x07;
		else
			goto bad;
		for (k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			goto bad;
		i += need + 1;
		loc.col++;
	}
	return 0;
bad:
	sw_diags_add(c->diags, 1, loc, "invalid UTF-8 (byte 0x%02x): sweep files "
		     "must be UTF-8 text", s[i]);
	return -1;
}

int sw_ytree_parse(struct sw_ytree *t, const char *text, size_t len,
		   struct sw_diags *diags)
{
	struct ctx c;
	yaml_parser_t p;
	yaml_event_t ev;
	int docs = 0, done = 0, ret = -1;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.diags = diags;
	t->root = NULL;
	/* a UTF-8 byte-order mark (Windows editors; PyYAML skips it) */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (check_utf8(&c, (const unsigned char *)text, len) < 0)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		sw_diags_add(diags, 1, (struct sw_loc){ 0, 0 }, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

	while (!done && !c.failed) {
		struct sw_ynode *n;
		int rc = 0;

		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&c, &p);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (docs++ > 0) {
				sw_diags_add(diags, 1, mark_loc(ev.start_mark),
					     "a second YAML document starts here: a sweep "
					     "file holds exactly one (remove the '---' "
					     "separator or split the file)");
				c.failed = 1;
			}
			break;
		case YAML_SCALAR_EVENT:
			n = scalar_node(&c, &ev);
			if (!n || add_anchor(&c, ev.data.scalar.anchor, n) < 0)
				rc = -1;
			else
				rc = attach(&c, n);
			break;
		case YAML_ALIAS_EVENT:
			n = find_anchor(&c, (const char *)ev.data.alias.anchor);
			if (!n)
				rc = fail(&c, mark_loc(ev.start_mark), "alias '*%s' "
					  "refers to no anchor defined before it%s",
					  (const char *)ev.data.alias.anchor, "");
			else if (!n->complete)
				rc = fail(&c, mark_loc(ev.start_mark), "alias '*%s' "
					  "refers to a node that contains it%s",
					  (const char *)ev.data.alias.anchor, "");
			else
				rc = attach(&c, n);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = start_container(&c, &ev, 0);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = start_container(&c, &ev, 1);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = end_container(&c);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc < 0 && !c.failed) {
			sw_diags_add(diags, 1, (struct sw_loc){ 0, 0 }, "out of memory "
				     "while reading YAML");
			c.failed = 1;
		}
	}
	if (!c.failed && docs == 0) {
		sw_diags_add(diags, 1, (struct sw_loc){ 1, 1 }, "the file is empty: "
			     "a sweep needs at least 'method' and 'parameters'");
		c.failed = 1;
	}
	if (!c.failed && t->root)
		ret = 0;
	else
		t->root = NULL;
	yaml_parser_delete(&p);
	for (i = 0; i < c.n_anchors; i++)
		free(c.anchors[i].name);
	free(c.anchors);
	return ret;
}
