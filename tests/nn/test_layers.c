/* Every layer of the engine: forward against a naive reference written here, and backward
 * (inputs and parameters) against central finite differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "nn_harness.h"
#include "plan_check.h"
#include "testutil.h"

typedef struct conv_arg {
    int64_t cout;
    int k;
    bool bias;
} conv_arg;

static int make_conv(nn_graph *g, int x, const void *arg)
{
    const conv_arg *a = arg;
    return nn_conv(g, x, a->cout, a->k, a->bias, NN_INIT_HE_UNIFORM);
}

/* A non-zero bias so that the reference sees it. */
static void randomize_params(harness *t, uint64_t seed)
{
    tu_fill_uniform(t->params.value, t->params.total, -0.5f, 0.5f, &seed);
    for (size_t k = 0; k < t->params.count; k++) {
        const nn_param *q = &t->params.items[k];
        if (!q->trainable) /* running variances must stay positive */
            for (size_t i = 0; i < q->count; i++)
                t->params.value[q->offset + i] = 0.5f + fabsf(t->params.value[q->offset + i]);
    }
    nn_params_touch(&t->params);
}

static void check_close(const float *a, const double *ref, size_t n, double tol, const char *what)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - ref[i]) / fmax(1.0, fabs(ref[i]));
        if (e > worst)
            worst = e;
    }
    ck_assert_msg(worst < tol, "%s forward differs from the reference by %g", what, worst);
}

/* Direct convolution in double precision ("same" padding, stride 1): n x co x h x w. */
static double *conv_reference(const float *x, const float *wt, const float *b, int64_t n,
                              int64_t cin, int64_t h, int64_t w, int64_t co, int k)
{
    double *ref = calloc((size_t)(n * co * h * w), sizeof *ref);
    int p = k / 2;
    for (int64_t in = 0; in < n; in++)
        for (int64_t o = 0; o < co; o++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t xx = 0; xx < w; xx++) {
                    double s = b ? b[o] : 0;
                    for (int64_t c = 0; c < cin; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int64_t sy = y + ky - p, sx = xx + kx - p;
                                if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                                    continue;
                                s += (double)wt[((o * cin + c) * k + ky) * k + kx] *
                                     x[((in * cin + c) * h + sy) * w + sx];
                            }
                    ref[((in * co + o) * h + y) * w + xx] = s;
                }
    return ref;
}

START_TEST(conv_forward_matches_reference)
{
    static const struct {
        int64_t n, cin, h, w, cout;
        int k;
        bool bias;
    } cases[] = {{2, 3, 7, 6, 8, 3, true},
                 {3, 8, 5, 5, 16, 3, false},
                 {2, 5, 4, 6, 3, 1, true},
                 {1, 16, 8, 8, 8, 3, true}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int64_t n = cases[ci].n, cin = cases[ci].cin, h = cases[ci].h, w = cases[ci].w;
        int64_t co = cases[ci].cout;
        int k = cases[ci].k;
        for (int mode = 0; mode < 2; mode++) {
            conv_arg a = {co, k, cases[ci].bias};
            harness t;
            harness_init(&t, (nn_mode)mode, n, cin, h, w, make_conv, &a, 1);
            randomize_params(&t, 5);
            harness_fill_input(&t, -1, 1, 0, 7);
            harness_forward(&t);
            const float *x = nn_data(t.g, t.x), *wt = t.params.value;
            const float *b = cases[ci].bias ? t.params.value + t.params.items[1].offset : NULL;
            double *ref = conv_reference(x, wt, b, n, cin, h, w, co, k);
            check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-4, "convolution");
            free(ref);
            harness_fini(&t);
        }
    }
}
END_TEST

START_TEST(conv_gradients)
{
    conv_arg a3 = {5, 3, true}, a1 = {4, 1, false};
    harness t;
    harness_init(&t, NN_TRAIN, 2, 3, 5, 4, make_conv, &a3, 3);
    randomize_params(&t, 11);
    harness_fill_input(&t, -1, 1, 0, 2);
    ck_assert_double_lt(harness_grad_check(&t, "conv 3x3 + bias", 1e-2), 1e-2);
    harness_fini(&t);
    harness_init(&t, NN_TRAIN, 3, 9, 4, 4, make_conv, &a1, 3);
    harness_fill_input(&t, -1, 1, 0, 2);
    ck_assert_double_lt(harness_grad_check(&t, "conv 1x1", 1e-2), 1e-2);
    harness_fini(&t);
    /* Wide enough for blocked layouts (nChw8c) on both sides. */
    conv_arg a16 = {16, 3, false};
    harness_init(&t, NN_TRAIN, 2, 16, 4, 4, make_conv, &a16, 3);
    harness_fill_input(&t, -1, 1, 0, 2);
    ck_assert_double_lt(harness_grad_check(&t, "conv 3x3 16->16", 1e-2), 1e-2);
    harness_fini(&t);
}
END_TEST

