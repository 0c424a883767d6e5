/* spec_load.c - the first pass: a sweep YAML file to a struct sw_spec.
 *
 * The YAML itself (syntax, scalar types, YAML 1.1 warnings, duplicate keys,
 * aliases) is read by yaml_tree.c; this file checks the shape of wandb's
 * schema (known keys, types, enums, which distribution a parameter is and
 * which keys it takes) and fills the typed structure with wandb's defaults.
 * Value checks (ranges, cross-field and engine rules, the trainer's table)
 * are the second pass, spec_validate.c. See include/sweep/spec/spec.h. */
#define _GNU_SOURCE
#include "sweep/spec/spec.h"
#include "sweep/spec/command_macros.h"
#include "base/file.h"
#include "sweep/spec/yaml_tree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_SIZE (16u << 20)

struct lctx {
	struct sw_spec *spec;
	struct sw_diags *diags;
};

static const char *const dist_names[SW_DIST_COUNT + 1] = {
	[SW_DIST_CONSTANT] = "constant",
	[SW_DIST_CATEGORICAL] = "categorical",
	[SW_DIST_CATEGORICAL_W_PROBABILITIES] = "categorical_w_probabilities",
	[SW_DIST_INT_UNIFORM] = "int_uniform",
	[SW_DIST_UNIFORM] = "uniform",
	[SW_DIST_Q_UNIFORM] = "q_uniform",
	[SW_DIST_LOG_UNIFORM] = "log_uniform",
	[SW_DIST_LOG_UNIFORM_VALUES] = "log_uniform_values",
	[SW_DIST_Q_LOG_UNIFORM] = "q_log_uniform",
	[SW_DIST_Q_LOG_UNIFORM_VALUES] = "q_log_uniform_values",
	[SW_DIST_INV_LOG_UNIFORM] = "inv_log_uniform",
	[SW_DIST_INV_LOG_UNIFORM_VALUES] = "inv_log_uniform_values",
	[SW_DIST_NORMAL] = "normal",
	[SW_DIST_Q_NORMAL] = "q_normal",
	[SW_DIST_LOG_NORMAL] = "log_normal",
	[SW_DIST_Q_LOG_NORMAL] = "q_log_normal",
	[SW_DIST_BETA] = "beta",
	[SW_DIST_Q_BETA] = "q_beta",
	[SW_DIST_NESTED] = "parameters",
	[SW_DIST_COUNT] = NULL,
};

/* The 18 distributions (without "parameters"), for messages. */
static const char *const dist_choices[SW_DIST_NESTED + 1] = {
	"constant", "categorical", "categorical_w_probabilities", "int_uniform",
	"uniform", "q_uniform", "log_uniform", "log_uniform_values",
	"q_log_uniform", "q_log_uniform_values", "inv_log_uniform",
	"inv_log_uniform_values", "normal", "q_normal", "log_normal",
	"q_log_normal", "beta", "q_beta", NULL
};

const char *sw_dist_name(enum sw_dist d)
{
	if ((int)d < 0 || d >= SW_DIST_COUNT)
		return "?";
	return dist_names[d];
}

void sw_spec_init(struct sw_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
}

/* ==== Reporting ==== */

