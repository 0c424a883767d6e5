/* cli.c - shared error/usage reporting for the subcommands; see
 * include/base/cli.h */
#include "base/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <getopt.h>

/* The command table, registered by main(): base code never links back to
 * the commands layer above it. */
static const struct sw_cmd *commands;

void sw_cli_set_commands(const struct sw_cmd *table)
{
	commands = table;
}

const struct sw_cmd *sw_cmd_find(const char *name)
{
	const struct sw_cmd *c;

	if (!commands)
		return NULL;
	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int sw_cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("sweep: error: ", fmt, ap);
	va_end(ap);
	return SW_EXIT_FAILURE;
}

void sw_cli_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("sweep: warning: ", fmt, ap);
	va_end(ap);
}

/* The synopsis is the usage text's first line. */
static void print_synopsis(const char *cmd)
{
	const struct sw_cmd *c = sw_cmd_find(cmd);
	const char *nl;

	if (!c)
		return;
	nl = strchr(c->usage, '\n');
	fprintf(stderr, "%.*s\n", nl ? (int)(nl - c->usage) : (int)strlen(c->usage),
		c->usage);
	fprintf(stderr, "Try 'sweep help %s' for more information.\n", cmd);
}

int sw_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("sweep: error: ", fmt, ap);
	va_end(ap);
	print_synopsis(cmd);
	return SW_EXIT_USAGE;
}

int sw_cli_bad_option(const char *cmd, int argc, char **argv, int rc)
{
	const char *word = (optind > 0 && optind - 1 < argc) ? argv[optind - 1] : "";
	char shortopt[3] = { '-', (char)optopt, '\0' };
	const char *name = word;

	/* for a short option the word may be a cluster ("-xv"): name the letter */
	if (optopt && !(word[0] == '-' && word[1] == '-'))
		name = shortopt;
	if (rc == ':')
		return sw_cli_usage_error(cmd, "option '%s' of 'sweep %s' needs a value",
					  name, cmd);
	return sw_cli_usage_error(cmd, "unknown option '%s' for 'sweep %s'", name, cmd);
}

int sw_cli_parse_uint(const char *s, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int sw_cli_parse_threads(const char *cmd, const char *s, long *out)
{
	unsigned long long v;

	if (sw_cli_parse_uint(s, 256, &v) < 0 || v < 1)
		return sw_cli_usage_error(cmd, "--threads must be an integer "
					  "from 1 to 256, got '%s'", s);
	*out = (long)v;
	return 0;
}
