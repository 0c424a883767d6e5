/* test_safetensors.c - .safetensors files: round trip, the exact byte
 * layout, atomic replacement, every kind of malformed file rejected with a
 * message naming the file and tensor, and a check by an independent reader
 * (Python's struct+json, plus numpy/safetensors when installed). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/support.h"
#include "trainer/safetensors.h"
#include "trainer/transform.h"

static float w[2 * 3 * 3 * 3], bias[2], scalar = 3.5f;

static int n_tensors(struct cnn_st_tensor *t)
{
	int i;

	for (i = 0; i < (int)(sizeof(w) / sizeof(w[0])); i++)
		w[i] = 0.25f * (float)i - 3.0f;
	bias[0] = -1.5f;
	bias[1] = 1e-30f;
	memset(t, 0, 4 * sizeof(*t));
	t[0].name = "conv1.weight";
	t[0].ndim = 4;
	t[0].shape[0] = 2, t[0].shape[1] = 3, t[0].shape[2] = 3, t[0].shape[3] = 3;
	t[0].data = w;
	t[1].name = "conv1.bias";
	t[1].ndim = 1;
	t[1].shape[0] = 2;
	t[1].data = bias;
	t[2].name = "step";       /* a scalar */
	t[2].ndim = 0;
	t[2].data = &scalar;
	t[3].name = "empty";      /* zero elements */
	t[3].ndim = 2;
	t[3].shape[0] = 0, t[3].shape[1] = 5;
	return 4;
}

static json_t *make_meta(void)
{
	json_t *m = json_object(), *pj;
	struct cnn_pipeline p;
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;

	cnn_hparams_default(&hp);
	hp.augment = CNN_AUG_FLIP_CROP;
	assert_int_equal(cnn_pipeline_from_hparams(&p, &hp, NULL, &err), 0);
	pj = cnn_pipeline_to_json(&p);
	json_object_set_new(m, CNN_CKPT_KEY_FORMAT, json_string(CNN_CKPT_FORMAT));
	json_object_set_new(m, CNN_CKPT_KEY_VERSION, json_string(CNN_CKPT_VERSION));
	assert_int_equal(cnn_st_meta_set_json(m, CNN_CKPT_KEY_PIPELINE, pj), 0);
	json_decref(pj);
	pj = cnn_hparams_to_json(&hp);
	assert_int_equal(cnn_st_meta_set_json(m, CNN_CKPT_KEY_HPARAMS, pj), 0);
	json_decref(pj);
	return m;
}

static char *tmp_path(char **dir, const char *name)
{
	char *p = NULL;

	*dir = sw_test_tmpdir();
	assert_true(asprintf(&p, "%s/%s", *dir, name) > 0);
	return p;
}