static void error_at(struct lctx *c, struct sw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void error_at(struct lctx *c, struct sw_loc loc, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sw_diags_add(c->diags, 1, loc, "%s", msg);
}

static void warn_at(struct lctx *c, struct sw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn_at(struct lctx *c, struct sw_loc loc, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sw_diags_add(c->diags, 0, loc, "%s", msg);
}

/* A key's text for a message: short, on one line. */
static const char *key_text(const struct sw_ynode *k, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < k->len && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)k->text[i];

		if (i == 60) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	buf[o] = '\0';
	return buf;
}

static void unknown_key(struct lctx *c, const struct sw_ynode *k, const char *where,
			const char *const *known, const char *listing)
{
	char buf[80];
	const char *near = sw_nearest(key_text(k, buf, sizeof(buf)), known);

	if (near)
		error_at(c, k->loc, "unknown key '%s'%s%s; did you mean '%s'?", buf,
			 where[0] ? " in " : "", where, near);
	else
		error_at(c, k->loc, "unknown key '%s'%s%s (%s)", buf,
			 where[0] ? " in " : "", where, listing);
}

/* ==== Typed values ==== */

/* Each want_* reports "WHAT must be ..., got ..." and returns -1 when the
 * node has the wrong type; a node already reported (bad) fails silently. */

static int want_string(struct lctx *c, const struct sw_ynode *n, const char *what,
		       char **out)
{
	if (n->bad)
		return -1;
	if (n->kind != SW_YNODE_SCALAR || n->type != SW_YS_STR) {
		error_at(c, n->loc, "%s must be a string, got %s%s", what,
			 sw_ynode_describe(n),
			 n->kind == SW_YNODE_SCALAR && n->type != SW_YS_NULL ?
			 " (quote it to make it a string)" : "");
		return -1;
	}
	if (strlen(n->text) != n->len) {
		error_at(c, n->loc, "%s must not contain NUL characters", what);
		return -1;
	}
	free(*out);
	*out = strdup(n->text);
	return *out ? 0 : -1;
}

static int want_number(struct lctx *c, const struct sw_ynode *n, const char *what,
		       double *out, int *is_int)
{
	if (n->bad)
		return -1;
	if (n->kind != SW_YNODE_SCALAR ||
	    (n->type != SW_YS_INT && n->type != SW_YS_FLOAT)) {
		error_at(c, n->loc, "%s must be a number, got %s", what,
			 sw_ynode_describe(n));
		return -1;
	}
	*out = json_number_value(n->json);
	if (is_int)
		*is_int = n->type == SW_YS_INT;
	return 0;
}

static int want_int(struct lctx *c, const struct sw_ynode *n, const char *what,
		    int64_t *out)
{
	if (n->bad)
		return -1;
	if (n->kind != SW_YNODE_SCALAR || n->type != SW_YS_INT) {
		error_at(c, n->loc, "%s must be an integer, got %s", what,
			 sw_ynode_describe(n));
		return -1;
	}
	*out = (int64_t)json_integer_value(n->json);
	return 0;
}

static int want_bool(struct lctx *c, const struct sw_ynode *n, const char *what,
		     int *out)
{
	if (n->bad)
		return -1;
	if (n->kind != SW_YNODE_SCALAR || n->type != SW_YS_BOOL) {
		error_at(c, n->loc, "%s must be true or false, got %s", what,
			 sw_ynode_describe(n));
		return -1;
	}
	*out = json_is_true(n->json);
	return 0;
}

static int want_map(struct lctx *c, const struct sw_ynode *n, const char *what)
{
	if (n->bad)
		return -1;
	if (n->kind != SW_YNODE_MAP) {
		error_at(c, n->loc, "%s must be a mapping, got %s", what,
			 sw_ynode_describe(n));
		return -1;
	}
	return 0;
}

/* A string among choices (NULL-terminated); returns its index or -1. */
static int want_enum(struct lctx *c, const struct sw_ynode *n, const char *what,
		     const char *const *choices)
{
	char *s = NULL, list[512] = "";
	const char *near;
	size_t i, o = 0;
	int ret = -1;

	for (i = 0; choices[i] && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				      i ? (choices[i + 1] ? ", " : " or ") : "",
				      choices[i]);
	if (n->kind == SW_YNODE_SCALAR && n->type != SW_YS_STR && !n->bad) {
		error_at(c, n->loc, "%s must be %s, got %s", what, list,
			 sw_ynode_describe(n));
		return -1;
	}
	if (want_string(c, n, what, &s) < 0)
		return -1;
	for (i = 0; choices[i]; i++)
		if (strcmp(s, choices[i]) == 0)
			ret = (int)i;
	if (ret < 0) {
		near = sw_nearest(s, choices);
		if (near)
			error_at(c, n->loc, "%s: '%.60s' is not known; did you mean "
				 "'%s'?", what, s, near);
		else
			error_at(c, n->loc, "%s must be %s, got '%.60s'", what,
				 list, s);
	}
	free(s);
	return ret;
}

/* ==== Parameters ==== */

enum pkey { PK_DISTRIBUTION, PK_VALUE, PK_VALUES, PK_PROBABILITIES, PK_MIN,
	    PK_MAX, PK_Q, PK_MU, PK_SIGMA, PK_A, PK_B, PK_PARAMETERS, PK_COUNT };

static const char *const param_keys[PK_COUNT + 1] = {
	"distribution", "value", "values", "probabilities", "min", "max", "q",
	"mu", "sigma", "a", "b", "parameters", NULL
};

#define B(k) (1u << (k))
#define BOUNDS (B(PK_MIN) | B(PK_MAX))

/* Keys each distribution takes besides `distribution`. */
static unsigned dist_keys(enum sw_dist d)
{
	switch (d) {
	case SW_DIST_CONSTANT: return B(PK_VALUE);
	case SW_DIST_CATEGORICAL: return B(PK_VALUES);
	case SW_DIST_CATEGORICAL_W_PROBABILITIES: return B(PK_VALUES) | B(PK_PROBABILITIES);
	case SW_DIST_INT_UNIFORM:
	case SW_DIST_UNIFORM:
	case SW_DIST_LOG_UNIFORM:
	case SW_DIST_LOG_UNIFORM_VALUES:
	case SW_DIST_INV_LOG_UNIFORM:
	case SW_DIST_INV_LOG_UNIFORM_VALUES: return BOUNDS;
	case SW_DIST_Q_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM_VALUES: return BOUNDS | B(PK_Q);
	case SW_DIST_NORMAL:
	case SW_DIST_LOG_NORMAL: return B(PK_MU) | B(PK_SIGMA);
	case SW_DIST_Q_NORMAL:
	case SW_DIST_Q_LOG_NORMAL: return B(PK_MU) | B(PK_SIGMA) | B(PK_Q);
	case SW_DIST_BETA: return B(PK_A) | B(PK_B);
	case SW_DIST_Q_BETA: return B(PK_A) | B(PK_B) | B(PK_Q);
	case SW_DIST_NESTED: return B(PK_PARAMETERS);
	case SW_DIST_COUNT: break;
	}
	return 0;
}

/* Keys a distribution cannot do without. */
static unsigned dist_required(enum sw_dist d)
{
	switch (d) {
	case SW_DIST_CONSTANT: return B(PK_VALUE);
	case SW_DIST_CATEGORICAL: return B(PK_VALUES);
	case SW_DIST_CATEGORICAL_W_PROBABILITIES: return B(PK_VALUES) | B(PK_PROBABILITIES);
	case SW_DIST_NESTED: return B(PK_PARAMETERS);
	default: break;
	}
	return dist_keys(d) & BOUNDS;
}

static void key_list(unsigned mask, char *out, size_t size)
{
	size_t o = 0;
	int k, first = 1;

	out[0] = '\0';
	for (k = 0; k < PK_COUNT; k++) {
		if (!(mask & B(k)))
			continue;
		o += (size_t)snprintf(out + o, size - o, "%s%s", first ? "" : ", ",
				      param_keys[k]);
		if (o >= size)
			break;
		first = 0;
	}
}

static int valid_param_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || strlen(s) != len)
		return 0;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

static int load_params(struct lctx *c, const struct sw_ynode *map,
		       struct sw_param *parent, const char *prefix,
		       struct sw_param **out, size_t *n_out);

