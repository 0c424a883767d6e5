/* hparams.c - the trainer's hyperparameter table and typed values; see
 * include/trainer/hparams.h */
#include "trainer/hparams.h"
#include "base/nearest.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const optimizers[] = { "adam", "sgd", "rmsprop", NULL };
static const char *const schedules[] = { "constant", "cosine", "step", NULL };
static const char *const normalizers[] = { "rescale", "standardize", NULL };
static const char *const augments[] = { "none", "flip", "flip_crop", NULL };

#define FLOAT(n, d, lo, hi, excl, h) { n, CNN_HP_FLOAT, d, lo, hi, excl, 0, NULL, h }
#define INT(n, d, lo, hi, mult, h) { n, CNN_HP_INT, d, lo, hi, 0, mult, NULL, h }
#define BOOL(n, d, h) { n, CNN_HP_BOOL, d, 0, 1, 0, 0, NULL, h }
#define CHOICE(n, d, c, h) { n, CNN_HP_CHOICE, d, 0, 0, 0, 0, c, h }

const struct cnn_hparam_info cnn_hparam_table[] = {
	FLOAT("learning_rate", "1e-3", 0, 10, 1, "initial learning rate"),
	INT("batch_size", "256", 1, 4096, 0, "images per optimiser step"),
	INT("epochs", "5", 1, 1000, 0, "passes over the training images"),
	CHOICE("optimizer", "adam", optimizers, "adam | sgd | rmsprop"),
	FLOAT("momentum", "0.9", 0, 0.999, 0, "momentum of sgd (and rmsprop)"),
	BOOL("nesterov", "false", "Nesterov momentum for sgd"),
	FLOAT("weight_decay", "0", 0, 1, 0, "L2 weight decay on kernels"),
	CHOICE("lr_schedule", "constant", schedules,
	       "constant | cosine (lr*(1+cos(pi*e/E))/2 in epoch e of E) | step (x0.1 from 50% and 75%)"),
	INT("conv1_filters", "32", 1, 512, 0, "filters of the first conv block"),
	INT("conv2_filters", "64", 1, 512, 0, "filters of the second conv block"),
	INT("dense_units", "64", 1, 4096, 0, "units of the hidden dense layer"),
	FLOAT("dropout_1", "0.3", 0, 0.95, 0, "dropout after the first conv block"),
	FLOAT("dropout", "0.5", 0, 0.95, 0, "dropout after the second block and dense layer"),
	FLOAT("bn_momentum", "0.99", 0, 0.9999, 0, "BatchNorm moving-average momentum (Keras)"),
	BOOL("precise_bn", "true",
	     "recompute BatchNorm moving statistics before each evaluation"),
	INT("image_size", "32", 8, 128, 4, "side the images are resized to (multiple of 4)"),
	CHOICE("normalize", "rescale", normalizers,
	       "rescale to [0,1] | standardize per channel"),
	CHOICE("augment", "none", augments, "none | flip | flip_crop (training only)"),
	INT("train_limit", "all", 0, 50000, 0, "use the first N training images (0: all 50,000)"),
	INT("val_limit", "all", 0, 10000, 0, "use the first N test images (0: all 10,000)"),
	INT("seed", "0", 0, 9007199254740991.0, 0, "random seed (init, shuffling, dropout)"),
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL },
};

const struct cnn_hparam_info *cnn_hparam_find(const char *name)
{
	const struct cnn_hparam_info *h;

	for (h = cnn_hparam_table; h->name; h++)
		if (!strcmp(h->name, name))
			return h;
	return NULL;
}

const char *cnn_hparam_suggest(const char *name)
{
	enum { N = sizeof(cnn_hparam_table) / sizeof(cnn_hparam_table[0]) };
	const char *names[N];
	size_t i;

	for (i = 0; cnn_hparam_table[i].name; i++)
		names[i] = cnn_hparam_table[i].name;
	names[i] = NULL;
	return sw_nearest(name, names);
}

static int check_choice(const struct cnn_hparam_info *info, const json_t *value,
			struct sw_err *err)
{
	const char *const *c;

	if (json_is_string(value))
		for (c = info->choices; *c; c++)
			if (!strcmp(*c, json_string_value(value)))
				return 0;
	return sw_errorf(err, "must be one of %s", info->help);
}

