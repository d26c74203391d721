/* Views of caller pixels: one image of a batch described by pointer, type, sizes and strides, or
 * of an igd_image. Views borrow the pixels; nothing here allocates. */
#ifndef IO_VIEW_H
#define IO_VIEW_H

#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

typedef struct io_view {
    const unsigned char *data; /* the first pixel */
    igd_pixel_type type;
    size_t width, height, channels;
    size_t row_stride; /* bytes between the starts of two rows */
} io_view;

/* Validates a caller's batch description: pixels non-NULL, type known, count >= 1, sizes >= 1,
 * channels 1 or 3, strides 0 (packed) or at least the packed size, and no size product that
 * overflows (including the span of the whole batch). IGD_ERR_INVALID_ARGUMENT otherwise. */
igd_status io_batch_check(const void *pixels, igd_pixel_type type, size_t count, size_t height,
                          size_t width, size_t channels, size_t row_stride, size_t image_stride,
                          core_err *err);
/* The view of image `index` of a batch that passed io_batch_check (strides 0 mean packed). */
io_view io_batch_view(const void *pixels, igd_pixel_type type, size_t height, size_t width,
                      size_t channels, size_t row_stride, size_t image_stride, size_t index);
/* The view of a whole image. */
io_view io_image_view(const igd_image *image);

#endif
