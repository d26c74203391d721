/* Batch normalisation (optionally fused with a ReLU) on oneDNN, with PyTorch's running averages:
 * running = 0.9 running + 0.1 batch, the variance unbiased. */
#include "nn/layers.h"

#include "core/alloc.h"

enum { BN_SCALE, BN_SHIFT, BN_MEAN, BN_VAR, BN_NPARAMS };
static const float BN_EPS = 1e-5f;
static const float BN_MOMENTUM = 0.1f;

typedef struct bn_op {
    nn_op base;
    nn_prim fwd, bwd;
    size_t param[BN_NPARAMS];
    nn_weight *w[BN_NPARAMS], *dscale, *dshift;
    bool relu, global; /* global: normalise with the running averages */
    int64_t channels, per_channel;
    dnnl_memory_desc_t stat_md;
    float *mean, *var, *ws, *junk_scale, *junk_shift, *junk_src;
    dnnl_memory_t mean_mem, var_mem, ws_mem, junk_scale_mem, junk_shift_mem, junk_src_mem;
} bn_op;

static bool training(const nn_graph *g)
{
    return g->mode == NN_TRAIN;
}

static igd_status bn_finalize(nn_op *op, nn_graph *g, core_err *err)
{
    bn_op *b = (bn_op *)op;
    if (!training(g))
        return IGD_OK;
    if (!b->global) {
        CORE_TRY(nn_graph_buffer(g, &b->stat_md, &b->mean, &b->mean_mem, err));
        CORE_TRY(nn_graph_buffer(g, &b->stat_md, &b->var, &b->var_mem, err));
    }
    if (b->relu)
        CORE_TRY(nn_graph_buffer(g, nn_prim_md(&b->fwd, dnnl_query_workspace_md, 0), &b->ws,
                                 &b->ws_mem, err));
    CORE_TRY(nn_graph_buffer(g, &b->stat_md, &b->junk_scale, &b->junk_scale_mem, err));
    CORE_TRY(nn_graph_buffer(g, &b->stat_md, &b->junk_shift, &b->junk_shift_mem, err));
    if (!nn_tensor_at(g, op->in[0])->needs_diff)
        CORE_TRY(nn_graph_buffer(g, nn_md(g, op->in[0]), &b->junk_src, &b->junk_src_mem, err));
    return IGD_OK;
}

static dnnl_memory_t mean_mem(bn_op *b)
{
    return b->global ? b->w[BN_MEAN]->mem : b->mean_mem;
}

static dnnl_memory_t var_mem(bn_op *b)
{
    return b->global ? b->w[BN_VAR]->mem : b->var_mem;
}

static void update_running(bn_op *b, nn_graph *g)
{
    float *rm = nn_param_value(g->params, b->param[BN_MEAN]);
    float *rv = nn_param_value(g->params, b->param[BN_VAR]);
    const double n = (double)b->per_channel;
    const float unbias = n > 1 ? (float)(n / (n - 1)) : 1.0f;
    for (int64_t c = 0; c < b->channels; c++) {
        rm[c] = (1 - BN_MOMENTUM) * rm[c] + BN_MOMENTUM * b->mean[c];
        rv[c] = (1 - BN_MOMENTUM) * rv[c] + BN_MOMENTUM * b->var[c] * unbias;
    }
}

static igd_status bn_forward(nn_op *op, nn_graph *g, core_err *err)
{
    bn_op *b = (bn_op *)op;
    dnnl_exec_arg_t args[8] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem},
                               {DNNL_ARG_SCALE, b->w[BN_SCALE]->mem},
                               {DNNL_ARG_SHIFT, b->w[BN_SHIFT]->mem},
                               {DNNL_ARG_MEAN, training(g) ? mean_mem(b) : b->w[BN_MEAN]->mem},
                               {DNNL_ARG_VARIANCE, training(g) ? var_mem(b) : b->w[BN_VAR]->mem}};
    int n = 6;
    if (training(g) && b->relu)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, b->ws_mem};
    CORE_TRY(nn_prim_exec(g, &b->fwd, n, args, err));
    if (training(g) && !b->global) {
        CORE_TRY(nn_check(dnnl_stream_wait(g->ctx->stream), err, "stream"));
        update_running(b, g);
    }
    return IGD_OK;
}

