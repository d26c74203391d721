/* A static computation graph over oneDNN primitives.
 *
 * A graph is built once for one batch size by calling the layer constructors (nn_conv, nn_bn, ...;
 * see layers.h), each of which creates its primitives immediately, so every tensor's memory layout
 * is known as soon as it is produced: activations stay in the layouts the primitives prefer
 * (blocked nChw8c on AVX2) from layer to layer. nn_graph_finalize allocates every buffer once;
 * afterwards forward and backward passes allocate nothing.
 *
 * Parameters live in an nn_params store in canonical plain layouts. Where a primitive prefers
 * another weight layout, the graph keeps a reordered copy that it refreshes whenever the store's
 * version changes, and reorders weight gradients back into the store's gradient arena.
 *
 * Backward runs the ops in reverse. A tensor read by several ops receives the sum of their
 * gradients (the first writes its diff buffer, later ones write a spare buffer that is added). */
#ifndef NN_GRAPH_H
#define NN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"
#include "nn/ctx.h"
#include "nn/params.h"

typedef enum nn_mode {
    NN_TRAIN = 0, /* forward_training primitives, activations kept for backward */
    NN_INFER = 1  /* forward_inference primitives, no gradients */
} nn_mode;

typedef struct nn_graph nn_graph;
typedef struct nn_op nn_op;

/* One primitive with its descriptor and its view of the context's scratchpad. */
typedef struct nn_prim {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t scratch;
    void *scratch_at; /* the buffer scratch points to */
    const char *what; /* for messages */
} nn_prim;

typedef struct nn_tensor {
    dnnl_memory_desc_t md;
    int alias;       /* -1, or the tensor whose buffers this one shares (a reshape) */
    int consumers;   /* ops reading it */
    bool needs_diff; /* some op or the caller wants its gradient */
    bool diff_set;   /* during backward: its diff holds a value */
    bool to_spare;   /* during backward: the op running writes the spare buffer */
    /* On a base tensor (not a view), the ops over which its planned buffers are live (see
     * liveness.c): its activation in inference or gradient in training over
     * live_first..live_last, its spare buffer over spare_first..live_last; -1 stands for before
     * the first op, nops for after the last. */
    int live_first, live_last, spare_first;
    float *data, *diff, *spare;
    dnnl_memory_t mem, diff_mem, spare_mem;
} nn_tensor;

typedef struct nn_op_vt {
    const char *name;
    /* Binds memory objects once the graph's buffers exist. */
    igd_status (*finalize)(nn_op *op, nn_graph *g, core_err *err);
    igd_status (*forward)(nn_op *op, nn_graph *g, core_err *err);
    /* Writes the inputs' gradients (where needed) and, when params is set, the parameters'. */
    igd_status (*backward)(nn_op *op, nn_graph *g, bool params, core_err *err);
    void (*destroy)(nn_op *op);
} nn_op_vt;

struct nn_op {
    const nn_op_vt *vt;
    int in[2];
    int nin;
    int out;
    bool has_params; /* its output needs a gradient in training, for the parameters' sake */
};

/* A parameter as one primitive sees it (see the file comment): either its values, which the
 * primitive reads, or its gradient, which the primitive writes. */
typedef struct nn_weight {
    size_t param;
    bool grad; /* the gradient (else the values) */
    dnnl_memory_desc_t canon_md, prim_md;
    bool reorder; /* prim_md differs from canon_md: a copy in prim_md */
    float *copy;
    dnnl_memory_t mem;       /* what the primitive reads or writes */
    dnnl_memory_t canon_mem; /* the store's values or gradients */
    nn_prim move;            /* canonical -> copy (values) or copy -> canonical (gradient) */
} nn_weight;

struct nn_graph {
    nn_ctx *ctx;
    nn_params *params;
    size_t cursor; /* the next parameter this graph claims */
    nn_mode mode;
    int64_t batch;
    bool accumulate;   /* add parameter gradients to the store's instead of overwriting */
    float *grad_arena; /* accumulate: this graph's own gradients, added after backward */

    nn_tensor *tensors;
    size_t ntensors, tensor_cap;
    nn_op **ops;
    size_t nops, op_cap;
    nn_weight **weights;
    size_t nweights, weight_cap;

    char *arena; /* the buffers planned by liveness (see liveness.c) */
    size_t arena_bytes;
    void **buffers; /* every buffer the graph allocated, with its memory object */
    dnnl_memory_t *buffer_mems;
    size_t nbuffers, buffer_cap;

    dnnl_primitive_attr_t attr; /* user-managed scratchpad */
    size_t scratch_size;        /* the most any primitive needs (the context holds the buffer) */
    uint64_t params_version;    /* version of the store the weight copies reflect */
    bool finalized;
    size_t reference_prims; /* primitives running oneDNN's slow reference code */
    size_t winograd_prims;  /* convolutions running a Winograd kernel */
    igd_status status;      /* first error of the build, sticky */
    core_err err;
};

/* Places in one arena, sharing memory between tensors never live at once, the gradient and spare
 * buffers of a training graph or the activations of an inference graph (nn_graph_finalize). */
