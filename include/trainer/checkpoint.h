/*
 * checkpoint.h - a trainer's complete state between two epochs, as one
 * self-checking file, so a run killed at any point continues from its last
 * finished epoch bit for bit (same thread count) instead of from scratch.
 *
 * What it holds: the hyperparameters (checked on load), the sizes of the
 * training and validation splits, the epochs done and the optimizer step
 * (the dropout stream is derived from the seed and the step), the shuffling
 * and augmentation generator (struct sw_rng; the next epoch's data order is
 * drawn from it, so it is also the epoch's place in the data order), the
 * last epoch's metrics, then every weight and BatchNorm moving statistic and
 * the optimizer's slabs (Adam m and v, SGD/RMSprop momentum and mean
 * square), and a caller's `note` (any JSON value: the run's history so far).
 *
 * Layout (host byte order; a checkpoint is for resuming on this machine):
 *   "SWCKPT\r\n"  u32 version  u32 json_len  json header (json_len bytes)
 *   u64 rng.state  u64 rng.inc
 *   float params[n_params]  stats[n_stats]  opt_m[n_params]  opt_v[n_params]
 *   MD5 of everything before (16 bytes)
 * A torn, truncated or corrupted file fails the MD5; a file of another
 * version or for other hyperparameters is refused: each is an error naming
 * the file, and the caller trains from the start.
 *
 * defines: CNN_CHECKPOINT_VERSION, cnn_checkpoint_encode,
 *          cnn_checkpoint_decode, cnn_checkpoint_save, cnn_checkpoint_load
 */
#ifndef CNN_CHECKPOINT_H
#define CNN_CHECKPOINT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "trainer/train.h"

#define CNN_CHECKPOINT_VERSION 1

/* Serialises t (between epochs) and note (borrowed, may be NULL) into a new
 * buffer *out of *len bytes that the caller frees. Returns 0 or -1 (out of
 * memory) with err. */
int cnn_checkpoint_encode(const struct cnn_trainer *t, const json_t *note,
			  void **out, size_t *len, struct sw_err *err);

/* Restores t, initialised by cnn_trainer_init with the same hyperparameters
 * and data, from len bytes of data; name is the file for messages. On
 * success *note (may be NULL) gets a new reference to the note (NULL when
 * there was none) and returns 0. On failure t is unchanged and -1 is
 * returned with err: "checkpoint 'NAME' is torn or corrupt", "... is from
 * checkpoint version 7 (this sweep writes 1)", "... is for other
 * hyperparameters", ... */
int cnn_checkpoint_decode(struct cnn_trainer *t, const void *data, size_t len,
			  const char *name, json_t **note, struct sw_err *err);

/* Encodes t and replaces path with it atomically (temp file, fsync,
 * rename, fsync of the directory: base/durable.h). Returns 0 or -1 with
 * err naming path. */
int cnn_checkpoint_save(const struct cnn_trainer *t, const json_t *note,
			const char *path, struct sw_err *err);

/* Reads path and decodes it into t (as cnn_checkpoint_decode). A missing
 * file is an error too ("no checkpoint 'PATH'"). */
int cnn_checkpoint_load(struct cnn_trainer *t, const char *path, json_t **note,
			struct sw_err *err);

#endif
