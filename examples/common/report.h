/* igd-eval's outputs in words and numbers: metrics.json and report.md. */
#ifndef EXAMPLES_REPORT_H
#define EXAMPLES_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "igd/igd.h"

typedef struct class_summary {
    char name[64];
    int label; /* 0 normal, 1 anomalous */
    size_t count;
    double mean_score;
    double auroc; /* this class against all normal images; NAN for normal classes */
} class_summary;

typedef struct example_entry {
    char name[512];    /* the image's path or IDX name */
    char overlay[256]; /* its overlay, relative to the report folder */
    const char *class_name;
    int label;
    double score, normalized;
} example_entry;

typedef struct eval_report {
    const char *model_path, *data, *protocol;
    const igd_model *model;
    size_t images, normal, anomalous, failed;
    double auroc, f1, f1_threshold;
    double threshold; /* the model's, NAN if none */
    double acc_threshold, acc_normalized, acc_half, acc_f1;
    double tpr_threshold, fpr_threshold;
    bool pixel; /* pixel metrics computed */
    size_t pixel_images, pixel_missing;
    double pixel_auroc, aupro;
    double detect_ms, heatmap_ms, seconds;
    class_summary *classes;
    size_t class_count;
    example_entry *most, *least;
    size_t most_count, least_count;
    float example_lo, example_hi; /* the common colour range of the examples' overlays */
} eval_report;

/* Each writes one file; false after a message on failure. */
bool report_write_json(const char *path, const eval_report *r);
bool report_write_markdown(const char *path, const eval_report *r);

#endif
