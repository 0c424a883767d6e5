/*
 * download.h - fetch and install the CIFAR-10 binary tarball.
 *
 * cnn_cifar_download() makes DEST (e.g. ~/.cache/sweep/cifar-10-batches-bin)
 * appear complete or not at all:
 *   1. GET the tarball with libcurl into a temporary file beside DEST
 *      (".DEST-NAME.part-XXXXXX"), computing its MD5 on the way; a progress
 *      bar goes to stderr only when stderr is a terminal;
 *   2. compare the MD5 with the expected one;
 *   3. extract it with libarchive into a temporary directory beside DEST
 *      (".DEST-NAME.tmp-XXXXXX"), refusing absolute paths, ".." and links;
 *   4. check that the extracted cifar-10-batches-bin/ holds every expected
 *      file (data_batch_1..5.bin, test_batch.bin, batches.meta.txt) with a
 *      non-zero size that is a multiple of 3073 bytes;
 *   5. rename it to DEST, then remove the temporaries.
 * On any failure (HTTP status >= 400, connection error, a server that sends
 * slower than the low-speed limit, a truncated body, a wrong checksum, a
 * corrupt archive, a missing file, interruption) every temporary is removed
 * and DEST is left untouched, so nothing that looks valid is left behind.
 *
 * Environment:
 *   SWEEP_CIFAR_URL       overrides the tarball URL (tests point it at a
 *                         loopback server)
 *   SWEEP_TEST_CIFAR_MD5  overrides the expected MD5 (tests only: a small
 *                         generated tarball cannot have the official sum)
 *
 * defines: CNN_CIFAR_URL, CNN_CIFAR_MD5, struct cnn_download_opts,
 *          CNN_DOWNLOAD_OPTS_INIT, cnn_cifar_download
 */
#ifndef CNN_DOWNLOAD_H
#define CNN_DOWNLOAD_H

#include "base/err.h"

#define CNN_CIFAR_URL "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
#define CNN_CIFAR_MD5 "c32a1d4ab5d03f1284b67883e8d87530"

struct cnn_download_opts {
	const char *url;        /* NULL: $SWEEP_CIFAR_URL, else CNN_CIFAR_URL */
	const char *md5;        /* NULL: $SWEEP_TEST_CIFAR_MD5, else
	                         * CNN_CIFAR_MD5 (32 hex digits) */
	long connect_timeout;   /* seconds; 0: 30 */
	long low_speed_limit;   /* bytes/s below which the transfer is too
	                         * slow; 0: 1000 */
	long low_speed_time;    /* ... for this many seconds: abort; 0: 60 */
	int progress;           /* -1: only when stderr is a terminal (the
	                         * CNN_DOWNLOAD_OPTS_INIT default); 0 off; 1 on */
	const volatile int *stop; /* if non-NULL and becomes non-zero, the
	                           * download is abandoned (SW_ERR_INTR) */
};
#define CNN_DOWNLOAD_OPTS_INIT { NULL, NULL, 0, 0, 0, -1, NULL }

/* Downloads, verifies and installs the data set at dest_dir (see above).
 * dest_dir must not exist yet; its parent is created if needed. opts may be
 * NULL (= CNN_DOWNLOAD_OPTS_INIT). Returns 0 when dest_dir is complete;
 * SW_ERR_INTR when stopped; -1 with err set, e.g.
 * "download of 'URL' failed: HTTP 404", "checksum mismatch for 'URL': got
 * MD5 ..., expected ...; the download is corrupt, try again",
 * "download of 'URL' failed: Operation too slow. Less than 1000 bytes/sec
 * transferred the last 60 seconds (the server is too slow or not
 * responding; try again later)". Prints one line to stderr saying what it downloads where.
 * Not safe to call concurrently for the same dest_dir (each call has its own
 * temporaries, so the loser's rename fails cleanly with "already exists"). */
int cnn_cifar_download(const char *dest_dir,
		       const struct cnn_download_opts *opts,
		       struct sw_err *err);

#endif
