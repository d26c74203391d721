/* MVTec AD folders: <root>/train/good, <root>/test/<kind>, <root>/ground_truth/<kind>. Class ids
 * index the sorted kind names of <root>/test (with "good" always among them), the same for both
 * splits, so samples of the two splits may be mixed (ds_contaminate). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "io/dataset.h"
#include "io/dir.h"
#include "io/file.h"

static const char good[] = "good";

static bool is_image(const char *name)
{
    return io_is_image_name(name);
}

/* The kind names: the folders of <root>/test plus "good", sorted, as an array into names. */
static igd_status list_kinds(ds_store *st, const char *root, size_t root_len, bool need_test,
                             core_err *err)
{
    const char *parts[2] = {root, "/test"};
    size_t lens[2] = {root_len, 5}, off;
    CORE_TRY(ds_store_add_string(st, parts, lens, 2, &off, err));
    io_names kinds = {0};
    igd_status st_list = io_list_dir(st->strings + off, IO_LIST_DIRS, NULL, &kinds, err);
    st->strings_used = off; /* the folder name was only needed for the listing */
    if (st_list == IGD_ERR_NOT_FOUND && !need_test) {
        const char *only[1] = {good};
        return ds_store_set_class_names(st, only, 1, err);
    }
    CORE_TRY(st_list);
    size_t count = kinds.count, good_at = count;
    for (size_t i = 0; i < kinds.count; i++)
        if (strcmp(io_name_at(&kinds, i), good) == 0)
            good_at = i;
    const char **names = core_malloc_array(count + 1, sizeof *names);
    if (!names) {
        io_names_free(&kinds);
        return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "listing the kinds of '%s'", root);
    }
    /* Merge "good" into the sorted list when its folder is missing. */
    size_t n = 0;
    bool placed = good_at < count;
    for (size_t i = 0; i < count; i++) {
        const char *k = io_name_at(&kinds, i);
        if (!placed && strcmp(good, k) < 0) {
            names[n++] = good;
            placed = true;
        }
        names[n++] = k;
    }
    if (!placed)
        names[n++] = good;
    igd_status status = ds_store_set_class_names(st, names, n, err);
    core_free(names);
    io_names_free(&kinds);
    return status;
}

static int class_of(const ds_store *st, const char *kind)
{
    for (size_t i = 0; i < st->class_count; i++)
        if (strcmp(st->strings + st->class_names[i], kind) == 0)
            return (int)i;
    return DS_NONE;
}

/* Adds every image of <root>/<split>/<kind>, with masks for anomalous kinds. */
static igd_status add_kind(ds_store *st, const char *root, size_t root_len, const char *split,
                           int class_id, bool need_folder, core_err *err)
{
    /* A copy: the pool that holds the name moves as it grows. */
    char kind[256];
    const char *name_in_pool = st->strings + st->class_names[class_id];
    size_t kind_len = strlen(name_in_pool), split_len = strlen(split), folder;
    if (kind_len >= sizeof kind)
        return core_fail(err, IGD_ERR_UNSUPPORTED, "a folder name in '%s' is too long", root);
    memcpy(kind, name_in_pool, kind_len + 1);
    const char *parts[6] = {root, "/", split, "/", kind, "/"};
    size_t lens[6] = {root_len, 1, split_len, 1, kind_len, 1};
    CORE_TRY(ds_store_add_string(st, parts, lens, 5, &folder, err));
    io_names files = {0};
    igd_status status = io_list_dir(st->strings + folder, IO_LIST_FILES, is_image, &files, err);
    st->strings_used = folder;
    if (status == IGD_ERR_NOT_FOUND && !need_folder)
        return IGD_OK;
    CORE_TRY(status);
    bool anomalous = strcmp(kind, good) != 0;
    for (size_t i = 0; i < files.count && status == IGD_OK; i++) {
        const char *name = io_name_at(&files, i);
        size_t name_len = strlen(name), path, mask = DS_NO_STRING;
        const char *path_parts[7] = {root, "/", split, "/", kind, "/", name};
        size_t path_lens[7] = {root_len, 1, split_len, 1, kind_len, 1, name_len};
        status = ds_store_add_string(st, path_parts, path_lens, 7, &path, err);
        if (status == IGD_OK && anomalous) {
            const char *dot = strrchr(name, '.');
            const char *mask_parts[6] = {root, "/ground_truth/", kind, "/", name, "_mask.png"};
            size_t mask_lens[6] = {root_len, 14, kind_len, 1, (size_t)(dot - name), 9};
            status = ds_store_add_string(st, mask_parts, mask_lens, 6, &mask, err);
        }
        if (status == IGD_OK)
            status = ds_store_add_record(st, path, mask, anomalous ? 1 : 0, class_id, err);
    }
    io_names_free(&files);
    return status;
}

static igd_status build(ds_store *st, const char *root, igd_split split, core_err *err)
{
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/')
        root_len--;
    struct stat sb;
    if (stat(root, &sb) != 0)
        return io_fail_errno(err, errno, "opening the MVTec AD folder", root);
    if (!S_ISDIR(sb.st_mode))
        return core_fail(err, IGD_ERR_NOT_FOUND, "'%s' is not a folder", root);
    CORE_TRY(list_kinds(st, root, root_len, split == IGD_SPLIT_TEST, err));
    if (split == IGD_SPLIT_TRAIN)
        return add_kind(st, root, root_len, "train", class_of(st, good), true, err);
    for (size_t i = 0; i < st->class_count; i++)
        CORE_TRY(add_kind(st, root, root_len, "test", (int)i, false, err));
    if (st->count == 0)
        return core_fail(err, IGD_ERR_NOT_FOUND, "no PNG or JPEG files in '%s/test'", root);
    return IGD_OK;
}

igd_status ds_open_mvtec(const char *root, igd_split split, igd_dataset **out, core_err *err)
{
    *out = NULL;
    ds_store *st;
    CORE_TRY(ds_store_new(DS_FILES, &st, err));
    igd_status status = build(st, root, split, err);
    if (status != IGD_OK) {
        ds_store_release(st);
        return status;
    }
    return ds_from_store(st, out, err);
}
