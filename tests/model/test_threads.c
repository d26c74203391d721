/* Concurrency: many threads detecting and drawing heatmaps with one model through their own
 * sessions give exactly the serial results; a thread training while others detect makes every
 * detection see the model wholly before or after a training step. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "modeltest.h"

enum { THREADS = 12, ROUNDS = 20, N = 4, H = 24, W = 24 };

typedef struct job {
    igd_model *model;
    const unsigned char *images;
    const double *want_scores;
    const float *want_maps;
    int mismatches;
} job;

static void *detect_loop(void *arg)
{
    job *j = arg;
    igd_session *s;
    if (igd_session_create(j->model, &s) != IGD_OK) {
        j->mismatches = -1;
        return NULL;
    }
    double scores[N];
    float *maps = malloc(sizeof(float) * N * H * W);
    for (int r = 0; r < ROUNDS; r++) {
        if (igd_session_detect(s, j->images, IGD_PIXEL_U8, N, H, W, 1, 0, 0, scores, NULL, NULL,
                               0) != IGD_OK ||
            memcmp(scores, j->want_scores, sizeof scores) != 0)
            j->mismatches++;
        if (igd_session_heatmap(s, j->images, IGD_PIXEL_U8, N, H, W, 1, 0, 0, maps) != IGD_OK ||
            memcmp(maps, j->want_maps, sizeof(float) * N * H * W) != 0)
            j->mismatches++;
    }
    free(maps);
    igd_session_free(s);
    return NULL;
}

START_TEST(parallel_sessions_match_serial_results)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 2);
    unsigned char *img = mt_images(N, H, W, 1, 8);
    double want[N];
    float *maps = malloc(sizeof(float) * N * H * W);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    ck_assert_igd_ok(
        igd_session_detect(s, img, IGD_PIXEL_U8, N, H, W, 1, 0, 0, want, NULL, NULL, 0));
    ck_assert_igd_ok(igd_session_heatmap(s, img, IGD_PIXEL_U8, N, H, W, 1, 0, 0, maps));
    igd_session_free(s);
    pthread_t t[THREADS];
    job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){m, img, want, maps, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, detect_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(jobs[i].mismatches, 0);
    }
    free(maps);
    free(img);
    igd_model_free(m);
}
END_TEST

typedef struct overlap {
    igd_model *model;
    const unsigned char *images;
    double (*states)[N]; /* serial scores after each training step */
    int steps;
    volatile int done;
    int unmatched;
} overlap;

static void *detect_during_training(void *arg)
{
    overlap *o = arg;
    igd_session *s;
    if (igd_session_create(o->model, &s) != IGD_OK) {
        o->unmatched = -1;
        return NULL;
    }
    while (!o->done) {
        double scores[N];
        if (igd_session_detect(s, o->images, IGD_PIXEL_U8, N, H, W, 1, 0, 0, scores, NULL, NULL,
                               0) != IGD_OK) {
            o->unmatched++;
            continue;
        }
        int found = 0;
        for (int k = 0; k <= o->steps && !found; k++)
            found = memcmp(scores, o->states[k], sizeof scores) == 0;
        o->unmatched += !found;
    }
    igd_session_free(s);
    return NULL;
}

START_TEST(detection_during_training_sees_whole_steps)
{
    enum { STEPS = 6 };
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL, 0);
    unsigned char *img = mt_images(16, H, W, 1, 3);
    /* The serial scores of every state: load a copy, replay the steps. */
    size_t size;
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_OPTIMIZER, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_OPTIMIZER, bytes, size, &size));
    igd_model *copy;
    /* The same thread count as the model's (a loaded model does not take the file's). */
    igd_options *rt;
    ck_assert_igd_ok(igd_options_create(&rt));
    ck_assert_igd_ok(igd_options_set_int(rt, IGD_OPT_THREADS, 1));
    ck_assert_igd_ok(igd_model_load_memory(bytes, size, rt, &copy));
    igd_options_free(rt);
    double states[STEPS + 1][N];
    for (int k = 0; k <= STEPS; k++) {
        igd_session *s;
        ck_assert_igd_ok(igd_session_create(copy, &s));
        ck_assert_igd_ok(
            igd_session_detect(s, img, IGD_PIXEL_U8, N, H, W, 1, 0, 0, states[k], NULL, NULL, 0));
        igd_session_free(s);
        if (k < STEPS)
            ck_assert_igd_ok(igd_model_train_step(copy, IGD_NET_GLOBAL, img + 8 * H * W,
                                                  IGD_PIXEL_U8, 8, H, W, 1, 0, 0, NULL, 0));
    }
    overlap o = {m, img, states, STEPS, 0, 0};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, detect_during_training, &o), 0);
    for (int k = 0; k < STEPS; k++)
        ck_assert_igd_ok(igd_model_train_step(m, IGD_NET_GLOBAL, img + 8 * H * W, IGD_PIXEL_U8, 8,
                                              H, W, 1, 0, 0, NULL, 0));
    o.done = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(o.unmatched, 0);
    free(bytes);
    free(img);
    igd_model_free(copy);
    igd_model_free(m);
}
END_TEST

Suite *make_threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *t = tcase_create("threads");
    tcase_set_timeout(t, 1500);
    tcase_add_test(t, parallel_sessions_match_serial_results);
    tcase_add_test(t, detection_during_training_sees_whole_steps);
    suite_add_tcase(s, t);
    return s;
}
