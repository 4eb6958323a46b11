/* Round-robin scheduling of guests on the one CPU: which guest runs next, and when a guest
 * that can never run again is ended. Pure. */
#ifndef TESSERA_SCHED_H
#define TESSERA_SCHED_H

#include "guest/guest.h"

/* The next runnable guest after *cursor (round robin); NULL when every guest has ended.
 * When the only guests left are halted and nothing can wake them, they are stopped here. */
struct guest *sched_pick(struct guest *guests, unsigned count, unsigned *cursor);

/* Called after a guest's slice: charge it, and stop it if it ran past its time limit. */
void sched_account(struct guest *g, uint64_t tsc_used, uint64_t tsc_khz);

#endif
