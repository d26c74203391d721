/* PNG and JPEG: round trips, every PNG colour type, damaged and hostile data, limits, files,
 * atomic saves and allocation failures. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "iotest.h"
#include "testutil.h"

static igd_image *random_image(size_t w, size_t h, size_t ch, igd_pixel_type type, uint64_t seed)
{
    igd_image *im;
    ck_assert_igd_ok(igd_image_create(w, h, ch, type, &im));
    iot_bytes(igd_image_data(im), igd_image_stride(im) * h, seed);
    if (type == IGD_PIXEL_F32) {
        float *f = igd_image_data(im);
        for (size_t i = 0; i < w * h * ch; i++)
            f[i] = (float)((i * 37 + seed) % 1000) / 999.0f;
    }
    return im;
}

static void assert_same_pixels(const igd_image *a, const igd_image *b)
{
    ck_assert_uint_eq(igd_image_width(a), igd_image_width(b));
    ck_assert_uint_eq(igd_image_height(a), igd_image_height(b));
    ck_assert_uint_eq(igd_image_channels(a), igd_image_channels(b));
    ck_assert_int_eq(igd_image_type(a), igd_image_type(b));
    ck_assert_uint_eq(igd_image_stride(a), igd_image_stride(b));
    ck_assert_mem_eq(igd_image_const_data(a), igd_image_const_data(b),
                     igd_image_stride(a) * igd_image_height(a));
}

static unsigned char *encode(const igd_image *im, size_t *size)
{
    ck_assert_igd_ok(igd_image_encode_png(im, NULL, 0, size));
    unsigned char *buf = malloc(*size);
    size_t written = 0;
    ck_assert_igd_ok(igd_image_encode_png(im, buf, *size, &written));
    ck_assert_uint_eq(written, *size);
    return buf;
}

START_TEST(png_round_trip_is_exact)
{
    char *dir = strdup(tu_tempdir());
    static const igd_pixel_type types[] = {IGD_PIXEL_U8, IGD_PIXEL_U16};
    for (int t = 0; t < 2; t++) {
        for (size_t ch = 1; ch <= 3; ch += 2) {
            igd_image *im = random_image(37, 23, ch, types[t], 10 + ch + t);
            size_t size;
            unsigned char *png = encode(im, &size);
            igd_image *back;
            ck_assert_igd_ok(igd_image_decode(png, size, NULL, &back));
            assert_same_pixels(im, back);
            igd_image_free(back);
            /* Through a file too. */
            char path[512];
            snprintf(path, sizeof path, "%s/im.png", dir);
            ck_assert_igd_ok(igd_image_save_png(im, path));
            ck_assert_igd_ok(igd_image_load(path, NULL, &back));
            assert_same_pixels(im, back);
            size_t fsize;
            unsigned char *file = tu_read_file(path, &fsize);
            ck_assert_uint_eq(fsize, size);
            ck_assert_mem_eq(file, png, size);
            free(file);
            igd_image_free(back);
            free(png);
            igd_image_free(im);
        }
    }
    /* Only the saved file is left: no temporary files. */
    ck_assert_int_eq(iot_count_entries(dir), 1);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(png_float_images_become_8_bit)
{
    float px[6] = {-0.5f, 0.0f, 0.5f, 1.0f, 2.0f, 0.25f};
    px[5] = 0.0f / 0.0f; /* NaN */
    igd_image *im;
    ck_assert_igd_ok(igd_image_from_pixels(px, IGD_PIXEL_F32, 3, 2, 1, 0, &im));
    size_t size;
    unsigned char *png = encode(im, &size);
    igd_image *back;
    ck_assert_igd_ok(igd_image_decode(png, size, NULL, &back));
    ck_assert_int_eq(igd_image_type(back), IGD_PIXEL_U8);
    const unsigned char expect[6] = {0, 0, 128, 255, 255, 0};
    ck_assert_mem_eq(igd_image_const_data(back), expect, 6);
    igd_image_free(back);
    igd_image_free(im);
    free(png);
}
END_TEST

