/* EPT violations and misconfigurations. RAM is mapped read/write/execute, so a violation is a
 * guest touching guest-physical space that backs no RAM: a device region or the empty bus. */
#include "emu/mmio_emulate.h"
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "vmx/vmcs.h"

#define EPT_QUAL_FETCH (1u << 2)

enum exit_result exit_handle_ept_violation(struct guest *g)
{
    uint64_t qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
    uint64_t gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDR);
    if (gpa < g->ram_size) {
        guest_dump_state(g, EXIT_REASON_EPT_VIOLATION);
        return guest_stop(g, "EPT violation inside guest RAM at %#llx (qualification %#llx): a Tessera bug",
                          (unsigned long long)gpa, (unsigned long long)qual);
    }
    if (qual & EPT_QUAL_FETCH)
        return guest_stop(g, "executes from guest-physical %#llx, which is not RAM (RIP %#llx)",
                          (unsigned long long)gpa, (unsigned long long)vmcs_read(VMCS_GUEST_RIP));
    return mmio_emulate(g, gpa);
}

enum exit_result exit_handle_ept_misconfig(struct guest *g)
{
    guest_dump_state(g, EXIT_REASON_EPT_MISCONFIG);
    return guest_stop(g, "EPT misconfiguration at guest-physical %#llx: a Tessera bug",
                      (unsigned long long)vmcs_read(VMCS_GUEST_PHYSICAL_ADDR));
}
