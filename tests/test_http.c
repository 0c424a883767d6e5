/* test_http.c - the HTTP client: retry policy against a fake transport (the
 * exact tries, waits and messages), URL helpers and redaction, then the
 * libcurl transport against tests/fake_wandb.py with injected faults. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/fake_wandb.h"
#include "sweep/http/http.h"

/* ==== Fake transport ==== */

struct canned {
	long status;               /* 0: transport failure */
	const char *body;
	double retry_after;        /* -1: none */
	enum sw_http_fail fail;
	const char *errmsg;
};

struct fake {
	struct canned replies[16];
	int n, next;
	char *urls[16], *bodies[16], *users[16], *passwords[16];
	int calls;
	double waits[16];
	int n_waits;
	volatile sig_atomic_t *raise_on_wait; /* set this flag when sleeping */
};

static int fake_transport(struct sw_http *http, const struct sw_http_request *req,
			  struct sw_http_response *resp, struct sw_err *err)
{
	struct fake *f = http->transport_ctx;
	struct canned *c;
	int i = f->calls++;

	assert_true(i < 16);
	f->urls[i] = strdup(req->url);
	f->bodies[i] = req->body ? strndup(req->body, req->body_len) : NULL;
	f->users[i] = req->user ? strdup(req->user) : NULL;
	f->passwords[i] = req->password ? strdup(req->password) : NULL;
	assert_true(f->next < f->n);
	c = &f->replies[f->next++];
	if (c->status == 0) {
		resp->fail = c->fail;
		return sw_errorf(err, "%s", c->errmsg);
	}
	resp->status = c->status;
	resp->retry_after_s = c->retry_after;
	if (c->body)
		assert_int_equal(sw_buf_append(&resp->body, c->body, strlen(c->body)), 0);
	return 0;
}

static int fake_sleep(struct sw_http *http, double s)
{
	struct fake *f = http->transport_ctx;

	f->waits[f->n_waits++] = s;
	if (f->raise_on_wait) {
		*f->raise_on_wait = 1;
		return -1;
	}
	return 0;
}

static void fake_free(struct fake *f)
{
	int i;

	for (i = 0; i < f->calls; i++) {
		free(f->urls[i]);
		free(f->bodies[i]);
		free(f->users[i]);
		free(f->passwords[i]);
	}
}

static void reply(struct fake *f, long status, const char *body, double retry_after)
{
	f->replies[f->n++] = (struct canned){ status, body, retry_after, SW_HTTP_FAIL_NONE, NULL };
}

static void failure(struct fake *f, enum sw_http_fail fail, const char *msg)
{
	f->replies[f->n++] = (struct canned){ 0, NULL, -1, fail, msg };
}

static void setup_fake(struct sw_http *h, struct fake *f)
{
	memset(f, 0, sizeof(*f));
	sw_http_init(h);
	h->transport = fake_transport;
	h->transport_ctx = f;
	h->sleep = fake_sleep;
	h->jitter_seed = 42;
}

/* Releases what a test of setup_fake() and post() holds. */
static void teardown_fake(struct sw_http *h, struct fake *f, struct sw_http_response *resp)
{
	sw_http_response_release(resp);
	fake_free(f);
	sw_http_release(h);
}

static int post(struct sw_http *h, struct sw_http_response *resp, struct sw_err *err)
{
	sw_http_response_init(resp, h->max_body);
	return sw_http_post_json(h, "https://api.example.com/graphql", "{\"a\":1}", "api",
				 "s3cr3t-key", 0, resp, err);
}

/* ==== Retry policy ==== */

static void test_success_first_try(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup_fake(&h, &f);
	reply(&f, 200, "{\"data\":{}}", -1);
	assert_int_equal(post(&h, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.data, "{\"data\":{}}");
	assert_int_equal(resp.attempts, 1);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.urls[0], "https://api.example.com/graphql");
	assert_string_equal(f.bodies[0], "{\"a\":1}");
	assert_string_equal(f.users[0], "api");
	assert_string_equal(f.passwords[0], "s3cr3t-key");
	assert_int_equal(f.n_waits, 0);
	assert_int_equal(h.last_status, 200);
	teardown_fake(&h, &f, &resp);
}

