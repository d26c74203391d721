/* igd-eval: evaluates a trained model on a labelled test set and writes a report folder:
 *   metrics.json, report.md, roc.png, histogram.png, scores.csv,
 *   examples/most_anomalous.png, examples/least_anomalous.png and each example's overlay. */
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
#include "common/montage.h"
#include "common/plot.h"
#include "common/progress.h"
#include "common/report.h"
#include "common/scan.h"
#include "common/settings.h"
#include "common/source.h"

enum {
    OPT_EXAMPLES = OPT_SOURCE_LAST,
    OPT_NO_PIXEL,
    OPT_THREADS,
    OPT_BATCH,
    OPT_SET,
    OPT_LIST,
    OPT_VERSION
};

static void usage(void)
{
    printf("Usage: igd-eval -m MODEL -o OUTDIR (--mvtec ROOT | --idx IMAGES --labels LABELS\n"
           "                --class K) [options]\n"
           "Evaluates a model on a labelled test set and writes a report folder OUTDIR with\n"
           "metrics.json, report.md, roc.png, histogram.png, scores.csv and examples/ (the most\n"
           "and least anomalous test images with their heatmap overlays).\n"
           "\n"
           "Metrics: image AUROC, F1-max and its threshold, accuracy at the model's threshold, at\n"
           "normalised score 0.5 and at raw score 0.5; per-class AUROC; with ground-truth masks\n"
           "(MVTec) pixel AUROC and AUPRO up to a false positive rate of 0.3; detection time.\n"
           "\n"
           "Options:\n"
           "  -m, --model MODEL     the model file (from igd-train)\n"
           "  -o, --output OUTDIR   the report folder (created if missing)\n"
           "  --mvtec ROOT          an MVTec AD category: ROOT/test ('good' normal, the other\n"
           "                        kinds anomalous) with masks from ROOT/ground_truth\n"
           "  --idx IMAGES --labels LABELS --class K\n"
           "                        IDX test files, one-class protocol: class K normal, the\n"
           "                        other classes anomalous\n"
           "  --class-names LIST    names of the IDX classes 0, 1, ... separated by commas, for\n"
           "                        the report (\"T-shirt,Trouser,...\")\n"
           "  --subsample SHARE     evaluate on a random share of the test set\n"
           "  --examples N          most and least anomalous images to show (default 8)\n"
           "  --no-pixel            skip the pixel metrics (no heatmap of every image)\n"
           "  --threads N           worker threads (default 0: the cores other processes\n"
           "                        leave free, re-checked every call; see docs/performance.md)\n"
           "  --batch N             images of one size scored per call (default 64)\n"
           "  --set NAME=VALUE      change a [runtime] option of the model (repeatable)\n"
           "  --list-options        list every option\n"
           "  -q, --quiet           no progress reports\n"
           "  -h, --help            this help\n"
           "  --version             library and header versions\n"
           "\n"
           "Prints the headline numbers and the report's path. Exit codes: 0 done, 1 a missing or\n"
           "unreadable model or data set or a failed write, 2 bad arguments, 130 interrupted.\n");
}

typedef struct collected {
    double *score, *normalized;
    unsigned char *ok;
} collected;

static void collect(void *user, size_t index, const detection *d)
{
    collected *c = user;
    c->ok[index] = d != NULL;
    if (d) {
        c->score[index] = d->score;
        c->normalized[index] = d->normalized;
    }
}

/* Accuracy with `scores` compared to `threshold`, NAN when it cannot be computed. */
static double accuracy(const double *s, const int *l, size_t n, double threshold)
{
    double a;
    if (!isfinite(threshold) || igd_metric_accuracy(s, l, n, threshold, &a) != IGD_OK)
        return NAN;
    return a;
}

static void rates_at(const double *s, const int *l, size_t n, double t, double *tpr, double *fpr)
{
    size_t tp = 0, fp = 0, pos = 0, neg = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i]) {
            pos++;
            tp += s[i] >= t;
        } else {
            neg++;
            fp += s[i] >= t;
        }
    }
    *tpr = pos && isfinite(t) ? (double)tp / (double)pos : NAN;
    *fpr = neg && isfinite(t) ? (double)fp / (double)neg : NAN;
}

