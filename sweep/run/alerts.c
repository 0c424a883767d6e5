/* alerts.c - alert rules, console/alerts.jsonl/webhook delivery; see
 * include/sweep/run/alerts.h */
#define _GNU_SOURCE
#include "sweep/run/alerts.h"
#include "sweep/http/http.h"
#include "sweep/offline/wandb_runfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct sw_hook_item {
	struct sw_hook_item *next;
	char *body;                 /* {"text": ...} */
};

const char *sw_alert_level_name(enum sw_alert_level level)
{
	switch (level) {
	case SW_ALERT_INFO: return "INFO";
	case SW_ALERT_WARN: return "WARN";
	case SW_ALERT_ERROR: return "ERROR";
	}
	return "WARN";
}

const char *sw_alerts_webhook_url(const char *cli_url)
{
	const char *env;

	if (cli_url && *cli_url)
		return cli_url;
	env = getenv("SWEEP_ALERT_WEBHOOK");
	return env && *env ? env : NULL;
}

int sw_alerts_check_url(const char *what, const char *url, struct sw_err *err)
{
	char host[256];

	if (!url || !*url)
		return 0;
	if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		return sw_errorf(err, "%s must start with http:// or https://", what);
	if (sw_url_host_port(url, host, sizeof(host), NULL) < 0)
		return sw_errorf(err, "%s has no host name (e.g. "
				 "https://hooks.slack.com/services/...)", what);
	return 0;
}

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* An absolute CLOCK_REALTIME deadline s seconds from now (condvar time). */
static struct timespec deadline_in(double s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)s;
	ts.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > t->tv_sec ||
	       (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Called with al->lock held. */
static void console_locked(struct sw_alerts *al, const char *line)
{
	if (al->cfg.console)
		al->cfg.console(al->cfg.console_ctx, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* ==== Webhook sender thread ==== */

/* Replaces every copy of url in msg by the URL with its path as "***": a
 * webhook URL's path is its secret (Slack's /services/T/B/KEY). */
static void safe_url(char *out, size_t size, const char *url)
{
	char host[256];
	int https = 0;

	if (sw_url_host_port(url, host, sizeof(host), &https))
		snprintf(out, size, "***");
	else
		snprintf(out, size, "%s://%s/***", https ? "https" : "http", host);
}

static void redact_url(char *msg, size_t size, const char *url)
{
	char safe[300], out[1024];
	const char *p, *hit;
	size_t used = 0;

	safe_url(safe, sizeof(safe), url);
	out[0] = '\0';
	for (p = msg; (hit = strstr(p, url)); p = hit + strlen(url))
		used += (size_t)snprintf(out + used, used < sizeof(out) ? sizeof(out) - used : 0,
					 "%.*s%s", (int)(hit - p), p, safe);
	if (used < sizeof(out))
		snprintf(out + used, sizeof(out) - used, "%s", p);
	snprintf(msg, size, "%s", out);
}

static void *sender_main(void *arg)
{
	struct sw_alerts *al = arg;
	struct sw_http http;

	sw_http_init(&http);
	http.max_tries = al->cfg.max_tries;
	http.backoff_min_s = al->cfg.backoff_s;
	http.backoff_max_s = al->cfg.backoff_max_s;
	http.total_timeout_s = al->cfg.timeout_s;
	http.connect_timeout_s = al->cfg.timeout_s < 10 ? al->cfg.timeout_s : 10;
	http.low_speed_time_s = al->cfg.timeout_s;
	http.stop = &al->abort;

	pthread_mutex_lock(&al->lock);
	for (;;) {
		struct sw_http_response resp;
		struct sw_hook_item *it;
		struct sw_err err = SW_ERR_INIT;
		int rc;

		while (!al->head && !al->closing)
			pthread_cond_wait(&al->cond, &al->lock);
		if (!al->head || al->abort)
			break;
		it = al->head;
		al->head = it->next;
		if (!al->head)
			al->tail = NULL;
		al->queued--;
		al->busy = 1;
		pthread_mutex_unlock(&al->lock);
		sw_http_response_init(&resp, 64 << 10);
		rc = sw_http_post_json(&http, al->url, it->body, NULL, NULL, al->cfg.timeout_s,
				       &resp, &err);
		sw_http_response_release(&resp);
		pthread_mutex_lock(&al->lock);
		if (rc == 0) {
			al->n_sent++;
		} else if (rc == SW_ERR_INTR || al->abort) {
			al->n_dropped++;
		} else {
			char line[700];

			al->n_failed++;
			redact_url(err.msg, sizeof(err.msg), al->url);
			snprintf(line, sizeof(line), "sweep: warning: alert webhook failed: %s",
				 err.msg);
			console_locked(al, line);
		}
		free(it->body);
		free(it);
		al->busy = 0;
		pthread_cond_broadcast(&al->cond);
	}
	/* abort: whatever is still queued is dropped by release */
	pthread_mutex_unlock(&al->lock);
	sw_http_release(&http);
	return NULL;
}

/* ==== Setup ==== */

int sw_alerts_init(struct sw_alerts *al, const struct sw_alert_rule *rules,
		   size_t n, const struct sw_alerts_config *cfg, struct sw_err *err)
{
	struct sw_alerts_config def = SW_ALERTS_CONFIG_INIT;
	size_t i;

	memset(al, 0, sizeof(*al));
	al->cfg = cfg ? *cfg : def;
	al->rules = rules;
	al->n_rules = rules ? n : 0;
	if (!al->cfg.queue_max)
		al->cfg.queue_max = 64;
	if (al->cfg.max_tries <= 0)
		al->cfg.max_tries = 4;
	if (al->cfg.backoff_s <= 0)
		al->cfg.backoff_s = 0.5;
	if (al->cfg.backoff_max_s <= 0)
		al->cfg.backoff_max_s = 8;
	if (al->cfg.timeout_s <= 0)
		al->cfg.timeout_s = 10;
	if (al->cfg.drain_s <= 0)
		al->cfg.drain_s = 3;
	al->sweep_name = strdup(al->cfg.sweep_name ? al->cfg.sweep_name : "sweep");
	al->metric = al->cfg.metric ? strdup(al->cfg.metric) : NULL;
	if (!al->sweep_name || (al->cfg.metric && !al->metric)) {
		sw_alerts_release(al);
		return sw_errorf(err, "out of memory");
	}
	al->builtin_failed = 1;
	for (i = 0; i < al->n_rules; i++)
		if (rules[i].kind == SW_ALERT_WHEN_RUN_FAILED &&
		    rules[i].level == SW_ALERT_ERROR)
			al->builtin_failed = 0;
	if (pthread_mutex_init(&al->lock, NULL)) {
		sw_alerts_release(al);
		return sw_errorf(err, "cannot create a mutex");
	}
	if (pthread_cond_init(&al->cond, NULL)) {
		pthread_mutex_destroy(&al->lock);
		sw_alerts_release(al);
		return sw_errorf(err, "cannot create a condition variable");
	}
	al->lock_ok = 1;
	if (al->cfg.webhook_url && *al->cfg.webhook_url) {
		if (sw_alerts_check_url("alert webhook URL", al->cfg.webhook_url, err) < 0) {
			sw_alerts_release(al);
			return -1;
		}
		al->url = strdup(al->cfg.webhook_url);
		if (!al->url) {
			sw_alerts_release(al);
			return sw_errorf(err, "out of memory");
		}
		if (pthread_create(&al->thread, NULL, sender_main, al)) {
			sw_alerts_release(al);
			return sw_errorf(err, "cannot start the alert webhook thread");
		}
		al->thread_ok = 1;
	}
	/* the strings are ours now */
	al->cfg.sweep_name = al->sweep_name;
	al->cfg.metric = al->metric;
	al->cfg.webhook_url = al->url;
	return 0;
}

void sw_alerts_release(struct sw_alerts *al)
{
	struct sw_hook_item *it, *next;
	size_t dropped_before = 0;

	if (!al)
		return;
	if (al->thread_ok) {
		struct timespec until = deadline_in(al->cfg.drain_s);

		pthread_mutex_lock(&al->lock);
		dropped_before = al->n_dropped;
		al->closing = 1;
		pthread_cond_broadcast(&al->cond);
		while ((al->head || al->busy) && !past(&until))
			if (pthread_cond_timedwait(&al->cond, &al->lock, &until) == ETIMEDOUT)
				break;
		al->abort = 1;
		pthread_cond_broadcast(&al->cond);
		pthread_mutex_unlock(&al->lock);
		pthread_join(al->thread, NULL);
		al->thread_ok = 0;
	}
	for (it = al->head; it; it = next) {
		next = it->next;
		al->n_dropped++;
		free(it->body);
		free(it);
	}
	al->head = al->tail = NULL;
	if (al->url && al->n_dropped > dropped_before) {
		char line[600], safe[300];

		/* say so: otherwise the user believes the webhook got them all */
		safe_url(safe, sizeof(safe), al->url);
		snprintf(line, sizeof(line), "sweep: warning: %zu alert%s not delivered to "
			 "the webhook %s in the %g s allowed at the end%s",
			 al->n_dropped - dropped_before,
			 al->n_dropped - dropped_before == 1 ? " was" : "s were", safe,
			 al->cfg.drain_s,
			 al->cfg.store ? " (every alert is in alerts.jsonl)" : "");
		console_locked(al, line);
	}
	if (al->lock_ok) {
		pthread_cond_destroy(&al->cond);
		pthread_mutex_destroy(&al->lock);
	}
	free(al->sweep_name);
	free(al->metric);
	free(al->url);
	al->sweep_name = al->metric = al->url = NULL;
	al->lock_ok = 0;
}

int sw_alert_run_init(struct sw_alert_run *r, const struct sw_alerts *al,
		      const char *id)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
	r->n = al->n_rules;
	if (r->n) {
		r->fired = calloc(r->n, 1);
		if (!r->fired)
			return -1;
	}
	return 0;
}

void sw_alert_run_release(struct sw_alert_run *r)
{
	if (!r)
		return;
	free(r->fired);
	r->fired = NULL;
	r->n = 0;
}

void sw_alerts_stats(struct sw_alerts *al, size_t *raised, size_t *sent,
		     size_t *failed, size_t *dropped)
{
	if (al->lock_ok)
		pthread_mutex_lock(&al->lock);
	if (raised)
		*raised = al->n_alerts;
	if (sent)
		*sent = al->n_sent;
	if (failed)
		*failed = al->n_failed;
	if (dropped)
		*dropped = al->n_dropped;
	if (al->lock_ok)
		pthread_mutex_unlock(&al->lock);
}

/* ==== Raising one alert ==== */

/* Delivers one alert: text is the part after "[LEVEL] ". */
static void raise_alert(struct sw_alerts *al, const char *rule, const char *when,
			enum sw_alert_level level, const char *run, int64_t epoch,
			const char *metric, const double *value, int stop_run,
			const char *text)
{
	char full[1024], line[1100], stamp[32];
	struct sw_err err = SW_ERR_INIT;
	json_t *rec = NULL, *hook = NULL;
	time_t t = time(NULL);
	struct tm tm;
	char *body = NULL;

	snprintf(full, sizeof(full), "[%s] %s: %s%s", sw_alert_level_name(level), rule,
		 text, stop_run ? "; stopping the run" : "");
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rec = json_pack("{s:s, s:f, s:s, s:s, s:s, s:s}", "time", stamp,
			"_timestamp", now_wall(), "level", sw_alert_level_name(level),
			"rule", rule, "when", when ? when : "", "run", run);
	if (rec) {
		if (epoch > 0)
			json_object_set_new(rec, "epoch", json_integer(epoch));
		if (metric)
			json_object_set_new(rec, "metric", json_string(metric));
		if (value)
			json_object_set_new(rec, "value", sw_wandb_number_json(*value));
		json_object_set_new(rec, "stop_run", json_boolean(stop_run));
		json_object_set_new(rec, "text", json_string(full));
	}
	if (al->url) {
		char prefixed[1400];

		snprintf(prefixed, sizeof(prefixed), "sweep %s: %s", al->sweep_name, full);
		hook = json_pack("{s:s}", "text", prefixed);
		body = hook ? json_dumps(hook, JSON_COMPACT) : NULL;
	}
	if (al->cfg.store && rec && sw_store_alert(al->cfg.store, rec, &err)) {
		pthread_mutex_lock(&al->lock);
		if (!al->warned_store) {
			al->warned_store = 1;
			snprintf(line, sizeof(line), "sweep: warning: cannot record alerts: %s",
				 err.msg);
			console_locked(al, line);
		}
		pthread_mutex_unlock(&al->lock);
	}
	if (al->cfg.on_alert && rec)
		al->cfg.on_alert(al->cfg.on_alert_ctx, rec);

	pthread_mutex_lock(&al->lock);
	al->n_alerts++;
	snprintf(line, sizeof(line), "sweep: alert: %s", full);
	console_locked(al, line);
	if (body) {
		if (al->queued >= al->cfg.queue_max || al->closing) {
			al->n_dropped++;
			if (!al->warned_full) {
				al->warned_full = 1;
				console_locked(al, "sweep: warning: alert webhook queue is full; "
					       "dropping alerts for the webhook");
			}
		} else {
			struct sw_hook_item *it = calloc(1, sizeof(*it));

			if (it) {
				it->body = body;
				body = NULL;
				if (al->tail)
					al->tail->next = it;
				else
					al->head = it;
				al->tail = it;
				al->queued++;
				pthread_cond_broadcast(&al->cond);
			} else {
				al->n_dropped++;
			}
		}
	}
	pthread_mutex_unlock(&al->lock);
	free(body);
	json_decref(hook);
	json_decref(rec);
}

/* ==== Rules ==== */

static int compare(double v, const char *op, double t)
{
	if (!strcmp(op, "<"))
		return v < t;
	if (!strcmp(op, "<="))
		return v <= t;
	if (!strcmp(op, ">"))
		return v > t;
	if (!strcmp(op, ">="))
		return v >= t;
	if (!strcmp(op, "=="))
		return v == t;
	if (!strcmp(op, "!="))
		return v != t;
	return 0;
}

static const struct sw_kv *find_kv(const struct sw_kv *m, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (m[i].name && !strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

int sw_alerts_epoch(struct sw_alerts *al, struct sw_alert_run *r, int64_t epoch,
		    const struct sw_kv *m, size_t n, int new_best)
{
	char text[700];
	int stop = 0;
	size_t i, j;
	/* after the last planned epoch there is nothing left to stop */
	int can_stop = r->epochs <= 0 || epoch < r->epochs;

	for (i = 0; i < al->n_rules; i++) {
		const struct sw_alert_rule *rule = &al->rules[i];
		const char *name = rule->name ? rule->name : "alert";
		const struct sw_kv *kv;

		if (epoch <= rule->after_epoch || rule->kind == SW_ALERT_WHEN_RUN_FAILED)
			continue;
		switch (rule->kind) {
		case SW_ALERT_WHEN_COMPARE:
			if (r->fired && r->fired[i])
				continue;
			kv = find_kv(m, n, rule->metric);
			if (!kv || !compare(kv->value, rule->op, rule->threshold))
				continue;
			snprintf(text, sizeof(text), "run %s epoch %lld: %s = %.6g (%s %s %.6g)",
				 r->id, (long long)epoch, kv->name, kv->value, rule->metric,
				 rule->op, rule->threshold);
			raise_alert(al, name, rule->when, rule->level, r->id, epoch, kv->name,
				    &kv->value, rule->stop_run && can_stop, text);
			break;
		case SW_ALERT_WHEN_NAN:
			if (r->fired && r->fired[i])
				continue;
			kv = NULL;
			for (j = 0; j < n && !kv; j++)
				if (!isfinite(m[j].value))
					kv = &m[j];
			if (!kv)
				continue;
			snprintf(text, sizeof(text), "run %s epoch %lld: %s is %s", r->id,
				 (long long)epoch, kv->name,
				 isnan(kv->value) ? "NaN" : "infinite");
			raise_alert(al, name, rule->when, rule->level, r->id, epoch, kv->name,
				    &kv->value, rule->stop_run && can_stop, text);
			break;
		case SW_ALERT_WHEN_NEW_BEST:
			if (!new_best)
				continue;
			kv = find_kv(m, n, al->metric);
			if (kv)
				snprintf(text, sizeof(text), "run %s epoch %lld: new best %s = %.6g",
					 r->id, (long long)epoch, kv->name, kv->value);
			else
				snprintf(text, sizeof(text), "run %s epoch %lld: new best",
					 r->id, (long long)epoch);
			raise_alert(al, name, rule->when, rule->level, r->id, epoch,
				    kv ? kv->name : NULL, kv ? &kv->value : NULL,
				    rule->stop_run && can_stop, text);
			break;
		default:
			continue;
		}
		if (r->fired)
			r->fired[i] = 1;
		if (rule->stop_run && can_stop)
			stop = 1;
	}
	return stop;
}

/* A history row's metrics (numbers, and the store's strings for
 * non-finite values) as key/values borrowed from row; returns how many. */
static size_t row_metrics(const json_t *row, struct sw_kv *kv, size_t max)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	json_object_foreach((json_t *)row, key, v) {
		if (n == max || key[0] == '_' || !strcmp(key, "epoch"))
			continue;
		kv[n].name = key;
		if (sw_wandb_value_number(v, &kv[n].value))
			n++;
	}
	return n;
}

int sw_alerts_resume(struct sw_alerts *al, struct sw_alert_run *r, const json_t *recorded,
		     const json_t *rows)
{
	const json_t *rec, *row;
	struct sw_kv *kv;
	size_t i, k, max;
	int stop = 0;

	/* what fired before the kill stays fired */
	json_array_foreach((json_t *)recorded, k, rec) {
		const char *run = json_string_value(json_object_get(rec, "run"));
		const char *rule = json_string_value(json_object_get(rec, "rule"));
		const char *when = json_string_value(json_object_get(rec, "when"));

		if (!run || !rule || !when || strcmp(run, r->id))
			continue;
		for (i = 0; i < al->n_rules; i++) {
			const struct sw_alert_rule *ru = &al->rules[i];

			if (strcmp(ru->name ? ru->name : "alert", rule) ||
			    strcmp(ru->when ? ru->when : "", when))
				continue;
			if (r->fired && (ru->kind == SW_ALERT_WHEN_COMPARE ||
					 ru->kind == SW_ALERT_WHEN_NAN))
				r->fired[i] = 1;
			if (json_is_true(json_object_get(rec, "stop_run")))
				stop = 1;
		}
	}
	/* what the kill kept from firing fires now */
	json_array_foreach((json_t *)rows, k, row) {
		json_int_t epoch = json_integer_value(json_object_get(row, "epoch"));

		max = json_object_size(row);
		if (epoch < 1 || !max || !(kv = calloc(max, sizeof(*kv))))
			continue;
		if (sw_alerts_epoch(al, r, epoch, kv, row_metrics(row, kv, max), 0))
			stop = 1;
		free(kv);
	}
	return stop;
}

void sw_alerts_script(struct sw_alerts *al, struct sw_alert_run *r, int64_t epoch,
		      const char *title, const char *text, const char *level)
{
	enum sw_alert_level lv = SW_ALERT_WARN;
	char full[700];

	if (level && !strcasecmp(level, "INFO"))
		lv = SW_ALERT_INFO;
	else if (level && !strcasecmp(level, "ERROR"))
		lv = SW_ALERT_ERROR;
	if (epoch > 0)
		snprintf(full, sizeof(full), "run %s epoch %lld: %s", r->id,
			 (long long)epoch, text ? text : "");
	else
		snprintf(full, sizeof(full), "run %s: %s", r->id, text ? text : "");
	raise_alert(al, title && *title ? title : "alert", "wandb.alert", lv, r->id,
		    epoch, NULL, NULL, 0, full);
}

void sw_alerts_run_end(struct sw_alerts *al, struct sw_alert_run *r,
		       enum sw_run_state state, const char *reason, int64_t epochs)
{
	char text[700];
	size_t i;

	if (state != SW_RUN_FAILED)
		return;
	snprintf(text, sizeof(text), "run %s failed after %lld epoch%s: %s", r->id,
		 (long long)epochs, epochs == 1 ? "" : "s",
		 reason && *reason ? reason : "no reason given");
	for (i = 0; i < al->n_rules; i++) {
		const struct sw_alert_rule *rule = &al->rules[i];

		if (rule->kind != SW_ALERT_WHEN_RUN_FAILED || (r->fired && r->fired[i]))
			continue;
		raise_alert(al, rule->name ? rule->name : "alert", rule->when, rule->level,
			    r->id, 0, NULL, NULL, 0, text);
		if (r->fired)
			r->fired[i] = 1;
	}
	if (al->builtin_failed)
		raise_alert(al, "run-failed", "run_failed", SW_ALERT_ERROR, r->id, 0, NULL,
			    NULL, 0, text);
}
