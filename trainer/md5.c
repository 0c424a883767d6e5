/* md5.c - MD5 through nettle; see include/trainer/md5.h */
#include "trainer/md5.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/dl.h"

static struct {
	__typeof__(nettle_md5_init) *init;
	__typeof__(nettle_md5_update) *update;
	__typeof__(nettle_md5_digest) *digest;
} nettle;

static const struct sw_dl_sym syms[] = {
	{ "nettle_md5_init", (void **)&nettle.init },
	{ "nettle_md5_update", (void **)&nettle.update },
	{ "nettle_md5_digest", (void **)&nettle.digest },
	{ NULL, NULL },
};
static const char *const sonames[] = { "libnettle.so.8", NULL };
static struct sw_dl_lib lib = SW_DL_LIB("libnettle", sonames, "libnettle8", syms);

int cnn_md5_load(struct sw_err *err)
{
	return sw_dl_load(&lib, err);
}

/* The trainer's tier: no error path here, so a missing library aborts. */
static void need(void)
{
	struct sw_err err = SW_ERR_INIT;

	if (sw_dl_load(&lib, &err) < 0) {
		fprintf(stderr, "sweep: error: %s\n", err.msg);
		abort();
	}
}

void cnn_md5_init(struct cnn_md5 *m)
{
	need();
	nettle.init(&m->ctx);
}

void cnn_md5_update(struct cnn_md5 *m, const void *data, size_t n)
{
	need();
	nettle.update(&m->ctx, n, data);
}

void cnn_md5_final(struct cnn_md5 *m, unsigned char digest[16])
{
	need();
	nettle.digest(&m->ctx, MD5_DIGEST_SIZE, digest);
}

void cnn_md5_hex(const unsigned char digest[16], char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[32] = '\0';
}
