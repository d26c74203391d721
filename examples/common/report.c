#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"

static void num(FILE *f, const char *key, double v, int *first)
{
    json_key(f, key, first);
    json_number(f, v);
}

static void count(FILE *f, const char *key, size_t v, int *first)
{
    json_key(f, key, first);
    fprintf(f, "%zu", v);
}

/* The model's whole configuration, by option name. */
static void write_options(FILE *f, const igd_model *model)
{
    igd_options *o = NULL;
    fputc('{', f);
    if (model && igd_model_get_options(model, &o) == IGD_OK) {
        int first = 1;
        for (size_t i = 0; i < igd_option_count(); i++) {
            igd_option key;
            igd_option_type type;
            if (igd_option_at(i, &key) != IGD_OK ||
                igd_option_info(key, &type, NULL, NULL, NULL, NULL) != IGD_OK)
                continue;
            if (type == IGD_TYPE_INT) {
                int64_t v;
                if (igd_options_get_int(o, key, &v) != IGD_OK)
                    continue;
                json_key(f, igd_option_name(key), &first);
                fprintf(f, "%lld", (long long)v);
            } else {
                double v;
                if (igd_options_get_real(o, key, &v) != IGD_OK)
                    continue;
                num(f, igd_option_name(key), v, &first);
            }
        }
    }
    igd_options_free(o);
    fputc('}', f);
}

static void write_examples(FILE *f, const example_entry *e, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        fputs(i ? ",\n    {" : "\n    {", f);
        json_key(f, "image", &first);
        json_string(f, e[i].name);
        json_key(f, "overlay", &first);
        json_string(f, e[i].overlay);
        json_key(f, "label", &first);
        fprintf(f, "%d", e[i].label);
        if (e[i].class_name) {
            json_key(f, "class", &first);
            json_string(f, e[i].class_name);
        }
        num(f, "score", e[i].score, &first);
        num(f, "normalized", e[i].normalized, &first);
        fputc('}', f);
    }
    fputs(n ? "\n  ]" : "]", f);
}

bool report_write_json(const char *path, const eval_report *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("cannot write '%s'", path);
        return false;
    }
    int first = 1;
    fputs("{\n  ", f);
    json_key(f, "model", &first);
    json_string(f, r->model_path);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "data", &first);
    json_string(f, r->data);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "protocol", &first);
    json_string(f, r->protocol);
    fputs(",\n  ", f);
    first = 1;
    count(f, "images", r->images, &first);
    count(f, "normal", r->normal, &first);
    count(f, "anomalous", r->anomalous, &first);
    count(f, "unreadable", r->failed, &first);
    fputs(",\n  ", f);
    first = 1;
    num(f, "image_auroc", r->auroc, &first);
    num(f, "f1_max", r->f1, &first);
    num(f, "f1_max_threshold", r->f1_threshold, &first);
    num(f, "accuracy_at_f1_max_threshold", r->acc_f1, &first);
    fputs(",\n  ", f);
    first = 1;
    num(f, "threshold", r->threshold, &first);
    num(f, "accuracy_at_threshold", r->acc_threshold, &first);
    num(f, "tpr_at_threshold", r->tpr_threshold, &first);
    num(f, "fpr_at_threshold", r->fpr_threshold, &first);
    num(f, "accuracy_at_normalized_0_5", r->acc_normalized, &first);
    num(f, "accuracy_at_score_0_5", r->acc_half, &first);
    fputs(",\n  ", f);
    first = 1;
    num(f, "pixel_auroc", r->pixel ? r->pixel_auroc : NAN, &first);
    num(f, "aupro_0_3", r->pixel ? r->aupro : NAN, &first);
    count(f, "pixel_images", r->pixel_images, &first);
    count(f, "anomalous_without_mask", r->pixel_missing, &first);
    fputs(",\n  ", f);
    first = 1;
    num(f, "detect_ms_per_image", r->detect_ms, &first);
    num(f, "heatmap_ms_per_image", r->heatmap_ms, &first);
    num(f, "seconds", r->seconds, &first);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "classes", &first);
    fputc('[', f);
    for (size_t i = 0; i < r->class_count; i++) {
        const class_summary *c = &r->classes[i];
        int inner = 1;
        fputs(i ? ",\n    {" : "\n    {", f);
        json_key(f, "class", &inner);
        json_string(f, c->name);
        json_key(f, "label", &inner);
        fprintf(f, "%d", c->label);
        count(f, "images", c->count, &inner);
        num(f, "mean_score", c->mean_score, &inner);
        num(f, "auroc_vs_normal", c->auroc, &inner);
        fputc('}', f);
    }
    fputs(r->class_count ? "\n  ]" : "]", f);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "most_anomalous", &first);
    write_examples(f, r->most, r->most_count);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "least_anomalous", &first);
    write_examples(f, r->least, r->least_count);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "model_options", &first);
    write_options(f, r->model);
    fputs(",\n  ", f);
    first = 1;
    json_key(f, "library_version", &first);
    json_string(f, igd_version_string());
    fputs("\n}\n", f);
    bool ok = fclose(f) == 0;
    if (!ok)
        cli_error("cannot write '%s'", path);
    return ok;
}

