/*
 * test_wandb_runfile.c - the reader of wandb's offline run files, against
 * files the real SDK wrote (tests/wandb_offline/: every history row, the
 * summary, config, exit code and run fields exactly as wandb's own reader
 * decodes them in expected.jsonl), a killed run's file cut mid-record, and
 * files built here byte by byte: corrupt checksums, torn and orphaned
 * fragments, records spanning three blocks, unknown record types and
 * fields of newer SDKs, nested keys, foreign files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/support.h"
#include "base/buf.h"
#include "sweep/offline/wandb_runfile.h"

#define FIXTURES "tests/wandb_offline/"
#define BLOCK 32768

/* ==== What wandb's reader decoded (expected.jsonl) ==== */

struct expected {
	json_t *history;    /* items of each history record, in order */
	json_t *summary;    /* summary records folded */
	json_t *run;        /* the run record's line */
	json_t *exit;       /* the exit record's line */
	size_t records;     /* lines */
	size_t alerts;
};

/* Reads the first max_lines lines (0: all) of an expected.jsonl. */
static void expected_load(const char *path, size_t max_lines, struct expected *e)
{
	size_t len;
	char *text = sw_test_read_file(path, &len), *line, *nl;

	assert_non_null(text);
	memset(e, 0, sizeof(*e));
	e->history = json_array();
	e->summary = json_object();
	for (line = text; *line && (!max_lines || e->records < max_lines); line = nl + 1) {
		json_t *rec;
		const char *kind;
		nl = strchr(line, '\n');
		assert_non_null(nl);
		/* the reader's own value decoder reads bare NaN/Infinity too */
		assert_int_equal(sw_wandb_json_parse(line, (size_t)(nl - line), &rec), 0);
		kind = json_string_value(json_object_get(rec, "record"));
		assert_non_null(kind);
		e->records++;
		if (!strcmp(kind, "history")) {
			json_array_append(e->history, json_object_get(rec, "items"));
		} else if (!strcmp(kind, "summary")) {
			json_object_update(e->summary, json_object_get(rec, "update"));
			assert_int_equal(json_array_size(json_object_get(rec, "remove")), 0);
		} else if (!strcmp(kind, "run")) {
			json_decref(e->run);
			e->run = json_incref(rec);
		} else if (!strcmp(kind, "exit")) {
			json_decref(e->exit);
			e->exit = json_incref(rec);
		} else if (!strcmp(kind, "alert")) {
			e->alerts++;
		}
		json_decref(rec);
	}
	free(text);
}

static void expected_release(struct expected *e)
{
	json_decref(e->history);
	json_decref(e->summary);
	json_decref(e->run);
	json_decref(e->exit);
}

static void assert_json_equal(const json_t *got, const json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		fprintf(stderr, "got  %s\nwant %s\n", g, w);
		free(g);
		free(w);
		fail();
	}
}

