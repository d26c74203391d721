/* Multi-scale structural similarity (MS-SSIM, Wang, Simoncelli & Bovik 2003) of batches of planar
 * float images, with its exact gradient and per-pixel maps. The definitions (window, filtering,
 * clamping, pooling, map upsampling) are stated at the top of msssim.c.
 *
 * A plan is made once per input shape and holds every buffer; forward, backward and map never
 * allocate. A plan is used by one thread at a time; its calls run in parallel inside (OpenMP, over
 * images x channels) and give the same results whatever the number of threads. */
#ifndef LOSS_MSSSIM_H
#define LOSS_MSSSIM_H

#include <stddef.h>

#include "core/error.h"
#include "igd/igd.h"

enum { LOSS_MSSSIM_MAX_SCALES = 5, LOSS_MSSSIM_MAX_WINDOW = 255 };

typedef struct loss_msssim_config {
    int window;   /* odd number of Gaussian taps, 1..LOSS_MSSSIM_MAX_WINDOW */
    double sigma; /* Gaussian sigma, > 0 */
    int scales;   /* 1..5; 0 = the most the input allows (coarsest side >= window), at most 5 */
    double weights[5]; /* per-scale exponents (>= 0); the first `scales` are used, renormalised to
                          sum 1 */
    double data_range; /* L in C1 = (K1 L)^2, C2 = (K2 L)^2, K1 = 0.01, K2 = 0.03; > 0 */
} loss_msssim_config;

/* IGD's configuration: window 3, sigma 1.5, automatic scales, the weights of Wang et al. 2003
 * ([0.0448, 0.2856, 0.3001, 0.2363, 0.1333]), data range 1. */
void loss_msssim_config_default(loss_msssim_config *cfg);

typedef struct loss_msssim loss_msssim;

/* Plans MS-SSIM of batches of n images of c channels, h x w, planar float (NCHW). Fails with
 * IGD_ERR_INVALID_ARGUMENT on a NULL argument, a bad configuration, a zero or overflowing size,
 * an image too small for even one scale (or for the scales asked for), and with
 * IGD_ERR_OUT_OF_MEMORY; *out is NULL on failure. */
igd_status loss_msssim_create(const loss_msssim_config *cfg, size_t n, size_t c, size_t h, size_t w,
                              loss_msssim **out, core_err *err);
void loss_msssim_free(loss_msssim *m);
/* Scales actually used. */
int loss_msssim_scales(const loss_msssim *m);
/* The normalised weight (exponent) of scale j (0 = finest), 0 outside the scales used. */
double loss_msssim_weight(const loss_msssim *m, int j);

/* values[i] = MS-SSIM of image i of x (reference) and y (reconstruction), averaged over channels.
 * Keeps what backward needs (copies of x and y and the per-scale means). */
void loss_msssim_forward(loss_msssim *m, const float *x, const float *y, double *values);
/* dy = d(sum_i coef[i] * values[i]) / dy for the last forward (x constant); dy is overwritten
 * (n x c x h x w). Before any forward, dy is set to zero. */
void loss_msssim_backward(loss_msssim *m, const double *coef, float *dy);
/* Per-pixel MS-SSIM map of each image (n x h x w, averaged over channels), for heatmaps. Does not
 * disturb what forward kept for backward. */
void loss_msssim_map(loss_msssim *m, const float *x, const float *y, float *map);

#endif
