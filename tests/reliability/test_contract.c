/* The contract's promises about numbers that are not finite, state and lifetimes (issue 22,
 * docs/reliability.md "Promises"): each test failed before its fix. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "model/model.h"
#include "rel.h"

enum { N = 4, S = 16 };

static igd_model *load_bytes(const unsigned char *bytes, size_t size)
{
    igd_model *m = NULL;
    igd_status st = igd_model_load_memory(bytes, size, NULL, &m);
    ck_assert_msg(st == IGD_OK, "a saved model does not load: %s", igd_last_error());
    return m;
}

/* A float pixel that is NaN or infinite is refused wherever pixels enter. */
START_TEST(test_nonfinite_pixels_refused)
{
    static const float bad[] = {NAN, INFINITY, -INFINITY};
    igd_model *m = rel_tiny_model(NULL, 0);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    float *px = malloc(sizeof(float) * N * S * S);
    for (size_t i = 0; i < (size_t)N * S * S; i++)
        px[i] = (float)(i % 17) / 17.0f;
    double scores[N];
    float *maps = malloc(sizeof(float) * N * S * S);
    ck_assert_igd_ok(
        igd_session_detect(s, px, IGD_PIXEL_F32, N, S, S, 1, 0, 0, scores, NULL, NULL, 0));
    unsigned char *before = NULL;
    size_t size = 0;
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        px[(N - 1) * S * S + 5 * S + 3] = bad[b];
        ck_assert_int_eq(
            igd_session_detect(s, px, IGD_PIXEL_F32, N, S, S, 1, 0, 0, scores, NULL, NULL, 0),
            IGD_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(igd_last_error(), "not a finite number"));
        ck_assert_int_eq(igd_session_heatmap(s, px, IGD_PIXEL_F32, N, S, S, 1, 0, 0, maps),
                         IGD_ERR_INVALID_ARGUMENT);
        before = rel_save(m, IGD_SAVE_OPTIMIZER, &size);
        ck_assert_int_eq(
            igd_model_train_step(m, IGD_NET_GLOBAL, px, IGD_PIXEL_F32, N, S, S, 1, 0, 0, NULL, 0),
            IGD_ERR_INVALID_ARGUMENT);
        ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
        ck_assert_int_eq(
            igd_model_estep_add(m, IGD_NET_GLOBAL, px, IGD_PIXEL_F32, N, S, S, 1, 0, 0),
            IGD_ERR_INVALID_ARGUMENT);
        /* Nothing changed. */
        size_t after_size;
        unsigned char *after = rel_save(m, IGD_SAVE_OPTIMIZER, &after_size);
        ck_assert_uint_eq(after_size, size);
        ck_assert_mem_eq(after, before, size);
        free(after);
        free(before);
        igd_dataset *ds = NULL;
        ck_assert_int_eq(
            igd_dataset_from_pixels(px, IGD_PIXEL_F32, N, S, S, 1, 0, 0, NULL, NULL, &ds),
            IGD_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_null(ds);
    }
    free(maps);
    free(px);
    igd_session_free(s);
    igd_model_free(m);
}
END_TEST

/* Training that diverges (options in range) stops with IGD_ERR_NUMERIC and keeps the state
 * before the failing step, which saves and loads; it never reports success with a state that
 * would not load. */
static const char *const diverging[] = {
    "learning_rate=10,critic_learning_rate=10",           /* diverges at step 13 */
    "norm_std=0.000001,norm_mean=-1000,learning_rate=10", /* at step 1 */
    "norm_std=0.000001,norm_mean=-1000",                  /* trains on */
};

