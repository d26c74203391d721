/* Library-wide API: status strings, the thread's last error, versions, process settings. */
#include "core/alloc.h"
#include "core/error.h"
#include "igd/igd.h"

const char *igd_status_string(igd_status status)
{
    switch (status) {
    case IGD_OK:
        return "success";
    case IGD_ERR_INVALID_ARGUMENT:
        return "invalid argument";
    case IGD_ERR_OUT_OF_MEMORY:
        return "out of memory";
    case IGD_ERR_IO:
        return "input/output error";
    case IGD_ERR_CORRUPT:
        return "corrupt or malformed data";
    case IGD_ERR_UNSUPPORTED:
        return "unsupported format or version";
    case IGD_ERR_LIMIT:
        return "larger than the configured limit";
    case IGD_ERR_ABORTED:
        return "aborted by the caller";
    case IGD_ERR_STATE:
        return "not valid in the current state";
    case IGD_ERR_BACKEND:
        return "compute backend failure";
    case IGD_ERR_VERSION:
        return "header and library versions disagree";
    case IGD_ERR_NOT_FOUND:
        return "not found";
    case IGD_ERR_INTERNAL:
        return "internal error";
    case IGD_ERR_NUMERIC:
        return "a result is not a finite number";
    }
    return "unknown status";
}

const char *igd_last_error(void)
{
    return core_thread_error();
}

unsigned igd_version_number(void)
{
    return IGD_VERSION_NUMBER;
}

const char *igd_version_string(void)
{
    return IGD_VERSION_STRING;
}

unsigned igd_abi_version(void)
{
    return IGD_ABI_VERSION;
}

igd_status igd_check_version(unsigned header_abi_version)
{
    core_err err = {0};
    if (header_abi_version != IGD_ABI_VERSION)
        return core_report(NULL, &err,
                           core_fail(&err, IGD_ERR_VERSION,
                                     "the header describes ABI %u, the library implements ABI %u",
                                     header_abi_version, (unsigned)IGD_ABI_VERSION));
    return IGD_OK;
}

igd_status igd_set_allocator(igd_malloc_fn malloc_fn, igd_realloc_fn realloc_fn,
                             igd_free_fn free_fn, void *user)
{
    core_err err = {0};
    igd_status st = core_set_allocator(malloc_fn, realloc_fn, free_fn, user);
    if (st != IGD_OK)
        core_fail(&err, st, "give all three allocator functions, or none");
    return core_report(NULL, &err, st);
}
