/* The model API: creation, E-step, training, detection, heatmaps, calibration, model files,
 * determinism, callbacks, and every function's error paths. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modeltest.h"

START_TEST(create_and_configuration_errors)
{
    igd_model *m = (igd_model *)1;
    ck_assert_int_eq(igd_model_create(NULL, NULL), IGD_ERR_INVALID_ARGUMENT);
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_GLOBAL_SIZE, 18)); /* not divisible by 4 */
    ck_assert_int_eq(igd_model_create(o, &m), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "divisible"));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_GLOBAL_SIZE, 16));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_NETS, 3));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_IMAGE_SIZE, 8));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_PATCH_SIZE, 16));
    ck_assert_int_eq(igd_model_create(o, &m), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_IMAGE_SIZE, 32));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MSSSIM_SCALES, 5)); /* 16 >> 4 < 3 */
    ck_assert_int_eq(igd_model_create(o, &m), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MSSSIM_SCALES, 2));
    ck_assert_igd_ok(igd_model_create(o, &m));
    /* The model keeps its configuration; architecture options are fixed, runtime ones not. */
    igd_options *got;
    int64_t v;
    ck_assert_igd_ok(igd_model_get_options(m, &got));
    ck_assert_igd_ok(igd_options_get_int(got, IGD_OPT_IMAGE_SIZE, &v));
    ck_assert_int_eq(v, 32);
    igd_options_free(got);
    ck_assert_int_eq(igd_model_set_option_int(m, IGD_OPT_BASE_WIDTH, 8), IGD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "base_width"));
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_RHO, 0.3));
    ck_assert_int_eq(igd_model_set_option_real(m, IGD_OPT_RHO, 3.0), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_set_option_int(m, IGD_OPT_RHO, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_set_option_int(m, (igd_option)999, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_THREADS, 1));
    ck_assert_int_eq(igd_model_set_option_int(NULL, IGD_OPT_THREADS, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_get_options(NULL, &got), IGD_ERR_INVALID_ARGUMENT);
    igd_model_free(m);
    igd_model_free(NULL);
    igd_options_free(o);
    ck_assert_str_eq(igd_model_error(NULL), "");
}
END_TEST

START_TEST(normalization_api)
{
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    double mean[1] = {0.25}, sd[1] = {0.4}, gm[1], gs[1];
    ck_assert_igd_ok(igd_model_set_normalization(m, mean, sd, 1));
    ck_assert_igd_ok(igd_model_get_normalization(m, gm, gs, 1));
    ck_assert_double_eq(gm[0], 0.25);
    ck_assert_double_eq(gs[0], 0.4);
    ck_assert_int_eq(igd_model_set_normalization(m, mean, sd, 3), IGD_ERR_INVALID_ARGUMENT);
    sd[0] = 0;
    ck_assert_int_eq(igd_model_set_normalization(m, mean, sd, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_set_normalization(m, NULL, sd, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_get_normalization(m, gm, gs, 2), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_get_normalization(NULL, gm, gs, 1), IGD_ERR_INVALID_ARGUMENT);
    igd_model_free(m);
    igd_options_free(o);
}
END_TEST

START_TEST(estep_matches_direct_computation)
{
    for (int classifier = 0; classifier < 3; classifier++) {
        igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_CLASSIFIER, classifier));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(o, &m));
        igd_options_free(o);
        const size_t n = 40;
        unsigned char *img = mt_images(n, 20, 20, 1, 5);
        ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
        ck_assert_igd_ok(
            igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 25, 20, 20, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_GLOBAL, img + 25 * 400, IGD_PIXEL_U8,
                                             n - 25, 20, 20, 1, 0, 0));
        ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL));
        float center[8], z[40 * 8];
        double spread;
        ck_assert_igd_ok(igd_model_get_center(m, IGD_NET_GLOBAL, center, 8, &spread));
        igd_session *s;
        ck_assert_igd_ok(igd_session_create(m, &s));
        ck_assert_igd_ok(igd_session_encode(s, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, n, 20, 20, 1, 0,
                                            0, z, sizeof z / sizeof z[0]));
        double mu[8] = {0}, var = 0;
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 8; k++)
                mu[k] += z[i * 8 + k] / (double)n;
        for (int k = 0; k < 8; k++) {
            if (fabs(mu[k]) < 0.1)
                mu[k] = mu[k] < 0 ? -0.1 : 0.1;
            ck_assert_double_eq_tol(center[k], mu[k], 1e-5);
        }
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 8; k++)
                var += (z[i * 8 + k] - mu[k]) * (z[i * 8 + k] - mu[k]) / (double)n;
        if (classifier != IGD_CLASSIFIER_GAUSSIAN_MSD)
            ck_assert_double_eq_tol(spread, var, 1e-4 * var);
        else /* the first E-step measures to the zero centre, per 32-latent batch, at least 1 */
            ck_assert_double_ge(spread, 1.0);
        /* Scores use exactly that classifier. */
        double parts[IGD_PART_COUNT], score;
        ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, 1, 20, 20, 1, 0, 0, &score, NULL,
                                            parts, IGD_PART_COUNT));
        double d2 = 0;
        for (int k = 0; k < 8; k++)
            d2 += (z[k] - center[k]) * (z[k] - center[k]);
        double want = classifier == IGD_CLASSIFIER_SVDD ? d2 : 1 - exp(-d2 / spread);
        ck_assert_double_eq_tol(parts[IGD_PART_GLOBAL_CLASSIFIER], want, 1e-5 * (1 + want));
        igd_session_free(s);
        igd_model_free(m);
        free(img);
    }
}
END_TEST