/* Winograd's algorithm, where oneDNN has a kernel for it (AVX-512 CPUs, channels a multiple of
 * 16): forward in both modes against the reference, backward against finite differences. */
START_TEST(conv_winograd)
{
    const bool kernel =
        (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
    const int64_t n = 2, cin = 16, h = 9, w = 7, co = 32;
    for (int mode = 0; mode < 2; mode++) {
        for (int bias = 0; bias < 2; bias++) {
            conv_arg a = {co, 3, bias};
            harness t;
            harness_init_winograd(&t, (nn_mode)mode, n, cin, h, w, make_conv, &a, 1);
            size_t convs = mode == NN_TRAIN ? 3 : 1; /* forward, backward data and weights */
            ck_assert_msg(t.g->winograd_prims == (kernel ? convs : 0),
                          "%zu Winograd primitives, expected %zu", t.g->winograd_prims,
                          kernel ? convs : 0);
            randomize_params(&t, 5);
            harness_fill_input(&t, -1, 1, 0, 7);
            harness_forward(&t);
            const float *b = bias ? t.params.value + t.params.items[1].offset : NULL;
            double *ref = conv_reference(nn_data(t.g, t.x), t.params.value, b, n, cin, h, w, co, 3);
            check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-4, "Winograd convolution");
            free(ref);
            harness_fini(&t);
        }
    }
    conv_arg a = {16, 3, true};
    harness t;
    harness_init_winograd(&t, NN_TRAIN, 2, 16, 6, 5, make_conv, &a, 3);
    harness_fill_input(&t, -1, 1, 0, 2);
    /* The output is linear in every input and weight, so central differences are exact at any
     * step; a large one keeps the rounding of Winograd's tile transforms out of the quotient. */
    ck_assert_double_lt(harness_grad_check(&t, "conv 3x3 16->16, Winograd", 0.25), 1e-2);
    harness_fini(&t);
}
END_TEST

START_TEST(graphs_share_the_context_scratchpad)
{
    conv_arg a = {32, 3, true};
    harness t;
    harness_init_winograd(&t, NN_TRAIN, 2, 16, 9, 7, make_conv, &a, 1);
    harness_fill_input(&t, -1, 1, 0, 7);
    harness_forward(&t);
    float *before = malloc(t.ycount * sizeof *before);
    memcpy(before, nn_data(t.g, t.y), t.ycount * sizeof *before);
    ck_assert_uint_eq(t.ctx.scratch_size, t.g->scratch_size);
    void *first = t.ctx.scratch;

    /* A second graph on the same context needing more scratch (more of Winograd's tiles, where
     * the CPU has its kernels) grows the shared buffer. */
    core_err err = {0};
    nn_params params;
    nn_params_init(&params);
    nn_graph *g;
    ck_assert_int_eq(nn_graph_create(&t.ctx, &params, NN_TRAIN, 8, &g, &err), IGD_OK);
    int y = nn_plain(g, nn_conv(g, nn_input(g, 64, 32, 32, true), 64, 3, true, NN_INIT_HE_UNIFORM));
    ck_assert_int_ge(y, 0);
    ck_assert_int_eq(nn_params_commit(&params, 2, &err), IGD_OK);
    ck_assert_int_eq(nn_graph_finalize(g, &err), IGD_OK);
    const size_t most = g->scratch_size > t.g->scratch_size ? g->scratch_size : t.g->scratch_size;
    ck_assert_uint_eq(t.ctx.scratch_size, most);
    ck_assert_int_eq(nn_graph_forward(g, &err), IGD_OK);
    if (g->scratch_size > t.g->scratch_size)
        ck_assert_ptr_ne(t.ctx.scratch, first);

    /* The first graph's primitives follow the buffer: same output, gradients still right (the
     * output is linear in inputs and weights: a large step is exact and avoids rounding). */
    harness_forward(&t);
    ck_assert_mem_eq(nn_data(t.g, t.y), before, t.ycount * sizeof *before);
    ck_assert_double_lt(harness_grad_check(&t, "conv after the scratchpad grew", 0.25), 1e-2);
    nn_graph_free(g);
    nn_params_fini(&params);
    free(before);
    harness_fini(&t);
}
END_TEST

typedef struct bn_arg {
    bool relu, frozen;
} bn_arg;

