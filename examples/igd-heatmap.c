/* igd-heatmap: writes anomaly maps of images as PNG files.
 *
 * For each image, into the output folder:
 *   <stem>_map.png      the raw map, 16-bit grey, scaled from its min..max to 0..65535
 *   <stem>_map.json     that scale (min, max) and the image's score, to read values back:
 *                       value = min + pixel / 65535 * (max - min)
 *   <stem>_overlay.png  the map coloured (viridis-like, min..max) and blended over the image
 *   <stem>_mask.png     255 where the map exceeds the pixel threshold, else 0
 *
 * The default pixel threshold is derived from the model's image threshold t:
 *
 *     pixel threshold = t / (nets * (w_rec + w_cls))
 *
 * with nets the number of networks (1 or 2) and w_rec, w_cls the score weights of the
 * reconstruction and classifier terms (options score_rec_weight, score_gauss_weight). Why: an
 * image's score sums, over the networks, w_rec times the reconstruction loss plus w_cls times
 * the classifier term; the map shows the reconstruction loss per pixel (averaged over the
 * networks). If, at the threshold, the two terms are equal (both lie on a 0..1 scale), each
 * network's reconstruction loss there is t / (nets * (w_rec + w_cls)): a pixel above it has the
 * reconstruction error of a whole image at the threshold. With w_cls = 0 this is exact. It is a
 * heuristic otherwise (the classifier's real share varies between models); --pixel-threshold
 * overrides it, and is needed for a model without a threshold. Each sidecar records the value
 * used. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/files.h"
#include "common/interrupt.h"
#include "common/json.h"
#include "common/maps.h"
#include "common/model.h"
#include "common/settings.h"
#include "common/source.h"

enum {
    OPT_PIXEL_THRESHOLD = OPT_SOURCE_LAST,
    OPT_OPACITY,
    OPT_RANGE,
    OPT_THREADS,
    OPT_SET,
    OPT_LIST,
    OPT_VERSION
};

static void usage(void)
{
    printf(
        "Usage: igd-heatmap -m MODEL -o OUTDIR [options] IMAGE...\n"
        "       igd-heatmap -m MODEL -o OUTDIR [options] (--folder DIR | --mvtec ROOT | --idx F)\n"
        "Writes, for each image, into OUTDIR:\n"
        "  STEM_map.png      the raw anomaly map as 16-bit grey, scaled from its min..max\n"
        "  STEM_map.json     that min and max (value = min + pixel / 65535 * (max - min)), the\n"
        "                    image's score and the pixel threshold\n"
        "  STEM_overlay.png  the map in colour over the image\n"
        "  STEM_mask.png     white where the map exceeds the pixel threshold\n"
        "and prints PATH <tab> SCORE <tab> MAP_MAX <tab> MASKED_PIXELS per image.\n"
        "STEM is the file name without extension (files with the same name in different\n"
        "folders overwrite each other's outputs); MVTec images get KIND_NAME, IDX samples\n"
        "FILE_INDEX.\n"
        "\n"
        "Options:\n"
        "  -m, --model MODEL       the model file (from igd-train)\n"
        "  -o, --output OUTDIR     the folder to write (created if missing)\n"
        "  --folder, --mvtec, --idx, --labels, --class, --class-names, --split, --subsample\n"
        "                          a data set instead of image files (as igd-detect)\n"
        "  --pixel-threshold T     mask pixels whose map value exceeds T; by default\n"
        "                          t / (nets * (w_rec + w_cls)) from the model's threshold t,\n"
        "                          networks and score weights: the reconstruction loss at the\n"
        "                          threshold if both score terms are equal there\n"
        "  --opacity A             opacity of the colours over the image, 0..1 (default 0.5)\n"
        "  --overlay-range LO,HI   colour every overlay over LO..HI instead of each map's\n"
        "                          own min..max (to compare images)\n"
        "  --threads N             worker threads (default 0: the cores other processes\n"
        "                          leave free, re-checked every call; see docs/performance.md)\n"
        "  --set NAME=VALUE        change a [runtime] option of the model (repeatable)\n"
        "  --list-options          list every option\n"
        "  -h, --help              this help\n"
        "  --version               library and header versions\n"
        "\n"
        "Exit codes: 0 done, 1 a missing or unreadable model or image or a failed write (the\n"
        "other images are still processed), 2 bad arguments, 130 interrupted.\n");
}

/* The default pixel threshold (see the top of the file); NAN without a model threshold. */
static double default_pixel_threshold(const loaded_model *m)
{
    if (!m->has_threshold)
        return NAN;
    int nets = 1;
    int64_t mask = IGD_NET_GLOBAL;
    double w_rec = 1, w_cls = 1;
    igd_options *o = NULL;
    if (igd_model_get_options(m->model, &o) == IGD_OK) {
        if (igd_options_get_int(o, IGD_OPT_NETS, &mask) == IGD_OK)
            nets = ((mask & IGD_NET_GLOBAL) != 0) + ((mask & IGD_NET_LOCAL) != 0);
        if (igd_options_get_real(o, IGD_OPT_SCORE_REC_WEIGHT, &w_rec) != IGD_OK)
            w_rec = 1;
        if (igd_options_get_real(o, IGD_OPT_SCORE_GAUSS_WEIGHT, &w_cls) != IGD_OK)
            w_cls = 1;
    }
    igd_options_free(o);
    if (nets < 1)
        nets = 1;
    if (!(w_rec + w_cls > 0))
        return m->threshold / nets;
    return m->threshold / (nets * (w_rec + w_cls));
}

