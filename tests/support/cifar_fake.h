/*
 * cifar_fake.h - small CIFAR-10 data sets in the official binary format,
 * generated for tests (the real one is 184 MB and may be absent).
 *
 * Record r of file f (0-4: data_batch_1..5, 5: test_batch) has label
 * sw_test_cifar_label(f, r) and pixel k (0..3071, CHW) equal to
 * sw_test_cifar_pixel(f, r, k), so tests can check what was loaded.
 *
 * defines: sw_test_cifar_label, sw_test_cifar_pixel, sw_test_cifar_write,
 *          sw_test_cifar_tarball, sw_test_cifar_real_dir
 */
#ifndef SW_TEST_CIFAR_FAKE_H
#define SW_TEST_CIFAR_FAKE_H

#include <stddef.h>
#include <stdint.h>

int sw_test_cifar_label(int file, int record);
uint8_t sw_test_cifar_pixel(int file, int record, int k);

/* Writes data_batch_1..5.bin, test_batch.bin (each `records` records) and
 * batches.meta.txt into dir (which must exist). Returns 0 or -1. */
int sw_test_cifar_write(const char *dir, int records);

/* Builds a .tar.gz in memory laid out like the official tarball
 * (cifar-10-batches-bin/<files>, plus readme.html) with `records` records
 * per file. Returns a buffer the caller frees (length in *len), or NULL. */
unsigned char *sw_test_cifar_tarball(int records, size_t *len);

/* The real CIFAR-10 directory if this machine has it, else NULL: the first
 * of $SWEEP_TEST_REAL_DATA, ../shared/data/cifar-10-batches-bin (beside the
 * checkout, as CI lays it out) and /work/shared/data/cifar-10-batches-bin
 * that holds data_batch_1.bin. */
const char *sw_test_cifar_real_dir(void);

#endif
