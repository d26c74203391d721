/* The options object: a value for every key of the option table. */
#ifndef API_OPTIONS_H
#define API_OPTIONS_H

#include <stdbool.h>

#include "core/error.h"
#include "igd/igd.h"

typedef union opt_value {
    int64_t i;
    double r;
} opt_value;

typedef struct opt_def {
    igd_option key;
    const char *name;
    igd_option_type type;
    double min, max, def;
    bool runtime;
    const char *const *enum_names; /* names of values 0.., NULL-terminated; or NULL */
    const char *help;
} opt_def;

enum { OPT_COUNT = 74 };

struct igd_options {
    opt_value v[OPT_COUNT];
    bool set[OPT_COUNT]; /* the value was set (not a default): what loading a model applies */
};

/* The definition of key, or NULL for an unknown key. */
const opt_def *opt_find(igd_option key);
/* The key at position index of the table (0 <= index < OPT_COUNT). */
igd_option opt_key_at(int index);
/* Position of key in the table (or -1). */
int opt_index(igd_option key);
void opt_defaults(igd_options *opts);
/* The value of key in opts, or its default when opts is NULL. */
int64_t opt_int(const igd_options *opts, igd_option key);
double opt_real(const igd_options *opts, igd_option key);
/* Checks and sets a value (type and bounds). */
igd_status opt_set_int(igd_options *opts, igd_option key, int64_t value, core_err *err);
igd_status opt_set_real(igd_options *opts, igd_option key, double value, core_err *err);
/* Sets an option by name (or number) from its text (an enumerated option also by value name). */
igd_status opt_parse(igd_options *opts, const char *name, const char *value, core_err *err);

#endif
