/* fuzz_wandb_runfile.c - libFuzzer target for the reader of wandb's run
 * files (sw_wandb_runfile_parse) and its value decoder.
 *
 * Two kinds of input, so that mutations reach the protobuf decoding past
 * the checksums:
 *   - starting with ":W&B": a whole run file, read as it is;
 *   - anything else: records, each as a 2-byte little-endian length and
 *     its bytes, which this target frames into a run file with correct
 *     checksums and block fragments (as wandb writes them); the input is
 *     also given to sw_wandb_json_parse as one value_json text.
 * A crash, hang, leak or sanitizer report is a bug; warnings are fine.
 * The decoded values must encode back to JSON.
 *
 *   make fuzz
 *   build/fuzz/fuzz_wandb_runfile -runs=0 tests/fuzz/corpus_wandb_runfile
 *   nice -n 19 build/fuzz/fuzz_wandb_runfile -max_total_time=600 NEW_DIR \
 *       tests/fuzz/corpus_wandb_runfile */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "sweep/offline/wandb_runfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BLOCK 32768

static uint32_t crc32_ieee(const uint8_t *p, size_t n, uint32_t crc)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void fragment(struct sw_buf *log, uint8_t type, const uint8_t *p, size_t n)
{
	uint32_t crc = crc32_ieee(p, n, crc32_ieee(&type, 1, 0));
	uint8_t h[7] = { crc & 0xff, (crc >> 8) & 0xff, (crc >> 16) & 0xff, crc >> 24,
			 n & 0xff, (n >> 8) & 0xff, type };
	if (sw_buf_append(log, h, 7) < 0 || sw_buf_append(log, p, n) < 0)
		abort();
}

/* Frames one record into log, cutting it at block ends. */
static void frame(struct sw_buf *log, const uint8_t *p, size_t n)
{
	static const uint8_t zeros[7];
	int first = 1;

	do {
		size_t left = BLOCK - log->len % BLOCK;
		if (left < 7) {
			if (sw_buf_append(log, zeros, left) < 0)
				abort();
			left = BLOCK;
		}
		size_t take = n < left - 7 ? n : left - 7;
		int last = take == n;
		fragment(log, first && last ? 1 : first ? 2 : last ? 4 : 3, p, take);
		p += take;
		n -= take;
		first = 0;
	} while (n);
}

static void check_encodes(const json_t *v)
{
	char *text = json_dumps(v, JSON_ENCODE_ANY);
	if (!text)
		abort();
	free(text);
}

static void read_file(const uint8_t *data, size_t size)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	size_t i;
	json_t *row;

	if (sw_wandb_runfile_parse(data, size, "fuzz.wandb", &run, &err) < 0)
		return;
	/* damage always comes with its warning, at an offset inside the file */
	if (run.damage_offset >= 0 && !run.warning[0])
		abort();
	if (run.damage_offset > (int64_t)size)
		abort();
	check_encodes(run.config);
	check_encodes(run.summary);
	check_encodes(run.alerts);
	json_array_foreach(run.history, i, row) {
		json_t *flat = sw_wandb_row_flatten(row);
		if (!flat)
			abort();
		check_encodes(flat);
		json_decref(flat);
	}
	sw_wandb_runfile_release(&run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t header[7] = { ':', 'W', '&', 'B', 0xE1, 0xBE, 0 };
	struct sw_buf log = SW_BUF_INIT;
	json_t *v = NULL;
	size_t pos = 0;

	if (size >= 4 && !memcmp(data, header, 4)) {
		read_file(data, size);
		return 0;
	}
	if (sw_wandb_json_parse((const char *)data, size, &v) == 0) {
		check_encodes(v);
		json_decref(v);
	}
	if (sw_buf_append(&log, header, sizeof(header)) < 0)
		abort();
	while (pos + 2 <= size) {
		size_t n = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		frame(&log, data + pos, n);
		pos += n;
	}
	read_file((const uint8_t *)log.data, log.len);
	sw_buf_release(&log);
	return 0;
}
