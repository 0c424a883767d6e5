/* data.c - see include/trainer/data.h */
#define _GNU_SOURCE
#include "trainer/data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trainer/download.h"

#define META_FILE "batches.meta.txt"
#define TEST_FILE "test_batch.bin"
#define META_MAX (64 * 1024)
#define CHUNK_RECORDS 1024  /* records read per read() loop: ~3 MB */

/* ==== Directory resolution ==== */

static char *path_join3(const char *a, const char *b, const char *c)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s%s", a, b, c) < 0)
		return NULL;
	return s;
}

int cnn_data_dir(const char *flag, char **out, struct sw_err *err)
{
	const char *env = getenv("SWEEP_DATA");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	*out = NULL;
	if (flag && *flag)
		*out = strdup(flag);
	else if (env && *env)
		*out = strdup(env);
	else if (xdg && xdg[0] == '/') /* XDG: relative values are ignored */
		*out = path_join3(xdg, "/sweep/", CNN_CIFAR_DIRNAME);
	else if (home && *home)
		*out = path_join3(home, "/.cache/sweep/", CNN_CIFAR_DIRNAME);
	else
		return sw_errorf(err, "cannot find a place for the CIFAR-10 data: "
				 "HOME is not set; pass --data DIR or set SWEEP_DATA");
	if (!*out)
		return sw_errorf(err, "out of memory");
	return 0;
}

/* ==== Loading ==== */

static int read_meta(const char *dir, struct cnn_dataset *ds,
		     struct sw_err *err)
{
	char *path = path_join3(dir, "/", META_FILE);
	char *text = NULL, *line, *save = NULL;
	FILE *f = NULL;
	size_t len;
	int ret = -1, n = 0, lineno = 0;

