/* Adam with L2 weight decay (the gradient gains weight_decay * w, as in PyTorch's Adam) and bias
 * correction, over the trainable parameters of a store; plus the polynomial learning-rate decay. */
#ifndef NN_ADAM_H
#define NN_ADAM_H

#include "nn/params.h"

typedef struct nn_adam {
    double lr, beta1, beta2, eps, weight_decay;
} nn_adam;

/* One step with the gradients in p->grad; increments p->steps and p->version. */
void nn_adam_step(nn_params *p, const nn_adam *opt);
/* lr0 * (1 - step / total)^power, or lr0 when total is 0; 0 after total steps. */
double nn_poly_lr(double lr0, uint64_t step, uint64_t total, double power);

#endif
