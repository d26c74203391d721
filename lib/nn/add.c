/* Elementwise sum of two tensors (residual connections). The backward hands the gradient to
 * both inputs: added or copied directly where the layouts agree, through a reorder where they
 * differ. */
#include "nn/layers.h"

typedef struct add_op {
    nn_op base;
    nn_prim fwd, to_in[2];
} add_op;

static igd_status add_forward(nn_op *op, nn_graph *g, core_err *err)
{
    add_op *a = (add_op *)op;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_SRC_1, nn_tensor_at(g, op->in[1])->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    return nn_prim_exec(g, &a->fwd, 3, args, err);
}

static igd_status add_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    (void)params;
    add_op *a = (add_op *)op;
    nn_tensor *y = nn_tensor_at(g, op->out);
    for (int i = 0; i < 2; i++) {
        nn_tensor *x = nn_tensor_at(g, op->in[i]);
        if (!x->needs_diff)
            continue;
        if (!a->to_in[i].prim) {
            CORE_TRY(nn_diff_give(g, op->in[i], y->diff, err));
            continue;
        }
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, nn_tensor_at(g, op->out)->diff_mem},
                                   {DNNL_ARG_TO, nn_diff_target(g, op->in[i])}};
        CORE_TRY(nn_prim_exec(g, &a->to_in[i], 2, args, err));
        nn_diff_done(g, op->in[i]);
    }
    return IGD_OK;
}

static void add_destroy(nn_op *op)
{
    add_op *a = (add_op *)op;
    nn_prim_fini(&a->fwd);
    nn_prim_fini(&a->to_in[0]);
    nn_prim_fini(&a->to_in[1]);
}

static const nn_op_vt add_vt = {"sum", NULL, add_forward, add_backward, add_destroy};

int nn_add(nn_graph *g, int x, int y)
{
    if (x < 0 || y < 0 || !nn_graph_ok(g))
        return -1;
    const dnnl_memory_desc_t *mx = nn_md(g, x), *my = nn_md(g, y);
    if (mx->ndims != my->ndims) {
        core_fail(&g->err, IGD_ERR_INTERNAL, "summing tensors of different shapes");
        return nn_graph_fail(g, IGD_ERR_INTERNAL);
    }
    for (int i = 0; i < mx->ndims; i++) {
        if (mx->dims[i] != my->dims[i]) {
            core_fail(&g->err, IGD_ERR_INTERNAL, "summing tensors of different shapes");
            return nn_graph_fail(g, IGD_ERR_INTERNAL);
        }
    }
    add_op *a = nn_op_new(g, sizeof *a, &add_vt);
    if (!a)
        return -1;
    a->base.in[0] = x;
    a->base.in[1] = y;
    a->base.nin = 2;
    core_err *err = &g->err;
    const dnnl_memory_desc_t srcs[2] = {*mx, *my};
    dnnl_primitive_desc_t pd;
    dnnl_binary_desc_t d;
    igd_status st =
        nn_check(dnnl_binary_desc_init(&d, dnnl_binary_add, mx, my, mx), err, "sum descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &a->fwd, &d, NULL, "sum", err);
    for (int i = 0; i < 2 && st == IGD_OK && g->mode == NN_TRAIN; i++) {
        if (!nn_tensor_at(g, a->base.in[i])->needs_diff || dnnl_memory_desc_equal(mx, &srcs[i]))
            continue;
        st = nn_check(dnnl_reorder_primitive_desc_create(&pd, mx, g->ctx->engine, &srcs[i],
                                                         g->ctx->engine, g->attr),
                      err, "sum backward descriptor");
        if (st == IGD_OK)
            st = nn_prim_adopt(g, &a->to_in[i], pd, "sum backward", err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &a->base, st);
    return nn_op_commit(g, &a->base, mx);
}
