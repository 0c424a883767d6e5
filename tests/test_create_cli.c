/* test_create_cli.c - end-to-end `sweep create` against the fake wandb
 * server (tests/fake_wandb.py): the round trip and what wandb receives,
 * entity/project precedence, server warnings, wrong key, retried server
 * errors, settings errors, the plain-http warning rule, and the API key
 * never printed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/fake_wandb.h"
#include "support/support.h"

static const char sweep_yaml[] =
	"program: train.py\n"
	"method: bayes\n"
	"metric:\n  name: val_loss\n  goal: minimize\n"
	"parameters:\n"
	"  lr:\n    min: 1e-5\n    max: 0.1\n"
	"  layers:\n    min: 1\n    max: 4\n"
	"  act:\n    values: [relu, \"yes\", \"017\"]\n"
	"alerts:\n  - name: slow\n    when: \"val_loss > 2\"\n";

struct env {
	struct sw_fake_env w;
	char yaml[512];
};

/* Every variable the command reads is set (empty = unset) so the caller's
 * own environment cannot leak into the test. */
static void env_init(struct env *e, const char *base_url, const char *key)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(sw_fake_env_init(&e->w, base_url, key, 6), 0);
	snprintf(e->yaml, sizeof(e->yaml), "%s/sweep.yaml", e->w.tmp);
	assert_int_equal(sw_test_write_file(e->yaml, sweep_yaml, strlen(sweep_yaml)), 0);
}

/* Frees the environment and stops the fake wandb server. */
static void stop_fake(struct sw_fake_wandb *fw, struct env *e)
{
	sw_fake_env_free(&e->w);
	sw_fake_wandb_stop(fw);
}

/* Runs `sweep create ARGS...` (NULL-terminated) with the env. */
static void run_create(struct sw_test_proc *p, struct env *e, ...)
{
	const char *argv[16];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = sw_test_bin();
	argv[n++] = "create";
	va_start(ap, e);
	while ((a = va_arg(ap, const char *)) && n < 15)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(sw_test_run(p, argv, NULL, (const char *const *)e->w.vars, 60), 0);
	/* whatever happened, the key is never shown */
	assert_null(strstr(p->out, SW_FAKE_WANDB_KEY));
	assert_null(strstr(p->err, SW_FAKE_WANDB_KEY));
	assert_null(strstr(p->out, "ZmFrZWtleS0"));  /* base64("fakekey-") prefix */
	assert_null(strstr(p->err, "YXBpOmZha2Vr")); /* base64("api:fakek") */
}

static json_t *only_sweep(json_t *rec)
{
	json_t *sweeps = json_object_get(rec, "sweeps");
	const char *k;
	json_t *v, *found = NULL;

	assert_int_equal(json_object_size(sweeps), 1);
	json_object_foreach(sweeps, k, v)
		found = v;
	return found;
}

static void test_round_trip(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *s, *parsed, *lr, *layers, *act, *req;
	char want[256];
	size_t i;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_create(&p, &e, e.yaml, "--project", "proj", NULL);
	assert_int_equal(p.status, 0);
	rec = sw_fake_wandb_record(&fw);
	s = only_sweep(rec);
	snprintf(want, sizeof(want), "%s\n%s/alice/proj/sweeps/%s\n",
		 json_string_value(json_object_get(s, "name")), fw.url,
		 json_string_value(json_object_get(s, "name")));
	assert_string_equal(p.out, want);
	assert_non_null(strstr(p.err, "sweep agent alice/proj/"));
	assert_null(strstr(p.err, "plain http"));  /* loopback: no warning */
	assert_null(strstr(p.err, "warning"));
	assert_string_equal(json_string_value(json_object_get(s, "entity")), "alice");
	assert_string_equal(json_string_value(json_object_get(s, "project")), "proj");

	/* what wandb's YAML 1.1 loader read */
	parsed = json_object_get(s, "config_parsed");
	lr = json_object_get(json_object_get(parsed, "parameters"), "lr");
	assert_true(json_is_real(json_object_get(lr, "min")));
	assert_true(json_real_value(json_object_get(lr, "min")) == 1e-5);
	assert_string_equal(json_string_value(json_object_get(lr, "distribution")), "uniform");
	layers = json_object_get(json_object_get(parsed, "parameters"), "layers");
	assert_true(json_is_integer(json_object_get(layers, "min")));
	assert_string_equal(json_string_value(json_object_get(layers, "distribution")),
			    "int_uniform");
	act = json_object_get(json_object_get(json_object_get(parsed, "parameters"), "act"),
			      "values");
	assert_string_equal(json_string_value(json_array_get(act, 1)), "yes");
	assert_string_equal(json_string_value(json_array_get(act, 2)), "017");
	assert_null(json_object_get(parsed, "alerts"));
	assert_string_equal(json_string_value(json_object_get(parsed, "program")), "train.py");
	assert_non_null(strstr(json_string_value(json_object_get(s, "config")), "min: 1.0e-05"));
	assert_int_equal(json_array_size(json_object_get(s, "warnings")), 0);

	/* the entity came from the viewer; every request authenticated */
	assert_int_equal(sw_fake_wandb_requests(rec, "Viewer"), 1);
	assert_int_equal(sw_fake_wandb_requests(rec, "UpsertSweep"), 1);
	json_array_foreach(json_object_get(rec, "requests"), i, req)
		assert_true(json_is_true(json_object_get(req, "auth")));
	req = json_array_get(json_object_get(rec, "requests"), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(req, "variables"),
							       "entityName")), "alice");
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

