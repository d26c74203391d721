/* Named presets: documented bundles of option values to start from (igd_options_apply_preset).
 * Each is applied through the option table, so its values pass the same checks as a caller's. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/options.h"

typedef struct preset {
    const char *name, *help;
    const char *settings; /* "name=value" pairs separated by spaces */
} preset;

/* The library's defaults, which suit small centred grey images such as digits and clothing. */
static const char digits[] = "channels=1 nets=1 global_size=32 seg_width=0";

/* Textured surfaces (fabric, metal, wood, tiles) with small or thin defects: the segmentation
 * head at half resolution takes most of the training time and gives heatmaps and scores; a small
 * global IGD model still trains (its terms are available through the score weights). The
 * smoothing values were chosen on DAGM class 8 (docs/results.md, "Localisation"): the image term
 * is nearly the map's maximum, since defects can be a few pixels wide. */
static const char texture[] =
    "channels=1 nets=1 global_size=32 epochs=5 seg_width=16 seg_depth=3 seg_tile=64 "
    "seg_batch=16 seg_scale=0.5 seg_steps=5000 seg_time_share=0.9 seg_learning_rate=0.002 "
    "seg_synth=15 seg_smooth=0.5 seg_heatmap_weight=1 score_rec_weight=0 score_gauss_weight=0 "
    "heatmap_smooth=8";

/* Colour photographs of objects: as texture, in colour and at a quarter of the resolution, with
 * the global IGD model's classifier term kept in scores for anomalies of the whole object. */
static const char object[] =
    "channels=3 nets=1 global_size=64 epochs=5 seg_width=16 seg_depth=3 seg_tile=64 "
    "seg_batch=16 seg_scale=0.25 seg_steps=5000 seg_time_share=0.8 seg_learning_rate=0.002 "
    "seg_synth=15 seg_smooth=1 seg_heatmap_weight=1 score_rec_weight=0 score_gauss_weight=0.2 "
    "heatmap_smooth=8";

static const preset presets[] = {
    {"digits", "the defaults: small centred grey images (digits, clothing); a global IGD model",
     digits},
    {"texture",
     "textured surfaces with small or thin defects: grey, a segmentation head at half "
     "resolution trained on synthetic anomalies drives scores and heatmaps (experimental)",
     texture},
    {"object",
     "colour photographs of objects: colour, the head at a quarter of the resolution, plus the "
     "global IGD model's classifier term in scores (experimental)",
     object},
};

enum { PRESET_COUNT = sizeof presets / sizeof presets[0] };

size_t igd_preset_count(void)
{
    return PRESET_COUNT;
}

const char *igd_preset_name(size_t index)
{
    return index < PRESET_COUNT ? presets[index].name : NULL;
}

const char *igd_preset_help(size_t index)
{
    return index < PRESET_COUNT ? presets[index].help : NULL;
}

static igd_status apply(igd_options *o, const preset *p, core_err *err)
{
    igd_options copy = *o;
    for (const char *at = p->settings; *at;) {
        char name[64], value[64];
        const char *eq = strchr(at, '='), *end = strchr(at, ' ');
        if (!end)
            end = at + strlen(at);
        snprintf(name, sizeof name, "%.*s", (int)(eq - at), at);
        snprintf(value, sizeof value, "%.*s", (int)(end - eq - 1), eq + 1);
        CORE_TRY(opt_parse(&copy, name, value, err));
        at = *end ? end + 1 : end;
    }
    *o = copy;
    return IGD_OK;
}

igd_status igd_options_apply_preset(igd_options *options, const char *name)
{
    core_err err = {0};
    if (!options || !name)
        return core_report(
            NULL, &err,
            core_fail(&err, IGD_ERR_INVALID_ARGUMENT, "options and name must not be NULL"));
    for (size_t i = 0; i < PRESET_COUNT; i++)
        if (strcasecmp(presets[i].name, name) == 0)
            return core_report(NULL, &err, apply(options, &presets[i], &err));
    return core_report(NULL, &err,
                       core_fail(&err, IGD_ERR_NOT_FOUND,
                                 "no preset named '%s' (the presets: digits, texture, object)",
                                 name));
}
