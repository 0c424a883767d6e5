/* cmd_suggest.c - `sweep suggest`: ask the search for the next parameter
 * sets given the runs observed so far (ask/tell from the command line). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/search/observed.h"
#include "sweep/search/search.h"
#include "sweep/spec/spec.h"

const char cmd_suggest_usage[] =
"usage: sweep suggest FILE [--observed RUNS.jsonl] [--count N] [--seed S]\n"
"\n"
"Print the next N configurations the sweep's search method proposes, one JSON\n"
"object per line ({\"params\": {...}}, nested parameters as nested objects),\n"
"given the runs observed so far. Grid lists the points no observed run has\n"
"(all remaining ones with a large --count); random and bayes give the same\n"
"answer for the same seed and history, and never repeat an observed run.\n"
"When the search is over (grid exhausted, run_cap or metric.target reached)\n"
"fewer lines are printed and stderr says why; the exit code is still 0.\n"
"\n"
"  --observed FILE  runs so far, JSON lines as in runs.jsonl (- for stdin):\n"
"                   {\"params\": {...}, \"state\": \"finished\", \"summary\": {\"loss\": 0.1}}\n"
"                   (state: finished, running, failed, stopped, crashed,\n"
"                   killed or pending; optional \"history\": [{...}, ...];\n"
"                   a running run's history so far bounds where it can end)\n"
"  --count N        how many suggestions (default 1)\n"
"  --seed S         random seed (default 0)\n";

/* Writes v as JSON with each real in its shortest form that reads back to
 * the same double (jansson would print 0.1 as 0.10000000000000001), so
 * values echoed back in --observed match exactly. */
static int dump_json(FILE *f, const json_t *v)
{
	char buf[40];
	char *s;
	size_t i;
	int prec;

	if (json_is_real(v)) {
		double x = json_real_value(v);

		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, x);
			if (strtod(buf, NULL) == x)
				break;
		}
		if (!strpbrk(buf, ".en"))
			strcat(buf, ".0");   /* stays a real for the reader */
		return fputs(buf, f) < 0 ? -1 : 0;
	}
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		int first = 1;

		fputc('{', f);
		json_object_foreach((json_t *)v, k, x) {
			json_t *key = json_string(k);

			s = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
			json_decref(key);
			if (!s)
				return -1;
			fprintf(f, "%s%s: ", first ? "" : ", ", s);
			free(s);
			first = 0;
			if (dump_json(f, x) < 0)
				return -1;
		}
		return fputc('}', f) == EOF ? -1 : 0;
	}
	if (json_is_array(v)) {
		fputc('[', f);
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				fputs(", ", f);
			if (dump_json(f, json_array_get(v, i)) < 0)
				return -1;
		}
		return fputc(']', f) == EOF ? -1 : 0;
	}
	s = json_dumps(v, JSON_ENCODE_ANY);
	if (!s)
		return -1;
	fputs(s, f);
	free(s);
	return 0;
}

int cmd_suggest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "observed", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct sw_spec spec;
	struct sw_diags diags = { 0 };
	struct sw_runs runs = SW_RUNS_INIT;
	struct sw_err err = SW_ERR_INIT;
	const char *observed = NULL, *file;
	unsigned long long count = 1, seed = 0;
	enum sw_search_end end = SW_SEARCH_MORE;
	json_t *out = NULL;
	size_t i;
	int c, ret = SW_EXIT_FAILURE;

	memset(&spec, 0, sizeof(spec));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:n:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			observed = optarg;
			break;
		case 'n':
			if (sw_cli_parse_uint(optarg, 100000000ULL, &count) < 0 || count == 0)
				return sw_cli_usage_error("suggest", "--count must be an "
							  "integer from 1 to 100000000, "
							  "not '%s'", optarg);
			break;
		case 's':
			if (sw_cli_parse_uint(optarg, UINT64_MAX, &seed) < 0)
				return sw_cli_usage_error("suggest", "--seed must be a "
							  "non-negative integer, not '%s'",
							  optarg);
			break;
		default:
			return sw_cli_bad_option("suggest", argc, argv, c);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("suggest", "missing sweep FILE");
	if (argc - optind > 1)
		return sw_cli_usage_error("suggest", "unexpected argument '%s'",
					  argv[optind + 1]);
	file = argv[optind];

	/* the sweep file: the same verdict as `sweep validate`, without the
	 * built-in trainer's checks (suggestions are for any program) */
	sw_spec_load(&spec, file, &diags, &err);
	if (!spec.text)   /* unreadable */
		sw_diags_add(&diags, 1, (struct sw_loc){ 0, 0 }, "%s", err.msg);
	else
		sw_spec_validate_for(&spec, SW_USE_SEARCH, &diags);
	sw_diags_sort(&diags);
	fflush(stdout);
	sw_diags_print(&diags, file, stderr);
	if (!spec.text || diags.n_errors) {
		ret = SW_EXIT_USAGE;
		goto done;
	}
	sw_err_clear(&err);

	if (observed && sw_runs_load(&runs, observed, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	out = json_array();
	if (!out) {
		sw_cli_error("out of memory");
		goto done;
	}
	if (sw_search_next(&spec, &runs, (size_t)count, (uint64_t)seed, out,
			   &end, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	for (i = 0; i < json_array_size(out); i++) {
		json_t *line = json_pack("{sO}", "params", json_array_get(out, i));

		if (!line || dump_json(stdout, line) < 0) {
			json_decref(line);
			sw_cli_error("unable to write suggestions");
			goto done;
		}
		putchar('\n');
		json_decref(line);
	}
	if (fflush(stdout) != 0) {
		sw_cli_error("unable to write suggestions: %s", strerror(errno));
		goto done;
	}
	switch (end) {
	case SW_SEARCH_EXHAUSTED:
		if ((unsigned long long)json_array_size(out) < count)
			fprintf(stderr, "sweep: the grid is exhausted: %s\n",
				json_array_size(out) ? "no more points remain" :
				"every point has been run");
		break;
	case SW_SEARCH_RUN_CAP:
		fprintf(stderr, "sweep: run_cap %lld reached\n",
			(long long)spec.run_cap);
		break;
	case SW_SEARCH_TARGET:
		fprintf(stderr, "sweep: a run reached metric.target %g: the "
			"sweep is done\n", spec.metric.target);
		break;
	case SW_SEARCH_MORE:
		break;
	}
	ret = SW_EXIT_OK;
done:
	json_decref(out);
	sw_runs_release(&runs);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	return ret;
}
