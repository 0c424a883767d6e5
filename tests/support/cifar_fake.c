/* cifar_fake.c - see tests/support/cifar_fake.h */
#define _GNU_SOURCE
#include "cifar_fake.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD 3073

static const char meta[] =
	"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

int sw_test_cifar_label(int file, int record)
{
	return (record * 7 + file * 3) % 10;
}

uint8_t sw_test_cifar_pixel(int file, int record, int k)
{
	uint32_t h = (uint32_t)(file * 1000003 + record) * 2654435761u + (uint32_t)k * 40503u;

	return (uint8_t)(h >> 13);
}

static unsigned char *make_file(int file, int records, size_t *len)
{
	unsigned char *b = malloc((size_t)records * RECORD);
	int r, k;

	if (!b)
		return NULL;
	for (r = 0; r < records; r++) {
		unsigned char *rec = b + (size_t)r * RECORD;

		rec[0] = (unsigned char)sw_test_cifar_label(file, r);
		for (k = 0; k < RECORD - 1; k++)
			rec[1 + k] = sw_test_cifar_pixel(file, r, k);
	}
	*len = (size_t)records * RECORD;
	return b;
}

static const char *file_name(int f)
{
	static const char *const names[] = {
		"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
		"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
	};
	return names[f];
}

int sw_test_cifar_write(const char *dir, int records)
{
	char path[4096];
	int f;

	for (f = 0; f < 6; f++) {
		size_t len;
		unsigned char *b = make_file(f, records, &len);
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", dir, file_name(f));
		fp = b ? fopen(path, "wb") : NULL;
		if (!fp || fwrite(b, 1, len, fp) != len) {
			if (fp)
				fclose(fp);
			free(b);
			return -1;
		}
		fclose(fp);
		free(b);
	}
	snprintf(path, sizeof(path), "%s/batches.meta.txt", dir);
	{
		FILE *fp = fopen(path, "wb");

		if (!fp)
			return -1;
		fputs(meta, fp);
		fclose(fp);
	}
	return 0;
}

static int add(struct archive *a, const char *name, const void *data,
	       size_t len, int is_dir)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, is_dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, is_dir ? 0755 : 0644);
	archive_entry_set_size(e, is_dir ? 0 : (la_int64_t)len);
	ok = archive_write_header(a, e) == ARCHIVE_OK &&
	     (is_dir || !len || archive_write_data(a, data, len) == (la_ssize_t)len);
	archive_entry_free(e);
	return ok ? 0 : -1;
}

unsigned char *sw_test_cifar_tarball(int records, size_t *len)
{
	size_t cap = (size_t)records * RECORD * 6 + 1024 * 1024, used = 0;
	unsigned char *out = malloc(cap);
	struct archive *a = archive_write_new();
	char name[128];
	int f, ok = out && a;

	if (ok) {
		archive_write_add_filter_gzip(a);
		archive_write_set_format_pax_restricted(a);
		ok = archive_write_open_memory(a, out, cap, &used) == ARCHIVE_OK;
	}
	ok = ok && add(a, "cifar-10-batches-bin/", NULL, 0, 1) == 0;
	for (f = 0; ok && f < 6; f++) {
		size_t l;
		unsigned char *b = make_file(f, records, &l);

		snprintf(name, sizeof(name), "cifar-10-batches-bin/%s", file_name(f));
		ok = b && add(a, name, b, l, 0) == 0;
		free(b);
	}
	ok = ok && add(a, "cifar-10-batches-bin/batches.meta.txt", meta,
		       strlen(meta), 0) == 0;
	ok = ok && add(a, "cifar-10-batches-bin/readme.html", "<p>test</p>\n",
		       12, 0) == 0;
	if (a) {
		if (archive_write_close(a) != ARCHIVE_OK)
			ok = 0;
		archive_write_free(a);
	}
	if (!ok) {
		free(out);
		return NULL;
	}
	*len = used;
	return out;
}

const char *sw_test_cifar_real_dir(void)
{
	static char path[4096];
	const char *cand[3] = { getenv("SWEEP_TEST_REAL_DATA"),
				"../shared/data/cifar-10-batches-bin",
				"/work/shared/data/cifar-10-batches-bin" };
	int i;

	for (i = 0; i < 3; i++) {
		if (!cand[i] || !*cand[i])
			continue;
		snprintf(path, sizeof(path), "%s/data_batch_1.bin", cand[i]);
		if (access(path, R_OK) == 0) {
			snprintf(path, sizeof(path), "%s", cand[i]);
			return path;
		}
	}
	return NULL;
}
