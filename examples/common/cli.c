#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *program = "igd";
static void (*message_hook)(void *user);
static void *message_user;

void cli_set_message_hook(void (*hook)(void *user), void *user)
{
    message_hook = hook;
    message_user = user;
}

static void before_message(void)
{
    if (message_hook)
        message_hook(message_user);
}

void cli_set_program(const char *name)
{
    const char *slash = strrchr(name, '/');
    program = slash ? slash + 1 : name;
}

const char *cli_program(void)
{
    return program;
}

void cli_error(const char *fmt, ...)
{
    before_message();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_error_status(igd_status status, const char *fmt, ...)
{
    /* Read the library's message before anything else can replace it. */
    const char *detail = igd_last_error();
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", detail && *detail ? detail : igd_status_string(status));
    before_message();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, ": %s\n", copy);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    before_message();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "Try '%s --help'.\n", program);
    return EXIT_USAGE;
}

bool cli_parse_double(const char *option, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_usage_error("%s: '%s' is not a number", option, text);
        return false;
    }
    if (v < min || v > max) {
        cli_usage_error("%s: %s is outside %g..%g", option, text, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE) {
        cli_usage_error("%s: '%s' is not an integer", option, text);
        return false;
    }
    if (v < min || v > max) {
        cli_usage_error("%s: %s is outside %lld..%lld", option, text, (long long)min,
                        (long long)max);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

void cli_print_version(void)
{
    printf("%s (libigd examples)\n", program);
    printf("library %s (ABI %u)\n", igd_version_string(), igd_abi_version());
    printf("header  %s (ABI %u)\n", IGD_VERSION_STRING, (unsigned)IGD_ABI_VERSION);
}

bool cli_check_library(void)
{
    if (IGD_CHECK_VERSION() != IGD_OK) {
        cli_error("the libigd library at run time (%s, ABI %u) does not match the header this "
                  "program was built with (%s, ABI %u)",
                  igd_version_string(), igd_abi_version(), IGD_VERSION_STRING,
                  (unsigned)IGD_ABI_VERSION);
        return false;
    }
    return true;
}
