/* cmd_train.c - `sweep train`: train the built-in CIFAR-10 CNN once with
 * hyperparameters given as key=value, printing one line (or JSON object)
 * per epoch, optionally saving the model. */
#include <getopt.h>
#include <jansson.h>
#include <omp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "sweep/commands/commands.h"
#include "trainer/checkpoint.h"
#include "trainer/data.h"
#include "trainer/hparams.h"
#include "trainer/train.h"

const char cmd_train_usage[] =
"usage: sweep train [--data DIR] [--threads T] [--save FILE] [--json]\n"
"                   [--save-every-epoch FILE] [--resume FILE] [key=value...]\n"
"\n"
"Train the built-in CIFAR-10 CNN once and print one line per epoch\n"
"(loss, accuracy, val_loss, val_accuracy on the test batch, learning_rate,\n"
"images_per_sec). Hyperparameters are key=value pairs from the table in\n"
"README.md, e.g. `sweep train epochs=2 learning_rate=3e-4 augment=flip`.\n"
"\n"
"  --data DIR      CIFAR-10 binary directory (default $SWEEP_DATA, then the cache)\n"
"  --threads T     OpenMP threads (default: all cores)\n"
"  --save FILE     write the trained model as .safetensors\n"
"  --json          one JSON object per epoch, then {\"summary\": {...}}\n"
"  --save-every-epoch FILE\n"
"                  after every epoch, replace FILE atomically with the whole\n"
"                  training state (weights, optimizer, random streams, history)\n"
"  --resume FILE   continue from FILE's last epoch (bit-identical with the same\n"
"                  --threads); a missing, torn or foreign FILE is a warning and\n"
"                  training starts over. Saving goes on into FILE unless\n"
"                  --save-every-epoch names another\n"
"\n"
"Exit status: 0 trained, 1 failed (data, diverged loss), 2 usage or bad\n"
"hyperparameter, 130 interrupted.\n";

static atomic_int stop_flag;
static volatile int stop_download;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
	stop_download = 1;
}

struct ctx {
	int json;
	int tty;
	const struct cnn_trainer *trainer;
	const char *checkpoint;     /* save here after every epoch, or NULL */
	json_t *history;            /* epochs so far (the checkpoint's note) */
	struct sw_err save_err;     /* why saving failed */
};

static json_t *epoch_json(const struct cnn_epoch_metrics *m)
{
	return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
			 "epoch", m->epoch, "loss", m->loss, "accuracy", m->accuracy,
			 "val_loss", m->val_loss, "val_accuracy", m->val_accuracy,
			 "learning_rate", m->learning_rate,
			 "images_per_sec", m->images_per_sec, "seconds", m->seconds);
}

static void print_json(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
	fflush(stdout);
}

static int on_epoch(const struct cnn_epoch_metrics *m, void *arg)
{
	struct ctx *c = arg;

	if (c->tty)
		fprintf(stderr, "\r\033[K");
	if (c->json) {
		print_json(epoch_json(m));
	} else {
		printf("epoch %d/%d: loss %.4f - accuracy %.4f - val_loss %.4f - "
		       "val_accuracy %.4f - learning_rate %.3g - %.0f images/s - %.1f s\n",
		       m->epoch, m->epochs, m->loss, m->accuracy, m->val_loss,
		       m->val_accuracy, m->learning_rate, m->images_per_sec, m->seconds);
		fflush(stdout);
	}
	if (!c->checkpoint)
		return 0;
	json_array_append_new(c->history, epoch_json(m));
	/* a checkpoint that cannot be written stops the run: it was asked for */
	return cnn_checkpoint_save(c->trainer, c->history, c->checkpoint,
				   &c->save_err) < 0;
}

/* --resume: continues tr from path, or warns and leaves it at epoch 0. */
static void resume_from(struct cnn_trainer *tr, const char *path, struct ctx *c)
{
	struct sw_err err = SW_ERR_INIT;
	json_t *note = NULL;

	if (cnn_checkpoint_load(tr, path, &note, &err) < 0) {
		fprintf(stderr, "sweep: warning: %s: training from the start\n", err.msg);
		return;
	}
	fprintf(stderr, "sweep: resuming after epoch %d of %d from '%s'\n",
		tr->epochs_done, tr->model.hp.epochs, path);
	if (json_is_array(note)) {
		json_decref(c->history);
		c->history = note;
		note = NULL;
	}
	json_decref(note);
}

static void on_batch(int epoch, int batch, int n_batches, double loss, void *arg)
{
	struct ctx *c = arg;

	if (c->tty && (batch % 10 == 0 || batch == n_batches))
		fprintf(stderr, "\r\033[Kepoch %d batch %d/%d loss %.4f", epoch, batch,
			n_batches, loss);
}

