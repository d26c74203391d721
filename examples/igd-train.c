/* igd-train: trains an IGD model on normal images and saves it.
 *
 * Contamination (--contaminate RATE) follows the paper's robustness protocol: anomalous images
 * are mixed into the training set until they make up RATE of it. They come from the test set
 * that belongs to the training data: for --mvtec the anomalous images of ROOT/test, for --idx
 * the images of the other classes (not K) of the same IDX file (so a contaminated Fashion-MNIST
 * class-0 model sees a few training images of classes 1..9, never test images). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/files.h"
#include "common/interrupt.h"
#include "common/progress.h"
#include "common/settings.h"
#include "common/source.h"

enum {
    OPT_CONTAMINATE = OPT_SOURCE_LAST,
    OPT_SEED,
    OPT_THREADS,
    OPT_EPOCHS,
    OPT_TIME_LIMIT,
    OPT_SET,
    OPT_PRESET,
    OPT_LIST,
    OPT_SAVE_OPTIMIZER,
    OPT_VERSION
};

/* The library's log messages (with --verbose); cli_error ends any open progress line first. */
static void log_message(void *user, igd_log_level level, const char *message)
{
    (void)user;
    cli_error("%s%s",
              level == IGD_LOG_ERROR     ? "error: "
              : level == IGD_LOG_WARNING ? "warning: "
                                         : "",
              message);
}

static void usage(void)
{
    printf(
        "Usage: igd-train DATA -o MODEL [options]\n"
        "Trains an IGD anomaly detector on normal images and writes the model file.\n"
        "\n"
        "DATA (one of):\n"
        "  --mvtec ROOT          an MVTec AD category folder: trains on ROOT/train/good\n"
        "  --folder DIR          every PNG and JPEG file in DIR, all taken as normal\n"
        "  --idx IMAGES          an IDX image file (MNIST layout, gzip or plain)\n"
        "    --labels LABELS     its IDX label file\n"
        "    --class K           one-class protocol: class K is normal and only its images are\n"
        "                        trained on (needs --labels)\n"
        "  --subsample SHARE     train on a random share (0 < SHARE <= 1) of the normal images\n"
        "  --contaminate RATE    mix anomalous images in until they are RATE (0 <= RATE < 1) of\n"
        "                        the training set: for --mvtec the anomalous images of ROOT/test,\n"
        "                        for --idx --class K the images of the other classes of the same\n"
        "                        IDX file\n"
        "\n"
        "Training:\n"
        "  -o, --output MODEL    the model file to write; it is written (atomically) only when\n"
        "                        training ends normally\n"
        "  --seed N              seed of initialisation, sampling and shuffling (option 'seed')\n"
        "  --threads N           worker threads (option 'threads'; default 0: the cores other\n"
        "                        processes leave free when training starts)\n"
        "  --epochs N            epochs (option 'epochs')\n"
        "  --time-limit SECONDS  stop training after this long (option 'time_limit')\n"
        "  --preset NAME         start from a named bundle of options: digits (the defaults),\n"
        "                        texture (surfaces with small or thin defects: a segmentation\n"
        "                        head trained on synthetic anomalies), object (colour photos);\n"
        "                        options given on the command line win over it\n"
        "  --set NAME=VALUE      set any model option by name (repeatable)\n"
        "  --list-options        list every option with its type, range, default and help\n"
        "  --save-optimizer      also save the optimiser state (to resume training exactly)\n"
        "  -q, --quiet           no progress reports\n"
        "  -v, --verbose         also print the library's log messages\n"
        "  -h, --help            this help\n"
        "  --version             library and header versions\n"
        "\n"
        "Progress goes to stderr: on a terminal one updating line, otherwise a line every few\n"
        "seconds. Ctrl-C stops training; nothing is written and the exit code is 130.\n"
        "Exit codes: 0 done, 1 failure (missing or unreadable data, cannot write), 2 bad\n"
        "arguments, 130 interrupted.\n");
}

