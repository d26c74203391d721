/* Progress reports on stderr. On a terminal: one line rewritten in place (stage, percent,
 * details, ETA), at most every 0.1 s; otherwise a plain line at most every few seconds. A stage's
 * first report is shown at once, and so is the last report of a run that took a second or more
 * (in plain lines, if a second has passed since the previous line). A stage's later runs (an
 * E-step between epochs) wait for their turn like any other report, so they cannot crowd out
 * the training's. progress_init also makes the cli_error family end an open terminal line
 * first. */
#ifndef EXAMPLES_PROGRESS_H
#define EXAMPLES_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "igd/igd.h"

typedef struct progress_stage {
    char name[32];
    double start;         /* when it was first reported (or restarted) */
    uint64_t last, total; /* the last report, to notice a restart (next epoch or network) */
} progress_stage;

typedef struct progress {
    FILE *out;
    bool tty;
    bool quiet;
    double interval;   /* seconds between plain lines */
    double time_limit; /* seconds the training stage may take (0 = none), caps its ETA */
    progress_stage stages[8];
    size_t stage_count;
    double last_print;
    bool line_open;    /* a terminal line waits for its newline */
    char pending[512]; /* the newest report not yet shown ("" if none); plain lines skip it */
} progress;

void progress_init(progress *p, FILE *out, bool quiet);
/* done of total in the named stage; detail (may be NULL) is appended. */
void progress_update(progress *p, const char *stage, uint64_t done, uint64_t total,
                     const char *detail);
/* On a terminal shows the newest report if it is pending, and ends an open line. */
void progress_finish(progress *p);
/* An igd_progress_fn for igd_model_set_progress; user is a progress *. */
void progress_model_callback(void *user, igd_stage stage, uint64_t done, uint64_t total,
                             const double *losses, size_t loss_count);
/* Seconds since an arbitrary start (monotonic). */
double progress_now(void);
/* "1h02m", "3m05s", "12s" */
void progress_format_duration(double seconds, char *buf, size_t size);

#endif
