/* spec_validate.c - the second pass over a loaded sweep definition: value
 * ranges and cross-field rules of wandb's schema, what wandb's engine only
 * finds out when the sweep runs (grid needs discrete parameters, bayes a
 * metric and something to search, hyperband a metric and brackets), our
 * `alerts:` rules, `command` macros, and, for sweeps of the built-in
 * trainer, its hyperparameter table. What wandb refuses is an error; what
 * only `sweep` checks is a warning unless the use (enum sw_spec_use) cannot
 * go on with it. See include/sweep/spec/spec.h. */
#define _GNU_SOURCE
#include "sweep/spec/spec.h"
#include "trainer/hparams.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vctx {
	const struct sw_spec *spec;
	struct sw_diags *diags;
	enum sw_spec_use use;
	int trainer;                /* no program/command: the built-in trainer */
};

/* Appended to the trainer's checks when they are only warnings. */
static const char trainer_note[] = " (this matters only for training the "
	"built-in CNN, as `sweep run` does when there is no program/command)";

/* Metrics the built-in trainer logs every epoch (trainer issue). */
static const char *const trainer_metrics[] = {
	"loss", "accuracy", "val_loss", "val_accuracy", "epoch", "learning_rate",
	"images_per_sec", "epoch_seconds", NULL
};

static const char *const macros[] = {
	"env", "interpreter", "program", "args", "args_no_hyphens",
	"args_no_equals", "args_no_boolean_flags", "args_append_hydra",
	"args_override_hydra", "args_json", "args_json_file", NULL
};

static void vreport(struct vctx *c, int is_error, struct sw_loc loc,
		    const char *note, const char *fmt, va_list ap)
{
	char msg[768];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	sw_diags_add(c->diags, is_error, loc, "%s%s", msg, note);
}

static void report(struct vctx *c, int is_error, struct sw_loc loc,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct vctx *c, int is_error, struct sw_loc loc,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, is_error, loc, "", fmt, ap);
	va_end(ap);
}

/* A check of the built-in trainer's table: an error when sweep trains the
 * runs with it, a warning saying so for a file, nothing for suggest. */
