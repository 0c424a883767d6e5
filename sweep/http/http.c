/* http.c - the HTTP client's requests and retry policy; see
 * include/sweep/http/http.h (URL helpers and redaction: url.c). The bytes go through http->transport. */
#define _GNU_SOURCE
#include "sweep/http/http.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void sw_http_init(struct sw_http *http)
{
	memset(http, 0, sizeof(*http));
	http->transport = sw_http_curl_transport;
	http->connect_timeout_s = 10;
	http->total_timeout_s = 60;
	http->low_speed_time_s = 30;
	http->max_body = 16u << 20;
	http->max_tries = 8;
	http->backoff_min_s = 2;
	http->backoff_max_s = 60;
}

int sw_http_set_server(struct sw_http *http, const char *base_url, const char *key)
{
	char *userpass = NULL;
	size_t n;
	int ret = -1;

	free(http->base_url);
	http->base_url = NULL;
	if (base_url) {
		http->base_url = strdup(base_url);
		if (!http->base_url)
			return -1;
		n = strlen(http->base_url);
		while (n > 0 && http->base_url[n - 1] == '/')
			http->base_url[--n] = '\0';
	}
	if (http->secret)
		explicit_bzero(http->secret, strlen(http->secret));
	free(http->secret);
	free(http->secret_b64);
	http->secret = http->secret_b64 = NULL;
	if (!key || !*key)
		return 0;
	http->secret = strdup(key);
	if (!http->secret || asprintf(&userpass, "api:%s", key) < 0) {
		userpass = NULL;
		goto done;
	}
	http->secret_b64 = sw_base64(userpass, strlen(userpass));
	if (!http->secret_b64)
		goto done;
	ret = 0;
done:
	free(userpass);
	return ret;
}

void sw_http_release(struct sw_http *http)
{
	if (!http)
		return;
	free(http->base_url);
	http->base_url = NULL;
	if (http->secret)
		explicit_bzero(http->secret, strlen(http->secret));
	free(http->secret);
	free(http->secret_b64);
	http->secret = http->secret_b64 = NULL;
}

void sw_http_response_init(struct sw_http_response *r, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	sw_buf_init(&r->body, max_body);
	r->retry_after_s = -1;
}

void sw_http_response_release(struct sw_http_response *r)
{
	if (!r)
		return;
	sw_buf_release(&r->body);
}

/* ==== Sleeping and jitter ==== */

int sw_http_sleep(struct sw_http *http, double s)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		double left;
		struct timespec ts;

		if (http->stop && *http->stop)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = s - ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) * 1e-9);
		if (left <= 0)
			return 0;
		if (left > 0.05)
			left = 0.05;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* splitmix64: good enough for jitter, and reproducible when seeded. */
