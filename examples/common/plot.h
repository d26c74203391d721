/* Charts drawn on a canvas: axes with ticks and numeric labels, a title, a legend; the ROC curve
 * and the score histogram of igd-eval. */
#ifndef EXAMPLES_PLOT_H
#define EXAMPLES_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "canvas.h"

typedef struct plot_axes {
    int left, top, right, bottom; /* the data area in pixels */
    double x0, x1, y0, y1;        /* the data range it shows */
} plot_axes;

typedef struct plot_legend_entry {
    const char *label;
    rgb color;
    int style; /* 0 line, 1 dashed line, 2 filled box, 3 dot */
} plot_legend_entry;

/* Rounds a step to 1, 2 or 5 times a power of ten, near range / target. */
double plot_nice_step(double range, int target);
/* The tick label of value v for ticks `step` apart ("0.25", "1200", "1e-05"). */
void plot_format_tick(double v, double step, char *buf, size_t size);

/* Draws the frame, grid, ticks with labels, axis titles and the chart title. */
void plot_draw_axes(canvas *c, const plot_axes *a, const char *title, const char *xlabel,
                    const char *ylabel);
/* Pixel coordinates of a data point. */
double plot_px(const plot_axes *a, double x);
double plot_py(const plot_axes *a, double y);
/* A legend box in the top-left (corner 0) or top-right (corner 1) of the data area. */
void plot_draw_legend(canvas *c, const plot_axes *a, const plot_legend_entry *entries, size_t count,
                      int corner);

/* The ROC curve (points from igd_metric_roc) with the chance diagonal; operating points at
 * (op_fpr, op_tpr) drawn as dots when op_count > 0. Returns false after a message on failure. */
bool plot_roc(const char *path, const double *fpr, const double *tpr, size_t points, double auroc,
              const char *title, const double *op_fpr, const double *op_tpr,
              const char *const *op_labels, size_t op_count);
/* Histograms of the scores of normal (label 0) and anomalous (label 1) images as shares of
 * each group, with the threshold (if finite) as a vertical line. */
bool plot_histogram(const char *path, const double *scores, const int *labels, size_t count,
                    double threshold, const char *threshold_label, const char *title,
                    const char *xlabel);

#endif