static void report_trainer(struct vctx *c, struct sw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_trainer(struct vctx *c, struct sw_loc loc, const char *fmt, ...)
{
	va_list ap;

	if (c->use == SW_USE_SEARCH)
		return;
	va_start(ap, fmt);
	vreport(c, c->use >= SW_USE_RUN, loc, c->use >= SW_USE_RUN ? "" : trainer_note,
		fmt, ap);
	va_end(ap);
}

#define ERROR(loc, ...) report(c, 1, (loc), __VA_ARGS__)
#define WARN(loc, ...) report(c, 0, (loc), __VA_ARGS__)
/* checks beyond wandb that matter only when sweep starts the runs itself */
#define RUN_ERROR(loc, ...) report(c, c->use >= SW_USE_RUN, (loc), __VA_ARGS__)
#define TRAINER(loc, ...) report_trainer(c, (loc), __VA_ARGS__)

/* The shortest of %.15g/%.17g that reads back as v. */
static const char *num(double v, char *buf, size_t size)
{
	snprintf(buf, size, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, size, "%.17g", v);
	return buf;
}

/* A location: the field's own if it was written, else the parameter's. */
static struct sw_loc at(struct sw_loc field, struct sw_loc fallback)
{
	return field.line ? field : fallback;
}

static int is_log_v1(enum sw_dist d)
{
	return d == SW_DIST_LOG_UNIFORM || d == SW_DIST_Q_LOG_UNIFORM ||
	       d == SW_DIST_INV_LOG_UNIFORM;
}

static int is_log_values(enum sw_dist d)
{
	return d == SW_DIST_LOG_UNIFORM_VALUES || d == SW_DIST_Q_LOG_UNIFORM_VALUES ||
	       d == SW_DIST_INV_LOG_UNIFORM_VALUES;
}

static int has_bounds(enum sw_dist d)
{
	return d == SW_DIST_INT_UNIFORM || d == SW_DIST_UNIFORM || d == SW_DIST_Q_UNIFORM ||
	       is_log_v1(d) || is_log_values(d);
}

static int has_q(enum sw_dist d)
{
	return d == SW_DIST_Q_UNIFORM || d == SW_DIST_Q_LOG_UNIFORM ||
	       d == SW_DIST_Q_LOG_UNIFORM_VALUES || d == SW_DIST_Q_NORMAL ||
	       d == SW_DIST_Q_LOG_NORMAL || d == SW_DIST_Q_BETA;
}

/* ==== Parameters ==== */

static void check_param(struct vctx *c, const struct sw_param *p)
{
	char *path = sw_param_path(p);
	const char *dn = sw_dist_name(p->dist);
	char a[40], b[40];
	size_t i, n;

	if (!path || p->broken)
		goto done;
	if (p->dist == SW_DIST_NESTED) {
		for (i = 0; i < p->n_children; i++)
			check_param(c, &p->children[i]);
		goto done;
	}
	if ((p->dist == SW_DIST_CATEGORICAL ||
	     p->dist == SW_DIST_CATEGORICAL_W_PROBABILITIES) &&
	    json_array_size(p->values) == 0)
		ERROR(at(p->loc_values, p->loc), "'values' of parameter '%s' is "
		      "empty: give at least one value", path);
	if (p->dist == SW_DIST_CATEGORICAL_W_PROBABILITIES) {
		double sum = 0;

		n = json_array_size(p->values);
		if (p->n_probabilities != n)
			ERROR(at(p->loc_probabilities, p->loc), "parameter '%s' has "
			      "%zu values but %zu probabilities: give one "
			      "probability per value", path, n, p->n_probabilities);
		for (i = 0; i < p->n_probabilities; i++) {
			if (p->probabilities[i] < 0)
				ERROR(at(p->loc_probabilities, p->loc), "probability "
				      "%zu of parameter '%s' is negative (%s)", i + 1,
				      path, num(p->probabilities[i], a, sizeof(a)));
			sum += p->probabilities[i];
		}
		if (p->n_probabilities && !(fabs(sum - 1.0) <= 1e-8 + 1e-5))
			ERROR(at(p->loc_probabilities, p->loc), "probabilities of "
			      "parameter '%s' sum to %g, not 1", path, sum);
	}
	if (has_bounds(p->dist)) {
		if (!(p->min < p->max))
			ERROR(at(p->loc_min, p->loc), "parameter '%s': min %s is not "
			      "less than max %s", path, num(p->min, a, sizeof(a)),
			      num(p->max, b, sizeof(b)));
		if (is_log_values(p->dist) && !(p->min > 0))
			ERROR(at(p->loc_min, p->loc), "min of %s parameter '%s' must be "
			      "greater than 0 (it is the smallest value drawn), got %s",
			      dn, path, num(p->min, a, sizeof(a)));
		if (is_log_v1(p->dist)) {
			if (p->max > 700 || p->min < -700)
				ERROR(at(p->loc_max, p->loc), "%s parameter '%s' takes "
				      "base-e exponents: e^%s is out of range; use "
				      "%s_values to give the values themselves", dn, path,
				      num(p->max > 700 ? p->max : p->min, a, sizeof(a)), dn);
			else if (p->dist == SW_DIST_INV_LOG_UNIFORM)
				WARN(p->loc, "parameter '%s' uses inv_log_uniform, whose "
				     "min and max are base-e exponents (values from "
				     "e^-%s = %.3g to e^-%s = %.3g); wandb flags this as "
				     "deprecated: use inv_log_uniform_values to give the "
				     "values themselves", path, num(p->max, a, sizeof(a)),
				     exp(-p->max), num(p->min, b, sizeof(b)), exp(-p->min));
			else
				WARN(p->loc, "parameter '%s' uses %s, whose min and max are "
				     "base-e exponents (values from e^%s = %.3g to e^%s = "
				     "%.3g); wandb flags this as deprecated: use %s_values to "
				     "give the values themselves", path, dn,
				     num(p->min, a, sizeof(a)), exp(p->min),
				     num(p->max, b, sizeof(b)), exp(p->max), dn);
		}
	}
	if (has_q(p->dist) && !(p->q > 0))
		ERROR(at(p->loc_q, p->loc), "q of parameter '%s' must be greater than "
		      "0, got %s", path, num(p->q, a, sizeof(a)));
	if ((p->dist == SW_DIST_NORMAL || p->dist == SW_DIST_Q_NORMAL ||
	     p->dist == SW_DIST_LOG_NORMAL || p->dist == SW_DIST_Q_LOG_NORMAL) &&
	    !(p->sigma >= 0))
		ERROR(at(p->loc_sigma, p->loc), "sigma of parameter '%s' must be 0 or "
		      "more, got %s", path, num(p->sigma, a, sizeof(a)));
	if ((p->dist == SW_DIST_LOG_NORMAL || p->dist == SW_DIST_Q_LOG_NORMAL) &&
	    (fabs(p->mu) > 700 || p->sigma > 100))
		ERROR(at(p->loc_mu, p->loc), "log_normal parameter '%s' has mu %s and "
		      "sigma %s: exp() of that overflows", path,
		      num(p->mu, a, sizeof(a)), num(p->sigma, b, sizeof(b)));
	if (p->dist == SW_DIST_BETA || p->dist == SW_DIST_Q_BETA) {
		if (!(p->a > 0))
			ERROR(at(p->loc_a, p->loc), "'a' of beta parameter '%s' must be "
			      "greater than 0, got %s", path, num(p->a, a, sizeof(a)));
		if (!(p->b > 0))
			ERROR(at(p->loc_b, p->loc), "'b' of beta parameter '%s' must be "
			      "greater than 0, got %s", path, num(p->b, a, sizeof(a)));
	}
done:
	free(path);
}

/* Calls fn for every leaf parameter (nested ones included). */
static void each_leaf(const struct sw_param *ps, size_t n,
		      void (*fn)(struct vctx *, const struct sw_param *, void *),
		      struct vctx *c, void *arg)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ps[i].dist == SW_DIST_NESTED && !ps[i].broken)
			each_leaf(ps[i].children, ps[i].n_children, fn, c, arg);
		else
			fn(c, &ps[i], arg);
	}
}