/* method: custom (an external scheduler searches; here with metrics) is
 * what wandb accepts: create registers it, saying sweep's own search
 * cannot run it. */
static void test_custom_method_registered(void **state)
{
	static const char custom[] =
		"program: train.py\nmethod: custom\n"
		"metrics:\n  - {name: loss, goal: minimize}\n  - {name: acc, goal: maximize}\n"
		"parameters:\n  lr: {min: 0.001, max: 0.1}\n";
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec, *parsed;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	assert_int_equal(sw_test_write_file(e.yaml, custom, strlen(custom)), 0);
	run_create(&p, &e, e.yaml, "--project", "proj", NULL);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.err, "sweep.yaml:2:9: warning: method 'custom' leaves "
			       "the search to an external scheduler"));
	rec = sw_fake_wandb_record(&fw);
	parsed = json_object_get(only_sweep(rec), "config_parsed");
	assert_string_equal(json_string_value(json_object_get(parsed, "method")), "custom");
	assert_int_equal(json_array_size(json_object_get(parsed, "metrics")), 2);
	assert_int_equal(json_array_size(json_object_get(rec, "violations")), 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_entity_precedence_and_warnings(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, "{\"sweep_warnings\": [\"parameter lr: "
					     "check the range\"]}"), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_ENTITY=env-team"), 0);
	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_PROJECT=env-proj"), 0);
	run_create(&p, &e, e.yaml, NULL);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "/env-team/env-proj/sweeps/"));
	assert_non_null(strstr(p.err, "sweep: warning: wandb: parameter lr: check the range\n"));
	sw_test_proc_release(&p);
	run_create(&p, &e, "--entity", "opt-team", e.yaml, "-p", "opt-proj", NULL);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "/opt-team/opt-proj/sweeps/"));
	rec = sw_fake_wandb_record(&fw);
	/* the entity was given: no viewer query */
	assert_int_equal(sw_fake_wandb_requests(rec, "Viewer"), 0);
	assert_int_equal(sw_fake_wandb_requests(rec, "UpsertSweep"), 2);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_wrong_key(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	env_init(&e, fw.url, "not-the-right-key-0000");
	run_create(&p, &e, e.yaml, "-e", "alice", NULL);
	assert_int_equal(p.status, 1);
	assert_string_equal(p.out, "");
	assert_non_null(strstr(p.err, "sweep: error: wandb rejected the API key (HTTP 401"));
	assert_non_null(strstr(p.err, "set WANDB_API_KEY"));
	assert_null(strstr(p.err, "not-the-right-key"));
	assert_int_equal(sw_test_count_lines(p.err, ""), 1);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, NULL), 1); /* 401 is not retried */
	assert_int_equal(json_object_size(json_object_get(rec, "sweeps")), 0);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_server_errors_retried(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	json_t *rec;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": ["
		" {\"op\": \"UpsertSweep\", \"times\": 2, \"status\": 500},"
		" {\"op\": \"UpsertSweep\", \"skip\": 2, \"status\": 429, \"retry_after\": 0},"
		" {\"op\": \"UpsertSweep\", \"skip\": 3, \"action\": \"drop\"},"
		" {\"op\": \"Viewer\", \"status\": 503}]}"), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_create(&p, &e, e.yaml, NULL);
	assert_int_equal(p.status, 0);
	assert_int_equal(sw_test_count_lines(p.err, "retrying in"), 5);
	assert_non_null(strstr(p.err, "sweep: warning: HTTP 500 from "));
	assert_non_null(strstr(p.err, "sweep: warning: HTTP 429 from "));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, "Viewer"), 2);
	assert_int_equal(sw_fake_wandb_requests(rec, "UpsertSweep"), 5);
	(void)only_sweep(rec); /* exactly one sweep created */
	json_decref(rec);
	sw_test_proc_release(&p);

	/* a server that keeps failing: give up with the status, exit 1 */
	assert_int_equal(sw_fake_wandb_control(&fw, "{\"faults\": [{\"op\": \"UpsertSweep\", "
			 "\"times\": -1, \"status\": 502, \"body\": {\"error\": \"bad gateway\"}}]}"), 0);
	assert_int_equal(sw_fake_env_add(&e.w, "SWEEP_HTTP_TRIES=3"), 0);
	run_create(&p, &e, e.yaml, "--entity", "alice", NULL);
	assert_int_equal(p.status, 1);
	assert_string_equal(p.out, "");
	assert_non_null(strstr(p.err, "sweep: error: wandb: bad gateway (HTTP 502)"));
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, "UpsertSweep"), 8);
	json_decref(rec);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_key_echoed_by_server_is_redacted(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw,
		"{\"faults\": [{\"op\": \"UpsertSweep\", \"status\": 400, \"body\": {\"errors\": "
		"[{\"message\": \"key " SW_FAKE_WANDB_KEY " may not create sweeps\"}]}}]}"), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	run_create(&p, &e, e.yaml, "-e", "alice", NULL); /* run_create checks the key */
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "wandb: key *** may not create sweeps (HTTP 400"));
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_invalid_file_sends_nothing(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	char path[600];
	json_t *rec;

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	snprintf(path, sizeof(path), "%s/bad.yaml", e.w.tmp);
	assert_int_equal(sw_test_write_file(path, "method: sideways\nparameters: {}\n", 32), 0);
	run_create(&p, &e, path, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "bad.yaml:1:"));
	assert_non_null(strstr(p.err, "is not a valid sweep ("));
	assert_non_null(strstr(p.err, "nothing was sent to wandb"));
	sw_test_proc_release(&p);
	snprintf(path, sizeof(path), "%s/missing.yaml", e.w.tmp);
	run_create(&p, &e, path, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "missing.yaml"));
	sw_test_proc_release(&p);
	run_create(&p, &e, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "no sweep file given"));
	sw_test_proc_release(&p);
	run_create(&p, &e, e.yaml, "--bogus", NULL);
	assert_int_equal(p.status, 2);
	sw_test_proc_release(&p);
	rec = sw_fake_wandb_record(&fw);
	assert_int_equal(sw_fake_wandb_requests(rec, NULL), 0);
	json_decref(rec);
	stop_fake(&fw, &e);
}

