/*
 * md5.h - MD5 message digest (RFC 1321), for checking the downloaded
 * CIFAR-10 tarball against its published checksum. Not for security.
 *
 * defines: struct cnn_md5, cnn_md5_init, cnn_md5_update, cnn_md5_final,
 *          cnn_md5_hex
 */
#ifndef CNN_MD5_H
#define CNN_MD5_H

#include <stddef.h>
#include <stdint.h>

struct cnn_md5 {
	uint32_t a, b, c, d;
	uint64_t len;            /* bytes hashed so far */
	unsigned char block[64]; /* pending partial block */
};

void cnn_md5_init(struct cnn_md5 *m);
void cnn_md5_update(struct cnn_md5 *m, const void *data, size_t n);
/* Writes the 16-byte digest; m must be re-initialised before reuse. */
void cnn_md5_final(struct cnn_md5 *m, unsigned char digest[16]);
/* Writes the digest as 32 lowercase hex digits and a NUL into hex[33]. */
void cnn_md5_hex(const unsigned char digest[16], char hex[33]);

#endif
