/*
 * spec.h - a sweep definition: the typed form of a wandb sweep YAML file.
 *
 * sw_spec_load() (sweep/spec/spec_load.c) reads YAML with libyaml into this
 * structure, keeping every value's location; sw_spec_validate()
 * (sweep/spec/spec_validate.c) is a separate pass that checks it against wandb's
 * schema and engine rules (../shared/docs/sweep-semantics.md) and, when the
 * sweep targets the built-in trainer, against the trainer's hyperparameter
 * table. The search engines (grid, random, bayes) read only this structure.
 *
 * Parameter values of any YAML shape (scalars, lists, mappings, null) are
 * kept as jansson values, which is also how suggestions and runs carry them.
 * Numbers keep whether they were written as integers (wandb returns ints for
 * int_uniform and for q-distributions whose q was an integer).
 *
 * Ownership: a struct sw_spec owns everything it points to;
 * sw_spec_release() frees it all.
 *
 * defines: struct sw_loc, enum sw_method, enum sw_dist, struct sw_param,
 *          struct sw_metric, struct sw_hyperband, struct sw_alert_rule,
 *          struct sw_spec, struct sw_diag, struct sw_diags, sw_dist_name,
 *          enum sw_spec_use, sw_spec_init, sw_spec_load, sw_spec_load_string,
 *          sw_spec_validate, sw_spec_validate_for,
 *          sw_spec_release, sw_spec_to_json, sw_spec_grid_count,
 *          sw_param_path, sw_diags_add, sw_diags_sort,
 *          sw_diags_print, sw_diags_release (sw_nearest: base/nearest.h)
 */
#ifndef SW_SPEC_H
#define SW_SPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/nearest.h"

/* 1-based line and column in the source file; 0 when not from a file. */
struct sw_loc {
	int line, col;
};

enum sw_method { SW_METHOD_GRID, SW_METHOD_RANDOM, SW_METHOD_BAYES };

/* The 18 wandb distributions, plus SW_DIST_NESTED for {parameters: {...}}. */
enum sw_dist {
	SW_DIST_CONSTANT,
	SW_DIST_CATEGORICAL,
	SW_DIST_CATEGORICAL_W_PROBABILITIES,
	SW_DIST_INT_UNIFORM,
	SW_DIST_UNIFORM,
	SW_DIST_Q_UNIFORM,
	SW_DIST_LOG_UNIFORM,            /* min/max are base-e exponents (deprecated) */
	SW_DIST_LOG_UNIFORM_VALUES,
	SW_DIST_Q_LOG_UNIFORM,          /* deprecated */
	SW_DIST_Q_LOG_UNIFORM_VALUES,
	SW_DIST_INV_LOG_UNIFORM,        /* deprecated */
	SW_DIST_INV_LOG_UNIFORM_VALUES,
	SW_DIST_NORMAL,
	SW_DIST_Q_NORMAL,
	SW_DIST_LOG_NORMAL,
	SW_DIST_Q_LOG_NORMAL,
	SW_DIST_BETA,
	SW_DIST_Q_BETA,
	SW_DIST_NESTED,
	SW_DIST_COUNT
};

/* wandb's name of a distribution ("log_uniform_values"); "parameters" for
 * SW_DIST_NESTED. */
const char *sw_dist_name(enum sw_dist d);

struct sw_param {
	char *name;                 /* key as written (not the nested path) */
	enum sw_dist dist;
	int dist_explicit;          /* `distribution:` was written, not inferred */
	struct sw_loc loc;          /* of the parameter's key */

	json_t *value;              /* constant: the value (any JSON) */
	json_t *values;             /* categorical*: JSON array, length >= 1 */
	double *probabilities;      /* categorical_w_probabilities: n_values */
	size_t n_probabilities;

	/* numeric fields, with defaults filled as wandb's schema fills them */
	double min, max;            /* uniform families, int_uniform */
	int min_is_int, max_is_int; /* written as YAML integers */
	double q;                   /* q_* (default 1.0) */
	int q_is_int;               /* q written as an integer: values are ints */
	double mu, sigma;           /* normal families (defaults 0, 1) */
	double a, b;                /* beta families (defaults 1, 1) */

	struct sw_param *children;  /* SW_DIST_NESTED: sub-parameters */
	size_t n_children;

	/* Added for validation (locations of each field as written; 0 when
	 * the field was absent and holds its default). */
	struct sw_param *parent;    /* enclosing nested parameter, or NULL */
	struct sw_loc loc_dist, loc_value, loc_values, loc_probabilities;
	struct sw_loc loc_min, loc_max, loc_q, loc_mu, loc_sigma, loc_a, loc_b;
	struct sw_loc *value_locs;  /* categorical*: location of each value */
	int broken;                 /* the loader reported an error for it:
				       fields may be incomplete; validation
				       skips it and searches must not run */
};

