/* Focal loss on logits (see focal.h). */
#include "loss/focal.h"

#include <math.h>

/* log(sigmoid(v)), stable for any v. */
static double log_sigmoid(double v)
{
    return v >= 0 ? -log1p(exp(-v)) : v - log1p(exp(v));
}

double loss_focal(const float *logits, const float *targets, size_t n, double gamma,
                  double pos_weight, double scale, float *grad)
{
    if (n == 0)
        return 0.0;
    double total = 0;
    const double inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        const bool positive = targets[i] >= 0.5f;
        const double s = positive ? 1.0 : -1.0, w = positive ? pos_weight : 1.0;
        const double v = s * logits[i];
        const double log_p = log_sigmoid(v), p = exp(log_p), q = exp(log_sigmoid(-v));
        const double qg = gamma == 0 ? 1.0 : pow(q, gamma);
        total += -w * qg * log_p;
        if (grad) /* d/dv = w (gamma p q^gamma log p - q^(gamma + 1)); dv/dl = s */
            grad[i] = (float)(scale * inv * s * w * (gamma * p * qg * log_p - qg * q));
    }
    return total * inv;
}
