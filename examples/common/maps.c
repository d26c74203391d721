#include "maps.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cli.h"

void maps_range(const float *map, size_t count, float *lo, float *hi)
{
    float a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(map[i]))
            continue;
        a = map[i] < a ? map[i] : a;
        b = map[i] > b ? map[i] : b;
    }
    if (a > b)
        a = b = 0;
    *lo = a;
    *hi = b;
}

static bool save(igd_image *img, igd_status st, const char *path)
{
    if (st == IGD_OK)
        st = igd_image_save_png(img, path);
    igd_image_free(img);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot write '%s'", path);
        return false;
    }
    return true;
}

bool maps_save_raw(const char *png_path, const float *map, size_t width, size_t height, float lo,
                   float hi)
{
    uint16_t *px = malloc(width * height * sizeof *px);
    if (!px) {
        cli_error("out of memory writing '%s'", png_path);
        return false;
    }
    double span = (double)hi - (double)lo;
    for (size_t i = 0; i < width * height; i++) {
        double v = span > 0 && isfinite(map[i]) ? ((double)map[i] - lo) / span : 0.0;
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        px[i] = (uint16_t)lround(v * 65535.0);
    }
    igd_image *img = NULL;
    igd_status st = igd_image_from_pixels(px, IGD_PIXEL_U16, width, height, 1, 0, &img);
    free(px);
    return save(img, st, png_path);
}

bool maps_save_overlay(const char *path, const float *map, size_t width, size_t height, float lo,
                       float hi, const igd_image *image, double opacity)
{
    if (!(hi > lo)) {
        float d = fabsf(lo) > 0 ? fabsf(lo) * 1e-3f : 1e-6f;
        hi = lo + d;
    }
    igd_image *img = NULL;
    igd_status st = igd_heatmap_colorize(map, width, height, lo, hi, image, opacity, &img);
    return save(img, st, path);
}

bool maps_save_mask(const char *path, const float *map, size_t width, size_t height,
                    double threshold, size_t *above)
{
    unsigned char *px = malloc(width * height);
    if (!px) {
        cli_error("out of memory writing '%s'", path);
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < width * height; i++) {
        px[i] = map[i] > threshold ? 255 : 0;
        n += px[i] != 0;
    }
    if (above)
        *above = n;
    igd_image *img = NULL;
    igd_status st = igd_image_from_pixels(px, IGD_PIXEL_U8, width, height, 1, 0, &img);
    free(px);
    return save(img, st, path);
}