START_TEST(test_diverging_training_keeps_a_loadable_state)
{
    igd_model *m = rel_tiny_model(diverging[_i], 0);
    unsigned char *px = rel_images(N, S, S, 1, 11);
    int numeric = 0;
    for (int step = 0; step < 60 && !numeric; step++) {
        size_t size, after_size;
        unsigned char *before = rel_save(m, IGD_SAVE_OPTIMIZER, &size);
        igd_status st =
            igd_model_train_step(m, IGD_NET_GLOBAL, px, IGD_PIXEL_U8, N, S, S, 1, 0, 0, NULL, 0);
        ck_assert_msg(st == IGD_OK || st == IGD_ERR_NUMERIC, "step %d: %s (%s)", step,
                      igd_status_string(st), igd_last_error());
        if (st == IGD_ERR_NUMERIC) {
            numeric = 1;
            ck_assert_ptr_nonnull(strstr(igd_last_error(), "diverged"));
            unsigned char *after = rel_save(m, IGD_SAVE_OPTIMIZER, &after_size);
            ck_assert_uint_eq(after_size, size);
            ck_assert_msg(memcmp(after, before, size) == 0,
                          "a failed step changed the model's bytes");
            free(after);
        }
        /* Whatever the step did, what saves must load. */
        unsigned char *now = rel_save(m, 0, &after_size);
        igd_model_free(load_bytes(now, after_size));
        free(now);
        free(before);
    }
    if (_i < 2)
        ck_assert_msg(numeric, "the diverging configuration did not diverge");
    free(px);
    igd_model_free(m);
}
END_TEST

/* A model holding a number that is not finite is never written: save fails with
 * IGD_ERR_NUMERIC and the file at the path stays as it was. */
START_TEST(test_save_refuses_what_load_refuses)
{
    char dir[] = "/tmp/igd-rel-save-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/m.igd", dir);
    igd_model *m = rel_tiny_model(NULL, 1);
    ck_assert_igd_ok(igd_model_save(m, path, IGD_SAVE_OPTIMIZER));
    size_t good_size;
    unsigned char *good = rel_save(m, IGD_SAVE_OPTIMIZER, &good_size);
    /* A running variance, an Adam moment, the centre, the spread, the threshold. */
    for (int what = 0; what < 5; what++) {
        igd_model *d = load_bytes(good, good_size);
        mdl_net *net = &d->net[MDL_GLOBAL];
        unsigned flags = 0;
        if (what == 0) {
            for (size_t i = 0; i < net->enc.count; i++)
                if (!net->enc.items[i].trainable)
                    nn_param_value(&net->enc, i)[0] = INFINITY;
        } else if (what == 1) {
            net->dec.v[0] = NAN;
            flags = IGD_SAVE_OPTIMIZER;
        } else if (what == 2) {
            net->center[1] = NAN;
        } else if (what == 3) {
            net->spread = INFINITY;
        } else {
            d->threshold = NAN;
        }
        ck_assert_int_eq(igd_model_save(d, path, flags), IGD_ERR_NUMERIC);
        size_t need = 0;
        ck_assert_igd_ok(igd_model_save_memory(d, flags, NULL, 0, &need));
        unsigned char *buf = malloc(need);
        ck_assert_int_eq(igd_model_save_memory(d, flags, buf, need, &need), IGD_ERR_NUMERIC);
        free(buf);
        igd_model_free(d);
        igd_model *back = NULL;
        ck_assert_igd_ok(igd_model_load(path, NULL, &back));
        igd_model_free(back);
    }
    free(good);
    igd_model_free(m);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* A loadable model with one huge finite weight: detection and heatmaps fail with
 * IGD_ERR_NUMERIC instead of returning NaN scores that read as normal. */
START_TEST(test_nonfinite_score_is_an_error)
{
    igd_model *m = rel_tiny_model(NULL, 0);
    mdl_net *net = &m->net[MDL_GLOBAL];
    nn_params *stores[2] = {&net->enc, &net->dec};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < stores[k]->count; i++)
            if (stores[k]->items[i].trainable) {
                float *w = nn_param_value(stores[k], i);
                for (size_t j = 0; j < stores[k]->items[i].count; j++)
                    w[j] = j % 2 ? FLT_MAX : -FLT_MAX;
            }
        nn_params_touch(stores[k]);
    }
    size_t size;
    unsigned char *bytes = rel_save(m, 0, &size); /* finite: it saves and loads */
    igd_model_free(m);
    m = load_bytes(bytes, size);
    free(bytes);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    unsigned char *px = rel_images(N, S, S, 1, 3);
    double scores[N];
    unsigned char anomalous[N];
    ck_assert_int_eq(
        igd_session_detect(s, px, IGD_PIXEL_U8, N, S, S, 1, 0, 0, scores, anomalous, NULL, 0),
        IGD_ERR_NUMERIC);
    float *maps = malloc(sizeof(float) * N * S * S);
    /* Heatmaps clamp reconstructions to pixel range: finite maps, or the same error. */
    igd_status st = igd_session_heatmap(s, px, IGD_PIXEL_U8, N, S, S, 1, 0, 0, maps);
    ck_assert(st == IGD_OK || st == IGD_ERR_NUMERIC);
    for (size_t i = 0; st == IGD_OK && i < (size_t)N * S * S; i++)
        ck_assert(isfinite(maps[i]));
    free(maps);
    free(px);
    igd_session_free(s);
    igd_model_free(m);
}
END_TEST

