/*
 * hook_server.h - a tiny HTTP/1.1 server on 127.0.0.1 for webhook tests,
 * run in a thread of the test process. It reads each request (headers and a
 * Content-Length body), records it, and answers according to its mode:
 * 200, 500, 500 for the first N requests then 200, or never (the connection
 * is held open until the server stops: a hanging webhook).
 *
 * defines: enum sw_hook_mode, struct sw_hook_server, sw_hook_server_start,
 *          sw_hook_server_url, sw_hook_server_count, sw_hook_server_request,
 *          sw_hook_server_wait, sw_hook_server_stop
 */
#ifndef SW_TEST_HOOK_SERVER_H
#define SW_TEST_HOOK_SERVER_H

enum sw_hook_mode { SW_HOOK_OK, SW_HOOK_500, SW_HOOK_FAIL_FIRST, SW_HOOK_HANG };

struct sw_hook_server;

/* Starts listening on an ephemeral loopback port. fail_first is the number
 * of 500 answers before 200s in SW_HOOK_FAIL_FIRST. NULL on failure. */
struct sw_hook_server *sw_hook_server_start(enum sw_hook_mode mode, int fail_first);

/* "http://127.0.0.1:PORT/hook" (owned by the server). */
const char *sw_hook_server_url(struct sw_hook_server *s);

/* Requests fully received so far. */
int sw_hook_server_count(struct sw_hook_server *s);

/* Copy of request i: "METHOD PATH\nContent-Type: X\n\nBODY" (caller frees),
 * NULL when there is no such request. */
char *sw_hook_server_request(struct sw_hook_server *s, int i);

/* Waits until at least n requests arrived or timeout_s passed; returns the
 * count. */
int sw_hook_server_wait(struct sw_hook_server *s, int n, double timeout_s);

/* Stops the thread, closes every connection, frees s. */
void sw_hook_server_stop(struct sw_hook_server *s);

#endif
