/* cmd_resume.c - `sweep resume DIR`: continue a local sweep after Ctrl-C, a
 * crash or a kill, with the settings it was started with. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep/run/alerts.h"
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/run/controller.h"
#include "sweep/spec/spec.h"
#include "sweep/store/store.h"

const char cmd_resume_usage[] =
"usage: sweep resume DIR [--data DIR] [--alert-webhook URL]\n"
"\n"
"Continue a local sweep after Ctrl-C, a crash or a kill: finished runs are\n"
"kept and never run again, runs that were in flight run again from the\n"
"start, and the search continues where it was, with the sweep's recorded\n"
"seed, parallelism and run count. A sweep run with --launcher slurm goes on\n"
"on Slurm: jobs still queued or running are re-attached (not submitted\n"
"again), runs whose jobs ended meanwhile are read from their files, and\n"
"only runs whose jobs vanished are submitted again.\n"
"\n"
"  --data DIR          CIFAR-10 directory (default: the one recorded)\n"
"  --alert-webhook URL POST alerts there (also $SWEEP_ALERT_WEBHOOK)\n";

/* The settings resume continues with must be what `sweep run` wrote: a
 * damaged meta.json would otherwise mean seed 0 and a different search.
 * Returns 0, or -1 after printing the error. */
static int check_meta(const char *dir, const json_t *meta)
{
	static const char *const ints[] = { "seed", "count", "parallel", "threads" };
	size_t i;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		const json_t *v = json_object_get(meta, ints[i]);

		if (!v && i > 0)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (i == 0 && json_integer_value(v) > (json_int_t)((1ULL << 53) - 1))) {
			sw_cli_error("'%s/meta.json' is damaged: '%s' is %s; the sweep "
				     "cannot continue as it began (start a new one with "
				     "'sweep run')", dir, ints[i],
				     v ? "not a whole number 0 or more" : "missing");
			return -1;
		}
	}
	return 0;
}

int cmd_resume(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "alert-webhook", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct sw_run_config cfg = SW_RUN_CONFIG_INIT;
	struct sw_spec spec = { 0 };
	struct sw_err err = SW_ERR_INIT;
	json_t *meta = NULL;
	char *yaml = NULL;
	const char *dir;
	struct stat sb;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int c, ret = SW_EXIT_USAGE;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":d:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg)
				return sw_cli_usage_error("resume", "--data needs a directory, "
							  "got ''");
			cfg.data_dir = optarg;
			break;
		case 'w':
			cfg.webhook_url = optarg;
			break;
		default:
			return sw_cli_bad_option("resume", argc, argv, c);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("resume", "missing results DIR");
	if (argc - optind > 1)
		return sw_cli_usage_error("resume", "unexpected argument '%s'",
					  argv[optind + 1]);
	dir = argv[optind];
	if (sw_alerts_check_url("--alert-webhook", cfg.webhook_url, &err) < 0)
		return sw_cli_usage_error("resume", "%s", err.msg);
	cfg.webhook_url = sw_alerts_webhook_url(cfg.webhook_url);
	if (sw_alerts_check_url("$SWEEP_ALERT_WEBHOOK", cfg.webhook_url, &err) < 0)
		return sw_cli_usage_error("resume", "%s", err.msg);

	if (stat(dir, &sb) < 0) {
		sw_cli_error("cannot open sweep directory '%s': %s", dir, strerror(errno));
		ret = SW_EXIT_FAILURE;
		goto done;
	}
	if (sw_store_load_meta(dir, &meta, &err) < 0) {
		sw_cli_error("%s; give a directory made by 'sweep run' (see 'sweep ls')",
			     err.msg);
		ret = SW_EXIT_FAILURE;
		goto done;
	}
	if (check_meta(dir, meta) < 0) {
		ret = SW_EXIT_FAILURE;
		goto done;
	}
	if (asprintf(&yaml, "%s/sweep.yaml", dir) < 0)
		goto done;
	if (sw_run_load_spec(&spec, yaml) < 0)
		goto done;
	cfg.seed = (uint64_t)json_integer_value(json_object_get(meta, "seed"));
	cfg.count = json_integer_value(json_object_get(meta, "count"));
	cfg.parallel = (int)json_integer_value(json_object_get(meta, "parallel"));
	cfg.threads = (int)json_integer_value(json_object_get(meta, "threads"));
	if (!cfg.data_dir)
		cfg.data_dir = json_string_value(json_object_get(meta, "data_dir"));
	cfg.workdir = json_string_value(json_object_get(meta, "workdir"));
	cfg.launcher = json_string_value(json_object_get(meta, "launcher"));
	cfg.sbatch_args = json_string_value(json_object_get(meta, "sbatch"));
	if (cfg.launcher && strcmp(cfg.launcher, "slurm")) {
		sw_cli_error("'%s/meta.json' names launcher '%s', which this sweep does "
			     "not know", dir, cfg.launcher);
		goto done;
	}
	if (cfg.launcher && (cfg.parallel < 1 || cfg.threads < 1)) {
		cfg.parallel = cfg.parallel < 1 ? 4 : cfg.parallel;
		cfg.threads = cfg.threads < 1 ? 1 : cfg.threads;
	} else if (!cfg.launcher &&
		   sw_run_pick_parallel(&spec, cores > 0 ? (int)cores : 1,
					cfg.parallel > 0 ? cfg.parallel : 0,
					cfg.threads > 0 ? cfg.threads : 0,
					&cfg.parallel, &cfg.threads, &err) > 0) {
		/* as recorded (what is missing chosen again), as `run` takes
		 * it: more than the cores here is a warning */
		sw_cli_warning("%s", err.msg);
	}
	ret = sw_run_main(&spec, dir, NULL, &cfg);
done:
	free(yaml);
	json_decref(meta);
	sw_spec_release(&spec);
	return ret;
}