static int check_number(const struct cnn_hparam_info *info, double v,
			struct sw_err *err)
{
	int is_int = info->type == CNN_HP_INT;

	if (!isfinite(v))
		return sw_errorf(err, "must be a finite number");
	if (is_int && v != floor(v))
		return sw_errorf(err, "must be an integer, got %g", v);
	if (v < info->min || v > info->max || (info->min_exclusive && v <= info->min)) {
		if (info->min_exclusive)
			return sw_errorf(err, "must be greater than %g and at most %g, got %g",
					 info->min, info->max, v);
		return sw_errorf(err, "must be between %g and %g, got %g",
				 info->min, info->max, v);
	}
	if (is_int && info->multiple_of && fmod(v, info->multiple_of) != 0)
		return sw_errorf(err, "must be a multiple of %d, got %g",
				 info->multiple_of, v);
	return 0;
}

int cnn_hparam_check(const struct cnn_hparam_info *info, const json_t *value,
		     struct sw_err *err)
{
	switch (info->type) {
	case CNN_HP_BOOL:
		if (!json_is_boolean(value))
			return sw_errorf(err, "must be true or false");
		return 0;
	case CNN_HP_CHOICE:
		return check_choice(info, value, err);
	case CNN_HP_FLOAT:
	case CNN_HP_INT:
		if (!json_is_number(value))
			return sw_errorf(err, "must be a number");
		return check_number(info, json_number_value(value), err);
	}
	return sw_errorf(err, "unknown type");
}

void cnn_hparams_default(struct cnn_hparams *hp)
{
	memset(hp, 0, sizeof(*hp));
	hp->learning_rate = 1e-3;
	hp->batch_size = 256;
	hp->epochs = 5;
	hp->optimizer = CNN_OPT_ADAM;
	hp->momentum = 0.9;
	hp->nesterov = 0;
	hp->weight_decay = 0;
	hp->lr_schedule = CNN_LR_CONSTANT;
	hp->conv1_filters = 32;
	hp->conv2_filters = 64;
	hp->dense_units = 64;
	hp->dropout_1 = 0.3;
	hp->dropout = 0.5;
	hp->bn_momentum = 0.99;
	hp->precise_bn = 1;
	hp->image_size = 32;
	hp->normalize = CNN_NORM_RESCALE;
	hp->augment = CNN_AUG_NONE;
	hp->train_limit = 0;
	hp->val_limit = 0;
	hp->seed = 0;
}

static int choice_index(const struct cnn_hparam_info *info, const json_t *v)
{
	int i;

	for (i = 0; info->choices[i]; i++)
		if (!strcmp(info->choices[i], json_string_value(v)))
			return i;
	return 0;
}

/* Stores a checked value into the field it names. */
static void store(struct cnn_hparams *hp, const struct cnn_hparam_info *info,
		  const json_t *v)
{
	const char *n = info->name;
	double d = json_is_number(v) ? json_number_value(v) : 0;
	int b = json_is_true(v);

#define IS(x) (!strcmp(n, x))
	if (IS("learning_rate")) hp->learning_rate = d;
	else if (IS("batch_size")) hp->batch_size = (int)d;
	else if (IS("epochs")) hp->epochs = (int)d;
	else if (IS("optimizer")) hp->optimizer = (enum cnn_optimizer)choice_index(info, v);
	else if (IS("momentum")) hp->momentum = d;
	else if (IS("nesterov")) hp->nesterov = b;
	else if (IS("weight_decay")) hp->weight_decay = d;
	else if (IS("lr_schedule")) hp->lr_schedule = (enum cnn_lr_schedule)choice_index(info, v);
	else if (IS("conv1_filters")) hp->conv1_filters = (int)d;
	else if (IS("conv2_filters")) hp->conv2_filters = (int)d;
	else if (IS("dense_units")) hp->dense_units = (int)d;
	else if (IS("dropout_1")) hp->dropout_1 = d;
	else if (IS("dropout")) hp->dropout = d;
	else if (IS("bn_momentum")) hp->bn_momentum = d;
	else if (IS("precise_bn")) hp->precise_bn = b;
	else if (IS("image_size")) hp->image_size = (int)d;
	else if (IS("normalize")) hp->normalize = (enum cnn_normalize)choice_index(info, v);
	else if (IS("augment")) hp->augment = (enum cnn_augment)choice_index(info, v);
	else if (IS("train_limit")) hp->train_limit = (int)d;
	else if (IS("val_limit")) hp->val_limit = (int)d;
	else if (IS("seed")) hp->seed = (uint64_t)d;
#undef IS
}