static int make_bn(nn_graph *g, int x, const void *arg)
{
    const bn_arg *a = arg;
    /* A convolution first, so the normalisation sees a blocked layout as in the networks. */
    return nn_bn(g, nn_conv(g, x, 8, 1, false, NN_INIT_XAVIER_UNIFORM), a->relu, a->frozen);
}

static int make_bn_plain(nn_graph *g, int x, const void *arg)
{
    const bn_arg *a = arg;
    return nn_bn(g, x, a->relu, a->frozen);
}

START_TEST(bn_forward_matches_reference)
{
    const int64_t n = 4, c = 3, h = 5, w = 3;
    for (int variant = 0; variant < 4; variant++) {
        bn_arg a = {variant & 1, variant >> 1};
        for (int mode = 0; mode < 2; mode++) {
            harness t;
            harness_init(&t, (nn_mode)mode, n, c, h, w, make_bn_plain, &a, 1);
            randomize_params(&t, 3);
            harness_fill_input(&t, -2, 3, 0, 9);
            const float *gamma = t.params.value + t.params.items[0].offset;
            const float *beta = t.params.value + t.params.items[1].offset;
            float rm[3], rv[3];
            memcpy(rm, t.params.value + t.params.items[2].offset, sizeof rm);
            memcpy(rv, t.params.value + t.params.items[3].offset, sizeof rv);
            harness_forward(&t);
            const float *x = nn_data(t.g, t.x);
            double ref[4 * 3 * 5 * 3];
            bool batch = mode == NN_TRAIN && !a.frozen;
            for (int64_t ch = 0; ch < c; ch++) {
                double mean = 0, var = 0, m = (double)(n * h * w);
                for (int64_t i = 0; i < n; i++)
                    for (int64_t k = 0; k < h * w; k++)
                        mean += x[(i * c + ch) * h * w + k];
                mean /= m;
                for (int64_t i = 0; i < n; i++)
                    for (int64_t k = 0; k < h * w; k++) {
                        double d = x[(i * c + ch) * h * w + k] - mean;
                        var += d * d;
                    }
                var /= m;
                if (!batch) {
                    mean = rm[ch];
                    var = rv[ch];
                }
                for (int64_t i = 0; i < n; i++)
                    for (int64_t k = 0; k < h * w; k++) {
                        size_t at = (size_t)((i * c + ch) * h * w + k);
                        double v = (x[at] - mean) / sqrt(var + 1e-5) * gamma[ch] + beta[ch];
                        ref[at] = a.relu && v < 0 ? 0 : v;
                    }
                if (batch) {
                    /* Running averages: momentum 0.1, unbiased variance. */
                    const float *nrm = t.params.value + t.params.items[2].offset;
                    const float *nrv = t.params.value + t.params.items[3].offset;
                    ck_assert_double_eq_tol(nrm[ch], 0.9 * rm[ch] + 0.1 * mean, 1e-5);
                    ck_assert_double_eq_tol(nrv[ch], 0.9 * rv[ch] + 0.1 * var * m / (m - 1), 1e-5);
                }
            }
            check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-4, "batch normalisation");
            harness_fini(&t);
        }
    }
}
END_TEST

START_TEST(bn_gradients)
{
    for (int variant = 0; variant < 4; variant++) {
        bn_arg a = {variant & 1, variant >> 1};
        harness t;
        harness_init(&t, NN_TRAIN, 4, 3, 3, 3, make_bn, &a, 5);
        randomize_params(&t, 8);
        harness_fill_input(&t, -1, 1, 0, 4);
        char name[64];
        snprintf(name, sizeof name, "bn relu=%d frozen=%d", a.relu, a.frozen);
        /* With a fused ReLU, outputs near its kink make central differences inexact: a small
         * step and a looser bound there (the plain variants bound the arithmetic tightly). */
        ck_assert_double_lt(harness_grad_check(&t, name, a.relu ? 3e-4 : 1e-2),
                            a.relu ? 6e-2 : 1e-2);
        harness_fini(&t);
    }
}
END_TEST

static int make_ln(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    return nn_ln(g, nn_conv(g, x, 8, 1, false, NN_INIT_XAVIER_UNIFORM));
}

static int make_ln_plain(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    return nn_ln(g, x);
}