/* ==== Methods ==== */

struct leaf_stats {
	size_t leaves, broken, searchable;
};

static void grid_leaf(struct vctx *c, const struct sw_param *p, void *arg)
{
	char *path;

	(void)arg;
	if (p->broken || p->dist == SW_DIST_CONSTANT || p->dist == SW_DIST_CATEGORICAL ||
	    p->dist == SW_DIST_INT_UNIFORM || p->dist == SW_DIST_Q_UNIFORM)
		return;
	path = sw_param_path(p);
	if (p->dist == SW_DIST_CATEGORICAL_W_PROBABILITIES)
		ERROR(at(p->loc_probabilities, p->loc), "grid search cannot use "
		      "probabilities: parameter '%s' is categorical_w_probabilities; "
		      "remove 'probabilities' or use method random",
		      path ? path : "?");
	else
		ERROR(p->loc, "grid search needs discrete parameters: '%s' is %s; "
		      "give it values: [...], or use int_uniform or q_uniform",
		      path ? path : "?", sw_dist_name(p->dist));
	free(path);
}

static void stats_leaf(struct vctx *c, const struct sw_param *p, void *arg)
{
	struct leaf_stats *st = arg;

	(void)c;
	st->leaves++;
	if (p->broken)
		st->broken++;
	else if (p->dist != SW_DIST_CONSTANT)
		st->searchable++;
}

/* The methods wandb takes with each scheduler engine: custom with optuna
 * and ax, grid, random or bayes with its own (which sweep ignores); a
 * sweep whose space is only the scheduler's cannot be searched here. */
static void check_scheduler_method(struct vctx *c)
{
	static const char *const engines[] = { "optuna", "ax", "wandb" };
	const struct sw_spec *s = c->spec;
	int e = s->scheduler_engine;

	if (s->has_scheduler && s->loc_parameters.line == 0 &&
	    (c->use == SW_USE_SEARCH || c->use == SW_USE_RUN))
		ERROR(s->loc_scheduler, "the sweep has no 'parameters': its space is "
		      "scheduler.search_space, which sweep's own search does not read; "
		      "add 'parameters'");
	if (!s->has_scheduler || e < 0 || (!s->has_method && !s->method_custom))
		return;
	if (e == 2 && s->method_custom)
		ERROR(s->loc_scheduler, "scheduler engine 'wandb' takes method grid, "
		      "random or bayes (wandb refuses method: custom with it)");
	else if (e == 2)
		WARN(s->loc_scheduler, "'scheduler' is ignored: sweep runs its own "
		     "grid, random or bayes search");
	else if (!s->method_custom)
		ERROR(s->loc_scheduler, "scheduler engine '%s' takes method: custom "
		      "(wandb refuses any other method with it): set method: custom "
		      "for the external scheduler, or remove 'scheduler' to use "
		      "sweep's own grid, random or bayes search", engines[e]);
}

