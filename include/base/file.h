/*
 * file.h - reading a whole file into memory, with the checks every reader
 * of ours wants: a regular file, a size cap, EINTR handled, and one-line
 * errors that name the file ("unable to read 'x.yaml': No such file or
 * directory").
 *
 * defines: sw_read_file, sw_mkdir_p, sw_mkdir_parents
 */
#ifndef SW_FILE_H
#define SW_FILE_H

#include <stddef.h>

#include "base/err.h"

/* Reads path into a new NUL-terminated buffer *data (the caller frees it;
 * the NUL is not counted in *len). Fails when the file is larger than cap
 * bytes (0: no cap), is a directory or not a regular file. When missing is
 * non-NULL, a file that does not exist is not an error: *missing is set to
 * 1 and *data to NULL. Returns 0, or -1 with err set. */
int sw_read_file(const char *path, size_t cap, char **data, size_t *len,
		 int *missing, struct sw_err *err);

/* mkdir -p: creates path and its missing parents (mode 0755). Fails, with
 * err naming the directory (err may be NULL), when one cannot be created
 * or a file of that name is in the way. */
int sw_mkdir_p(const char *path, struct sw_err *err);

/* sw_mkdir_p of the directory part of a file path ("a/b/c.json": a/b). */
int sw_mkdir_parents(const char *file_path, struct sw_err *err);

#endif
