#include "interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t requested = 0;

static void on_sigint(int sig)
{
    (void)sig;
    requested = 1;
}

void interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    /* SA_RESETHAND: the next Ctrl-C takes the default action and ends the program. */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
}

int interrupt_requested(void)
{
    return requested != 0;
}

int interrupt_abort_callback(void *user)
{
    (void)user;
    return requested != 0;
}
