/* Allocation failures: for each operation, the Nth allocation fails, for N = 0, 1, 2, ... until
 * the operation succeeds. Each failure must return IGD_ERR_OUT_OF_MEMORY, leak nothing, and leave
 * the objects involved usable (the same call then succeeds) or cleanly freeable. oneDNN's and
 * TurboJPEG's own allocations do not go through the hook, so they are not failed here. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rel.h"

enum { S = 16, N = 4, LIMIT = 200000 };

typedef igd_status (*op_fn)(void *ctx);
typedef void (*undo_fn)(void *ctx);

/* Runs op with the Nth allocation failing until it succeeds; returns the number of failing
 * rounds. op returns the status; `undo` (may be NULL) releases what a success made. With
 * `persistent` false, every failure must leave the live blocks exactly as they were. With it
 * true (ops on a model or session, which may keep caches they build lazily: graphs, views), the
 * caller compares the growth after the final success with a failure-free run's. */
static long fail_until(op_fn op, undo_fn undo, void *ctx, const char *what, bool persistent)
{
    for (long n = 0; n < LIMIT; n++) {
        long blocks = rel_live_blocks();
        size_t bytes = rel_live_bytes();
        rel_fail_after(n);
        igd_status st = op(ctx);
        rel_fail_after(-1);
        if (st == IGD_OK) {
            if (undo)
                undo(ctx);
            return n;
        }
        ck_assert_msg(st == IGD_ERR_OUT_OF_MEMORY, "%s: allocation %ld failed: %s (%s)", what, n,
                      igd_status_string(st), igd_last_error());
        ck_assert_msg(persistent || (rel_live_blocks() == blocks && rel_live_bytes() == bytes),
                      "%s: allocation %ld failed: %ld blocks leaked", what, n,
                      rel_live_blocks() - blocks);
    }
    ck_abort_msg("%s: never succeeded", what);
    return -1;
}

static long fail_until_success(op_fn op, undo_fn undo, void *ctx, const char *what)
{
    return fail_until(op, undo, ctx, what, false);
}

/* For ops on persistent objects: the live blocks a failure-free op adds (measured by `ref`, run
 * on a twin object) must equal what the op adds after any number of failed attempts. */
static void fail_until_success_persistent(op_fn op, void *ctx, void *twin, const char *what)
{
    long before = rel_live_blocks();
    ck_assert_igd_ok(op(twin));
    long want = rel_live_blocks() - before;
    before = rel_live_blocks();
    fail_until(op, NULL, ctx, what, true);
    ck_assert_msg(rel_live_blocks() - before == want,
                  "%s: after failed attempts the op keeps %ld blocks, a clean run %ld", what,
                  rel_live_blocks() - before, want);
}

/* ---- create and load ---- */

typedef struct make_ctx {
    igd_options *opts;
    const unsigned char *data;
    size_t size;
    igd_model *model;
} make_ctx;

static igd_status op_create(void *p)
{
    make_ctx *c = p;
    return igd_model_create(c->opts, &c->model);
}

static igd_status op_load(void *p)
{
    make_ctx *c = p;
    return igd_model_load_memory(c->data, c->size, NULL, &c->model);
}

static void undo_model(void *p)
{
    make_ctx *c = p;
    igd_model_free(c->model);
    c->model = NULL;
}

START_TEST(test_create)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    make_ctx c = {rel_tiny_options(_i ? "nets=3" : NULL), NULL, 0, NULL};
    long rounds = fail_until_success(op_create, undo_model, &c, "create");
    ck_assert_int_gt(rounds, 0);
    igd_options_free(c.opts);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

START_TEST(test_load)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    igd_model *m = rel_tiny_model(_i ? "nets=3" : NULL, 1);
    size_t size;
    unsigned char *bytes = rel_save(m, IGD_SAVE_OPTIMIZER, &size);
    igd_model_free(m);
    make_ctx c = {NULL, bytes, size, NULL};
    ck_assert_int_gt(fail_until_success(op_load, undo_model, &c, "load"), 0);
    free(bytes);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

/* ---- decode ---- */

typedef struct decode_ctx {
    unsigned char *data;
    size_t size;
    igd_image *image;
} decode_ctx;

static igd_status op_decode(void *p)
{
    decode_ctx *c = p;
    return igd_image_decode(c->data, c->size, NULL, &c->image);
}

static void undo_image(void *p)
{
    decode_ctx *c = p;
    igd_image_free(c->image);
    c->image = NULL;
}

