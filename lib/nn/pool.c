/* 2 x 2 mean pooling with stride 2. */
#include "nn/layers.h"

typedef struct pool_op {
    nn_op base;
    nn_prim fwd, bwd;
} pool_op;

static igd_status pool_forward(nn_op *op, nn_graph *g, core_err *err)
{
    pool_op *p = (pool_op *)op;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    return nn_prim_exec(g, &p->fwd, 2, args, err);
}

static igd_status pool_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    (void)params;
    pool_op *p = (pool_op *)op;
    if (!nn_tensor_at(g, op->in[0])->needs_diff)
        return IGD_OK;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_DIFF_DST, nn_tensor_at(g, op->out)->diff_mem},
                               {DNNL_ARG_DIFF_SRC, nn_diff_target(g, op->in[0])}};
    CORE_TRY(nn_prim_exec(g, &p->bwd, 2, args, err));
    nn_diff_done(g, op->in[0]);
    return IGD_OK;
}

static void pool_destroy(nn_op *op)
{
    pool_op *p = (pool_op *)op;
    nn_prim_fini(&p->fwd);
    nn_prim_fini(&p->bwd);
}

static const nn_op_vt pool_vt = {"mean pooling", NULL, pool_forward, pool_backward, pool_destroy};

int nn_pool2(nn_graph *g, int x)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    if (src->ndims != 4 || src->dims[2] % 2 || src->dims[3] % 2) {
        core_fail(&g->err, IGD_ERR_INVALID_ARGUMENT, "pooling needs even sides");
        return nn_graph_fail(g, IGD_ERR_INVALID_ARGUMENT);
    }
    pool_op *p = nn_op_new(g, sizeof *p, &pool_vt);
    if (!p)
        return -1;
    p->base.in[0] = x;
    p->base.nin = 1;
    core_err *err = &g->err;
    const int64_t ddims[4] = {src->dims[0], src->dims[1], src->dims[2] / 2, src->dims[3] / 2};
    const dnnl_dims_t strides = {2, 2}, kernel = {2, 2}, pad = {0, 0};
    dnnl_memory_desc_t dany;
    nn_any_md(&dany, 4, ddims);
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_pooling_desc_t d;
    igd_status st =
        nn_check(dnnl_pooling_forward_desc_init(&d, prop, dnnl_pooling_avg_include_padding, src,
                                                &dany, strides, kernel, pad, pad),
                 err, "pooling descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &p->fwd, &d, NULL, "pooling", err);
    const dnnl_memory_desc_t *dst = st == IGD_OK ? nn_prim_md(&p->fwd, dnnl_query_dst_md, 0) : NULL;
    if (st == IGD_OK && g->mode == NN_TRAIN && nn_tensor_at(g, x)->needs_diff) {
        st = nn_check(dnnl_pooling_backward_desc_init(&d, dnnl_pooling_avg_include_padding, src,
                                                      dst, strides, kernel, pad, pad),
                      err, "pooling backward descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &p->bwd, &d, p->fwd.pd, "pooling backward", err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &p->base, st);
    return nn_op_commit(g, &p->base, dst);
}
