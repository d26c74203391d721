#include "loss/classifier.h"

#include <math.h>

void loss_classifier(const float *z, size_t n, size_t d, const float *center, double spread,
                     bool svdd, double *term, float *grad, double scale)
{
    for (size_t i = 0; i < n; i++) {
        const float *zi = z + i * d;
        double dist = 0;
        for (size_t k = 0; k < d; k++) {
            double diff = (double)zi[k] - center[k];
            dist += diff * diff;
        }
        double factor; /* d term / d |z - c|^2 */
        if (svdd) {
            term[i] = dist;
            factor = 1.0;
        } else {
            double p = exp(-dist / spread);
            term[i] = 1.0 - p;
            factor = p / spread;
        }
        if (grad) {
            float *gi = grad + i * d;
            for (size_t k = 0; k < d; k++)
                gi[k] = (float)(scale * factor * 2.0 * ((double)zi[k] - center[k]));
        }
    }
}
