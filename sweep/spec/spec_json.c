/* spec_json.c - a sweep definition back to JSON with wandb's defaults
 * filled in (the parsed dump of the golden tests). See include/sweep/spec/spec.h. */
#include "sweep/spec/spec.h"

#include <string.h>

static json_t *number(double v, int is_int)
{
	if (is_int)
		return json_integer((json_int_t)v);
	return json_real(v);
}

static int set(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v ? v : json_null());
}

static json_t *param_json(const struct sw_param *p)
{
	json_t *o = json_object(), *sub;
	enum sw_dist d = p->dist;
	size_t i;

	if (!o)
		return NULL;
	if (d == SW_DIST_NESTED) {
		sub = json_object();
		for (i = 0; sub && i < p->n_children; i++)
			set(sub, p->children[i].name, param_json(&p->children[i]));
		set(o, "parameters", sub);
		return o;
	}
	set(o, "distribution", json_string(sw_dist_name(d)));
	switch (d) {
	case SW_DIST_CONSTANT:
		set(o, "value", json_incref(p->value));
		break;
	case SW_DIST_CATEGORICAL_W_PROBABILITIES:
		sub = json_array();
		for (i = 0; sub && i < p->n_probabilities; i++)
			json_array_append_new(sub, json_real(p->probabilities[i]));
		set(o, "values", json_incref(p->values));
		set(o, "probabilities", sub);
		break;
	case SW_DIST_CATEGORICAL:
		set(o, "values", json_incref(p->values));
		break;
	case SW_DIST_NORMAL:
	case SW_DIST_LOG_NORMAL:
	case SW_DIST_Q_NORMAL:
	case SW_DIST_Q_LOG_NORMAL:
		set(o, "mu", json_real(p->mu));
		set(o, "sigma", json_real(p->sigma));
		break;
	case SW_DIST_BETA:
	case SW_DIST_Q_BETA:
		set(o, "a", json_real(p->a));
		set(o, "b", json_real(p->b));
		break;
	default:
		set(o, "min", number(p->min, p->min_is_int));
		set(o, "max", number(p->max, p->max_is_int));
		break;
	}
	if (d == SW_DIST_Q_UNIFORM || d == SW_DIST_Q_LOG_UNIFORM ||
	    d == SW_DIST_Q_LOG_UNIFORM_VALUES || d == SW_DIST_Q_NORMAL ||
	    d == SW_DIST_Q_LOG_NORMAL || d == SW_DIST_Q_BETA)
		set(o, "q", number(p->q, p->q_is_int));
	return o;
}

static const char *const goals[] = { "minimize", "maximize" };
static const char *const imputes[] = { "worst", "latest", "best", "false" };
static const char *const methods[] = { "grid", "random", "bayes" };
static const char *const levels[] = { "INFO", "WARN", "ERROR" };

json_t *sw_spec_to_json(const struct sw_spec *s)
{
	json_t *o = json_object(), *sub;
	size_t i;

	if (!o)
		return NULL;
	if (s->has_method)
		set(o, "method", json_string(methods[s->method]));
	else if (s->method_custom)
		set(o, "method", json_string("custom"));
	if (s->metric.present) {
		sub = json_object();
		set(sub, "name", s->metric.name ? json_string(s->metric.name) : NULL);
		set(sub, "goal", json_string(goals[s->metric.goal]));
		if (s->metric.has_target)
			set(sub, "target", json_real(s->metric.target));
		set(sub, "impute", json_string(imputes[s->metric.impute]));
		set(sub, "impute_while_running",
		    json_string(imputes[s->metric.impute_while_running]));
		set(o, "metric", sub);
	}
	sub = json_object();
	for (i = 0; sub && i < s->n_params; i++)
		set(sub, s->params[i].name, param_json(&s->params[i]));
	set(o, "parameters", sub);
	if (s->hyperband.present) {
		const struct sw_hyperband *h = &s->hyperband;

		sub = json_object();
		set(sub, "type", json_string("hyperband"));
		if (h->has_min_iter)
			set(sub, "min_iter", json_integer(h->min_iter));
		if (h->has_max_iter)
			set(sub, "max_iter", json_integer(h->max_iter));
		if (h->has_s)
			set(sub, "s", json_integer(h->s));
		set(sub, "eta", json_real(h->eta));
		set(sub, "strict", json_boolean(h->strict));
		set(o, "early_terminate", sub);
	}
	if (s->run_cap > 0)
		set(o, "run_cap", json_integer(s->run_cap));
	if (s->program)
		set(o, "program", json_string(s->program));
	if (s->command) {
		sub = json_array();
		for (i = 0; sub && i < s->n_command; i++)
			json_array_append_new(sub, json_string(s->command[i]));
		set(o, "command", sub);
	}
	if (s->name)
		set(o, "name", json_string(s->name));
	if (s->description)
		set(o, "description", json_string(s->description));
	if (s->entity)
		set(o, "entity", json_string(s->entity));
	if (s->project)
		set(o, "project", json_string(s->project));
	if (s->n_alerts) {
		sub = json_array();
		for (i = 0; sub && i < s->n_alerts; i++) {
			const struct sw_alert_rule *a = &s->alerts[i];
			json_t *r = json_object();

			set(r, "name", a->name ? json_string(a->name) : NULL);
			set(r, "when", a->when ? json_string(a->when) : NULL);
			if (a->kind == SW_ALERT_WHEN_COMPARE && a->metric) {
				set(r, "metric", json_string(a->metric));
				set(r, "op", json_string(a->op));
				set(r, "threshold", json_real(a->threshold));
			}
			set(r, "after_epoch", json_integer(a->after_epoch));
			set(r, "level", json_string(levels[a->level]));
			set(r, "stop_run", json_boolean(a->stop_run));
			json_array_append_new(sub, r);
		}
		set(o, "alerts", sub);
	}
	return o;
}
