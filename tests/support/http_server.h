/*
 * http_server.h - a tiny HTTP/1.1 server on 127.0.0.1 for tests, run in a
 * thread of the test process. It answers from a table of canned routes and
 * can misbehave on purpose: send only part of a body and hang up
 * (truncated download), stall for a while (a server that hangs), or return
 * any status code. It records every request (head and body) so tests can
 * check exactly what a client sent.
 *
 * One connection at a time, "Connection: close" on every reply.
 *
 * defines: struct sw_test_http_route, struct sw_test_http,
 *          sw_test_http_start, sw_test_http_url, sw_test_http_count,
 *          sw_test_http_request, sw_test_http_stop
 */
#ifndef SW_TEST_HTTP_SERVER_H
#define SW_TEST_HTTP_SERVER_H

#include <stddef.h>

struct sw_test_http_route {
	const char *method;       /* "GET", "POST"...; NULL: any */
	const char *path;         /* exact request target ("/x.tar.gz");
	                           * NULL: any (a catch-all; put it last) */
	int status;               /* 200, 404, 500... */
	const char *content_type; /* NULL: application/octet-stream */
	const void *body;         /* borrowed; must outlive the server */
	size_t len;               /* body length, sent as Content-Length */
	long send_bytes;          /* < 0: send the whole body; else send only
	                           * this many bytes of it (a truncated reply) */
	int stall_ms;             /* after sending, wait this long (or until
	                           * sw_test_http_stop) before closing */
	int silent_ms;            /* before sending anything, wait this long
	                           * (a server that accepts but never answers) */
};

struct sw_test_http;

/* Starts a server on an ephemeral port of 127.0.0.1 answering from
 * routes[0..n-1] (borrowed, first match wins; no match: 404). Returns
 * the server, or NULL (with a message on stderr) if it could not start. */
struct sw_test_http *sw_test_http_start(const struct sw_test_http_route *routes,
					int n);

/* "http://127.0.0.1:PORT" + path, a new string the caller frees. */
char *sw_test_http_url(const struct sw_test_http *s, const char *path);

/* Number of requests received so far. */
int sw_test_http_count(struct sw_test_http *s);

/* A copy of request i (0-based): the head as received (request line and
 * headers, ending with the blank line) followed by the body; the caller
 * frees it. NULL if there is no such request. */
char *sw_test_http_request(struct sw_test_http *s, int i);

/* Stops the server (interrupting a stall), joins its thread and frees it.
 * Accepts NULL. */
void sw_test_http_stop(struct sw_test_http *s);

#endif
