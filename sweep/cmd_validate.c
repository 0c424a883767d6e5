/* cmd_validate.c - `sweep validate`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_validate_usage[] =
"usage: sweep validate [--json] FILE...\n"
"\n"
"Check wandb sweep YAML files: every problem is printed as\n"
"FILE:LINE:COL: error: MESSAGE (or warning). Exit 0 when valid, 2 when not.\n"
"\n"
"  --json    print a machine-readable report on stdout\n";

int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("validate");
}
