/*
 * safetensors.h - read and write .safetensors files, the open format the
 * trainer saves models in (weights, BatchNorm moving statistics, transform
 * pipeline, hyperparameters), readable by Hugging Face's `safetensors`
 * library, numpy, or 10 lines of Python json+struct.
 *
 * Layout: 8 bytes N (unsigned little-endian), then N bytes of UTF-8 JSON
 * (padded with spaces so 8 + N is a multiple of 8), then the data area:
 *   {"__metadata__": {"key": "string value", ...},
 *    "conv1.weight": {"dtype": "F32", "shape": [32, 3, 3, 3],
 *                     "data_offsets": [BEGIN, END]}, ...}
 * Offsets are byte offsets into the data area; tensors are raw row-major
 * little-endian. Only F32 is written or accepted.
 *
 * Checkpoint conventions (the model's own metadata; values are strings, as
 * the format requires, JSON text where structured):
 *   "format"        CNN_CKPT_FORMAT ("sweep-cnn")
 *   "format_version" "1"
 *   "pipeline"      cnn_pipeline_to_json() text (transform.h)
 *   "hparams"       cnn_hparams_to_json() text (hparams.h)
 *   anything else the trainer wants (e.g. "val_accuracy")
 * Tensor names are the network's choice (e.g. "conv1.weight",
 * "bn1.moving_mean").
 *
 * Reading validates everything before returning a tensor: the length
 * prefix, that the header is a JSON object without duplicate keys, each
 * entry's dtype/shape/data_offsets, offsets in range, sized to the shape,
 * not overlapping and covering the whole data area (as the reference
 * implementation requires), and __metadata__ holding only strings. Errors
 * name the file and the tensor: "'m.safetensors': tensor 'fc.bias':
 * data_offsets [40, 48] overlap tensor 'fc.weight'".
 *
 * defines: struct cnn_st_tensor, cnn_st_write, struct cnn_st_entry,
 *          struct cnn_st_file, CNN_ST_FILE_INIT, cnn_st_read, cnn_st_parse,
 *          cnn_st_find, cnn_st_get, cnn_st_meta, cnn_st_meta_json,
 *          cnn_st_meta_set_json, cnn_st_file_release, CNN_CKPT_*
 */
#ifndef CNN_SAFETENSORS_H
#define CNN_SAFETENSORS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CNN_ST_MAX_DIMS 8
#define CNN_ST_MAX_HEADER (100u << 20)  /* refuse larger JSON headers */

#define CNN_CKPT_FORMAT "sweep-cnn"
#define CNN_CKPT_VERSION "1"
#define CNN_CKPT_KEY_FORMAT "format"
#define CNN_CKPT_KEY_VERSION "format_version"
#define CNN_CKPT_KEY_PIPELINE "pipeline"
#define CNN_CKPT_KEY_HPARAMS "hparams"

/* One tensor to write. Borrowed: nothing here is freed by this module. */
struct cnn_st_tensor {
	const char *name;        /* unique, non-empty, not "__metadata__" */
	int ndim;                /* 0..CNN_ST_MAX_DIMS (0: a scalar) */
	int64_t shape[CNN_ST_MAX_DIMS];
	const float *data;       /* prod(shape) floats, row-major */
};

/* Writes tensors[0..n-1] (in that order) and metadata (a JSON object whose
 * values are all strings, or NULL) to path atomically: a temporary file in
 * the same directory, fsync, rename over path, fsync of the directory.
 * On failure path is untouched and the temporary removed. Returns 0 or -1
 * with err set (bad name, duplicate name, non-string metadata, I/O error
 * naming path). */
int cnn_st_write(const char *path, const struct cnn_st_tensor *tensors, int n,
		 const json_t *metadata, struct sw_err *err);

/* One tensor of a file that was read. */
struct cnn_st_entry {
	char *name;
	int ndim;
	int64_t shape[CNN_ST_MAX_DIMS];
	size_t numel;            /* prod(shape) */
	size_t offset;           /* byte offset into cnn_st_file.data */
};

/* A file that was read: owns everything in it. */
struct cnn_st_file {
	int n;                       /* number of tensors */
	struct cnn_st_entry *tensors; /* in header order */
	unsigned char *data;         /* the data area (little-endian bytes) */
	size_t data_len;
	json_t *metadata;            /* object of strings; empty if absent */
};
#define CNN_ST_FILE_INIT { 0, NULL, NULL, 0, NULL }

/* Reads and validates path into f. f is overwritten (release a file it
 * held first); on success the caller releases it with cnn_st_file_release,
 * on failure it is left zeroed (releasing it is harmless). Returns 0 or -1
 * with err naming path and what is wrong. */
int cnn_st_read(const char *path, struct cnn_st_file *f, struct sw_err *err);

/* The same from memory (buf is copied as needed; `name` is used in error
 * messages). For tests and fuzzing. */
int cnn_st_parse(const void *buf, size_t len, const char *name,
		 struct cnn_st_file *f, struct sw_err *err);

/* The entry called name, or NULL. */
const struct cnn_st_entry *cnn_st_find(const struct cnn_st_file *f,
				       const char *name);

/* Copies tensor `name` into dst (numel floats, host order) after checking
 * that it exists and has exactly the shape shape[0..ndim-1]. Returns 0 or
 * -1 with err, e.g. "tensor 'conv1.weight' has shape [32, 3, 3, 3],
 * expected [64, 3, 3, 3]" or "missing tensor 'bn1.moving_var'". */
int cnn_st_get(const struct cnn_st_file *f, const char *name, int ndim,
	       const int64_t *shape, float *dst, struct sw_err *err);

/* The metadata string for key, or NULL; borrowed from f. */
const char *cnn_st_meta(const struct cnn_st_file *f, const char *key);

/* Parses the metadata string for key as JSON. Returns 0 with *out a new
 * reference the caller owns, or -1 with err ("missing metadata 'pipeline'",
 * "metadata 'hparams' is not valid JSON: ..."). */
int cnn_st_meta_json(const struct cnn_st_file *f, const char *key,
		     json_t **out, struct sw_err *err);

/* Stores `value` serialised as compact JSON text under key in the metadata
 * object meta (for writing). Returns 0, or -1 on out-of-memory. */
int cnn_st_meta_set_json(json_t *meta, const char *key, const json_t *value);

/* Frees everything f owns and zeroes it; accepts NULL and zeroed structs. */
void cnn_st_file_release(struct cnn_st_file *f);

#endif
