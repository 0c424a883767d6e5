/* libcurl.c - libcurl loaded on first use; see include/base/libcurl.h */
#include "base/libcurl.h"

#include <pthread.h>

#include "base/dl.h"

struct sw_curl_api sw_curl;

#define SYM(f) { "curl_" #f, (void **)&sw_curl.f }
static const struct sw_dl_sym syms[] = {
	SYM(global_init), SYM(easy_init), SYM(easy_setopt), SYM(easy_perform),
	SYM(easy_getinfo), SYM(easy_cleanup), SYM(easy_strerror),
	SYM(slist_append), SYM(slist_free_all), SYM(getdate),
	{ NULL, NULL },
};
#undef SYM

static const char *const sonames[] = { "libcurl.so.4", NULL };
static struct sw_dl_lib lib = SW_DL_LIB("libcurl", sonames, "libcurl4", syms);

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
	global_rc = sw_curl.global_init(CURL_GLOBAL_DEFAULT);
}

int sw_curl_load(struct sw_err *err)
{
	if (sw_dl_load(&lib, err) < 0)
		return -1;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return sw_errorf(err, "unable to initialise libcurl: %s",
				 sw_curl.easy_strerror(global_rc));
	return 0;
}
