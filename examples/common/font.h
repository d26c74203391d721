/* A 5 x 7 bitmap font (ASCII 32..126) with two rows for descenders, in a 6 x 10 cell. */
#ifndef EXAMPLES_FONT_H
#define EXAMPLES_FONT_H

#include <stdbool.h>

enum {
    FONT_GLYPH_WIDTH = 5,
    FONT_GLYPH_ROWS = 9,   /* 7 above the baseline, 2 below */
    FONT_CELL_WIDTH = 6,   /* advance per character */
    FONT_CELL_HEIGHT = 10, /* line height */
    FONT_ASCENT = 7        /* rows from the top of a cell to the baseline */
};

/* Whether pixel (x, y) of character c's glyph is set (x < FONT_GLYPH_WIDTH, y <
 * FONT_GLYPH_ROWS). Characters outside 32..126 draw as '?'. */
bool font_pixel(char c, int x, int y);

#endif
