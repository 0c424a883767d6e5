/* test_spec_load.c - the first pass: YAML 1.2 reading with YAML 1.1
 * warnings, the errors of malformed input, distribution inference and
 * defaults, locations, and the typed fields the search engines read. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/support.h"
#include "sweep/spec/spec.h"

struct loaded {
	struct sw_spec spec;
	struct sw_diags diags;
	char *text;     /* diagnostics as printed */
	int rc;
};

static void load(struct loaded *l, const char *yaml, size_t len)
{
	size_t n = 0;
	FILE *mem;

	memset(l, 0, sizeof(*l));
	l->rc = sw_spec_load_string(&l->spec, yaml, len, "t.yaml", &l->diags, NULL);
	mem = open_memstream(&l->text, &n);
	assert_non_null(mem);
	sw_diags_print(&l->diags, "t.yaml", mem);
	fclose(mem);
}

static void unload(struct loaded *l)
{
	sw_spec_release(&l->spec);
	sw_diags_release(&l->diags);
	free(l->text);
}

static const struct sw_param *param(const struct sw_spec *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_params; i++)
		if (strcmp(s->params[i].name, name) == 0)
			return &s->params[i];
	fail_msg("no parameter '%s'", name);
	return NULL;
}

/* ==== Numbers and YAML 1.1 ==== */

static void test_numbers_keep_intness(void **state)
{
	static const char y[] =
		"method: random\nprogram: p\nparameters:\n"
		"  a: {value: 1}\n  b: {value: 1.0}\n  c: {value: 1e-5}\n"
		"  d: {min: 1, max: 2.5}\n  e: {values: [3, 3.0, \"3\", 0x10, -7]}\n"
		"  f: {distribution: q_uniform, min: 0, max: 10, q: 2}\n"
		"  g: {value: 9223372036854775807}\n";
	struct loaded l;
	const struct sw_param *p;
	json_t *v;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.rc, 0);
	assert_true(json_is_integer(param(&l.spec, "a")->value));
	assert_true(json_is_real(param(&l.spec, "b")->value));
	v = param(&l.spec, "c")->value;
	assert_true(json_is_real(v));
	assert_true(json_real_value(v) == 1e-5);
	p = param(&l.spec, "d");
	assert_int_equal(p->dist, SW_DIST_UNIFORM);
	assert_true(p->min_is_int);
	assert_false(p->max_is_int);
	v = param(&l.spec, "e")->values;
	assert_true(json_is_integer(json_array_get(v, 0)));
	assert_true(json_is_real(json_array_get(v, 1)));
	assert_true(json_is_string(json_array_get(v, 2)));
	assert_int_equal(json_integer_value(json_array_get(v, 3)), 16);
	assert_int_equal(json_integer_value(json_array_get(v, 4)), -7);
	p = param(&l.spec, "f");
	assert_true(p->q_is_int);
	assert_true(p->q == 2);
	assert_true(json_integer_value(param(&l.spec, "g")->value) == INT64_MAX);
	/* the 1e-5 warning, nothing else */
	assert_int_equal(l.diags.n, 1);
	assert_int_equal(l.diags.n_errors, 0);
	unload(&l);
}

static void test_yaml11_differences_warn(void **state)
{
	static const struct {
		const char *value, *warning;
	} cases[] = {
		{ "1e-5", "write 1.0e-5" },
		{ "1e5", "write 1.0e+5" },
		{ "1.5E5", "write 1.5E+5" },
		{ "-.5", "write -0.5" },
		{ "+1.e3", "write +1.0e+3" },
		{ "yes", "the boolean true" },
		{ "No", "the boolean false" },
		{ "ON", "the boolean true" },
		{ "off", "the boolean false" },
		{ "017", "the integer 15" },
		{ "0o17", "is the integer 15 here (YAML 1.2) but a string" },
		{ "1_000", "the integer 1000" },
		{ "1:30", "the integer 90" },
		{ "-1:30", "the integer -90" },
		{ "1:30.5", "the number 90.5" },
		{ "0b101", "the integer 5" },
		{ "-0x1F", "the integer -31" },
		{ "2024-01-05", "a date" },
		{ "2001-12-14t21:59:43.10-05:00", "a date" },
	};
	static const char *const same[] = {
		"1.0e-5", "1.5", ".5", "10", "-3", "0", "0x1F", "true", "False",
		"null", "~", "\"yes\"", "'1e-5'", "hello", "1.", "1.0e+5", "07a",
		"y", "n", ".inf_", "1:2:3:x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct loaded l;
		char *y;

		assert_true(asprintf(&y, "method: random\nprogram: p\nparameters:\n"
				     "  x: {value: %s}\n", cases[i].value) > 0);
		load(&l, y, strlen(y));
		if (l.diags.n != 1 || l.diags.items[0].is_error ||
		    !strstr(l.text, cases[i].warning))
			fail_msg("'%s': want one warning with '%s', got:\n%s",
				 cases[i].value, cases[i].warning, l.text);
		assert_int_equal(l.diags.items[0].loc.line, 4);
		assert_int_equal(l.diags.items[0].loc.col, 14);
		unload(&l);
		free(y);
	}
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		struct loaded l;
		char *y;

		assert_true(asprintf(&y, "method: random\nprogram: p\nparameters:\n"
				     "  x: {value: %s}\n", same[i]) > 0);
		load(&l, y, strlen(y));
		if (l.diags.n != 0)
			fail_msg("'%s': want no diagnostic, got:\n%s", same[i], l.text);
		unload(&l);
		free(y);
	}
}

