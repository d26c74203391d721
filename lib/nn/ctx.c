#include "nn/ctx.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"

igd_status nn_check(dnnl_status_t status, core_err *err, const char *what)
{
    switch (status) {
    case dnnl_success:
        return IGD_OK;
    case dnnl_out_of_memory:
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "oneDNN ran out of memory (%s)", what);
    case dnnl_unimplemented:
        return core_fail(err, IGD_ERR_BACKEND, "oneDNN has no implementation for %s", what);
    default:
        return core_fail(err, IGD_ERR_BACKEND, "oneDNN failed with status %d (%s)", (int)status,
                         what);
    }
}

igd_status nn_ctx_init(nn_ctx *ctx, core_err *err)
{
    ctx->engine = NULL;
    ctx->stream = NULL;
    ctx->wino_train = ctx->wino_infer = false;
    ctx->scratch = NULL;
    ctx->scratch_size = 0;
    igd_status st = nn_check(dnnl_engine_create(&ctx->engine, dnnl_cpu, 0), err, "CPU engine");
    if (st == IGD_OK)
        st = nn_check(dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_in_order), err,
                      "stream");
    if (st != IGD_OK)
        nn_ctx_fini(ctx);
    return st;
}

void nn_ctx_fini(nn_ctx *ctx)
{
    if (ctx->stream)
        dnnl_stream_destroy(ctx->stream);
    if (ctx->engine)
        dnnl_engine_destroy(ctx->engine);
    core_free_aligned(ctx->scratch);
    ctx->stream = NULL;
    ctx->engine = NULL;
    ctx->scratch = NULL;
    ctx->scratch_size = 0;
}

igd_status nn_ctx_reserve_scratch(nn_ctx *ctx, size_t size, core_err *err)
{
    if (size <= ctx->scratch_size)
        return IGD_OK;
    void *p = core_malloc_aligned(size);
    if (!p)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a %zu-byte scratchpad", size);
    core_free_aligned(ctx->scratch);
    ctx->scratch = p;
    ctx->scratch_size = size;
    return IGD_OK;
}

/* The caller's thread counts, innermost last: a public call made from a callback of another (a log
 * or progress function) nests. Deeper nesting than this is not saved and not restored. */
enum { SAVED_DEPTH = 16 };
static _Thread_local int saved_threads[SAVED_DEPTH];
static _Thread_local int saved_depth;

/* threads = 0: how busy the allowed CPUs are with other processes, sampled at most every
 * SAMPLE_PERIOD seconds for the whole process. */
#define SAMPLE_PERIOD 0.1
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool have;               /* a previous sample */
    double wall, own;        /* seconds: monotonic clock, this process's CPU time */
    unsigned long long busy; /* ticks the allowed CPUs were not idle, all processes */
    int threads;             /* the count chosen from it */
} load;

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* From /proc/stat: the non-idle ticks of the CPUs in `allowed` (time stolen by a hypervisor
 * counts as busy) and the number of runnable threads now. false when it cannot be read. */
static bool read_stat(const cpu_set_t *allowed, unsigned long long *busy, int *running)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return false;
    char line[256];
    bool at_start = true, found = false;
    *busy = 0;
    *running = -1;
    while (fgets(line, sizeof line, f)) {
        bool start = at_start;
        at_start = strchr(line, '\n') != NULL; /* long lines arrive in pieces */
        if (!start)
            continue;
        unsigned long long v[8] = {0};
        int cpu;
        if (!strncmp(line, "cpu", 3) && line[3] >= '0' && line[3] <= '9') {
            if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
                       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) >= 5 &&
                cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, allowed)) {
                /* user nice system idle iowait irq softirq steal */
                *busy += v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
                found = true;
            }
        } else if (!strncmp(line, "procs_running ", 14)) {
            *running = (int)strtol(line + 14, NULL, 10);
        }
    }
    fclose(f);
    return found && *running >= 0;
}

/* The CPUs this process may use, less those other processes keep busy (at least 1). Busy means
 * used more than a quarter of the time since the previous sample; the first sample counts the
 * threads runnable at that moment besides the calling one. Without /proc, all of them. */
static int auto_threads(void)
{
    int cpus = omp_get_num_procs();
    pthread_mutex_lock(&load_lock);
    double wall = clock_seconds(CLOCK_MONOTONIC);
    if (load.have && wall - load.wall < SAMPLE_PERIOD) {
        int t = load.threads;
        pthread_mutex_unlock(&load_lock);
        return t;
    }
    cpu_set_t allowed;
    unsigned long long busy = 0;
    int running = 0, threads = cpus;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 &&
        read_stat(&allowed, &busy, &running)) {
        double own = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), others;
        if (load.have && busy >= load.busy)
            others =
                ((double)(busy - load.busy) / (double)sysconf(_SC_CLK_TCK) - (own - load.own)) /
                (wall - load.wall);
        else
            others = running - 1;
        int n = CPU_COUNT(&allowed);
        threads = n - (int)floor(others + 0.75);
        threads = threads < 1 ? 1 : threads > n ? n : threads;
        load.have = true;
        load.wall = wall;
        load.own = own;
        load.busy = busy;
    }
    load.threads = threads;
    pthread_mutex_unlock(&load_lock);
    return threads;
}

void nn_threads_enter(int threads)
{
    int now = omp_get_max_threads();
    if (saved_depth < SAVED_DEPTH)
        saved_threads[saved_depth] = now;
    saved_depth++;
    int want = threads > 0 ? threads : auto_threads();
    if (want != now)
        omp_set_num_threads(want);
}

void nn_threads_leave(void)
{
    if (saved_depth == 0)
        return;
    saved_depth--;
    if (saved_depth < SAVED_DEPTH && omp_get_max_threads() != saved_threads[saved_depth])
        omp_set_num_threads(saved_threads[saved_depth]);
}

int nn_max_threads(void)
{
    return omp_get_max_threads();
}
