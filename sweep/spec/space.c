/* space.c - leaves of a sweep's parameter tree, and each distribution's ppf
 * and CDF; see include/sweep/spec/space.h */
#include "sweep/spec/space.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== Special functions ==== */

double sw_round_half_even(double x)
{
	double r = round(x);   /* halves away from zero */

	if (fabs(x - trunc(x)) == 0.5)
		r = 2.0 * round(x / 2.0);
	return r;
}

double sw_q_round(double x, double q)
{
	return sw_round_half_even(x / q) * q;
}

double sw_norm_cdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}

double sw_norm_ppf(double p)
{
	double t, x, pp;
	int i;

	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (p == 0.0)
		return -INFINITY;
	if (p == 1.0)
		return INFINITY;
	/* Abramowitz & Stegun 26.2.23 as a start (|error| < 4.5e-4) ... */
	pp = p < 0.5 ? p : 1.0 - p;
	t = sqrt(-2.0 * log(pp));
	x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
		(1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
	if (p < 0.5)
		x = -x;
	/* ... then Halley steps on Phi(x) - p, which converge cubically */
	for (i = 0; i < 4; i++) {
		double e = sw_norm_cdf(x) - p;
		double pdf = exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
		double u;

		if (pdf <= 0.0)
			break;
		u = e / pdf;
		x = x - u / (1.0 + 0.5 * x * u);
	}
	return x;
}

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double x, double a, double b)
{
	const double tiny = 1e-300;
	double qab = a + b, qap = a + 1.0, qam = a - 1.0;
	double c = 1.0, d = 1.0 - qab * x / qap, h;
	int m;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	h = d;
	for (m = 1; m <= 500; m++) {
		double m2 = 2.0 * m, aa, del;

		aa = m * (b - m) * x / ((qam + m2) * (a + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1.0 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1.0 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1.0) < 1e-15)
			break;
	}
	return h;
}

double sw_beta_cdf(double x, double a, double b)
{
	double lfront;

	if (isnan(x))
		return NAN;
	if (a == 0.0 && b == 0.0)
		return x < 0.0 ? 0.0 : x < 1.0 ? 0.5 : 1.0;
	if (a == 0.0)
		return x < 0.0 ? 0.0 : 1.0;
	if (b == 0.0)
		return x < 1.0 ? 0.0 : 1.0;
	if (x <= 0.0)
		return 0.0;
	if (x >= 1.0)
		return 1.0;
	lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
		 b * log1p(-x);
	if (x < (a + 1.0) / (a + b + 2.0))
		return exp(lfront) * beta_cf(x, a, b) / a;
	return 1.0 - exp(lfront) * beta_cf(1.0 - x, b, a) / b;
}

