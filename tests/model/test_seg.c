/* The segmentation head: anomaly synthesis, the head's parameter count, and the head end to end
 * through the public API (fit on normal textures, localisation of defects it never saw, images of
 * other sizes and aspects, model files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/model.h"
#include "model/synth.h"
#include "modeltest.h"

enum { SIDE = 48, CH = 3 };

static void texture(float *x, int channels, int side, uint64_t seed)
{
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < side; y++)
            for (int k = 0; k < side; k++)
                x[((size_t)c * side + y) * side + k] =
                    (float)(0.5 + 0.25 * sin(0.7 * k + 0.3 * y + (double)seed + c));
}

START_TEST(synthesis_marks_what_it_changes)
{
    const size_t plane = SIDE * SIDE;
    float *crop = malloc(sizeof(float) * CH * plane), *orig = malloc(sizeof(float) * CH * plane);
    float *src = malloc(sizeof(float) * CH * plane), *mask = malloc(sizeof(float) * plane);
    float *scratch = malloc(sizeof(float) * mdl_synth_scratch(CH, SIDE));
    for (int kind = 1; kind <= 8; kind <<= 1) {
        core_rng rng;
        core_rng_seed(&rng, 7 + (uint64_t)kind);
        int made = 0;
        for (int trial = 0; trial < 40; trial++) {
            texture(orig, CH, SIDE, (uint64_t)trial);
            texture(src, CH, SIDE, (uint64_t)trial + 100);
            for (size_t k = 0; k < CH * plane; k++)
                src[k] = 1.0f - src[k];
            memcpy(crop, orig, sizeof(float) * CH * plane);
            if (!mdl_synth(&rng, crop, src, CH, SIDE, kind, 1, mask, scratch))
                continue;
            made++;
            size_t marked = 0;
            for (size_t k = 0; k < plane; k++) {
                ck_assert(mask[k] == 0.0f || mask[k] == 1.0f);
                marked += mask[k] > 0;
                for (int c = 0; c < CH; c++) {
                    float v = crop[c * plane + k];
                    ck_assert(v >= 0.0f && v <= 1.0f);
                    if (v == orig[c * plane + k] || mask[k] > 0)
                        continue;
                    /* Changed outside the mask: only a scar's one-pixel fade, next to it. */
                    ck_assert_int_eq(kind, MDL_SYNTH_SCAR);
                    int y = (int)(k / SIDE), x = (int)(k % SIDE), near = 0;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++) {
                            int yy = y + dy, xx = x + dx;
                            if (yy >= 0 && yy < SIDE && xx >= 0 && xx < SIDE)
                                near |= mask[yy * SIDE + xx] > 0;
                        }
                    ck_assert_msg(near, "kind %d changed (%d, %d) far from its mask", kind, y, x);
                }
            }
            ck_assert_uint_gt(marked, 0);
            ck_assert_uint_lt(marked, plane);
        }
        ck_assert_msg(made >= 20, "kind %d made only %d anomalies in 40 tries", kind, made);
    }
    /* No kinds: nothing happens. */
    core_rng rng;
    core_rng_seed(&rng, 1);
    texture(orig, CH, SIDE, 1);
    memcpy(crop, orig, sizeof(float) * CH * plane);
    ck_assert(!mdl_synth(&rng, crop, src, CH, SIDE, 0, 2, mask, scratch));
    ck_assert_mem_eq(crop, orig, sizeof(float) * CH * plane);
    free(crop);
    free(orig);
    free(src);
    free(mask);
    free(scratch);
}
END_TEST