int cnn_hparams_set_json(struct cnn_hparams *hp, const char *name,
			 const json_t *value, struct sw_err *err)
{
	const struct cnn_hparam_info *info = cnn_hparam_find(name);
	const char *guess;

	if (!info) {
		guess = cnn_hparam_suggest(name);
		if (guess)
			return sw_errorf(err, "unknown hyperparameter '%s'; did you mean '%s'?",
					 name, guess);
		return sw_errorf(err, "unknown hyperparameter '%s' (see 'sweep help train')",
				 name);
	}
	if (cnn_hparam_check(info, value, err) < 0)
		return sw_err_prefix(err, "hyperparameter '%s'", name);
	store(hp, info, value);
	return 0;
}

/* Reads command-line text as the JSON value the entry's type expects. */
static json_t *text_to_json(const struct cnn_hparam_info *info, const char *text)
{
	char *end;
	double d;

	switch (info->type) {
	case CNN_HP_BOOL:
		if (!strcmp(text, "true") || !strcmp(text, "1"))
			return json_true();
		if (!strcmp(text, "false") || !strcmp(text, "0"))
			return json_false();
		return json_string(text);
	case CNN_HP_CHOICE:
		return json_string(text);
	case CNN_HP_FLOAT:
	case CNN_HP_INT:
		if (info->type == CNN_HP_INT && !strcmp(text, "all"))
			return json_integer(0);
		errno = 0;
		d = strtod(text, &end);
		if (end == text || *end || errno == ERANGE)
			return json_string(text);
		return json_real(d);
	}
	return NULL;
}

int cnn_hparams_set(struct cnn_hparams *hp, const char *name, const char *text,
		    struct sw_err *err)
{
	const struct cnn_hparam_info *info = cnn_hparam_find(name);
	json_t *v;
	int ret;

	if (!info)
		return cnn_hparams_set_json(hp, name, NULL, err);
	v = text_to_json(info, text);
	if (!v)
		return sw_errorf(err, "out of memory");
	ret = cnn_hparams_set_json(hp, name, v, err);
	json_decref(v);
	return ret;
}

json_t *cnn_hparams_to_json(const struct cnn_hparams *hp)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "learning_rate", json_real(hp->learning_rate));
	json_object_set_new(o, "batch_size", json_integer(hp->batch_size));
	json_object_set_new(o, "epochs", json_integer(hp->epochs));
	json_object_set_new(o, "optimizer", json_string(optimizers[hp->optimizer]));
	json_object_set_new(o, "momentum", json_real(hp->momentum));
	json_object_set_new(o, "nesterov", json_boolean(hp->nesterov));
	json_object_set_new(o, "weight_decay", json_real(hp->weight_decay));
	json_object_set_new(o, "lr_schedule", json_string(schedules[hp->lr_schedule]));
	json_object_set_new(o, "conv1_filters", json_integer(hp->conv1_filters));
	json_object_set_new(o, "conv2_filters", json_integer(hp->conv2_filters));
	json_object_set_new(o, "dense_units", json_integer(hp->dense_units));
	json_object_set_new(o, "dropout_1", json_real(hp->dropout_1));
	json_object_set_new(o, "dropout", json_real(hp->dropout));
	json_object_set_new(o, "bn_momentum", json_real(hp->bn_momentum));
	json_object_set_new(o, "precise_bn", json_boolean(hp->precise_bn));
	json_object_set_new(o, "image_size", json_integer(hp->image_size));
	json_object_set_new(o, "normalize", json_string(normalizers[hp->normalize]));
	json_object_set_new(o, "augment", json_string(augments[hp->augment]));
	json_object_set_new(o, "train_limit", json_integer(hp->train_limit));
	json_object_set_new(o, "val_limit", json_integer(hp->val_limit));
	json_object_set_new(o, "seed", json_integer((json_int_t)hp->seed));
	return o;
}
