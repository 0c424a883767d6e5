/* net.c - the CIFAR-10 CNN: layer vtables (conv, batchnorm, maxpool,
 * dropout, dense), building the network with its slabs and buffers, and the
 * forward/backward passes. See include/trainer/net.h. */
#include "trainer/net.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/blas.h"
#include "base/rng.h"
#include "trainer/eval.h"
#include "trainer/kernels.h"

#define CNN_CHECK(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                             \
			abort();                                              \
		}                                                             \
	} while (0)

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fprintf(stderr, "sweep: error: out of memory allocating %zu bytes "
			"for the network (try a smaller batch_size)\n", n * size);
		abort();
	}
	return p;
}

static float *net_alloc(struct cnn_net *net, size_t n)
{
	float *p;

	CNN_CHECK(net->n_owned_ < (int)(sizeof(net->owned_) / sizeof(net->owned_[0])));
	p = xcalloc(n, sizeof(float));
	net->owned_[net->n_owned_++] = p;
	return p;
}

static size_t act_size(const struct cnn_act *a)
{
	return (size_t)a->C * a->H * a->W;
}

/* ==== Convolution 3x3 same + ReLU ==== */

static void conv_forward(struct cnn_layer *l, struct cnn_net *net, int n,
			 enum cnn_mode mode, uint64_t seed)
{
	struct cnn_act *in = l->in, *out = l->out;

	(void)seed;
	/* per-image sums for the BatchNorm after, unless it uses moving stats */
	cnn_conv_forward(out->x, l->fused_bn && mode != CNN_EVAL ? l->part : NULL,
			 net->ws, in->x, in->scale, in->shift, l->w, l->b, n, in->C,
			 in->H, in->W, out->C, 3, 1, 1, l->relu, net->nthreads);
}

static void conv_backward(struct cnn_layer *l, struct cnn_net *net, int n)
{
	struct cnn_act *in = l->in, *out = l->out;

	struct cnn_layer *bn = l->fused_bn;

	/* the BatchNorm after left its backward as a map for us to apply */
	if (l->pool_after)      /* and the pool after it its gradient */
		cnn_conv_backward_unpool(in->g, l->dw, l->db, net->ws, out->g,
					 l->pool_after->out->g, l->pool_after->bytes,
					 bn->ga, bn->gb, bn->gd, out->x, in->x, in->scale,
					 in->shift, l->w, n, in->C, in->H, in->W, out->C,
					 3, 1, 1, l->relu, net->nthreads);
	else
		cnn_conv_backward(in->g, l->dw, l->db, net->ws, out->g,
				  bn ? bn->ga : NULL, bn ? bn->gb : NULL,
				  bn ? bn->gd : NULL, out->x, in->x, in->scale,
				  in->shift, l->w, n, in->C, in->H, in->W, out->C, 3, 1,
				  1, l->relu, net->nthreads);
}

static void conv_params(struct cnn_layer *l, struct cnn_net *net)
{
	int64_t ws[4] = { l->out->C, l->in->C, 3, 3 }, bs[1] = { l->out->C };

	l->w = cnn_net_declare(net, l, "weight", 4, ws, 1, 1, &l->dw);
	l->b = cnn_net_declare(net, l, "bias", 1, bs, 1, 0, &l->db);
}

static const struct cnn_layer_ops conv_ops = {
	"conv", conv_forward, conv_backward, conv_params,
};

/* ==== BatchNorm ==== */

static void bn_forward(struct cnn_layer *l, struct cnn_net *net, int n,
		       enum cnn_mode mode, uint64_t seed)
{
	struct cnn_act *in = l->in;
	int C = in->C, HW = in->H * in->W;
	float mom = net->cfg.bn_momentum;

	(void)seed;
	if (mode == CNN_EVAL) {
		cnn_bn_affine(l->scale, l->shift, l->gamma, l->beta, l->mmean,
			      l->mvar, CNN_BN_EPS, C);
		return;
	}
	if (l->fused_conv)
		cnn_bn_stats_reduce(l->mean, l->var, l->fused_conv->part, n, C, HW);
	else
		cnn_bn_stats(l->mean, l->var, in->x, n, C, HW, net->nthreads);
	if (mode == CNN_TRAIN) {
		for (int c = 0; c < C; c++) {
			l->mmean[c] = l->mmean[c] * mom + l->mean[c] * (1 - mom);
			l->mvar[c] = l->mvar[c] * mom + l->var[c] * (1 - mom);
		}
	} else {
		double cnt = (double)n * HW, bessel = cnt > 1 ? cnt / (cnt - 1) : 1;

		for (int c = 0; c < C; c++) {
			l->acc_mean[c] += l->mean[c];
			l->acc_var[c] += l->var[c] * bessel;
		}
	}
	cnn_bn_affine(l->scale, l->shift, l->gamma, l->beta, l->mean, l->var,
		      CNN_BN_EPS, C);
}