START_TEST(synthesis_is_deterministic)
{
    const size_t plane = SIDE * SIDE;
    float *a = malloc(sizeof(float) * plane * 2), *b = a + plane,
          *src = malloc(sizeof(float) * plane);
    float *ma = malloc(sizeof(float) * plane * 2), *mb = ma + plane;
    float *scratch = malloc(sizeof(float) * mdl_synth_scratch(1, SIDE));
    texture(src, 1, SIDE, 9);
    for (int run = 0; run < 2; run++) {
        core_rng rng;
        core_rng_seed(&rng, 42);
        texture(run ? b : a, 1, SIDE, 3);
        for (int i = 0; i < 5; i++)
            mdl_synth(&rng, run ? b : a, src, 1, SIDE, MDL_SYNTH_ALL, 2, run ? mb : ma, scratch);
    }
    ck_assert_mem_eq(a, b, sizeof(float) * plane);
    ck_assert_mem_eq(ma, mb, sizeof(float) * plane);
    /* Noise stays in about -1..1 and is not constant. */
    core_rng rng;
    core_rng_seed(&rng, 3);
    mdl_synth_noise(&rng, SIDE, 4, 3, a, scratch);
    float lo = 1e9f, hi = -1e9f;
    for (size_t k = 0; k < plane; k++) {
        lo = a[k] < lo ? a[k] : lo;
        hi = a[k] > hi ? a[k] : hi;
    }
    ck_assert(lo >= -1.5f && hi <= 1.5f && hi - lo > 0.3f);
    free(a);
    free(src);
    free(ma);
    free(scratch);
}
END_TEST

START_TEST(head_parameter_count_matches_the_network)
{
    for (int depth = 1; depth <= 3; depth++)
        for (int ch = 1; ch <= 3; ch += 2) {
            igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_CHANNELS, ch));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_WIDTH, 4));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_DEPTH, depth));
            ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_TILE, 32));
            igd_model *m;
            ck_assert_igd_ok(igd_model_create(o, &m));
            size_t count = 0;
            for (size_t p = 0; p < m->seg.params.count; p++)
                count += m->seg.params.items[p].count;
            ck_assert_double_eq((double)count, mdl_segnet_param_count(&m->seg.arch));
            igd_model_free(m);
            igd_options_free(o);
        }
    /* A tile not divisible by 2^depth is refused. */
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_WIDTH, 4));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_TILE, 36));
    igd_model *m = NULL;
    ck_assert_int_eq(igd_model_create(o, &m), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "segmentation"));
    igd_options_free(o);
}
END_TEST

/* Grey wood-like texture h x w with a random phase; defect 1 draws a dark stroke, 2 a bright
 * blob; mask (may be NULL) receives 1 on the defect. */
static void make_image(unsigned char *img, unsigned char *mask, size_t h, size_t w, int defect,
                       uint64_t *seed)
{
    float r[5];
    tu_fill_uniform(r, 5, 0, 1, seed);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            float n;
            tu_fill_uniform(&n, 1, -0.04f, 0.04f, seed);
            double v = 0.5 + 0.2 * sin(0.9 * x + 0.15 * y + 6.28 * r[0]) +
                       0.1 * sin(0.23 * y + 6.28 * r[1]) + n;
            img[y * w + x] = (unsigned char)(fmin(1, fmax(0, v)) * 255);
            if (mask)
                mask[y * w + x] = 0;
        }
    if (!defect)
        return;
    const double cy = 8 + r[2] * (h - 16), cx = 8 + r[3] * (w - 16);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            double dy = y - cy, dx = x - cx;
            bool in =
                defect == 1 ? fabs(dy - 0.5 * dx) < 1.5 && fabs(dx) < 9 : dy * dy + dx * dx < 12;
            if (!in)
                continue;
            img[y * w + x] = defect == 1 ? 30 : 240;
            if (mask)
                mask[y * w + x] = 1;
        }
}

static igd_options *head_options(void)
{
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_EPOCHS, 0));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_WIDTH, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_DEPTH, 2));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_TILE, 32));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_STEPS, 200));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEG_BATCH, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_THREADS, 2));
    /* Scores from the head alone. */
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_SCORE_REC_WEIGHT, 0));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_SCORE_GAUSS_WEIGHT, 0));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_HEATMAP_SMOOTH, 0));
    return o;
}

