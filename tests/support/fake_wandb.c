/* fake_wandb.c - see tests/support/fake_wandb.h */
#define _GNU_SOURCE
#include "fake_wandb.h"
#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int sw_fake_wandb_start(struct sw_fake_wandb *f, const char *config_json)
{
	const char *script = getenv("SWEEP_FAKE_WANDB");
	char line[64];
	size_t n = 0;
	int out[2];
	pid_t pid;

	memset(f, 0, sizeof(*f));
	if (!script || !*script)
		script = "tests/fake_wandb.py";
	f->dir = sw_test_tmpdir();
	if (!f->dir)
		return -1;
	snprintf(f->record, sizeof(f->record), "%s/record.json", f->dir);
	if (pipe(out) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* never outlive the test, even when an assertion jumps past stop */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		execlp("python3", "python3", script, "--record", f->record, "--config",
		       config_json ? config_json : "{}", (char *)NULL);
		fprintf(stderr, "exec python3: %s\n", strerror(errno));
		_exit(127);
	}
	close(out[1]);
	f->pid = pid;
	while (n < sizeof(line) - 1) {
		struct pollfd p = { out[0], POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 15000) <= 0)
			break;
		r = read(out[0], line + n, 1);
		if (r <= 0)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(out[0]);
	f->port = atoi(line);
	if (f->port <= 0) {
		fprintf(stderr, "fake_wandb.py did not start (got '%s')\n", line);
		sw_fake_wandb_stop(f);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	return 0;
}

void sw_fake_wandb_stop(struct sw_fake_wandb *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	if (f->dir) {
		sw_test_rmtree(f->dir);
		free(f->dir);
		f->dir = NULL;
	}
}

json_t *sw_fake_wandb_record(struct sw_fake_wandb *f)
{
	return json_load_file(f->record, 0, NULL);
}

int sw_fake_wandb_control(struct sw_fake_wandb *f, const char *config_json)
{
	struct sockaddr_in a;
	char head[256], buf[512];
	size_t len = strlen(config_json);
	int fd, ret = -1;
	ssize_t r;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)f->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		goto done;
	snprintf(head, sizeof(head), "POST /_control/config HTTP/1.0\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
	if (write(fd, head, strlen(head)) < 0 || write(fd, config_json, len) < 0)
		goto done;
	r = read(fd, buf, sizeof(buf) - 1);
	if (r <= 0)
		goto done;
	buf[r] = '\0';
	ret = strstr(buf, " 200 ") ? 0 : -1;
done:
	close(fd);
	return ret;
}

int sw_fake_wandb_requests(json_t *record, const char *op)
{
	json_t *reqs = json_object_get(record, "requests"), *r;
	size_t i;
	int n = 0;

	json_array_foreach(reqs, i, r) {
		const char *o = json_string_value(json_object_get(r, "op"));

		if (!op || (o && !strcmp(o, op)))
			n++;
	}
	return n;
}

int sw_fake_wandb_env(char **vars, int *n, const char *home, const char *base_url,
		      const char *key, int tries)
{
	static const char *const empty[] = {
		"WANDB_ENTITY=", "WANDB_PROJECT=", "WANDB_MODE=", "NETRC=",
		"SWEEP_HTTP_BACKOFF=0.02", NULL
	};
	int i;

	if (asprintf(&vars[(*n)++], "HOME=%s", home) < 0 ||
	    asprintf(&vars[(*n)++], "XDG_CACHE_HOME=%s/cache", home) < 0 ||
	    asprintf(&vars[(*n)++], "WANDB_BASE_URL=%s", base_url) < 0 ||
	    asprintf(&vars[(*n)++], "WANDB_API_KEY=%s", key ? key : "") < 0 ||
	    asprintf(&vars[(*n)++], "SWEEP_HTTP_TRIES=%d", tries) < 0)
		return -1;
	for (i = 0; empty[i]; i++)
		if (!(vars[(*n)++] = strdup(empty[i])))
			return -1;
	return 0;
}

int sw_fake_env_init(struct sw_fake_env *e, const char *base_url,
		     const char *key, int tries)
{
	memset(e, 0, sizeof(*e));
	e->tmp = sw_test_tmpdir();
	if (!e->tmp)
		return -1;
	return sw_fake_wandb_env(e->vars, &e->n, e->tmp, base_url, key, tries);
}

int sw_fake_env_add(struct sw_fake_env *e, const char *kv)
{
	if (e->n >= SW_FAKE_ENV_MAX || !(e->vars[e->n] = strdup(kv)))
		return -1;
	e->n++;
	return 0;
}

void sw_fake_env_free(struct sw_fake_env *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		free(e->vars[i]);
	sw_test_rmtree(e->tmp);
	free(e->tmp);
	memset(e, 0, sizeof(*e));
}