/* Numeric field of a parameter: reads node into *v, marks is_int. */
static void param_number(struct lctx *c, struct sw_param *p, const char *path,
			 const struct sw_ynode *n, const char *key, double *v,
			 int *is_int, struct sw_loc *loc)
{
	char what[320];

	snprintf(what, sizeof(what), "'%s' of parameter '%s'", key, path);
	*loc = n->loc;
	if (want_number(c, n, what, v, is_int) < 0)
		p->broken = 1;
}

static void load_param(struct lctx *c, struct sw_param *p, const struct sw_ynode *key,
		       const struct sw_ynode *val, const char *path)
{
	const struct sw_ynode *f[PK_COUNT] = { 0 };
	unsigned present = 0, allowed, missing;
	char what[320], list[160];
	size_t i;
	int k;

	p->loc = key->loc;
	p->q = 1.0;
	p->sigma = 1.0;
	p->a = 1.0;
	p->b = 1.0;
	if (val->kind != SW_YNODE_MAP) {
		if (!val->bad)
			error_at(c, val->loc, "parameter '%s' must be a mapping such as "
				 "{value: X}, {values: [X, Y]} or {min: X, max: Y}, got %s",
				 path, sw_ynode_describe(val));
		p->broken = 1;
		return;
	}
	for (i = 0; i < val->n; i++) {
		const struct sw_ynode *k2 = val->keys[i];

		for (k = 0; k < PK_COUNT; k++)
			if (strcmp(k2->text, param_keys[k]) == 0)
				break;
		if (k == PK_COUNT) {
			snprintf(what, sizeof(what), "parameter '%s'", path);
			unknown_key(c, k2, what, param_keys, "a parameter takes "
				    "distribution, value, values, probabilities, min, "
				    "max, q, mu, sigma, a, b or parameters");
			p->broken = 1;
			continue;
		}
		f[k] = val->items[i];
		present |= B(k);
	}

	/* which distribution */
	if (f[PK_DISTRIBUTION]) {
		snprintf(what, sizeof(what), "distribution of parameter '%s'", path);
		p->loc_dist = f[PK_DISTRIBUTION]->loc;
		k = want_enum(c, f[PK_DISTRIBUTION], what, dist_choices);
		if (k < 0 || k == SW_DIST_NESTED) {
			if (k == SW_DIST_NESTED)
				error_at(c, f[PK_DISTRIBUTION]->loc, "distribution of "
					 "parameter '%s' cannot be 'parameters': write "
					 "the nested parameters under a 'parameters' key",
					 path);
			p->broken = 1;
			return;
		}
		p->dist = (enum sw_dist)k;
		p->dist_explicit = 1;
	} else if (present & B(PK_PARAMETERS)) {
		p->dist = SW_DIST_NESTED;
	} else if ((present & B(PK_VALUES)) && (present & B(PK_PROBABILITIES))) {
		p->dist = SW_DIST_CATEGORICAL_W_PROBABILITIES;
	} else if (present & B(PK_VALUES)) {
		p->dist = SW_DIST_CATEGORICAL;
	} else if (present & B(PK_VALUE)) {
		p->dist = SW_DIST_CONSTANT;
	} else if ((present & BOUNDS) == BOUNDS) {
		const struct sw_ynode *lo = f[PK_MIN], *hi = f[PK_MAX];

		p->dist = lo->kind == SW_YNODE_SCALAR && hi->kind == SW_YNODE_SCALAR &&
			  lo->type == SW_YS_INT && hi->type == SW_YS_INT ?
			  SW_DIST_INT_UNIFORM : SW_DIST_UNIFORM;
	} else if (present & BOUNDS) {
		error_at(c, p->loc, "parameter '%s' has '%s' but no '%s'", path,
			 f[PK_MIN] ? "min" : "max", f[PK_MIN] ? "max" : "min");
		p->broken = 1;
		return;
	} else if (present) {
		key_list(present, list, sizeof(list));
		error_at(c, p->loc, "parameter '%s' has %s but no 'distribution': say "
			 "which one (e.g. normal, log_normal, beta, q_uniform)", path,
			 list);
		p->broken = 1;
		return;
	} else {
		if (val->n == 0)
			error_at(c, p->loc, "parameter '%s' is empty: give value, "
				 "values, min and max, or a distribution", path);
		p->broken = 1;
		return;
	}

	allowed = dist_keys(p->dist) | B(PK_DISTRIBUTION);
	for (i = 0; i < val->n; i++) {
		const struct sw_ynode *k2 = val->keys[i];

		for (k = 0; k < PK_COUNT; k++)
			if (strcmp(k2->text, param_keys[k]) == 0)
				break;
		if (k < PK_COUNT && !(allowed & B(k))) {
			key_list(dist_keys(p->dist), list, sizeof(list));
			error_at(c, k2->loc, "'%s' does not apply to %s parameter '%s' "
				 "(it takes %s)", param_keys[k],
				 p->dist == SW_DIST_NESTED ? "nested" :
				 sw_dist_name(p->dist), path, list);
			p->broken = 1;
		}
	}
	missing = dist_required(p->dist) & ~present;
	if (missing) {
		key_list(missing, list, sizeof(list));
		error_at(c, p->loc, "parameter '%s' (%s) needs %s", path,
			 sw_dist_name(p->dist), list);
		p->broken = 1;
	}
	if (!(allowed & B(PK_PARAMETERS)) || p->dist != SW_DIST_NESTED)
		f[PK_PARAMETERS] = NULL;

	/* fields */
	if (f[PK_VALUE] && (allowed & B(PK_VALUE))) {
		p->loc_value = f[PK_VALUE]->loc;
		if (f[PK_VALUE]->bad)
			p->broken = 1;
		p->value = json_incref(f[PK_VALUE]->json);
	}
	if (f[PK_VALUES] && (allowed & B(PK_VALUES))) {
		const struct sw_ynode *v = f[PK_VALUES];

		p->loc_values = v->loc;
		if (v->kind != SW_YNODE_SEQ) {
			if (!v->bad)
				error_at(c, v->loc, "'values' of parameter '%s' must be a "
					 "list such as [1, 2, 3], got %s", path,
					 sw_ynode_describe(v));
			p->broken = 1;
		} else {
			p->values = json_incref(v->json);
			p->value_locs = calloc(v->n + 1, sizeof(*p->value_locs));
			for (i = 0; p->value_locs && i < v->n; i++) {
				p->value_locs[i] = v->items[i]->loc;
				if (v->items[i]->bad)
					p->broken = 1;
			}
		}
	}
	if (f[PK_PROBABILITIES] && (allowed & B(PK_PROBABILITIES))) {
		const struct sw_ynode *v = f[PK_PROBABILITIES];

		p->loc_probabilities = v->loc;
		if (v->kind != SW_YNODE_SEQ) {
			if (!v->bad)
				error_at(c, v->loc, "'probabilities' of parameter '%s' "
					 "must be a list of numbers, got %s", path,
					 sw_ynode_describe(v));
			p->broken = 1;
		} else {
			p->probabilities = calloc(v->n + 1, sizeof(double));
			p->n_probabilities = v->n;
			for (i = 0; p->probabilities && i < v->n; i++) {
				snprintf(what, sizeof(what), "probability %zu of parameter "
					 "'%s'", i + 1, path);
				if (want_number(c, v->items[i], what,
						&p->probabilities[i], NULL) < 0)
					p->broken = 1;
			}
		}
	}
	if (f[PK_MIN] && (allowed & B(PK_MIN)))
		param_number(c, p, path, f[PK_MIN], "min", &p->min, &p->min_is_int,
			     &p->loc_min);
	if (f[PK_MAX] && (allowed & B(PK_MAX)))
		param_number(c, p, path, f[PK_MAX], "max", &p->max, &p->max_is_int,
			     &p->loc_max);
	if (f[PK_Q] && (allowed & B(PK_Q)))
		param_number(c, p, path, f[PK_Q], "q", &p->q, &p->q_is_int, &p->loc_q);
	if (f[PK_MU] && (allowed & B(PK_MU)))
		param_number(c, p, path, f[PK_MU], "mu", &p->mu, NULL, &p->loc_mu);
	if (f[PK_SIGMA] && (allowed & B(PK_SIGMA)))
		param_number(c, p, path, f[PK_SIGMA], "sigma", &p->sigma, NULL,
			     &p->loc_sigma);
	if (f[PK_A] && (allowed & B(PK_A)))
		param_number(c, p, path, f[PK_A], "a", &p->a, NULL, &p->loc_a);
	if (f[PK_B] && (allowed & B(PK_B)))
		param_number(c, p, path, f[PK_B], "b", &p->b, NULL, &p->loc_b);
	if (p->dist == SW_DIST_INT_UNIFORM && !p->broken) {
		if (f[PK_MIN] && !p->min_is_int) {
			error_at(c, f[PK_MIN]->loc, "'min' of int_uniform parameter '%s' "
				 "must be an integer, got %s", path, f[PK_MIN]->text);
			p->broken = 1;
		}
		if (f[PK_MAX] && !p->max_is_int) {
			error_at(c, f[PK_MAX]->loc, "'max' of int_uniform parameter '%s' "
				 "must be an integer, got %s", path, f[PK_MAX]->text);
			p->broken = 1;
		}
	}
	if (p->dist == SW_DIST_NESTED && f[PK_PARAMETERS]) {
		const struct sw_ynode *v = f[PK_PARAMETERS];

		snprintf(what, sizeof(what), "'parameters' of parameter '%s'", path);
		if (want_map(c, v, what) < 0) {
			p->broken = 1;
		} else if (v->n == 0) {
			error_at(c, v->loc, "nested parameter '%s' has no parameters", path);
			p->broken = 1;
		} else {
			/* children with errors are marked broken themselves, so
			 * the valid siblings are still validated */
			load_params(c, v, p, path, &p->children, &p->n_children);
		}
	}
}

