/*
 * main.c - `sweep`: the subcommand table, global flags and dispatch (git's
 * builtin table). Each command lives in sweep/commands/cmd_<name>.c.
 */
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/spec/spec.h"

#include <stdio.h>
#include <string.h>

#define CMD(name, summary) { #name, cmd_##name, summary, cmd_##name##_usage }

static const struct sw_cmd sw_commands[] = {
	CMD(run, "search a sweep locally, training every trial in-process"),
	CMD(resume, "continue an interrupted or crashed local sweep"),
	CMD(trial, "train one run of a sweep on a Slurm node (what each job runs)"),
	CMD(ls, "list the sweeps of a results directory"),
	CMD(show, "print the runs of a sweep, best first"),
	CMD(validate, "check sweep YAML files the way wandb reads them"),
	CMD(suggest, "print the next configurations a search would try"),
	CMD(train, "train the built-in CIFAR-10 CNN once"),
	CMD(eval, "evaluate a saved model on the CIFAR-10 test batch"),
	CMD(bench, "measure training and inference throughput"),
	CMD(report, "write an HTML report of a results directory"),
	CMD(create, "register a sweep with wandb"),
	CMD(agent, "work on a wandb sweep as an agent"),
	CMD(sync, "upload an offline results directory to wandb"),
	CMD(import, "read wandb offline runs into a results directory"),
	{ NULL, NULL, NULL, NULL },
};

static const char main_usage[] = "usage: sweep [--version] [--help] <command> [<args>]";

static void print_help(FILE *out)
{
	const struct sw_cmd *c;

	fprintf(out, "%s\n\n", main_usage);
	fputs("Hyperparameter sweeps for wandb-style YAML files, trained in-process.\n\n"
	      "Commands:\n", out);
	for (c = sw_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fputs("\nRun 'sweep help <command>' or 'sweep <command> -h' for its options.\n"
	      "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,\n"
	      "130 interrupted.\n", out);
}

static int unknown_command(const char *name)
{
	const char *names[sizeof(sw_commands) / sizeof(sw_commands[0])];
	const char *best;
	size_t i;

	for (i = 0; sw_commands[i].name; i++)
		names[i] = sw_commands[i].name;
	names[i] = NULL;
	best = sw_nearest(name, names);
	if (best)
		fprintf(stderr, "sweep: error: unknown command '%s'; did you mean '%s'?\n",
			name, best);
	else
		fprintf(stderr, "sweep: error: unknown command '%s'\n", name);
	fprintf(stderr, "%s\nRun 'sweep --help' for the list of commands.\n", main_usage);
	return SW_EXIT_USAGE;
}

static int help_command(int argc, char **argv)
{
	const struct sw_cmd *c;

	if (argc < 2) {
		print_help(stdout);
		return SW_EXIT_OK;
	}
	c = sw_cmd_find(argv[1]);
	if (!c)
		return unknown_command(argv[1]);
	fputs(c->usage, stdout);
	return SW_EXIT_OK;
}

/* True when -h/--help appears among the command's options (before "--"). */
static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct sw_cmd *c;
	const char *name;

	sw_cli_set_commands(sw_commands);
	if (argc < 2) {
		fprintf(stderr, "%s\nRun 'sweep --help' for the list of commands.\n",
			main_usage);
		return SW_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		print_help(stdout);
		return SW_EXIT_OK;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		printf("sweep %s\n", SW_VERSION);
		return SW_EXIT_OK;
	}
	if (!strcmp(name, "help"))
		return help_command(argc - 1, argv + 1);
	if (name[0] == '-') {
		fprintf(stderr, "sweep: error: unknown option '%s'\n%s\n", name, main_usage);
		return SW_EXIT_USAGE;
	}
	c = sw_cmd_find(name);
	if (!c)
		return unknown_command(name);
	if (wants_help(argc - 1, argv + 1)) {
		fputs(c->usage, stdout);
		return SW_EXIT_OK;
	}
	return c->fn(argc - 1, argv + 1);
}
