/* safetensors.c - see include/trainer/safetensors.h */
#define _GNU_SOURCE
#include "trainer/safetensors.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_KEY "__metadata__"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BIG_ENDIAN 1
#else
#define HOST_BIG_ENDIAN 0
#endif

/* Copies n 4-byte values, swapping byte order on big-endian hosts (the
 * file is little-endian). */
static void copy_le32(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n * 4);
#if HOST_BIG_ENDIAN
	{
		unsigned char *p = dst;
		size_t i;

		for (i = 0; i < n; i++, p += 4) {
			unsigned char t = p[0];

			p[0] = p[3], p[3] = t;
			t = p[1], p[1] = p[2], p[2] = t;
		}
	}
#endif
}

/* "[32, 3, 3, 3]" into buf. */
static const char *shape_str(char *buf, size_t cap, int ndim,
			     const int64_t *shape)
{
	size_t used = 0;
	int i;

	used += (size_t)snprintf(buf, cap, "[");
	for (i = 0; i < ndim && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64,
					 i ? ", " : "", shape[i]);
	if (used < cap)
		snprintf(buf + used, cap - used, "]");
	return buf;
}

/* prod(shape) with overflow detection; -1 on overflow. */
static int numel_of(int ndim, const int64_t *shape, size_t *out)
{
	size_t n = 1;
	int i;

	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0)
			return -1;
		if (shape[i] && n > SIZE_MAX / 4 / (size_t)shape[i])
			return -1;
		n *= (size_t)shape[i];
	}
	*out = n;
	return 0;
}

/* ==== Writing ==== */

static int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static json_t *build_header(const struct cnn_st_tensor *t, int n,
			    const json_t *metadata, struct sw_err *err)
{
	json_t *h = json_object();
	size_t off = 0;
	int i, k;

	if (!h) {
		sw_errorf(err, "out of memory");
		return NULL;
	}
	if (metadata) {
		const char *key;
		json_t *v;

		if (!json_is_object(metadata)) {
			sw_errorf(err, "metadata must be a JSON object");
			goto fail;
		}
		json_object_foreach((json_t *)metadata, key, v) {
			if (!json_is_string(v)) {
				sw_errorf(err, "metadata '%s' is not a string (the "
					  "format only allows strings)", key);
				goto fail;
			}
		}
		if (json_object_size(metadata) &&
		    json_object_set_new(h, META_KEY, json_deep_copy(metadata)) < 0) {
			sw_errorf(err, "out of memory");
			goto fail;
		}
	}
	for (i = 0; i < n; i++) {
		json_t *shape, *e;
		size_t numel;

		if (!t[i].name || !*t[i].name || !strcmp(t[i].name, META_KEY)) {
			sw_errorf(err, "tensor %d has an invalid name '%s'", i,
				  t[i].name ? t[i].name : "(null)");
			goto fail;
		}
		if (json_object_get(h, t[i].name)) {
			sw_errorf(err, "duplicate tensor name '%s'", t[i].name);
			goto fail;
		}
		if (t[i].ndim < 0 || t[i].ndim > CNN_ST_MAX_DIMS ||
		    numel_of(t[i].ndim, t[i].shape, &numel) < 0) {
			sw_errorf(err, "tensor '%s' has an invalid shape", t[i].name);
			goto fail;
		}
		if (numel && !t[i].data) {
			sw_errorf(err, "tensor '%s' has no data", t[i].name);
			goto fail;
		}
		shape = json_array();
		for (k = 0; k < t[i].ndim; k++)
			json_array_append_new(shape, json_integer(t[i].shape[k]));
		e = json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape", shape,
			      "data_offsets", (json_int_t)off,
			      (json_int_t)(off + numel * 4));
		if (!e || json_object_set_new(h, t[i].name, e) < 0) {
			sw_errorf(err, "out of memory");
			goto fail;
		}
		off += numel * 4;
	}
	return h;
fail:
	json_decref(h);
	return NULL;
}

