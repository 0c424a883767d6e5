/* equivalence_dump.c - the numbers equivalence_torch.py compares against
 * PyTorch: sweep's trainer on one fixed batch with dropout off, written as
 * one .safetensors file.
 *
 *   equivalence_dump DATA_DIR OUT.safetensors [SEED [N [STEPS [PRECISE_BN]]]]
 *
 * The training set is the first N images (default 256) and the batch size
 * is N, so every epoch of cnn_trainer_run is one optimizer step on all N
 * images (their order does not change the gradient beyond rounding). Writes:
 *   init.<view>          every weight and moving statistic at initialisation
 *   input, labels        the batch as the network sees it (labels as floats)
 *   fwd.logits, fwd.loss one training-mode forward pass of the batch
 *   fwd.pool1, fwd.pool2 the element (0..3) each 2x2 max pooling chose
 *   grad.<param>         the gradients of the mean loss after one backward
 *   fwd.<stat>           the moving statistics after that one forward
 *   step1.<view>, stepK.<view>  weights and statistics after 1 and STEPS
 *                        steps of the real training loop (Adam 1e-3, precise
 *                        BN after each step when PRECISE_BN is 1, default)
 *   val.input, val.labels, step1.eval, stepK.eval  eval-mode logits of the
 *                        first N test images
 * Dropout rates are 0; everything else is the notebook recipe's default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "trainer/data.h"
#include "trainer/hparams.h"
#include "trainer/safetensors.h"
#include "trainer/train.h"

#define MAX_OUT 512

struct dump {
	struct cnn_st_tensor t[MAX_OUT];
	char *names[MAX_OUT];
	float *owned[MAX_OUT];
	int n;
};

/* adds a copy of data (so later steps cannot change it) */
static void put(struct dump *d, const char *prefix, const char *name,
		const float *data, int ndim, const int64_t *shape)
{
	size_t n = 1;
	struct cnn_st_tensor *t = &d->t[d->n];

	if (d->n >= MAX_OUT) {
		fprintf(stderr, "equivalence_dump: too many tensors\n");
		exit(1);
	}
	for (int i = 0; i < ndim; i++)
		n *= (size_t)shape[i];
	d->names[d->n] = malloc(strlen(prefix) + strlen(name) + 2);
	sprintf(d->names[d->n], "%s.%s", prefix, name);
	d->owned[d->n] = malloc(sizeof(float) * (n ? n : 1));
	memcpy(d->owned[d->n], data, sizeof(float) * n);
	t->name = d->names[d->n];
	t->ndim = ndim;
	memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
	t->data = d->owned[d->n];
	d->n++;
}

static void put_views(struct dump *d, const char *prefix, struct cnn_net *net,
		      int grads)
{
	for (int i = 0; i < net->n_views; i++) {
		struct cnn_view *v = &net->views[i];

		if (grads && !v->is_param)
			continue;
		put(d, prefix, v->name, grads ? v->g : v->p, v->ndim, v->shape);
	}
}

/* which element of each 2x2 window each pooling layer passed on (0..3, as
 * floats): a near tie rounding decides routes a whole gradient value
 * elsewhere, so the comparison replays these choices */
static void put_pool_choices(struct dump *d, struct cnn_net *net, int N)
{
	for (int i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];
		int64_t s[4] = { N, l->out->C, l->out->H, l->out->W };
		size_t n = (size_t)N * l->out->C * l->out->H * l->out->W;
		float *f;

		if (strncmp(l->name, "pool", 4))
			continue;
		f = malloc(sizeof(float) * n);
		for (size_t k = 0; k < n; k++)
			f[k] = l->bytes[k];
		put(d, "fwd", l->name, f, 4, s);
		free(f);
	}
}

/* eval-mode logits of the first n test images (as cnn_model_evaluate) */
static void put_eval(struct dump *d, const char *prefix, struct cnn_trainer *t,
		     float *x, int n)
{
	struct cnn_split part = cnn_split_head(&t->val, n);
	const float *out;
	int64_t s[2] = { n, 10 };

	cnn_pipeline_apply(&t->model.pipeline, x, &part, NULL, n, 0, NULL);
	out = cnn_net_forward(&t->model.net, x, n, CNN_EVAL, 0);
	put(d, prefix, "eval", out, 2, s);
}

