/* Whole-file reads and atomic file writes. */
#ifndef IO_FILE_H
#define IO_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* Reads the whole regular file at path into a new buffer (core_malloc; free with core_free).
 * IGD_ERR_NOT_FOUND when it does not exist, IGD_ERR_LIMIT when it is larger than max_size,
 * IGD_ERR_IO when it cannot be read (or is not a regular file), IGD_ERR_OUT_OF_MEMORY. */
igd_status io_read_file(const char *path, size_t max_size, unsigned char **data, size_t *size,
                        core_err *err);
/* The same, after check_fn has accepted the file's first head_size bytes (fewer when the file is
 * shorter) and its size: a file that is not what the caller reads is refused before it is read
 * whole. */
typedef igd_status (*io_head_fn)(const unsigned char *head, size_t got, uint64_t file_size,
                                 void *user, core_err *err);
igd_status io_read_file_checked(const char *path, size_t max_size, size_t head_size,
                                io_head_fn check_fn, void *user, unsigned char **data, size_t *size,
                                core_err *err);
/* Opens a regular file for reading without blocking on a FIFO or device: anything else is
 * IGD_ERR_IO, a missing file IGD_ERR_NOT_FOUND. *file_size receives its size. */
igd_status io_open_regular(const char *path, FILE **out, uint64_t *file_size, core_err *err);

/* Writes a file atomically: write_fn writes the content to a temporary file in the same folder,
 * which is flushed to disk and then replaces path by a rename (the folder is synced after it).
 * On any failure the temporary file is removed and the file at path is untouched. Temporary
 * files are unnamed while written (O_TMPFILE, where the filesystem has it) and are named
 * "<path>.tmp-<pid>-<n>" only just before the rename; a save removes the temporary files of
 * earlier saves to the same path whose process no longer exists (a killed writer's). */
typedef igd_status (*io_write_fn)(FILE *file, void *user, core_err *err);
igd_status io_write_atomic(const char *path, io_write_fn write_fn, void *user, core_err *err);

/* The status for a failed open (NOT_FOUND for a missing file or folder, IO otherwise) with a
 * message naming the path and the reason. */
igd_status io_fail_errno(core_err *err, int errnum, const char *action, const char *path);

#endif