enum sw_goal { SW_GOAL_MINIMIZE, SW_GOAL_MAXIMIZE };
enum sw_impute { SW_IMPUTE_WORST, SW_IMPUTE_LATEST, SW_IMPUTE_BEST,
		 SW_IMPUTE_FALSE /* impute_while_running only */ };

struct sw_metric {
	int present;
	char *name;
	enum sw_goal goal;                    /* default minimize */
	int has_target;
	double target;
	enum sw_impute impute;                /* default worst */
	enum sw_impute impute_while_running;  /* default SW_IMPUTE_FALSE */
	struct sw_loc loc;
	struct sw_loc loc_target;
};

/* early_terminate: {type: hyperband, min_iter | (max_iter and s), eta, strict} */
struct sw_hyperband {
	int present;
	int has_min_iter, has_max_iter, has_s;
	int64_t min_iter, max_iter, s;
	double eta;                 /* default 3 */
	int strict;                 /* default 1 (wandb's default since 2024) */
	struct sw_loc loc;
	struct sw_loc loc_min_iter, loc_max_iter, loc_s, loc_eta;
};

enum sw_alert_level { SW_ALERT_INFO, SW_ALERT_WARN, SW_ALERT_ERROR };

/* One rule of our `alerts:` extension. `when` is "nan", "new_best",
 * "run_failed", or a comparison "METRIC OP NUMBER" with OP one of
 * < <= > >= == !=; the parsed comparison is kept beside the text. */
struct sw_alert_rule {
	char *name;
	char *when;                 /* as written */
	enum { SW_ALERT_WHEN_COMPARE, SW_ALERT_WHEN_NAN, SW_ALERT_WHEN_NEW_BEST,
	       SW_ALERT_WHEN_RUN_FAILED } kind;
	char *metric;               /* COMPARE: the metric name */
	char op[3];                 /* COMPARE: "<", "<=", ">", ">=", "==", "!=" */
	double threshold;           /* COMPARE */
	int64_t after_epoch;        /* default 0: from the first epoch */
	enum sw_alert_level level;  /* default WARN */
	int stop_run;               /* default 0 */
	struct sw_loc loc;
	struct sw_loc loc_when, loc_after_epoch;
};

struct sw_spec {
	char *path;                 /* file it was read from ("<string>" if none) */
	char *text;                 /* the YAML text as given */
	json_t *doc;                /* the whole document as JSON, for wandb */

	enum sw_method method;
	struct sw_metric metric;
	struct sw_param *params;    /* top-level parameters, in file order */
	size_t n_params;
	struct sw_hyperband hyperband;
	int64_t run_cap;            /* 0: no cap */
	char *program;              /* NULL when absent */
	char **command;             /* NULL when absent; n_command items */
	size_t n_command;
	char *entity, *project, *name, *description;
	struct sw_alert_rule *alerts;
	size_t n_alerts;

	/* Added for validation: where each top-level key was written. */
	struct sw_loc loc_method, loc_metric, loc_parameters, loc_run_cap,
		      loc_program, loc_command;
	struct sw_loc *command_locs; /* location of each command item */
	int has_method;             /* `method:` was given (and readable) */
	int method_custom;          /* method: custom (has_method 0): an
				       external scheduler searches */
	int has_metrics;            /* `metrics:` (several objectives) given */
	struct sw_loc loc_metrics;
	int has_scheduler;          /* `scheduler:` given (a mapping) */
	int scheduler_engine;       /* its engine: 0 optuna, 1 ax, 2 wandb; -1
				       missing or unreadable */
	struct sw_loc loc_scheduler;
	int parse_failed;           /* the YAML could not be read at all: the
				       spec is empty, validation adds nothing */
};

#define SW_SPEC_INIT { 0 }

/* One problem found while loading or validating. */
struct sw_diag {
	int is_error;               /* 0: warning */
	struct sw_loc loc;
	char *msg;                  /* owned; no file name, no prefix */
};

struct sw_diags {
	struct sw_diag *items;
	size_t n, alloc;
	size_t n_errors;
};

/* Sets up an empty spec (no allocation); same as SW_SPEC_INIT. */
void sw_spec_init(struct sw_spec *spec);

/* Reads and parses path. Problems (malformed YAML, wrong types, unknown
 * keys, YAML 1.1 differences, ...) are appended to diags; the spec is filled
 * as far as possible. Returns 0 when there is no error diagnostic, -1
 * otherwise, or when the file cannot be read: then err says why, nothing is
 * added to diags and spec->text stays NULL. diags may be NULL. The caller
 * releases spec in every case. */
