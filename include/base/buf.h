/*
 * buf.h - a growable byte buffer with a size cap fixed at creation (like
 * curl's "toobig"): HTTP bodies, JSON text and file contents are read into it
 * without letting a hostile or broken peer grow it without bound.
 *
 * The data is always NUL-terminated (not counted in len), so text can be
 * used as a C string directly.
 *
 * defines: struct sw_buf, SW_BUF_INIT, sw_buf_init, sw_buf_append,
 *          sw_buf_appendf, sw_buf_reset, sw_buf_detach, sw_buf_release
 */
#ifndef SW_BUF_H
#define SW_BUF_H

#include <stddef.h>

struct sw_buf {
	char *data;     /* owned; NULL until the first append */
	size_t len;     /* bytes used, excluding the terminating NUL */
	size_t alloc;   /* bytes allocated */
	size_t cap;     /* maximum len; 0 means unlimited */
};
#define SW_BUF_INIT { NULL, 0, 0, 0 }

/* Sets up an empty buffer that refuses to grow past cap bytes (0: no cap).
 * Does not allocate. */
void sw_buf_init(struct sw_buf *b, size_t cap);

/* Appends n bytes. Returns 0, or -1 (buffer unchanged) when the cap would be
 * exceeded or memory runs out. */
int sw_buf_append(struct sw_buf *b, const void *data, size_t n);

/* printf-style append; same return convention as sw_buf_append. */
int sw_buf_appendf(struct sw_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Empties the buffer, keeping its memory and cap. */
void sw_buf_reset(struct sw_buf *b);

/* Returns the data (the caller frees it; "" when empty, NULL only when out
 * of memory) and
 * leaves the buffer empty. */
char *sw_buf_detach(struct sw_buf *b, size_t *len);

/* Frees the contents; accepts NULL and zeroed buffers. */
void sw_buf_release(struct sw_buf *b);

#endif
