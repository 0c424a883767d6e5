/* test_gql.c - GraphQL marshalling and every wandb operation against a fake
 * transport: the exact request sent (URL, auth, query text, variables) and
 * how answers and error bodies are turned into results and messages. */
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
#include "sweep/wandb/gql.h"
#include "sweep/wandb/wandb_api.h"

#define KEY "gqltestkey0123456789"

struct fake {
	long status;
	const char *body;
	int fail;                  /* transport failure instead of an answer */
	int fail_calls;            /* ... for the first fail_calls calls only */
	int calls;
	char *url, *sent, *user, *password, *ctype;
	char *first_sent;          /* body of the first call */
};

static int fake_transport(struct sw_http *http, const struct sw_http_request *req,
			  struct sw_http_response *resp, struct sw_err *err)
{
	struct fake *f = http->transport_ctx;

	f->calls++;
	free(f->url);
	free(f->sent);
	free(f->user);
	free(f->password);
	free(f->ctype);
	f->url = strdup(req->url);
	f->sent = strndup(req->body, req->body_len);
	f->user = req->user ? strdup(req->user) : NULL;
	f->password = req->password ? strdup(req->password) : NULL;
	f->ctype = req->content_type ? strdup(req->content_type) : NULL;
	if (f->calls == 1)
		f->first_sent = strdup(f->sent);
	if (f->fail || f->calls <= f->fail_calls) {
		resp->fail = SW_HTTP_FAIL_TRANSIENT;
		return sw_errorf(err, "POST %s failed: Connection refused", req->url);
	}
	resp->status = f->status;
	if (f->body)
		sw_buf_append(&resp->body, f->body, strlen(f->body));
	return 0;
}

static void setup(struct sw_http *h, struct fake *f, long status, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->status = status;
	f->body = body;
	sw_http_init(h);
	h->transport = fake_transport;
	h->transport_ctx = f;
	h->max_tries = 1;
	assert_int_equal(sw_http_set_server(h, "https://api.example.com", KEY), 0);
}

static void teardown(struct sw_http *h, struct fake *f)
{
	free(f->url);
	free(f->sent);
	free(f->user);
	free(f->password);
	free(f->ctype);
	free(f->first_sent);
	sw_http_release(h);
}

/* The request body must be exactly {"query": query, "variables": vars}. */
static void assert_sent(struct fake *f, const char *query, const char *vars_json)
{
	json_t *vars = json_loads(vars_json, 0, NULL);
	json_t *want = json_pack("{s:s, s:o}", "query", query, "variables", vars);
	char *text = json_dumps(want, JSON_COMPACT);
	json_t *got = json_loads(f->sent, 0, NULL);

	assert_non_null(want);
	assert_string_equal(f->url, "https://api.example.com/graphql");
	assert_string_equal(f->user, "api");
	assert_string_equal(f->password, KEY);
	assert_string_equal(f->ctype, "application/json");
	/* same bytes (key order included) and, to be sure, same JSON */
	assert_string_equal(f->sent, text);
	assert_true(json_equal(got, want));
	free(text);
	json_decref(got);
	json_decref(want);
}

/* ==== sw_gql_request ==== */

static void test_request_body_and_auth(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_buf out;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"x\":1}}");
	sw_buf_init(&out, 1 << 20);
	assert_int_equal(sw_gql_request(&h, "query Q { x }", NULL, &out, &err), 0);
	assert_string_equal(f.sent, "{\"query\":\"query Q { x }\",\"variables\":{}}");
	assert_string_equal(out.data, "{\"data\":{\"x\":1}}");
	assert_int_equal(sw_gql_request(&h, "query Q($a: Int) { x }", "{\"a\": 5}", &out,
					&err), 0);
	assert_string_equal(f.sent, "{\"query\":\"query Q($a: Int) { x }\",\"variables\":{\"a\":5}}");
	assert_int_equal(sw_gql_request(&h, "query Q { x }", "[1]", &out, &err), -1);
	assert_string_equal(err.msg, "graphql variables are not a JSON object");
	assert_int_equal(sw_gql_request(&h, "query Q { x }", "{bad", &out, &err), -1);
	assert_non_null(strstr(err.msg, "graphql variables are not a JSON object: "));
	assert_int_equal(f.calls, 2);
	sw_buf_release(&out);
	teardown(&h, &f);
}