static void assert_run_field(const char *got, const json_t *run, const char *key)
{
	const char *want = json_string_value(json_object_get(run, key));
	assert_non_null(want);
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* Every history row, the summary, config, run fields, exit code and the
 * number of records of `run` are what `e` says. */
static void assert_matches(const struct sw_wandb_runfile *run, const struct expected *e)
{
	size_t i;

	assert_int_equal(run->records, e->records);
	assert_int_equal(json_array_size(run->history), json_array_size(e->history));
	for (i = 0; i < json_array_size(e->history); i++)
		assert_json_equal(json_array_get(run->history, i),
				  json_array_get(e->history, i));
	if (e->run) {
		assert_json_equal(run->config, json_object_get(e->run, "config"));
		assert_run_field(run->run_id, e->run, "run_id");
		assert_run_field(run->project, e->run, "project");
		assert_run_field(run->sweep_id, e->run, "sweep_id");
	}
	if (e->exit) {
		assert_int_equal(run->has_exit, 1);
		assert_int_equal(run->exit_code,
				 json_integer_value(json_object_get(e->exit, "exit_code")));
		assert_int_equal(run->runtime,
				 json_integer_value(json_object_get(e->exit, "runtime")));
		assert_json_equal(run->summary, e->summary);
	} else {
		assert_int_equal(run->has_exit, 0);
	}
	assert_int_equal(json_array_size(run->alerts), e->alerts);
}

/* Reads fixture NAME and checks it against its expected.jsonl. */
static void check_fixture(const char *name, struct sw_wandb_runfile *run)
{
	char path[256];
	struct expected e;
	struct sw_err err = SW_ERR_INIT;

	snprintf(path, sizeof(path), FIXTURES "%s/run.wandb", name);
	assert_int_equal(sw_wandb_runfile_read(path, run, &err), 0);
	assert_string_equal(run->warning, "");
	assert_int_equal(run->damage_offset, -1);
	assert_int_equal(run->has_footer, 1);
	snprintf(path, sizeof(path), FIXTURES "%s/expected.jsonl", name);
	expected_load(path, 0, &e);
	assert_matches(run, &e);
	expected_release(&e);
}

/* ==== The real SDK's files ==== */

static void test_basic_epochs(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	(void)state;
	check_fixture("basic_epochs", &run);
	/* spelled out once, beyond the comparison with expected.jsonl */
	assert_string_equal(run.run_id, "runbasic");
	assert_string_equal(run.sweep_id, "swp12345");
	assert_int_equal(json_integer_value(json_object_get(run.config, "batch_size")), 128);
	assert_int_equal(json_array_size(run.history), 5);
	assert_int_equal(run.exit_code, 0);
	assert_true(fabs(json_real_value(json_object_get(run.summary,
			 "best_val_accuracy")) - 0.549278328342204) == 0);
	json_t *alert = json_array_get(run.alerts, 0);
	assert_string_equal(json_string_value(json_object_get(alert, "title")), "accuracy");
	assert_string_equal(json_string_value(json_object_get(alert, "text")),
			    "accuracy 0.504 at epoch 3");
	sw_wandb_runfile_release(&run);
}

static void test_steps_and_commit(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	json_t *row;
	(void)state;
	check_fixture("steps_and_commit", &run);
	/* commit=False merged into one row; nested dict kept; explicit steps */
	assert_int_equal(json_array_size(run.history), 8);
	row = json_array_get(run.history, 0);
	assert_true(json_is_object(json_object_get(row, "val")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(run.history, 6),
							    "_step")), 10);
	assert_int_equal(json_integer_value(json_object_get(run.summary, "_step")), 12);
	sw_wandb_runfile_release(&run);
}

static void test_values(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	json_t *row;
	double d;
	(void)state;
	check_fixture("values", &run);
	row = json_array_get(run.history, 0);
	assert_string_equal(json_string_value(json_object_get(row, "loss")), "NaN");
	assert_string_equal(json_string_value(json_object_get(row, "up")), "Infinity");
	assert_string_equal(json_string_value(json_object_get(row, "down")), "-Infinity");
	assert_true(json_is_integer(json_object_get(row, "big")));
	assert_true(json_integer_value(json_object_get(row, "big")) == (json_int_t)1 << 60);
	assert_true(json_is_true(json_object_get(row, "flag")));
	assert_true(json_is_null(json_object_get(row, "none")));
	assert_string_equal(json_string_value(json_object_get(row, "name")), "resnet");
	assert_int_equal(json_array_size(json_object_get(row, "vec")), 3);
	assert_int_equal(sw_wandb_value_number(json_object_get(row, "loss"), &d), 1);
	assert_true(isnan(d));
	assert_int_equal(sw_wandb_value_number(json_object_get(row, "name"), &d), 0);
	sw_wandb_runfile_release(&run);
}

static void test_crash_exit_code(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	(void)state;
	check_fixture("crash", &run);
	assert_int_equal(run.exit_code, 1);
	assert_int_equal(json_array_size(run.history), 3);
	sw_wandb_runfile_release(&run);
}

/* 3,000 rows; 51 records cross a 32 KiB block (FIRST/LAST fragments). */
static void test_many_steps_across_blocks(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	(void)state;
	check_fixture("many_steps", &run);
	assert_int_equal(json_array_size(run.history), 3000);
	assert_int_equal(json_integer_value(json_object_get(run.summary, "_step")), 2999);
	sw_wandb_runfile_release(&run);
}

static char *fixture_bytes(const char *name, size_t *len)
{
	char path[256];
	char *data;
	snprintf(path, sizeof(path), FIXTURES "%s/run.wandb", name);
	data = sw_test_read_file(path, len);
	assert_non_null(data);
	return data;
}

