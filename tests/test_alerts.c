/* test_alerts.c - alert rules (comparisons, after_epoch, nan, new_best,
 * run_failed, stop_run), their console lines and alerts.jsonl records, and
 * the webhook sender against a loopback server that answers, fails or
 * hangs. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/hook_server.h"
#include "support/support.h"
#include "sweep/run/alerts.h"

/* ==== Console capture ==== */

struct console {
	pthread_mutex_t lock;
	char text[16384];
	size_t len;
};

static void capture(void *ctx, const char *line)
{
	struct console *c = ctx;

	pthread_mutex_lock(&c->lock);
	c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s\n", line);
	if (c->len >= sizeof(c->text))
		c->len = sizeof(c->text) - 1;
	pthread_mutex_unlock(&c->lock);
}

static void console_init(struct console *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

static struct sw_alert_rule compare_rule(const char *name, const char *metric,
					 const char *op, double t, int64_t after,
					 enum sw_alert_level level, int stop)
{
	struct sw_alert_rule r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.when = (char *)"(rule)";
	r.kind = SW_ALERT_WHEN_COMPARE;
	r.metric = (char *)metric;
	snprintf(r.op, sizeof(r.op), "%s", op);
	r.threshold = t;
	r.after_epoch = after;
	r.level = level;
	r.stop_run = stop;
	return r;
}

static struct sw_alert_rule kind_rule(const char *name, int kind, enum sw_alert_level level)
{
	struct sw_alert_rule r;

	memset(&r, 0, sizeof(r));
	r.name = (char *)name;
	r.kind = kind;
	r.when = (char *)(kind == SW_ALERT_WHEN_NAN ? "nan" :
			  kind == SW_ALERT_WHEN_NEW_BEST ? "new_best" : "run_failed");
	r.level = level;
	return r;
}

static void make_store(struct sw_store *st, const char *tmp)
{
	struct sw_spec spec;
	struct sw_err err = SW_ERR_INIT;

	memset(&spec, 0, sizeof(spec));
	spec.path = (char *)"a.yaml";
	spec.text = (char *)"method: random\n";
	spec.metric.present = 1;
	spec.metric.name = (char *)"val_accuracy";
	spec.metric.goal = SW_GOAL_MAXIMIZE;
	assert_int_equal(sw_store_create(st, tmp, &spec, NULL, time(NULL), &err), 0);
}

/* ==== Rules ==== */

static void test_compare_after_epoch_once_and_stop(void **state)
{
	struct sw_alert_rule rules[2];
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct sw_alert_run r1, r2;
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct console con;
	char *tmp = sw_test_tmpdir();
	json_t *alerts, *a;
	struct sw_kv e1[] = { { "val_accuracy", 0.1 }, { "train_loss", 3 } };
	struct sw_kv e3[] = { { "val_accuracy", 0.2 }, { "train_loss", 1 } };
	struct sw_kv e4[] = { { "train_loss", 0.5 } };
	size_t raised;

	(void)state;
	console_init(&con);
	make_store(&st, tmp);
	rules[0] = compare_rule("low-acc", "val_accuracy", "<", 0.3, 2, SW_ALERT_WARN, 1);
	rules[1] = compare_rule("loss-high", "train_loss", ">", 2, 0, SW_ALERT_INFO, 0);
	cfg.console = capture;
	cfg.console_ctx = &con;
	cfg.store = &st;
	cfg.metric = "val_accuracy";
	assert_int_equal(sw_alerts_init(&al, rules, 2, &cfg, &err), 0);
	assert_int_equal(sw_alert_run_init(&r1, &al, "r1"), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r1, 1, e1, 2, 0), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r1, 2, e1, 2, 0), 0);   /* both quiet */
	assert_int_equal(sw_alerts_epoch(&al, &r1, 3, e3, 2, 0), 1);   /* stop_run */
	assert_int_equal(sw_alerts_epoch(&al, &r1, 4, e1, 2, 0), 0);   /* once per run */
	assert_int_equal(sw_alerts_epoch(&al, &r1, 5, e4, 1, 0), 0);
	assert_string_equal(con.text,
		"sweep: alert: [INFO] loss-high: run r1 epoch 1: train_loss = 3 (train_loss > 2)\n"
		"sweep: alert: [WARN] low-acc: run r1 epoch 3: val_accuracy = 0.2 "
		"(val_accuracy < 0.3); stopping the run\n");
	/* another run has its own state; a missing metric never fires; at the
	 * run's last planned epoch stop_run has nothing left to stop */
	assert_int_equal(sw_alert_run_init(&r2, &al, "r2"), 0);
	r2.epochs = 4;
	assert_int_equal(sw_alerts_epoch(&al, &r2, 3, e4, 1, 0), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r2, 4, e1, 2, 0), 0);
	assert_non_null(strstr(con.text, "run r2 epoch 4: val_accuracy = 0.1 "
			       "(val_accuracy < 0.3)\n"));
	sw_alerts_stats(&al, &raised, NULL, NULL, NULL);
	assert_int_equal(raised, 4);
	sw_alert_run_release(&r1);
	sw_alert_run_release(&r2);
	sw_alerts_release(&al);

	assert_int_equal(sw_store_load_alerts(st.dir, &alerts, &err), 0);
	assert_int_equal(json_array_size(alerts), 4);
	a = json_array_get(alerts, 1);
	assert_string_equal(json_string_value(json_object_get(a, "level")), "WARN");
	assert_string_equal(json_string_value(json_object_get(a, "rule")), "low-acc");
	assert_string_equal(json_string_value(json_object_get(a, "run")), "r1");
	assert_int_equal(json_integer_value(json_object_get(a, "epoch")), 3);
	assert_string_equal(json_string_value(json_object_get(a, "metric")), "val_accuracy");
	assert_true(json_real_value(json_object_get(a, "value")) == 0.2);
	assert_true(json_is_true(json_object_get(a, "stop_run")));
	assert_non_null(strstr(json_string_value(json_object_get(a, "text")), "[WARN] low-acc"));
	assert_non_null(json_object_get(a, "time"));
	assert_true(json_is_false(json_object_get(json_array_get(alerts, 3), "stop_run")));
	json_decref(alerts);
	sw_store_release(&st);
	sw_test_rmtree(tmp);
	free(tmp);
}

