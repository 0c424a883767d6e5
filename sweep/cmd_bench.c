/* cmd_bench.c - `sweep bench`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_bench_usage[] =
"usage: sweep bench [--batch N] [--threads T] [--seconds S] [--json]\n"
"\n"
"Measure training and inference throughput of the default model on synthetic\n"
"data.\n"
"\n"
"  --batch N       batch size (default 256)\n"
"  --threads T     OpenMP threads (default: all cores)\n"
"  --seconds S     how long to measure each phase\n"
"  --json          one JSON object instead of text\n";

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("bench");
}
