/* fuzz_report.c - libFuzzer target for `sweep report`: the input is split
 * at its first NUL byte into runs.jsonl and the history.jsonl of run "a",
 * written into a scratch results directory beside a fixed sweep.yaml, then
 * loaded and rendered with sw_report_load() / sw_report_html(). A crash,
 * hang, leak or sanitizer report is a bug; errors are fine.
 *
 *   make fuzz
 *   build/fuzz/fuzz_report -runs=0 tests/fuzz/corpus_report      (replay seeds)
 *   nice -n 19 build/fuzz/fuzz_report -max_total_time=600 NEW_DIR \
 *       tests/fuzz/corpus_report */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char spec[] =
"name: fuzz\n"
"method: random\n"
"metric: {name: val_accuracy, goal: maximize}\n"
"parameters:\n"
"  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}\n"
"  opt: {values: [adam, sgd]}\n"
"  arch: {parameters: {width: {values: [8, 16]}}}\n";

static char dir[64];

static void put(const char *rel, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wb");
	if (!f)
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_report rep = SW_REPORT_INIT;
	struct sw_buf out = SW_BUF_INIT;
	struct sw_err err = SW_ERR_INIT;
	const uint8_t *nul = memchr(data, 0, size);
	size_t n1 = nul ? (size_t)(nul - data) : size;

	if (!dir[0]) {
		char sub[128];

		snprintf(dir, sizeof(dir), "/tmp/fuzz-report-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(sub, sizeof(sub), "%s/runs", dir);
		mkdir(sub, 0755);
		snprintf(sub, sizeof(sub), "%s/runs/a", dir);
		mkdir(sub, 0755);
		put("sweep.yaml", spec, strlen(spec));
	}
	put("runs.jsonl", data, n1);
	put("runs/a/history.jsonl", nul ? nul + 1 : data, nul ? size - n1 - 1 : 0);
	if (sw_report_load(&rep, dir, &err) == 0) {
		sw_report_html(&rep, &out, &err);
		sw_report_release(&rep);
	}
	sw_buf_release(&out);
	return 0;
}