/* igd.h: detection before any E-step is IGD_ERR_STATE. */
START_TEST(test_detect_before_estep_is_state)
{
    igd_options *o = rel_tiny_options(_i ? "nets=3" : NULL);
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    igd_options_free(o);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    unsigned char *px = rel_images(1, S, S, 1, 3);
    double score;
    ck_assert_int_eq(
        igd_session_detect(s, px, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, &score, NULL, NULL, 0),
        IGD_ERR_STATE);
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_GLOBAL, px, IGD_PIXEL_U8, 1, S, S, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL));
    igd_status want = _i ? IGD_ERR_STATE : IGD_OK; /* the local model still has none */
    ck_assert_int_eq(
        igd_session_detect(s, px, IGD_PIXEL_U8, 1, S, S, 1, 0, 0, &score, NULL, NULL, 0), want);
    free(px);
    igd_session_free(s);
    igd_model_free(m);
}
END_TEST

/* A session keeps its model alive: the model may be freed first; its memory goes with the last
 * session. */
START_TEST(test_session_outlives_model)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    igd_model *m = rel_tiny_model(NULL, 1);
    igd_session *a, *b;
    ck_assert_igd_ok(igd_session_create(m, &a));
    ck_assert_igd_ok(igd_session_create(m, &b));
    unsigned char *px = rel_images(2, S, S, 1, 3);
    double before[2], after[2];
    ck_assert_igd_ok(
        igd_session_detect(a, px, IGD_PIXEL_U8, 2, S, S, 1, 0, 0, before, NULL, NULL, 0));
    igd_model_free(m);
    ck_assert_igd_ok(
        igd_session_detect(a, px, IGD_PIXEL_U8, 2, S, S, 1, 0, 0, after, NULL, NULL, 0));
    ck_assert_mem_eq(before, after, sizeof before);
    igd_session_free(a);
    ck_assert_igd_ok(
        igd_session_detect(b, px, IGD_PIXEL_U8, 2, S, S, 1, 0, 0, after, NULL, NULL, 0));
    ck_assert_mem_eq(before, after, sizeof before);
    ck_assert_int_gt(rel_live_blocks(), start);
    igd_session_free(b);
    ck_assert_int_eq(rel_live_blocks(), start);
    free(px);
}
END_TEST

/* A model file's thread count is not applied: the caller's runtime options decide. */
START_TEST(test_file_threads_not_applied)
{
    igd_model *m = rel_tiny_model("threads=1024", 0);
    ck_assert_int_eq(mdl_threads(m), 1024); /* the creator's own choice */
    size_t size;
    unsigned char *bytes = rel_save(m, 0, &size);
    igd_model_free(m);
    m = load_bytes(bytes, size);
    ck_assert_int_eq(mdl_threads(m), 0);
    /* It saves back as it was. */
    size_t again_size;
    unsigned char *again = rel_save(m, 0, &again_size);
    ck_assert_uint_eq(again_size, size);
    ck_assert_mem_eq(again, bytes, size);
    free(again);
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_THREADS, 2));
    ck_assert_int_eq(mdl_threads(m), 2);
    igd_model_free(m);
    igd_options *rt;
    ck_assert_igd_ok(igd_options_create(&rt));
    ck_assert_igd_ok(igd_options_set_int(rt, IGD_OPT_THREADS, 1));
    ck_assert_igd_ok(igd_model_load_memory(bytes, size, rt, &m));
    ck_assert_int_eq(mdl_threads(m), 1);
    igd_model_free(m);
    igd_options_free(rt);
    free(bytes);
}
END_TEST

