/*
 * support.h - helpers shared by the test programs (linked into each).
 *
 * sw_test_run() runs the sweep binary (or any program) with arguments and
 * optional stdin, captures stdout, stderr and the exit status: the
 * end-to-end tests check all three. The binary is $SWEEP_BIN (set by
 * `make test`), default bin/sweep.
 *
 * defines: struct sw_test_proc, sw_test_run, sw_test_run_for, sw_test_now, sw_test_sweep, sw_test_proc_release,
 *          sw_test_tmpdir, sw_test_write_file, sw_test_read_file, sw_test_bin,
 *          sw_test_run_args, sw_test_expect_status, sw_test_sleep,
 *          sw_test_sweep_dir, sw_test_str, sw_test_spawn, sw_test_interrupt,
 *          sw_test_pathf, sw_test_put, sw_test_strf, sw_test_spawn_files,
 *          sw_test_uniform_floats
 */
#ifndef SW_TEST_SUPPORT_H
#define SW_TEST_SUPPORT_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

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

struct sw_rng;
/* n floats uniform in [lo, hi) from rng (at least one allocated; the caller
 * frees them; fails the test when out of memory). */
float *sw_test_uniform_floats(struct sw_rng *rng, size_t n, float lo, float hi);

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

/* Runs the sweep binary with args (NULL-terminated, at most 38) and extra
 * environment entries env (may be NULL); fails the test when it cannot be
 * started. */
void sw_test_run_args(struct sw_test_proc *p, const char *const *args,
		      const char *const *env, int timeout_s);

/* Asserts p's exit status, first printing what the binary said when it is
 * not the expected one. */
void sw_test_expect_status(const struct sw_test_proc *p, int status);

/* Sleeps s seconds (again after a signal). */
void sw_test_sleep(double s);

/* The one sweep directory under the results directory root (caller frees),
 * or NULL when there is none or more than one. */
char *sw_test_sweep_dir(const char *root);

/* A string member of a JSON object; "" when it is missing or not a
 * string. */
const char *sw_test_str(const json_t *o, const char *key);

/* Starts the sweep binary with args (NULL-terminated, at most 38) in the
 * background, with the n entries "K=V" of vars added to its environment
 * and its stderr into a pipe whose read end is *err_fd. Returns its pid. */
pid_t sw_test_spawn(const char *const *args, char *const *vars, int n,
		    int *err_fd);

/* Starts the sweep binary with args (NULL-terminated, at most 38) in the
 * background: stdin from /dev/null, stdout and stderr appended to out_path
 * and err_path, in directory cwd (NULL: this one), with the entries "K=V"
 * of env (NULL-terminated, may be NULL) added, SIGINT at its default.
 * Returns its pid. */
pid_t sw_test_spawn_files(const char *const *args, const char *const *env,
			  const char *cwd, const char *out_path, const char *err_path);

/* Ctrl-C for a child from sw_test_spawn: sends SIGINT, waits up to tenths
 * tenths of a second for it to exit (then SIGKILLs it), and reads what it
 * wrote to err_fd (closed then) into buf, NUL-terminated. Its wait status
 * goes to *status; returns its pid when it exited by itself, else 0. */
pid_t sw_test_interrupt(pid_t pid, int err_fd, char *buf, size_t size,
			int tenths, int *status);

/* The formatted string (caller frees); fails the test when out of memory. */
char *sw_test_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The path dir/FMT... (caller frees). */
char *sw_test_pathf(const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes text to dir/name; fails the test when it cannot. */
void sw_test_put(const char *dir, const char *name, const char *text);

#endif
