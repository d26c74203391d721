/* Saving under I/O failures and crashes. The test program is linked with -Wl,--wrap for open
 * (open64), fwrite, fflush, fsync, fclose, linkat and rename, so that the library's calls go
 * through the
 * __wrap_ functions below, which fail on demand (this works as root too, where a read-only folder
 * would not fail). Then: a writer process SIGKILLed at random points while saving two models in
 * turn to one path leaves exactly the old or the new file, and the next save removes what it
 * left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rel.h"

/* ---- fault injection ---- */

static const char *fault_op; /* the function to fail, or NULL */
static int fault_errno;
static int fault_skip; /* calls to let through first */
static int fault_hits; /* failures injected */
static bool tmpfile_unsupported;

static bool fault(const char *op)
{
    if (!fault_op || strcmp(fault_op, op) != 0)
        return false;
    if (fault_skip > 0) {
        fault_skip--;
        return false;
    }
    fault_hits++;
    errno = fault_errno;
    return true;
}

/* With _FILE_OFFSET_BITS=64 glibc's open is open64; both are wrapped. */
int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);

static int fake_open(const char *path, int flags, mode_t mode, bool is64)
{
#ifdef O_TMPFILE
    if (tmpfile_unsupported && (flags & O_TMPFILE) == O_TMPFILE) {
        errno = EOPNOTSUPP;
        return -1;
    }
#endif
    if ((flags & O_ACCMODE) != O_RDONLY && fault("open"))
        return -1;
    return is64 ? __real_open64(path, flags, mode) : __real_open(path, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return fake_open(path, flags, mode, false);
}

int __wrap_open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return fake_open(path, flags, mode, true);
}

size_t __real_fwrite(const void *p, size_t size, size_t n, FILE *f);
size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    if (fault("fwrite")) {
        /* A short write: half the items reach the file. */
        size_t half = __real_fwrite(p, size, n / 2, f);
        errno = fault_errno;
        return half;
    }
    return __real_fwrite(p, size, n, f);
}

int __real_fflush(FILE *f);
int __wrap_fflush(FILE *f)
{
    return fault("fflush") ? EOF : __real_fflush(f);
}

int __real_fsync(int fd);
int __wrap_fsync(int fd)
{
    return fault("fsync") ? -1 : __real_fsync(fd);
}

int __real_fclose(FILE *f);
int __wrap_fclose(FILE *f)
{
    /* fclose releases the stream even when it fails. */
    int rc = __real_fclose(f);
    return fault("fclose") ? EOF : rc;
}

int __real_linkat(int fd1, const char *p1, int fd2, const char *p2, int flags);
int __wrap_linkat(int fd1, const char *p1, int fd2, const char *p2, int flags)
{
    return fault("linkat") ? -1 : __real_linkat(fd1, p1, fd2, p2, flags);
}

int __real_rename(const char *from, const char *to);
int __wrap_rename(const char *from, const char *to)
{
    return fault("rename") ? -1 : __real_rename(from, to);
}

static void arm(const char *op, int err, int skip)
{
    fault_op = op;
    fault_errno = err;
    fault_skip = skip;
    fault_hits = 0;
}

static void disarm(void)
{
    fault_op = NULL;
}

/* ---- helpers ---- */

static char folder[256], path[512];

