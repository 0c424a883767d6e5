/*
 * yaml_tree.h - one YAML document read with libyaml into a tree of located
 * nodes; every node also carries its value as JSON.
 *
 * Scalars are resolved with the YAML 1.2 core schema (`1e-5` is a number,
 * `yes` is a string, `017` is 17). Wherever wandb's loader (PyYAML, YAML
 * 1.1) would read a plain scalar differently (`1e-5` and `1e5` are strings
 * there, yes/no/on/off booleans, `017` octal, `1_000` and `1:30` numbers,
 * `2024-01-02` a date) a warning with the location says so and how to write
 * the value so that both agree.
 *
 * Errors (each with a location): malformed YAML, non-UTF-8 input, empty
 * input, more than one document, duplicate mapping keys, non-scalar keys,
 * integers beyond 64 bits, infinite or NaN numbers (values travel as JSON),
 * unknown tags, undefined or recursive aliases, nesting deeper than 100
 * levels and documents that alias expansion makes larger than a million
 * nodes. Anchors, aliases and `<<` merge keys work as in PyYAML.
 *
 * defines: enum sw_ynode_kind, enum sw_yscalar, struct sw_ynode,
 *          struct sw_ytree, sw_ytree_parse, sw_ytree_release, sw_ymap_get,
 *          sw_ynode_describe
 */
#ifndef SW_YAML_TREE_H
#define SW_YAML_TREE_H

#include <jansson.h>
#include <stddef.h>

#include "sweep/spec/spec.h"

enum sw_ynode_kind { SW_YNODE_SCALAR, SW_YNODE_SEQ, SW_YNODE_MAP };
enum sw_yscalar { SW_YS_NULL, SW_YS_BOOL, SW_YS_INT, SW_YS_FLOAT, SW_YS_STR };

struct sw_ynode {
	enum sw_ynode_kind kind;
	struct sw_loc loc;          /* where the node starts */
	json_t *json;               /* its value (a reference the tree owns) */

	/* SCALAR */
	char *text;                 /* as written after escapes; NUL-terminated */
	size_t len;
	enum sw_yscalar type;       /* YAML 1.2 core schema type */
	int plain;                  /* unquoted and untagged */
	int bad;                    /* the scalar was reported as an error
				       (e.g. too large): json is null */

	/* SEQ: items[0..n); MAP: keys[i] (scalars) maps to items[i] */
	struct sw_ynode **items, **keys;
	size_t n, alloc;

	/* private */
	size_t weight;              /* nodes once aliases are expanded */
	int complete;
	struct sw_ynode *next_alloc;
};

struct sw_ytree {
	struct sw_ynode *root;      /* NULL when parsing failed */
	struct sw_ynode *all;       /* every node, for release */
};
#define SW_YTREE_INIT { NULL, NULL }

/* Parses text (len bytes, need not be NUL-terminated) as exactly one YAML
 * document. Problems go to diags (errors and YAML 1.1 warnings). Returns 0
 * with t->root set when the document could be read (it may still contain
 * reported errors such as duplicate keys or out-of-range numbers, whose
 * nodes are marked), or -1 with t->root NULL when it could not be read at
 * all. The caller releases t in both cases. */
int sw_ytree_parse(struct sw_ytree *t, const char *text, size_t len,
		   struct sw_diags *diags);

void sw_ytree_release(struct sw_ytree *t);

/* The value of key in a mapping node, or NULL (also when map is not a
 * mapping). If kidx is not NULL it receives the key's node. */
const struct sw_ynode *sw_ymap_get(const struct sw_ynode *map, const char *key,
				   const struct sw_ynode **kidx);

/* "a string", "an integer", "a number", "a boolean", "null", "a list" or
 * "a mapping": for "must be X, got Y" messages. */
const char *sw_ynode_describe(const struct sw_ynode *n);

#endif
