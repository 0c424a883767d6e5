/* hook_server.c - loopback HTTP server for webhook tests; see hook_server.h */
#define _GNU_SOURCE
#include "hook_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ 256
#define MAX_HELD 64

struct sw_hook_server {
	enum sw_hook_mode mode;
	int fail_first;
	int lfd;
	char url[64];
	pthread_t thread;
	pthread_mutex_t lock;
	volatile int stop;
	char *reqs[MAX_REQ];
	int n;
	int held[MAX_HELD];     /* hanging connections */
	int n_held;
};

/* Reads one request from fd; returns a recorded copy or NULL. Gives up when
 * the server stops. */
static char *read_request(struct sw_hook_server *s, int fd)
{
	char buf[65536], *hdr_end = NULL, *rec = NULL, method[16] = "", path[256] = "";
	char ctype[128] = "";
	size_t len = 0, body_len = 0;
	const char *p;

	while (!s->stop) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return NULL;
		len += (size_t)r;
		buf[len] = '\0';
		if (!hdr_end) {
			hdr_end = strstr(buf, "\r\n\r\n");
			if (hdr_end) {
				p = strcasestr(buf, "\r\ncontent-length:");
				body_len = p ? strtoul(p + 17, NULL, 10) : 0;
			}
		}
		if (hdr_end && len >= (size_t)(hdr_end + 4 - buf) + body_len)
			break;
		if (len == sizeof(buf) - 1)
			return NULL;
	}
	if (s->stop || !hdr_end)
		return NULL;
	sscanf(buf, "%15s %255s", method, path);
	p = strcasestr(buf, "\r\ncontent-type:");
	if (p && p < hdr_end) {
		p += 15;
		while (*p == ' ')
			p++;
		snprintf(ctype, sizeof(ctype), "%.*s", (int)strcspn(p, "\r"), p);
	}
	if (asprintf(&rec, "%s %s\nContent-Type: %s\n\n%.*s", method, path, ctype,
		     (int)body_len, hdr_end + 4) < 0)
		return NULL;
	return rec;
}

static void *serve(void *arg)
{
	struct sw_hook_server *s = arg;

	while (!s->stop) {
		struct pollfd pfd = { s->lfd, POLLIN, 0 };
		char *rec;
		int fd, idx, fail;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		rec = read_request(s, fd);
		if (!rec) {
			close(fd);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		idx = s->n;
		if (s->n < MAX_REQ)
			s->reqs[s->n++] = rec;
		else
			free(rec);
		pthread_mutex_unlock(&s->lock);
		if (s->mode == SW_HOOK_HANG) {
			if (s->n_held < MAX_HELD)
				s->held[s->n_held++] = fd;
			else
				close(fd);
			continue;
		}
		fail = s->mode == SW_HOOK_500 ||
		       (s->mode == SW_HOOK_FAIL_FIRST && idx < s->fail_first);
		if (fail) {
			static const char r500[] = "HTTP/1.1 500 Internal Server Error\r\n"
				"Content-Length: 4\r\nConnection: close\r\n\r\nfail";
			(void)!write(fd, r500, sizeof(r500) - 1);
		} else {
			static const char r200[] = "HTTP/1.1 200 OK\r\n"
				"Content-Length: 2\r\nConnection: close\r\n\r\nok";
			(void)!write(fd, r200, sizeof(r200) - 1);
		}
		close(fd);
	}
	return NULL;
}

struct sw_hook_server *sw_hook_server_start(enum sw_hook_mode mode, int fail_first)
{
	struct sw_hook_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);

	if (!s)
		return NULL;
	s->mode = mode;
	s->fail_first = fail_first;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(s->lfd, 64) ||
	    getsockname(s->lfd, (struct sockaddr *)&addr, &alen)) {
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return NULL;
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d/hook", ntohs(addr.sin_port));
	if (pthread_create(&s->thread, NULL, serve, s)) {
		close(s->lfd);
		free(s);
		return NULL;
	}
	return s;
}

const char *sw_hook_server_url(struct sw_hook_server *s)
{
	return s->url;
}

int sw_hook_server_count(struct sw_hook_server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

char *sw_hook_server_request(struct sw_hook_server *s, int i)
{
	char *r = NULL;

	pthread_mutex_lock(&s->lock);
	if (i >= 0 && i < s->n)
		r = strdup(s->reqs[i]);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int sw_hook_server_wait(struct sw_hook_server *s, int n, double timeout_s)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int k, waited;

	for (waited = 0; waited < (int)(timeout_s * 100); waited++) {
		k = sw_hook_server_count(s);
		if (k >= n)
			return k;
		nanosleep(&ts, NULL);
	}
	return sw_hook_server_count(s);
}

void sw_hook_server_stop(struct sw_hook_server *s)
{
	int i;

	if (!s)
		return;
	s->stop = 1;
	pthread_join(s->thread, NULL);
	close(s->lfd);
	for (i = 0; i < s->n_held; i++)
		close(s->held[i]);
	for (i = 0; i < s->n; i++)
		free(s->reqs[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
