/*
 * wandb_settings.h - where `sweep create`, `sweep agent` and `sweep sync`
 * find the wandb server, the API key, the entity and the project.
 *
 *   base URL   WANDB_BASE_URL, default https://api.wandb.ai (http or https
 *              only; a trailing slash is dropped)
 *   API key    WANDB_API_KEY, else the netrc file ($NETRC, else ~/.netrc),
 *              entry `machine HOST[:PORT]` (the base URL's netloc), its
 *              `password`. A netrc that group or others can access is
 *              refused, as ssh does, with the chmod to run.
 *   entity     --entity, else WANDB_ENTITY, else (per command) the sweep
 *              file's `entity:`, else the viewer's default entity
 *   project    --project, else WANDB_PROJECT, else the file's `project:`
 *   mode       WANDB_MODE: "online" (default), "offline" or "disabled"
 *   time-out   WANDB_HTTP_TIMEOUT seconds per request (default 60)
 *
 * The API key is a secret: it is never printed; sw_wandb_http_init()
 * registers it with the HTTP client so it is scrubbed from every message.
 * Plain http to a host that is not loopback is allowed but flagged
 * (settings.insecure) so commands warn that the key travels unencrypted.
 *
 * defines: struct sw_wandb_settings, SW_WANDB_SETTINGS_INIT,
 *          sw_wandb_settings_load, sw_wandb_settings_release,
 *          sw_wandb_http_init, sw_wandb_app_url, sw_netrc_lookup,
 *          SW_WANDB_DEFAULT_BASE_URL
 */
#ifndef SW_WANDB_SETTINGS_H
#define SW_WANDB_SETTINGS_H

#include "base/err.h"
#include "sweep/http/http.h"

#define SW_WANDB_DEFAULT_BASE_URL "https://api.wandb.ai"

struct sw_wandb_settings {
	char *base_url;      /* no trailing slash */
	char *machine;       /* netrc machine name: host[:port] */
	char *api_key;       /* secret; NULL when none was found */
	char *key_source;    /* "WANDB_API_KEY" or the netrc path */
	char *entity;        /* NULL when not given */
	char *project;       /* NULL when not given */
	int insecure;        /* plain http to a host that is not loopback */
	int offline;         /* WANDB_MODE=offline or disabled */
	double http_timeout_s; /* WANDB_HTTP_TIMEOUT; 0 when unset */
};
#define SW_WANDB_SETTINGS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0 }

/* Reads the environment (and the netrc when WANDB_API_KEY is unset or
 * empty). entity_opt/project_opt are --entity/--project (NULL: not given)
 * and win over the environment. With need_key, a missing key is an error
 * that says how to set one; a netrc that exists but cannot be used (mode,
 * syntax) is always an error. Returns 0, or -1 with err set (never
 * containing the key). */
int sw_wandb_settings_load(struct sw_wandb_settings *s, const char *entity_opt,
			   const char *project_opt, int need_key, struct sw_err *err);

void sw_wandb_settings_release(struct sw_wandb_settings *s);

/* Sets up http for this server: sw_http_init, the base URL and the key (a
 * scrubbed secret), WANDB_HTTP_TIMEOUT, and the test knobs SWEEP_HTTP_TRIES and
 * SWEEP_HTTP_BACKOFF (first wait in seconds, e.g. 0.05). Returns 0 or -1. */
int sw_wandb_http_init(struct sw_http *http, const struct sw_wandb_settings *s,
		       struct sw_err *err);

/* The web app URL for links: https://wandb.ai for api.wandb.ai, otherwise
 * the base URL itself (wandb server serves both). Writes into out. */
void sw_wandb_app_url(const struct sw_wandb_settings *s, char *out, size_t outsz);

/* Looks up `machine` in the netrc file at path. On success *password is a
 * new string the caller frees (NULL when the file has no such machine and
 * no `default` entry). Returns 0, or -1 with err set when the file is
 * missing (errno_out = ENOENT), accessible by group/others, or malformed. */
int sw_netrc_lookup(const char *path, const char *machine, char **password,
		    int *errno_out, struct sw_err *err);

#endif
