/* Exits that decide whether a guest runs on: HLT, triple fault, INIT, the preemption timer. */
#include "exit/guest_dump.h"
#include "x86.h"
#include "exit/handlers.h"
#include "vmx/vmcs.h"


enum exit_result exit_handle_hlt(struct vcpu *v)
{
    /* With interrupts off nothing but NMI/SMI/INIT could wake a real CPU, and Tessera delivers
     * none of them to guests: the guest has ended itself (the classic "cli; hlt"). */
    if (!(vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF))
        return vm_stop(v->vm, "halted with interrupts disabled (HLT with RFLAGS.IF=0 at RIP %#llx); it can never wake up",
                          (unsigned long long)vmcs_read(VMCS_GUEST_RIP));
    v->state = VCPU_HALTED;
    return EXIT_ADVANCE_YIELD;
}

enum exit_result exit_handle_triple_fault(struct vcpu *v)
{
    guest_dump_state(v, EXIT_REASON_TRIPLE_FAULT);
    return vm_stop(v->vm, "triple fault at RIP %#llx (a real machine would reset)",
                      (unsigned long long)vmcs_read(VMCS_GUEST_RIP));
}

enum exit_result exit_handle_init_signal(struct vcpu *v)
{
    return vm_stop(v->vm, "INIT signal received; resetting a guest is not supported");
}

enum exit_result exit_handle_preemption_timer(struct vcpu *v)
{
    (void)v;
    return EXIT_YIELD;
}
