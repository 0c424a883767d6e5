/*
 * eval.h - the fused evaluation forward pass of the CIFAR-10 CNN (what
 * cnn_net_forward runs in CNN_EVAL mode): the conv trunk runs depth first on
 * chunks of images, channels last, each conv applying its ReLU, the
 * BatchNorm after it (moving statistics) and the max-pool in its epilogue
 * (conv_nhwc.c), so the activations of a chunk stay in cache and the threads
 * meet only at the end of the trunk; the dense tail runs in the same
 * parallel region, each thread its images. Dropout is the identity in evaluation
 * and costs nothing. The transformed kernels (and dense1's kernel, its rows
 * reordered for the channels-last features) are kept between calls and
 * rebuilt when the parameters or moving statistics differ from those they
 * were built from (a compare of the two slabs per call), so repeated
 * evaluation with the same weights transforms them once.
 *
 * The layer-by-layer pass through the training kernels (net->eval_layerwise
 * set) is the reference: tests/test_eval.c bounds the difference. Every
 * sum runs in cnn_gemm_nopack, in order, per image: on its AVX-512 path an
 * image's logits are the same bits for any thread count and whatever batch
 * it came in (elsewhere, for the same thread count).
 *
 * After a fused pass the activation buffers between the layers do not hold
 * that pass's values (only the logits do).
 *
 * defines: CNN_EVAL_CHUNK, enum cnn_eval_stage, cnn_eval_forward,
 *          cnn_eval_release, cnn_eval_times
 */
#ifndef CNN_EVAL_H
#define CNN_EVAL_H

#include "trainer/net.h"

/* Images per work unit of the fused trunk: 2 cost the same CPU time as 4
 * or 8 (measured) and split a batch of 64 into 32 units for the threads. */
#define CNN_EVAL_CHUNK 2

enum cnn_eval_stage {
	CNN_EVAL_CONV1,         /* conv1 + bn1 */
	CNN_EVAL_CONV2,         /* conv2 + bn2 + pool1 (+ dropout1) */
	CNN_EVAL_CONV3,         /* conv3 + bn3 */
	CNN_EVAL_CONV4,         /* conv4 + bn4 + pool2 (+ dropout2) */
	CNN_EVAL_DENSE,         /* dense1, bn5, dropout3, dense2 */
	CNN_EVAL_PREPARE,       /* rebuilding the transformed kernels */
	CNN_EVAL_STAGES
};

/* The logits (n, classes) of x (n, in_c, S, S) in evaluation mode, or NULL
 * when net is not the layer sequence the fused pass knows (the caller then
 * runs the layers one by one). Allocates its state on first use (aborts
 * on OOM, as cnn_net_init). */
const float *cnn_eval_forward(struct cnn_net *net, const float *x, int n);

/* Frees the state of net's fused pass (NULL is fine). */
void cnn_eval_release(struct cnn_eval *e);

/* CPU seconds (all threads) each stage took since the last call, then
 * zeroes them; zeros before the first fused pass. */
void cnn_eval_times(struct cnn_net *net, double sec[CNN_EVAL_STAGES]);

#endif