static void test_5xx_retried_with_growing_backoff(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup_fake(&h, &f);
	reply(&f, 500, "oops", -1);
	reply(&f, 503, NULL, -1);
	reply(&f, 502, NULL, -1);
	reply(&f, 200, "ok", -1);
	assert_int_equal(post(&h, &resp, &err), 0);
	assert_int_equal(f.calls, 4);
	assert_int_equal(resp.attempts, 4);
	assert_int_equal(f.n_waits, 3);
	/* min 2 s, doubling, +0..25 % jitter */
	assert_true(f.waits[0] >= 2.0 && f.waits[0] <= 2.5);
	assert_true(f.waits[1] >= 4.0 && f.waits[1] <= 5.0);
	assert_true(f.waits[2] >= 8.0 && f.waits[2] <= 10.0);
	teardown_fake(&h, &f, &resp);
}

static void test_backoff_capped(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	int i;

	(void)state;
	setup_fake(&h, &f);
	h.max_tries = 9;
	for (i = 0; i < 8; i++)
		reply(&f, 500, NULL, -1);
	reply(&f, 200, NULL, -1);
	assert_int_equal(post(&h, &resp, &err), 0);
	assert_int_equal(f.n_waits, 8);
	for (i = 0; i < 8; i++)
		assert_true(f.waits[i] <= 60.0);
	assert_true(f.waits[7] == 60.0);
	teardown_fake(&h, &f, &resp);
}

static void test_429_honours_retry_after(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup_fake(&h, &f);
	reply(&f, 429, "slow down", 7);
	reply(&f, 429, NULL, 1000);
	reply(&f, 429, NULL, -1);
	reply(&f, 200, NULL, -1);
	assert_int_equal(post(&h, &resp, &err), 0);
	assert_int_equal(f.n_waits, 3);
	assert_true(f.waits[0] == 7.0);
	assert_true(f.waits[1] == 60.0);  /* capped */
	assert_true(f.waits[2] >= 8.0 && f.waits[2] <= 10.0); /* third try: 2*2^2 */
	teardown_fake(&h, &f, &resp);
}

static void test_no_retry_on_client_errors(void **state)
{
	static const long codes[] = { 400, 401, 403, 404, 409, 410, 413, 422, 501 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct sw_http h;
		struct fake f;
		struct sw_http_response resp;
		struct sw_err err = SW_ERR_INIT;
		char want[64];

		setup_fake(&h, &f);
		reply(&f, codes[i], "{\"errors\":[{\"message\":\"nope\"}]}", 5);
		assert_int_equal(post(&h, &resp, &err), -1);
		assert_int_equal(f.calls, 1);
		assert_int_equal(f.n_waits, 0);
		assert_int_equal(resp.status, codes[i]);
		assert_int_equal(h.last_status, codes[i]);
		/* the body is kept for the GraphQL layer */
		assert_non_null(strstr(resp.body.data, "nope"));
		snprintf(want, sizeof(want), "HTTP %ld from https://api.example.com/graphql",
			 codes[i]);
		assert_non_null(strstr(err.msg, want));
		sw_http_response_release(&resp);
		fake_free(&f);
		sw_http_release(&h);
	}
}

static void test_transient_failures_retried_fatal_not(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup_fake(&h, &f);
	failure(&f, SW_HTTP_FAIL_TRANSIENT, "Failed to connect: Connection refused");
	failure(&f, SW_HTTP_FAIL_TRANSIENT, "Empty reply from server");
	reply(&f, 200, NULL, -1);
	assert_int_equal(post(&h, &resp, &err), 0);
	assert_int_equal(f.calls, 3);
	assert_int_equal(f.n_waits, 2);
	teardown_fake(&h, &f, &resp);

	setup_fake(&h, &f);
	failure(&f, SW_HTTP_FAIL_FATAL, "SSL certificate problem: self-signed certificate");
	assert_int_equal(post(&h, &resp, &err), -1);
	assert_int_equal(f.calls, 1);
	assert_int_equal(resp.status, 0);
	assert_int_equal(h.last_status, 0);
	assert_string_equal(err.msg, "SSL certificate problem: self-signed certificate");
	teardown_fake(&h, &f, &resp);
}