/* Per-class counts, mean scores and AUROC against the normal images. */
static class_summary *class_table(const source *src, const size_t *idx, const double *s,
                                  const int *l, size_t n, size_t *count)
{
    int *cls = malloc((n ? n : 1) * sizeof *cls);
    class_summary *t = calloc(257, sizeof *t);
    double *sub_s = malloc((n ? n : 1) * sizeof *sub_s);
    int *sub_l = malloc((n ? n : 1) * sizeof *sub_l);
    *count = 0;
    if (!cls || !t || !sub_s || !sub_l) {
        free(cls);
        free(t);
        free(sub_s);
        free(sub_l);
        return NULL;
    }
    int max = -1;
    for (size_t i = 0; i < n; i++) {
        if (igd_dataset_class(src->dataset, idx[i], &cls[i]) != IGD_OK || cls[i] < 0 ||
            cls[i] > 255)
            cls[i] = 256; /* unknown */
        max = cls[i] > max ? cls[i] : max;
    }
    size_t used = 0;
    for (int c = 0; c <= max; c++) {
        class_summary *e = &t[used];
        double sum = 0;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (cls[i] != c)
                continue;
            e->label = l[i];
            sum += s[i];
            e->count++;
        }
        if (e->count == 0)
            continue;
        const char *name = NULL;
        if (c < 256 && (size_t)c < src->name_count && src->names[c][0])
            name = src->names[c];
        else if (c < 256)
            name = igd_dataset_class_name(src->dataset, c);
        snprintf(e->name, sizeof e->name, "%s", name ? name : "?");
        e->mean_score = sum / (double)e->count;
        e->auroc = NAN;
        if (e->label) {
            for (size_t i = 0; i < n; i++) {
                if (cls[i] == c || l[i] == 0) {
                    sub_s[m] = s[i];
                    sub_l[m++] = l[i];
                }
            }
            if (igd_metric_auroc(sub_s, sub_l, m, &e->auroc) != IGD_OK)
                e->auroc = NAN;
        }
        used++;
    }
    free(cls);
    free(sub_s);
    free(sub_l);
    *count = used;
    return t;
}

typedef struct eval_ctx {
    const char *outdir;
    source *src;
    loaded_model *m;
    progress *prog;
} eval_ctx;

/* Pixel AUROC and AUPRO over every image that has a mask (normal images: all zero). */
static int pixel_metrics(eval_ctx *e, const unsigned char *ok, eval_report *r)
{
    igd_pixel_metrics *pm = NULL;
    igd_status st = igd_pixel_metrics_create(&pm);
    if (st != IGD_OK) {
        cli_error_status(st, "pixel metrics");
        return EXIT_ERROR;
    }
    size_t n = source_count(e->src);
    double seconds = 0;
    size_t mapped = 0;
    int code = EXIT_OK;
    for (size_t i = 0; i < n && code == EXIT_OK; i++) {
        progress_update(e->prog, "heatmap", i + 1, n, NULL);
        if (!ok[i])
            continue;
        if (interrupt_requested()) {
            code = EXIT_INTERRUPTED;
            break;
        }
        igd_image *img = NULL, *mask = NULL;
        float *map = NULL;
        st = source_load_mask(e->src, i, &mask);
        if (st == IGD_ERR_NOT_FOUND) {
            r->pixel_missing++;
            continue;
        }
        char name[4096];
        source_name(e->src, i, name, sizeof name);
        if (st != IGD_OK) {
            cli_error_status(st, "cannot read the mask of '%s'", name);
            code = EXIT_ERROR;
            break;
        }
        st = source_load(e->src, i, &img);
        if (st == IGD_OK) {
            double t0 = progress_now();
            st = model_heatmap(e->m, img, &map);
            seconds += progress_now() - t0;
        }
        if (st == IGD_OK && (igd_image_width(mask) != igd_image_width(img) ||
                             igd_image_height(mask) != igd_image_height(img))) {
            cli_error("the mask of '%s' is %zu x %zu, the image %zu x %zu", name,
                      igd_image_width(mask), igd_image_height(mask), igd_image_width(img),
                      igd_image_height(img));
            code = EXIT_ERROR;
        } else if (st == IGD_OK) {
            st = igd_pixel_metrics_add(pm, map, igd_image_const_data(mask), igd_image_width(img),
                                       igd_image_height(img));
            mapped++;
        }
        if (st != IGD_OK) {
            cli_error_status(st, "heatmap of '%s'", name);
            code = EXIT_ERROR;
        }
        free(map);
        igd_image_free(img);
        igd_image_free(mask);
    }
    progress_finish(e->prog);
    r->pixel_images = mapped;
    r->heatmap_ms = mapped ? 1000.0 * seconds / (double)mapped : NAN;
    if (code == EXIT_OK && mapped > 0) {
        r->pixel = true;
        if (igd_pixel_metrics_auroc(pm, &r->pixel_auroc) != IGD_OK)
            r->pixel_auroc = NAN;
        if (igd_pixel_metrics_aupro(pm, 0.3, &r->aupro) != IGD_OK)
            r->aupro = NAN;
    }
    igd_pixel_metrics_free(pm);
    return code;
}