static void expect_error(long status, const char *body, const char *want)
{
	struct sw_http h;
	struct fake f;
	struct sw_buf out;
	struct sw_err err = SW_ERR_INIT;

	setup(&h, &f, status, body);
	sw_buf_init(&out, 1 << 20);
	assert_int_equal(sw_gql_request(&h, "query Q { x }", NULL, &out, &err), -1);
	assert_string_equal(err.msg, want);
	assert_null(strstr(err.msg, KEY));
	assert_int_equal(h.last_status, status);
	sw_buf_release(&out);
	teardown(&h, &f);
}

static void test_error_bodies(void **state)
{
	(void)state;
	expect_error(200, "{\"errors\":[{\"message\":\"bad thing\",\"path\":[\"upsertSweep\"]},"
		     "{\"message\":\"worse\"}],\"data\":{\"upsertSweep\":null}}",
		     "wandb: bad thing; worse (in upsertSweep)");
	expect_error(400, "{\"errors\":[{\"message\":\"Sweep ab12 is not running\","
		     "\"path\":[\"createAgent\"]}]}",
		     "wandb: Sweep ab12 is not running (HTTP 400 in createAgent)");
	expect_error(500, "{\"errors\":[\"plain string error\"]}",
		     "wandb: plain string error (HTTP 500)");
	expect_error(404, "{\"error\":\"no such route\"}", "wandb: no such route (HTTP 404)");
	expect_error(502, "<html>bad gateway</html>",
		     "HTTP 502 from https://api.example.com/graphql: <html>bad gateway</html>");
	expect_error(200, "not json", "unexpected answer from "
		     "https://api.example.com/graphql: not JSON");
	expect_error(200, "{\"nodata\":1}", "unexpected answer from "
		     "https://api.example.com/graphql: no \"data\" object");
	expect_error(401, "{\"errors\":[{\"message\":\"user is not logged in\"}]}",
		     "wandb rejected the API key (HTTP 401 from https://api.example.com: user "
		     "is not logged in); set WANDB_API_KEY, or put 'machine api.example.com "
		     "login user password KEY' in ~/.netrc (mode 600); keys are at "
		     "https://wandb.ai/authorize");
	expect_error(403, "{\"errors\":[{\"message\":\"permission denied\"}]}",
		     "wandb denied access (HTTP 403): permission denied; check that the entity "
		     "and project exist and that this API key may write to them");
	/* a server echoing the key back does not get it printed */
	expect_error(400, "{\"errors\":[{\"message\":\"key " KEY " is malformed\"}]}",
		     "wandb: key *** is malformed (HTTP 400)");
}

static void test_unreachable(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_buf out;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup(&h, &f, 0, NULL);
	f.fail = 1;
	sw_buf_init(&out, 1 << 20);
	assert_int_equal(sw_gql_request(&h, "query Q { x }", NULL, &out, &err), -1);
	assert_string_equal(err.msg, "unable to reach wandb at https://api.example.com: POST "
			    "https://api.example.com/graphql failed: Connection refused");
	assert_int_equal(h.last_status, 0);
	sw_buf_release(&out);
	teardown(&h, &f);
}

/* ==== Operations ==== */

static void test_viewer(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	char *entity;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"viewer\":{\"id\":\"VXNlcjox\",\"entity\":\"alice\","
	      "\"username\":\"alice\",\"email\":\"a@x\",\"flags\":null,\"teams\":{\"edges\":[]}}}}");
	assert_int_equal(sw_wandb_viewer(&h, &entity, &err), 0);
	assert_string_equal(entity, "alice");
	assert_sent(&f, "query Viewer { viewer { id entity username email flags teams { edges "
		    "{ node { name } } } } }", "{}");
	free(entity);
	f.body = "{\"data\":{\"viewer\":null}}";
	assert_int_equal(sw_wandb_viewer(&h, &entity, &err), -1);
	assert_null(entity);
	assert_non_null(strstr(err.msg, "viewer is null"));
	teardown(&h, &f);
}