/* A run resumed from its checkpoint after a kill: a rule that fired before
 * the kill (in alerts.jsonl) does not fire again, neither on the restored
 * epochs nor later; one the kill kept from firing on a restored epoch fires
 * once now; a stop_run rule, whether it fires now or fired before, stops
 * the run again. */
static void test_resume_after_kill(void **state)
{
	struct sw_alert_rule rules[3];
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct sw_alert_run r;
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct console con;
	char *tmp = sw_test_tmpdir();
	json_t *recorded, *rows;
	struct sw_kv e1[] = { { "val_accuracy", 0.5 }, { "train_loss", 3 } };
	struct sw_kv e3[] = { { "val_accuracy", 0.1 }, { "train_loss", 3 } };
	int pass;

	(void)state;
	console_init(&con);
	make_store(&st, tmp);
	rules[0] = compare_rule("loss-high", "train_loss", ">", 2, 0, SW_ALERT_INFO, 0);
	rules[1] = compare_rule("low-acc", "val_accuracy", "<", 0.3, 0, SW_ALERT_WARN, 0);
	rules[2] = kind_rule("diverged", SW_ALERT_WHEN_NAN, SW_ALERT_ERROR);
	rules[2].stop_run = 1;
	cfg.console = capture;
	cfg.console_ctx = &con;
	cfg.store = &st;
	/* before the kill: epoch 1 fires loss-high; the kill comes after epoch
	 * 2's checkpoint but before its rules were checked */
	assert_int_equal(sw_alerts_init(&al, rules, 3, &cfg, &err), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "r1"), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r, 1, e1, 2, 0), 0);
	sw_alert_run_release(&r);
	sw_alerts_release(&al);
	assert_string_equal(con.text, "sweep: alert: [INFO] loss-high: run r1 epoch 1: "
			    "train_loss = 3 (train_loss > 2)\n");

	/* resumed with epochs 1 and 2 restored */
	con.len = 0;
	con.text[0] = '\0';
	assert_int_equal(sw_alerts_init(&al, rules, 3, &cfg, &err), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "r1"), 0);
	assert_int_equal(sw_store_load_alerts(st.dir, &recorded, &err), 0);
	rows = json_loads("[{\"_step\": 0, \"epoch\": 1, \"train_loss\": 3, "
			  "\"val_accuracy\": 0.5}, {\"_step\": 1, \"epoch\": 2, "
			  "\"train_loss\": 2.5, \"val_accuracy\": 0.2}]", 0, NULL);
	assert_non_null(rows);
	assert_int_equal(sw_alerts_resume(&al, &r, recorded, rows), 0);
	assert_string_equal(con.text, "sweep: alert: [WARN] low-acc: run r1 epoch 2: "
			    "val_accuracy = 0.2 (val_accuracy < 0.3)\n");
	/* later epochs: both fired once already */
	assert_int_equal(sw_alerts_epoch(&al, &r, 3, e3, 2, 0), 0);
	assert_null(strstr(con.text, "epoch 3"));
	sw_alert_run_release(&r);
	json_decref(rows);
	json_decref(recorded);

	/* run r2 diverged on its restored epoch 1 unseen: the stop_run rule
	 * fires now and stops it; resumed once more, it stops again without
	 * a second alert */
	rows = json_loads("[{\"epoch\": 1, \"train_loss\": \"NaN\"}]", 0, NULL);
	for (pass = 0; pass < 2; pass++) {
		con.len = 0;
		con.text[0] = '\0';
		assert_int_equal(sw_store_load_alerts(st.dir, &recorded, &err), 0);
		assert_int_equal(sw_alert_run_init(&r, &al, "r2"), 0);
		assert_int_equal(sw_alerts_resume(&al, &r, recorded, rows), 1);
		if (pass == 0)
			assert_non_null(strstr(con.text, "[ERROR] diverged: run r2 epoch 1: "
					       "train_loss is NaN; stopping the run"));
		else
			assert_string_equal(con.text, "");
		sw_alert_run_release(&r);
		json_decref(recorded);
	}
	json_decref(rows);
	sw_alerts_release(&al);
	assert_int_equal(sw_store_load_alerts(st.dir, &recorded, &err), 0);
	assert_int_equal(json_array_size(recorded), 3);
	json_decref(recorded);
	sw_store_release(&st);
	sw_test_rmtree(tmp);
	free(tmp);
}

