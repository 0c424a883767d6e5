/* search_fixture.h - sweep definitions built in code for the search tests
 * (static helpers; included by tests/test_space.c, test_search_*.c,
 * test_hyperband.c). */
#ifndef SW_SEARCH_FIXTURE_H
#define SW_SEARCH_FIXTURE_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/spec/spec.h"

/* A parameter with wandb's defaults (q 1.0, mu 0, sigma 1, a 1, b 1). */
static inline struct sw_param fx_param(const char *name, enum sw_dist dist)
{
	struct sw_param p;

	memset(&p, 0, sizeof(p));
	p.name = strdup(name);
	p.dist = dist;
	p.q = 1.0;
	p.sigma = 1.0;
	p.a = 1.0;
	p.b = 1.0;
	return p;
}

static inline struct sw_param fx_range(const char *name, enum sw_dist dist,
				       double min, double max)
{
	struct sw_param p = fx_param(name, dist);

	p.min = min;
	p.max = max;
	p.min_is_int = min == (double)(long long)min;
	p.max_is_int = max == (double)(long long)max;
	return p;
}

/* values given as a JSON array text, e.g. "[1, 2, \"a\"]" */
static inline struct sw_param fx_values(const char *name, const char *json)
{
	struct sw_param p = fx_param(name, SW_DIST_CATEGORICAL);

	p.values = json_loads(json, JSON_DECODE_ANY, NULL);
	return p;
}

static inline struct sw_param fx_const(const char *name, const char *json)
{
	struct sw_param p = fx_param(name, SW_DIST_CONSTANT);

	p.value = json_loads(json, JSON_DECODE_ANY, NULL);
	return p;
}

static inline struct sw_param fx_nested(const char *name, struct sw_param *kids,
					size_t n)
{
	struct sw_param p = fx_param(name, SW_DIST_NESTED);

	p.children = malloc(n * sizeof(*kids));
	memcpy(p.children, kids, n * sizeof(*kids));
	p.n_children = n;
	return p;
}

static inline void fx_param_free(struct sw_param *p)
{
	size_t i;

	free(p->name);
	json_decref(p->value);
	json_decref(p->values);
	free(p->probabilities);
	for (i = 0; i < p->n_children; i++)
		fx_param_free(&p->children[i]);
	free(p->children);
}

/* A spec owning copies of params[0..n). */
static inline void fx_spec(struct sw_spec *s, enum sw_method m,
			   const struct sw_param *params, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->method = m;
	s->params = malloc(n * sizeof(*params));
	memcpy(s->params, params, n * sizeof(*params));
	s->n_params = n;
	s->hyperband.eta = 3;
	s->hyperband.strict = 1;
}

static inline void fx_metric(struct sw_spec *s, const char *name, enum sw_goal goal)
{
	s->metric.present = 1;
	s->metric.name = strdup(name);
	s->metric.goal = goal;
	s->metric.impute = SW_IMPUTE_WORST;
	s->metric.impute_while_running = SW_IMPUTE_FALSE;
}

static inline void fx_spec_free(struct sw_spec *s)
{
	size_t i;

	for (i = 0; i < s->n_params; i++)
		fx_param_free(&s->params[i]);
	free(s->params);
	free(s->metric.name);
	memset(s, 0, sizeof(*s));
}

/* Appends a run from a runs.jsonl-shaped JSON text. */
static inline int fx_run(struct sw_runs *runs, const char *json)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *o = json_loads(json, 0, NULL);
	int rc = o ? sw_runs_add_json(runs, o, &err) : -1;

	json_decref(o);
	return rc;
}

#endif
