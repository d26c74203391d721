/* Fully connected layer (oneDNN inner product). A 4-D input is used in whatever layout it has;
 * the weights' canonical layout (out x c x h x w) matches flattening in c, h, w order.
 *
 * In inference graphs the layer runs one sample at a time through a batch-1 primitive: oneDNN's
 * inner products sum in an order that depends on the batch size, and a sample's output must not
 * depend on which other samples share its batch (the convolutions already do not), so that a
 * score is the same bits whether an image is scored alone or among others. */
#include "nn/layers.h"

typedef struct linear_op {
    nn_op base;
    nn_prim fwd, bwd_data, bwd_weights;
    nn_weight *w, *w_bwd, *dw, *b, *db;
    bool bias;
    bool per_sample;                  /* inference: one sample per execution */
    dnnl_memory_desc_t src1, dst1;    /* one sample's input and output */
    dnnl_memory_t src1_mem, dst1_mem; /* views moved from sample to sample */
    size_t src_step, dst_step;        /* bytes between samples */
} linear_op;

static igd_status linear_finalize(nn_op *op, nn_graph *g, core_err *err)
{
    linear_op *l = (linear_op *)op;
    if (!l->per_sample)
        return IGD_OK;
    CORE_TRY(nn_check(dnnl_memory_create(&l->src1_mem, &l->src1, g->ctx->engine,
                                         nn_tensor_at(g, op->in[0])->data),
                      err, "memory view"));
    return nn_check(
        dnnl_memory_create(&l->dst1_mem, &l->dst1, g->ctx->engine, nn_tensor_at(g, op->out)->data),
        err, "memory view");
}

static igd_status linear_forward(nn_op *op, nn_graph *g, core_err *err)
{
    linear_op *l = (linear_op *)op;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_WEIGHTS, l->w->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    int n = 3;
    if (l->bias)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, l->b->mem};
    if (!l->per_sample)
        return nn_prim_exec(g, &l->fwd, n, args, err);
    unsigned char *src = (unsigned char *)nn_tensor_at(g, op->in[0])->data;
    unsigned char *dst = (unsigned char *)nn_tensor_at(g, op->out)->data;
    args[0].memory = l->src1_mem;
    args[2].memory = l->dst1_mem;
    for (int64_t i = 0; i < g->batch; i++) {
        CORE_TRY(nn_check(dnnl_memory_set_data_handle(l->src1_mem, src + (size_t)i * l->src_step),
                          err, "memory handle"));
        CORE_TRY(nn_check(dnnl_memory_set_data_handle(l->dst1_mem, dst + (size_t)i * l->dst_step),
                          err, "memory handle"));
        CORE_TRY(nn_prim_exec(g, &l->fwd, n, args, err));
    }
    return IGD_OK;
}

static igd_status linear_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    linear_op *l = (linear_op *)op;
    nn_tensor *x = nn_tensor_at(g, op->in[0]);
    dnnl_memory_t dy = nn_tensor_at(g, op->out)->diff_mem;
    if (params) {
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, x->mem}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, l->dw->mem}};
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
    if (l->src1_mem)
        dnnl_memory_destroy(l->src1_mem);
    if (l->dst1_mem)
        dnnl_memory_destroy(l->dst1_mem);
}

static const nn_op_vt linear_vt = {"linear", linear_finalize, linear_forward, linear_backward,
                                   linear_destroy};

/* True when md's layout interleaves samples (blocks the batch dimension). */
static bool blocks_batch(const dnnl_memory_desc_t *md)
{
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    for (int i = 0; i < b->inner_nblks; i++)
        if (b->inner_idxs[i] == 0)
            return true;
    return false;
}

int nn_linear(nn_graph *g, int x, int64_t out, bool bias, nn_init init)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    /* Running sample by sample needs each sample's values apart from the others'. */
    if (g->mode == NN_INFER && nn_md(g, x)->dims[0] > 1 && blocks_batch(nn_md(g, x)))
        x = nn_plain(g, x);
    if (x < 0)
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
    igd_status st =
        nn_params_claim(g->params, &g->cursor, nd, wdims, 1, init, (int)fan_in, (int)out, &wp, err);
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
    const dnnl_memory_desc_t *fsrc = src, *fdst = &dmd;
    if (g->mode == NN_INFER && src->dims[0] > 1) {
        /* Sample 0 of the input, in its layout (its strides step to the next sample). */
        dnnl_dims_t one, at = {0};
        for (int i = 0; i < nd; i++)
            one[i] = i == 0 ? 1 : src->dims[i];
        const int64_t d1[2] = {1, out};
        st = nn_check(dnnl_memory_desc_init_submemory(&l->src1, src, one, at), err,
                      "sample descriptor");
        nn_plain_md(&l->dst1, 2, d1);
        l->per_sample = st == IGD_OK;
        l->src_step = (size_t)src->format_desc.blocking.strides[0] * sizeof(float);
        l->dst_step = (size_t)out * sizeof(float);
        fsrc = &l->src1;
        fdst = &l->dst1;
    }
    if (st == IGD_OK)
        st = nn_check(
            dnnl_inner_product_forward_desc_init(&d, prop, fsrc, &wany, bias ? &bmd : NULL, fdst),
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
                                      nn_prim_md(&l->bwd_data, dnnl_query_weights_md, 0), &l->w_bwd,
                                      err);
        }
        if (st == IGD_OK)
            st = nn_check(dnnl_inner_product_backward_weights_desc_init(&d, src, &wany,
                                                                        bias ? &bmd : NULL, &dmd),
                          err, "linear backward-weights descriptor");
        if (st == IGD_OK)
            st = nn_prim_create(g, &l->bwd_weights, &d, l->fwd.pd, "linear backward weights", err);
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