START_TEST(estep_and_train_errors)
{
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    igd_options_free(o);
    unsigned char *img = mt_images(8, 16, 16, 1, 1);
    double losses[IGD_LOSS_COUNT];
    ck_assert_int_eq(igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0,
                                          losses, IGD_LOSS_COUNT),
                     IGD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "E-step"));
    ck_assert_int_eq(igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0),
                     IGD_ERR_STATE);
    ck_assert_int_eq(igd_model_estep_finish(m, IGD_NET_GLOBAL), IGD_ERR_STATE);
    ck_assert_int_eq(igd_model_estep_begin(m, IGD_NET_LOCAL), IGD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "no local model"));
    /* Each call below sets the message anew (the one above does not mention a net's value). */
    ck_assert_int_eq(igd_model_estep_add(m, (igd_net)7, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "net must be"));
    ck_assert_int_eq(igd_model_estep_finish(m, IGD_NET_LOCAL), IGD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "no local model"));
    ck_assert_int_eq(igd_model_estep_finish(m, (igd_net)7), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "net must be"));
    ck_assert_int_eq(igd_model_estep_begin(m, (igd_net)7), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_estep_begin(NULL, IGD_NET_GLOBAL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_model_estep_add(NULL, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_estep_finish(NULL, IGD_NET_GLOBAL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
    ck_assert_int_eq(igd_model_estep_finish(m, IGD_NET_GLOBAL), IGD_ERR_STATE);
    ck_assert_int_eq(igd_model_estep_add(m, IGD_NET_GLOBAL, NULL, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_model_estep_add(m, IGD_NET_GLOBAL, img, (igd_pixel_type)9, 8, 16, 16, 1, 0, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 2, 0, 0),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 0, 16, 16, 1, 0, 0),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 3, 0),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL));
    ck_assert_int_eq(
        igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 1, 16, 16, 1, 0, 0, NULL, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0, NULL, 3),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_model_train_step(NULL, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0, NULL, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_model_train_step(m, IGD_NET_LOCAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0, NULL, 0),
        IGD_ERR_STATE);
    /* A shorter losses buffer receives the first terms only. */
    double two[3] = {-1, -1, -7};
    ck_assert_igd_ok(
        igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 16, 16, 1, 0, 0, two, 2));
    ck_assert(two[0] > 0 && two[1] >= 0 && two[2] == -7);
    float c[8];
    double spread;
    ck_assert_int_eq(igd_model_get_center(m, IGD_NET_GLOBAL, c, 4, &spread),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_get_center(m, IGD_NET_LOCAL, c, 8, &spread), IGD_ERR_STATE);
    ck_assert_int_eq(igd_model_get_center(NULL, IGD_NET_GLOBAL, c, 8, &spread),
                     IGD_ERR_INVALID_ARGUMENT);
    free(img);
    igd_model_free(m);
}
END_TEST

/* Images in every accepted form give the same scores: 8-bit, float, strided, RGB to grey. */
START_TEST(detect_accepts_every_pixel_layout)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 2);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    const size_t n = 6, h = 24, w = 24;
    unsigned char *u8 = mt_images(n, h, w, 1, 9);
    float *f32 = malloc(sizeof(float) * n * h * w);
    for (size_t i = 0; i < n * h * w; i++)
        f32[i] = u8[i] / 255.0f;
    /* A strided copy: rows of 40 bytes, images 1000 bytes apart. */
    unsigned char *wide = calloc(n, 1000);
    for (size_t i = 0; i < n; i++)
        for (size_t y = 0; y < h; y++)
            memcpy(wide + i * 1000 + y * 40, u8 + (i * h + y) * w, w);
    unsigned char *rgb = malloc(n * h * w * 3);
    for (size_t i = 0; i < n * h * w; i++)
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = u8[i];
    double a[6], b[6], c[6], d[6];
    ck_assert_igd_ok(igd_session_detect(s, u8, IGD_PIXEL_U8, n, h, w, 1, 0, 0, a, NULL, NULL, 0));
    ck_assert_igd_ok(igd_session_detect(s, f32, IGD_PIXEL_F32, n, h, w, 1, 0, 0, b, NULL, NULL, 0));
    ck_assert_igd_ok(
        igd_session_detect(s, wide, IGD_PIXEL_U8, n, h, w, 1, 40, 1000, c, NULL, NULL, 0));
    ck_assert_igd_ok(igd_session_detect(s, rgb, IGD_PIXEL_U8, n, h, w, 3, 0, 0, d, NULL, NULL, 0));
    for (size_t i = 0; i < n; i++) {
        ck_assert(a[i] > 0 && isfinite(a[i]));
        ck_assert_double_eq_tol(a[i], b[i], 1e-5 * a[i]);
        ck_assert(a[i] == c[i]);
        ck_assert_double_eq_tol(a[i], d[i], 1e-3 * a[i]);
    }
    /* One image at a time (a batch-1 graph) gives the batch's scores bit for bit. */
    for (size_t i = 0; i < n; i++) {
        double one;
        ck_assert_igd_ok(igd_session_detect(s, u8 + i * h * w, IGD_PIXEL_U8, 1, h, w, 1, 0, 0, &one,
                                            NULL, NULL, 0));
        ck_assert(one == a[i]);
    }
    free(u8);
    free(f32);
    free(wide);
    free(rgb);
    igd_session_free(s);
    igd_model_free(m);
}
END_TEST

