#include "plot.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rgb white = {255, 255, 255}, black = {0, 0, 0}, grid = {225, 225, 225};
static const rgb dark = {60, 60, 60};
static const rgb blue = {31, 119, 180}, orange = {255, 127, 14}, red = {214, 39, 40};
static const rgb grey = {128, 128, 128};

enum { WIDTH = 800, HEIGHT = 600, LABEL_SCALE = 2, TITLE_SCALE = 3 };

double plot_nice_step(double range, int target)
{
    if (!(range > 0) || !isfinite(range))
        return 1.0;
    double raw = range / target;
    double p = pow(10.0, floor(log10(raw)));
    double f = raw / p;
    double nice = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
    return nice * p;
}

void plot_format_tick(double v, double step, char *buf, size_t size)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    double mag = fabs(v);
    if (decimals > 4 || (mag >= 1e6 && step >= 1))
        snprintf(buf, size, "%.3g", v);
    else
        snprintf(buf, size, "%.*f", decimals, v);
}

double plot_px(const plot_axes *a, double x)
{
    return a->left + (x - a->x0) / (a->x1 - a->x0) * (a->right - a->left);
}

double plot_py(const plot_axes *a, double y)
{
    return a->bottom - (y - a->y0) / (a->y1 - a->y0) * (a->bottom - a->top);
}

void plot_draw_axes(canvas *c, const plot_axes *a, const char *title, const char *xlabel,
                    const char *ylabel)
{
    double xs = plot_nice_step(a->x1 - a->x0, 6), ys = plot_nice_step(a->y1 - a->y0, 6);
    char buf[48];
    /* Grid lines and tick labels. */
    for (double t = ceil(a->x0 / xs - 1e-9) * xs; t <= a->x1 + xs * 1e-9; t += xs) {
        int x = (int)lround(plot_px(a, t));
        canvas_line(c, x, a->top, x, a->bottom, 1, grid, 0);
        canvas_line(c, x, a->bottom, x, a->bottom + 6, 2, black, 0);
        plot_format_tick(t, xs, buf, sizeof buf);
        canvas_text(c, x, a->bottom + 12, buf, LABEL_SCALE, dark, ALIGN_CENTER, ALIGN_START, false);
    }
    for (double t = ceil(a->y0 / ys - 1e-9) * ys; t <= a->y1 + ys * 1e-9; t += ys) {
        int y = (int)lround(plot_py(a, t));
        canvas_line(c, a->left, y, a->right, y, 1, grid, 0);
        canvas_line(c, a->left - 6, y, a->left, y, 2, black, 0);
        plot_format_tick(t, ys, buf, sizeof buf);
        canvas_text(c, a->left - 12, y, buf, LABEL_SCALE, dark, ALIGN_END, ALIGN_CENTER, false);
    }
    canvas_rect_outline(c, a->left, a->top, a->right, a->bottom, 2, black);
    if (title)
        canvas_text(c, (a->left + a->right) / 2, 16, title, TITLE_SCALE, black, ALIGN_CENTER,
                    ALIGN_START, false);
    if (xlabel)
        canvas_text(c, (a->left + a->right) / 2, c->height - 14, xlabel, LABEL_SCALE, black,
                    ALIGN_CENTER, ALIGN_END, false);
    if (ylabel)
        canvas_text(c, 14, (a->top + a->bottom) / 2, ylabel, LABEL_SCALE, black, ALIGN_CENTER,
                    ALIGN_START, true);
}

void plot_draw_legend(canvas *c, const plot_axes *a, const plot_legend_entry *entries, size_t count,
                      int corner)
{
    int line_h = canvas_text_height(LABEL_SCALE) + 12, swatch = 28, pad = 10;
    int w = 0;
    for (size_t i = 0; i < count; i++) {
        int tw = canvas_text_width(entries[i].label, LABEL_SCALE);
        w = tw > w ? tw : w;
    }
    w += swatch + 3 * pad;
    int h = (int)count * line_h + pad;
    int x0 = corner == 0 ? a->left + 14 : a->right - 14 - w, y0 = a->top + 14;
    canvas_fill_rect(c, x0, y0, x0 + w, y0 + h, white, 0.9);
    canvas_rect_outline(c, x0, y0, x0 + w, y0 + h, 1, grey);
    for (size_t i = 0; i < count; i++) {
        int cy = y0 + pad + (int)i * line_h + canvas_text_height(LABEL_SCALE) / 2;
        int sx = x0 + pad;
        const plot_legend_entry *e = &entries[i];
        if (e->style == 2)
            canvas_fill_rect(c, sx, cy - 7, sx + swatch, cy + 7, e->color, 0.6);
        else if (e->style == 3)
            canvas_disc(c, sx + swatch / 2, cy, 6, e->color);
        else
            canvas_line(c, sx, cy, sx + swatch, cy, 3, e->color, e->style == 1 ? 6 : 0);
        canvas_text(c, sx + swatch + pad, cy, e->label, LABEL_SCALE, black, ALIGN_START,
                    ALIGN_CENTER, false);
    }
}

static void default_area(plot_axes *a)
{
    a->left = 110;
    a->right = WIDTH - 30;
    a->top = 70;
    a->bottom = HEIGHT - 80;
}

