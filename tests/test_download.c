/* test_download.c - MD5 against RFC 1321's test suite, and the CIFAR-10
 * download against a loopback HTTP server serving a small generated
 * tarball: good, truncated, wrong checksum, 404, stalled, refused, corrupt
 * and hostile archives, interruption. After every failure the destination
 * must not exist and no temporary may be left beside it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/cifar_fake.h"
#include "support/http_server.h"
#include "support/support.h"
#include "trainer/data.h"
#include "trainer/download.h"
#include "trainer/md5.h"

#define R 8  /* records per generated file */

/* ==== MD5 ==== */

static void md5_of(const void *data, size_t n, char hex[33])
{
	struct cnn_md5 m;
	unsigned char d[16];

	cnn_md5_init(&m);
	cnn_md5_update(&m, data, n);
	cnn_md5_final(&m, d);
	cnn_md5_hex(d, hex);
}

static void test_md5_rfc1321(void **state)
{
	/* RFC 1321 appendix A.5 */
	static const char *const v[][2] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		  "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890"
		  "1234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	char hex[33];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5_of(v[i][0], strlen(v[i][0]), hex);
		assert_string_equal(hex, v[i][1]);
	}
}

static void test_md5_chunking(void **state)
{
	size_t n = 100003, off, i;
	unsigned char *buf = malloc(n), d[16];
	char whole[33], parts[33];
	struct cnn_md5 m;
	struct sw_rng rng;

	(void)state;
	sw_rng_seed(&rng, 5, 5);
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)sw_rng_u32(&rng);
	md5_of(buf, n, whole);
	cnn_md5_init(&m);
	for (off = 0; off < n;) {
		size_t k = sw_rng_bounded(&rng, 150);

		k = k > n - off ? n - off : k;
		cnn_md5_update(&m, buf + off, k);
		off += k;
	}
	cnn_md5_final(&m, d);
	cnn_md5_hex(d, parts);
	assert_string_equal(whole, parts);
	/* lengths around the 56-byte padding boundary */
	for (i = 50; i < 70; i++) {
		char a[33], b[33];

		md5_of(buf, i, a);
		cnn_md5_init(&m);
		cnn_md5_update(&m, buf, i / 2);
		cnn_md5_update(&m, buf + i / 2, i - i / 2);
		cnn_md5_final(&m, d);
		cnn_md5_hex(d, b);
		assert_string_equal(a, b);
	}
	free(buf);
}

/* ==== Download ==== */