static igd_status bn_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    bn_op *b = (bn_op *)op;
    bool want_src = nn_tensor_at(g, op->in[0])->needs_diff;
    dnnl_exec_arg_t args[11] = {
        {DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
        {DNNL_ARG_MEAN, mean_mem(b)},
        {DNNL_ARG_VARIANCE, var_mem(b)},
        {DNNL_ARG_DIFF_DST, nn_tensor_at(g, op->out)->diff_mem},
        {DNNL_ARG_SCALE, b->w[BN_SCALE]->mem},
        {DNNL_ARG_SHIFT, b->w[BN_SHIFT]->mem},
        {DNNL_ARG_DIFF_SRC, want_src ? nn_diff_target(g, op->in[0]) : b->junk_src_mem},
        {DNNL_ARG_DIFF_SCALE, params ? b->dscale->mem : b->junk_scale_mem},
        {DNNL_ARG_DIFF_SHIFT, params ? b->dshift->mem : b->junk_shift_mem}};
    int n = 9;
    if (b->relu)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WORKSPACE, b->ws_mem};
    CORE_TRY(nn_prim_exec(g, &b->bwd, n, args, err));
    if (want_src)
        nn_diff_done(g, op->in[0]);
    return IGD_OK;
}

static void bn_destroy(nn_op *op)
{
    bn_op *b = (bn_op *)op;
    nn_prim_fini(&b->fwd);
    nn_prim_fini(&b->bwd);
}

static const nn_op_vt bn_vt = {"batch normalisation", bn_finalize, bn_forward, bn_backward,
                               bn_destroy};

int nn_bn(nn_graph *g, int x, bool relu, bool frozen)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    bn_op *b = nn_op_new(g, sizeof *b, &bn_vt);
    if (!b)
        return -1;
    b->base.in[0] = x;
    b->base.nin = 1;
    b->base.has_params = true;
    b->relu = relu;
    b->global = frozen || g->mode == NN_INFER;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    b->channels = src->dims[1];
    b->per_channel = src->dims[0] * src->dims[2] * src->dims[3];
    const int64_t cdims[1] = {b->channels};
    static const nn_init inits[BN_NPARAMS] = {NN_INIT_ONE, NN_INIT_ZERO, NN_INIT_ZERO, NN_INIT_ONE};
    igd_status st = IGD_OK;
    for (int i = 0; i < BN_NPARAMS && st == IGD_OK; i++)
        st = nn_params_claim(g->params, &g->cursor, 1, cdims, i < BN_MEAN, inits[i], 0, 0,
                             &b->param[i], err);
    if (st != IGD_OK)
        return nn_op_fail(g, &b->base, st);
    nn_plain_md(&b->stat_md, 1, cdims);

    unsigned flags = dnnl_use_scale | dnnl_use_shift;
    if (relu)
        flags |= dnnl_fuse_norm_relu;
    if (b->global)
        flags |= dnnl_use_global_stats;
    dnnl_prop_kind_t prop = training(g) ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_batch_normalization_desc_t d;
    st = nn_check(dnnl_batch_normalization_forward_desc_init(&d, prop, src, BN_EPS, flags), err,
                  "batch normalisation descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &b->fwd, &d, NULL, "batch normalisation", err);
    for (int i = 0; i < BN_NPARAMS && st == IGD_OK; i++)
        st = nn_weight_create(g, b->param[i], false, &b->stat_md, &b->stat_md, &b->w[i], err);
    if (st == IGD_OK && training(g)) {
        const dnnl_memory_desc_t *dst = nn_prim_md(&b->fwd, dnnl_query_dst_md, 0);
        st = nn_check(
            dnnl_batch_normalization_backward_desc_init(&d, dnnl_backward, dst, src, BN_EPS, flags),
            err, "batch normalisation backward descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &b->bwd, &d, b->fwd.pd, "batch normalisation backward", err);
        if (st == IGD_OK)
            st = nn_weight_create(g, b->param[BN_SCALE], true, &b->stat_md, &b->stat_md, &b->dscale,
                                  err);
        if (st == IGD_OK)
            st = nn_weight_create(g, b->param[BN_SHIFT], true, &b->stat_md, &b->stat_md, &b->dshift,
                                  err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &b->base, st);
    return nn_op_commit(g, &b->base, nn_prim_md(&b->fwd, dnnl_query_dst_md, 0));
}
