/* cmd_agent.c - `sweep agent [ENTITY/PROJECT/]SWEEP_ID`: work on a wandb
 * sweep (include/sweep/wandb/agent.h does the work). */
#define _GNU_SOURCE
#include "sweep/wandb/agent.h"
#include "base/cli.h"
#include "base/interrupt.h"
#include "sweep/wandb/wandb_cli.h"
#include "sweep/commands/commands.h"
#include "sweep/wandb/wandb_settings.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cmd_agent_usage[] =
"usage: sweep agent [ENTITY/PROJECT/]SWEEP_ID [--count N] [--parallel P] [--threads T]\n"
"                   [--data DIR] [--results DIR] [--sweep-file FILE] [--controller]\n"
"\n"
"Work on a wandb sweep: register an agent, take runs from wandb's controller\n"
"(heartbeat commands run/resume/stop/exit), train them in-process with the\n"
"built-in CIFAR-10 model, and stream each run's per-epoch history and summary\n"
"to wandb (file_stream). Any number of agents on any number of machines can\n"
"share one sweep. Every run is also recorded in a local results directory\n"
"(results/<sweep>-<time>/, as `sweep run` writes it); history wandb has not\n"
"accepted is kept and re-sent, and `sweep sync DIR` uploads whatever never\n"
"got through.\n"
"\n"
"  -n, --count N        take at most N runs, then exit when they are done\n"
"  -P, --parallel P     runs trained at once (default 1); all are reported\n"
"                       live to wandb\n"
"  -t, --threads T      OpenMP threads per run (default 1)\n"
"  -d, --data DIR       CIFAR-10 binary directory (default $SWEEP_DATA, else\n"
"                       ~/.cache/sweep/cifar-10-batches-bin, downloaded)\n"
"  -r, --results DIR    where results directories go (default results/)\n"
"  -f, --sweep-file F   the sweep's definition for offline mode (default: the\n"
"                       copy an earlier online agent cached)\n"
"      --controller     run the local controller instead: our search engine\n"
"                       proposes the sweep's runs (the sweep's config needs\n"
"                       `controller: {type: local}`); agents then run them\n"
"  -e, --entity E       wandb entity (default $WANDB_ENTITY, else yours)\n"
"  -p, --project P      wandb project (default $WANDB_PROJECT)\n"
"\n"
"Offline: with WANDB_MODE=offline, or when the server cannot be reached at\n"
"start, the sweep is searched locally as `sweep run` does, into a results\n"
"directory that `sweep sync DIR` uploads later.\n"
"\n"
"Settings as for `sweep create` (WANDB_API_KEY or ~/.netrc, WANDB_BASE_URL,\n"
"WANDB_HTTP_TIMEOUT). Ctrl-C stops the runs and waits for their upload;\n"
"a second Ctrl-C leaves the upload to `sweep sync`.\n"
"\n"
"Exit status: 0 done, 1 wandb or network failure (a rejected key included),\n"
"2 usage, settings or unknown sweep, 130 interrupted.\n";

