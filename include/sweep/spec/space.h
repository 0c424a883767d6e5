/*
 * space.h - the search space of a sweep: its leaf dimensions and, for each
 * distribution, the inverse CDF (ppf) that draws a value and the CDF that
 * maps a value back into [0,1].
 *
 * A sweep's parameters may nest ({parameters: {...}} at any depth). The
 * engines work on the flattened leaves, in wandb's order: at every level the
 * keys are sorted byte-wise and visited recursively, so a nested parameter's
 * children come where its own name sorts. The flattened name is wandb's,
 * "parent.wbnest[599c28ca25da].child", and each leaf also keeps its key path
 * so suggestions can be rebuilt as nested JSON objects.
 *
 * Values follow wandb's sweeps engine (../shared/docs/sweep-semantics.md §3):
 *  - ppf(u) is exactly wandb's formula, including its edges: categorical
 *    and int_uniform map u = 0 to the last value / min-1 (scipy's randint),
 *    categorical_w_probabilities maps u >= sum(p) to index 0, q-variants
 *    round half to even and may leave [min, max].
 *  - int_uniform returns JSON integers; q-variants return integers only when
 *    q was written as an integer; continuous ones return reals.
 *  - cdf(v) is wandb's CDF (categorical (idx+1)/n, int_uniform
 *    (floor(x)-min+1)/(max-min+1), q-variants use the unquantised CDF,
 *    constant 0), clipped to [0,1].
 *  - sw_dim_encode() is the coordinate the Bayesian search uses: the CDF,
 *    except that discrete values sit at the centre of the cell of u that
 *    ppf maps to them (wandb puts them on the cell's upper edge, where a
 *    nudge decodes to the next value).
 *
 * Ownership: a struct sw_space borrows the spec it was built from (which must
 * outlive it) and owns its dims; sw_space_release() frees them.
 *
 * defines: struct sw_dim, struct sw_space, SW_SPACE_INIT, SW_NEST_DELIM,
 *          sw_space_init, sw_space_release, sw_dim_searchable,
 *          sw_dim_discrete, sw_dim_ppf, sw_dim_cdf, sw_dim_encode,
 *          sw_dim_snap, sw_dim_get, sw_dim_set, sw_value_key,
 *          sw_values_equal, sw_round_half_even, sw_q_round, sw_norm_cdf,
 *          sw_norm_ppf, sw_beta_cdf, sw_beta_ppf
 */
#ifndef SW_SPACE_H
#define SW_SPACE_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "sweep/spec/spec.h"

#define SW_NEST_DELIM ".wbnest[599c28ca25da]."

struct sw_dim {
	char *name;                   /* wandb's flattened name (owned) */
	char *label;                  /* path joined by '.', for messages (owned) */
	const char **path;            /* key path from the top (owned array,
					 borrowed strings); depth entries */
	size_t depth;
	const struct sw_param *param; /* the leaf (borrowed from the spec) */
};

struct sw_space {
	struct sw_dim *dims;          /* every leaf, constants included */
	size_t n;
};
#define SW_SPACE_INIT { NULL, 0 }

/* Flattens spec's parameters into leaves in wandb's order. Fails only on
 * allocation failure or a nested parameter without children. */
int sw_space_init(struct sw_space *sp, const struct sw_spec *spec,
		  struct sw_err *err);
void sw_space_release(struct sw_space *sp);

/* 1 unless the leaf is a constant. */
int sw_dim_searchable(const struct sw_dim *d);

/* 1 for leaves whose values are a finite set (categorical*, int_uniform)
 * or quantised (q_*): the Bayesian search snaps such coordinates. */
int sw_dim_discrete(const struct sw_dim *d);

/* The value at quantile u in [0,1] (wandb's ppf). Returns a new reference,
 * NULL only on allocation failure. */
json_t *sw_dim_ppf(const struct sw_dim *d, double u);

/* wandb's CDF of value v, in [0,1]. Returns -1 and sets err when v cannot
 * belong to the dimension (a categorical value not among `values`, a
 * non-number for a numeric distribution). */
int sw_dim_cdf(const struct sw_dim *d, const json_t *v, double *out,
	       struct sw_err *err);

/* Coordinate in [0,1] for the Bayesian search (see above); same errors as
 * sw_dim_cdf. */
int sw_dim_encode(const struct sw_dim *d, const json_t *v, double *out,
		  struct sw_err *err);

/* encode(ppf(u)) without building JSON for discrete leaves; u itself for
 * continuous ones. */
double sw_dim_snap(const struct sw_dim *d, double u);

/* The leaf's value inside a params object ({"a": {"b": 1}}); borrowed,
 * NULL when absent. */
json_t *sw_dim_get(const struct sw_dim *d, const json_t *params);

/* Stores v (stolen) at the leaf's path, creating objects on the way.
 * Returns 0, or -1 when a path component is already a non-object. */
int sw_dim_set(const struct sw_dim *d, json_t *params, json_t *v);

/* wandb's identity of a grid value as a string the caller frees: compact
 * JSON with sorted keys, a top-level integral real written as an integer
 * (so 3 and 3.0 match, true and 1 do not, [1.0] and [1] do not). */
char *sw_value_key(const json_t *v);

/* Python-style ==: numbers compare by value (1 == 1.0), everything else
 * structurally. */
int sw_values_equal(const json_t *a, const json_t *b);

/* numpy's round(): to nearest, ties to even. */
double sw_round_half_even(double x);
/* round_half_even(x / q) * q */
double sw_q_round(double x, double q);

/* Standard normal CDF and its inverse (ppf(0) = -inf, ppf(1) = +inf). */
double sw_norm_cdf(double x);
double sw_norm_ppf(double p);

/* Regularised incomplete beta I_x(a, b) and its inverse in x; a, b >= 0
 * (a = 0: all mass at 0; b = 0: all mass at 1; both: half at each). */
double sw_beta_cdf(double x, double a, double b);
double sw_beta_ppf(double p, double a, double b);

#endif