static void test_upsert_sweep(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	struct sw_wandb_sweep out;
	struct sw_wandb_sweep_args a = {
		.config_yaml = "method: random\nparameters:\n  lr:\n    max: 0.1\n    min: 0.001\n",
		.entity = "alice",
		.project = "proj",
	};

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"upsertSweep\":{\"sweep\":{\"name\":\"ab12cd34\","
	      "\"project\":{\"id\":\"UHJvamVjdDox\",\"name\":\"proj\",\"entity\":{\"id\":"
	      "\"RW50aXR5OjE=\",\"name\":\"alice\"}}},\"configValidationWarnings\":"
	      "[\"lr: bad\",\"x\"]}}}");
	assert_int_equal(sw_wandb_upsert_sweep(&h, &a, &out, &err), 0);
	assert_sent(&f, SW_GQL_UPSERT_SWEEP,
		    "{\"id\":null,\"config\":\"method: random\\nparameters:\\n  lr:\\n    max: "
		    "0.1\\n    min: 0.001\\n\",\"description\":null,\"entityName\":\"alice\","
		    "\"projectName\":\"proj\",\"controller\":null,\"scheduler\":null,"
		    "\"priorRunsFilters\":null,\"displayName\":null}");
	assert_non_null(strstr(SW_GQL_UPSERT_SWEEP, "configValidationWarnings"));
	assert_string_equal(out.name, "ab12cd34");
	assert_string_equal(out.entity, "alice");
	assert_string_equal(out.project, "proj");
	assert_int_equal(out.n_warnings, 2);
	assert_string_equal(out.warnings[0], "lr: bad");
	sw_wandb_sweep_release(&out);

	/* an update with a controller and a state */
	a.id = "U3dlZXA6MQ==";
	a.controller = "{\"schedule\":[]}";
	a.state = "PAUSED";
	a.entity = NULL;
	assert_int_equal(sw_wandb_upsert_sweep(&h, &a, &out, &err), 0);
	assert_sent(&f, SW_GQL_UPSERT_SWEEP,
		    "{\"id\":\"U3dlZXA6MQ==\",\"config\":\"method: random\\nparameters:\\n  "
		    "lr:\\n    max: 0.1\\n    min: 0.001\\n\",\"description\":null,\"entityName\":"
		    "null,\"projectName\":\"proj\",\"controller\":\"{\\\"schedule\\\":[]}\","
		    "\"scheduler\":null,\"priorRunsFilters\":null,\"displayName\":null,"
		    "\"state\":\"PAUSED\"}");
	sw_wandb_sweep_release(&out);

	f.body = "{\"data\":{\"upsertSweep\":null}}";
	assert_int_equal(sw_wandb_upsert_sweep(&h, &a, &out, &err), -1);
	assert_string_equal(err.msg, "unexpected answer from wandb: no upsertSweep.sweep.name");
	assert_null(out.name);
	teardown(&h, &f);
}

static void test_create_agent(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	char *id;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"createAgent\":{\"agent\":{\"id\":\"QWdlbnQ6MTIz\"}}}}");
	assert_int_equal(sw_wandb_create_agent(&h, "node1", "alice", "proj", "ab12cd34", &id,
					       &err), 0);
	assert_string_equal(id, "QWdlbnQ6MTIz");
	assert_sent(&f, SW_GQL_CREATE_AGENT, "{\"host\":\"node1\",\"entityName\":\"alice\","
		    "\"projectName\":\"proj\",\"sweep\":\"ab12cd34\"}");
	free(id);
	f.status = 400;
	f.body = "{\"errors\":[{\"message\":\"Sweep ab12cd34 is not running\"}]}";
	assert_int_equal(sw_wandb_create_agent(&h, "node1", "alice", "proj", "ab12cd34", &id,
					       &err), -1);
	assert_string_equal(err.msg, "wandb: Sweep ab12cd34 is not running (HTTP 400)");
	teardown(&h, &f);
}

