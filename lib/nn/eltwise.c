/* Elementwise activations: ReLU, sigmoid and tanh (the last two differentiate through their
 * output). */
#include "nn/layers.h"

typedef struct act_op {
    nn_op base;
    nn_prim fwd, bwd;
    bool use_dst;
} act_op;

static igd_status act_forward(nn_op *op, nn_graph *g, core_err *err)
{
    act_op *a = (act_op *)op;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    return nn_prim_exec(g, &a->fwd, 2, args, err);
}

static igd_status act_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    (void)params;
    act_op *a = (act_op *)op;
    if (!nn_tensor_at(g, op->in[0])->needs_diff)
        return IGD_OK;
    dnnl_exec_arg_t args[3] = {
        a->use_dst ? (dnnl_exec_arg_t){DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}
                   : (dnnl_exec_arg_t){DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
        {DNNL_ARG_DIFF_DST, nn_tensor_at(g, op->out)->diff_mem},
        {DNNL_ARG_DIFF_SRC, nn_diff_target(g, op->in[0])}};
    CORE_TRY(nn_prim_exec(g, &a->bwd, 3, args, err));
    nn_diff_done(g, op->in[0]);
    return IGD_OK;
}

static void act_destroy(nn_op *op)
{
    act_op *a = (act_op *)op;
    nn_prim_fini(&a->fwd);
    nn_prim_fini(&a->bwd);
}

static const nn_op_vt act_vt = {"activation", NULL, act_forward, act_backward, act_destroy};

int nn_act_layer(nn_graph *g, int x, nn_act act)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    act_op *a = nn_op_new(g, sizeof *a, &act_vt);
    if (!a)
        return -1;
    a->base.in[0] = x;
    a->base.nin = 1;
    dnnl_alg_kind_t alg = act == NN_RELU      ? dnnl_eltwise_relu
                          : act == NN_SIGMOID ? dnnl_eltwise_logistic_use_dst_for_bwd
                                              : dnnl_eltwise_tanh_use_dst_for_bwd;
    a->use_dst = act != NN_RELU;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_eltwise_desc_t d;
    igd_status st = nn_check(dnnl_eltwise_forward_desc_init(&d, prop, alg, src, 0.0f, 0.0f), err,
                             "activation descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &a->fwd, &d, NULL, "activation", err);
    if (st == IGD_OK && g->mode == NN_TRAIN && nn_tensor_at(g, x)->needs_diff) {
        st = nn_check(dnnl_eltwise_backward_desc_init(&d, alg, src, src, 0.0f, 0.0f), err,
                      "activation backward descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &a->bwd, &d, a->fwd.pd, "activation backward", err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &a->base, st);
    return nn_op_commit(g, &a->base, nn_prim_md(&a->fwd, dnnl_query_dst_md, 0));
}
