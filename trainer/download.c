/* download.c - see include/trainer/download.h */
#define _GNU_SOURCE
#include "trainer/download.h"
#include "base/dl.h"
#include "base/file.h"
#include "base/libcurl.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trainer/data.h"
#include "trainer/md5.h"

#define MAX_DOWNLOAD (1024LL * 1024 * 1024)  /* the real tarball: 170 MB */
#define MAX_EXTRACT (2048LL * 1024 * 1024)   /* unpacked: 185 MB */

static const char *const expected_files[] = {
	"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
	"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
	"batches.meta.txt", NULL,
};

/* ==== Small file-system helpers ==== */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rmtree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}


static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ==== Transfer ==== */

struct xfer {
	int fd;
	struct cnn_md5 md5;
	long long bytes;
	int write_failed;       /* errno of a failed write, or 0 */
	int too_big;
	int progress;
	curl_off_t total;       /* expected size, once the server said it */
	double last_draw, start;
	const volatile int *stop;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, off = 0;

	if (x->bytes + (long long)n > MAX_DOWNLOAD) {
		x->too_big = 1;
		return 0;
	}
	while (off < n) {
		ssize_t w = write(x->fd, data + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			x->write_failed = errno;
			return 0;
		}
		off += (size_t)w;
	}
	cnn_md5_update(&x->md5, data, n);
	x->bytes += (long long)n;
	return n;
}

static void draw_progress(struct xfer *x, curl_off_t total, curl_off_t now,
			  int final)
{
	char bar[31];
	double t = now_s(), rate;
	int i, fill;

	if (!final && t - x->last_draw < 0.2)
		return;
	x->last_draw = t;
	rate = t > x->start ? (double)now / (t - x->start) : 0;
	fill = total > 0 ? (int)(30.0 * (double)now / (double)total) : 0;
	fill = fill > 30 ? 30 : fill;
	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	if (total > 0)
		fprintf(stderr, "\r  [%s] %3d%% %6.1f/%.1f MB %5.1f MB/s ", bar,
			(int)(100.0 * (double)now / (double)total), now / 1e6,
			total / 1e6, rate / 1e6);
	else
		fprintf(stderr, "\r  %6.1f MB %5.1f MB/s ", now / 1e6, rate / 1e6);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)ultotal;
	(void)ulnow;
	if (x->stop && *x->stop)
		return 1;
	if (dltotal > 0)
		x->total = dltotal;
	if (x->progress && dlnow > 0)
		draw_progress(x, dltotal, dlnow, 0);
	return 0;
}

static int fetch(const char *url, const struct cnn_download_opts *o,
		 struct xfer *x, struct sw_err *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;
	long status = 0;
	int ret = -1;

	if (sw_curl_load(err) < 0)
		return -1;
	c = sw_curl.easy_init();
	if (!c)
		return sw_errorf(err, "cannot initialise libcurl");
	sw_curl.easy_setopt(c, CURLOPT_URL, url);
	sw_curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	sw_curl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	sw_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	sw_curl.easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	sw_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	sw_curl.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	sw_curl.easy_setopt(c, CURLOPT_USERAGENT, "sweep (cifar-10 download)");
	sw_curl.easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	sw_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			    o->connect_timeout > 0 ? o->connect_timeout : 30L);
	sw_curl.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT,
			    o->low_speed_limit > 0 ? o->low_speed_limit : 1000L);
	sw_curl.easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			    o->low_speed_time > 0 ? o->low_speed_time : 60L);
	sw_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	sw_curl.easy_setopt(c, CURLOPT_WRITEDATA, x);
	sw_curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	sw_curl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	sw_curl.easy_setopt(c, CURLOPT_XFERINFODATA, x);

	x->start = now_s();
	rc = sw_curl.easy_perform(c);
	sw_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (x->progress && x->bytes > 0)
		draw_progress(x, x->total, x->bytes, 1);
	if (rc == CURLE_OK) {
		ret = 0;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && x->stop && *x->stop) {
		sw_errorf(err, "download of '%s' interrupted", url);
		ret = SW_ERR_INTR;
	} else if (rc == CURLE_HTTP_RETURNED_ERROR) {
		sw_errorf(err, "download of '%s' failed: HTTP %ld", url, status);
	} else if (rc == CURLE_WRITE_ERROR && x->too_big) {
		sw_errorf(err, "download of '%s' failed: larger than %lld bytes, "
			  "not the CIFAR-10 tarball", url, MAX_DOWNLOAD);
	} else if (rc == CURLE_WRITE_ERROR && x->write_failed) {
		sw_errorf(err, "download of '%s' failed: cannot write: %s", url,
			  strerror(x->write_failed));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		sw_errorf(err, "download of '%s' failed: %s (the server is too "
			  "slow or not responding; try again later)", url,
			  *ebuf ? ebuf : sw_curl.easy_strerror(rc));
	} else {
		sw_errorf(err, "download of '%s' failed: %s", url,
			  *ebuf ? ebuf : sw_curl.easy_strerror(rc));
	}
	sw_curl.easy_cleanup(c);
	return ret;
}

