/* cmd_eval.c - `sweep eval`: test loss and accuracy of a saved model on the
 * CIFAR-10 test batch, preprocessed by the model's own saved pipeline. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "trainer/data.h"
#include "trainer/train.h"

const char cmd_eval_usage[] =
"usage: sweep eval FILE.safetensors [--data DIR] [--threads T] [--json]\n"
"\n"
"Print the test loss and accuracy of a model saved by `sweep train --save`\n"
"on the CIFAR-10 test batch (all 10,000 images).\n"
"\n"
"  --data DIR      CIFAR-10 binary directory (default $SWEEP_DATA, then the cache)\n"
"  --threads T     OpenMP threads (default: all cores)\n"
"  --json          {\"test_loss\": ..., \"test_accuracy\": ..., \"images\": N}\n";

int cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *path;
	long threads = omp_get_num_procs();
	int c, json = 0, ret = SW_EXIT_FAILURE;
	struct cnn_model m;
	struct cnn_data_opts dopts = CNN_DATA_OPTS_INIT;
	struct cnn_dataset *ds = NULL;
	struct sw_err err = SW_ERR_INIT;
	double loss, acc;

	memset(&m, 0, sizeof(m));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 't':
			if (sw_cli_parse_threads("eval", optarg, &threads))
				return SW_EXIT_USAGE;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return sw_cli_bad_option("eval", argc, argv, c);
		}
	}
	if (optind >= argc)
		return sw_cli_usage_error("eval", "missing the model file to evaluate");
	if (argc - optind > 1)
		return sw_cli_usage_error("eval", "unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];

	if (cnn_model_load(&m, path, 500, (int)threads, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	dopts.skip_train = 1;
	/* tests use small generated files: records per file (official: 10,000) */
	if (getenv("SWEEP_TEST_CIFAR_RECORDS"))
		dopts.batch_records = atoi(getenv("SWEEP_TEST_CIFAR_RECORDS"));
	if (cnn_data_open(data, &dopts, NULL, &ds, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	cnn_model_evaluate(&m, &ds->test, &loss, &acc);
	if (json)
		printf("{\"test_loss\": %.6f, \"test_accuracy\": %.6f, \"images\": %d}\n",
		       loss, acc, ds->test.n);
	else
		printf("test_loss %.4f - test_accuracy %.4f (%d images)\n", loss, acc,
		       ds->test.n);
	ret = SW_EXIT_OK;
done:
	cnn_model_release(&m);
	cnn_dataset_unref(ds);
	return ret;
}
