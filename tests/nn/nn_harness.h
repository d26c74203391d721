/* A one-layer harness for the engine tests: builds input -> layer -> plain output graphs, runs
 * them, and checks gradients against central finite differences. */
#ifndef NN_HARNESS_H
#define NN_HARNESS_H

#include "nn/layers.h"

typedef int (*layer_fn)(nn_graph *g, int x, const void *arg);

typedef struct harness {
    nn_ctx ctx;
    nn_params params;
    nn_graph *g;
    int x, y;
    int64_t xdims[4], ydims[4];
    int yndims;
    size_t xcount, ycount;
} harness;

/* Builds and finalizes a graph of mode over input n x c x h x w (h = w = 1: a matrix). */
void harness_init(harness *t, nn_mode mode, int64_t n, int64_t c, int64_t h, int64_t w, layer_fn fn,
                  const void *arg, uint64_t seed);
/* The same with 3 x 3 convolutions asking for Winograd's algorithm. */
void harness_init_winograd(harness *t, nn_mode mode, int64_t n, int64_t c, int64_t h, int64_t w,
                           layer_fn fn, const void *arg, uint64_t seed);
void harness_fini(harness *t);
void harness_forward(harness *t);
/* Fills the input with uniform values, keeping |v| >= gap (away from ReLU kinks). */
void harness_fill_input(harness *t, float lo, float hi, float gap, uint64_t seed);

/* Compares backward with central differences of L = sum(y * r) for every input element and
 * every trainable parameter element; returns the largest relative error, printed with a name. */
double harness_grad_check(harness *t, const char *name, double step);

#endif