/* IGD_OPT_STANDARDIZE: an image and a copy with other brightness and contrast (no clipping) get
 * the same score and heatmap; without it they do not. A flat image stays finite. */
START_TEST(standardize_removes_brightness_and_contrast)
{
    const size_t n = 4, h = 24, w = 24, count = n * h * w;
    unsigned char *u8 = mt_images(n, h, w, 1, 12);
    float *x = malloc(sizeof(float) * count), *dim = malloc(sizeof(float) * count);
    float *map_x = malloc(sizeof(float) * count), *map_dim = malloc(sizeof(float) * count);
    for (size_t i = 0; i < count; i++) {
        x[i] = u8[i] / 255.0f;
        dim[i] = 0.3f + 0.5f * x[i];
    }
    for (int on = 0; on < 2; on++) {
        igd_options *o = mt_tiny_options(IGD_NET_GLOBAL | IGD_NET_LOCAL);
        ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_STANDARDIZE, on ? 3.0 : 0.0));
        igd_model *m = mt_trained_model_from(o, IGD_NET_GLOBAL | IGD_NET_LOCAL, 2);
        igd_session *s;
        ck_assert_igd_ok(igd_session_create(m, &s));
        double a[4], b[4];
        ck_assert_igd_ok(
            igd_session_detect(s, x, IGD_PIXEL_F32, n, h, w, 1, 0, 0, a, NULL, NULL, 0));
        ck_assert_igd_ok(
            igd_session_detect(s, dim, IGD_PIXEL_F32, n, h, w, 1, 0, 0, b, NULL, NULL, 0));
        ck_assert_igd_ok(igd_session_heatmap(s, x, IGD_PIXEL_F32, n, h, w, 1, 0, 0, map_x));
        ck_assert_igd_ok(igd_session_heatmap(s, dim, IGD_PIXEL_F32, n, h, w, 1, 0, 0, map_dim));
        double score_gap = 0, map_gap = 0, map_max = 0;
        for (size_t i = 0; i < n; i++)
            score_gap = fmax(score_gap, fabs(a[i] - b[i]) / a[i]);
        for (size_t i = 0; i < count; i++) {
            map_gap = fmax(map_gap, fabs((double)map_x[i] - map_dim[i]));
            map_max = fmax(map_max, map_x[i]);
        }
        if (on) {
            ck_assert_msg(score_gap < 1e-4, "scores differ by %g", score_gap);
            ck_assert_msg(map_gap < 1e-4 * map_max, "maps differ by %g of %g", map_gap, map_max);
        } else {
            ck_assert_msg(score_gap > 1e-3, "scores differ by only %g", score_gap);
        }
        float flat[24 * 24];
        for (size_t i = 0; i < h * w; i++)
            flat[i] = 0.7f;
        double f;
        ck_assert_igd_ok(
            igd_session_detect(s, flat, IGD_PIXEL_F32, 1, h, w, 1, 0, 0, &f, NULL, NULL, 0));
        ck_assert(isfinite(f) && f >= 0);
        igd_session_free(s);
        igd_model_free(m);
    }
    free(u8);
    free(x);
    free(dim);
    free(map_x);
    free(map_dim);
}
END_TEST

