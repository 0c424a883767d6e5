/*
 * support.h - helpers shared by the test programs (linked into each).
 *
 * sw_test_run() runs the sweep binary (or any program) with arguments and
 * optional stdin, captures stdout, stderr and the exit status: the
 * end-to-end tests check all three. The binary is $SWEEP_BIN (set by
 * `make test`), default bin/sweep.
 *
 * defines: struct sw_test_proc, sw_test_run, sw_test_run_for, sw_test_now, sw_test_sweep, sw_test_proc_release,
 *          sw_test_tmpdir, sw_test_write_file, sw_test_read_file, sw_test_bin
 */
#ifndef SW_TEST_SUPPORT_H
#define SW_TEST_SUPPORT_H

#include <stddef.h>

struct sw_test_proc {
	int status;     /* exit code; 128+signal when killed by a signal */
	char *out;      /* captured stdout (owned, NUL-terminated) */
	char *err;      /* captured stderr (owned, NUL-terminated) */
};

/* Path of the sweep binary under test. */
const char *sw_test_bin(void);

/* Runs argv (argv[0] is the program; NULL-terminated) with stdin fed from
 * `input` (NULL: empty) and extra environment entries "K=V" (NULL-terminated,
 * may be NULL). Kills the child after timeout_s seconds (status 128+9).
 * Returns 0, or -1 if the process could not be started. */
int sw_test_run(struct sw_test_proc *p, const char *const argv[],
		const char *input, const char *const env[], int timeout_s);

/* sw_test_run with a timeout in fractions of a second: the crash tests
 * SIGKILL a sweep at a chosen moment this way. */
int sw_test_run_for(struct sw_test_proc *p, const char *const argv[],
		    const char *input, const char *const env[], double timeout_s);

/* Monotonic seconds. */
double sw_test_now(void);

/* Convenience: runs the sweep binary with the given arguments (NULL-terminated
 * list after p), 120 s timeout. */
int sw_test_sweep(struct sw_test_proc *p, ...);

void sw_test_proc_release(struct sw_test_proc *p);

/* Creates a fresh temporary directory; returns a path the caller frees.
 * sw_test_rmtree() removes it again. */
char *sw_test_tmpdir(void);
void sw_test_rmtree(const char *path);

/* Writes/reads a whole file. read returns a NUL-terminated buffer the
 * caller frees (NULL on error); write returns 0 or -1. */
int sw_test_write_file(const char *path, const void *data, size_t len);
char *sw_test_read_file(const char *path, size_t *len);

/* Counts lines of s that contain needle. */
int sw_test_count_lines(const char *s, const char *needle);

#endif
