/*
 * commands.h - entry points of the subcommands, one per
 * sweep/commands/cmd_<name>.c. Each takes (argc, argv) with argv[0] the command name and returns an exit
 * code (enum sw_exit); each file also defines cmd_<name>_usage, the text
 * shown by `sweep help <name>` (first line: the synopsis).
 */
#ifndef SW_COMMANDS_H
#define SW_COMMANDS_H

#define SW_DECLARE_CMD(name) \
	int cmd_##name(int argc, char **argv); \
	extern const char cmd_##name##_usage[]

SW_DECLARE_CMD(validate);
SW_DECLARE_CMD(suggest);
SW_DECLARE_CMD(train);
SW_DECLARE_CMD(eval);
SW_DECLARE_CMD(bench);
SW_DECLARE_CMD(run);
SW_DECLARE_CMD(resume);
SW_DECLARE_CMD(trial);
SW_DECLARE_CMD(ls);
SW_DECLARE_CMD(show);
SW_DECLARE_CMD(report);
SW_DECLARE_CMD(create);
SW_DECLARE_CMD(agent);
SW_DECLARE_CMD(sync);
SW_DECLARE_CMD(import);

#endif