static void test_heartbeat(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	json_t *cmds;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"agentHeartbeat\":{\"agent\":{\"id\":\"A1\"},"
	      "\"commands\":\"[{\\\"type\\\": \\\"run\\\", \\\"run_id\\\": \\\"k3j2h1g0\\\", "
	      "\\\"program\\\": \\\"train.py\\\", \\\"args\\\": {\\\"lr\\\": {\\\"value\\\": "
	      "0.0123}}}]\"}}}");
	assert_int_equal(sw_wandb_agent_heartbeat(&h, "A1", "{\"k3j2h1g0\": true}", &cmds,
						  &err), 0);
	assert_sent(&f, SW_GQL_HEARTBEAT, "{\"id\":\"A1\",\"metrics\":\"{}\",\"runState\":"
		    "\"{\\\"k3j2h1g0\\\": true}\"}");
	assert_int_equal(json_array_size(cmds), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cmds, 0), "type")),
			    "run");
	assert_true(json_real_value(json_object_get(json_object_get(json_object_get(
		json_array_get(cmds, 0), "args"), "lr"), "value")) == 0.0123);
	json_decref(cmds);

	f.body = "{\"data\":{\"agentHeartbeat\":{\"agent\":{\"id\":\"A1\"},\"commands\":\"[]\"}}}";
	assert_int_equal(sw_wandb_agent_heartbeat(&h, "A1", NULL, &cmds, &err), 0);
	assert_sent(&f, SW_GQL_HEARTBEAT, "{\"id\":\"A1\",\"metrics\":\"{}\",\"runState\":\"{}\"}");
	assert_int_equal(json_array_size(cmds), 0);
	json_decref(cmds);

	f.body = "{\"data\":{\"agentHeartbeat\":{\"commands\":\"{\\\"x\\\":1}\"}}}";
	assert_int_equal(sw_wandb_agent_heartbeat(&h, "A1", NULL, &cmds, &err), -1);
	assert_string_equal(err.msg, "unexpected answer from wandb: agentHeartbeat.commands is "
			    "not a JSON list");

	f.status = 404;
	f.body = "{\"errors\":[{\"message\":\"sweep gone\"}]}";
	assert_int_equal(sw_wandb_agent_heartbeat(&h, "A1", NULL, &cmds, &err), -1);
	assert_int_equal(h.last_status, 404);
	assert_string_equal(err.msg, "sweep not found (it may have been deleted): wandb: sweep "
			    "gone (HTTP 404)");
	teardown(&h, &f);
}

static void test_upsert_bucket(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	struct sw_wandb_run run;
	struct sw_wandb_run_args a = {
		.name = "k3j2h1g0", .entity = "alice", .project = "proj", .sweep = "ab12cd34",
		.config = "{\"lr\": {\"value\": 0.0123}}", .host = "node1", .program = "sweep",
	};

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"upsertBucket\":{\"bucket\":{\"id\":\"UnVuOnYxOms=\","
	      "\"name\":\"k3j2h1g0\",\"displayName\":\"lovely-dawn-33\",\"description\":null,"
	      "\"config\":\"{}\",\"sweepName\":\"ab12cd34\",\"project\":{\"id\":\"P\",\"name\":"
	      "\"proj2\",\"entity\":{\"id\":\"E\",\"name\":\"bob\"}},\"historyLineCount\":5},"
	      "\"inserted\":true}}}");
	assert_int_equal(sw_wandb_upsert_bucket(&h, &a, &run, &err), 0);
	assert_sent(&f, SW_GQL_UPSERT_BUCKET, "{\"name\":\"k3j2h1g0\",\"project\":\"proj\","
		    "\"entity\":\"alice\",\"sweep\":\"ab12cd34\",\"config\":\"{\\\"lr\\\": "
		    "{\\\"value\\\": 0.0123}}\",\"host\":\"node1\",\"program\":\"sweep\"}");
	assert_string_equal(run.id, "UnVuOnYxOms=");
	assert_string_equal(run.name, "k3j2h1g0");
	assert_string_equal(run.display_name, "lovely-dawn-33");
	assert_string_equal(run.sweep_name, "ab12cd34");
	assert_string_equal(run.entity, "bob");
	assert_string_equal(run.project, "proj2");
	assert_int_equal(run.history_line_count, 5);
	assert_true(run.inserted);
	sw_wandb_run_release(&run);
	sw_wandb_run_release(&run); /* twice is harmless */
	teardown(&h, &f);
}

