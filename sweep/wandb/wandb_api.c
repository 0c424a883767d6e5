/* wandb_api.c - the wandb GraphQL operations; see include/sweep/wandb/wandb_api.h
 * and ../shared/docs/wandb-protocol.md. */
#include "sweep/wandb/wandb_api.h"
#include "sweep/wandb/gql.h"

#include <stdlib.h>
#include <string.h>

/* ==== Query texts (protocol notes §1.5, 2.1, 3.1, 3.2, 4.1, 5, 6.1) ==== */

const char SW_GQL_VIEWER[] =
"query Viewer { viewer { id entity username email flags teams { edges { node { name } } } } }";

const char SW_GQL_UPSERT_SWEEP[] =
"mutation UpsertSweep(\n"
"  $id: ID, $config: String, $description: String, $entityName: String,\n"
"  $projectName: String, $controller: JSONString, $scheduler: JSONString,\n"
"  $state: String, $priorRunsFilters: JSONString, $displayName: String\n"
") {\n"
"  upsertSweep(input: {\n"
"    id: $id, config: $config, description: $description, entityName: $entityName,\n"
"    projectName: $projectName, controller: $controller, scheduler: $scheduler,\n"
"    state: $state, priorRunsFilters: $priorRunsFilters, displayName: $displayName\n"
"  }) {\n"
"    sweep { name project { id name entity { id name } } }\n"
"    configValidationWarnings\n"
"  }\n"
"}\n";

const char SW_GQL_CREATE_AGENT[] =
"mutation CreateAgent($host: String!, $projectName: String, $entityName: String, $sweep: String!) {\n"
"  createAgent(input: { host: $host, projectName: $projectName, entityName: $entityName, sweep: $sweep }) {\n"
"    agent { id }\n"
"  }\n"
"}\n";

const char SW_GQL_HEARTBEAT[] =
"mutation Heartbeat($id: ID!, $metrics: JSONString, $runState: JSONString) {\n"
"  agentHeartbeat(input: { id: $id, metrics: $metrics, runState: $runState }) {\n"
"    agent { id }\n"
"    commands\n"
"  }\n"
"}\n";

const char SW_GQL_UPSERT_BUCKET[] =
"mutation UpsertBucket(\n"
"  $id: String, $name: String, $project: String, $entity: String, $groupName: String,\n"
"  $description: String, $displayName: String, $notes: String, $commit: String,\n"
"  $config: JSONString, $host: String, $debug: Boolean, $program: String, $repo: String,\n"
"  $jobType: String, $state: String, $sweep: String, $tags: [String!], $summaryMetrics: JSONString\n"
") {\n"
"  upsertBucket(input: {\n"
"    id: $id, name: $name, groupName: $groupName, modelName: $project, entityName: $entity,\n"
"    description: $description, displayName: $displayName, notes: $notes, config: $config,\n"
"    commit: $commit, host: $host, debug: $debug, jobProgram: $program, jobRepo: $repo,\n"
"    jobType: $jobType, state: $state, sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics\n"
"  }) {\n"
"    bucket { id name displayName description config sweepName\n"
"             project { id name entity { id name } } historyLineCount }\n"
"    inserted\n"
"  }\n"
"}\n";

const char SW_GQL_ALERT[] =
"mutation NotifyScriptableRunAlert(\n"
"  $entityName: String!, $projectName: String!, $runName: String!,\n"
"  $title: String!, $text: String!, $severity: AlertSeverity = INFO, $waitDuration: Duration\n"
") {\n"
"  notifyScriptableRunAlert(input: {\n"
"    entityName: $entityName, projectName: $projectName, runName: $runName,\n"
"    title: $title, text: $text, severity: $severity, waitDuration: $waitDuration\n"
"  }) { success }\n"
"}\n";

const char SW_GQL_SWEEP_WITH_RUNS[] =
"query SweepWithRuns($entity: String, $project: String, $sweep: String!, $specs: [JSONString!]!) {\n"
"  project(name: $project, entityName: $entity) {\n"
"    name entity { name }\n"
"    sweep(sweepName: $sweep) {\n"
"      id name method state description config createdAt heartbeatAt updatedAt\n"
"      earlyStopJobRunning bestLoss controller scheduler\n"
"      runs { edges { node {\n"
"        name state config exitcode heartbeatAt shouldStop failed stopped running\n"
"        summaryMetrics sampledHistory(specs: $specs)\n"
"      } } }\n"
"    }\n"
"  }\n"
"}\n";

/* ==== Helpers ==== */

/* Sets key to a string, or to null when s is NULL. */
static int set_str_or_null(json_t *obj, const char *key, const char *s)
{
	return json_object_set_new(obj, key, s ? json_string(s) : json_null());
}

