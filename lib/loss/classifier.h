/* The anomaly classifiers on latents z (n x d):
 *   gaussian (eq. 5, 8): term = 1 - exp(-|z - c|^2 / s), s = sigma^2 (or the authors' mean squared
 *                        distance: the same formula, a different s);
 *   svdd:                term = |z - c|^2 (Deep SVDD with a fixed centre). */
#ifndef LOSS_CLASSIFIER_H
#define LOSS_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>

/* term[i] for each sample; grad (may be NULL, n x d) = scale * d term[i] / d z[i]. */
void loss_classifier(const float *z, size_t n, size_t d, const float *center, double spread,
                     bool svdd, double *term, float *grad, double scale);

#endif