	if (!path)
		return sw_errorf(err, "out of memory");
	f = fopen(path, "rb");
	if (!f) {
		sw_errorf(err, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	text = malloc(META_MAX + 1);
	if (!text) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	len = fread(text, 1, META_MAX + 1, f);
	if (ferror(f)) {
		sw_errorf(err, "cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	if (len > META_MAX) {
		sw_errorf(err, "'%s' is larger than %d bytes: not a CIFAR-10 "
			  "class list", path, META_MAX);
		goto done;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		sw_errorf(err, "'%s' is not a text file (NUL byte)", path);
		goto done;
	}
	/* strtok_r would merge empty lines; count lines by hand */
	for (line = text; line; line = save) {
		size_t l;

		lineno++;
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		l = strlen(line);
		while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' ||
			     line[l - 1] == '\t'))
			line[--l] = '\0';
		if (!l)
			continue;
		if (n == CNN_CIFAR_CLASSES) {
			sw_errorf(err, "'%s' line %d: more than %d class names",
				  path, lineno, CNN_CIFAR_CLASSES);
			goto done;
		}
		if (l >= sizeof(ds->class_names[0])) {
			sw_errorf(err, "'%s' line %d: class name longer than %zu bytes",
				  path, lineno, sizeof(ds->class_names[0]) - 1);
			goto done;
		}
		memcpy(ds->class_names[n++], line, l + 1);
	}
	if (n != CNN_CIFAR_CLASSES) {
		sw_errorf(err, "'%s' names %d classes, expected %d", path, n,
			  CNN_CIFAR_CLASSES);
		goto done;
	}
	ret = 0;
done:
	if (f)
		fclose(f);
	free(text);
	free(path);
	return ret;
}

/* Opens one batch file, checks its size, and reads its first `want` records
 * into pixels/labels, validating every label. */
static int read_batch(const char *dir, const char *name, int records,
		      int want, uint8_t *pixels, uint8_t *labels,
		      uint8_t *chunk, struct sw_err *err)
{
	char *path = path_join3(dir, "/", name);
	struct stat st;
	int fd = -1, ret = -1, done_n = 0;
	off_t expect = (off_t)records * CNN_CIFAR_RECORD;

	if (!path)
		return sw_errorf(err, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sw_errorf(err, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		sw_errorf(err, "cannot stat '%s': %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		sw_errorf(err, "'%s' is not a regular file", path);
		goto done;
	}
	if (st.st_size % CNN_CIFAR_RECORD) {
		sw_errorf(err, "'%s': size %lld is not a multiple of %d bytes "
			  "(one CIFAR-10 record); the file is truncated or not "
			  "CIFAR-10 binary data", path, (long long)st.st_size,
			  CNN_CIFAR_RECORD);
		goto done;
	}
	if (st.st_size != expect) {
		sw_errorf(err, "'%s': %lld records, expected %d", path,
			  (long long)(st.st_size / CNN_CIFAR_RECORD), records);
		goto done;
	}
	while (done_n < want) {
		int n = want - done_n < CHUNK_RECORDS ? want - done_n : CHUNK_RECORDS;
		size_t bytes = (size_t)n * CNN_CIFAR_RECORD, got = 0;
		int i;

		while (got < bytes) {
			ssize_t r = read(fd, chunk + got, bytes - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				sw_errorf(err, "cannot read '%s': %s", path,
					  strerror(errno));
				goto done;
			}
			if (r == 0) {
				sw_errorf(err, "'%s': unexpected end of file at "
					  "record %zu (did the file change while "
					  "loading?)", path,
					  done_n + got / CNN_CIFAR_RECORD);
				goto done;
			}
			got += (size_t)r;
		}
		for (i = 0; i < n; i++) {
			const uint8_t *rec = chunk + (size_t)i * CNN_CIFAR_RECORD;
			int r = done_n + i;

			if (rec[0] >= CNN_CIFAR_CLASSES) {
				sw_errorf(err, "'%s' record %d: label %d is not a "
					  "class (0-9)", path, r, rec[0]);
				goto done;
			}
			labels[r] = rec[0];
			memcpy(pixels + (size_t)r * CNN_CIFAR_PIXELS, rec + 1,
			       CNN_CIFAR_PIXELS);
		}
		done_n += n;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(path);
	return ret;
}

static int clamp_limit(int limit, int total)
{
	return limit > 0 && limit < total ? limit : total;
}

int cnn_dataset_load(const char *dir, const struct cnn_data_opts *opts,
		     struct cnn_dataset **out, struct sw_err *err)
{
	static const struct cnn_data_opts defaults = CNN_DATA_OPTS_INIT;
	struct cnn_dataset *ds = NULL;
	uint8_t *chunk = NULL, *p;
	int records, n_train = 0, n_test = 0, b, ret = -1;
	size_t total;
	struct stat st;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	records = opts->batch_records > 0 ? opts->batch_records
					  : CNN_CIFAR_BATCH_RECORDS;
	if (records > (1 << 30) / CNN_CIFAR_RECORD / CNN_CIFAR_TRAIN_FILES)
		return sw_errorf(err, "batch_records %d is too large", records);
	if (stat(dir, &st) < 0)
		return sw_errorf(err, "cannot open data directory '%s': %s", dir,
				 strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return sw_errorf(err, "data directory '%s' is not a directory", dir);
	if (!opts->skip_train)
		n_train = clamp_limit(opts->train_limit,
				      records * CNN_CIFAR_TRAIN_FILES);
	if (!opts->skip_test)
		n_test = clamp_limit(opts->val_limit, records);

	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return sw_errorf(err, "out of memory");
	ds->refs_ = 1;
	ds->dir = strdup(dir);
	total = ((size_t)n_train + n_test) * (CNN_CIFAR_PIXELS + 1);
	/* 64-byte aligned: the pixel rows feed vectorised conversion loops */
	if (!ds->dir || posix_memalign((void **)&ds->storage_, 64,
				       total ? total : 64)) {
		ds->storage_ = NULL;
		sw_errorf(err, "out of memory loading CIFAR-10 (%zu bytes)", total);
		goto done;
	}
	chunk = malloc((size_t)CHUNK_RECORDS * CNN_CIFAR_RECORD);
	if (!chunk) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (read_meta(dir, ds, err) < 0)
		goto done;

	p = ds->storage_;
	ds->train.pixels = p;
	p += (size_t)n_train * CNN_CIFAR_PIXELS;
	ds->test.pixels = p;
	p += (size_t)n_test * CNN_CIFAR_PIXELS;
	ds->train.labels = p;
	p += n_train;
	ds->test.labels = p;

	if (!opts->skip_train) {
		for (b = 0; b < CNN_CIFAR_TRAIN_FILES; b++) {
			char name[32];
			int first = b * records;
			int want = n_train - first;

			want = want < 0 ? 0 : want > records ? records : want;
			if (want == 0)
				break;      /* train_limit reached: later files not needed */
			snprintf(name, sizeof(name), "data_batch_%d.bin", b + 1);
			if (read_batch(dir, name, records, want,
				       (uint8_t *)ds->train.pixels +
					       (size_t)first * CNN_CIFAR_PIXELS,
				       (uint8_t *)ds->train.labels + first, chunk,
				       err) < 0)
				goto done;
		}
		ds->train.n = n_train;
	}
	if (!opts->skip_test) {
		if (read_batch(dir, TEST_FILE, records, n_test,
			       (uint8_t *)ds->test.pixels,
			       (uint8_t *)ds->test.labels, chunk, err) < 0)
			goto done;
		ds->test.n = n_test;
	}
	*out = ds;
	ds = NULL;
	ret = 0;
done:
	free(chunk);
	if (ds) {
		ds->refs_ = 1;
		cnn_dataset_unref(ds);
	}
	return ret;
}

/* ==== Opening (resolve + download + load) ==== */

int cnn_data_open(const char *flag_dir, const struct cnn_data_opts *opts,
		  const volatile int *stop, struct cnn_dataset **out,
		  struct sw_err *err)
{
	struct cnn_download_opts dopts = CNN_DOWNLOAD_OPTS_INIT;
	char *dir = NULL;
	struct stat st;
	int ret = -1, r;

	*out = NULL;
	if (cnn_data_dir(flag_dir, &dir, err) < 0)
		return -1;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT) {
			sw_errorf(err, "cannot open data directory '%s': %s", dir,
				  strerror(errno));
			goto done;
		}
		if (opts && opts->no_download) {
			sw_errorf(err, "no CIFAR-10 data in '%s' (downloading is "
				  "disabled): pass --data DIR or set SWEEP_DATA "
				  "to a cifar-10-batches-bin directory", dir);
			goto done;
		}
		dopts.stop = stop;
		r = cnn_cifar_download(dir, &dopts, err);
		if (r < 0) {
			ret = r;
			goto done;
		}
	}
	ret = cnn_dataset_load(dir, opts, out, err);
done:
	free(dir);
	return ret;
}

/* ==== Sharing ==== */

struct cnn_dataset *cnn_dataset_ref(struct cnn_dataset *ds)
{
	__atomic_add_fetch(&ds->refs_, 1, __ATOMIC_RELAXED);
	return ds;
}

void cnn_dataset_unref(struct cnn_dataset *ds)
{
	if (!ds)
		return;
	if (__atomic_sub_fetch(&ds->refs_, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(ds->storage_);
	free(ds->dir);
	free(ds);
}

/* ==== Views and helpers ==== */

struct cnn_split cnn_split_head(const struct cnn_split *s, int n)
{
	struct cnn_split v = *s;

	v.n = clamp_limit(n, s->n);
	return v;
}

void cnn_split_labels(const struct cnn_split *s, const int *idx, int n,
		      int *out)
{
	int i;

	for (i = 0; i < n; i++)
		out[i] = s->labels[idx ? idx[i] : i];
}

void cnn_permutation(int *idx, int n, struct sw_rng *rng)
{
	int i;

	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = n - 1; i > 0; i--) {
		int j = (int)sw_rng_bounded(rng, (uint32_t)i + 1);
		int t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
}
