/* The image object: width x height pixels of 1 or 3 interleaved channels, one pixel type, rows
 * packed one after the other in a single buffer. */
#ifndef IO_IMAGE_H
#define IO_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

struct igd_image {
    size_t width, height, channels;
    igd_pixel_type type;
    size_t stride;       /* bytes per row: width * channels * io_pixel_size(type) */
    unsigned char *data; /* height * stride bytes (core_malloc) */
};

/* Bytes of one sample of the type (1, 2, 4), 0 for an unknown type. */
size_t io_pixel_size(igd_pixel_type type);
bool io_pixel_type_valid(igd_pixel_type type);

/* A new image with uninitialised (zeroed when zero is true) pixels. Checks the sizes (>= 1,
 * channels 1 or 3, no overflow): IGD_ERR_INVALID_ARGUMENT, or IGD_ERR_OUT_OF_MEMORY. */
igd_status io_image_new(size_t width, size_t height, size_t channels, igd_pixel_type type,
                        bool zero, igd_image **out, core_err *err);
void io_image_free(igd_image *image);

/* A copy of rows of packed pixels at src with row_stride bytes between rows (0 = packed). */
igd_status io_image_copy_pixels(const void *src, igd_pixel_type type, size_t width, size_t height,
                                size_t channels, size_t row_stride, igd_image **out, core_err *err);

/* Checks a decoded header's size against the limits in options (NULL = the defaults):
 * IGD_ERR_LIMIT when a side or the pixel count is over, IGD_ERR_CORRUPT when a side is 0. */
igd_status io_check_limits(size_t width, size_t height, const igd_options *limits, const char *what,
                           core_err *err);

/* The centred width x height window of an image (same channels and type). */
igd_status io_image_crop_center(const igd_image *image, size_t width, size_t height,
                                igd_image **out, core_err *err);

#endif
