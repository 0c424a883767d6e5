/* cmd_resume.c - `sweep resume`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_resume_usage[] =
"usage: sweep resume DIR\n"
"\n"
"Continue a local sweep after Ctrl-C, a crash or a kill: finished runs are kept,\n"
"runs that were in flight run again.\n";

int cmd_resume(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("resume");
}