/* method: custom and metrics, as wandb takes them: a custom sweep is
 * searched by an external scheduler (W&B Launch), which may read metrics;
 * wandb refuses metrics without custom, and metric with metrics. */
static void check_custom(struct vctx *c)
{
	const struct sw_spec *s = c->spec;

	if (s->method_custom && (c->use == SW_USE_SEARCH || c->use == SW_USE_RUN))
		ERROR(s->loc_method, "method 'custom' needs an external scheduler, "
		      "which sweep does not run: use grid, random or bayes");
	else if (s->method_custom && c->use == SW_USE_FILE)
		WARN(s->loc_method, "method 'custom' leaves the search to an external "
		     "scheduler: `sweep create` registers the sweep and `sweep agent` "
		     "trains the runs it sends, but `sweep run` and `suggest` cannot "
		     "search it");
	check_scheduler_method(c);
	if (!s->has_metrics)
		return;
	if (!s->method_custom)
		ERROR(s->loc_metrics, "'metrics' (several objectives) needs method: "
		      "custom (wandb refuses it otherwise): give one 'metric'");
	else if (s->metric.present)
		ERROR(s->loc_metrics, "give 'metric' or 'metrics', not both (wandb "
		      "refuses the two together)");
}

static void check_method(struct vctx *c)
{
	const struct sw_spec *s = c->spec;
	struct leaf_stats st = { 0, 0, 0 };
	struct sw_err err = SW_ERR_INIT;
	uint64_t points = 0;

	if (!s->has_method)
		return;
	each_leaf(s->params, s->n_params, stats_leaf, c, &st);
	if (s->method == SW_METHOD_GRID) {
		each_leaf(s->params, s->n_params, grid_leaf, c, NULL);
		if (s->run_cap > 0 && sw_spec_grid_count(s, &points, &err) == 0 &&
		    points > (uint64_t)s->run_cap)
			WARN(s->loc_run_cap, "the grid has %llu points but run_cap "
			     "stops the sweep after %lld of them",
			     (unsigned long long)points, (long long)s->run_cap);
	}
	if (s->method == SW_METHOD_BAYES) {
		if (!s->metric.present)
			ERROR(s->loc_method, "bayes search needs a 'metric' to optimise, "
			      "e.g. metric: {name: val_accuracy, goal: maximize}");
		if (st.leaves > 0 && st.broken == 0 && st.searchable == 0)
			ERROR(s->loc_parameters, "bayes search needs at least one "
			      "parameter that is not constant");
	}
}

/* ==== early_terminate ==== */

/* The number of epochs the sweep's runs train at most, when the built-in
 * trainer runs them and it can be told; 0 otherwise. */
static double trainer_max_epochs(const struct sw_spec *s)
{
	const struct cnn_hparam_info *info = cnn_hparam_find("epochs");
	double best = 0;
	size_t i, j;

	for (i = 0; i < s->n_params; i++) {
		const struct sw_param *p = &s->params[i];

		if (strcmp(p->name, "epochs") != 0 || p->broken)
			continue;
		if (p->dist == SW_DIST_CONSTANT && json_is_number(p->value))
			return json_number_value(p->value);
		if (p->dist == SW_DIST_CATEGORICAL) {
			for (j = 0; j < json_array_size(p->values); j++) {
				json_t *v = json_array_get(p->values, j);

				if (!json_is_number(v))
					return 0;
				if (json_number_value(v) > best)
					best = json_number_value(v);
			}
			return best;
		}
		if (p->dist == SW_DIST_INT_UNIFORM)
			return p->max;
		return 0;
	}
	return info && info->default_text ? strtod(info->default_text, NULL) : 0;
}

