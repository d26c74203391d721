#include "montage.h"

#include "canvas.h"

enum { GAP = 6, MARGIN = 16, CAPTION_SCALE = 2, TITLE_SCALE = 3 };

/* The drawn size of an image fitted into side x side. */
static void fit(const igd_image *im, int side, int *w, int *h)
{
    int iw = (int)igd_image_width(im), ih = (int)igd_image_height(im);
    int big = iw > ih ? iw : ih;
    if (big <= 0) {
        *w = *h = side;
        return;
    }
    if (big <= side) {
        int k = side / big;
        *w = iw * k;
        *h = ih * k;
    } else {
        *w = (int)((long)iw * side / big);
        *h = (int)((long)ih * side / big);
    }
}

bool montage_save(const char *path, const char *title, const montage_tile *tiles, size_t count,
                  size_t columns, int side)
{
    if (columns == 0)
        columns = 1;
    size_t rows = (count + columns - 1) / columns;
    if (rows == 0)
        rows = 1;
    int caption_h = 2 * (canvas_text_height(CAPTION_SCALE) + 8);
    int tile_w = 2 * side + GAP, tile_h = side + 6 + caption_h;
    int title_h = canvas_text_height(TITLE_SCALE) + 24;
    int width = 2 * MARGIN + (int)columns * tile_w + ((int)columns - 1) * 3 * GAP;
    int height = 2 * MARGIN + title_h + (int)rows * tile_h + ((int)rows - 1) * 2 * GAP;
    int min_width = canvas_text_width(title, TITLE_SCALE) + 2 * MARGIN;
    if (width < min_width)
        width = min_width;
    canvas c;
    if (!canvas_init(&c, width, height, (rgb){255, 255, 255}))
        return false;
    canvas_text(&c, MARGIN, MARGIN, title, TITLE_SCALE, (rgb){0, 0, 0}, ALIGN_START, ALIGN_START,
                false);
    for (size_t i = 0; i < count; i++) {
        int x = MARGIN + (int)(i % columns) * (tile_w + 3 * GAP);
        int y = MARGIN + title_h + (int)(i / columns) * (tile_h + 2 * GAP);
        const igd_image *pics[2] = {tiles[i].image, tiles[i].overlay};
        for (int k = 0; k < 2; k++) {
            if (!pics[k])
                continue;
            int w, h;
            fit(pics[k], side, &w, &h);
            int px = x + k * (side + GAP) + (side - w) / 2, py = y + (side - h) / 2;
            canvas_fill_rect(&c, x + k * (side + GAP), y, x + k * (side + GAP) + side - 1,
                             y + side - 1, (rgb){235, 235, 235}, 1);
            canvas_paste(&c, pics[k], px, py, w, h);
        }
        for (int l = 0; l < 2; l++)
            canvas_text(&c, x, y + side + 8 + l * (canvas_text_height(CAPTION_SCALE) + 8),
                        tiles[i].caption[l], CAPTION_SCALE, (rgb){20, 20, 20}, ALIGN_START,
                        ALIGN_START, false);
    }
    bool ok = canvas_save(&c, path);
    canvas_free(&c);
    return ok;
}