static const double *sort_scores;
static int by_score_desc(const void *a, const void *b)
{
    double x = sort_scores[*(const size_t *)a], y = sort_scores[*(const size_t *)b];
    if (x != y)
        return x < y ? 1 : -1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Heatmaps, overlays and contact sheets of the most and least anomalous images. */
static int examples(eval_ctx *e, const size_t *order, size_t scored, size_t want,
                    const collected *col, eval_report *r)
{
    /* With fewer than 2 * want images the two lists split them rather than overlap. */
    size_t k = want <= scored / 2 ? want : scored / 2;
    size_t total = 2 * k;
    if (total == 0)
        return EXIT_OK;
    r->most = calloc(k, sizeof *r->most);
    r->least = calloc(k, sizeof *r->least);
    igd_image **imgs = calloc(total, sizeof *imgs), **overlays = calloc(total, sizeof *overlays);
    float **maps = calloc(total, sizeof *maps);
    montage_tile *tiles = calloc(total, sizeof *tiles);
    int code = EXIT_OK;
    if (!r->most || !r->least || !imgs || !overlays || !maps || !tiles) {
        cli_error("out of memory");
        code = EXIT_ERROR;
    }
    float lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < total && code == EXIT_OK; j++) {
        /* The first k are the top of the order, the next k its bottom (least first). */
        size_t i = j < k ? order[j] : order[scored - 1 - (j - k)];
        char name[4096];
        source_name(e->src, i, name, sizeof name);
        igd_status st = source_load(e->src, i, &imgs[j]);
        if (st == IGD_OK)
            st = model_heatmap(e->m, imgs[j], &maps[j]);
        if (st != IGD_OK) {
            cli_error_status(st, "heatmap of '%s'", name);
            code = EXIT_ERROR;
            break;
        }
        float a, b;
        maps_range(maps[j], igd_image_width(imgs[j]) * igd_image_height(imgs[j]), &a, &b);
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
    }
    if (code == EXIT_OK && !(hi > lo))
        hi = lo + 1e-6f;
    r->example_lo = lo;
    r->example_hi = hi;
    for (size_t j = 0; j < total && code == EXIT_OK; j++) {
        bool top = j < k;
        size_t rank = top ? j : j - k;
        size_t i = top ? order[j] : order[scored - 1 - rank];
        example_entry *x = top ? &r->most[rank] : &r->least[rank];
        char stem[200], path[4096];
        source_stem(e->src, i, stem, sizeof stem);
        snprintf(x->overlay, sizeof x->overlay, "examples/%s_%02d_%s_overlay.png",
                 top ? "most" : "least", (int)(rank + 1), stem);
        source_name(e->src, i, x->name, sizeof x->name);
        x->class_name = source_class_name(e->src, i);
        x->label = source_label(e->src, i);
        x->score = col->score[i];
        x->normalized = col->normalized[i];
        size_t w = igd_image_width(imgs[j]), h = igd_image_height(imgs[j]);
        igd_status st = igd_heatmap_colorize(maps[j], w, h, lo, hi, imgs[j], 0.5, &overlays[j]);
        if (st != IGD_OK) {
            cli_error_status(st, "overlay of '%s'", x->name);
            code = EXIT_ERROR;
            break;
        }
        if (!files_join(path, sizeof path, e->outdir, x->overlay) ||
            igd_image_save_png(overlays[j], path) != IGD_OK) {
            cli_error_status(IGD_ERR_IO, "cannot write '%s'", path);
            code = EXIT_ERROR;
            break;
        }
        montage_tile *t = &tiles[j];
        t->image = imgs[j];
        t->overlay = overlays[j];
        snprintf(t->caption[0], sizeof t->caption[0], "#%zu  score %.4g", rank + 1, x->score);
        snprintf(t->caption[1], sizeof t->caption[1], "%s%s%.14s",
                 x->label ? "anomalous" : "normal", x->class_name ? ": " : "",
                 x->class_name ? x->class_name : "");
    }
    char path[4096];
    if (code == EXIT_OK) {
        if (!files_join(path, sizeof path, e->outdir, "examples/most_anomalous.png") ||
            !montage_save(path, "Most anomalous test images (image, anomaly map)", tiles, k, 4,
                          160))
            code = EXIT_ERROR;
    }
    if (code == EXIT_OK) {
        if (!files_join(path, sizeof path, e->outdir, "examples/least_anomalous.png") ||
            !montage_save(path, "Least anomalous test images (image, anomaly map)", tiles + k, k, 4,
                          160))
            code = EXIT_ERROR;
    }
    r->most_count = r->least_count = code == EXIT_OK ? k : 0;
    for (size_t j = 0; imgs && j < total; j++) {
        igd_image_free(imgs[j]);
        if (overlays)
            igd_image_free(overlays[j]);
        if (maps)
            free(maps[j]);
    }
    free(imgs);
    free(overlays);
    free(maps);
    free(tiles);
    return code;
}