int cnn_st_write(const char *path, const struct cnn_st_tensor *tensors, int n,
		 const json_t *metadata, struct sw_err *err)
{
	json_t *h = NULL;
	char *text = NULL, *tmp = NULL, *dircopy = NULL, *buf = NULL;
	unsigned char lenb[8];
	size_t len, padded, cap = 1 << 16;
	int fd = -1, ret = -1, i;

	if (n < 0 || (n && !tensors))
		return sw_errorf(err, "invalid tensor list");
	h = build_header(tensors, n, metadata, err);
	if (!h)
		return -1;
	text = json_dumps(h, JSON_COMPACT);
	if (!text) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	len = strlen(text);
	padded = (len + 7) & ~(size_t)7;
	for (i = 0; i < 8; i++)
		lenb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		tmp = NULL;
		sw_errorf(err, "out of memory");
		goto done;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		sw_errorf(err, "cannot create '%s': %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	fchmod(fd, 0644);
	if (write_all(fd, lenb, 8) < 0 || write_all(fd, text, len) < 0 ||
	    write_all(fd, "        ", padded - len) < 0)
		goto io_error;
	buf = malloc(cap);
	if (!buf) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		size_t numel = 0, done_n = 0;

		numel_of(tensors[i].ndim, tensors[i].shape, &numel);
		while (done_n < numel) {
			size_t k = numel - done_n < cap / 4 ? numel - done_n : cap / 4;

			copy_le32(buf, tensors[i].data + done_n, k);
			if (write_all(fd, buf, k * 4) < 0)
				goto io_error;
			done_n += k;
		}
	}
	if (fsync(fd) < 0)
		goto io_error;
	if (close(fd) < 0) {
		fd = -1;
		goto io_error;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		sw_errorf(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	free(tmp);
	tmp = NULL;
	dircopy = strdup(path);
	if (dircopy) {
		int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	ret = 0;
	goto done;
io_error:
	sw_errorf(err, "cannot write '%s': %s", path, strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(buf);
	free(dircopy);
	free(text);
	json_decref(h);
	return ret;
}

/* ==== Reading ==== */

static int get_dims(const json_t *a, const char *name, const char *file,
		    struct cnn_st_entry *e, struct sw_err *err)
{
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > CNN_ST_MAX_DIMS)
		return sw_errorf(err, "'%s': tensor '%s': 'shape' must be an array "
				 "of at most %d integers", file, name,
				 CNN_ST_MAX_DIMS);
	e->ndim = (int)json_array_size(a);
	for (i = 0; i < json_array_size(a); i++) {
		json_t *d = json_array_get(a, i);

		if (!json_is_integer(d) || json_integer_value(d) < 0)
			return sw_errorf(err, "'%s': tensor '%s': shape[%zu] must be "
					 "a non-negative integer", file, name, i);
		e->shape[i] = json_integer_value(d);
	}
	if (numel_of(e->ndim, e->shape, &e->numel) < 0)
		return sw_errorf(err, "'%s': tensor '%s': shape is too large",
				 file, name);
	return 0;
}

struct span {
	size_t begin, end;
	int index;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->index - y->index;
}

int cnn_st_parse(const void *buf, size_t len, const char *name,
		 struct cnn_st_file *f, struct sw_err *err)
{
	static const char *const allowed[] = { "dtype", "shape", "data_offsets" };
	const unsigned char *p = buf;
	struct span *spans = NULL;
	json_t *root = NULL, *v;
	json_error_t je;
	const char *key;
	uint64_t hlen = 0;
	size_t data_len, i, at;
	int ret = -1, k;

	memset(f, 0, sizeof(*f));
	if (len < 8)
		return sw_errorf(err, "'%s': too short (%zu bytes) to be a "
				 "safetensors file", name, len);
	for (k = 0; k < 8; k++)
		hlen |= (uint64_t)p[k] << (8 * k);
	if (hlen > CNN_ST_MAX_HEADER)
		return sw_errorf(err, "'%s': header length %" PRIu64 " is larger "
				 "than the %u-byte limit (not a safetensors file?)",
				 name, hlen, CNN_ST_MAX_HEADER);
	if (hlen > len - 8)
		return sw_errorf(err, "'%s': header length %" PRIu64 " runs past "
				 "the end of the file (%zu bytes): truncated file",
				 name, hlen, len);
	if (hlen < 2 || p[8] != '{')
		return sw_errorf(err, "'%s': the header is not a JSON object", name);
	root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES,
			  &je);
	if (!root) {
		sw_errorf(err, "'%s': bad JSON header at byte %d: %s", name,
			  je.position, je.text);
		goto done;
	}
	if (!json_is_object(root)) {
		sw_errorf(err, "'%s': the header is not a JSON object", name);
		goto done;
	}
	data_len = len - 8 - (size_t)hlen;
	f->tensors = calloc(json_object_size(root) + 1, sizeof(*f->tensors));
	spans = calloc(json_object_size(root) + 1, sizeof(*spans));
	if (!f->tensors || !spans) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	json_object_foreach(root, key, v) {
		struct cnn_st_entry *e = &f->tensors[f->n];
		json_t *dt, *off, *field;
		const char *fk;
		json_int_t b, en;

		if (!strcmp(key, META_KEY)) {
			const char *mk;
			json_t *mv;

			if (!json_is_object(v)) {
				sw_errorf(err, "'%s': __metadata__ is not an object", name);
				goto done;
			}
			json_object_foreach(v, mk, mv) {
				if (!json_is_string(mv)) {
					sw_errorf(err, "'%s': metadata '%s' is not a string",
						  name, mk);
					goto done;
				}
			}
			json_decref(f->metadata);
			f->metadata = json_incref(v);
			continue;
		}
		if (!json_is_object(v)) {
			sw_errorf(err, "'%s': tensor '%s' is not an object", name, key);
			goto done;
		}
		json_object_foreach(v, fk, field) {
			for (i = 0; i < 3 && strcmp(allowed[i], fk); i++)
				;
			if (i == 3) {
				sw_errorf(err, "'%s': tensor '%s': unknown key '%s'",
					  name, key, fk);
				goto done;
			}
		}
		dt = json_object_get(v, "dtype");
		if (!json_is_string(dt)) {
			sw_errorf(err, "'%s': tensor '%s' has no dtype", name, key);
			goto done;
		}
		if (strcmp(json_string_value(dt), "F32") != 0) {
			sw_errorf(err, "'%s': tensor '%s' has dtype '%s'; only F32 is "
				  "supported", name, key, json_string_value(dt));
			goto done;
		}
		if (get_dims(json_object_get(v, "shape"), key, name, e, err) < 0)
			goto done;
		off = json_object_get(v, "data_offsets");
		if (!json_is_array(off) || json_array_size(off) != 2 ||
		    !json_is_integer(json_array_get(off, 0)) ||
		    !json_is_integer(json_array_get(off, 1))) {
			sw_errorf(err, "'%s': tensor '%s': 'data_offsets' must be "
				  "[begin, end]", name, key);
			goto done;
		}
		b = json_integer_value(json_array_get(off, 0));
		en = json_integer_value(json_array_get(off, 1));
		if (b < 0 || en < b || (uint64_t)en > data_len) {
			sw_errorf(err, "'%s': tensor '%s': data_offsets [%" JSON_INTEGER_FORMAT
				  ", %" JSON_INTEGER_FORMAT "] are outside the data area "
				  "(%zu bytes)%s", name, key, b, en, data_len,
				  (uint64_t)en > data_len ? ": truncated file?" : "");
			goto done;
		}
		if ((size_t)(en - b) != e->numel * 4) {
			char sb[128];

			sw_errorf(err, "'%s': tensor '%s': data_offsets [%" JSON_INTEGER_FORMAT
				  ", %" JSON_INTEGER_FORMAT "] hold %" JSON_INTEGER_FORMAT
				  " bytes but shape %s needs %zu", name, key, b, en,
				  en - b, shape_str(sb, sizeof(sb), e->ndim, e->shape),
				  e->numel * 4);
			goto done;
		}
		e->name = strdup(key);
		if (!e->name) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		e->offset = (size_t)b;
		spans[f->n].begin = (size_t)b;
		spans[f->n].end = (size_t)en;
		spans[f->n].index = f->n;
		f->n++;
	}
	/* the tensors must tile the data area exactly */
	qsort(spans, (size_t)f->n, sizeof(*spans), span_cmp);
	for (at = 0, k = 0; k < f->n; k++) {
		const struct span *s = &spans[k];

		if (s->begin < at) {
			sw_errorf(err, "'%s': tensor '%s': data_offsets [%zu, %zu] "
				  "overlap tensor '%s'", name,
				  f->tensors[s->index].name, s->begin, s->end,
				  f->tensors[spans[k - 1].index].name);
			goto done;
		}
		if (s->begin > at) {
			sw_errorf(err, "'%s': tensor '%s': data_offsets [%zu, %zu] "
				  "leave a gap at byte %zu of the data area", name,
				  f->tensors[s->index].name, s->begin, s->end, at);
			goto done;
		}
		at = s->end;
	}
	if (at != data_len) {
		sw_errorf(err, "'%s': %zu bytes after the last tensor (the data "
			  "area is %zu bytes, the tensors cover %zu)", name,
			  data_len - at, data_len, at);
		goto done;
	}
	if (!f->metadata)
		f->metadata = json_object();
	f->data = malloc(data_len ? data_len : 1);
	if (!f->data || !f->metadata) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	memcpy(f->data, p + 8 + hlen, data_len);
	f->data_len = data_len;
	ret = 0;
done:
	free(spans);
	json_decref(root);
	if (ret < 0)
		cnn_st_file_release(f);
	return ret;
}

int cnn_st_read(const char *path, struct cnn_st_file *f, struct sw_err *err)
{
	char *buf = NULL;
	size_t got = 0;
	int ret;

	memset(f, 0, sizeof(*f));
	if (sw_read_file(path, 0, &buf, &got, NULL, err) < 0)
		return -1;
	ret = cnn_st_parse(buf, got, path, f, err);
	free(buf);
	return ret;
}

/* ==== Access ==== */

const struct cnn_st_entry *cnn_st_find(const struct cnn_st_file *f,
				       const char *name)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->tensors[i].name, name))
			return &f->tensors[i];
	return NULL;
}