static void test_yaml12_values(void **state)
{
	static const char y[] =
		"method: random\nprogram: p\nparameters:\n"
		"  x: {values: [yes, 017, 0o17, 1_000, ~, null, True, .5, -0x1, !!str 5]}\n";
	struct loaded l;
	json_t *v;

	(void)state;
	load(&l, y, strlen(y));
	v = param(&l.spec, "x")->values;
	assert_string_equal(json_string_value(json_array_get(v, 0)), "yes");
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 17);
	assert_int_equal(json_integer_value(json_array_get(v, 2)), 15);
	assert_string_equal(json_string_value(json_array_get(v, 3)), "1_000");
	assert_true(json_is_null(json_array_get(v, 4)));
	assert_true(json_is_null(json_array_get(v, 5)));
	assert_true(json_is_true(json_array_get(v, 6)));
	assert_true(json_real_value(json_array_get(v, 7)) == 0.5);
	assert_string_equal(json_string_value(json_array_get(v, 8)), "-0x1");
	assert_string_equal(json_string_value(json_array_get(v, 9)), "5");
	unload(&l);
}

/* ==== Malformed input ==== */

static void expect_load_error(const char *yaml, size_t len, const char *needle,
			      int line)
{
	struct loaded l;

	load(&l, yaml, len);
	if (l.rc != -1 || l.diags.n_errors == 0 || !strstr(l.text, needle))
		fail_msg("want an error with '%s', got rc %d:\n%s", needle, l.rc, l.text);
	if (line && l.diags.items[0].loc.line != line)
		fail_msg("'%s': want line %d, got:\n%s", needle, line, l.text);
	unload(&l);
}

static void test_malformed_input(void **state)
{
	static const char bomb[] =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
	char deep[1000];
	size_t i;

	(void)state;
	expect_load_error("", 0, "the file is empty", 1);
	expect_load_error("  \n# c\n", 7, "the file is empty", 1);
	expect_load_error("---\n", 4, "the document is empty", 2);
	expect_load_error("[1, 2]\n", 7, "must be a mapping", 1);
	expect_load_error("42\n", 3, "got an integer", 1);
	expect_load_error("method: grid\n---\nmethod: random\n", 30,
			  "a second YAML document", 2);
	/* a duplicate key is a warning (test_spec_validate.c), but the
	 * byte-order mark is skipped only at the start */
	expect_load_error("method: grid\n\xef\xbb\xbfx: 1\n", 20, "invalid YAML", 2);
	expect_load_error("x: 99999999999999999999\n", 24, "does not fit in 64 bits", 1);
	expect_load_error("x: -9223372036854775809\n", 24, "does not fit in 64 bits", 1);
	expect_load_error("x: 0x10000000000000000\n", 22, "does not fit in 64 bits", 1);
	expect_load_error("x: .NaN\n", 8, "not a finite number", 1);
	expect_load_error("x: 1e400\n", 9, "out of range", 1);
	expect_load_error("x: caf\xe9\n", 8, "invalid UTF-8 (byte 0xe9)", 1);
	expect_load_error("x: \xc0\xaf\n", 6, "invalid UTF-8", 1);        /* overlong */
	expect_load_error("x: \xed\xa0\x80\n", 7, "invalid UTF-8", 1);    /* surrogate */
	expect_load_error("x: \xf4\x90\x80\x80\n", 8, "invalid UTF-8", 1); /* > U+10FFFF */
	expect_load_error("x: \xe2\x82", 5, "invalid UTF-8", 1);          /* cut short */
	expect_load_error("\n\nx: [1, \xff]\n", 12, "invalid UTF-8", 3);
	expect_load_error("\xff\xfem\0", 4, "UTF-16", 1);
	expect_load_error("x: [1, 2\n", 9, "invalid YAML", 0);
	expect_load_error("x: *nope\n", 9, "refers to no anchor", 1);
	expect_load_error("? [1]\n: 2\n", 10, "mapping keys must be plain values", 0);
	expect_load_error(bomb, strlen(bomb), "too large once its aliases are expanded", 0);
	for (i = 0; i < 150; i++)
		deep[i] = '[';
	memcpy(deep + 150, "]\n", 3);
	expect_load_error(deep, strlen(deep), "nesting deeper than 100 levels", 1);
	expect_load_error("x: !!binary aGk=\n", 17, "unsupported YAML tag '!!binary'", 1);
	expect_load_error("x: !!int 1.5\n", 13, "not a valid !!int", 1);
}

