/* train.c - the training loop: epochs of shuffled batches through the
 * transform pipeline, forward/backward, the optimizer step, the learning-rate
 * schedule, precise BatchNorm and validation, with metrics delivered per
 * epoch. See include/trainer/train.h. */
#include "trainer/train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/kernels.h"

#define ADAM_B1 0.9f
#define ADAM_B2 0.999f
#define OPT_EPS 1e-7f
#define RMSPROP_RHO 0.9f

static void *xmalloc(size_t n)
{
	void *p = calloc(n ? n : 1, 1);

	if (!p) {
		fprintf(stderr, "sweep: error: out of memory allocating %zu bytes "
			"for a trainer\n", n);
		abort();
	}
	return p;
}

double cnn_lr_at_epoch(const struct cnn_hparams *hp, int e, int E)
{
	double lr = hp->learning_rate;

	switch (hp->lr_schedule) {
	case CNN_LR_COSINE:
		return lr * 0.5 * (1.0 + cos(M_PI * e / (E > 0 ? E : 1)));
	case CNN_LR_STEP:
		if (e >= (3 * E + 3) / 4 && E >= 4)
			return lr * 0.01;
		if (e >= (E + 1) / 2 && E >= 2)
			return lr * 0.1;
		return lr;
	case CNN_LR_CONSTANT:
		break;
	}
	return lr;
}

int cnn_trainer_init(struct cnn_trainer *t, const struct cnn_hparams *hp,
		     struct cnn_dataset *ds, int threads, struct sw_err *err)
{
	struct cnn_pipeline pipe;
	int S;

	memset(t, 0, sizeof(*t));
	if (threads < 1)
		return sw_errorf(err, "thread count must be at least 1, got %d", threads);
	t->threads = threads;
	t->train = cnn_split_head(&ds->train, hp->train_limit);
	t->val = cnn_split_head(&ds->test, hp->val_limit);
	if (t->train.n < 1)
		return sw_errorf(err, "no training images in '%s'", ds->dir ? ds->dir : "data set");
	if (t->val.n < 1)
		return sw_errorf(err, "no test images in '%s' for validation",
				 ds->dir ? ds->dir : "data set");
	omp_set_num_threads(threads);
	if (cnn_pipeline_from_hparams(&pipe, hp, &t->train, err) < 0)
		return -1;
	if (cnn_model_init(&t->model, hp, &pipe, hp->batch_size, threads, err) < 0)
		return -1;
	t->ds = cnn_dataset_ref(ds);
	S = cnn_pipeline_out_size(&pipe);
	t->opt_m = xmalloc(sizeof(float) * t->model.net.n_params);
	t->opt_v = xmalloc(sizeof(float) * t->model.net.n_params);
	t->batch = xmalloc(sizeof(float) * (size_t)hp->batch_size * pipe.in_c * S * S);
	t->labels = xmalloc((size_t)hp->batch_size);
	t->perm = xmalloc(sizeof(int) * (size_t)t->train.n);
	sw_rng_seed(&t->rng, hp->seed, 0x73687566666c65ULL); /* "shuffle" */
	return 0;
}

void cnn_trainer_release(struct cnn_trainer *t)
{
	if (!t)
		return;
	cnn_model_release(&t->model);
	cnn_dataset_unref(t->ds);
	free(t->opt_m);
	free(t->opt_v);
	free(t->batch);
	free(t->labels);
	free(t->perm);
	memset(t, 0, sizeof(*t));
}

static void optimizer_step(struct cnn_trainer *t, float lr)
{
	struct cnn_net *net = &t->model.net;
	const struct cnn_hparams *hp = &t->model.hp;

	t->step++;
	if (hp->weight_decay == 0) {
		/* one pass over the whole slab (BatchNorm moving statistics live
		 * in another one) */
		switch (hp->optimizer) {
		case CNN_OPT_ADAM:
			cnn_adam(net->params, t->opt_m, t->opt_v, net->grads, net->n_params,
				 lr, ADAM_B1, ADAM_B2, OPT_EPS, 0, t->step, t->threads);
			break;
		case CNN_OPT_SGD:
			cnn_sgd(net->params, t->opt_m, net->grads, net->n_params, lr,
				(float)hp->momentum, hp->nesterov, 0, t->threads);
			break;
		case CNN_OPT_RMSPROP:
			cnn_rmsprop(net->params, t->opt_v, t->opt_m, net->grads,
				    net->n_params, lr, RMSPROP_RHO, (float)hp->momentum,
				    OPT_EPS, 0, t->threads);
			break;
		}
		return;
	}
	for (int i = 0; i < net->n_views; i++) {
		struct cnn_view *v = &net->views[i];
		size_t off = (size_t)(v->p - net->params);
		float wd = v->decay ? (float)hp->weight_decay : 0.0f;

		if (!v->is_param)
			continue;
		switch (hp->optimizer) {
		case CNN_OPT_ADAM:
			cnn_adam(v->p, t->opt_m + off, t->opt_v + off, v->g, v->n, lr,
				 ADAM_B1, ADAM_B2, OPT_EPS, wd, t->step, t->threads);
			break;
		case CNN_OPT_SGD:
			cnn_sgd(v->p, t->opt_m + off, v->g, v->n, lr, (float)hp->momentum,
				hp->nesterov, wd, t->threads);
			break;
		case CNN_OPT_RMSPROP:
			cnn_rmsprop(v->p, t->opt_v + off, t->opt_m + off, v->g, v->n, lr,
				    RMSPROP_RHO, (float)hp->momentum, OPT_EPS, wd,
				    t->threads);
			break;
		}
	}
}