int cmd_train(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "save", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "save-every-epoch", required_argument, NULL, 'e' },
		{ "resume", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *save = NULL, *resume = NULL;
	long threads = omp_get_num_procs();
	struct ctx ctx = { 0, 0, NULL, NULL, NULL, SW_ERR_INIT };
	struct cnn_hparams hp;
	struct cnn_data_opts dopts = CNN_DATA_OPTS_INIT;
	struct cnn_dataset *ds = NULL;
	struct cnn_trainer tr = CNN_TRAINER_INIT;
	struct cnn_train_opts topts = CNN_TRAIN_OPTS_INIT;
	struct cnn_epoch_metrics last;
	struct sw_err err = SW_ERR_INIT;
	struct sigaction sa, old_int, old_term;
	int c, rc, ret = SW_EXIT_FAILURE, have_trainer = 0;
	const char *status = "failed";

	memset(&last, 0, sizeof(last));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 't':
			if (sw_cli_parse_threads("train", optarg, &threads))
				return SW_EXIT_USAGE;
			break;
		case 's':
			save = optarg;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'e':
		case 'r':
			if (!*optarg)
				return sw_cli_usage_error("train", "--%s needs a file name",
							  c == 'e' ? "save-every-epoch" : "resume");
			*(c == 'e' ? &ctx.checkpoint : &resume) = optarg;
			break;
		default:
			return sw_cli_bad_option("train", argc, argv, c);
		}
	}
	cnn_hparams_default(&hp);
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '='), key[64];

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key))
			return sw_cli_usage_error("train", "expected key=value, got '%s'", argv[i]);
		memcpy(key, argv[i], (size_t)(eq - argv[i]));
		key[eq - argv[i]] = '\0';
		if (cnn_hparams_set(&hp, key, eq + 1, &err) < 0)
			return sw_cli_usage_error("train", "%s", err.msg);
	}
	ctx.tty = isatty(STDERR_FILENO);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	dopts.train_limit = hp.train_limit;
	/* tests use small generated files: records per file (official: 10,000) */
	if (getenv("SWEEP_TEST_CIFAR_RECORDS"))
		dopts.batch_records = atoi(getenv("SWEEP_TEST_CIFAR_RECORDS"));
	dopts.val_limit = hp.val_limit;
	rc = cnn_data_open(data, &dopts, &stop_download, &ds, &err);
	if (rc == SW_ERR_INTR) {
		ret = SW_EXIT_INTERRUPTED;
		sw_cli_error("interrupted");
		goto done;
	}
	if (rc < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	if (cnn_trainer_init(&tr, &hp, ds, (int)threads, &err) < 0) {
		sw_cli_error("%s", err.msg);
		goto done;
	}
	have_trainer = 1;
	ctx.trainer = &tr;
	if (resume && !ctx.checkpoint)
		ctx.checkpoint = resume;
	ctx.history = json_array();
	if (!ctx.history) {
		sw_cli_error("out of memory");
		goto done;
	}
	if (resume)
		resume_from(&tr, resume, &ctx);
	last = tr.last;
	topts.on_epoch = on_epoch;
	topts.on_batch = on_batch;
	topts.ctx = &ctx;
	topts.stop = &stop_flag;
	rc = cnn_trainer_run(&tr, &topts, &last, &err);
	if (ctx.tty)
		fprintf(stderr, "\r\033[K");
	if (ctx.save_err.msg[0]) {
		err = ctx.save_err;
		sw_cli_error("%s", err.msg);
	} else if (rc == SW_ERR_INTR) {
		status = "stopped";
		ret = SW_EXIT_INTERRUPTED;
		sw_cli_error("interrupted after %d epoch(s)", tr.epochs_done);
	} else if (rc < 0) {
		sw_cli_error("%s", err.msg);
	} else {
		status = "ok";
		ret = SW_EXIT_OK;
	}
	if (ret == SW_EXIT_OK && save) {
		json_t *extra = json_pack("{s:s}", "val_accuracy", "");
		char buf[32];

		snprintf(buf, sizeof(buf), "%.6f", last.val_accuracy);
		json_object_set_new(extra, "val_accuracy", json_string(buf));
		if (cnn_model_save(&tr.model, save, extra, &err) < 0) {
			sw_cli_error("%s", err.msg);
			ret = SW_EXIT_FAILURE;
			status = "failed";
			save = NULL;
		}
		json_decref(extra);
	}
done:
	if (ctx.json && have_trainer) {
		json_t *s = json_pack("{s:s, s:i, s:i, s:I}", "status", status,
				      "epochs", tr.epochs_done, "threads", (int)threads,
				      "seed", (json_int_t)hp.seed);

		if (s && tr.epochs_done > 0) {
			json_object_set_new(s, "loss", json_real(last.loss));
			json_object_set_new(s, "accuracy", json_real(last.accuracy));
			json_object_set_new(s, "val_loss", json_real(last.val_loss));
			json_object_set_new(s, "val_accuracy", json_real(last.val_accuracy));
		}
		if (s && strcmp(status, "ok") && err.msg[0])
			json_object_set_new(s, "reason", json_string(err.msg));
		if (s && save && ret == SW_EXIT_OK)
			json_object_set_new(s, "saved", json_string(save));
		if (s)
			json_object_set_new(s, "hparams", cnn_hparams_to_json(&hp));
		print_json(json_pack("{s:o}", "summary", s));
	}
	if (have_trainer)
		cnn_trainer_release(&tr);
	json_decref(ctx.history);
	cnn_dataset_unref(ds);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return ret;
}
