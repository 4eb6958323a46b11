/* Round-robin scheduling of guests on the one CPU: which guest runs next, how much of its slice
 * and time limit is left, and when a guest that can never run again is ended. Pure. */
#ifndef TESSERA_SCHED_H
#define TESSERA_SCHED_H

#include "guest/guest.h"

/* The next runnable guest after *cursor (round robin); NULL when every guest has ended.
 * When the only guests left are halted and nothing can wake them, they are stopped here. */
struct guest *sched_pick(struct guest *guests, unsigned count, unsigned *cursor);

/* TSC ticks left of g's slice that started at TSC start, at TSC now: the slice length less all
 * the time since it started (the guest's own and the root-mode time spent on its exits and on
 * its device work, which the VMX-preemption timer does not count), and never more than what is
 * left of its time limit. 0 means the slice is over: end it and charge it with sched_account. */
uint64_t sched_slice_left(const struct guest *g, uint64_t start, uint64_t now, uint64_t slice_tsc);

/* Called after a guest's slice: charge it, remember the longest slice, and stop the guest if it
 * reached its time limit. */
void sched_account(struct guest *g, uint64_t tsc_used, uint64_t tsc_khz);

#endif