static int load_params(struct lctx *c, const struct sw_ynode *map,
		       struct sw_param *parent, const char *prefix,
		       struct sw_param **out, size_t *n_out)
{
	struct sw_param *ps = calloc(map->n + 1, sizeof(*ps));
	char path[200], buf[80];
	size_t i;
	int ret = 0;

	if (!ps)
		return -1;
	*out = ps;
	*n_out = map->n;
	for (i = 0; i < map->n; i++) {
		const struct sw_ynode *k = map->keys[i];
		struct sw_param *p = &ps[i];

		p->parent = parent;
		p->name = strdup(k->text);
		if (!p->name)
			return -1;
		snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "",
			 prefix ? "." : "", key_text(k, buf, sizeof(buf)));
		if (!valid_param_name(k->text, k->len)) {
			error_at(c, k->loc, "parameter name '%s' is not valid: use "
				 "letters, digits, '_', '.' and '-', starting with a "
				 "letter or '_'", buf);
			p->broken = 1;
			ret = -1;
		}
		load_param(c, p, k, map->items[i], path);
		if (p->broken)
			ret = -1;
	}
	return ret;
}

/* ==== Sections ==== */

static void load_metric(struct lctx *c, const struct sw_ynode *n,
			struct sw_metric *m)
{
	static const char *const keys[] = { "name", "goal", "target", "impute",
		"impute_while_running", NULL };
	static const char *const goals[] = { "minimize", "maximize", NULL };
	static const char *const imputes[] = { "worst", "latest", "best", NULL };
	static const char *const iwr[] = { "worst", "latest", "best", "false", NULL };
	const struct sw_ynode *name = NULL;
	size_t i;
	int k;

