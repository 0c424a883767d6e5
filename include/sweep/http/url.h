/*
 * url.h - the URL and secret helpers of the HTTP client: a URL's host,
 * whether it is loopback, redaction of user:password@ parts and of the API
 * key, and base64 for basic auth. They sit below http.c and its transports
 * (http_curl.c uses them too), so a transport never calls back into http.c.
 *
 * defines: sw_url_host_port, sw_url_is_loopback, sw_url_redact, sw_redact,
 *          sw_base64
 */
#ifndef SW_HTTP_URL_H
#define SW_HTTP_URL_H

#include <stddef.h>

/* Writes "host" or "host:port" (the netrc machine name: the URL's netloc
 * without user info) into out. Returns 0, or -1 when url is not an
 * http(s)://host... URL. Sets *is_https when non-NULL. */
int sw_url_host_port(const char *url, char *out, size_t outsz, int *is_https);

/* 1 when the URL's host is loopback: localhost, 127.0.0.0/8 or ::1. */
int sw_url_is_loopback(const char *url);

/* Copies url into out with any "user:password@" part replaced by "***@". */
void sw_url_redact(const char *url, char *out, size_t outsz);

/* Replaces every occurrence of secret (if non-NULL and non-empty) in the
 * NUL-terminated s with "***", in place. */
void sw_redact(char *s, const char *secret);

/* base64 of n bytes; returns a new string the caller frees (NULL: OOM). */
char *sw_base64(const void *data, size_t n);

#endif
