#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

bool files_make_dirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        cli_error("cannot create folder '%s': bad name", path);
        return false;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            cli_error("cannot create folder '%s': %s", buf, strerror(errno));
            return false;
        }
        buf[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error("'%s' is not a folder", path);
        return false;
    }
    return true;
}

bool files_join(char *buf, size_t size, const char *a, const char *b)
{
    size_t la = strlen(a);
    bool slash = la > 0 && a[la - 1] == '/';
    int n = snprintf(buf, size, "%s%s%s", a, slash ? "" : "/", b);
    if (n < 0 || (size_t)n >= size) {
        cli_error("the path '%s/%s' is too long", a, b);
        return false;
    }
    return true;
}

void files_stem(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    snprintf(buf, size, "%s", name);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf)
        *dot = '\0';
    if (buf[0] == '\0')
        snprintf(buf, size, "image");
}

void files_sanitize(char *name)
{
    for (char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c >= 0x80;
        if (!ok)
            *p = '_';
    }
}

bool files_parent_writable(const char *path)
{
    struct stat sb;
    if (!*path || path[strlen(path) - 1] == '/') {
        cli_error("cannot write '%s': it names no file", path);
        return false;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        cli_error("cannot write '%s': it is a folder", path);
        return false;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error("cannot write '%s': the folder '%s' does not exist", path, dir);
        return false;
    }
    if (access(dir, W_OK) != 0) {
        cli_error("cannot write '%s': the folder '%s' is not writable", path, dir);
        return false;
    }
    return true;
}
