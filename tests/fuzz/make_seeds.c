/* Writes the seed corpora of the fuzz targets into a folder (one subfolder per target):
 *   make_seeds OUT [JPEG...]
 * PNGs of every colour type and bit depth (plain and interlaced, with transparency), JPEGs from
 * TurboJPEG (grey and colour, every subsampling, baseline and progressive) and small crops of the
 * JPEG files given, IDX files (plain and gzip, in the fuzz-idx input layout), tiny model files
 * (with and without optimiser state), and option name/value pairs. Not a test: it is run by hand
 * (scripts/fuzz --seeds) and its output is committed under tests/fuzz/corpus/. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <zlib.h>

#include "igd/igd.h"

static const char *out_root;

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s\n", what);
    exit(1);
}

static void write_seed(const char *target, const char *name, const void *data, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_root, target);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/%s/%s", out_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        die(path);
}

/* ---- PNG ---- */

typedef struct membuf {
    unsigned char *data;
    size_t size, cap;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
    membuf *b = png_get_io_ptr(png);
    if (b->size + n > b->cap) {
        b->cap = (b->size + n) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            die("out of memory");
    }
    memcpy(b->data + b->size, data, n);
    b->size += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

static void png_seed(int color, int depth, int interlace, int trns, int w, int h)
{
    membuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!png || !info || setjmp(png_jmpbuf(png)))
        die("libpng");
    png_set_write_fn(png, &b, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        png_byte alpha[256];
        int n = 1 << depth;
        for (int i = 0; i < n; i++) {
            pal[i].red = (png_byte)(i * 37);
            pal[i].green = (png_byte)(255 - i * 11);
            pal[i].blue = (png_byte)(i * 5);
            alpha[i] = (png_byte)(255 - i);
        }
        png_set_PLTE(png, info, pal, n);
        if (trns)
            png_set_tRNS(png, info, alpha, n > 4 ? 4 : n, NULL);
    } else if (trns && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_RGB)) {
        png_color_16 c = {0, 1, 1, 1, 1};
        png_set_tRNS(png, info, NULL, 0, &c);
    }
    png_set_gAMA(png, info, 0.45455);
    png_text text = {PNG_TEXT_COMPRESSION_NONE, "Comment", "libigd fuzz seed", 16, 0, NULL, NULL};
    png_set_text(png, info, &text, 1);
    png_write_info(png, info);
    int channels = color == PNG_COLOR_TYPE_GRAY         ? 1
                   : color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                   : color == PNG_COLOR_TYPE_RGB        ? 3
                   : color == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
                                                        : 1;
    size_t rowbytes = ((size_t)w * channels * depth + 7) / 8;
    unsigned char *rows = calloc((size_t)h, rowbytes);
    png_bytep *ptrs = malloc((size_t)h * sizeof *ptrs);
    if (!rows || !ptrs)
        die("out of memory");
    for (int y = 0; y < h; y++) {
        for (size_t i = 0; i < rowbytes; i++)
            rows[y * rowbytes + i] = (unsigned char)(y * 31 + i * 7 + (i * y) % 13);
        if (color == PNG_COLOR_TYPE_PALETTE && depth == 8)
            for (size_t i = 0; i < rowbytes; i++)
                rows[y * rowbytes + i] %= 255;
        ptrs[y] = rows + y * rowbytes;
    }
    png_write_image(png, ptrs);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    char name[64];
    snprintf(name, sizeof name, "c%d-d%d%s%s-%dx%d.png", color, depth, interlace ? "-i" : "",
             trns ? "-t" : "", w, h);
    write_seed("png", name, b.data, b.size);
    free(rows);
    free(ptrs);
    free(b.data);
}

