/* A contact sheet: tiles of (image, overlay) pairs with a two-line caption each. */
#ifndef EXAMPLES_MONTAGE_H
#define EXAMPLES_MONTAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "igd/igd.h"

typedef struct montage_tile {
    const igd_image *image;   /* the test image (grey or RGB) */
    const igd_image *overlay; /* its heatmap overlay (RGB) */
    char caption[2][64];
} montage_tile;

/* Writes tiles in rows of `columns`, each picture fitted into side x side pixels (small images
 * are enlarged by whole factors, nearest neighbour, so their pixels stay sharp). */
bool montage_save(const char *path, const char *title, const montage_tile *tiles, size_t count,
                  size_t columns, int side);

#endif