static void test_key_from_netrc_and_settings_errors(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	char path[600], text[256];

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	env_init(&e, fw.url, NULL);
	/* no key anywhere */
	run_create(&p, &e, e.yaml, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "sweep: error: no wandb API key: set WANDB_API_KEY, or add "
			       "'machine 127.0.0.1:"));
	sw_test_proc_release(&p);

	/* netrc for machine 127.0.0.1:PORT */
	snprintf(path, sizeof(path), "%s/.netrc", e.w.tmp);
	snprintf(text, sizeof(text), "machine 127.0.0.1:%d login user password %s\n", fw.port,
		 SW_FAKE_WANDB_KEY);
	assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
	assert_int_equal(chmod(path, 0644), 0);
	run_create(&p, &e, e.yaml, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "refusing to read the API key from"));
	assert_non_null(strstr(p.err, "chmod 600"));
	sw_test_proc_release(&p);
	assert_int_equal(chmod(path, 0600), 0);
	run_create(&p, &e, e.yaml, "-p", "proj", NULL);
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "/alice/proj/sweeps/"));
	sw_test_proc_release(&p);

	assert_int_equal(sw_fake_env_add(&e.w, "WANDB_MODE=offline"), 0);
	run_create(&p, &e, e.yaml, NULL);
	assert_int_equal(p.status, 2);
	assert_non_null(strstr(p.err, "WANDB_MODE is offline"));
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_plain_http_warning(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	char url[128];

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	/* 0.0.0.0 reaches the loopback server but is not a loopback name */
	snprintf(url, sizeof(url), "http://0.0.0.0:%d", fw.port);
	env_init(&e, url, SW_FAKE_WANDB_KEY);
	run_create(&p, &e, e.yaml, "-e", "alice", "-p", "proj", NULL);
	assert_non_null(strstr(p.err, "sweep: warning: WANDB_BASE_URL 'http://0.0.0.0:"));
	assert_non_null(strstr(p.err, "is plain http to a host that is not loopback"));
	assert_int_equal(p.status, 0);
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);

	snprintf(url, sizeof(url), "http://localhost:%d/", fw.port);
	env_init(&e, url, SW_FAKE_WANDB_KEY);
	run_create(&p, &e, e.yaml, "-e", "alice", "-p", "proj", NULL);
	assert_null(strstr(p.err, "plain http"));
	assert_int_equal(p.status, 0);
	sw_test_proc_release(&p);
	stop_fake(&fw, &e);
}

