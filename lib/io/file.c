/* Whole-file reads and atomic file writes. */
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

igd_status io_open_regular(const char *path, FILE **out, uint64_t *file_size, core_err *err)
{
    *out = NULL;
    /* Non-blocking, so that opening a FIFO without a writer returns at once. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return io_fail_errno(err, errno, "opening", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return io_fail_errno(err, e, "examining", path);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 0) {
        close(fd);
        return core_fail(err, IGD_ERR_IO, "'%s' is not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = NULL;
    if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 || !(f = fdopen(fd, "rb"))) {
        int e = errno;
        close(fd);
        return io_fail_errno(err, e, "opening", path);
    }
    *out = f;
    *file_size = (uint64_t)sb.st_size;
    return IGD_OK;
}

igd_status io_read_file(const char *path, size_t max_size, unsigned char **data, size_t *size,
                        core_err *err)
{
    return io_read_file_checked(path, max_size, 0, NULL, NULL, data, size, err);
}

igd_status io_read_file_checked(const char *path, size_t max_size, size_t head_size,
                                io_head_fn check_fn, void *user, unsigned char **data, size_t *size,
                                core_err *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = NULL;
    uint64_t file_size = 0;
    CORE_TRY(io_open_regular(path, &f, &file_size, err));
    if (file_size > (uint64_t)max_size) {
        fclose(f);
        return core_fail(err, IGD_ERR_LIMIT, "'%s' is larger than %zu bytes", path, max_size);
    }
    size_t n = (size_t)file_size;
    if (check_fn) {
        unsigned char head[64];
        size_t want = head_size < sizeof head ? head_size : sizeof head;
        size_t got = fread(head, 1, want < n ? want : n, f);
        igd_status st = check_fn(head, got, file_size, user, err);
        if (st == IGD_OK && fseek(f, 0, SEEK_SET) != 0)
            st = io_fail_errno(err, errno, "reading", path);
        if (st != IGD_OK) {
            fclose(f);
            return st;
        }
    }
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

/* The temporary names of a save to path are "<path>.tmp-<pid>-<n>". With O_TMPFILE (Linux, most
 * local filesystems) the data is written to an unnamed file that gets its temporary name only
 * once complete, just before the rename; elsewhere the named file is created first. A process
 * killed while it holds such a name cannot remove it: the next save to the same path removes
 * every temporary file of that path whose writer process no longer exists. */
static bool temp_name_of(const char *name, const char *base, size_t base_len, long *pid)
{
    if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp-", 5) != 0)
        return false;
    const char *p = name + base_len + 5;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || *end != '-' || errno != 0 || v <= 0)
        return false;
    p = end + 1;
    strtoul(p, &end, 10);
    if (end == p || *end != '\0')
        return false;
    *pid = v;
    return true;
}

/* Removes the temporary files of saves to path left by processes that no longer exist (best
 * effort: errors are ignored). dir is path's folder, base its file name. */
static void remove_stale_temps(const char *dir, const char *base, char *scratch, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t base_len = strlen(base);
    long self = (long)getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        if (!temp_name_of(e->d_name, base, base_len, &pid) || pid == self)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to judge */
        size_t dl = strlen(dir), nl = strlen(e->d_name);
        if (dl + 1 + nl < cap) {
            memcpy(scratch, dir, dl);
            scratch[dl] = '/';
            memcpy(scratch + dl + 1, e->d_name, nl + 1);
            unlink(scratch);
        }
    }
    closedir(d);
}

/* Gives the unnamed file fd the name tmp (trying fresh names on a clash). */
static int link_temp(int fd, char *tmp, size_t cap, const char *path)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&temp_counter, 1));
        int rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
        if (rc != 0 && errno == ENOENT) /* no /proc: needs CAP_DAC_READ_SEARCH */
            rc = linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH);
        if (rc == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

igd_status io_write_atomic(const char *path, io_write_fn write_fn, void *user, core_err *err)
{
    size_t len = strlen(path);
    if (len == 0)
        return io_fail_errno(err, ENOENT, "saving", path);
    size_t cap = len + 64;
    if (cap < len)
        return core_fail(err, IGD_ERR_INVALID_ARGUMENT, "path is too long");
    /* One block: the temporary name, the folder's name, and scratch for stale names. */
    char *tmp = core_malloc_array(3, cap + 256);
    if (!tmp)
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating a file name");
    char *dir = tmp + cap + 256, *scratch = dir + cap + 256;
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    const char *base = slash ? slash + 1 : path;
    remove_stale_temps(dir, base, scratch, cap + 256);

    bool named = false;
    int fd = -1;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        igd_status st = io_fail_errno(err, errno, "creating a file next to", path);
        core_free(tmp);
        return st;
    }
#endif
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned n = atomic_fetch_add(&temp_counter, 1);
        snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), n);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
        named = fd >= 0;
    }
    if (fd < 0) {
        igd_status st = io_fail_errno(err, errno, "creating a file next to", path);
        core_free(tmp);
        return st;
    }
    /* A file replaced keeps its permissions (best effort; a link at path is replaced, not
     * followed). */
    struct stat old;
    if (lstat(path, &old) == 0 && S_ISREG(old.st_mode))
        (void)fchmod(fd, old.st_mode & 07777);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        igd_status st = io_fail_errno(err, errno, "opening a stream for", path);
        close(fd);
        if (named)
            unlink(tmp);
        core_free(tmp);
        return st;
    }
    igd_status st = write_fn(f, user, err);
    if (st == IGD_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        st = io_fail_errno(err, errno, "writing", path);
    if (st == IGD_OK && !named) {
        if (link_temp(fileno(f), tmp, cap, path) == 0)
            named = true;
        else
            st = io_fail_errno(err, errno, "naming the new file next to", path);
    }
    if (fclose(f) != 0 && st == IGD_OK)
        st = io_fail_errno(err, errno, "closing", path);
    if (st == IGD_OK && rename(tmp, path) != 0)
        st = io_fail_errno(err, errno, "renaming the new file to", path);
    if (st != IGD_OK && named)
        unlink(tmp);
    if (st == IGD_OK) {
        /* Make the rename itself durable (best effort). */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    core_free(tmp);
    return st;
}
