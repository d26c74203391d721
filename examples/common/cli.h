/* Command-line basics shared by the programs: exit codes, messages on stderr, number parsing,
 * --version, and the library/header agreement check. */
#ifndef EXAMPLES_CLI_H
#define EXAMPLES_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "igd/igd.h"

/* Exit codes of every program. */
enum {
    EXIT_OK = 0,
    EXIT_ERROR = 1,        /* missing file, unreadable image, corrupt model, failed write... */
    EXIT_USAGE = 2,        /* bad command line */
    EXIT_INTERRUPTED = 130 /* stopped by Ctrl-C (128 + SIGINT) */
};

/* The program name used as the prefix of every message (set once from main). */
void cli_set_program(const char *name);
const char *cli_program(void);

/* Called before every message below (NULL for none): a terminal progress line ends first. */
void cli_set_message_hook(void (*hook)(void *user), void *user);

/* "prog: message\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: message: <igd_last_error() or the status text>\n" on stderr. */
void cli_error_status(igd_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "prog: message" and "Try 'prog --help'." and returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict number parsing: the whole text must be a number within [min, max]. On failure prints a
 * usage message naming the option and returns false. */
bool cli_parse_double(const char *option, const char *text, double min, double max, double *out);
bool cli_parse_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out);

/* Prints the program, library and header versions to stdout. */
void cli_print_version(void);
/* Checks that the library at run time implements this header's ABI; prints a message and
 * returns false otherwise. */
bool cli_check_library(void);

#endif