/* ==== libarchive, loaded on the first extraction (base/dl.h) ==== */

static struct {
	__typeof__(archive_entry_filetype) *entry_filetype;
	__typeof__(archive_entry_hardlink) *entry_hardlink;
	__typeof__(archive_entry_pathname) *entry_pathname;
	__typeof__(archive_entry_set_pathname) *entry_set_pathname;
	__typeof__(archive_entry_set_perm) *entry_set_perm;
	__typeof__(archive_entry_size) *entry_size;
	__typeof__(archive_entry_symlink) *entry_symlink;
	__typeof__(archive_error_string) *error_string;
	__typeof__(archive_read_data_block) *read_data_block;
	__typeof__(archive_read_free) *read_free;
	__typeof__(archive_read_new) *read_new;
	__typeof__(archive_read_next_header) *read_next_header;
	__typeof__(archive_read_open_filename) *read_open_filename;
	__typeof__(archive_read_support_filter_all) *read_support_filter_all;
	__typeof__(archive_read_support_format_gnutar) *read_support_format_gnutar;
	__typeof__(archive_read_support_format_tar) *read_support_format_tar;
	__typeof__(archive_write_data_block) *write_data_block;
	__typeof__(archive_write_disk_new) *write_disk_new;
	__typeof__(archive_write_disk_set_options) *write_disk_set_options;
	__typeof__(archive_write_finish_entry) *write_finish_entry;
	__typeof__(archive_write_free) *write_free;
	__typeof__(archive_write_header) *write_header;
} ar;

#define SYM(f) { "archive_" #f, (void **)&ar.f }
static const struct sw_dl_sym archive_syms[] = {
	SYM(entry_filetype),
	SYM(entry_hardlink),
	SYM(entry_pathname),
	SYM(entry_set_pathname),
	SYM(entry_set_perm),
	SYM(entry_size),
	SYM(entry_symlink),
	SYM(error_string),
	SYM(read_data_block),
	SYM(read_free),
	SYM(read_new),
	SYM(read_next_header),
	SYM(read_open_filename),
	SYM(read_support_filter_all),
	SYM(read_support_format_gnutar),
	SYM(read_support_format_tar),
	SYM(write_data_block),
	SYM(write_disk_new),
	SYM(write_disk_set_options),
	SYM(write_finish_entry),
	SYM(write_free),
	SYM(write_header),
	{ NULL, NULL },
};
#undef SYM
static const char *const archive_sonames[] = { "libarchive.so.13", NULL };
static struct sw_dl_lib libarchive =
	SW_DL_LIB("libarchive", archive_sonames, "libarchive13", archive_syms);

/* ==== Extraction ==== */