typedef struct job {
    const char *outdir;
    double pixel_threshold;
    double opacity;
    bool fixed_range;
    float range_lo, range_hi;
} job;

static bool write_sidecar(const char *path, const char *image, size_t w, size_t h, float lo,
                          float hi, size_t ax, size_t ay, const detection *d, double pixel_t,
                          size_t masked)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("cannot write '%s'", path);
        return false;
    }
    int first = 1;
    fputc('{', f);
    json_key(f, "image", &first);
    json_string(f, image);
    json_key(f, "width", &first);
    fprintf(f, "%zu", w);
    json_key(f, "height", &first);
    fprintf(f, "%zu", h);
    json_key(f, "min", &first);
    json_number(f, lo);
    json_key(f, "max", &first);
    json_number(f, hi);
    json_key(f, "encoding", &first);
    json_string(f, "16-bit grey; value = min + pixel / 65535 * (max - min)");
    json_key(f, "argmax", &first);
    fprintf(f, "[%zu, %zu]", ax, ay);
    json_key(f, "score", &first);
    json_number(f, d->score);
    json_key(f, "normalized", &first);
    json_number(f, d->normalized);
    json_key(f, "anomalous", &first);
    fputs(d->anomalous < 0 ? "null" : d->anomalous ? "true" : "false", f);
    json_key(f, "pixel_threshold", &first);
    json_number(f, pixel_t);
    json_key(f, "mask_pixels", &first);
    fprintf(f, "%zu", masked);
    fputs("}\n", f);
    bool ok = fclose(f) == 0;
    if (!ok)
        cli_error("cannot write '%s'", path);
    return ok;
}

/* Maps one image and writes its four files; returns false after a message on failure. */
static bool process(loaded_model *m, const source *src, size_t i, const job *jb)
{
    char name[4096], stem[1024], path[4096];
    source_name(src, i, name, sizeof name);
    source_stem(src, i, stem, sizeof stem);
    igd_image *img = NULL;
    igd_status st = source_load(src, i, &img);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot read '%s'", name);
        return false;
    }
    size_t w = igd_image_width(img), h = igd_image_height(img);
    float *map = NULL;
    detection d;
    st = model_detect(m, img, &d);
    if (st == IGD_OK)
        st = model_heatmap(m, img, &map);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot map '%s'", name);
        igd_image_free(img);
        return false;
    }
    float lo, hi;
    maps_range(map, w * h, &lo, &hi);
    size_t arg = 0;
    for (size_t k = 0; k < w * h; k++)
        if (map[k] > map[arg])
            arg = k;
    size_t masked = 0;
    char base[1200];
    bool ok = true;
    snprintf(base, sizeof base, "%s_map.png", stem);
    ok = ok && files_join(path, sizeof path, jb->outdir, base) &&
         maps_save_raw(path, map, w, h, lo, hi);
    snprintf(base, sizeof base, "%s_overlay.png", stem);
    ok = ok && files_join(path, sizeof path, jb->outdir, base) &&
         maps_save_overlay(path, map, w, h, jb->fixed_range ? jb->range_lo : lo,
                           jb->fixed_range ? jb->range_hi : hi, img, jb->opacity);
    snprintf(base, sizeof base, "%s_mask.png", stem);
    ok = ok && files_join(path, sizeof path, jb->outdir, base) &&
         maps_save_mask(path, map, w, h, jb->pixel_threshold, &masked);
    snprintf(base, sizeof base, "%s_map.json", stem);
    ok = ok && files_join(path, sizeof path, jb->outdir, base) &&
         write_sidecar(path, name, w, h, lo, hi, arg % w, arg / w, &d, jb->pixel_threshold, masked);
    if (ok)
        printf("%s\t%.6g\t%.6g\t%zu\n", name, d.score, (double)hi, masked);
    free(map);
    igd_image_free(img);
    return ok;
}

