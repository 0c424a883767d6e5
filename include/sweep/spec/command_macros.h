/*
 * command_macros.h - the command line of a program/command sweep, built the
 * way wandb's agent builds it (wandb/wandb_agent.py `_command_run`,
 * wandb/sdk/launch/sweeps/utils.py `create_sweep_command*`):
 *
 *   1. the sweep's `command:` list, or the default
 *      ["${env}", "${interpreter}", "${program}", "${args}"];
 *   2. `${envvar:NAME}` (NAME of A-Z, 0-9, _) is replaced inside any item by
 *      the variable's value, or by NAME itself when it is unset;
 *   3. an item that starts with "${" and ends with "}" is replaced by the
 *      macro's list of items (nothing for an unknown macro); every other
 *      item is kept as it is.
 *
 * Macros, for run arguments {k: v} in the order of the params object:
 *   ${env}                  /usr/bin/env
 *   ${interpreter}          python (see sw_macro_ctx.interpreter)
 *   ${program}              the sweep's program
 *   ${args}                 --k=v ...
 *   ${args_no_hyphens}      k=v ...
 *   ${args_no_equals}       --k v ... (two items per argument)
 *   ${args_no_boolean_flags} --k=v, but --k for true and nothing for false
 *   ${args_append_hydra}    +k=v ...;  ${args_override_hydra}  ++k=v ...
 *   ${args_json}            one item: Python json.dumps({k: v})
 *   ${args_json_file}       the path of a file holding that JSON
 * v is formatted as Python's str() does: True, False, None, 0.001, 1e-05,
 * 3.0, [1, 'a'], {'a': 1}; strings as they are.
 *
 * defines: struct sw_macro_ctx, SW_MACRO_CTX_INIT, sw_command_default,
 *          sw_command_expand, sw_command_uses, sw_py_str, sw_py_repr_float,
 *          sw_py_json_dumps, sw_argv_free
 */
#ifndef SW_COMMAND_MACROS_H
#define SW_COMMAND_MACROS_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

struct sw_macro_ctx {
	const json_t *params;        /* the run's arguments {k: v} (borrowed) */
	const char *program;         /* ${program}; NULL expands to nothing */
	const char *interpreter;     /* ${interpreter}; NULL: "python" */
	const char *env;             /* ${env}; NULL: "/usr/bin/env" */
	const char *args_json_file;  /* ${args_json_file}; NULL: nothing */
	/* ${envvar:NAME} lookup; NULL: getenv */
	const char *(*getenv)(void *ctx, const char *name);
	void *getenv_ctx;
};
#define SW_MACRO_CTX_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* wandb's default command: ${env} ${interpreter} ${program} ${args}. */
extern const char *const sw_command_default[4];

/* Expands command (n items; NULL: the default) into a new NULL-terminated
 * argv the caller frees with sw_argv_free; *argc_out gets its length.
 * Returns 0, or -1 (out of memory, or a parameter value that cannot be
 * formatted) with err set. */
int sw_command_expand(const char *const *command, size_t n,
		      const struct sw_macro_ctx *ctx, char ***argv_out,
		      size_t *argc_out, struct sw_err *err);

/* Whether command (NULL: the default) has the whole item "${name}". */
int sw_command_uses(const char *const *command, size_t n, const char *name);

/* Python's str(v) of a JSON value; a new string the caller frees, NULL when
 * out of memory. */
char *sw_py_str(const json_t *v);

/* Python's repr(float) of x into buf (>= 32 bytes): shortest round-trip
 * digits, "1e-05" below 1e-4 and from 1e16 on, "3.0", "inf", "nan". */
void sw_py_repr_float(double x, char *buf, size_t size);

/* Python's json.dumps(v) with its defaults (", " and ": ", ASCII only,
 * NaN/Infinity); a new string the caller frees, NULL when out of memory. */
char *sw_py_json_dumps(const json_t *v);

/* Frees a NULL-terminated argv (accepts NULL). */
void sw_argv_free(char **argv);

#endif
