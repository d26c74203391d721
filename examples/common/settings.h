/* Model options given on the command line: --set name=value (any option, by name, through
 * igd_options_parse), the programs' shortcuts (--seed, --threads, ...), and --list-options. */
#ifndef EXAMPLES_SETTINGS_H
#define EXAMPLES_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "igd/igd.h"

typedef struct settings {
    igd_options *options;  /* every option, the given ones set */
    igd_option given[128]; /* the keys given, in order, each once */
    size_t given_count;
} settings;

/* Creates the options object; prints a message and returns false on failure. */
bool settings_init(settings *s);
void settings_free(settings *s);

/* Applies "name=value"; prints a usage message and returns false if it is malformed, names no
 * option or the value is out of range. */
bool settings_set(settings *s, const char *assignment);
/* Applies one option from separate name and value (the programs' shortcuts). */
bool settings_set_named(settings *s, const char *name, const char *value);

/* Applies a named preset (igd_options_apply_preset) under the options given so far and after:
 * options given on the command line win wherever --preset stands. Prints a message and returns
 * false on failure. */
bool settings_apply_preset(settings *s, const char *name);

/* Applies the given options to a loaded model. Only [runtime] options can change there; the
 * image-size limits are decoding limits and are used by the programs when they load images.
 * Any other option is a usage error (returns EXIT_USAGE), a failure EXIT_ERROR, else 0. */
int settings_apply_runtime(const settings *s, igd_model *model);

/* Prints every option: name, type, bounds, default, [runtime], help. */
void settings_print_list(void);

#endif
