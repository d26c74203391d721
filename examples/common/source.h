/* Where images come from: a data set (--mvtec ROOT, --folder DIR, --idx IMAGES [--labels
 * LABELS] [--class K]) or a list of image files, with names, stems for output files, labels,
 * classes and masks when the source has them. */
#ifndef EXAMPLES_SOURCE_H
#define EXAMPLES_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "igd/igd.h"

/* Long-option codes shared by the programs (getopt_long values). */
enum {
    OPT_MVTEC = 1000,
    OPT_FOLDER,
    OPT_IDX,
    OPT_LABELS,
    OPT_CLASS,
    OPT_SPLIT,
    OPT_SUBSAMPLE,
    OPT_CLASS_NAMES,
    OPT_SOURCE_LAST
};

/* getopt_long entries of the data-set options (has_arg 1), for the programs' option tables. */
// clang-format off
#define SOURCE_LONG_OPTIONS                                                                        \
    {"mvtec", 1, NULL, OPT_MVTEC}, {"folder", 1, NULL, OPT_FOLDER}, {"idx", 1, NULL, OPT_IDX},     \
    {"labels", 1, NULL, OPT_LABELS}, {"class", 1, NULL, OPT_CLASS},                                \
    {"split", 1, NULL, OPT_SPLIT}, {"subsample", 1, NULL, OPT_SUBSAMPLE},                          \
    {"class-names", 1, NULL, OPT_CLASS_NAMES}
// clang-format on

typedef struct source_args {
    const char *mvtec, *folder, *idx, *labels;
    int class_id;              /* -1: none given */
    int split;                 /* 0: the program's default, else igd_split */
    double subsample;          /* 0: all */
    const char *class_names;   /* "name0,name1,...": names of IDX classes 0, 1, ... (or NULL) */
    const igd_options *limits; /* image decoding limits (may be NULL) */
} source_args;

void source_args_init(source_args *a);
/* Handles one of the options above: 1 handled, 0 not one of them, -1 a usage error (printed). */
int source_args_handle(source_args *a, int code, const char *value);
/* Whether a data set was named. */
bool source_args_given(const source_args *a);
/* Checks the combination; prints a usage message and returns false if wrong. */
bool source_args_check(const source_args *a);

typedef struct source {
    igd_dataset *dataset; /* a data set, or NULL for a list of files */
    char *const *files;   /* the file list (borrowed from argv) */
    size_t file_count;
    const char *idx_path; /* for the names of IDX samples */
    const igd_options *limits;
    bool labelled;         /* labels are meaningful (MVTec test, IDX with --class) */
    bool mvtec;            /* names carry the MVTec kind */
    char names_text[1024]; /* --class-names, split in place */
    const char *names[256];
    size_t name_count;
} source;

/* Opens the data set named by args (split: the program's default when args->split is 0), with
 * the one-class protocol for IDX --class (class K normal, the others anomalous) and a random
 * share when --subsample is given (seed). Returns EXIT_OK or an exit code after a message. */
int source_open(source *s, const source_args *args, igd_split default_split, uint64_t seed);
/* A source of image files. */
void source_from_files(source *s, char *const *files, size_t count, const igd_options *limits);
void source_close(source *s);

size_t source_count(const source *s);
/* A name for messages and outputs: the file path, or "<idx file>#<index>". */
void source_name(const source *s, size_t i, char *buf, size_t size);
/* A file-name-safe stem unique within the source: "<kind>_<name>" for MVTec, "<stem>" for files,
 * "<idx stem>_<index>" for IDX. */
void source_stem(const source *s, size_t i, char *buf, size_t size);
/* 0 normal, 1 anomalous, -1 unknown. */
int source_label(const source *s, size_t i);
/* The class name ("crack", "3", or its --class-names entry), or NULL. */
const char *source_class_name(const source *s, size_t i);
igd_status source_load(const source *s, size_t i, igd_image **out);
/* The ground-truth mask (IGD_ERR_NOT_FOUND when there is none). */
igd_status source_load_mask(const source *s, size_t i, igd_image **out);

#endif
