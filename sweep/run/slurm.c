/* slurm.c - Slurm's client commands; see include/sweep/run/slurm.h */
#define _GNU_SOURCE
#include "sweep/run/slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ==== Running a command ==== */

/* Reads fd to its end into a new string. */
static char *read_all(int fd)
{
	size_t len = 0, cap = 1024;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		if (cap - len < 512) {
			grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	return buf;
}

int sw_slurm_exec(const char *const argv[], char **out, int *status,
		  struct sw_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def;
	int fds[2], rc, wst;
	pid_t pid;

	*out = NULL;
	*status = 127;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return sw_errorf(err, "cannot run '%s': %s", argv[0], strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawnattr_init(&attr);
	/* its own process group: a Ctrl-C meant for sweep must not cut a
	 * scancel or sbatch short; SIGPIPE back to its default */
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		if (rc == ENOENT)
			return sw_errorf(err, "'%s' not found on PATH", argv[0]);
		*status = 126;
		return sw_errorf(err, "cannot run '%s': %s", argv[0], strerror(rc));
	}
	*out = read_all(fds[0]);
	close(fds[0]);
	while (waitpid(pid, &wst, 0) < 0)
		if (errno != EINTR)
			return sw_errorf(err, "cannot wait for '%s': %s", argv[0],
					 strerror(errno));
	*status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	if (!*out)
		return sw_errorf(err, "out of memory");
	return 0;
}

/* ==== --sbatch ARGS ==== */

char **sw_slurm_split_args(const char *s, size_t *n, struct sw_err *err)
{
	size_t cap = 8, count = 0, len;
	char **words = calloc(cap, sizeof(*words)), **grown, *w = NULL, quote;
	int in_word = 0;

	if (!words || !(w = malloc(strlen(s) + 1)))
		goto oom;
	len = 0;
	for (;; s++) {
		if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n') {
			if (in_word) {
				w[len] = '\0';
				if (count + 2 > cap) {
					grown = realloc(words, cap * 2 * sizeof(*words));
					if (!grown)
						goto oom;
					words = grown;
					cap *= 2;
				}
				if (!(words[count] = strdup(w)))
					goto oom;
				words[++count] = NULL;
				len = 0;
				in_word = 0;
			}
			if (*s == '\0')
				break;
			continue;
		}
		in_word = 1;
		if (*s == '\'' || *s == '"') {
			quote = *s++;
			while (*s && *s != quote) {
				if (quote == '"' && *s == '\\' && s[1] && strchr("\"\\$`", s[1]))
					s++;
				w[len++] = *s++;
			}
			if (!*s) {
				sw_errorf(err, "--sbatch: unclosed %c quote", quote);
				goto fail;
			}
		} else if (*s == '\\' && s[1]) {
			w[len++] = *++s;
		} else {
			w[len++] = *s;
		}
	}
	free(w);
	*n = count;
	return words;
oom:
	sw_errorf(err, "out of memory");
fail:
	for (len = 0; words && len < count; len++)
		free(words[len]);
	free(words);
	free(w);
	return NULL;
}

enum sw_slurm_fate sw_slurm_job_fate(const struct sw_slurm_job *job)
{
	int node_lost = !strcmp(job->state, "PREEMPTED") || !strcmp(job->state, "NODE_FAIL");

	if (node_lost || !strncmp(job->state, "REQUEUE", 7))
		return SW_SLURM_TAKEN;
	if (sw_slurm_state_terminal(job->state))
		return SW_SLURM_ENDED;      /* a requeued job's second life ended */
	return job->restarts > 0 ? SW_SLURM_TAKEN : SW_SLURM_GOING;
}

const char *sw_slurm_taken_why(const struct sw_slurm_job *job)
{
	if (!strcmp(job->state, "PREEMPTED") || !strcmp(job->state, "NODE_FAIL"))
		return sw_slurm_state_failure(job->state);
	return "was requeued by Slurm";
}