static void make_folder(void)
{
    snprintf(folder, sizeof folder, "/tmp/igd-rel-save-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(folder));
    snprintf(path, sizeof path, "%s/model.igd", folder);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void remove_folder(void)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", folder, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(folder);
}

static unsigned char *read_all(const char *p, size_t *size)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static bool file_equals(const char *p, const unsigned char *bytes, size_t size)
{
    size_t n;
    unsigned char *got = read_all(p, &n);
    bool eq = got && n == size && memcmp(got, bytes, size) == 0;
    free(got);
    return eq;
}

typedef struct models {
    igd_model *a, *b;
    unsigned char *a_bytes, *b_bytes;
    size_t a_size, b_size;
} models;

static void make_models(models *m)
{
    m->a = rel_tiny_model(NULL, 0);
    m->b = rel_tiny_model(NULL, 2);
    m->a_bytes = rel_save(m->a, IGD_SAVE_OPTIMIZER, &m->a_size);
    m->b_bytes = rel_save(m->b, IGD_SAVE_OPTIMIZER, &m->b_size);
    ck_assert(m->a_size != m->b_size || memcmp(m->a_bytes, m->b_bytes, m->a_size) != 0);
}

static void free_models(models *m)
{
    igd_model_free(m->a);
    igd_model_free(m->b);
    free(m->a_bytes);
    free(m->b_bytes);
}

/* ---- injected failures ---- */

static const struct {
    const char *op;
    int err;
} faults[] = {
    {"open", ENOSPC},   {"open", EACCES}, {"fwrite", ENOSPC}, {"fflush", EIO}, {"fsync", EIO},
    {"linkat", ENOSPC}, {"fclose", EIO},  {"rename", EXDEV},  {"rename", EIO},
};
enum { NFAULTS = sizeof faults / sizeof faults[0] };

/* _i: fault index; the second half of the loop runs without O_TMPFILE (the named fallback). */
START_TEST(test_injected_failure)
{
    int k = _i % NFAULTS;
    tmpfile_unsupported = _i >= NFAULTS;
    if (tmpfile_unsupported && strcmp(faults[k].op, "linkat") == 0)
        return; /* the named fallback does not link */
    models m;
    make_models(&m);
    make_folder();
    ck_assert_igd_ok(igd_model_save(m.a, path, IGD_SAVE_OPTIMIZER));
    arm(faults[k].op, faults[k].err, 0);
    igd_status st = igd_model_save(m.b, path, IGD_SAVE_OPTIMIZER);
    disarm();
    ck_assert_msg(fault_hits > 0, "%s was never called", faults[k].op);
    ck_assert_msg(st == IGD_ERR_IO, "%s failing: %s (%s)", faults[k].op, igd_status_string(st),
                  igd_last_error());
    ck_assert_str_ne(igd_last_error(), "");
    ck_assert_msg(file_equals(path, m.a_bytes, m.a_size), "%s failing changed the old file",
                  faults[k].op);
    ck_assert_int_eq(count_entries(folder), 1);
    /* The model is still usable: the next save succeeds. */
    ck_assert_igd_ok(igd_model_save(m.b, path, IGD_SAVE_OPTIMIZER));
    ck_assert(file_equals(path, m.b_bytes, m.b_size));
    ck_assert_int_eq(count_entries(folder), 1);
    /* A failing first save leaves no file at all. */
    unlink(path);
    arm(faults[k].op, faults[k].err, 0);
    st = igd_model_save(m.a, path, IGD_SAVE_OPTIMIZER);
    disarm();
    ck_assert_int_eq(st, IGD_ERR_IO);
    ck_assert_int_eq(count_entries(folder), 0);
    remove_folder();
    free_models(&m);
}
END_TEST

START_TEST(test_png_save_failure)
{
    unsigned char *px = rel_images(1, 8, 8, 1, 1);
    igd_image *img;
    ck_assert_igd_ok(igd_image_from_pixels(px, IGD_PIXEL_U8, 8, 8, 1, 0, &img));
    make_folder();
    snprintf(path, sizeof path, "%s/a.png", folder);
    arm("fwrite", ENOSPC, 0);
    igd_status st = igd_image_save_png(img, path);
    disarm();
    ck_assert_int_eq(st, IGD_ERR_IO);
    ck_assert_int_eq(count_entries(folder), 0);
    ck_assert_igd_ok(igd_image_save_png(img, path));
    ck_assert_int_eq(count_entries(folder), 1);
    igd_image_free(img);
    free(px);
    remove_folder();
}
END_TEST

START_TEST(test_bad_paths)
{
    igd_model *m = rel_tiny_model(NULL, 0);
    make_folder();
    char p[600];
    snprintf(p, sizeof p, "%s/missing/model.igd", folder);
    ck_assert_int_eq(igd_model_save(m, p, 0), IGD_ERR_NOT_FOUND);
    /* A folder where the file should go: the rename fails, nothing is left. */
    snprintf(p, sizeof p, "%s/dir", folder);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    ck_assert_int_eq(igd_model_save(m, p, 0), IGD_ERR_IO);
    ck_assert_int_eq(count_entries(folder), 1);
    rmdir(p);
    /* A path through a regular file. */
    snprintf(p, sizeof p, "%s/file", folder);
    FILE *f = fopen(p, "w");
    fclose(f);
    snprintf(p, sizeof p, "%s/file/model.igd", folder);
    ck_assert_int_eq(igd_model_save(m, p, 0), IGD_ERR_NOT_FOUND);
    ck_assert_int_eq(igd_model_save(m, "", 0), IGD_ERR_NOT_FOUND);
    igd_model_free(m);
    remove_folder();
}
END_TEST

/* A pid that no longer exists: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

static void touch(const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", folder, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("partial", f);
    fclose(f);
}

static bool exists(const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", folder, name);
    return access(p, F_OK) == 0;
}

START_TEST(test_stale_temporaries_removed)
{
    tmpfile_unsupported = _i;
    igd_model *m = rel_tiny_model(NULL, 0);
    make_folder();
    char dead[64], mine[64], alive[64], other[64], odd[64];
    snprintf(dead, sizeof dead, "model.igd.tmp-%ld-7", (long)dead_pid());
    snprintf(mine, sizeof mine, "model.igd.tmp-%ld-99999", (long)getpid());
    snprintf(alive, sizeof alive, "model.igd.tmp-%ld-3", (long)getppid());
    snprintf(other, sizeof other, "other.igd.tmp-%ld-1", (long)dead_pid());
    snprintf(odd, sizeof odd, "model.igd.tmp-x-1");
    touch(dead);
    touch(mine);
    touch(alive);
    touch(other);
    touch(odd);
    ck_assert_igd_ok(igd_model_save(m, path, 0));
    ck_assert(!exists(dead));
    ck_assert(exists(mine) && exists(alive) && exists(other) && exists(odd));
    ck_assert(exists("model.igd"));
    igd_model_free(m);
    remove_folder();
}
END_TEST

/* ---- crashes ---- */

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

START_TEST(test_killed_while_saving)
{
    tmpfile_unsupported = _i;
    models m;
    make_models(&m);
    make_folder();
    ck_assert_igd_ok(igd_model_save(m.a, path, IGD_SAVE_OPTIMIZER));
    /* How long one save takes, to spread the kills over a few saves. */
    long t0 = now_ns();
    for (int i = 0; i < 10; i++)
        ck_assert_igd_ok(igd_model_save(i & 1 ? m.a : m.b, path, IGD_SAVE_OPTIMIZER));
    long per_save = (now_ns() - t0) / 10;
    ck_assert_igd_ok(igd_model_save(m.a, path, IGD_SAVE_OPTIMIZER));
    uint32_t seed = 4242u + (uint32_t)_i;
    int leftovers = 0, as_a = 0, as_b = 0;
    for (int round = 0; round < 40; round++) {
        int ready[2];
        ck_assert_int_eq(pipe(ready), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(ready[0]);
            for (unsigned i = 0;; i++) {
                if (igd_model_save(i & 1 ? m.a : m.b, path, IGD_SAVE_OPTIMIZER) != IGD_OK)
                    _exit(3);
                if (i == 0 && write(ready[1], "r", 1) != 1)
                    _exit(4);
            }
        }
        /* Kill only after the first save (of b) is complete: then both outcomes occur. */
        close(ready[1]);
        char byte;
        ck_assert_int_eq(read(ready[0], &byte, 1), 1);
        close(ready[0]);
        seed = seed * 1664525u + 1013904223u;
        long wait = (long)(seed >> 8) % (4 * per_save + 1);
        struct timespec ts = {wait / 1000000000L, wait % 1000000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status), "the saving child stopped by itself (%d)", status);
        /* The file is exactly one of the two models, never a mixture or a partial file. */
        bool is_a = file_equals(path, m.a_bytes, m.a_size);
        bool is_b = file_equals(path, m.b_bytes, m.b_size);
        ck_assert_msg(is_a || is_b, "round %d: the file is neither model", round);
        as_a += is_a;
        as_b += is_b;
        leftovers += count_entries(folder) - 1;
        /* The next save cleans up whatever the killed writer left. */
        ck_assert_igd_ok(igd_model_save(m.a, path, IGD_SAVE_OPTIMIZER));
        ck_assert_int_eq(count_entries(folder), 1);
        igd_model *back;
        ck_assert_igd_ok(igd_model_load(path, NULL, &back));
        igd_model_free(back);
    }
    /* The kills landed at different points of the loop. */
    ck_assert_int_gt(as_a, 0);
    ck_assert_int_gt(as_b, 0);
    /* Named writers leave temporary files when killed mid-write; unnamed ones (O_TMPFILE)
     * almost never do. */
    if (_i)
        ck_assert_int_gt(leftovers, 0);
    remove_folder();
    free_models(&m);
}
END_TEST

Suite *make_save_failures_suite(void)
{
    Suite *s = suite_create("save_failures");
    TCase *tc = tcase_create("save");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_injected_failure, 0, 2 * NFAULTS);
    tcase_add_test(tc, test_png_save_failure);
    tcase_add_test(tc, test_bad_paths);
    tcase_add_loop_test(tc, test_stale_temporaries_removed, 0, 2);
    tcase_add_loop_test(tc, test_killed_while_saving, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
