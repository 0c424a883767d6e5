/* test_filestream.c - the file_stream client: exact bodies and offsets
 * against a fake transport, history kept across failures and re-sent from
 * the right offset, "stopped", heartbeats, completion; then end-to-end
 * against tests/fake_wandb.py with faults throughout: nothing lost, nothing
 * duplicated. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/fake_wandb.h"
#include "sweep/wandb/filestream.h"
#include "sweep/wandb/wandb_api.h"

struct fake {
	long statuses[32];         /* per call; 0: transport failure */
	const char *answer;        /* body of 2xx answers */
	int calls;
	char *bodies[32];
	char *url;
};

static int fake_transport(struct sw_http *http, const struct sw_http_request *req,
			  struct sw_http_response *resp, struct sw_err *err)
{
	struct fake *f = http->transport_ctx;
	int i = f->calls++;

	assert_true(i < 32);
	f->bodies[i] = strndup(req->body, req->body_len);
	free(f->url);
	f->url = strdup(req->url);
	assert_string_equal(req->user, "api");
	assert_string_equal(req->password, "fskey");
	if (f->statuses[i] == 0) {
		resp->fail = SW_HTTP_FAIL_TRANSIENT;
		return sw_errorf(err, "Empty reply from server");
	}
	resp->status = f->statuses[i];
	sw_buf_append(&resp->body, f->answer, strlen(f->answer));
	return 0;
}

static void setup(struct sw_http *h, struct fake *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 32; i++)
		f->statuses[i] = 200;
	f->answer = "{\"exitcode\": null, \"limits\": {}}";
	sw_http_init(h);
	h->transport = fake_transport;
	h->transport_ctx = f;
	h->max_tries = 1;
	assert_int_equal(sw_http_set_server(h, "https://api.example.com", "fskey"), 0);
}

static void teardown(struct sw_http *h, struct fake *f)
{
	int i;

	for (i = 0; i < f->calls; i++)
		free(f->bodies[i]);
	free(f->url);
	sw_http_release(h);
}

static void row(struct sw_filestream *fs, int step)
{
	char line[128];
	struct sw_err err = SW_ERR_INIT;

	snprintf(line, sizeof(line), "{\"_step\":%d,\"_runtime\":%d.5,\"_timestamp\":1724300000.%d,"
		 "\"loss\":0.%d}", step, step, step, 9 - step % 10);
	assert_int_equal(sw_filestream_log(fs, line, &err), 0);
}

static void test_exact_bodies_and_offsets(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_filestream fs;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup(&h, &f);
	assert_int_equal(sw_filestream_init(&fs, &h, "alice", "my proj", "k3j2/h1g0", 0, &err), 0);
	row(&fs, 0);
	row(&fs, 1);
	assert_int_equal(sw_filestream_set_summary(&fs, "{\"loss\":0.8,\"_step\":1}", &err), 0);
	assert_int_equal(f.calls, 0); /* nothing is sent before a flush */
	assert_int_equal(sw_filestream_flush(&fs, &err), 0);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.url, "https://api.example.com/files/alice/my%20proj/k3j2%2Fh1g0/"
			    "file_stream");
	assert_string_equal(f.bodies[0],
		"{\"files\":{\"wandb-history.jsonl\":{\"offset\":0,\"content\":["
		"\"{\\\"_step\\\":0,\\\"_runtime\\\":0.5,\\\"_timestamp\\\":1724300000.0,\\\"loss\\\":0.9}\","
		"\"{\\\"_step\\\":1,\\\"_runtime\\\":1.5,\\\"_timestamp\\\":1724300000.1,\\\"loss\\\":0.8}\"]},"
		"\"wandb-summary.json\":{\"offset\":0,\"content\":[\"{\\\"loss\\\":0.8,\\\"_step\\\":1}\"]}}}");
	assert_int_equal(fs.offset, 2);
	assert_int_equal(fs.n_lines, 0);

	/* nothing new: no request */
	assert_int_equal(sw_filestream_flush(&fs, &err), 0);
	assert_int_equal(f.calls, 1);

	/* the next lines continue at offset 2; the unchanged summary is not re-sent */
	row(&fs, 2);
	assert_int_equal(sw_filestream_flush(&fs, &err), 0);
	assert_string_equal(f.bodies[1],
		"{\"files\":{\"wandb-history.jsonl\":{\"offset\":2,\"content\":["
		"\"{\\\"_step\\\":2,\\\"_runtime\\\":2.5,\\\"_timestamp\\\":1724300000.2,\\\"loss\\\":0.7}\"]}}}");

	assert_int_equal(sw_filestream_finish(&fs, 0, &err), 0);
	assert_string_equal(f.bodies[2], "{\"complete\":true,\"exitcode\":0}");
	assert_int_equal(sw_filestream_finish(&fs, 0, &err), 0);
	assert_int_equal(f.calls, 3); /* completion sent once */
	sw_filestream_release(&fs);
	teardown(&h, &f);
}

