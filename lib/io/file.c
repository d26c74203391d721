/* Whole-file reads and atomic file writes. */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"

static const char *errno_text(int errnum, char *buf, size_t size)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(errnum, buf, size);
#else
    if (strerror_r(errnum, buf, size) != 0)
        snprintf(buf, size, "error %d", errnum);
    return buf;
#endif
}

igd_status io_fail_errno(core_err *err, int errnum, const char *action, const char *path)
{
    char buf[128];
    igd_status st = (errnum == ENOENT || errnum == ENOTDIR) ? IGD_ERR_NOT_FOUND : IGD_ERR_IO;
    return core_fail(err, st, "%s '%s': %s", action, path, errno_text(errnum, buf, sizeof buf));
}

igd_status io_read_file(const char *path, size_t max_size, unsigned char **data, size_t *size,
                        core_err *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_fail_errno(err, errno, "opening", path);
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int e = errno;
        fclose(f);
        return io_fail_errno(err, e, "examining", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        fclose(f);
        return core_fail(err, IGD_ERR_IO, "'%s' is not a regular file", path);
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > (uintmax_t)max_size) {
        fclose(f);
        return core_fail(err, IGD_ERR_LIMIT, "'%s' is larger than %zu bytes", path, max_size);
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *buf = core_malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu bytes for '%s'", n, path);
    }
    size_t got = fread(buf, 1, n, f);
    int read_error = ferror(f);
    int e = errno;
    fclose(f);
    if (got != n) {
        core_free(buf);
        if (read_error)
            return io_fail_errno(err, e, "reading", path);
        return core_fail(err, IGD_ERR_IO, "'%s' became shorter while it was read", path);
    }
    *data = buf;
    *size = n;
    return IGD_OK;
}

/* Distinguishes the temporary files of concurrent writers in one process. */
static atomic_uint temp_counter;

igd_status io_write_atomic(const char *path, io_write_fn write_fn, void *user, core_err *err)
{
    size_t len = strlen(path);
    size_t cap = len + 64;
    if (cap < len)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "path is too long");
    char *tmp = core_malloc(cap);
    if (!tmp)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a file name");
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned n = atomic_fetch_add(&temp_counter, 1);
        snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), n);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        igd_status st = io_fail_errno(err, errno, "creating a file next to", path);
        core_free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        igd_status st = io_fail_errno(err, errno, "opening a stream for", path);
        close(fd);
        unlink(tmp);
        core_free(tmp);
        return st;
    }
    igd_status st = write_fn(f, user, err);
    if (st == IGD_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st = io_fail_errno(err, errno, "writing", path);
    if (fclose(f) != 0 && st == IGD_OK)
        st = io_fail_errno(err, errno, "closing", path);
    if (st == IGD_OK && rename(tmp, path) != 0)
        st = io_fail_errno(err, errno, "renaming the new file to", path);
    if (st != IGD_OK)
        unlink(tmp);
    core_free(tmp);
    return st;
}