char *sw_slurm_shell_quote(const char *s)
{
	size_t n = 3;
	const char *p;
	char *q, *out;

	for (p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	out = malloc(n);
	if (!out)
		return NULL;
	q = out;
	*q++ = '\'';
	for (p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(q, "'\\''", 4);
			q += 4;
		} else {
			*q++ = *p;
		}
	}
	*q++ = '\'';
	*q = '\0';
	return out;
}

/* ==== Jobs ==== */

/* Copies the value of " KEY=" in line (up to the next space) into out. */
static void field(const char *line, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key), len;
	const char *p = line;

	out[0] = '\0';
	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=')
			break;
		p += klen;
	}
	if (!p)
		return;
	p += klen + 1;
	len = strcspn(p, " \n");
	if (len >= size)
		len = size - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

int sw_slurm_job_parse(const char *line, struct sw_slurm_job *job)
{
	char code[32], *colon;

	memset(job, 0, sizeof(*job));
	field(line, "JobId", job->id, sizeof(job->id));
	if (!job->id[0])
		return -1;
	field(line, "JobName", job->name, sizeof(job->name));
	field(line, "JobState", job->state, sizeof(job->state));
	field(line, "Reason", job->reason, sizeof(job->reason));
	field(line, "Restarts", code, sizeof(code));
	job->restarts = atoi(code);
	field(line, "ExitCode", code, sizeof(code));
	job->exit_code = atoi(code);
	colon = strchr(code, ':');
	if (colon && atoi(colon + 1) > 0 && job->exit_code == 0)
		job->exit_code = 128 + atoi(colon + 1);
	return 0;
}

int sw_slurm_job_query(const char *id, struct sw_slurm_job *job,
		       struct sw_err *err)
{
	const char *argv[] = { "scontrol", "show", "job", "-o", id, NULL };
	char *out = NULL;
	int status, ret;

	memset(job, 0, sizeof(*job));
	if (sw_slurm_exec(argv, &out, &status, err) < 0) {
		free(out);
		return -1;
	}
	if (status != 0 && strstr(out, "Invalid job id")) {
		ret = 0;
	} else if (status != 0) {
		ret = sw_errorf(err, "scontrol show job %s: %s", id, out);
	} else {
		ret = sw_slurm_job_parse(out, job) < 0 ? 0 : 1;
		/* a job id reused for another job is another job */
		if (ret == 1 && strcmp(job->id, id))
			ret = 0;
	}
	free(out);
	return ret;
}

int sw_slurm_find_by_name(const char *name, char *id, size_t size,
			  struct sw_err *err)
{
	const char *argv[] = { "squeue", "--me", "-h", "-n", name, "-o", "%i", NULL };
	char *out = NULL;
	int status, ret = 0;
	size_t len;

	id[0] = '\0';
	if (sw_slurm_exec(argv, &out, &status, err) < 0) {
		free(out);
		return -1;
	}
	if (status != 0) {
		ret = sw_errorf(err, "squeue: %s", out);
	} else if (out[0]) {
		len = strcspn(out, "\n ");
		if (len < size) {
			memcpy(id, out, len);
			id[len] = '\0';
			ret = 1;
		}
	}
	free(out);
	return ret;
}

int sw_slurm_state_terminal(const char *state)
{
	static const char *const ended[] = {
		"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY",
		"NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT",
		"REVOKED",
	};
	size_t i;

	for (i = 0; i < sizeof(ended) / sizeof(ended[0]); i++)
		if (!strcmp(state, ended[i]))
			return 1;
	return 0;
}

const char *sw_slurm_state_failure(const char *state)
{
	static const char *const names[][2] = {
		{ "TIMEOUT", "reached its time limit" },
		{ "OUT_OF_MEMORY", "ran out of memory" },
		{ "NODE_FAIL", "failed with its node" },
		{ "CANCELLED", "was cancelled by someone else" },
		{ "PREEMPTED", "was preempted" },
		{ "BOOT_FAIL", "could not boot its node" },
		{ "DEADLINE", "reached its deadline" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(state, names[i][0]))
			return names[i][1];
	return NULL;
}
