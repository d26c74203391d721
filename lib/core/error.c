#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The calling thread's last error (per thread, not shared state). */
static _Thread_local char thread_msg[CORE_ERR_MSG];

igd_status core_fail(core_err *err, igd_status status, const char *fmt, ...)
{
    if (!err)
        return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

igd_status core_wrap(core_err *err, const char *fmt, ...)
{
    char prefix[CORE_ERR_MSG], old[CORE_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 2;
    size_t m = strnlen(old, rest - 1);
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return err->status;
}

void core_err_clear(core_err *err)
{
    err->status = IGD_OK;
    err->msg[0] = '\0';
}

void core_thread_error_set(igd_status status, const char *message)
{
    if (message && message[0])
        snprintf(thread_msg, sizeof thread_msg, "%s", message);
    else
        snprintf(thread_msg, sizeof thread_msg, "%s", igd_status_string(status));
}

igd_status core_report(core_err *obj_err, const core_err *err, igd_status status)
{
    if (status == IGD_OK)
        return IGD_OK;
    const char *msg = (err && err->status == status && err->msg[0]) ? err->msg : NULL;
    core_thread_error_set(status, msg);
    if (obj_err) {
        obj_err->status = status;
        snprintf(obj_err->msg, sizeof obj_err->msg, "%s", thread_msg);
    }
    return status;
}

const char *core_thread_error(void)
{
    return thread_msg;
}