START_TEST(detect_parts_decisions_and_thresholds)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 2);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    const size_t n = 6, h = 30, w = 20;
    unsigned char *img = mt_images(n, h, w, 1, 21);
    double scores[6], parts[6 * IGD_PART_COUNT], few[6 * 3];
    unsigned char dec[6];
    ck_assert_int_eq(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, scores, dec, NULL, 0),
        IGD_ERR_STATE);
    double t;
    ck_assert_int_eq(igd_model_get_threshold(m, &t), IGD_ERR_STATE);
    ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, scores, NULL, parts,
                                        IGD_PART_COUNT));
    for (size_t i = 0; i < n; i++) {
        const double *p = parts + i * IGD_PART_COUNT;
        ck_assert(p[IGD_PART_SCORE] == scores[i]);
        ck_assert_double_eq_tol(p[IGD_PART_SCORE], p[IGD_PART_GLOBAL] + p[IGD_PART_LOCAL], 1e-12);
        ck_assert_double_eq_tol(p[IGD_PART_GLOBAL],
                                p[IGD_PART_GLOBAL_REC] + p[IGD_PART_GLOBAL_CLASSIFIER], 1e-12);
        ck_assert_double_eq_tol(p[IGD_PART_LOCAL],
                                p[IGD_PART_LOCAL_REC] + p[IGD_PART_LOCAL_CLASSIFIER], 1e-12);
        ck_assert(p[IGD_PART_GLOBAL_CLASSIFIER] >= 0 && p[IGD_PART_GLOBAL_CLASSIFIER] <= 1);
    }
    /* The threshold at the median: half the images are anomalous, normalised 0.5 there. */
    ck_assert_igd_ok(igd_model_calibrate(m, scores, n, 0.5));
    ck_assert_igd_ok(igd_model_get_threshold(m, &t));
    ck_assert_igd_ok(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, scores, dec, few, 3));
    int anomalous = 0;
    double norm[6];
    ck_assert_igd_ok(igd_model_normalize_scores(m, scores, n, norm));
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(dec[i], scores[i] >= t);
        anomalous += dec[i];
        ck_assert(few[i * 3] == scores[i]);
        ck_assert_double_eq_tol(few[i * 3 + IGD_PART_NORMALIZED], norm[i], 1e-15);
        ck_assert(norm[i] >= 0 && norm[i] < 1);
        ck_assert((norm[i] >= 0.5) == (scores[i] >= t));
        double want = scores[i] <= t ? 0.5 * scores[i] / t : 1 - 0.5 * t / scores[i];
        ck_assert_double_eq_tol(norm[i], want, 1e-15);
    }
    ck_assert_int_eq(anomalous, 3);
    /* Without the reconstruction in scores, the same scores whether or not the parts (which need
     * the decoders) are asked for; the asked parts hold the reconstruction terms all the same. */
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_SCORE_REC_WEIGHT, 0));
    double bare[6];
    ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, scores, NULL, parts,
                                        IGD_PART_COUNT));
    ck_assert_igd_ok(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, bare, NULL, NULL, 0));
    ck_assert_mem_eq(bare, scores, sizeof bare);
    ck_assert_igd_ok(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, bare, NULL, few, 3));
    ck_assert_mem_eq(bare, scores, sizeof bare);
    for (size_t i = 0; i < n; i++) {
        const double *p = parts + i * IGD_PART_COUNT;
        ck_assert(p[IGD_PART_GLOBAL_REC] > 0 && p[IGD_PART_LOCAL_REC] > 0);
        ck_assert(p[IGD_PART_GLOBAL] == p[IGD_PART_GLOBAL_CLASSIFIER]);
        ck_assert(few[i * 3] == scores[i]);
    }
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_SCORE_REC_WEIGHT, 1));
    ck_assert_igd_ok(igd_model_set_threshold(m, 2.5));
    ck_assert_igd_ok(igd_model_get_threshold(m, &t));
    ck_assert_double_eq(t, 2.5);
    ck_assert_int_eq(igd_model_set_threshold(m, -1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_set_threshold(m, NAN), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_set_threshold(NULL, 2.5), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_get_threshold(NULL, &t), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_get_threshold(m, NULL), IGD_ERR_INVALID_ARGUMENT);
    /* A threshold calibrated from scores that are not positive is refused; the old one stays. */
    const double low[3] = {-2, -1, 0};
    ck_assert_int_eq(igd_model_calibrate(m, low, 3, 0.5), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "not positive"));
    ck_assert_igd_ok(igd_model_get_threshold(m, &t));
    ck_assert_double_eq(t, 2.5);
    ck_assert_int_eq(igd_model_calibrate(m, scores, 0, 0.5), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_calibrate(m, scores, n, 1.5), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_calibrate(NULL, scores, n, 0.5), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_normalize_scores(m, NULL, n, norm), IGD_ERR_INVALID_ARGUMENT);
    /* Error paths of detect. */
    ck_assert_int_eq(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, NULL, NULL, NULL, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, scores, NULL, NULL, 2),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_session_detect(s, img, IGD_PIXEL_U8, n, h, w, 4, 0, 0, scores, NULL, NULL, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_session_error(s), "channel"));
    ck_assert_int_eq(
        igd_session_detect(NULL, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0, scores, NULL, NULL, 0),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(igd_session_error(NULL), "");
    free(img);
    igd_session_free(s);
    igd_session_free(NULL);
    igd_model_free(m);
}
END_TEST

