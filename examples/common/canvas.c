#include "canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "font.h"

bool canvas_init(canvas *c, int width, int height, rgb background)
{
    c->width = width;
    c->height = height;
    c->pixels = malloc((size_t)width * (size_t)height * 3);
    if (!c->pixels) {
        cli_error("out of memory for a %d x %d picture", width, height);
        return false;
    }
    for (size_t i = 0; i < (size_t)width * (size_t)height; i++) {
        c->pixels[3 * i] = background.r;
        c->pixels[3 * i + 1] = background.g;
        c->pixels[3 * i + 2] = background.b;
    }
    return true;
}

void canvas_free(canvas *c)
{
    free(c->pixels);
    c->pixels = NULL;
}

void canvas_blend(canvas *c, int x, int y, rgb color, double opacity)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height)
        return;
    uint8_t *p = c->pixels + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
    if (opacity >= 1.0) {
        p[0] = color.r;
        p[1] = color.g;
        p[2] = color.b;
        return;
    }
    double a = opacity < 0 ? 0 : opacity;
    p[0] = (uint8_t)lround(p[0] * (1 - a) + color.r * a);
    p[1] = (uint8_t)lround(p[1] * (1 - a) + color.g * a);
    p[2] = (uint8_t)lround(p[2] * (1 - a) + color.b * a);
}

void canvas_fill_rect(canvas *c, int x0, int y0, int x1, int y1, rgb color, double opacity)
{
    if (x0 > x1) {
        int t = x0;
        x0 = x1;
        x1 = t;
    }
    if (y0 > y1) {
        int t = y0;
        y0 = y1;
        y1 = t;
    }
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            canvas_blend(c, x, y, color, opacity);
}

void canvas_rect_outline(canvas *c, int x0, int y0, int x1, int y1, int thickness, rgb color)
{
    for (int t = 0; t < thickness; t++) {
        canvas_fill_rect(c, x0 + t, y0 + t, x1 - t, y0 + t, color, 1);
        canvas_fill_rect(c, x0 + t, y1 - t, x1 - t, y1 - t, color, 1);
        canvas_fill_rect(c, x0 + t, y0 + t, x0 + t, y1 - t, color, 1);
        canvas_fill_rect(c, x1 - t, y0 + t, x1 - t, y1 - t, color, 1);
    }
}

void canvas_line(canvas *c, double x0, double y0, double x1, double y1, int thickness, rgb color,
                 int dash)
{
    double dx = x1 - x0, dy = y1 - y0;
    double length = sqrt(dx * dx + dy * dy);
    int steps = (int)ceil(length * 2) + 1;
    int lo = -(thickness - 1) / 2, hi = thickness / 2;
    for (int i = 0; i <= steps; i++) {
        double t = (double)i / steps;
        if (dash > 0 && ((int)(t * length / dash)) % 2 == 1)
            continue;
        int x = (int)lround(x0 + t * dx), y = (int)lround(y0 + t * dy);
        for (int oy = lo; oy <= hi; oy++)
            for (int ox = lo; ox <= hi; ox++)
                canvas_blend(c, x + ox, y + oy, color, 1);
    }
}

void canvas_disc(canvas *c, int cx, int cy, int radius, rgb color)
{
    for (int y = -radius; y <= radius; y++)
        for (int x = -radius; x <= radius; x++)
            if (x * x + y * y <= radius * radius)
                canvas_blend(c, cx + x, cy + y, color, 1);
}

int canvas_text_width(const char *text, int scale)
{
    size_t n = strlen(text);
    return n == 0 ? 0 : (int)(n * FONT_CELL_WIDTH - 1) * scale;
}

int canvas_text_height(int scale)
{
    return FONT_ASCENT * scale;
}

int canvas_text(canvas *c, int x, int y, const char *text, int scale, rgb color, text_align halign,
                text_align valign, bool vertical)
{
    int w = canvas_text_width(text, scale), h = canvas_text_height(scale);
    /* Offsets along the text (u) and across it (v), before rotation. */
    int u0 = halign == ALIGN_START ? 0 : halign == ALIGN_CENTER ? -w / 2 : -w;
    int v0 = valign == ALIGN_START ? 0 : valign == ALIGN_CENTER ? -h / 2 : -h;
    for (size_t i = 0; text[i]; i++) {
        for (int gy = 0; gy < FONT_GLYPH_ROWS; gy++) {
            for (int gx = 0; gx < FONT_GLYPH_WIDTH; gx++) {
                if (!font_pixel(text[i], gx, gy))
                    continue;
                for (int sy = 0; sy < scale; sy++) {
                    for (int sx = 0; sx < scale; sx++) {
                        int u = u0 + ((int)i * FONT_CELL_WIDTH + gx) * scale + sx;
                        int v = v0 + gy * scale + sy;
                        if (vertical)
                            canvas_blend(c, x + v, y - u, color, 1);
                        else
                            canvas_blend(c, x + u, y + v, color, 1);
                    }
                }
            }
        }
    }
    return w;
}

void canvas_paste(canvas *c, const igd_image *image, int x, int y, int width, int height)
{
    size_t iw = igd_image_width(image), ih = igd_image_height(image);
    size_t ch = igd_image_channels(image), stride = igd_image_stride(image);
    bool wide = igd_image_type(image) == IGD_PIXEL_U16;
    const uint8_t *data = igd_image_const_data(image);
    if (!data || iw == 0 || ih == 0 || width <= 0 || height <= 0)
        return;
    for (int py = 0; py < height; py++) {
        size_t sy = (size_t)py * ih / (size_t)height;
        for (int px = 0; px < width; px++) {
            size_t sx = (size_t)px * iw / (size_t)width;
            uint8_t v[3];
            for (size_t k = 0; k < 3; k++) {
                size_t kk = ch == 3 ? k : 0;
                if (wide) {
                    uint16_t w;
                    memcpy(&w, data + sy * stride + 2 * (sx * ch + kk), 2);
                    v[k] = (uint8_t)(w >> 8);
                } else {
                    v[k] = data[sy * stride + sx * ch + kk];
                }
            }
            canvas_blend(c, x + px, y + py, (rgb){v[0], v[1], v[2]}, 1);
        }
    }
}

bool canvas_save(const canvas *c, const char *path)
{
    igd_image *img = NULL;
    igd_status st = igd_image_from_pixels(c->pixels, IGD_PIXEL_U8, (size_t)c->width,
                                          (size_t)c->height, 3, 0, &img);
    if (st == IGD_OK)
        st = igd_image_save_png(img, path);
    igd_image_free(img);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot write '%s'", path);
        return false;
    }
    return true;
}
