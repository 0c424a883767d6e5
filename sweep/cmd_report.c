/* cmd_report.c - `sweep report`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_report_usage[] =
"usage: sweep report DIR [-o FILE.html]\n"
"\n"
"Write a self-contained HTML report of a results directory\n"
"(default DIR/report.html).\n";

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("report");
}