static void test_alert(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"notifyScriptableRunAlert\":{\"success\":true}}}");
	assert_int_equal(sw_wandb_alert(&h, "alice", "proj", "k3j2h1g0", "Low acc", "acc=0.1",
					"WARN", 60000, &err), 0);
	assert_sent(&f, SW_GQL_ALERT, "{\"entityName\":\"alice\",\"projectName\":\"proj\","
		    "\"runName\":\"k3j2h1g0\",\"title\":\"Low acc\",\"text\":\"acc=0.1\","
		    "\"severity\":\"WARN\",\"waitDuration\":60000}");
	assert_int_equal(sw_wandb_alert(&h, "alice", "proj", "r", "t", "x", "INFO", -1, &err), 0);
	assert_sent(&f, SW_GQL_ALERT, "{\"entityName\":\"alice\",\"projectName\":\"proj\","
		    "\"runName\":\"r\",\"title\":\"t\",\"text\":\"x\",\"severity\":\"INFO\"}");
	assert_int_equal(sw_wandb_alert(&h, "alice", "proj", "r", "t", "x", "LOUD", -1, &err), -1);
	assert_string_equal(err.msg, "alert severity 'LOUD' is not INFO, WARN or ERROR");
	assert_int_equal(f.calls, 2);
	f.body = "{\"data\":{\"notifyScriptableRunAlert\":{\"success\":false}}}";
	assert_int_equal(sw_wandb_alert(&h, "alice", "proj", "r", "t", "x", "ERROR", 0, &err), -1);
	assert_string_equal(err.msg, "wandb did not accept the alert 't' (success is not true)");
	teardown(&h, &f);
}

static void test_sweep_with_runs(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	json_t *sweep;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"project\":{\"sweep\":{\"id\":\"S1\",\"name\":\"ab12cd34\","
	      "\"state\":\"RUNNING\",\"config\":\"method: grid\\n\",\"runs\":{\"edges\":[]}}}}}");
	assert_int_equal(sw_wandb_sweep_with_runs(&h, "alice", "proj", "ab12cd34", NULL, &sweep,
						  &err), 0);
	assert_sent(&f, SW_GQL_SWEEP_WITH_RUNS, "{\"entity\":\"alice\",\"project\":\"proj\","
		    "\"sweep\":\"ab12cd34\",\"specs\":\"{}\"}");
	assert_string_equal(json_string_value(json_object_get(sweep, "state")), "RUNNING");
	assert_null(json_object_get(sweep, "project"));    /* the answer did not say */
	json_decref(sweep);
	/* the project the server found it in comes with the sweep */
	f.body = "{\"data\":{\"project\":{\"name\":\"proj\",\"entity\":{\"name\":\"alice\"},"
		 "\"sweep\":{\"id\":\"S1\",\"name\":\"ab12cd34\",\"state\":\"running\"}}}}";
	assert_int_equal(sw_wandb_sweep_with_runs(&h, NULL, NULL, "ab12cd34", NULL, &sweep,
						  &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(sweep, "project"),
							       "name")), "proj");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		sweep, "project"), "entity"), "name")), "alice");
	json_decref(sweep);
	f.body = "{\"data\":{\"project\":null}}";
	assert_int_equal(sw_wandb_sweep_with_runs(&h, "alice", "proj", "zz", "{\"keys\":[\"_step\"]}",
						  &sweep, &err), -1);
	assert_string_equal(err.msg, "sweep alice/proj/zz not found");
	assert_sent(&f, SW_GQL_SWEEP_WITH_RUNS, "{\"entity\":\"alice\",\"project\":\"proj\","
		    "\"sweep\":\"zz\",\"specs\":\"{\\\"keys\\\":[\\\"_step\\\"]}\"}");
	teardown(&h, &f);
}

/* The live runs of a fake agent: r1 ends after the first try. */
static char *live_runs(void *ctx)
{
	int *calls = ctx;

	return strdup(++*calls == 1 ? "{\"r1\":true}" : "{}");
}

/* A heartbeat retried after a fault sends the runState of the retry, not
 * the first try's (which wandb would take as r1 still running). */
static void test_heartbeat_retry_sends_current_state(void **state)
{
	struct sw_http h;
	struct fake f;
	struct sw_err err = SW_ERR_INIT;
	json_t *cmds = NULL;
	int calls = 0;

	(void)state;
	setup(&h, &f, 200, "{\"data\":{\"agentHeartbeat\":{\"agent\":{\"id\":\"A1\"},"
	      "\"commands\":\"[]\"}}}");
	h.max_tries = 3;
	h.backoff_min_s = 0;
	h.backoff_max_s = 0;
	f.fail_calls = 1;
	assert_int_equal(sw_wandb_agent_heartbeat_live(&h, "A1", live_runs, &calls, &cmds,
						       &err), 0);
	assert_int_equal(f.calls, 2);
	assert_int_equal(calls, 2);
	assert_non_null(strstr(f.first_sent, "\"runState\":\"{\\\"r1\\\":true}\""));
	assert_sent(&f, SW_GQL_HEARTBEAT, "{\"id\":\"A1\",\"metrics\":\"{}\",\"runState\":\"{}\"}");
	assert_null(h.retry_body);      /* the hook is only for this call */
	json_decref(cmds);
	teardown(&h, &f);
}