static int set_str_if(json_t *obj, const char *key, const char *s)
{
	return s ? json_object_set_new(obj, key, json_string(s)) : 0;
}

/* Follows a path of object keys; NULL when any step is missing. */
static json_t *dig(json_t *v, const char *const *path)
{
	for (; *path && v; path++)
		v = json_object_get(v, *path);
	return v;
}

static char *dup_str(json_t *v)
{
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int missing(struct sw_err *err, const char *what)
{
	return sw_errorf(err, "unexpected answer from wandb: no %s", what);
}

/* ==== Operations ==== */

int sw_wandb_viewer(struct sw_http *http, char **entity, struct sw_err *err)
{
	static const char *const path[] = { "viewer", NULL };
	json_t *data = NULL, *viewer;
	int ret;

	*entity = NULL;
	ret = sw_gql_call(http, SW_GQL_VIEWER, NULL, &data, err);
	if (ret < 0)
		return ret;
	viewer = dig(data, path);
	if (!json_is_object(viewer))
		ret = sw_errorf(err, "wandb did not recognise this API key's user (viewer is "
				"null); check WANDB_API_KEY");
	else
		*entity = dup_str(json_object_get(viewer, "entity"));
	json_decref(data);
	return ret;
}

int sw_wandb_upsert_sweep(struct sw_http *http, const struct sw_wandb_sweep_args *a,
			  struct sw_wandb_sweep *out, struct sw_err *err)
{
	static const char *const sweep_path[] = { "upsertSweep", "sweep", NULL };
	static const char *const warn_path[] = { "upsertSweep", "configValidationWarnings", NULL };
	json_t *vars = json_object(), *data = NULL, *sweep, *warnings, *w, *project;
	size_t i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!vars || set_str_or_null(vars, "id", a->id) ||
	    set_str_or_null(vars, "config", a->config_yaml) ||
	    set_str_or_null(vars, "description", a->description) ||
	    set_str_or_null(vars, "entityName", a->entity) ||
	    set_str_or_null(vars, "projectName", a->project) ||
	    set_str_or_null(vars, "controller", a->controller) ||
	    set_str_or_null(vars, "scheduler", a->scheduler) ||
	    set_str_or_null(vars, "priorRunsFilters", NULL) ||
	    set_str_or_null(vars, "displayName", a->display_name) ||
	    set_str_if(vars, "state", a->state)) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_gql_call(http, SW_GQL_UPSERT_SWEEP, vars, &data, err);
	if (ret < 0)
		goto done;
	ret = -1;
	sweep = dig(data, sweep_path);
	if (!json_is_string(json_object_get(sweep, "name"))) {
		missing(err, "upsertSweep.sweep.name");
		goto done;
	}
	out->name = dup_str(json_object_get(sweep, "name"));
	project = json_object_get(sweep, "project");
	out->project = dup_str(json_object_get(project, "name"));
	out->entity = dup_str(json_object_get(json_object_get(project, "entity"), "name"));
	warnings = dig(data, warn_path);
	if (json_is_array(warnings) && json_array_size(warnings)) {
		out->warnings = calloc(json_array_size(warnings), sizeof(char *));
		if (!out->warnings) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		json_array_foreach(warnings, i, w) {
			char *s = json_is_string(w) ? strdup(json_string_value(w)) :
				json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY);

			if (s)
				out->warnings[out->n_warnings++] = s;
		}
	}
	if (!out->name) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = 0;
done:
	if (ret < 0)
		sw_wandb_sweep_release(out);
	json_decref(vars);
	json_decref(data);
	return ret;
}

