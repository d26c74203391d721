/* Data sets: MVTec AD trees, folders, IDX files (plain, gzip, damaged), pixels, and the
 * rearrangements (copy, shuffle, subsample, contaminate, relabelling). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/dataset.h"
#include "iotest.h"
#include "testutil.h"

static char *join(const char *a, const char *b)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", a, b);
    return buf[k];
}

static void mkdirs(const char *root, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    mkdir(path, 0755);
}

/* Saves a w x h image whose pixels are derived from seed; returns it (caller frees). */
static igd_image *save_png(const char *path, size_t w, size_t h, size_t ch, uint64_t seed)
{
    igd_image *im;
    ck_assert_igd_ok(igd_image_create(w, h, ch, IGD_PIXEL_U8, &im));
    iot_bytes(igd_image_data(im), igd_image_stride(im) * h, seed);
    ck_assert_igd_ok(igd_image_save_png(im, path));
    return im;
}

static void save_jpeg(const char *path, size_t w, size_t h)
{
    unsigned char *px = malloc(w * h * 3);
    iot_bytes(px, w * h * 3, 99);
    size_t size;
    unsigned char *jpg = iot_jpeg(px, w, h, 3, 90, &size);
    ck_assert_int_eq(tu_write_file(path, jpg, size), 0);
    free(jpg);
    free(px);
}

/* A small MVTec AD tree: train/good x3, test/{crack x3, good x2, scratch x1 (JPEG)}, masks for
 * crack 000 and 001 (002's has the wrong size), none for scratch. */
static char *make_mvtec(void)
{
    char *root = strdup(tu_tempdir());
    mkdirs(root, "train/good/subfolder");
    mkdirs(root, "test/good");
    mkdirs(root, "test/crack");
    mkdirs(root, "test/scratch");
    mkdirs(root, "ground_truth/crack");
    mkdirs(root, "ground_truth/scratch");
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "train/good/%03d.png", i);
        igd_image_free(save_png(join(root, name), 8, 6, 3, 10 + i));
        snprintf(name, sizeof name, "test/crack/%03d.png", i);
        igd_image_free(save_png(join(root, name), 8, 6, 3, 20 + i));
    }
    ck_assert_int_eq(tu_write_file(join(root, "train/good/notes.txt"), "x", 1), 0);
    igd_image_free(save_png(join(root, "test/good/000.png"), 8, 6, 3, 30));
    igd_image_free(save_png(join(root, "test/good/001.png"), 8, 6, 3, 31));
    save_jpeg(join(root, "test/scratch/000.jpg"), 8, 6);
    /* Masks: grey values 0, 1 and 200 (binarised to 0 / 255). */
    unsigned char m[48];
    for (int i = 0; i < 48; i++)
        m[i] = i % 5 == 0 ? 0 : (i % 5 == 1 ? 1 : 200);
    igd_image *mask;
    ck_assert_igd_ok(igd_image_from_pixels(m, IGD_PIXEL_U8, 8, 6, 1, 0, &mask));
    ck_assert_igd_ok(igd_image_save_png(mask, join(root, "ground_truth/crack/000_mask.png")));
    ck_assert_igd_ok(igd_image_save_png(mask, join(root, "ground_truth/crack/001_mask.png")));
    igd_image_free(mask);
    igd_image_free(save_png(join(root, "ground_truth/crack/002_mask.png"), 7, 6, 1, 1));
    return root;
}

START_TEST(mvtec_train_and_test)
{
    char *root = make_mvtec();
    igd_dataset *tr, *te;
    ck_assert_igd_ok(igd_dataset_open_mvtec(root, IGD_SPLIT_TRAIN, &tr));
    ck_assert_uint_eq(igd_dataset_count(tr), 3);
    ck_assert_str_eq(igd_dataset_class_name(tr, 0), "crack");
    ck_assert_str_eq(igd_dataset_class_name(tr, 1), "good");
    ck_assert_str_eq(igd_dataset_class_name(tr, 2), "scratch");
    ck_assert_ptr_null(igd_dataset_class_name(tr, 3));
    ck_assert_ptr_null(igd_dataset_class_name(tr, -1));
    for (size_t i = 0; i < 3; i++) {
        int label, cls;
        ck_assert_igd_ok(igd_dataset_label(tr, i, &label));
        ck_assert_igd_ok(igd_dataset_class(tr, i, &cls));
        ck_assert_int_eq(label, 0);
        ck_assert_int_eq(cls, 1);
        char want[64];
        snprintf(want, sizeof want, "/train/good/%03zu.png", i);
        const char *p = igd_dataset_path(tr, i);
        ck_assert_str_eq(p + strlen(p) - strlen(want), want);
        igd_image *im, *mask;
        ck_assert_igd_ok(igd_dataset_load(tr, i, &im));
        igd_image *expect;
        ck_assert_igd_ok(igd_image_load(p, NULL, &expect));
        ck_assert_mem_eq(igd_image_const_data(im), igd_image_const_data(expect), 8 * 6 * 3);
        ck_assert_igd_ok(igd_dataset_load_mask(tr, i, &mask));
        ck_assert_uint_eq(igd_image_width(mask), 8);
        ck_assert_uint_eq(igd_image_channels(mask), 1);
        for (size_t k = 0; k < 48; k++)
            ck_assert_uint_eq(((const unsigned char *)igd_image_const_data(mask))[k], 0);
        igd_image_free(mask);
        igd_image_free(expect);
        igd_image_free(im);
    }

    ck_assert_igd_ok(igd_dataset_open_mvtec(root, IGD_SPLIT_TEST, &te));
    ck_assert_uint_eq(igd_dataset_count(te), 6);
    const char *names[6] = {"crack/000.png", "crack/001.png", "crack/002.png",
                            "good/000.png",  "good/001.png",  "scratch/000.jpg"};
    const int labels[6] = {1, 1, 1, 0, 0, 1}, classes[6] = {0, 0, 0, 1, 1, 2};
    for (size_t i = 0; i < 6; i++) {
        int label, cls;
        ck_assert_igd_ok(igd_dataset_label(te, i, &label));
        ck_assert_igd_ok(igd_dataset_class(te, i, &cls));
        ck_assert_int_eq(label, labels[i]);
        ck_assert_int_eq(cls, classes[i]);
        const char *p = igd_dataset_path(te, i);
        ck_assert_str_eq(p + strlen(p) - strlen(names[i]), names[i]);
    }
    igd_image *mask = (igd_image *)1;
    ck_assert_igd_ok(igd_dataset_load_mask(te, 1, &mask));
    const unsigned char *m = igd_image_const_data(mask);
    for (int i = 0; i < 48; i++)
        ck_assert_uint_eq(m[i], i % 5 == 0 ? 0 : 255);
    igd_image_free(mask);
    ck_assert_int_eq(igd_dataset_load_mask(te, 2, &mask), IGD_ERR_CORRUPT);
    ck_assert_ptr_null(mask);
    ck_assert_int_eq(igd_dataset_load_mask(te, 5, &mask), IGD_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(igd_last_error(), "000_mask.png"));
    ck_assert_igd_ok(igd_dataset_load_mask(te, 4, &mask));
    igd_image_free(mask);
    /* The JPEG sample decodes; ds_view hands back a decoded holder. */
    io_view v;
    igd_image *holder;
    core_err err = {0};
    ck_assert_int_eq(ds_view(te, 5, NULL, &v, &holder, &err), IGD_OK);
    ck_assert_ptr_nonnull(holder);
    ck_assert_uint_eq(v.width, 8);
    ck_assert_uint_eq(v.channels, 3);
    ck_assert_ptr_eq(v.data, igd_image_const_data(holder));
    igd_image_free(holder);
    ck_assert_int_eq(ds_view(te, 6, NULL, &v, &holder, &err), IGD_ERR_INVALID_ARGUMENT);

    /* The two splits share class ids, so test anomalies can contaminate the training set. */
    ck_assert_igd_ok(igd_dataset_contaminate(tr, te, 0.25, 1));
    ck_assert_uint_eq(igd_dataset_count(tr), 4);
    ck_assert_uint_eq(igd_dataset_count(te), 5);
    int label;
    ck_assert_igd_ok(igd_dataset_label(tr, 3, &label));
    ck_assert_int_eq(label, 1);
    ck_assert_ptr_nonnull(strstr(igd_dataset_path(tr, 3), "/test/"));
    igd_dataset_free(te);
    /* The moved sample outlives the data set it came from. */
    igd_image *im;
    ck_assert_igd_ok(igd_dataset_load(tr, 3, &im));
    igd_image_free(im);
    igd_dataset_free(tr);
    tu_rmtree(root);
    free(root);
}
END_TEST

