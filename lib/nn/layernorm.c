/* Layer normalisation over C x H x W of each sample with an elementwise scale and shift (as
 * PyTorch's LayerNorm([C, H, W])): oneDNN's layer normalisation over the last axis of a plain
 * tensor viewed as N x (C H W). */
#include "nn/layers.h"

static const float LN_EPS = 1e-5f;

typedef struct ln_op {
    nn_op base;
    nn_prim fwd, bwd;
    size_t pscale, pshift;
    nn_weight *scale, *shift, *dscale, *dshift;
    dnnl_memory_desc_t md2, stat_md, param_md;
    float *mean, *var, *junk_scale, *junk_shift;
    dnnl_memory_t mean_mem, var_mem, junk_scale_mem, junk_shift_mem;
    dnnl_memory_t src2, dst2, ddst2, dsrc2; /* 2-D views of the tensors' buffers */
} ln_op;

static igd_status view(nn_graph *g, const dnnl_memory_desc_t *md, void *buf, dnnl_memory_t *mem,
                       core_err *err)
{
    return nn_check(dnnl_memory_create(mem, md, g->ctx->engine, buf), err, "memory view");
}

static igd_status ln_finalize(nn_op *op, nn_graph *g, core_err *err)
{
    ln_op *l = (ln_op *)op;
    nn_tensor *x = nn_tensor_at(g, op->in[0]), *y = nn_tensor_at(g, op->out);
    CORE_TRY(view(g, &l->md2, x->data, &l->src2, err));
    CORE_TRY(view(g, &l->md2, y->data, &l->dst2, err));
    if (g->mode != NN_TRAIN)
        return IGD_OK;
    CORE_TRY(nn_graph_buffer(g, &l->stat_md, &l->mean, &l->mean_mem, err));
    CORE_TRY(nn_graph_buffer(g, &l->stat_md, &l->var, &l->var_mem, err));
    CORE_TRY(nn_graph_buffer(g, &l->param_md, &l->junk_scale, &l->junk_scale_mem, err));
    CORE_TRY(nn_graph_buffer(g, &l->param_md, &l->junk_shift, &l->junk_shift_mem, err));
    CORE_TRY(view(g, &l->md2, y->diff, &l->ddst2, err));
    if (x->needs_diff)
        return view(g, &l->md2, x->diff, &l->dsrc2, err);
    /* No one wants the input's gradient: the primitive still writes one, into a junk buffer. */
    float *junk;
    dnnl_memory_t unused;
    CORE_TRY(nn_graph_buffer(g, &l->md2, &junk, &unused, err));
    CORE_TRY(view(g, &l->md2, junk, &l->dsrc2, err));
    return IGD_OK;
}

static igd_status ln_forward(nn_op *op, nn_graph *g, core_err *err)
{
    ln_op *l = (ln_op *)op;
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, l->src2},
                               {DNNL_ARG_DST, l->dst2},
                               {DNNL_ARG_SCALE, l->scale->mem},
                               {DNNL_ARG_SHIFT, l->shift->mem}};
    int n = 4;
    if (g->mode == NN_TRAIN) {
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_MEAN, l->mean_mem};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_VARIANCE, l->var_mem};
    }
    return nn_prim_exec(g, &l->fwd, n, args, err);
}

static igd_status ln_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    ln_op *l = (ln_op *)op;
    bool want_src = nn_tensor_at(g, op->in[0])->needs_diff;
    if (!want_src && !params)
        return IGD_OK;
    if (want_src)
        CORE_TRY(nn_check(dnnl_memory_set_data_handle(l->dsrc2, nn_diff_target_buf(g, op->in[0])),
                          err, "memory handle"));
    dnnl_exec_arg_t args[10] = {{DNNL_ARG_SRC, l->src2},
                                {DNNL_ARG_MEAN, l->mean_mem},
                                {DNNL_ARG_VARIANCE, l->var_mem},
                                {DNNL_ARG_DIFF_DST, l->ddst2},
                                {DNNL_ARG_SCALE, l->scale->mem},
                                {DNNL_ARG_SHIFT, l->shift->mem},
                                {DNNL_ARG_DIFF_SRC, l->dsrc2},
                                {DNNL_ARG_DIFF_SCALE, params ? l->dscale->mem : l->junk_scale_mem},
                                {DNNL_ARG_DIFF_SHIFT, params ? l->dshift->mem : l->junk_shift_mem}};
    CORE_TRY(nn_prim_exec(g, &l->bwd, 9, args, err));
    if (want_src)
        nn_diff_done(g, op->in[0]);
    return IGD_OK;
}

static void ln_destroy(nn_op *op)
{
    ln_op *l = (ln_op *)op;
    nn_prim_fini(&l->fwd);
    nn_prim_fini(&l->bwd);
    dnnl_memory_t mems[] = {l->src2, l->dst2, l->ddst2, l->dsrc2};
    for (size_t i = 0; i < 4; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
}

static const nn_op_vt ln_vt = {"layer normalisation", ln_finalize, ln_forward, ln_backward,
                               ln_destroy};

int nn_ln(nn_graph *g, int x)
{
    x = nn_plain(g, x);
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    ln_op *l = nn_op_new(g, sizeof *l, &ln_vt);
    if (!l)
        return -1;
    l->base.in[0] = x;
    l->base.nin = 1;
    l->base.has_params = true;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    const int64_t n = src->dims[0];
    const int64_t dsize = src->dims[1] * src->dims[2] * src->dims[3];
    const int64_t dims2[2] = {n, dsize}, sdims[1] = {n}, pdims[1] = {dsize};
    nn_plain_md(&l->md2, 2, dims2);
    nn_plain_md(&l->stat_md, 1, sdims);
    nn_plain_md(&l->param_md, 1, pdims);
    igd_status st =
        nn_params_claim(g->params, &g->cursor, 1, pdims, 1, NN_INIT_ONE, 0, 0, &l->pscale, err);
    if (st == IGD_OK)
        st = nn_params_claim(g->params, &g->cursor, 1, pdims, 1, NN_INIT_ZERO, 0, 0, &l->pshift,
                             err);
    if (st != IGD_OK)
        return nn_op_fail(g, &l->base, st);
    const unsigned flags = dnnl_use_scale | dnnl_use_shift;
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_layer_normalization_desc_t d;
    st = nn_check(
        dnnl_layer_normalization_forward_desc_init(&d, prop, &l->md2, &l->stat_md, LN_EPS, flags),
        err, "layer normalisation descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &l->fwd, &d, NULL, "layer normalisation", err);
    if (st == IGD_OK)
        st = nn_weight_create(g, l->pscale, false, &l->param_md, &l->param_md, &l->scale, err);
    if (st == IGD_OK)
        st = nn_weight_create(g, l->pshift, false, &l->param_md, &l->param_md, &l->shift, err);
    if (st == IGD_OK && g->mode == NN_TRAIN) {
        st = nn_check(dnnl_layer_normalization_backward_desc_init(
                          &d, dnnl_backward, &l->md2, &l->md2, &l->stat_md, LN_EPS, flags),
                      err, "layer normalisation backward descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &l->bwd, &d, l->fwd.pd, "layer normalisation backward", err);
        if (st == IGD_OK)
            st = nn_weight_create(g, l->pscale, true, &l->param_md, &l->param_md, &l->dscale, err);
        if (st == IGD_OK)
            st = nn_weight_create(g, l->pshift, true, &l->param_md, &l->param_md, &l->dshift, err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &l->base, st);
    return nn_op_commit(g, &l->base, src);
}