static void bn_backward(struct cnn_layer *l, struct cnn_net *net, int n)
{
	struct cnn_act *in = l->in, *out = l->out;

	if (l->pool_after)      /* dy is the pool's gradient, not yet routed */
		cnn_bn_backward_affine_pooled(l->ga, l->gb, l->gd, l->dgamma,
					      l->dbeta, l->pool_after->out->g,
					      l->pool_after->bytes, in->x, l->mean,
					      l->var, l->gamma, CNN_BN_EPS, n, in->C,
					      in->H, in->W, net->nthreads);
	else if (l->fused_conv) /* the conv before applies ga*dy + gb*x + gd */
		cnn_bn_backward_affine(l->ga, l->gb, l->gd, l->dgamma, l->dbeta,
				       out->g, in->x, l->mean, l->var, l->gamma,
				       CNN_BN_EPS, n, in->C, in->H * in->W,
				       net->nthreads);
	else
		cnn_bn_backward(in->g, l->dgamma, l->dbeta, out->g, in->x, l->mean,
				l->var, l->gamma, CNN_BN_EPS, n, in->C,
				in->H * in->W, net->nthreads);
}

static void bn_params(struct cnn_layer *l, struct cnn_net *net)
{
	int64_t s[1] = { l->in->C };

	l->gamma = cnn_net_declare(net, l, "gamma", 1, s, 1, 0, &l->dgamma);
	l->beta = cnn_net_declare(net, l, "beta", 1, s, 1, 0, &l->dbeta);
	l->mmean = cnn_net_declare(net, l, "moving_mean", 1, s, 0, 0, NULL);
	l->mvar = cnn_net_declare(net, l, "moving_var", 1, s, 0, 0, NULL);
}

static const struct cnn_layer_ops bn_ops = {
	"batchnorm", bn_forward, bn_backward, bn_params,
};

/* ==== Max pooling 2x2 ==== */

static void pool_forward(struct cnn_layer *l, struct cnn_net *net, int n,
			 enum cnn_mode mode, uint64_t seed)
{
	struct cnn_act *in = l->in;

	(void)mode;
	(void)seed;
	cnn_maxpool_forward(l->out->x, l->bytes, in->x, in->scale, in->shift, n,
			    in->C, in->H, in->W, net->nthreads);
}

static void pool_backward(struct cnn_layer *l, struct cnn_net *net, int n)
{
	struct cnn_act *in = l->in;

	if (l->pool_folded)     /* the BatchNorm and conv before route it */
		return;
	cnn_maxpool_backward(in->g, l->out->g, l->bytes, n, in->C, in->H, in->W,
			     net->nthreads);
}

static void no_params(struct cnn_layer *l, struct cnn_net *net)
{
	(void)l;
	(void)net;
}

static const struct cnn_layer_ops pool_ops = {
	"maxpool", pool_forward, pool_backward, no_params,
};

/* ==== Dropout ==== */

static void dropout_forward(struct cnn_layer *l, struct cnn_net *net, int n,
			    enum cnn_mode mode, uint64_t seed)
{
	struct cnn_act *in = l->in, *out = l->out;
	int D = (int)act_size(in), HW = in->H * in->W;
	float rate = mode == CNN_TRAIN ? l->rate : 0.0f;

	if (rate > 0) {
		cnn_dropout_mask(l->bytes, sw_seed_derive(seed, (uint64_t)l->index),
				 rate, n, D, net->nthreads);
	} else {
		if (out->x == in->x)
			return;         /* identity in place */
		memset(l->bytes, 1, (size_t)n * D);
	}
	cnn_dropout_forward(out->x, in->x, in->scale, in->shift, l->bytes, rate,
			    n, in->C, HW, net->nthreads);
}

static void dropout_backward(struct cnn_layer *l, struct cnn_net *net, int n)
{
	if (l->rate <= 0) {     /* identity (gradients share one buffer) */
		CNN_CHECK(l->in->g == l->out->g);
		return;
	}
	cnn_dropout_backward(l->in->g, l->out->g, l->bytes, l->rate,
			     (size_t)n * act_size(l->in), net->nthreads);
}