START_TEST(ln_forward_and_gradients)
{
    const int64_t n = 3, c = 2, h = 3, w = 4, d = c * h * w;
    harness t;
    harness_init(&t, NN_TRAIN, n, c, h, w, make_ln_plain, NULL, 1);
    randomize_params(&t, 4);
    harness_fill_input(&t, -2, 2, 0, 6);
    harness_forward(&t);
    const float *x = nn_data(t.g, t.x), *gamma = t.params.value,
                *beta = t.params.value + t.params.items[1].offset;
    double ref[3 * 24];
    for (int64_t i = 0; i < n; i++) {
        double mean = 0, var = 0;
        for (int64_t k = 0; k < d; k++)
            mean += x[i * d + k];
        mean /= (double)d;
        for (int64_t k = 0; k < d; k++)
            var += (x[i * d + k] - mean) * (x[i * d + k] - mean);
        var /= (double)d;
        for (int64_t k = 0; k < d; k++)
            ref[i * d + k] = (x[i * d + k] - mean) / sqrt(var + 1e-5) * gamma[k] + beta[k];
    }
    check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-4, "layer normalisation");
    ck_assert_double_lt(harness_grad_check(&t, "layer norm (plain)", 1e-2), 1e-2);
    harness_fini(&t);
    harness_init(&t, NN_TRAIN, 2, 3, 4, 4, make_ln, NULL, 2);
    randomize_params(&t, 5);
    harness_fill_input(&t, -1, 1, 0, 6);
    ck_assert_double_lt(harness_grad_check(&t, "layer norm (blocked)", 1e-2), 1e-2);
    harness_fini(&t);
}
END_TEST

static int make_act(nn_graph *g, int x, const void *arg)
{
    return nn_act_layer(g, x, *(const nn_act *)arg);
}

START_TEST(activations)
{
    const nn_act acts[3] = {NN_RELU, NN_SIGMOID, NN_TANH};
    const char *names[3] = {"relu", "sigmoid", "tanh"};
    for (int i = 0; i < 3; i++) {
        harness t;
        harness_init(&t, NN_TRAIN, 2, 3, 4, 5, make_act, &acts[i], 1);
        harness_fill_input(&t, -3, 3, 0.05f, 3);
        harness_forward(&t);
        const float *x = nn_data(t.g, t.x);
        double *ref = malloc(t.ycount * sizeof *ref);
        for (size_t k = 0; k < t.ycount; k++)
            ref[k] = i == 0 ? fmax(0, x[k]) : i == 1 ? 1 / (1 + exp(-x[k])) : tanh(x[k]);
        check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-5, names[i]);
        free(ref);
        ck_assert_double_lt(harness_grad_check(&t, names[i], 1e-3), 1e-2);
        harness_fini(&t);
    }
}
END_TEST

static int make_pool(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    return nn_pool2(g, nn_conv(g, x, 8, 1, false, NN_INIT_XAVIER_UNIFORM));
}

static int make_pool_plain(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    return nn_pool2(g, x);
}

static int make_up(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    return nn_up2(g, nn_conv(g, x, 8, 1, false, NN_INIT_XAVIER_UNIFORM));
}

static int make_up_plain(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    return nn_up2(g, x);
}