/* Mixes anomalies of the matching test data into train (see the top of the file). */
static int contaminate(igd_dataset *train, const source_args *args, double rate, uint64_t seed)
{
    igd_dataset *pool = NULL;
    igd_status st;
    if (args->mvtec) {
        st = igd_dataset_open_mvtec(args->mvtec, IGD_SPLIT_TEST, &pool);
    } else {
        st = igd_dataset_open_idx(args->idx, args->labels, NULL, &pool);
        if (st == IGD_OK)
            st = igd_dataset_set_normal_class(pool, args->class_id);
        if (st == IGD_OK)
            st = igd_dataset_keep_label(pool, 1);
    }
    if (st == IGD_OK)
        st = igd_dataset_contaminate(train, pool, rate, seed);
    igd_dataset_free(pool);
    if (st != IGD_OK) {
        cli_error_status(st, "cannot contaminate the training set at rate %g", rate);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    cli_set_program(argv[0]);
    static const struct option long_options[] = {
        SOURCE_LONG_OPTIONS,
        {"contaminate", 1, NULL, OPT_CONTAMINATE},
        {"output", 1, NULL, 'o'},
        {"seed", 1, NULL, OPT_SEED},
        {"threads", 1, NULL, OPT_THREADS},
        {"epochs", 1, NULL, OPT_EPOCHS},
        {"time-limit", 1, NULL, OPT_TIME_LIMIT},
        {"set", 1, NULL, OPT_SET},
        {"preset", 1, NULL, OPT_PRESET},
        {"list-options", 0, NULL, OPT_LIST},
        {"save-optimizer", 0, NULL, OPT_SAVE_OPTIMIZER},
        {"quiet", 0, NULL, 'q'},
        {"verbose", 0, NULL, 'v'},
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
    const char *output = NULL;
    double rate = 0;
    bool quiet = false, verbose = false, contaminated = false;
    unsigned save_flags = IGD_SAVE_DEFAULT;
    int code = EXIT_OK, c;
    opterr = 0;
    while (code == EXIT_OK && (c = getopt_long(argc, argv, ":o:qvh", long_options, NULL)) != -1) {
        int handled = source_args_handle(&data, c, optarg);
        if (handled < 0) {
            code = EXIT_USAGE;
            continue;
        }
        if (handled > 0)
            continue;
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case OPT_CONTAMINATE:
            if (!cli_parse_double("--contaminate", optarg, 0, 0.999, &rate))
                code = EXIT_USAGE;
            contaminated = true;
            break;
        case OPT_SEED:
            code = settings_set_named(&set, "seed", optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_THREADS:
            code = settings_set_named(&set, "threads", optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_EPOCHS:
            code = settings_set_named(&set, "epochs", optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_TIME_LIMIT:
            code = settings_set_named(&set, "time_limit", optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_SET:
            code = settings_set(&set, optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_PRESET:
            code = settings_apply_preset(&set, optarg) ? EXIT_OK : EXIT_USAGE;
            break;
        case OPT_LIST:
            settings_print_list();
            settings_free(&set);
            return EXIT_OK;
        case OPT_SAVE_OPTIMIZER:
            save_flags |= IGD_SAVE_OPTIMIZER;
            break;
        case 'q':
            quiet = true;
            break;
        case 'v':
            verbose = true;
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
    if (code == EXIT_OK && !source_args_given(&data))
        code = cli_usage_error("no training data: give --mvtec, --folder or --idx");
    if (code == EXIT_OK && !source_args_check(&data))
        code = EXIT_USAGE;
    if (code == EXIT_OK && !output)
        code = cli_usage_error("no model file: give -o MODEL");
    if (code == EXIT_OK && data.split)
        code = cli_usage_error("--split has no use in igd-train (it trains on the train split)");
    if (code == EXIT_OK && contaminated && rate > 0 && !data.mvtec && data.class_id < 0)
        code = cli_usage_error("--contaminate needs --mvtec, or --idx with --labels and --class");
    if (code != EXIT_OK) {
        settings_free(&set);
        return code;
    }
    if (!files_parent_writable(output)) {
        settings_free(&set);
        return EXIT_ERROR;
    }

    int64_t seed = 1;
    if (igd_options_get_int(set.options, IGD_OPT_SEED, &seed) != IGD_OK)
        seed = 1;
    data.limits = set.options;
    /* The share is taken of the normal images, after the class is selected. */
    double share = data.subsample;
    data.subsample = 0;
    source src;
    code = source_open(&src, &data, IGD_SPLIT_TRAIN, (uint64_t)seed);
    if (code != EXIT_OK) {
        settings_free(&set);
        return code;
    }
    igd_dataset *train = src.dataset;
    igd_status st = IGD_OK;
    if (data.class_id >= 0) {
        st = igd_dataset_keep_label(train, 0);
        if (st == IGD_OK && igd_dataset_count(train) == 0) {
            cli_error("class %d has no images in '%s'", data.class_id, data.idx);
            code = EXIT_ERROR;
        }
    }
    if (st != IGD_OK) {
        cli_error_status(st, "selecting class %d", data.class_id);
        code = EXIT_ERROR;
    }
    if (code == EXIT_OK && share > 0 && share < 1) {
        st = igd_dataset_subsample(train, share, (uint64_t)seed);
        if (st != IGD_OK) {
            cli_error_status(st, "--subsample %g", share);
            code = EXIT_ERROR;
        } else if (igd_dataset_count(train) == 0) {
            cli_error("--subsample %g leaves no images", share);
            code = EXIT_ERROR;
        }
    }
    if (code == EXIT_OK && rate > 0)
        code = contaminate(train, &data, rate, (uint64_t)seed + 1);

    igd_model *model = NULL;
    progress prog;
    progress_init(&prog, stderr, quiet);
    double started = progress_now();
    if (code == EXIT_OK) {
        st = igd_model_create(set.options, &model);
        if (st != IGD_OK) {
            cli_error_status(st, "cannot create the model");
            code = st == IGD_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_ERROR;
        }
    }
    if (code == EXIT_OK) {
        /* The time limit is shared by the networks, each trained in turn. */
        double limit = 0;
        int64_t nets = IGD_NET_GLOBAL;
        if (igd_options_get_int(set.options, IGD_OPT_NETS, &nets) != IGD_OK)
            nets = IGD_NET_GLOBAL;
        int count = ((nets & IGD_NET_GLOBAL) != 0) + ((nets & IGD_NET_LOCAL) != 0);
        if (igd_options_get_real(set.options, IGD_OPT_TIME_LIMIT, &limit) == IGD_OK)
            prog.time_limit = limit / (count > 0 ? count : 1);
        size_t n = igd_dataset_count(train), anomalous = 0;
        for (size_t i = 0; i < n; i++) {
            int label = 0;
            if (igd_dataset_label(train, i, &label) == IGD_OK && label != 0)
                anomalous++;
        }
        if (!quiet) {
            fprintf(stderr, "%s: training on %zu images", cli_program(), n);
            if (anomalous)
                fprintf(stderr, " (%zu of them anomalous: contamination %.3f)", anomalous,
                        (double)anomalous / (double)n);
            fprintf(stderr, "\n");
        }
        igd_model_set_progress(model, progress_model_callback, &prog);
        if (verbose)
            igd_model_set_log(model, log_message, NULL);
        interrupt_install();
        igd_model_set_abort(model, interrupt_abort_callback, NULL);
        st = igd_model_fit(model, train);
        progress_finish(&prog);
        if (st == IGD_ERR_ABORTED) {
            cli_error("interrupted: training stopped, '%s' was not written", output);
            code = EXIT_INTERRUPTED;
        } else if (st != IGD_OK) {
            cli_error_status(st, "training failed");
            code = EXIT_ERROR;
        }
    }
    if (code == EXIT_OK) {
        st = igd_model_save(model, output, save_flags);
        if (st != IGD_OK) {
            cli_error_status(st, "cannot write the model '%s'", output);
            code = EXIT_ERROR;
        }
    }
    if (code == EXIT_OK) {
        char took[32];
        progress_format_duration(progress_now() - started, took, sizeof took);
        double threshold;
        if (igd_model_get_threshold(model, &threshold) == IGD_OK)
            printf("wrote %s (trained in %s, threshold %.6g)\n", output, took, threshold);
        else
            printf("wrote %s (trained in %s, no threshold)\n", output, took);
    }
    igd_model_free(model);
    source_close(&src);
    settings_free(&set);
    return code;
}
