#include "settings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

bool settings_init(settings *s)
{
    memset(s, 0, sizeof *s);
    igd_status st = igd_options_create(&s->options);
    if (st != IGD_OK) {
        cli_error_status(st, "creating the options");
        return false;
    }
    return true;
}

void settings_free(settings *s)
{
    igd_options_free(s->options);
    s->options = NULL;
}

static void remember(settings *s, igd_option key)
{
    for (size_t i = 0; i < s->given_count; i++)
        if (s->given[i] == key)
            return;
    if (s->given_count < sizeof s->given / sizeof s->given[0])
        s->given[s->given_count++] = key;
}

bool settings_set_named(settings *s, const char *name, const char *value)
{
    igd_option key;
    if (igd_option_find(name, &key) != IGD_OK) {
        cli_usage_error("unknown option '%s' (--list-options shows them all)", name);
        return false;
    }
    igd_status st = igd_options_parse(s->options, name, value);
    if (st != IGD_OK) {
        const char *detail = igd_last_error();
        cli_usage_error("option %s=%s: %s", name, value,
                        detail && *detail ? detail : igd_status_string(st));
        return false;
    }
    remember(s, key);
    return true;
}

bool settings_set(settings *s, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        cli_usage_error("--set expects name=value, not '%s'", assignment);
        return false;
    }
    char name[128];
    size_t len = (size_t)(eq - assignment);
    if (len >= sizeof name) {
        cli_usage_error("--set: the option name in '%s' is too long", assignment);
        return false;
    }
    memcpy(name, assignment, len);
    name[len] = '\0';
    return settings_set_named(s, name, eq + 1);
}

bool settings_apply_preset(settings *s, const char *name)
{
    /* The preset goes under the options given on the command line, wherever --preset stands. */
    igd_options *given = NULL;
    igd_status st = igd_options_copy(s->options, &given);
    if (st == IGD_OK)
        st = igd_options_apply_preset(s->options, name);
    if (st == IGD_ERR_NOT_FOUND) {
        char names[256] = "";
        for (size_t i = 0; i < igd_preset_count(); i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     igd_preset_name(i));
        cli_usage_error("--preset: no preset named '%s' (the presets: %s)", name, names);
        igd_options_free(given);
        return false;
    }
    for (size_t i = 0; st == IGD_OK && i < s->given_count; i++) {
        igd_option_type type;
        int64_t iv;
        double rv;
        if ((st = igd_option_info(s->given[i], &type, NULL, NULL, NULL, NULL)) != IGD_OK)
            break;
        if (type == IGD_TYPE_INT)
            st = igd_options_get_int(given, s->given[i], &iv) == IGD_OK
                     ? igd_options_set_int(s->options, s->given[i], iv)
                     : IGD_ERR_INTERNAL;
        else
            st = igd_options_get_real(given, s->given[i], &rv) == IGD_OK
                     ? igd_options_set_real(s->options, s->given[i], rv)
                     : IGD_ERR_INTERNAL;
    }
    igd_options_free(given);
    if (st != IGD_OK) {
        cli_error_status(st, "applying the preset '%s'", name);
        return false;
    }
    return true;
}

int settings_apply_runtime(const settings *s, igd_model *model)
{
    for (size_t i = 0; i < s->given_count; i++) {
        igd_option key = s->given[i];
        if (key == IGD_OPT_MAX_IMAGE_PIXELS || key == IGD_OPT_MAX_IMAGE_SIDE)
            continue;
        igd_option_type type;
        int runtime = 0;
        if (igd_option_info(key, &type, NULL, NULL, NULL, &runtime) != IGD_OK)
            return EXIT_ERROR;
        if (!runtime)
            return cli_usage_error("option '%s' is fixed when a model is trained; only [runtime] "
                                   "options can change on a trained model (see --list-options)",
                                   igd_option_name(key));
        igd_status st;
        if (type == IGD_TYPE_INT) {
            int64_t v = 0;
            st = igd_options_get_int(s->options, key, &v);
            if (st == IGD_OK)
                st = igd_model_set_option_int(model, key, v);
        } else {
            double v = 0;
            st = igd_options_get_real(s->options, key, &v);
            if (st == IGD_OK)
                st = igd_model_set_option_real(model, key, v);
        }
        if (st != IGD_OK) {
            cli_error_status(st, "setting option '%s' on the model", igd_option_name(key));
            return EXIT_ERROR;
        }
    }
    return EXIT_OK;
}

static void format_value(char *buf, size_t size, igd_option_type type, double v)
{
    if (type == IGD_TYPE_INT || (v == floor(v) && fabs(v) < 1e15))
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%g", v);
}

void settings_print_list(void)
{
    printf("%-26s %-5s %-26s %-10s %s\n", "NAME", "TYPE", "RANGE", "DEFAULT", "WHEN");
    size_t n = igd_option_count();
    for (size_t i = 0; i < n; i++) {
        igd_option key;
        igd_option_type type;
        double lo, hi, def;
        int runtime;
        if (igd_option_at(i, &key) != IGD_OK ||
            igd_option_info(key, &type, &lo, &hi, &def, &runtime) != IGD_OK)
            continue;
        char a[32], b[32], d[32], range[80];
        format_value(a, sizeof a, type, lo);
        format_value(b, sizeof b, type, hi);
        format_value(d, sizeof d, type, def);
        snprintf(range, sizeof range, "[%s, %s]", a, b);
        const char *help = igd_option_help(key);
        printf("%-26s %-5s %-26s %-10s %s\n", igd_option_name(key),
               type == IGD_TYPE_INT ? "int" : "real", range, d, runtime ? "runtime" : "training");
        printf("    %s\n", help ? help : "");
    }
    printf("\nSet any of them with --set NAME=VALUE. \"runtime\" options may also be changed on a "
           "trained model\n(igd-detect, igd-heatmap, igd-eval); \"training\" options are fixed "
           "when the model is created.\n");
}