START_TEST(pool_and_upsample)
{
    const int64_t n = 2, c = 3, h = 4, w = 6;
    harness t;
    harness_init(&t, NN_TRAIN, n, c, h, w, make_pool_plain, NULL, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    harness_forward(&t);
    const float *x = nn_data(t.g, t.x);
    double ref[2 * 3 * 2 * 3];
    for (int64_t i = 0; i < n * c; i++)
        for (int64_t y = 0; y < h / 2; y++)
            for (int64_t xx = 0; xx < w / 2; xx++) {
                const float *p = x + i * h * w + 2 * y * w + 2 * xx;
                ref[(i * (h / 2) + y) * (w / 2) + xx] = (p[0] + p[1] + p[w] + p[w + 1]) / 4.0;
            }
    check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-6, "mean pooling");
    ck_assert_double_lt(harness_grad_check(&t, "mean pooling", 1e-2), 1e-2);
    harness_fini(&t);

    harness_init(&t, NN_TRAIN, n, c, h, w, make_up_plain, NULL, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    harness_forward(&t);
    x = nn_data(t.g, t.x);
    double *up = malloc(t.ycount * sizeof *up);
    for (int64_t i = 0; i < n * c; i++)
        for (int64_t y = 0; y < 2 * h; y++)
            for (int64_t xx = 0; xx < 2 * w; xx++)
                up[(i * 2 * h + y) * 2 * w + xx] = x[i * h * w + (y / 2) * w + xx / 2];
    check_close(nn_data(t.g, t.y), up, t.ycount, 1e-6, "upsampling");
    free(up);
    ck_assert_double_lt(harness_grad_check(&t, "upsampling", 1e-2), 1e-2);
    harness_fini(&t);

    harness_init(&t, NN_TRAIN, n, c, h, w, make_pool, NULL, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    ck_assert_double_lt(harness_grad_check(&t, "conv + pooling (blocked)", 1e-2), 1e-2);
    harness_fini(&t);
    harness_init(&t, NN_TRAIN, n, c, h, w, make_up, NULL, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    ck_assert_double_lt(harness_grad_check(&t, "conv + upsampling (blocked)", 1e-2), 1e-2);
    harness_fini(&t);
}
END_TEST

/* A residual block in miniature: the input feeds two branches whose sum is the output, so the
 * input's gradient is the sum of two paths (the accumulation logic) and the add's backward runs. */
static int make_residual(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    int a = nn_conv(g, x, 8, 3, false, NN_INIT_HE_UNIFORM);
    int b = nn_conv(g, nn_pool2(g, nn_up2(g, x)), 8, 1, true, NN_INIT_XAVIER_UNIFORM);
    return nn_add(g, a, b);
}

START_TEST(add_and_gradient_accumulation)
{
    harness t;
    harness_init(&t, NN_TRAIN, 2, 4, 4, 4, make_residual, NULL, 2);
    randomize_params(&t, 1);
    harness_fill_input(&t, -1, 1, 0, 5);
    harness_forward(&t);
    ck_assert_double_lt(harness_grad_check(&t, "residual sum", 1e-2), 1e-2);
    harness_fini(&t);
}
END_TEST

/* A chain long enough for gradients to share memory: two residual blocks, pooling, a linear
 * layer and a reshape back to an image (the output), with a skip over the whole chain. */
static int make_chain(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    int a = nn_conv(g, x, 16, 3, false, NN_INIT_HE_UNIFORM);
    for (int b = 0; b < 2; b++) {
        int h = nn_conv(g, nn_bn(g, a, false, false), 16, 3, false, NN_INIT_HE_UNIFORM);
        a = nn_add(g, a, nn_act_layer(g, h, NN_TANH));
    }
    int z = nn_linear(g, nn_pool2(g, a), 64, true, NN_INIT_XAVIER_UNIFORM);
    int img = nn_reshape(g, z, 4, 4, 4);
    return nn_add(g, nn_blocked(g, img),
                  nn_conv(g, nn_pool2(g, x), 4, 1, true, NN_INIT_XAVIER_UNIFORM));
}

/* Two forward passes over the same input give the same output (the input survives a pass). */
static void check_passes_agree(harness *t)
{
    harness_forward(t);
    float *once = malloc(t->ycount * sizeof *once);
    memcpy(once, nn_data(t->g, t->y), t->ycount * sizeof *once);
    harness_forward(t);
    ck_assert_mem_eq(nn_data(t->g, t->y), once, t->ycount * sizeof *once);
    free(once);
}

START_TEST(gradients_share_memory_by_liveness)
{
    harness t;
    harness_init(&t, NN_TRAIN, 2, 4, 8, 8, make_chain, NULL, 4);
    harness_fill_input(&t, -1, 1, 0.05f, 6);
    nn_graph *g = t.g;
    /* No two buffers live at the same op share memory, and sharing saves at least half. */
    size_t separate;
    ck_assert_uint_eq(plan_conflicts(g, &separate), 0);
    ck_assert_msg(g->arena_bytes < separate / 2, "planned %zu bytes of %zu", g->arena_bytes,
                  separate);
    /* The input's gradient outlives backward, the output's precedes it. */
    ck_assert_int_eq(g->tensors[t.x].live_first, -1);
    ck_assert_int_eq(g->tensors[t.y].live_last, (int)g->nops);
    /* Through eleven layers in single precision the differences carry rounding of a few 1e-4:
     * a gradient overwritten while live would be off by far more. */
    harness_forward(&t);
    ck_assert_double_lt(harness_grad_check(&t, "chain with shared gradients", 1e-2), 5e-2);
    /* Backward from a tensor that other ops read is refused: its gradient may share memory. */
    core_err err = {0};
    int inner[1] = {t.x + 1};
    ck_assert_int_eq(nn_graph_backward(g, inner, 1, true, &err), IGD_ERR_INTERNAL);
    harness_fini(&t);

    /* In inference the activations share memory; the input survives a pass, so a second pass
     * over it gives the same output. */
    harness_init(&t, NN_INFER, 2, 4, 8, 8, make_chain, NULL, 4);
    harness_fill_input(&t, -1, 1, 0.05f, 6);
    ck_assert_uint_eq(plan_conflicts(t.g, &separate), 0);
    ck_assert_msg(t.g->arena_bytes < separate / 2, "planned %zu bytes of %zu", t.g->arena_bytes,
                  separate);
    check_passes_agree(&t);
    harness_fini(&t);
}
END_TEST

/* A graph input viewed as an image first: (n, 64) reshaped to (n, 4, 4, 4), two convolutions. */
static int make_reshaped_input(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    int v = nn_reshape(g, x, 4, 4, 4);
    return nn_conv(g, nn_conv(g, v, 8, 3, true, NN_INIT_HE_UNIFORM), 4, 3, false,
                   NN_INIT_HE_UNIFORM);
}

START_TEST(reshaped_inputs_stay_live)
{
    /* Inference keeps an input even when its first reader is a view: a second pass over it gives
     * the same output. */
    harness t;
    harness_init(&t, NN_INFER, 2, 64, 1, 1, make_reshaped_input, NULL, 3);
    harness_fill_input(&t, -1, 1, 0, 4);
    ck_assert_uint_eq(plan_conflicts(t.g, NULL), 0);
    ck_assert_int_eq(t.g->tensors[t.x].live_first, -1);
    ck_assert_int_eq(t.g->tensors[t.x].live_last, (int)t.g->nops);
    check_passes_agree(&t);
    harness_fini(&t);

    /* In training, the gradient of an input read through a view lives until after backward:
     * with a second input whose gradient is written earlier in backward, neither overwrites the
     * other (the output is linear in both, so differences are exact at a large step). */
    core_err err = {0};
    nn_ctx ctx;
    nn_params params;
    nn_graph *g;
    ck_assert_int_eq(nn_ctx_init(&ctx, &err), IGD_OK);
    nn_params_init(&params);
    ck_assert_int_eq(nn_graph_create(&ctx, &params, NN_TRAIN, 2, &g, &err), IGD_OK);
    int a = nn_input(g, 4, 4, 4, true), b = nn_input(g, 64, 1, 1, true);
    int ya =
        nn_conv(g, nn_conv(g, a, 4, 3, false, NN_INIT_HE_UNIFORM), 4, 3, false, NN_INIT_HE_UNIFORM);
    int y = nn_plain(g, nn_add(g, ya, make_reshaped_input(g, b, NULL)));
    ck_assert_int_ge(y, 0);
    ck_assert_int_eq(nn_params_commit(&params, 5, &err), IGD_OK);
    ck_assert_int_eq(nn_graph_finalize(g, &err), IGD_OK);
    ck_assert_uint_eq(plan_conflicts(g, NULL), 0);
    ck_assert_int_eq(g->tensors[b].live_first, -1);
    uint64_t seed = 8;
    tu_fill_uniform(nn_data(g, a), 2 * 64, -1, 1, &seed);
    tu_fill_uniform(nn_data(g, b), 2 * 64, -1, 1, &seed);
    ck_assert_int_eq(nn_graph_forward(g, &err), IGD_OK);
    const size_t ny = 2 * 4 * 4 * 4;
    float *r = malloc(ny * sizeof *r);
    tu_fill_uniform(r, ny, -1, 1, &seed);
    memcpy(nn_diff(g, y), r, ny * sizeof *r);
    int outs[1] = {y};
    ck_assert_int_eq(nn_graph_backward(g, outs, 1, false, &err), IGD_OK);
    const int ins[2] = {a, b};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < 2 * 64; i++) {
            float *v = nn_data(g, ins[k]), keep = v[i];
            double l[2];
            for (int side = 0; side < 2; side++) {
                v[i] = keep + (side ? -0.5f : 0.5f);
                ck_assert_int_eq(nn_graph_forward(g, &err), IGD_OK);
                l[side] = 0;
                for (size_t j = 0; j < ny; j++)
                    l[side] += (double)nn_data(g, y)[j] * r[j];
            }
            v[i] = keep;
            ck_assert_double_eq_tol(nn_diff(g, ins[k])[i], l[0] - l[1], 1e-3);
        }
    free(r);
    nn_graph_free(g);
    nn_params_fini(&params);
    nn_ctx_fini(&ctx);
}
END_TEST

typedef struct linear_arg {
    int64_t out;
    bool bias, conv_first;
} linear_arg;

static int make_linear(nn_graph *g, int x, const void *arg)
{
    const linear_arg *a = arg;
    if (a->conv_first)
        x = nn_conv(g, x, 8, 1, false, NN_INIT_XAVIER_UNIFORM);
    return nn_linear(g, x, a->out, a->bias, NN_INIT_XAVIER_UNIFORM);
}

/* x (n x d, plain) times the out x d weights plus the bias, in double precision: n x out. */
static void linear_reference(const float *x, const float *wt, const float *b, int64_t n, int64_t d,
                             int64_t out, double *ref)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < out; o++) {
            double s = b[o];
            for (int64_t k = 0; k < d; k++)
                s += (double)wt[o * d + k] * x[i * d + k];
            ref[i * out + o] = s;
        }
}

