/* Image files: format detection, decoding of buffers and files, PNG encoding to files. */
#ifndef IO_CODEC_H
#define IO_CODEC_H

#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

typedef enum io_format { IO_FORMAT_UNKNOWN = 0, IO_FORMAT_PNG = 1, IO_FORMAT_JPEG = 2 } io_format;

/* The format announced by the first bytes. A buffer too short to tell but that starts like a
 * known format reports that format (its decoder then finds it truncated). */
io_format io_detect_format(const unsigned char *data, size_t size);

/* Decodes PNG or JPEG data (see igd_image_decode): IGD_ERR_UNSUPPORTED for other formats,
 * IGD_ERR_CORRUPT for damaged data, IGD_ERR_LIMIT over the limits (NULL = defaults). */
igd_status io_image_decode(const unsigned char *data, size_t size, const igd_options *limits,
                           igd_image **out, core_err *err);
/* Reads and decodes an image file: also IGD_ERR_NOT_FOUND and IGD_ERR_IO. */
igd_status io_image_load(const char *path, const igd_options *limits, igd_image **out,
                         core_err *err);
/* Saves an image as a PNG file, atomically (a temporary file renamed over path). */
igd_status io_image_save_png(const igd_image *image, const char *path, core_err *err);

#endif