static void test_failure_keeps_history(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_filestream fs;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup(&h, &f);
	f.statuses[0] = 500;
	f.statuses[1] = 0;    /* dropped connection */
	f.statuses[2] = 429;
	assert_int_equal(sw_filestream_init(&fs, &h, "e", "p", "r", 7, &err), 0);
	row(&fs, 0);
	row(&fs, 1);
	assert_int_equal(sw_filestream_flush(&fs, &err), -1);
	assert_non_null(strstr(err.msg, "file_stream: HTTP 500 from https://api.example.com/"
			       "files/e/p/r/file_stream"));
	assert_int_equal(fs.n_lines, 2);
	assert_int_equal(fs.offset, 7);
	row(&fs, 2);
	assert_int_equal(sw_filestream_flush(&fs, &err), -1);
	assert_string_equal(err.msg, "file_stream: Empty reply from server");
	/* completion is not sent while history is pending */
	assert_int_equal(sw_filestream_finish(&fs, 1, &err), -1);
	assert_int_equal(f.calls, 3);
	assert_int_equal(sw_filestream_finish(&fs, 1, &err), 0);
	assert_int_equal(f.calls, 5);
	/* every try re-sent the same lines from the same offset */
	assert_non_null(strstr(f.bodies[0], "{\"offset\":7,"));
	assert_non_null(strstr(f.bodies[3], "{\"offset\":7,"));
	assert_non_null(strstr(f.bodies[3], "_step\\\":2"));
	assert_null(strstr(f.bodies[0], "_step\\\":2"));
	assert_string_equal(f.bodies[4], "{\"complete\":true,\"exitcode\":1}");
	assert_int_equal(fs.offset, 10);
	sw_filestream_release(&fs);
	teardown(&h, &f);
}

static void test_chunks_and_partial_failure(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_filestream fs;
	struct sw_err err = SW_ERR_INIT;
	int i;

	(void)state;
	setup(&h, &f);
	f.statuses[2] = 503;
	assert_int_equal(sw_filestream_init(&fs, &h, "e", "p", "r", 0, &err), 0);
	fs.max_request_bytes = 600; /* about 3 rows per POST */
	for (i = 0; i < 10; i++)
		row(&fs, i);
	assert_int_equal(sw_filestream_flush(&fs, &err), -1);
	assert_int_equal(f.calls, 3);
	assert_non_null(strstr(f.bodies[0], "\"offset\":0,"));
	assert_true(fs.offset > 0 && fs.offset < 10);
	assert_int_equal(fs.offset + (int64_t)fs.n_lines, 10);
	assert_int_equal(sw_filestream_flush(&fs, &err), 0);
	assert_int_equal(fs.offset, 10);
	/* the POSTs' offsets are continuous and every step went exactly once
	 * in the accepted ones */
	{
		int64_t expect = 0;
		int steps = 0;

		for (i = 0; i < f.calls; i++) {
			json_t *b = json_loads(f.bodies[i], 0, NULL);
			json_t *hist = json_object_get(json_object_get(b, "files"),
						       "wandb-history.jsonl");
			int64_t off = json_integer_value(json_object_get(hist, "offset"));
			size_t n = json_array_size(json_object_get(hist, "content"));

			assert_int_equal(off, expect);
			if (f.statuses[i] == 200) {
				expect += (int64_t)n;
				steps += (int)n;
			}
			json_decref(b);
		}
		assert_int_equal(steps, 10);
	}
	sw_filestream_release(&fs);
	teardown(&h, &f);
}

static void test_stopped_and_heartbeat(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_filestream fs;
	struct sw_err err = SW_ERR_INIT;
	double t0;

	(void)state;
	setup(&h, &f);
	assert_int_equal(sw_filestream_init(&fs, &h, "e", "p", "r", 0, &err), 0);
	t0 = fs.last_post_s;
	assert_int_equal(sw_filestream_poll(&fs, t0 + 5, &err), 0);
	assert_int_equal(f.calls, 0);
	assert_int_equal(sw_filestream_poll(&fs, t0 + 31, &err), 0);
	assert_int_equal(f.calls, 1);
	assert_string_equal(f.bodies[0], "{}");
	assert_false(sw_filestream_stopped(&fs));
	/* poll flushes queued rows at once */
	row(&fs, 0);
	f.answer = "{\"exitcode\": null, \"stopped\": true}";
	assert_int_equal(sw_filestream_poll(&fs, t0, &err), 0);
	assert_int_equal(f.calls, 2);
	assert_true(sw_filestream_stopped(&fs));
	sw_filestream_release(&fs);
	teardown(&h, &f);
}