/* The fixtures' `truncated`: a killed run, cut at byte 100,003 inside a
 * record that starts at 99,864. */
static void test_truncated_mid_record(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct expected e;
	size_t len;
	char *data = fixture_bytes("many_steps", &len);
	(void)state;

	assert_int_equal(sw_wandb_runfile_parse(data, 100003, "cut.wandb", &run, &err), 0);
	expected_load(FIXTURES "many_steps/expected.jsonl", 183, &e);
	assert_matches(&run, &e);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(run.history, json_array_size(run.history) - 1), "_step")), 178);
	assert_int_equal(run.has_footer, 0);
	assert_int_equal(run.damage_offset, 99864);
	assert_non_null(strstr(run.warning, "'cut.wandb'"));
	assert_non_null(strstr(run.warning, "byte 99864"));
	assert_non_null(strstr(run.warning, "183 records read"));
	expected_release(&e);
	sw_wandb_runfile_release(&run);
	free(data);
}

/* Every prefix of a small file, and cuts around the block boundaries of a
 * big one: the rows read are always a prefix of the right rows, and a
 * warning is given exactly when a record was cut. */
static void test_every_cut(void **state)
{
	struct expected e;
	const char *names[] = { "basic_epochs", "many_steps" };
	(void)state;

	for (size_t f = 0; f < 2; f++) {
		char path[256];
		size_t len, prev = 0;
		char *data = fixture_bytes(names[f], &len);
		snprintf(path, sizeof(path), FIXTURES "%s/expected.jsonl", names[f]);
		expected_load(path, 0, &e);
		for (size_t cut = 0; cut <= len; cut++) {
			struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
			struct sw_err err = SW_ERR_INIT;
			size_t in_block = cut % BLOCK;
			/* the big file: around the ends of its first two blocks */
			if (f == 1 && cut != len && (cut > 2 * BLOCK + 150 ||
			    (in_block > 150 && in_block < BLOCK - 150)))
				continue;
			assert_int_equal(sw_wandb_runfile_parse(data, cut, "x", &run, &err), 0);
			assert_true(run.records >= prev || f == 1);
			assert_true(run.records <= e.records);
			prev = run.records;
			for (size_t i = 0; i < json_array_size(run.history); i++)
				assert_json_equal(json_array_get(run.history, i),
						  json_array_get(e.history, i));
			if (run.warning[0] && cut > 0)
				assert_true(run.damage_offset >= 0 && (size_t)run.damage_offset <= cut);
			sw_wandb_runfile_release(&run);
		}
		expected_release(&e);
		free(data);
	}
}

/* ==== Files built here ==== */