static void test_unreadable_file(void **state)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_err err = SW_ERR_INIT;
	char *dir = sw_test_tmpdir(), *path;

	(void)state;
	assert_true(asprintf(&path, "%s/missing.yaml", dir) > 0);
	assert_int_equal(sw_spec_load(&spec, path, &diags, &err), -1);
	assert_null(spec.text);
	assert_non_null(strstr(err.msg, "unable to read"));
	assert_non_null(strstr(err.msg, "No such file"));
	sw_spec_release(&spec);
	assert_int_equal(sw_spec_load(&spec, dir, &diags, &err), -1);
	assert_non_null(strstr(err.msg, "directory"));
	sw_spec_release(&spec);
	assert_int_equal(diags.n, 0);

	/* and a real file reads like the string */
	{
		static const char y[] = "method: grid\nparameters:\n"
					"  epochs: {values: [1, 2]}\n";

		assert_int_equal(sw_test_write_file(path, y, strlen(y)), 0);
	}
	assert_int_equal(sw_spec_load(&spec, path, &diags, &err), 0);
	assert_string_equal(spec.path, path);
	assert_int_equal(spec.method, SW_METHOD_GRID);
	assert_int_equal(spec.n_params, 1);
	sw_spec_release(&spec);
	sw_spec_release(NULL);
	sw_diags_release(&diags);
	sw_diags_release(NULL);
	sw_test_rmtree(dir);
	free(dir);
	free(path);
}

/* ==== Parameters ==== */

static void test_inference_and_defaults(void **state)
{
	static const char y[] =
		"method: random\nprogram: p\nparameters:\n"
		"  v: {values: [1]}\n"
		"  c: {value: x}\n"
		"  i: {min: 1, max: 3}\n"
		"  u: {min: 1, max: 3.0}\n"
		"  u2: {min: 0.5, max: 3}\n"
		"  w: {values: [1, 2], probabilities: [0.5, 0.5]}\n"
		"  n: {distribution: normal}\n"
		"  qn: {distribution: q_normal}\n"
		"  be: {distribution: q_beta}\n"
		"  ex: {distribution: uniform, min: 1, max: 3}\n";
	struct loaded l;
	const struct sw_param *p;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.rc, 0);
	assert_int_equal(param(&l.spec, "v")->dist, SW_DIST_CATEGORICAL);
	assert_int_equal(param(&l.spec, "c")->dist, SW_DIST_CONSTANT);
	assert_int_equal(param(&l.spec, "i")->dist, SW_DIST_INT_UNIFORM);
	assert_int_equal(param(&l.spec, "u")->dist, SW_DIST_UNIFORM);
	assert_int_equal(param(&l.spec, "u2")->dist, SW_DIST_UNIFORM);
	assert_int_equal(param(&l.spec, "w")->dist, SW_DIST_CATEGORICAL_W_PROBABILITIES);
	assert_int_equal(param(&l.spec, "w")->n_probabilities, 2);
	assert_false(param(&l.spec, "w")->dist_explicit);
	p = param(&l.spec, "n");
	assert_true(p->dist_explicit);
	assert_true(p->mu == 0 && p->sigma == 1);
	p = param(&l.spec, "qn");
	assert_true(p->q == 1.0 && !p->q_is_int);
	p = param(&l.spec, "be");
	assert_true(p->a == 1 && p->b == 1 && p->q == 1.0);
	assert_int_equal(param(&l.spec, "ex")->dist, SW_DIST_UNIFORM);
	/* locations: key of the parameter and its fields */
	p = param(&l.spec, "i");
	assert_int_equal(p->loc.line, 6);
	assert_int_equal(p->loc.col, 3);
	assert_int_equal(p->loc_min.line, 6);
	assert_int_equal(p->loc_min.col, 12);
	assert_int_equal(p->loc_max.col, 20);
	assert_int_equal(param(&l.spec, "v")->value_locs[0].col, 16);
	assert_string_equal(sw_dist_name(SW_DIST_Q_LOG_UNIFORM_VALUES),
			    "q_log_uniform_values");
	assert_string_equal(sw_dist_name(SW_DIST_NESTED), "parameters");
	unload(&l);
}

