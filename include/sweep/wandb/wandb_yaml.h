/*
 * wandb_yaml.h - the sweep config as wandb's server wants it: YAML text
 * (UpsertSweep's `config`), written so that wandb's YAML 1.1 loader
 * (PyYAML) reads exactly the values `sweep` read (YAML 1.2):
 *   - floats always have a '.' and a signed exponent (1e-5 -> 1.0e-05,
 *     3 as a float -> 3.0), since PyYAML reads "1e-5" as a string;
 *   - strings are plain only when no YAML 1.1 or 1.2 resolver could take
 *     them for anything else ([A-Za-z_/][A-Za-z0-9_./-]*, and not a
 *     bool/null word such as yes, off, y, n, null); otherwise they are
 *     double-quoted (JSON escapes, which YAML accepts);
 *   - block style, keys in document order, empty collections as {} / [].
 * Our `alerts:` extension is removed, and, as wandb's CLI does, a parameter
 * with min and max but no distribution gets int_uniform (both integers) or
 * uniform (both floats).
 *
 * defines: sw_wandb_config_yaml, sw_yaml_write_value
 */
#ifndef SW_WANDB_YAML_H
#define SW_WANDB_YAML_H

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

/* Returns the YAML text for doc (the sweep document as JSON, e.g.
 * struct sw_spec.doc; borrowed) as a new string the caller frees, or NULL
 * with err set (doc not an object, out of memory). */
char *sw_wandb_config_yaml(json_t *doc, struct sw_err *err);

/* Appends v as a YAML block at the given indent (0 for a document).
 * Returns 0 or -1 (out of memory / buffer cap). */
int sw_yaml_write_value(struct sw_buf *out, json_t *v, int indent);

#endif