static void test_value_wrapping(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *flat = json_loads("{\"lr\": 0.5, \"layers\": [1, 2], \"opt\": \"adam\"}", 0, NULL);
	json_t *wrapped = sw_wandb_wrap_config(flat), *back, *bad;
	char *text = json_dumps(wrapped, JSON_COMPACT);

	(void)state;
	assert_string_equal(text, "{\"lr\":{\"value\":0.5},\"layers\":{\"value\":[1,2]},"
			    "\"opt\":{\"value\":\"adam\"}}");
	back = sw_wandb_unwrap_config(wrapped, &err);
	assert_true(json_equal(back, flat));
	bad = json_loads("{\"lr\": {\"desc\": null}}", 0, NULL);
	assert_null(sw_wandb_unwrap_config(bad, &err));
	assert_string_equal(err.msg, "run argument 'lr' has no \"value\" (expected "
			    "{\"lr\": {\"value\": ...}})");
	json_decref(bad);
	bad = json_loads("{\"lr\": {\"desc\": null, \"value\": 1}}", 0, NULL);
	json_decref(back);
	back = sw_wandb_unwrap_config(bad, &err);
	assert_int_equal(json_integer_value(json_object_get(back, "lr")), 1);
	assert_null(sw_wandb_wrap_config(NULL));
	free(text);
	json_decref(bad);
	json_decref(back);
	json_decref(flat);
	json_decref(wrapped);
}

/* ==== The operations against the fake server: one agent cycle ==== */

