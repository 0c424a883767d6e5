/* url.c - URL helpers, secret redaction and base64 for the HTTP client and
 * its transports; see include/sweep/http/url.h */
#define _GNU_SOURCE
#include "sweep/http/url.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "scheme://[userinfo@]netloc[/...]"; returns the netloc span. */
static int url_netloc(const char *url, const char **start, size_t *len, int *is_https)
{
	const char *p, *end, *at;

	if (!strncasecmp(url, "https://", 8)) {
		p = url + 8;
		if (is_https)
			*is_https = 1;
	} else if (!strncasecmp(url, "http://", 7)) {
		p = url + 7;
		if (is_https)
			*is_https = 0;
	} else {
		return -1;
	}
	end = p + strcspn(p, "/?#");
	at = memrchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (end == p)
		return -1;
	*start = p;
	*len = (size_t)(end - p);
	return 0;
}

int sw_url_host_port(const char *url, char *out, size_t outsz, int *is_https)
{
	const char *p;
	size_t n;

	if (url_netloc(url, &p, &n, is_https) < 0 || n + 1 > outsz)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int sw_url_is_loopback(const char *url)
{
	char hp[256], host[256];
	char *colon;
	int a, b, c, d;
	char tail;

	if (sw_url_host_port(url, hp, sizeof(hp), NULL) < 0)
		return 0;
	if (hp[0] == '[') {
		char *close = strchr(hp, ']');

		if (!close)
			return 0;
		*close = '\0';
		return !strcmp(hp + 1, "::1");
	}
	snprintf(host, sizeof(host), "%s", hp);
	colon = strchr(host, ':');
	if (colon)
		*colon = '\0';
	if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
		return 1;
	if (sscanf(host, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail) == 4)
		return a == 127 && b >= 0 && b < 256 && c >= 0 && c < 256 &&
		       d >= 0 && d < 256;
	return 0;
}

void sw_url_redact(const char *url, char *out, size_t outsz)
{
	const char *scheme_end = strstr(url, "://");
	const char *host, *end, *at;

	if (!outsz)
		return;
	if (!scheme_end) {
		snprintf(out, outsz, "%s", url);
		return;
	}
	host = scheme_end + 3;
	end = host + strcspn(host, "/?#");
	at = memrchr(host, '@', (size_t)(end - host));
	if (!at) {
		snprintf(out, outsz, "%s", url);
		return;
	}
	snprintf(out, outsz, "%.*s***%s", (int)(host - url), url, at);
}

void sw_redact(char *s, const char *secret)
{
	size_t n;
	char *p;

	if (!s || !secret || !*secret)
		return;
	n = strlen(secret);
	while ((p = strstr(s, secret))) {
		size_t rest = strlen(p + n);

		if (n >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + n, rest + 1);
		} else {
			memset(p, '*', n);
		}
		s = p + (n >= 3 ? 3 : n);
	}
}

char *sw_base64(const void *data, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = data;
	char *out, *o;
	size_t i;

	if (n > ((size_t)-1 - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