static void test_round_trip(void **state)
{
	struct cnn_st_tensor t[4];
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	json_t *meta = make_meta(), *pj = NULL;
	struct cnn_pipeline p;
	char *dir, *path = tmp_path(&dir, "m.safetensors");
	float got[54], s;
	int64_t shape4[4] = { 2, 3, 3, 3 }, wrong[4] = { 3, 3, 3, 3 };
	int n = n_tensors(t);

	(void)state;
	if (cnn_st_write(path, t, n, meta, &err) < 0)
		fail_msg("%s", err.msg);
	if (cnn_st_read(path, &f, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(f.n, 4);
	assert_string_equal(f.tensors[0].name, "conv1.weight");
	assert_int_equal(cnn_st_get(&f, "conv1.weight", 4, shape4, got, &err), 0);
	assert_memory_equal(got, w, sizeof(w));
	assert_int_equal(cnn_st_get(&f, "conv1.bias", 4, shape4, got, &err), -1);
	assert_string_equal(err.msg, "tensor 'conv1.bias' has shape [2], expected "
			    "[2, 3, 3, 3]");
	assert_int_equal(cnn_st_get(&f, "conv1.bias", 1, (int64_t[]){ 2 }, got, &err), 0);
	assert_memory_equal(got, bias, sizeof(bias));  /* denormal-ish value too */
	assert_int_equal(cnn_st_get(&f, "step", 0, NULL, &s, &err), 0);
	assert_true(s == 3.5f);
	assert_int_equal(cnn_st_get(&f, "empty", 2, (int64_t[]){ 0, 5 }, got, &err), 0);
	assert_int_equal(cnn_st_get(&f, "conv1.weight", 4, wrong, got, &err), -1);
	assert_string_equal(err.msg, "tensor 'conv1.weight' has shape [2, 3, 3, 3], "
			    "expected [3, 3, 3, 3]");
	assert_int_equal(cnn_st_get(&f, "bn1.moving_var", 1, shape4, got, &err), -1);
	assert_string_equal(err.msg, "missing tensor 'bn1.moving_var'");
	assert_null(cnn_st_find(&f, "nope"));
	assert_string_equal(cnn_st_meta(&f, "format"), "sweep-cnn");
	assert_null(cnn_st_meta(&f, "nope"));
	/* the pipeline comes back from the metadata */
	assert_int_equal(cnn_st_meta_json(&f, CNN_CKPT_KEY_PIPELINE, &pj, &err), 0);
	assert_int_equal(cnn_pipeline_from_json(&p, pj, &err), 0);
	assert_int_equal(p.n_steps, 4);
	assert_int_equal(p.steps[2].op, CNN_STEP_RANDOM_CROP);
	json_decref(pj);
	assert_int_equal(cnn_st_meta_json(&f, "absent", &pj, &err), -1);
	assert_string_equal(err.msg, "missing metadata 'absent'");
	assert_int_equal(cnn_st_meta_json(&f, "format", &pj, &err), -1);
	assert_non_null(strstr(err.msg, "metadata 'format' is not valid JSON"));
	cnn_st_file_release(&f);
	cnn_st_file_release(&f);  /* twice is fine */
	json_decref(meta);
	sw_test_rmtree(dir);
	free(dir);
	free(path);
}

/* The bytes on disk: 8-byte LE length, a space-padded JSON header with
 * __metadata__ first, then the tensors in order, little-endian. */
static void test_layout(void **state)
{
	struct cnn_st_tensor t[4];
	struct sw_err err = SW_ERR_INIT;
	char *dir, *path = tmp_path(&dir, "m.safetensors"), *blob, *hdr;
	size_t len;
	uint64_t n = 0;
	int i, nt = n_tensors(t);
	float first;

	(void)state;
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), 0);
	blob = sw_test_read_file(path, &len);
	for (i = 0; i < 8; i++)
		n |= (uint64_t)(unsigned char)blob[i] << (8 * i);
	assert_int_equal((8 + n) % 8, 0);
	assert_int_equal(len, 8 + n + sizeof(w) + sizeof(bias) + 4);
	hdr = strndup(blob + 8, n);
	assert_string_equal(hdr, "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,3,3],"
			    "\"data_offsets\":[0,216]},\"conv1.bias\":{\"dtype\":\"F32\","
			    "\"shape\":[2],\"data_offsets\":[216,224]},\"step\":{\"dtype\":"
			    "\"F32\",\"shape\":[],\"data_offsets\":[224,228]},\"empty\":"
			    "{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[228,228]}}   ");
	memcpy(&first, blob + 8 + n, 4);
	assert_true(first == w[0]);
	assert_true((unsigned char)blob[8 + n + 216] == 0x00 &&
		    (unsigned char)blob[8 + n + 219] == 0xbf);  /* -1.5f LE */
	free(hdr);
	free(blob);
	sw_test_rmtree(dir);
	free(dir);
	free(path);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void test_atomic_write(void **state)
{
	struct cnn_st_tensor t[4];
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *dir, *path = tmp_path(&dir, "m.safetensors"), *bad = NULL;
	json_t *meta = json_object();
	int nt = n_tensors(t);
	struct stat st;

	(void)state;
	assert_int_equal(cnn_st_write(path, t, 2, NULL, &err), 0);
	/* a failing write leaves the old file and no temporary */
	t[1].name = "conv1.weight";
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), -1);
	assert_string_equal(err.msg, "duplicate tensor name 'conv1.weight'");
	t[1].name = "";
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), -1);
	t[1].name = "__metadata__";
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), -1);
	t[1].name = "conv1.bias";
	json_object_set_new(meta, "epochs", json_integer(5));
	assert_int_equal(cnn_st_write(path, t, nt, meta, &err), -1);
	assert_string_equal(err.msg, "metadata 'epochs' is not a string (the format "
			    "only allows strings)");
	t[0].shape[0] = -2;
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), -1);
	assert_string_equal(err.msg, "tensor 'conv1.weight' has an invalid shape");
	t[0].shape[0] = 2;
	assert_int_equal(cnn_st_read(path, &f, &err), 0);
	assert_int_equal(f.n, 2);
	cnn_st_file_release(&f);
	assert_int_equal(count_entries(dir), 1);
	/* replacing works and is a new file */
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), 0);
	assert_int_equal(cnn_st_read(path, &f, &err), 0);
	assert_int_equal(f.n, 4);
	assert_int_equal(json_object_size(f.metadata), 0);
	cnn_st_file_release(&f);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* unwritable places */
	assert_true(asprintf(&bad, "%s/no/such/dir/m.safetensors", dir) > 0);
	assert_int_equal(cnn_st_write(bad, t, nt, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "cannot create '"));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	free(bad);
	json_decref(meta);
	sw_test_rmtree(dir);
	free(dir);
	free(path);
}

