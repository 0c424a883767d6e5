/*
 * transform.h - the transform pipeline (the notebook's "transform
 * pattern"): one ordered list of steps that turns byte images into the
 * float tensors the network sees, applied the same way in training,
 * evaluation and inference, and saved with the model (as JSON in the
 * checkpoint's metadata), so a loaded model preprocesses exactly as it was
 * trained.
 *
 * Steps (each works on one float CHW image, in list order):
 *   resize       bilinear to size x size (half-pixel centres, like
 *                PyTorch's interpolate(align_corners=False) and TF2's
 *                resize without antialiasing); identity when the size is
 *                the input size
 *   random_flip  training only: mirror left-right with probability 1/2
 *   random_crop  training only: pad every side with `padding` zero pixels,
 *                then take a random size x size window (offsets 0..2*padding)
 *   rescale      x * scale + offset (1/255 and 0: bytes to [0,1])
 *   standardize  per channel (x - mean[c]) / std[c], with mean and std
 *                computed over the training set by cnn_pipeline_fit()
 * Training-only steps are skipped when `training` is 0 (evaluation,
 * inference). cnn_pipeline_from_hparams() builds the standard order:
 * resize, [random_flip], [random_crop], rescale, [standardize] (augmentation
 * on pixel values, so crop padding is black, as torchvision's RandomCrop).
 *
 * Randomness: cnn_pipeline_apply() draws one 64-bit key from the caller's
 * rng per call (only when training and a random step exists), and image j
 * of the batch uses its own generator derived from (key, j); the output
 * therefore does not depend on the number of threads, and the reference
 * version gives the same numbers.
 *
 * defines: enum cnn_step_op, struct cnn_step, struct cnn_pipeline,
 *          CNN_PIPELINE_MAX_STEPS, cnn_pipeline_init, cnn_pipeline_add,
 *          cnn_pipeline_from_hparams, cnn_pipeline_fit,
 *          cnn_pipeline_out_size, cnn_pipeline_apply,
 *          cnn_pipeline_apply_ref, cnn_pipeline_to_json,
 *          cnn_pipeline_from_json
 */
#ifndef CNN_TRANSFORM_H
#define CNN_TRANSFORM_H

#include <jansson.h>

#include "base/err.h"
#include "base/rng.h"
#include "trainer/data.h"
#include "trainer/hparams.h"

#define CNN_PIPELINE_MAX_STEPS 8
#define CNN_IMAGE_SIZE_MAX 512

enum cnn_step_op {
	CNN_STEP_RESIZE,
	CNN_STEP_RANDOM_FLIP,
	CNN_STEP_RANDOM_CROP,
	CNN_STEP_RESCALE,
	CNN_STEP_STANDARDIZE,
};

struct cnn_step {
	enum cnn_step_op op;
	int size;               /* resize: output height = width (1..512) */
	int padding;            /* random_crop: zero pixels on each side */
	float scale, offset;    /* rescale */
	float mean[CNN_CIFAR_C], std[CNN_CIFAR_C]; /* standardize; std > 0 */
};

/* A plain value: copy it with `=`, nothing to release. */
struct cnn_pipeline {
	int in_c, in_h, in_w;   /* input image (3, 32, 32 for CIFAR-10) */
	int n_steps;
	struct cnn_step steps[CNN_PIPELINE_MAX_STEPS];
};

/* An empty pipeline for CIFAR-10 input (3x32x32). */
void cnn_pipeline_init(struct cnn_pipeline *p);

/* Appends a step (copied). Returns 0, or -1 with err set when the pipeline
 * is full or the step's parameters are out of range. */
int cnn_pipeline_add(struct cnn_pipeline *p, const struct cnn_step *step,
		     struct sw_err *err);

/* Builds the pipeline of a trainer from its hyperparameters: resize to
 * hp->image_size, augmentation per hp->augment (flip: random_flip;
 * flip_crop: random_flip + random_crop padding 4), rescale 1/255, and for
 * hp->normalize == standardize a standardize step fitted on `train` (which
 * may be NULL otherwise). Returns 0 or -1 with err set. */
int cnn_pipeline_from_hparams(struct cnn_pipeline *p,
			      const struct cnn_hparams *hp,
			      const struct cnn_split *train,
			      struct sw_err *err);

/* Computes the mean and standard deviation (population, over all pixels of
 * all images of train, per channel) of the values that reach each
 * standardize step, i.e. after the steps before it in evaluation mode, and
 * stores them in that step. A std below 1e-6 is stored as 1. When the
 * steps before it are per-channel affine in evaluation mode (the builder's
 * order at any image_size equal to the input), the statistics come exactly
 * from byte histograms; otherwise from the transformed floats. OpenMP
 * parallel, deterministic (independent of the thread count). Returns 0, or
 * -1 if train is empty. */
int cnn_pipeline_fit(struct cnn_pipeline *p, const struct cnn_split *train,
		     struct sw_err *err);

/* Output height (= width) of one image: the last resize's size, else in_h.
 * One output image is in_c * size * size floats. */
int cnn_pipeline_out_size(const struct cnn_pipeline *p);

/* Converts images idx[0..n-1] of src (idx NULL: images 0..n-1) into out,
 * a float batch (n, in_c, S, S) NCHW with S = cnn_pipeline_out_size(p),
 * which the caller allocates (n * in_c * S * S floats). training = 1
 * applies the training-only steps, drawing from rng (which is advanced;
 * rng may be NULL when training is 0). OpenMP-parallel over images; call it
 * from outside a parallel region (it uses the caller's OpenMP thread
 * count). Never fails for a pipeline accepted by cnn_pipeline_add/
 * from_json. */
void cnn_pipeline_apply(const struct cnn_pipeline *p, float *out,
			const struct cnn_split *src, const int *idx, int n,
			int training, struct sw_rng *rng);

/* The reference version: serial, one plain pass per step. Same output as
 * cnn_pipeline_apply (to float rounding, < 1e-5 absolute), same rng use. */
void cnn_pipeline_apply_ref(const struct cnn_pipeline *p, float *out,
			    const struct cnn_split *src, const int *idx, int n,
			    int training, struct sw_rng *rng);

/* The pipeline as a new JSON object (caller owns the reference):
 * {"version":1,"input":[3,32,32],"steps":[{"op":"resize","size":32},
 *  {"op":"random_flip"},{"op":"random_crop","padding":4},
 *  {"op":"rescale","scale":0.003921569,"offset":0},
 *  {"op":"standardize","mean":[..3],"std":[..3]}]}
 * Floats are written with enough digits to read back bit-identical. NULL
 * only on out-of-memory. */
json_t *cnn_pipeline_to_json(const struct cnn_pipeline *p);

/* Parses what cnn_pipeline_to_json wrote into p, strictly (unknown op or
 * key, wrong type, out-of-range value: -1 with err naming the step, e.g.
 * "pipeline step 3 (standardize): std[1] must be > 0"). */
int cnn_pipeline_from_json(struct cnn_pipeline *p, const json_t *j,
			   struct sw_err *err);

#endif
