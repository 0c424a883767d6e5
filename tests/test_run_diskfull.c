/* test_run_diskfull.c - `sweep run` on a results disk that fills up: the
 * write that fails stops the sweep with an error naming the file, the
 * summary lists only runs that reached runs.jsonl, and `sweep resume` on the
 * grown disk finishes with every run recorded once.
 *
 * The full disk is a 64 KiB tmpfs; where mounting is not allowed (not root,
 * a restricted container) the test is skipped and says so. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/support.h"
#include "sweep/store/store.h"

#define RECORD 3073
#define FILE_RECORDS 10000     /* the loader wants official-size files */

static const char noop_yaml[] =
	"name: full\n"
	"method: random\n"
	"parameters:\n"
	"  learning_rate: {distribution: log_uniform_values, min: 1.0e-4, max: 1.0e-2}\n"
	"  conv1_filters: {value: 1}\n"
	"  conv2_filters: {value: 1}\n"
	"  dense_units: {value: 1}\n"
	"  image_size: {value: 8}\n"
	"  batch_size: {value: 1}\n"
	"  train_limit: {value: 1}\n"
	"  val_limit: {value: 1}\n"
	"  epochs: {value: 1}\n"
	"  precise_bn: {value: false}\n";

/* CIFAR-format files: a few records with content, the rest zeros (sparse). */
static void write_data(const char *dir)
{
	static const char *names[] = { "data_batch_1.bin", "data_batch_2.bin",
				       "data_batch_3.bin", "data_batch_4.bin",
				       "data_batch_5.bin", "test_batch.bin" };
	unsigned char rec[RECORD];
	size_t i;
	int r, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = NULL;
		int fd;

		assert_true(asprintf(&p, "%s/%s", dir, names[i]) > 0);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(fd >= 0);
		for (r = 0; r < 16; r++) {
			rec[0] = (unsigned char)(r % 10);
			for (k = 1; k < RECORD; k++)
				rec[k] = (unsigned char)(k * 7 + r * 13);
			assert_int_equal(write(fd, rec, RECORD), RECORD);
		}
		assert_int_equal(ftruncate(fd, (off_t)FILE_RECORDS * RECORD), 0);
		close(fd);
		free(p);
	}
	{
		static const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\n"
					   "dog\nfrog\nhorse\nship\ntruck\n";
		char *p = NULL;

		assert_true(asprintf(&p, "%s/batches.meta.txt", dir) > 0);
		assert_int_equal(sw_test_write_file(p, meta, strlen(meta)), 0);
		free(p);
	}
}

static char *mounted;   /* the tmpfs to take down even when a check fails */

static int unmount_teardown(void **state)
{
	(void)state;
	if (mounted)
		umount2(mounted, MNT_DETACH);
	free(mounted);
	mounted = NULL;
	return 0;
}

/* The sweep directory the run made under root (a new string). */
static char *sweep_dir(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;
	char *dir = NULL;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "full-", 5))
			assert_true(asprintf(&dir, "%s/%s", root, de->d_name) > 0);
	closedir(d);
	assert_non_null(dir);
	return dir;
}

static void test_disk_fills_then_resume(void **state)
{
	struct sw_test_proc p = { 0 };
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), *mnt = NULL, *data = NULL, *spec = NULL, *dir,
	     *runs_path = NULL;
	json_t *runs, *seen, *r;
	size_t i;

	(void)state;
	assert_true(asprintf(&mnt, "%s/full", tmp) > 0);
	assert_true(asprintf(&data, "%s/data", tmp) > 0);
	assert_true(asprintf(&spec, "%s/full.yaml", tmp) > 0);
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(mkdir(data, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k")) {
		sw_test_rmtree(tmp);
		skip();   /* mounting needs root outside a restricted container */
	}
	mounted = strdup(mnt);
	write_data(data);
	assert_int_equal(sw_test_write_file(spec, noop_yaml, strlen(noop_yaml)), 0);

	sw_test_sweep(&p, "run", spec, "--data", data, "--results", mnt, "--count", "200",
		      "--seed", "3", "--parallel", "1", "--threads", "1", NULL);
	if (p.status != 1 || !strstr(p.err, "No space left on device"))
		print_message("exit %d, stderr:\n%s\n", p.status, p.err);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "No space left on device"));
	assert_non_null(strstr(p.err, "continue with: sweep resume"));
	dir = sweep_dir(mnt);
	assert_true(asprintf(&runs_path, "%s/runs.jsonl", dir) > 0);
	assert_int_equal(sw_jsonl_load(runs_path, 0, &runs, NULL, &err), 0);
	/* the summary counts exactly the runs on disk */
	{
		char head[64];

		snprintf(head, sizeof(head), " of %zu runs", json_array_size(runs));
		assert_non_null(strstr(p.out, head));
	}
	assert_true(json_array_size(runs) < 200);
	json_decref(runs);
	sw_test_proc_release(&p);

	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=16m"), 0);
	sw_test_sweep(&p, "resume", dir, NULL);
	assert_int_equal(p.status, 0);
	sw_test_proc_release(&p);
	assert_int_equal(sw_jsonl_load(runs_path, 0, &runs, NULL, &err), 0);
	assert_int_equal(json_array_size(runs), 200);
	seen = json_object();
	json_array_foreach(runs, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));

		assert_null(json_object_get(seen, id));
		json_object_set_new(seen, id, json_true());
		assert_string_equal(json_string_value(json_object_get(r, "state")), "finished");
	}
	json_decref(seen);
	json_decref(runs);
	assert_int_equal(umount(mnt), 0);
	free(mounted);
	mounted = NULL;
	sw_test_rmtree(tmp);
	free(tmp);
	free(mnt);
	free(data);
	free(spec);
	free(dir);
	free(runs_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_disk_fills_then_resume, unmount_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
