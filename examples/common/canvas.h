/* An 8-bit RGB drawing surface: rectangles, lines, text in the bitmap font, pasted images, and
 * saving as PNG through libigd. */
#ifndef EXAMPLES_CANVAS_H
#define EXAMPLES_CANVAS_H

#include <stdbool.h>
#include <stdint.h>

#include "igd/igd.h"

typedef struct rgb {
    uint8_t r, g, b;
} rgb;

typedef struct canvas {
    int width, height;
    uint8_t *pixels; /* width * height * 3 */
} canvas;

/* Horizontal and vertical anchors of text. */
typedef enum { ALIGN_START, ALIGN_CENTER, ALIGN_END } text_align;

bool canvas_init(canvas *c, int width, int height, rgb background);
void canvas_free(canvas *c);
/* Blends colour over a pixel with the given opacity (0..1); outside pixels are ignored. */
void canvas_blend(canvas *c, int x, int y, rgb color, double opacity);
void canvas_fill_rect(canvas *c, int x0, int y0, int x1, int y1, rgb color, double opacity);
void canvas_rect_outline(canvas *c, int x0, int y0, int x1, int y1, int thickness, rgb color);
/* A line of the given thickness; dash > 0 draws dashes and gaps of that many pixels. */
void canvas_line(canvas *c, double x0, double y0, double x1, double y1, int thickness, rgb color,
                 int dash);
void canvas_disc(canvas *c, int cx, int cy, int radius, rgb color);
/* Text at (x, y) anchored by halign/valign; scale multiplies the font's pixels; vertical text
 * runs bottom to top (for a y-axis label). Returns the text's advance in pixels. */
int canvas_text(canvas *c, int x, int y, const char *text, int scale, rgb color, text_align halign,
                text_align valign, bool vertical);
int canvas_text_width(const char *text, int scale);
int canvas_text_height(int scale);
/* Pastes an 8-bit grey or RGB image (16-bit is reduced to 8) scaled by nearest neighbour to
 * width x height, top-left at (x, y). */
void canvas_paste(canvas *c, const igd_image *image, int x, int y, int width, int height);
/* Saves as an 8-bit RGB PNG; prints a message and returns false on failure. */
bool canvas_save(const canvas *c, const char *path);

#endif
