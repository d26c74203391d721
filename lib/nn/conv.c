/* Convolution: k x k, stride 1, "same" padding, optional bias. Forward, backward data and backward
 * weights are separate oneDNN primitives, each choosing its layouts:
 *  - the input is reordered once to the forward's preferred layout if it arrives in another;
 *  - the backward primitives first try the layouts the activations already have; when oneDNN
 *    offers only its reference implementation for those (e.g. plain inputs of few channels),
 *    they take their preferred layouts instead and the operands are reordered for them;
 *  - each primitive reads the weights in the layout it prefers.
 * When the context asks for Winograd's algorithm in the graph's mode, each 3 x 3 primitive is first
 * requested with F(4x4, 3x3) (a quarter of the direct algorithm's multiplications, plus the tile
 * transforms); shapes oneDNN has no Winograd kernel for (few channels, other CPUs) take the
 * direct algorithm. */
#include <string.h>

#include "nn/layers.h"

/* An operand a backward primitive wants in another layout than the graph keeps it in. */
typedef struct moved {
    bool on;
    dnnl_memory_desc_t md;
    float *buf;
    dnnl_memory_t mem;
    nn_prim move;
} moved;

typedef struct conv_op {
    nn_op base;
    nn_prim fwd, bwd_data, bwd_weights;
    nn_weight *w, *w_bwd, *dw, *b, *db;
    bool bias;
    moved bd_ddst, bd_dsrc; /* backward data: gradient in, input gradient out */
    moved bw_src, bw_ddst;  /* backward weights: input and gradient in */
} conv_op;

static igd_status moved_init(nn_graph *g, moved *m, const dnnl_memory_desc_t *want,
                             const dnnl_memory_desc_t *have, bool into_have, core_err *err)
{
    m->on = !dnnl_memory_desc_equal(want, have);
    if (!m->on)
        return IGD_OK;
    m->md = *want;
    dnnl_primitive_desc_t pd;
    const dnnl_memory_desc_t *from = into_have ? want : have, *to = into_have ? have : want;
    CORE_TRY(nn_check(
        dnnl_reorder_primitive_desc_create(&pd, from, g->ctx->engine, to, g->ctx->engine, g->attr),
        err, "reorder descriptor"));
    return nn_prim_adopt(g, &m->move, pd, "convolution operand reorder", err);
}

static igd_status moved_finalize(nn_graph *g, moved *m, core_err *err)
{
    return m->on ? nn_graph_buffer(g, &m->md, &m->buf, &m->mem, err) : IGD_OK;
}

/* Reorders `from` into the moved buffer (or the buffer into `to`). */
static igd_status moved_run(nn_graph *g, moved *m, dnnl_memory_t from, dnnl_memory_t to,
                            core_err *err)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return nn_prim_exec(g, &m->move, 2, args, err);
}

static igd_status conv_finalize(nn_op *op, nn_graph *g, core_err *err)
{
    conv_op *c = (conv_op *)op;
    CORE_TRY(moved_finalize(g, &c->bd_ddst, err));
    CORE_TRY(moved_finalize(g, &c->bd_dsrc, err));
    CORE_TRY(moved_finalize(g, &c->bw_src, err));
    return moved_finalize(g, &c->bw_ddst, err);
}

static igd_status conv_forward(nn_op *op, nn_graph *g, core_err *err)
{
    conv_op *c = (conv_op *)op;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, nn_tensor_at(g, op->in[0])->mem},
                               {DNNL_ARG_WEIGHTS, c->w->mem},
                               {DNNL_ARG_DST, nn_tensor_at(g, op->out)->mem}};
    int n = 3;
    if (c->bias)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, c->b->mem};
    return nn_prim_exec(g, &c->fwd, n, args, err);
}

static igd_status conv_backward(nn_op *op, nn_graph *g, bool params, core_err *err)
{
    conv_op *c = (conv_op *)op;
    nn_tensor *x = nn_tensor_at(g, op->in[0]);
    dnnl_memory_t dy = nn_tensor_at(g, op->out)->diff_mem;
    if (params) {
        dnnl_memory_t src = x->mem, ddst = dy;
        if (c->bw_src.on) {
            CORE_TRY(moved_run(g, &c->bw_src, x->mem, c->bw_src.mem, err));
            src = c->bw_src.mem;
        }
        if (c->bw_ddst.on) {
            CORE_TRY(moved_run(g, &c->bw_ddst, dy, c->bw_ddst.mem, err));
            ddst = c->bw_ddst.mem;
        }
        dnnl_exec_arg_t args[4] = {
            {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, c->dw->mem}};
        int n = 3;
        if (c->bias)
            args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, c->db->mem};
        CORE_TRY(nn_prim_exec(g, &c->bwd_weights, n, args, err));
        CORE_TRY(nn_weight_grad_done(g, c->dw, err));
    }
    if (x->needs_diff) {
        dnnl_memory_t target = nn_diff_target(g, op->in[0]), ddst = dy;
        if (c->bd_ddst.on) {
            CORE_TRY(moved_run(g, &c->bd_ddst, dy, c->bd_ddst.mem, err));
            ddst = c->bd_ddst.mem;
        }
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, ddst},
                                   {DNNL_ARG_WEIGHTS, c->w_bwd->mem},
                                   {DNNL_ARG_DIFF_SRC, c->bd_dsrc.on ? c->bd_dsrc.mem : target}};
        CORE_TRY(nn_prim_exec(g, &c->bwd_data, 3, args, err));
        if (c->bd_dsrc.on)
            CORE_TRY(moved_run(g, &c->bd_dsrc, c->bd_dsrc.mem, target, err));
        nn_diff_done(g, op->in[0]);
    }
    return IGD_OK;
}

