/* The image object: creation, copies, accessors, conversions, crops and heatmap colouring. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iotest.h"
#include "testutil.h"

START_TEST(create_and_accessors)
{
    igd_image *im;
    ck_assert_igd_ok(igd_image_create(7, 5, 3, IGD_PIXEL_U16, &im));
    ck_assert_uint_eq(igd_image_width(im), 7);
    ck_assert_uint_eq(igd_image_height(im), 5);
    ck_assert_uint_eq(igd_image_channels(im), 3);
    ck_assert_int_eq(igd_image_type(im), IGD_PIXEL_U16);
    ck_assert_uint_eq(igd_image_stride(im), 7 * 3 * 2);
    const unsigned char *d = igd_image_const_data(im);
    for (size_t i = 0; i < 7 * 3 * 2 * 5; i++)
        ck_assert_uint_eq(d[i], 0);
    ck_assert_ptr_eq(igd_image_data(im), d);
    igd_image_free(im);
    ck_assert_igd_ok(igd_image_create(1, 1, 1, IGD_PIXEL_F32, &im));
    ck_assert_uint_eq(igd_image_stride(im), 4);
    igd_image_free(im);
    igd_image_free(NULL);
    ck_assert_uint_eq(igd_image_width(NULL), 0);
    ck_assert_uint_eq(igd_image_height(NULL), 0);
    ck_assert_uint_eq(igd_image_channels(NULL), 0);
    ck_assert_int_eq(igd_image_type(NULL), 0);
    ck_assert_uint_eq(igd_image_stride(NULL), 0);
    ck_assert_ptr_null(igd_image_data(NULL));
    ck_assert_ptr_null(igd_image_const_data(NULL));
}
END_TEST

START_TEST(create_rejects_bad_arguments)
{
    igd_image *im = (igd_image *)1;
    ck_assert_int_eq(igd_image_create(0, 5, 1, IGD_PIXEL_U8, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(im);
    ck_assert_int_eq(igd_image_create(5, 0, 1, IGD_PIXEL_U8, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create(5, 5, 2, IGD_PIXEL_U8, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create(5, 5, 4, IGD_PIXEL_U8, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create(5, 5, 1, (igd_pixel_type)0, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create(5, 5, 1, (igd_pixel_type)9, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create(SIZE_MAX / 2, 3, 3, IGD_PIXEL_U8, &im),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create((size_t)1 << 33, (size_t)1 << 33, 1, IGD_PIXEL_U8, &im),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_create(5, 5, 1, IGD_PIXEL_U8, NULL), IGD_ERR_INVALID_ARGUMENT);
    /* An impossible allocation is reported, not fatal (AddressSanitizer would stop instead). */
#if !defined(__SANITIZE_ADDRESS__)
    ck_assert_int_eq(igd_image_create((size_t)1 << 20, (size_t)1 << 20, 3, IGD_PIXEL_F32, &im),
                     IGD_ERR_OUT_OF_MEMORY);
#endif
    ck_assert_ptr_null(im);
}
END_TEST

