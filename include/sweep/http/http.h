/*
 * http.h - a narrow HTTP client for talking to wandb: one request in, one
 * capped response out, with retries, time-outs and secret redaction.
 *
 * The bytes go through a transport function pointer. The real one,
 * sw_http_curl_transport (sweep/http/http_curl.c, the only file of the
 * client that calls libcurl), uses libcurl with TLS verification on,
 * connect / low-speed / total time-outs and an error buffer. libcurl is
 * loaded on the first request (base/libcurl.h), so commands that never
 * talk to a server never load it. Tests plug in a fake transport that
 * records the requests and returns canned replies (curl's tests/data model).
 *
 * sw_http_send() adds the policy on top of any transport:
 *   - retries with exponential backoff and jitter on 429 (honouring
 *     Retry-After), 5xx (except 501), time-outs and dropped or refused
 *     connections; no retry on other 4xx (400/401/403/404/409/410/413/422)
 *     nor on TLS or URL errors;
 *   - an interruptible sleep between tries (struct sw_http.stop), so Ctrl-C
 *     is never blocked for a whole backoff;
 *   - the API key (and its base64 "api:KEY" form) is scrubbed from every
 *     error message, and user:password@ parts of URLs are never echoed.
 *
 * defines: struct sw_http_request, struct sw_http_response, enum
 *          sw_http_fail, sw_http_transport_fn, struct sw_http, sw_http_init,
 *          sw_http_set_server, sw_http_release, sw_http_send, sw_http_post_json,
 *          sw_http_response_init, sw_http_response_release,
 *          sw_http_curl_transport, sw_http_sleep (and, through url.h,
 *          the URL and redaction helpers)
 */
#ifndef SW_HTTP_H
#define SW_HTTP_H

#include <signal.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "sweep/http/url.h"

/* One request. Everything is borrowed for the duration of the call. */
struct sw_http_request {
	const char *method;        /* "POST" or "GET" */
	const char *url;           /* absolute http:// or https:// URL */
	const char *content_type;  /* NULL: no Content-Type header */
	const char *body;          /* NULL with body_len 0: empty body */
	size_t body_len;
	const char *user;          /* HTTP basic auth; NULL: none */
	const char *password;
	double timeout_s;          /* whole-transfer limit; 0: the client's */
};

/* Why a transport could not produce an HTTP answer. */
enum sw_http_fail {
	SW_HTTP_FAIL_NONE = 0,
	SW_HTTP_FAIL_TRANSIENT,    /* refused, reset, timed out, DNS: retry */
	SW_HTTP_FAIL_FATAL,        /* TLS, bad URL, body too large: do not */
	SW_HTTP_FAIL_INTR,         /* the stop flag was raised */
};

/* One answer. body is capped at creation (struct sw_http.max_body). */
struct sw_http_response {
	long status;               /* HTTP status; 0 when no answer arrived */
	struct sw_buf body;
	double retry_after_s;      /* Retry-After in seconds; -1 when absent */
	enum sw_http_fail fail;    /* set by the transport when it returns -1 */
	int attempts;              /* tries sw_http_send made */
};

void sw_http_response_init(struct sw_http_response *r, size_t max_body);
void sw_http_response_release(struct sw_http_response *r);

/* A transport performs exactly one try. It returns 0 when an HTTP answer
 * (any status) was read into resp (status, body, retry_after_s), or -1 with
 * resp->fail set and a message in err (curl's error text; it must not
 * contain the password). ctx is struct sw_http.transport_ctx. */
struct sw_http;
typedef int (*sw_http_transport_fn)(struct sw_http *http,
				    const struct sw_http_request *req,
				    struct sw_http_response *resp,
				    struct sw_err *err);

struct sw_http {
	sw_http_transport_fn transport;
	void *transport_ctx;       /* for fake transports; unused by curl */

	double connect_timeout_s;  /* default 10 */
	double total_timeout_s;    /* default 60; per request */
	double low_speed_time_s;   /* abort when < 1 byte/s for this long; 30 */
	size_t max_body;           /* response cap, default 16 MiB */

	int max_tries;             /* total tries per request, default 8 */
	double backoff_min_s;      /* first wait, default 2 */
	double backoff_max_s;      /* cap for waits and Retry-After, default 60 */
	unsigned long long jitter_seed; /* 0: seeded from time and pid */
	unsigned long long jitter_state;

	/* Raised (non-zero) by a signal handler to abandon the request: the
	 * sleep between tries and the curl transfer both watch it. May be NULL. */
	volatile sig_atomic_t *stop;

	/* Sleeps s seconds, returns -1 if interrupted by *stop. NULL: the
	 * default (sw_http_sleep). Tests plug in a recorder. */
	int (*sleep)(struct sw_http *http, double s);

	/* Called before each retry with a one-line reason (already redacted),
	 * e.g. "HTTP 503 from http://h/graphql; retrying in 2.1 s (try 2 of 8)".
	 * NULL: silent. */
	void (*on_retry)(void *ctx, const char *msg);
	void *on_retry_ctx;
	/* Called before each retry (try 2, 3, ...): may give a body to send
	 * instead of the request's, so that a retry carries current data, not
	 * the first try's (the agent's heartbeat re-reads its live runs).
	 * Returns a body the hook owns, valid until its next call or the end
	 * of the request, with its length in *len; NULL re-sends the same.
	 * NULL hook: every try sends the same body. */
	const char *(*retry_body)(void *ctx, size_t *len);
	void *retry_body_ctx;

	/* The server (owned; set by sw_http_set_server): base URL without a
	 * trailing slash, and the API key sent as basic auth `api:KEY` by
	 * gql.h and filestream.h. The key and base64("api:KEY") are scrubbed
	 * from every message. */
	char *base_url;
	char *secret;
	char *secret_b64;

	long last_status;          /* status of the last answer; 0 if none */
};

/* Fills defaults (the curl transport, the time-outs above). Does not
 * allocate. */
void sw_http_init(struct sw_http *http);

/* Sets the server's base URL (a trailing '/' is dropped) and the API key
 * (NULL: none) used for wandb requests; copies both. Returns 0 or -1 (OOM). */
int sw_http_set_server(struct sw_http *http, const char *base_url, const char *key);

/* Frees the base URL and secrets; accepts NULL and zeroed structs. */
void sw_http_release(struct sw_http *http);

/* Sends req with the retry policy above. resp must have been set up with
 * sw_http_response_init; on return it holds the last answer (or status 0).
 * Returns 0 for a 2xx answer; otherwise -1 (SW_ERR_INTR when stopped), with
 * err saying what failed ("HTTP 500 from URL (after 8 tries)" or the
 * transport's text). The body of a failed answer is kept in resp for the
 * caller (GraphQL error bodies). */
int sw_http_send(struct sw_http *http, const struct sw_http_request *req,
		 struct sw_http_response *resp, struct sw_err *err);

/* POST of a JSON body with basic auth user:password (may be NULL). */
int sw_http_post_json(struct sw_http *http, const char *url, const char *json,
		      const char *user, const char *password, double timeout_s,
		      struct sw_http_response *resp, struct sw_err *err);

/* The libcurl transport (sweep/http/http_curl.c). */
int sw_http_curl_transport(struct sw_http *http, const struct sw_http_request *req,
			   struct sw_http_response *resp, struct sw_err *err);

/* Default sleep: waits s seconds in slices of at most 50 ms, returning -1
 * as soon as *http->stop is raised, 0 otherwise. */
int sw_http_sleep(struct sw_http *http, double s);

#endif
