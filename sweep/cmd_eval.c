/* cmd_eval.c - `sweep eval`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_eval_usage[] =
"usage: sweep eval FILE.safetensors [--data DIR]\n"
"\n"
"Print the test loss and accuracy of a saved model.\n"
"\n"
"  --data DIR      CIFAR-10 binary directory\n";

int cmd_eval(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("eval");
}