static void test_gives_up_after_max_tries(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	int i;

	(void)state;
	setup_fake(&h, &f);
	h.max_tries = 4;
	for (i = 0; i < 4; i++)
		reply(&f, 500, "{\"error\":\"db down\"}", -1);
	assert_int_equal(post(&h, &resp, &err), -1);
	assert_int_equal(f.calls, 4);
	assert_int_equal(f.n_waits, 3);
	assert_string_equal(err.msg, "HTTP 500 from https://api.example.com/graphql: "
			    "{\"error\":\"db down\"} (after 4 tries)");
	teardown_fake(&h, &f, &resp);
}

static void test_stop_flag_interrupts_backoff(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	volatile sig_atomic_t stop = 0;

	(void)state;
	setup_fake(&h, &f);
	h.stop = &stop;
	f.raise_on_wait = &stop;
	reply(&f, 503, NULL, -1);
	reply(&f, 200, NULL, -1);
	assert_int_equal(post(&h, &resp, &err), SW_ERR_INTR);
	assert_int_equal(f.calls, 1);
	assert_non_null(strstr(err.msg, "interrupted"));
	/* already stopped: no request at all */
	assert_int_equal(post(&h, &resp, &err), SW_ERR_INTR);
	assert_int_equal(f.calls, 1);
	teardown_fake(&h, &f, &resp);

	/* the real sleep returns at once when the flag is up */
	sw_http_init(&h);
	h.stop = &stop;
	assert_int_equal(sw_http_sleep(&h, 3600), -1);
	stop = 0;
	assert_int_equal(sw_http_sleep(&h, 0.01), 0);
}

static void record_retry(void *ctx, const char *msg)
{
	char *dst = ctx;

	snprintf(dst, 512, "%s", msg);
}

static void test_key_never_in_messages(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	char retry_msg[512] = "";
	char *b64;

	(void)state;
	setup_fake(&h, &f);
	assert_int_equal(sw_http_set_server(&h, "https://api.example.com/", "s3cr3t-key"), 0);
	assert_string_equal(h.base_url, "https://api.example.com");
	h.on_retry = record_retry;
	h.on_retry_ctx = retry_msg;
	b64 = sw_base64("api:s3cr3t-key", 14);
	/* a server (or proxy) echoing credentials back */
	reply(&f, 500, "bad key s3cr3t-key", -1);
	f.replies[f.n - 1].body = "auth Basic YXBpOnMzY3IzdC1rZXk= refused";
	reply(&f, 400, "key s3cr3t-key is invalid", -1);
	assert_int_equal(post(&h, &resp, &err), -1);
	assert_null(strstr(retry_msg, b64));
	assert_non_null(strstr(retry_msg, "***"));
	assert_null(strstr(err.msg, "s3cr3t-key"));
	assert_non_null(strstr(err.msg, "key *** is invalid"));
	sw_http_response_release(&resp);
	fake_free(&f);

	/* a transport message too */
	sw_http_release(&h);
	setup_fake(&h, &f);
	assert_int_equal(sw_http_set_server(&h, "https://api.example.com", "s3cr3t-key"), 0);
	failure(&f, SW_HTTP_FAIL_FATAL, "could not use s3cr3t-key");
	assert_int_equal(post(&h, &resp, &err), -1);
	assert_string_equal(err.msg, "could not use ***");
	sw_http_response_release(&resp);
	fake_free(&f);
	free(b64);
	sw_http_release(&h);
}

/* ==== URL helpers ==== */