static void test_compare_operators(void **state)
{
	static const struct {
		const char *op;
		double v, t;
		int fires;
	} cases[] = {
		{ "<", 1, 2, 1 }, { "<", 2, 2, 0 }, { "<=", 2, 2, 1 }, { ">", 3, 2, 1 },
		{ ">", 2, 2, 0 }, { ">=", 2, 2, 1 }, { "==", 2, 2, 1 }, { "==", 1, 2, 0 },
		{ "!=", 1, 2, 1 }, { "!=", 2, 2, 0 }, { "<", NAN, 2, 0 }, { ">=", NAN, 2, 0 },
		{ "!=", NAN, 2, 1 }, { ">", INFINITY, 2, 1 },
	};
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct console con;
	size_t i;

	(void)state;
	console_init(&con);
	cfg.console = capture;
	cfg.console_ctx = &con;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sw_alert_rule rule = compare_rule("r", "m", cases[i].op, cases[i].t, 0,
							 SW_ALERT_INFO, 1);
		struct sw_kv kv = { "m", cases[i].v };
		struct sw_alerts al;
		struct sw_alert_run run;

		assert_int_equal(sw_alerts_init(&al, &rule, 1, &cfg, NULL), 0);
		assert_int_equal(sw_alert_run_init(&run, &al, "x"), 0);
		if (sw_alerts_epoch(&al, &run, 1, &kv, 1, 0) != cases[i].fires)
			fail_msg("%g %s %g should %sfire", cases[i].v, cases[i].op, cases[i].t,
				 cases[i].fires ? "" : "not ");
		sw_alert_run_release(&run);
		sw_alerts_release(&al);
	}
}