static uint32_t crc_bitwise(const unsigned char *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void put_varint(struct sw_buf *b, uint64_t v)
{
	unsigned char c;
	do {
		c = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			c |= 0x80;
		assert_int_equal(sw_buf_append(b, &c, 1), 0);
	} while (v);
}

static void put_bytes(struct sw_buf *b, unsigned field, const void *p, size_t n)
{
	put_varint(b, (uint64_t)field << 3 | 2);
	put_varint(b, n);
	assert_int_equal(sw_buf_append(b, p, n), 0);
}

static void put_str(struct sw_buf *b, unsigned field, const char *s)
{
	put_bytes(b, field, s, strlen(s));
}

static void put_msg(struct sw_buf *b, unsigned field, struct sw_buf *m)
{
	put_bytes(b, field, m->data, m->len);
	sw_buf_release(m);
}

/* An item {key, value_json} message appended as field `field` of b. */
static void put_item(struct sw_buf *b, unsigned field, const char *key,
		     const char *value_json)
{
	struct sw_buf item = SW_BUF_INIT;
	put_str(&item, 1, key);
	if (value_json)
		put_str(&item, 16, value_json);
	put_msg(b, field, &item);
}

/* A Record {num, history {items k=v...}} with keys/values as pairs. */
static void history_record(struct sw_buf *rec, uint64_t num, int step,
			   const char *k1, const char *v1)
{
	struct sw_buf h = SW_BUF_INIT;
	char sv[32];
	snprintf(sv, sizeof(sv), "%d", step);
	put_varint(rec, 1 << 3);
	put_varint(rec, num);
	put_item(&h, 1, "_step", sv);
	put_item(&h, 1, k1, v1);
	put_msg(rec, 2, &h);
}

/* A log being written as wandb does: header, then records cut into
 * fragments at 32 KiB block boundaries. */
static void log_header(struct sw_buf *log, int version)
{
	const unsigned char h[7] = { ':', 'W', '&', 'B', 0xE1, 0xBE, (unsigned char)version };
	sw_buf_init(log, 0);
	assert_int_equal(sw_buf_append(log, h, 7), 0);
}

static void log_fragment(struct sw_buf *log, int type, const void *p, size_t n)
{
	unsigned char h[7], t = (unsigned char)type;
	uint32_t crc = crc_bitwise(p, n, crc_bitwise(&t, 1, 0));
	h[0] = crc & 0xff; h[1] = (crc >> 8) & 0xff; h[2] = (crc >> 16) & 0xff;
	h[3] = crc >> 24; h[4] = n & 0xff; h[5] = (n >> 8) & 0xff; h[6] = t;
	assert_int_equal(sw_buf_append(log, h, 7), 0);
	assert_int_equal(sw_buf_append(log, p, n), 0);
}

static void log_record(struct sw_buf *log, struct sw_buf *rec)
{
	const char *p = rec->data;
	size_t n = rec->len;
	int first = 1;
	do {
		size_t left = BLOCK - log->len % BLOCK;
		if (left < 7) {
			static const char zeros[7];
			assert_int_equal(sw_buf_append(log, zeros, left), 0);
			left = BLOCK;
		}
		size_t take = n < left - 7 ? n : left - 7;
		int last = take == n;
		log_fragment(log, first && last ? 1 : first ? 2 : last ? 4 : 3, p, take);
		p += take;
		n -= take;
		first = 0;
	} while (n);
	sw_buf_release(rec);
}

static void parse_ok(struct sw_buf *log, struct sw_wandb_runfile *run)
{
	struct sw_err err = SW_ERR_INIT;
	assert_int_equal(sw_wandb_runfile_parse(log->data, log->len, "t.wandb", run, &err), 0);
}

static json_int_t row_step(const struct sw_wandb_runfile *run, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(run->history, i), "_step"));
}

/* A record of 70 KB: FIRST, MIDDLE, LAST fragments over three blocks. */
static void test_record_over_three_blocks(void **state)
{
	struct sw_buf log, rec = SW_BUF_INIT;
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	size_t n = 70000;
	char *big = malloc(n + 3);
	(void)state;

	big[0] = '"';
	memset(big + 1, 'x', n);
	big[n + 1] = '"';
	big[n + 2] = '\0';
	log_header(&log, 0);
	history_record(&rec, 1, 0, "a", "1");
	log_record(&log, &rec);
	history_record(&rec, 2, 1, "text", big);
	log_record(&log, &rec);
	history_record(&rec, 3, 2, "a", "3");
	log_record(&log, &rec);
	assert_true(log.len > 2 * BLOCK);
	parse_ok(&log, &run);
	assert_string_equal(run.warning, "");
	assert_int_equal(run.records, 3);
	assert_int_equal(json_array_size(run.history), 3);
	assert_int_equal(json_string_length(json_object_get(json_array_get(run.history, 1),
							    "text")), n);
	assert_int_equal(row_step(&run, 2), 2);
	sw_wandb_runfile_release(&run);
	sw_buf_release(&log);
	free(big);
}

/* A bad checksum loses the rest of its block, not the rest of the file;
 * the one warning names the file and the offset. */
static void test_bad_crc_resyncs_next_block(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct expected e;
	size_t len, bad = 40000, i;
	char *data = fixture_bytes("many_steps", &len);
	char want[64];
	(void)state;

	data[bad] ^= 0x55;          /* inside some record of block 1 */
	assert_int_equal(sw_wandb_runfile_parse(data, len, "bad.wandb", &run, &err), 0);
	expected_load(FIXTURES "many_steps/expected.jsonl", 0, &e);
	assert_true(run.damage_offset > BLOCK && run.damage_offset <= (int64_t)bad);
	snprintf(want, sizeof(want), "byte %lld (bad checksum)", (long long)run.damage_offset);
	assert_non_null(strstr(run.warning, "'bad.wandb'"));
	assert_non_null(strstr(run.warning, want));
	/* lost: the rows of the rest of block 1 only (~45 of 3000) */
	assert_true(json_array_size(run.history) > 2900);
	assert_true(json_array_size(run.history) < 3000);
	for (i = 0; i < json_array_size(run.history); i++)
		assert_json_equal(json_array_get(run.history, i),
				  json_array_get(e.history, (size_t)row_step(&run, i)));
	assert_int_equal(run.has_footer, 1);
	assert_json_equal(run.summary, e.summary);
	expected_release(&e);
	sw_wandb_runfile_release(&run);
	free(data);
}