START_TEST(png_encode_size_contract)
{
    igd_image *im = random_image(16, 9, 3, IGD_PIXEL_U8, 3);
    size_t need = 0, got = 0;
    ck_assert_igd_ok(igd_image_encode_png(im, NULL, 0, &need));
    ck_assert_uint_gt(need, 8);
    unsigned char *buf = malloc(need + 16);
    memset(buf, 0xee, need + 16);
    ck_assert_int_eq(igd_image_encode_png(im, buf, need - 1, &got), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(got, need);
    ck_assert_uint_eq(buf[need - 1], 0xee); /* nothing written past the capacity */
    ck_assert_igd_ok(igd_image_encode_png(im, buf, need + 16, &got));
    ck_assert_uint_eq(got, need);
    ck_assert_uint_eq(buf[need], 0xee);
    ck_assert_int_eq(igd_image_encode_png(NULL, buf, need, &got), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_encode_png(im, buf, need, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_save_png(NULL, "x.png"), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_save_png(im, NULL), IGD_ERR_INVALID_ARGUMENT);
    free(buf);
    igd_image_free(im);
}
END_TEST

/* Decodes a libpng-written PNG and compares with the expected 8- or 16-bit pixels. */
static void check_png(const unsigned char *png, size_t size, size_t w, size_t h, size_t ch,
                      igd_pixel_type type, const void *expect)
{
    igd_image *im;
    ck_assert_igd_ok(igd_image_decode(png, size, NULL, &im));
    ck_assert_uint_eq(igd_image_width(im), w);
    ck_assert_uint_eq(igd_image_height(im), h);
    ck_assert_uint_eq(igd_image_channels(im), ch);
    ck_assert_int_eq(igd_image_type(im), type);
    ck_assert_mem_eq(igd_image_const_data(im), expect,
                     w * h * ch * (type == IGD_PIXEL_U16 ? 2 : 1));
    igd_image_free(im);
}

START_TEST(png_palette_alpha_and_low_depths)
{
    enum { W = 5, H = 3 };
    size_t size;
    /* 4-bit palette with transparency: RGB out, alpha dropped. */
    unsigned char pal[3 * 16], trans[16];
    for (int i = 0; i < 16; i++) {
        pal[3 * i] = (unsigned char)(i * 16);
        pal[3 * i + 1] = (unsigned char)(255 - i * 7);
        pal[3 * i + 2] = (unsigned char)(i * i);
        trans[i] = (unsigned char)(i * 10);
    }
    unsigned char idx[W * H], packed[H * 3] = {0}, rgb[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        idx[i] = (unsigned char)((i * 7) % 16);
        memcpy(rgb + 3 * i, pal + 3 * idx[i], 3);
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            packed[y * 3 + x / 2] |= (unsigned char)(idx[y * W + x] << (x % 2 ? 0 : 4));
    unsigned char *png =
        iot_png(W, H, PNG_COLOR_TYPE_PALETTE, 4, packed, 3, pal, 16, trans, 16, 0, &size);
    check_png(png, size, W, H, 3, IGD_PIXEL_U8, rgb);
    free(png);

    /* 8-bit grey with alpha: grey out. */
    unsigned char ga[W * H * 2], g[W * H];
    iot_bytes(ga, sizeof ga, 5);
    for (int i = 0; i < W * H; i++)
        g[i] = ga[2 * i];
    png = iot_png(W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, W * 2, NULL, 0, NULL, 0, 0, &size);
    check_png(png, size, W, H, 1, IGD_PIXEL_U8, g);
    free(png);

    /* 16-bit RGBA, interlaced: 16-bit RGB out in host order. */
    unsigned char rgba[W * H * 8];
    uint16_t rgb16[W * H * 3];
    iot_bytes(rgba, sizeof rgba, 6);
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++)
            rgb16[3 * i + c] = (uint16_t)(rgba[8 * i + 2 * c] << 8 | rgba[8 * i + 2 * c + 1]);
    png = iot_png(W, H, PNG_COLOR_TYPE_RGB_ALPHA, 16, rgba, W * 8, NULL, 0, NULL, 0, 1, &size);
    check_png(png, size, W, H, 3, IGD_PIXEL_U16, rgb16);
    free(png);

    /* 16-bit grey with alpha. */
    unsigned char ga16[W * H * 4];
    uint16_t g16[W * H];
    iot_bytes(ga16, sizeof ga16, 7);
    for (int i = 0; i < W * H; i++)
        g16[i] = (uint16_t)(ga16[4 * i] << 8 | ga16[4 * i + 1]);
    png = iot_png(W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 16, ga16, W * 4, NULL, 0, NULL, 0, 0, &size);
    check_png(png, size, W, H, 1, IGD_PIXEL_U16, g16);
    free(png);

    /* 1-bit grey: 0 and 255. 8-bit RGBA: RGB. */
    unsigned char bits[H] = {0xa8, 0x50, 0xf8}, grey1[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            grey1[y * W + x] = (bits[y] >> (7 - x)) & 1 ? 255 : 0;
    png = iot_png(W, H, PNG_COLOR_TYPE_GRAY, 1, bits, 1, NULL, 0, NULL, 0, 0, &size);
    check_png(png, size, W, H, 1, IGD_PIXEL_U8, grey1);
    free(png);
    unsigned char rgba8[W * H * 4], rgb8[W * H * 3];
    iot_bytes(rgba8, sizeof rgba8, 8);
    for (int i = 0; i < W * H; i++)
        memcpy(rgb8 + 3 * i, rgba8 + 4 * i, 3);
    png = iot_png(W, H, PNG_COLOR_TYPE_RGB_ALPHA, 8, rgba8, W * 4, NULL, 0, NULL, 0, 0, &size);
    check_png(png, size, W, H, 3, IGD_PIXEL_U8, rgb8);
    free(png);
}
END_TEST

static unsigned char *gradient(size_t w, size_t h, size_t ch)
{
    unsigned char *p = malloc(w * h * ch);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            for (size_t c = 0; c < ch; c++)
                p[(y * w + x) * ch + c] = (unsigned char)((x * 5 + y * 3 + c * 60) % 256 / 2 + 40);
    return p;
}

START_TEST(jpeg_decodes_within_tolerance)
{
    for (size_t ch = 1; ch <= 3; ch += 2) {
        size_t w = 40, h = 27, size;
        unsigned char *px = gradient(w, h, ch);
        unsigned char *jpg = iot_jpeg(px, w, h, ch, 95, &size);
        igd_image *im;
        ck_assert_igd_ok(igd_image_decode(jpg, size, NULL, &im));
        ck_assert_uint_eq(igd_image_width(im), w);
        ck_assert_uint_eq(igd_image_height(im), h);
        ck_assert_uint_eq(igd_image_channels(im), ch);
        ck_assert_int_eq(igd_image_type(im), IGD_PIXEL_U8);
        const unsigned char *d = igd_image_const_data(im);
        double sum = 0;
        int worst = 0;
        for (size_t i = 0; i < w * h * ch; i++) {
            int diff = abs((int)d[i] - (int)px[i]);
            sum += diff;
            worst = diff > worst ? diff : worst;
        }
        ck_assert_double_lt(sum / (double)(w * h * ch), 3.0);
        ck_assert_int_lt(worst, 32);
        igd_image_free(im);
        free(jpg);
        free(px);
    }
}
END_TEST

START_TEST(every_prefix_fails_cleanly)
{
    tu_alloc_install();
    long live = tu_live_allocations();
    igd_image *src = random_image(8, 6, 3, IGD_PIXEL_U8, 9);
    size_t png_size, jpg_size;
    unsigned char *png = encode(src, &png_size);
    unsigned char *jpg = iot_jpeg(igd_image_const_data(src), 8, 6, 3, 90, &jpg_size);
    for (size_t n = 0; n < png_size; n++) {
        igd_image *im = (igd_image *)1;
        igd_status st = igd_image_decode(png, n, NULL, &im);
        ck_assert_msg(st == IGD_ERR_CORRUPT, "PNG prefix %zu: %d", n, st);
        ck_assert_ptr_null(im);
        ck_assert_str_ne(igd_last_error(), "");
    }
    for (size_t n = 0; n < jpg_size; n++) {
        igd_image *im = (igd_image *)1;
        igd_status st = igd_image_decode(jpg, n, NULL, &im);
        ck_assert_msg(st == IGD_ERR_CORRUPT, "JPEG prefix %zu: %d", n, st);
        ck_assert_ptr_null(im);
    }
    igd_image *whole;
    ck_assert_igd_ok(igd_image_decode(jpg, jpg_size, NULL, &whole));
    igd_image_free(whole);
    igd_image_free(src);
    ck_assert_int_eq(tu_live_allocations(), live);
    free(png);
    free(jpg);
}
END_TEST

START_TEST(damaged_bytes_never_crash)
{
    igd_image *src = random_image(9, 7, 3, IGD_PIXEL_U8, 11);
    size_t png_size, jpg_size;
    unsigned char *png = encode(src, &png_size);
    unsigned char *jpg = iot_jpeg(igd_image_const_data(src), 9, 7, 3, 90, &jpg_size);
    unsigned char *copy = malloc(png_size > jpg_size ? png_size : jpg_size);
    for (int which = 0; which < 2; which++) {
        const unsigned char *orig = which ? jpg : png;
        size_t size = which ? jpg_size : png_size;
        for (size_t i = 0; i < size; i++) {
            for (int flip = 1; flip < 256; flip <<= 3) {
                memcpy(copy, orig, size);
                copy[i] ^= (unsigned char)flip;
                igd_image *im = NULL;
                igd_status st = igd_image_decode(copy, size, NULL, &im);
                if (st == IGD_OK) {
                    ck_assert_uint_eq(igd_image_width(im) * igd_image_height(im) > 0, 1);
                    igd_image_free(im);
                } else {
                    ck_assert_ptr_null(im);
                    ck_assert(st == IGD_ERR_CORRUPT || st == IGD_ERR_UNSUPPORTED ||
                              st == IGD_ERR_LIMIT);
                }
            }
        }
    }
    /* A PNG whose data CRC is wrong is damaged. */
    memcpy(copy, png, png_size);
    copy[png_size - 20] ^= 0x40;
    igd_image *im;
    ck_assert_int_eq(igd_image_decode(copy, png_size, NULL, &im), IGD_ERR_CORRUPT);
    free(copy);
    free(png);
    free(jpg);
    igd_image_free(src);
}
END_TEST

START_TEST(garbage_is_unsupported)
{
    unsigned char junk[300];
    iot_bytes(junk, sizeof junk, 1);
    junk[0] = 'G';
    igd_image *im = (igd_image *)1;
    ck_assert_int_eq(igd_image_decode(junk, sizeof junk, NULL, &im), IGD_ERR_UNSUPPORTED);
    ck_assert_ptr_null(im);
    ck_assert_int_eq(igd_image_decode("GIF89a", 6, NULL, &im), IGD_ERR_UNSUPPORTED);
    ck_assert_int_eq(igd_image_decode("BM", 2, NULL, &im), IGD_ERR_UNSUPPORTED);
    ck_assert_int_eq(igd_image_decode(junk, 0, NULL, &im), IGD_ERR_CORRUPT);
    ck_assert_int_eq(igd_image_decode(NULL, 10, NULL, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_decode(junk, 10, NULL, NULL), IGD_ERR_INVALID_ARGUMENT);
    /* A JPEG signature followed by garbage. */
    junk[0] = 0xff;
    junk[1] = 0xd8;
    junk[2] = 0xff;
    ck_assert_int_eq(igd_image_decode(junk, sizeof junk, NULL, &im), IGD_ERR_CORRUPT);
}
END_TEST

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A signature, an IHDR chunk claiming w x h RGB, and IEND (valid CRCs, no data). */
static size_t png_header(unsigned char *out, uint32_t w, uint32_t h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    put_be32(out + 8, 13);
    memcpy(out + 12, "IHDR", 4);
    put_be32(out + 16, w);
    put_be32(out + 20, h);
    out[24] = 8; /* depth */
    out[25] = 2; /* RGB */
    out[26] = out[27] = out[28] = 0;
    put_be32(out + 29, (uint32_t)crc32(0, out + 12, 17));
    put_be32(out + 33, 0);
    memcpy(out + 37, "IEND", 4);
    put_be32(out + 41, (uint32_t)crc32(0, out + 37, 4));
    return 45;
}

START_TEST(limits_reject_headers_before_allocating)
{
    unsigned char hdr[64];
    size_t n = png_header(hdr, 1000000, 1000000);
    iot_track_install();
    igd_image *im = (igd_image *)1;
    ck_assert_int_eq(igd_image_decode(hdr, n, NULL, &im), IGD_ERR_LIMIT);
    ck_assert_ptr_null(im);
    ck_assert_uint_lt(iot_track_largest(), 1u << 20);
    /* A JPEG whose frame header claims 60000 x 60000. */
    igd_image *src = random_image(16, 16, 3, IGD_PIXEL_U8, 2);
    size_t size;
    unsigned char *jpg = iot_jpeg(igd_image_const_data(src), 16, 16, 3, 80, &size);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < size; i++)
        if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
            sof = i;
            break;
        }
    ck_assert_uint_gt(sof, 0);
    jpg[sof + 5] = jpg[sof + 7] = 0xea;
    jpg[sof + 6] = jpg[sof + 8] = 0x60;
    ck_assert_int_eq(igd_image_decode(jpg, size, NULL, &im), IGD_ERR_LIMIT);
    ck_assert_uint_lt(iot_track_largest(), 1u << 20);
    iot_track_remove();
    free(jpg);

    /* Configured limits on a side and on the pixel count, for both formats. */
    size_t png_size;
    unsigned char *png = encode(src, &png_size);
    jpg = iot_jpeg(igd_image_const_data(src), 16, 16, 3, 80, &size);
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    ck_assert_igd_ok(igd_image_decode(png, png_size, o, &im));
    igd_image_free(im);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_SIDE, 15));
    ck_assert_int_eq(igd_image_decode(png, png_size, o, &im), IGD_ERR_LIMIT);
    ck_assert_int_eq(igd_image_decode(jpg, size, o, &im), IGD_ERR_LIMIT);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_SIDE, 16));
    ck_assert_igd_ok(igd_image_decode(jpg, size, o, &im));
    igd_image_free(im);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_PIXELS, 255));
    ck_assert_int_eq(igd_image_decode(png, png_size, o, &im), IGD_ERR_LIMIT);
    ck_assert_int_eq(igd_image_decode(jpg, size, o, &im), IGD_ERR_LIMIT);
    /* A header of size 0 is damaged, not over a limit. */
    n = png_header(hdr, 0, 5);
    ck_assert_int_eq(igd_image_decode(hdr, n, NULL, &im), IGD_ERR_CORRUPT);
    /* A header within limits but without data is damaged. */
    n = png_header(hdr, 4, 4);
    ck_assert_int_eq(igd_image_decode(hdr, n, NULL, &im), IGD_ERR_CORRUPT);
    igd_options_free(o);
    igd_image_free(src);
    free(png);
    free(jpg);
}
END_TEST

