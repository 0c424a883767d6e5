/* search_grid.c - grid search in wandb's order with wandb's duplicate
 * rules; see include/sweep/search/search.h and sweep-semantics.md §2 */
#include "sweep/search/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_VALUES 10000000
#define GRID_MAX_POINTS (1ULL << 62)

/* The distinct values of one searchable leaf, in grid order. */
struct axis {
	const struct sw_dim *dim;
	json_t *values;     /* array: value kept for each distinct key */
	json_t *index;      /* object: key -> integer position */
	json_t *dict_keys;  /* object: union of keys of object values, or NULL */
};

static void axes_release(struct axis *ax, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_decref(ax[i].values);
		json_decref(ax[i].index);
		json_decref(ax[i].dict_keys);
	}
	free(ax);
}

/* Adds v (stolen) to the axis: a key already present keeps its first
 * position but takes the new value (wandb: dict(zip(hashes, values))). */
static int axis_add(struct axis *a, json_t *v)
{
	char *key = v ? sw_value_key(v) : NULL;
	json_t *pos;
	int ret = -1;

	if (!key)
		goto done;
	pos = json_object_get(a->index, key);
	if (pos) {
		if (json_array_set(a->values, (size_t)json_integer_value(pos), v) < 0)
			goto done;
	} else {
		if (json_object_set_new(a->index, key,
					json_integer((json_int_t)json_array_size(a->values))) < 0 ||
		    json_array_append(a->values, v) < 0)
			goto done;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		if (!a->dict_keys)
			a->dict_keys = json_object();
		if (!a->dict_keys)
			goto done;
		json_object_foreach(v, k, x)
			json_object_set(a->dict_keys, k, json_true());
	}
	ret = 0;
done:
	free(key);
	json_decref(v);
	return ret;
}

static int axis_build(struct axis *a, const struct sw_dim *d, struct sw_err *err)
{
	const struct sw_param *p = d->param;
	size_t i;

	a->dim = d;
	a->values = json_array();
	a->index = json_object();
	a->dict_keys = NULL;
	if (!a->values || !a->index)
		return sw_errorf(err, "out of memory");
	switch (p->dist) {
	case SW_DIST_CATEGORICAL:
		for (i = 0; i < json_array_size(p->values); i++)
			if (axis_add(a, json_incref(json_array_get(p->values, i))) < 0)
				return sw_errorf(err, "out of memory");
		break;
	case SW_DIST_INT_UNIFORM: {
		int64_t lo = (int64_t)p->min, hi = (int64_t)p->max, k;

		if (hi >= lo && (uint64_t)(hi - lo) >= GRID_MAX_VALUES)
			return sw_errorf(err, "parameter '%s' has too many grid values "
					 "(%lld..%lld)", d->label, (long long)lo,
					 (long long)hi);
		for (k = lo; k <= hi; k++)
			if (axis_add(a, json_integer((json_int_t)k)) < 0)
				return sw_errorf(err, "out of memory");
		break;
	}
	case SW_DIST_Q_UNIFORM: {
		/* numpy.arange(min, max, q): max excluded */
		double n = ceil((p->max - p->min) / p->q);

		if (!(p->q > 0.0) || !isfinite(n))
			return sw_errorf(err, "parameter '%s': q must be positive",
					 d->label);
		if (n > GRID_MAX_VALUES)
			return sw_errorf(err, "parameter '%s' has too many grid values "
					 "(%.0f)", d->label, n);
		if (p->min_is_int && p->max_is_int && p->q_is_int) {
			int64_t lo = (int64_t)p->min, q = (int64_t)p->q;

			for (i = 0; (double)i < n; i++)
				if (axis_add(a, json_integer((json_int_t)(lo + (int64_t)i * q))) < 0)
					return sw_errorf(err, "out of memory");
		} else {
			/* numpy fills start + i*delta with delta = (start+q)-start */
			double delta = (p->min + p->q) - p->min;

			for (i = 0; (double)i < n; i++)
				if (axis_add(a, json_real(p->min + (double)i * delta)) < 0)
					return sw_errorf(err, "out of memory");
		}
		break;
	}
	default:
		return sw_errorf(err, "parameter '%s' is a disallowed type with grid "
				 "search (%s): grid search requires every parameter "
				 "to be categorical, constant, int_uniform or q_uniform",
				 d->label, p->dist == SW_DIST_CATEGORICAL_W_PROBABILITIES ?
				 "categorical with probabilities" : "continuous");
	}
	return 0;
}