	m->present = 1;
	m->loc = n->loc;
	if (want_map(c, n, "'metric'") < 0)
		return;
	for (i = 0; i < n->n; i++) {
		const char *key = n->keys[i]->text;
		const struct sw_ynode *v = n->items[i];

		if (strcmp(key, "name") == 0) {
			name = v;
			want_string(c, v, "'name' of metric", &m->name);
		} else if (strcmp(key, "goal") == 0) {
			k = want_enum(c, v, "goal of metric", goals);
			if (k >= 0)
				m->goal = k == 0 ? SW_GOAL_MINIMIZE : SW_GOAL_MAXIMIZE;
		} else if (strcmp(key, "target") == 0) {
			m->loc_target = v->loc;
			if (want_number(c, v, "'target' of metric", &m->target, NULL) == 0)
				m->has_target = 1;
		} else if (strcmp(key, "impute") == 0) {
			k = want_enum(c, v, "impute of metric", imputes);
			if (k >= 0)
				m->impute = (enum sw_impute)k;
		} else if (strcmp(key, "impute_while_running") == 0) {
			if (v->kind == SW_YNODE_SCALAR && v->type == SW_YS_BOOL) {
				error_at(c, v->loc, "impute_while_running must be a "
					 "string: write \"false\" (quoted, as wandb's "
					 "schema requires) or latest, best, worst");
				continue;
			}
			k = want_enum(c, v, "impute_while_running of metric", iwr);
			if (k >= 0)
				m->impute_while_running = (enum sw_impute)k;
		} else {
			unknown_key(c, n->keys[i], "metric", keys, "metric takes name, "
				    "goal, target, impute and impute_while_running");
		}
	}
	if (!name)
		error_at(c, n->loc, "metric needs a 'name' (the logged value to "
			 "optimise, e.g. val_accuracy)");
}

/* metrics: two or more metrics, for method: custom's external scheduler
 * (spec_validate.c checks the method); checked as wandb's schema does and
 * not kept. */
static void load_metrics(struct lctx *c, const struct sw_ynode *key,
			 const struct sw_ynode *n)
{
	size_t i;

	c->spec->has_metrics = 1;
	c->spec->loc_metrics = key->loc;
	if (n->bad)
		return;
	if (n->kind != SW_YNODE_SEQ || n->n < 2) {
		error_at(c, n->loc, "'metrics' must be a list of at least two "
			 "metrics, got %s", sw_ynode_describe(n));
		return;
	}
	for (i = 0; i < n->n; i++) {
		struct sw_metric m = { 0 };

		load_metric(c, n->items[i], &m);
		free(m.name);
	}
}

static void load_hyperband(struct lctx *c, const struct sw_ynode *n)
{
	static const char *const keys[] = { "type", "min_iter", "max_iter", "s",
		"eta", "strict", NULL };
	static const char *const types[] = { "hyperband", NULL };
	struct sw_hyperband *h = &c->spec->hyperband;
	int has_type = 0;
	size_t i;

	h->present = 1;
	h->loc = n->loc;
	h->eta = 3;
	h->strict = 1;
	if (want_map(c, n, "'early_terminate'") < 0)
		return;
	for (i = 0; i < n->n; i++) {
		const char *key = n->keys[i]->text;
		const struct sw_ynode *v = n->items[i];

		if (strcmp(key, "type") == 0) {
			has_type = 1;
			want_enum(c, v, "type of early_terminate", types);
		} else if (strcmp(key, "min_iter") == 0) {
			h->loc_min_iter = v->loc;
			h->has_min_iter = want_int(c, v, "'min_iter' of early_terminate",
						   &h->min_iter) == 0;
		} else if (strcmp(key, "max_iter") == 0) {
			h->loc_max_iter = v->loc;
			h->has_max_iter = want_int(c, v, "'max_iter' of early_terminate",
						   &h->max_iter) == 0;
		} else if (strcmp(key, "s") == 0) {
			h->loc_s = v->loc;
			h->has_s = want_int(c, v, "'s' of early_terminate", &h->s) == 0;
		} else if (strcmp(key, "eta") == 0) {
			h->loc_eta = v->loc;
			want_number(c, v, "'eta' of early_terminate", &h->eta, NULL);
		} else if (strcmp(key, "strict") == 0) {
			want_bool(c, v, "'strict' of early_terminate", &h->strict);
		} else {
			unknown_key(c, n->keys[i], "early_terminate", keys,
				    "early_terminate takes type, min_iter, max_iter, s, "
				    "eta and strict");
		}
	}
	if (!has_type)
		error_at(c, n->loc, "early_terminate needs 'type: hyperband'");
	if (!sw_ymap_get(n, "min_iter", NULL) &&
	    !(sw_ymap_get(n, "max_iter", NULL) && sw_ymap_get(n, "s", NULL)))
		error_at(c, n->loc, "early_terminate needs 'min_iter', or both "
			 "'max_iter' and 's'");
}

/* Parses "nan", "new_best", "run_failed" or "METRIC OP NUMBER". */
static int parse_when(struct sw_alert_rule *a)
{
	static const char *const ops[] = { "<=", ">=", "==", "!=", "<", ">", NULL };
	const char *s = a->when, *start;
	char *end;
	size_t i;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strcmp(s, "nan") == 0) {
		a->kind = SW_ALERT_WHEN_NAN;
		return 0;
	}
	if (strcmp(s, "new_best") == 0) {
		a->kind = SW_ALERT_WHEN_NEW_BEST;
		return 0;
	}
	if (strcmp(s, "run_failed") == 0) {
		a->kind = SW_ALERT_WHEN_RUN_FAILED;
		return 0;
	}
	start = s;
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return -1;
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	       (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '/' ||
	       *s == '-')
		s++;
	a->metric = strndup(start, (size_t)(s - start));
	if (!a->metric)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	for (i = 0; ops[i]; i++)
		if (strncmp(s, ops[i], strlen(ops[i])) == 0)
			break;
	if (!ops[i])
		return -1;
	memcpy(a->op, ops[i], strlen(ops[i]) + 1);
	s += strlen(ops[i]);
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || !strchr("+-.0123456789", *s))
		return -1;
	errno = 0;
	a->threshold = strtod(s, &end);
	if (end == s || errno == ERANGE || !isfinite(a->threshold))
		return -1;
	s = end;
	while (*s == ' ' || *s == '\t')
		s++;
	a->kind = SW_ALERT_WHEN_COMPARE;
	return *s ? -1 : 0;
}