static void test_orphan_and_unfinished_fragments(void **state)
{
	struct sw_buf log, rec = SW_BUF_INIT;
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	(void)state;

	log_header(&log, 0);
	history_record(&rec, 1, 0, "a", "1");
	log_fragment(&log, 4, rec.data, rec.len);        /* LAST without FIRST */
	sw_buf_release(&rec);
	history_record(&rec, 2, 1, "a", "2");
	log_fragment(&log, 2, rec.data, rec.len / 2);    /* FIRST, then no LAST */
	sw_buf_release(&rec);
	history_record(&rec, 3, 2, "a", "3");
	log_record(&log, &rec);                          /* FULL: kept */
	parse_ok(&log, &run);
	assert_int_equal(json_array_size(run.history), 1);
	assert_int_equal(row_step(&run, 0), 2);
	assert_int_equal(run.damage_offset, 7);
	assert_non_null(strstr(run.warning, "without its start at byte 7"));
	assert_non_null(strstr(run.warning, "other damage"));
	sw_wandb_runfile_release(&run);
	sw_buf_release(&log);
}

/* A record with an intact checksum whose protobuf is broken is skipped;
 * the records after it are read. */
static void test_malformed_record_skipped(void **state)
{
	struct sw_buf log, rec = SW_BUF_INIT;
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	const unsigned char broken[] = { 0x08, 0x01, 0x12, 0x40, 0x0a };  /* length past end */
	(void)state;

	log_header(&log, 0);
	assert_int_equal(sw_buf_append(&rec, broken, sizeof(broken)), 0);
	log_record(&log, &rec);
	history_record(&rec, 2, 0, "a", "{\"bad json");  /* value_json not JSON */
	log_record(&log, &rec);
	history_record(&rec, 3, 1, "a", "0.5");
	log_record(&log, &rec);
	parse_ok(&log, &run);
	assert_int_equal(json_array_size(run.history), 1);
	assert_int_equal(run.records, 1);
	assert_non_null(strstr(run.warning, "not a wandb record at byte 7"));
	sw_wandb_runfile_release(&run);
	sw_buf_release(&log);
}

/* Newer SDKs: unknown record kinds and unknown fields of every wire type
 * are skipped without a warning; nested_key paths and summary removals
 * apply. */
static void test_unknown_kinds_fields_nested(void **state)
{
	struct sw_buf log, rec = SW_BUF_INIT, m = SW_BUF_INIT, item = SW_BUF_INIT;
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	const unsigned char fixed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	(void)state;

	log_header(&log, 0);
	/* kind 77 (unknown), with a message body */
	put_varint(&rec, 1 << 3); put_varint(&rec, 1);
	put_str(&m, 1, "whatever");
	put_msg(&rec, 77, &m);
	log_record(&log, &rec);
	/* history with unknown fields: varint 9, fixed64 10, fixed32 11, bytes 12 */
	put_varint(&rec, 1 << 3); put_varint(&rec, 2);
	put_item(&m, 1, "_step", "0");
	put_str(&item, 1, "loss");
	put_varint(&item, 5 << 3); put_varint(&item, 300);      /* unknown in item */
	put_str(&item, 16, "0.25");
	put_msg(&m, 1, &item);
	put_varint(&m, 9 << 3); put_varint(&m, 12345);
	put_varint(&m, 10 << 3 | 1); assert_int_equal(sw_buf_append(&m, fixed, 8), 0);
	put_varint(&m, 11 << 3 | 5); assert_int_equal(sw_buf_append(&m, fixed, 4), 0);
	put_str(&m, 12, "future");
	put_msg(&rec, 2, &m);
	put_varint(&rec, 300 << 3); put_varint(&rec, 1);        /* unknown in Record */
	log_record(&log, &rec);
	/* summary: update a.b = 1 (nested_key), x = 2; then remove x */
	put_varint(&rec, 1 << 3); put_varint(&rec, 3);
	put_str(&item, 2, "a"); put_str(&item, 2, "b"); put_str(&item, 16, "1");
	put_msg(&m, 1, &item);
	put_item(&m, 1, "x", "2");
	put_msg(&rec, 3, &m);
	log_record(&log, &rec);
	put_varint(&rec, 1 << 3); put_varint(&rec, 4);
	put_item(&m, 2, "x", NULL);
	put_msg(&rec, 3, &m);
	log_record(&log, &rec);
	/* exit with a negative code (sign-extended varint), then footer */
	put_varint(&rec, 1 << 3); put_varint(&rec, 5);
	put_varint(&m, 1 << 3); put_varint(&m, (uint64_t)(int64_t)-9);
	put_msg(&rec, 18, &m);
	log_record(&log, &rec);
	put_varint(&rec, 1 << 3); put_varint(&rec, 6);
	put_bytes(&rec, 22, "", 0);
	log_record(&log, &rec);

	parse_ok(&log, &run);
	assert_string_equal(run.warning, "");
	assert_int_equal(run.records, 6);
	assert_int_equal(json_array_size(run.history), 1);
	assert_true(json_real_value(json_object_get(json_array_get(run.history, 0), "loss")) == 0.25);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(run.summary, "a"), "b")), 1);
	assert_null(json_object_get(run.summary, "x"));
	assert_int_equal(run.exit_code, -9);
	assert_int_equal(run.has_footer, 1);
	assert_null(run.run_id);
	sw_wandb_runfile_release(&run);
	sw_buf_release(&log);
}

