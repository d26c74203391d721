/* Resampling and smoothing. Along each axis separately: area averaging when the axis shrinks
 * (every source pixel weighted by its exact overlap with the output pixel), bilinear
 * interpolation when it grows (pixel centres aligned: src = (dst + 0.5) * src_size / dst_size
 * - 0.5, clamped to the edge), an identity copy when it keeps its size. These functions are
 * used inside training and detection steps: they never allocate. Sides must be below 2^32. */
#ifndef IO_RESAMPLE_H
#define IO_RESAMPLE_H

#include <stddef.h>

#include "core/error.h"
#include "io/view.h"

/* Resamples a view into a planar float image out[c][y][x] of out_channels (1 or 3; grey from RGB
 * is 0.299 R + 0.587 G + 0.114 B, RGB from grey repeats it) and out_width x out_height, values
 * scaled to 0..1 (U8 / 255, U16 / 65535, F32 as is). */
void io_view_to_planar(const io_view *v, size_t out_channels, size_t out_width, size_t out_height,
                       float *out);

/* Resizes one float plane by the same rules (src and dst must not overlap). */
void io_plane_resize(const float *src, size_t src_width, size_t src_height, float *dst,
                     size_t dst_width, size_t dst_height);

/* Floats of scratch io_plane_blur needs for this size and sigma (SIZE_MAX if that overflows). */
size_t io_plane_blur_scratch(size_t width, size_t height, double sigma);
/* Separable Gaussian blur in place: radius ceil(3 sigma), edges clamped (the border pixel
 * repeats), kernel normalised to sum 1. sigma <= 0 (or NaN) leaves the plane unchanged. */
void io_plane_blur(float *plane, size_t width, size_t height, double sigma, float *scratch);

/* A resized copy of an image, same channels and type (integers rounded). Allocates the result. */
igd_status io_image_resize(const igd_image *image, size_t width, size_t height, igd_image **out,
                           core_err *err);

#endif