int cnn_st_get(const struct cnn_st_file *f, const char *name, int ndim,
	       const int64_t *shape, float *dst, struct sw_err *err)
{
	const struct cnn_st_entry *e = cnn_st_find(f, name);
	char have[128], want[128];
	int i, same;

	if (!e)
		return sw_errorf(err, "missing tensor '%s'", name);
	same = e->ndim == ndim;
	for (i = 0; same && i < ndim; i++)
		same = e->shape[i] == shape[i];
	if (!same)
		return sw_errorf(err, "tensor '%s' has shape %s, expected %s", name,
				 shape_str(have, sizeof(have), e->ndim, e->shape),
				 shape_str(want, sizeof(want), ndim, shape));
	copy_le32(dst, f->data + e->offset, e->numel);
	return 0;
}

const char *cnn_st_meta(const struct cnn_st_file *f, const char *key)
{
	return f->metadata ? json_string_value(json_object_get(f->metadata, key))
			   : NULL;
}

int cnn_st_meta_json(const struct cnn_st_file *f, const char *key,
		     json_t **out, struct sw_err *err)
{
	const char *text = cnn_st_meta(f, key);
	json_error_t je;

	*out = NULL;
	if (!text)
		return sw_errorf(err, "missing metadata '%s'", key);
	*out = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return sw_errorf(err, "metadata '%s' is not valid JSON: %s", key,
				 je.text);
	return 0;
}

int cnn_st_meta_set_json(json_t *meta, const char *key, const json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	int r;

	if (!text)
		return -1;
	r = json_object_set_new(meta, key, json_string(text));
	free(text);
	return r < 0 ? -1 : 0;
}

void cnn_st_file_release(struct cnn_st_file *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		free(f->tensors[i].name);
	free(f->tensors);
	free(f->data);
	json_decref(f->metadata);
	memset(f, 0, sizeof(*f));
}
