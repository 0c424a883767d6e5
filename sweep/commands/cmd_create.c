/* cmd_create.c - `sweep create FILE.yaml [--entity E] [--project P]`:
 * validate a sweep locally, register it with wandb (UpsertSweep), print its
 * ID and URL. */
#define _GNU_SOURCE
#include "base/cli.h"
#include "base/interrupt.h"
#include "sweep/wandb/wandb_cli.h"
#include "sweep/commands/commands.h"
#include "sweep/spec/spec.h"
#include "sweep/wandb/wandb_api.h"
#include "sweep/wandb/wandb_settings.h"
#include "sweep/wandb/wandb_yaml.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_create_usage[] =
"usage: sweep create FILE.yaml [--entity E] [--project P]\n"
"\n"
"Validate a sweep file (as `sweep validate` does) and register it with wandb\n"
"(GraphQL UpsertSweep). Prints the sweep ID, then its URL, on stdout; run\n"
"agents with `sweep agent ENTITY/PROJECT/ID`.\n"
"\n"
"The config is uploaded as YAML written so that wandb's YAML 1.1 loader reads\n"
"the values `sweep` read (1e-5 is sent as 1.0e-05, strings such as 'yes' are\n"
"quoted); the `alerts:` extension stays local. Warnings from wandb's own\n"
"validation are shown as 'sweep: warning: wandb: ...'.\n"
"\n"
"  -e, --entity E    wandb entity (default: $WANDB_ENTITY, the file's\n"
"                    `entity:`, else your default entity)\n"
"  -p, --project P   wandb project (default: $WANDB_PROJECT, the file's\n"
"                    `project:`, else wandb's default)\n"
"\n"
"Settings: WANDB_API_KEY (else ~/.netrc or $NETRC, 'machine HOST[:PORT]',\n"
"which must not be readable by others), WANDB_BASE_URL (default\n"
"https://api.wandb.ai; plain http only with a warning unless loopback),\n"
"WANDB_HTTP_TIMEOUT (seconds). Server errors, rate limits and dropped\n"
"connections are retried with backoff; Ctrl-C stops at once.\n"
"\n"
"Exit status: 0 created, 1 wandb or network failure, 2 invalid file or\n"
"settings, 130 interrupted.\n";

/* The loader's notes on how wandb's YAML 1.1 loader would read a value
 * differently do not apply here: the config is re-written for it. */
static int yaml11_note(const struct sw_diag *d)
{
	return !d->is_error && strstr(d->msg, "for wandb's YAML 1.1 loader");
}

static void print_diags(const struct sw_diags *all, const char *path)
{
	struct sw_diags shown = { 0 };
	size_t i;

	shown.items = calloc(all->n ? all->n : 1, sizeof(*shown.items));
	if (!shown.items) {
		sw_diags_print(all, path, stderr);
		return;
	}
	for (i = 0; i < all->n; i++) {
		if (yaml11_note(&all->items[i]))
			continue;
		shown.items[shown.n++] = all->items[i];
		shown.n_errors += all->items[i].is_error != 0;
	}
	sw_diags_print(&shown, path, stderr);
	free(shown.items);
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "entity", required_argument, NULL, 'e' },
		{ "project", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sw_spec spec = SW_SPEC_INIT;
	struct sw_diags diags = { 0 };
	struct sw_wandb_settings settings = SW_WANDB_SETTINGS_INIT;
	struct sw_http http;
	struct sw_wandb_sweep created = { 0 };
	struct sw_wandb_sweep_args args = { 0 };
	struct sw_err err = SW_ERR_INIT;
	const char *entity_opt = NULL, *project_opt = NULL, *path, *entity, *project;
	char *viewer_entity = NULL, *yaml = NULL, app[256], shown[256];
	int rc, ret = SW_EXIT_FAILURE;
	size_t i;

	sw_http_init(&http);
	opterr = 0;
	optind = 1;
	while ((rc = getopt_long(argc, argv, ":e:p:", opts, NULL)) != -1) {
		if (rc == 'e')
			entity_opt = optarg;
		else if (rc == 'p')
			project_opt = optarg;
		else
			return sw_cli_bad_option("create", argc, argv, rc);
	}
	if (optind >= argc)
		return sw_cli_usage_error("create", "no sweep file given");
	if (argc - optind > 1)
		return sw_cli_usage_error("create", "one sweep file at a time (got %d)",
					  argc - optind);
	path = argv[optind];

	/* 1. local validation: nothing goes to wandb unless the file is valid */
	sw_spec_load(&spec, path, &diags, &err);
	if (!spec.text) {
		ret = sw_cli_error("%s", err.msg[0] ? err.msg : "unable to read the sweep file");
		ret = SW_EXIT_USAGE;
		goto done;
	}
	sw_spec_validate(&spec, &diags);
	sw_diags_sort(&diags);
	print_diags(&diags, path);
	if (diags.n_errors) {
		sw_cli_error("'%s' is not a valid sweep (%zu error%s); nothing was sent to wandb",
			     path, diags.n_errors, diags.n_errors == 1 ? "" : "s");
		ret = SW_EXIT_USAGE;
		goto done;
	}
	yaml = sw_wandb_config_yaml(spec.doc, &err);
	if (!yaml) {
		ret = sw_cli_error("%s: %s", path, err.msg);
		goto done;
	}

	/* 2. settings */
	rc = sw_wandb_cli_connect("create", "unset WANDB_MODE, or use `sweep run` to "
				  "search locally", entity_opt, project_opt, &settings, &http);
	if (rc) {
		ret = rc;
		goto done;
	}

	/* 3. entity: option, WANDB_ENTITY, the file, else the key's default */
	entity = settings.entity ? settings.entity : spec.entity;
	project = settings.project ? settings.project : spec.project;
	if (!entity) {
		rc = sw_wandb_viewer(&http, &viewer_entity, &err);
		if (rc < 0)
			goto fail;
		entity = viewer_entity;
	}

	/* 4. register */
	args.config_yaml = yaml;
	args.description = spec.description;
	args.entity = entity;
	args.project = project;
	rc = sw_wandb_upsert_sweep(&http, &args, &created, &err);
	if (rc < 0)
		goto fail;
	for (i = 0; i < created.n_warnings; i++)
		sw_cli_warning("wandb: %s", created.warnings[i]);
	if (created.entity)
		entity = created.entity;
	if (created.project)
		project = created.project;
	sw_wandb_app_url(&settings, app, sizeof(app));
	sw_url_redact(app, shown, sizeof(shown));
	if (entity && project) {
		printf("%s\n%s/%s/%s/sweeps/%s\n", created.name, shown, entity, project,
		       created.name);
		fprintf(stderr, "sweep: created sweep %s/%s/%s; start agents with: sweep agent "
			"%s/%s/%s\n", entity, project, created.name, entity, project, created.name);
	} else {
		printf("%s\n", created.name);
	}
	fflush(stdout);
	ret = SW_EXIT_OK;
	goto done;
fail:
	sw_redact(err.msg, settings.api_key);
	sw_cli_error("%s", err.msg);
	ret = rc == SW_ERR_INTR || *sw_interrupt_flag() ? SW_EXIT_INTERRUPTED : SW_EXIT_FAILURE;
done:
	free(viewer_entity);
	free(yaml);
	sw_wandb_sweep_release(&created);
	sw_http_release(&http);
	sw_wandb_settings_release(&settings);
	sw_diags_release(&diags);
	sw_spec_release(&spec);
	return ret;
}