int main(int argc, char **argv)
{
    cli_set_program(argv[0]);
    static const struct option long_options[] = {
        SOURCE_LONG_OPTIONS,
        {"model", 1, NULL, 'm'},
        {"output", 1, NULL, 'o'},
        {"pixel-threshold", 1, NULL, OPT_PIXEL_THRESHOLD},
        {"opacity", 1, NULL, OPT_OPACITY},
        {"overlay-range", 1, NULL, OPT_RANGE},
        {"threads", 1, NULL, OPT_THREADS},
        {"set", 1, NULL, OPT_SET},
        {"list-options", 0, NULL, OPT_LIST},
        {"help", 0, NULL, 'h'},
        {"version", 0, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    if (!cli_check_library())
        return EXIT_ERROR;
    settings set;
    if (!settings_init(&set))
        return EXIT_ERROR;
    source_args data;
    source_args_init(&data);
    const char *model_path = NULL;
    job jb = {.outdir = NULL, .pixel_threshold = NAN, .opacity = 0.5};
    int code = EXIT_OK, c;
    opterr = 0;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, ":m:o:h", long_options, NULL)) != -1) {
        int handled = source_args_handle(&data, c, optarg);
        if (handled != 0) {
            code = handled < 0 ? EXIT_USAGE : EXIT_OK;
            continue;
        }
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'o':
            jb.outdir = optarg;
            break;
        case OPT_PIXEL_THRESHOLD:
            if (!cli_parse_double("--pixel-threshold", optarg, -1e300, 1e300, &jb.pixel_threshold))
                code = EXIT_USAGE;
            break;
        case OPT_OPACITY:
            if (!cli_parse_double("--opacity", optarg, 0, 1, &jb.opacity))
                code = EXIT_USAGE;
            break;
        case OPT_RANGE: {
            char *end;
            double a = strtod(optarg, &end), b = 0;
            bool ok = end != optarg && *end == ',';
            if (ok) {
                const char *s = end + 1;
                b = strtod(s, &end);
                ok = end != s && *end == '\0' && isfinite(a) && isfinite(b) && b > a;
            }
            if (!ok)
                code =
                    cli_usage_error("--overlay-range expects LO,HI with LO < HI, not '%s'", optarg);
            jb.fixed_range = true;
            jb.range_lo = (float)a;
            jb.range_hi = (float)b;
            break;
        }
        case OPT_THREADS:
            code = settings_set_named(&set, "threads", optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_SET:
            code = settings_set(&set, optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_LIST:
            settings_print_list();
            settings_free(&set);
            return EXIT_OK;
        case 'h':
            usage();
            settings_free(&set);
            return EXIT_OK;
        case OPT_VERSION:
            cli_print_version();
            settings_free(&set);
            return EXIT_OK;
        case ':':
            code = cli_usage_error("option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            code = cli_usage_error("unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (code == EXIT_OK && !model_path)
        code = cli_usage_error("no model: give -m MODEL");
    if (code == EXIT_OK && !jb.outdir)
        code = cli_usage_error("no output folder: give -o OUTDIR");
    if (code == EXIT_OK && !source_args_check(&data))
        code = EXIT_USAGE;
    if (code == EXIT_OK && source_args_given(&data) && optind < argc)
        code = cli_usage_error("give image files or a data set, not both");
    if (code == EXIT_OK && !source_args_given(&data) && optind >= argc)
        code = cli_usage_error("no images: give image files, --folder, --mvtec or --idx");
    if (code != EXIT_OK) {
        settings_free(&set);
        return code;
    }

    data.limits = set.options;
    source src;
    if (source_args_given(&data))
        code = source_open(&src, &data, IGD_SPLIT_TEST, 1);
    else
        source_from_files(&src, argv + optind, (size_t)(argc - optind), set.options);
    loaded_model m;
    bool opened = false;
    if (code == EXIT_OK) {
        code = model_open(&m, model_path, &set);
        opened = code == EXIT_OK;
    }
    if (code == EXIT_OK && isnan(jb.pixel_threshold)) {
        jb.pixel_threshold = default_pixel_threshold(&m);
        if (isnan(jb.pixel_threshold)) {
            cli_error("the model has no threshold: give --pixel-threshold");
            code = EXIT_USAGE;
        }
    }
    if (code == EXIT_OK && !files_make_dirs(jb.outdir))
        code = EXIT_ERROR;
    if (code == EXIT_OK) {
        interrupt_install();
        size_t failed = 0, n = source_count(&src), done = 0;
        for (size_t i = 0; i < n && !interrupt_requested(); i++, done++)
            failed += !process(&m, &src, i, &jb);
        fflush(stdout);
        if (interrupt_requested()) {
            cli_error("interrupted after %zu images", done);
            code = EXIT_INTERRUPTED;
        } else if (failed) {
            cli_error("%zu of %zu images failed", failed, n);
            code = EXIT_ERROR;
        }
    }
    if (opened)
        model_close(&m);
    source_close(&src);
    settings_free(&set);
    return code;
}