static void png_seeds(void)
{
    static const struct {
        int color, depths[5];
    } kinds[] = {
        {PNG_COLOR_TYPE_GRAY, {1, 2, 4, 8, 16}}, {PNG_COLOR_TYPE_GRAY_ALPHA, {8, 16}},
        {PNG_COLOR_TYPE_RGB, {8, 16}},           {PNG_COLOR_TYPE_RGB_ALPHA, {8, 16}},
        {PNG_COLOR_TYPE_PALETTE, {1, 2, 4, 8}},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int d = 0; d < 5 && kinds[k].depths[d]; d++) {
            int depth = kinds[k].depths[d];
            png_seed(kinds[k].color, depth, 0, 0, 7, 5);
            png_seed(kinds[k].color, depth, 1, 0, 9, 9);
            if (kinds[k].color == PNG_COLOR_TYPE_PALETTE || kinds[k].color == PNG_COLOR_TYPE_GRAY ||
                kinds[k].color == PNG_COLOR_TYPE_RGB)
                png_seed(kinds[k].color, depth, 0, 1, 4, 3);
        }
    png_seed(PNG_COLOR_TYPE_GRAY, 8, 0, 0, 1, 1);
    png_seed(PNG_COLOR_TYPE_RGB, 8, 0, 0, 33, 2);
}

/* ---- JPEG ---- */

static void jpeg_seed(const unsigned char *pixels, int w, int h, int pf, int samp, int quality,
                      int flags, const char *name)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    if (!tj || tjCompress2(tj, pixels, w, 0, h, pf, &jpeg, &size, samp, quality, flags) != 0)
        die("tjCompress2");
    write_seed("jpeg", name, jpeg, size);
    tjFree(jpeg);
    tjDestroy(tj);
}

static void jpeg_seeds(int nfiles, char **files)
{
    enum { W = 19, H = 13 };
    unsigned char rgb[W * H * 3], grey[W * H];
    for (int i = 0; i < W * H; i++) {
        grey[i] = (unsigned char)(i * 7 % 251);
        for (int c = 0; c < 3; c++)
            rgb[i * 3 + c] = (unsigned char)((i * (c + 3) + c * 40) % 256);
    }
    static const int samps[] = {TJSAMP_444, TJSAMP_422, TJSAMP_420, TJSAMP_440, TJSAMP_411};
    char name[64];
    for (size_t s = 0; s < sizeof samps / sizeof samps[0]; s++) {
        snprintf(name, sizeof name, "rgb-s%d.jpg", samps[s]);
        jpeg_seed(rgb, W, H, TJPF_RGB, samps[s], 80, 0, name);
        snprintf(name, sizeof name, "rgb-s%d-prog.jpg", samps[s]);
        jpeg_seed(rgb, W, H, TJPF_RGB, samps[s], 60, TJFLAG_PROGRESSIVE, name);
    }
    jpeg_seed(grey, W, H, TJPF_GRAY, TJSAMP_GRAY, 90, 0, "grey.jpg");
    jpeg_seed(grey, W, H, TJPF_GRAY, TJSAMP_GRAY, 50, TJFLAG_PROGRESSIVE, "grey-prog.jpg");
    jpeg_seed(grey, 1, 1, TJPF_GRAY, TJSAMP_GRAY, 75, 0, "grey-1x1.jpg");
    jpeg_seed(rgb, 8, 8, TJPF_RGB, TJSAMP_444, 100, 0, "rgb-8x8-q100.jpg");
    /* Crops of real photographs (e.g. the magnetic-tile images): 24 x 24 from the middle. */
    for (int f = 0; f < nfiles; f++) {
        FILE *in = fopen(files[f], "rb");
        if (!in)
            die(files[f]);
        static unsigned char data[1 << 22];
        size_t n = fread(data, 1, sizeof data, in);
        fclose(in);
        tjhandle tj = tjInitDecompress();
        int w, h, samp, cs;
        if (!tj || tjDecompressHeader3(tj, data, n, &w, &h, &samp, &cs) != 0)
            die("tjDecompressHeader3");
        unsigned char *px = malloc((size_t)w * h);
        if (!px || tjDecompress2(tj, data, n, px, w, 0, h, TJPF_GRAY, 0) != 0)
            die("tjDecompress2");
        tjDestroy(tj);
        enum { C = 24 };
        unsigned char crop[C * C];
        int x0 = (w - C) / 2, y0 = (h - C) / 2;
        for (int y = 0; y < C; y++)
            memcpy(crop + y * C, px + (size_t)(y0 + y) * w + x0, C);
        snprintf(name, sizeof name, "crop%d-grey.jpg", f);
        jpeg_seed(crop, C, C, TJPF_GRAY, TJSAMP_GRAY, 85, 0, name);
        free(px);
    }
}