/* Rejects names that could escape the extraction directory. */
static int safe_name(const char *name)
{
	const char *p = name;

	if (!*name || name[0] == '/')
		return 0;
	while (*p) {
		size_t l = strcspn(p, "/");

		if (l == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += l;
		while (*p == '/')
			p++;
	}
	return 1;
}

static int extract(const char *tarball, const char *into, const char *url,
		   const volatile int *stop, struct sw_err *err)
{
	struct archive *a = NULL, *w = NULL;
	struct archive_entry *e;
	long long total = 0;
	char *name = NULL;
	int ret = -1, r;

	if (sw_dl_load(&libarchive, err) < 0)
		return -1;
	a = ar.read_new();
	w = ar.write_disk_new();
	if (!a || !w) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ar.read_support_filter_all(a);
	ar.read_support_format_tar(a);
	ar.read_support_format_gnutar(a);
	/* names are checked by safe_name() before the extraction directory is
	 * prefixed, which makes them absolute: no SECURE_NOABSOLUTEPATHS */
	ar.write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
				  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
				  ARCHIVE_EXTRACT_NO_OVERWRITE);
	if (ar.read_open_filename(a, tarball, 1 << 16) != ARCHIVE_OK) {
		sw_errorf(err, "the download of '%s' is not a readable archive: %s",
			  url, ar.error_string(a));
		goto done;
	}
	for (;;) {
		char *full = NULL;
		mode_t type;

		if (stop && *stop) {
			sw_errorf(err, "extraction of '%s' interrupted", url);
			ret = SW_ERR_INTR;
			goto done;
		}
		r = ar.read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			sw_errorf(err, "the download of '%s' is a corrupt archive: %s",
				  url, ar.error_string(a));
			goto done;
		}
		free(name);
		name = ar.entry_pathname(e) ? strdup(ar.entry_pathname(e))
						 : NULL;
		type = ar.entry_filetype(e);
		if (!name || !safe_name(name)) {
			sw_errorf(err, "the download of '%s' holds an unsafe path "
				  "'%s'", url, name ? name : "");
			goto done;
		}
		if ((type != AE_IFREG && type != AE_IFDIR) ||
		    ar.entry_hardlink(e) || ar.entry_symlink(e)) {
			sw_errorf(err, "the download of '%s' holds '%s', which is "
				  "not a plain file or directory", url, name);
			goto done;
		}
		total += ar.entry_size(e);
		if (total > MAX_EXTRACT) {
			sw_errorf(err, "the download of '%s' unpacks to more than "
				  "%lld bytes, not the CIFAR-10 tarball", url,
				  MAX_EXTRACT);
			goto done;
		}
		if (asprintf(&full, "%s/%s", into, name) < 0) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		ar.entry_set_pathname(e, full);
		ar.entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
		free(full);
		if (ar.write_header(w, e) != ARCHIVE_OK) {
			sw_errorf(err, "cannot extract '%s': %s", name,
				  ar.error_string(w));
			goto done;
		}
		if (type == AE_IFREG) {
			const void *buf;
			size_t len;
			la_int64_t off;

			while ((r = ar.read_data_block(a, &buf, &len, &off)) ==
			       ARCHIVE_OK) {
				if (ar.write_data_block(w, buf, len, off) !=
				    ARCHIVE_OK) {
					sw_errorf(err, "cannot extract '%s': %s", name,
						  ar.error_string(w));
					goto done;
				}
			}
			if (r != ARCHIVE_EOF) {
				sw_errorf(err, "the download of '%s' is a corrupt "
					  "archive at '%s': %s", url, name,
					  ar.error_string(a));
				goto done;
			}
		}
		if (ar.write_finish_entry(w) != ARCHIVE_OK) {
			sw_errorf(err, "cannot extract '%s': %s", name,
				  ar.error_string(w));
			goto done;
		}
	}
	ret = 0;
done:
	free(name);
	if (a)
		ar.read_free(a);
	if (w)
		ar.write_free(w);
	return ret;
}

/* Checks the unpacked directory and flushes its files to disk. */
static int verify_tree(const char *dir, const char *url, struct sw_err *err)
{
	int i;

	for (i = 0; expected_files[i]; i++) {
		char *path = NULL;
		struct stat st;
		int fd, is_batch = strstr(expected_files[i], ".bin") != NULL;

		if (asprintf(&path, "%s/%s", dir, expected_files[i]) < 0)
			return sw_errorf(err, "out of memory");
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			free(path);
			return sw_errorf(err, "the download of '%s' has no %s/%s: "
					 "not the CIFAR-10 binary tarball", url,
					 CNN_CIFAR_DIRNAME, expected_files[i]);
		}
		if (st.st_size == 0 ||
		    (is_batch && st.st_size % CNN_CIFAR_RECORD)) {
			close(fd);
			free(path);
			return sw_errorf(err, "the download of '%s' has a bad %s "
					 "(%lld bytes)", url, expected_files[i],
					 (long long)st.st_size);
		}
		fsync(fd);
		close(fd);
		free(path);
	}
	return 0;
}

/* ==== The whole procedure ==== */

static int md5_valid(const char *s)
{
	int i;

	for (i = 0; i < 32; i++)
		if (!s[i] || !strchr("0123456789abcdefABCDEF", s[i]))
			return 0;
	return s[32] == '\0';
}