START_TEST(encode_and_patch_grid)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 1);
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    size_t rows, cols;
    ck_assert_igd_ok(igd_session_patch_grid(s, &rows, &cols));
    /* image_size 24, patch 8, stride 8: 3 x 3 patches. */
    ck_assert_uint_eq(rows, 3);
    ck_assert_uint_eq(cols, 3);
    unsigned char *img = mt_images(2, 24, 24, 1, 4);
    float z[2 * 9 * 8];
    ck_assert_igd_ok(
        igd_session_encode(s, IGD_NET_LOCAL, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, z, 2 * 9 * 8));
    ck_assert_int_eq(igd_session_encode(s, IGD_NET_LOCAL, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, z,
                                        2 * 9 * 8 - 1),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_igd_ok(
        igd_session_encode(s, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, z, 16));
    ck_assert_int_eq(
        igd_session_encode(s, (igd_net)0, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, z, 16),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_session_encode(s, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, NULL, 16),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_session_patch_grid(NULL, &rows, &cols), IGD_ERR_INVALID_ARGUMENT);
    /* A stride that does not divide the span adds a last patch at the edge. */
    ck_assert_igd_ok(igd_model_set_option_int(m, IGD_OPT_PATCH_STRIDE, 5));
    ck_assert_igd_ok(igd_session_patch_grid(s, &rows, &cols));
    ck_assert_uint_eq(rows, 5); /* 0, 5, 10, 15, 16 */
    igd_session_free(s);
    igd_model_free(m);
    igd_model *g = mt_trained_model(IGD_NET_GLOBAL, 1);
    ck_assert_igd_ok(igd_session_create(g, &s));
    ck_assert_int_eq(igd_session_patch_grid(s, &rows, &cols), IGD_ERR_STATE);
    ck_assert_int_eq(
        igd_session_encode(s, IGD_NET_LOCAL, img, IGD_PIXEL_U8, 2, 24, 24, 1, 0, 0, z, 100),
        IGD_ERR_STATE);
    igd_session_free(s);
    igd_model_free(g);
    free(img);
    ck_assert_int_eq(igd_session_create(NULL, &s), IGD_ERR_INVALID_ARGUMENT);
}
END_TEST

/* A model that learnt flat grey images: a bright square is where its heatmap peaks. */
START_TEST(heatmap_peaks_at_the_defect)
{
    for (int nets = 1; nets <= 3; nets++) {
        igd_options *o = mt_tiny_options(nets);
        ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_HEATMAP_SMOOTH, 1.0));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(o, &m));
        igd_options_free(o);
        const size_t n = 16, h = 48, w = 40;
        unsigned char *img = malloc(n * h * w);
        uint64_t seed = 1;
        for (size_t i = 0; i < n * h * w; i++) {
            float r;
            tu_fill_uniform(&r, 1, -6, 6, &seed);
            img[i] = (unsigned char)(100 + r);
        }
        for (int id = 1; id <= 2; id++) {
            if (!(nets & id))
                continue;
            ck_assert_igd_ok(igd_model_estep_begin(m, (igd_net)id));
            ck_assert_igd_ok(
                igd_model_estep_add(m, (igd_net)id, img, IGD_PIXEL_U8, n, h, w, 1, 0, 0));
            ck_assert_igd_ok(igd_model_estep_finish(m, (igd_net)id));
            for (int s = 0; s < 30; s++)
                ck_assert_igd_ok(igd_model_train_step(m, (igd_net)id, img + (s % 2) * 8 * h * w,
                                                      IGD_PIXEL_U8, 8, h, w, 1, 0, 0, NULL, 0));
        }
        unsigned char *test = malloc(h * w);
        memcpy(test, img, h * w);
        for (size_t y = 30; y < 38; y++)
            for (size_t x = 8; x < 16; x++)
                test[y * w + x] = 250;
        igd_session *s;
        ck_assert_igd_ok(igd_session_create(m, &s));
        float *map = malloc(sizeof(float) * h * w);
        ck_assert_igd_ok(igd_session_heatmap(s, test, IGD_PIXEL_U8, 1, h, w, 1, 0, 0, map));
        size_t best = 0;
        for (size_t k = 1; k < h * w; k++)
            if (map[k] > map[best])
                best = k;
        size_t by = best / w, bx = best % w;
        ck_assert_msg(by >= 26 && by < 42 && bx >= 4 && bx < 20,
                      "nets %d: the heatmap peaks at (%zu, %zu), not at the defect", nets, by, bx);
        ck_assert_int_eq(igd_session_heatmap(s, test, IGD_PIXEL_U8, 1, h, w, 1, 0, 0, NULL),
                         IGD_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(igd_session_heatmap(NULL, test, IGD_PIXEL_U8, 1, h, w, 1, 0, 0, map),
                         IGD_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(igd_session_heatmap(s, test, IGD_PIXEL_U8, 1, 0, w, 1, 0, 0, map),
                         IGD_ERR_INVALID_ARGUMENT);
        /* A model without a decoder has no reconstruction to map. */
        free(map);
        free(test);
        free(img);
        igd_session_free(s);
        igd_model_free(m);
    }
}
END_TEST

