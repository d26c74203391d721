/* Conversions between channel counts and pixel types. */
#include "io/convert.h"

#include <string.h>

#include "io/image.h"

/* A sample as a value in 0..1 (floats as they are). */
static double load01(const unsigned char *p, igd_pixel_type type)
{
    switch (type) {
    case IGD_PIXEL_U8:
        return *p / 255.0;
    case IGD_PIXEL_U16: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v / 65535.0;
    }
    case IGD_PIXEL_F32: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    }
    return 0.0;
}

static double clamp01(double v)
{
    return v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0; /* NaN becomes 0 */
}

static void store01(unsigned char *p, igd_pixel_type type, double v)
{
    switch (type) {
    case IGD_PIXEL_U8:
        *p = (unsigned char)(clamp01(v) * 255.0 + 0.5);
        break;
    case IGD_PIXEL_U16: {
        uint16_t u = (uint16_t)(clamp01(v) * 65535.0 + 0.5);
        memcpy(p, &u, 2);
        break;
    }
    case IGD_PIXEL_F32: {
        float f = (float)v;
        memcpy(p, &f, 4);
        break;
    }
    }
}

igd_status io_image_convert(const igd_image *image, size_t channels, igd_pixel_type type,
                            igd_image **out, core_err *err)
{
    CORE_TRY(io_image_new(image->width, image->height, channels, type, false, out, err));
    igd_image *o = *out;
    size_t in_px = io_pixel_size(image->type), out_px = io_pixel_size(type);
    size_t ic = image->channels;
    if (ic == channels && type == image->type) {
        memcpy(o->data, image->data, o->stride * o->height);
        return IGD_OK;
    }
    for (size_t y = 0; y < image->height; y++) {
        const unsigned char *s = image->data + y * image->stride;
        unsigned char *d = o->data + y * o->stride;
        for (size_t x = 0; x < image->width; x++, s += ic * in_px, d += channels * out_px) {
            double v[3];
            for (size_t c = 0; c < ic; c++)
                v[c] = load01(s + c * in_px, image->type);
            if (ic == 3 && channels == 1)
                v[0] = IO_GREY_R * v[0] + IO_GREY_G * v[1] + IO_GREY_B * v[2];
            else if (ic == 1 && channels == 3)
                v[1] = v[2] = v[0];
            for (size_t c = 0; c < channels; c++)
                store01(d + c * out_px, type, v[c]);
        }
    }
    return IGD_OK;
}
