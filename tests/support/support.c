/* support.c - see tests/support/support.h */
#define _GNU_SOURCE
#include "support.h"
#include "base/rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *sw_test_bin(void)
{
	const char *b = getenv("SWEEP_BIN");

	return b && *b ? b : "bin/sweep";
}

struct capture {
	char *data;
	size_t len, alloc;
};

static void capture_add(struct capture *c, const char *buf, size_t n)
{
	if (c->len + n + 1 > c->alloc) {
		c->alloc = (c->len + n + 1) * 2;
		c->data = realloc(c->data, c->alloc);
		if (!c->data)
			abort();
	}
	memcpy(c->data + c->len, buf, n);
	c->len += n;
	c->data[c->len] = '\0';
}

double sw_test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int sw_test_run(struct sw_test_proc *p, const char *const argv[],
		const char *input, const char *const env[], int timeout_s)
{
	return sw_test_run_for(p, argv, input, env, (double)timeout_s);
}

int sw_test_run_for(struct sw_test_proc *p, const char *const argv[],
		    const char *input, const char *const env[], double timeout_s)
{
	int in[2], out[2], err[2], status = 0, i;
	struct capture co = { 0 }, ce = { 0 };
	size_t in_len = input ? strlen(input) : 0, in_off = 0;
	double deadline = sw_test_now() + timeout_s;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	if (pipe(in) || pipe(out) || pipe(err))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	signal(SIGPIPE, SIG_IGN);
	if (in_len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	for (;;) {
		struct pollfd fds[3] = {
			{ out[0], POLLIN, 0 }, { err[0], POLLIN, 0 }, { in[1], POLLOUT, 0 }
		};
		char buf[65536];
		ssize_t n;
		int left = (int)((deadline - sw_test_now()) * 1000);

		if (fds[0].fd < 0 && fds[1].fd < 0)
			break;
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(fds, 3, left) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			int *fd = i == 0 ? &out[0] : &err[0];

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0) {
				capture_add(i == 0 ? &co : &ce, buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
		if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = write(in[1], input + in_off, in_len - in_off);
			if (n > 0)
				in_off += (size_t)n;
			if (n < 0 || in_off == in_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	waitpid(pid, &status, 0);
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	capture_add(&co, "", 0);
	capture_add(&ce, "", 0);
	p->out = co.data;
	p->err = ce.data;
	return 0;
}

int sw_test_sweep(struct sw_test_proc *p, ...)
{
	const char *argv[64];
	const char *a;
	int n = 0;
	va_list ap;

	argv[n++] = sw_test_bin();
	va_start(ap, p);
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return sw_test_run(p, argv, NULL, NULL, 120);
}

void sw_test_proc_release(struct sw_test_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

char *sw_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (asprintf(&path, "%s/sweep-test-XXXXXX", base && *base ? base : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

void sw_test_rmtree(const char *path)
{
	char *cmd;

	if (!path || !*path || asprintf(&cmd, "rm -rf '%s'", path) < 0)
		return;
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

int sw_test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

char *sw_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct capture c = { 0 };
	char buf[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		capture_add(&c, buf, n);
	fclose(f);
	capture_add(&c, "", 0);
	if (len)
		*len = c.len;
	return c.data;
}

int sw_test_count_lines(const char *s, const char *needle)
{
	int count = 0;

	while (s && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		if (memmem(s, n, needle, strlen(needle)))
			count++;
		s += n + (nl ? 1 : 0);
	}
	return count;
}

void sw_test_run_args(struct sw_test_proc *p, const char *const *args,
		      const char *const *env, int timeout_s)
{
	const char *argv[40];
	int i = 0;

	argv[i++] = sw_test_bin();
	for (; *args && i < 39; args++)
		argv[i++] = *args;
	argv[i] = NULL;
	assert_int_equal(sw_test_run(p, argv, NULL, env, timeout_s), 0);
}

void sw_test_expect_status(const struct sw_test_proc *p, int status)
{
	if (p->status != status)
		fprintf(stderr, "exit %d, expected %d\n--- stdout\n%s--- stderr\n%s\n",
			p->status, status, p->out, p->err);
	assert_int_equal(p->status, status);
}

void sw_test_sleep(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *sw_test_sweep_dir(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char *found = NULL;
	int n = 0;

	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		free(found);
		found = NULL;
		assert_true(asprintf(&found, "%s/%s", root, e->d_name) >= 0);
	}
	closedir(d);
	if (n != 1) {
		free(found);
		return NULL;
	}
	return found;
}

const char *sw_test_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

pid_t sw_test_spawn(const char *const *args, char *const *vars, int n,
		    int *err_fd)
{
	const char *argv[40];
	int fds[2], i = 0;
	pid_t pid;

	argv[i++] = sw_test_bin();
	for (; *args && i < 39; args++)
		argv[i++] = *args;
	argv[i] = NULL;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		for (i = 0; i < n; i++)
			putenv(vars[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	*err_fd = fds[0];
	return pid;
}

pid_t sw_test_spawn_files(const char *const *args, const char *const *env,
			  const char *cwd, const char *out_path, const char *err_path)
{
	const char *argv[40];
	pid_t pid;
	int i = 0;

	argv[i++] = sw_test_bin();
	for (; *args && i < 39; args++)
		argv[i++] = *args;
	argv[i] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int e = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int n = open("/dev/null", O_RDONLY);

		if (o < 0 || e < 0 || n < 0 || (cwd && chdir(cwd) < 0))
			_exit(127);
		dup2(n, 0);
		dup2(o, 1);
		dup2(e, 2);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		signal(SIGINT, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

pid_t sw_test_interrupt(pid_t pid, int err_fd, char *buf, size_t size,
			int tenths, int *status)
{
	pid_t done = 0;
	size_t len = 0;
	ssize_t n;
	int i;

	*status = 0;
	kill(pid, SIGINT);
	for (i = 0; i < tenths && !done; i++) {
		done = waitpid(pid, status, WNOHANG);
		if (!done)
			usleep(100 * 1000);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, status, 0);
	}
	while (len < size - 1 && (n = read(err_fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(err_fd);
	return done;
}

char *sw_test_strf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

char *sw_test_pathf(const char *dir, const char *fmt, ...)
{
	va_list ap;
	char *rel = NULL, *p = NULL;

	va_start(ap, fmt);
	assert_true(vasprintf(&rel, fmt, ap) > 0);
	va_end(ap);
	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	free(rel);
	return p;
}

void sw_test_put(const char *dir, const char *name, const char *text)
{
	char *p = sw_test_pathf(dir, "%s", name);

	assert_int_equal(sw_test_write_file(p, text, strlen(text)), 0);
	free(p);
}

float *sw_test_uniform_floats(struct sw_rng *rng, size_t n, float lo, float hi)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = lo + (hi - lo) * (float)sw_rng_double(rng);
	return p;
}