START_TEST(linear_forward_and_gradients)
{
    /* A 4-D plain input: flattened in c, h, w order against oihw weights. */
    linear_arg a = {5, true, false};
    const int64_t n = 3, c = 2, h = 3, w = 2, d = c * h * w;
    harness t;
    harness_init(&t, NN_TRAIN, n, c, h, w, make_linear, &a, 1);
    randomize_params(&t, 2);
    harness_fill_input(&t, -1, 1, 0, 3);
    harness_forward(&t);
    const float *x = nn_data(t.g, t.x), *wt = t.params.value,
                *b = t.params.value + t.params.items[1].offset;
    double ref[3 * 5];
    linear_reference(x, wt, b, n, d, a.out, ref);
    check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-5, "linear");
    ck_assert_double_lt(harness_grad_check(&t, "linear 4-D", 1e-2), 1e-2);
    harness_fini(&t);
    linear_arg m = {4, false, false};
    harness_init(&t, NN_TRAIN, 4, 7, 1, 1, make_linear, &m, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    ck_assert_double_lt(harness_grad_check(&t, "linear 2-D", 1e-2), 1e-2);
    harness_fini(&t);
    linear_arg bl = {3, true, true};
    harness_init(&t, NN_TRAIN, 2, 3, 4, 4, make_linear, &bl, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    ck_assert_double_lt(harness_grad_check(&t, "linear on blocked 4-D", 1e-2), 1e-2);
    harness_fini(&t);
}
END_TEST

/* Inference runs the layer one sample at a time; an input whose layout interleaves the samples
 * (blocked over the batch) must still give each sample its own output. */
static int make_linear_batch_blocked(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    dnnl_memory_desc_t md;
    const dnnl_dims_t dims = {16, 16, 2, 2};
    if (dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_ABcd16a16b) != dnnl_success)
        return -1;
    return nn_linear(g, nn_reorder(g, x, &md), 3, true, NN_INIT_XAVIER_UNIFORM);
}