void sw_wandb_sweep_release(struct sw_wandb_sweep *s)
{
	size_t i;

	if (!s)
		return;
	free(s->name);
	free(s->entity);
	free(s->project);
	for (i = 0; i < s->n_warnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	memset(s, 0, sizeof(*s));
}

int sw_wandb_create_agent(struct sw_http *http, const char *host, const char *entity,
			  const char *project, const char *sweep, char **agent_id,
			  struct sw_err *err)
{
	static const char *const path[] = { "createAgent", "agent", "id", NULL };
	json_t *vars = json_object(), *data = NULL;
	int ret = -1;

	*agent_id = NULL;
	if (!vars || set_str_or_null(vars, "host", host) ||
	    set_str_or_null(vars, "entityName", entity) ||
	    set_str_or_null(vars, "projectName", project) ||
	    set_str_or_null(vars, "sweep", sweep)) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_gql_call(http, SW_GQL_CREATE_AGENT, vars, &data, err);
	if (ret < 0)
		goto done;
	*agent_id = dup_str(dig(data, path));
	ret = *agent_id ? 0 : missing(err, "createAgent.agent.id");
done:
	json_decref(vars);
	json_decref(data);
	return ret;
}

static json_t *heartbeat_vars(const char *agent_id, const char *run_state)
{
	return json_pack("{s:s, s:s, s:s}", "id", agent_id, "metrics", "{}",
			 "runState", run_state ? run_state : "{}");
}

/* http.h retry_body hook of a live heartbeat: the runState of now. */
struct live_state {
	const char *agent_id;
	char *(*run_state)(void *ctx);
	void *ctx;
	char *body;
};

static const char *live_body(void *arg, size_t *len)
{
	struct live_state *l = arg;
	char *state = l->run_state(l->ctx);
	json_t *vars = state ? heartbeat_vars(l->agent_id, state) : NULL;

	free(l->body);
	l->body = vars ? sw_gql_body(SW_GQL_HEARTBEAT, vars) : NULL;
	json_decref(vars);
	free(state);
	if (l->body)
		*len = strlen(l->body);
	return l->body;
}

int sw_wandb_agent_heartbeat_live(struct sw_http *http, const char *agent_id,
				  char *(*run_state)(void *ctx), void *ctx,
				  json_t **commands, struct sw_err *err)
{
	struct live_state l = { agent_id, run_state, ctx, NULL };
	const char *(*saved)(void *, size_t *) = http->retry_body;
	void *saved_ctx = http->retry_body_ctx;
	char *state = run_state(ctx);
	int ret;

	http->retry_body = live_body;
	http->retry_body_ctx = &l;
	ret = sw_wandb_agent_heartbeat(http, agent_id, state ? state : "{}", commands, err);
	http->retry_body = saved;
	http->retry_body_ctx = saved_ctx;
	free(l.body);
	free(state);
	return ret;
}

int sw_wandb_agent_heartbeat(struct sw_http *http, const char *agent_id,
			     const char *run_state, json_t **commands, struct sw_err *err)
{
	static const char *const path[] = { "agentHeartbeat", "commands", NULL };
	json_t *vars = NULL, *data = NULL, *cmds;
	json_error_t jerr;
	int ret = -1;

	*commands = NULL;
	vars = heartbeat_vars(agent_id, run_state);
	if (!vars) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_gql_call(http, SW_GQL_HEARTBEAT, vars, &data, err);
	if (ret < 0) {
		if (http->last_status == 404)
			sw_err_prefix(err, "sweep not found (it may have been deleted)");
		goto done;
	}
	ret = -1;
	cmds = dig(data, path);
	if (json_is_null(cmds) || (json_is_string(cmds) && !*json_string_value(cmds))) {
		*commands = json_array();
	} else if (json_is_string(cmds)) {
		*commands = json_loads(json_string_value(cmds), 0, &jerr);
		if (!json_is_array(*commands)) {
			json_decref(*commands);
			*commands = NULL;
			sw_errorf(err, "unexpected answer from wandb: agentHeartbeat.commands "
				  "is not a JSON list");
			goto done;
		}
	} else if (json_is_array(cmds)) {
		*commands = json_incref(cmds);
	} else {
		missing(err, "agentHeartbeat.commands");
		goto done;
	}
	ret = *commands ? 0 : sw_errorf(err, "out of memory");
done:
	json_decref(vars);
	json_decref(data);
	return ret;
}

int sw_wandb_upsert_bucket(struct sw_http *http, const struct sw_wandb_run_args *a,
			   struct sw_wandb_run *out, struct sw_err *err)
{
	static const char *const bucket_path[] = { "upsertBucket", "bucket", NULL };
	static const char *const inserted_path[] = { "upsertBucket", "inserted", NULL };
	json_t *vars = json_object(), *data = NULL, *bucket, *project, *hlc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!vars || set_str_if(vars, "name", a->name) ||
	    set_str_if(vars, "project", a->project) || set_str_if(vars, "entity", a->entity) ||
	    set_str_if(vars, "sweep", a->sweep) || set_str_if(vars, "config", a->config) ||
	    set_str_if(vars, "host", a->host) || set_str_if(vars, "program", a->program) ||
	    set_str_if(vars, "displayName", a->display_name) ||
	    set_str_if(vars, "summaryMetrics", a->summary_metrics)) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_gql_call(http, SW_GQL_UPSERT_BUCKET, vars, &data, err);
	if (ret < 0)
		goto done;
	ret = -1;
	bucket = dig(data, bucket_path);
	if (!json_is_object(bucket)) {
		missing(err, "upsertBucket.bucket");
		goto done;
	}
	out->id = dup_str(json_object_get(bucket, "id"));
	out->name = dup_str(json_object_get(bucket, "name"));
	out->display_name = dup_str(json_object_get(bucket, "displayName"));
	out->sweep_name = dup_str(json_object_get(bucket, "sweepName"));
	project = json_object_get(bucket, "project");
	out->project = dup_str(json_object_get(project, "name"));
	out->entity = dup_str(json_object_get(json_object_get(project, "entity"), "name"));
	hlc = json_object_get(bucket, "historyLineCount");
	out->history_line_count = json_is_integer(hlc) ? json_integer_value(hlc) : 0;
	out->inserted = json_is_true(dig(data, inserted_path));
	if (!out->name) {
		missing(err, "upsertBucket.bucket.name");
		goto done;
	}
	ret = 0;
done:
	if (ret < 0)
		sw_wandb_run_release(out);
	json_decref(vars);
	json_decref(data);
	return ret;
}

