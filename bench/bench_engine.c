/* Engine benchmark: the IGD local-model networks (encoder -> decoder -> critic, 32x32x3 inputs,
 * igd-notes.md's family) at batch 64: forward (inference) and training (forward, backward to
 * inputs and parameters, Adam) throughput in images/s and GFLOP/s, against oneDNN's own sgemm
 * rate measured in the same run. Prints one JSON object per configuration.
 *
 *   bench-engine [--width 32,64] [--batch 64] [--size 32] [--channels 3] [--seconds 10]
 *                [--threads 0] [--conv fast|direct|winograd]
 *
 * --conv mirrors the library's IGD_OPT_CONV_ALGORITHM: fast (the default) trains 3 x 3
 * convolutions with Winograd's algorithm where oneDNN has a kernel and runs inference with the
 * direct one; direct uses the direct algorithm everywhere; winograd uses Winograd's in inference
 * too. GFLOP/s always count the direct algorithm's multiply-adds, so with Winograd they are
 * effective rates.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model/nets.h"
#include "nn/adam.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const core_err *err)
{
    fprintf(stderr, "bench-engine: %s: %s\n", what, err->msg);
    exit(1);
}

/* Best sgemm rate of oneDNN on square problems, in GFLOP/s. */
static double sgemm_rate(double seconds)
{
    const int64_t n = 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int64_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    double best = 0, start = now();
    do {
        double t0 = now();
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double rate = 2.0 * n * n * n / (now() - t0) / 1e9;
        if (rate > best)
            best = rate;
    } while (now() - start < seconds);
    free(a);
    free(b);
    free(c);
    return best;
}

typedef struct chain {
    nn_params enc_p, dec_p, cri_p;
    nn_graph *enc, *dec, *cri;
    int x, z, zin, xhat, xin, alpha;
} chain;

static void build(chain *c, nn_ctx *ctx, nn_mode mode, const mdl_arch *a, int64_t batch,
                  bool commit, chain *stores)
{
    core_err err = {0};
    if (nn_graph_create(ctx, &stores->enc_p, mode, batch, &c->enc, &err) ||
        nn_graph_create(ctx, &stores->dec_p, mode, batch, &c->dec, &err) ||
        nn_graph_create(ctx, &stores->cri_p, mode, batch, &c->cri, &err))
        die("graph", &err);
    c->x = nn_input(c->enc, a->channels, a->size, a->size, false);
    c->z = nn_plain(c->enc, mdl_encoder(c->enc, c->x, a));
    c->zin = nn_input(c->dec, a->latent, 1, 1, true);
    c->xhat = mdl_decoder(c->dec, c->zin, a);
    c->xin = nn_input(c->cri, a->channels, a->size, a->size, true);
    c->alpha = nn_plain(c->cri, mdl_critic(c->cri, c->xin, a));
    if (nn_graph_status(c->enc, &err) || nn_graph_status(c->dec, &err) ||
        nn_graph_status(c->cri, &err))
        die("build", &err);
    if (commit &&
        (nn_params_commit(&stores->enc_p, 1, &err) || nn_params_commit(&stores->dec_p, 2, &err) ||
         nn_params_commit(&stores->cri_p, 3, &err)))
        die("parameters", &err);
    if (nn_graph_finalize(c->enc, &err) || nn_graph_finalize(c->dec, &err) ||
        nn_graph_finalize(c->cri, &err))
        die("finalize", &err);
}

static size_t count(nn_graph *g, int t)
{
    int64_t d[4];
    int nd = nn_dims(g, t, d);
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)d[i];
    return n;
}

static void forward(chain *c)
{
    core_err err = {0};
    if (nn_graph_forward(c->enc, &err))
        die("forward", &err);
    memcpy(nn_data(c->dec, c->zin), nn_data(c->enc, c->z), count(c->enc, c->z) * sizeof(float));
    if (nn_graph_forward(c->dec, &err))
        die("forward", &err);
    memcpy(nn_data(c->cri, c->xin), nn_data(c->dec, c->xhat),
           count(c->dec, c->xhat) * sizeof(float));
    if (nn_graph_forward(c->cri, &err))
        die("forward", &err);
}

static void train_step(chain *c, const nn_adam *opt)
{
    core_err err = {0};
    forward(c);
    float *da = nn_diff(c->cri, c->alpha);
    for (size_t i = 0; i < count(c->cri, c->alpha); i++)
        da[i] = 0.01f;
    if (nn_graph_backward(c->cri, &c->alpha, 1, true, &err))
        die("backward", &err);
    memcpy(nn_diff(c->dec, c->xhat), nn_diff(c->cri, c->xin),
           count(c->dec, c->xhat) * sizeof(float));
    if (nn_graph_backward(c->dec, &c->xhat, 1, true, &err))
        die("backward", &err);
    memcpy(nn_diff(c->enc, c->z), nn_diff(c->dec, c->zin), count(c->enc, c->z) * sizeof(float));
    if (nn_graph_backward(c->enc, &c->z, 1, true, &err))
        die("backward", &err);
    nn_adam_step(c->enc->params, opt);
    nn_adam_step(c->dec->params, opt);
    nn_adam_step(c->cri->params, opt);
}

