/* Round-robin scheduler (see sched.h). */
#include "sched.h"

struct guest *sched_pick(struct guest *guests, unsigned count, unsigned *cursor)
{
    for (unsigned pass = 0; pass < 2; pass++) {
        bool any_halted = false;
        for (unsigned i = 0; i < count; i++) {
            struct guest *g = &guests[(*cursor + i) % count];
            if (g->state == GUEST_RUNNABLE) {
                *cursor = (unsigned)((g - guests) + 1) % count;
                return g;
            }
            any_halted |= g->state == GUEST_HALTED;
        }
        if (!any_halted)
            return NULL;
        /* Tessera gives guests no interrupt sources yet, so a halted guest waits forever. */
        for (unsigned i = 0; i < count; i++)
            if (guests[i].state == GUEST_HALTED)
                guest_stop(&guests[i], "halted (HLT with interrupts enabled) with no interrupt source that could wake it");
    }
    return NULL;
}

uint64_t sched_slice_left(const struct guest *g, uint64_t start, uint64_t now, uint64_t slice_tsc)
{
    uint64_t used = now - start;   /* unsigned: right across a TSC wrap-around */
    if (used >= slice_tsc)
        return 0;
    uint64_t left = slice_tsc - used;
    if (g->timeout_tsc) {
        if (g->run_tsc >= g->timeout_tsc || used >= g->timeout_tsc - g->run_tsc)
            return 0;
        uint64_t limit_left = g->timeout_tsc - g->run_tsc - used;
        if (limit_left < left)
            left = limit_left;
    }
    return left;
}

void sched_account(struct guest *g, uint64_t tsc_used, uint64_t tsc_khz)
{
    g->run_tsc += tsc_used;
    if (tsc_used > g->max_slice_tsc)
        g->max_slice_tsc = tsc_used;
    if (g->state != GUEST_ENDED && g->timeout_tsc && g->run_tsc >= g->timeout_tsc)
        guest_stop(g, "exceeded its time limit of %llu ms of CPU time",
                   (unsigned long long)(tsc_khz ? g->timeout_tsc / tsc_khz : 0));
}
