#include "loss/recon.h"

#include <math.h>

void loss_recon_forward(loss_msssim *ms, const float *x, const float *y, size_t n, size_t per_image,
                        double rho, double *mae, double *msv, double *rec)
{
    loss_msssim_forward(ms, x, y, rec); /* rec holds MS-SSIM for now */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float *a = x + i * per_image, *b = y + i * per_image;
        double s = 0;
        for (size_t k = 0; k < per_image; k++)
            s += fabsf(a[k] - b[k]);
        double m = s / (double)per_image, v = rec[i];
        if (mae)
            mae[i] = m;
        if (msv)
            msv[i] = v;
        rec[i] = rho * m + (1 - rho) * (1 - v);
    }
}

void loss_recon_backward(loss_msssim *ms, const float *x, const float *y, size_t n,
                         size_t per_image, double rho, const double *coef, double *scratch,
                         float *dy)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = -(1 - rho) * coef[i];
    loss_msssim_backward(ms, scratch, dy);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float *a = x + i * per_image, *b = y + i * per_image;
        float *d = dy + i * per_image;
        const float g = (float)(rho * coef[i] / (double)per_image);
        for (size_t k = 0; k < per_image; k++) {
            float diff = b[k] - a[k];
            d[k] += diff > 0 ? g : diff < 0 ? -g : 0.0f;
        }
    }
}

void loss_recon_map(loss_msssim *ms, const float *x, const float *y, size_t n, size_t channels,
                    size_t plane, double rho, float *maps)
{
    loss_msssim_map(ms, x, y, maps);
    const float r = (float)rho, inv_c = 1.0f / (float)channels;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float *mp = maps + i * plane;
        for (size_t k = 0; k < plane; k++) {
            float s = 0;
            for (size_t c = 0; c < channels; c++) {
                size_t at = (i * channels + c) * plane + k;
                s += fabsf(x[at] - y[at]);
            }
            mp[k] = r * s * inv_c + (1 - r) * (1 - mp[k]);
        }
    }
}
