/* The IGD losses beside MS-SSIM: the classifier terms, the critic and fooling terms and the
 * reconstruction loss, each against a direct formula and its gradient against central finite
 * differences (in double, on the float outputs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss/classifier.h"
#include "loss/critic.h"
#include "loss/focal.h"
#include "loss/recon.h"
#include "testutil.h"

static double rel(double a, double b)
{
    double m = fmax(fabs(a), fabs(b));
    return m < 1e-3 ? fabs(a - b) / 1e-3 : fabs(a - b) / m;
}

START_TEST(classifier_values_and_gradients)
{
    enum { N = 5, D = 7 };
    uint64_t seed = 3;
    float z[N * D], c[D], g[N * D];
    tu_fill_uniform(z, N * D, -2, 2, &seed);
    tu_fill_uniform(c, D, -1, 1, &seed);
    for (int svdd = 0; svdd < 2; svdd++) {
        const double spread = 3.5, scale = 1.0 / N;
        double term[N];
        loss_classifier(z, N, D, c, spread, svdd, term, g, scale);
        double worst = 0;
        for (int i = 0; i < N; i++) {
            double d2 = 0;
            for (int k = 0; k < D; k++)
                d2 += ((double)z[i * D + k] - c[k]) * ((double)z[i * D + k] - c[k]);
            double want = svdd ? d2 : 1 - exp(-d2 / spread);
            ck_assert_double_eq_tol(term[i], want, 1e-9);
            for (int k = 0; k < D; k++) {
                const double h = 1e-3;
                float keep = z[i * D + k];
                double tp, tm;
                z[i * D + k] = keep + (float)h;
                loss_classifier(z + i * D, 1, D, c, spread, svdd, &tp, NULL, 0);
                z[i * D + k] = keep - (float)h;
                loss_classifier(z + i * D, 1, D, c, spread, svdd, &tm, NULL, 0);
                z[i * D + k] = keep;
                double fd = scale * (tp - tm) / (2 * h);
                double e = rel(g[i * D + k], fd);
                worst = e > worst ? e : worst;
            }
        }
        printf("gradient check %-28s max relative error %.2e\n",
               svdd ? "svdd classifier" : "gaussian classifier", worst);
        ck_assert_double_lt(worst, 1e-3);
    }
}
END_TEST

START_TEST(focal_values_and_gradients)
{
    enum { N = 9 };
    float l[N] = {-30.0f, -3.0f, -0.7f, -0.01f, 0.0f, 0.4f, 2.5f, 8.0f, 40.0f};
    float y[N] = {1, 0, 1, 0, 1, 1, 0, 1, 0}, g[N];
    const double gammas[3] = {0.0, 1.0, 2.0}, weights[2] = {1.0, 3.0};
    for (int gi = 0; gi < 3; gi++)
        for (int wi = 0; wi < 2; wi++) {
            const double gamma = gammas[gi], pw = weights[wi], scale = 0.7;
            double loss = loss_focal(l, y, N, gamma, pw, scale, g), want = 0;
            for (int i = 0; i < N; i++) {
                double p = 1.0 / (1.0 + exp(-(double)l[i])), pt = y[i] > 0.5 ? p : 1 - p;
                double w = y[i] > 0.5 ? pw : 1.0;
                /* log p_t written out for large logits, where 1 - p rounds to 0 */
                double log_pt = y[i] > 0.5 ? -log1p(exp(-(double)l[i])) : -log1p(exp(l[i]));
                want += -w * pow(1 - pt, gamma) * log_pt;
            }
            want /= N;
            ck_assert_double_eq_tol(loss, want, 1e-9 * fmax(1, want));
            double worst = 0;
            for (int i = 0; i < N; i++) {
                const double h = 1e-3;
                float keep = l[i];
                l[i] = keep + (float)h;
                double up = loss_focal(l, y, N, gamma, pw, 1, NULL);
                l[i] = keep - (float)h;
                double down = loss_focal(l, y, N, gamma, pw, 1, NULL);
                l[i] = keep;
                double fd = scale * (up - down) / (2 * h);
                double e = rel(g[i], fd);
                worst = e > worst ? e : worst;
            }
            printf("gradient check focal gamma %.0f weight %.0f      max relative error %.2e\n",
                   gamma, pw, worst);
            ck_assert_double_lt(worst, 1e-3);
        }
    ck_assert_double_eq(loss_focal(l, y, 0, 2, 1, 1, g), 0.0);
}
END_TEST

