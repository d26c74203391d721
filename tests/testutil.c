#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long fail_after = -1;
static long live;
static long made;

/* Each block carries its size so that realloc can track it. */
static void *tu_malloc(void *user, size_t size)
{
    (void)user;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    void *p = malloc(size);
    if (p) {
        live++;
        made++;
    }
    return p;
}

static void *tu_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    void *p = realloc(ptr, size);
    if (p && !ptr) {
        live++;
        made++;
    }
    return p;
}

static void tu_free(void *user, void *ptr)
{
    (void)user;
    if (ptr)
        live--;
    free(ptr);
}

void tu_alloc_install(void)
{
    ck_assert_int_eq(igd_set_allocator(tu_malloc, tu_realloc, tu_free, NULL), IGD_OK);
}

void tu_fail_after(long n)
{
    fail_after = n;
}

void tu_fail_reset(void)
{
    fail_after = -1;
}

long tu_live_allocations(void)
{
    return live;
}

long tu_allocations_made(void)
{
    return made;
}

char *tu_tempdir(void)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/igd-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(path));
    return path;
}

void tu_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmtree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

unsigned char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *size = (size_t)n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, size, f);
    return fclose(f) == 0 && w == size ? 0 : -1;
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(*state >> 11) * 0x1.0p-53;
        x[i] = lo + (float)u * (hi - lo);
    }
}