static void test_header_empty_foreign_version(void **state)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_buf log, rec = SW_BUF_INIT;
	(void)state;

	assert_int_equal(sw_wandb_runfile_parse("", 0, "e.wandb", &run, &err), 0);
	assert_int_equal(run.records, 0);
	assert_non_null(strstr(run.warning, "'e.wandb' is empty"));
	assert_int_equal(sw_wandb_runfile_parse("{\"a\": 1}\n", 9, "f.json", &run, &err), -1);
	assert_non_null(strstr(err.msg, "'f.json' is not a wandb run file"));
	assert_null(run.history);
	assert_int_equal(sw_wandb_runfile_parse(":W&", 3, "s.wandb", &run, &err), 0);
	assert_non_null(strstr(run.warning, "inside its header"));
	/* another format version: read, with a warning */
	log_header(&log, 1);
	history_record(&rec, 1, 0, "a", "1");
	log_record(&log, &rec);
	parse_ok(&log, &run);
	assert_int_equal(json_array_size(run.history), 1);
	assert_non_null(strstr(run.warning, "unknown format version 1"));
	/* a file that is not there */
	assert_int_equal(sw_wandb_runfile_read("tests/wandb_offline/none.wandb", &run, &err), -1);
	assert_non_null(strstr(err.msg, "none.wandb"));
	sw_wandb_runfile_release(&run);
	sw_buf_release(&log);
}

/* Zeros at the end of a block (a writer's padding) are skipped. */
static void test_zero_padding(void **state)
{
	struct sw_buf log, rec = SW_BUF_INIT;
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	char *zeros = calloc(1, BLOCK);
	(void)state;

	log_header(&log, 0);
	history_record(&rec, 1, 0, "a", "1");
	log_record(&log, &rec);
	assert_int_equal(sw_buf_append(&log, zeros, BLOCK - log.len % BLOCK), 0);
	history_record(&rec, 2, 1, "a", "2");
	log_record(&log, &rec);
	assert_int_equal(sw_buf_append(&log, zeros, 100), 0);   /* and at the end */
	parse_ok(&log, &run);
	assert_string_equal(run.warning, "");
	assert_int_equal(json_array_size(run.history), 2);
	sw_wandb_runfile_release(&run);
	sw_buf_release(&log);
	free(zeros);
}

static void test_find_in_run_directory(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	char *dir = sw_test_tmpdir(), *path = NULL, file[512];
	(void)state;

	assert_int_equal(sw_wandb_runfile_find(dir, &path, &err), -1);
	assert_non_null(strstr(err.msg, "no wandb run file"));
	snprintf(file, sizeof(file), "%s/run-abc.wandb", dir);
	assert_int_equal(sw_test_write_file(file, "", 0), 0);
	snprintf(file, sizeof(file), "%s/run-abc.wandb.synced", dir);
	assert_int_equal(sw_test_write_file(file, "", 0), 0);
	assert_int_equal(sw_wandb_runfile_find(dir, &path, &err), 0);
	snprintf(file, sizeof(file), "%s/run-abc.wandb", dir);
	assert_string_equal(path, file);
	free(path);
	sw_test_rmtree(dir);
	free(dir);
}