static const struct cnn_layer_ops dropout_ops = {
	"dropout", dropout_forward, dropout_backward, no_params,
};

/* ==== Dense (input flattened C,H,W) ==== */

static void dense_forward(struct cnn_layer *l, struct cnn_net *net, int n,
			  enum cnn_mode mode, uint64_t seed)
{
	(void)mode;
	(void)seed;
	cnn_dense_forward(l->out->x, l->in->x, l->w, l->b, n, (int)act_size(l->in),
			  l->out->C, l->relu, net->nthreads);
}

static void dense_backward(struct cnn_layer *l, struct cnn_net *net, int n)
{
	cnn_dense_backward(l->in->g, l->dw, l->db, l->out->g, l->out->x, l->in->x,
			   l->w, n, (int)act_size(l->in), l->out->C, l->relu,
			   net->nthreads);
}

static void dense_params(struct cnn_layer *l, struct cnn_net *net)
{
	int64_t ws[2] = { (int64_t)act_size(l->in), l->out->C }, bs[1] = { l->out->C };

	l->w = cnn_net_declare(net, l, "weight", 2, ws, 1, 1, &l->dw);
	l->b = cnn_net_declare(net, l, "bias", 1, bs, 1, 0, &l->db);
}

static const struct cnn_layer_ops dense_ops = {
	"dense", dense_forward, dense_backward, dense_params,
};

/* ==== Building ==== */

float *cnn_net_declare(struct cnn_net *net, struct cnn_layer *l,
		       const char *what, int ndim, const int64_t *shape,
		       int is_param, int decay, float **grad)
{
	size_t n = 1;
	struct cnn_view *v;

	for (int i = 0; i < ndim; i++)
		n *= (size_t)shape[i];
	if (!net->declaring_) {
		if (is_param)
			net->n_params += n;
		else
			net->n_stats += n;
		if (grad)
			*grad = NULL;
		return NULL;
	}
	CNN_CHECK(net->n_views < CNN_MAX_VIEWS);
	v = &net->views[net->n_views++];
	snprintf(v->name, sizeof(v->name), "%s.%s", l->name, what);
	v->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		v->shape[i] = shape[i];
	v->n = n;
	v->decay = decay;
	v->is_param = is_param;
	if (is_param) {
		v->p = net->params + net->param_off_;
		v->g = net->grads + net->param_off_;
		net->param_off_ += n;
	} else {
		v->p = net->stats + net->stat_off_;
		v->g = NULL;
		net->stat_off_ += n;
	}
	if (grad)
		*grad = v->g;
	return v->p;
}

static struct cnn_layer *add_layer(struct cnn_net *net,
				   const struct cnn_layer_ops *ops,
				   const char *name, int C, int H, int W)
{
	int i = net->n_layers++;
	struct cnn_layer *l = &net->layers[i];

	CNN_CHECK(i < CNN_MAX_LAYERS);
	l->ops = ops;
	l->index = i;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->in = &net->acts[i];
	l->out = &net->acts[i + 1];
	l->out->C = C;
	l->out->H = H;
	l->out->W = W;
	return l;
}

void cnn_net_config_from_hparams(struct cnn_net_config *cfg,
				 const struct cnn_hparams *hp)
{
	cfg->in_c = 3;
	cfg->in_size = hp->image_size;
	cfg->conv1 = hp->conv1_filters;
	cfg->conv2 = hp->conv2_filters;
	cfg->dense = hp->dense_units;
	cfg->classes = 10;
	cfg->dropout_1 = (float)hp->dropout_1;
	cfg->dropout = (float)hp->dropout;
	cfg->bn_momentum = (float)hp->bn_momentum;
}