static void test_nan_and_new_best(void **state)
{
	struct sw_alert_rule rules[2];
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct sw_alert_run r;
	struct console con;
	struct sw_kv ok[] = { { "val_accuracy", 0.5 }, { "train_loss", 1 } };
	struct sw_kv bad[] = { { "val_accuracy", 0.1 }, { "train_loss", NAN } };
	struct sw_kv inf[] = { { "train_loss", -INFINITY } };

	(void)state;
	console_init(&con);
	rules[0] = kind_rule("diverged", SW_ALERT_WHEN_NAN, SW_ALERT_ERROR);
	rules[0].stop_run = 1;
	rules[1] = kind_rule("best", SW_ALERT_WHEN_NEW_BEST, SW_ALERT_INFO);
	rules[1].after_epoch = 1;
	cfg.console = capture;
	cfg.console_ctx = &con;
	cfg.metric = "val_accuracy";
	assert_int_equal(sw_alerts_init(&al, rules, 2, &cfg, NULL), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "ab"), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r, 1, ok, 2, 1), 0);    /* after_epoch 1 */
	assert_int_equal(sw_alerts_epoch(&al, &r, 2, ok, 2, 1), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r, 3, ok, 2, 0), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r, 4, ok, 2, 1), 0);    /* every new best */
	assert_int_equal(sw_alerts_epoch(&al, &r, 5, bad, 2, 0), 1);
	assert_int_equal(sw_alerts_epoch(&al, &r, 6, bad, 2, 0), 0);   /* once per run */
	sw_alert_run_release(&r);
	assert_int_equal(sw_alert_run_init(&r, &al, "cd"), 0);
	assert_int_equal(sw_alerts_epoch(&al, &r, 1, inf, 1, 0), 1);
	sw_alert_run_release(&r);
	sw_alerts_release(&al);
	assert_string_equal(con.text,
		"sweep: alert: [INFO] best: run ab epoch 2: new best val_accuracy = 0.5\n"
		"sweep: alert: [INFO] best: run ab epoch 4: new best val_accuracy = 0.5\n"
		"sweep: alert: [ERROR] diverged: run ab epoch 5: train_loss is NaN; stopping the run\n"
		"sweep: alert: [ERROR] diverged: run cd epoch 1: train_loss is infinite; "
		"stopping the run\n");
}

static void test_run_failed(void **state)
{
	struct sw_alert_rule warn = kind_rule("crash", SW_ALERT_WHEN_RUN_FAILED, SW_ALERT_WARN);
	struct sw_alert_rule error = kind_rule("crash", SW_ALERT_WHEN_RUN_FAILED, SW_ALERT_ERROR);
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct sw_alert_run r;
	struct console con;

	(void)state;
	cfg.console = capture;
	cfg.console_ctx = &con;

	/* no rule: the built-in ERROR alert */
	console_init(&con);
	assert_int_equal(sw_alerts_init(&al, NULL, 0, &cfg, NULL), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "x1"), 0);
	sw_alerts_run_end(&al, &r, SW_RUN_FINISHED, NULL, 3);
	sw_alerts_run_end(&al, &r, SW_RUN_STOPPED, NULL, 3);
	sw_alerts_run_end(&al, &r, SW_RUN_FAILED, "out of memory", 2);
	sw_alert_run_release(&r);
	sw_alerts_release(&al);
	assert_string_equal(con.text,
		"sweep: alert: [ERROR] run-failed: run x1 failed after 2 epochs: out of memory\n");

	/* a WARN rule fires, and the failure is still raised as an ERROR */
	console_init(&con);
	assert_int_equal(sw_alerts_init(&al, &warn, 1, &cfg, NULL), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "x2"), 0);
	sw_alerts_run_end(&al, &r, SW_RUN_FAILED, NULL, 1);
	sw_alert_run_release(&r);
	sw_alerts_release(&al);
	assert_string_equal(con.text,
		"sweep: alert: [WARN] crash: run x2 failed after 1 epoch: no reason given\n"
		"sweep: alert: [ERROR] run-failed: run x2 failed after 1 epoch: no reason given\n");

	/* an ERROR rule replaces the built-in one */
	console_init(&con);
	assert_int_equal(sw_alerts_init(&al, &error, 1, &cfg, NULL), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "x3"), 0);
	sw_alerts_run_end(&al, &r, SW_RUN_FAILED, "nan loss", 0);
	sw_alert_run_release(&r);
	sw_alerts_release(&al);
	assert_string_equal(con.text,
		"sweep: alert: [ERROR] crash: run x3 failed after 0 epochs: nan loss\n");
}

