/* http_server.c - see tests/support/http_server.h */
#define _GNU_SOURCE
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024)
#define BODY_MAX (16 * 1024 * 1024)

struct sw_test_http {
	const struct sw_test_http_route *routes;
	int n_routes;
	int listen_fd;
	int wake[2];            /* stop pipe: written by sw_test_http_stop */
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	char **requests;        /* recorded requests */
	int n_requests;
};

static int stopping(struct sw_test_http *s, int wait_ms)
{
	struct pollfd p = { s->wake[0], POLLIN, 0 };

	return poll(&p, 1, wait_ms) > 0;
}

/* Reads until the end of the head and the Content-Length body; returns a
 * malloc'd request (head + body) or NULL. */
static char *read_request(struct sw_test_http *s, int fd)
{
	char *buf = malloc(HEAD_MAX + 1), *end = NULL;
	size_t len = 0, need = 0, head_len = 0;

	if (!buf)
		return NULL;
	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { s->wake[0], POLLIN, 0 } };
		ssize_t r;

		if (end && len >= need)
			break;
		if (poll(p, 2, 10000) <= 0 || p[1].revents)
			goto fail;
		if (!end && len >= HEAD_MAX)
			goto fail;
		r = recv(fd, buf + len, (end ? need : HEAD_MAX) - len, 0);
		if (r <= 0)
			goto fail;
		len += (size_t)r;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\ncontent-length:");
			size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			char *nb;

			head_len = (size_t)(end - buf) + 4;
			if (body > BODY_MAX)
				goto fail;
			need = head_len + body;
			nb = realloc(buf, (need > len ? need : len) + 1);
			if (!nb)
				goto fail;
			buf = nb;
			end = buf + head_len - 4;
		}
	}
	buf[len] = '\0';
	return buf;
fail:
	free(buf);
	return NULL;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void send_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void serve(struct sw_test_http *s, int fd)
{
	static const struct sw_test_http_route not_found = {
		NULL, NULL, 404, "text/plain", "not found\n", 10, -1, 0, 0
	};
	const struct sw_test_http_route *rt = &not_found;
	char method[16] = "", target[1024] = "", head[512];
	char *req = read_request(s, fd), **grown;
	size_t body;
	int i;

	if (!req)
		return;
	pthread_mutex_lock(&s->lock);
	grown = realloc(s->requests, (s->n_requests + 1) * sizeof(*grown));
	if (grown) {
		s->requests = grown;
		s->requests[s->n_requests++] = req;
	}
	pthread_mutex_unlock(&s->lock);
	sscanf(req, "%15s %1023s", method, target);
	if (!grown)
		free(req);
	for (i = 0; i < s->n_routes; i++) {
		const struct sw_test_http_route *r = &s->routes[i];

		if ((!r->method || !strcmp(r->method, method)) &&
		    (!r->path || !strcmp(r->path, target))) {
			rt = r;
			break;
		}
	}
	if (rt->silent_ms > 0 && stopping(s, rt->silent_ms))
		return;
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", rt->status, reason(rt->status),
		 rt->content_type ? rt->content_type : "application/octet-stream",
		 rt->len);
	send_all(fd, head, strlen(head));
	body = rt->send_bytes < 0 || (size_t)rt->send_bytes > rt->len
		       ? rt->len : (size_t)rt->send_bytes;
	if (strcmp(method, "HEAD") != 0 && body)
		send_all(fd, rt->body, body);
	if (rt->stall_ms > 0)
		stopping(s, rt->stall_ms);
}

static void *run(void *arg)
{
	struct sw_test_http *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->listen_fd, POLLIN, 0 },
				       { s->wake[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(s, fd);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

struct sw_test_http *sw_test_http_start(const struct sw_test_http_route *routes,
					int n)
{
	struct sw_test_http *s = calloc(1, sizeof(*s));
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);

	if (!s)
		return NULL;
	s->routes = routes;
	s->n_routes = n;
	s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s->listen_fd < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->listen_fd, 16) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&addr, &alen) < 0 ||
	    pipe2(s->wake, O_CLOEXEC) < 0) {
		fprintf(stderr, "http_server: cannot listen on 127.0.0.1: %s\n",
			strerror(errno));
		goto fail;
	}
	s->port = ntohs(addr.sin_port);
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		fprintf(stderr, "http_server: cannot start thread\n");
		goto fail;
	}
	return s;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}

char *sw_test_http_url(const struct sw_test_http *s, const char *path)
{
	char *u = NULL;

	if (asprintf(&u, "http://127.0.0.1:%d%s", s->port, path ? path : "") < 0)
		return NULL;
	return u;
}

int sw_test_http_count(struct sw_test_http *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n_requests;
	pthread_mutex_unlock(&s->lock);
	return n;
}

char *sw_test_http_request(struct sw_test_http *s, int i)
{
	char *r = NULL;

	pthread_mutex_lock(&s->lock);
	if (i >= 0 && i < s->n_requests)
		r = strdup(s->requests[i]);
	pthread_mutex_unlock(&s->lock);
	return r;
}

void sw_test_http_stop(struct sw_test_http *s)
{
	int i;

	if (!s)
		return;
	if (write(s->wake[1], "x", 1) < 0)
		perror("http_server: stop");
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	close(s->wake[0]);
	close(s->wake[1]);
	for (i = 0; i < s->n_requests; i++)
		free(s->requests[i]);
	free(s->requests);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
