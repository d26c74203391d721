/* Elementwise sum of two tensors (residual connections). The second input is first reordered to
 * the first's layout when they differ (oneDNN's sum kernels need one layout; the reference code
 * it falls back to otherwise is many times slower than the reorder), so the backward hands the
 * output's gradient to both inputs as it is. */
#include "nn/layers.h"

typedef struct add_op {
    nn_op base;
    nn_prim fwd;
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
    nn_tensor *y = nn_tensor_at(g, op->out);
    for (int i = 0; i < 2; i++)
        if (nn_tensor_at(g, op->in[i])->needs_diff)
            CORE_TRY(nn_diff_give(g, op->in[i], y->diff, err));
    return IGD_OK;
}

static void add_destroy(nn_op *op)
{
    nn_prim_fini(&((add_op *)op)->fwd);
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
    dnnl_memory_desc_t layout = *mx;
    y = nn_reorder(g, y, &layout);
    if (y < 0)
        return -1;
    add_op *a = nn_op_new(g, sizeof *a, &add_vt);
    if (!a)
        return -1;
    a->base.in[0] = x;
    a->base.in[1] = y;
    a->base.nin = 2;
    core_err *err = &g->err;
    dnnl_binary_desc_t d;
    igd_status st = nn_check(dnnl_binary_desc_init(&d, dnnl_binary_add, &layout, &layout, &layout),
                             err, "sum descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &a->fwd, &d, NULL, "sum", err);
    if (st != IGD_OK)
        return nn_op_fail(g, &a->base, st);
    return nn_op_commit(g, &a->base, &layout);
}