static void load_alert(struct lctx *c, struct sw_alert_rule *a, const struct sw_ynode *n,
		       size_t idx)
{
	static const char *const keys[] = { "name", "when", "after_epoch", "level",
		"stop_run", NULL };
	static const char *const levels[] = { "INFO", "WARN", "ERROR", NULL };
	char what[128];
	size_t i;
	int k;

	a->loc = n->loc;
	a->level = SW_ALERT_WARN;
	snprintf(what, sizeof(what), "alert %zu", idx + 1);
	if (want_map(c, n, what) < 0)
		return;
	for (i = 0; i < n->n; i++) {
		const char *key = n->keys[i]->text;
		const struct sw_ynode *v = n->items[i];

		if (strcmp(key, "name") == 0) {
			snprintf(what, sizeof(what), "'name' of alert %zu", idx + 1);
			want_string(c, v, what, &a->name);
		} else if (strcmp(key, "when") == 0) {
			a->loc_when = v->loc;
			snprintf(what, sizeof(what), "'when' of alert %zu", idx + 1);
			if (want_string(c, v, what, &a->when) < 0)
				continue;
			if (parse_when(a) < 0)
				error_at(c, v->loc, "'when' of alert %zu cannot be read: "
					 "'%.60s': write nan, new_best, run_failed or "
					 "\"METRIC OP NUMBER\" with OP one of < <= > >= == "
					 "!= (e.g. \"val_accuracy < 0.3\")", idx + 1, a->when);
		} else if (strcmp(key, "after_epoch") == 0) {
			a->loc_after_epoch = v->loc;
			snprintf(what, sizeof(what), "'after_epoch' of alert %zu", idx + 1);
			want_int(c, v, what, &a->after_epoch);
		} else if (strcmp(key, "level") == 0) {
			snprintf(what, sizeof(what), "level of alert %zu", idx + 1);
			k = want_enum(c, v, what, levels);
			if (k >= 0)
				a->level = (enum sw_alert_level)k;
		} else if (strcmp(key, "stop_run") == 0) {
			snprintf(what, sizeof(what), "'stop_run' of alert %zu", idx + 1);
			want_bool(c, v, what, &a->stop_run);
		} else {
			snprintf(what, sizeof(what), "alert %zu", idx + 1);
			unknown_key(c, n->keys[i], what, keys, "an alert takes name, "
				    "when, after_epoch, level and stop_run");
		}
	}
	if (!sw_ymap_get(n, "when", NULL))
		error_at(c, n->loc, "alert %zu needs 'when' (nan, new_best, run_failed "
			 "or \"METRIC OP NUMBER\")", idx + 1);
	if (!a->name && a->when)
		a->name = strdup(a->when);
}

static void load_alerts(struct lctx *c, const struct sw_ynode *n)
{
	size_t i;

	if (n->kind != SW_YNODE_SEQ) {
		if (!n->bad)
			error_at(c, n->loc, "'alerts' must be a list of rules such as "
				 "{name: low-acc, when: \"val_accuracy < 0.3\"}, got %s",
				 sw_ynode_describe(n));
		return;
	}
	c->spec->alerts = calloc(n->n + 1, sizeof(*c->spec->alerts));
	if (!c->spec->alerts)
		return;
	c->spec->n_alerts = n->n;
	for (i = 0; i < n->n; i++)
		load_alert(c, &c->spec->alerts[i], n->items[i], i);
}

static void load_command(struct lctx *c, const struct sw_ynode *n)
{
	struct sw_spec *s = c->spec;
	size_t i;

	s->loc_command = n->loc;
	if (n->kind != SW_YNODE_SEQ) {
		if (!n->bad)
			error_at(c, n->loc, "'command' must be a list such as "
				 "[\"${env}\", \"python\", \"${program}\", \"${args}\"], "
				 "got %s", sw_ynode_describe(n));
		return;
	}
	s->command = calloc(n->n + 1, sizeof(*s->command));
	s->command_locs = calloc(n->n + 1, sizeof(*s->command_locs));
	if (!s->command || !s->command_locs)
		return;
	s->n_command = n->n;
	for (i = 0; i < n->n; i++) {
		const struct sw_ynode *v = n->items[i];

		s->command_locs[i] = v->loc;
		if (v->kind == SW_YNODE_SCALAR && v->type == SW_YS_STR) {
			if (strlen(v->text) != v->len) {
				error_at(c, v->loc, "item %zu of 'command' must not "
					 "contain NUL characters", i + 1);
				s->command[i] = strdup("");
				continue;
			}
			s->command[i] = strdup(v->text);
			continue;
		}
		/* wandb's agent passes str(item): 1, True, None, [1, 'a'] */
		s->command[i] = sw_py_str(v->json);
		if (v->kind != SW_YNODE_SCALAR)
			warn_at(c, v->loc, "item %zu of 'command' is %s, not a string: "
				"it is passed as Python's str() writes it, as wandb's "
				"agent does: %s", i + 1, sw_ynode_describe(v),
				s->command[i] ? s->command[i] : "");
	}
}

