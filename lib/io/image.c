/* The image object: allocation, copies, size checks. */
#include "io/image.h"

#include <string.h>

#include "api/options.h"
#include "core/alloc.h"
#include "core/checked.h"

size_t io_pixel_size(igd_pixel_type type)
{
    switch (type) {
    case IGD_PIXEL_U8:
        return 1;
    case IGD_PIXEL_U16:
        return 2;
    case IGD_PIXEL_F32:
        return 4;
    }
    return 0;
}

bool io_pixel_type_valid(igd_pixel_type type)
{
    return io_pixel_size(type) != 0;
}

igd_status io_image_new(size_t width, size_t height, size_t channels, igd_pixel_type type,
                        bool zero, igd_image **out, core_err *err)
{
    *out = NULL;
    if (!io_pixel_type_valid(type))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "unknown pixel type %d", (int)type);
    if (width == 0 || height == 0)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "image size %zu x %zu has a zero side",
                         width, height);
    if (channels != 1 && channels != 3)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "images have 1 or 3 channels, not %zu",
                         channels);
    size_t stride, bytes;
    if (!core_mul_size(width, channels * io_pixel_size(type), &stride) ||
        !core_mul_size(stride, height, &bytes))
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "image size %zu x %zu x %zu overflows",
                         width, height, channels);
    igd_image *im = core_malloc(sizeof *im);
    if (!im)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating an image");
    im->data = zero ? core_calloc(bytes, 1) : core_malloc(bytes);
    if (!im->data) {
        core_free(im);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes of pixels", bytes);
    }
    im->width = width;
    im->height = height;
    im->channels = channels;
    im->type = type;
    im->stride = stride;
    *out = im;
    return IGD_OK;
}

void io_image_free(igd_image *image)
{
    if (!image)
        return;
    core_free(image->data);
    core_free(image);
}

igd_status io_image_copy_pixels(const void *src, igd_pixel_type type, size_t width, size_t height,
                                size_t channels, size_t row_stride, igd_image **out, core_err *err)
{
    CORE_TRY(io_image_new(width, height, channels, type, false, out, err));
    igd_image *im = *out;
    if (row_stride == 0)
        row_stride = im->stride;
    if (row_stride < im->stride) {
        size_t row = im->stride;
        io_image_free(im);
        *out = NULL;
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "row stride %zu is less than a row's %zu bytes", row_stride, row);
    }
    const unsigned char *s = src;
    for (size_t y = 0; y < height; y++)
        memcpy(im->data + y * im->stride, s + y * row_stride, im->stride);
    return IGD_OK;
}

igd_status io_check_limits(size_t width, size_t height, const igd_options *limits, const char *what,
                           core_err *err)
{
    int64_t max_side = opt_int(limits, IGD_OPT_MAX_IMAGE_SIDE);
    int64_t max_pixels = opt_int(limits, IGD_OPT_MAX_IMAGE_PIXELS);
    if (width == 0 || height == 0)
        return core_fail(err, IGD_ERR_CORRUPT, "%s claims a size of %zu x %zu", what, width,
                         height);
    if ((uint64_t)width > (uint64_t)max_side || (uint64_t)height > (uint64_t)max_side)
        return core_fail(err, IGD_ERR_LIMIT,
                         "%s of %zu x %zu is over the limit of %lld pixels a side", what, width,
                         height, (long long)max_side);
    size_t pixels;
    if (!core_mul_size(width, height, &pixels) || (uint64_t)pixels > (uint64_t)max_pixels)
        return core_fail(err, IGD_ERR_LIMIT, "%s of %zu x %zu is over the limit of %lld pixels",
                         what, width, height, (long long)max_pixels);
    return IGD_OK;
}

igd_status io_image_crop_center(const igd_image *image, size_t width, size_t height,
                                igd_image **out, core_err *err)
{
    *out = NULL;
    if (width == 0 || height == 0 || width > image->width || height > image->height)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT,
                         "a %zu x %zu window does not fit in a %zu x %zu image", width, height,
                         image->width, image->height);
    size_t x0 = (image->width - width) / 2, y0 = (image->height - height) / 2;
    size_t px = image->channels * io_pixel_size(image->type);
    return io_image_copy_pixels(image->data + y0 * image->stride + x0 * px, image->type, width,
                                height, image->channels, image->stride, out, err);
}
