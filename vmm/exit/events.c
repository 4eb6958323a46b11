/* Exception and NMI exits. Tessera intercepts no guest exceptions (the exception bitmap is
 * empty), so an exception exit is reflected back; an NMI belongs to the host and is dropped. */
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "lib/log.h"
#include "vmx/vmcs.h"

enum exit_result exit_handle_exception_nmi(struct guest *g)
{
    uint32_t info = (uint32_t)vmcs_read(VMCS_EXIT_INTR_INFO);
    uint32_t type = info & 0x700, vector = info & 0xFF;
    if (type == INTR_TYPE_NMI) {
        log_printf("tessera: NMI while guest %s ran (host NMI, not delivered to the guest)\n", g->name);
        return EXIT_CONTINUE;
    }
    if (vector == VEC_MC) {
        guest_dump_state(g, EXIT_REASON_EXCEPTION_NMI);
        return guest_stop(g, "machine check while running this guest");
    }
    bool has_error = info & INTR_INFO_DELIVER_ERROR;
    return vcpu_inject_exception(&g->vcpu, (uint8_t)vector, has_error,
                                 has_error ? (uint32_t)vmcs_read(VMCS_EXIT_INTR_ERROR) : 0);
}
