/*
 * data.h - the CIFAR-10 data set in memory: the binary batches loaded once,
 * validated, kept as bytes, and shared read-only by every trainer of the
 * process.
 *
 * Files (the official "binary version"): data_batch_1.bin .. data_batch_5.bin
 * (training, 10,000 records each), test_batch.bin (10,000 records; the
 * validation split, as the notebook does) and batches.meta.txt (the 10 class
 * names, one per line). A record is 3073 bytes: 1 label byte (0-9), then
 * 1024 red, 1024 green and 1024 blue bytes, each plane 32x32 row-major.
 *
 * In memory an image is the record without its label: 3072 bytes, CHW
 * (channel planes R, G, B; rows top to bottom). Labels sit in their own
 * array. Pixels are converted to floats per batch by the transform pipeline
 * (transform.h), never all at once.
 *
 * Sharing: a struct cnn_dataset is immutable after cnn_dataset_load() and
 * reference-counted (atomically), so several trainers running at the same
 * time in one process read the same single copy: each takes a reference with
 * cnn_dataset_ref() and drops it with cnn_dataset_unref(); the last unref
 * frees it. Per-trial limits (train_limit, val_limit) are views made with
 * cnn_split_head(), which copy nothing.
 *
 * Directory: cnn_data_dir() resolves `--data DIR`, else $SWEEP_DATA, else
 * ${XDG_CACHE_HOME:-~/.cache}/sweep/cifar-10-batches-bin. cnn_data_open()
 * resolves, downloads the official tarball if that directory does not exist
 * (download.h), and loads.
 *
 * defines: CNN_CIFAR_* sizes, struct cnn_split, struct cnn_dataset,
 *          struct cnn_data_opts, CNN_DATA_OPTS_INIT, cnn_data_dir,
 *          cnn_dataset_load, cnn_data_open, cnn_dataset_ref,
 *          cnn_dataset_unref, cnn_split_head, cnn_split_labels,
 *          cnn_permutation
 */
#ifndef CNN_DATA_H
#define CNN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/rng.h"

#define CNN_CIFAR_C 3
#define CNN_CIFAR_H 32
#define CNN_CIFAR_W 32
#define CNN_CIFAR_PIXELS 3072        /* bytes per image: C*H*W */
#define CNN_CIFAR_RECORD 3073        /* bytes per record: label + image */
#define CNN_CIFAR_CLASSES 10
#define CNN_CIFAR_TRAIN_FILES 5      /* data_batch_1..5.bin */
#define CNN_CIFAR_BATCH_RECORDS 10000 /* records per official file */
#define CNN_CIFAR_DIRNAME "cifar-10-batches-bin"

/* A set of images: a borrowed view into a dataset (or any caller memory laid
 * out the same way, e.g. one image to classify: n = 1). */
struct cnn_split {
	int n;                  /* number of images */
	const uint8_t *pixels;  /* n * CNN_CIFAR_PIXELS bytes; image i starts at
	                         * pixels + (size_t)i * CNN_CIFAR_PIXELS, CHW */
	const uint8_t *labels;  /* n bytes, each 0..9 (may be NULL for
	                         * unlabeled inference input) */
};

/* The loaded data set. Every field is read-only after load; never write
 * through the pointers (several trainers share them). */
struct cnn_dataset {
	struct cnn_split train;  /* data_batch_1..5 concatenated in that order
	                          * (record r of batch b is image (b-1)*10000+r);
	                          * n = 0 when not loaded */
	struct cnn_split test;   /* test_batch.bin; n = 0 when not loaded */
	char class_names[CNN_CIFAR_CLASSES][32]; /* from batches.meta.txt */
	char *dir;               /* the directory it came from */
	/* private */
	int refs_;
	uint8_t *storage_;
};

/* What to load. Zero (CNN_DATA_OPTS_INIT) means everything, official sizes. */
struct cnn_data_opts {
	int train_limit;    /* > 0: load only the first N training images
	                     * (reads only the files needed); 0: all */
	int val_limit;      /* > 0: load only the first N test images; 0: all */
	int skip_train;     /* 1: do not load the training split (sweep eval) */
	int skip_test;      /* 1: do not load the test split */
	int batch_records;  /* records each file must hold; 0: the official
	                     * 10,000. Tests set small values to use small
	                     * generated files. */
	int no_download;    /* cnn_data_open only: 1 = never download, fail
	                     * with a message saying where the data belongs */
};
#define CNN_DATA_OPTS_INIT { 0, 0, 0, 0, 0, 0 }

/* Resolves the data directory: `flag` (from --data; NULL or "" when not
 * given), else $SWEEP_DATA (if non-empty), else
 * ${XDG_CACHE_HOME:-$HOME/.cache}/sweep/cifar-10-batches-bin. Does not look
 * at the file system. Returns 0 with *out a new string the caller frees, or
 * -1 with err set (no HOME to build the default from). */
int cnn_data_dir(const char *flag, char **out, struct sw_err *err);

/* Loads the data set from dir (which must exist). Validates, before
 * trusting any byte: every file that is needed exists and is a regular file;
 * every batch file's size is a multiple of 3073 bytes and holds exactly
 * opts->batch_records records; every loaded label is 0..9; batches.meta.txt
 * names 10 classes. Errors name the file and, for a bad label, the record:
 * "'DIR/data_batch_3.bin' record 17: label 12 is not a class (0-9)".
 * opts may be NULL (= CNN_DATA_OPTS_INIT). Returns 0 with *out a new dataset
 * holding one reference (release with cnn_dataset_unref), or -1 with err set
 * and *out NULL. Loading all 60,000 images reads ~184 MB; the dataset keeps
 * 60,000 * 3073 bytes. Thread-safe (touches no global state). */
int cnn_dataset_load(const char *dir, const struct cnn_data_opts *opts,
		     struct cnn_dataset **out, struct sw_err *err);

/* cnn_data_dir() + download when the directory does not exist (unless
 * opts->no_download; see download.h for the environment variables it
 * honours, e.g. SWEEP_CIFAR_URL) + cnn_dataset_load(). Download progress goes
 * to stderr when it is a terminal. Same return contract as
 * cnn_dataset_load. `stop`, if non-NULL, is polled during a download; when it
 * becomes non-zero the download is abandoned and SW_ERR_INTR returned. */
int cnn_data_open(const char *flag_dir, const struct cnn_data_opts *opts,
		  const volatile int *stop, struct cnn_dataset **out,
		  struct sw_err *err);

/* Takes another reference (atomically) and returns ds. */
struct cnn_dataset *cnn_dataset_ref(struct cnn_dataset *ds);

/* Drops a reference (atomically); the last one frees the dataset, after
 * which every split view into it is dangling. Accepts NULL. */
void cnn_dataset_unref(struct cnn_dataset *ds);

/* A view of the first n images of s (n <= 0 or n >= s->n: all of s), the
 * meaning of train_limit / val_limit. Copies nothing; borrows s's memory. */
struct cnn_split cnn_split_head(const struct cnn_split *s, int n);

/* Gathers the labels of images idx[0..n-1] (idx NULL: 0..n-1) into out[n].
 * s->labels must be non-NULL. */
void cnn_split_labels(const struct cnn_split *s, const int *idx, int n,
		      int *out);

/* Fills idx[0..n-1] with a uniformly random permutation of 0..n-1
 * (Fisher-Yates driven by rng), for shuffling an epoch. */
void cnn_permutation(int *idx, int n, struct sw_rng *rng);

#endif