START_TEST(test_decode)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    /* An RGB image, encoded by the library: as PNG, then (through a grey copy) as PNG again. */
    unsigned char *px = rel_images(1, 23, 17, 3, 3);
    igd_image *img;
    ck_assert_igd_ok(igd_image_from_pixels(px, IGD_PIXEL_U8, 17, 23, 3, 0, &img));
    decode_ctx c = {NULL, 0, NULL};
    ck_assert_igd_ok(igd_image_encode_png(img, NULL, 0, &c.size));
    c.data = malloc(c.size);
    ck_assert_igd_ok(igd_image_encode_png(img, c.data, c.size, &c.size));
    igd_image_free(img);
    ck_assert_int_gt(fail_until_success(op_decode, undo_image, &c, "decode PNG"), 0);
    free(c.data);
    free(px);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

/* A JPEG: the smallest valid baseline greyscale file we can write by hand is long; instead the
 * fuzz corpus's seeds are used when present (tests/fuzz/corpus/jpeg), skipped otherwise. */
START_TEST(test_decode_jpeg)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    char path[512];
    snprintf(path, sizeof path, "%s/grey.jpg", REL_JPEG_CORPUS);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s is missing", path);
    decode_ctx c = {malloc(1 << 16), 0, NULL};
    c.size = fread(c.data, 1, 1 << 16, f);
    fclose(f);
    fail_until_success(op_decode, undo_image, &c, "decode JPEG");
    free(c.data);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

/* ---- training, E-step ---- */

typedef struct train_ctx {
    igd_model *model;
    unsigned char *px;
    int net;
} train_ctx;

static igd_status op_train(void *p)
{
    train_ctx *c = p;
    double losses[IGD_LOSS_COUNT];
    return igd_model_train_step(c->model, (igd_net)c->net, c->px, IGD_PIXEL_U8, N, S, S, 1, 0, 0,
                                losses, IGD_LOSS_COUNT);
}

static igd_status op_estep(void *p)
{
    train_ctx *c = p;
    igd_status st = igd_model_estep_begin(c->model, (igd_net)c->net);
    if (st == IGD_OK)
        st = igd_model_estep_add(c->model, (igd_net)c->net, c->px, IGD_PIXEL_U8, N, S, S, 1, 0, 0);
    if (st == IGD_OK)
        st = igd_model_estep_finish(c->model, (igd_net)c->net);
    return st;
}

static train_ctx new_train_ctx(int net, uint32_t seed)
{
    igd_options *o = rel_tiny_options("nets=3");
    train_ctx c = {NULL, rel_images(N, S, S, 1, seed), net};
    ck_assert_igd_ok(igd_model_create(o, &c.model));
    igd_options_free(o);
    return c;
}

static void free_train_ctx(train_ctx *c)
{
    igd_model_free(c->model);
    free(c->px);
}

START_TEST(test_train_step)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    int net = _i ? IGD_NET_LOCAL : IGD_NET_GLOBAL;
    train_ctx c = new_train_ctx(net, 5), twin = new_train_ctx(net, 5);
    ck_assert_igd_ok(op_estep(&c));
    ck_assert_igd_ok(op_estep(&twin));
    /* The first step (which may build the training graphs) and a later one. */
    fail_until_success_persistent(op_train, &c, &twin, "first train step");
    fail_until_success_persistent(op_train, &c, &twin, "train step");
    ck_assert_igd_ok(op_train(&c)); /* still usable */
    /* Failed steps changed nothing: both models took the same steps and save the same bytes
     * (the twin's extra step above is matched by c's). */
    size_t a_size, b_size;
    unsigned char *a = rel_save(c.model, IGD_SAVE_OPTIMIZER, &a_size);
    ck_assert_igd_ok(op_train(&twin));
    unsigned char *b = rel_save(twin.model, IGD_SAVE_OPTIMIZER, &b_size);
    ck_assert_uint_eq(a_size, b_size);
    ck_assert_msg(memcmp(a, b, a_size) == 0, "failed train steps changed the model");
    free(a);
    free(b);
    free_train_ctx(&c);
    free_train_ctx(&twin);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

START_TEST(test_estep)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    int net = _i ? IGD_NET_LOCAL : IGD_NET_GLOBAL;
    train_ctx c = new_train_ctx(net, 6), twin = new_train_ctx(net, 6);
    fail_until_success_persistent(op_estep, &c, &twin, "first E-step");
    fail_until_success_persistent(op_estep, &c, &twin, "E-step");
    ck_assert_igd_ok(op_train(&c));
    ck_assert_igd_ok(op_train(&twin));
    size_t a_size, b_size;
    unsigned char *a = rel_save(c.model, IGD_SAVE_OPTIMIZER, &a_size);
    unsigned char *b = rel_save(twin.model, IGD_SAVE_OPTIMIZER, &b_size);
    ck_assert_msg(a_size == b_size && memcmp(a, b, a_size) == 0,
                  "failed E-steps changed the model");
    free(a);
    free(b);
    free_train_ctx(&c);
    free_train_ctx(&twin);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