/* Builds "<8-byte len><header>" + data_len zero bytes. */
static char *file_of(const char *header, size_t data_len, size_t *len)
{
	size_t h = strlen(header);
	char *b = calloc(1, 8 + h + data_len + 1);
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (char)((uint64_t)h >> (8 * i));
	memcpy(b + 8, header, h);
	*len = 8 + h + data_len;
	return b;
}

static void expect_parse_error(const char *header, size_t data_len,
			       const char *needle)
{
	struct cnn_st_file f;
	struct sw_err err = SW_ERR_INIT;
	size_t len;
	char *b = file_of(header, data_len, &len);

	memset(&f, 0x5a, sizeof(f));  /* parse must not trust old contents */
	assert_int_equal(cnn_st_parse(b, len, "x.safetensors", &f, &err), -1);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
	assert_int_equal(strncmp(err.msg, "'x.safetensors'", 15) == 0 ||
			 strstr(err.msg, "out of memory") != NULL, 1);
	assert_null(f.tensors);
	cnn_st_file_release(&f);
	free(b);
}

#define T(name, shape, b, e) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape \
	",\"data_offsets\":[" #b "," #e "]}"

static void test_malformed(void **state)
{
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *b;
	size_t len;

	(void)state;
	/* sanity: the good one parses */
	b = file_of("{" T("a", "[2]", 0, 8) "," T("b", "[1]", 8, 12) "}", 12, &len);
	assert_int_equal(cnn_st_parse(b, len, "x.safetensors", &f, &err), 0);
	cnn_st_file_release(&f);
	free(b);

	assert_int_equal(cnn_st_parse("abc", 3, "x.safetensors", &f, &err), -1);
	assert_string_equal(err.msg, "'x.safetensors': too short (3 bytes) to be a "
			    "safetensors file");
	b = file_of("{}", 0, &len);
	b[0] = 100;  /* header length beyond the end */
	assert_int_equal(cnn_st_parse(b, len, "x.safetensors", &f, &err), -1);
	assert_non_null(strstr(err.msg, "header length 100 runs past the end of "
			       "the file (10 bytes): truncated file"));
	b[5] = 1;
	assert_int_equal(cnn_st_parse(b, len, "x.safetensors", &f, &err), -1);
	assert_non_null(strstr(err.msg, "larger than the"));
	free(b);

	expect_parse_error("[1,2]", 0, "the header is not a JSON object");
	expect_parse_error("{\"a\":", 0, "bad JSON header");
	expect_parse_error("{\"a\":1,\"a\":2}", 0, "bad JSON header");  /* duplicate */
	expect_parse_error("{\"a\":1}", 0, "tensor 'a' is not an object");
	expect_parse_error("{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}",
			   2, "tensor 'a' has dtype 'F16'; only F32 is supported");
	expect_parse_error("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
			   "tensor 'a' has no dtype");
	expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
			   4, "tensor 'a': shape[0] must be a non-negative integer");
	expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
			   "\"data_offsets\":[0,4]}}", 4, "'shape' must be an array");
	expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
			   4, "'data_offsets' must be [begin, end]");
	expect_parse_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
			   "\"x\":1}}", 4, "tensor 'a': unknown key 'x'");
	expect_parse_error("{" T("a", "[2]", 0, 8) "}", 4,
			   "tensor 'a': data_offsets [0, 8] are outside the data "
			   "area (4 bytes): truncated file?");
	expect_parse_error("{" T("a", "[2]", 4, 0) "}", 8, "are outside the data area");
	expect_parse_error("{" T("a", "[3]", 0, 8) "}", 8,
			   "tensor 'a': data_offsets [0, 8] hold 8 bytes but shape "
			   "[3] needs 12");
	expect_parse_error("{" T("a", "[2]", 0, 8) "," T("b", "[2]", 4, 12) "}", 12,
			   "tensor 'b': data_offsets [4, 12] overlap tensor 'a'");
	expect_parse_error("{" T("a", "[1]", 0, 4) "," T("b", "[1]", 8, 12) "}", 12,
			   "tensor 'b': data_offsets [8, 12] leave a gap at byte 4");
	expect_parse_error("{" T("a", "[1]", 0, 4) "}", 8,
			   "4 bytes after the last tensor");
	expect_parse_error("{\"__metadata__\":{\"k\":1}}", 0, "metadata 'k' is not a string");
	expect_parse_error("{\"__metadata__\":[]}", 0, "__metadata__ is not an object");
	expect_parse_error("{" T("a", "[4611686018427387904,4]", 0, 4) "}", 4,
			   "shape is too large");
}