static void check_hyperband(struct vctx *c)
{
	const struct sw_spec *s = c->spec;
	const struct sw_hyperband *h = &s->hyperband;
	double first = 0, epochs;
	char a[40], b[40];

	if (!h->present || !json_is_object(json_object_get(s->doc, "early_terminate")))
		return;     /* absent, or not a mapping (reported by the loader) */
	if (!s->metric.present)
		ERROR(h->loc, "early_terminate (hyperband) needs a 'metric' to "
		      "compare runs by");
	if (!(h->eta > 1))
		ERROR(at(h->loc_eta, h->loc), "eta of early_terminate must be "
		      "greater than 1, got %s", num(h->eta, a, sizeof(a)));
	if (h->has_min_iter && h->min_iter < 1)
		ERROR(h->loc_min_iter, "min_iter of early_terminate must be at "
		      "least 1, got %lld", (long long)h->min_iter);
	if (h->has_s && h->s < 1)
		ERROR(h->loc_s, "s of early_terminate must be at least 1 (the "
		      "number of brackets), got %lld", (long long)h->s);
	if (!(h->eta > 1))
		return;
	if (h->has_max_iter && h->has_s) {
		int64_t k;

		if (h->has_min_iter)
			WARN(h->loc_min_iter, "min_iter is ignored when max_iter and s "
			     "are given (wandb uses max_iter)");
		if (h->s < 1)
			return;
		/* wandb: band = max_iter / eta^k for k = 1..s while >= 1 */
		first = (double)h->max_iter;
		for (k = 0; k < h->s && k < 4096; k++) {
			if (first / h->eta < 1)
				break;
			first /= h->eta;
		}
		if (k == 0) {
			ERROR(h->loc_max_iter, "hyperband has no brackets: max_iter "
			      "%lld / eta %s is below 1; increase max_iter or "
			      "decrease eta", (long long)h->max_iter,
			      num(h->eta, b, sizeof(b)));
			return;
		}
		first = floor(first);
	} else if (h->has_min_iter && h->min_iter >= 1) {
		first = (double)h->min_iter;
	} else {
		return;     /* reported above or by the loader */
	}
	if (c->trainer) {
		epochs = trainer_max_epochs(s);
		if (epochs > 0 && first >= epochs)
			WARN(h->loc, "hyperband never stops a run: its first bracket "
			     "is at epoch %s but runs train at most %s epochs",
			     num(first, a, sizeof(a)), num(epochs, b, sizeof(b)));
	}
}

/* ==== metric, alerts, command ==== */

static void check_metric(struct vctx *c)
{
	const struct sw_metric *m = &c->spec->metric;
	const char *near;
	json_t *goal;

	if (!m->present || !m->name)
		return;
	if (!m->name[0]) {
		WARN(m->loc, "'name' of metric is empty: no run logs a metric "
		     "without a name");
		return;
	}
	if (!c->trainer)
		return;
	goal = json_object_get(json_object_get(c->spec->doc, "metric"), "goal");
	if ((strcmp(m->name, "accuracy") == 0 || strcmp(m->name, "val_accuracy") == 0) &&
	    m->goal == SW_GOAL_MINIMIZE &&
	    (!goal || (json_is_string(goal) &&
		       strcmp(json_string_value(goal), "minimize") == 0)))
		WARN(m->loc, "the sweep minimizes '%s' (goal defaults to minimize): "
		     "add goal: maximize to look for the most accurate model", m->name);
	if ((strcmp(m->name, "loss") == 0 || strcmp(m->name, "val_loss") == 0) &&
	    m->goal == SW_GOAL_MAXIMIZE)
		WARN(m->loc, "the sweep maximizes '%s': did you mean goal: minimize?",
		     m->name);
	for (near = NULL; ; ) {
		size_t i;

		for (i = 0; trainer_metrics[i]; i++)
			if (strcmp(trainer_metrics[i], m->name) == 0)
				return;
		near = sw_nearest(m->name, trainer_metrics);
		break;
	}
	if (near)
		TRAINER(m->loc, "metric '%s' is not logged by the built-in trainer; "
			"did you mean '%s'?", m->name, near);
	else
		TRAINER(m->loc, "metric '%s' is not logged by the built-in trainer (it "
			"logs loss, accuracy, val_loss, val_accuracy, epoch, "
			"learning_rate and images_per_sec)", m->name);
}

