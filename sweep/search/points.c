/* points.c - points of a search space shared by the engines: equality,
 * "seen before" and a uniform random draw; see
 * include/sweep/search/points.h */
#include "sweep/search/points.h"

int sw_params_same(const struct sw_space *sp, const json_t *a, const json_t *b)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		const json_t *va, *vb;

		if (!sw_dim_searchable(&sp->dims[i]))
			continue;
		va = sw_dim_get(&sp->dims[i], a);
		vb = sw_dim_get(&sp->dims[i], b);
		if (!va || !vb || !sw_values_equal(va, vb))
			return 0;
	}
	return 1;
}

int sw_params_seen(const struct sw_space *sp, const struct sw_runs *runs,
		   const json_t *out, size_t first, const json_t *params)
{
	size_t i;

	for (i = 0; i < runs->n; i++)
		if (sw_params_same(sp, runs->items[i].params, params))
			return 1;
	for (i = first; i < json_array_size(out); i++)
		if (sw_params_same(sp, json_array_get(out, i), params))
			return 1;
	return 0;
}

json_t *sw_random_point(const struct sw_space *sp, struct sw_rng *rng,
			double *u01)
{
	json_t *params = json_object();
	size_t i, k = 0;

	if (!params)
		return NULL;
	for (i = 0; i < sp->n; i++) {
		const struct sw_dim *d = &sp->dims[i];
		json_t *v;
		double u = 0.0;

		if (sw_dim_searchable(d)) {
			/* open interval: (k + 1/2) / 2^53, never 0 or 1, so the
			 * scipy edge cases of ppf(0) never turn up in a draw */
			u = ((double)(sw_rng_u64(rng) >> 11) + 0.5) *
			    (1.0 / 9007199254740992.0);
			if (u01)
				u01[k++] = u;
		}
		v = sw_dim_ppf(d, u);
		if (!v || sw_dim_set(d, params, v) < 0) {
			json_decref(params);
			return NULL;
		}
	}
	return params;
}
