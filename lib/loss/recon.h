/* IGD's reconstruction loss (eq. 12): rec = rho * MAE + (1 - rho) * (1 - MS-SSIM) per image, on
 * pixels in 0..1, with its gradient and its per-pixel form (eq. 17) for heatmaps. */
#ifndef LOSS_RECON_H
#define LOSS_RECON_H

#include <stddef.h>

#include "loss/msssim.h"

/* For n images x, y (planar, per_image floats each, through the plan ms of that shape):
 * mae[i], msv[i] (MS-SSIM) and rec[i]; any output but rec may be NULL. */
void loss_recon_forward(loss_msssim *ms, const float *x, const float *y, size_t n, size_t per_image,
                        double rho, double *mae, double *msv, double *rec);
/* dy = d(sum_i coef[i] * rec[i]) / dy after loss_recon_forward on the same x, y; scratch holds n
 * doubles. */
void loss_recon_backward(loss_msssim *ms, const float *x, const float *y, size_t n,
                         size_t per_image, double rho, const double *coef, double *scratch,
                         float *dy);
/* Per-pixel maps (n x h x w): rho * mean over channels |x - y| + (1 - rho) * (1 - MS-SSIM map). */
void loss_recon_map(loss_msssim *ms, const float *x, const float *y, size_t n, size_t channels,
                    size_t plane, double rho, float *maps);

#endif
