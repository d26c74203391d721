#include "nn/adam.h"

#include <math.h>

void nn_adam_step(nn_params *p, const nn_adam *opt)
{
    p->steps++;
    const float b1 = (float)opt->beta1, b2 = (float)opt->beta2, wd = (float)opt->weight_decay;
    const double bc1 = 1.0 - pow(opt->beta1, (double)p->steps);
    const double bc2 = 1.0 - pow(opt->beta2, (double)p->steps);
    /* w -= lr / bc1 * m / (sqrt(v / bc2) + eps), written as PyTorch's Adam does. */
    const float step = (float)(opt->lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float eps = (float)opt->eps;
    for (size_t i = 0; i < p->count; i++) {
        const nn_param *q = &p->items[i];
        if (!q->trainable)
            continue;
        float *w = p->value + q->offset, *g = p->grad + q->offset;
        float *m = p->m + q->offset, *v = p->v + q->offset;
        size_t n = q->count;
#pragma omp parallel for simd schedule(static) if (n > 32768)
        for (size_t k = 0; k < n; k++) {
            float gk = g[k] + wd * w[k];
            m[k] = b1 * m[k] + (1.0f - b1) * gk;
            v[k] = b2 * v[k] + (1.0f - b2) * gk * gk;
            w[k] -= step * m[k] / (sqrtf(v[k]) * inv_sqrt_bc2 + eps);
        }
    }
    p->version++;
}

double nn_poly_lr(double lr0, uint64_t step, uint64_t total, double power)
{
    if (total == 0)
        return lr0;
    if (step >= total)
        return 0.0;
    return lr0 * pow(1.0 - (double)step / (double)total, power);
}