igd_status nn_plan_buffers(nn_graph *g, core_err *err);

/* Starts a graph for `batch` samples in `mode` over a parameter store. */
igd_status nn_graph_create(nn_ctx *ctx, nn_params *params, nn_mode mode, int64_t batch,
                           nn_graph **out, core_err *err);
void nn_graph_free(nn_graph *g);
/* Makes backward add parameter gradients into the store's instead of overwriting them (for a
 * second pass through shared weights). Call before finalize. */
void nn_graph_set_accumulate(nn_graph *g);

/* A graph input of n x c x h x w (h = w = 1 for vectors: an n x c matrix), planar. */
int nn_input(nn_graph *g, int64_t c, int64_t h, int64_t w, bool needs_diff);
/* The build's status (the first failure of any constructor). */
igd_status nn_graph_status(const nn_graph *g, core_err *err);
/* Allocates every buffer and binds memories; the store must be committed. */
igd_status nn_graph_finalize(nn_graph *g, core_err *err);

igd_status nn_graph_forward(nn_graph *g, core_err *err);
/* Backward from the gradients the caller wrote into the diff of each tensor in `outputs`. With
 * params false, only input gradients are computed (parameter gradients untouched). */
igd_status nn_graph_backward(nn_graph *g, const int *outputs, size_t noutputs, bool params,
                             core_err *err);

/* Plain (nchw / nc) host pointers of a tensor's value and gradient; valid after finalize. The
 * caller must only use these on tensors whose layout is plain (inputs, nn_plain outputs).
 * Buffers share memory by liveness: the caller may write an input's value before forward (an
 * inference graph keeps it) and read an output's (a tensor no op reads) after it, write an
 * output's gradient before backward and read an input's after it; other tensors' gradients, and
 * in inference their values, hold only during the pass. */
float *nn_data(nn_graph *g, int t);
float *nn_diff(nn_graph *g, int t);
/* Logical dims of a tensor (ndims 2 or 4). */
int nn_dims(const nn_graph *g, int t, int64_t *dims);

/* ---- for op implementations ---- */
int nn_graph_add_tensor(nn_graph *g, const dnnl_memory_desc_t *md);
igd_status nn_graph_add_op(nn_graph *g, nn_op *op, core_err *err);
/* Marks a build failure (returns -1 for constructors to return). */
int nn_graph_fail(nn_graph *g, igd_status st);
bool nn_graph_ok(const nn_graph *g);
const dnnl_memory_desc_t *nn_md(const nn_graph *g, int t);
/* The tensor owning t's buffers: t itself, or the base t is a view (reshape) of. */
int nn_base(const nn_graph *g, int t);
nn_tensor *nn_tensor_at(nn_graph *g, int t);

igd_status nn_prim_create(nn_graph *g, nn_prim *p, const_dnnl_op_desc_t desc,
                          const_dnnl_primitive_desc_t hint, const char *what, core_err *err);
/* The same, skipping implementations whose name contains `avoid` (known defects). */
igd_status nn_prim_create_avoiding(nn_graph *g, nn_prim *p, const_dnnl_op_desc_t desc,
                                   const_dnnl_primitive_desc_t hint, const char *avoid,
                                   const char *what, core_err *err);
/* Takes ownership of an already created descriptor (reorder, sum). */
igd_status nn_prim_adopt(nn_graph *g, nn_prim *p, dnnl_primitive_desc_t pd, const char *what,
                         core_err *err);
const dnnl_memory_desc_t *nn_prim_md(const nn_prim *p, dnnl_query_t what, int index);
igd_status nn_prim_exec(nn_graph *g, nn_prim *p, int nargs, dnnl_exec_arg_t *args, core_err *err);
void nn_prim_fini(nn_prim *p);

/* Where an op writes the gradient of input tensor t, and the completion that adds it. */
dnnl_memory_t nn_diff_target(nn_graph *g, int t);
/* Adds src (laid out as t) into t's gradient, or copies it there if t has none yet. */
igd_status nn_diff_give(nn_graph *g, int t, const float *src, core_err *err);
/* The same as a raw buffer, for ops that view the tensor through their own descriptors. */
float *nn_diff_target_buf(nn_graph *g, int t);
void nn_diff_done(nn_graph *g, int t);

/* A view of parameter `param` (its values, or with grad its gradient) in the layout prim_md of a
 * primitive; canon_md is the parameter's canonical layout. */
igd_status nn_weight_create(nn_graph *g, size_t param, bool grad,
                            const dnnl_memory_desc_t *canon_md, const dnnl_memory_desc_t *prim_md,
                            nn_weight **out, core_err *err);
/* Moves a weight gradient written in the primitive layout into the canonical arena. */
igd_status nn_weight_grad_done(nn_graph *g, nn_weight *w, core_err *err);

/* A buffer (zeroed) owned by the graph, with a memory object over it. */
igd_status nn_graph_buffer(nn_graph *g, const dnnl_memory_desc_t *md, float **data,
                           dnnl_memory_t *mem, core_err *err);

#endif