START_TEST(save_load_gives_identical_scores)
{
    igd_model *m = mt_trained_model(IGD_NET_GLOBAL | IGD_NET_LOCAL, 3);
    ck_assert_igd_ok(igd_model_set_threshold(m, 1.25));
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_HEATMAP_SMOOTH, 1.5)); /* not default */
    unsigned char *img = mt_images(5, 24, 24, 1, 33);
    char *dir = tu_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/model.igd", dir);
    for (unsigned flags = 0; flags <= IGD_SAVE_OPTIMIZER; flags++) {
        ck_assert_igd_ok(igd_model_save(m, path, flags));
        size_t size, size2;
        ck_assert_igd_ok(igd_model_save_memory(m, flags, NULL, 0, &size));
        unsigned char *buf = malloc(size), *file = tu_read_file(path, &size2);
        ck_assert_int_eq(igd_model_save_memory(m, flags, buf, size - 1, &size2),
                         IGD_ERR_INVALID_ARGUMENT);
        ck_assert_igd_ok(igd_model_save_memory(m, flags, buf, size, &size2));
        ck_assert_uint_eq(size, size2);
        ck_assert_mem_eq(buf, file, size);
        igd_model *a, *b;
        ck_assert_igd_ok(igd_model_load(path, NULL, &a));
        ck_assert_igd_ok(igd_model_load_memory(buf, size, NULL, &b));
        double t;
        ck_assert_igd_ok(igd_model_get_threshold(a, &t));
        ck_assert_double_eq(t, 1.25);
        /* Saving the loaded model reproduces the file byte for byte. */
        size_t size3;
        ck_assert_igd_ok(igd_model_save_memory(b, flags, NULL, 0, &size3));
        unsigned char *again = malloc(size3);
        ck_assert_igd_ok(igd_model_save_memory(b, flags, again, size3, &size3));
        ck_assert_uint_eq(size3, size);
        ck_assert_mem_eq(again, buf, size);
        igd_model *models[3] = {m, a, b};
        double scores[3][5];
        for (int k = 0; k < 3; k++) {
            igd_session *s;
            ck_assert_igd_ok(igd_session_create(models[k], &s));
            ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, 5, 24, 24, 1, 0, 0, scores[k],
                                                NULL, NULL, 0));
            igd_session_free(s);
        }
        ck_assert_mem_eq(scores[0], scores[1], sizeof scores[0]);
        ck_assert_mem_eq(scores[0], scores[2], sizeof scores[0]);
        /* Runtime options set on the options given at load replace the file's; the others keep
         * the file's values, not the options object's defaults. */
        igd_options *rt;
        ck_assert_igd_ok(igd_options_create(&rt));
        ck_assert_igd_ok(igd_options_set_int(rt, IGD_OPT_THREADS, 2));
        ck_assert_igd_ok(igd_options_set_int(rt, IGD_OPT_BASE_WIDTH, 64)); /* not runtime */
        igd_model *c;
        ck_assert_igd_ok(igd_model_load_memory(buf, size, rt, &c));
        igd_options *co;
        int64_t v;
        ck_assert_igd_ok(igd_model_get_options(c, &co));
        ck_assert_igd_ok(igd_options_get_int(co, IGD_OPT_THREADS, &v));
        ck_assert_int_eq(v, 2);
        ck_assert_igd_ok(igd_options_get_int(co, IGD_OPT_BASE_WIDTH, &v));
        ck_assert_int_eq(v, 4);
        double r;
        ck_assert_igd_ok(igd_options_get_real(co, IGD_OPT_HEATMAP_SMOOTH, &r));
        ck_assert_double_eq(r, 1.5);
        igd_options_free(co);
        igd_model_free(c);
        ck_assert_igd_ok(igd_options_set_real(rt, IGD_OPT_HEATMAP_SMOOTH, 4.0)); /* the default */
        ck_assert_igd_ok(igd_model_load_memory(buf, size, rt, &c));
        ck_assert_igd_ok(igd_model_get_options(c, &co));
        ck_assert_igd_ok(igd_options_get_real(co, IGD_OPT_HEATMAP_SMOOTH, &r));
        ck_assert_double_eq(r, 4.0);
        /* A model's options, as igd_model_get_options returns them, count as set only where the
         * caller then sets them: loading with them applies threads alone. */
        ck_assert_igd_ok(igd_options_set_int(co, IGD_OPT_THREADS, 1));
        igd_model *d;
        ck_assert_igd_ok(igd_model_load_memory(buf, size, co, &d));
        igd_options_free(co);
        ck_assert_igd_ok(igd_model_get_options(d, &co));
        ck_assert_igd_ok(igd_options_get_real(co, IGD_OPT_HEATMAP_SMOOTH, &r));
        ck_assert_double_eq(r, 1.5);
        ck_assert_igd_ok(igd_options_get_int(co, IGD_OPT_THREADS, &v));
        ck_assert_int_eq(v, 1);
        igd_model_free(d);
        igd_options_free(co);
        igd_options_free(rt);
        igd_model_free(c);
        igd_model_free(a);
        igd_model_free(b);
        free(buf);
        free(file);
        free(again);
    }
    /* Resuming from a file saved with the optimiser state trains exactly as the original. */
    ck_assert_igd_ok(igd_model_save(m, path, IGD_SAVE_OPTIMIZER));
    igd_model *r;
    ck_assert_igd_ok(igd_model_load(path, NULL, &r));
    double l1[IGD_LOSS_COUNT], l2[IGD_LOSS_COUNT];
    ck_assert_igd_ok(igd_model_set_option_real(m, IGD_OPT_RHO, 0.15));
    ck_assert_igd_ok(igd_model_train_step(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 4, 24, 24, 1, 0, 0,
                                          l1, IGD_LOSS_COUNT));
    ck_assert_igd_ok(igd_model_train_step(r, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 4, 24, 24, 1, 0, 0,
                                          l2, IGD_LOSS_COUNT));
    ck_assert_double_eq_tol(l1[IGD_LOSS_RECONSTRUCTION], l2[IGD_LOSS_RECONSTRUCTION], 1e-6);
    ck_assert_double_eq_tol(l1[IGD_LOSS_CLASSIFIER], l2[IGD_LOSS_CLASSIFIER], 1e-6);
    igd_model_free(r);
    /* Error paths. */
    igd_model *bad;
    ck_assert_int_eq(igd_model_save(NULL, path, 0), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_save(m, NULL, 0), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_save(m, path, 8), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_save(m, "/nonexistent-folder/m.igd", 0), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_model_save_memory(m, 0, NULL, 0, NULL), IGD_ERR_INVALID_ARGUMENT);
    size_t unused = 0;
    ck_assert_int_eq(igd_model_save_memory(m, 8, NULL, 0, &unused), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "flags"));
    ck_assert_int_eq(igd_model_load("/nonexistent-folder/m.igd", NULL, &bad), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_model_load(NULL, NULL, &bad), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_load_memory("IGDMODEL", 8, NULL, &bad), IGD_ERR_CORRUPT);
    ck_assert_int_eq(igd_model_load_memory(NULL, 8, NULL, &bad), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_model_load_memory(img, 100, NULL, &bad), IGD_ERR_CORRUPT);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "not a libigd model"));
    tu_rmtree(dir);
    free(img);
    igd_model_free(m);
}
END_TEST