/* Splits [ENTITY/PROJECT/]SWEEP_ID (or PROJECT/SWEEP_ID). */
static int split_path(char *arg, char **entity, char **project, char **sweep)
{
	char *parts[3], *s = arg, *slash;
	int n = 0, i;

	for (slash = arg; *slash; slash++)
		n += *slash == '/';
	if (n > 2)
		return -1;
	n = 0;
	for (;;) {
		parts[n++] = s;
		slash = strchr(s, '/');
		if (!slash)
			break;
		*slash = '\0';
		s = slash + 1;
	}
	for (i = 0; i < n; i++)
		if (!*parts[i])
			return -1;
	*sweep = parts[n - 1];
	*project = n >= 2 ? parts[n - 2] : NULL;
	*entity = n == 3 ? parts[0] : NULL;
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'd' },
		{ "results", required_argument, NULL, 'r' },
		{ "sweep-file", required_argument, NULL, 'f' },
		{ "controller", no_argument, NULL, 'C' },
		{ "entity", required_argument, NULL, 'e' },
		{ "project", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sw_agent_config cfg = SW_AGENT_CONFIG_INIT;
	struct sw_wandb_settings settings = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	const char *entity_opt = NULL, *project_opt = NULL;
	char *arg = NULL, *p_entity, *p_project, *p_sweep;
	unsigned long long v;
	long long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int rc, controller = 0, unreachable = 0, ret = SW_EXIT_FAILURE;
	const char *hb;

	opterr = 0;
	optind = 1;
	while ((rc = getopt_long(argc, argv, ":n:P:t:d:r:f:e:p:", opts, NULL)) != -1) {
		switch (rc) {
		case 'n':
			if (sw_cli_parse_uint(optarg, (1LL << 40), &v) < 0 || v == 0)
				return sw_cli_usage_error("agent", "--count must be a positive "
							  "whole number, got '%s'", optarg);
			cfg.count = v;
			break;
		case 'P':
			if (sw_cli_parse_uint(optarg, 4096, &v) < 0 || v == 0)
				return sw_cli_usage_error("agent", "--parallel must be a positive "
							  "number of runs, got '%s'", optarg);
			cfg.parallel = (int)v;
			break;
		case 't':
			if (sw_cli_parse_uint(optarg, 4096, &v) < 0 || v == 0)
				return sw_cli_usage_error("agent", "--threads must be a positive "
							  "number of threads, got '%s'", optarg);
			cfg.threads = (int)v;
			break;
		case 'd':
			cfg.data_dir = optarg;
			break;
		case 'r':
			cfg.results_root = optarg;
			break;
		case 'f':
			cfg.sweep_file = optarg;
			break;
		case 'C':
			controller = 1;
			break;
		case 'e':
			entity_opt = optarg;
			break;
		case 'p':
			project_opt = optarg;
			break;
		default:
			return sw_cli_bad_option("agent", argc, argv, rc);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("agent", "no sweep ID given");
	if (argc - optind > 1)
		return sw_cli_usage_error("agent", "unexpected argument '%s'", argv[optind + 1]);
	if (cores > 0 && (long long)cfg.parallel * cfg.threads > cores)
		sw_cli_warning("%d run%s x %d thread%s is more than the %lld cores here; "
			       "training will be slower", cfg.parallel,
			       cfg.parallel == 1 ? "" : "s", cfg.threads,
			       cfg.threads == 1 ? "" : "s", cores);
	arg = strdup(argv[optind]);
	if (!arg)
		return sw_cli_error("out of memory");
	if (split_path(arg, &p_entity, &p_project, &p_sweep) < 0) {
		ret = sw_cli_usage_error("agent", "'%s' is not a sweep ID: use SWEEP_ID, "
					 "PROJECT/SWEEP_ID or ENTITY/PROJECT/SWEEP_ID",
					 argv[optind]);
		goto done;
	}
	if (!entity_opt)
		entity_opt = p_entity;
	if (!project_opt)
		project_opt = p_project;
	hb = getenv("SWEEP_AGENT_HEARTBEAT");
	if (hb && *hb && atof(hb) > 0)
		cfg.heartbeat_s = atof(hb);

	if (sw_wandb_settings_load(&settings, entity_opt, project_opt, 0, &err) < 0) {
		sw_cli_error("%s", err.msg);
		ret = SW_EXIT_USAGE;
		goto done;
	}
	cfg.settings = &settings;
	cfg.entity = settings.entity;
	cfg.project = settings.project;
	cfg.sweep = p_sweep;
	if (settings.offline) {
		if (controller) {
			ret = sw_cli_usage_error("agent", "--controller needs the wandb server; "
						 "WANDB_MODE is offline");
			goto done;
		}
		fprintf(stderr, "sweep: WANDB_MODE is offline: runs are recorded locally\n");
		goto offline;
	}
	if (!settings.api_key) {
		/* say how to set it, exactly as the loader does when it is required */
		sw_wandb_settings_release(&settings);
		sw_wandb_settings_load(&settings, entity_opt, project_opt, 1, &err);
		sw_cli_error("%s", err.msg);
		ret = SW_EXIT_USAGE;
		goto done;
	}
	sw_wandb_cli_warn_insecure(&settings);
	sw_interrupt_install();
	if (controller)
		rc = sw_agent_controller(&cfg, &err);
	else
		rc = sw_agent_run(&cfg, &unreachable, &err);
	if (rc < 0 && unreachable) {
		sw_redact(err.msg, settings.api_key);
		sw_cli_warning("the wandb server cannot be reached (%s); going offline", err.msg);
		err.msg[0] = '\0';
		goto offline;
	}
	goto result;
offline:
	rc = sw_agent_offline(&cfg, &err);
result:
	sw_redact(err.msg, settings.api_key);
	if (rc == 0) {
		ret = SW_EXIT_OK;
	} else if (rc == SW_ERR_INTR) {
		if (err.msg[0])
			sw_cli_error("%s", err.msg);
		ret = SW_EXIT_INTERRUPTED;
	} else {
		sw_cli_error("%s", err.msg[0] ? err.msg : "the agent failed");
		ret = rc == SW_ERR_USAGE ? SW_EXIT_USAGE : SW_EXIT_FAILURE;
	}
done:
	sw_wandb_settings_release(&settings);
	free(arg);
	return ret;
}
