/* Views of caller batches and of images. */
#include "io/view.h"

#include <math.h>
#include <string.h>

#include "core/checked.h"
#include "io/image.h"

igd_status io_batch_check(const void *pixels, igd_pixel_type type, size_t count, size_t height,
                          size_t width, size_t channels, size_t row_stride, size_t image_stride,
                          core_err *err)
{
    if (!pixels)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "pixels is NULL");
    if (!io_pixel_type_valid(type))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "unknown pixel type %d", (int)type);
    if (count == 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a batch needs at least one image");
    if (height == 0 || width == 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "image size %zu x %zu has a zero side",
                         width, height);
    if (channels != 1 && channels != 3)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "images have 1 or 3 channels, not %zu",
                         channels);
    size_t row, rows_span, image, last, span;
    if (!core_mul_size(width, channels * io_pixel_size(type), &row) || row > (size_t)PTRDIFF_MAX)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a row of %zu pixels overflows", width);
    if (row_stride == 0)
        row_stride = row;
    if (row_stride < row)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "row stride %zu is less than a row's %zu bytes", row_stride, row);
    /* One image spans (height - 1) row strides plus one row. */
    if (!core_mul_size(height - 1, row_stride, &rows_span) ||
        !core_add_size(rows_span, row, &image) || !core_mul_size(row_stride, height, &last))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "an image of %zu rows of %zu bytes (row stride %zu) overflows", height,
                         row, row_stride);
    if (image_stride == 0)
        image_stride = last;
    if (image_stride < image)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "image stride %zu is less than an image's %zu bytes", image_stride, image);
    if (!core_mul_size(count - 1, image_stride, &last) || !core_add_size(last, image, &span) ||
        span > (size_t)PTRDIFF_MAX)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "a batch of %zu images overflows", count);
    /* A float pixel that is not a number would make every score and statistic NaN. */
    if (type == IGD_PIXEL_F32) {
        const size_t per_row = width * channels;
        for (size_t i = 0; i < count; i++)
            for (size_t y = 0; y < height; y++) {
                const unsigned char *at =
                    (const unsigned char *)pixels + i * image_stride + y * row_stride;
                for (size_t k = 0; k < per_row; k++) {
                    float v;
                    memcpy(&v, at + k * sizeof(float), sizeof v);
                    if (!isfinite(v))
                        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                                         "image %zu: the float pixel at row %zu, column %zu is "
                                         "not a finite number",
                                         i, y, k / channels);
                }
            }
    }
    return IGD_OK;
}

io_view io_batch_view(const void *pixels, igd_pixel_type type, size_t height, size_t width,
                      size_t channels, size_t row_stride, size_t image_stride, size_t index)
{
    size_t row = width * channels * io_pixel_size(type);
    if (row_stride == 0)
        row_stride = row;
    if (image_stride == 0)
        image_stride = row_stride * height;
    io_view v = {
        .data = (const unsigned char *)pixels + index * image_stride,
        .type = type,
        .width = width,
        .height = height,
        .channels = channels,
        .row_stride = row_stride,
    };
    return v;
}

io_view io_image_view(const igd_image *image)
{
    io_view v = {
        .data = image->data,
        .type = image->type,
        .width = image->width,
        .height = image->height,
        .channels = image->channels,
        .row_stride = image->stride,
    };
    return v;
}
