/* Folder listings. */
#include "io/dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/checked.h"
#include "io/file.h"

void io_names_free(io_names *names)
{
    if (!names)
        return;
    core_free(names->pool);
    core_free(names->offs);
    names->pool = NULL;
    names->offs = NULL;
    names->count = 0;
}

bool io_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return false;
    return strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
           strcasecmp(dot, ".jpeg") == 0;
}

/* qsort has no context argument: sort offsets through a pointer set just before. */
static _Thread_local const char *sort_pool;

static int by_name(const void *a, const void *b)
{
    return strcmp(sort_pool + *(const size_t *)a, sort_pool + *(const size_t *)b);
}

igd_status io_list_dir(const char *path, io_list_what what, bool (*keep)(const char *name),
                       io_names *out, core_err *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(path);
    if (!d)
        return io_fail_errno(err, errno, "opening the folder", path);
    size_t used = 0, cap = 0, count = 0, offs_cap = 0;
    igd_status st = IGD_OK;
    struct dirent *e;
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (!e) {
            if (errno != 0)
                st = io_fail_errno(err, errno, "reading the folder", path);
            break;
        }
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), name, &sb, 0) != 0)
            continue; /* a dangling link or an entry that vanished */
        if (what == IO_LIST_FILES ? !S_ISREG(sb.st_mode) : !S_ISDIR(sb.st_mode))
            continue;
        if (keep && !keep(name))
            continue;
        size_t len = strlen(name) + 1;
        if (used + len > cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            while (ncap < used + len)
                ncap *= 2;
            char *p = core_realloc(out->pool, ncap);
            if (!p) {
                st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "listing '%s'", path);
                break;
            }
            out->pool = p;
            cap = ncap;
        }
        if (count == offs_cap) {
            size_t ncap = offs_cap ? offs_cap * 2 : 64, bytes;
            size_t *p =
                core_mul_size(ncap, sizeof *p, &bytes) ? core_realloc(out->offs, bytes) : NULL;
            if (!p) {
                st = core_fail(err, IGD_ERR_OUT_OF_MEMORY, "listing '%s'", path);
                break;
            }
            out->offs = p;
            offs_cap = ncap;
        }
        memcpy(out->pool + used, name, len);
        out->offs[count++] = used;
        used += len;
    }
    closedir(d);
    out->count = count;
    if (st != IGD_OK) {
        io_names_free(out);
        return st;
    }
    if (count > 1) {
        sort_pool = out->pool;
        qsort(out->offs, count, sizeof *out->offs, by_name);
        sort_pool = NULL;
    }
    return IGD_OK;
}
