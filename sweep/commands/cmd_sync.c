/* cmd_sync.c - `sweep sync DIR [--project P] [--entity E]`: upload the runs
 * of a results directory to wandb exactly once. The directory's
 * wandb-sync.json marker (agent.h) lists the runs whose completion wandb
 * accepted; they are skipped. A run that was interrupted half-way resumes
 * at the history line wandb reports having (UpsertBucket's
 * historyLineCount), so nothing is sent twice. */
#define _GNU_SOURCE
#include "sweep/wandb/agent.h"
#include "base/cli.h"
#include "base/interrupt.h"
#include "sweep/wandb/wandb_cli.h"
#include "sweep/commands/commands.h"
#include "sweep/wandb/filestream.h"
#include "sweep/store/store.h"
#include "sweep/wandb/wandb_api.h"
#include "sweep/wandb/wandb_settings.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_sync_usage[] =
"usage: sweep sync DIR [--project P] [--entity E]\n"
"\n"
"Upload the runs of a results directory (written by `sweep run`, `sweep\n"
"resume` or an offline `sweep agent`) to wandb as runs, exactly once: each\n"
"run's config, per-epoch history and summary, then its completion (exit\n"
"code 0 for finished and stopped runs, 1 for failed and killed ones). Runs\n"
"of a directory made by `sweep agent` for a wandb sweep join that sweep.\n"
"\n"
"DIR/wandb-sync.json records every run wandb accepted: a second sync\n"
"uploads nothing, and an interrupted sync resumes where it stopped (a\n"
"half-sent run continues at the history line wandb has). Runs still in\n"
"flight (not ended) are not uploaded.\n"
"\n"
"  -p, --project P   wandb project (default $WANDB_PROJECT, else the one the\n"
"                    agent recorded, else the results directory's sweep name)\n"
"  -e, --entity E    wandb entity (default $WANDB_ENTITY, else recorded, else\n"
"                    yours)\n"
"\n"
"Prints one line per uploaded run on stdout: ID and URL.\n"
"Exit status: 0 all uploaded, 1 wandb or network failure (run it again to\n"
"resume), 2 usage, settings or bad directory, 130 interrupted.\n";

/* Uploads one run; returns 0 or -1/SW_ERR_INTR with err set. */
static int sync_run(struct sw_http *http, const char *dir, json_t *run,
		    const char *entity, const char *project, const char *sweep,
		    char *out_entity, char *out_project, size_t outsz, struct sw_err *err)
{
	const char *id = json_string_value(json_object_get(run, "id"));
	const char *state = json_string_value(json_object_get(run, "state"));
	struct sw_wandb_run_args args = { 0 };
	struct sw_wandb_run joined = { 0 };
	struct sw_filestream fs = SW_FILESTREAM_INIT;
	json_t *wrapped = NULL, *history = NULL, *row, *summary = NULL;
	char *config = NULL, *line = NULL, host[256];
	size_t i;
	int ret = -1, rc, exitcode;

	wrapped = sw_wandb_wrap_config(json_object_get(run, "params"));
	config = wrapped ? json_dumps(wrapped, JSON_COMPACT) : NULL;
	if (!config) {
		sw_errorf(err, "run %s: its params are not an object", id);
		goto done;
	}
	if (sw_store_load_history(dir, id, &history, err) < 0)
		goto done;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	args.name = id;
	args.entity = entity;
	args.project = project;
	args.sweep = sweep;
	args.config = config;
	args.host = host;
	args.program = "sweep";
	rc = sw_wandb_upsert_bucket(http, &args, &joined, err);
	if (rc < 0 && sweep && http->last_status == 400) {
		/* a server that only lets runs it issued join a sweep */
		sw_cli_warning("run %s cannot join sweep %s (%s); uploading it as a run of "
			       "the project", id, sweep, err->msg);
		args.sweep = NULL;
		rc = sw_wandb_upsert_bucket(http, &args, &joined, err);
	}
	if (rc < 0) {
		ret = rc;
		goto done;
	}
	snprintf(out_entity, outsz, "%s", joined.entity ? joined.entity : entity ? entity : "");
	snprintf(out_project, outsz, "%s", joined.project ? joined.project : project);
	if (sw_filestream_init(&fs, http, out_entity, out_project,
			       joined.name ? joined.name : id,
			       joined.history_line_count > 0 ? joined.history_line_count : 0,
			       err) < 0)
		goto done;
	json_array_foreach(history, i, row) {
		if ((int64_t)i < joined.history_line_count)
			continue;   /* wandb has this line from an earlier sync */
		free(line);
		line = json_dumps(row, JSON_COMPACT);
		if (!line || sw_filestream_log(&fs, line, err) < 0)
			goto done;
	}
	summary = json_deep_copy(json_object_get(run, "summary"));
	if (json_is_object(summary)) {
		json_object_del(summary, "best");
		free(line);
		line = json_dumps(summary, JSON_COMPACT);
		if (line && sw_filestream_set_summary(&fs, line, err) < 0)
			goto done;
	}
	exitcode = state && (!strcmp(state, "failed") || !strcmp(state, "killed")) ? 1 : 0;
	rc = sw_filestream_finish(&fs, exitcode, err);
	if (rc < 0) {
		ret = rc;
		goto done;
	}
	ret = 0;
done:
	free(line);
	free(config);
	json_decref(summary);
	json_decref(wrapped);
	json_decref(history);
	sw_filestream_release(&fs);
	sw_wandb_run_release(&joined);
	return ret;
}