int main(int argc, char **argv)
{
	struct sw_err err = SW_ERR_INIT;
	struct cnn_data_opts dopts = CNN_DATA_OPTS_INIT;
	struct cnn_dataset *ds = NULL;
	struct cnn_hparams hp;
	struct cnn_trainer t;
	struct dump *d = calloc(1, sizeof(*d));
	int N, steps, S, correct = 0;
	char num[32];

	if (argc < 3) {
		fprintf(stderr, "usage: equivalence_dump DATA_DIR OUT.safetensors "
			"[SEED [N [STEPS [PRECISE_BN]]]]\n");
		return 2;
	}
	N = argc > 4 ? atoi(argv[4]) : 256;
	steps = argc > 5 ? atoi(argv[5]) : 5;
	cnn_hparams_default(&hp);
	hp.seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
	hp.precise_bn = argc > 6 ? atoi(argv[6]) : 1;
	hp.batch_size = N;
	hp.train_limit = N;
	hp.val_limit = N;
	hp.dropout_1 = hp.dropout = 0;
	hp.learning_rate = 1e-3;
	hp.epochs = 1;
	dopts.train_limit = dopts.val_limit = N;
	if (!d || N < 2 || steps < 1 ||
	    cnn_dataset_load(argv[1], &dopts, &ds, &err) < 0 ||
	    cnn_trainer_init(&t, &hp, ds, 1, &err) < 0) {
		fprintf(stderr, "equivalence_dump: %s\n", err.msg[0] ? err.msg : "bad arguments");
		return 1;
	}
	cnn_dataset_unref(ds);
	struct cnn_net *net = &t.model.net;
	S = cnn_pipeline_out_size(&t.model.pipeline);
	int64_t xs[4] = { N, 3, S, S }, ls[1] = { N }, lg[2] = { N, 10 }, one[1] = { 1 };
	float *labels = malloc(sizeof(float) * N), *saved = malloc(sizeof(float) * net->n_stats);
	int *idx = malloc(sizeof(int) * N);

	put_views(d, "init", net, 0);
	/* one forward/backward of the batch in order 0..N-1 */
	for (int i = 0; i < N; i++) {
		idx[i] = i;
		labels[i] = t.train.labels[i];
	}
	cnn_pipeline_apply(&t.model.pipeline, t.batch, &t.train, idx, N, 1, &t.rng);
	memcpy(t.labels, t.train.labels, (size_t)N);
	put(d, "batch", "input", t.batch, 4, xs);
	put(d, "batch", "labels", labels, 1, ls);
	memcpy(saved, net->stats, sizeof(float) * net->n_stats);
	cnn_net_zero_grad(net);
	put(d, "fwd", "logits", cnn_net_forward(net, t.batch, N, CNN_TRAIN, 0), 2, lg);
	float loss = (float)cnn_net_loss(net, t.labels, N, &correct, 1);
	put(d, "fwd", "loss", &loss, 1, one);
	put_pool_choices(d, net, N);
	cnn_net_backward(net, N);
	put_views(d, "grad", net, 1);
	for (int i = 0; i < net->n_views; i++)
		if (!net->views[i].is_param)
			put(d, "fwd", net->views[i].name, net->views[i].p, 1,
			    net->views[i].shape);
	memcpy(net->stats, saved, sizeof(float) * net->n_stats);

	/* the real training loop: one step per epoch */
	for (int i = 0; i < N; i++)
		labels[i] = t.val.labels[i];
	cnn_pipeline_apply(&t.model.pipeline, t.batch, &t.val, idx, N, 0, NULL);
	put(d, "val", "input", t.batch, 4, xs);
	put(d, "val", "labels", labels, 1, ls);
	if (cnn_trainer_run(&t, NULL, NULL, &err) < 0)
		goto fail;
	put_views(d, "step1", net, 0);
	put_eval(d, "step1", &t, t.batch, N);
	t.model.hp.epochs = steps;
	if (cnn_trainer_run(&t, NULL, NULL, &err) < 0)
		goto fail;
	put_views(d, "stepK", net, 0);
	put_eval(d, "stepK", &t, t.batch, N);

	json_t *meta = json_object();
	snprintf(num, sizeof(num), "%d", steps);
	json_object_set_new(meta, "steps", json_string(num));
	snprintf(num, sizeof(num), "%d", hp.precise_bn);
	json_object_set_new(meta, "precise_bn", json_string(num));
	if (cnn_st_write(argv[2], d->t, d->n, meta, &err) < 0)
		goto fail;
	json_decref(meta);
	printf("equivalence_dump: %d tensors to %s (loss %.6f)\n", d->n, argv[2], loss);
	cnn_trainer_release(&t);
	return 0;
fail:
	fprintf(stderr, "equivalence_dump: %s\n", err.msg);
	return 1;
}
