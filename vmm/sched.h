/* Round-robin scheduling of vCPUs on the one CPU: which vCPU runs next, how much of its slice and
 * of its VM's time limit is left, and when VMs that can never run again are ended. Pure. */
#ifndef TESSERA_SCHED_H
#define TESSERA_SCHED_H

#include "guest/vm.h"

/* The next runnable vCPU of a running VM after *cursor, round robin over every vCPU of every VM
 * (VM by VM, each VM's vCPUs in order); NULL when every VM has ended. When the only vCPUs left
 * are halted and nothing can wake them, their VMs are stopped here. */
struct vcpu *sched_pick(struct vm *vms, unsigned count, unsigned *cursor);

/* TSC ticks left of v's slice that started at TSC start, at TSC now: the slice length less all
 * the time since it started (the guest's own and the root-mode time spent on its exits and on
 * its VM's device work, which the VMX-preemption timer does not count), and never more than
 * what is left of its VM's time limit. 0 means the slice is over: end it and charge it with
 * sched_account. */
uint64_t sched_slice_left(const struct vcpu *v, uint64_t start, uint64_t now, uint64_t slice_tsc);

/* The same in two parts, for the run loop: the most a slice starting now may last (slice_tsc,
 * or less when the VM's time limit is nearer; the limit only moves when a slice is charged, so
 * once per slice is enough), and what is left of it at now. Inline: it runs after every exit. */
uint64_t sched_slice_budget(const struct vcpu *v, uint64_t slice_tsc);
static inline uint64_t sched_budget_left(uint64_t budget, uint64_t start, uint64_t now)
{
    uint64_t used = now - start;   /* unsigned: right across a TSC wrap-around */
    return used < budget ? budget - used : 0;
}

/* Called after a vCPU's slice: charge it, remember the longest slice, and stop its VM if the VM
 * reached its time limit. */
void sched_account(struct vcpu *v, uint64_t tsc_used, uint64_t tsc_khz);

#endif
