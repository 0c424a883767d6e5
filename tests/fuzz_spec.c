/* fuzz_spec.c - libFuzzer target for the sweep loader and validator (jq's
 * jq_fuzz_parse.c): any bytes go through sw_spec_load_string(),
 * sw_spec_validate(), the grid count and the JSON dump, and everything is
 * released. A crash, hang, leak or sanitizer report is a bug.
 *
 *   make fuzz
 *   build/fuzz/fuzz_spec -runs=0 tests/fuzz/corpus_spec        (replay seeds)
 *   nice -n 19 build/fuzz/fuzz_spec -jobs=1 -max_total_time=1800 \
 *       -dict=tests/fuzz/spec.dict NEW_CORPUS_DIR tests/fuzz/corpus_spec
 *
 * The seed corpus is the golden cases of tests/config/ and sweeps/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sweep/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_err err = SW_ERR_INIT;
	uint64_t points = 0;
	json_t *dump;
	char *text;

	sw_spec_load_string(&spec, (const char *)data, size, "fuzz.yaml", &diags, &err);
	sw_spec_validate(&spec, &diags);
	sw_diags_sort(&diags);
	sw_spec_grid_count(&spec, &points, &err);
	dump = sw_spec_to_json(&spec);
	text = json_dumps(dump, JSON_COMPACT);
	free(text);
	json_decref(dump);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	return 0;
}
