/* Folder listings: the names of a folder's files or subfolders, sorted. */
#ifndef IO_DIR_H
#define IO_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

typedef struct io_names {
    char *pool;   /* the names, each NUL-terminated */
    size_t *offs; /* offs[i]: where name i starts in pool */
    size_t count;
} io_names;

typedef enum io_list_what { IO_LIST_FILES = 1, IO_LIST_DIRS = 2 } io_list_what;

/* The names of the regular files (or folders, without . and ..) in path for which keep (may be
 * NULL) returns true, sorted by strcmp. Follows symbolic links. IGD_ERR_NOT_FOUND when path does
 * not exist, IGD_ERR_IO when it cannot be read. */
igd_status io_list_dir(const char *path, io_list_what what, bool (*keep)(const char *name),
                       io_names *out, core_err *err);
void io_names_free(io_names *names);

static inline const char *io_name_at(const io_names *names, size_t i)
{
    return names->pool + names->offs[i];
}

/* Whether name ends in .png, .jpg or .jpeg (any case). */
bool io_is_image_name(const char *name);

#endif
