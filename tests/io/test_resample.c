/* Resampling, planar conversion, blur and batch views, against naive references written here:
 * area averages of exact overlaps, bilinear with pixel-centre alignment, a direct 2D blur. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/resample.h"
#include "io/view.h"
#include "iotest.h"
#include "testutil.h"

/* w[o * n_src + i]: the weight of source index i in output index o along one axis. */
static double *ref_axis(size_t n_src, size_t n_dst)
{
    double *w = calloc(n_src * n_dst, sizeof *w);
    for (size_t o = 0; o < n_dst; o++) {
        if (n_dst == n_src) {
            w[o * n_src + o] = 1;
        } else if (n_dst < n_src) {
            double scale = (double)n_src / (double)n_dst;
            double a = o * scale, b = (o + 1) * scale;
            for (size_t i = 0; i < n_src; i++) {
                double overlap = fmin(b, i + 1.0) - fmax(a, (double)i);
                if (overlap > 0)
                    w[o * n_src + i] = overlap / scale;
            }
        } else {
            double s = (o + 0.5) * ((double)n_src / (double)n_dst) - 0.5;
            s = fmin(fmax(s, 0.0), (double)(n_src - 1));
            size_t i0 = (size_t)floor(s), i1 = i0 + 1 < n_src ? i0 + 1 : n_src - 1;
            double f = s - (double)i0;
            w[o * n_src + i0] += 1 - f;
            w[o * n_src + i1] += f;
        }
    }
    return w;
}

/* out[(y * dw + x) * ch + c] from src of the same layout, by the separable weights. */
static double *ref_resize(const double *src, size_t sw, size_t sh, size_t ch, size_t dw, size_t dh)
{
    double *wy = ref_axis(sh, dh), *wx = ref_axis(sw, dw);
    double *tmp = calloc(dh * sw * ch, sizeof *tmp), *out = calloc(dw * dh * ch, sizeof *out);
    for (size_t oy = 0; oy < dh; oy++)
        for (size_t i = 0; i < sh; i++)
            if (wy[oy * sh + i] != 0)
                for (size_t k = 0; k < sw * ch; k++)
                    tmp[oy * sw * ch + k] += wy[oy * sh + i] * src[i * sw * ch + k];
    for (size_t oy = 0; oy < dh; oy++)
        for (size_t ox = 0; ox < dw; ox++)
            for (size_t j = 0; j < sw; j++)
                for (size_t c = 0; c < ch; c++)
                    out[(oy * dw + ox) * ch + c] += wx[ox * sw + j] * tmp[(oy * sw + j) * ch + c];
    free(wy);
    free(wx);
    free(tmp);
    return out;
}

static double sample(const void *data, igd_pixel_type type, size_t i)
{
    switch (type) {
    case IGD_PIXEL_U8:
        return ((const unsigned char *)data)[i];
    case IGD_PIXEL_U16:
        return ((const uint16_t *)data)[i];
    default:
        return ((const float *)data)[i];
    }
}

static igd_image *test_image(size_t w, size_t h, size_t ch, igd_pixel_type type, uint64_t seed)
{
    igd_image *im;
    ck_assert_igd_ok(igd_image_create(w, h, ch, type, &im));
    iot_bytes(igd_image_data(im), igd_image_stride(im) * h, seed);
    if (type == IGD_PIXEL_F32) {
        float *f = igd_image_data(im);
        uint64_t st = seed;
        tu_fill_uniform(f, w * h * ch, 0.0f, 1.0f, &st);
    }
    return im;
}

static double *as_doubles(const igd_image *im)
{
    size_t n = igd_image_width(im) * igd_image_height(im) * igd_image_channels(im);
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = sample(igd_image_const_data(im), igd_image_type(im), i);
    return d;
}

static const size_t size_pairs[][4] = {
    {17, 13, 5, 4}, {5, 4, 17, 13}, {17, 4, 6, 9}, {8, 8, 8, 8},  {9, 7, 1, 1},
    {1, 1, 4, 3},   {10, 10, 3, 7}, {7, 3, 7, 11}, {12, 6, 4, 3}, {3, 5, 8, 2},
};