static void load_scheduler(struct lctx *c, const struct sw_ynode *n)
{
	static const char *const keys[] = { "engine", "source", "optimizer",
		"search_space", NULL };
	static const char *const engines[] = { "optuna", "ax", "wandb", NULL };
	size_t i;
	int engine = -1;

	if (want_map(c, n, "'scheduler'") < 0)
		return;
	for (i = 0; i < n->n; i++) {
		const char *key = n->keys[i]->text;
		char *tmp = NULL;

		if (strcmp(key, "engine") == 0)
			engine = want_enum(c, n->items[i], "engine of scheduler", engines);
		else if (strcmp(key, "source") == 0 || strcmp(key, "optimizer") == 0 ||
			 strcmp(key, "search_space") == 0)
			want_string(c, n->items[i], "scheduler field", &tmp);
		else
			unknown_key(c, n->keys[i], "scheduler", keys, "scheduler takes "
				    "engine, source, optimizer and search_space");
		free(tmp);
	}
	if (!sw_ymap_get(n, "engine", NULL))
		error_at(c, n->loc, "scheduler needs 'engine'");
	if ((sw_ymap_get(n, "optimizer", NULL) || sw_ymap_get(n, "search_space", NULL)) &&
	    !sw_ymap_get(n, "source", NULL))
		error_at(c, n->loc, "scheduler's optimizer and search_space need "
			 "'source'");
	/* which methods go with the engine: spec_validate.c */
	c->spec->has_scheduler = 1;
	c->spec->scheduler_engine = engine;
	c->spec->loc_scheduler = n->loc;
}

/* wandb takes a sweep without parameters when scheduler.search_space is
 * set (non-empty): the external scheduler has the space. */
static int has_search_space(const struct sw_ynode *root)
{
	const struct sw_ynode *s = sw_ymap_get(sw_ymap_get(root, "scheduler", NULL),
					       "search_space", NULL);

	return s && !(s->kind == SW_YNODE_SCALAR && (!s->text || !s->text[0]));
}

static void load_controller(struct lctx *c, const struct sw_ynode *n)
{
	static const char *const keys[] = { "type", NULL };
	static const char *const types[] = { "local", "cloud", NULL };
	size_t i;

	if (want_map(c, n, "'controller'") < 0)
		return;
	for (i = 0; i < n->n; i++) {
		if (strcmp(n->keys[i]->text, "type") == 0)
			want_enum(c, n->items[i], "type of controller", types);
		else
			unknown_key(c, n->keys[i], "controller", keys,
				    "controller takes type");
	}
	if (!sw_ymap_get(n, "type", NULL))
		error_at(c, n->loc, "controller needs 'type' (local or cloud)");
}

/* wandb refuses a scheduler together with a local controller or with
 * early_terminate. */
static void check_scheduler_with(struct lctx *c, const struct sw_ynode *root)
{
	const struct sw_ynode *sched = sw_ymap_get(root, "scheduler", NULL);
	const struct sw_ynode *ctl = sw_ymap_get(root, "controller", NULL);
	const struct sw_ynode *type = sw_ymap_get(ctl, "type", NULL);
	const struct sw_ynode *et = sw_ymap_get(root, "early_terminate", NULL);

	if (!sched)
		return;
	if (type && type->kind == SW_YNODE_SCALAR && strcmp(type->text, "local") == 0)
		error_at(c, type->loc, "controller type 'local' cannot be used with "
			 "'scheduler' (wandb refuses the two together): remove one");
	if (et)
		error_at(c, et->loc, "early_terminate cannot be used with 'scheduler' "
			 "(wandb refuses the two together): remove one");
}

static const char *const top_keys[] = {
	"method", "metric", "parameters", "early_terminate", "run_cap", "program",
	"command", "name", "description", "entity", "project", "alerts",
	"metrics", "controller", "apiVersion", "kind", "job", "image_uri",
	"scheduler", NULL
};

static void load_root(struct lctx *c, const struct sw_ynode *root)
{
	static const char *const methods[] = { "grid", "random", "bayes", "custom", NULL };
	static const char *const kinds[] = { "sweep", NULL };
	struct sw_spec *s = c->spec;
	char *tmp = NULL;
	size_t i;
	int k;

	for (i = 0; i < root->n; i++) {
		const struct sw_ynode *key = root->keys[i], *v = root->items[i];
		const char *name = key->text;

		if (strcmp(name, "method") == 0) {
			s->loc_method = v->loc;
			k = want_enum(c, v, "method", methods);
			if (k == 3)
				s->method_custom = 1;   /* spec_validate.c decides */
			else if (k >= 0) {
				s->method = k == 0 ? SW_METHOD_GRID : k == 1 ?
					    SW_METHOD_RANDOM : SW_METHOD_BAYES;
				s->has_method = 1;
			}
		} else if (strcmp(name, "metric") == 0) {
			load_metric(c, v, &s->metric);
		} else if (strcmp(name, "parameters") == 0) {
			s->loc_parameters = v->loc;
			if (want_map(c, v, "'parameters'") < 0)
				continue;
			if (v->n == 0) {
				error_at(c, v->loc, "'parameters' is empty: a sweep needs "
					 "at least one parameter");
				continue;
			}
			load_params(c, v, NULL, NULL, &s->params, &s->n_params);
		} else if (strcmp(name, "early_terminate") == 0) {
			load_hyperband(c, v);
		} else if (strcmp(name, "run_cap") == 0) {
			s->loc_run_cap = v->loc;
			if (want_int(c, v, "run_cap", &s->run_cap) == 0 && s->run_cap <= 0)
				error_at(c, v->loc, "run_cap must be a positive number "
					 "of runs, got %lld", (long long)s->run_cap);
		} else if (strcmp(name, "program") == 0) {
			s->loc_program = v->loc;
			want_string(c, v, "program", &s->program);
		} else if (strcmp(name, "command") == 0) {
			load_command(c, v);
		} else if (strcmp(name, "name") == 0) {
			want_string(c, v, "name", &s->name);
		} else if (strcmp(name, "description") == 0) {
			want_string(c, v, "description", &s->description);
		} else if (strcmp(name, "entity") == 0) {
			want_string(c, v, "entity", &s->entity);
		} else if (strcmp(name, "project") == 0) {
			want_string(c, v, "project", &s->project);
		} else if (strcmp(name, "alerts") == 0) {
			load_alerts(c, v);
		} else if (strcmp(name, "metrics") == 0) {
			load_metrics(c, key, v);
		} else if (strcmp(name, "controller") == 0) {
			load_controller(c, v);
		} else if (strcmp(name, "kind") == 0) {
			want_enum(c, v, "kind", kinds);
		} else if (strcmp(name, "apiVersion") == 0 || strcmp(name, "job") == 0 ||
			   strcmp(name, "image_uri") == 0) {
			want_string(c, v, name, &tmp);
			free(tmp);
			tmp = NULL;
		} else if (strcmp(name, "scheduler") == 0) {
			load_scheduler(c, v);
		} else if (v->kind == SW_YNODE_MAP &&
			   (sw_ymap_get(v, "values", NULL) || sw_ymap_get(v, "value", NULL) ||
			    sw_ymap_get(v, "distribution", NULL) ||
			    (sw_ymap_get(v, "min", NULL) && sw_ymap_get(v, "max", NULL))) &&
			   !sw_nearest(name, top_keys)) {
			char buf[80];

			error_at(c, key->loc, "unknown key '%s': it looks like a "
				 "parameter; put it under 'parameters:'",
				 key_text(key, buf, sizeof(buf)));
		} else {
			unknown_key(c, key, "", top_keys, "a sweep takes method, metric, "
				    "parameters, early_terminate, run_cap, program, "
				    "command, name, description, entity, project and alerts");
		}
	}
	check_scheduler_with(c, root);
	if (!sw_ymap_get(root, "method", NULL))
		error_at(c, root->loc, "missing required key 'method' (grid, random "
			 "or bayes)");
	if (!sw_ymap_get(root, "parameters", NULL) && !has_search_space(root))
		error_at(c, root->loc, "missing required key 'parameters' (the "
			 "hyperparameters to search)");
}

