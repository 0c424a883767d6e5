/* search.c - dispatch to the search methods, run_cap and metric.target;
 * see include/sweep/search/search.h */
#include "sweep/search/search.h"

#include <math.h>
#include <stdlib.h>

const char *sw_search_end_name(enum sw_search_end end)
{
	switch (end) {
	case SW_SEARCH_MORE:
		return "more";
	case SW_SEARCH_EXHAUSTED:
		return "exhausted";
	case SW_SEARCH_RUN_CAP:
		return "run_cap";
	case SW_SEARCH_TARGET:
		return "target";
	}
	return "unknown";
}

int sw_search_target_reached(const struct sw_spec *spec,
			     const struct sw_runs *runs)
{
	int maximize = spec->metric.goal == SW_GOAL_MAXIMIZE;
	size_t i;
	double v;

	if (!spec->metric.present || !spec->metric.has_target || !spec->metric.name)
		return 0;
	for (i = 0; i < runs->n; i++) {
		if (!sw_run_metric_extremum(&runs->items[i], spec->metric.name,
					    maximize, &v))
			continue;
		if (maximize ? v >= spec->metric.target : v <= spec->metric.target)
			return 1;
	}
	return 0;
}

int sw_search_next(const struct sw_spec *spec, const struct sw_runs *runs,
		   size_t count, uint64_t seed, json_t *out,
		   enum sw_search_end *end, struct sw_err *err)
{
	struct sw_space sp = SW_SPACE_INIT;
	size_t before = json_array_size(out);
	int capped = 0, exhausted = 0, ret = -1;

	*end = SW_SEARCH_MORE;
	if (sw_search_target_reached(spec, runs)) {
		*end = SW_SEARCH_TARGET;
		return 0;
	}
	if (spec->run_cap > 0) {
		uint64_t cap = (uint64_t)spec->run_cap;

		if (runs->n >= cap) {
			*end = SW_SEARCH_RUN_CAP;
			return 0;
		}
		if (count >= cap - runs->n) {
			count = (size_t)(cap - runs->n);
			capped = 1;
		}
	}
	if (sw_space_init(&sp, spec, err) < 0)
		return -1;
	switch (spec->method) {
	case SW_METHOD_GRID:
		ret = sw_search_grid(&sp, runs, count, out, &exhausted, err);
		break;
	case SW_METHOD_RANDOM:
		ret = sw_search_random(&sp, runs, count, seed, out, err);
		break;
	case SW_METHOD_BAYES:
		ret = sw_search_bayes(spec, &sp, runs, count, seed, out, err);
		break;
	default:
		ret = sw_errorf(err, "unknown search method");
		break;
	}
	if (ret == 0) {
		if (exhausted)
			*end = SW_SEARCH_EXHAUSTED;
		else if (capped && json_array_size(out) - before == count)
			*end = SW_SEARCH_RUN_CAP;
	}
	sw_space_release(&sp);
	return ret;
}
