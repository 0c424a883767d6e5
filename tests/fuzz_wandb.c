/* fuzz_wandb.c - libFuzzer target: hostile wandb answers. The input is
 * [op byte][status byte][body...]; a fake transport answers every request
 * with that status and body, and the chosen wandb operation (or the
 * file_stream client, or the YAML writer on the body as JSON) must fail
 * cleanly or succeed, never crash or leak. Build with `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/wandb/filestream.h"
#include "sweep/wandb/gql.h"
#include "sweep/wandb/wandb_api.h"
#include "sweep/wandb/wandb_yaml.h"

struct answer {
	long status;
	const uint8_t *body;
	size_t len;
};

static int transport(struct sw_http *http, const struct sw_http_request *req,
		     struct sw_http_response *resp, struct sw_err *err)
{
	struct answer *a = http->transport_ctx;

	(void)req;
	(void)err;
	resp->status = a->status;
	sw_buf_append(&resp->body, a->body, a->len);
	return 0;
}

static int no_sleep(struct sw_http *http, double s)
{
	(void)http;
	(void)s;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 200, 200, 400, 401, 403, 404, 429, 500, 502 };
	struct sw_err err = SW_ERR_INIT;
	struct answer a;
	struct sw_http h;
	json_t *j = NULL;
	char *s = NULL;

	if (size < 2)
		return 0;
	a.status = statuses[data[1] % 10];
	a.body = data + 2;
	a.len = size - 2;
	sw_http_init(&h);
	h.transport = transport;
	h.transport_ctx = &a;
	h.sleep = no_sleep;
	h.max_tries = 2;
	h.max_body = 1 << 16;
	if (sw_http_set_server(&h, "https://api.example.com", "k3y") < 0)
		return 0;

	switch (data[0] % 9) {
	case 0:
		sw_wandb_viewer(&h, &s, &err);
		break;
	case 1: {
		struct sw_wandb_sweep out;
		struct sw_wandb_sweep_args args = { .config_yaml = "method: grid\n" };

		if (sw_wandb_upsert_sweep(&h, &args, &out, &err) == 0)
			sw_wandb_sweep_release(&out);
		break;
	}
	case 2:
		sw_wandb_create_agent(&h, "host", "e", "p", "s", &s, &err);
		break;
	case 3:
		sw_wandb_agent_heartbeat(&h, "a", NULL, &j, &err);
		break;
	case 4: {
		struct sw_wandb_run out;
		struct sw_wandb_run_args args = { .name = "r", .config = "{}" };

		if (sw_wandb_upsert_bucket(&h, &args, &out, &err) == 0)
			sw_wandb_run_release(&out);
		break;
	}
	case 5:
		sw_wandb_alert(&h, "e", "p", "r", "t", "x", "INFO", 1, &err);
		break;
	case 6:
		sw_wandb_sweep_with_runs(&h, "e", "p", "s", NULL, &j, &err);
		break;
	case 7: {
		struct sw_filestream fs;

		if (sw_filestream_init(&fs, &h, "e", "p", "r", 0, &err) == 0) {
			sw_filestream_log(&fs, "{\"_step\":0}", &err);
			sw_filestream_flush(&fs, &err);
			sw_filestream_finish(&fs, 0, &err);
		}
		sw_filestream_release(&fs);
		break;
	}
	default: {
		json_t *doc = json_loadb((const char *)a.body, a.len, 0, NULL);

		if (doc)
			s = sw_wandb_config_yaml(doc, &err);
		json_decref(doc);
		break;
	}
	}
	if (strstr(err.msg, "k3y"))
		abort(); /* the key must never reach a message */
	free(s);
	json_decref(j);
	sw_http_release(&h);
	return 0;
}
