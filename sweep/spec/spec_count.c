/* spec_count.c - how many points a sweep's grid has, and when two grid
 * values are the same one (wandb's dedupe rules). The grid enumeration
 * itself is the search engine's (search_grid.c). See include/sweep/spec/spec.h. */
#include "sweep/spec/spec.h"
#include "sweep/spec/space.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	if (a && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

static int distinct_values(const json_t *values, uint64_t *count, struct sw_err *err)
{
	size_t n = json_array_size(values), i, distinct = 0;
	char **keys = calloc(n + 1, sizeof(*keys));
	int ret = -1;

	if (!keys)
		return sw_errorf(err, "out of memory");
	for (i = 0; i < n; i++) {
		keys[i] = sw_value_key(json_array_get(values, i));
		if (!keys[i]) {
			ret = sw_errorf(err, "out of memory");
			goto done;
		}
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0)
			distinct++;
	*count = distinct;
	ret = 0;
done:
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return ret;
}

static int count_param(const struct sw_param *p, uint64_t *count, struct sw_err *err)
{
	uint64_t c = 1, sub;
	double n;
	size_t i;
	char *path;

	if (p->broken) {
		path = sw_param_path(p);
		sw_errorf(err, "parameter '%s' is invalid", path ? path : "?");
		free(path);
		return -1;
	}
	switch (p->dist) {
	case SW_DIST_NESTED:
		for (i = 0; i < p->n_children; i++) {
			if (count_param(&p->children[i], &sub, err) < 0)
				return -1;
			c = mul_sat(c, sub);
		}
		break;
	case SW_DIST_CONSTANT:
		c = 1;
		break;
	case SW_DIST_CATEGORICAL:
		if (distinct_values(p->values, &c, err) < 0)
			return -1;
		break;
	case SW_DIST_INT_UNIFORM:
		/* range(min, max + 1) */
		n = p->max - p->min + 1;
		c = n <= 0 ? 0 : n >= 1.8e19 ? UINT64_MAX : (uint64_t)n;
		break;
	case SW_DIST_Q_UNIFORM:
		/* len(np.arange(min, max, q)) = ceil((max - min) / q) */
		if (!(p->q > 0))
			goto not_discrete;
		n = ceil((p->max - p->min) / p->q);
		c = !(n > 0) ? 0 : n >= 1.8e19 ? UINT64_MAX : (uint64_t)n;
		break;
	default:
		goto not_discrete;
	}
	*count = c;
	return 0;
not_discrete:
	path = sw_param_path(p);
	sw_errorf(err, "parameter '%s' is %s, which has no grid values",
		  path ? path : "?", sw_dist_name(p->dist));
	free(path);
	return -1;
}

int sw_spec_grid_count(const struct sw_spec *spec, uint64_t *count,
		       struct sw_err *err)
{
	uint64_t total = 1, c;
	size_t i;

	for (i = 0; i < spec->n_params; i++) {
		if (count_param(&spec->params[i], &c, err) < 0)
			return -1;
		total = mul_sat(total, c);
	}
	*count = spec->n_params ? total : 0;
	return 0;
}