/* wandb.alert() of a run's script: the level as given (any case; unknown
 * is WARN), the title as the rule, never a stop. */
static void test_script_alerts(void **state)
{
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct sw_alert_run r;
	struct console con;

	(void)state;
	cfg.console = capture;
	cfg.console_ctx = &con;
	console_init(&con);
	assert_int_equal(sw_alerts_init(&al, NULL, 0, &cfg, NULL), 0);
	assert_int_equal(sw_alert_run_init(&r, &al, "w1"), 0);
	sw_alerts_script(&al, &r, 3, "accuracy", "acc 0.9", "info");
	sw_alerts_script(&al, &r, 0, "boom", "before any epoch", "ERROR");
	sw_alerts_script(&al, &r, 4, "", "odd level", "LOUD");
	sw_alert_run_release(&r);
	sw_alerts_release(&al);
	assert_string_equal(con.text,
		"sweep: alert: [INFO] accuracy: run w1 epoch 3: acc 0.9\n"
		"sweep: alert: [ERROR] boom: run w1: before any epoch\n"
		"sweep: alert: [WARN] alert: run w1 epoch 4: odd level\n");
}

static void test_bad_webhook_url(void **state)
{
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	cfg.webhook_url = "ftp://example.com/x";
	assert_int_equal(sw_alerts_init(&al, NULL, 0, &cfg, &err), -1);
	assert_string_equal(err.msg, "alert webhook URL must start with http:// or https://");
	sw_alerts_release(&al);
	cfg.webhook_url = "https://";
	assert_int_equal(sw_alerts_init(&al, NULL, 0, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "alert webhook URL has no host name"));
	sw_alerts_release(&al);
	assert_int_equal(sw_alerts_check_url("--alert-webhook", NULL, &err), 0);
	assert_int_equal(sw_alerts_check_url("--alert-webhook", "", &err), 0);
	assert_int_equal(sw_alerts_check_url("--alert-webhook", "HTTP://h:8/x", &err), 0);
	assert_int_equal(sw_alerts_check_url("--alert-webhook", "h/x", &err), -1);
	assert_string_equal(err.msg, "--alert-webhook must start with http:// or https://");
	/* --alert-webhook wins over SWEEP_ALERT_WEBHOOK; empty means unset */
	setenv("SWEEP_ALERT_WEBHOOK", "http://env.example/hook", 1);
	assert_string_equal(sw_alerts_webhook_url("http://cli.example/x"), "http://cli.example/x");
	assert_string_equal(sw_alerts_webhook_url(NULL), "http://env.example/hook");
	assert_string_equal(sw_alerts_webhook_url(""), "http://env.example/hook");
	setenv("SWEEP_ALERT_WEBHOOK", "", 1);
	assert_null(sw_alerts_webhook_url(NULL));
	unsetenv("SWEEP_ALERT_WEBHOOK");
	assert_null(sw_alerts_webhook_url(NULL));
	cfg.webhook_url = "";   /* empty: no webhook */
	assert_int_equal(sw_alerts_init(&al, NULL, 0, &cfg, &err), 0);
	assert_int_equal(al.thread_ok, 0);
	sw_alerts_release(&al);
}

/* ==== Webhook ==== */

static void raise_n(struct sw_alerts *al, const char *id, int n)
{
	struct sw_alert_run r;
	struct sw_kv kv = { "val_accuracy", 0.25 };
	int i;

	assert_int_equal(sw_alert_run_init(&r, al, id), 0);
	for (i = 0; i < n; i++)
		sw_alerts_epoch(al, &r, i + 1, &kv, 1, 1);
	sw_alert_run_release(&r);
}

/* Alerts to the console capture con and the webhook of the server srv. */
static void webhook_to(struct sw_alerts_config *cfg, struct console *con,
		       struct sw_hook_server *srv)
{
	assert_non_null(srv);
	console_init(con);
	cfg->console = capture;
	cfg->console_ctx = con;
	cfg->webhook_url = sw_hook_server_url(srv);
}