static void free_chain(chain *c)
{
    nn_graph_free(c->enc);
    nn_graph_free(c->dec);
    nn_graph_free(c->cri);
}

static double timed(void (*fn)(chain *, const nn_adam *), chain *c, const nn_adam *opt,
                    double seconds, int *iters)
{
    fn(c, opt); /* warm-up: first-touch, JIT */
    int n = 0;
    double start = now(), elapsed;
    do {
        fn(c, opt);
        n++;
        elapsed = now() - start;
    } while (elapsed < seconds || n < 3);
    *iters = n;
    return elapsed / n;
}

static void forward_only(chain *c, const nn_adam *opt)
{
    (void)opt;
    forward(c);
}

int main(int argc, char **argv)
{
    int widths[8] = {32, 64}, nwidths = 2, threads = 0;
    int64_t batch = 64;
    int size = 32, channels = 3;
    const char *conv = "fast";
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--width") && v) {
            nwidths = 0;
            for (char *s = strtok(argv[++i], ","); s && nwidths < 8; s = strtok(NULL, ","))
                widths[nwidths++] = atoi(s);
        } else if (!strcmp(argv[i], "--batch") && v) {
            batch = atoll(argv[++i]);
        } else if (!strcmp(argv[i], "--size") && v) {
            size = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--channels") && v) {
            channels = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--seconds") && v) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && v) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--conv") && v &&
                   (!strcmp(v, "fast") || !strcmp(v, "direct") || !strcmp(v, "winograd"))) {
            conv = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: bench-engine [--width 32,64] [--batch 64] [--size 32] "
                    "[--channels 3] [--seconds 10] [--threads 0] [--conv fast|direct|winograd]\n");
            return 2;
        }
    }
    nn_threads_enter(threads); /* for the whole run */
    double gemm = sgemm_rate(seconds / 2);
    printf("{\"sgemm_gflops\": %.1f, \"threads\": %d, \"convolution\": \"%s\"}\n", gemm,
           nn_max_threads(), conv);
    fflush(stdout);
    for (int wi = 0; wi < nwidths; wi++) {
        mdl_arch a = {channels, size, widths[wi], 3, 128, 512, false};
        nn_ctx ctx;
        core_err err = {0};
        if (nn_ctx_init(&ctx, &err))
            die("engine", &err);
        ctx.wino_train = strcmp(conv, "direct") != 0;
        ctx.wino_infer = strcmp(conv, "winograd") == 0;
        chain train = {0}, infer = {0};
        nn_params_init(&train.enc_p);
        nn_params_init(&train.dec_p);
        nn_params_init(&train.cri_p);
        build(&train, &ctx, NN_TRAIN, &a, batch, true, &train);
        build(&infer, &ctx, NN_INFER, &a, batch, false, &train);
        nn_adam opt = {1e-4, 0.9, 0.999, 1e-8, 1e-6};
        float *x = nn_data(train.enc, train.x), *xi = nn_data(infer.enc, infer.x);
        for (size_t i = 0; i < count(train.enc, train.x); i++)
            x[i] = xi[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
        int fwd_iters, train_iters;
        double t_fwd = timed(forward_only, &infer, &opt, seconds, &fwd_iters);
        double t_train = timed(train_step, &train, &opt, seconds, &train_iters);
        double macs = mdl_encoder_macs(&a) + mdl_decoder_macs(&a) + mdl_critic_macs(&a);
        double fwd_flops = 2 * macs * batch;
        /* Backward: data and weight gradients, each as costly as the forward, except the
         * encoder's first convolution, whose input needs no gradient. */
        double first = 2.0 * size * size * channels * a.width * 9 * batch;
        double train_flops = 3 * fwd_flops - first;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("{\"width\": %d, \"batch\": %lld, \"size\": %d, \"channels\": %d, "
               "\"forward_images_per_s\": %.1f, \"forward_gflops\": %.1f, "
               "\"train_images_per_s\": %.1f, \"train_gflops\": %.1f, "
               "\"train_share_of_sgemm\": %.3f, \"peak_rss_mib\": %.0f, "
               "\"forward_iters\": %d, \"train_iters\": %d}\n",
               a.width, (long long)batch, size, channels, batch / t_fwd, fwd_flops / t_fwd / 1e9,
               batch / t_train, train_flops / t_train / 1e9, train_flops / t_train / 1e9 / gemm,
               ru.ru_maxrss / 1024.0, fwd_iters, train_iters);
        fflush(stdout);
        free_chain(&infer);
        free_chain(&train);
        nn_params_fini(&train.enc_p);
        nn_params_fini(&train.dec_p);
        nn_params_fini(&train.cri_p);
        nn_ctx_fini(&ctx);
    }
    return 0;
}
