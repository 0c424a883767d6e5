/* http_curl.c - the libcurl transport of the HTTP client (libcurl is loaded
 * on its first request, base/libcurl.h); see
 * include/sweep/http/http.h. One easy handle per try: TLS
 * verified, http/https only, no redirects, connect / low-speed / total
 * time-outs, capped body, Retry-After parsed, the stop flag polled. */
#define _GNU_SOURCE
#include "base/cli.h"
#include "base/libcurl.h"
#include "sweep/http/http.h"
#include "sweep/http/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct xfer {
	struct sw_http *http;
	struct sw_http_response *resp;
	int too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;

	if (sw_buf_append(&x->resp->body, data, size * n) < 0) {
		x->too_big = 1;
		return 0;
	}
	return size * n;
}

/* Retry-After: delta-seconds or an HTTP-date. */
static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;
	char line[256], *v, *end;

	if (len < 12 || len >= sizeof(line) || strncasecmp(data, "retry-after:", 12))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	v = line + 12;
	v += strspn(v, " \t");
	v[strcspn(v, "\r\n")] = '\0';
	if (*v) {
		double s = strtod(v, &end);

		if (end != v && !*end && s >= 0) {
			x->resp->retry_after_s = s;
		} else {
			time_t t = sw_curl.getdate(v, NULL);

			if (t > 0) {
				double d = difftime(t, time(NULL));

				x->resp->retry_after_s = d > 0 ? d : 0;
			}
		}
	}
	return len;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = userp;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->http->stop && *x->http->stop;
}

/* Failures worth another try: the server was unreachable, went away or was
 * too slow. TLS verification, bad URLs and local errors are not. */
static int transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

static long ms(double s)
{
	return s > 0 ? (long)(s * 1000 + 0.5) : 0;
}

int sw_http_curl_transport(struct sw_http *http, const struct sw_http_request *req,
			   struct sw_http_response *resp, struct sw_err *err)
{
	char errbuf[CURL_ERROR_SIZE], url[256], ctype[128];
	struct curl_slist *headers = NULL, *tmp;
	struct xfer x = { http, resp, 0 };
	CURL *curl = NULL;
	CURLcode rc;
	int ret = -1;

	sw_url_redact(req->url, url, sizeof(url));
	resp->fail = SW_HTTP_FAIL_FATAL;
	if (sw_curl_load(err) < 0)
		return -1;
	curl = sw_curl.easy_init();
	if (!curl) {
		sw_errorf(err, "unable to initialise libcurl");
		goto done;
	}
	errbuf[0] = '\0';
	sw_curl.easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	sw_curl.easy_setopt(curl, CURLOPT_URL, req->url);
	sw_curl.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	sw_curl.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	sw_curl.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	sw_curl.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	sw_curl.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	sw_curl.easy_setopt(curl, CURLOPT_USERAGENT, "sweep/" SW_VERSION);
	sw_curl.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms(http->connect_timeout_s));
	sw_curl.easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			    ms(req->timeout_s > 0 ? req->timeout_s : http->total_timeout_s));
	if (http->low_speed_time_s > 0) {
		sw_curl.easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		sw_curl.easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)(http->low_speed_time_s + 0.5));
	}
	sw_curl.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	sw_curl.easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	sw_curl.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	sw_curl.easy_setopt(curl, CURLOPT_HEADERDATA, &x);
	sw_curl.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	sw_curl.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	sw_curl.easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
	if (req->user) {
		sw_curl.easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		sw_curl.easy_setopt(curl, CURLOPT_USERNAME, req->user);
		sw_curl.easy_setopt(curl, CURLOPT_PASSWORD, req->password ? req->password : "");
	}
	if (req->content_type) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s", req->content_type);
		tmp = sw_curl.slist_append(headers, ctype);
		if (!tmp)
			goto oom;
		headers = tmp;
	}
	tmp = sw_curl.slist_append(headers, "Expect:");
	if (!tmp)
		goto oom;
	headers = tmp;
	sw_curl.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (!req->method || !strcmp(req->method, "POST")) {
		sw_curl.easy_setopt(curl, CURLOPT_POST, 1L);
		sw_curl.easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		sw_curl.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET")) {
		sw_curl.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	}

	rc = sw_curl.easy_perform(curl);
	if (rc == CURLE_OK) {
		sw_curl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->fail = SW_HTTP_FAIL_NONE;
		ret = 0;
		goto done;
	}
	if (x.too_big) {
		sw_errorf(err, "the answer from %s is larger than %zu bytes", url,
			  resp->body.cap);
		goto done;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		resp->fail = SW_HTTP_FAIL_INTR;
		sw_errorf(err, "interrupted");
		goto done;
	}
	resp->fail = transient(rc) ? SW_HTTP_FAIL_TRANSIENT : SW_HTTP_FAIL_FATAL;
	sw_errorf(err, "%s %s failed: %s", req->method ? req->method : "POST", url,
		  errbuf[0] ? errbuf : sw_curl.easy_strerror(rc));
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	sw_curl.slist_free_all(headers);
	if (curl)
		sw_curl.easy_cleanup(curl);
	return ret;
}
