/* agent_controller.c - `sweep agent --controller`: our search engine as the
 * local controller of a wandb sweep (protocol notes §6; agent.h). Each step
 * reads the sweep and its runs (SweepWithRuns), drops the schedule entries
 * the backend has turned into runs that started, and, when nothing is
 * pending, proposes the next run with sw_search_next() and writes it with
 * UpsertSweep(controller = {"schedule": [...], "earlystop": []}). */
#define _GNU_SOURCE
#include "sweep/wandb/agent.h"
#include "base/interrupt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/cli.h"
#include "sweep/search/hyperband.h"
#include "sweep/search/observed.h"
#include "base/rng.h"
#include "sweep/search/search.h"
#include "sweep/store/store.h"
#include "sweep/wandb/wandb_api.h"
#include "sweep/wandb/wandb_yaml.h"

static void sleep_s(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static json_t *parse_json_string(json_t *v)
{
	const char *s = json_string_value(v);

	return s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

/* The sweep's runs as observations for the search engine. */
static int observe(json_t *sweep, struct sw_runs *runs, json_t **by_name,
		   json_t *names, struct sw_err *err)
{
	json_t *edges = json_object_get(json_object_get(sweep, "runs"), "edges"), *e;
	size_t i, j, k;

	*by_name = json_object();
	json_array_foreach(edges, i, e) {
		json_t *node = json_object_get(e, "node"), *wrapped, *params = NULL;
		json_t *summary, *sampled, *hist, *obj, *row;
		const char *state = json_string_value(json_object_get(node, "state"));
		const char *name = json_string_value(json_object_get(node, "name"));
		const char *key;
		json_t *v;
		struct sw_err e2 = SW_ERR_INIT;
		enum sw_obs_state st;

		if (name)
			json_object_set(*by_name, name, node);
		wrapped = parse_json_string(json_object_get(node, "config"));
		if (json_is_object(wrapped)) {
			json_t *clean = json_object();

			json_object_foreach(wrapped, key, v)
				if (key[0] != '_')
					json_object_set(clean, key, v);
			params = sw_wandb_unwrap_config(clean, &e2);
			json_decref(clean);
		}
		json_decref(wrapped);
		if (!params)
			continue;   /* a run we cannot read says nothing about the space */
		summary = parse_json_string(json_object_get(node, "summaryMetrics"));
		if (!json_is_object(summary)) {
			json_decref(summary);
			summary = NULL;
		}
		hist = json_array();
		sampled = json_object_get(node, "sampledHistory");
		json_array_foreach(sampled, j, row) {
			if (json_is_array(row)) {
				json_array_foreach(row, k, obj)
					if (json_is_object(obj))
						json_array_append(hist, obj);
			} else if (json_is_object(row)) {
				json_array_append(hist, row);
			}
		}
		if (!state || sw_obs_state_parse(state, &st) < 0)
			st = SW_OBS_RUNNING;
		if (sw_runs_add(runs, params, st, summary, hist) < 0 ||
		    json_array_append_new(names, json_string(name ? name : "")) < 0) {
			json_decref(params);
			json_decref(summary);
			json_decref(hist);
			return sw_errorf(err, "out of memory");
		}
		json_decref(params);
		json_decref(summary);
		json_decref(hist);
	}
	return 0;
}

static void schedule_id(char out[11], struct sw_rng *rng)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	int i;

	for (i = 0; i < 10; i++)
		out[i] = chars[sw_rng_bounded(rng, 36)];
	out[10] = '\0';
}

int sw_agent_controller(const struct sw_agent_config *cfg, struct sw_err *err)
{
	struct sw_http http;
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_rng rng;
	json_t *sweep = NULL, *controller = NULL, *scheduler = NULL, *by_name = NULL;
	json_t *out = NULL, *ctype;
	char *viewer_entity = NULL, *yaml = NULL, *ctl_text = NULL, *specs = NULL;
	const char *entity, *state, *node_id;
	uint64_t seed = 0;
	int64_t scheduled = 0;
	volatile sig_atomic_t *stop = sw_interrupt_flag();
	double step_s = cfg->heartbeat_s > 0 ? cfg->heartbeat_s : 5.0;
	int ret = SW_ERR, rc = 0, first = 1, search_done = 0;
	size_t i;

	sw_http_init(&http);
	if (sw_wandb_http_init(&http, cfg->settings, err) < 0)
		return SW_ERR_USAGE;
	http.stop = stop;
	entity = cfg->entity;
	if (!entity) {
		if (sw_wandb_viewer(&http, &viewer_entity, err) < 0)
			goto fail;
		entity = viewer_entity;
	}
	for (i = 0; cfg->sweep[i]; i++)
		seed = seed * 131 + (unsigned char)cfg->sweep[i];
	{
		struct timespec ts;

		/* schedule ids must differ between controller processes */
		clock_gettime(CLOCK_REALTIME, &ts);
		sw_rng_seed(&rng, seed ^ (uint64_t)ts.tv_sec * 1000000007ULL ^
			    (uint64_t)ts.tv_nsec, (uint64_t)getpid());
	}
	for (;;) {
		struct sw_runs runs = SW_RUNS_INIT;
		json_t *schedule, *kept, *ent, *sched_list, *names;
		enum sw_search_end end = SW_SEARCH_MORE;
		int changed = 0;

		json_decref(sweep);
		sweep = NULL;
		rc = sw_wandb_sweep_with_runs(&http, entity, cfg->project, cfg->sweep,
					      specs, &sweep, err);
		if (rc < 0)
			goto fail;
		state = json_string_value(json_object_get(sweep, "state"));
		node_id = json_string_value(json_object_get(sweep, "id"));
		if (first) {
			const char *text = json_string_value(json_object_get(sweep, "config"));

			if (!text || !node_id) {
				sw_errorf(err, "wandb sent no definition for sweep '%s'", cfg->sweep);
				goto fail;
			}
			sw_spec_load_string(&spec, text, strlen(text), cfg->sweep, &diags, err);
			if (!spec.text || sw_spec_validate_for(&spec, SW_USE_SEARCH,
							       &diags) < 0) {
				sw_diags_sort(&diags);
				sw_diags_print(&diags, cfg->sweep, stderr);
				if (!err->msg[0])
					sw_errorf(err, "the definition of sweep '%s' is not one our "
						  "search engine can run", cfg->sweep);
				ret = SW_ERR_USAGE;
				goto done;
			}
			ctype = json_object_get(json_object_get(spec.doc, "controller"), "type");
			if (!json_is_string(ctype) || strcmp(json_string_value(ctype), "local")) {
				sw_errorf(err, "sweep '%s' is not a local-controller sweep: its "
					  "config needs `controller: {type: local}`", cfg->sweep);
				ret = SW_ERR_USAGE;
				goto done;
			}
			yaml = strdup(text);
			if (spec.metric.present) {
				/* as wandb's controller samples the history it judges */
				json_t *sp = json_pack("{s:[s,s],s:i}", "keys", "_step",
						       spec.metric.name, "samples", 100000);

				specs = sp ? json_dumps(sp, JSON_COMPACT) : NULL;
				json_decref(sp);
			}
			controller = json_pack("{s:[],s:[]}", "schedule", "earlystop");
			changed = 1;   /* reset the controller on start, as wandb's does */
			first = 0;
			fprintf(stderr, "sweep: local controller for sweep %s (%s)\n", cfg->sweep,
				sw_method_name(spec.method));
		}
		/* in any case: wandb's historical test server says "running" */
		if (state && strcasecmp(state, "RUNNING") && strcasecmp(state, "PENDING")) {
			fprintf(stderr, "sweep: sweep %s is %s: controller done\n", cfg->sweep,
				state);
			break;
		}
		/* drop entries the backend turned into runs that started */
		json_decref(scheduler);
		scheduler = parse_json_string(json_object_get(sweep, "scheduler"));
		sched_list = json_object_get(scheduler, "scheduled");
		json_decref(by_name);
		by_name = NULL;
		names = json_array();
		if (!names || observe(sweep, &runs, &by_name, names, err) < 0) {
			json_decref(names);
			sw_runs_release(&runs);
			goto fail;
		}
		/* early termination (hyperband) of running runs, as wandb's
		 * controller computes it; the backend turns it into stops */
		if (spec.hyperband.present && spec.metric.present) {
			struct sw_hb_result hb = SW_HB_RESULT_INIT;
			json_t *es = json_array();
			struct sw_err e2 = SW_ERR_INIT;

			if (es && sw_hyperband_decide(&spec, &runs, &hb, &e2) == 0) {
				for (i = 0; i < hb.n_runs && i < json_array_size(names); i++)
					if (hb.stop[i])
						json_array_append(es, json_array_get(names, i));
			}
			sw_hb_result_release(&hb);
			if (es && !json_equal(es, json_object_get(controller, "earlystop"))) {
				for (i = 0; i < json_array_size(es); i++)
					fprintf(stderr, "sweep: early-stopping run %s (hyperband)\n",
						json_string_value(json_array_get(es, i)));
				json_object_set_new(controller, "earlystop", es);
				changed = 1;
			} else {
				json_decref(es);
			}
		}
		json_decref(names);
		names = NULL;
		schedule = json_object_get(controller, "schedule");
		kept = json_array();
		json_array_foreach(schedule, i, ent) {
			const char *sid = json_string_value(json_object_get(ent, "id"));
			json_t *s, *node = NULL;
			size_t j;
			int started = 0;

			json_array_foreach(sched_list, j, s) {
				const char *rid = json_string_value(json_object_get(s, "runid"));

				if (!sid || !json_equal(json_object_get(s, "id"), json_object_get(ent, "id")))
					continue;
				node = rid ? json_object_get(by_name, rid) : NULL;
				if (node) {
					const char *rs = json_string_value(json_object_get(node, "state"));
					json_t *sm = parse_json_string(json_object_get(node,
											 "summaryMetrics"));

					started = (rs && strcmp(rs, "pending")) ||
						  json_object_size(sm) > 0;
					json_decref(sm);
				}
			}
			if (!started)
				json_array_append(kept, ent);
		}
		if (json_array_size(kept) != json_array_size(schedule))
			changed = 1;
		json_object_set_new(controller, "schedule", kept);
		/* one pending entry at a time */
		if (!json_array_size(kept) && !search_done &&
		    (!cfg->count || scheduled < cfg->count)) {
			char sid[11];
			json_t *args, *entry;

			out = json_array();
			rc = sw_search_next(&spec, &runs, 1, seed, out, &end, err);
			if (rc < 0) {
				sw_runs_release(&runs);
				goto fail;
			}
			schedule_id(sid, &rng);
			if (json_array_size(out)) {
				args = sw_wandb_wrap_config(json_array_get(out, 0));
				scheduled++;
				fprintf(stderr, "sweep: scheduled run %lld (%s)\n",
					(long long)scheduled, sid);
			} else {
				args = json_null();
				search_done = 1;
				fprintf(stderr, "sweep: the search is over (%s)\n",
					sw_search_end_name(end));
			}
			entry = json_pack("{s:s,s:{s:o}}", "id", sid, "data", "args", args);
			json_array_append_new(kept, entry);
			json_decref(out);
			out = NULL;
			changed = 1;
		}
		sw_runs_release(&runs);
		if (changed) {
			struct sw_wandb_sweep_args a = { 0 };
			struct sw_wandb_sweep res = { 0 };

			free(ctl_text);
			ctl_text = json_dumps(controller, JSON_COMPACT);
			a.id = node_id;
			a.config_yaml = yaml;
			a.entity = entity;
			a.project = cfg->project;
			a.controller = ctl_text;
			rc = sw_wandb_upsert_sweep(&http, &a, &res, err);
			sw_wandb_sweep_release(&res);
			if (rc < 0)
				goto fail;
		}
		if (search_done || (cfg->count && scheduled >= cfg->count &&
				    !json_array_size(json_object_get(controller, "schedule"))))
			break;
		for (double t = 0; t < step_s && !*stop; t += 0.05)
			sleep_s(0.05);
		if (*stop) {
			ret = SW_ERR_INTR;
			goto done;
		}
	}
	fprintf(stderr, "sweep: controller done: %lld run%s scheduled\n", (long long)scheduled,
		scheduled == 1 ? "" : "s");
	ret = 0;
	goto done;
fail:
	ret = rc == SW_ERR_INTR ? SW_ERR_INTR :
	      http.last_status == 404 ||
	      strstr(err->msg, "not found") ? SW_ERR_USAGE : SW_ERR;
done:
	json_decref(sweep);
	json_decref(controller);
	json_decref(scheduler);
	json_decref(by_name);
	json_decref(out);
	free(viewer_entity);
	free(yaml);
	free(ctl_text);
	free(specs);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	sw_http_release(&http);
	return ret;
}
