/*
 * train.h - training one model: the epoch loop (shuffling, transform
 * pipeline, optimizer, learning-rate schedule, precise BatchNorm,
 * validation on the test split), metrics per epoch through a callback, a
 * stop flag polled between batches, and model save/load as .safetensors.
 *
 * A struct cnn_model is what a checkpoint holds: hyperparameters, the
 * transform pipeline and the network (weights and BatchNorm moving
 * statistics). A struct cnn_trainer trains one model on a shared, borrowed
 * dataset (data.h) with its own thread count: every OpenMP region it opens
 * uses exactly `threads` threads and BLAS runs single-threaded inside them,
 * so two trainers in one process with T1 and T2 threads use T1+T2 cores.
 * For the same hyperparameters (seed included) and thread count, two runs
 * give bit-identical metrics and weights.
 *
 * A model and a trainer hold a struct cnn_net, which points into itself:
 * initialise them where they will stay and never copy them.
 *
 * Usage:
 *   struct cnn_trainer t = CNN_TRAINER_INIT;
 *   if (cnn_trainer_init(&t, &hp, ds, threads, &err) < 0) ...;
 *   rc = cnn_trainer_run(&t, &opts, &summary, &err);
 *   cnn_model_save(&t.model, "m.safetensors", &err);
 *   cnn_trainer_release(&t);
 *
 * defines: struct cnn_epoch_metrics, struct cnn_train_opts,
 *          CNN_TRAIN_OPTS_INIT, struct cnn_model, struct cnn_trainer,
 *          CNN_TRAINER_INIT, CNN_PRECISE_BN_IMAGES, cnn_model_init,
 *          cnn_model_release, cnn_model_evaluate, cnn_model_save,
 *          cnn_model_load, cnn_trainer_init, cnn_trainer_run,
 *          cnn_trainer_release, cnn_lr_at_epoch
 */
#ifndef CNN_TRAIN_H
#define CNN_TRAIN_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/err.h"
#include "base/rng.h"
#include "trainer/data.h"
#include "trainer/hparams.h"
#include "trainer/net.h"
#include "trainer/transform.h"

/* Training images precise BatchNorm runs through (in batches of
 * batch_size, fewer when the training set is smaller) before each
 * evaluation. */
#define CNN_PRECISE_BN_IMAGES 4096

/* One epoch's results, named as Keras logs them. */
struct cnn_epoch_metrics {
	int epoch;              /* 1-based */
	int epochs;             /* total planned */
	double loss;            /* mean training loss over the epoch */
	double accuracy;        /* training accuracy over the epoch */
	double val_loss, val_accuracy;  /* on the validation (test) split */
	double learning_rate;   /* used during this epoch */
	double images_per_sec;  /* training images per second (this epoch) */
	double seconds;         /* wall time of the epoch, evaluation included */
};

struct cnn_train_opts {
	/* after every epoch; returning non-zero stops the run (as a stop) */
	int (*on_epoch)(const struct cnn_epoch_metrics *m, void *ctx);
	/* after every batch (may be NULL): running mean loss of the epoch */
	void (*on_batch)(int epoch, int batch, int n_batches, double loss,
			 void *ctx);
	void *ctx;
	/* polled between batches; non-zero stops the run (may be NULL) */
	const atomic_int *stop;
};
#define CNN_TRAIN_OPTS_INIT { NULL, NULL, NULL, NULL }

struct cnn_model {
	struct cnn_hparams hp;
	struct cnn_pipeline pipeline;
	struct cnn_net net;
	int ready;
};

struct cnn_trainer {
	struct cnn_model model;
	int threads;
	struct cnn_dataset *ds;     /* one reference, taken at init */
	struct cnn_split train, val;
	/* optimizer state: slabs beside net.params */
	float *opt_m, *opt_v;
	long step;
	struct sw_rng rng;          /* shuffling and augmentation */
	float *batch;               /* (batch_size, 3, S, S) */
	uint8_t *labels;            /* batch_size */
	int *perm;                  /* train.n */
	struct cnn_epoch_metrics last;
	int epochs_done;
};
#define CNN_TRAINER_INIT { 0 }

/* Builds an untrained model (net sized for batches of max_batch, weights
 * initialised from hp->seed) for hp and pipeline. Returns 0 or -1 with err. */
int cnn_model_init(struct cnn_model *m, const struct cnn_hparams *hp,
		   const struct cnn_pipeline *pipeline, int max_batch,
		   int threads, struct sw_err *err);
void cnn_model_release(struct cnn_model *m);

/* Mean loss and accuracy of the model (evaluation mode) on split s, in
 * batches of the net's max batch. s must have labels. */
void cnn_model_evaluate(struct cnn_model *m, const struct cnn_split *s,
			double *loss, double *accuracy);

/* Writes the model as .safetensors: every weight and moving statistic
 * under its view name (net.h), metadata format/format_version/pipeline/
 * hparams (safetensors.h) plus `extra` (an object of strings, may be
 * NULL). Returns 0 or -1 with err naming path. */
int cnn_model_save(const struct cnn_model *m, const char *path,
		   const json_t *extra, struct sw_err *err);

/* Reads a model written by cnn_model_save, checking format, hyperparameters,
 * pipeline and every tensor's shape; the net is sized for max_batch on
 * threads threads. Returns 0 or -1 with err (m released). */
int cnn_model_load(struct cnn_model *m, const char *path, int max_batch,
		   int threads, struct sw_err *err);

/* Prepares a trainer: takes a reference on ds, applies train_limit/
 * val_limit, builds the pipeline (fitting standardisation on the training
 * images) and the model. threads >= 1. Returns 0 or -1 with err (a
 * configuration that cannot train: empty split, sizes). */
int cnn_trainer_init(struct cnn_trainer *t, const struct cnn_hparams *hp,
		     struct cnn_dataset *ds, int threads, struct sw_err *err);

/* Trains for hp.epochs epochs (continuing after epochs already done),
 * evaluating after each. Returns 0 when all epochs ran; SW_ERR_INTR when
 * stopped (by opts->stop or on_epoch), with the epochs done so far kept;
 * SW_ERR with err set when the loss became NaN or infinite ("loss is nan
 * at epoch 2, batch 17: lower learning_rate") - the run failed. *last
 * (may be NULL) receives the last completed epoch's metrics. */
int cnn_trainer_run(struct cnn_trainer *t, const struct cnn_train_opts *opts,
		    struct cnn_epoch_metrics *last, struct sw_err *err);

void cnn_trainer_release(struct cnn_trainer *t);

/* The learning rate of epoch e (0-based) of E under hp's schedule:
 * constant; cosine lr*0.5*(1+cos(pi*e/E)); step x0.1 from 50% and again
 * from 75% of the epochs. */
double cnn_lr_at_epoch(const struct cnn_hparams *hp, int e, int E);

#endif
