/*
 * cli.h - the `sweep` command line: exit codes, the subcommand table entry,
 * and the helpers every cmd_<name>.c uses to report errors the same way.
 *
 * Conventions: machine output goes to stdout; errors are one line on stderr,
 * "sweep: error: MESSAGE"; warnings "sweep: warning: MESSAGE". A command
 * returns its exit code; `-h`/`--help` is handled by the dispatcher in
 * sweep/commands/main.c from the usage text, so commands never see it.
 *
 * defines: enum sw_exit, struct sw_cmd, sw_cli_set_commands, sw_cmd_find,
 *          sw_cli_error, sw_cli_warning,
 *          sw_cli_usage_error, sw_cli_bad_option, sw_cli_parse_uint,
 *          sw_cli_parse_threads,
 *          SW_VERSION
 */
#ifndef SW_CLI_H
#define SW_CLI_H

#define SW_VERSION "0.1.0"

enum sw_exit {
	SW_EXIT_OK = 0,
	SW_EXIT_FAILURE = 1,      /* runtime failure */
	SW_EXIT_USAGE = 2,        /* usage or configuration error */
	SW_EXIT_INTERRUPTED = 130 /* stopped by Ctrl-C / SIGTERM */
};

struct sw_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);  /* argv[0] is the command name */
	const char *summary;               /* one line for `sweep --help` */
	const char *usage;                 /* full text for `sweep help CMD` */
};

/* Registers the table of subcommands (terminated by an entry with a NULL
 * name; borrowed for the life of the process). main() does it first. */
void sw_cli_set_commands(const struct sw_cmd *table);

/* Finds a command by name in the registered table; NULL if unknown or none
 * is registered (the usage errors then print no synopsis). */
const struct sw_cmd *sw_cmd_find(const char *name);

/* "sweep: error: MESSAGE\n" on stderr. Returns SW_EXIT_FAILURE. */
int sw_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "sweep: warning: MESSAGE\n" on stderr. */
void sw_cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "sweep: error: MESSAGE" then the command's first usage line and a
 * pointer to `sweep help CMD` on stderr. Returns SW_EXIT_USAGE. */
int sw_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* For getopt_long's '?' and ':' results (use an optstring starting with ':'
 * and opterr = 0): rc is what getopt_long returned; reports the unknown option
 * or missing value. Returns SW_EXIT_USAGE. */
int sw_cli_bad_option(const char *cmd, int argc, char **argv, int rc);

/* Parses a whole number option value: decimal digits only (no sign, no
 * spaces), at most max. Returns 0 with *out set, or -1. */
int sw_cli_parse_uint(const char *s, unsigned long long max,
		      unsigned long long *out);

/* Parses the value of cmd's --threads option: a whole number from 1 to
 * 256. Returns 0 with *out set, or the usage error's SW_EXIT_USAGE. */
int sw_cli_parse_threads(const char *cmd, const char *s, long *out);

#endif
