/* igd-detect: scores images with a trained model, one line per image. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/interrupt.h"
#include "common/json.h"
#include "common/model.h"
#include "common/scan.h"
#include "common/settings.h"
#include "common/source.h"

enum { OPT_JSON = OPT_SOURCE_LAST, OPT_THREADS, OPT_SET, OPT_LIST, OPT_VERSION, OPT_BATCH };

static void usage(void)
{
    printf("Usage: igd-detect -m MODEL [options] IMAGE...\n"
           "       igd-detect -m MODEL [options] (--folder DIR | --mvtec ROOT | --idx IMAGES)\n"
           "Scores images with a trained IGD model and prints one line per image:\n"
           "  PATH <tab> SCORE <tab> NORMALIZED <tab> DECISION\n"
           "SCORE is the raw anomaly score s; NORMALIZED maps the model's threshold to 0.5;\n"
           "DECISION is 'anomalous' (score >= threshold), 'normal', or '-' when the model has no\n"
           "threshold. Images may have any size; grey and colour images are scored as decoded.\n"
           "\n"
           "Options:\n"
           "  -m, --model MODEL     the model file (from igd-train)\n"
           "  --folder DIR          every PNG and JPEG file in DIR\n"
           "  --mvtec ROOT          an MVTec AD category (--split test by default, or train)\n"
           "  --idx IMAGES          an IDX image file; IDX samples are named IMAGES#INDEX\n"
           "    --labels LABELS --class K  add the labels of the one-class protocol (class K\n"
           "                        normal) to --json output\n"
           "  --class-names LIST    names of the IDX classes 0, 1, ... (commas) for --json\n"
           "  --subsample SHARE     score a random share of the data set\n"
           "  --json                one JSON object per line (path, score, normalized, anomalous,\n"
           "                        label and class when known, the score's parts)\n"
           "  --threads N           worker threads (default 0: the cores other processes\n"
           "                        leave free, re-checked every call; see docs/performance.md)\n"
           "  --batch N             images of one size scored per call (default 64)\n"
           "  --set NAME=VALUE      change a [runtime] option of the model (repeatable)\n"
           "  --list-options        list every option with its type, range, default and help\n"
           "  -h, --help            this help\n"
           "  --version             library and header versions\n"
           "\n"
           "Exit codes: 0 done, 1 a missing or unreadable model or image (the other images are\n"
           "still scored), 2 bad arguments, 130 interrupted.\n");
}

typedef struct printer {
    const source *src;
    bool json;
    bool has_threshold;
} printer;

static void print_one(void *user, size_t index, const detection *d)
{
    printer *p = user;
    if (!d)
        return;
    char name[4096];
    source_name(p->src, index, name, sizeof name);
    if (!p->json) {
        printf("%s\t%.6g\t", name, d->score);
        if (p->has_threshold)
            printf("%.4f\t%s\n", d->normalized, d->anomalous ? "anomalous" : "normal");
        else
            printf("-\t-\n");
        return;
    }
    int first = 1;
    putchar('{');
    json_key(stdout, "path", &first);
    json_string(stdout, name);
    json_key(stdout, "score", &first);
    json_number(stdout, d->score);
    json_key(stdout, "normalized", &first);
    json_number(stdout, d->normalized);
    json_key(stdout, "anomalous", &first);
    fputs(d->anomalous < 0 ? "null" : d->anomalous ? "true" : "false", stdout);
    int label = source_label(p->src, index);
    if (label >= 0) {
        json_key(stdout, "label", &first);
        printf("%d", label);
    }
    const char *cls = source_class_name(p->src, index);
    if (cls) {
        json_key(stdout, "class", &first);
        json_string(stdout, cls);
    }
    static const char *const part_names[IGD_PART_COUNT] = {
        NULL,    NULL,        "global",          "global_rec", "global_classifier",
        "local", "local_rec", "local_classifier"};
    json_key(stdout, "parts", &first);
    int inner = 1;
    putchar('{');
    for (int k = IGD_PART_GLOBAL; k < IGD_PART_COUNT; k++) {
        json_key(stdout, part_names[k], &inner);
        json_number(stdout, d->parts[k]);
    }
    fputs("}}\n", stdout);
}

int main(int argc, char **argv)
{
    cli_set_program(argv[0]);
    static const struct option long_options[] = {
        SOURCE_LONG_OPTIONS,
        {"model", 1, NULL, 'm'},
        {"json", 0, NULL, OPT_JSON},
        {"threads", 1, NULL, OPT_THREADS},
        {"batch", 1, NULL, OPT_BATCH},
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
    bool json = false;
    int64_t batch = 64;
    int code = EXIT_OK, c;
    opterr = 0;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, ":m:h", long_options, NULL)) != -1) {
        int handled = source_args_handle(&data, c, optarg);
        if (handled != 0) {
            code = handled < 0 ? EXIT_USAGE : EXIT_OK;
            continue;
        }
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case OPT_JSON:
            json = true;
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
    if (code == EXIT_OK) {
        code = model_open(&m, model_path, &set);
        if (code != EXIT_OK)
            source_close(&src);
        m.all_parts = json; /* --json prints them */
    }
    if (code != EXIT_OK) {
        settings_free(&set);
        return code;
    }
    interrupt_install();
    printer pr = {&src, json, m.has_threshold};
    scan_result r;
    code = scan_source(&m, &src, (size_t)batch, print_one, &pr, NULL, &r);
    fflush(stdout);
    if (code == EXIT_OK && r.interrupted) {
        cli_error("interrupted after %zu images", r.scored);
        code = EXIT_INTERRUPTED;
    }
    if (code == EXIT_OK && r.failed > 0) {
        cli_error("%zu of %zu images could not be scored", r.failed, source_count(&src));
        code = EXIT_ERROR;
    }
    model_close(&m);
    source_close(&src);
    settings_free(&set);
    return code;
}