static void test_url_helpers(void **state)
{
	char out[256];
	int https = -1;
	char *b;

	(void)state;
	assert_int_equal(sw_url_host_port("https://api.wandb.ai", out, sizeof(out), &https), 0);
	assert_string_equal(out, "api.wandb.ai");
	assert_int_equal(https, 1);
	assert_int_equal(sw_url_host_port("http://localhost:8080/x?y", out, sizeof(out), &https), 0);
	assert_string_equal(out, "localhost:8080");
	assert_int_equal(https, 0);
	assert_int_equal(sw_url_host_port("http://u:p@h:1/", out, sizeof(out), NULL), 0);
	assert_string_equal(out, "h:1");
	assert_int_equal(sw_url_host_port("ftp://h/", out, sizeof(out), NULL), -1);
	assert_int_equal(sw_url_host_port("http:///x", out, sizeof(out), NULL), -1);
	assert_int_equal(sw_url_host_port("api.wandb.ai", out, sizeof(out), NULL), -1);

	assert_true(sw_url_is_loopback("http://localhost:8080"));
	assert_true(sw_url_is_loopback("http://LOCALHOST/"));
	assert_true(sw_url_is_loopback("http://127.0.0.1:5"));
	assert_true(sw_url_is_loopback("http://127.1.2.3"));
	assert_true(sw_url_is_loopback("http://[::1]:8080/"));
	assert_false(sw_url_is_loopback("http://127.0.0.1.evil.com/"));
	assert_false(sw_url_is_loopback("http://localhost.evil.com/"));
	assert_false(sw_url_is_loopback("http://10.0.0.1/"));
	assert_false(sw_url_is_loopback("http://0.0.0.0/"));
	assert_false(sw_url_is_loopback("http://[::2]/"));
	assert_false(sw_url_is_loopback("http://128.0.0.1/"));

	sw_url_redact("https://api:KEY@host:1/graphql", out, sizeof(out));
	assert_string_equal(out, "https://***@host:1/graphql");
	sw_url_redact("https://host/a@b", out, sizeof(out));
	assert_string_equal(out, "https://host/a@b");

	snprintf(out, sizeof(out), "xKEYyKEYKEY");
	sw_redact(out, "KEY");
	assert_string_equal(out, "x***y******");
	snprintf(out, sizeof(out), "abc");
	sw_redact(out, NULL);
	sw_redact(out, "");
	assert_string_equal(out, "abc");

	b = sw_base64("api:k", 5);
	assert_string_equal(b, "YXBpOms=");
	free(b);
	b = sw_base64("", 0);
	assert_string_equal(b, "");
	free(b);
	b = sw_base64("ab", 2);
	assert_string_equal(b, "YWI=");
	free(b);
	b = sw_base64("abc", 3);
	assert_string_equal(b, "YWJj");
	free(b);
}

/* ==== libcurl transport against the fake server ==== */

static int curl_post(struct sw_http *h, const char *url, const char *key,
		     struct sw_http_response *resp, struct sw_err *err)
{
	static const char body[] = "{\"query\":\"query Viewer { viewer { entity } }\","
		"\"variables\":{}}";

	sw_http_response_init(resp, h->max_body);
	return sw_http_post_json(h, url, body, "api", key, 0, resp, err);
}

static void test_curl_against_fake_server(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	char url[128];
	json_t *rec;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": ["
		" {\"op\": \"Viewer\", \"action\": \"status\", \"status\": 429, \"retry_after\": 0},"
		" {\"op\": \"Viewer\", \"action\": \"drop\", \"skip\": 1},"
		" {\"op\": \"Viewer\", \"action\": \"status\", \"status\": 503, \"skip\": 2}]}"), 0);
	snprintf(url, sizeof(url), "%s/graphql", fw.url);
	sw_http_init(&h);
	h.backoff_min_s = 0.01;
	/* 429 (Retry-After: 0), dropped connection, 503, then the answer */
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.attempts, 4);
	assert_non_null(strstr(resp.body.data, "\"entity\": \"alice\""));
	sw_http_response_release(&resp);

	/* wrong key: 401, no retry */
	assert_int_equal(curl_post(&h, url, "wrong", &resp, &err), -1);
	assert_int_equal(resp.status, 401);
	assert_int_equal(resp.attempts, 1);
	sw_http_response_release(&resp);

	/* a body larger than the cap is refused, not retried */
	h.max_body = 10;
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), -1);
	assert_int_equal(resp.attempts, 1);
	assert_non_null(strstr(err.msg, "larger than 10 bytes"));
	sw_http_response_release(&resp);
	h.max_body = 1 << 20;

	rec = sw_fake_wandb_record(&fw);
	assert_non_null(rec);
	assert_int_equal(sw_fake_wandb_requests(rec, "Viewer"), 6);
	/* the key went as basic auth api:KEY on the good tries */
	assert_true(json_is_true(json_object_get(json_array_get(
		json_object_get(rec, "requests"), 0), "auth")));
	assert_true(json_is_false(json_object_get(json_array_get(
		json_object_get(rec, "requests"), 4), "auth")));
	json_decref(rec);
	sw_fake_wandb_stop(&fw);
	sw_http_release(&h);
}