void sw_wandb_run_release(struct sw_wandb_run *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->name);
	free(r->display_name);
	free(r->sweep_name);
	free(r->entity);
	free(r->project);
	memset(r, 0, sizeof(*r));
}

int sw_wandb_alert(struct sw_http *http, const char *entity, const char *project,
		   const char *run, const char *title, const char *text,
		   const char *severity, int64_t wait_ms, struct sw_err *err)
{
	static const char *const path[] = { "notifyScriptableRunAlert", "success", NULL };
	json_t *vars = NULL, *data = NULL;
	int ret = -1;

	if (strcmp(severity, "INFO") && strcmp(severity, "WARN") && strcmp(severity, "ERROR"))
		return sw_errorf(err, "alert severity '%s' is not INFO, WARN or ERROR", severity);
	vars = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "entityName", entity,
			 "projectName", project, "runName", run, "title", title, "text", text,
			 "severity", severity);
	if (!vars || (wait_ms >= 0 &&
		      json_object_set_new(vars, "waitDuration", json_integer(wait_ms)))) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_gql_call(http, SW_GQL_ALERT, vars, &data, err);
	if (ret < 0)
		goto done;
	ret = json_is_true(dig(data, path)) ? 0 :
		sw_errorf(err, "wandb did not accept the alert '%s' (success is not true)", title);
done:
	json_decref(vars);
	json_decref(data);
	return ret;
}

int sw_wandb_sweep_with_runs(struct sw_http *http, const char *entity, const char *project,
			     const char *sweep_name, const char *specs, json_t **sweep,
			     struct sw_err *err)
{
	static const char *const path[] = { "project", "sweep", NULL };
	json_t *vars = json_object(), *data = NULL, *s, *p;
	int ret = -1;

	*sweep = NULL;
	if (!vars || set_str_or_null(vars, "entity", entity) ||
	    set_str_or_null(vars, "project", project) ||
	    set_str_or_null(vars, "sweep", sweep_name) ||
	    set_str_or_null(vars, "specs", specs ? specs : "{}")) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_gql_call(http, SW_GQL_SWEEP_WITH_RUNS, vars, &data, err);
	if (ret < 0)
		goto done;
	s = dig(data, path);
	if (!json_is_object(s)) {
		ret = sw_errorf(err, "sweep %s/%s/%s not found", entity ? entity : "-",
				project ? project : "-", sweep_name);
		goto done;
	}
	/* the project the server found the sweep in: the sweep's runs land
	 * there when the agent is given none */
	p = json_object_get(data, "project");
	if (!json_object_get(s, "project") &&
	    json_is_string(json_object_get(p, "name")) &&
	    json_object_set_new(s, "project", json_pack("{s:O, s:O*}", "name",
		json_object_get(p, "name"), "entity",
		json_object_get(p, "entity"))) < 0) {
		ret = sw_errorf(err, "out of memory");
		goto done;
	}
	*sweep = json_incref(s);
	ret = 0;
done:
	json_decref(vars);
	json_decref(data);
	return ret;
}

/* ==== Value-wrapped configs ==== */

json_t *sw_wandb_wrap_config(json_t *flat)
{
	json_t *out, *v;
	const char *k;

	if (!json_is_object(flat))
		return NULL;
	out = json_object();
	if (!out)
		return NULL;
	json_object_foreach(flat, k, v) {
		if (json_object_set_new(out, k, json_pack("{s:O}", "value", v))) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

json_t *sw_wandb_unwrap_config(json_t *wrapped, struct sw_err *err)
{
	json_t *out, *v, *inner;
	const char *k;

	if (!json_is_object(wrapped)) {
		sw_errorf(err, "run arguments are not a JSON object");
		return NULL;
	}
	out = json_object();
	if (!out) {
		sw_errorf(err, "out of memory");
		return NULL;
	}
	json_object_foreach(wrapped, k, v) {
		inner = json_is_object(v) ? json_object_get(v, "value") : NULL;
		if (!inner) {
			sw_errorf(err, "run argument '%s' has no \"value\" (expected "
				  "{\"%s\": {\"value\": ...}})", k, k);
			json_decref(out);
			return NULL;
		}
		if (json_object_set(out, k, inner)) {
			sw_errorf(err, "out of memory");
			json_decref(out);
			return NULL;
		}
	}
	return out;
}
