/* cmd_bench.c - `sweep bench`: training and inference throughput of the
 * default model on synthetic data (no data set needed), with the GEMM rate
 * it reaches and the process's peak memory. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "base/rng.h"
#include "trainer/hparams.h"
#include "trainer/kernels.h"
#include "trainer/net.h"

const char cmd_bench_usage[] =
"usage: sweep bench [--batch N] [--threads T] [--seconds S] [--json] [key=value...]\n"
"\n"
"Measure training and inference throughput of the default model on synthetic\n"
"data (random images and labels; a training step is forward, backward and\n"
"an Adam update). key=value sets a model hyperparameter as `sweep train`\n"
"does (conv1_filters=64 conv2_filters=128); batch_size is --batch.\n"
"\n"
"  --batch N       batch size (default 256)\n"
"  --threads T     OpenMP threads (default: all cores)\n"
"  --seconds S     how long to measure each phase (default 10)\n"
"  --json          one JSON object instead of text: train_images_per_sec,\n"
"                  train_images_per_cpu_sec (CPU time of all threads: a\n"
"                  figure a busy machine disturbs less), infer_images_per_sec,\n"
"                  infer_images_per_cpu_sec, gflops (training), infer_gflops,\n"
"                  batch, threads, seconds, peak_rss_mb, conv1_filters,\n"
"                  conv2_filters\n";

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* A whole number in [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
	unsigned long long v;

	if (sw_cli_parse_uint(s, (unsigned long long)hi, &v) < 0 || (long)v < lo)
		return -1;
	*out = (long)v;
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	long batch = 256, threads = omp_get_num_procs(), c;
	double seconds = 10;
	int json = 0, ret = SW_EXIT_FAILURE;
	struct cnn_hparams hp;
	struct cnn_net_config cfg;
	struct cnn_net net;
	struct sw_err err = SW_ERR_INIT;
	struct sw_rng rng;
	float *x = NULL, *m = NULL, *v = NULL;
	uint8_t *labels = NULL;
	char *end;

	memset(&net, 0, sizeof(net));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_int(optarg, 1, 4096, &batch) < 0)
				return sw_cli_usage_error("bench", "--batch must be an integer "
							  "from 1 to 4096, got '%s'", optarg);
			break;
		case 't':
			if (sw_cli_parse_threads("bench", optarg, &threads))
				return SW_EXIT_USAGE;
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(seconds > 0 && seconds <= 3600))
				return sw_cli_usage_error("bench", "--seconds must be a number "
							  "of seconds in (0, 3600], got '%s'",
							  optarg);
			break;
		case 'j':
			json = 1;
			break;
		default:
			return sw_cli_bad_option("bench", argc, argv, (int)c);
		}
	}
	cnn_hparams_default(&hp);
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '='), key[64];

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key))
			return sw_cli_usage_error("bench", "expected key=value, got '%s'", argv[i]);
		memcpy(key, argv[i], (size_t)(eq - argv[i]));
		key[eq - argv[i]] = '\0';
		if (cnn_hparams_set(&hp, key, eq + 1, &err) < 0)
			return sw_cli_usage_error("bench", "%s", err.msg);
	}
	cnn_net_config_from_hparams(&cfg, &hp);
	if (cnn_net_init(&net, &cfg, (int)batch, (int)threads, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	cnn_net_init_weights(&net, 1);
	size_t per = (size_t)cfg.in_c * cfg.in_size * cfg.in_size;
	x = malloc(sizeof(float) * per * batch);
	labels = malloc((size_t)batch);
	m = calloc(net.n_params, sizeof(float));
	v = calloc(net.n_params, sizeof(float));
	if (!x || !labels || !m || !v) {
		sw_cli_error("out of memory for a batch of %ld images", batch);
		goto done;
	}
	sw_rng_seed(&rng, 1, 2);
	for (size_t i = 0; i < per * batch; i++)
		x[i] = (float)sw_rng_double(&rng);
	for (long i = 0; i < batch; i++)
		labels[i] = (uint8_t)sw_rng_bounded(&rng, 10);

	/* training: one warm-up step, then steps until `seconds` passed */
	double t0 = 0, c0 = 0, train_ips, infer_ips, train_cpu_ips, infer_cpu_ips;
	long steps = 0;
	for (long s = 0;; s++) {
		if (s == 1) {
			t0 = omp_get_wtime();
			c0 = cpu_seconds();
		}
		cnn_net_zero_grad(&net);
		cnn_net_forward(&net, x, (int)batch, CNN_TRAIN, (uint64_t)s);
		cnn_net_loss(&net, labels, (int)batch, NULL, 1);
		cnn_net_backward(&net, (int)batch);
		cnn_adam(net.params, m, v, net.grads, net.n_params, 1e-3f, 0.9f, 0.999f,
			 1e-7f, 0, s + 1, (int)threads);
		if (s >= 1) {
			steps = s;
			if (omp_get_wtime() - t0 >= seconds && steps >= 3)
				break;
		}
	}
	train_ips = steps * batch / (omp_get_wtime() - t0);
	train_cpu_ips = steps * batch / (cpu_seconds() - c0);

	steps = 0;
	for (long s = 0;; s++) {
		if (s == 1) {
			t0 = omp_get_wtime();
			c0 = cpu_seconds();
		}
		cnn_net_forward(&net, x, (int)batch, CNN_EVAL, 0);
		if (s >= 1) {
			steps = s;
			if (omp_get_wtime() - t0 >= seconds && steps >= 3)
				break;
		}
	}
	infer_ips = steps * batch / (omp_get_wtime() - t0);
	infer_cpu_ips = steps * batch / (cpu_seconds() - c0);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double rss_mb = ru.ru_maxrss / 1024.0;
	double gflops = train_ips * cnn_net_flops(&net, 1) / 1e9;
	double igflops = infer_ips * cnn_net_flops(&net, 0) / 1e9;

	if (json) {
		json_t *o = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f, s:f, s:f, s:I, s:I}",
				      "train_images_per_sec", train_ips,
				      "train_images_per_cpu_sec", train_cpu_ips,
				      "infer_images_per_sec", infer_ips,
				      "infer_images_per_cpu_sec", infer_cpu_ips,
				      "gflops", gflops, "infer_gflops", igflops,
				      "batch", (json_int_t)batch,
				      "threads", (json_int_t)threads,
				      "seconds", seconds, "peak_rss_mb", rss_mb,
				      "train_mflop_per_image", cnn_net_flops(&net, 1) / 1e6,
				      "conv1_filters", (json_int_t)cfg.conv1,
				      "conv2_filters", (json_int_t)cfg.conv2);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (!s) {
			json_decref(o);
			sw_cli_error("out of memory");
			goto done;
		}
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("model: conv %d/%d, dense %d, batch %ld, threads %ld\n",
		       cfg.conv1, cfg.conv2, cfg.dense, batch, threads);
		printf("train: %.1f images/s (%.1f GFLOP/s, %.1f MFLOP per image; "
		       "%.1f images per CPU-second)\n", train_ips, gflops,
		       cnn_net_flops(&net, 1) / 1e6, train_cpu_ips);
		printf("infer: %.1f images/s (%.1f GFLOP/s; %.1f images per CPU-second)\n",
		       infer_ips, igflops, infer_cpu_ips);
		printf("peak RSS: %.1f MB\n", rss_mb);
	}
	fflush(stdout);
	ret = SW_EXIT_OK;
done:
	free(x);
	free(labels);
	free(m);
	free(v);
	cnn_net_release(&net);
	return ret;
}