int cmd_sync(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "project", required_argument, NULL, 'p' },
		{ "entity", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct sw_wandb_settings settings = SW_WANDB_SETTINGS_INIT;
	struct sw_http http;
	struct sw_err err = SW_ERR_INIT;
	json_t *meta = NULL, *runs = NULL, *marker = NULL, *run, *wb;
	const char *entity_opt = NULL, *project_opt = NULL, *dir, *entity, *project;
	const char *sweep = NULL, *m_project, *m_entity, *id;
	char *viewer_entity = NULL, app[256], shown[256], e_out[256], p_out[256];
	int rc = 0, ret = SW_EXIT_FAILURE;
	size_t i, done_before = 0, uploaded = 0;

	sw_http_init(&http);
	opterr = 0;
	optind = 1;
	while ((rc = getopt_long(argc, argv, ":p:e:", opts, NULL)) != -1) {
		if (rc == 'p')
			project_opt = optarg;
		else if (rc == 'e')
			entity_opt = optarg;
		else
			return sw_cli_bad_option("sync", argc, argv, rc);
	}
	if (optind >= argc)
		return sw_cli_usage_error("sync", "no results directory given");
	if (argc - optind > 1)
		return sw_cli_usage_error("sync", "one results directory at a time (got %d)",
					  argc - optind);
	dir = argv[optind];

	/* 1. the directory */
	if (sw_store_load_meta(dir, &meta, &err) < 0 || sw_store_load_runs(dir, &runs, &err) < 0 ||
	    sw_sync_marker_load(dir, &marker, &err) < 0) {
		sw_cli_error("%s; sync takes a directory written by 'sweep run' or "
			     "'sweep agent'", err.msg);
		ret = SW_EXIT_USAGE;
		goto done;
	}

	/* 2. settings */
	rc = sw_wandb_cli_connect("sync", "unset WANDB_MODE", entity_opt, project_opt,
				  &settings, &http);
	if (rc) {
		ret = rc;
		goto done;
	}

	wb = json_object_get(meta, "wandb");
	m_project = json_string_value(json_object_get(wb, "project"));
	m_entity = json_string_value(json_object_get(wb, "entity"));
	project = settings.project ? settings.project : m_project ? m_project :
		  json_string_value(json_object_get(meta, "name"));
	if (!project || !*project)
		project = "uncategorized";
	entity = settings.entity ? settings.entity : m_entity;
	/* runs join the agent's sweep only where that sweep lives */
	if (json_string_value(json_object_get(wb, "sweep")) &&
	    (!m_project || !strcmp(m_project, project)) &&
	    (!m_entity || !entity || !strcmp(m_entity, entity)))
		sweep = json_string_value(json_object_get(wb, "sweep"));

	/* 3. upload what wandb has not accepted yet */
	json_array_foreach(runs, i, run) {
		id = json_string_value(json_object_get(run, "id"));
		if (json_object_get(json_object_get(marker, "runs"), id)) {
			done_before++;
			continue;
		}
		if (!entity) {
			rc = sw_wandb_viewer(&http, &viewer_entity, &err);
			if (rc < 0)
				goto fail;
			entity = viewer_entity;
		}
		rc = sync_run(&http, dir, run, entity, project, sweep, e_out, p_out,
			      sizeof(e_out), &err);
		if (rc < 0)
			goto fail;
		if (sw_sync_marker_done(dir, id, e_out, p_out, id, &err) < 0) {
			ret = sw_cli_error("%s", err.msg);
			goto done;
		}
		uploaded++;
		sw_wandb_app_url(&settings, app, sizeof(app));
		sw_url_redact(app, shown, sizeof(shown));
		printf("%s %s/%s/%s/runs/%s\n", id, shown, e_out, p_out, id);
		fflush(stdout);
	}
	fprintf(stderr, "sweep: synced %zu run%s to wandb (%zu uploaded before)\n", uploaded,
		uploaded == 1 ? "" : "s", done_before);
	ret = SW_EXIT_OK;
	goto done;
fail:
	sw_redact(err.msg, settings.api_key);
	sw_cli_error("%s", err.msg);
	if (rc == SW_ERR_INTR || *sw_interrupt_flag()) {
		ret = SW_EXIT_INTERRUPTED;
	} else {
		ret = SW_EXIT_FAILURE;
	}
	fprintf(stderr, "sweep: sync stopped after %zu run%s; run `sweep sync %s` again to "
		"resume\n", uploaded, uploaded == 1 ? "" : "s", dir);
done:
	free(viewer_entity);
	json_decref(meta);
	json_decref(runs);
	json_decref(marker);
	sw_http_release(&http);
	sw_wandb_settings_release(&settings);
	return ret;
}