static void test_curl_timeout_and_refused(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	char url[128];

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": [{\"op\": \"Viewer\", \"action\": \"slow\", \"delay\": 3}]}"), 0);
	snprintf(url, sizeof(url), "%s/graphql", fw.url);
	sw_http_init(&h);
	h.backoff_min_s = 0.01;
	h.total_timeout_s = 0.5;
	/* first try times out (transient), the second is answered */
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), 0);
	assert_int_equal(resp.attempts, 2);
	sw_http_response_release(&resp);

	/* nothing listening any more: refused, retried, then curl's text */
	sw_fake_wandb_stop(&fw);
	h.max_tries = 2;
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), -1);
	assert_int_equal(resp.attempts, 2);
	assert_int_equal(resp.status, 0);
	assert_non_null(strstr(err.msg, "POST http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "(after 2 tries)"));
	assert_true(strstr(err.msg, "onnect") != NULL);
	sw_http_response_release(&resp);
	sw_http_release(&h);
}

static void test_curl_refused_for_a_while(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	char url[128];
	json_t *rec;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": [{\"op\": \"Viewer\", \"action\": \"refuse\", \"seconds\": 0.6}]}"), 0);
	snprintf(url, sizeof(url), "%s/graphql", fw.url);
	sw_http_init(&h);
	h.backoff_min_s = 0.1;
	h.max_tries = 10;
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), 0);
	assert_true(resp.attempts >= 3); /* dropped, refused at least once, answered */
	sw_http_response_release(&resp);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, "Viewer"), 2);
	json_decref(rec);
	sw_fake_wandb_stop(&fw);
	sw_http_release(&h);
}

/* A server that is not listening yet when the client starts. */
static void test_curl_server_comes_up_late(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	char url[128];

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, "{\"refuse_first\": 0.5}"), 0);
	snprintf(url, sizeof(url), "%s/graphql", fw.url);
	sw_http_init(&h);
	h.backoff_min_s = 0.05;
	h.backoff_max_s = 0.2;
	h.max_tries = 30;
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_true(resp.attempts >= 2);
	sw_http_response_release(&resp);
	sw_fake_wandb_stop(&fw);
	sw_http_release(&h);
}

static volatile sig_atomic_t stop_flag;

static void *raise_later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	stop_flag = 1;
	return NULL;
}

static void test_curl_stop_flag_aborts_transfer(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_http_response resp;
	struct sw_err err = SW_ERR_INIT;
	char url[128];
	pthread_t t;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": [{\"op\": \"Viewer\", \"action\": \"slow\", \"delay\": 5}]}"), 0);
	snprintf(url, sizeof(url), "%s/graphql", fw.url);
	sw_http_init(&h);
	stop_flag = 0;
	h.stop = &stop_flag;
	assert_int_equal(pthread_create(&t, NULL, raise_later, NULL), 0);
	assert_int_equal(curl_post(&h, url, SW_FAKE_WANDB_KEY, &resp, &err), SW_ERR_INTR);
	assert_int_equal(resp.attempts, 1);
	assert_string_equal(err.msg, "interrupted");
	pthread_join(t, NULL);
	sw_http_response_release(&resp);
	sw_fake_wandb_stop(&fw);
	sw_http_release(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_first_try),
		cmocka_unit_test(test_5xx_retried_with_growing_backoff),
		cmocka_unit_test(test_backoff_capped),
		cmocka_unit_test(test_429_honours_retry_after),
		cmocka_unit_test(test_no_retry_on_client_errors),
		cmocka_unit_test(test_transient_failures_retried_fatal_not),
		cmocka_unit_test(test_gives_up_after_max_tries),
		cmocka_unit_test(test_stop_flag_interrupts_backoff),
		cmocka_unit_test(test_key_never_in_messages),
		cmocka_unit_test(test_url_helpers),
		cmocka_unit_test(test_curl_against_fake_server),
		cmocka_unit_test(test_curl_timeout_and_refused),
		cmocka_unit_test(test_curl_refused_for_a_while),
		cmocka_unit_test(test_curl_stop_flag_aborts_transfer),
		cmocka_unit_test(test_curl_server_comes_up_late),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