/* ---- sessions ---- */

typedef struct detect_ctx {
    igd_model *model;
    igd_session *session;
    unsigned char *px;
    double scores[N], parts[N * IGD_PART_COUNT];
    unsigned char anomaly[N];
    float maps[N * 20 * 24];
} detect_ctx;

static igd_status op_session(void *p)
{
    detect_ctx *c = p;
    return igd_session_create(c->model, &c->session);
}

static void undo_session(void *p)
{
    detect_ctx *c = p;
    igd_session_free(c->session);
    c->session = NULL;
}

static igd_status op_detect(void *p)
{
    detect_ctx *c = p;
    return igd_session_detect(c->session, c->px, IGD_PIXEL_U8, N, 20, 24, 1, 0, 0, c->scores,
                              c->anomaly, c->parts, IGD_PART_COUNT);
}

static igd_status op_heatmap(void *p)
{
    detect_ctx *c = p;
    return igd_session_heatmap(c->session, c->px, IGD_PIXEL_U8, N, 20, 24, 1, 0, 0, c->maps);
}

static detect_ctx *new_detect_ctx(igd_model *m)
{
    detect_ctx *c = calloc(1, sizeof *c);
    c->model = m;
    c->px = rel_images(N, 20, 24, 1, 9);
    return c;
}

START_TEST(test_session_detect_heatmap)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    igd_model *m = rel_tiny_model(_i ? "nets=3" : NULL, 1);
    detect_ctx *c = new_detect_ctx(m), *twin = new_detect_ctx(m);
    fail_until_success(op_session, undo_session, c, "session create");
    ck_assert_igd_ok(op_session(c));
    ck_assert_igd_ok(op_session(twin));
    fail_until_success_persistent(op_detect, c, twin, "detect");
    double first[N];
    memcpy(first, c->scores, sizeof first);
    ck_assert(memcmp(first, twin->scores, sizeof first) == 0);
    fail_until_success_persistent(op_heatmap, c, twin, "heatmap");
    ck_assert(memcmp(c->maps, twin->maps, sizeof c->maps) == 0);
    /* Failed calls changed nothing: the session still gives the same scores. */
    ck_assert_igd_ok(op_detect(c));
    ck_assert(memcmp(first, c->scores, sizeof first) == 0);
    igd_session_free(c->session);
    igd_session_free(twin->session);
    igd_model_free(m);
    free(c->px);
    free(twin->px);
    free(c);
    free(twin);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

/* ---- save ---- */

typedef struct save_ctx {
    igd_model *model;
    char path[512];
    char folder[256];
} save_ctx;

static igd_status op_save(void *p)
{
    save_ctx *c = p;
    return igd_model_save(c->model, c->path, IGD_SAVE_OPTIMIZER);
}

static int count_entries(const char *folder)
{
    DIR *d = opendir(folder);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(test_save)
{
    rel_alloc_install();
    long start = rel_live_blocks();
    save_ctx c;
    snprintf(c.folder, sizeof c.folder, "/tmp/igd-rel-save-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(c.folder));
    snprintf(c.path, sizeof c.path, "%s/model.igd", c.folder);
    c.model = rel_tiny_model(NULL, 1);
    /* Failures leave no file at all (first save) and no temporary file. */
    for (long n = 0;; n++) {
        rel_fail_after(n);
        igd_status st = op_save(&c);
        rel_fail_after(-1);
        if (st == IGD_OK)
            break;
        ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
        ck_assert_int_eq(count_entries(c.folder), 0);
    }
    ck_assert_int_eq(count_entries(c.folder), 1);
    igd_model *back;
    ck_assert_igd_ok(igd_model_load(c.path, NULL, &back));
    igd_model_free(back);
    fail_until_success(op_save, NULL, &c, "save over an existing file");
    ck_assert_int_eq(count_entries(c.folder), 1);
    igd_model_free(c.model);
    unlink(c.path);
    rmdir(c.folder);
    ck_assert_int_eq(rel_live_blocks(), start);
}
END_TEST

Suite *make_alloc_failures_suite(void)
{
    Suite *s = suite_create("alloc_failures");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_create, 0, 2);
    tcase_add_loop_test(tc, test_load, 0, 2);
    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_decode_jpeg);
    tcase_add_loop_test(tc, test_train_step, 0, 2);
    tcase_add_loop_test(tc, test_estep, 0, 2);
    tcase_add_loop_test(tc, test_session_detect_heatmap, 0, 2);
    tcase_add_test(tc, test_save);
    suite_add_tcase(s, tc);
    return s;
}