START_TEST(linear_inference_on_batch_blocked_input)
{
    const int64_t n = 16, d = 16 * 2 * 2, out = 3;
    harness t;
    harness_init(&t, NN_INFER, n, 16, 2, 2, make_linear_batch_blocked, NULL, 1);
    randomize_params(&t, 5);
    harness_fill_input(&t, -1, 1, 0, 7);
    harness_forward(&t);
    const float *x = nn_data(t.g, t.x), *wt = t.params.value,
                *b = t.params.value + t.params.items[1].offset;
    double ref[16 * 3];
    linear_reference(x, wt, b, n, d, out, ref);
    check_close(nn_data(t.g, t.y), ref, t.ycount, 1e-5, "linear on a batch-blocked input");
    harness_fini(&t);
}
END_TEST

/* A shape on which oneDNN 2.6's AVX-512 brgemm backward-data kernel crashes with two threads:
 * the layer must avoid that kernel and still compute dx = W^T dy. */
START_TEST(linear_backward_on_a_defective_shape)
{
    nn_threads_enter(2);
    linear_arg a = {2048, true, false};
    harness t;
    harness_init(&t, NN_TRAIN, 8, 32, 1, 1, make_linear, &a, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    harness_forward(&t);
    float *dy = nn_diff(t.g, t.y);
    uint64_t seed = 4;
    tu_fill_uniform(dy, t.ycount, -1, 1, &seed);
    core_err err = {0};
    ck_assert_int_eq(nn_graph_backward(t.g, &t.y, 1, true, &err), IGD_OK);
    const float *w = t.params.value, *dx = nn_diff(t.g, t.x);
    double worst = 0;
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 32; k++) {
            double s = 0;
            for (int o = 0; o < 2048; o++)
                s += (double)w[o * 32 + k] * dy[i * 2048 + o];
            worst = fmax(worst, fabs(s - dx[i * 32 + k]) / fmax(1.0, fabs(s)));
        }
    ck_assert_double_lt(worst, 1e-4);
    harness_fini(&t);
    nn_threads_leave();
}
END_TEST

static int make_reshape(nn_graph *g, int x, const void *arg)
{
    (void)arg;
    int v = nn_linear(g, x, 2 * 2 * 3, true, NN_INIT_XAVIER_UNIFORM);
    return nn_conv(g, nn_reshape(g, v, 3, 2, 2), 4, 3, false, NN_INIT_HE_UNIFORM);
}

START_TEST(reshape_gradients)
{
    harness t;
    harness_init(&t, NN_TRAIN, 3, 5, 1, 1, make_reshape, NULL, 1);
    harness_fill_input(&t, -1, 1, 0, 3);
    ck_assert_double_lt(harness_grad_check(&t, "linear -> reshape -> conv", 1e-2), 1e-2);
    harness_fini(&t);
}
END_TEST