/* wandb's layouts: an offline-run directory, a wandb/ folder (two runs of
 * one script, the latest-run link, other files), a WANDB_DIR. */
static void test_list_layouts(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	char *tmp = sw_test_tmpdir(), path[768], **files;
	size_t n;
	(void)state;

	snprintf(path, sizeof(path), "%s/wandb", tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(sw_wandb_runfiles_list(tmp, &files, &n, &err), -1);
	assert_non_null(strstr(err.msg, "no wandb runs in"));
	const char *dirs[] = { "offline-run-20261204_100002-bbb", "offline-run-20261204_100001-aaa",
			       "run-20261204_090000-online", "debug-internal.log.d" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/wandb/%s", tmp, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/wandb/%s/run-%zu.wandb", tmp, dirs[i], i);
		if (i < 3)
			assert_int_equal(sw_test_write_file(path, "", 0), 0);
	}
	snprintf(path, sizeof(path), "%s/wandb/latest-run", tmp);
	assert_int_equal(symlink(dirs[0], path), 0);
	/* the WANDB_DIR and its wandb/ folder give the same three, by name */
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), k ? "%s/wandb" : "%s", tmp);
		assert_int_equal(sw_wandb_runfiles_list(path, &files, &n, &err), 0);
		assert_int_equal(n, 3);
		assert_non_null(strstr(files[0], "100001-aaa/run-1.wandb"));
		assert_non_null(strstr(files[1], "100002-bbb/run-0.wandb"));
		assert_non_null(strstr(files[2], "online/run-2.wandb"));
		assert_null(files[3]);
		sw_wandb_runfiles_free(files);
	}
	/* one run directory */
	snprintf(path, sizeof(path), "%s/wandb/%s", tmp, dirs[1]);
	assert_int_equal(sw_wandb_runfiles_list(path, &files, &n, &err), 0);
	assert_int_equal(n, 1);
	sw_wandb_runfiles_free(files);
	assert_int_equal(sw_wandb_runfiles_list("tests/wandb_offline/nothere", &files, &n, &err), -1);
	assert_non_null(strstr(err.msg, "unable to open directory"));
	sw_test_rmtree(tmp);
	free(tmp);
}

/* ==== value_json ==== */

static json_t *parse(const char *s)
{
	json_t *v = NULL;
	assert_int_equal(sw_wandb_json_parse(s, strlen(s), &v), 0);
	return v;
}

static void test_value_json(void **state)
{
	json_t *v;
	(void)state;

	v = parse("1152921504606846976");
	assert_true(json_is_integer(v) && json_integer_value(v) == (json_int_t)1 << 60);
	json_decref(v);
	v = parse("-9223372036854775808");
	assert_true(json_is_integer(v) && json_integer_value(v) == INT64_MIN);
	json_decref(v);
	v = parse("123456789012345678901234567890");   /* beyond int64: a real */
	assert_true(json_is_real(v) && json_real_value(v) == 123456789012345678901234567890.0);
	json_decref(v);
	v = parse("0.1");
	assert_true(json_real_value(v) == 0.1);
	json_decref(v);
	v = parse("1796325713.1102808");
	assert_true(json_real_value(v) == 1796325713.1102808);
	json_decref(v);
	v = parse("1e999");
	assert_string_equal(json_string_value(v), "Infinity");
	json_decref(v);
	v = parse("-Infinity");
	assert_string_equal(json_string_value(v), "-Infinity");
	json_decref(v);
	v = parse(" [1, NaN, {\"a\": -Infinity, \"NaN\": \"Infinity \\\" NaN\"}, 99999999999999999999] ");
	assert_int_equal(json_array_size(v), 4);
	assert_string_equal(json_string_value(json_array_get(v, 1)), "NaN");
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 2), "a")), "-Infinity");
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 2), "NaN")),
			    "Infinity \" NaN");
	assert_true(json_is_real(json_array_get(v, 3)));
	json_decref(v);
	v = parse("\"caf\\u00e9\"");
	assert_string_equal(json_string_value(v), "caf\xc3\xa9");
	json_decref(v);
	v = parse("{\"_type\": \"image-file\", \"path\": \"media/x.png\", \"width\": 32}");
	assert_string_equal(json_string_value(json_object_get(v, "_type")), "image-file");
	json_decref(v);

	const char *bad[] = { "", " ", "{", "[1,", "\"open", "NaNa", "01", "1.", "-", "tru", "\"\\" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = (json_t *)1;
		assert_int_equal(sw_wandb_json_parse(bad[i], strlen(bad[i]), &v), -1);
		assert_null(v);
	}
}

