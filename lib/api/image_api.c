/* The image API: argument checks around lib/io, and error reporting. */
#include <math.h>

#include "core/error.h"
#include "igd/igd.h"
#include "io/codec.h"
#include "io/colormap.h"
#include "io/convert.h"
#include "io/image.h"
#include "io/png.h"
#include "io/resample.h"

#define FAIL(...) core_report(NULL, &err, core_fail(&err, __VA_ARGS__))

igd_status igd_image_load(const char *path, const igd_options *limits, igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!path || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "path and out must not be NULL");
    return core_report(NULL, &err, io_image_load(path, limits, out, &err));
}

igd_status igd_image_decode(const void *data, size_t size, const igd_options *limits,
                            igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!data || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "data and out must not be NULL");
    return core_report(NULL, &err, io_image_decode(data, size, limits, out, &err));
}

igd_status igd_image_create(size_t width, size_t height, size_t channels, igd_pixel_type type,
                            igd_image **out)
{
    core_err err = {0};
    if (!out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "out must not be NULL");
    return core_report(NULL, &err, io_image_new(width, height, channels, type, true, out, &err));
}

igd_status igd_image_from_pixels(const void *pixels, igd_pixel_type type, size_t width,
                                 size_t height, size_t channels, size_t row_stride, igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!pixels || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "pixels and out must not be NULL");
    return core_report(
        NULL, &err,
        io_image_copy_pixels(pixels, type, width, height, channels, row_stride, out, &err));
}

void igd_image_free(igd_image *image)
{
    io_image_free(image);
}

size_t igd_image_width(const igd_image *image)
{
    return image ? image->width : 0;
}

size_t igd_image_height(const igd_image *image)
{
    return image ? image->height : 0;
}

size_t igd_image_channels(const igd_image *image)
{
    return image ? image->channels : 0;
}

igd_pixel_type igd_image_type(const igd_image *image)
{
    return image ? image->type : (igd_pixel_type)0;
}

size_t igd_image_stride(const igd_image *image)
{
    return image ? image->stride : 0;
}

void *igd_image_data(igd_image *image)
{
    return image ? image->data : NULL;
}

const void *igd_image_const_data(const igd_image *image)
{
    return image ? image->data : NULL;
}

igd_status igd_image_save_png(const igd_image *image, const char *path)
{
    core_err err = {0};
    if (!image || !path)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "image and path must not be NULL");
    return core_report(NULL, &err, io_image_save_png(image, path, &err));
}

igd_status igd_image_encode_png(const igd_image *image, void *buffer, size_t capacity, size_t *size)
{
    core_err err = {0};
    if (!image || !size)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "image and size must not be NULL");
    io_sink sink = {.buffer = buffer, .capacity = buffer ? capacity : 0};
    igd_status st = io_png_encode(image, &sink, &err);
    if (st != IGD_OK)
        return core_report(NULL, &err, st);
    *size = sink.size;
    if (buffer && sink.size > capacity)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "the PNG needs %zu bytes, the buffer holds %zu",
                    sink.size, capacity);
    return IGD_OK;
}

igd_status igd_image_resize(const igd_image *image, size_t width, size_t height, igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!image || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "image and out must not be NULL");
    return core_report(NULL, &err, io_image_resize(image, width, height, out, &err));
}

igd_status igd_image_convert(const igd_image *image, size_t channels, igd_pixel_type type,
                             igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!image || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "image and out must not be NULL");
    return core_report(NULL, &err, io_image_convert(image, channels, type, out, &err));
}

igd_status igd_image_crop_center(const igd_image *image, size_t width, size_t height,
                                 igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!image || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "image and out must not be NULL");
    return core_report(NULL, &err, io_image_crop_center(image, width, height, out, &err));
}

igd_status igd_heatmap_colorize(const float *map, size_t width, size_t height, float lo, float hi,
                                const igd_image *base, double opacity, igd_image **out)
{
    core_err err = {0};
    if (out)
        *out = NULL;
    if (!map || !out)
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "map and out must not be NULL");
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo))
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "the range %g..%g is not increasing and finite",
                    (double)lo, (double)hi);
    if (!(opacity >= 0.0 && opacity <= 1.0))
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "opacity %g is outside 0..1", opacity);
    if (base && (base->width != width || base->height != height))
        return FAIL(IGD_ERR_INVALID_ARGUMENT, "the base image is %zu x %zu, the map %zu x %zu",
                    base->width, base->height, width, height);
    return core_report(NULL, &err,
                       io_heatmap_colorize(map, width, height, lo, hi, base, opacity, out, &err));
}
