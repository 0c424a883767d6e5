/*
 * hparams.h - the built-in trainer's hyperparameters: one table with each
 * name, type, default and valid range. `sweep validate` checks sweeps that
 * target the built-in trainer against it, `sweep train key=value` and every
 * sweep trial set values through it, and the README documents it.
 *
 * defines: enum cnn_hp_type, struct cnn_hparam_info, cnn_hparam_table,
 *          cnn_hparam_find, cnn_hparam_suggest, cnn_hparam_check,
 *          struct cnn_hparams, cnn_hparams_default, cnn_hparams_set,
 *          cnn_hparams_set_json, cnn_hparams_to_json
 */
#ifndef CNN_HPARAMS_H
#define CNN_HPARAMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum cnn_hp_type { CNN_HP_FLOAT, CNN_HP_INT, CNN_HP_BOOL, CNN_HP_CHOICE };

struct cnn_hparam_info {
	const char *name;
	enum cnn_hp_type type;
	const char *default_text;   /* as shown in docs: "1e-3", "all", "adam" */
	double min, max;            /* inclusive range for FLOAT/INT */
	int min_exclusive;          /* FLOAT: value must be > min */
	int multiple_of;            /* INT: value must be a multiple (0: any) */
	const char *const *choices; /* CHOICE: NULL-terminated list */
	const char *help;
};

/* NULL-name-terminated table, in documentation order. */
extern const struct cnn_hparam_info cnn_hparam_table[];

/* The entry for name, or NULL. */
const struct cnn_hparam_info *cnn_hparam_find(const char *name);

/* The known name closest to an unknown one (edit distance <= 3), or NULL;
 * for "did you mean" messages. */
const char *cnn_hparam_suggest(const char *name);

/* Checks that a JSON value fits the entry's type and range. Returns 0, or -1
 * with a reason in err such as "must be between 1 and 4096, got 0". An
 * integer given for a FLOAT is fine; 32.0 for an INT is fine, 32.5 is not;
 * booleans accept true/false only. */
int cnn_hparam_check(const struct cnn_hparam_info *info, const json_t *value,
		     struct sw_err *err);

enum cnn_optimizer { CNN_OPT_ADAM, CNN_OPT_SGD, CNN_OPT_RMSPROP };
enum cnn_lr_schedule { CNN_LR_CONSTANT, CNN_LR_COSINE, CNN_LR_STEP };
enum cnn_normalize { CNN_NORM_RESCALE, CNN_NORM_STANDARDIZE };
enum cnn_augment { CNN_AUG_NONE, CNN_AUG_FLIP, CNN_AUG_FLIP_CROP };

/* The typed values a trainer runs with. */
struct cnn_hparams {
	double learning_rate;
	int batch_size;
	int epochs;
	enum cnn_optimizer optimizer;
	double momentum;
	int nesterov;
	double weight_decay;
	enum cnn_lr_schedule lr_schedule;
	int conv1_filters, conv2_filters, dense_units;
	double dropout_1, dropout;
	double bn_momentum;
	int precise_bn;
	int image_size;
	enum cnn_normalize normalize;
	enum cnn_augment augment;
	int train_limit;            /* 0: all 50,000 */
	int val_limit;              /* 0: all 10,000 */
	uint64_t seed;
};

/* The defaults of the table (the notebook's recipe). */
void cnn_hparams_default(struct cnn_hparams *hp);

/* Sets one value from text ("learning_rate", "3e-4"), as `sweep train
 * key=value` does. Returns 0 or -1 with err naming the key. */
int cnn_hparams_set(struct cnn_hparams *hp, const char *name, const char *text,
		    struct sw_err *err);

/* Sets one value from JSON (a sweep's suggestion). Same contract. */
int cnn_hparams_set_json(struct cnn_hparams *hp, const char *name,
			 const json_t *value, struct sw_err *err);

/* All values as a new JSON object (the caller owns the reference). */
json_t *cnn_hparams_to_json(const struct cnn_hparams *hp);

#endif
