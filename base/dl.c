/* dl.c - load a shared library on first use; see include/base/dl.h */
#include "base/dl.h"

#include <dlfcn.h>
#include <stdio.h>

/* Opens the first soname that loads and resolves every symbol; on failure
 * leaves the reason in lib->error. RTLD_LAZY: OpenBLAS alone has thousands
 * of internal function relocations that a run never calls. */
static int load(struct sw_dl_lib *lib)
{
	const char *why = "no library name";
	void *h = NULL;
	size_t i;

	for (i = 0; lib->sonames[i] && !h; i++) {
		h = dlopen(lib->sonames[i], RTLD_LAZY | RTLD_LOCAL);
		if (!h)
			why = dlerror();
	}
	if (!h) {
		snprintf(lib->error, sizeof(lib->error), "%s", why);
		return -1;
	}
	for (i = 0; lib->syms[i].name; i++) {
		void *p = dlsym(h, lib->syms[i].name);

		if (!p) {
			snprintf(lib->error, sizeof(lib->error), "symbol '%s' missing "
				 "(the library is too old?)", lib->syms[i].name);
			dlclose(h);
			return -1;
		}
		*lib->syms[i].addr = p;
	}
	return 0;
}

int sw_dl_load(struct sw_dl_lib *lib, struct sw_err *err)
{
	int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

	if (state == 0) {
		pthread_mutex_lock(&lib->lock);
		state = lib->state;
		if (state == 0) {
			state = load(lib) < 0 ? -1 : 1;
			__atomic_store_n(&lib->state, state, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&lib->lock);
	}
	if (state > 0)
		return 0;
	return sw_errorf(err, "unable to load %s: %s (install it: apt-get install %s)",
			 lib->what, lib->error, lib->package);
}
