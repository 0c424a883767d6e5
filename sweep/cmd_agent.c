/* cmd_agent.c - `sweep agent`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_agent_usage[] =
"usage: sweep agent [ENTITY/PROJECT/]SWEEP_ID [--count N] [--parallel P]\n"
"\n"
"Work on a wandb sweep: take runs from the wandb controller, train them\n"
"in-process and stream their history back.\n";

int cmd_agent(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("agent");
}
