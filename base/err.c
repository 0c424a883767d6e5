/* err.c - see include/base/err.h */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sw_errorf(struct sw_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return SW_ERR;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return SW_ERR;
}

int sw_err_prefix(struct sw_err *err, const char *fmt, ...)
{
	char joined[2 * sizeof(err->msg) + 2];
	size_t n;
	va_list ap;

	if (!err)
		return SW_ERR;
	va_start(ap, fmt);
	vsnprintf(joined, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(joined);
	memcpy(joined + n, ": ", 2);
	memcpy(joined + n + 2, err->msg, strnlen(err->msg, sizeof(err->msg) - 1));
	joined[n + 2 + strnlen(err->msg, sizeof(err->msg) - 1)] = '\0';
	/* keep the front: the context and the start of the cause */
	memcpy(err->msg, joined, sizeof(err->msg) - 1);
	err->msg[sizeof(err->msg) - 1] = '\0';
	return SW_ERR;
}

void sw_err_clear(struct sw_err *err)
{
	if (err)
		err->msg[0] = '\0';
}
