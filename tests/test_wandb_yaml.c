/* test_wandb_yaml.c - the sweep config written as YAML for wandb: exact
 * text, YAML 1.1 float syntax, quoting of ambiguous strings, alerts removed,
 * distributions filled as wandb's CLI fills them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/wandb/wandb_yaml.h"

static void expect(const char *json_text, const char *yaml)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *doc = json_loads(json_text, 0, NULL);
	char *out;

	assert_non_null(doc);
	out = sw_wandb_config_yaml(doc, &err);
	assert_non_null(out);
	assert_string_equal(out, yaml);
	free(out);
	json_decref(doc);
}

static void test_numbers_for_yaml11(void **state)
{
	(void)state;
	expect("{\"a\": 1e-5, \"b\": 0.1, \"c\": 3.0, \"d\": -2.5e+300, \"e\": 12, \"f\": -7,"
	       " \"g\": 100000000000000000000.0, \"h\": 0.0001, \"i\": 1.5e-7, \"j\": 0.0}",
	       "a: 1.0e-05\nb: 0.1\nc: 3.0\nd: -2.5e+300\ne: 12\nf: -7\ng: 1.0e+20\n"
	       "h: 0.0001\ni: 1.5e-07\nj: 0.0\n");
	/* shortest text that reads back exactly */
	expect("{\"x\": 0.30000000000000004, \"y\": 123456.789}",
	       "x: 0.30000000000000004\n\"y\": 123456.789\n");
}

static void test_strings_quoted_when_ambiguous(void **state)
{
	(void)state;
	expect("{\"s\": [\"adam\", \"yes\", \"No\", \"on\", \"y\", \"null\", \"~\", \"1e-5\","
	       " \"017\", \"1_000\", \"12:30\", \"\", \" lead\", \"a: b\", \"#x\", \"${env}\","
	       " \"line\\nnext\", \"train.py\", \"path/to-x\", \".inf\", \"-x\", \"2001-12-14\","
	       " \"é\", \"true\", \"x\\\"q\"]}",
	       "s:\n  - adam\n  - \"yes\"\n  - \"No\"\n  - \"on\"\n  - \"y\"\n  - \"null\"\n"
	       "  - \"~\"\n  - \"1e-5\"\n  - \"017\"\n  - \"1_000\"\n  - \"12:30\"\n  - \"\"\n"
	       "  - \" lead\"\n  - \"a: b\"\n  - \"#x\"\n  - \"${env}\"\n  - \"line\\nnext\"\n"
	       "  - train.py\n  - path/to-x\n  - \".inf\"\n  - \"-x\"\n  - \"2001-12-14\"\n"
	       "  - \"é\"\n  - \"true\"\n  - \"x\\\"q\"\n");
	/* keys too */
	expect("{\"yes\": 1, \"1\": 2, \"ok_key\": true, \"n\": null, \"f\": false}",
	       "\"yes\": 1\n\"1\": 2\nok_key: true\n\"n\": null\nf: false\n");
}

static void test_structure_alerts_and_distributions(void **state)
{
	(void)state;
	expect("{\"method\": \"bayes\", \"metric\": {\"name\": \"val_loss\", \"goal\": \"minimize\"},"
	       " \"parameters\": {\"lr\": {\"min\": 1e-5, \"max\": 0.1},"
	       " \"epochs\": {\"min\": 1, \"max\": 3},"
	       " \"mixed\": {\"min\": 1, \"max\": 3.5},"
	       " \"given\": {\"distribution\": \"q_uniform\", \"min\": 0, \"max\": 8, \"q\": 2},"
	       " \"nested\": {\"parameters\": {\"w\": {\"min\": 2, \"max\": 4}}},"
	       " \"empty\": {\"values\": []}, \"obj\": {\"value\": {}}},"
	       " \"command\": [\"${env}\", [\"a\", 1], {\"k\": 1, \"j\": [2]}, {}],"
	       " \"alerts\": [{\"name\": \"x\", \"when\": \"nan\"}], \"run_cap\": 5}",
	       "method: bayes\n"
	       "metric:\n  name: val_loss\n  goal: minimize\n"
	       "parameters:\n"
	       "  lr:\n    min: 1.0e-05\n    max: 0.1\n    distribution: uniform\n"
	       "  epochs:\n    min: 1\n    max: 3\n    distribution: int_uniform\n"
	       "  mixed:\n    min: 1\n    max: 3.5\n"
	       "  given:\n    distribution: q_uniform\n    min: 0\n    max: 8\n    q: 2\n"
	       "  nested:\n    parameters:\n      w:\n        min: 2\n        max: 4\n"
	       "        distribution: int_uniform\n"
	       "  empty:\n    values: []\n"
	       "  obj:\n    value: {}\n"
	       "command:\n  - \"${env}\"\n  -\n    - a\n    - 1\n  - k: 1\n    j:\n      - 2\n"
	       "  - {}\n"
	       "run_cap: 5\n");
}

static void test_not_a_mapping(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *doc = json_array();

	(void)state;
	assert_null(sw_wandb_config_yaml(doc, &err));
	assert_string_equal(err.msg, "the sweep document is not a mapping");
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_for_yaml11),
		cmocka_unit_test(test_strings_quoted_when_ambiguous),
		cmocka_unit_test(test_structure_alerts_and_distributions),
		cmocka_unit_test(test_not_a_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
