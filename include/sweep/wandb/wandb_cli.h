/*
 * wandb_cli.h - what every command that talks to wandb does first, the same
 * way: load the settings (a settings error is a usage error), refuse offline
 * mode, warn about plain http, and give the HTTP client the process's Ctrl-C
 * flag and a retry reporter that prints one warning per retry.
 *
 * defines: sw_wandb_cli_warn_insecure, sw_wandb_cli_on_retry, sw_wandb_cli_connect
 */
#ifndef SW_WANDB_CLI_H
#define SW_WANDB_CLI_H

#include "sweep/http/http.h"
#include "sweep/wandb/wandb_settings.h"

/* Prints the plain-http warning when settings->insecure. */
void sw_wandb_cli_warn_insecure(const struct sw_wandb_settings *settings);

/* For struct sw_http.on_retry: "sweep: warning: MSG". */
void sw_wandb_cli_on_retry(void *ctx, const char *msg);

/* Loads settings (the API key required) and initialises http for command
 * cmd. offline_hint completes "WANDB_MODE is offline: `sweep CMD` needs the
 * wandb server (...)". Prints its own errors; returns 0, or the exit code
 * to return (2 for settings errors and offline mode, 1 otherwise). */
int sw_wandb_cli_connect(const char *cmd, const char *offline_hint,
			 const char *entity_opt, const char *project_opt,
			 struct sw_wandb_settings *settings, struct sw_http *http);

#endif
