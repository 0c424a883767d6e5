/*
 * flow_style.h - a JSON value written on one line in a flow style: lists as
 * "[a, b]", mappings as "{k: v, ...}". Python's repr() and json.dumps() and
 * YAML's flow style differ only in how they write a scalar and a key, so
 * each passes those two and shares the walk through lists and mappings.
 *
 * defines: struct sw_flow_style, sw_flow_write
 */
#ifndef SW_SPEC_FLOW_STYLE_H
#define SW_SPEC_FLOW_STYLE_H

#include <jansson.h>

#include "base/buf.h"

struct sw_flow_style {
	/* Writes a value that is neither a list nor a mapping. */
	int (*scalar)(struct sw_buf *b, const json_t *v);
	/* Writes a mapping's key (what stands before ": "). */
	int (*key)(struct sw_buf *b, const char *key);
};

/* Appends v to b in the given style. Returns 0, or <0 when out of memory
 * or a scalar could not be written. */
int sw_flow_write(struct sw_buf *b, const json_t *v,
		  const struct sw_flow_style *style);

#endif