/* Reals decode to exactly what strtod gives, over Python-style reprs of
 * random doubles of every magnitude (the decoder has a fast path of its
 * own; the fixtures cannot check it, expected.jsonl is read by it too). */
static void test_reals_exact_as_strtod(void **state)
{
	uint64_t x = 0x9E3779B97F4A7C15u;
	char text[64];
	(void)state;

	for (int i = 0; i < 200000; i++) {
		double d, want;
		json_t *v;
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		memcpy(&d, &x, sizeof(d));
		if (!isfinite(d))
			continue;
		if (i % 2)      /* ordinary magnitudes, 1e-12 .. 1e12 */
			d = ldexp((double)(x >> 11) / 9007199254740992.0, (int)(x % 80) - 40);
		/* the shortest repr that reads back (Python's), or 17 digits */
		int prec = i % 3 == 0 ? 17 : 15;
		for (; prec <= 17; prec++) {
			snprintf(text, sizeof(text), "%.*g", prec, d);
			if (strtod(text, NULL) == d)
				break;
		}
		if (!strpbrk(text, ".en"))
			strcat(text, ".0");
		want = strtod(text, NULL);
		v = parse(text);
		if (!json_is_real(v) || json_real_value(v) != want)
			fail_msg("'%s' decoded as %.17g, strtod gives %.17g", text,
				 json_real_value(v), want);
		json_decref(v);
	}
}

static void test_flatten_and_number(void **state)
{
	json_t *row = parse("{\"val\": {\"loss\": 2.0, \"deep\": {\"x\": 1}}, \"lr\": 0.1,"
			    " \"img\": {\"_type\": \"image-file\", \"path\": \"p\"}, \"e\": {}}");
	json_t *flat = sw_wandb_row_flatten(row);
	double d;
	(void)state;

	assert_int_equal(json_object_size(flat), 4);
	assert_true(json_real_value(json_object_get(flat, "val.loss")) == 2.0);
	assert_int_equal(json_integer_value(json_object_get(flat, "val.deep.x")), 1);
	assert_true(json_real_value(json_object_get(flat, "lr")) == 0.1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(flat, "img"),
							      "_type")), "image-file");
	assert_int_equal(sw_wandb_value_number(json_object_get(flat, "lr"), &d), 1);
	assert_true(d == 0.1);
	assert_int_equal(sw_wandb_value_number(json_object_get(flat, "img"), &d), 0);
	json_t *inf = json_string("-Infinity");
	assert_int_equal(sw_wandb_value_number(inf, &d), 1);
	assert_true(isinf(d) && d < 0);
	json_decref(inf);
	json_decref(flat);
	json_decref(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_epochs),
		cmocka_unit_test(test_steps_and_commit),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_crash_exit_code),
		cmocka_unit_test(test_many_steps_across_blocks),
		cmocka_unit_test(test_truncated_mid_record),
		cmocka_unit_test(test_every_cut),
		cmocka_unit_test(test_record_over_three_blocks),
		cmocka_unit_test(test_bad_crc_resyncs_next_block),
		cmocka_unit_test(test_orphan_and_unfinished_fragments),
		cmocka_unit_test(test_malformed_record_skipped),
		cmocka_unit_test(test_unknown_kinds_fields_nested),
		cmocka_unit_test(test_header_empty_foreign_version),
		cmocka_unit_test(test_zero_padding),
		cmocka_unit_test(test_find_in_run_directory),
		cmocka_unit_test(test_list_layouts),
		cmocka_unit_test(test_value_json),
		cmocka_unit_test(test_reals_exact_as_strtod),
		cmocka_unit_test(test_flatten_and_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
