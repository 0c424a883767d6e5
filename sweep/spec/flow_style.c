/* flow_style.c - one-line flow styles; see include/sweep/spec/flow_style.h */
#include "sweep/spec/flow_style.h"

int sw_flow_write(struct sw_buf *b, const json_t *v,
		  const struct sw_flow_style *style)
{
	const char *key;
	json_t *item;
	size_t i;
	int rc = 0, first = 1;

	switch (json_typeof(v)) {
	case JSON_ARRAY:
		rc = sw_buf_append(b, "[", 1);
		json_array_foreach(v, i, item) {
			if (rc == 0 && i)
				rc = sw_buf_append(b, ", ", 2);
			if (rc == 0)
				rc = sw_flow_write(b, item, style);
		}
		return rc ? rc : sw_buf_append(b, "]", 1);
	case JSON_OBJECT:
		rc = sw_buf_append(b, "{", 1);
		json_object_foreach((json_t *)v, key, item) {
			if (rc == 0 && !first)
				rc = sw_buf_append(b, ", ", 2);
			first = 0;
			if (rc == 0)
				rc = style->key(b, key);
			if (rc == 0)
				rc = sw_buf_append(b, ": ", 2);
			if (rc == 0)
				rc = sw_flow_write(b, item, style);
		}
		return rc ? rc : sw_buf_append(b, "}", 1);
	default:
		return style->scalar(b, v);
	}
}
