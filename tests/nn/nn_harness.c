#include "nn_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static void init(harness *t, bool winograd, nn_mode mode, int64_t n, int64_t c, int64_t h,
                 int64_t w, layer_fn fn, const void *arg, uint64_t seed)
{
    core_err err = {0};
    ck_assert_int_eq(nn_ctx_init(&t->ctx, &err), IGD_OK);
    t->ctx.wino_train = t->ctx.wino_infer = winograd;
    nn_params_init(&t->params);
    ck_assert_int_eq(nn_graph_create(&t->ctx, &t->params, mode, n, &t->g, &err), IGD_OK);
    t->x = nn_input(t->g, c, h, w, true);
    t->y = nn_plain(t->g, fn(t->g, t->x, arg));
    igd_status st = nn_graph_status(t->g, &err);
    ck_assert_msg(st == IGD_OK, "build: %s", err.msg);
    ck_assert_int_eq(nn_params_commit(&t->params, seed, &err), IGD_OK);
    st = nn_graph_finalize(t->g, &err);
    ck_assert_msg(st == IGD_OK, "finalize: %s", err.msg);
    nn_dims(t->g, t->x, t->xdims);
    t->yndims = nn_dims(t->g, t->y, t->ydims);
    t->xcount = (size_t)(n * c * h * w);
    t->ycount = 1;
    for (int i = 0; i < t->yndims; i++)
        t->ycount *= (size_t)t->ydims[i];
}

void harness_init(harness *t, nn_mode mode, int64_t n, int64_t c, int64_t h, int64_t w, layer_fn fn,
                  const void *arg, uint64_t seed)
{
    init(t, false, mode, n, c, h, w, fn, arg, seed);
}

void harness_init_winograd(harness *t, nn_mode mode, int64_t n, int64_t c, int64_t h, int64_t w,
                           layer_fn fn, const void *arg, uint64_t seed)
{
    init(t, true, mode, n, c, h, w, fn, arg, seed);
}

void harness_fini(harness *t)
{
    nn_graph_free(t->g);
    nn_params_fini(&t->params);
    nn_ctx_fini(&t->ctx);
}

void harness_forward(harness *t)
{
    core_err err = {0};
    igd_status st = nn_graph_forward(t->g, &err);
    ck_assert_msg(st == IGD_OK, "forward: %s", err.msg);
}

void harness_fill_input(harness *t, float lo, float hi, float gap, uint64_t seed)
{
    float *x = nn_data(t->g, t->x);
    tu_fill_uniform(x, t->xcount, lo, hi, &seed);
    for (size_t i = 0; i < t->xcount; i++)
        if (fabsf(x[i]) < gap)
            x[i] = x[i] < 0 ? -gap - fabsf(x[i]) : gap + x[i];
}

static double loss(harness *t, const float *r)
{
    harness_forward(t);
    const float *y = nn_data(t->g, t->y);
    double s = 0;
    for (size_t i = 0; i < t->ycount; i++)
        s += (double)y[i] * r[i];
    return s;
}

static double rel(double a, double b)
{
    double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
    return m < 1e-2 ? d / 1e-2 : d / m;
}

double harness_grad_check(harness *t, const char *name, double step)
{
    core_err err = {0};
    float *r = malloc(t->ycount * sizeof *r);
    uint64_t s = 99;
    tu_fill_uniform(r, t->ycount, -1, 1, &s);
    loss(t, r);
    float *dy = nn_diff(t->g, t->y);
    for (size_t i = 0; i < t->ycount; i++)
        dy[i] = r[i];
    int outs[1] = {t->y};
    igd_status st = nn_graph_backward(t->g, outs, 1, true, &err);
    ck_assert_msg(st == IGD_OK, "backward: %s", err.msg);
    size_t np = t->params.total;
    float *dx = malloc(t->xcount * sizeof *dx), *dp = malloc((np ? np : 1) * sizeof *dp);
    for (size_t i = 0; i < t->xcount; i++)
        dx[i] = nn_diff(t->g, t->x)[i];
    for (size_t i = 0; i < np; i++)
        dp[i] = t->params.grad[i];

    double worst = 0;
    float *x = nn_data(t->g, t->x);
    for (size_t i = 0; i < t->xcount; i++) {
        float keep = x[i];
        x[i] = keep + (float)step;
        double lp = loss(t, r);
        x[i] = keep - (float)step;
        double lm = loss(t, r);
        x[i] = keep;
        double e = rel(dx[i], (lp - lm) / (2 * step));
        if (e > worst)
            worst = e;
    }
    for (size_t k = 0; k < t->params.count; k++) {
        const nn_param *q = &t->params.items[k];
        if (!q->trainable)
            continue;
        float *v = t->params.value + q->offset;
        for (size_t i = 0; i < q->count; i++) {
            float keep = v[i];
            v[i] = keep + (float)step;
            nn_params_touch(&t->params);
            double lp = loss(t, r);
            v[i] = keep - (float)step;
            nn_params_touch(&t->params);
            double lm = loss(t, r);
            v[i] = keep;
            nn_params_touch(&t->params);
            double e = rel(dp[q->offset + i], (lp - lm) / (2 * step));
            if (e > worst)
                worst = e;
        }
    }
    printf("gradient check %-28s max relative error %.2e\n", name, worst);
    free(r);
    free(dx);
    free(dp);
    return worst;
}
