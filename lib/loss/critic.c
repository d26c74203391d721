#include "loss/critic.h"

double loss_critic(const float *d_mix, const float *d_self, const double *alpha, size_t n,
                   double scale, float *grad_mix, float *grad_self)
{
    double a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        double e = d_mix[i] - alpha[i], s = d_self[i];
        a += e * e;
        b += s * s;
        if (grad_mix)
            grad_mix[i] = (float)(scale * 2.0 * e / (double)n);
        if (grad_self)
            grad_self[i] = (float)(scale * 2.0 * s / (double)n);
    }
    return (a + b) / (double)n;
}

double loss_fooling(const float *d_mix, size_t n, double scale, float *grad_mix)
{
    double a = 0;
    for (size_t i = 0; i < n; i++) {
        a += (double)d_mix[i] * d_mix[i];
        if (grad_mix)
            grad_mix[i] = (float)(scale * 2.0 * d_mix[i] / (double)n);
    }
    return a / (double)n;
}
