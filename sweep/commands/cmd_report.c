/* cmd_report.c - `sweep report DIR [-o FILE.html]`: writes the HTML report
 * of a results directory (see include/sweep/report/report.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "base/err.h"
#include "sweep/report/report.h"

const char cmd_report_usage[] =
"usage: sweep report DIR [-o FILE.html]\n"
"\n"
"Write a self-contained HTML report of a results directory (default\n"
"DIR/report.html): the sweep's outcome, a sortable table of the runs,\n"
"learning curves, a parallel-coordinates plot, one scatter plot per\n"
"parameter, the best value so far and parameter importance. The file has\n"
"no external references: open it in any browser, offline, or print it.\n"
"\n"
"  -o, --output FILE   write the page to FILE instead (replaced atomically)\n";

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct sw_err err = SW_ERR_INIT;
	const char *out = NULL;
	char def[4096];
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		default:
			return sw_cli_bad_option("report", argc, argv, c);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("report", "missing results directory");
	if (optind + 1 < argc)
		return sw_cli_usage_error("report", "unexpected argument '%s'",
					  argv[optind + 1]);
	if (out && !*out)
		return sw_cli_usage_error("report", "empty output file name");
	if (!out) {
		const char *dir = argv[optind];
		size_t n = strlen(dir);

		while (n > 1 && dir[n - 1] == '/')
			n--;
		if (snprintf(def, sizeof(def), "%.*s/report.html", (int)n, dir) >=
		    (int)sizeof(def))
			return sw_cli_error("results directory name too long: '%s'", dir);
		out = def;
	}
	if (sw_report_write(argv[optind], out, &err) < 0)
		return sw_cli_error("%s", err.msg);
	printf("%s\n", out);
	return SW_EXIT_OK;
}
