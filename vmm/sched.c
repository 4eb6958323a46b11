/* Round-robin scheduler (see sched.h). */
#include "sched.h"

/* The cursor numbers every vCPU slot of every VM: slot = vm index * VM_MAX_VCPUS + vCPU index.
 * Only the scheduler and VM creation know VM_MAX_VCPUS; slots past a VM's vcpu_count are
 * skipped. */
static struct vcpu *vcpu_at_slot(struct vm *vms, unsigned slot)
{
    struct vm *vm = &vms[slot / VM_MAX_VCPUS];
    unsigned index = slot % VM_MAX_VCPUS;
    return index < vm->vcpu_count ? &vm->vcpus[index] : NULL;
}

struct vcpu *sched_pick(struct vm *vms, unsigned count, unsigned *cursor)
{
    const unsigned slots = count * VM_MAX_VCPUS;
    if (!slots)
        return NULL;
    for (unsigned pass = 0; pass < 2; pass++) {
        bool any_halted = false;
        for (unsigned i = 0; i < slots; i++) {
            unsigned slot = (*cursor + i) % slots;
            struct vcpu *v = vcpu_at_slot(vms, slot);
            if (!v || v->vm->state == VM_ENDED)
                continue;
            if (v->state == VCPU_RUNNABLE) {
                *cursor = (slot + 1) % slots;
                return v;
            }
            any_halted |= v->state == VCPU_HALTED;
        }
        if (!any_halted)
            return NULL;
        /* Tessera gives guests no interrupt sources yet, so a halted vCPU waits forever. */
        for (unsigned i = 0; i < slots; i++) {
            struct vcpu *v = vcpu_at_slot(vms, i);
            if (v && v->vm->state != VM_ENDED && v->state == VCPU_HALTED)
                vm_stop(v->vm, "halted (HLT with interrupts enabled) with no interrupt source that could wake it");
        }
    }
    return NULL;
}

uint64_t sched_slice_budget(const struct vcpu *v, uint64_t slice_tsc)
{
    const struct vm *vm = v->vm;
    if (!vm->timeout_tsc)
        return slice_tsc;
    uint64_t vm_used = vm_run_tsc(vm);
    if (vm_used >= vm->timeout_tsc)
        return 0;
    uint64_t limit_left = vm->timeout_tsc - vm_used;
    return limit_left < slice_tsc ? limit_left : slice_tsc;
}

uint64_t sched_slice_left(const struct vcpu *v, uint64_t start, uint64_t now, uint64_t slice_tsc)
{
    return sched_budget_left(sched_slice_budget(v, slice_tsc), start, now);
}

void sched_account(struct vcpu *v, uint64_t tsc_used, uint64_t tsc_khz)
{
    struct vm *vm = v->vm;
    v->run_tsc += tsc_used;
    if (tsc_used > v->max_slice_tsc)
        v->max_slice_tsc = tsc_used;
    if (vm->state != VM_ENDED && vm->timeout_tsc && vm_run_tsc(vm) >= vm->timeout_tsc)
        vm_stop(vm, "exceeded its time limit of %llu ms of CPU time",
                (unsigned long long)(tsc_khz ? vm->timeout_tsc / tsc_khz : 0));
}
