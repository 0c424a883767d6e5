/*
 * net.h - the CIFAR-10 CNN of the notebook, as a list of layers behind a
 * small vtable, with parameters, gradients and BatchNorm statistics in
 * single slabs carved into named views, and one shared workspace.
 *
 *   conv1 (c1, 3x3 same, ReLU) - bn1 - conv2 (c1) - bn2 - pool1 (2x2) -
 *   dropout1 (dropout_1) - conv3 (c2) - bn3 - conv4 (c2) - bn4 - pool2 -
 *   dropout2 (dropout) - flatten - dense1 (units, ReLU) - bn5 -
 *   dropout3 (dropout) - dense2 (10) - softmax cross-entropy
 *
 * Keras defaults: Glorot-uniform kernels, zero biases, BatchNorm gamma 1,
 * beta 0, moving mean 0, moving variance 1, momentum cfg->bn_momentum,
 * epsilon 1e-3, batch statistics in training and moving averages in
 * evaluation; inverted dropout.
 *
 * Memory: a BatchNorm never stores its output. It computes a per-channel
 * affine map (scale, shift) and the next conv, pool or dropout applies it
 * while reading (struct cnn_act.scale/shift). Activation gradients live in
 * two ping-pong buffers. At batch 256 with the default sizes the whole net
 * holds about 190 MB.
 *
 * A net points into itself (layers to their activations): never copy or
 * move a struct cnn_net, or a struct holding one, after cnn_net_init.
 *
 * Threads: every kernel runs on net->nthreads OpenMP threads (see
 * kernels.h), so two nets side by side with T threads each use 2T cores.
 *
 * Tensor names (checkpoints): conv1.weight (M,C,3,3), conv1.bias (M),
 * bn1.gamma/beta/moving_mean/moving_var (C), dense1.weight (I,O) (Keras
 * layout; I in C,H,W flatten order), dense1.bias (O), ...
 *
 * defines: struct cnn_act, struct cnn_view, struct cnn_layer_ops,
 *          struct cnn_layer, struct cnn_net_config, struct cnn_net,
 *          enum cnn_mode, cnn_net_config_from_hparams, cnn_net_init,
 *          cnn_net_release, cnn_net_init_weights, cnn_net_forward,
 *          cnn_net_loss, cnn_net_backward, cnn_net_zero_grad,
 *          cnn_net_precise_bn_begin, cnn_net_precise_bn_end,
 *          cnn_net_flops, cnn_net_bytes, cnn_net_view, cnn_net_declare
 */
#ifndef CNN_NET_H
#define CNN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "trainer/hparams.h"

#define CNN_MAX_LAYERS 24
#define CNN_MAX_VIEWS 48
#define CNN_BN_EPS 1e-3f

/* An activation between two layers: values (N,C,H,W) as seen through an
 * optional pending per-channel affine (a BatchNorm output), and the buffer
 * that holds the gradient of those (affine-mapped) values in backward. */
struct cnn_act {
	float *x;
	float *g;
	const float *scale, *shift; /* NULL: x is the value itself */
	int C, H, W;
};

/* A named slice of a slab: a parameter with its gradient, or a BatchNorm
 * moving statistic (g NULL). */
struct cnn_view {
	char name[32];
	float *p, *g;
	int ndim;
	int64_t shape[4];
	size_t n;
	int decay;      /* 1: a kernel (weight decay applies) */
	int is_param;   /* 0: a BatchNorm moving statistic */
};

enum cnn_mode {
	CNN_EVAL,       /* moving statistics, no dropout */
	CNN_TRAIN,      /* batch statistics (moving ones updated), dropout */
	CNN_BN_STATS,   /* batch statistics accumulated for precise BN, no
	                 * dropout, moving statistics untouched */
};

struct cnn_net;
struct cnn_layer;
struct cnn_eval;

struct cnn_layer_ops {
	const char *kind;
	/* forward of the first n images in mode; seed drives dropout */
	void (*forward)(struct cnn_layer *l, struct cnn_net *net, int n,
			enum cnn_mode mode, uint64_t seed);
	/* backward after a CNN_TRAIN forward of the same n images */
	void (*backward)(struct cnn_layer *l, struct cnn_net *net, int n);
	/* declares the layer's parameters and buffers (cnn_net_declare) */
	void (*params)(struct cnn_layer *l, struct cnn_net *net);
};

struct cnn_layer {
	const struct cnn_layer_ops *ops;
	char name[16];
	int index;
	struct cnn_act *in, *out;
	int units;              /* conv: out channels; dense: outputs */
	int relu;
	float rate;             /* dropout */
	/* views into the slabs (set by params) */
	float *w, *b, *dw, *db;
	float *gamma, *beta, *dgamma, *dbeta, *mmean, *mvar;
	/* per-layer state, owned */
	float *mean, *var, *scale, *shift;   /* BatchNorm, C each */
	float *ga, *gb, *gd;                 /* BatchNorm backward map, C each */
	double *part;                        /* conv: per-image sums (N,M,2) */
	struct cnn_layer *fused_bn;          /* conv: the BatchNorm right after */
	struct cnn_layer *fused_conv;        /* BatchNorm: the conv right before */
	/* conv and BatchNorm: the max-pool after the BatchNorm, whose backward
	 * they fold into theirs; the pool: set when its backward is so done */
	struct cnn_layer *pool_after;
	int pool_folded;
	double *acc_mean, *acc_var;          /* precise BN accumulators */
	uint8_t *bytes;                      /* pool argmax / dropout mask */
};