double sw_beta_ppf(double p, double a, double b)
{
	double lo = 0.0, hi = 1.0;
	int i;

	if (isnan(p) || p < 0.0 || p > 1.0)
		return NAN;
	if (a == 0.0 && b == 0.0)
		return p <= 0.5 ? 0.0 : 1.0;
	if (a == 0.0)
		return 0.0;
	if (b == 0.0)
		return 1.0;
	if (p == 0.0)
		return 0.0;
	if (p == 1.0)
		return 1.0;
	/* bisection: the CDF is monotone, 100 halvings reach double precision
	 * anywhere in (0,1), including the steep ends of small a or b */
	for (i = 0; i < 100 && hi - lo > 1e-17; i++) {
		double mid = 0.5 * (lo + hi);

		if (sw_beta_cdf(mid, a, b) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

/* ==== Flattening ==== */

static int cmp_param_ptr(const void *a, const void *b)
{
	const struct sw_param *const *pa = a, *const *pb = b;

	return strcmp((*pa)->name, (*pb)->name);
}

static char *join_path(const char **path, size_t n)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(path[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (i = 0; i < n; i++) {
		if (i)
			strcat(s, ".");
		strcat(s, path[i]);
	}
	return s;
}

static int add_leaves(struct sw_space *sp, size_t *alloc,
		      const struct sw_param *params, size_t n,
		      const char **prefix, size_t depth, const char *prefix_name,
		      struct sw_err *err)
{
	const struct sw_param **order = NULL;
	const char **path = NULL;
	char *name = NULL;
	size_t i;
	int ret = -1;

	if (n == 0)
		return sw_errorf(err, "nested parameter '%s' has no parameters",
				 prefix_name ? prefix_name : "");
	order = malloc(n * sizeof(*order));
	path = malloc((depth + 1) * sizeof(*path));
	if (!order || !path) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++)
		order[i] = &params[i];
	qsort(order, n, sizeof(*order), cmp_param_ptr);
	if (depth)
		memcpy(path, prefix, depth * sizeof(*path));

	for (i = 0; i < n; i++) {
		const struct sw_param *p = order[i];
		size_t len = strlen(p->name) + 1;

		if (prefix_name)
			len += strlen(prefix_name) + strlen(SW_NEST_DELIM);
		name = malloc(len);
		if (!name) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		if (prefix_name)
			snprintf(name, len, "%s%s%s", prefix_name, SW_NEST_DELIM,
				 p->name);
		else
			snprintf(name, len, "%s", p->name);
		path[depth] = p->name;

		if (p->dist == SW_DIST_NESTED) {
			if (add_leaves(sp, alloc, p->children, p->n_children,
				       path, depth + 1, name, err) < 0)
				goto done;
			free(name);
			name = NULL;
			continue;
		}
		if (sp->n == *alloc) {
			size_t na = *alloc ? 2 * *alloc : 8;
			struct sw_dim *nd = realloc(sp->dims, na * sizeof(*nd));

			if (!nd) {
				sw_errorf(err, "out of memory");
				goto done;
			}
			sp->dims = nd;
			*alloc = na;
		}
		sp->dims[sp->n].path = malloc((depth + 1) * sizeof(*path));
		if (!sp->dims[sp->n].path) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		memcpy(sp->dims[sp->n].path, path, (depth + 1) * sizeof(*path));
		sp->dims[sp->n].label = join_path(path, depth + 1);
		if (!sp->dims[sp->n].label) {
			free(sp->dims[sp->n].path);
			sw_errorf(err, "out of memory");
			goto done;
		}
		sp->dims[sp->n].depth = depth + 1;
		sp->dims[sp->n].name = name;
		sp->dims[sp->n].param = p;
		sp->n++;
		name = NULL;
	}
	ret = 0;
done:
	free(name);
	free(path);
	free(order);
	return ret;
}

int sw_space_init(struct sw_space *sp, const struct sw_spec *spec,
		  struct sw_err *err)
{
	size_t alloc = 0;

	sp->dims = NULL;
	sp->n = 0;
	if (spec->n_params == 0)
		return sw_errorf(err, "the sweep has no parameters");
	if (add_leaves(sp, &alloc, spec->params, spec->n_params, NULL, 0, NULL,
		       err) < 0) {
		sw_space_release(sp);
		return -1;
	}
	return 0;
}

void sw_space_release(struct sw_space *sp)
{
	size_t i;

	if (!sp)
		return;
	for (i = 0; i < sp->n; i++) {
		free(sp->dims[i].name);
		free(sp->dims[i].label);
		free((void *)sp->dims[i].path);
	}
	free(sp->dims);
	sp->dims = NULL;
	sp->n = 0;
}

int sw_dim_searchable(const struct sw_dim *d)
{
	return d->param->dist != SW_DIST_CONSTANT;
}

int sw_dim_discrete(const struct sw_dim *d)
{
	switch (d->param->dist) {
	case SW_DIST_CATEGORICAL:
	case SW_DIST_CATEGORICAL_W_PROBABILITIES:
	case SW_DIST_INT_UNIFORM:
	case SW_DIST_Q_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM_VALUES:
	case SW_DIST_Q_NORMAL:
	case SW_DIST_Q_LOG_NORMAL:
	case SW_DIST_Q_BETA:
		return 1;
	default:
		return 0;
	}
}

/* ==== ppf and CDF ==== */

static size_t n_values(const struct sw_param *p)
{
	return p->values ? json_array_size(p->values) : 0;
}

/* scipy randint(0, n).ppf(u) = ceil(u*n) - 1, so u = 0 gives -1 */
static long randint_ppf(double u, double n)
{
	return (long)ceil(u * n) - 1;
}

/* Index chosen by categorical_w_probabilities: first i with cumsum_i > u,
 * 0 when there is none (numpy argmin of an all-true array). */
static size_t wprob_index(const struct sw_param *p, double u)
{
	double c = 0.0;
	size_t i;

	for (i = 0; i < p->n_probabilities; i++) {
		c += p->probabilities[i];
		if (!(u >= c))
			return i;
	}
	return 0;
}

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* The unquantised value of a numeric distribution at quantile u. */
static double cont_ppf(const struct sw_param *p, double u)
{
	switch (p->dist) {
	case SW_DIST_UNIFORM:
	case SW_DIST_Q_UNIFORM:
		return p->min + u * (p->max - p->min);
	case SW_DIST_LOG_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM:
		return clamp(exp(p->min + u * (p->max - p->min)), exp(p->min),
			     exp(p->max));
	case SW_DIST_LOG_UNIFORM_VALUES:
	case SW_DIST_Q_LOG_UNIFORM_VALUES:
	case SW_DIST_INV_LOG_UNIFORM_VALUES: {
		double a = log(p->min), b = log(p->max);

		/* exp(log(max)) can be max + 1 ulp: stay inside the range */
		return clamp(exp(a + u * (b - a)), p->min, p->max);
	}
	case SW_DIST_INV_LOG_UNIFORM:
		return exp(-(p->min + (1.0 - u) * (p->max - p->min)));
	case SW_DIST_NORMAL:
	case SW_DIST_Q_NORMAL:
		if (p->sigma == 0.0)
			return p->mu;
		return p->mu + p->sigma * sw_norm_ppf(u);
	case SW_DIST_LOG_NORMAL:
	case SW_DIST_Q_LOG_NORMAL:
		if (p->sigma == 0.0)
			return exp(p->mu);
		return exp(p->mu + p->sigma * sw_norm_ppf(u));
	case SW_DIST_BETA:
	case SW_DIST_Q_BETA:
		return sw_beta_ppf(u, p->a, p->b);
	default:
		return NAN;
	}
}

static double clip01(double x)
{
	if (isnan(x))
		return 0.0;
	return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
}

/* The unquantised CDF of a numeric distribution. */
static double cont_cdf(const struct sw_param *p, double x)
{
	switch (p->dist) {
	case SW_DIST_UNIFORM:
	case SW_DIST_Q_UNIFORM:
		return clip01((x - p->min) / (p->max - p->min));
	case SW_DIST_LOG_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM:
		if (x <= 0.0)
			return 0.0;
		return clip01((log(x) - p->min) / (p->max - p->min));
	case SW_DIST_LOG_UNIFORM_VALUES:
	case SW_DIST_Q_LOG_UNIFORM_VALUES:
	case SW_DIST_INV_LOG_UNIFORM_VALUES: {
		double a = log(p->min), b = log(p->max);

		if (x <= 0.0)
			return 0.0;
		return clip01((log(x) - a) / (b - a));
	}
	case SW_DIST_INV_LOG_UNIFORM:
		if (x <= 0.0)
			return 0.0;
		return 1.0 - clip01((-log(x) - p->min) / (p->max - p->min));
	case SW_DIST_NORMAL:
	case SW_DIST_Q_NORMAL:
		if (p->sigma == 0.0)
			return x < p->mu ? 0.0 : 1.0;
		return sw_norm_cdf((x - p->mu) / p->sigma);
	case SW_DIST_LOG_NORMAL:
	case SW_DIST_Q_LOG_NORMAL:
		if (x <= 0.0)
			return 0.0;
		if (p->sigma == 0.0)
			return log(x) < p->mu ? 0.0 : 1.0;
		return sw_norm_cdf((log(x) - p->mu) / p->sigma);
	case SW_DIST_BETA:
	case SW_DIST_Q_BETA:
		return sw_beta_cdf(x, p->a, p->b);
	default:
		return 0.0;
	}
}

static int is_q(enum sw_dist d)
{
	return d == SW_DIST_Q_UNIFORM || d == SW_DIST_Q_LOG_UNIFORM ||
	       d == SW_DIST_Q_LOG_UNIFORM_VALUES || d == SW_DIST_Q_NORMAL ||
	       d == SW_DIST_Q_LOG_NORMAL || d == SW_DIST_Q_BETA;
}

static json_t *number_json(double x, int as_int)
{
	if (as_int && isfinite(x) && fabs(x) < 9.2e18)
		return json_integer((json_int_t)x);
	if (!isfinite(x))
		return json_null();   /* JSON has no infinities */
	return json_real(x);
}

json_t *sw_dim_ppf(const struct sw_dim *d, double u)
{
	const struct sw_param *p = d->param;

	switch (p->dist) {
	case SW_DIST_CONSTANT:
		return json_incref(p->value ? p->value : json_null());
	case SW_DIST_CATEGORICAL: {
		size_t n = n_values(p);
		long k = randint_ppf(u, (double)n);

		if (n == 0)
			return json_null();
		if (k < 0)
			k += (long)n;   /* Python's values[-1] */
		if (k >= (long)n)
			k = (long)n - 1;
		return json_incref(json_array_get(p->values, (size_t)k));
	}
	case SW_DIST_CATEGORICAL_W_PROBABILITIES: {
		size_t k = wprob_index(p, u);

		if (k >= n_values(p))
			return json_null();
		return json_incref(json_array_get(p->values, k));
	}
	case SW_DIST_INT_UNIFORM:
		return json_integer((json_int_t)p->min +
				    randint_ppf(u, p->max - p->min + 1.0));
	case SW_DIST_NESTED:
		return json_object();
	default:
		break;
	}
	if (is_q(p->dist))
		return number_json(sw_q_round(cont_ppf(p, u), p->q), p->q_is_int);
	return number_json(cont_ppf(p, u), 0);
}

static int value_number(const struct sw_dim *d, const json_t *v, double *x,
			struct sw_err *err)
{
	if (json_is_integer(v))
		*x = (double)json_integer_value(v);
	else if (json_is_real(v))
		*x = json_real_value(v);
	else if (json_is_boolean(v))
		*x = json_is_true(v) ? 1.0 : 0.0;
	else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		sw_errorf(err, "value %.60s of '%s' is not a number", s ? s : "",
			  d->label);
		free(s);
		return -1;
	}
	return 0;
}

/* Index of v among a categorical leaf's values, by Python ==. */
static int categorical_index(const struct sw_dim *d, const json_t *v,
			     size_t *idx, struct sw_err *err)
{
	size_t i, n = n_values(d->param);
	char *s;

	for (i = 0; i < n; i++) {
		if (sw_values_equal(json_array_get(d->param->values, i), v)) {
			*idx = i;
			return 0;
		}
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	sw_errorf(err, "%.60s is not a permitted value of the categorical "
		  "parameter '%s'", s ? s : "value", d->label);
	free(s);
	return -1;
}

static int dim_cdf(const struct sw_dim *d, const json_t *v, double *out,
		   int centre, struct sw_err *err)
{
	const struct sw_param *p = d->param;
	double x;
	size_t idx;

	switch (p->dist) {
	case SW_DIST_CONSTANT:
	case SW_DIST_NESTED:
		*out = 0.0;
		return 0;
	case SW_DIST_CATEGORICAL:
		if (categorical_index(d, v, &idx, err) < 0)
			return -1;
		*out = ((double)idx + (centre ? 0.5 : 1.0)) / (double)n_values(p);
		return 0;
	case SW_DIST_CATEGORICAL_W_PROBABILITIES: {
		double lo = 0.0, hi;
		size_t i;

		if (categorical_index(d, v, &idx, err) < 0)
			return -1;
		for (i = 0; i < idx && i < p->n_probabilities; i++)
			lo += p->probabilities[i];
		hi = lo + (idx < p->n_probabilities ? p->probabilities[idx] : 0.0);
		*out = clip01(centre ? 0.5 * (lo + hi) : hi);
		return 0;
	}
	case SW_DIST_INT_UNIFORM:
		if (value_number(d, v, &x, err) < 0)
			return -1;
		*out = clip01((floor(x) - p->min + (centre ? 0.5 : 1.0)) /
			      (p->max - p->min + 1.0));
		return 0;
	default:
		if (value_number(d, v, &x, err) < 0)
			return -1;
		*out = cont_cdf(p, x);
		return 0;
	}
}

int sw_dim_cdf(const struct sw_dim *d, const json_t *v, double *out,
	       struct sw_err *err)
{
	return dim_cdf(d, v, out, 0, err);
}

int sw_dim_encode(const struct sw_dim *d, const json_t *v, double *out,
		  struct sw_err *err)
{
	return dim_cdf(d, v, out, 1, err);
}

double sw_dim_snap(const struct sw_dim *d, double u)
{
	const struct sw_param *p = d->param;

	switch (p->dist) {
	case SW_DIST_CATEGORICAL:
	case SW_DIST_INT_UNIFORM: {
		double n = p->dist == SW_DIST_CATEGORICAL ?
			   (double)n_values(p) : p->max - p->min + 1.0;
		long k = randint_ppf(u, n);

		if (n <= 0)
			return 0.0;
		if (k < 0)
			k = p->dist == SW_DIST_CATEGORICAL ? (long)n - 1 : 0;
		if (k >= (long)n)
			k = (long)n - 1;
		return (k + 0.5) / n;
	}
	case SW_DIST_CATEGORICAL_W_PROBABILITIES: {
		size_t k = wprob_index(p, u), i;
		double lo = 0.0;

		if (p->n_probabilities == 0)
			return 0.5;
		for (i = 0; i < k; i++)
			lo += p->probabilities[i];
		return clip01(lo + 0.5 * p->probabilities[k]);
	}
	default:
		if (is_q(p->dist))
			return cont_cdf(p, sw_q_round(cont_ppf(p, u), p->q));
		return u;
	}
}

/* ==== Values inside params objects ==== */

json_t *sw_dim_get(const struct sw_dim *d, const json_t *params)
{
	const json_t *o = params;
	size_t i;

	for (i = 0; i < d->depth; i++) {
		if (!json_is_object(o))
			return NULL;
		o = json_object_get(o, d->path[i]);
		if (!o)
			return NULL;
	}
	return (json_t *)o;
}

int sw_dim_set(const struct sw_dim *d, json_t *params, json_t *v)
{
	json_t *o = params, *next;
	size_t i;

	for (i = 0; i + 1 < d->depth; i++) {
		next = json_object_get(o, d->path[i]);
		if (!next) {
			next = json_object();
			if (!next || json_object_set_new(o, d->path[i], next) < 0)
				goto fail;
		} else if (!json_is_object(next)) {
			goto fail;
		}
		o = next;
	}
	if (json_object_set_new(o, d->path[d->depth - 1], v) < 0)
		return -1;
	return 0;
fail:
	json_decref(v);
	return -1;
}

char *sw_value_key(const json_t *v)
{
	if (json_is_real(v)) {
		double x = json_real_value(v);

		if (x == floor(x) && fabs(x) < 9.2e18) {
			char *s = malloc(32);

			if (s)
				snprintf(s, 32, "%lld", (long long)x);
			return s;
		}
	}
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
}

int sw_values_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_is_array(a) && json_is_array(b)) {
		size_t i, n = json_array_size(a);

		if (n != json_array_size(b))
			return 0;
		for (i = 0; i < n; i++)
			if (!sw_values_equal(json_array_get(a, i),
					     json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *va;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, va) {
			json_t *vb = json_object_get(b, k);

			if (!vb || !sw_values_equal(va, vb))
				return 0;
		}
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}
