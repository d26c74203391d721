/* The API's handling of a caller's image batch: validation and views into a reusable array. */
#ifndef API_BATCH_H
#define API_BATCH_H

#include "core/error.h"
#include "io/view.h"

typedef struct api_views {
    io_view *items;
    size_t capacity;
} api_views;

/* Checks the batch and fills views->items[0..count) (growing the array only when a larger batch
 * than ever before arrives). */
igd_status api_batch_views(api_views *views, const void *pixels, igd_pixel_type type, size_t count,
                           size_t height, size_t width, size_t channels, size_t row_stride,
                           size_t image_stride, core_err *err);
void api_views_free(api_views *views);

#endif