static int build_axes(const struct sw_space *sp, struct axis **out, size_t *n_out,
		      uint64_t *total, struct sw_err *err)
{
	struct axis *ax = calloc(sp->n ? sp->n : 1, sizeof(*ax));
	size_t i, n = 0;

	if (!ax)
		return sw_errorf(err, "out of memory");
	*total = 1;
	for (i = 0; i < sp->n; i++) {
		size_t nv;

		if (!sw_dim_searchable(&sp->dims[i]))
			continue;
		if (axis_build(&ax[n++], &sp->dims[i], err) < 0)
			goto fail;
		nv = json_array_size(ax[n - 1].values);
		if (nv == 0)
			*total = 0;
		else if (*total > GRID_MAX_POINTS / nv) {
			sw_errorf(err, "the grid has more than 2^62 points");
			goto fail;
		} else {
			*total *= nv;
		}
	}
	*out = ax;
	*n_out = n;
	return 0;
fail:
	axes_release(ax, n);
	return -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Position of a run's value on an axis, or -1 when it has none. */
static long run_position(const struct axis *a, const json_t *params)
{
	json_t *v = sw_dim_get(a->dim, params), *pos, *copy = NULL;
	char *key;
	long ret = -1;

	if (!v)
		return -1;
	if (json_is_object(v) && a->dict_keys) {
		/* keys no grid value has are dropped before comparing (#121) */
		const char *k;
		json_t *x;

		copy = json_object();
		if (!copy)
			return -1;
		json_object_foreach(v, k, x)
			if (json_object_get(a->dict_keys, k))
				json_object_set(copy, k, x);
		v = copy;
	}
	key = sw_value_key(v);
	if (key) {
		pos = json_object_get(a->index, key);
		if (pos)
			ret = (long)json_integer_value(pos);
	}
	free(key);
	json_decref(copy);
	return ret;
}

int sw_search_grid(const struct sw_space *sp, const struct sw_runs *runs,
		   size_t count, json_t *out, int *exhausted, struct sw_err *err)
{
	struct axis *ax = NULL;
	size_t na = 0, n_seen = 0, i, j, k, emitted = 0, *pos = NULL;
	uint64_t total, idx, *seen = NULL;
	int ret = -1;

	*exhausted = 0;
	if (build_axes(sp, &ax, &na, &total, err) < 0)
		return -1;
	seen = malloc((runs->n ? runs->n : 1) * sizeof(*seen));
	pos = malloc((na ? na : 1) * sizeof(*pos));
	if (!seen || !pos) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	/* every run, in any state, occupies its grid point */
	for (i = 0; i < runs->n; i++) {
		uint64_t lin = 0;

		for (j = 0; j < na; j++) {
			long p = run_position(&ax[j], runs->items[i].params);

			if (p < 0)
				break;
			lin = lin * json_array_size(ax[j].values) + (uint64_t)p;
		}
		if (j == na)
			seen[n_seen++] = lin;
	}
	qsort(seen, n_seen, sizeof(*seen), cmp_u64);

	for (idx = 0; idx < total; idx++) {
		json_t *params;
		uint64_t rest = idx;

		if (bsearch(&idx, seen, n_seen, sizeof(*seen), cmp_u64))
			continue;
		if (emitted == count)
			break;   /* one more unseen point exists: not exhausted */
		/* mixed radix, last searchable leaf fastest */
		for (j = na; j-- > 0;) {
			size_t nv = json_array_size(ax[j].values);

			pos[j] = (size_t)(rest % nv);
			rest /= nv;
		}
		params = json_object();
		if (!params) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		for (j = 0, k = 0; j < sp->n; j++) {
			const struct sw_dim *d = &sp->dims[j];
			json_t *v;

			if (sw_dim_searchable(d)) {
				v = json_incref(json_array_get(ax[k].values, pos[k]));
				k++;
			} else {
				v = sw_dim_ppf(d, 0.0);
			}
			if (sw_dim_set(d, params, v) < 0) {
				json_decref(params);
				sw_errorf(err, "parameter '%s' clashes with a nested "
					  "parameter", d->label);
				goto done;
			}
		}
		if (json_array_append_new(out, params) < 0) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		emitted++;
	}
	if (idx >= total)
		*exhausted = 1;
	ret = 0;
done:
	free(pos);
	free(seen);
	axes_release(ax, na);
	return ret;
}
