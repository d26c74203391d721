/* The paper's one-class protocol on MNIST-style IDX data: for each class, train on that class's
 * training images only, score the whole test set (that class normal, the others anomalous), and
 * report the AUROC and the training time. Uses the public API only.
 *
 *   bench-oneclass --data DIR [--classes 0,1,...] [--set name=value]... [--svdd]
 *
 * DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz
 * and t10k-labels-idx1-ubyte.gz. --svdd trains the Deep SVDD baseline on the same engine
 * (classifier svdd, no decoder, no critic). Prints one JSON line per class, then the mean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <igd/igd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        igd_status st_ = (call);                                                                   \
        if (st_ != IGD_OK) {                                                                       \
            fprintf(stderr, "bench-oneclass: %s: %s\n", #call, igd_last_error());                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void log_line(void *user, igd_log_level level, const char *message)
{
    (void)user;
    if (level <= IGD_LOG_INFO)
        fprintf(stderr, "  %s\n", message);
}

static void on_progress(void *user, igd_stage stage, uint64_t done, uint64_t total,
                        const double *losses, size_t n)
{
    (void)user;
    if (stage != IGD_STAGE_TRAIN || !losses || n < IGD_LOSS_COUNT || done % 50 != 0)
        return;
    fprintf(stderr, "  step %llu/%llu total %.4f cls %.4f rec %.4f fool %.4f critic %.4f\n",
            (unsigned long long)done, (unsigned long long)total, losses[IGD_LOSS_TOTAL],
            losses[IGD_LOSS_CLASSIFIER], losses[IGD_LOSS_RECONSTRUCTION], losses[IGD_LOSS_FOOLING],
            losses[IGD_LOSS_CRITIC]);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int classes[10], nclasses = 0;
    int svdd = 0, verbose = 0;
    igd_options *opts;
    CHECK(igd_options_create(&opts));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--classes") && i + 1 < argc) {
            for (char *s = strtok(argv[++i], ","); s && nclasses < 10; s = strtok(NULL, ","))
                classes[nclasses++] = atoi(s);
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq) {
                fprintf(stderr, "bench-oneclass: --set needs name=value\n");
                return 2;
            }
            *eq = '\0';
            CHECK(igd_options_parse(opts, kv, eq + 1));
        } else if (!strcmp(argv[i], "--svdd")) {
            svdd = 1;
        } else if (!strcmp(argv[i], "--verbose")) {
            verbose = 1;
        } else {
            fprintf(stderr, "usage: bench-oneclass --data DIR [--classes 0,1,...] "
                            "[--set name=value]... [--svdd] [--verbose]\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "bench-oneclass: --data DIR is required\n");
        return 2;
    }
    if (nclasses == 0)
        for (int k = 0; k < 10; k++)
            classes[nclasses++] = k;
    if (svdd) {
        CHECK(igd_options_set_int(opts, IGD_OPT_CLASSIFIER, IGD_CLASSIFIER_SVDD));
        CHECK(igd_options_set_real(opts, IGD_OPT_LAMBDA2, 0));
        CHECK(igd_options_set_real(opts, IGD_OPT_LAMBDA1, 0));
    }
    char p[4][1024];
    const char *names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (int k = 0; k < 4; k++)
        snprintf(p[k], sizeof p[k], "%s/%s", dir, names[k]);
    igd_dataset *train_all, *test;
    CHECK(igd_dataset_open_idx(p[0], p[1], NULL, &train_all));
    CHECK(igd_dataset_open_idx(p[2], p[3], NULL, &test));
    size_t ntest = igd_dataset_count(test);
    /* The test images as one batch of 28x28 grey pixels. */
    unsigned char *pixels = malloc(ntest * 28 * 28);
    for (size_t i = 0; i < ntest; i++) {
        igd_image *img;
        CHECK(igd_dataset_load(test, i, &img));
        memcpy(pixels + i * 784, igd_image_const_data(img), 784);
        igd_image_free(img);
    }
    double *scores = malloc(ntest * sizeof *scores), sum_auc = 0, sum_time = 0;
    int *labels = malloc(ntest * sizeof *labels);
    for (int ci = 0; ci < nclasses; ci++) {
        int k = classes[ci];
        igd_dataset *train;
        CHECK(igd_dataset_copy(train_all, &train));
        CHECK(igd_dataset_set_normal_class(train, k));
        CHECK(igd_dataset_keep_label(train, 0));
        igd_model *model;
        CHECK(igd_model_create(opts, &model));
        if (verbose) {
            igd_model_set_log(model, log_line, NULL);
            igd_model_set_progress(model, on_progress, NULL);
        }
        double t0 = now();
        CHECK(igd_model_fit(model, train));
        double train_s = now() - t0;
        igd_session *session;
        CHECK(igd_session_create(model, &session));
        t0 = now();
        CHECK(igd_session_detect(session, pixels, IGD_PIXEL_U8, ntest, 28, 28, 1, 0, 0, scores,
                                 NULL, NULL, 0));
        double detect_s = now() - t0;
        for (size_t i = 0; i < ntest; i++) {
            int cls;
            CHECK(igd_dataset_class(test, i, &cls));
            labels[i] = cls != k;
        }
        double auc;
        CHECK(igd_metric_auroc(scores, labels, ntest, &auc));
        printf("{\"class\": %d, \"auroc\": %.4f, \"train_seconds\": %.1f, "
               "\"detect_ms_per_image\": %.3f, \"method\": \"%s\"}\n",
               k, auc, train_s, detect_s * 1e3 / ntest, svdd ? "dsvdd" : "igd");
        fflush(stdout);
        sum_auc += auc;
        sum_time += train_s;
        igd_session_free(session);
        igd_model_free(model);
        igd_dataset_free(train);
    }
    printf("{\"mean_auroc\": %.4f, \"mean_train_seconds\": %.1f, \"classes\": %d}\n",
           sum_auc / nclasses, sum_time / nclasses, nclasses);
    free(pixels);
    free(scores);
    free(labels);
    igd_dataset_free(test);
    igd_dataset_free(train_all);
    igd_options_free(opts);
    return 0;
}
