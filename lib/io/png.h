/* PNG decoding and encoding (libpng, errors caught inside these functions). */
#ifndef IO_PNG_H
#define IO_PNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/error.h"
#include "igd/igd.h"

/* Where encoded bytes go: a FILE, or a caller buffer (which may be NULL or too small: size then
 * counts every byte and only the first capacity bytes are stored). */
typedef struct io_sink {
    FILE *file;
    unsigned char *buffer;
    size_t capacity;
    size_t size;
} io_sink;

/* Decodes a PNG held in memory: 8-bit grey or RGB, or 16-bit grey or RGB for 16-bit files (in
 * the host's byte order); palettes are expanded to RGB and alpha is dropped. The size in the
 * header is checked against limits (NULL = defaults) before any pixel memory is allocated.
 * IGD_ERR_CORRUPT for damaged data, IGD_ERR_LIMIT, IGD_ERR_OUT_OF_MEMORY. */
igd_status io_png_decode(const unsigned char *data, size_t size, const igd_options *limits,
                         igd_image **out, core_err *err);

/* Reads the width and height of a PNG header without decoding (false if data does not start
 * with a PNG signature and an IHDR chunk). */
bool io_png_header_size(const unsigned char *data, size_t size, size_t *width, size_t *height);

/* Encodes an image as PNG: U8 as 8-bit, U16 as 16-bit, F32 as 8-bit (clamped to 0..1). */
igd_status io_png_encode(const igd_image *image, io_sink *sink, core_err *err);

#endif