/* ==== Entry points ==== */

int sw_spec_load_string(struct sw_spec *spec, const char *text, size_t len,
			const char *name, struct sw_diags *diags, struct sw_err *err)
{
	struct sw_ytree tree = SW_YTREE_INIT;
	struct lctx c = { spec, diags };
	size_t errors_before = diags ? diags->n_errors : 0;
	struct sw_diags local = { 0 };
	int ret = -1;

	if (!diags) {
		diags = &local;
		c.diags = diags;
	}
	spec->path = strdup(name ? name : "<string>");
	spec->text = malloc(len + 1);
	if (!spec->path || !spec->text) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	memcpy(spec->text, text, len);
	spec->text[len] = '\0';
	spec->metric.impute_while_running = SW_IMPUTE_FALSE;
	spec->hyperband.eta = 3;
	spec->hyperband.strict = 1;

	if (sw_ytree_parse(&tree, text, len, diags) < 0) {
		spec->parse_failed = 1;
		goto check;
	}
	if (tree.root->kind != SW_YNODE_MAP) {
		if (tree.root->kind == SW_YNODE_SCALAR && tree.root->type == SW_YS_NULL)
			error_at(&c, tree.root->loc, "the document is empty: a sweep "
				 "needs at least 'method' and 'parameters'");
		else
			error_at(&c, tree.root->loc, "a sweep file must be a mapping "
				 "of keys (method, metric, parameters, ...), got %s",
				 sw_ynode_describe(tree.root));
		spec->parse_failed = 1;
		goto check;
	}
	spec->doc = json_incref(tree.root->json);
	load_root(&c, tree.root);
check:
	if (diags->n_errors > errors_before)
		sw_errorf(err, "%s: invalid sweep definition", spec->path);
	else
		ret = 0;
done:
	sw_ytree_release(&tree);
	sw_diags_release(&local);
	return ret;
}

int sw_spec_load(struct sw_spec *spec, const char *path, struct sw_diags *diags,
		 struct sw_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	if (sw_read_file(path, MAX_FILE_SIZE, &data, &len, NULL, err) < 0)
		return -1;
	ret = sw_spec_load_string(spec, data, len, path, diags, err);
	free(data);
	return ret;
}

/* ==== Release ==== */

static void param_release(struct sw_param *p)
{
	size_t i;

	free(p->name);
	json_decref(p->value);
	json_decref(p->values);
	free(p->probabilities);
	free(p->value_locs);
	for (i = 0; i < p->n_children; i++)
		param_release(&p->children[i]);
	free(p->children);
}

void sw_spec_release(struct sw_spec *spec)
{
	size_t i;

	if (!spec)
		return;
	free(spec->path);
	free(spec->text);
	json_decref(spec->doc);
	free(spec->metric.name);
	for (i = 0; i < spec->n_params; i++)
		param_release(&spec->params[i]);
	free(spec->params);
	free(spec->program);
	for (i = 0; i < spec->n_command; i++)
		free(spec->command[i]);
	free(spec->command);
	free(spec->command_locs);
	free(spec->entity);
	free(spec->project);
	free(spec->name);
	free(spec->description);
	for (i = 0; i < spec->n_alerts; i++) {
		free(spec->alerts[i].name);
		free(spec->alerts[i].when);
		free(spec->alerts[i].metric);
	}
	free(spec->alerts);
	memset(spec, 0, sizeof(*spec));
}

char *sw_param_path(const struct sw_param *p)
{
	char *parent, *out = NULL;

	if (!p->parent)
		return strdup(p->name ? p->name : "");
	parent = sw_param_path(p->parent);
	if (parent && asprintf(&out, "%s.%s", parent, p->name ? p->name : "") < 0)
		out = NULL;
	free(parent);
	return out;
}