static void test_agent_cycle_against_fake_server(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_http h;
	struct sw_err err = SW_ERR_INIT;
	struct sw_wandb_sweep sweep;
	struct sw_wandb_sweep_args sa = { .config_yaml = "method: random\nparameters:\n  lr:\n"
					  "    values: [0.1, 0.2]\n", .project = "proj" };
	struct sw_wandb_run run;
	struct sw_wandb_run_args ra = { .project = "proj", .entity = "alice" };
	struct sw_filestream fs;
	char *agent = NULL, *entity = NULL, control[256], state_json[64];
	json_t *cmds, *cmd, *args, *flat, *wrapped, *s, *rec;
	char *run_id, *config;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	sw_http_init(&h);
	h.max_tries = 1;
	assert_int_equal(sw_http_set_server(&h, fw.url, SW_FAKE_WANDB_KEY), 0);

	assert_int_equal(sw_wandb_viewer(&h, &entity, &err), 0);
	assert_string_equal(entity, "alice");
	assert_int_equal(sw_wandb_upsert_sweep(&h, &sa, &sweep, &err), 0);
	assert_string_equal(sweep.entity, "alice");
	snprintf(control, sizeof(control), "{\"commands\": {\"%s\": [{\"type\": \"run\", "
		 "\"args\": {\"lr\": {\"value\": 0.1}}}, {\"type\": \"exit\"}]}}", sweep.name);
	assert_int_equal(sw_fake_wandb_control(&fw, control), 0);

	assert_int_equal(sw_wandb_create_agent(&h, "node1", "alice", "proj", sweep.name, &agent,
					       &err), 0);
	assert_int_equal(sw_wandb_agent_heartbeat(&h, agent, NULL, &cmds, &err), 0);
	cmd = json_array_get(cmds, 0);
	assert_string_equal(json_string_value(json_object_get(cmd, "type")), "run");
	assert_non_null(json_string_value(json_object_get(cmd, "run_id")));
	run_id = strdup(json_string_value(json_object_get(cmd, "run_id")));
	args = json_object_get(cmd, "args");
	flat = sw_wandb_unwrap_config(args, &err);
	assert_true(json_real_value(json_object_get(flat, "lr")) == 0.1);

	/* the run joins the sweep with the issued id and a value-wrapped config */
	wrapped = sw_wandb_wrap_config(flat);
	config = json_dumps(wrapped, JSON_COMPACT);
	ra.name = run_id;
	ra.sweep = sweep.name;
	ra.config = config;
	assert_int_equal(sw_wandb_upsert_bucket(&h, &ra, &run, &err), 0);
	assert_true(run.inserted);
	assert_int_equal(run.history_line_count, 0);
	assert_int_equal(sw_filestream_init(&fs, &h, run.entity, run.project, run.name,
					    run.history_line_count, &err), 0);
	assert_int_equal(sw_filestream_log(&fs, "{\"_step\":0,\"_runtime\":1.0,\"_timestamp\":"
					   "1724300000.0,\"val_loss\":0.5}", &err), 0);
	assert_int_equal(sw_filestream_set_summary(&fs, "{\"_step\":0,\"val_loss\":0.5}", &err), 0);
	assert_int_equal(sw_wandb_alert(&h, run.entity, run.project, run.name, "low", "val_loss=0.5",
					"WARN", 60000, &err), 0);
	snprintf(state_json, sizeof(state_json), "{\"%s\": true}", run_id);
	assert_int_equal(sw_filestream_finish(&fs, 0, &err), 0);
	json_decref(cmds);
	assert_int_equal(sw_wandb_agent_heartbeat(&h, agent, state_json, &cmds, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cmds, 0), "type")),
			    "exit");
	json_decref(cmds);

	/* the local controller's view */
	assert_int_equal(sw_wandb_sweep_with_runs(&h, "alice", "proj", sweep.name, NULL, &s,
						  &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(json_object_get(s, "runs"), "edges"), 0), "node"), "state")),
		"finished");
	json_decref(s);

	/* what the fake recorded */
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	assert_int_equal(json_array_size(json_object_get(rec, "alerts")), 1);
	assert_true(json_equal(json_object_get(json_object_get(json_object_get(rec, "runs"), run_id),
					       "config"), wrapped));
	{
		json_t *hb = json_object_get(json_object_get(json_object_get(rec, "agents"), agent),
					     "heartbeats");

		assert_int_equal(json_array_size(hb), 2);
		assert_int_equal(json_object_size(json_array_get(hb, 0)), 0);
		assert_true(json_is_true(json_object_get(json_array_get(hb, 1), run_id)));
	}
	json_decref(rec);
	free(agent);
	agent = NULL;
	sw_wandb_run_release(&run);

	/* errors the agent must handle */
	assert_int_equal(sw_wandb_agent_heartbeat(&h, "nosuchagent", NULL, &cmds, &err), -1);
	assert_int_equal(h.last_status, 404);
	assert_non_null(strstr(err.msg, "sweep not found (it may have been deleted)"));
	assert_int_equal(sw_wandb_create_agent(&h, "node1", "alice", "proj", "zzzzzzzz", &agent,
					       &err), -1);
	assert_string_equal(err.msg, "wandb: Sweep alice/proj/zzzzzzzz not found (HTTP 404 in "
			    "createAgent)");
	assert_int_equal(sw_fake_wandb_control(&fw, "{\"sweeps\": {\"donedone\": {\"entity\": "
					       "\"alice\", \"project\": \"proj\", \"state\": "
					       "\"FINISHED\"}}}"), 0);
	assert_int_equal(sw_wandb_create_agent(&h, "node1", "alice", "proj", "donedone", &agent,
					       &err), -1);
	assert_string_equal(err.msg, "wandb: Sweep donedone is not running (HTTP 400 in "
			    "createAgent)");
	ra.name = "madeup01";
	assert_int_equal(sw_wandb_upsert_bucket(&h, &ra, &run, &err), -1);
	assert_non_null(strstr(err.msg, "was not issued for sweep"));
	ra.name = run_id;
	ra.config = "{\"lr\": 0.1}";
	assert_int_equal(sw_wandb_upsert_bucket(&h, &ra, &run, &err), -1);
	assert_non_null(strstr(err.msg, "is not value-wrapped"));

	free(config);
	free(run_id);
	json_decref(wrapped);
	json_decref(flat);
	sw_filestream_release(&fs);
	sw_wandb_run_release(&run);
	sw_wandb_sweep_release(&sweep);
	free(agent);
	free(entity);
	sw_http_release(&h);
	sw_fake_wandb_stop(&fw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_body_and_auth),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_viewer),
		cmocka_unit_test(test_upsert_sweep),
		cmocka_unit_test(test_create_agent),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_upsert_bucket),
		cmocka_unit_test(test_alert),
		cmocka_unit_test(test_sweep_with_runs),
		cmocka_unit_test(test_heartbeat_retry_sends_current_state),
		cmocka_unit_test(test_value_wrapping),
		cmocka_unit_test(test_agent_cycle_against_fake_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
