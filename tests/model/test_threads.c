/* Concurrency: many threads detecting and drawing heatmaps with one model through their own
 * sessions give exactly the serial results; a thread training while others detect makes every
 * detection see the model wholly before or after a training step; every call leaves the caller's
 * OpenMP thread count as it found it and runs with the model's own inside. */
#include <omp.h>
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

/* What the calling thread's OpenMP thread count was inside the library: seen by the allocator
 * (every call below allocates) and the progress callback, outside parallel regions only. */
static int inside_seen = -1, inside_other = 0;

static void note_inside(void)
{
    if (omp_in_parallel())
        return;
    int t = omp_get_max_threads();
    if (inside_seen < 0)
        inside_seen = t;
    else if (t != inside_seen)
        inside_other++;
}

static void *noting_malloc(void *user, size_t size)
{
    (void)user;
    note_inside();
    return malloc(size);
}

static void *noting_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    note_inside();
    return realloc(ptr, size);
}

static void noting_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static void noting_progress(void *user, igd_stage stage, uint64_t done, uint64_t total,
                            const double *losses, size_t loss_count)
{
    (void)user, (void)stage, (void)done, (void)total, (void)losses, (void)loss_count;
    note_inside();
}

/* Runs a statement of checks, then checks the caller's thread count (3) is as it was. */
#define ck_assert_caller_threads(stmt)                                                             \
    do {                                                                                           \
        stmt;                                                                                      \
        ck_assert_msg(omp_get_max_threads() == 3, "%s left %d threads", #stmt,                     \
                      omp_get_max_threads());                                                      \
    } while (0)

START_TEST(calls_restore_the_callers_thread_count)
{
    enum { C = 8 };
    ck_assert_igd_ok(igd_set_allocator(noting_malloc, noting_realloc, noting_free, NULL));
    omp_set_num_threads(3);
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL | IGD_NET_LOCAL);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_THREADS, 2));
    igd_model *m;
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_create(o, &m)));
    igd_options_free(o);
    igd_model_set_progress(m, noting_progress, NULL);
    unsigned char *img = mt_images(C, H, W, 1, 5);
    igd_dataset *ds;
    ck_assert_igd_ok(igd_dataset_from_pixels(img, IGD_PIXEL_U8, C, H, W, 1, 0, 0, NULL, NULL, &ds));
    inside_seen = -1;
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_fit(m, ds)));
    ck_assert_caller_threads(ck_assert_igd_ok(
        igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, C, H, W, 1, 0, 0, NULL, 0)));
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL)));
    ck_assert_caller_threads(ck_assert_igd_ok(
        igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, C, H, W, 1, 0, 0)));
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL)));
    /* Failures inside a call restore it too: a training step on images of no size. */
    ck_assert_caller_threads(ck_assert_int_ne(
        igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, C, 0, W, 1, 0, 0, NULL, 0),
        IGD_OK));
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_set_threshold(m, 1.0)));
    igd_session *s;
    ck_assert_caller_threads(ck_assert_igd_ok(igd_session_create(m, &s)));
    double scores[C];
    unsigned char anomalous[C];
    float *maps = malloc(sizeof(float) * C * H * W);
    ck_assert_caller_threads(ck_assert_igd_ok(
        igd_session_detect(s, img, IGD_PIXEL_U8, C, H, W, 1, 0, 0, scores, anomalous, NULL, 0)));
    ck_assert_caller_threads(
        ck_assert_igd_ok(igd_session_heatmap(s, img, IGD_PIXEL_U8, C, H, W, 1, 0, 0, maps)));
    ck_assert_caller_threads(ck_assert_int_ne(
        igd_session_detect(s, img, IGD_PIXEL_U8, C, H, 0, 1, 0, 0, scores, NULL, NULL, 0), IGD_OK));
    /* Inside, every call ran with the model's 2 threads. */
    ck_assert_int_eq(inside_seen, 2);
    ck_assert_int_eq(inside_other, 0);
    /* A runtime change of the option takes effect in the next call, still outside untouched. */
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_THREADS, 1)));
    inside_seen = -1;
    ck_assert_caller_threads(ck_assert_igd_ok(
        igd_session_detect(s, img, IGD_PIXEL_U8, C, H, W, 1, 0, 0, scores, anomalous, NULL, 0)));
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_fit(m, ds)));
    ck_assert_int_eq(inside_seen, 1);
    ck_assert_int_eq(inside_other, 0);
    /* 0: the cores other processes leave free, between 1 and all of them (the machine's load
     * may change it between calls). */
    ck_assert_caller_threads(ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_THREADS, 0)));
    for (int r = 0; r < 3; r++) {
        inside_seen = -1;
        igd_session *fresh; /* a new session allocates in every call */
        ck_assert_caller_threads(ck_assert_igd_ok(igd_session_create(m, &fresh)));
        ck_assert_caller_threads(ck_assert_igd_ok(igd_session_detect(
            fresh, img, IGD_PIXEL_U8, C, H, W, 1, 0, 0, scores, anomalous, NULL, 0)));
        igd_session_free(fresh);
        ck_assert_int_ge(inside_seen, 1);
        ck_assert_int_le(inside_seen, omp_get_num_procs());
    }
    igd_session_free(s);
    igd_dataset_free(ds);
    igd_model_free(m);
    free(maps);
    free(img);
    ck_assert_igd_ok(igd_set_allocator(NULL, NULL, NULL, NULL));
}
END_TEST

Suite *make_threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *t = tcase_create("threads");
    tcase_set_timeout(t, 1500);
    tcase_add_test(t, parallel_sessions_match_serial_results);
    tcase_add_test(t, detection_during_training_sees_whole_steps);
    tcase_add_test(t, calls_restore_the_callers_thread_count);
    suite_add_tcase(s, t);
    return s;
}
