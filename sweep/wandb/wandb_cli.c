/* wandb_cli.c - see include/sweep/wandb/wandb_cli.h */
#include "sweep/wandb/wandb_cli.h"

#include "base/cli.h"
#include "base/interrupt.h"

void sw_wandb_cli_warn_insecure(const struct sw_wandb_settings *settings)
{
	if (settings->insecure)
		sw_cli_warning("WANDB_BASE_URL '%s' is plain http to a host that is not "
			       "loopback: the API key and data travel unencrypted; use https",
			       settings->base_url);
}

void sw_wandb_cli_on_retry(void *ctx, const char *msg)
{
	(void)ctx;
	sw_cli_warning("%s", msg);
}

int sw_wandb_cli_connect(const char *cmd, const char *offline_hint,
			 const char *entity_opt, const char *project_opt,
			 struct sw_wandb_settings *settings, struct sw_http *http)
{
	struct sw_err err = SW_ERR_INIT;

	if (sw_wandb_settings_load(settings, entity_opt, project_opt, 1, &err) < 0) {
		sw_cli_error("%s", err.msg);
		return SW_EXIT_USAGE;
	}
	if (settings->offline) {
		sw_cli_error("WANDB_MODE is offline: `sweep %s` needs the wandb server (%s)",
			     cmd, offline_hint);
		return SW_EXIT_USAGE;
	}
	sw_wandb_cli_warn_insecure(settings);
	if (sw_wandb_http_init(http, settings, &err) < 0)
		return sw_cli_error("%s", err.msg);
	http->on_retry = sw_wandb_cli_on_retry;
	http->stop = sw_interrupt_flag();
	sw_interrupt_install();
	return 0;
}
