/*
 * points.h - points of a search space, as the random and bayes engines
 * (and the dispatcher) use them: equal at every searchable leaf, already
 * observed or suggested, and drawn uniformly at random. They sit below
 * search.c and the engines so that the engines never call back into the
 * dispatcher.
 *
 * Ownership: spaces, runs and arrays are borrowed; sw_random_point returns
 * a new object.
 *
 * defines: sw_params_same, sw_params_seen, sw_random_point
 */
#ifndef SW_SEARCH_POINTS_H
#define SW_SEARCH_POINTS_H

#include <jansson.h>
#include <stddef.h>

#include "base/rng.h"
#include "sweep/search/observed.h"
#include "sweep/spec/space.h"

/* 1 when a and b hold equal values (Python ==) at every searchable leaf. */
int sw_params_same(const struct sw_space *sp, const json_t *a, const json_t *b);

/* 1 when params equals (sw_params_same) an observed run's or one of the
 * suggestions out[first..]: random and bayes redraw such a point. */
int sw_params_seen(const struct sw_space *sp, const struct sw_runs *runs,
		   const json_t *out, size_t first, const json_t *params);

/* A random parameter object (every leaf, constants included): each
 * searchable leaf at quantile u drawn in the open interval (0,1) from rng.
 * If u01 is non-NULL the searchable leaves' u values are written there in
 * leaf order. Returns a new object, NULL on allocation failure. */
json_t *sw_random_point(const struct sw_space *sp, struct sw_rng *rng,
			double *u01);

#endif
