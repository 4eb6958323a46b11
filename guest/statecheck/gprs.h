/* The general registers across a yield and across preemption: every register but RSP holds
 * this guest's pattern through a HC_YIELD VMCALL (which returns in RAX only) and then through a
 * busy loop long enough to be preempted, all inside one asm statement. */
#ifndef STATECHECK_GPRS_H
#define STATECHECK_GPRS_H

#include <stdint.h>
#include "diff.h"

/* Iterations of the busy loop per `ticks` TSC ticks (measured, the fastest of a few runs). */
uint64_t gprs_busy_iterations(uint64_t ticks);

/* Loads the pattern, yields, stores; loads it again, spins `iterations` times, stores; and
 * compares both snapshots. yield_result gets RAX after the VMCALL. */
void gprs_round(unsigned guest, uint64_t iterations, struct diff *after_yield, struct diff *after_spin,
                int64_t *yield_result);

#endif