int cnn_net_init(struct cnn_net *net, const struct cnn_net_config *cfg,
		 int max_batch, int nthreads, struct sw_err *err)
{
	int S = cfg->in_size, c1 = cfg->conv1, c2 = cfg->conv2;
	size_t gmax = 0, wsz = 0;
	float *pp[2];
	int cur;

	memset(net, 0, sizeof(*net));
	if (S < 4 || S % 4)
		return sw_errorf(err, "image size %d must be a positive multiple of 4", S);
	if (max_batch < 1 || nthreads < 1 || c1 < 1 || c2 < 1 || cfg->dense < 1 ||
	    cfg->classes < 2 || cfg->in_c < 1)
		return sw_errorf(err, "invalid network sizes (batch %d, threads %d, "
				 "filters %d/%d, units %d)", max_batch, nthreads,
				 c1, c2, cfg->dense);
	if (cfg->dropout_1 < 0 || cfg->dropout_1 >= 1 || cfg->dropout < 0 ||
	    cfg->dropout >= 1)
		return sw_errorf(err, "dropout rates must be in [0, 1)");
	/* refuse what cannot fit rather than be killed half-way */
	double need = cnn_net_bytes(cfg, max_batch, nthreads);
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psz > 0 && need > 0.75 * (double)pages * psz)
		return sw_errorf(err, "the network needs %.0f MB for batch_size %d, more "
				 "than this machine can hold (%.0f MB): lower batch_size, "
				 "image_size or the filter counts", need / 1048576.0,
				 max_batch, (double)pages * psz / 1048576.0);
	/* the GEMMs need OpenBLAS: a missing library is an error here, not an
	 * abort in the first forward pass */
	if (sw_blas_load(err) < 0)
		return -1;
	net->cfg = *cfg;
	net->max_batch = max_batch;
	net->nthreads = nthreads;
	net->acts[0].C = cfg->in_c;
	net->acts[0].H = net->acts[0].W = S;

	struct cnn_layer *l;
	l = add_layer(net, &conv_ops, "conv1", c1, S, S);
	l->relu = 1;
	add_layer(net, &bn_ops, "bn1", c1, S, S);
	l = add_layer(net, &conv_ops, "conv2", c1, S, S);
	l->relu = 1;
	add_layer(net, &bn_ops, "bn2", c1, S, S);
	add_layer(net, &pool_ops, "pool1", c1, S / 2, S / 2);
	l = add_layer(net, &dropout_ops, "dropout1", c1, S / 2, S / 2);
	l->rate = cfg->dropout_1;
	l = add_layer(net, &conv_ops, "conv3", c2, S / 2, S / 2);
	l->relu = 1;
	add_layer(net, &bn_ops, "bn3", c2, S / 2, S / 2);
	l = add_layer(net, &conv_ops, "conv4", c2, S / 2, S / 2);
	l->relu = 1;
	add_layer(net, &bn_ops, "bn4", c2, S / 2, S / 2);
	add_layer(net, &pool_ops, "pool2", c2, S / 4, S / 4);
	l = add_layer(net, &dropout_ops, "dropout2", c2, S / 4, S / 4);
	l->rate = cfg->dropout;
	l = add_layer(net, &dense_ops, "dense1", cfg->dense, 1, 1);
	l->relu = 1;
	add_layer(net, &bn_ops, "bn5", cfg->dense, 1, 1);
	l = add_layer(net, &dropout_ops, "dropout3", cfg->dense, 1, 1);
	l->rate = cfg->dropout;
	add_layer(net, &dense_ops, "dense2", cfg->classes, 1, 1);

	/* forward buffers and per-layer state */
	for (int i = 0; i < net->n_layers; i++) {
		struct cnn_layer *L = &net->layers[i];
		struct cnn_act *in = L->in, *out = L->out;
		size_t nout = (size_t)max_batch * act_size(out);

		if (L->ops == &bn_ops) {
			out->x = in->x;
			L->mean = net_alloc(net, 7 * (size_t)in->C);
			L->var = L->mean + in->C;
			L->scale = L->var + in->C;
			L->shift = L->scale + in->C;
			L->ga = L->shift + in->C;
			L->gb = L->ga + in->C;
			L->gd = L->gb + in->C;
			if (i > 0 && net->layers[i - 1].ops == &conv_ops) {
				struct cnn_layer *cv = &net->layers[i - 1];

				L->fused_conv = cv;
				cv->fused_bn = L;
				cv->part = xcalloc((size_t)max_batch * in->C * 2, sizeof(double));
			}
			out->scale = L->scale;
			out->shift = L->shift;
			L->acc_mean = xcalloc(2 * (size_t)in->C, sizeof(double));
			L->acc_var = L->acc_mean + in->C;
		} else if (L->ops == &dropout_ops) {
			out->x = in->scale ? net_alloc(net, nout) : in->x;
			L->bytes = xcalloc(nout, 1);
		} else {
			CNN_CHECK(L->ops != &dense_ops || !in->scale);
			out->x = net_alloc(net, nout);
			if (L->ops == &pool_ops)
				L->bytes = xcalloc(nout, 1);
		}
		if (act_size(out) > gmax)
			gmax = act_size(out);
		if (L->ops == &conv_ops) {
			size_t w = cnn_conv_ws_floats(max_batch, in->C, in->H, in->W, out->C,
						      3, 1, 1, nthreads);
			if (w > wsz)
				wsz = w;
		}
	}

	/* a max-pool right after a conv's BatchNorm (even sides) leaves its
	 * backward to them: the conv builds its full-size output gradient from
	 * the pooled one image by image, so the pooled gradient needs a third
	 * buffer (the conv writes its input gradient while still reading it) */
	size_t pmax = 0;
	for (int i = 2; i < net->n_layers; i++) {
		struct cnn_layer *P = &net->layers[i], *B = &net->layers[i - 1];

		if (P->ops != &pool_ops || B->ops != &bn_ops || !B->fused_conv ||
		    (P->in->H & 1) || (P->in->W & 1))
			continue;
		P->pool_folded = 1;
		B->pool_after = B->fused_conv->pool_after = P;
		if (act_size(P->out) > pmax)
			pmax = act_size(P->out);
	}

	/* gradient ping-pong: a layer that cannot work in place writes its
	 * input gradient into the buffer its output gradient is not in */
	pp[0] = net_alloc(net, gmax * max_batch);
	pp[1] = net_alloc(net, gmax * max_batch);
	cur = 0;
	net->acts[net->n_layers].g = pp[0];
	net->logits_g = pp[0];
	for (int i = net->n_layers - 1; i >= 0; i--) {
		struct cnn_layer *L = &net->layers[i];

		if (i == 0) {
			L->in->g = NULL;
		} else if (L->ops == &bn_ops || L->ops == &dropout_ops) {
			L->in->g = L->out->g;
		} else {
			cur = 1 - cur;
			L->in->g = pp[cur];
		}
	}

	/* a folded pool's output gradient (and the dropouts sharing it) in
	 * the third buffer */
	if (pmax) {
		float *p3 = net_alloc(net, pmax * max_batch);

		for (int i = 0; i < net->n_layers; i++) {
			float *old;

			if (!net->layers[i].pool_folded)
				continue;
			old = net->acts[i + 1].g;
			for (int j = i + 1; j <= net->n_layers && net->acts[j].g == old; j++)
				net->acts[j].g = p3;
		}
	}

	/* parameter slabs: count, allocate, point */
	for (int i = 0; i < net->n_layers; i++)
		net->layers[i].ops->params(&net->layers[i], net);
	net->params = net_alloc(net, net->n_params);
	net->grads = net_alloc(net, net->n_params);
	net->stats = net_alloc(net, net->n_stats);
	net->declaring_ = 1;
	for (int i = 0; i < net->n_layers; i++)
		net->layers[i].ops->params(&net->layers[i], net);
	net->ws = net_alloc(net, wsz);
	cnn_blas_single_thread();
	return 0;
}