static void test_bad_input(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_filestream fs;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup(&h, &f);
	assert_int_equal(sw_filestream_init(&fs, &h, "e", "", "r", 0, &err), -1);
	assert_string_equal(err.msg, "file_stream needs a non-empty project name");
	sw_filestream_release(&fs);
	assert_int_equal(sw_filestream_init(&fs, &h, "e", "p", "r", -1, &err), -1);
	sw_filestream_release(&fs);
	assert_int_equal(sw_filestream_init(&fs, &h, "e", "p", "r", 0, &err), 0);
	assert_int_equal(sw_filestream_log(&fs, "[1,2]", &err), -1);
	assert_string_equal(err.msg, "history line is not a JSON object: [1,2]");
	assert_int_equal(sw_filestream_log(&fs, "{\"a\":\n1}", &err), -1);
	assert_string_equal(err.msg, "history line contains a newline");
	fs.max_line_bytes = 8;
	assert_int_equal(sw_filestream_set_summary(&fs, "{\"abc\":12345}", &err), -1);
	assert_string_equal(err.msg, "summary line of 13 bytes is longer than the 8 allowed");
	assert_int_equal(fs.n_lines, 0);
	sw_filestream_release(&fs);
	sw_filestream_release(NULL);
	teardown(&h, &f);
}

/* ==== End to end against the fake server ==== */

static void test_fake_server_faults_lose_nothing(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_filestream fs;
	struct sw_wandb_run run;
	struct sw_wandb_run_args a = { .name = "run1", .entity = "alice", .project = "proj",
				       .config = "{\"lr\": {\"value\": 0.1}}" };
	struct sw_err err = SW_ERR_INIT;
	json_t *rec, *r, *hist, *v;
	int i, failures = 0, tries;
	size_t k;
	char summary[64];

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": ["
		" {\"op\": \"file_stream\", \"skip\": 1, \"action\": \"drop_after\"},"
		" {\"op\": \"file_stream\", \"skip\": 3, \"times\": 3, \"status\": 500},"
		" {\"op\": \"file_stream\", \"skip\": 7, \"action\": \"refuse\", \"seconds\": 0.3},"
		" {\"op\": \"file_stream\", \"skip\": 9, \"status\": 429, \"retry_after\": 0},"
		" {\"op\": \"file_stream\", \"skip\": 11, \"action\": \"drop\"},"
		" {\"op\": \"file_stream\", \"skip\": 13, \"times\": 2, \"status\": 502}]}"), 0);
	sw_http_init(&h);
	h.max_tries = 2;
	h.backoff_min_s = 0.02;
	assert_int_equal(sw_http_set_server(&h, fw.url, SW_FAKE_WANDB_KEY), 0);
	assert_int_equal(sw_wandb_upsert_bucket(&h, &a, &run, &err), 0);
	assert_int_equal(sw_filestream_init(&fs, &h, run.entity, run.project, run.name,
					    run.history_line_count, &err), 0);
	for (i = 0; i < 20; i++) {
		row(&fs, i);
		snprintf(summary, sizeof(summary), "{\"_step\":%d,\"loss\":0.%d}", i, 9 - i % 10);
		assert_int_equal(sw_filestream_set_summary(&fs, summary, &err), 0);
		if (i % 2 == 1 && sw_filestream_flush(&fs, &err) < 0)
			failures++;
	}
	for (tries = 0; sw_filestream_finish(&fs, 0, &err) < 0; tries++)
		assert_true(tries < 20);
	assert_true(failures > 0); /* the faults did make flushes fail */

	rec = sw_fake_wandb_record(&fw);
	r = json_object_get(json_object_get(rec, "runs"), "run1");
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	hist = json_object_get(r, "history");
	assert_int_equal(json_array_size(hist), 20);
	json_array_foreach(hist, k, v)
		assert_int_equal(json_integer_value(json_object_get(v, "_step")), (json_int_t)k);
	assert_true(json_integer_value(json_object_get(r, "resent_lines")) > 0);
	assert_true(json_is_true(json_object_get(r, "complete")));
	assert_int_equal(json_integer_value(json_object_get(r, "exitcode")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "summary"),
							    "_step")), 19);
	json_decref(rec);

	/* a second run the server wants stopped */
	assert_int_equal(sw_fake_wandb_control(&fw, "{\"stop_runs\": [\"run2\"], \"faults\": []}"),
			 0);
	sw_filestream_release(&fs);
	sw_wandb_run_release(&run);
	a.name = "run2";
	assert_int_equal(sw_wandb_upsert_bucket(&h, &a, &run, &err), 0);
	assert_int_equal(sw_filestream_init(&fs, &h, run.entity, run.project, run.name, 0, &err),
			 0);
	row(&fs, 0);
	assert_false(sw_filestream_stopped(&fs));
	assert_int_equal(sw_filestream_flush(&fs, &err), 0);
	assert_true(sw_filestream_stopped(&fs));
	assert_int_equal(sw_filestream_finish(&fs, 1, &err), 0);
	rec = sw_fake_wandb_record(&fw);
	r = json_object_get(json_object_get(rec, "runs"), "run2");
	assert_string_equal(json_string_value(json_object_get(r, "state")), "failed");
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	json_decref(rec);

	sw_filestream_release(&fs);
	sw_wandb_run_release(&run);
	sw_fake_wandb_stop(&fw);
	sw_http_release(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bodies_and_offsets),
		cmocka_unit_test(test_failure_keeps_history),
		cmocka_unit_test(test_chunks_and_partial_failure),
		cmocka_unit_test(test_stopped_and_heartbeat),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_fake_server_faults_lose_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
