/* search_random.c - random search: every leaf drawn by its inverse CDF;
 * see include/sweep/search/search.h */
#include "sweep/search/points.h"
#include "sweep/search/search.h"

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
			if (!sw_params_seen(sp, runs, out, first, params))
				break;
		}
		if (json_array_append_new(out, params) < 0)
			return sw_errorf(err, "out of memory");
	}
	return 0;
}
