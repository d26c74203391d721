#include "progress.h"

#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_format_duration(double seconds, char *buf, size_t size)
{
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    long s = lround(seconds);
    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lds", s);
}

static void end_line(void *user)
{
    progress_finish(user);
}

void progress_init(progress *p, FILE *out, bool quiet)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->tty = isatty(fileno(out)) != 0;
    p->interval = 5.0;
    cli_set_message_hook(end_line, p);
}

static int terminal_columns(FILE *out)
{
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

/* Shows the pending report and clears it. */
static void show_pending(progress *p)
{
    if (p->tty) {
        /* One line, rewritten in place (cut to the terminal's width so it never wraps). */
        int cols = terminal_columns(p->out) - 1;
        if ((int)strlen(p->pending) > cols)
            p->pending[cols] = '\0';
        fprintf(p->out, "\r%s\033[K", p->pending);
        p->line_open = true;
    } else {
        fprintf(p->out, "%s\n", p->pending);
    }
    p->pending[0] = '\0';
    fflush(p->out);
}

void progress_finish(progress *p)
{
    if (p->tty && p->pending[0])
        show_pending(p);
    if (p->line_open) {
        fputc('\n', p->out);
        fflush(p->out);
        p->line_open = false;
    }
}

/* The stage's record; a new one (first report) sets *fresh. */
static progress_stage *find_stage(progress *p, const char *name, double now, uint64_t done,
                                  uint64_t total, bool *fresh)
{
    *fresh = false;
    for (size_t i = 0; i < p->stage_count; i++) {
        progress_stage *s = &p->stages[i];
        if (strcmp(s->name, name) != 0)
            continue;
        /* Counting restarted (the next network), or the stage had finished (the next
         * E-step): time it afresh. */
        if (done < s->last || (s->total > 0 && s->last >= s->total))
            s->start = now;
        s->last = done;
        s->total = total;
        return s;
    }
    size_t i = p->stage_count < 8 ? p->stage_count++ : 7;
    progress_stage *s = &p->stages[i];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->start = now;
    s->last = done;
    s->total = total;
    *fresh = true;
    return s;
}

void progress_update(progress *p, const char *stage, uint64_t done, uint64_t total,
                     const char *detail)
{
    if (p->quiet)
        return;
    double now = progress_now();
    bool fresh;
    progress_stage *st = find_stage(p, stage, now, done, total, &fresh);
    bool last = total > 0 && done >= total;
    double share = total > 0 ? (double)done / (double)total : 0.0;
    double elapsed = now - st->start;
    double since = now - p->last_print;
    bool show = fresh || since >= (p->tty ? 0.1 : p->interval) ||
                (last && elapsed >= 1.0 && (p->tty || since >= 1.0));

    /* The ETA: from the share done, or, for training under a time limit, the time left when
     * that comes sooner (a limit often ends training long before its epochs). */
    bool limited =
        (strcmp(stage, "train") == 0 || strcmp(stage, "seg-train") == 0) && p->time_limit > 0;
    char eta[48] = "";
    if (!last && elapsed > 1.0 && (share > 0.002 || limited)) {
        double remaining = share > 0.002 ? elapsed * (1.0 - share) / share : HUGE_VAL;
        if (limited && p->time_limit - elapsed < remaining)
            remaining = p->time_limit - elapsed;
        char d[24];
        progress_format_duration(remaining, d, sizeof d);
        snprintf(eta, sizeof eta, "  ETA %s", d);
    } else if (last) {
        char d[24];
        progress_format_duration(elapsed, d, sizeof d);
        snprintf(eta, sizeof eta, "  took %s", d);
    }
    snprintf(p->pending, sizeof p->pending, "%-9s %5.1f%%  %llu/%llu%s%s%s", stage, 100.0 * share,
             (unsigned long long)done, (unsigned long long)total, detail ? "  " : "",
             detail ? detail : "", eta);
    if (show) {
        p->last_print = now;
        show_pending(p);
    }
}

static const char *stage_name(igd_stage stage)
{
    switch (stage) {
    case IGD_STAGE_ESTEP:
        return "E-step";
    case IGD_STAGE_TRAIN:
        return "train";
    case IGD_STAGE_CALIBRATE:
        return "calibrate";
    case IGD_STAGE_NORMALIZE:
        return "normalize";
    case IGD_STAGE_SEG:
        return "seg-train";
    }
    return "working";
}

void progress_model_callback(void *user, igd_stage stage, uint64_t done, uint64_t total,
                             const double *losses, size_t loss_count)
{
    progress *p = user;
    char detail[200];
    const char *d = NULL;
    if (stage == IGD_STAGE_SEG && losses && loss_count > IGD_LOSS_SEG) {
        snprintf(detail, sizeof detail, "focal loss %.5f", losses[IGD_LOSS_SEG]);
        d = detail;
    } else if (losses && loss_count > IGD_LOSS_CRITIC) {
        snprintf(detail, sizeof detail,
                 "loss %.4f (classifier %.4f, reconstruction %.4f, fooling %.4f, critic %.4f)",
                 losses[IGD_LOSS_TOTAL], losses[IGD_LOSS_CLASSIFIER],
                 losses[IGD_LOSS_RECONSTRUCTION], losses[IGD_LOSS_FOOLING],
                 losses[IGD_LOSS_CRITIC]);
        d = detail;
    } else if (losses && loss_count > 0) {
        snprintf(detail, sizeof detail, "loss %.4f", losses[IGD_LOSS_TOTAL]);
        d = detail;
    }
    progress_update(p, stage_name(stage), done, total, d);
}
