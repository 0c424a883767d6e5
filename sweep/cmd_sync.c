/* cmd_sync.c - `sweep sync`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_sync_usage[] =
"usage: sweep sync DIR [--project P]\n"
"\n"
"Upload an offline results directory to wandb as runs, exactly once.\n";

int cmd_sync(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("sync");
}