START_TEST(load_reports_file_errors)
{
    char *dir = strdup(tu_tempdir());
    char path[512];
    igd_image *im = (igd_image *)1;
    snprintf(path, sizeof path, "%s/missing.png", dir);
    ck_assert_int_eq(igd_image_load(path, NULL, &im), IGD_ERR_NOT_FOUND);
    ck_assert_ptr_null(im);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "missing.png"));
    snprintf(path, sizeof path, "%s/nodir/x.png", dir);
    ck_assert_int_eq(igd_image_load(path, NULL, &im), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_image_load(dir, NULL, &im), IGD_ERR_IO);
    snprintf(path, sizeof path, "%s/empty.png", dir);
    ck_assert_int_eq(tu_write_file(path, "", 0), 0);
    ck_assert_int_eq(igd_image_load(path, NULL, &im), IGD_ERR_CORRUPT);
    snprintf(path, sizeof path, "%s/text.png", dir);
    ck_assert_int_eq(tu_write_file(path, "hello, world", 12), 0);
    ck_assert_int_eq(igd_image_load(path, NULL, &im), IGD_ERR_UNSUPPORTED);
    ck_assert_int_eq(igd_image_load(NULL, NULL, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_image_load(path, NULL, NULL), IGD_ERR_INVALID_ARGUMENT);
    /* A JPEG file loads. */
    unsigned char *px = gradient(12, 10, 3);
    size_t size;
    unsigned char *jpg = iot_jpeg(px, 12, 10, 3, 90, &size);
    snprintf(path, sizeof path, "%s/a.jpg", dir);
    ck_assert_int_eq(tu_write_file(path, jpg, size), 0);
    ck_assert_igd_ok(igd_image_load(path, NULL, &im));
    ck_assert_uint_eq(igd_image_width(im), 12);
    igd_image_free(im);
    /* A file larger than the pixel limit allows is not read. */
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_PIXELS, 1));
    /* A sparse file of 80 MiB starting like a JPEG: larger than the 64 MiB + 16 bytes a pixel
     * that one pixel allows. */
    snprintf(path, sizeof path, "%s/big.jpg", dir);
    ck_assert_int_eq(tu_write_file(path, "\xff\xd8\xff", 3), 0);
    ck_assert_int_eq(truncate(path, 80l << 20), 0);
    ck_assert_int_eq(igd_image_load(path, o, &im), IGD_ERR_LIMIT);
    igd_options_free(o);
    free(jpg);
    free(px);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(save_is_atomic)
{
    char *dir = strdup(tu_tempdir());
    char path[512];
    igd_image *a = random_image(20, 10, 1, IGD_PIXEL_U8, 1);
    igd_image *b = random_image(30, 12, 3, IGD_PIXEL_U16, 2);
    snprintf(path, sizeof path, "%s/nodir/x.png", dir);
    ck_assert_int_eq(igd_image_save_png(a, path), IGD_ERR_NOT_FOUND);
    snprintf(path, sizeof path, "%s/out.png", dir);
    ck_assert_igd_ok(igd_image_save_png(a, path));
    size_t old_size;
    unsigned char *old = tu_read_file(path, &old_size);
    /* Every failure of a replacement leaves the old file and no temporary file. */
    tu_alloc_install();
    long live = tu_live_allocations();
    igd_status st = IGD_ERR_OUT_OF_MEMORY;
    for (long n = 0; st != IGD_OK; n++) {
        tu_fail_after(n);
        st = igd_image_save_png(b, path);
        tu_fail_reset();
        ck_assert_int_eq(tu_live_allocations(), live);
        ck_assert_int_eq(iot_count_entries(dir), 1);
        if (st != IGD_OK) {
            ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
            size_t now_size;
            unsigned char *now = tu_read_file(path, &now_size);
            ck_assert_uint_eq(now_size, old_size);
            ck_assert_mem_eq(now, old, old_size);
            free(now);
        }
    }
    igd_image *back;
    ck_assert_igd_ok(igd_image_load(path, NULL, &back));
    assert_same_pixels(b, back);
    igd_image_free(back);
    /* A read-only folder: an I/O error, the old file stays. */
    if (geteuid() != 0) {
        chmod(dir, 0555);
        ck_assert_int_eq(igd_image_save_png(a, path), IGD_ERR_IO);
        chmod(dir, 0755);
        ck_assert_igd_ok(igd_image_load(path, NULL, &back));
        assert_same_pixels(b, back);
        igd_image_free(back);
    }
    free(old);
    igd_image_free(a);
    igd_image_free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    tu_alloc_install();
    char *dir = strdup(tu_tempdir());
    char path[512];
    snprintf(path, sizeof path, "%s/x.png", dir);
    igd_image *src8 = random_image(33, 17, 3, IGD_PIXEL_U8, 4);
    igd_image *src16 = random_image(13, 7, 1, IGD_PIXEL_U16, 5);
    size_t png8_size, png16_size, jpg_size;
    unsigned char *png8 = encode(src8, &png8_size);
    unsigned char *png16 = encode(src16, &png16_size);
    unsigned char *jpg = iot_jpeg(igd_image_const_data(src8), 33, 17, 3, 90, &jpg_size);
    ck_assert_igd_ok(igd_image_save_png(src8, path));
    long live = tu_live_allocations();
    for (int what = 0; what < 5; what++) {
        igd_status st = IGD_ERR_OUT_OF_MEMORY;
        long n;
        for (n = 0; st != IGD_OK; n++) {
            igd_image *im = (igd_image *)1;
            size_t size = 0;
            tu_fail_after(n);
            switch (what) {
            case 0:
                st = igd_image_decode(png8, png8_size, NULL, &im);
                break;
            case 1:
                st = igd_image_decode(png16, png16_size, NULL, &im);
                break;
            case 2:
                st = igd_image_decode(jpg, jpg_size, NULL, &im);
                break;
            case 3:
                st = igd_image_load(path, NULL, &im);
                break;
            case 4:
                im = NULL;
                st = igd_image_encode_png(src8, NULL, 0, &size);
                break;
            }
            tu_fail_reset();
            if (st == IGD_OK) {
                igd_image_free(im);
            } else {
                ck_assert_msg(st == IGD_ERR_OUT_OF_MEMORY, "case %d, n %ld: %d", what, n, st);
                ck_assert_ptr_null(im);
            }
            ck_assert_int_eq(tu_live_allocations(), live);
        }
        ck_assert_int_gt(n, 1);
    }
    igd_image_free(src8);
    igd_image_free(src16);
    free(png8);
    free(png16);
    free(jpg);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

Suite *make_codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, png_round_trip_is_exact);
    tcase_add_test(tc, png_float_images_become_8_bit);
    tcase_add_test(tc, png_encode_size_contract);
    tcase_add_test(tc, png_palette_alpha_and_low_depths);
    tcase_add_test(tc, jpeg_decodes_within_tolerance);
    tcase_add_test(tc, every_prefix_fails_cleanly);
    tcase_add_test(tc, damaged_bytes_never_crash);
    tcase_add_test(tc, garbage_is_unsupported);
    tcase_add_test(tc, limits_reject_headers_before_allocating);
    tcase_add_test(tc, load_reports_file_errors);
    tcase_add_test(tc, save_is_atomic);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
