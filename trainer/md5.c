/* md5.c - MD5 (RFC 1321), written from the RFC's description. */
#include "trainer/md5.h"

#include <stdio.h>
#include <string.h>

/* per-round shift amounts (RFC 1321 section 3.4) */
static const unsigned char md5_shift[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

/* T[i] = floor(2^32 * abs(sin(i + 1))) */
static const uint32_t md5_t[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static uint32_t rotl(uint32_t x, unsigned s)
{
	return (x << s) | (x >> (32 - s));
}

static void md5_block(struct cnn_md5 *m, const unsigned char *p)
{
	uint32_t x[16], a = m->a, b = m->b, c = m->c, d = m->d;
	int i;

	for (i = 0; i < 16; i++)
		x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		uint32_t f, tmp;
		int k;

		if (i < 16) {
			f = (b & c) | (~b & d);
			k = i;
		} else if (i < 32) {
			f = (b & d) | (c & ~d);
			k = (5 * i + 1) & 15;
		} else if (i < 48) {
			f = b ^ c ^ d;
			k = (3 * i + 5) & 15;
		} else {
			f = c ^ (b | ~d);
			k = (7 * i) & 15;
		}
		tmp = d;
		d = c;
		c = b;
		b = b + rotl(a + f + md5_t[i] + x[k], md5_shift[i]);
		a = tmp;
	}
	m->a += a;
	m->b += b;
	m->c += c;
	m->d += d;
}

void cnn_md5_init(struct cnn_md5 *m)
{
	memset(m, 0, sizeof(*m));
	m->a = 0x67452301;
	m->b = 0xefcdab89;
	m->c = 0x98badcfe;
	m->d = 0x10325476;
}

void cnn_md5_update(struct cnn_md5 *m, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t have = (size_t)(m->len & 63);

	m->len += n;
	if (have) {
		size_t take = 64 - have < n ? 64 - have : n;

		memcpy(m->block + have, p, take);
		p += take;
		n -= take;
		if (have + take < 64)
			return;
		md5_block(m, m->block);
	}
	for (; n >= 64; p += 64, n -= 64)
		md5_block(m, p);
	memcpy(m->block, p, n);
}

void cnn_md5_final(struct cnn_md5 *m, unsigned char digest[16])
{
	static const unsigned char pad[64] = { 0x80 };
	unsigned char lenle[8];
	uint64_t bits = m->len * 8;
	size_t have = (size_t)(m->len & 63);
	uint32_t w[4];
	int i;

	for (i = 0; i < 8; i++)
		lenle[i] = (unsigned char)(bits >> (8 * i));
	cnn_md5_update(m, pad, have < 56 ? 56 - have : 120 - have);
	cnn_md5_update(m, lenle, 8);
	w[0] = m->a;
	w[1] = m->b;
	w[2] = m->c;
	w[3] = m->d;
	for (i = 0; i < 16; i++)
		digest[i] = (unsigned char)(w[i / 4] >> (8 * (i % 4)));
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
