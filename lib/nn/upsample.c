/* Nearest-neighbour 2x upsampling (its backward sums each 2 x 2 block of gradients). */
#include "nn/layers.h"

typedef struct up_op {
    nn_op base;
    nn_prim fwd, bwd;
} up_op;

static igd_status up_forward(nn_op *op, nn_graph *g, core_err *err)
{
    up_op *u = (up_op *)op;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    return nn_prim_exec(g, &u->fwd, 2, args, err);
}

static igd_status up_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    (void)params;
    up_op *u = (up_op *)op;
    if (!nn_tensor_at(g, op->in[0])->needs_diff)
        return IGD_OK;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_DIFF_DST, nn_tensor_at(g, op->out)->diff_mem},
                               {DNNL_ARG_DIFF_SRC, nn_diff_target(g, op->in[0])}};
    CORE_TRY(nn_prim_exec(g, &u->bwd, 2, args, err));
    nn_diff_done(g, op->in[0]);
    return IGD_OK;
}

static void up_destroy(nn_op *op)
{
    up_op *u = (up_op *)op;
    nn_prim_fini(&u->fwd);
    nn_prim_fini(&u->bwd);
}

static const nn_op_vt up_vt = {"upsampling", NULL, up_forward, up_backward, up_destroy};

int nn_up2(nn_graph *g, int x)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    up_op *u = nn_op_new(g, sizeof *u, &up_vt);
    if (!u)
        return -1;
    u->base.in[0] = x;
    u->base.nin = 1;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    const int64_t ddims[4] = {src->dims[0], src->dims[1], src->dims[2] * 2, src->dims[3] * 2};
    const float factors[2] = {2.0f, 2.0f};
    dnnl_memory_desc_t dany;
    nn_any_md(&dany, 4, ddims);
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_resampling_desc_t d;
    igd_status st = nn_check(
        dnnl_resampling_forward_desc_init(&d, prop, dnnl_resampling_nearest, factors, src, &dany),
        err, "upsampling descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &u->fwd, &d, NULL, "upsampling", err);
    const dnnl_memory_desc_t *dst = st == IGD_OK ? nn_prim_md(&u->fwd, dnnl_query_dst_md, 0) : NULL;
    if (st == IGD_OK && g->mode == NN_TRAIN && nn_tensor_at(g, x)->needs_diff) {
        st = nn_check(
            dnnl_resampling_backward_desc_init(&d, dnnl_resampling_nearest, factors, src, dst), err,
            "upsampling backward descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &u->bwd, &d, u->fwd.pd, "upsampling backward", err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &u->base, st);
    return nn_op_commit(g, &u->base, dst);
}
