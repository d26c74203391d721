#include "source.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "files.h"

void source_args_init(source_args *a)
{
    memset(a, 0, sizeof *a);
    a->class_id = -1;
}

int source_args_handle(source_args *a, int code, const char *value)
{
    int64_t v;
    double d;
    switch (code) {
    case OPT_MVTEC:
        a->mvtec = value;
        return 1;
    case OPT_FOLDER:
        a->folder = value;
        return 1;
    case OPT_IDX:
        a->idx = value;
        return 1;
    case OPT_LABELS:
        a->labels = value;
        return 1;
    case OPT_CLASS:
        if (!cli_parse_int("--class", value, 0, 255, &v))
            return -1;
        a->class_id = (int)v;
        return 1;
    case OPT_SPLIT:
        if (strcmp(value, "train") == 0)
            a->split = IGD_SPLIT_TRAIN;
        else if (strcmp(value, "test") == 0)
            a->split = IGD_SPLIT_TEST;
        else {
            cli_usage_error("--split must be 'train' or 'test', not '%s'", value);
            return -1;
        }
        return 1;
    case OPT_CLASS_NAMES:
        if (strlen(value) >= sizeof(((source *)0)->names_text)) {
            cli_usage_error("--class-names is too long");
            return -1;
        }
        a->class_names = value;
        return 1;
    case OPT_SUBSAMPLE:
        if (!cli_parse_double("--subsample", value, 0, 1, &d))
            return -1;
        if (d <= 0) {
            cli_usage_error("--subsample must be above 0");
            return -1;
        }
        a->subsample = d;
        return 1;
    }
    return 0;
}

bool source_args_given(const source_args *a)
{
    return a->mvtec || a->folder || a->idx;
}

bool source_args_check(const source_args *a)
{
    int n = (a->mvtec != NULL) + (a->folder != NULL) + (a->idx != NULL);
    if (n > 1) {
        cli_usage_error("give only one of --mvtec, --folder and --idx");
        return false;
    }
    if ((a->labels || a->class_id >= 0 || a->class_names) && !a->idx) {
        cli_usage_error("--labels, --class and --class-names go with --idx");
        return false;
    }
    if (a->class_id >= 0 && !a->labels) {
        cli_usage_error("--class needs --labels (the classes come from the label file)");
        return false;
    }
    if (a->split && !a->mvtec) {
        cli_usage_error("--split goes with --mvtec");
        return false;
    }
    return true;
}

/* Splits "a,b,c" into s->names. */
static void set_names(source *s, const char *list)
{
    snprintf(s->names_text, sizeof s->names_text, "%s", list);
    char *p = s->names_text;
    while (s->name_count < 256) {
        s->names[s->name_count++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
}

int source_open(source *s, const source_args *args, igd_split default_split, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->limits = args->limits;
    if (args->class_names)
        set_names(s, args->class_names);
    igd_status st;
    const char *what;
    if (args->mvtec) {
        igd_split split = args->split ? (igd_split)args->split : default_split;
        what = args->mvtec;
        st = igd_dataset_open_mvtec(args->mvtec, split, &s->dataset);
        s->labelled = split == IGD_SPLIT_TEST;
        s->mvtec = true;
    } else if (args->folder) {
        what = args->folder;
        st = igd_dataset_open_folder(args->folder, 0, &s->dataset);
    } else {
        what = args->idx;
        st = igd_dataset_open_idx(args->idx, args->labels, args->limits, &s->dataset);
        s->idx_path = args->idx;
        if (st == IGD_OK && args->class_id >= 0) {
            st = igd_dataset_set_normal_class(s->dataset, args->class_id);
            s->labelled = true;
            if (st != IGD_OK) {
                cli_error_status(st, "--class %d", args->class_id);
                source_close(s);
                return EXIT_USAGE;
            }
        }
    }
    if (st != IGD_OK) {
        cli_error_status(st, "cannot open the data set '%s'", what);
        source_close(s);
        return EXIT_ERROR;
    }
    if (args->subsample > 0 && args->subsample < 1) {
        st = igd_dataset_subsample(s->dataset, args->subsample, seed);
        if (st != IGD_OK) {
            cli_error_status(st, "--subsample %g", args->subsample);
            source_close(s);
            return EXIT_ERROR;
        }
    }
    if (igd_dataset_count(s->dataset) == 0) {
        cli_error("the data set '%s' has no images", what);
        source_close(s);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

void source_from_files(source *s, char *const *files, size_t count, const igd_options *limits)
{
    memset(s, 0, sizeof *s);
    s->files = files;
    s->file_count = count;
    s->limits = limits;
}

void source_close(source *s)
{
    igd_dataset_free(s->dataset);
    s->dataset = NULL;
}

size_t source_count(const source *s)
{
    return s->dataset ? igd_dataset_count(s->dataset) : s->file_count;
}

/* The sample's position in its file: IDX samples have no path, and after subsampling their
 * index in the data set is not their index in the file, so IDX names use the data-set index. */
void source_name(const source *s, size_t i, char *buf, size_t size)
{
    if (!s->dataset) {
        snprintf(buf, size, "%s", s->files[i]);
        return;
    }
    const char *path = igd_dataset_path(s->dataset, i);
    if (path)
        snprintf(buf, size, "%s", path);
    else
        snprintf(buf, size, "%s#%zu", s->idx_path ? s->idx_path : "pixels", i);
}

void source_stem(const source *s, size_t i, char *buf, size_t size)
{
    char stem[512];
    if (!s->dataset) {
        files_stem(s->files[i], stem, sizeof stem);
        snprintf(buf, size, "%s", stem);
    } else if (igd_dataset_path(s->dataset, i)) {
        files_stem(igd_dataset_path(s->dataset, i), stem, sizeof stem);
        const char *kind = s->mvtec ? source_class_name(s, i) : NULL;
        if (kind)
            snprintf(buf, size, "%s_%s", kind, stem);
        else
            snprintf(buf, size, "%s", stem);
    } else {
        files_stem(s->idx_path ? s->idx_path : "pixels", stem, sizeof stem);
        /* "t10k-images-idx3-ubyte.gz" -> "t10k-images-idx3-ubyte" */
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
        snprintf(buf, size, "%s_%05zu", stem, i);
    }
    files_sanitize(buf);
}

int source_label(const source *s, size_t i)
{
    int label;
    if (!s->dataset || !s->labelled || igd_dataset_label(s->dataset, i, &label) != IGD_OK)
        return -1;
    return label;
}

const char *source_class_name(const source *s, size_t i)
{
    int c;
    if (!s->dataset || igd_dataset_class(s->dataset, i, &c) != IGD_OK || c < 0)
        return NULL;
    if ((size_t)c < s->name_count && s->names[c][0])
        return s->names[c];
    return igd_dataset_class_name(s->dataset, c);
}

igd_status source_load(const source *s, size_t i, igd_image **out)
{
    if (s->dataset)
        return igd_dataset_load(s->dataset, i, out);
    return igd_image_load(s->files[i], s->limits, out);
}

igd_status source_load_mask(const source *s, size_t i, igd_image **out)
{
    *out = NULL;
    if (!s->dataset || !s->labelled)
        return IGD_ERR_NOT_FOUND;
    return igd_dataset_load_mask(s->dataset, i, out);
}