struct fixture {
	unsigned char *tarball;
	size_t len;
	char md5[33];
	char *root;       /* temp dir */
	char *dest;       /* root/cache/sweep/cifar-10-batches-bin (absent) */
	char *parent;     /* root/cache/sweep */
	struct sw_test_http *srv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->tarball = sw_test_cifar_tarball(R, &f->len);
	assert_non_null(f->tarball);
	md5_of(f->tarball, f->len, f->md5);
	f->root = sw_test_tmpdir();
	assert_true(asprintf(&f->parent, "%s/cache/sweep", f->root) > 0);
	assert_true(asprintf(&f->dest, "%s/cifar-10-batches-bin", f->parent) > 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sw_test_http_stop(f->srv);
	sw_test_rmtree(f->root);
	free(f->root);
	free(f->parent);
	free(f->dest);
	free(f->tarball);
	free(f);
	return 0;
}

/* Serves one route at /c.tar.gz and returns its URL (caller frees). */
static char *serve(struct fixture *f, const struct sw_test_http_route *rt)
{
	f->srv = sw_test_http_start(rt, 1);
	assert_non_null(f->srv);
	return sw_test_http_url(f->srv, "/c.tar.gz");
}

/* Number of entries in dir other than . and .. (-1 if absent). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* The failure contract: an error containing `needle`, no destination, no
 * temporaries beside it. */
static void expect_failure(struct fixture *f, const char *url, const char *md5,
			   const char *needle, int want_ret)
{
	struct cnn_download_opts o = CNN_DOWNLOAD_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct stat st;

	o.url = url;
	o.md5 = md5 ? md5 : f->md5;
	o.progress = 0;
	o.low_speed_limit = 1000;
	o.low_speed_time = 1;
	assert_int_equal(cnn_cifar_download(f->dest, &o, &err), want_ret);
	if (getenv("SWEEP_TEST_VERBOSE"))
		print_message("error: %s\n", err.msg);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
	assert_int_equal(lstat(f->dest, &st), -1);
	assert_int_equal(count_entries(f->parent), 0);
}

static void test_download_good(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { "GET", "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, -1, 0, 0 };
	struct cnn_download_opts o = CNN_DOWNLOAD_OPTS_INIT;
	struct cnn_data_opts dopts = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	char *url = serve(f, &rt), *req;

	o.url = url;
	o.md5 = f->md5;
	o.progress = 0;
	if (cnn_cifar_download(f->dest, &o, &err) < 0)
		fail_msg("%s", err.msg);
	/* exactly the data directory, nothing else beside it */
	assert_int_equal(count_entries(f->parent), 1);
	assert_int_equal(count_entries(f->dest), 8); /* 7 files + readme.html */
	dopts.batch_records = R;
	assert_int_equal(cnn_dataset_load(f->dest, &dopts, &ds, &err), 0);
	assert_int_equal(ds->train.n, 5 * R);
	assert_int_equal(ds->test.labels[3], sw_test_cifar_label(5, 3));
	cnn_dataset_unref(ds);
	req = sw_test_http_request(f->srv, 0);
	assert_non_null(req);
	assert_true(strncmp(req, "GET /c.tar.gz HTTP/1.1\r\n", 24) == 0);
	free(req);
	/* a second download refuses to touch the existing directory */
	assert_int_equal(cnn_cifar_download(f->dest, &o, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(sw_test_http_count(f->srv), 1);
	free(url);
}

static void test_download_truncated(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { NULL, "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, (long)f->len / 2, 0, 0 };
	char *url = serve(f, &rt);

	expect_failure(f, url, NULL, "bytes remaining", -1);
	free(url);
}

static void test_download_bad_checksum(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { NULL, "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, -1, 0, 0 };
	char *url = serve(f, &rt);
	char want[200];

	snprintf(want, sizeof(want), "checksum mismatch for '%s' (%zu bytes): "
		 "got MD5 %s, expected 00112233445566778899aabbccddeeff", url,
		 f->len, f->md5);
	expect_failure(f, url, "00112233445566778899aabbccddeeff", want, -1);
	expect_failure(f, url, "0011", "is not 32 hex digits", -1);
	free(url);
}

static void test_download_404(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { NULL, "/other", 200, NULL, "x", 1, -1, 0, 0 };
	char *url = serve(f, &rt);

	expect_failure(f, url, NULL, "failed: HTTP 404", -1);
	free(url);
}

static void test_download_stall(void **state)
{
	struct fixture *f = *state;
	/* sends 2,000 bytes, then nothing for 30 s: the low-speed limit
	 * (1000 bytes/s over 1 s in expect_failure) must end it */
	struct sw_test_http_route rt = { NULL, "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, 2000, 30000, 0 };
	char *url = serve(f, &rt);

	expect_failure(f, url, NULL, "too slow", -1);
	free(url);
}

static void test_download_silent(void **state)
{
	struct fixture *f = *state;
	/* accepts the connection, reads the request, never answers */
	struct sw_test_http_route rt = { NULL, "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, -1, 0, 30000 };
	char *url = serve(f, &rt);

	expect_failure(f, url, NULL, "too slow", -1);
	free(url);
}

static void test_download_refused(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { NULL, NULL, 200, NULL, "x", 1, -1, 0, 0 };
	char *url = serve(f, &rt);

	sw_test_http_stop(f->srv);  /* nothing listens on that port now */
	f->srv = NULL;
	expect_failure(f, url, NULL, "download of 'http://127.0.0.1:", -1);
	free(url);
}

static void test_download_interrupted(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { NULL, "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, 2000, 30000, 0 };
	struct cnn_download_opts o = CNN_DOWNLOAD_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	volatile int stop = 1;
	char *url = serve(f, &rt);

	o.url = url;
	o.md5 = f->md5;
	o.progress = 0;
	o.stop = &stop;
	assert_int_equal(cnn_cifar_download(f->dest, &o, &err), SW_ERR_INTR);
	assert_non_null(strstr(err.msg, "interrupted"));
	assert_int_equal(count_entries(f->parent), 0);
	free(url);
}

/* A tar.gz of (name, type, content) entries, for hostile archives. */
static unsigned char *make_tar(const char *const *names, const char *link,
			       size_t *len)
{
	size_t cap = 1 << 20, used = 0;
	unsigned char *out = malloc(cap);
	struct archive *a = archive_write_new();
	int i;

	archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	for (i = 0; names[i]; i++) {
		struct archive_entry *e = archive_entry_new();
		static const char body[3073 * 2] = { 1 };

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_perm(e, 0644);
		if (link && i == 0) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, link);
			assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, sizeof(body));
			assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
			assert_int_equal(archive_write_data(a, body, sizeof(body)),
					 (la_ssize_t)sizeof(body));
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*len = used;
	return out;
}

static void serve_and_fail(struct fixture *f, const unsigned char *body,
			   size_t len, const char *needle)
{
	struct sw_test_http_route rt = { NULL, "/c.tar.gz", 200, NULL, body, len,
					 -1, 0, 0 };
	char *url = serve(f, &rt), md5[33];

	md5_of(body, len, md5);
	expect_failure(f, url, md5, needle, -1);
	sw_test_http_stop(f->srv);
	f->srv = NULL;
	free(url);
}

static void test_download_bad_archives(void **state)
{
	struct fixture *f = *state;
	static const char *const incomplete[] = {
		"cifar-10-batches-bin/data_batch_1.bin",
		"cifar-10-batches-bin/batches.meta.txt", NULL,
	};
	static const char *const escape[] = { "../evil.bin", NULL };
	static const char *const absolute[] = { "/tmp/evil.bin", NULL };
	static const char *const symlink_first[] = {
		"cifar-10-batches-bin/data_batch_1.bin", NULL,
	};
	unsigned char junk[5000];
	unsigned char *t;
	size_t len, i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	serve_and_fail(f, junk, sizeof(junk), "archive");
	/* a good tarball cut short but with a matching checksum */
	serve_and_fail(f, f->tarball, f->len - 100, "corrupt archive");

	t = make_tar(incomplete, NULL, &len);
	serve_and_fail(f, t, len, "has no cifar-10-batches-bin/data_batch_2.bin");
	free(t);
	t = make_tar(escape, NULL, &len);
	serve_and_fail(f, t, len, "unsafe path '../evil.bin'");
	free(t);
	t = make_tar(absolute, NULL, &len);
	serve_and_fail(f, t, len, "unsafe path '/tmp/evil.bin'");
	free(t);
	t = make_tar(symlink_first, "/etc/passwd", &len);
	serve_and_fail(f, t, len, "not a plain file or directory");
	free(t);
	assert_int_equal(access(f->root, F_OK), 0);
}

/* cnn_data_open with SWEEP_DATA naming an absent directory downloads from
 * SWEEP_CIFAR_URL, checking SWEEP_TEST_CIFAR_MD5, then loads. */
static void test_open_downloads(void **state)
{
	struct fixture *f = *state;
	struct sw_test_http_route rt = { "GET", "/c.tar.gz", 200, NULL,
					 f->tarball, f->len, -1, 0, 0 };
	struct cnn_data_opts o = CNN_DATA_OPTS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct cnn_dataset *ds = NULL;
	char *url = serve(f, &rt);

	setenv("SWEEP_CIFAR_URL", url, 1);
	setenv("SWEEP_TEST_CIFAR_MD5", "ffffffffffffffffffffffffffffffff", 1);
	o.batch_records = R;
	assert_int_equal(cnn_data_open(f->dest, &o, NULL, &ds, &err), -1);
	assert_non_null(strstr(err.msg, "checksum mismatch"));
	setenv("SWEEP_TEST_CIFAR_MD5", f->md5, 1);
	if (cnn_data_open(f->dest, &o, NULL, &ds, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ds->train.n, 5 * R);
	cnn_dataset_unref(ds);
	/* present now: no second request */
	assert_int_equal(cnn_data_open(f->dest, &o, NULL, &ds, &err), 0);
	cnn_dataset_unref(ds);
	assert_int_equal(sw_test_http_count(f->srv), 2);
	unsetenv("SWEEP_CIFAR_URL");
	unsetenv("SWEEP_TEST_CIFAR_MD5");
	free(url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_rfc1321),
		cmocka_unit_test(test_md5_chunking),
		cmocka_unit_test_setup_teardown(test_download_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_download_bad_archives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_downloads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
