#include "api/batch.h"

#include "core/alloc.h"

igd_status api_batch_views(api_views *views, const void *pixels, igd_pixel_type type, size_t count,
                           size_t height, size_t width, size_t channels, size_t row_stride,
                           size_t image_stride, core_err *err)
{
    CORE_TRY(io_batch_check(pixels, type, count, height, width, channels, row_stride, image_stride,
                            err));
    if (count > views->capacity) {
        io_view *items = core_malloc_array(count, sizeof *items);
        if (!items)
            return core_fail(err, IGD_ERR_OUT_OF_MEMORY, "allocating %zu image views", count);
        core_free(views->items);
        views->items = items;
        views->capacity = count;
    }
    for (size_t i = 0; i < count; i++)
        views->items[i] =
            io_batch_view(pixels, type, height, width, channels, row_stride, image_stride, i);
    return IGD_OK;
}

void api_views_free(api_views *views)
{
    core_free(views->items);
    views->items = NULL;
    views->capacity = 0;
}