START_TEST(mvtec_errors)
{
    char *root = make_mvtec();
    igd_dataset *ds = (igd_dataset *)1;
    ck_assert_int_eq(igd_dataset_open_mvtec(join(root, "nope"), IGD_SPLIT_TRAIN, &ds),
                     IGD_ERR_NOT_FOUND);
    ck_assert_ptr_null(ds);
    ck_assert_int_eq(igd_dataset_open_mvtec(join(root, "test/good/000.png"), IGD_SPLIT_TRAIN, &ds),
                     IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_dataset_open_mvtec(root, (igd_split)0, &ds), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_mvtec(NULL, IGD_SPLIT_TRAIN, &ds), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_mvtec(root, IGD_SPLIT_TRAIN, NULL), IGD_ERR_INVALID_ARGUMENT);
    /* Without test/: the training split still opens, with the single class "good". */
    tu_rmtree(join(root, "test"));
    ck_assert_int_eq(igd_dataset_open_mvtec(root, IGD_SPLIT_TEST, &ds), IGD_ERR_NOT_FOUND);
    ck_assert_igd_ok(igd_dataset_open_mvtec(root, IGD_SPLIT_TRAIN, &ds));
    ck_assert_str_eq(igd_dataset_class_name(ds, 0), "good");
    ck_assert_ptr_null(igd_dataset_class_name(ds, 1));
    igd_dataset_free(ds);
    /* Without train/good. */
    tu_rmtree(join(root, "train"));
    ck_assert_int_eq(igd_dataset_open_mvtec(root, IGD_SPLIT_TRAIN, &ds), IGD_ERR_NOT_FOUND);
    /* An empty test folder. */
    mkdirs(root, "test/crack");
    ck_assert_int_eq(igd_dataset_open_mvtec(root, IGD_SPLIT_TEST, &ds), IGD_ERR_NOT_FOUND);
    tu_rmtree(root);
    free(root);
}
END_TEST

