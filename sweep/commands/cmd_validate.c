/* cmd_validate.c - `sweep validate [--json] FILE...`: load and validate
 * sweep files, print every problem with its location. */
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/spec/spec.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char cmd_validate_usage[] =
"usage: sweep validate [--json] FILE...\n"
"\n"
"Check wandb sweep YAML files the way wandb reads them: a file is valid\n"
"exactly when wandb accepts it (its schema and its sweep engine's checks),\n"
"except that non-finite numbers and integers beyond 64 bits stay errors.\n"
"What sweep checks beyond wandb is a warning: duplicate keys (the last value\n"
"is used), unknown ${...} macros in command (dropped), deprecated\n"
"distributions and, when no program/command is set, the built-in trainer's\n"
"hyperparameters (errors only for `sweep run`). Every problem is printed on\n"
"stderr as\n"
"  FILE:LINE:COL: error: MESSAGE   (or warning: MESSAGE)\n"
"YAML is read as YAML 1.2; a warning says where wandb's YAML 1.1 loader\n"
"would read a value differently (1e-5, yes/no, 017, 1_000, 1:30).\n"
"Valid files get one line on stdout: FILE: valid (METHOD, N parameters).\n"
"\n"
"  --json    print one JSON object per file on stdout instead:\n"
"            {\"file\", \"verdict\": \"valid\"|\"invalid\"|\"unreadable\",\n"
"             \"errors\": [{\"line\", \"column\", \"message\"}], \"warnings\": [...],\n"
"             \"method\", \"parameters\", \"grid_points\" (grid only, else null)}\n"
"\n"
"Exit status: 0 when every file is valid (warnings allowed), 2 when any file\n"
"is invalid or cannot be read.\n";

static const char *const method_names[] = { "grid", "random", "bayes" };

static size_t count_leaves(const struct sw_param *ps, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += ps[i].dist == SW_DIST_NESTED ?
			 count_leaves(ps[i].children, ps[i].n_children) : 1;
	return total;
}

static json_t *diag_list(const struct sw_diags *d, int errors)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < d->n; i++) {
		const struct sw_diag *x = &d->items[i];

		if (x->is_error != errors)
			continue;
		json_array_append_new(a, json_pack("{s:o, s:o, s:s}",
			"line", x->loc.line ? json_integer(x->loc.line) : json_null(),
			"column", x->loc.line ? json_integer(x->loc.col) : json_null(),
			"message", x->msg));
	}
	return a;
}

/* Validates one file; returns 1 when valid, 0 otherwise. */
static int validate_file(const char *path, int as_json)
{
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_err err = SW_ERR_INIT;
	uint64_t points = 0;
	int have_points = 0, readable, valid;
	json_t *report = NULL;
	size_t n_warn;

	sw_spec_load(&spec, path, &diags, &err);
	readable = spec.text != NULL;
	if (!readable)
		sw_diags_add(&diags, 1, (struct sw_loc){ 0, 0 }, "%s", err.msg);
	else
		sw_spec_validate(&spec, &diags);
	sw_diags_sort(&diags);
	valid = readable && diags.n_errors == 0;
	if (valid && spec.has_method && spec.method == SW_METHOD_GRID &&
	    sw_spec_grid_count(&spec, &points, &err) == 0)
		have_points = 1;
	n_warn = diags.n - diags.n_errors;

	if (as_json) {
		report = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
			"file", path,
			"verdict", !readable ? "unreadable" : valid ? "valid" : "invalid",
			"errors", diag_list(&diags, 1),
			"warnings", diag_list(&diags, 0),
			"method", readable && spec.has_method ?
				  json_string(method_names[spec.method]) :
				  readable && spec.method_custom ? json_string("custom") :
				  json_null(),
			"parameters", readable && !spec.parse_failed ?
				      json_integer((json_int_t)count_leaves(spec.params,
								spec.n_params)) :
				      json_null(),
			"grid_points", have_points ? json_integer(points > INT64_MAX ?
					INT64_MAX : (json_int_t)points) : json_null());
		if (report) {
			json_dumpf(report, stdout, JSON_COMPACT | JSON_REAL_PRECISION(17));
			fputc('\n', stdout);
		}
		json_decref(report);
	} else {
		fflush(stdout);
		sw_diags_print(&diags, path, stderr);
		if (valid) {
			printf("%s: valid (%s, %zu parameter%s", path,
			       spec.method_custom ? "custom" : method_names[spec.method],
			       count_leaves(spec.params, spec.n_params),
			       count_leaves(spec.params, spec.n_params) == 1 ? "" : "s");
			if (have_points)
				printf(", %llu grid point%s", (unsigned long long)points,
				       points == 1 ? "" : "s");
			if (n_warn)
				printf(", %zu warning%s", n_warn, n_warn == 1 ? "" : "s");
			printf(")\n");
		}
	}
	fflush(stdout);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	return valid;
}

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int as_json = 0, rc, all_valid = 1, i;

	opterr = 0;
	optind = 1;
	while ((rc = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (rc == 'j')
			as_json = 1;
		else
			return sw_cli_bad_option("validate", argc, argv, rc);
	}
	if (optind >= argc)
		return sw_cli_usage_error("validate", "no sweep file given");
	for (i = optind; i < argc; i++)
		if (!validate_file(argv[i], as_json))
			all_valid = 0;
	return all_valid ? SW_EXIT_OK : SW_EXIT_USAGE;
}