int sw_spec_load(struct sw_spec *spec, const char *path, struct sw_diags *diags,
		 struct sw_err *err);

/* The same from a string in memory; name is used as the spec's path. */
int sw_spec_load_string(struct sw_spec *spec, const char *text, size_t len,
			const char *name, struct sw_diags *diags, struct sw_err *err);

/* What a definition is checked for. An error is always what wandb refuses
 * (its schema and its engine's checks) or a value no sweep can use
 * (non-finite, beyond 64 bits); what `sweep` checks beyond wandb is a
 * warning, unless the command cannot go on with it:
 *   SW_USE_FILE    `validate`, `create`, the online agent: wandb's verdict.
 *                  The built-in trainer's checks (a file without program/
 *                  command) are warnings saying they matter only for
 *                  training the built-in CNN.
 *   SW_USE_SEARCH  `suggest`: as SW_USE_FILE, without the trainer's checks
 *                  (suggestions are for any program).
 *   SW_USE_RUN     `sweep run`, the offline agent: sweep starts the runs
 *                  itself, so the trainer's checks (no program/command) or
 *                  the command's (an empty command, ${program} without a
 *                  program) are errors.
 *   SW_USE_TRAIN   the online agent on a sweep without program/command:
 *                  wandb proposes the runs and the built-in CNN trains
 *                  them, so the trainer's checks are errors as for
 *                  SW_USE_RUN, but the search's are not (method: custom).
 * SW_USE_SEARCH and SW_USE_RUN run sweep's own search: method: custom,
 * which leaves the search to an external scheduler, is an error there and
 * a warning for a file. */
enum sw_spec_use { SW_USE_FILE, SW_USE_SEARCH, SW_USE_RUN, SW_USE_TRAIN };

/* Second pass: schema and engine rules (grid needs discrete parameters, bayes
 * needs a metric, hyperband brackets, min < max, probabilities sum to 1, the
 * trainer's hyperparameter table when no program/command is set, ...), as
 * errors or warnings according to use (above). Parameters the loader marked
 * broken are skipped. Appends to diags; returns 0 when no error was added,
 * -1 otherwise (also when the YAML could not be read at all,
 * spec->parse_failed). A spec is usable only when both sw_spec_load() and
 * sw_spec_validate_for() returned 0. */
int sw_spec_validate_for(const struct sw_spec *spec, enum sw_spec_use use,
			 struct sw_diags *diags);

/* sw_spec_validate_for(spec, SW_USE_FILE, diags): wandb's verdict. */
int sw_spec_validate(const struct sw_spec *spec, struct sw_diags *diags);

/* Frees everything the spec owns and zeroes it; accepts NULL. */
void sw_spec_release(struct sw_spec *spec);

/* The definition with every default filled in, as wandb's SweepConfig fills
 * it: each parameter gets `distribution` and its defaults, `metric` its
 * goal/impute defaults, `early_terminate` eta and strict. Keys appear in a
 * fixed order (parameters in file order). Returns a new reference (NULL when
 * out of memory). This is the parsed dump of the golden tests. */
json_t *sw_spec_to_json(const struct sw_spec *spec);

/* Number of points of the spec's grid: the product over every leaf parameter
 * (nested ones included) of its number of distinct values (constant 1,
 * categorical: values that wandb considers equal counted once, int_uniform
 * max-min+1, q_uniform len(np.arange(min, max, q))); saturates at
 * UINT64_MAX. Returns 0 with *count set, or -1 (err names the parameter)
 * when a parameter is not discrete or is broken. */
int sw_spec_grid_count(const struct sw_spec *spec, uint64_t *count,
		       struct sw_err *err);

/* "parent.child" path of a parameter (nested parameters joined with '.').
 * Returns a new string the caller frees. */
char *sw_param_path(const struct sw_param *p);

/* Appends a diagnostic (is_error 0: warning). Returns -1 only when out of
 * memory (the diagnostic is then dropped). */
int sw_diags_add(struct sw_diags *diags, int is_error, struct sw_loc loc,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sorts by line then column, keeping the order of equal locations;
 * diagnostics without a location come first. */
void sw_diags_sort(struct sw_diags *diags);

/* Prints each diagnostic as "FILE:LINE:COL: error: MESSAGE" (or
 * "warning"); "FILE: error: MESSAGE" when it has no location. */
void sw_diags_print(const struct sw_diags *diags, const char *file, FILE *out);

void sw_diags_release(struct sw_diags *diags);

#endif
