/*
 * err.h - error reporting for the controller (git's error() idiom).
 *
 * Controller functions never exit: they return 0 on success or a negative
 * enum sw_status, and put a one-line, lowercase message into a caller-owned
 * struct sw_err. sw_errorf() returns -1 so a callee can write
 * `return sw_errorf(err, "unable to open '%s': %s", path, strerror(errno));`
 *
 * defines: struct sw_err, enum sw_status, sw_errorf, sw_err_clear, sw_errno_msg
 */
#ifndef SW_ERR_H
#define SW_ERR_H

#include <stddef.h>

enum sw_status {
	SW_OK = 0,
	SW_ERR = -1,        /* generic runtime failure; message in struct sw_err */
	SW_ERR_USAGE = -2,  /* bad command line or configuration */
	SW_ERR_INTR = -3,   /* interrupted by the user (SIGINT/SIGTERM) */
};

struct sw_err {
	char msg[512];
};
#define SW_ERR_INIT { { 0 } }

/* Formats a message into err (if err is non-NULL) and returns SW_ERR (-1).
 * A message already set is overwritten. */
int sw_errorf(struct sw_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "PREFIX: " to the message already in err; returns SW_ERR. Used to
 * add context (a file name, a run id) on the way up. */
int sw_err_prefix(struct sw_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void sw_err_clear(struct sw_err *err);

#endif