static void test_truncated_file(void **state)
{
	struct cnn_st_tensor t[4];
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *dir, *path = tmp_path(&dir, "m.safetensors"), want[600];
	struct stat st;
	int nt = n_tensors(t);

	(void)state;
	assert_int_equal(cnn_st_write(path, t, nt, NULL, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 4), 0);
	assert_int_equal(cnn_st_read(path, &f, &err), -1);
	snprintf(want, sizeof(want), "'%s': tensor 'step': data_offsets [224, 228] "
		 "are outside the data area (224 bytes): truncated file?", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(truncate(path, 5), 0);
	assert_int_equal(cnn_st_read(path, &f, &err), -1);
	assert_non_null(strstr(err.msg, "too short (5 bytes)"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cnn_st_read(path, &f, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(cnn_st_read(dir, &f, &err), -1);
	assert_non_null(strstr(err.msg, "is a directory"));
	sw_test_rmtree(dir);
	free(dir);
	free(path);
}

/* An independent reader: Python's struct + json (and numpy / safetensors
 * when installed) agrees on names, shapes, values and metadata. */
static void test_python_reader(void **state)
{
	struct cnn_st_tensor t[4];
	struct sw_err err = SW_ERR_INIT;
	struct sw_test_proc pr;
	json_t *meta = make_meta(), *out, *tw;
	char *dir, *path = tmp_path(&dir, "m.safetensors");
	/* Debian's python3 (what `make deps` installs, with python3-numpy when
	 * present) before whatever python3 the PATH finds first */
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
							   : "python3";
	const char *argv[] = { py, "tests/safetensors_check.py", path, NULL };
	int nt = n_tensors(t);
	double sum = 0;

	(void)state;
	if (access("tests/safetensors_check.py", R_OK) != 0 ||
	    (py[0] != '/' && system("python3 -c pass >/dev/null 2>&1") != 0))
		skip();
	assert_int_equal(cnn_st_write(path, t, nt, meta, &err), 0);
	assert_int_equal(sw_test_run(&pr, argv, NULL, NULL, 60), 0);
	if (pr.status != 0)
		fail_msg("safetensors_check.py failed: %s", pr.err);
	out = json_loads(pr.out, 0, NULL);
	assert_non_null(out);
	for (int i = 0; i < 54; i++)
		sum += w[i];
	tw = json_object_get(json_object_get(out, "tensors"), "conv1.weight");
	assert_float_equal(json_real_value(json_object_get(tw, "sum")), sum, 1e-9);
	assert_int_equal(json_array_size(json_object_get(tw, "shape")), 4);
	assert_float_equal(json_real_value(json_object_get(tw, "first")), -3.0, 0);
	assert_int_equal(json_object_size(json_object_get(out, "tensors")), 4);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(out, "metadata"), "format")), "sweep-cnn");
	assert_non_null(json_string_value(json_object_get(
				json_object_get(out, "metadata"), "pipeline")));
	{
		char *with = json_dumps(json_object_get(out, "checked_with"), JSON_COMPACT);

		print_message("python3 read the file with %s\n", with);
		free(with);
	}
	json_decref(out);
	sw_test_proc_release(&pr);
	json_decref(meta);
	sw_test_rmtree(dir);
	free(dir);
	free(path);
}

/* Files written by Python's json+struct (the fuzzing seeds) read back:
 * padding, unordered offsets, scalars, empty tensors, metadata. */
static void test_python_written(void **state)
{
	static const char *const ok[] = { "valid_meta", "scalar_empty",
					  "unordered", "empty", NULL };
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	char path[256];
	float v[6];
	int i;

	(void)state;
	if (access("tests/fuzz/corpus_safetensors/valid_meta.safetensors", R_OK) != 0)
		skip();
	for (i = 0; ok[i]; i++) {
		snprintf(path, sizeof(path), "tests/fuzz/corpus_safetensors/%s.safetensors",
			 ok[i]);
		if (cnn_st_read(path, &f, &err) < 0)
			fail_msg("%s", err.msg);
		cnn_st_file_release(&f);
	}
	assert_int_equal(cnn_st_read("tests/fuzz/corpus_safetensors/valid_meta.safetensors",
				     &f, &err), 0);
	assert_int_equal(cnn_st_get(&f, "b", 1, (int64_t[]){ 2 }, v, &err), 0);
	assert_true(v[0] == 5 && v[1] == 6);
	assert_string_equal(cnn_st_meta(&f, "format"), "sweep-cnn");
	cnn_st_file_release(&f);
	assert_int_equal(cnn_st_read("tests/fuzz/corpus_safetensors/unordered.safetensors",
				     &f, &err), 0);
	assert_int_equal(cnn_st_get(&f, "b", 1, (int64_t[]){ 1 }, v, &err), 0);
	assert_true(v[0] == 2);
	cnn_st_file_release(&f);
	assert_int_equal(cnn_st_read("tests/fuzz/corpus_safetensors/f16.safetensors",
				     &f, &err), -1);
	assert_non_null(strstr(err.msg, "dtype 'F16'; only F32 is supported"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_python_reader),
		cmocka_unit_test(test_python_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
