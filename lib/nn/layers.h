/* The layers: each constructor adds one op to a graph and returns its output tensor (or -1 after
 * any failure, which nn_graph_status then reports). Every op has a forward and a backward pass on
 * oneDNN primitives; parameters are claimed from the graph's store in construction order. */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include "nn/graph.h"

typedef enum nn_act { NN_RELU = 0, NN_SIGMOID = 1, NN_TANH = 2 } nn_act;

/* k x k convolution (k odd), stride 1, "same" zero padding, optional bias. */
int nn_conv(nn_graph *g, int x, int64_t cout, int k, bool bias, nn_init init);
/* Batch normalisation over N, H, W per channel with a learnt scale and shift, optionally fused
 * with a ReLU. In training graphs it uses batch statistics and updates the running averages
 * (momentum 0.1, unbiased variance); with frozen, and in inference graphs, the running averages. */
int nn_bn(nn_graph *g, int x, bool relu, bool frozen);
/* Layer normalisation over C x H x W of each sample, with an elementwise scale and shift. */
int nn_ln(nn_graph *g, int x);
int nn_act_layer(nn_graph *g, int x, nn_act act);
/* 2 x 2 mean pooling, stride 2 (even sides). */
int nn_pool2(nn_graph *g, int x);
/* Nearest-neighbour 2x upsampling. */
int nn_up2(nn_graph *g, int x);
/* Elementwise sum of two tensors of equal dims (a residual connection). */
int nn_add(nn_graph *g, int a, int b);
/* Fully connected: x (n x c or n x c x h x w, flattened in c, h, w order) to n x out. */
int nn_linear(nn_graph *g, int x, int64_t out, bool bias, nn_init init);
/* A view with other dims (c x h x w, h = w = 1 for a matrix) and the same element order. */
int nn_reshape(nn_graph *g, int x, int64_t c, int64_t h, int64_t w);
/* x in a plain layout (nchw / nc): x itself when already plain, else a reorder. */
int nn_plain(nn_graph *g, int x);
/* x in layout md (same dims): x itself when it has it, else a reorder. */
int nn_reorder(nn_graph *g, int x, const dnnl_memory_desc_t *md);
/* x in the layout convolutions prefer for its dims (blocked on AVX2 and AVX-512), so that the
 * normalisations, activations and resamplings that follow run their optimised kernels. */
int nn_blocked(nn_graph *g, int x);

/* ---- for the op files ---- */
void *nn_op_new(nn_graph *g, size_t size, const nn_op_vt *vt);
/* Adds op (already filled in) with an output of out_md; frees op on failure. */
int nn_op_commit(nn_graph *g, nn_op *op, const dnnl_memory_desc_t *out_md);
/* Marks a failure of a constructor with the message in g->err (set by the callee). */
int nn_op_fail(nn_graph *g, nn_op *op, igd_status st);
bool nn_is_plain(const dnnl_memory_desc_t *md);
/* A plain descriptor of dims (nchw for 4 dims, nc for 2, x for 1). */
dnnl_status_t nn_plain_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims);
dnnl_status_t nn_any_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims);

#endif
