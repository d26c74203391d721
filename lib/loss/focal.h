/* The segmentation head's per-pixel loss on logits l against binary targets y (focal loss, Lin et
 * al. 2017; gamma = 0 is binary cross-entropy):
 *
 *   p_t = sigmoid(l) where y = 1, 1 - sigmoid(l) where y = 0
 *   loss = mean over pixels of -w_t (1 - p_t)^gamma log p_t,  w_t = pos_weight where y = 1, else 1
 *
 * computed from log-sigmoids, so large logits neither overflow nor lose the gradient. */
#ifndef LOSS_FOCAL_H
#define LOSS_FOCAL_H

#include <stdbool.h>
#include <stddef.h>

/* logits, targets (>= 0.5 counts as 1): n values each. grad (may be NULL) receives
 * scale * d(loss)/d(logit). Returns the loss. */
double loss_focal(const float *logits, const float *targets, size_t n, double gamma,
                  double pos_weight, double scale, float *grad);

#endif