static void cell(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("n/a", f);
}

static void example_table(FILE *f, const example_entry *e, size_t n)
{
    fputs("| rank | image | label | class | score | normalised | overlay |\n", f);
    fputs("|---:|---|---|---|---:|---:|---|\n", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "| %zu | `%s` | %s | %s | %.6g | ", i + 1, e[i].name,
                e[i].label ? "anomalous" : "normal", e[i].class_name ? e[i].class_name : "",
                e[i].score);
        cell(f, e[i].normalized, "%.4f");
        fprintf(f, " | [overlay](%s) |\n", e[i].overlay);
    }
}

/* The options that shape a model most; metrics.json lists them all. */
static void write_model_summary(FILE *f, const igd_model *model)
{
    static const char *const keys[] = {"nets",       "channels",   "global_size", "image_size",
                                       "patch_size", "base_width", "depth",       "latent_size",
                                       "classifier", "batch_size", "epochs",      "time_limit",
                                       "seed"};
    igd_options *o = NULL;
    if (!model || igd_model_get_options(model, &o) != IGD_OK)
        return;
    fputs("## Model\n\n", f);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        igd_option key;
        igd_option_type type;
        if (igd_option_find(keys[i], &key) != IGD_OK ||
            igd_option_info(key, &type, NULL, NULL, NULL, NULL) != IGD_OK)
            continue;
        if (type == IGD_TYPE_INT) {
            int64_t v;
            if (igd_options_get_int(o, key, &v) == IGD_OK)
                fprintf(f, "%s`%s` %lld", i ? ", " : "", keys[i], (long long)v);
        } else {
            double v;
            if (igd_options_get_real(o, key, &v) == IGD_OK)
                fprintf(f, "%s`%s` %g", i ? ", " : "", keys[i], v);
        }
    }
    fputs(" (every option is in `metrics.json`).\n\n", f);
    igd_options_free(o);
}

