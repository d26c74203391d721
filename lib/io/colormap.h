/* Heatmap colouring with a perceptual colour map (viridis). */
#ifndef IO_COLORMAP_H
#define IO_COLORMAP_H

#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

/* The colour at t in 0..1 (clamped; NaN as 0) of the 256-entry table. */
void io_colormap_rgb(float t, unsigned char rgb[3]);

/* Colours map (width x height floats; lo..hi to the table's ends, hi > lo) into a new 8-bit RGB
 * image and, when base is not NULL (same size, any channels and type), blends the colours over
 * it: opacity 0 is base alone, 1 the colours alone. Arguments are checked by the caller. */
igd_status io_heatmap_colorize(const float *map, size_t width, size_t height, float lo, float hi,
                               const igd_image *base, double opacity, igd_image **out,
                               core_err *err);

#endif
