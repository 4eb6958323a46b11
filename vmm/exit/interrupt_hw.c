/* External-interrupt exits. Tessera masks every interrupt source at boot, so one arriving is
 * unexpected but harmless: acknowledge it at the local APIC and let the guest run on. */
#include "exit/handlers.h"
#include "x86.h"
#include "hw/portio.h"
#include "lib/log.h"
#include "vmx/vmcs.h"

#define APIC_EOI      0xB0
#define X2APIC_EOI    0x80B

static uint64_t spurious_logged;

enum exit_result exit_handle_external_interrupt(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmcs_read(VMCS_EXIT_INTR_INFO);
    if (info & INTR_INFO_VALID) { /* acknowledged on exit: the vector is ours to EOI */
        uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
        if (base & (1u << 10))
            wrmsr(X2APIC_EOI, 0);
        else
            *(volatile uint32_t *)((base & ~0xFFFull) + APIC_EOI) = 0;
    }
    if (spurious_logged++ < 4)
        log_printf("tessera: unexpected external interrupt (vector %u) while guest %s ran\n", info & 0xFF, v->vm->name);
    return EXIT_CONTINUE;
}
