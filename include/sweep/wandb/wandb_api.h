/*
 * wandb_api.h - the wandb GraphQL operations `sweep` uses, one small
 * function each, exactly as ../shared/docs/wandb-protocol.md describes them
 * (query texts are the SDK's; JSONString variables are sent as strings).
 *
 *   sw_wandb_viewer          query Viewer: the key's default entity (§1.5)
 *   sw_wandb_upsert_sweep    mutation UpsertSweep: create/update a sweep (§2.1)
 *   sw_wandb_create_agent    mutation CreateAgent (§3.1)
 *   sw_wandb_agent_heartbeat mutation Heartbeat -> the decoded command list (§3.2)
 *   sw_wandb_upsert_bucket   mutation UpsertBucket: a run joins a sweep (§4.1)
 *   sw_wandb_alert           mutation NotifyScriptableRunAlert (§5)
 *   sw_wandb_sweep_with_runs query SweepWithRuns (§6.1)
 * and the helpers for wandb's value-wrapped configs {"k": {"value": v}}.
 *
 * All go through sw_gql_call (gql.h): errors come back as one line in err,
 * http->last_status holds the HTTP status (404 on a heartbeat means the
 * sweep was deleted). Strings returned are new; the caller frees them, or
 * releases the struct. Out structs are overwritten without being released
 * first (release a previous result before reusing one); on failure they
 * are left empty.
 *
 * defines: sw_wandb_viewer, struct sw_wandb_sweep_args, struct
 *          sw_wandb_sweep, sw_wandb_upsert_sweep, sw_wandb_sweep_release,
 *          sw_wandb_create_agent, sw_wandb_agent_heartbeat,
 *          sw_wandb_agent_heartbeat_live, struct
 *          sw_wandb_run_args, struct sw_wandb_run, sw_wandb_upsert_bucket,
 *          sw_wandb_run_release, sw_wandb_alert, sw_wandb_sweep_with_runs,
 *          sw_wandb_wrap_config, sw_wandb_unwrap_config, SW_GQL_* texts
 */
#ifndef SW_WANDB_API_H
#define SW_WANDB_API_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "sweep/http/http.h"

extern const char SW_GQL_VIEWER[];
extern const char SW_GQL_UPSERT_SWEEP[];
extern const char SW_GQL_CREATE_AGENT[];
extern const char SW_GQL_HEARTBEAT[];
extern const char SW_GQL_UPSERT_BUCKET[];
extern const char SW_GQL_ALERT[];
extern const char SW_GQL_SWEEP_WITH_RUNS[];

/* Default entity of the key's user; *entity is NULL when the server gives
 * none. */
int sw_wandb_viewer(struct sw_http *http, char **entity, struct sw_err *err);

/* UpsertSweep variables; NULL fields are sent as null (state: omitted). */
struct sw_wandb_sweep_args {
	const char *id;            /* node id to update an existing sweep */
	const char *config_yaml;   /* the sweep config as YAML text */
	const char *description;
	const char *entity;        /* NULL: the server picks the default */
	const char *project;
	const char *controller;    /* JSON text (local controller schedule) */
	const char *scheduler;
	const char *state;         /* RUNNING, PAUSED, CANCELED, FINISHED */
	const char *display_name;
};

struct sw_wandb_sweep {
	char *name;                /* the sweep ID users see (e.g. ab12cd34) */
	char *entity, *project;    /* as the server recorded them; may be NULL */
	char **warnings;           /* configValidationWarnings */
	size_t n_warnings;
};

int sw_wandb_upsert_sweep(struct sw_http *http, const struct sw_wandb_sweep_args *a,
			  struct sw_wandb_sweep *out, struct sw_err *err);
void sw_wandb_sweep_release(struct sw_wandb_sweep *s);

/* Registers an agent for sweep (its short name); *agent_id is new. A
 * finished sweep answers HTTP 400 "Sweep X is not running". */
int sw_wandb_create_agent(struct sw_http *http, const char *host, const char *entity,
			  const char *project, const char *sweep, char **agent_id,
			  struct sw_err *err);

/* One heartbeat. run_state is the JSON text {"run_id": true, ...} of the
 * live runs (NULL: "{}"). On success *commands is a new JSON array (the
 * server's `commands` string decoded; [] when empty). On HTTP 404 err says
 * the sweep was not found (deleted) and http->last_status is 404. */
int sw_wandb_agent_heartbeat(struct sw_http *http, const char *agent_id,
			     const char *run_state, json_t **commands, struct sw_err *err);

/* The same, with run_state(ctx) called for the first try and again for
 * every retry (a new string it returns, freed here; NULL: "{}" on the first
 * try, the previous body on a retry), so that a heartbeat retried after a
 * fault tells the runs live now, not those of its first try. */
int sw_wandb_agent_heartbeat_live(struct sw_http *http, const char *agent_id,
				  char *(*run_state)(void *ctx), void *ctx,
				  json_t **commands, struct sw_err *err);

/* UpsertBucket variables; NULL fields are left out. */
struct sw_wandb_run_args {
	const char *name;          /* the run id (for sweep runs: the server's run_id) */
	const char *entity, *project;
	const char *sweep;         /* the sweep's short name: the run joins it */
	const char *config;        /* JSON text {"k": {"value": v}} */
	const char *host;
	const char *program;
	const char *display_name;
	const char *summary_metrics; /* JSON text */
};

struct sw_wandb_run {
	char *id;                  /* storage id */
	char *name;                /* run id */
	char *display_name;
	char *sweep_name;
	char *entity, *project;    /* as recorded: use these for file_stream */
	int64_t history_line_count; /* where file_stream history resumes */
	int inserted;
};

int sw_wandb_upsert_bucket(struct sw_http *http, const struct sw_wandb_run_args *a,
			   struct sw_wandb_run *out, struct sw_err *err);
void sw_wandb_run_release(struct sw_wandb_run *r);

/* NotifyScriptableRunAlert; severity is "INFO", "WARN" or "ERROR";
 * wait_ms < 0 leaves waitDuration out. Fails unless the answer says
 * success: true. */
int sw_wandb_alert(struct sw_http *http, const char *entity, const char *project,
		   const char *run, const char *title, const char *text,
		   const char *severity, int64_t wait_ms, struct sw_err *err);

/* SweepWithRuns. specs is the JSON text of the sampledHistory spec (NULL:
 * "{}"). On success *sweep is a new reference to the `sweep` object, with
 * the project the server found it in added as "project": {"name",
 * "entity": {"name"}} when the answer names it; a missing project or sweep
 * is an error "sweep E/P/S not found". */
int sw_wandb_sweep_with_runs(struct sw_http *http, const char *entity, const char *project,
			     const char *sweep_name, const char *specs, json_t **sweep,
			     struct sw_err *err);

/* {"k": v} -> {"k": {"value": v}}; returns a new object (NULL: OOM or flat
 * not an object). */
json_t *sw_wandb_wrap_config(json_t *flat);

/* {"k": {"value": v}} -> {"k": v}; returns a new object, or NULL with err
 * set when an entry has no "value" (wandb's agent treats that as an error). */
json_t *sw_wandb_unwrap_config(json_t *wrapped, struct sw_err *err);

#endif