static void count_progress(void *user, igd_stage stage, uint64_t done, uint64_t total,
                           const double *losses, size_t n)
{
    int *calls = user;
    ck_assert(done <= total);
    if (stage == IGD_STAGE_TRAIN) {
        ck_assert_ptr_nonnull(losses);
        ck_assert_uint_eq(n, IGD_LOSS_COUNT);
        calls[0]++;
    } else {
        calls[1]++;
    }
}

static int abort_after(void *user)
{
    int *left = user;
    return --*left < 0;
}

static void count_logs(void *user, igd_log_level level, const char *message)
{
    ck_assert(level >= IGD_LOG_ERROR && level <= IGD_LOG_DEBUG);
    ck_assert(message && message[0]);
    ++*(int *)user;
}

static igd_dataset *synthetic_dataset(size_t n)
{
    unsigned char *img = mt_images(n, 20, 20, 1, 123);
    igd_dataset *ds;
    ck_assert_igd_ok(
        igd_dataset_from_pixels(img, IGD_PIXEL_U8, n, 20, 20, 1, 0, 0, NULL, NULL, &ds));
    free(img);
    return ds;
}

static unsigned char *saved_bytes(igd_model *m, size_t *size)
{
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_OPTIMIZER, NULL, 0, size));
    unsigned char *buf = malloc(*size);
    ck_assert_igd_ok(igd_model_save_memory(m, IGD_SAVE_OPTIMIZER, buf, *size, size));
    return buf;
}

