/* Evaluation metrics: image-level AUROC, F1-max, accuracy, ROC points and quantiles, and the
 * pixel-level AUROC and AUPRO accumulated image by image.
 *
 * Every function validates its own arguments (NULL pointers, empty input, NaN scores, labels
 * other than 0/1), so model code may call them directly without the public wrappers. Scores may
 * be infinite; -0 and +0 are the same score. Labels: 1 = anomalous (positive), 0 = normal. */
#ifndef MET_METRICS_H
#define MET_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "igd/igd.h"

/* AUROC as the Mann-Whitney statistic, ties counted half. Needs both labels present. */
igd_status met_auroc(const double *scores, const int *labels, size_t count, double *auroc,
                     core_err *err);
/* The best F1 over every distinct threshold (anomalous when score >= threshold) and the smallest
 * threshold (a score value) that attains it. Needs both labels present. threshold may be NULL. */
igd_status met_f1_max(const double *scores, const int *labels, size_t count, double *f1,
                      double *threshold, core_err *err);
/* Share of samples classified right at a threshold (anomalous when score >= threshold). */
igd_status met_accuracy(const double *scores, const int *labels, size_t count, double threshold,
                        double *accuracy, core_err *err);
/* ROC points: (0, 0) with threshold +infinity, then one point per distinct score from the highest
 * down (tied scores merged), the last being (1, 1). *points is always set to the number of
 * points (at most count + 1). With fpr NULL nothing else is written; otherwise capacity must be at
 * least that number (IGD_ERR_INVALID_ARGUMENT if not, *points still set); tpr and thresholds may
 * be NULL when not wanted. Needs both labels present. */
igd_status met_roc(const double *scores, const int *labels, size_t count, double *fpr, double *tpr,
                   double *thresholds, size_t capacity, size_t *points, core_err *err);
/* The q-quantile (0 <= q <= 1) with numpy's default 'linear' method: h = (count - 1) q, then
 * interpolation between the order statistics floor(h) and floor(h) + 1. */
igd_status met_quantile(const double *values, size_t count, double q, double *out, core_err *err);

/* Pixel metrics. Each added image is reduced at once to what the metrics need: the sort key of
 * every normal pixel, the sort key and region number of every anomalous pixel (regions are the
 * 8-connected components of the image's mask), and the size of every region. */
typedef struct met_pixels {
    uint32_t *neg; /* keys of normal pixels */
    size_t neg_count, neg_cap;
    uint64_t *pos; /* key << 32 | region of anomalous pixels */
    size_t pos_count, pos_cap;
    size_t *region_size; /* pixels of each region */
    size_t region_count, region_cap;
    int sorted; /* neg and pos are sorted (cleared by every add) */
} met_pixels;

void met_pixels_init(met_pixels *px);
/* Frees what px holds and makes it empty again. */
void met_pixels_clear(met_pixels *px);
/* Adds one image's map (width * height floats, row-major) and mask (nonzero = anomalous). On
 * failure px is unchanged. */
igd_status met_pixels_add(met_pixels *px, const float *map, const unsigned char *mask, size_t width,
                          size_t height, core_err *err);
/* AUROC over all pixels added (ties half). IGD_ERR_STATE without both kinds of pixel. */
igd_status met_pixels_auroc(met_pixels *px, double *auroc, core_err *err);
/* Normalised area under the PRO curve up to max_fpr (0 < max_fpr <= 1). IGD_ERR_STATE without
 * both kinds of pixel. */
igd_status met_pixels_aupro(met_pixels *px, double max_fpr, double *aupro, core_err *err);

/* Sorting used by the metrics: in-place radix sorts of unsigned keys, O(n) per key byte and no
 * allocation. met_sort_u64_high orders by the upper 32 bits only. */
void met_sort_u32(uint32_t *a, size_t n);
void met_sort_u64(uint64_t *a, size_t n);
void met_sort_u64_high(uint64_t *a, size_t n);

/* Order-preserving maps of scores onto unsigned integers (-0 maps as +0; no NaN). */
uint64_t met_key_from_double(double x);
double met_double_from_key(uint64_t key);
uint32_t met_key_from_float(float x);
float met_float_from_key(uint32_t key);

#endif