static void conv_destroy(nn_op *op)
{
    conv_op *c = (conv_op *)op;
    nn_prim_fini(&c->fwd);
    nn_prim_fini(&c->bwd_data);
    nn_prim_fini(&c->bwd_weights);
    moved *ms[4] = {&c->bd_ddst, &c->bd_dsrc, &c->bw_src, &c->bw_ddst};
    for (int i = 0; i < 4; i++)
        nn_prim_fini(&ms[i]->move);
}

static const nn_op_vt conv_vt = {"convolution", conv_finalize, conv_forward, conv_backward,
                                 conv_destroy};

static bool is_reference(const nn_prim *p)
{
    const char *impl = "";
    dnnl_primitive_desc_query(p->pd, dnnl_query_impl_info_str, 0, &impl);
    return strncmp(impl, "ref", 3) == 0;
}

/* The shape of a convolution for descriptor initialisation. */
typedef struct conv_shape {
    dnnl_memory_desc_t src, sany, wany, bmd, dst, dany;
    dnnl_dims_t strides, pad;
    dnnl_prop_kind_t prop;
    bool bias;
    bool winograd; /* try Winograd's algorithm first */
} conv_shape;

/* Fills a descriptor of the given algorithm; `any` lets the primitive choose the activations'
 * layouts. */
typedef igd_status (*conv_desc_fn)(const conv_shape *s, dnnl_alg_kind_t alg, bool any,
                                   dnnl_convolution_desc_t *d, core_err *err);

/* Creates `p` from `describe`'s descriptor: with Winograd's algorithm when the shape asks for it
 * and oneDNN has a kernel, otherwise with the direct one. */
static igd_status conv_prim(nn_graph *g, nn_prim *p, const conv_shape *s, conv_desc_fn describe,
                            bool any, const_dnnl_primitive_desc_t hint, const char *what,
                            core_err *err)
{
    dnnl_convolution_desc_t d;
    if (s->winograd) {
        dnnl_primitive_desc_t pd;
        CORE_TRY(describe(s, dnnl_convolution_winograd, any, &d, err));
        if (dnnl_primitive_desc_create(&pd, &d, g->attr, g->ctx->engine, hint) == dnnl_success)
            return nn_prim_adopt(g, p, pd, what, err);
    }
    CORE_TRY(describe(s, dnnl_convolution_direct, any, &d, err));
    return nn_prim_create(g, p, &d, hint, what, err);
}

static igd_status describe_forward(const conv_shape *s, dnnl_alg_kind_t alg, bool any,
                                   dnnl_convolution_desc_t *d, core_err *err)
{
    (void)any;
    return nn_check(dnnl_convolution_forward_desc_init(d, s->prop, alg, &s->sany, &s->wany,
                                                       s->bias ? &s->bmd : NULL, &s->dany,
                                                       s->strides, s->pad, s->pad),
                    err, "convolution descriptor");
}

static igd_status describe_bwd_data(const conv_shape *s, dnnl_alg_kind_t alg, bool any,
                                    dnnl_convolution_desc_t *d, core_err *err)
{
    return nn_check(dnnl_convolution_backward_data_desc_init(d, alg, any ? &s->sany : &s->src,
                                                             &s->wany, any ? &s->dany : &s->dst,
                                                             s->strides, s->pad, s->pad),
                    err, "convolution backward-data descriptor");
}

static igd_status describe_bwd_weights(const conv_shape *s, dnnl_alg_kind_t alg, bool any,
                                       dnnl_convolution_desc_t *d, core_err *err)
{
    return nn_check(dnnl_convolution_backward_weights_desc_init(
                        d, alg, any ? &s->sany : &s->src, &s->wany, s->bias ? &s->bmd : NULL,
                        any ? &s->dany : &s->dst, s->strides, s->pad, s->pad),
                    err, "convolution backward-weights descriptor");
}

/* Creates the backward primitive `p` on the layouts the activations already have, or on its
 * preferred ones when oneDNN has only its reference implementation for the former. */