static void test_nested_parameters(void **state)
{
	static const char y[] =
		"method: grid\nprogram: p\nparameters:\n"
		"  opt:\n    parameters:\n      name: {values: [adam]}\n"
		"      sched:\n        parameters:\n          warm: {value: 3}\n";
	struct loaded l;
	const struct sw_param *opt, *sched;
	char *path;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.rc, 0);
	opt = param(&l.spec, "opt");
	assert_int_equal(opt->dist, SW_DIST_NESTED);
	assert_int_equal(opt->n_children, 2);
	sched = &opt->children[1];
	assert_int_equal(sched->dist, SW_DIST_NESTED);
	assert_ptr_equal(sched->parent, opt);
	assert_ptr_equal(sched->children[0].parent, sched);
	path = sw_param_path(&sched->children[0]);
	assert_string_equal(path, "opt.sched.warm");
	free(path);
	unload(&l);
}

static void test_sections(void **state)
{
	static const char y[] =
		"method: bayes\n"
		"metric: {name: val_loss, goal: maximize, target: 0.5, impute: best,"
		" impute_while_running: latest}\n"
		"parameters:\n  epochs: {values: [1, 2]}\n"
		"early_terminate: {type: hyperband, max_iter: 27, s: 2, strict: false}\n"
		"run_cap: 7\nname: n\ndescription: d\nentity: e\nproject: p\n"
		"program: train.py\ncommand: [\"${env}\", python, \"${program}\", 3, true]\n"
		"alerts:\n"
		"  - {name: low, when: \"val_accuracy <= -1.5e-3\", after_epoch: 2, "
		"level: ERROR, stop_run: true}\n"
		"  - {when: nan}\n  - {when: new_best, level: INFO}\n  - {when: run_failed}\n";
	struct loaded l;
	const struct sw_spec *s;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.rc, 0);
	s = &l.spec;
	assert_int_equal(s->method, SW_METHOD_BAYES);
	assert_true(s->metric.present);
	assert_string_equal(s->metric.name, "val_loss");
	assert_int_equal(s->metric.goal, SW_GOAL_MAXIMIZE);
	assert_true(s->metric.has_target && s->metric.target == 0.5);
	assert_int_equal(s->metric.impute, SW_IMPUTE_BEST);
	assert_int_equal(s->metric.impute_while_running, SW_IMPUTE_LATEST);
	assert_true(s->hyperband.present && s->hyperband.has_max_iter &&
		    s->hyperband.has_s && !s->hyperband.has_min_iter);
	assert_true(s->hyperband.max_iter == 27 && s->hyperband.s == 2);
	assert_true(s->hyperband.eta == 3);
	assert_false(s->hyperband.strict);
	assert_true(s->run_cap == 7);
	assert_string_equal(s->name, "n");
	assert_string_equal(s->description, "d");
	assert_string_equal(s->entity, "e");
	assert_string_equal(s->project, "p");
	assert_string_equal(s->program, "train.py");
	assert_int_equal(s->n_command, 5);
	assert_string_equal(s->command[2], "${program}");
	assert_string_equal(s->command[3], "3");
	assert_string_equal(s->command[4], "True");   /* wandb passes str(True) */
	assert_int_equal(s->n_alerts, 4);
	assert_string_equal(s->alerts[0].name, "low");
	assert_int_equal(s->alerts[0].kind, SW_ALERT_WHEN_COMPARE);
	assert_string_equal(s->alerts[0].metric, "val_accuracy");
	assert_string_equal(s->alerts[0].op, "<=");
	assert_true(s->alerts[0].threshold == -1.5e-3);
	assert_true(s->alerts[0].after_epoch == 2);
	assert_int_equal(s->alerts[0].level, SW_ALERT_ERROR);
	assert_true(s->alerts[0].stop_run);
	assert_int_equal(s->alerts[1].kind, SW_ALERT_WHEN_NAN);
	assert_string_equal(s->alerts[1].name, "nan");      /* defaults to when */
	assert_int_equal(s->alerts[1].level, SW_ALERT_WARN);
	assert_false(s->alerts[1].stop_run);
	assert_int_equal(s->alerts[2].kind, SW_ALERT_WHEN_NEW_BEST);
	assert_int_equal(s->alerts[3].kind, SW_ALERT_WHEN_RUN_FAILED);
	/* the whole document as JSON, for wandb */
	assert_string_equal(json_string_value(json_object_get(s->doc, "program")),
			    "train.py");
	assert_int_equal(json_array_size(json_object_get(s->doc, "alerts")), 4);
	unload(&l);
}