/* ---- IDX (fuzz-idx layout: u16 little-endian image-file length, image file, label file) ---- */

static size_t gzip_bytes(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("deflate");
    size_t got = cap - zs.avail_out;
    deflateEnd(&zs);
    return got;
}

static size_t idx_file(unsigned char *out, int ndims, const unsigned *dims, unsigned char fill)
{
    size_t pos = 0, total = 1;
    out[pos++] = 0;
    out[pos++] = 0;
    out[pos++] = 0x08;
    out[pos++] = (unsigned char)ndims;
    for (int d = 0; d < ndims; d++) {
        out[pos++] = (unsigned char)(dims[d] >> 24);
        out[pos++] = (unsigned char)(dims[d] >> 16);
        out[pos++] = (unsigned char)(dims[d] >> 8);
        out[pos++] = (unsigned char)dims[d];
        total *= dims[d];
    }
    for (size_t i = 0; i < total; i++)
        out[pos++] = (unsigned char)(fill + i * 13);
    return pos;
}

static void idx_seed(const char *name, int gz, int with_labels, unsigned count, unsigned h,
                     unsigned w)
{
    unsigned char img[4096], lab[256], zimg[4096], zlab[512], input[8192];
    unsigned dims[3] = {count, h, w};
    size_t ni = idx_file(img, w ? 3 : 1, dims, 3);
    size_t nl = 0;
    if (with_labels) {
        nl = idx_file(lab, 1, dims, 0);
        for (size_t i = 8; i < nl; i++)
            lab[i] %= 10;
    }
    const unsigned char *pi = img, *pl = lab;
    if (gz) {
        ni = gzip_bytes(img, ni, zimg, sizeof zimg);
        pi = zimg;
        if (with_labels) {
            nl = gzip_bytes(lab, nl, zlab, sizeof zlab);
            pl = zlab;
        }
    }
    input[0] = (unsigned char)ni;
    input[1] = (unsigned char)(ni >> 8);
    memcpy(input + 2, pi, ni);
    memcpy(input + 2 + ni, pl, nl);
    write_seed("idx", name, input, 2 + ni + nl);
}

static void idx_seeds(void)
{
    idx_seed("plain-3x4x5", 0, 0, 3, 4, 5);
    idx_seed("plain-3x4x5-labels", 0, 1, 3, 4, 5);
    idx_seed("gzip-3x4x5", 1, 0, 3, 4, 5);
    idx_seed("gzip-5x6x6-labels", 1, 1, 5, 6, 6);
    idx_seed("plain-1x1x1-labels", 0, 1, 1, 1, 1);
    idx_seed("gzip-10x2x3-labels", 1, 1, 10, 2, 3);
}

/* ---- models ---- */

static void check(igd_status st, const char *what)
{
    if (st != IGD_OK) {
        fprintf(stderr, "make_seeds: %s: %s\n", what, igd_last_error());
        exit(1);
    }
}

static void save_seed(igd_model *m, unsigned flags, const char *name)
{
    size_t size;
    check(igd_model_save_memory(m, flags, NULL, 0, &size), "save size");
    void *buf = malloc(size);
    check(igd_model_save_memory(m, flags, buf, size, &size), "save");
    write_seed("model", name, buf, size);
    free(buf);
}