/* Raises one alert of run id by rule, its webhook tried at most max_tries
 * times 10 ms apart, and drains (generously: the test must see every
 * try); *sent and *failed as counted then. */
static void send_one(struct sw_alerts_config *cfg, const struct sw_alert_rule *rule,
		     const char *id, int max_tries, size_t *sent, size_t *failed)
{
	struct sw_alerts al;

	cfg->max_tries = max_tries;
	cfg->backoff_s = 0.01;
	cfg->drain_s = 20;
	assert_int_equal(sw_alerts_init(&al, rule, 1, cfg, NULL), 0);
	raise_n(&al, id, 1);
	sw_alerts_release(&al);
	sw_alerts_stats(&al, NULL, sent, failed, NULL);
}

static void test_webhook_delivers(void **state)
{
	struct sw_hook_server *srv = sw_hook_server_start(SW_HOOK_OK, 0);
	struct sw_alert_rule rule = kind_rule("best", SW_ALERT_WHEN_NEW_BEST, SW_ALERT_INFO);
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct console con;
	struct sw_err err = SW_ERR_INIT;
	size_t sent, failed, dropped;
	char *req;

	(void)state;
	webhook_to(&cfg, &con, srv);
	cfg.sweep_name = "cifar \"lr\"";
	cfg.metric = "val_accuracy";
	assert_int_equal(sw_alerts_init(&al, &rule, 1, &cfg, &err), 0);
	raise_n(&al, "w1", 3);
	sw_alerts_release(&al);   /* drains */
	sw_alerts_stats(&al, NULL, &sent, &failed, &dropped);
	assert_int_equal(sent, 3);
	assert_int_equal(failed, 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(sw_hook_server_count(srv), 3);
	req = sw_hook_server_request(srv, 1);
	assert_string_equal(req, "POST /hook\nContent-Type: application/json\n\n"
			    "{\"text\":\"sweep cifar \\\"lr\\\": [INFO] best: run w1 epoch 2: "
			    "new best val_accuracy = 0.25\"}");
	free(req);
	sw_hook_server_stop(srv);
}

static void test_webhook_retries_then_succeeds(void **state)
{
	struct sw_hook_server *srv = sw_hook_server_start(SW_HOOK_FAIL_FIRST, 2);
	struct sw_alert_rule rule = kind_rule("best", SW_ALERT_WHEN_NEW_BEST, SW_ALERT_INFO);
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct console con;
	size_t sent, failed;

	(void)state;
	webhook_to(&cfg, &con, srv);
	send_one(&cfg, &rule, "w2", 4, &sent, &failed);
	assert_int_equal(sent, 1);
	assert_int_equal(failed, 0);
	assert_int_equal(sw_hook_server_count(srv), 3);
	assert_null(strstr(con.text, "warning"));
	sw_hook_server_stop(srv);
}

static void test_webhook_500_gives_up_with_warning(void **state)
{
	struct sw_hook_server *srv = sw_hook_server_start(SW_HOOK_500, 0);
	struct sw_alert_rule rule = kind_rule("best", SW_ALERT_WHEN_NEW_BEST, SW_ALERT_INFO);
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct console con;
	size_t sent, failed;

	(void)state;
	webhook_to(&cfg, &con, srv);
	send_one(&cfg, &rule, "w3", 3, &sent, &failed);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 1);
	assert_int_equal(sw_hook_server_count(srv), 3);
	assert_non_null(strstr(con.text, "sweep: warning: alert webhook failed: HTTP 500 from "
				     "http://127.0.0.1:"));
	assert_non_null(strstr(con.text, "/***: fail (after 3 tries)\n"));
	assert_null(strstr(con.text, "/hook"));   /* the URL's path stays secret */
	sw_hook_server_stop(srv);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_webhook_hang_never_blocks(void **state)
{
	struct sw_hook_server *srv = sw_hook_server_start(SW_HOOK_HANG, 0);
	struct sw_alert_rule rule = kind_rule("best", SW_ALERT_WHEN_NEW_BEST, SW_ALERT_INFO);
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_alerts al;
	struct console con;
	size_t raised, sent, failed, dropped;
	double t0, t_raise, t_release;

	(void)state;
	webhook_to(&cfg, &con, srv);
	cfg.queue_max = 2;
	cfg.timeout_s = 120;   /* the transfer would hang for 2 minutes... */
	cfg.drain_s = 0.2;     /* ...but shutdown aborts it */
	assert_int_equal(sw_alerts_init(&al, &rule, 1, &cfg, NULL), 0);
	raise_n(&al, "h1", 1);
	assert_int_equal(sw_hook_server_wait(srv, 1, 30), 1);   /* sender is stuck */
	t0 = mono();
	raise_n(&al, "h2", 4);   /* 2 queued, 2 dropped at once */
	t_raise = mono() - t0;
	sw_alerts_stats(&al, &raised, &sent, NULL, &dropped);
	assert_int_equal(raised, 5);
	assert_int_equal(sent, 0);
	assert_int_equal(dropped, 2);
	assert_non_null(strstr(con.text, "alert webhook queue is full"));
	t0 = mono();
	sw_alerts_release(&al);
	t_release = mono() - t0;
	sw_alerts_stats(&al, NULL, &sent, &failed, &dropped);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 0);
	assert_int_equal(dropped, 5);
	/* the 3 given up at the end are reported, the URL's path kept secret */
	assert_non_null(strstr(con.text, "sweep: warning: 3 alerts were not delivered to the "
				     "webhook http://127.0.0.1:"));
	assert_null(strstr(con.text, "/hook"));
	print_message("hanging webhook: 4 alerts raised in %.3f ms, release took %.3f s\n",
		      t_raise * 1e3, t_release);
	sw_hook_server_stop(srv);
}