/* The numbers in two messages. */
START_TEST(test_message_numbers)
{
    unsigned char px[4] = {0};
    igd_image *img = NULL;
    ck_assert_int_eq(igd_image_from_pixels(px, IGD_PIXEL_U8, 2, 2, 1, 0, &img), IGD_OK);
    igd_image_free(img);
    igd_dataset *ds = NULL;
    ck_assert_int_eq(
        igd_dataset_from_pixels(px, IGD_PIXEL_U8, 1, 24, SIZE_MAX, 1, 0, 0, NULL, NULL, &ds),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(igd_last_error(), "row of 18446744073709551615 pixels"), "message: %s",
                  igd_last_error());
    igd_model *m = rel_tiny_model(NULL, 0);
    size_t size;
    unsigned char *f = rel_save(m, 0, &size);
    igd_model_free(m);
    rel_put_u64(f + 16, UINT64_MAX); /* the header's payload length */
    ck_assert_int_eq(igd_model_load_memory(f, size, NULL, &m), IGD_ERR_CORRUPT);
    ck_assert_msg(strstr(igd_last_error(), "payload of 18446744073709551615"), "message: %s",
                  igd_last_error());
    free(f);
}
END_TEST

/* A FIFO (or anything but a regular file) as a model, image or IDX path fails at once instead of
 * waiting for a writer. */
START_TEST(test_fifo_paths_do_not_hang)
{
    char dir[] = "/tmp/igd-rel-fifo-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/pipe", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    alarm(20); /* a hang fails the test here rather than at Check's timeout */
    igd_model *m = NULL;
    ck_assert_int_eq(igd_model_load(path, NULL, &m), IGD_ERR_IO);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "not a regular file"));
    igd_image *img = NULL;
    ck_assert_int_eq(igd_image_load(path, NULL, &img), IGD_ERR_IO);
    igd_dataset *ds = NULL;
    ck_assert_int_eq(igd_dataset_open_idx(path, NULL, NULL, &ds), IGD_ERR_IO);
    ck_assert_int_eq(igd_model_load(dir, NULL, &m), IGD_ERR_IO); /* a folder */
    alarm(0);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* A huge file that is not a model or an image is refused from its first bytes, before it is
 * read whole (sparse files of 3 GB and 2 GB: nothing near their size is allocated). */
START_TEST(test_files_checked_before_read_whole)
{
    char dir[] = "/tmp/igd-rel-big-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/big", dir);
    rel_alloc_install();
    for (int k = 0; k < 3; k++) {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        if (k == 2) { /* a model header whose payload length disagrees with the size */
            igd_model *m = rel_tiny_model(NULL, 0);
            size_t n;
            unsigned char *bytes = rel_save(m, 0, &n);
            igd_model_free(m);
            ck_assert_uint_eq(fwrite(bytes, 1, 24, f), 24);
            free(bytes);
        } else {
            fputs("not a model and not an image", f);
        }
        fclose(f);
        ck_assert_int_eq(truncate(path, k == 1 ? (off_t)2 << 30 : (off_t)3 << 30), 0);
        rel_alloc_reset_stats();
        if (k == 1) {
            igd_image *img = NULL;
            ck_assert_int_eq(igd_image_load(path, NULL, &img), IGD_ERR_UNSUPPORTED);
        } else {
            igd_model *m = NULL;
            ck_assert_int_eq(igd_model_load(path, NULL, &m), IGD_ERR_CORRUPT);
            if (k == 2)
                ck_assert_ptr_nonnull(strstr(igd_last_error(), "header says a payload"));
        }
        ck_assert_uint_lt(rel_peak_request(), 1 << 20);
    }
    unlink(path);
    rmdir(dir);
}
END_TEST

/* max_image_pixels and max_image_side hold for images read through data sets: by the data
 * set's limits (igd_dataset_load) and by the model's (igd_model_fit). */
