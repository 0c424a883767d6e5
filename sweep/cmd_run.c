/* cmd_run.c - `sweep run`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_run_usage[] =
"usage: sweep run FILE.yaml [--count N] [--parallel P|auto] [--threads T] [--seed S]\n"
"                 [--results DIR] [--data DIR] [--alert-webhook URL]\n"
"\n"
"Search a sweep locally, training every trial in this process, and write the\n"
"results under results/ (or --results DIR).\n";

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("run");
}