static bool write_scores(const char *path, const source *src, const collected *c)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("cannot write '%s'", path);
        return false;
    }
    fputs("image,label,class,score,normalized\n", f);
    size_t n = source_count(src);
    for (size_t i = 0; i < n; i++) {
        if (!c->ok[i])
            continue;
        char name[4096];
        source_name(src, i, name, sizeof name);
        const char *cls = source_class_name(src, i);
        /* Quote the name: paths may hold commas. */
        fputc('"', f);
        for (const char *p = name; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fprintf(f, "\",%d,%s,%.9g,", source_label(src, i), cls ? cls : "", c->score[i]);
        if (isfinite(c->normalized[i]))
            fprintf(f, "%.6f", c->normalized[i]);
        fputc('\n', f);
    }
    bool ok = fclose(f) == 0;
    if (!ok)
        cli_error("cannot write '%s'", path);
    return ok;
}

int main(int argc, char **argv)
{
    cli_set_program(argv[0]);
    static const struct option long_options[] = {
        SOURCE_LONG_OPTIONS,
        {"model", 1, NULL, 'm'},
        {"output", 1, NULL, 'o'},
        {"examples", 1, NULL, OPT_EXAMPLES},
        {"no-pixel", 0, NULL, OPT_NO_PIXEL},
        {"threads", 1, NULL, OPT_THREADS},
        {"batch", 1, NULL, OPT_BATCH},
        {"set", 1, NULL, OPT_SET},
        {"list-options", 0, NULL, OPT_LIST},
        {"quiet", 0, NULL, 'q'},
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
    const char *model_path = NULL, *outdir = NULL;
    int64_t want = 8, batch = 64;
    bool no_pixel = false, quiet = false;
    int code = EXIT_OK, c;
    opterr = 0;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, ":m:o:qh", long_options, NULL)) != -1) {
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
            outdir = optarg;
            break;
        case OPT_EXAMPLES:
            code = cli_parse_int("--examples", optarg, 0, 64, &want) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_NO_PIXEL:
            no_pixel = true;
            break;
        case OPT_THREADS:
            code = settings_set_named(&set, "threads", optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_BATCH:
            code = cli_parse_int("--batch", optarg, 1, 4096, &batch) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_SET:
            code = settings_set(&set, optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_LIST:
            settings_print_list();
            settings_free(&set);
            return EXIT_OK;
        case 'q':
            quiet = true;
            break;
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
    if (code == EXIT_OK && optind < argc)
        code = cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && !model_path)
        code = cli_usage_error("no model: give -m MODEL");
    if (code == EXIT_OK && !outdir)
        code = cli_usage_error("no report folder: give -o OUTDIR");
    if (code == EXIT_OK && !source_args_check(&data))
        code = EXIT_USAGE;
    if (code == EXIT_OK && !data.mvtec && !(data.idx && data.class_id >= 0))
        code = cli_usage_error("igd-eval needs labelled test data: --mvtec ROOT, or --idx "
                               "IMAGES --labels LABELS --class K");
    if (code == EXIT_OK && data.split == IGD_SPLIT_TRAIN)
        code = cli_usage_error("the MVTec train split has no anomalies to evaluate on");
    if (code != EXIT_OK) {
        settings_free(&set);
        return code;
    }

    double started = progress_now();
    data.limits = set.options;
    source src;
    code = source_open(&src, &data, IGD_SPLIT_TEST, 1);
    if (code != EXIT_OK) {
        settings_free(&set);
        return code;
    }
    loaded_model m;
    code = model_open(&m, model_path, &set);
    if (code != EXIT_OK) {
        source_close(&src);
        settings_free(&set);
        return code;
    }
    char path[4096];
    if (!files_make_dirs(outdir) || !files_join(path, sizeof path, outdir, "examples") ||
        !files_make_dirs(path))
        code = EXIT_ERROR;

    size_t n = source_count(&src);
    collected col = {calloc(n, sizeof(double)), calloc(n, sizeof(double)), calloc(n, 1)};
    size_t *idx = calloc(n, sizeof *idx);
    double *s = calloc(n, sizeof *s), *sn = calloc(n, sizeof *sn);
    int *l = calloc(n, sizeof *l);
    if (code == EXIT_OK && (!col.score || !col.normalized || !col.ok || !idx || !s || !sn || !l)) {
        cli_error("out of memory for %zu images", n);
        code = EXIT_ERROR;
    }
    progress prog;
    progress_init(&prog, stderr, quiet);
    interrupt_install();
    scan_result sr = {0};
    if (code == EXIT_OK) {
        code = scan_source(&m, &src, (size_t)batch, collect, &col, &prog, &sr);
        if (code == EXIT_OK && sr.interrupted)
            code = EXIT_INTERRUPTED;
    }

    eval_report r;
    memset(&r, 0, sizeof r);
    r.model_path = model_path;
    r.model = m.model;
    r.data = data.mvtec ? data.mvtec : data.idx;
    char protocol[160];
    if (data.mvtec)
        snprintf(protocol, sizeof protocol,
                 "MVTec AD test split: 'good' is normal, every other kind anomalous");
    else
        snprintf(protocol, sizeof protocol,
                 "one-class: class %d is normal, the other classes anomalous", data.class_id);
    r.protocol = protocol;
    r.threshold = m.threshold;
    r.heatmap_ms = NAN;
    size_t scored = 0;
    if (code == EXIT_OK) {
        for (size_t i = 0; i < n; i++) {
            if (!col.ok[i])
                continue;
            idx[scored] = i;
            s[scored] = col.score[i];
            sn[scored] = col.normalized[i];
            l[scored] = source_label(&src, i) != 0;
            r.anomalous += l[scored];
            scored++;
        }
        r.images = scored;
        r.normal = scored - r.anomalous;
        r.failed = sr.failed;
        r.detect_ms = scored ? 1000.0 * sr.detect_seconds / (double)scored : NAN;
        if (scored == 0) {
            cli_error("no test image could be scored");
            code = EXIT_ERROR;
        } else if (r.normal == 0 || r.anomalous == 0) {
            cli_error("warning: the test set has %s images only; AUROC is undefined",
                      r.normal ? "normal" : "anomalous");
        }
    }
    double *fpr = NULL, *tpr = NULL;
    size_t points = 0;
    if (code == EXIT_OK) {
        if (igd_metric_auroc(s, l, scored, &r.auroc) != IGD_OK)
            r.auroc = NAN;
        if (igd_metric_f1_max(s, l, scored, &r.f1, &r.f1_threshold) != IGD_OK)
            r.f1 = r.f1_threshold = NAN;
        r.acc_f1 = accuracy(s, l, scored, r.f1_threshold);
        r.acc_threshold = accuracy(s, l, scored, r.threshold);
        r.acc_normalized = m.has_threshold ? accuracy(sn, l, scored, 0.5) : NAN;
        r.acc_half = accuracy(s, l, scored, 0.5);
        rates_at(s, l, scored, r.threshold, &r.tpr_threshold, &r.fpr_threshold);
        r.classes = class_table(&src, idx, s, l, scored, &r.class_count);
        fpr = calloc(scored + 1, sizeof *fpr);
        tpr = calloc(scored + 1, sizeof *tpr);
        double *thr = calloc(scored + 1, sizeof *thr);
        if (!fpr || !tpr || !thr ||
            igd_metric_roc(s, l, scored, fpr, tpr, thr, scored + 1, &points) != IGD_OK)
            points = 0;
        free(thr);
    }
    eval_ctx ctx = {outdir, &src, &m, &prog};
    if (code == EXIT_OK && src.mvtec && !no_pixel)
        code = pixel_metrics(&ctx, col.ok, &r);
    if (code == EXIT_OK) {
        sort_scores = col.score;
        qsort(idx, scored, sizeof *idx, by_score_desc);
        code = examples(&ctx, idx, scored, (size_t)want, &col, &r);
    }
    if (code == EXIT_OK) {
        const char *labels[2] = {"model threshold", "F1-max threshold"};
        double ofpr[2], otpr[2];
        size_t ops = 0;
        if (m.has_threshold) {
            ofpr[ops] = r.fpr_threshold;
            otpr[ops++] = r.tpr_threshold;
        }
        if (isfinite(r.f1_threshold)) {
            rates_at(s, l, scored, r.f1_threshold, &otpr[ops], &ofpr[ops]);
            ops++;
        }
        const char *const *op_labels = m.has_threshold ? labels : labels + 1;
        char title[128];
        snprintf(title, sizeof title, "ROC: %zu normal, %zu anomalous", r.normal, r.anomalous);
        if (!files_join(path, sizeof path, outdir, "roc.png") ||
            !plot_roc(path, fpr, tpr, points, r.auroc, title, ofpr, otpr, op_labels, ops))
            code = EXIT_ERROR;
    }
    if (code == EXIT_OK) {
        if (!files_join(path, sizeof path, outdir, "histogram.png") ||
            !plot_histogram(path, s, l, scored, r.threshold, "model threshold",
                            "Anomaly scores of the test images", "anomaly score"))
            code = EXIT_ERROR;
    }
    r.seconds = progress_now() - started;
    if (code == EXIT_OK &&
        (!files_join(path, sizeof path, outdir, "scores.csv") || !write_scores(path, &src, &col)))
        code = EXIT_ERROR;
    if (code == EXIT_OK &&
        (!files_join(path, sizeof path, outdir, "metrics.json") || !report_write_json(path, &r)))
        code = EXIT_ERROR;
    if (code == EXIT_OK &&
        (!files_join(path, sizeof path, outdir, "report.md") || !report_write_markdown(path, &r)))
        code = EXIT_ERROR;
    if (code == EXIT_OK) {
        printf("images %zu (normal %zu, anomalous %zu)\n", r.images, r.normal, r.anomalous);
        printf("image AUROC %.4f\n", r.auroc);
        printf("F1-max %.4f at threshold %.6g\n", r.f1, r.f1_threshold);
        if (m.has_threshold)
            printf("accuracy at the model threshold %.6g: %.4f\n", r.threshold, r.acc_threshold);
        if (r.pixel)
            printf("pixel AUROC %.4f, AUPRO(0.3) %.4f\n", r.pixel_auroc, r.aupro);
        printf("detection %.3f ms per image\n", r.detect_ms);
        printf("report: %s\n", path);
    } else if (code == EXIT_INTERRUPTED) {
        cli_error("interrupted: no report written");
    }
    free(fpr);
    free(tpr);
    free(r.classes);
    free(r.most);
    free(r.least);
    free(col.score);
    free(col.normalized);
    free(col.ok);
    free(idx);
    free(s);
    free(sn);
    free(l);
    model_close(&m);
    source_close(&src);
    settings_free(&set);
    return code;
}
