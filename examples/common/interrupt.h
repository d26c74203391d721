/* Ctrl-C: the first SIGINT sets a flag that long work polls (the model's abort callback); a
 * second one ends the program at once. */
#ifndef EXAMPLES_INTERRUPT_H
#define EXAMPLES_INTERRUPT_H

void interrupt_install(void);
int interrupt_requested(void);
/* An igd_abort_fn: returns the flag. */
int interrupt_abort_callback(void *user);

#endif