START_TEST(test_dataset_images_within_limits)
{
    char dir[] = "/tmp/igd-rel-limits-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    unsigned char *px = rel_images(1, 30, 40, 1, 5);
    igd_image *img;
    ck_assert_igd_ok(igd_image_from_pixels(px, IGD_PIXEL_U8, 40, 30, 1, 0, &img));
    char path[256];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%d.png", dir, i);
        ck_assert_igd_ok(igd_image_save_png(img, path));
    }
    igd_image_free(img);
    free(px);
    igd_dataset *ds;
    ck_assert_igd_ok(igd_dataset_open_folder(dir, 0, &ds));
    ck_assert_igd_ok(igd_dataset_load(ds, 0, &img));
    igd_image_free(img);
    igd_options *lim = rel_tiny_options("max_image_side=32");
    ck_assert_igd_ok(igd_dataset_set_limits(ds, lim));
    ck_assert_int_eq(igd_dataset_load(ds, 0, &img), IGD_ERR_LIMIT);
    igd_dataset *copy;
    ck_assert_igd_ok(igd_dataset_copy(ds, &copy));
    ck_assert_int_eq(igd_dataset_load(copy, 1, &img), IGD_ERR_LIMIT);
    igd_dataset_free(copy);
    igd_dataset_free(ds);
    ck_assert_igd_ok(igd_dataset_open_folder(dir, 0, &ds));
    igd_options_free(lim);
    lim = rel_tiny_options("max_image_pixels=1000,epochs=1");
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(lim, &m));
    ck_assert_int_eq(igd_model_fit(m, ds), IGD_ERR_LIMIT);
    igd_model_free(m);
    igd_options_free(lim);
    igd_dataset_free(ds);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%d.png", dir, i);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

/* Save keeps a replaced file's permissions; a symbolic link at the path is replaced by the file
 * and its target left alone (igd.h). */
START_TEST(test_save_keeps_permissions)
{
    char dir[] = "/tmp/igd-rel-perm-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], target[256], link_path[256];
    snprintf(path, sizeof path, "%s/m.igd", dir);
    snprintf(target, sizeof target, "%s/target.igd", dir);
    snprintf(link_path, sizeof link_path, "%s/link.igd", dir);
    igd_model *m = rel_tiny_model(NULL, 0);
    ck_assert_igd_ok(igd_model_save(m, path, 0));
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_igd_ok(igd_model_save(m, path, 0));
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0600);
    ck_assert_igd_ok(igd_model_save(m, target, 0));
    ck_assert_int_eq(symlink("target.igd", link_path), 0);
    ck_assert_igd_ok(igd_model_save(m, link_path, IGD_SAVE_OPTIMIZER));
    ck_assert_int_eq(lstat(link_path, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    struct stat tb;
    ck_assert_int_eq(stat(target, &tb), 0);
    ck_assert_int_lt(tb.st_size, sb.st_size); /* the target kept the smaller save */
    igd_model_free(m);
    unlink(path);
    unlink(target);
    unlink(link_path);
    rmdir(dir);
}
END_TEST

Suite *make_contract_suite(void)
{
    Suite *s = suite_create("contract");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_nonfinite_pixels_refused);
    tcase_add_loop_test(tc, test_diverging_training_keeps_a_loadable_state, 0,
                        (int)(sizeof diverging / sizeof diverging[0]));
    tcase_add_test(tc, test_save_refuses_what_load_refuses);
    tcase_add_test(tc, test_nonfinite_score_is_an_error);
    tcase_add_loop_test(tc, test_detect_before_estep_is_state, 0, 2);
    tcase_add_test(tc, test_session_outlives_model);
    tcase_add_test(tc, test_file_threads_not_applied);
    tcase_add_test(tc, test_message_numbers);
    tcase_add_test(tc, test_fifo_paths_do_not_hang);
    tcase_add_test(tc, test_files_checked_before_read_whole);
    tcase_add_test(tc, test_dataset_images_within_limits);
    tcase_add_test(tc, test_save_keeps_permissions);
    suite_add_tcase(s, tc);
    return s;
}