struct cnn_net_config {
	int in_c, in_size;          /* input (3, image_size) */
	int conv1, conv2, dense, classes;
	float dropout_1, dropout, bn_momentum;
};

struct cnn_net {
	struct cnn_net_config cfg;
	int max_batch, nthreads;
	struct cnn_layer layers[CNN_MAX_LAYERS];
	int n_layers;
	struct cnn_act acts[CNN_MAX_LAYERS + 1]; /* acts[0] is the input */
	/* slabs: params/grads (n_params floats), stats (n_stats floats) */
	float *params, *grads, *stats;
	size_t n_params, n_stats;
	struct cnn_view views[CNN_MAX_VIEWS];
	int n_views;
	float *ws;                  /* shared conv workspace, nthreads slices */
	float *logits_g;            /* (max_batch, classes) */
	int precise_batches;        /* batches accumulated in CNN_BN_STATS */
	/* CNN_EVAL runs the fused pass of eval.h unless eval_layerwise is set
	 * (then layer by layer through the training kernels: its reference) */
	int eval_layerwise;
	struct cnn_eval *eval_;     /* its state, owned */
	/* private */
	int declaring_;             /* 1 while pointing views into slabs */
	size_t param_off_, stat_off_;
	float *owned_[CNN_MAX_LAYERS + 4];
	int n_owned_;
};

/* The network sizes of a hyperparameter set. */
void cnn_net_config_from_hparams(struct cnn_net_config *cfg,
				 const struct cnn_hparams *hp);

/* Builds the network for batches of up to max_batch images on nthreads
 * threads, allocating every buffer (the trainer aborts on OOM). Weights are
 * zero until cnn_net_init_weights. Returns 0, or -1 with err for sizes that
 * make no sense (image size not a multiple of 4, ...). */
int cnn_net_init(struct cnn_net *net, const struct cnn_net_config *cfg,
		 int max_batch, int nthreads, struct sw_err *err);

/* Frees everything net owns; accepts a zeroed struct. */
void cnn_net_release(struct cnn_net *net);

/* Keras initialisation from seed: Glorot-uniform kernels, zero biases,
 * gamma 1, beta 0, moving mean 0, moving var 1. */
void cnn_net_init_weights(struct cnn_net *net, uint64_t seed);

/* Forward pass of n <= max_batch images x (n, in_c, S, S). Returns the
 * logits (n, classes), owned by net, valid until the next forward. */
const float *cnn_net_forward(struct cnn_net *net, const float *x, int n,
			     enum cnn_mode mode, uint64_t seed);

/* Softmax cross-entropy of the last forward's logits against labels:
 * returns the mean loss, counts correct predictions in *correct (may be
 * NULL), and when grad is set stores d(mean loss)/d(logits) for backward. */
double cnn_net_loss(struct cnn_net *net, const uint8_t *labels, int n,
		    int *correct, int grad);

/* Backward pass through every layer after a CNN_TRAIN forward and
 * cnn_net_loss(grad = 1): parameter gradients accumulate into net->grads. */
void cnn_net_backward(struct cnn_net *net, int n);

/* Zeroes net->grads. */
void cnn_net_zero_grad(struct cnn_net *net);

/* Precise BatchNorm: _begin clears the accumulators; each CNN_BN_STATS
 * forward then adds its batch means and variances; _end sets every moving
 * statistic to the average over those batches (unbiased variance). Without
 * any batch, _end changes nothing. */
void cnn_net_precise_bn_begin(struct cnn_net *net);
void cnn_net_precise_bn_end(struct cnn_net *net);

/* Floating-point operations of one image: forward only, or a training step
 * (forward + backward, as the conv/dense GEMMs count them). */
double cnn_net_flops(const struct cnn_net *net, int training);

/* About how many bytes cnn_net_init allocates for cfg (plus a trainer's
 * optimizer state); cnn_net_init refuses sizes above 3/4 of the memory. */
double cnn_net_bytes(const struct cnn_net_config *cfg, int max_batch,
		     int nthreads);

/* The view called name, or NULL. */
struct cnn_view *cnn_net_view(struct cnn_net *net, const char *name);

/* Internal, for layer params(): declares a parameter (is_param 1: with a
 * gradient) or a statistic of n floats under "LAYER.what"; returns the
 * view's data (and *grad), or NULL while counting. */
float *cnn_net_declare(struct cnn_net *net, struct cnn_layer *l,
		       const char *what, int ndim, const int64_t *shape,
		       int is_param, int decay, float **grad);

#endif