static void check_alerts(struct vctx *c)
{
	const struct sw_spec *s = c->spec;
	size_t i, j, k;

	for (i = 0; i < s->n_alerts; i++) {
		const struct sw_alert_rule *a = &s->alerts[i];

		if (!a->when)
			continue;
		if (a->after_epoch < 0)
			ERROR(a->loc_after_epoch, "after_epoch of alert %zu must be 0 "
			      "or more, got %lld", i + 1, (long long)a->after_epoch);
		if (a->kind == SW_ALERT_WHEN_NEW_BEST && !s->metric.present)
			ERROR(a->loc_when, "alert %zu fires on new_best, which needs a "
			      "'metric'", i + 1);
		if (a->kind == SW_ALERT_WHEN_RUN_FAILED && a->stop_run)
			WARN(a->loc, "stop_run has no effect in alert %zu: a failed run "
			     "has already stopped", i + 1);
		if (a->kind == SW_ALERT_WHEN_COMPARE && a->metric && c->trainer) {
			for (k = 0; trainer_metrics[k]; k++)
				if (strcmp(trainer_metrics[k], a->metric) == 0)
					break;
			if (!trainer_metrics[k]) {
				const char *near = sw_nearest(a->metric, trainer_metrics);

				if (near)
					TRAINER(a->loc_when, "alert %zu watches '%s', "
						"which the built-in trainer does not log; "
						"did you mean '%s'?", i + 1, a->metric, near);
				else
					TRAINER(a->loc_when, "alert %zu watches '%s', "
						"which the built-in trainer does not log "
						"(it logs loss, accuracy, val_loss, "
						"val_accuracy, epoch, learning_rate and "
						"images_per_sec)", i + 1, a->metric);
			}
		}
		for (j = 0; j < i; j++)
			if (a->name && s->alerts[j].name &&
			    strcmp(a->name, s->alerts[j].name) == 0) {
				ERROR(a->loc, "alert name '%s' is used twice (first by "
				      "alert %zu)", a->name, j + 1);
				break;
			}
	}
}

