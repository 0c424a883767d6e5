/*
 * md5.h - MD5 (RFC 1321), for checking the downloaded CIFAR-10 tarball
 * against its published checksum. Not for security. The digest is
 * nettle's (libnettle, loaded on first use through base/dl.h, so only a
 * download maps it); this module only adapts it to the trainer.
 *
 * The context lives in the caller's struct: nothing to free, and an
 * interrupted download leaks nothing.
 *
 * defines: struct cnn_md5, cnn_md5_load, cnn_md5_init, cnn_md5_update,
 *          cnn_md5_final, cnn_md5_hex
 */
#ifndef CNN_MD5_H
#define CNN_MD5_H

#include <nettle/md5.h>
#include <stddef.h>

#include "base/err.h"

struct cnn_md5 {
	struct md5_ctx ctx;   /* nettle's */
};

/* Loads libnettle once per process. Returns 0, or -1 with a one-line
 * error naming the library and the package to install. */
int cnn_md5_load(struct sw_err *err);

/* The three below load libnettle if needed, and abort with its error on
 * stderr when they cannot (call cnn_md5_load first to report it instead). */
void cnn_md5_init(struct cnn_md5 *m);
void cnn_md5_update(struct cnn_md5 *m, const void *data, size_t n);
/* Writes the 16-byte digest; m must be re-initialised before reuse. */
void cnn_md5_final(struct cnn_md5 *m, unsigned char digest[16]);
/* Writes the digest as 32 lowercase hex digits and a NUL into hex[33]. */
void cnn_md5_hex(const unsigned char digest[16], char hex[33]);

#endif