static void test_defaults_without_sections(void **state)
{
	static const char y[] = "method: random\nparameters:\n  epochs: {value: 1}\n";
	struct loaded l;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.rc, 0);
	assert_false(l.spec.metric.present);
	assert_int_equal(l.spec.metric.impute_while_running, SW_IMPUTE_FALSE);
	assert_false(l.spec.hyperband.present);
	assert_true(l.spec.run_cap == 0);
	assert_null(l.spec.program);
	assert_null(l.spec.command);
	assert_int_equal(l.spec.n_alerts, 0);
	unload(&l);
}

static void test_anchors_and_merge(void **state)
{
	static const char y[] =
		"method: random\nprogram: p\nparameters:\n"
		"  a: &base {distribution: uniform, min: 0, max: 1}\n"
		"  b:\n    <<: *base\n    max: 5\n"
		"  c:\n    <<: [{value: 1}]\n";
	struct loaded l;
	const struct sw_param *p;

	(void)state;
	load(&l, y, strlen(y));
	if (l.rc != 0)
		fail_msg("%s", l.text);
	p = param(&l.spec, "b");
	assert_int_equal(p->dist, SW_DIST_UNIFORM);
	assert_true(p->min == 0 && p->max == 5);
	assert_int_equal(param(&l.spec, "c")->dist, SW_DIST_CONSTANT);
	unload(&l);
}

static void test_everything_reported_with_locations(void **state)
{
	static const char y[] =
		"method: grdi\nmetric: {nam: x}\nparameters:\n"
		"  a: {valeus: [1]}\n  b: 3\n  c: {min: 1}\nrun_cap: x\nextra: 1\n";
	struct loaded l;
	size_t i;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.rc, -1);
	/* method, metric key, metric name, a, b, c, run_cap, extra */
	assert_int_equal(l.diags.n_errors, 8);
	for (i = 0; i < l.diags.n; i++)
		assert_true(l.diags.items[i].loc.line >= 1 &&
			    l.diags.items[i].loc.line <= 8);
	assert_non_null(strstr(l.text, "t.yaml:1:9: error: method: 'grdi' is not "
			       "known; did you mean 'grid'?"));
	assert_non_null(strstr(l.text, "did you mean 'values'?"));
	unload(&l);
}

static void test_diagnostics_stay_on_one_line(void **state)
{
	static const char y[] =
		"method: \"ran\\ndom\"\nparameters:\n  \"a\\nb\": {value: 1}\n"
		"  c: {distribution: \"uni\\tform\"}\n";
	struct loaded l;

	(void)state;
	load(&l, y, strlen(y));
	assert_int_equal(l.diags.n_errors, 3);
	/* three errors, three lines: quoted control characters are escaped */
	assert_int_equal(sw_test_count_lines(l.text, "t.yaml:"), 3);
	assert_non_null(strstr(l.text, "'ran\\ndom'"));
	assert_non_null(strstr(l.text, "'uni\\tform'"));
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers_keep_intness),
		cmocka_unit_test(test_yaml11_differences_warn),
		cmocka_unit_test(test_yaml12_values),
		cmocka_unit_test(test_malformed_input),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_inference_and_defaults),
		cmocka_unit_test(test_nested_parameters),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_defaults_without_sections),
		cmocka_unit_test(test_anchors_and_merge),
		cmocka_unit_test(test_everything_reported_with_locations),
		cmocka_unit_test(test_diagnostics_stay_on_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