START_TEST(resize_matches_reference)
{
    static const igd_pixel_type types[] = {IGD_PIXEL_U8, IGD_PIXEL_U16, IGD_PIXEL_F32};
    for (size_t p = 0; p < sizeof size_pairs / sizeof size_pairs[0]; p++) {
        const size_t *s = size_pairs[p];
        for (int t = 0; t < 3; t++) {
            for (size_t ch = 1; ch <= 3; ch += 2) {
                igd_image *im = test_image(s[0], s[1], ch, types[t], p * 7 + t);
                igd_image *out;
                ck_assert_igd_ok(igd_image_resize(im, s[2], s[3], &out));
                ck_assert_uint_eq(igd_image_width(out), s[2]);
                ck_assert_uint_eq(igd_image_height(out), s[3]);
                ck_assert_uint_eq(igd_image_channels(out), ch);
                ck_assert_int_eq(igd_image_type(out), types[t]);
                double *src = as_doubles(im);
                double *ref = ref_resize(src, s[0], s[1], ch, s[2], s[3]);
                double tol = types[t] == IGD_PIXEL_F32 ? 1e-5 : 0.51;
                for (size_t i = 0; i < s[2] * s[3] * ch; i++) {
                    double got = sample(igd_image_const_data(out), types[t], i);
                    ck_assert_msg(fabs(got - ref[i]) <= tol,
                                  "%zux%zu -> %zux%zu type %d ch %zu at %zu: %g, want %g", s[0],
                                  s[1], s[2], s[3], types[t], ch, i, got, ref[i]);
                }
                free(src);
                free(ref);
                igd_image_free(out);
                igd_image_free(im);
            }
        }
    }
}
END_TEST

START_TEST(resize_large_images_in_parallel)
{
    igd_image *im = test_image(300, 200, 3, IGD_PIXEL_U8, 77);
    double *src = as_doubles(im);
    const size_t sizes[][2] = {{97, 61}, {400, 333}, {300, 50}};
    for (int k = 0; k < 3; k++) {
        igd_image *out;
        ck_assert_igd_ok(igd_image_resize(im, sizes[k][0], sizes[k][1], &out));
        double *ref = ref_resize(src, 300, 200, 3, sizes[k][0], sizes[k][1]);
        const unsigned char *o = igd_image_const_data(out);
        for (size_t i = 0; i < sizes[k][0] * sizes[k][1] * 3; i++)
            ck_assert_msg(fabs(o[i] - ref[i]) <= 0.51, "at %zu: %d vs %g", i, o[i], ref[i]);
        free(ref);
        igd_image_free(out);
    }
    free(src);
    igd_image_free(im);
}
END_TEST

START_TEST(halving_averages_blocks)
{
    unsigned char px[4 * 6];
    for (int i = 0; i < 24; i++)
        px[i] = (unsigned char)(i * 10);
    igd_image *im, *out;
    ck_assert_igd_ok(igd_image_from_pixels(px, IGD_PIXEL_U8, 6, 4, 1, 0, &im));
    ck_assert_igd_ok(igd_image_resize(im, 3, 2, &out));
    const unsigned char *o = igd_image_const_data(out);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            int sum = px[(2 * y) * 6 + 2 * x] + px[(2 * y) * 6 + 2 * x + 1] +
                      px[(2 * y + 1) * 6 + 2 * x] + px[(2 * y + 1) * 6 + 2 * x + 1];
            ck_assert_int_eq(o[y * 3 + x], (sum + 2) / 4);
        }
    igd_image_free(out);
    /* Same size: an exact copy. */
    ck_assert_igd_ok(igd_image_resize(im, 6, 4, &out));
    ck_assert_mem_eq(igd_image_const_data(out), px, 24);
    igd_image_free(out);
    igd_image_free(im);
}
END_TEST

