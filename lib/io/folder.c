/* A plain folder of PNG and JPEG files, sorted by name, not recursive, one label for all. */
#include <string.h>

#include "io/dataset.h"
#include "io/dir.h"

static bool is_image(const char *name)
{
    return io_is_image_name(name);
}

igd_status ds_open_folder(const char *path, int label, igd_dataset **out, core_err *err)
{
    *out = NULL;
    io_names files = {0};
    CORE_TRY(io_list_dir(path, IO_LIST_FILES, is_image, &files, err));
    if (files.count == 0) {
        io_names_free(&files);
        return core_fail(err, IGD_ERR_NOT_FOUND, "no PNG or JPEG files in '%s'", path);
    }
    ds_store *st;
    igd_status status = ds_store_new(DS_FILES, &st, err);
    size_t path_len = strlen(path);
    while (path_len > 1 && path[path_len - 1] == '/')
        path_len--;
    for (size_t i = 0; i < files.count && status == IGD_OK; i++) {
        const char *name = io_name_at(&files, i);
        const char *parts[3] = {path, "/", name};
        size_t lens[3] = {path_len, 1, strlen(name)}, off;
        status = ds_store_add_string(st, parts, lens, 3, &off, err);
        if (status == IGD_OK)
            status = ds_store_add_record(st, off, DS_NO_STRING, label, DS_NONE, err);
    }
    io_names_free(&files);
    if (status != IGD_OK) {
        ds_store_release(st);
        return status;
    }
    return ds_from_store(st, out, err);
}
