/* EPT violations and misconfigurations. RAM is mapped read/write/execute, so a violation is a
 * guest touching guest-physical space that backs no RAM: a device region or the empty bus. */
#include "emu/mmio_emulate.h"
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "lib/log.h"
#include "vmx/vmcs.h"

/* IDT-vectoring information: event type in bits 10:8 (SDM Vol. 3C 25.9.3). */
static const char *const event_type_name[8] = {
    "external interrupt", "event of type 1", "NMI", "hardware exception",
    "software interrupt", "privileged software exception", "software exception", "event of type 7",
};

/* The violation happened while the CPU delivered an event (its IDT, GDT or stack, or the TSS,
 * lies outside RAM). The instruction at RIP has not run; emulating it would skip it and lose the
 * event, so stop the guest and say which event was lost. */
static enum exit_result stop_lost_event(struct vcpu *v, uint32_t vectoring, uint64_t gpa)
{
    char error_code[32] = "";
    if (vectoring & INTR_INFO_DELIVER_ERROR)
        fmt_snprintf(error_code, sizeof(error_code), ", error code %#x",
                     (unsigned)vmcs_read(VMCS_IDT_VECTORING_ERROR));
    guest_dump_state(v, EXIT_REASON_EPT_VIOLATION);
    return vm_stop(v->vm, "%s vector %u%s lost: delivering it touched guest-physical %#llx, which is not RAM",
                      event_type_name[(vectoring >> 8) & 7], vectoring & 0xff, error_code,
                      (unsigned long long)gpa);
}

enum exit_result exit_handle_ept_violation(struct vcpu *v)
{
    uint64_t qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
    uint64_t gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDR);
    if (gpa < v->vm->ram_size) {
        guest_dump_state(v, EXIT_REASON_EPT_VIOLATION);
        return vm_stop(v->vm, "EPT violation inside guest RAM at %#llx (qualification %#llx): a Tessera bug",
                          (unsigned long long)gpa, (unsigned long long)qual);
    }
    uint32_t vectoring = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);
    if (vectoring & INTR_INFO_VALID)
        return stop_lost_event(v, vectoring, gpa);
    if (qual & EPT_QUAL_FETCH)
        return vm_stop(v->vm, "executes from guest-physical %#llx, which is not RAM (RIP %#llx)",
                          (unsigned long long)gpa, (unsigned long long)vmcs_read(VMCS_GUEST_RIP));
    return mmio_emulate(v, gpa);
}

enum exit_result exit_handle_ept_misconfig(struct vcpu *v)
{
    guest_dump_state(v, EXIT_REASON_EPT_MISCONFIG);
    return vm_stop(v->vm, "EPT misconfiguration at guest-physical %#llx: a Tessera bug",
                      (unsigned long long)vmcs_read(VMCS_GUEST_PHYSICAL_ADDR));
}