START_TEST(folder_of_images)
{
    char *dir = strdup(tu_tempdir());
    igd_image *b = save_png(join(dir, "b.png"), 5, 4, 1, 1);
    save_jpeg(join(dir, "a.jpg"), 6, 3);
    igd_image_free(save_png(join(dir, "c.PNG"), 2, 2, 3, 2));
    ck_assert_int_eq(tu_write_file(join(dir, "d.txt"), "x", 1), 0);
    ck_assert_int_eq(tu_write_file(join(dir, "png"), "x", 1), 0);
    mkdirs(dir, "e.png");
    igd_image_free(save_png(join(dir, "e.png/f.png"), 2, 2, 3, 3));
    igd_dataset *ds;
    ck_assert_igd_ok(igd_dataset_open_folder(dir, 1, &ds));
    ck_assert_uint_eq(igd_dataset_count(ds), 3);
    const char *names[3] = {"/a.jpg", "/b.png", "/c.PNG"};
    for (size_t i = 0; i < 3; i++) {
        const char *p = igd_dataset_path(ds, i);
        ck_assert_str_eq(p + strlen(p) - strlen(names[i]), names[i]);
        int label, cls;
        ck_assert_igd_ok(igd_dataset_label(ds, i, &label));
        ck_assert_int_eq(label, 1);
        ck_assert_igd_ok(igd_dataset_class(ds, i, &cls));
        ck_assert_int_eq(cls, -1);
    }
    ck_assert_ptr_null(igd_dataset_class_name(ds, 0));
    igd_image *im;
    ck_assert_igd_ok(igd_dataset_load(ds, 1, &im));
    ck_assert_mem_eq(igd_image_const_data(im), igd_image_const_data(b), 20);
    igd_image_free(im);
    ck_assert_int_eq(igd_dataset_load_mask(ds, 1, &im), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_dataset_set_normal_class(ds, 0), IGD_ERR_NOT_FOUND);
    igd_dataset_free(ds);
    igd_image_free(b);
    igd_dataset *none = (igd_dataset *)1;
    ck_assert_int_eq(igd_dataset_open_folder(dir, 2, &none), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(none);
    ck_assert_int_eq(igd_dataset_open_folder(dir, -1, &none), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_folder(NULL, 0, &none), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_folder(dir, 0, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_folder(join(dir, "missing"), 0, &none), IGD_ERR_NOT_FOUND);
    mkdirs(dir, "empty");
    ck_assert_int_eq(igd_dataset_open_folder(join(dir, "empty"), 0, &none), IGD_ERR_NOT_FOUND);
    /* A trailing slash is fine. */
    char slash[1024];
    snprintf(slash, sizeof slash, "%s/", dir);
    ck_assert_igd_ok(igd_dataset_open_folder(slash, 0, &ds));
    ck_assert_ptr_null(strstr(igd_dataset_path(ds, 0), "//"));
    igd_dataset_free(ds);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- IDX ---- */

static unsigned char *idx_bytes(unsigned char type, unsigned ndims, const uint32_t *dims,
                                const unsigned char *data, size_t data_size, size_t *size)
{
    *size = 4 + 4 * ndims + data_size;
    unsigned char *b = malloc(*size);
    b[0] = b[1] = 0;
    b[2] = type;
    b[3] = (unsigned char)ndims;
    for (unsigned i = 0; i < ndims; i++) {
        b[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        b[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        b[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        b[7 + 4 * i] = (unsigned char)dims[i];
    }
    if (data_size)
        memcpy(b + 4 + 4 * ndims, data, data_size);
    return b;
}

static void write_gz(const char *path, const void *data, size_t size)
{
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    if (size)
        ck_assert_int_eq(gzwrite(f, data, (unsigned)size), (int)size);
    ck_assert_int_eq(gzclose(f), Z_OK);
}

static void write_idx(const char *path, bool gz, unsigned char type, unsigned ndims,
                      const uint32_t *dims, const unsigned char *data, size_t data_size)
{
    size_t size;
    unsigned char *b = idx_bytes(type, ndims, dims, data, data_size, &size);
    if (gz)
        write_gz(path, b, size);
    else
        ck_assert_int_eq(tu_write_file(path, b, size), 0);
    free(b);
}

enum { N = 5, H = 3, W = 4 };
static const unsigned char idx_labels[N] = {3, 1, 3, 0, 7};

static void make_idx_pair(const char *dir, bool gz, unsigned char *pixels)
{
    iot_bytes(pixels, N * H * W, 5);
    const uint32_t dims[3] = {N, H, W}, ldims[1] = {N};
    write_idx(join(dir, gz ? "img.gz" : "img"), gz, 0x08, 3, dims, pixels, N * H * W);
    write_idx(join(dir, gz ? "lab.gz" : "lab"), gz, 0x08, 1, ldims, idx_labels, N);
}

START_TEST(idx_plain_and_gzip)
{
    char *dir = strdup(tu_tempdir());
    unsigned char pixels[N * H * W];
    for (int gz = 0; gz < 2; gz++) {
        make_idx_pair(dir, gz, pixels);
        igd_dataset *ds;
        ck_assert_igd_ok(igd_dataset_open_idx(join(dir, gz ? "img.gz" : "img"),
                                              join(dir, gz ? "lab.gz" : "lab"), NULL, &ds));
        ck_assert_uint_eq(igd_dataset_count(ds), N);
        for (size_t i = 0; i < N; i++) {
            int label, cls;
            ck_assert_igd_ok(igd_dataset_label(ds, i, &label));
            ck_assert_igd_ok(igd_dataset_class(ds, i, &cls));
            ck_assert_int_eq(label, 0);
            ck_assert_int_eq(cls, idx_labels[i]);
            ck_assert_ptr_null(igd_dataset_path(ds, i));
            igd_image *im;
            ck_assert_igd_ok(igd_dataset_load(ds, i, &im));
            ck_assert_uint_eq(igd_image_width(im), W);
            ck_assert_uint_eq(igd_image_height(im), H);
            ck_assert_uint_eq(igd_image_channels(im), 1);
            ck_assert_mem_eq(igd_image_const_data(im), pixels + i * H * W, H * W);
            igd_image_free(im);
            /* In-memory samples: a view into the data set, nothing allocated. */
            io_view v;
            igd_image *holder = (igd_image *)1;
            core_err err = {0};
            ck_assert_int_eq(ds_view(ds, i, NULL, &v, &holder, &err), IGD_OK);
            ck_assert_ptr_null(holder);
            ck_assert_mem_eq(v.data, pixels + i * H * W, H * W);
            ck_assert_uint_eq(v.row_stride, W);
        }
        ck_assert_str_eq(igd_dataset_class_name(ds, 0), "0");
        ck_assert_str_eq(igd_dataset_class_name(ds, 3), "3");
        ck_assert_str_eq(igd_dataset_class_name(ds, 7), "7");
        ck_assert_ptr_null(igd_dataset_class_name(ds, 2));
        ck_assert_ptr_null(igd_dataset_class_name(ds, 8));
        /* One-class protocol. */
        ck_assert_igd_ok(igd_dataset_set_normal_class(ds, 3));
        for (size_t i = 0; i < N; i++) {
            int label;
            ck_assert_igd_ok(igd_dataset_label(ds, i, &label));
            ck_assert_int_eq(label, idx_labels[i] == 3 ? 0 : 1);
        }
        igd_image *mask;
        ck_assert_igd_ok(igd_dataset_load_mask(ds, 0, &mask));
        ck_assert_uint_eq(igd_image_width(mask), W);
        igd_image_free(mask);
        ck_assert_int_eq(igd_dataset_load_mask(ds, 1, &mask), IGD_ERR_NOT_FOUND);
        ck_assert_int_eq(igd_dataset_set_normal_class(ds, 2), IGD_ERR_NOT_FOUND);
        igd_dataset *copy;
        ck_assert_igd_ok(igd_dataset_copy(ds, &copy));
        ck_assert_igd_ok(igd_dataset_keep_label(ds, 0));
        ck_assert_uint_eq(igd_dataset_count(ds), 2);
        ck_assert_uint_eq(igd_dataset_count(copy), N);
        ck_assert_igd_ok(igd_dataset_set_normal_class(copy, 7));
        int label;
        ck_assert_igd_ok(igd_dataset_label(ds, 0, &label));
        ck_assert_int_eq(label, 0); /* the copy's relabelling is its own */
        ck_assert_igd_ok(igd_dataset_keep_label(copy, 1));
        ck_assert_uint_eq(igd_dataset_count(copy), 4);
        igd_dataset_free(ds);
        igd_dataset_free(copy);
        /* Without labels: no classes. */
        ck_assert_igd_ok(igd_dataset_open_idx(join(dir, gz ? "img.gz" : "img"), NULL, NULL, &ds));
        int cls;
        ck_assert_igd_ok(igd_dataset_class(ds, 0, &cls));
        ck_assert_int_eq(cls, -1);
        ck_assert_ptr_null(igd_dataset_class_name(ds, 0));
        igd_dataset_free(ds);
    }
    /* Four dimensions: RGB images. */
    unsigned char rgb[2 * 2 * 3 * 3];
    iot_bytes(rgb, sizeof rgb, 8);
    const uint32_t dims[4] = {2, 2, 3, 3};
    write_idx(join(dir, "rgb"), true, 0x08, 4, dims, rgb, sizeof rgb);
    igd_dataset *ds;
    ck_assert_igd_ok(igd_dataset_open_idx(join(dir, "rgb"), NULL, NULL, &ds));
    igd_image *im;
    ck_assert_igd_ok(igd_dataset_load(ds, 1, &im));
    ck_assert_uint_eq(igd_image_channels(im), 3);
    ck_assert_uint_eq(igd_image_width(im), 3);
    ck_assert_mem_eq(igd_image_const_data(im), rgb + 18, 18);
    igd_image_free(im);
    igd_dataset_free(ds);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

static igd_status open_one(const char *dir, const char *name, const char *labels,
                           const igd_options *o)
{
    igd_dataset *ds = (igd_dataset *)1;
    igd_status st =
        igd_dataset_open_idx(join(dir, name), labels ? join(dir, labels) : NULL, o, &ds);
    if (st == IGD_OK)
        igd_dataset_free(ds);
    else
        ck_assert_ptr_null(ds);
    return st;
}

START_TEST(idx_damaged_headers)
{
    char *dir = strdup(tu_tempdir());
    unsigned char pixels[N * H * W], ok[N * H * W + 64];
    make_idx_pair(dir, false, pixels);
    const uint32_t dims[3] = {N, H, W};
    size_t size;
    unsigned char *good = idx_bytes(0x08, 3, dims, pixels, sizeof pixels, &size);
    memcpy(ok, good, size);
    /* Wrong magic, unsupported type, wrong dimension counts. */
    ok[0] = 1;
    ck_assert_int_eq(tu_write_file(join(dir, "magic"), ok, size), 0);
    ck_assert_int_eq(open_one(dir, "magic", NULL, NULL), IGD_ERR_CORRUPT);
    ok[0] = 0;
    ok[2] = 0x0d;
    ck_assert_int_eq(tu_write_file(join(dir, "float"), ok, size), 0);
    ck_assert_int_eq(open_one(dir, "float", NULL, NULL), IGD_ERR_UNSUPPORTED);
    ok[2] = 0x42;
    ck_assert_int_eq(tu_write_file(join(dir, "type"), ok, size), 0);
    ck_assert_int_eq(open_one(dir, "type", NULL, NULL), IGD_ERR_CORRUPT);
    write_idx(join(dir, "dims2"), false, 0x08, 2, dims, pixels, sizeof pixels);
    ck_assert_int_eq(open_one(dir, "dims2", NULL, NULL), IGD_ERR_UNSUPPORTED);
    write_idx(join(dir, "dims0"), false, 0x08, 0, dims, NULL, 0);
    ck_assert_int_eq(open_one(dir, "dims0", NULL, NULL), IGD_ERR_CORRUPT);
    const uint32_t ch2[4] = {N, H, W, 2};
    write_idx(join(dir, "ch2"), false, 0x08, 4, ch2, pixels, sizeof pixels);
    ck_assert_int_eq(open_one(dir, "ch2", NULL, NULL), IGD_ERR_UNSUPPORTED);
    /* Short, long, empty, headerless. */
    ck_assert_int_eq(tu_write_file(join(dir, "short"), good, size - 1), 0);
    ck_assert_int_eq(open_one(dir, "short", NULL, NULL), IGD_ERR_CORRUPT);
    memcpy(ok, good, size);
    ok[size] = 0;
    ck_assert_int_eq(tu_write_file(join(dir, "long"), ok, size + 1), 0);
    ck_assert_int_eq(open_one(dir, "long", NULL, NULL), IGD_ERR_CORRUPT);
    ck_assert_int_eq(tu_write_file(join(dir, "empty"), ok, 0), 0);
    ck_assert_int_eq(open_one(dir, "empty", NULL, NULL), IGD_ERR_CORRUPT);
    ck_assert_int_eq(tu_write_file(join(dir, "head"), ok, 10), 0);
    ck_assert_int_eq(open_one(dir, "head", NULL, NULL), IGD_ERR_CORRUPT);
    /* No images, a zero side, sides over the limits. */
    const uint32_t none[3] = {0, H, W}, zero[3] = {N, 0, W}, huge[3] = {N, 70000, 70000};
    write_idx(join(dir, "none"), false, 0x08, 3, none, NULL, 0);
    ck_assert_int_eq(open_one(dir, "none", NULL, NULL), IGD_ERR_CORRUPT);
    write_idx(join(dir, "zero"), false, 0x08, 3, zero, NULL, 0);
    ck_assert_int_eq(open_one(dir, "zero", NULL, NULL), IGD_ERR_CORRUPT);
    write_idx(join(dir, "huge"), false, 0x08, 3, huge, pixels, 10);
    ck_assert_int_eq(open_one(dir, "huge", NULL, NULL), IGD_ERR_LIMIT);
    /* With the largest limits, a product of dimensions that overflows is damage. */
    igd_options *o;
    ck_assert_igd_ok(igd_options_create(&o));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_SIDE, 1 << 20));
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_PIXELS, (int64_t)1 << 50));
    const uint32_t over[4] = {0xffffffffu, 1 << 20, 1 << 20, 3};
    write_idx(join(dir, "over"), false, 0x08, 4, over, pixels, 10);
    ck_assert_int_eq(open_one(dir, "over", NULL, o), IGD_ERR_CORRUPT);
    ck_assert_igd_ok(igd_options_set_int(o, IGD_OPT_MAX_IMAGE_SIDE, 3));
    ck_assert_int_eq(open_one(dir, "img", NULL, o), IGD_ERR_LIMIT);
    igd_options_free(o);
    /* A header claiming 60000 images of 28 x 28 over a few bytes is rejected unallocated, for
     * plain and gzip files. */
    const uint32_t mnist[3] = {60000, 28, 28};
    write_idx(join(dir, "claim"), false, 0x08, 3, mnist, pixels, sizeof pixels);
    write_idx(join(dir, "claim.gz"), true, 0x08, 3, mnist, pixels, sizeof pixels);
    iot_track_install();
    ck_assert_int_eq(open_one(dir, "claim", NULL, NULL), IGD_ERR_CORRUPT);
    ck_assert_int_eq(open_one(dir, "claim.gz", NULL, NULL), IGD_ERR_CORRUPT);
    ck_assert_uint_lt(iot_track_largest(), 1 << 20);
    iot_track_remove();
    /* Labels: wrong count, wrong magic, short. */
    const uint32_t lwrong[1] = {N + 1}, lok[1] = {N};
    write_idx(join(dir, "lab6"), false, 0x08, 1, lwrong, idx_labels, N);
    ck_assert_int_eq(open_one(dir, "img", "lab6", NULL), IGD_ERR_CORRUPT);
    write_idx(join(dir, "labshort"), false, 0x08, 1, lok, idx_labels, N - 1);
    ck_assert_int_eq(open_one(dir, "img", "labshort", NULL), IGD_ERR_CORRUPT);
    write_idx(join(dir, "lab3d"), false, 0x08, 3, dims, pixels, sizeof pixels);
    ck_assert_int_eq(open_one(dir, "img", "lab3d", NULL), IGD_ERR_UNSUPPORTED);
    ck_assert_int_eq(open_one(dir, "img", "missing", NULL), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(open_one(dir, "missing", NULL, NULL), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(open_one(dir, "img", "lab", NULL), IGD_OK);
    ck_assert_int_eq(open_one(dir, "img", NULL, NULL), IGD_OK);
    free(good);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(idx_damaged_gzip)
{
    char *dir = strdup(tu_tempdir());
    unsigned char pixels[N * H * W];
    make_idx_pair(dir, true, pixels);
    size_t size;
    unsigned char *gz = tu_read_file(join(dir, "img.gz"), &size);
    /* Every truncation fails cleanly. */
    tu_alloc_install();
    long live = tu_live_allocations();
    for (size_t n = 2; n < size; n++) {
        ck_assert_int_eq(tu_write_file(join(dir, "cut.gz"), gz, n), 0);
        igd_status st = open_one(dir, "cut.gz", NULL, NULL);
        ck_assert_msg(st == IGD_ERR_CORRUPT, "cut at %zu of %zu: %d", n, size, st);
        ck_assert_int_eq(tu_live_allocations(), live);
    }
    /* Trailing bytes, a second member, damaged deflate data, a wrong trailer size. */
    unsigned char *more = malloc(2 * size);
    memcpy(more, gz, size);
    more[size] = 0;
    ck_assert_int_eq(tu_write_file(join(dir, "trail.gz"), more, size + 1), 0);
    ck_assert_int_eq(open_one(dir, "trail.gz", NULL, NULL), IGD_ERR_CORRUPT);
    memcpy(more + size, gz, size);
    ck_assert_int_eq(tu_write_file(join(dir, "two.gz"), more, 2 * size), 0);
    ck_assert_int_eq(open_one(dir, "two.gz", NULL, NULL), IGD_ERR_CORRUPT);
    memcpy(more, gz, size);
    for (size_t i = 10; i < size - 8; i++)
        more[i] ^= 0x55;
    ck_assert_int_eq(tu_write_file(join(dir, "bad.gz"), more, size), 0);
    ck_assert_int_eq(open_one(dir, "bad.gz", NULL, NULL), IGD_ERR_CORRUPT);
    memcpy(more, gz, size);
    more[size - 4] ^= 1;
    ck_assert_int_eq(tu_write_file(join(dir, "isize.gz"), more, size), 0);
    ck_assert_int_eq(open_one(dir, "isize.gz", NULL, NULL), IGD_ERR_CORRUPT);
    memcpy(more, gz, size);
    more[size - 6] ^= 1; /* the CRC */
    ck_assert_int_eq(tu_write_file(join(dir, "crc.gz"), more, size), 0);
    ck_assert_int_eq(open_one(dir, "crc.gz", NULL, NULL), IGD_ERR_CORRUPT);
    ck_assert_int_eq(tu_live_allocations(), live);
    free(more);
    free(gz);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(fashion_mnist_if_installed)
{
    const char *base = "/usr/share/datasets/fashion-mnist";
    if (access(base, R_OK) != 0)
        return; /* not installed: nothing to check */
    igd_dataset *ds;
    ck_assert_igd_ok(igd_dataset_open_idx(join(base, "t10k-images-idx3-ubyte.gz"),
                                          join(base, "t10k-labels-idx1-ubyte.gz"), NULL, &ds));
    ck_assert_uint_eq(igd_dataset_count(ds), 10000);
    size_t per_class[10] = {0};
    for (size_t i = 0; i < 10000; i++) {
        int cls;
        ck_assert_igd_ok(igd_dataset_class(ds, i, &cls));
        ck_assert(cls >= 0 && cls < 10);
        per_class[cls]++;
    }
    for (int c = 0; c < 10; c++) {
        ck_assert_uint_eq(per_class[c], 1000);
        char name[4];
        snprintf(name, sizeof name, "%d", c);
        ck_assert_str_eq(igd_dataset_class_name(ds, c), name);
    }
    igd_image *im;
    ck_assert_igd_ok(igd_dataset_load(ds, 0, &im));
    ck_assert_uint_eq(igd_image_width(im), 28);
    ck_assert_uint_eq(igd_image_height(im), 28);
    ck_assert_uint_eq(igd_image_channels(im), 1);
    igd_image_free(im);
    ck_assert_igd_ok(igd_dataset_set_normal_class(ds, 9));
    ck_assert_igd_ok(igd_dataset_keep_label(ds, 0));
    ck_assert_uint_eq(igd_dataset_count(ds), 1000);
    igd_dataset_free(ds);
}
END_TEST

/* ---- pixels and rearrangements ---- */

/* count 2 x 3 grey images where image i holds the value i everywhere, labels i % 3 == 0. */
static igd_dataset *numbered(size_t count, const int *labels)
{
    unsigned char *px = malloc(count * 6);
    int *classes = malloc(count * sizeof *classes);
    for (size_t i = 0; i < count; i++) {
        memset(px + i * 6, (int)i, 6);
        classes[i] = (int)(i % 4);
    }
    igd_dataset *ds;
    ck_assert_igd_ok(
        igd_dataset_from_pixels(px, IGD_PIXEL_U8, count, 2, 3, 1, 0, 0, labels, classes, &ds));
    free(px);
    free(classes);
    return ds;
}

static int sample_value(const igd_dataset *ds, size_t i)
{
    io_view v;
    igd_image *holder;
    core_err err = {0};
    ck_assert_int_eq(ds_view(ds, i, NULL, &v, &holder, &err), IGD_OK);
    return v.data[0];
}

START_TEST(from_pixels_copies)
{
    /* Two 2 x 3 RGB U16 images, rows padded to 20 bytes, images 50 bytes apart. */
    unsigned char buf[100];
    iot_bytes(buf, sizeof buf, 4);
    const int labels[2] = {1, 0}, classes[2] = {7, 8};
    igd_dataset *ds;
    ck_assert_igd_ok(
        igd_dataset_from_pixels(buf, IGD_PIXEL_U16, 2, 2, 3, 3, 20, 50, labels, classes, &ds));
    unsigned char saved[100];
    memcpy(saved, buf, 100);
    memset(buf, 0, sizeof buf); /* the data set holds copies */
    for (size_t i = 0; i < 2; i++) {
        igd_image *im;
        ck_assert_igd_ok(igd_dataset_load(ds, i, &im));
        ck_assert_int_eq(igd_image_type(im), IGD_PIXEL_U16);
        for (size_t y = 0; y < 2; y++)
            ck_assert_mem_eq((const unsigned char *)igd_image_const_data(im) + y * 18,
                             saved + i * 50 + y * 20, 18);
        igd_image_free(im);
        int label, cls;
        ck_assert_igd_ok(igd_dataset_label(ds, i, &label));
        ck_assert_igd_ok(igd_dataset_class(ds, i, &cls));
        ck_assert_int_eq(label, labels[i]);
        ck_assert_int_eq(cls, classes[i]);
    }
    ck_assert_ptr_null(igd_dataset_class_name(ds, 7));
    igd_dataset_free(ds);
    /* Defaults: all normal, no classes. */
    ck_assert_igd_ok(
        igd_dataset_from_pixels(saved, IGD_PIXEL_F32, 1, 2, 3, 1, 0, 0, NULL, NULL, &ds));
    int v;
    ck_assert_igd_ok(igd_dataset_label(ds, 0, &v));
    ck_assert_int_eq(v, 0);
    ck_assert_igd_ok(igd_dataset_class(ds, 0, &v));
    ck_assert_int_eq(v, -1);
    igd_dataset_free(ds);
    /* Errors. */
    const int bad[2] = {0, 2};
    igd_dataset *none = (igd_dataset *)1;
    ck_assert_int_eq(
        igd_dataset_from_pixels(saved, IGD_PIXEL_U8, 2, 2, 3, 1, 0, 0, bad, NULL, &none),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(none);
    ck_assert_int_eq(
        igd_dataset_from_pixels(NULL, IGD_PIXEL_U8, 2, 2, 3, 1, 0, 0, NULL, NULL, &none),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_dataset_from_pixels(saved, IGD_PIXEL_U8, 0, 2, 3, 1, 0, 0, NULL, NULL, &none),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_dataset_from_pixels(saved, IGD_PIXEL_U8, 2, 2, 3, 2, 0, 0, NULL, NULL, &none),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_dataset_from_pixels(saved, IGD_PIXEL_U8, 2, 2, 3, 1, 2, 0, NULL, NULL, &none),
        IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        igd_dataset_from_pixels(saved, IGD_PIXEL_U8, 2, 2, 3, 1, 0, 0, NULL, NULL, NULL),
        IGD_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(shuffle_and_subsample_follow_the_seed)
{
    igd_dataset *a = numbered(100, NULL), *b, *c;
    ck_assert_igd_ok(igd_dataset_copy(a, &b));
    ck_assert_igd_ok(igd_dataset_copy(a, &c));
    ck_assert_igd_ok(igd_dataset_shuffle(a, 42));
    ck_assert_igd_ok(igd_dataset_shuffle(b, 42));
    ck_assert_igd_ok(igd_dataset_shuffle(c, 43));
    int seen[100] = {0}, same_c = 0, moved = 0;
    for (size_t i = 0; i < 100; i++) {
        int va = sample_value(a, i);
        ck_assert_int_eq(va, sample_value(b, i));
        same_c += va == sample_value(c, i);
        moved += va != (int)i;
        seen[va]++;
        int cls;
        ck_assert_igd_ok(igd_dataset_class(a, i, &cls));
        ck_assert_int_eq(cls, va % 4); /* classes travel with their samples */
    }
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_lt(same_c, 20);
    ck_assert_int_gt(moved, 80);
    igd_dataset_free(a);
    igd_dataset_free(b);
    igd_dataset_free(c);

    a = numbered(100, NULL);
    ck_assert_igd_ok(igd_dataset_copy(a, &b));
    ck_assert_igd_ok(igd_dataset_copy(a, &c));
    ck_assert_igd_ok(igd_dataset_subsample(a, 0.3, 7));
    ck_assert_igd_ok(igd_dataset_subsample(b, 0.3, 7));
    ck_assert_igd_ok(igd_dataset_subsample(c, 0.3, 8));
    ck_assert_uint_eq(igd_dataset_count(a), 30);
    ck_assert_uint_eq(igd_dataset_count(c), 30);
    int differ = 0;
    for (size_t i = 0; i < 30; i++) {
        ck_assert_int_eq(sample_value(a, i), sample_value(b, i));
        if (i > 0)
            ck_assert_int_gt(sample_value(a, i), sample_value(a, i - 1)); /* order kept */
        differ += sample_value(a, i) != sample_value(c, i);
    }
    ck_assert_int_gt(differ, 0);
    ck_assert_igd_ok(igd_dataset_subsample(b, 1.0, 1));
    ck_assert_uint_eq(igd_dataset_count(b), 30);
    ck_assert_igd_ok(igd_dataset_subsample(b, 1e-9, 1));
    ck_assert_uint_eq(igd_dataset_count(b), 1);
    ck_assert_int_eq(igd_dataset_subsample(b, 0.0, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_subsample(b, 1.5, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_subsample(b, NAN, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_subsample(NULL, 0.5, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_shuffle(NULL, 1), IGD_ERR_INVALID_ARGUMENT);
    /* Every sample is chosen about equally often over many seeds. */
    int hits[100] = {0};
    igd_dataset *full = numbered(100, NULL);
    for (uint64_t seed = 0; seed < 400; seed++) {
        igd_dataset *d;
        ck_assert_igd_ok(igd_dataset_copy(full, &d));
        ck_assert_igd_ok(igd_dataset_subsample(d, 0.25, seed));
        ck_assert_uint_eq(igd_dataset_count(d), 25);
        for (size_t i = 0; i < 25; i++)
            hits[sample_value(d, i)]++;
        igd_dataset_free(d);
    }
    for (int i = 0; i < 100; i++)
        ck_assert_msg(hits[i] > 60 && hits[i] < 145, "sample %d chosen %d times", i, hits[i]);
    igd_dataset_free(full);
    igd_dataset_free(a);
    igd_dataset_free(b);
    igd_dataset_free(c);
}
END_TEST

START_TEST(contaminate_moves_anomalies)
{
    int labels[120];
    for (int i = 0; i < 120; i++)
        labels[i] = i < 90 ? 0 : 1;
    igd_dataset *all = numbered(120, labels), *train, *source, *t2, *s2;
    ck_assert_igd_ok(igd_dataset_copy(all, &train));
    ck_assert_igd_ok(igd_dataset_keep_label(train, 0));
    ck_assert_igd_ok(igd_dataset_copy(all, &source));
    ck_assert_igd_ok(igd_dataset_copy(train, &t2));
    ck_assert_igd_ok(igd_dataset_copy(source, &s2));
    /* 10 % of the result: 10 moved into 90. */
    ck_assert_igd_ok(igd_dataset_contaminate(train, source, 0.1, 5));
    ck_assert_igd_ok(igd_dataset_contaminate(t2, s2, 0.1, 5));
    ck_assert_uint_eq(igd_dataset_count(train), 100);
    ck_assert_uint_eq(igd_dataset_count(source), 110);
    size_t anomalous = 0;
    bool in_train[120] = {false};
    for (size_t i = 0; i < 100; i++) {
        int label;
        ck_assert_igd_ok(igd_dataset_label(train, i, &label));
        int v = sample_value(train, i);
        anomalous += label;
        ck_assert_int_eq(label, v >= 90);
        ck_assert_int_eq(v, sample_value(t2, i)); /* same seed, same choice */
        in_train[v] = true;
    }
    ck_assert_uint_eq(anomalous, 10);
    size_t left = 0;
    for (size_t i = 0; i < 110; i++) {
        int v = sample_value(source, i);
        ck_assert(v < 90 || !in_train[v]); /* moved, not copied */
        left += v >= 90;
    }
    ck_assert_uint_eq(left, 20);
    /* Rate 0 changes nothing; too high a rate fails and changes nothing. */
    ck_assert_igd_ok(igd_dataset_contaminate(train, source, 0.0, 1));
    ck_assert_uint_eq(igd_dataset_count(train), 100);
    ck_assert_int_eq(igd_dataset_contaminate(train, source, 0.5, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_uint_eq(igd_dataset_count(train), 100);
    ck_assert_uint_eq(igd_dataset_count(source), 110);
    ck_assert_int_eq(igd_dataset_contaminate(train, source, 1.0, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_contaminate(train, source, -0.1, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_contaminate(train, train, 0.1, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_contaminate(NULL, source, 0.1, 1), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_contaminate(train, NULL, 0.1, 1), IGD_ERR_INVALID_ARGUMENT);
    /* Pixels of another call are other data. */
    igd_dataset *other = numbered(10, labels + 100);
    ck_assert_int_eq(igd_dataset_contaminate(train, other, 0.15, 1), IGD_ERR_INVALID_ARGUMENT);
    igd_dataset_free(other);
    /* The moved samples outlive their first data sets. */
    igd_dataset_free(all);
    igd_dataset_free(source);
    ck_assert_int_ge(sample_value(train, 99), 90);
    igd_dataset_free(train);
    igd_dataset_free(t2);
    igd_dataset_free(s2);
}
END_TEST

START_TEST(accessors_reject_bad_arguments)
{
    igd_dataset *ds = numbered(3, NULL);
    int v;
    igd_image *im = (igd_image *)1;
    ck_assert_uint_eq(igd_dataset_count(NULL), 0);
    ck_assert_int_eq(igd_dataset_label(ds, 3, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_label(ds, 0, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_label(NULL, 0, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_class(ds, 3, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_class(ds, 0, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_class(NULL, 0, &v), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(igd_dataset_class_name(NULL, 0));
    ck_assert_ptr_null(igd_dataset_path(NULL, 0));
    ck_assert_ptr_null(igd_dataset_path(ds, 3));
    ck_assert_int_eq(igd_dataset_load(ds, 3, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(im);
    ck_assert_int_eq(igd_dataset_load(ds, 0, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_load(NULL, 0, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_load_mask(ds, 3, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_load_mask(ds, 0, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_load_mask(NULL, 0, &im), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_set_normal_class(NULL, 0), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_keep_label(NULL, 0), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_keep_label(ds, 2), IGD_ERR_INVALID_ARGUMENT);
    igd_dataset *none;
    ck_assert_int_eq(igd_dataset_copy(NULL, &none), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_copy(ds, NULL), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_idx(NULL, NULL, NULL, &none), IGD_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(igd_dataset_open_idx("x", NULL, NULL, NULL), IGD_ERR_INVALID_ARGUMENT);
    /* Keeping a label no sample has leaves an empty, usable data set. */
    ck_assert_igd_ok(igd_dataset_keep_label(ds, 1));
    ck_assert_uint_eq(igd_dataset_count(ds), 0);
    igd_dataset *copy;
    ck_assert_igd_ok(igd_dataset_copy(ds, &copy));
    ck_assert_igd_ok(igd_dataset_shuffle(copy, 1));
    ck_assert_igd_ok(igd_dataset_subsample(copy, 0.5, 1));
    ck_assert_uint_eq(igd_dataset_count(copy), 0);
    igd_dataset_free(copy);
    igd_dataset_free(ds);
    igd_dataset_free(NULL);
}
END_TEST

/* Runs op for n = 0, 1, ... failing allocations until it succeeds; checks no leak each time. */
#define FAILURE_LOOP(call, cleanup)                                                                \
    do {                                                                                           \
        long live_ = tu_live_allocations(), n_;                                                    \
        igd_status st_ = IGD_ERR_OUT_OF_MEMORY;                                                    \
        for (n_ = 0; st_ != IGD_OK; n_++) {                                                        \
            tu_fail_after(n_);                                                                     \
            st_ = (call);                                                                          \
            tu_fail_reset();                                                                       \
            if (st_ != IGD_OK) {                                                                   \
                ck_assert_msg(st_ == IGD_ERR_OUT_OF_MEMORY, "%s, n %ld: %d (%s)", #call, n_, st_,  \
                              igd_last_error());                                                   \
                ck_assert_int_eq(tu_live_allocations(), live_);                                    \
            }                                                                                      \
        }                                                                                          \
        ck_assert_int_gt(n_, 1);                                                                   \
        cleanup;                                                                                   \
    } while (0)

START_TEST(allocation_failures_leak_nothing)
{
    char *root = make_mvtec();
    char *dir = strdup(tu_tempdir());
    unsigned char pixels[N * H * W];
    make_idx_pair(dir, false, pixels);
    make_idx_pair(dir, true, pixels);
    tu_alloc_install();
    long start = tu_live_allocations();
    igd_dataset *ds = NULL, *other = NULL;
    igd_image *im = NULL;
    FAILURE_LOOP(igd_dataset_open_mvtec(root, IGD_SPLIT_TRAIN, &ds), igd_dataset_free(ds));
    ck_assert_int_eq(tu_live_allocations(), start);
    FAILURE_LOOP(igd_dataset_open_mvtec(root, IGD_SPLIT_TEST, &ds), (void)0);
    FAILURE_LOOP(igd_dataset_load_mask(ds, 0, &im), igd_image_free(im));
    FAILURE_LOOP(igd_dataset_load_mask(ds, 4, &im), igd_image_free(im));
    FAILURE_LOOP(igd_dataset_load(ds, 5, &im), igd_image_free(im));
    FAILURE_LOOP(igd_dataset_open_folder(join(root, "test/crack"), 1, &other),
                 igd_dataset_free(other));
    FAILURE_LOOP(igd_dataset_open_idx(join(dir, "img"), join(dir, "lab"), NULL, &other),
                 igd_dataset_free(other));
    FAILURE_LOOP(igd_dataset_open_idx(join(dir, "img.gz"), join(dir, "lab.gz"), NULL, &other),
                 (void)0);
    FAILURE_LOOP(igd_dataset_load(other, 1, &im), igd_image_free(im));
    igd_dataset_free(other);
    FAILURE_LOOP(
        igd_dataset_from_pixels(pixels, IGD_PIXEL_U8, N, H, W, 1, 0, 0, NULL, NULL, &other),
        igd_dataset_free(other));
    igd_dataset *train = NULL;
    FAILURE_LOOP(igd_dataset_open_mvtec(root, IGD_SPLIT_TRAIN, &train), (void)0);
    FAILURE_LOOP(igd_dataset_copy(ds, &other), igd_dataset_free(other));
    /* Contamination: on failure both data sets are unchanged. */
    {
        long live = tu_live_allocations(), n;
        igd_status st = IGD_ERR_OUT_OF_MEMORY;
        for (n = 0; st != IGD_OK; n++) {
            tu_fail_after(n);
            st = igd_dataset_contaminate(train, ds, 0.5, 3);
            tu_fail_reset();
            if (st != IGD_OK) {
                ck_assert_int_eq(st, IGD_ERR_OUT_OF_MEMORY);
                ck_assert_uint_eq(igd_dataset_count(train), 3);
                ck_assert_uint_eq(igd_dataset_count(ds), 6);
                ck_assert_int_eq(tu_live_allocations(), live);
            }
        }
        ck_assert_int_gt(n, 1);
        ck_assert_uint_eq(igd_dataset_count(train), 6);
        ck_assert_uint_eq(igd_dataset_count(ds), 3);
    }
    igd_dataset_free(train);
    igd_dataset_free(ds);
    ck_assert_int_eq(tu_live_allocations(), start);
    tu_rmtree(root);
    tu_rmtree(dir);
    free(root);
    free(dir);
}
END_TEST

Suite *make_dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("dataset");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mvtec_train_and_test);
    tcase_add_test(tc, mvtec_errors);
    tcase_add_test(tc, folder_of_images);
    tcase_add_test(tc, idx_plain_and_gzip);
    tcase_add_test(tc, idx_damaged_headers);
    tcase_add_test(tc, idx_damaged_gzip);
    tcase_add_test(tc, fashion_mnist_if_installed);
    tcase_add_test(tc, from_pixels_copies);
    tcase_add_test(tc, shuffle_and_subsample_follow_the_seed);
    tcase_add_test(tc, contaminate_moves_anomalies);
    tcase_add_test(tc, accessors_reject_bad_arguments);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
