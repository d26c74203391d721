/* An independent check of a finalized graph's liveness plan (lib/nn/liveness.c), for tests over
 * single layers and over the real networks. */
#ifndef PLAN_CHECK_H
#define PLAN_CHECK_H

#include <stddef.h>

#include "nn/graph.h"

/* Pairs of planned buffers (a training graph's gradients and spare buffers, an inference graph's
 * activations) that are live at a common op yet share a byte, plus buffers lying outside the
 * arena; 0 for a safe plan. *separate, when not NULL, receives the bytes the planned buffers
 * would take each in its own allocation. */
size_t plan_conflicts(const nn_graph *g, size_t *separate);

#endif
