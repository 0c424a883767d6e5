/* search_random.c - random search: every leaf drawn by its inverse CDF;
 * see include/sweep/search.h */
#include "sweep/search.h"

/* 1 if params equals an observed run's or an earlier suggestion's. */
static int seen_before(const struct sw_space *sp, const struct sw_runs *runs,
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

int sw_search_random(const struct sw_space *sp, const struct sw_runs *runs,
		     size_t count, uint64_t seed, json_t *out, struct sw_err *err)
{
	size_t i, first = json_array_size(out);

	for (i = 0; i < count; i++) {
		struct sw_rng rng;
		json_t *params = NULL;
		int tries;

		sw_rng_seed(&rng, sw_seed_derive(seed, runs->n + i), 0x5eed);
		for (tries = 0; tries < 64; tries++) {
			json_decref(params);
			params = sw_random_point(sp, &rng, NULL);
			if (!params)
				return sw_errorf(err, "out of memory");
			if (!seen_before(sp, runs, out, first, params))
				break;
		}
		if (json_array_append_new(out, params) < 0)
			return sw_errorf(err, "out of memory");
	}
	return 0;
}
