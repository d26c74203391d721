/* Fully connected layer (oneDNN inner product). A 4-D input is used in whatever layout it has;
 * the weights' canonical layout (out x c x h x w) matches flattening in c, h, w order. */
#include "nn/layers.h"

typedef struct linear_op {
    nn_op base;
    nn_prim fwd, bwd_data, bwd_weights;
    nn_weight *w, *w_bwd, *dw, *b, *db;
    bool bias;
} linear_op;

static igd_status linear_forward(nn_op *op, nn_graph *g, core_err *err)
{
    linear_op *l = (linear_op *)op;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_WEIGHTS, l->w->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    int n = 3;
    if (l->bias)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, l->b->mem};
    return nn_prim_exec(g, &l->fwd, n, args, err);
}

static igd_status linear_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    linear_op *l = (linear_op *)op;
    nn_tensor *x = nn_tensor_at(g, op->in[0]);
    dnnl_memory_t dy = nn_tensor_at(g, op->out)->diff_mem;
    if (params) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, x->mem},
                                   {DNNL_ARG_DIFF_DST, dy},
                                   {DNNL_ARG_DIFF_WEIGHTS, l->dw->mem}};
        int n = 3;
        if (l->bias)
            args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, l->db->mem};
        CORE_TRY(nn_prim_exec(g, &l->bwd_weights, n, args, err));
        CORE_TRY(nn_weight_grad_done(g, l->dw, err));
    }
    if (x->needs_diff) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dy},
                                   {DNNL_ARG_WEIGHTS, l->w_bwd->mem},
                                   {DNNL_ARG_DIFF_SRC, nn_diff_target(g, op->in[0])}};
        CORE_TRY(nn_prim_exec(g, &l->bwd_data, 3, args, err));
        nn_diff_done(g, op->in[0]);
    }
    return IGD_OK;
}

static void linear_destroy(nn_op *op)
{
    linear_op *l = (linear_op *)op;
    nn_prim_fini(&l->fwd);
    nn_prim_fini(&l->bwd_data);
    nn_prim_fini(&l->bwd_weights);
}

static const nn_op_vt linear_vt = {"linear", NULL, linear_forward, linear_backward,
                                   linear_destroy};

int nn_linear(nn_graph *g, int x, int64_t out, bool bias, nn_init init)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    linear_op *l = nn_op_new(g, sizeof *l, &linear_vt);
    if (!l)
        return -1;
    l->base.in[0] = x;
    l->base.nin = 1;
    l->base.has_params = true;
    l->bias = bias;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *src = nn_md(g, x);
    int nd = src->ndims;
    int64_t wdims[4] = {out, src->dims[1], nd == 4 ? src->dims[2] : 1, nd == 4 ? src->dims[3] : 1};
    const int64_t fan_in = wdims[1] * wdims[2] * wdims[3];
    const int64_t bdims[1] = {out}, ddims[2] = {src->dims[0], out};
    size_t wp, bp = 0;
    igd_status st = nn_params_claim(g->params, &g->cursor, nd, wdims, 1, init, (int)fan_in, (int)out, &wp, err);
    if (st == IGD_OK && bias)
        st = nn_params_claim(g->params, &g->cursor, 1, bdims, 1, NN_INIT_ZERO, 0, 0, &bp, err);
    if (st != IGD_OK)
        return nn_op_fail(g, &l->base, st);
    dnnl_memory_desc_t wcanon, wany, bmd, dmd;
    nn_plain_md(&wcanon, nd, wdims);
    nn_any_md(&wany, nd, wdims);
    nn_plain_md(&bmd, 1, bdims);
    nn_plain_md(&dmd, 2, ddims);
    dnnl_prop_kind_t prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_inner_product_desc_t d;
    st = nn_check(dnnl_inner_product_forward_desc_init(&d, prop, src, &wany, bias ? &bmd : NULL,
                                                       &dmd),
                  err, "linear descriptor");
    if (st == IGD_OK)
        st = nn_prim_create(g, &l->fwd, &d, NULL, "linear", err);
    if (st == IGD_OK)
        st = nn_weight_create(g, wp, false, &wcanon, nn_prim_md(&l->fwd, dnnl_query_weights_md, 0),
                              &l->w, err);
    if (st == IGD_OK && bias)
        st = nn_weight_create(g, bp, false, &bmd, &bmd, &l->b, err);
    if (st == IGD_OK && g->mode == NN_TRAIN) {
        if (nn_tensor_at(g, x)->needs_diff) {
            st = nn_check(dnnl_inner_product_backward_data_desc_init(&d, src, &wany, &dmd), err,
                          "linear backward-data descriptor");
            /* oneDNN 2.6's AVX-512 brgemm backward-data kernel crashes on some shapes (e.g.
             * 32 -> 2048 outputs with two threads): take the next implementation. */
            if (st == IGD_OK)
                st = nn_prim_create_avoiding(g, &l->bwd_data, &d, l->fwd.pd, "brgemm_bwd_d",
                                             "linear backward data", err);
            if (st == IGD_OK)
                st = nn_weight_create(g, wp, false, &wcanon,
                                      nn_prim_md(&l->bwd_data, dnnl_query_weights_md, 0),
                                      &l->w_bwd, err);
        }
        if (st == IGD_OK)
            st = nn_check(dnnl_inner_product_backward_weights_desc_init(
                              &d, src, &wany, bias ? &bmd : NULL, &dmd),
                          err, "linear backward-weights descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &l->bwd_weights, &d, l->fwd.pd, "linear backward weights",
                                err);
        if (st == IGD_OK)
            st = nn_weight_create(g, wp, true, &wcanon,
                                  nn_prim_md(&l->bwd_weights, dnnl_query_diff_weights_md, 0),
                                  &l->dw, err);
        if (st == IGD_OK && bias)
            st = nn_weight_create(g, bp, true, &bmd, &bmd, &l->db, err);
    }
    if (st != IGD_OK)
        return nn_op_fail(g, &l->base, st);
    return nn_op_commit(g, &l->base, &dmd);
}
