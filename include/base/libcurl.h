/*
 * libcurl.h - libcurl, loaded on first use (base/dl.h): the functions the
 * HTTP transport (sweep/http/http_curl.c) and the dataset download
 * (trainer/download.c) call, as pointers in sw_curl. Call sw_curl_load()
 * first; it also runs curl_global_init once.
 *
 * Only the types and constants of <curl/curl.h> are used at build time, so
 * the -dev package is still needed to build, the runtime library (libcurl4)
 * only by commands that talk to the network.
 *
 * defines: struct sw_curl_api, sw_curl, sw_curl_load
 */
#ifndef SW_LIBCURL_H
#define SW_LIBCURL_H

#include <curl/curl.h>
#include <time.h>

#include "base/err.h"

struct sw_curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	time_t (*getdate)(const char *date, const time_t *unused);
};

/* Filled by sw_curl_load(); read-only afterwards. */
extern struct sw_curl_api sw_curl;

/* Loads libcurl.so.4 and initialises it, once per process (thread-safe).
 * Returns 0, or -1 with a one-line error naming the library and the
 * package to install. */
int sw_curl_load(struct sw_err *err);

#endif