static void test_unreachable_server(void **state)
{
	struct sw_fake_wandb fw;
	struct sw_test_proc p;
	struct env e;
	char url[64];

	(void)state;
	/* a port nobody listens on any more */
	assert_int_equal(sw_fake_wandb_start(&fw, NULL), 0);
	snprintf(url, sizeof(url), "%s", fw.url);
	sw_fake_wandb_stop(&fw);
	env_init(&e, url, SW_FAKE_WANDB_KEY);
	assert_int_equal(sw_fake_env_add(&e.w, "SWEEP_HTTP_TRIES=2"), 0);
	run_create(&p, &e, e.yaml, "-e", "alice", NULL);
	assert_int_equal(p.status, 1);
	assert_non_null(strstr(p.err, "sweep: error: unable to reach wandb at http://127.0.0.1:"));
	assert_non_null(strstr(p.err, "(after 2 tries)"));
	sw_test_proc_release(&p);
	sw_fake_env_free(&e.w);
}

/* Ctrl-C while the server is slow: the request is abandoned at once and the
 * command exits 130. */
static void test_interrupt_while_waiting(void **state)
{
	struct sw_fake_wandb fw;
	struct env e;
	int err_fd, status;
	pid_t pid;
	char buf[4096];

	(void)state;
	assert_int_equal(sw_fake_wandb_start(&fw, "{\"faults\": [{\"op\": \"UpsertSweep\", "
					     "\"action\": \"slow\", \"delay\": 20}]}"), 0);
	env_init(&e, fw.url, SW_FAKE_WANDB_KEY);
	{
		const char *const args[] = { "create", e.yaml, "-e", "alice", NULL };

		pid = sw_test_spawn(args, e.w.vars, e.w.n, &err_fd);
	}
	usleep(700 * 1000);  /* the request is under way (or backing off) */
	/* up to 10 s; normally at once */
	assert_true(sw_test_interrupt(pid, err_fd, buf, sizeof(buf), 100, &status) > 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 130);
	assert_non_null(strstr(buf, "sweep: error: interrupted"));
	stop_fake(&fw, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_custom_method_registered),
		cmocka_unit_test(test_entity_precedence_and_warnings),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_server_errors_retried),
		cmocka_unit_test(test_key_echoed_by_server_is_redacted),
		cmocka_unit_test(test_invalid_file_sends_nothing),
		cmocka_unit_test(test_key_from_netrc_and_settings_errors),
		cmocka_unit_test(test_plain_http_warning),
		cmocka_unit_test(test_unreachable_server),
		cmocka_unit_test(test_interrupt_while_waiting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