START_TEST(critic_and_fooling)
{
    enum { N = 6 };
    float dm[N], ds[N], gm[N], gs[N], gf[N];
    double alpha[N];
    uint64_t seed = 5;
    tu_fill_uniform(dm, N, 0, 1, &seed);
    tu_fill_uniform(ds, N, 0, 1, &seed);
    for (int i = 0; i < N; i++)
        alpha[i] = 0.5 * i / N;
    double l = loss_critic(dm, ds, alpha, N, 2.0, gm, gs);
    double want = 0;
    for (int i = 0; i < N; i++)
        want += ((dm[i] - alpha[i]) * (dm[i] - alpha[i]) + (double)ds[i] * ds[i]) / N;
    ck_assert_double_eq_tol(l, want, 1e-9);
    double f = loss_fooling(dm, N, 0.5, gf);
    double fwant = 0;
    for (int i = 0; i < N; i++)
        fwant += (double)dm[i] * dm[i] / N;
    ck_assert_double_eq_tol(f, fwant, 1e-9);
    for (int i = 0; i < N; i++) {
        const double h = 1e-3;
        float keep = dm[i];
        dm[i] = keep + (float)h;
        double lp = loss_critic(dm, ds, alpha, N, 1, NULL, NULL), fp = loss_fooling(dm, N, 1, NULL);
        dm[i] = keep - (float)h;
        double lm = loss_critic(dm, ds, alpha, N, 1, NULL, NULL), fm = loss_fooling(dm, N, 1, NULL);
        dm[i] = keep;
        ck_assert_double_lt(rel(gm[i], 2.0 * (lp - lm) / (2 * h)), 1e-3);
        ck_assert_double_lt(rel(gf[i], 0.5 * (fp - fm) / (2 * h)), 1e-3);
        keep = ds[i];
        ds[i] = keep + (float)h;
        lp = loss_critic(dm, ds, alpha, N, 1, NULL, NULL);
        ds[i] = keep - (float)h;
        lm = loss_critic(dm, ds, alpha, N, 1, NULL, NULL);
        ds[i] = keep;
        ck_assert_double_lt(rel(gs[i], 2.0 * (lp - lm) / (2 * h)), 1e-3);
    }
}
END_TEST

START_TEST(reconstruction_values_and_gradients)
{
    enum { N = 2, C = 3, H = 16, W = 16, PER = C * H * W };
    loss_msssim_config cfg;
    loss_msssim_config_default(&cfg);
    loss_msssim *ms;
    core_err err = {0};
    ck_assert_int_eq(loss_msssim_create(&cfg, N, C, H, W, &ms, &err), IGD_OK);
    float *x = malloc(sizeof(float) * N * PER), *y = malloc(sizeof(float) * N * PER);
    float *dy = malloc(sizeof(float) * N * PER);
    uint64_t seed = 9;
    tu_fill_uniform(x, N * PER, 0, 1, &seed);
    for (int i = 0; i < N * PER; i++) /* a reconstruction near x, never equal */
        y[i] = x[i] + (i % 2 ? 0.11f : -0.09f) * (float)((i * 7) % 5 + 1) / 5.0f;
    const double rho = 0.15;
    double mae[N], msv[N], rec[N], coef[N] = {0.7, -0.4}, scratch[N];
    loss_recon_forward(ms, x, y, N, PER, rho, mae, msv, rec);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int k = 0; k < PER; k++)
            s += fabs((double)x[i * PER + k] - y[i * PER + k]);
        ck_assert_double_eq_tol(mae[i], s / PER, 1e-9);
        ck_assert_double_eq_tol(rec[i], rho * mae[i] + (1 - rho) * (1 - msv[i]), 1e-12);
    }
    loss_recon_backward(ms, x, y, N, PER, rho, coef, scratch, dy);
    double worst = 0;
    for (int i = 0; i < N * PER; i += 7) {
        const double h = 1e-3;
        float keep = y[i];
        double rp[N], rm[N];
        y[i] = keep + (float)h;
        loss_recon_forward(ms, x, y, N, PER, rho, NULL, NULL, rp);
        y[i] = keep - (float)h;
        loss_recon_forward(ms, x, y, N, PER, rho, NULL, NULL, rm);
        y[i] = keep;
        double fd = 0;
        for (int k = 0; k < N; k++)
            fd += coef[k] * (rp[k] - rm[k]) / (2 * h);
        double e = fabs(dy[i] - fd) / fmax(fabs(fd), 1e-4);
        worst = e > worst ? e : worst;
    }
    printf("gradient check %-28s max relative error %.2e\n", "reconstruction (MAE+MS-SSIM)", worst);
    ck_assert_double_lt(worst, 2e-2);
    /* Maps: identical images give 0 error everywhere; a difference raises the map there. */
    float *map = malloc(sizeof(float) * N * H * W);
    loss_recon_map(ms, x, x, N, C, H * W, rho, map);
    for (int k = 0; k < N * H * W; k++)
        ck_assert_float_eq_tol(map[k], 0.0f, 1e-6f);
    for (int c = 0; c < C; c++)
        y[c * H * W + 5 * W + 5] = x[c * H * W + 5 * W + 5] + 0.8f;
    memcpy(y + PER, x + PER, sizeof(float) * PER);
    loss_recon_map(ms, x, y, N, C, H * W, rho, map);
    ck_assert_float_gt(map[5 * W + 5], 0.1f);
    ck_assert_float_eq_tol(map[H * W + 5 * W + 5], 0.0f, 1e-6f);
    free(map);
    free(x);
    free(y);
    free(dy);
    loss_msssim_free(ms);
}
END_TEST

Suite *make_losses_suite(void)
{
    Suite *s = suite_create("losses");
    TCase *t = tcase_create("losses");
    tcase_add_test(t, classifier_values_and_gradients);
    tcase_add_test(t, focal_values_and_gradients);
    tcase_add_test(t, critic_and_fooling);
    tcase_add_test(t, reconstruction_values_and_gradients);
    suite_add_tcase(s, t);
    return s;
}