void cnn_net_release(struct cnn_net *net)
{
	if (!net)
		return;
	for (int i = 0; i < net->n_owned_; i++)
		free(net->owned_[i]);
	for (int i = 0; i < net->n_layers; i++) {
		free(net->layers[i].bytes);
		free(net->layers[i].acc_mean);
		free(net->layers[i].part);
	}
	cnn_eval_release(net->eval_);
	memset(net, 0, sizeof(*net));
}

struct cnn_view *cnn_net_view(struct cnn_net *net, const char *name)
{
	for (int i = 0; i < net->n_views; i++)
		if (!strcmp(net->views[i].name, name))
			return &net->views[i];
	return NULL;
}

void cnn_net_init_weights(struct cnn_net *net, uint64_t seed)
{
	struct sw_rng rng;

	sw_rng_seed(&rng, seed, 0x6e6574696e6974ULL); /* "netinit" */
	for (int i = 0; i < net->n_views; i++) {
		struct cnn_view *v = &net->views[i];
		const char *what = strrchr(v->name, '.') + 1;

		if (v->decay) {
			/* fans: conv (M,C,k,k): C*k*k and M*k*k; dense (I,O) */
			double fin, fout, lim;

			if (v->ndim == 4) {
				fin = (double)v->shape[1] * v->shape[2] * v->shape[3];
				fout = (double)v->shape[0] * v->shape[2] * v->shape[3];
			} else {
				fin = (double)v->shape[0];
				fout = (double)v->shape[1];
			}
			lim = sqrt(6.0 / (fin + fout));
			for (size_t k = 0; k < v->n; k++)
				v->p[k] = (float)((2 * sw_rng_double(&rng) - 1) * lim);
		} else {
			float val = !strcmp(what, "gamma") || !strcmp(what, "moving_var");

			for (size_t k = 0; k < v->n; k++)
				v->p[k] = val;
		}
	}
}

