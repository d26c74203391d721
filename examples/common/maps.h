/* Writing an anomaly map three ways: the raw map as a 16-bit grey PNG scaled from its min..max
 * (with the scale in a JSON sidecar), a coloured overlay over the image, and a binary mask. */
#ifndef EXAMPLES_MAPS_H
#define EXAMPLES_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "igd/igd.h"

void maps_range(const float *map, size_t count, float *lo, float *hi);
/* <png>: value = round((v - min) / (max - min) * 65535) (0 everywhere when max == min). */
bool maps_save_raw(const char *png_path, const float *map, size_t width, size_t height, float lo,
                   float hi);
/* The map coloured over lo..hi (widened when lo == hi), blended over image with opacity. */
bool maps_save_overlay(const char *path, const float *map, size_t width, size_t height, float lo,
                       float hi, const igd_image *image, double opacity);
/* An 8-bit mask: 255 where the map exceeds threshold, else 0. *above receives the count. */
bool maps_save_mask(const char *path, const float *map, size_t width, size_t height,
                    double threshold, size_t *above);

#endif
