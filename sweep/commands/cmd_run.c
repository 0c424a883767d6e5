/* cmd_run.c - `sweep run`: search a sweep locally, training in-process (or
 * running the sweep's program). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sweep/run/alerts.h"
#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "sweep/run/controller.h"
#include "sweep/run/slurm.h"
#include "sweep/spec/spec.h"

const char cmd_run_usage[] =
"usage: sweep run FILE.yaml [--count N] [--parallel P|auto] [--threads T] [--seed S]\n"
"                 [--results DIR] [--data DIR] [--alert-webhook URL]\n"
"                 [--keep-checkpoints] [--launcher local|slurm] [--sbatch 'ARGS']\n"
"\n"
"Search a sweep locally, training every trial in this process (or, for a\n"
"sweep with 'program' or 'command', running that program for each trial),\n"
"and write the results under results/<name>-<YYYYmmdd-HHMMSS>/ (or under\n"
"--results DIR).\n"
"\n"
"  --count N           run at most N runs in all (default: until run_cap or\n"
"                      the grid ends; random and bayes sweeps need one of them)\n"
"  --parallel P|auto   trials trained at once (default auto: from model size)\n"
"  --threads T         OpenMP threads per trial (P x T <= cores)\n"
"  --seed S            sweep seed: search and every trial's seed (default:\n"
"                      chosen at random and recorded in meta.json)\n"
"  --results DIR       where sweep directories go (default results/)\n"
"  --data DIR          CIFAR-10 binary directory (default $SWEEP_DATA, then\n"
"                      ~/.cache/sweep/cifar-10-batches-bin, downloaded if absent)\n"
"  --alert-webhook URL POST alerts there as Slack-style JSON (also\n"
"                      $SWEEP_ALERT_WEBHOOK)\n"
"  --keep-checkpoints  keep each run's runs/<id>/checkpoint.bin after it ends\n"
"                      (default: deleted once the run is recorded)\n"
"  --launcher slurm    run every trial as a Slurm batch job (sbatch) instead of\n"
"                      here: --parallel is the jobs queued or running at once\n"
"                      (default 4), --threads each job's --cpus-per-task\n"
"                      (default 1); --results must be on a filesystem the\n"
"                      compute nodes share\n"
"  --sbatch 'ARGS'     more sbatch options for every job (partition, time\n"
"                      limit, memory, account, gres), e.g.\n"
"                      --sbatch '--partition=gpu --time=2:00:00 --mem=8G'\n"
"\n"
"Ctrl-C once: start no new runs, let running ones finish their epoch; twice:\n"
"abort them. Continue later with 'sweep resume DIR': interrupted runs go on\n"
"from their last finished epoch.\n";

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "results", required_argument, NULL, 'r' },
		{ "data", required_argument, NULL, 'd' },
		{ "alert-webhook", required_argument, NULL, 'w' },
		{ "keep-checkpoints", no_argument, NULL, 'k' },
		{ "launcher", required_argument, NULL, 'l' },
		{ "sbatch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct sw_run_config cfg = SW_RUN_CONFIG_INIT;
	struct sw_spec spec = { 0 };
	struct sw_err err = SW_ERR_INIT;
	const char *results = NULL;
	unsigned long long v, parallel = 0, threads = 0;
	int c, seed_set = 0, ret = SW_EXIT_USAGE;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":n:p:t:s:r:d:w:l:b:", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (sw_cli_parse_uint(optarg, 1LL << 40, &v) < 0 || v == 0)
				return sw_cli_usage_error("run", "--count must be a whole number "
							  "above 0, got '%s'", optarg);
			cfg.count = v;
			break;
		case 'p':
			if (!strcmp(optarg, "auto"))
				parallel = 0;
			else if (sw_cli_parse_uint(optarg, 4096, &parallel) < 0 || parallel == 0)
				return sw_cli_usage_error("run", "--parallel must be 'auto' or a "
							  "number of trials, got '%s'", optarg);
			break;
		case 't':
			if (sw_cli_parse_uint(optarg, 4096, &threads) < 0 || threads == 0)
				return sw_cli_usage_error("run", "--threads must be a number of "
							  "threads, got '%s'", optarg);
			break;
		case 's':
			if (sw_cli_parse_uint(optarg, (1ULL << 53) - 1, &v) < 0)
				return sw_cli_usage_error("run", "--seed must be a whole number "
							  "from 0 to 2^53-1, got '%s'", optarg);
			cfg.seed = (uint64_t)v;
			seed_set = 1;
			break;
		case 'r':
			if (!*optarg)
				return sw_cli_usage_error("run", "--results needs a directory, "
							  "got ''");
			results = optarg;
			break;
		case 'd':
			if (!*optarg)
				return sw_cli_usage_error("run", "--data needs a directory, got ''");
			cfg.data_dir = optarg;
			break;
		case 'w':
			cfg.webhook_url = optarg;
			break;
		case 'k':
			cfg.keep_checkpoints = 1;
			break;
		case 'l':
			if (strcmp(optarg, "local") && strcmp(optarg, "slurm"))
				return sw_cli_usage_error("run", "--launcher must be 'local' or "
							  "'slurm', got '%s'", optarg);
			cfg.launcher = strcmp(optarg, "slurm") ? NULL : "slurm";
			break;
		case 'b':
			cfg.sbatch_args = *optarg ? optarg : NULL;
			break;
		default:
			return sw_cli_bad_option("run", argc, argv, c);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("run", "missing sweep FILE.yaml");
	if (argc - optind > 1)
		return sw_cli_usage_error("run", "unexpected argument '%s'", argv[optind + 1]);
	if (sw_alerts_check_url("--alert-webhook", cfg.webhook_url, &err) < 0)
		return sw_cli_usage_error("run", "%s", err.msg);
	cfg.webhook_url = sw_alerts_webhook_url(cfg.webhook_url);
	if (sw_alerts_check_url("$SWEEP_ALERT_WEBHOOK", cfg.webhook_url, &err) < 0)
		return sw_cli_usage_error("run", "%s", err.msg);

	if (sw_run_load_spec(&spec, argv[optind]) < 0)
		goto done;
	if (spec.method != SW_METHOD_GRID && !spec.run_cap && !cfg.count) {
		sw_cli_usage_error("run", "a %s sweep never ends by itself: give --count N "
				   "or set run_cap in '%s'",
				   spec.method == SW_METHOD_BAYES ? "bayes" : "random",
				   argv[optind]);
		goto done;
	}
	if (cfg.sbatch_args && !cfg.launcher) {
		sw_cli_usage_error("run", "--sbatch needs --launcher slurm");
		goto done;
	}
	if (cfg.sbatch_args) {
		size_t n, i;
		char **words = sw_slurm_split_args(cfg.sbatch_args, &n, &err);

		for (i = 0; words && i < n; i++)
			free(words[i]);
		free(words);
		if (!words) {
			sw_cli_usage_error("run", "%s", err.msg);
			goto done;
		}
	}
	if (cfg.launcher) {
		/* jobs at once is the user's choice, not this machine's cores */
		cfg.parallel = parallel ? (int)parallel : 4;
		cfg.threads = threads ? (int)threads : 1;
	} else if (sw_run_pick_parallel(&spec, cores > 0 ? (int)cores : 1, (int)parallel,
					(int)threads, &cfg.parallel, &cfg.threads, &err) > 0) {
		sw_cli_warning("%s", err.msg);
	}
	if (!seed_set) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			    ((uint64_t)getpid() << 40)) & ((1ULL << 53) - 1);
	}
	ret = sw_run_main(&spec, NULL, results, &cfg);
done:
	sw_spec_release(&spec);
	return ret;
}