static igd_status make_fast(nn_graph *g, conv_op *c, const conv_shape *s, conv_desc_fn describe,
                            nn_prim *p, const char *what, core_err *err)
{
    CORE_TRY(conv_prim(g, p, s, describe, false, c->fwd.pd, what, err));
    if (!is_reference(p))
        return IGD_OK;
    nn_prim_fini(p);
    g->reference_prims--;
    return conv_prim(g, p, s, describe, true, c->fwd.pd, what, err);
}

static igd_status make_backward(nn_graph *g, conv_op *c, const conv_shape *s, size_t wp, size_t bp,
                                const dnnl_memory_desc_t *wcanon, bool data, core_err *err)
{
    if (data) {
        CORE_TRY(
            make_fast(g, c, s, describe_bwd_data, &c->bwd_data, "convolution backward data", err));
        CORE_TRY(moved_init(g, &c->bd_ddst, nn_prim_md(&c->bwd_data, dnnl_query_diff_dst_md, 0),
                            &s->dst, false, err));
        CORE_TRY(moved_init(g, &c->bd_dsrc, nn_prim_md(&c->bwd_data, dnnl_query_diff_src_md, 0),
                            &s->src, true, err));
        CORE_TRY(nn_weight_create(g, wp, false, wcanon,
                                  nn_prim_md(&c->bwd_data, dnnl_query_weights_md, 0), &c->w_bwd,
                                  err));
    }
    CORE_TRY(make_fast(g, c, s, describe_bwd_weights, &c->bwd_weights,
                       "convolution backward weights", err));
    CORE_TRY(moved_init(g, &c->bw_src, nn_prim_md(&c->bwd_weights, dnnl_query_src_md, 0), &s->src,
                        false, err));
    CORE_TRY(moved_init(g, &c->bw_ddst, nn_prim_md(&c->bwd_weights, dnnl_query_diff_dst_md, 0),
                        &s->dst, false, err));
    CORE_TRY(nn_weight_create(g, wp, true, wcanon,
                              nn_prim_md(&c->bwd_weights, dnnl_query_diff_weights_md, 0), &c->dw,
                              err));
    if (c->bias)
        CORE_TRY(nn_weight_create(g, bp, true, &s->bmd, &s->bmd, &c->db, err));
    return IGD_OK;
}

int nn_conv(nn_graph *g, int x, int64_t cout, int k, bool bias, nn_init init)
{
    if (x < 0 || !nn_graph_ok(g))
        return -1;
    conv_op *c = nn_op_new(g, sizeof *c, &conv_vt);
    if (!c)
        return -1;
    c->base.nin = 1;
    c->base.has_params = true;
    c->bias = bias;
    core_err *err = &g->err;
    const dnnl_memory_desc_t *in = nn_md(g, x);
    const int64_t n = in->dims[0], cin = in->dims[1], h = in->dims[2], w = in->dims[3];
    const int64_t wdims[4] = {cout, cin, k, k}, bdims[1] = {cout}, ddims[4] = {n, cout, h, w};
    const int64_t sdims[4] = {n, cin, h, w};
    size_t wp, bp = 0;
    igd_status st = nn_params_claim(g->params, &g->cursor, 4, wdims, 1, init, (int)(cin * k * k),
                                    (int)(cout * k * k), &wp, err);
    if (st == IGD_OK && bias)
        st = nn_params_claim(g->params, &g->cursor, 1, bdims, 1, NN_INIT_ZERO, 0, 0, &bp, err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);

    conv_shape s = {.strides = {1, 1},
                    .pad = {k / 2, k / 2},
                    .prop = g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference,
                    .bias = bias,
                    .winograd =
                        k == 3 && (g->mode == NN_TRAIN ? g->ctx->wino_train : g->ctx->wino_infer)};
    dnnl_memory_desc_t wcanon;
    nn_plain_md(&wcanon, 4, wdims);
    nn_any_md(&s.wany, 4, wdims);
    nn_plain_md(&s.bmd, 1, bdims);
    nn_any_md(&s.dany, 4, ddims);
    nn_any_md(&s.sany, 4, sdims);
    st = conv_prim(g, &c->fwd, &s, describe_forward, true, NULL, "convolution", err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);
    x = nn_reorder(g, x, nn_prim_md(&c->fwd, dnnl_query_src_md, 0));
    if (x < 0)
        return nn_op_fail(g, &c->base, g->status);
    c->base.in[0] = x;
    s.src = *nn_md(g, x);
    s.dst = *nn_prim_md(&c->fwd, dnnl_query_dst_md, 0);
    st = nn_weight_create(g, wp, false, &wcanon, nn_prim_md(&c->fwd, dnnl_query_weights_md, 0),
                          &c->w, err);
    if (st == IGD_OK && bias)
        st = nn_weight_create(g, bp, false, &s.bmd, &s.bmd, &c->b, err);
    if (st == IGD_OK && g->mode == NN_TRAIN)
        st = make_backward(g, c, &s, wp, bp, &wcanon, nn_tensor_at(g, x)->needs_diff, err);
    if (st != IGD_OK)
        return nn_op_fail(g, &c->base, st);
    return nn_op_commit(g, &c->base, &s.dst);
}
