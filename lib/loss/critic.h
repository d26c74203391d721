/* The adversarial interpolation losses (eq. 10, 11) on critic outputs:
 *   critic:  mean_i (d(x_alpha_i) - alpha_i)^2 + mean_i d(x_zeta_i)^2
 *   fooling: mean_i d(x_alpha_i)^2 (the auto-encoder's term, weighted by lambda3) */
#ifndef LOSS_CRITIC_H
#define LOSS_CRITIC_H

#include <stddef.h>

/* d_mix, d_self: n outputs each; alpha: n targets. grad_mix/grad_self (may be NULL) receive
 * scale * the gradient. Returns the loss. */
double loss_critic(const float *d_mix, const float *d_self, const double *alpha, size_t n,
                   double scale, float *grad_mix, float *grad_self);
double loss_fooling(const float *d_mix, size_t n, double scale, float *grad_mix);

#endif