START_TEST(from_pixels_copies_rows)
{
    unsigned char src[4 * 10];
    iot_bytes(src, sizeof src, 3);
    igd_image *im;
    /* 3 x 4 RGB at a stride of 10 bytes. */
    ck_assert_igd_ok(igd_image_from_pixels(src, IGD_PIXEL_U8, 3, 4, 3, 10, &im));
    ck_assert_uint_eq(igd_image_stride(im), 9);
    for (size_t y = 0; y < 4; y++)
        ck_assert_mem_eq((const unsigned char *)igd_image_const_data(im) + y * 9, src + y * 10, 9);
    igd_image_free(im);
    ck_assert_igd_ok(igd_image_from_pixels(src, IGD_PIXEL_U16, 5, 4, 1, 0, &im));
    ck_assert_mem_eq(igd_image_const_data(im), src, 40);
    igd_image_free(im);
    im = (igd_image *)1;
    ck_assert_int_eq(igd_image_from_pixels(src, IGD_PIXEL_U8, 3, 4, 3, 8, &im),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(im);
    ck_assert_int_eq(igd_image_from_pixels(NULL, IGD_PIXEL_U8, 3, 4, 3, 0, &im),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_from_pixels(src, IGD_PIXEL_U8, 3, 4, 3, 0, NULL),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_from_pixels(src, IGD_PIXEL_U8, 3, 4, 2, 0, &im),
                     IGD_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Reference conversion: a sample in 0..1, then to the target type. */
static double ref_load(const igd_image *im, size_t i)
{
    const void *d = igd_image_const_data(im);
    switch (igd_image_type(im)) {
    case IGD_PIXEL_U8:
        return ((const unsigned char *)d)[i] / 255.0;
    case IGD_PIXEL_U16:
        return ((const uint16_t *)d)[i] / 65535.0;
    default:
        return ((const float *)d)[i];
    }
}

static double ref_store(double v, igd_pixel_type type)
{
    if (type == IGD_PIXEL_F32)
        return (float)v;
    double c = isnan(v) ? 0 : fmin(fmax(v, 0), 1);
    return floor(c * (type == IGD_PIXEL_U8 ? 255 : 65535) + 0.5);
}

static double got_value(const igd_image *im, size_t i)
{
    const void *d = igd_image_const_data(im);
    switch (igd_image_type(im)) {
    case IGD_PIXEL_U8:
        return ((const unsigned char *)d)[i];
    case IGD_PIXEL_U16:
        return ((const uint16_t *)d)[i];
    default:
        return ((const float *)d)[i];
    }
}

START_TEST(convert_matches_reference)
{
    static const igd_pixel_type types[] = {IGD_PIXEL_U8, IGD_PIXEL_U16, IGD_PIXEL_F32};
    size_t w = 11, h = 6;
    for (int ti = 0; ti < 3; ti++) {
        for (size_t ic = 1; ic <= 3; ic += 2) {
            igd_image *src;
            ck_assert_igd_ok(igd_image_create(w, h, ic, types[ti], &src));
            iot_bytes(igd_image_data(src), igd_image_stride(src) * h, 40 + ti);
            if (types[ti] == IGD_PIXEL_F32) {
                float *f = igd_image_data(src);
                for (size_t i = 0; i < w * h * ic; i++)
                    f[i] = (float)(i % 17) / 12.0f - 0.2f; /* some below 0, some above 1 */
                f[3] = NAN;
            }
            for (int to = 0; to < 3; to++) {
                for (size_t oc = 1; oc <= 3; oc += 2) {
                    igd_image *out;
                    ck_assert_igd_ok(igd_image_convert(src, oc, types[to], &out));
                    ck_assert_uint_eq(igd_image_channels(out), oc);
                    ck_assert_int_eq(igd_image_type(out), types[to]);
                    for (size_t p = 0; p < w * h; p++) {
                        double v[3];
                        for (size_t c = 0; c < ic; c++)
                            v[c] = ref_load(src, p * ic + c);
                        if (ic == 3 && oc == 1)
                            v[0] = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
                        if (ic == 1)
                            v[1] = v[2] = v[0];
                        for (size_t c = 0; c < oc; c++) {
                            double want = ref_store(v[c], types[to]);
                            double got = got_value(out, p * oc + c);
                            if (isnan(want))
                                ck_assert(isnan(got));
                            else
                                ck_assert_msg(fabs(want - got) <= 1e-6,
                                              "%d/%zu -> %d/%zu at %zu: %g, want %g", ti, ic, to,
                                              oc, p, got, want);
                        }
                    }
                    igd_image_free(out);
                }
            }
            igd_image_free(src);
        }
    }
}
END_TEST

START_TEST(convert_exact_integer_scaling)
{
    unsigned char u8[256];
    for (int i = 0; i < 256; i++)
        u8[i] = (unsigned char)i;
    igd_image *a, *b, *c;
    ck_assert_igd_ok(igd_image_from_pixels(u8, IGD_PIXEL_U8, 256, 1, 1, 0, &a));
    ck_assert_igd_ok(igd_image_convert(a, 1, IGD_PIXEL_U16, &b));
    const uint16_t *w = igd_image_const_data(b);
    for (int i = 0; i < 256; i++)
        ck_assert_uint_eq(w[i], i * 257);
    ck_assert_igd_ok(igd_image_convert(b, 1, IGD_PIXEL_U8, &c));
    ck_assert_mem_eq(igd_image_const_data(c), u8, 256);
    igd_image_free(a);
    igd_image_free(b);
    igd_image_free(c);
}
END_TEST

START_TEST(convert_rejects_bad_arguments)
{
    igd_image *im, *out = (igd_image *)1;
    ck_assert_igd_ok(igd_image_create(3, 3, 1, IGD_PIXEL_U8, &im));
    ck_assert_int_eq(igd_image_convert(im, 2, IGD_PIXEL_U8, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(igd_image_convert(im, 1, (igd_pixel_type)7, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_convert(NULL, 1, IGD_PIXEL_U8, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_convert(im, 1, IGD_PIXEL_U8, NULL), IGD_ERR_INVALID_ARGUMENT);
    igd_image_free(im);
}
END_TEST

START_TEST(crop_center_cuts_the_middle)
{
    uint16_t px[6 * 5 * 3];
    for (size_t i = 0; i < 6 * 5 * 3; i++)
        px[i] = (uint16_t)(i * 101);
    igd_image *im, *out;
    ck_assert_igd_ok(igd_image_from_pixels(px, IGD_PIXEL_U16, 6, 5, 3, 0, &im));
    ck_assert_igd_ok(igd_image_crop_center(im, 3, 2, &out));
    ck_assert_uint_eq(igd_image_width(out), 3);
    ck_assert_uint_eq(igd_image_height(out), 2);
    const uint16_t *o = igd_image_const_data(out);
    /* x0 = (6 - 3) / 2 = 1, y0 = (5 - 2) / 2 = 1 */
    for (size_t y = 0; y < 2; y++)
        for (size_t x = 0; x < 3; x++)
            for (size_t c = 0; c < 3; c++)
                ck_assert_uint_eq(o[(y * 3 + x) * 3 + c], px[((y + 1) * 6 + x + 1) * 3 + c]);
    igd_image_free(out);
    ck_assert_igd_ok(igd_image_crop_center(im, 6, 5, &out));
    ck_assert_mem_eq(igd_image_const_data(out), px, sizeof px);
    igd_image_free(out);
    out = (igd_image *)1;
    ck_assert_int_eq(igd_image_crop_center(im, 7, 5, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(igd_image_crop_center(im, 6, 6, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_crop_center(im, 0, 2, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_crop_center(NULL, 1, 1, &out), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_crop_center(im, 1, 1, NULL), IGD_ERR_INVALID_ARGUMENT);
    igd_image_free(im);
}
END_TEST

START_TEST(colorize_ends_and_blending)
{
    /* The two ends of viridis, its middle, and clamping outside lo..hi. */
    float map[6] = {2.0f, 4.0f, 3.0f, -10.0f, 100.0f, NAN};
    igd_image *out;
    ck_assert_igd_ok(igd_heatmap_colorize(map, 3, 2, 2.0f, 4.0f, NULL, 1.0, &out));
    ck_assert_uint_eq(igd_image_width(out), 3);
    ck_assert_uint_eq(igd_image_height(out), 2);
    ck_assert_uint_eq(igd_image_channels(out), 3);
    ck_assert_int_eq(igd_image_type(out), IGD_PIXEL_U8);
    const unsigned char *c = igd_image_const_data(out);
    const unsigned char lo[3] = {68, 1, 84}, hi[3] = {253, 231, 37};
    ck_assert_mem_eq(c, lo, 3);
    ck_assert_mem_eq(c + 3, hi, 3);
    ck_assert_mem_eq(c + 9, lo, 3);
    ck_assert_mem_eq(c + 12, hi, 3);
    ck_assert_mem_eq(c + 15, lo, 3);
    /* The middle of viridis is a teal: green and blue well above red. */
    ck_assert_int_lt(c[6], 60);
    ck_assert_int_gt(c[7], 120);
    ck_assert_int_gt(c[8], 120);
    /* Perceptual order: brightness grows along the map. */
    float ramp[256];
    for (int i = 0; i < 256; i++)
        ramp[i] = (float)i;
    igd_image *r;
    ck_assert_igd_ok(igd_heatmap_colorize(ramp, 256, 1, 0.0f, 255.0f, NULL, 0.5, &r));
    const unsigned char *rc = igd_image_const_data(r);
    double prev = -1;
    for (int i = 0; i < 256; i++) {
        double l = 0.299 * rc[3 * i] + 0.587 * rc[3 * i + 1] + 0.114 * rc[3 * i + 2];
        ck_assert_double_ge(l, prev - 0.5);
        prev = l;
    }
    igd_image_free(r);

    /* Blending over grey U8, RGB U16 and grey F32 bases. */
    unsigned char g8[6] = {0, 50, 100, 150, 200, 255};
    uint16_t rgb16[18];
    float gf[6] = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.5f};
    for (int i = 0; i < 18; i++)
        rgb16[i] = (uint16_t)(i * 3000);
    igd_image *bases[3];
    ck_assert_igd_ok(igd_image_from_pixels(g8, IGD_PIXEL_U8, 3, 2, 1, 0, &bases[0]));
    ck_assert_igd_ok(igd_image_from_pixels(rgb16, IGD_PIXEL_U16, 3, 2, 3, 0, &bases[1]));
    ck_assert_igd_ok(igd_image_from_pixels(gf, IGD_PIXEL_F32, 3, 2, 1, 0, &bases[2]));
    for (int b = 0; b < 3; b++) {
        const double opacities[3] = {0.0, 0.5, 1.0};
        for (int k = 0; k < 3; k++) {
            igd_image *o;
            ck_assert_igd_ok(
                igd_heatmap_colorize(map, 3, 2, 2.0f, 4.0f, bases[b], opacities[k], &o));
            const unsigned char *oc = igd_image_const_data(o);
            for (int p = 0; p < 6; p++) {
                for (int ch = 0; ch < 3; ch++) {
                    double base;
                    if (b == 0)
                        base = g8[p];
                    else if (b == 1)
                        base = rgb16[3 * p + ch] / 257.0;
                    else
                        base = fmin(gf[p], 1.0) * 255.0;
                    double want = (1 - opacities[k]) * base + opacities[k] * c[3 * p + ch];
                    ck_assert_msg(fabs(oc[3 * p + ch] - want) <= 0.51,
                                  "base %d opacity %g: %d vs %g", b, opacities[k], oc[3 * p + ch],
                                  want);
                }
            }
            igd_image_free(o);
        }
        igd_image_free(bases[b]);
    }
    igd_image_free(out);
}
END_TEST

START_TEST(colorize_rejects_bad_arguments)
{
    float map[4] = {0};
    igd_image *base, *out = (igd_image *)1;
    ck_assert_igd_ok(igd_image_create(2, 3, 1, IGD_PIXEL_U8, &base));
    ck_assert_int_eq(igd_heatmap_colorize(NULL, 2, 2, 0, 1, NULL, 1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 0, 1, NULL, 1, NULL),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 0, 2, 0, 1, NULL, 1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 1, 1, NULL, 1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 1, 0, NULL, 1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, NAN, 1, NULL, 1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 0, INFINITY, NULL, 1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 0, 1, NULL, 1.5, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 0, 1, NULL, -0.1, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 0, 1, NULL, NAN, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_heatmap_colorize(map, 2, 2, 0, 1, base, 0.5, &out),
                     IGD_ERR_INVALID_ARGUMENT);
    igd_image_free(base);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    tu_alloc_install();
    igd_image *src;
    ck_assert_igd_ok(igd_image_create(9, 8, 3, IGD_PIXEL_U8, &src));
    float map[72] = {0};
    long live = tu_live_allocations();
    for (int what = 0; what < 5; what++) {
        igd_status st = IGD_ERR_OUT_OF_MEMORY;
        long n;
        for (n = 0; st != IGD_OK; n++) {
            igd_image *out = (igd_image *)1;
            tu_fail_after(n);
            switch (what) {
            case 0:
                st = igd_image_create(4, 4, 1, IGD_PIXEL_F32, &out);
                break;
            case 1:
                st = igd_image_from_pixels(map, IGD_PIXEL_F32, 9, 8, 1, 0, &out);
                break;
            case 2:
                st = igd_image_convert(src, 1, IGD_PIXEL_U16, &out);
                break;
            case 3:
                st = igd_image_crop_center(src, 3, 3, &out);
                break;
            case 4:
                st = igd_heatmap_colorize(map, 9, 8, 0, 1, src, 0.5, &out);
                break;
            }
            tu_fail_reset();
            if (st == IGD_OK) {
                igd_image_free(out);
            } else {
                ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
                ck_assert_ptr_null(out);
            }
            ck_assert_int_eq(tu_live_allocations(), live);
        }
        ck_assert_int_gt(n, 1);
    }
    igd_image_free(src);
}
END_TEST

Suite *make_image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_add_test(tc, create_and_accessors);
    tcase_add_test(tc, create_rejects_bad_arguments);
    tcase_add_test(tc, from_pixels_copies_rows);
    tcase_add_test(tc, convert_matches_reference);
    tcase_add_test(tc, convert_exact_integer_scaling);
    tcase_add_test(tc, convert_rejects_bad_arguments);
    tcase_add_test(tc, crop_center_cuts_the_middle);
    tcase_add_test(tc, colorize_ends_and_blending);
    tcase_add_test(tc, colorize_rejects_bad_arguments);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
