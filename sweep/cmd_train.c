/* cmd_train.c - `sweep train`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_train_usage[] =
"usage: sweep train [--data DIR] [--threads T] [--save FILE] [--json] [key=value...]\n"
"\n"
"Train the built-in CIFAR-10 CNN once and print one line per epoch.\n"
"\n"
"  --data DIR      CIFAR-10 binary directory (default $SWEEP_DATA, then the cache)\n"
"  --threads T     OpenMP threads\n"
"  --save FILE     write the trained model as .safetensors\n"
"  --json          one JSON object per epoch, then {\"summary\": {...}}\n";

int cmd_train(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("train");
}