struct thread_arg {
	struct sw_alerts *al;
	char id[8];
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	raise_n(a->al, a->id, 25);
	return NULL;
}

static void test_threads_share_alerts(void **state)
{
	struct sw_hook_server *srv = sw_hook_server_start(SW_HOOK_OK, 0);
	struct sw_alert_rule rule = kind_rule("best", SW_ALERT_WHEN_NEW_BEST, SW_ALERT_INFO);
	struct sw_alerts_config cfg = SW_ALERTS_CONFIG_INIT;
	struct sw_store st = SW_STORE_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct thread_arg args[4];
	pthread_t th[4];
	struct sw_alerts al;
	struct console con;
	char *tmp = sw_test_tmpdir();
	json_t *alerts;
	size_t sent;
	int i;

	(void)state;
	console_init(&con);
	make_store(&st, tmp);
	cfg.console = capture;
	cfg.console_ctx = &con;
	cfg.store = &st;
	cfg.webhook_url = sw_hook_server_url(srv);
	cfg.queue_max = 200;
	cfg.drain_s = 30;
	assert_int_equal(sw_alerts_init(&al, &rule, 1, &cfg, NULL), 0);
	for (i = 0; i < 4; i++) {
		args[i].al = &al;
		snprintf(args[i].id, sizeof(args[i].id), "t%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	sw_alerts_release(&al);
	sw_alerts_stats(&al, NULL, &sent, NULL, NULL);
	assert_int_equal(sent, 100);
	assert_int_equal(sw_hook_server_count(srv), 100);
	assert_int_equal(sw_test_count_lines(con.text, "sweep: alert: [INFO] best: run t"), 100);
	assert_int_equal(sw_store_load_alerts(st.dir, &alerts, &err), 0);
	assert_int_equal(json_array_size(alerts), 100);
	json_decref(alerts);
	sw_store_release(&st);
	sw_hook_server_stop(srv);
	sw_test_rmtree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_after_epoch_once_and_stop),
		cmocka_unit_test(test_resume_after_kill),
		cmocka_unit_test(test_compare_operators),
		cmocka_unit_test(test_nan_and_new_best),
		cmocka_unit_test(test_run_failed),
		cmocka_unit_test(test_script_alerts),
		cmocka_unit_test(test_bad_webhook_url),
		cmocka_unit_test(test_webhook_delivers),
		cmocka_unit_test(test_webhook_retries_then_succeeds),
		cmocka_unit_test(test_webhook_500_gives_up_with_warning),
		cmocka_unit_test(test_webhook_hang_never_blocks),
		cmocka_unit_test(test_threads_share_alerts),
	};

	return cmocka_run_group_tests_name("alerts", tests, NULL, NULL);
}