static void load_batch(struct cnn_trainer *t, const int *idx, int n,
		       int training)
{
	omp_set_num_threads(t->threads);
	cnn_pipeline_apply(&t->model.pipeline, t->batch, &t->train, idx, n,
			   training, &t->rng);
	for (int i = 0; i < n; i++)
		t->labels[i] = t->train.labels[idx[i]];
}

/* Recomputes the moving statistics over the first CNN_PRECISE_BN_IMAGES
 * images of this epoch's order, without augmentation or dropout. */
static void precise_bn(struct cnn_trainer *t)
{
	struct cnn_net *net = &t->model.net;
	int B = t->model.hp.batch_size;
	int total = t->train.n < CNN_PRECISE_BN_IMAGES ? t->train.n : CNN_PRECISE_BN_IMAGES;

	cnn_net_precise_bn_begin(net);
	for (int i = 0; i < total; i += B) {
		int n = total - i < B ? total - i : B;

		load_batch(t, t->perm + i, n, 0);
		cnn_net_forward(net, t->batch, n, CNN_BN_STATS, 0);
	}
	cnn_net_precise_bn_end(net);
}

int cnn_trainer_run(struct cnn_trainer *t, const struct cnn_train_opts *opts,
		    struct cnn_epoch_metrics *last, struct sw_err *err)
{
	struct cnn_model *m = &t->model;
	struct cnn_net *net = &m->net;
	const struct cnn_hparams *hp = &m->hp;
	int B = hp->batch_size, N = t->train.n, nb = (N + B - 1) / B;
	struct cnn_train_opts none = CNN_TRAIN_OPTS_INIT;

	if (!opts)
		opts = &none;
	for (int e = t->epochs_done; e < hp->epochs; e++) {
		struct cnn_epoch_metrics mt;
		double t0 = omp_get_wtime(), t1, lsum = 0;
		float lr = (float)cnn_lr_at_epoch(hp, e, hp->epochs);
		long ok = 0;

		memset(&mt, 0, sizeof(mt));
		cnn_permutation(t->perm, N, &t->rng);
		for (int b = 0; b < nb; b++) {
			int n = N - b * B < B ? N - b * B : B, correct = 0;
			double loss;

			if (opts->stop && atomic_load(opts->stop))
				return SW_ERR_INTR;
			load_batch(t, t->perm + (size_t)b * B, n, 1);
			cnn_net_zero_grad(net);
			cnn_net_forward(net, t->batch, n, CNN_TRAIN,
					sw_seed_derive(hp->seed ^ 0x64726f70ULL, (uint64_t)t->step));
			loss = cnn_net_loss(net, t->labels, n, &correct, 1);
			if (!isfinite(loss))
				return sw_errorf(err, "loss is %s at epoch %d, batch %d: the run "
						 "diverged (lower learning_rate)",
						 isnan(loss) ? "nan" : "infinite", e + 1, b + 1);
			cnn_net_backward(net, n);
			optimizer_step(t, lr);
			lsum += loss * n;
			ok += correct;
			if (opts->on_batch)
				opts->on_batch(e + 1, b + 1, nb, lsum / ((double)b * B + n),
					       opts->ctx);
		}
		t1 = omp_get_wtime();
		if (hp->precise_bn)
			precise_bn(t);
		cnn_model_evaluate(m, &t->val, &mt.val_loss, &mt.val_accuracy);
		mt.epoch = e + 1;
		mt.epochs = hp->epochs;
		mt.loss = lsum / N;
		mt.accuracy = (double)ok / N;
		mt.learning_rate = cnn_lr_at_epoch(hp, e, hp->epochs);
		mt.images_per_sec = N / (t1 - t0 > 1e-9 ? t1 - t0 : 1e-9);
		mt.seconds = omp_get_wtime() - t0;
		t->last = mt;
		t->epochs_done = e + 1;
		if (last)
			*last = mt;
		int stop = opts->on_epoch && opts->on_epoch(&mt, opts->ctx);
		if (!isfinite(mt.val_loss))
			return sw_errorf(err, "validation loss is %s after epoch %d: the run "
					 "diverged (lower learning_rate)",
					 isnan(mt.val_loss) ? "nan" : "infinite", e + 1);
		if (stop)
			return SW_ERR_INTR;
	}
	return 0;
}