int cnn_cifar_download(const char *dest_dir,
		       const struct cnn_download_opts *opts,
		       struct sw_err *err)
{
	static const struct cnn_download_opts defaults = CNN_DOWNLOAD_OPTS_INIT;
	struct xfer x;
	char *copy1 = NULL, *copy2 = NULL, *part = NULL, *tmpdir = NULL;
	char *unpacked = NULL;
	const char *url, *md5, *parent, *base;
	unsigned char digest[16];
	char hex[33];
	struct stat st;
	int ret = -1, r, tmp_made = 0;

	memset(&x, 0, sizeof(x));
	x.fd = -1;
	if (!opts)
		opts = &defaults;
	url = opts->url ? opts->url : getenv("SWEEP_CIFAR_URL");
	if (!url || !*url)
		url = CNN_CIFAR_URL;
	md5 = opts->md5 ? opts->md5 : getenv("SWEEP_TEST_CIFAR_MD5");
	if (!md5 || !*md5)
		md5 = CNN_CIFAR_MD5;
	if (!md5_valid(md5))
		return sw_errorf(err, "expected MD5 '%s' is not 32 hex digits", md5);

	copy1 = strdup(dest_dir);
	copy2 = strdup(dest_dir);
	if (!copy1 || !copy2) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	parent = dirname(copy1);
	base = basename(copy2);
	if (!*base || !strcmp(base, "/") || !strcmp(base, ".") ||
	    !strcmp(base, "..")) {
		sw_errorf(err, "cannot download into '%s': not a directory name",
			  dest_dir);
		goto done;
	}
	if (lstat(dest_dir, &st) == 0) {
		sw_errorf(err, "cannot download into '%s': it already exists",
			  dest_dir);
		goto done;
	}
	if (sw_mkdir_p(parent, err) < 0)
		goto done;
	if (asprintf(&part, "%s/.%s.part-XXXXXX", parent, base) < 0 ||
	    asprintf(&tmpdir, "%s/.%s.tmp-XXXXXX", parent, base) < 0) {
		part = tmpdir = NULL;
		sw_errorf(err, "out of memory");
		goto done;
	}
	x.fd = mkostemp(part, O_CLOEXEC);
	if (x.fd < 0) {
		sw_errorf(err, "cannot create a temporary file in '%s': %s",
			  parent, strerror(errno));
		free(part);
		part = NULL;
		goto done;
	}
	if (cnn_md5_load(err) < 0)
		goto done;
	cnn_md5_init(&x.md5);
	x.stop = opts->stop;
	x.progress = opts->progress < 0 ? isatty(STDERR_FILENO) : opts->progress;
	fprintf(stderr, "sweep: downloading CIFAR-10 from %s into %s\n", url,
		dest_dir);
	r = fetch(url, opts, &x, err);
	if (r < 0) {
		ret = r;
		goto done;
	}
	cnn_md5_final(&x.md5, digest);
	cnn_md5_hex(digest, hex);
	if (strcasecmp(hex, md5) != 0) {
		sw_errorf(err, "checksum mismatch for '%s' (%lld bytes): got MD5 "
			  "%s, expected %s; the download is corrupt, try again",
			  url, x.bytes, hex, md5);
		goto done;
	}
	if (fsync(x.fd) < 0 || close(x.fd) < 0) {
		x.fd = -1;
		sw_errorf(err, "cannot write '%s': %s", part, strerror(errno));
		goto done;
	}
	x.fd = -1;

	if (!mkdtemp(tmpdir)) {
		sw_errorf(err, "cannot create a temporary directory in '%s': %s",
			  parent, strerror(errno));
		goto done;
	}
	tmp_made = 1;
	r = extract(part, tmpdir, url, opts->stop, err);
	if (r < 0) {
		ret = r;
		goto done;
	}
	if (asprintf(&unpacked, "%s/%s", tmpdir, CNN_CIFAR_DIRNAME) < 0) {
		unpacked = NULL;
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (verify_tree(unpacked, url, err) < 0)
		goto done;
	if (rename(unpacked, dest_dir) < 0) {
		sw_errorf(err, "cannot move the data into '%s': %s", dest_dir,
			  strerror(errno));
		goto done;
	}
	{
		int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	ret = 0;
done:
	if (x.fd >= 0)
		close(x.fd);
	if (part)
		unlink(part);
	if (tmp_made)
		rmtree(tmpdir);
	free(unpacked);
	free(part);
	free(tmpdir);
	free(copy1);
	free(copy2);
	return ret;
}