/* ==== Passes ==== */

const float *cnn_net_forward(struct cnn_net *net, const float *x, int n,
			     enum cnn_mode mode, uint64_t seed)
{
	CNN_CHECK(n >= 1 && n <= net->max_batch);
	/* OpenBLAS follows this default when a region has one thread */
	omp_set_num_threads(net->nthreads);
	net->acts[0].x = (float *)x;  /* read only: nothing writes acts[0] */
	if (mode == CNN_EVAL && !net->eval_layerwise) {
		const float *y = cnn_eval_forward(net, x, n);

		if (y)
			return y;
	}
	for (int i = 0; i < net->n_layers; i++)
		net->layers[i].ops->forward(&net->layers[i], net, n, mode, seed);
	if (mode == CNN_BN_STATS)
		net->precise_batches++;
	return net->acts[net->n_layers].x;
}

double cnn_net_loss(struct cnn_net *net, const uint8_t *labels, int n,
		    int *correct, int grad)
{
	const float *logits = net->acts[net->n_layers].x;

	return cnn_softmax_xent(grad ? net->logits_g : NULL, correct, logits,
				labels, n, net->cfg.classes, 1.0f / n,
				net->nthreads) / n;
}

void cnn_net_backward(struct cnn_net *net, int n)
{
	omp_set_num_threads(net->nthreads);
	for (int i = net->n_layers - 1; i >= 0; i--)
		net->layers[i].ops->backward(&net->layers[i], net, n);
}

void cnn_net_zero_grad(struct cnn_net *net)
{
	memset(net->grads, 0, sizeof(float) * net->n_params);
}

void cnn_net_precise_bn_begin(struct cnn_net *net)
{
	net->precise_batches = 0;
	for (int i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];

		if (l->ops == &bn_ops)
			memset(l->acc_mean, 0, 2 * sizeof(double) * l->in->C);
	}
}

void cnn_net_precise_bn_end(struct cnn_net *net)
{
	if (net->precise_batches < 1)
		return;
	for (int i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];

		if (l->ops != &bn_ops)
			continue;
		for (int c = 0; c < l->in->C; c++) {
			l->mmean[c] = (float)(l->acc_mean[c] / net->precise_batches);
			l->mvar[c] = (float)(l->acc_var[c] / net->precise_batches);
		}
	}
}

double cnn_net_bytes(const struct cnn_net_config *cfg, int max_batch,
		     int nthreads)
{
	double S = cfg->in_size, n = max_batch, c1 = cfg->conv1, c2 = cfg->conv2;
	double big = S * S * c1, mid = S * S / 4 * c2, fl = 4;
	double acts = 0, grads, params, ws;

	acts += 2 * big * fl + 2 * mid * fl;           /* conv outputs */
	acts += big / 4 * (fl + 2) + mid / 4 * (fl + 2); /* pool out, argmax, mask */
	acts += (2 * cfg->dense + 2 * cfg->dense + cfg->classes) * fl;
	acts += (2 * c1 + 2 * c2) * 2 * 8;             /* per-image BN sums */
	grads = 2 * (big > mid ? big : mid) * fl;
	grads += (big / 4 > mid / 4 ? big / 4 : mid / 4) * fl; /* pooled, folded */
	params = 3 * 4.0 * (9 * (3 * c1 + c1 * c1 + c1 * c2 + c2 * c2) +
			    mid / 4 * cfg->dense + cfg->dense * cfg->classes);
	ws = nthreads * 2.0 * 9 * (c1 > c2 ? c1 : c2) * S * S * fl;
	return n * (acts + grads) + 2 * params + ws;
}

double cnn_net_flops(const struct cnn_net *net, int training)
{
	double f = 0;

	for (int i = 0; i < net->n_layers; i++) {
		const struct cnn_layer *l = &net->layers[i];
		double mm;

		if (l->ops == &conv_ops)
			mm = 2.0 * l->out->C * l->in->C * 9 * l->out->H * l->out->W;
		else if (l->ops == &dense_ops)
			mm = 2.0 * act_size(l->in) * l->out->C;
		else
			continue;
		/* training: forward, weight gradient, input gradient (not for
		 * the first layer) */
		f += training ? (i == 0 ? 2 : 3) * mm : mm;
	}
	return f;
}