static double jitter01(struct sw_http *http)
{
	uint64_t z;

	if (!http->jitter_state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		http->jitter_state = http->jitter_seed ? http->jitter_seed :
			((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
	}
	z = (http->jitter_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* Wait before try number `attempt + 1`: min * 2^(attempt-1) * (1 + 0.25 u),
 * capped; a Retry-After takes precedence (capped too). */
static double backoff_s(struct sw_http *http, int attempt, double retry_after)
{
	double w;

	if (retry_after >= 0)
		return retry_after < http->backoff_max_s ? retry_after : http->backoff_max_s;
	w = http->backoff_min_s * ldexp(1.0, attempt - 1 > 30 ? 30 : attempt - 1);
	w *= 1.0 + 0.25 * jitter01(http);
	return w < http->backoff_max_s ? w : http->backoff_max_s;
}

/* ==== Retry policy ==== */

/* Statuses worth another try: rate limits, gateway trouble, server errors
 * (501 Not Implemented will not get better), and nonsense statuses. */
static int status_retryable(long status)
{
	if (status == 408 || status == 425 || status == 429)
		return 1;
	if (status >= 500 && status != 501)
		return 1;
	return status < 100;
}

static void scrub(struct sw_http *http, char *s)
{
	sw_redact(s, http->secret);
	sw_redact(s, http->secret_b64);
}

/* "HTTP 500 from URL: first line of the body" */
static void describe_status(struct sw_http *http, const char *url,
			    const struct sw_http_response *resp, char *out, size_t outsz)
{
	char u[256], snippet[161];
	size_t i, n = 0;

	sw_url_redact(url, u, sizeof(u));
	if (resp->body.data) {
		for (i = 0; resp->body.data[i] && n < sizeof(snippet) - 1; i++) {
			unsigned char c = (unsigned char)resp->body.data[i];

			if (c == '\n' || c == '\r')
				break;
			snippet[n++] = isprint(c) ? (char)c : '?';
		}
	}
	snippet[n] = '\0';
	if (n)
		snprintf(out, outsz, "HTTP %ld from %s: %s", resp->status, u, snippet);
	else
		snprintf(out, outsz, "HTTP %ld from %s", resp->status, u);
	scrub(http, out);
}

int sw_http_send(struct sw_http *http, const struct sw_http_request *req,
		 struct sw_http_response *resp, struct sw_err *err)
{
	struct sw_http_request cur = *req;
	char why[512];
	int attempt;

	for (attempt = 1;; attempt++) {
		struct sw_err terr = SW_ERR_INIT;
		int retry, rc;
		double wait;

		if (http->stop && *http->stop) {
			sw_errorf(err, "interrupted");
			return SW_ERR_INTR;
		}
		if (attempt > 1 && http->retry_body) {
			size_t len = 0;
			const char *body = http->retry_body(http->retry_body_ctx, &len);

			if (body) {
				cur.body = body;
				cur.body_len = len;
			}
		}
		sw_buf_reset(&resp->body);
		resp->status = 0;
		resp->retry_after_s = -1;
		resp->fail = SW_HTTP_FAIL_NONE;
		resp->attempts = attempt;
		rc = http->transport(http, &cur, resp, &terr);
		if (rc == 0) {
			http->last_status = resp->status;
			if (resp->status >= 200 && resp->status < 300)
				return 0;
			retry = status_retryable(resp->status);
			describe_status(http, req->url, resp, why, sizeof(why));
		} else {
			http->last_status = 0;
			resp->status = 0;
			if (resp->fail == SW_HTTP_FAIL_INTR || (http->stop && *http->stop)) {
				sw_errorf(err, "interrupted");
				return SW_ERR_INTR;
			}
			retry = resp->fail != SW_HTTP_FAIL_FATAL;
			snprintf(why, sizeof(why), "%s", terr.msg[0] ? terr.msg : "request failed");
			scrub(http, why);
		}
		if (!retry || attempt >= http->max_tries) {
			if (attempt > 1)
				sw_errorf(err, "%s (after %d tries)", why, attempt);
			else
				sw_errorf(err, "%s", why);
			scrub(http, err->msg);
			return SW_ERR;
		}
		wait = backoff_s(http, attempt, rc == 0 ? resp->retry_after_s : -1);
		if (http->on_retry) {
			char msg[700];

			snprintf(msg, sizeof(msg), "%s; retrying in %.1f s (try %d of %d)",
				 why, wait, attempt + 1, http->max_tries);
			http->on_retry(http->on_retry_ctx, msg);
		}
		if ((http->sleep ? http->sleep(http, wait) : sw_http_sleep(http, wait)) < 0) {
			sw_errorf(err, "interrupted while waiting to retry: %s", why);
			scrub(http, err->msg);
			return SW_ERR_INTR;
		}
	}
}

int sw_http_post_json(struct sw_http *http, const char *url, const char *json,
		      const char *user, const char *password, double timeout_s,
		      struct sw_http_response *resp, struct sw_err *err)
{
	struct sw_http_request req = {
		.method = "POST",
		.url = url,
		.content_type = "application/json",
		.body = json,
		.body_len = json ? strlen(json) : 0,
		.user = user,
		.password = password,
		.timeout_s = timeout_s,
	};

	return sw_http_send(http, &req, resp, err);
}
