/* Error reports: a status plus a message, kept per object and per thread. */
#ifndef CORE_ERROR_H
#define CORE_ERROR_H

#include "igd/igd.h"

enum { CORE_ERR_MSG = 256 };

typedef struct core_err {
    igd_status status;
    char msg[CORE_ERR_MSG];
} core_err;

/* Records status and a printf-style message in err (which may be NULL); returns status. */
igd_status core_fail(core_err *err, igd_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes err's message with context ("loading model: ..."); returns err->status. */
igd_status core_wrap(core_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void core_err_clear(core_err *err);

/* Publishes err as the calling thread's last error when status is not IGD_OK (and copies it
 * into the object's error when obj_err is not NULL); returns status. The API layer ends every
 * call with this. */
igd_status core_report(core_err *obj_err, const core_err *err, igd_status status);
const char *core_thread_error(void);
void core_thread_error_set(igd_status status, const char *message);

/* Shorthand for the common argument checks of the API layer. */
#define CORE_CHECK_ARG(err, cond, ...)                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return core_fail((err), IGD_ERR_INVALID_ARGUMENT, __VA_ARGS__);                        \
    } while (0)

/* Propagates a failing status. */
#define CORE_TRY(expr)                                                                             \
    do {                                                                                           \
        igd_status core_try_st_ = (expr);                                                          \
        if (core_try_st_ != IGD_OK)                                                                \
            return core_try_st_;                                                                   \
    } while (0)

#endif