/* A tiny model's seeds with up to two extra options (names NULL for none). */
static void model_seed(const char *extra_name, const char *extra_value, const char *extra_name2,
                       const char *extra_value2, const char *name)
{
    igd_options *o;
    check(igd_options_create(&o), "options");
    check(igd_options_parse(o, "global_size", "16"), "option");
    check(igd_options_parse(o, "base_width", "4"), "option");
    check(igd_options_parse(o, "depth", "2"), "option");
    check(igd_options_parse(o, "latent_size", "8"), "option");
    check(igd_options_parse(o, "hidden_size", "0"), "option");
    check(igd_options_parse(o, "batch_size", "4"), "option");
    check(igd_options_parse(o, "image_size", "16"), "option");
    check(igd_options_parse(o, "patch_size", "8"), "option");
    check(igd_options_parse(o, "patch_stride", "8"), "option");
    if (extra_name)
        check(igd_options_parse(o, extra_name, extra_value), extra_name);
    if (extra_name2)
        check(igd_options_parse(o, extra_name2, extra_value2), extra_name2);
    igd_model *m;
    check(igd_model_create(o, &m), "create");
    char file[96];
    snprintf(file, sizeof file, "%s-new", name);
    save_seed(m, IGD_SAVE_DEFAULT, file);
    /* Trained a step, with a threshold: every section filled. */
    enum { N = 4, S = 16 };
    unsigned char px[N * S * S * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (unsigned char)(i * 29 % 256);
    int64_t channels = 1;
    check(igd_options_get_int(o, IGD_OPT_CHANNELS, &channels), "channels");
    int64_t nets = 1;
    check(igd_options_get_int(o, IGD_OPT_NETS, &nets), "nets");
    for (int net = 1; net <= 2; net++) {
        if (!(nets & net))
            continue;
        check(igd_model_estep_begin(m, (igd_net)net), "estep_begin");
        check(
            igd_model_estep_add(m, (igd_net)net, px, IGD_PIXEL_U8, N, S, S, (size_t)channels, 0, 0),
            "estep_add");
        check(igd_model_estep_finish(m, (igd_net)net), "estep_finish");
        check(igd_model_train_step(m, (igd_net)net, px, IGD_PIXEL_U8, N, S, S, (size_t)channels, 0,
                                   0, NULL, 0),
              "train_step");
    }
    check(igd_model_set_threshold(m, 0.25), "threshold");
    snprintf(file, sizeof file, "%s-trained", name);
    save_seed(m, IGD_SAVE_DEFAULT, file);
    snprintf(file, sizeof file, "%s-trained-optimizer", name);
    save_seed(m, IGD_SAVE_OPTIMIZER, file);
    igd_model_free(m);
    igd_options_free(o);
}

static void model_seeds(void)
{
    model_seed(NULL, NULL, NULL, NULL, "grey");
    model_seed("channels", "3", NULL, NULL, "rgb");
    model_seed("nets", "3", NULL, NULL, "both");
    model_seed("classifier", "svdd", NULL, NULL, "svdd");
    model_seed("nets", "3", "memory_size", "3", "memory");
    model_seed("seg_width", "2", "seg_tile", "16", "seg");
}

/* ---- options ---- */

static void option_seeds(void)
{
    for (size_t i = 0; i < igd_option_count(); i++) {
        igd_option key;
        check(igd_option_at(i, &key), "option_at");
        igd_option_type type;
        double def;
        check(igd_option_info(key, &type, NULL, NULL, &def, NULL), "option_info");
        char text[128];
        int n = type == IGD_TYPE_INT
                    ? snprintf(text, sizeof text, "%s=%lld", igd_option_name(key), (long long)def)
                    : snprintf(text, sizeof text, "%s=%.17g", igd_option_name(key), def);
        char name[64];
        snprintf(name, sizeof name, "opt-%02zu", i);
        write_seed("options", name, text, (size_t)n);
    }
    static const char *extra[] = {"classifier\0svdd",
                                  "20\0gaussian_msd",
                                  "bn_mode=frozen",
                                  "partner=random",
                                  "nets=3",
                                  "zeta=-1",
                                  "learning_rate=1e-3",
                                  "threads=0x10",
                                  "999=1",
                                  "rho=nan",
                                  "rho=inf",
                                  "seed=-1",
                                  "epochs=99999999999999999999",
                                  "rho= 0.5 ",
                                  ""};
    static const size_t len[] = {15, 15}; /* the others: strlen */
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "extra-%02zu", i);
        write_seed("options", name, extra[i], i < 2 ? len[i] : strlen(extra[i]));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: make_seeds OUT [JPEG...]");
    out_root = argv[1];
    mkdir(out_root, 0777);
    png_seeds();
    jpeg_seeds(argc - 2, argv + 2);
    idx_seeds();
    model_seeds();
    option_seeds();
    return 0;
}