START_TEST(adam_matches_hand_computation)
{
    nn_params p;
    nn_params_init(&p);
    core_err err = {0};
    size_t idx, cursor = 0;
    int64_t dims[1] = {3};
    ck_assert_int_eq(nn_params_claim(&p, &cursor, 1, dims, 1, NN_INIT_ZERO, 0, 0, &idx, &err),
                     IGD_OK);
    ck_assert_int_eq(nn_params_commit(&p, 1, &err), IGD_OK);
    float *w = nn_param_value(&p, idx), *g = nn_param_grad(&p, idx);
    w[0] = 1.0f, w[1] = -2.0f, w[2] = 0.5f;
    nn_adam opt = {0.1, 0.9, 0.999, 1e-8, 0.01};
    const float g1[3] = {0.5f, -1.0f, 0.0f}, g2[3] = {-0.25f, 2.0f, 1.0f};
    double m[3] = {0}, v[3] = {0}, ref[3] = {1.0, -2.0, 0.5};
    for (int step = 1; step <= 2; step++) {
        for (int i = 0; i < 3; i++)
            g[i] = step == 1 ? g1[i] : g2[i];
        nn_adam_step(&p, &opt);
        for (int i = 0; i < 3; i++) {
            double gi = (step == 1 ? g1[i] : g2[i]) + 0.01 * ref[i];
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.999 * v[i] + 0.001 * gi * gi;
            double mh = m[i] / (1 - pow(0.9, step)), vh = v[i] / (1 - pow(0.999, step));
            ref[i] -= 0.1 * mh / (sqrt(vh) + 1e-8);
            ck_assert_double_eq_tol(w[i], ref[i], 1e-5);
        }
    }
    ck_assert_double_eq_tol(nn_poly_lr(1e-3, 50, 100, 0.9), 1e-3 * pow(0.5, 0.9), 1e-12);
    ck_assert_double_eq(nn_poly_lr(1e-3, 5, 0, 0.9), 1e-3);
    ck_assert_double_eq(nn_poly_lr(1e-3, 100, 100, 0.9), 0.0);
    nn_params_fini(&p);
}
END_TEST

START_TEST(initialisation_is_seeded_and_bounded)
{
    conv_arg a = {16, 3, true};
    harness t1, t2, t3;
    harness_init(&t1, NN_TRAIN, 1, 8, 4, 4, make_conv, &a, 42);
    harness_init(&t2, NN_TRAIN, 1, 8, 4, 4, make_conv, &a, 42);
    harness_init(&t3, NN_TRAIN, 1, 8, 4, 4, make_conv, &a, 43);
    size_t n = t1.params.items[0].count;
    ck_assert_mem_eq(t1.params.value, t2.params.value, n * sizeof(float));
    ck_assert(memcmp(t1.params.value, t3.params.value, n * sizeof(float)) != 0);
    double bound = sqrt(6.0 / (8 * 9)), sum = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(fabs(t1.params.value[i]) <= bound);
        sum += t1.params.value[i] * t1.params.value[i];
    }
    /* U(-b, b) has variance b^2 / 3. */
    ck_assert_double_eq_tol(sum / n, bound * bound / 3, bound * bound / 3 * 0.15);
    const float *bias = t1.params.value + t1.params.items[1].offset;
    for (int i = 0; i < 16; i++)
        ck_assert(bias[i] == 0.0f);
    harness_fini(&t1);
    harness_fini(&t2);
    harness_fini(&t3);
}
END_TEST

Suite *make_layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *t = tcase_create("layers");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, conv_forward_matches_reference);
    tcase_add_test(t, conv_gradients);
    tcase_add_test(t, conv_winograd);
    tcase_add_test(t, graphs_share_the_context_scratchpad);
    tcase_add_test(t, bn_forward_matches_reference);
    tcase_add_test(t, bn_gradients);
    tcase_add_test(t, ln_forward_and_gradients);
    tcase_add_test(t, activations);
    tcase_add_test(t, pool_and_upsample);
    tcase_add_test(t, add_and_gradient_accumulation);
    tcase_add_test(t, gradients_share_memory_by_liveness);
    tcase_add_test(t, reshaped_inputs_stay_live);
    tcase_add_test(t, linear_forward_and_gradients);
    tcase_add_test(t, linear_backward_on_a_defective_shape);
    tcase_add_test(t, linear_inference_on_batch_blocked_input);
    tcase_add_test(t, reshape_gradients);
    tcase_add_test(t, adam_matches_hand_computation);
    tcase_add_test(t, initialisation_is_seeded_and_bounded);
    suite_add_tcase(s, t);
    return s;
}
