/* wandb_hook.c - ships the Python start-up module of wandb scripts; see
 * include/sweep/offline/wandb_hook.h */
#define _GNU_SOURCE
#include "sweep/offline/wandb_hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/durable.h"
#include "base/file.h"

/* The modules' bytes, embedded by the assembler (the Makefile makes this
 * object depend on the .py files, which are read relative to the top of
 * the tree, where make runs the compiler), each followed by a NUL. */
#define SW_EMBED(sym, file)                  \
	".balign 16\n"                       \
	".hidden " sym "\n"                   \
	".globl " sym "\n"                    \
	sym ":\n"                             \
	".incbin \"" file "\"\n"              \
	".hidden " sym "_end\n"               \
	".globl " sym "_end\n"                \
	sym "_end:\n"                         \
	".byte 0\n"
__asm__(".pushsection .rodata\n"
	SW_EMBED("sw_wandb_hook_py", "sweep/offline/wandb_sitecustomize.py")
	SW_EMBED("sw_wandb_report_py", "sweep/offline/wandb_report.py")
	".popsection\n");
extern const char sw_wandb_hook_py[], sw_wandb_hook_py_end[];
extern const char sw_wandb_report_py[], sw_wandb_report_py_end[];

const char *sw_wandb_hook_source(size_t *len)
{
	if (len)
		*len = (size_t)(sw_wandb_hook_py_end - sw_wandb_hook_py);
	return sw_wandb_hook_py;
}

const char *sw_wandb_report_source(size_t *len)
{
	if (len)
		*len = (size_t)(sw_wandb_report_py_end - sw_wandb_report_py);
	return sw_wandb_report_py;
}

/* Whether path holds exactly len bytes of text. */
static int same_content(const char *path, const char *text, size_t len)
{
	char *old = NULL;
	size_t n = 0;
	int missing = 0, same;

	if (sw_read_file(path, 1 << 20, &old, &n, &missing, NULL) < 0 || missing)
		return 0;
	same = n == len && !memcmp(old, text, len);
	free(old);
	return same;
}

/* Writes dir/name holding len bytes of text, atomically, unless it holds
 * them already. */
static int write_module(const char *dir, const char *name, const char *text,
			size_t len, struct sw_err *err)
{
	char *path = NULL;
	int ret;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return sw_errorf(err, "out of memory");
	ret = same_content(path, text, len) ? 0 :
	      sw_durable_replace(NULL, path, text, len, err);
	free(path);
	return ret;
}

int sw_wandb_hook_write(const char *dir, struct sw_err *err)
{
	size_t len, rlen;
	const char *text = sw_wandb_hook_source(&len);
	const char *report = sw_wandb_report_source(&rlen);

	if (sw_mkdir_p(dir, err) < 0)
		return -1;
	/* the report first: the start-up module loads it by name */
	if (write_module(dir, "sweep_wandb_report.py", report, rlen, err) < 0)
		return -1;
	return write_module(dir, "sitecustomize.py", text, len, err);
}

char *sw_wandb_hook_pythonpath(const char *dir, const char *user_path)
{
	char *out = NULL;

	if (user_path && *user_path) {
		if (asprintf(&out, "%s:%s", dir, user_path) < 0)
			return NULL;
	} else if (asprintf(&out, "%s", dir) < 0) {
		return NULL;
	}
	return out;
}
