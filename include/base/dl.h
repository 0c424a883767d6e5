/*
 * dl.h - shared libraries loaded on first use, with dlopen(3), instead of
 * linked into bin/sweep: a process maps only what its command needs. libcurl
 * (with GnuTLS, Kerberos, LDAP, ICU ... behind it), libarchive, libcrypto and
 * OpenBLAS cost ~10 ms of dynamic loading per process, which every `sweep
 * --version`, `sweep validate` and ask/tell `sweep suggest` paid (git keeps
 * libcurl out of its main binary for the same reason).
 *
 * A module describes its library once (sonames tried in order, the symbols
 * it calls and where to store them, the Debian package to install) and calls
 * sw_dl_load() before using it. The first call loads and resolves every
 * symbol, or fails with one line naming the library, dlerror() and the
 * package; later calls (from any thread) return the same result at once.
 *
 * defines: struct sw_dl_sym, struct sw_dl_lib, SW_DL_LIB, sw_dl_load
 */
#ifndef SW_DL_H
#define SW_DL_H

#include <pthread.h>

#include "base/err.h"

struct sw_dl_sym {
	const char *name;   /* NULL ends the list */
	void **addr;        /* where the resolved address goes */
};

struct sw_dl_lib {
	const char *what;              /* "libcurl", for messages */
	const char *const *sonames;    /* tried in order, NULL-terminated */
	const char *package;           /* Debian package that provides it */
	const struct sw_dl_sym *syms;
	/* state, set by sw_dl_load */
	pthread_mutex_t lock;
	int state;                     /* 0 not tried, 1 loaded, -1 failed */
	char error[200];
};

#define SW_DL_LIB(what, sonames, package, syms) \
	{ (what), (sonames), (package), (syms), PTHREAD_MUTEX_INITIALIZER, 0, "" }

/* Loads lib and resolves its symbols once per process. Returns 0, or -1
 * with "unable to load LIB: WHY (install PACKAGE)" in err, every time. The
 * library stays loaded until exit. */
int sw_dl_load(struct sw_dl_lib *lib, struct sw_err *err);

#endif