START_TEST(fit_is_deterministic_reports_progress_and_aborts)
{
    igd_dataset *ds = synthetic_dataset(120);
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL | IGD_NET_LOCAL);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_EPOCHS, 2));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_THREADS, 2));
    unsigned char *bytes[3];
    size_t sizes[3];
    for (int run = 0; run < 3; run++) {
        ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_SEED, run == 2 ? 8 : 7));
        igd_model *m;
        ck_assert_igd_ok(igd_model_create(o, &m));
        int calls[2] = {0, 0}, logs = 0;
        igd_model_set_progress(m, count_progress, calls);
        igd_model_set_log(m, count_logs, &logs);
        ck_assert_igd_ok(igd_model_fit(m, ds));
        /* 108 training images (12 held out), batch 8: 13 steps an epoch, 2 epochs, 2 nets. */
        ck_assert_int_eq(calls[0], 2 * 13 * 2);
        ck_assert_int_gt(calls[1], 0);
        ck_assert_int_gt(logs, 0);
        double t;
        ck_assert_igd_ok(igd_model_get_threshold(m, &t));
        ck_assert(t > 0);
        bytes[run] = saved_bytes(m, &sizes[run]);
        igd_model_free(m);
    }
    ck_assert_uint_eq(sizes[0], sizes[1]);
    ck_assert_mem_eq(bytes[0], bytes[1], sizes[0]);
    ck_assert(sizes[0] != sizes[2] || memcmp(bytes[0], bytes[2], sizes[0]) != 0);
    for (int run = 0; run < 3; run++)
        free(bytes[run]);
    /* Abort after a few callbacks: a distinct status, and the model stays usable. */
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    int left = 5;
    igd_model_set_abort(m, abort_after, &left);
    ck_assert_int_eq(igd_model_fit(m, ds), IGD_ERR_ABORTED);
    ck_assert_ptr_nonnull(strstr(igd_model_error(m), "abort"));
    igd_model_set_abort(m, NULL, NULL);
    ck_assert_igd_ok(igd_model_fit(m, ds));
    igd_model_free(m);
    ck_assert_int_eq(igd_model_fit(NULL, ds), IGD_ERR_INVALID_ARGUMENT);
    igd_model_set_progress(NULL, count_progress, NULL);
    igd_model_set_log(NULL, count_logs, NULL);
    igd_model_set_abort(NULL, abort_after, NULL);
    igd_options_free(o);
    igd_dataset_free(ds);
}
END_TEST

/* A Deep SVDD baseline trains on the same engine: no decoder, scores are squared distances. */
START_TEST(svdd_baseline)
{
    igd_dataset *ds = synthetic_dataset(40);
    igd_options *o = mt_tiny_options(IGD_NET_GLOBAL);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_CLASSIFIER, IGD_CLASSIFIER_SVDD));
    ck_assert_igd_ok(igd_options_set_real(o, IGD_OPT_LAMBDA2, 0));
    igd_model *m;
    ck_assert_igd_ok(igd_model_create(o, &m));
    ck_assert_igd_ok(igd_model_fit(m, ds));
    float c0[8], c1[8];
    double spread;
    ck_assert_igd_ok(igd_model_get_center(m, IGD_NET_GLOBAL, c0, 8, &spread));
    unsigned char *img = mt_images(8, 20, 20, 1, 1);
    ck_assert_igd_ok(igd_model_estep_begin(m, IGD_NET_GLOBAL));
    ck_assert_igd_ok(igd_model_estep_add(m, IGD_NET_GLOBAL, img, IGD_PIXEL_U8, 8, 20, 20, 1, 0, 0));
    ck_assert_igd_ok(igd_model_estep_finish(m, IGD_NET_GLOBAL));
    ck_assert_igd_ok(igd_model_get_center(m, IGD_NET_GLOBAL, c1, 8, &spread));
    ck_assert_mem_eq(c0, c1, sizeof c0); /* the centre stays fixed */
    igd_session *s;
    ck_assert_igd_ok(igd_session_create(m, &s));
    double parts[IGD_PART_COUNT], score;
    ck_assert_igd_ok(igd_session_detect(s, img, IGD_PIXEL_U8, 1, 20, 20, 1, 0, 0, &score, NULL,
                                        parts, IGD_PART_COUNT));
    ck_assert_double_eq(parts[IGD_PART_GLOBAL_REC], 0);
    float map[400];
    ck_assert_int_eq(igd_session_heatmap(s, img, IGD_PIXEL_U8, 1, 20, 20, 1, 0, 0, map),
                     IGD_ERR_STATE);
    igd_session_free(s);
    igd_model_free(m);
    igd_options_free(o);
    igd_dataset_free(ds);
    free(img);
}
END_TEST

Suite *make_model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *t = tcase_create("model");
    tcase_set_timeout(t, 1500);
    tcase_add_test(t, create_and_configuration_errors);
    tcase_add_test(t, normalization_api);
    tcase_add_test(t, estep_matches_direct_computation);
    tcase_add_test(t, estep_and_train_errors);
    tcase_add_test(t, detect_accepts_every_pixel_layout);
    tcase_add_test(t, standardize_removes_brightness_and_contrast);
    tcase_add_test(t, detect_parts_decisions_and_thresholds);
    tcase_add_test(t, encode_and_patch_grid);
    tcase_add_test(t, heatmap_peaks_at_the_defect);
    tcase_add_test(t, save_load_gives_identical_scores);
    tcase_add_test(t, fit_is_deterministic_reports_progress_and_aborts);
    tcase_add_test(t, svdd_baseline);
    suite_add_tcase(s, t);
    return s;
}