START_TEST(head_localises_defects_it_never_saw)
{
    const size_t n = 24, h = 40, w = 72;
    unsigned char *train = malloc(n * h * w);
    uint64_t seed = 5;
    for (size_t i = 0; i < n; i++)
        make_image(train + i * h * w, NULL, h, w, 0, &seed);
    igd_dataset *ds;
    ck_assert_igd_ok(
        igd_dataset_from_pixels(train, IGD_PIXEL_U8, n, h, w, 1, 0, 0, NULL, NULL, &ds));
    igd_options *o = head_options();
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    igd_options_free(o);
    ck_assert_igd_ok(igd_model_fit(m, ds));
    igd_dataset_free(ds);

    /* Test images of another size and aspect than the training ones. */
    const size_t tn = 24, th = 56, tw = 44;
    unsigned char *img = malloc(th * tw), *mask = malloc(th * tw);
    float *map = malloc(sizeof(float) * th * tw);
    double scores[24];
    int labels[24];
    igd_pixel_metrics *pm;
    ck_assert_igd_ok(igd_pixel_metrics_create(&pm));
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    for (size_t i = 0; i < tn; i++) {
        int defect = (int)(i % 3);
        make_image(img, mask, th, tw, defect, &seed);
        double parts[IGD_PART_COUNT];
        ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, 1, th, tw, 1, 0, 0, &scores[i],
                                            NULL, parts, IGD_PART_COUNT));
        ck_assert(parts[IGD_PART_SEG] >= 0 && parts[IGD_PART_SEG] <= 1);
        ck_assert_double_eq_tol(scores[i], parts[IGD_PART_SEG], 1e-12);
        labels[i] = defect != 0;
        ck_assert_igd_ok(igd_session_heatmap(s, img, IGD_PIXEL_U8, 1, th, tw, 1, 0, 0, map));
        for (size_t k = 0; k < th * tw; k++)
            ck_assert(map[k] >= 0 && map[k] <= 1);
        if (defect)
            ck_assert_igd_ok(igd_pixel_metrics_add(pm, map, mask, tw, th));
    }
    double image_auroc, pixel_auroc;
    ck_assert_igd_ok(igd_metric_auroc(scores, labels, tn, &image_auroc));
    ck_assert_igd_ok(igd_pixel_metrics_auroc(pm, &pixel_auroc));
    printf("segmentation head on unseen defects: image AUROC %.3f, pixel AUROC %.3f\n", image_auroc,
           pixel_auroc);
    ck_assert_double_gt(image_auroc, 0.8);
    ck_assert_double_gt(pixel_auroc, 0.85);

    /* A long image: the map has its size, and the head runs over several tiles. */
    const size_t lh = 30, lw = 170;
    unsigned char *longimg = malloc(lh * lw);
    float *longmap = malloc(sizeof(float) * lh * lw);
    make_image(longimg, NULL, lh, lw, 0, &seed);
    ck_assert_igd_ok(igd_session_heatmap(s, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, longmap));
    for (size_t k = 0; k < lh * lw; k++)
        ck_assert(isfinite(longmap[k]));

    /* The model file keeps the head: the same scores and maps after loading. */
    size_t size = 0;
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_DEFAULT, NULL, 0, &size));
    unsigned char *buf = malloc(size);
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_DEFAULT, buf, size, &size));
    ck_assert_uint_eq(buf[8], 2); /* format version 2 */
    igd_model *back;
    ck_assert_igd_ok(igd_model_load_memory(buf, size, NULL, &back));
    igd_session *s2;
    ck_assert_igd_ok(igd_session_create(back, &s2));
    float *map2 = malloc(sizeof(float) * lh * lw);
    ck_assert_igd_ok(igd_session_heatmap(s2, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, map2));
    ck_assert_mem_eq(longmap, map2, sizeof(float) * lh * lw);
    double a, b, parts[IGD_PART_COUNT], parts2[IGD_PART_COUNT];
    ck_assert_igd_ok(igd_session_detect(s, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, &a, NULL,
                                        parts, IGD_PART_COUNT));
    ck_assert_igd_ok(
        igd_session_detect(s2, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, &b, NULL, NULL, 0));
    ck_assert_double_eq(a, b);
    /* Score and map in one call: the same as the two calls. */
    ck_assert_igd_ok(igd_session_analyze(s2, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, &b, NULL,
                                         parts2, IGD_PART_COUNT, map2));
    ck_assert_double_eq(a, b);
    ck_assert_mem_eq(parts, parts2, sizeof parts);
    ck_assert_mem_eq(longmap, map2, sizeof(float) * lh * lw);
    ck_assert_int_eq(
        igd_session_analyze(s2, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, &b, NULL, NULL, 0, NULL),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_session_analyze(NULL, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, &b, NULL,
                                         NULL, 0, map2),
                     IGD_ERR_INVALID_ARGUMENT);
    /* Mixed heatmaps: a share of the IGD model's map beside the head's. */
    ck_assert_igd_ok(igd_model_set_option_real(back, IGD_OPT_SEG_HEATMAP_WEIGHT, 0.5));
    igd_session_free(s2);
    ck_assert_igd_ok(igd_session_create(back, &s2));
    ck_assert_igd_ok(igd_session_heatmap(s2, longimg, IGD_PIXEL_U8, 1, lh, lw, 1, 0, 0, map2));
    ck_assert(memcmp(longmap, map2, sizeof(float) * lh * lw) != 0);
    igd_session_free(s2);
    igd_model_free(back);
    igd_session_free(s);
    igd_model_free(m);
    igd_pixel_metrics_free(pm);
    free(buf);
    free(map2);
    free(longimg);
    free(longmap);
    free(img);
    free(mask);
    free(map);
    free(train);
}
END_TEST