bool plot_roc(const char *path, const double *fpr, const double *tpr, size_t points, double auroc,
              const char *title, const double *op_fpr, const double *op_tpr,
              const char *const *op_labels, size_t op_count)
{
    canvas c;
    if (!canvas_init(&c, WIDTH, HEIGHT, white))
        return false;
    plot_axes a = {.x0 = 0, .x1 = 1, .y0 = 0, .y1 = 1};
    default_area(&a);
    plot_draw_axes(&c, &a, title, "false positive rate", "true positive rate");
    canvas_line(&c, plot_px(&a, 0), plot_py(&a, 0), plot_px(&a, 1), plot_py(&a, 1), 2, grey, 8);
    for (size_t i = 1; i < points; i++)
        canvas_line(&c, plot_px(&a, fpr[i - 1]), plot_py(&a, tpr[i - 1]), plot_px(&a, fpr[i]),
                    plot_py(&a, tpr[i]), 3, blue, 0);
    static const rgb op_colors[3] = {{214, 39, 40}, {44, 160, 44}, {148, 103, 189}};
    for (size_t i = 0; i < op_count; i++)
        canvas_disc(&c, (int)lround(plot_px(&a, op_fpr[i])), (int)lround(plot_py(&a, op_tpr[i])), 7,
                    op_colors[i % 3]);
    char curve[64];
    snprintf(curve, sizeof curve, "IGD (AUROC %.4f)", auroc);
    plot_legend_entry legend[5] = {{curve, blue, 0}, {"chance", grey, 1}};
    size_t n = 2;
    for (size_t i = 0; i < op_count && n < 5; i++)
        legend[n++] = (plot_legend_entry){op_labels[i], op_colors[i % 3], 3};
    /* The curve hugs the top left: the legend goes bottom right, drawn as top right of a
     * shifted area. */
    plot_axes lower = a;
    lower.top = a.bottom - (int)n * (canvas_text_height(LABEL_SCALE) + 12) - 10 - 28;
    plot_draw_legend(&c, &lower, legend, n, 1);
    bool ok = canvas_save(&c, path);
    canvas_free(&c);
    return ok;
}

bool plot_histogram(const char *path, const double *scores, const int *labels, size_t count,
                    double threshold, const char *threshold_label, const char *title,
                    const char *xlabel)
{
    enum { BINS = 40 };
    double lo = DBL_MAX, hi = -DBL_MAX;
    size_t group[2] = {0, 0};
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(scores[i]))
            continue;
        lo = scores[i] < lo ? scores[i] : lo;
        hi = scores[i] > hi ? scores[i] : hi;
        group[labels[i] != 0]++;
    }
    if (group[0] + group[1] == 0) {
        lo = 0;
        hi = 1;
    }
    if (isfinite(threshold)) {
        lo = threshold < lo ? threshold : lo;
        hi = threshold > hi ? threshold : hi;
    }
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? fabs(lo) * 0.05 : 0.5;
        lo -= d;
        hi += d;
    }
    double width = (hi - lo) / BINS;
    double share[2][BINS];
    memset(share, 0, sizeof share);
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(scores[i]))
            continue;
        int b = (int)((scores[i] - lo) / width);
        b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
        int g = labels[i] != 0;
        share[g][b] += 1.0 / (double)group[g];
    }
    double top = 0;
    for (int g = 0; g < 2; g++)
        for (int b = 0; b < BINS; b++)
            top = share[g][b] > top ? share[g][b] : top;
    canvas c;
    if (!canvas_init(&c, WIDTH, HEIGHT, white))
        return false;
    /* Head room for the legend, which goes to the side whose tallest bar is lower. */
    plot_axes a = {.x0 = lo - width, .x1 = hi + width, .y0 = 0, .y1 = top > 0 ? top * 1.4 : 1};
    double left_top = 0, right_top = 0;
    for (int g = 0; g < 2; g++)
        for (int b = 0; b < BINS; b++) {
            if (b < BINS / 2)
                left_top = share[g][b] > left_top ? share[g][b] : left_top;
            else
                right_top = share[g][b] > right_top ? share[g][b] : right_top;
        }
    int corner = right_top <= left_top ? 1 : 0;
    default_area(&a);
    plot_draw_axes(&c, &a, title, xlabel, "share of the group's images");
    static const rgb colors[2] = {{31, 119, 180}, {255, 127, 14}};
    for (int g = 0; g < 2; g++) {
        for (int b = 0; b < BINS; b++) {
            if (share[g][b] <= 0)
                continue;
            int x0 = (int)lround(plot_px(&a, lo + b * width)) + 1;
            int x1 = (int)lround(plot_px(&a, lo + (b + 1) * width)) - 1;
            int y0 = (int)lround(plot_py(&a, share[g][b]));
            canvas_fill_rect(&c, x0, y0, x1, a.bottom - 2, colors[g], 0.45);
            canvas_rect_outline(&c, x0, y0, x1, a.bottom - 1, 1, colors[g]);
        }
    }
    if (isfinite(threshold)) {
        double x = plot_px(&a, threshold);
        canvas_line(&c, x, a.top, x, a.bottom, 3, red, 10);
    }
    char normal[64], anomalous[64];
    snprintf(normal, sizeof normal, "normal (%zu)", group[0]);
    snprintf(anomalous, sizeof anomalous, "anomalous (%zu)", group[1]);
    plot_legend_entry legend[3] = {{normal, blue, 2}, {anomalous, orange, 2}};
    size_t n = 2;
    if (isfinite(threshold))
        legend[n++] = (plot_legend_entry){threshold_label ? threshold_label : "threshold", red, 1};
    plot_draw_legend(&c, &a, legend, n, corner);
    bool ok = canvas_save(&c, path);
    canvas_free(&c);
    return ok;
}