START_TEST(resize_rejects_bad_arguments_and_survives_failures)
{
    igd_image *im = test_image(5, 5, 1, IGD_PIXEL_U8, 1), *out = (igd_image *)1;
    ck_assert_int_eq(igd_image_resize(im, 0, 3, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(igd_image_resize(im, 3, 0, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_resize(NULL, 3, 3, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_resize(im, 3, 3, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_resize(im, (size_t)1 << 40, 1, &out), IGD_ERR_INVALID_ARGUMENT);
    igd_image_free(im);
    tu_alloc_install();
    im = test_image(9, 4, 3, IGD_PIXEL_U16, 2);
    long live = tu_live_allocations();
    igd_status st = IGD_ERR_OUT_OF_MEMORY;
    long n;
    for (n = 0; st != IGD_OK; n++) {
        tu_fail_after(n);
        st = igd_image_resize(im, 4, 7, &out);
        tu_fail_reset();
        if (st != IGD_OK) {
            ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
            ck_assert_ptr_null(out);
        }
    }
    ck_assert_int_gt(n, 1);
    igd_image_free(out);
    ck_assert_int_eq(tu_live_allocations(), live);
    igd_image_free(im);
}
END_TEST

START_TEST(planar_matches_reference)
{
    static const igd_pixel_type types[] = {IGD_PIXEL_U8, IGD_PIXEL_U16, IGD_PIXEL_F32};
    static const double scales[] = {1 / 255.0, 1 / 65535.0, 1.0};
    for (size_t p = 0; p < sizeof size_pairs / sizeof size_pairs[0]; p++) {
        const size_t *s = size_pairs[p];
        for (int t = 0; t < 3; t++) {
            for (size_t ic = 1; ic <= 3; ic += 2) {
                /* Source rows padded by 8 bytes: a view with a row stride. */
                size_t ps = types[t] == IGD_PIXEL_U8 ? 1 : (types[t] == IGD_PIXEL_U16 ? 2 : 4);
                size_t row = s[0] * ic * ps, stride = row + 8;
                igd_image *im = test_image(s[0], s[1], ic, types[t], p + 100 * t);
                unsigned char *padded = calloc(stride * s[1], 1);
                for (size_t y = 0; y < s[1]; y++)
                    memcpy(padded + y * stride,
                           (const unsigned char *)igd_image_const_data(im) + y * row, row);
                io_view v = {padded, types[t], s[0], s[1], ic, stride};
                double *src = as_doubles(im);
                double *ref = ref_resize(src, s[0], s[1], ic, s[2], s[3]);
                for (size_t oc = 1; oc <= 3; oc += 2) {
                    size_t plane = s[2] * s[3];
                    float *out = malloc(plane * oc * sizeof *out);
                    io_view_to_planar(&v, oc, s[2], s[3], out);
                    for (size_t i = 0; i < plane; i++) {
                        for (size_t c = 0; c < oc; c++) {
                            double want;
                            if (ic == oc)
                                want = ref[i * ic + c];
                            else if (ic == 3)
                                want = 0.299 * ref[3 * i] + 0.587 * ref[3 * i + 1] +
                                       0.114 * ref[3 * i + 2];
                            else
                                want = ref[i];
                            want *= scales[t];
                            ck_assert_msg(fabs(out[c * plane + i] - want) <= 1e-5,
                                          "type %d %zu->%zu ch at %zu: %g vs %g", types[t], ic, oc,
                                          i, out[c * plane + i], want);
                        }
                    }
                    free(out);
                }
                free(src);
                free(ref);
                free(padded);
                igd_image_free(im);
            }
        }
    }
}
END_TEST

START_TEST(planar_identity_is_exact)
{
    igd_image *im = test_image(13, 9, 3, IGD_PIXEL_U8, 5);
    io_view v = io_image_view(im);
    float *out = malloc(13 * 9 * 3 * sizeof *out);
    io_view_to_planar(&v, 3, 13, 9, out);
    const unsigned char *d = igd_image_const_data(im);
    for (size_t i = 0; i < 13 * 9; i++)
        for (size_t c = 0; c < 3; c++)
            ck_assert_float_eq(out[c * 13 * 9 + i], d[3 * i + c] * (1.0f / 255.0f));
    free(out);
    igd_image_free(im);
}
END_TEST

START_TEST(plane_resize_matches_reference)
{
    for (size_t p = 0; p < sizeof size_pairs / sizeof size_pairs[0]; p++) {
        const size_t *s = size_pairs[p];
        float *src = malloc(s[0] * s[1] * sizeof *src);
        uint64_t st = p + 1;
        tu_fill_uniform(src, s[0] * s[1], -2.0f, 3.0f, &st);
        double *d = malloc(s[0] * s[1] * sizeof *d);
        for (size_t i = 0; i < s[0] * s[1]; i++)
            d[i] = src[i];
        double *ref = ref_resize(d, s[0], s[1], 1, s[2], s[3]);
        float *dst = malloc(s[2] * s[3] * sizeof *dst);
        io_plane_resize(src, s[0], s[1], dst, s[2], s[3]);
        for (size_t i = 0; i < s[2] * s[3]; i++)
            ck_assert_msg(fabs(dst[i] - ref[i]) <= 1e-5, "%zu: %g vs %g", i, dst[i], ref[i]);
        free(src);
        free(d);
        free(ref);
        free(dst);
    }
}
END_TEST

static void ref_blur(const float *in, size_t w, size_t h, double sigma, double *out)
{
    long r = (long)ceil(3 * sigma);
    double sum = 0;
    for (long dy = -r; dy <= r; dy++)
        for (long dx = -r; dx <= r; dx++)
            sum += exp(-(double)(dx * dx + dy * dy) / (2 * sigma * sigma));
    for (long y = 0; y < (long)h; y++)
        for (long x = 0; x < (long)w; x++) {
            double acc = 0;
            for (long dy = -r; dy <= r; dy++)
                for (long dx = -r; dx <= r; dx++) {
                    long yy = y + dy < 0 ? 0 : (y + dy >= (long)h ? (long)h - 1 : y + dy);
                    long xx = x + dx < 0 ? 0 : (x + dx >= (long)w ? (long)w - 1 : x + dx);
                    acc += exp(-(double)(dx * dx + dy * dy) / (2 * sigma * sigma)) *
                           in[yy * (long)w + xx];
                }
            out[y * (long)w + x] = acc / sum;
        }
}

START_TEST(blur_matches_direct_2d)
{
    const struct {
        size_t w, h;
        double sigma;
    } cases[] = {{20, 15, 1.0}, {7, 5, 2.5}, {1, 9, 0.7}, {4, 3, 3.0}, {160, 150, 1.3}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t w = cases[k].w, h = cases[k].h;
        double sigma = cases[k].sigma;
        float *plane = malloc(w * h * sizeof *plane);
        uint64_t st = k + 3;
        tu_fill_uniform(plane, w * h, 0.0f, 1.0f, &st);
        plane[0] = 5.0f; /* a spike at the corner */
        double *ref = malloc(w * h * sizeof *ref);
        ref_blur(plane, w, h, sigma, ref);
        size_t need = io_plane_blur_scratch(w, h, sigma);
        size_t r = (size_t)ceil(3 * sigma);
        ck_assert_uint_eq(need, w * h + 2 * r + 1);
        float *scratch = malloc(need * sizeof *scratch);
        io_plane_blur(plane, w, h, sigma, scratch);
        for (size_t i = 0; i < w * h; i++)
            ck_assert_msg(fabs(plane[i] - ref[i]) <= 2e-5, "case %zu at %zu: %g vs %g", k, i,
                          plane[i], ref[i]);
        free(plane);
        free(ref);
        free(scratch);
    }
    /* sigma <= 0 leaves the plane alone and needs no scratch. */
    float p[6] = {1, 2, 3, 4, 5, 6}, q[6];
    memcpy(q, p, sizeof p);
    ck_assert_uint_eq(io_plane_blur_scratch(3, 2, 0.0), 0);
    io_plane_blur(p, 3, 2, 0.0, NULL);
    io_plane_blur(p, 3, 2, -1.0, NULL);
    io_plane_blur(p, 3, 2, NAN, NULL);
    ck_assert_mem_eq(p, q, sizeof p);
    ck_assert_uint_eq(io_plane_blur_scratch(SIZE_MAX, 2, 1.0), SIZE_MAX);
}
END_TEST

START_TEST(batch_check_and_views)
{
    unsigned char buf[1] = {0};
    core_err err = {0};
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 2, 4, 5, 3, 0, 0, &err), IGD_OK);
    ck_assert_int_eq(io_batch_check(NULL, IGD_PIXEL_U8, 2, 4, 5, 3, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, (igd_pixel_type)0, 2, 4, 5, 3, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 0, 4, 5, 3, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 2, 0, 5, 3, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 2, 4, 0, 3, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 2, 4, 5, 2, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    /* Strides: at least the packed sizes. */
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U16, 2, 4, 5, 3, 29, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U16, 2, 4, 5, 3, 30, 0, &err), IGD_OK);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U16, 2, 4, 5, 3, 32, 125, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U16, 2, 4, 5, 3, 32, 126, &err), IGD_OK);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U16, 2, 4, 5, 3, 0, 119, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    /* Overflows of every product. */
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_F32, 1, 1, SIZE_MAX / 4, 3, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 1, SIZE_MAX / 2, 4, 1, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, SIZE_MAX / 2, 4, 4, 1, 0, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 3, 4, 4, 1, 0, SIZE_MAX / 2, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(io_batch_check(buf, IGD_PIXEL_U8, 1, 4, 4, 1, SIZE_MAX / 2, 0, &err),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_str_ne(err.msg, "");

    /* Views: packed and strided. */
    io_view v = io_batch_view(buf, IGD_PIXEL_U16, 4, 5, 3, 0, 0, 2);
    ck_assert_ptr_eq(v.data, buf + 2 * 120);
    ck_assert_uint_eq(v.row_stride, 30);
    ck_assert_uint_eq(v.width, 5);
    ck_assert_uint_eq(v.height, 4);
    ck_assert_uint_eq(v.channels, 3);
    ck_assert_int_eq(v.type, IGD_PIXEL_U16);
    v = io_batch_view(buf, IGD_PIXEL_U16, 4, 5, 3, 32, 0, 1);
    ck_assert_ptr_eq(v.data, buf + 128);
    ck_assert_uint_eq(v.row_stride, 32);
    v = io_batch_view(buf, IGD_PIXEL_U8, 4, 5, 1, 7, 100, 3);
    ck_assert_ptr_eq(v.data, buf + 300);
    ck_assert_uint_eq(v.row_stride, 7);
    igd_image *im = test_image(6, 2, 3, IGD_PIXEL_F32, 1);
    v = io_image_view(im);
    ck_assert_ptr_eq(v.data, igd_image_const_data(im));
    ck_assert_uint_eq(v.row_stride, 72);
    ck_assert_int_eq(v.type, IGD_PIXEL_F32);
    igd_image_free(im);
}
END_TEST

Suite *make_resample_suite(void)
{
    Suite *s = suite_create("resample");
    TCase *tc = tcase_create("resample");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, resize_matches_reference);
    tcase_add_test(tc, resize_large_images_in_parallel);
    tcase_add_test(tc, halving_averages_blocks);
    tcase_add_test(tc, resize_rejects_bad_arguments_and_survives_failures);
    tcase_add_test(tc, planar_matches_reference);
    tcase_add_test(tc, planar_identity_is_exact);
    tcase_add_test(tc, plane_resize_matches_reference);
    tcase_add_test(tc, blur_matches_direct_2d);
    tcase_add_test(tc, batch_check_and_views);
    suite_add_tcase(s, tc);
    return s;
}
