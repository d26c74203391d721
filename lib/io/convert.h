/* Conversions between channel counts (1 <-> 3) and pixel types. */
#ifndef IO_CONVERT_H
#define IO_CONVERT_H

#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

/* Luma weights of grey = 0.299 R + 0.587 G + 0.114 B. */
#define IO_GREY_R 0.299
#define IO_GREY_G 0.587
#define IO_GREY_B 0.114

/* A copy of image with `channels` channels (grey from RGB by the weights above; RGB from grey by
 * repetition) and pixels of `type`: integers scale by their maximum (255, 65535) with rounding;
 * floats going to integers are clamped to 0..1 (NaN to 0). */
igd_status io_image_convert(const igd_image *image, size_t channels, igd_pixel_type type,
                            igd_image **out, core_err *err);

#endif
