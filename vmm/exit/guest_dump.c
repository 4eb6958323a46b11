/* Register dump of a guest (see guest_dump.h). */
#include "exit/guest_dump.h"
#include "lib/log.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_strings.h"

#define X(v) ((unsigned long long)(v))

void guest_dump_state(struct vcpu *v, uint32_t exit_reason)
{
    const char *n = v->vm->name;
    log_printf("tessera: [%s] exit reason %u (%s)%s, qualification %016llx\n", n, exit_reason & 0xFFFF,
               exit_reason_name(exit_reason & 0xFFFF), (exit_reason & EXIT_REASON_FAILED_ENTRY) ? " [entry failure]" : "",
               X(vmcs_read(VMCS_EXIT_QUALIFICATION)));
    log_printf("tessera: [%s] RIP %016llx RSP %016llx RFLAGS %016llx CS %04llx (AR %05llx) SS %04llx\n", n,
               X(vmcs_read(VMCS_GUEST_RIP)), X(vmcs_read(VMCS_GUEST_RSP)), X(vmcs_read(VMCS_GUEST_RFLAGS)),
               X(vmcs_read(VMCS_GUEST_CS_SEL)), X(vmcs_read(VMCS_GUEST_CS_AR)), X(vmcs_read(VMCS_GUEST_SS_SEL)));
    log_printf("tessera: [%s] RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", n, X(v->gpr[REG_RAX]),
               X(v->gpr[REG_RBX]), X(v->gpr[REG_RCX]), X(v->gpr[REG_RDX]));
    log_printf("tessera: [%s] RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n", n, X(v->gpr[REG_RSI]),
               X(v->gpr[REG_RDI]), X(v->gpr[REG_RBP]), X(v->gpr[REG_R8]));
    log_printf("tessera: [%s] CR0 %016llx (shadow %llx) CR3 %016llx CR4 %016llx (shadow %llx) EFER %llx\n", n,
               X(vmcs_read(VMCS_GUEST_CR0)), X(vmcs_read(VMCS_CR0_READ_SHADOW)), X(vmcs_read(VMCS_GUEST_CR3)),
               X(vmcs_read(VMCS_GUEST_CR4)), X(vmcs_read(VMCS_CR4_READ_SHADOW)), X(vmcs_read(VMCS_GUEST_EFER)));
    log_printf("tessera: [%s] guest-physical %016llx linear %016llx IDT-vectoring %08llx interruption %08llx\n", n,
               X(vmcs_read(VMCS_GUEST_PHYSICAL_ADDR)), X(vmcs_read(VMCS_GUEST_LINEAR_ADDR)),
               X(vmcs_read(VMCS_IDT_VECTORING_INFO)), X(vmcs_read(VMCS_EXIT_INTR_INFO)));
}