bool report_write_markdown(const char *path, const eval_report *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_error("cannot write '%s'", path);
        return false;
    }
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (localtime_r(&now, &tmv))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tmv);
    fprintf(f, "# IGD evaluation report\n\n");
    fprintf(f, "- model: `%s`\n- test data: `%s`\n- protocol: %s\n", r->model_path, r->data,
            r->protocol);
    fprintf(f, "- images: %zu (%zu normal, %zu anomalous)", r->images, r->normal, r->anomalous);
    if (r->failed)
        fprintf(f, "; %zu could not be read and are left out", r->failed);
    fprintf(f, "\n- libigd %s, written %s\n\n", igd_version_string(), when);

    write_model_summary(f, r->model);
    fprintf(f, "## Image-level detection\n\n| metric | value |\n|---|---:|\n");
    fputs("| image AUROC | ", f);
    cell(f, r->auroc, "%.4f");
    fputs(" |\n| F1-max | ", f);
    cell(f, r->f1, "%.4f");
    fputs(" |\n| ... at score threshold | ", f);
    cell(f, r->f1_threshold, "%.6g");
    fputs(" |\n| accuracy at that threshold | ", f);
    cell(f, r->acc_f1, "%.4f");
    fputs(" |\n| model threshold (calibrated on held-out normal images) | ", f);
    cell(f, r->threshold, "%.6g");
    fputs(" |\n| accuracy at the model threshold | ", f);
    cell(f, r->acc_threshold, "%.4f");
    fputs(" |\n| true / false positive rate there | ", f);
    cell(f, r->tpr_threshold, "%.4f");
    fputs(" / ", f);
    cell(f, r->fpr_threshold, "%.4f");
    fputs(" |\n| accuracy at normalised score 0.5 | ", f);
    cell(f, r->acc_normalized, "%.4f");
    fputs(" |\n| accuracy at raw score 0.5 (the paper's MVTec protocol) | ", f);
    cell(f, r->acc_half, "%.4f");
    fputs(" |\n\n", f);
    fputs("The normalised score maps the model threshold to 0.5, so the two accuracies agree "
          "up to rounding.\n\n",
          f);

    if (r->pixel) {
        fprintf(f, "## Pixel-level localisation\n\n| metric | value |\n|---|---:|\n");
        fputs("| pixel AUROC | ", f);
        cell(f, r->pixel_auroc, "%.4f");
        fputs(" |\n| AUPRO (false positive rate up to 0.3) | ", f);
        cell(f, r->aupro, "%.4f");
        fprintf(f, " |\n\nOver %zu images", r->pixel_images);
        if (r->pixel_missing)
            fprintf(f, " (%zu anomalous images without a mask left out)", r->pixel_missing);
        fputs(".\n\n", f);
    }

    if (r->class_count) {
        fprintf(f, "## Per class\n\n| class | label | images | mean score | AUROC vs normal |\n"
                   "|---|---|---:|---:|---:|\n");
        for (size_t i = 0; i < r->class_count; i++) {
            const class_summary *c = &r->classes[i];
            fprintf(f, "| %s | %s | %zu | %.6g | ", c->name, c->label ? "anomalous" : "normal",
                    c->count, c->mean_score);
            cell(f, c->auroc, "%.4f");
            fputs(" |\n", f);
        }
        fputc('\n', f);
    }

    fprintf(f,
            "## Timing\n\n- detection: %.3f ms per image (inside igd_session_detect, batched "
            "by image size)\n",
            r->detect_ms);
    if (isfinite(r->heatmap_ms))
        fprintf(f, "- heatmap: %.3f ms per image\n", r->heatmap_ms);
    fprintf(f, "- whole evaluation: %.1f s\n\n", r->seconds);

    fputs("## Plots\n\n![ROC curve](roc.png)\n\n![Score histogram](histogram.png)\n\n", f);

    fputs("## Most anomalous test images\n\nEach pair: the image and its anomaly map over it. "
          "All overlays here share one colour scale",
          f);
    fprintf(f, " (map values %.4g to %.4g), so the least anomalous images look calm.\n\n",
            (double)r->example_lo, (double)r->example_hi);
    fputs("![most anomalous](examples/most_anomalous.png)\n\n", f);
    example_table(f, r->most, r->most_count);
    fputs("\n## Least anomalous test images\n\n![least anomalous]"
          "(examples/least_anomalous.png)\n\n",
          f);
    example_table(f, r->least, r->least_count);
    fputs("\nAll numbers are also in `metrics.json`; every image's score is in `scores.csv`.\n", f);
    bool ok = fclose(f) == 0;
    if (!ok)
        cli_error("cannot write '%s'", path);
    return ok;
}