/* IGD_OPT_LOCAL_SCALE: the local model cuts patches from the image scaled with its aspect kept;
 * images of several sizes train, fill one memory position and get maps of their own size that
 * peak at a defect. IGD_OPT_GLOBAL_LETTERBOX keeps the global model's aspect. */
START_TEST(native_local_model_and_letterbox)
{
    igd_options *o = mt_tiny_options(3);
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_LOCAL_SCALE, 0.5));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_GLOBAL_LETTERBOX, 1));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MEMORY_SIZE, 500));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_SCORE_REC_WEIGHT, 0));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_HEATMAP_GLOBAL_WEIGHT, 0));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_HEATMAP_SMOOTH, 1));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_PATCH_STRIDE, 4));
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    const size_t n = 8, h1 = 40, w1 = 72, h2 = 64, w2 = 36;
    unsigned char *a = malloc(n * h1 * w1), *b = malloc(n * h2 * w2);
    uint64_t seed = 3;
    for (size_t i = 0; i < n; i++) {
        make_image(a + i * h1 * w1, NULL, h1, w1, 0, &seed);
        make_image(b + i * h2 * w2, NULL, h2, w2, 0, &seed);
    }
    for (int id = 1; id <= 2; id++) {
        ck_assert_igd_ok(igd_model_estep_begin(m, (igd_net)id));
        ck_assert_igd_ok(igd_model_estep_add(m, (igd_net)id, a, IGD_PIXEL_U8, n, h1, w1, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_add(m, (igd_net)id, b, IGD_PIXEL_U8, n, h2, w2, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(m, (igd_net)id));
        ck_assert_igd_ok(
            igd_model_train_step(m, (igd_net)id, a, IGD_PIXEL_U8, 4, h1, w1, 1, 0, 0, NULL, 0));
        ck_assert_igd_ok(
            igd_model_train_step(m, (igd_net)id, b, IGD_PIXEL_U8, 4, h2, w2, 1, 0, 0, NULL, 0));
    }
    /* One memory position for every patch of every size. */
    ck_assert_uint_eq(m->net[MDL_LOCAL].memory.positions, 1);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    size_t rows, cols;
    ck_assert_int_eq(igd_session_patch_grid(s, &rows, &cols), IGD_ERR_STATE);
    /* Latents follow each image's grid: 36 x 20 at half scale, 8-pixel patches, stride 4. */
    float z[8 * 4 * 8];
    ck_assert_igd_ok(igd_session_encode(s, IGD_NET_LOCAL, a, IGD_PIXEL_U8, 1, h1, w1, 1, 0, 0, z,
                                        sizeof z / sizeof z[0]));
    ck_assert_int_eq(igd_session_encode(s, IGD_NET_LOCAL, a, IGD_PIXEL_U8, 1, h1, w1, 1, 0, 0, z,
                                        sizeof z / sizeof z[0] - 1),
                     IGD_ERR_INVALID_ARGUMENT);
    /* A defect in an image of a third size: the local map peaks there. */
    const size_t th = 48, tw = 100;
    unsigned char *t = malloc(th * tw);
    make_image(t, NULL, th, tw, 0, &seed);
    for (size_t y = 20; y < 28; y++)
        for (size_t x = 70; x < 80; x++)
            t[y * tw + x] = 250;
    float *map = malloc(sizeof(float) * th * tw);
    ck_assert_igd_ok(igd_session_heatmap(s, t, IGD_PIXEL_U8, 1, th, tw, 1, 0, 0, map));
    size_t best = 0;
    for (size_t k = 1; k < th * tw; k++)
        if (map[k] > map[best])
            best = k;
    ck_assert_msg(best / tw >= 14 && best / tw < 34 && best % tw >= 62 && best % tw < 88,
                  "the map peaks at (%zu, %zu), not at the defect", best / tw, best % tw);
    double score;
    ck_assert_igd_ok(
        igd_session_detect(s, t, IGD_PIXEL_U8, 1, th, tw, 1, 0, 0, &score, NULL, NULL, 0));
    ck_assert(isfinite(score));
    /* The model file keeps the options: the same scores after loading. */
    size_t size = 0;
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_DEFAULT, NULL, 0, &size));
    unsigned char *buf = malloc(size);
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_DEFAULT, buf, size, &size));
    igd_model *back;
    ck_assert_igd_ok(igd_model_load_memory(buf, size, NULL, &back));
    igd_session *s2;
    ck_assert_igd_ok(igd_session_create(back, &s2));
    double again;
    ck_assert_igd_ok(
        igd_session_detect(s2, t, IGD_PIXEL_U8, 1, th, tw, 1, 0, 0, &again, NULL, NULL, 0));
    ck_assert_double_eq(score, again);
    igd_session_free(s2);
    igd_model_free(back);
    free(buf);
    igd_session_free(s);
    igd_model_free(m);

    /* Letterboxing leaves square images alone and changes the global model's view of others. */
    double sq[2], rect[2];
    unsigned char *square = malloc(24 * 24);
    make_image(square, NULL, 24, 24, 0, &seed);
    for (int lb = 0; lb < 2; lb++) {
        igd_options *g = mt_tiny_options(IGD_NET_GLOBAL);
        ck_assert_igd_ok(igd_options_set_int(g, IGD_OPT_GLOBAL_LETTERBOX, lb));
        igd_model *gm;
        ck_assert_igd_ok(igd_model_create(g, &gm));
        igd_options_free(g);
        ck_assert_igd_ok(igd_model_estep_begin(gm, IGD_NET_GLOBAL));
        ck_assert_igd_ok(
            igd_model_estep_add(gm, IGD_NET_GLOBAL, square, IGD_PIXEL_U8, 1, 24, 24, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(gm, IGD_NET_GLOBAL));
        igd_session *gs;
        ck_assert_igd_ok(igd_session_create(gm, &gs));
        ck_assert_igd_ok(igd_session_detect(gs, square, IGD_PIXEL_U8, 1, 24, 24, 1, 0, 0, &sq[lb],
                                            NULL, NULL, 0));
        ck_assert_igd_ok(
            igd_session_detect(gs, a, IGD_PIXEL_U8, 1, h1, w1, 1, 0, 0, &rect[lb], NULL, NULL, 0));
        igd_session_free(gs);
        igd_model_free(gm);
    }
    ck_assert_double_eq(sq[0], sq[1]);
    ck_assert_double_ne(rect[0], rect[1]);
    free(square);
    free(map);
    free(t);
    free(a);
    free(b);
    igd_options_free(o);
}
END_TEST

Suite *make_seg_suite(void)
{
    Suite *s = suite_create("seg");
    TCase *t = tcase_create("seg");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, synthesis_marks_what_it_changes);
    tcase_add_test(t, synthesis_is_deterministic);
    tcase_add_test(t, head_parameter_count_matches_the_network);
    tcase_add_test(t, head_localises_defects_it_never_saw);
    tcase_add_test(t, native_local_model_and_letterbox);
    suite_add_tcase(s, t);
    return s;
}