static void check_command(struct vctx *c)
{
	const struct sw_spec *s = c->spec;
	int uses_program = 0;
	size_t i;

	if (s->program && !s->program[0])
		WARN(s->loc_program, "'program' is empty: give the script to run, "
		     "or remove it to train the built-in model");
	if (!s->command)
		return;
	if (s->n_command == 0)
		RUN_ERROR(s->loc_command, "'command' is empty, so a run has nothing "
			  "to start: give the program to run, e.g. [\"${env}\", "
			  "\"python\", \"${program}\", \"${args}\"]");
	for (i = 0; i < s->n_command; i++) {
		const char *item = s->command[i];
		size_t len = strlen(item);
		struct sw_loc loc = s->command_locs ? s->command_locs[i] :
				    s->loc_command;
		const char *p;

		if (len >= 3 && strncmp(item, "${", 2) == 0 && item[len - 1] == '}' &&
		    !strchr(item + 2, '{') && strncmp(item, "${envvar:", 9) != 0) {
			char name[64];
			size_t k;

			snprintf(name, sizeof(name), "%.*s", (int)(len - 3), item + 2);
			for (k = 0; macros[k]; k++)
				if (strcmp(macros[k], name) == 0)
					break;
			if (!macros[k]) {
				const char *near = sw_nearest(name, macros);

				if (near)
					WARN(loc, "unknown macro '%s' in 'command' "
					     "will be dropped from the command line, as "
					     "wandb's agent drops it; did you mean "
					     "'${%s}'?", item, near);
				else
					WARN(loc, "unknown macro '%s' in 'command' "
					     "will be dropped from the command line, as "
					     "wandb's agent drops it (known: ${env}, "
					     "${interpreter}, ${program}, ${args}, "
					     "${args_no_hyphens}, ${args_no_equals}, "
					     "${args_no_boolean_flags}, "
					     "${args_append_hydra}, "
					     "${args_override_hydra}, ${args_json}, "
					     "${args_json_file}, ${envvar:NAME})", item);
			} else if (strcmp(name, "program") == 0) {
				uses_program = 1;
			}
			continue;
		}
		for (p = strstr(item, "${"); p; p = strstr(p + 2, "${")) {
			if (strncmp(p, "${envvar:", 9) == 0) {
				const char *q = p + 9;

				while ((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
				       *q == '_')
					q++;
				if (*q != '}')
					WARN(loc, "'%s' in 'command' is not a "
					     "valid ${envvar:NAME} (NAME is upper case "
					     "letters, digits and '_'): it is passed as "
					     "written", item);
				continue;
			}
			WARN(loc, "'%s' in 'command': macros are expanded "
			     "only as whole items (like \"${args}\"), so this one is "
			     "passed as written", item);
			break;
		}
	}
	if (uses_program && !s->program)
		WARN(s->loc_command, "'command' uses ${program} but no 'program' is "
		     "set: it expands to nothing");
	if (s->program && !uses_program && s->n_command)
		WARN(s->loc_program, "'program' is not used: 'command' has no "
		     "${program} item");
}

/* ==== The built-in trainer's table ==== */

/* Checks one value the distribution can produce. what: "value", "min", ... */
static void trainer_value(struct vctx *c, const struct cnn_hparam_info *info,
			  const struct sw_param *p, struct sw_loc loc,
			  const json_t *v, const char *what)
{
	struct sw_err err = SW_ERR_INIT;

	if (cnn_hparam_check(info, v, &err) < 0)
		TRAINER(loc, "%s of parameter '%s' does not fit the built-in trainer: "
		      "%s", what, p->name, err.msg);
}

/* Checks a number the distribution can produce (one end of its range). */
static void trainer_end(struct vctx *c, const struct cnn_hparam_info *info,
			const struct sw_param *p, struct sw_loc loc, double v,
			int integral, const char *what)
{
	json_t *j;

	if (!isfinite(v))
		return;
	if (integral && fabs(v) < 9e15)
		j = json_integer((json_int_t)v);
	else
		j = json_real(v);
	if (!j)
		return;
	trainer_value(c, info, p, loc, j, what);
	json_decref(j);
}

static double round_q(double x, double q)
{
	return nearbyint(x / q) * q;    /* numpy rounds half to even */
}

static void check_trainer_param(struct vctx *c, const struct sw_param *p)
{
	const struct cnn_hparam_info *info;
	double lo = 0, hi = 0;
	int integral = 0, bounded = 1;
	char what[64];
	size_t i;

	if (p->broken)
		return;
	if (p->dist == SW_DIST_NESTED) {
		TRAINER(p->loc, "the built-in trainer has no nested hyperparameters: "
		      "'%s' (set 'program' or 'command' to sweep your own script)",
		      p->name);
		return;
	}
	info = cnn_hparam_find(p->name);
	if (!info) {
		const char *near = cnn_hparam_suggest(p->name);

		if (near)
			TRAINER(p->loc, "unknown hyperparameter '%s' for the built-in "
			      "trainer; did you mean '%s'?", p->name, near);
		else
			TRAINER(p->loc, "unknown hyperparameter '%s' for the built-in "
			      "trainer (see the README's table, or set 'program' or "
			      "'command' to sweep your own script)", p->name);
		return;
	}
	switch (p->dist) {
	case SW_DIST_CONSTANT:
		trainer_value(c, info, p, at(p->loc_value, p->loc), p->value, "value");
		return;
	case SW_DIST_CATEGORICAL:
	case SW_DIST_CATEGORICAL_W_PROBABILITIES:
		for (i = 0; i < json_array_size(p->values); i++) {
			snprintf(what, sizeof(what), "value %zu", i + 1);
			trainer_value(c, info, p, p->value_locs ? p->value_locs[i] :
				      p->loc, json_array_get(p->values, i), what);
		}
		return;
	default:
		break;
	}
	if (info->type == CNN_HP_BOOL || info->type == CNN_HP_CHOICE) {
		TRAINER(p->loc, "hyperparameter '%s' takes %s, not numbers from a %s "
		      "distribution: give value: or values: [...]", p->name,
		      info->type == CNN_HP_BOOL ? "true or false" : "one of its names",
		      sw_dist_name(p->dist));
		return;
	}
	switch (p->dist) {
	case SW_DIST_INT_UNIFORM:
		lo = p->min, hi = p->max, integral = 1;
		break;
	case SW_DIST_UNIFORM:
	case SW_DIST_LOG_UNIFORM_VALUES:
	case SW_DIST_INV_LOG_UNIFORM_VALUES:
		lo = p->min, hi = p->max;
		break;
	case SW_DIST_LOG_UNIFORM:
		lo = exp(p->min), hi = exp(p->max);
		break;
	case SW_DIST_INV_LOG_UNIFORM:
		lo = exp(-p->max), hi = exp(-p->min);
		break;
	case SW_DIST_Q_UNIFORM:
	case SW_DIST_Q_LOG_UNIFORM_VALUES:
		lo = round_q(p->min, p->q), hi = round_q(p->max, p->q);
		integral = p->q == floor(p->q);
		break;
	case SW_DIST_Q_LOG_UNIFORM:
		lo = round_q(exp(p->min), p->q), hi = round_q(exp(p->max), p->q);
		integral = p->q == floor(p->q);
		break;
	case SW_DIST_NORMAL:
		lo = -INFINITY, hi = INFINITY, bounded = 0;
		break;
	case SW_DIST_Q_NORMAL:
		lo = -INFINITY, hi = INFINITY, bounded = 0;
		integral = p->q == floor(p->q);
		break;
	case SW_DIST_LOG_NORMAL:
		lo = 0, hi = INFINITY, bounded = 0;
		break;
	case SW_DIST_Q_LOG_NORMAL:
		lo = 0, hi = INFINITY, bounded = 0;
		integral = p->q == floor(p->q);
		break;
	case SW_DIST_BETA:
		lo = 0, hi = 1;
		break;
	case SW_DIST_Q_BETA:
		lo = 0, hi = round_q(1, p->q);
		integral = p->q == floor(p->q);
		break;
	default:
		return;
	}
	if (info->type == CNN_HP_INT && !integral) {
		TRAINER(p->loc, "hyperparameter '%s' takes integers, but %s produces "
		      "fractions: use int_uniform, or a q_ distribution with an "
		      "integer q", p->name, sw_dist_name(p->dist));
		return;
	}
	if (info->type == CNN_HP_INT && info->multiple_of > 1 &&
	    !(has_q(p->dist) && fmod(p->q, info->multiple_of) == 0)) {
		TRAINER(p->loc, "hyperparameter '%s' must be a multiple of %d, but %s "
		      "produces other integers: use q_uniform with q: %d, or values: "
		      "[...]", p->name, info->multiple_of, sw_dist_name(p->dist),
		      info->multiple_of);
		return;
	}
	if (!bounded) {
		char x[40], y[40];

		if (isfinite(info->max) ||
		    (lo == -INFINITY && isfinite(info->min)))
			TRAINER(p->loc, "%s parameter '%s' can produce %s values, but the "
			      "built-in trainer accepts %s to %s: use a bounded "
			      "distribution such as uniform or log_uniform_values",
			      sw_dist_name(p->dist), p->name,
			      lo == -INFINITY ? "arbitrarily large and small" :
			      "arbitrarily large", num(info->min, x, sizeof(x)),
			      num(info->max, y, sizeof(y)));
		else if (lo == 0 && info->min > 0)
			TRAINER(p->loc, "%s parameter '%s' can produce values near 0, "
			      "below the built-in trainer's minimum %s",
			      sw_dist_name(p->dist), p->name, num(info->min, x, sizeof(x)));
		return;
	}
	if (p->dist == SW_DIST_BETA && info->min > 0) {
		char x[40];

		TRAINER(p->loc, "beta parameter '%s' can produce values near 0, below "
		      "the built-in trainer's minimum %s", p->name,
		      num(info->min, x, sizeof(x)));
		return;
	}
	{
		int fields = p->dist == SW_DIST_INT_UNIFORM || p->dist == SW_DIST_UNIFORM ||
			     is_log_values(p->dist);

		if (p->dist != SW_DIST_BETA)
			trainer_end(c, info, p, at(p->loc_min, p->loc), lo, integral,
				    has_q(p->dist) ? "lowest value (after q rounding)" :
				    fields ? "min" : "lowest value");
		trainer_end(c, info, p, at(p->loc_max, p->loc), hi, integral,
			    has_q(p->dist) ? "highest value (after q rounding)" :
			    fields ? "max" : "highest value");
	}
}

/* ==== Entry point ==== */

int sw_spec_validate(const struct sw_spec *spec, struct sw_diags *diags)
{
	return sw_spec_validate_for(spec, SW_USE_FILE, diags);
}

int sw_spec_validate_for(const struct sw_spec *spec, enum sw_spec_use use,
			 struct sw_diags *diags)
{
	struct vctx c = { spec, diags, use, 0 };
	size_t before = diags ? diags->n_errors : 0, i;
	struct sw_diags local = { 0 };
	int ret;

	if (!diags) {
		diags = &local;
		c.diags = diags;
	}
	if (spec->parse_failed) {
		sw_diags_release(&local);
		return -1;
	}
	c.trainer = !spec->program && !spec->command && use != SW_USE_SEARCH;
	for (i = 0; i < spec->n_params; i++)
		check_param(&c, &spec->params[i]);
	check_custom(&c);
	check_method(&c);
	check_hyperband(&c);
	check_metric(&c);
	check_alerts(&c);
	check_command(&c);
	if (c.trainer)
		for (i = 0; i < spec->n_params; i++)
			check_trainer_param(&c, &spec->params[i]);
	ret = diags->n_errors > before ? -1 : 0;
	sw_diags_release(&local);
	return ret;
}
