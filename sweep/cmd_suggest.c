/* cmd_suggest.c - `sweep suggest`: not built yet (see its issue). */
#include "sweep/cli.h"
#include "sweep/commands.h"

const char cmd_suggest_usage[] =
"usage: sweep suggest FILE [--observed RUNS.jsonl] [--count N] [--seed S]\n"
"\n"
"Print the next N configurations the sweep's search method proposes, one JSON\n"
"object per line ({\"params\": {...}}), given the runs observed so far.\n"
"\n"
"  --observed FILE  runs so far, JSON lines as in runs.jsonl\n"
"  --count N        how many suggestions (default 1)\n"
"  --seed S         random seed (default 0)\n";

int cmd_suggest(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return sw_cli_not_built("suggest");
}
