/* cmd_create.c - `sweep create`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_create_usage[] =
"usage: sweep create FILE.yaml [--entity E] [--project P]\n"
"\n"
"Validate a sweep and register it with wandb; prints the sweep ID and URL.\n";

int cmd_create(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("create");
}
