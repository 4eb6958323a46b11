/* Exception and NMI exits, and the window exits the event queue asks for. Tessera intercepts only
 * #AC and #DB (vmx/vmcs_init.c says why), so an exception exit is reflected back exactly as the
 * CPU raised it; an NMI belongs to the host and is dropped. */
#include "exit/debug_regs.h"
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "x86.h"
#include "lib/log.h"
#include "vmx/vmcs.h"

/* VM-exit interruption information (SDM Vol. 3C table 24-15) */
#define INTR_TYPE_MASK              (7u << 8)
#define INTR_TYPE_PRIV_SW_EXCEPTION (5u << 8)  /* INT1 (ICEBP) */
#define INTR_VECTOR_MASK            0xFFu
/* Exit qualification of a #DB exit: DR6's B0-B3, BD and BS, and RTM active high (27.2.1) */
#define DB_QUAL_CAUSES              (DR6_B(0) | DR6_B(1) | DR6_B(2) | DR6_B(3) | DR6_BD | DR6_BS)

/* A #DB that exits has not touched DR6 or DR7 (SDM Vol. 3C 27.1); its delivery would have: B0-B3
 * replaced by this exception's, the other cause bits set (never cleared), RTM cleared for an
 * RTM #DB (it is active low in DR6), and DR7.GD cleared on entry to the handler (Vol. 3B
 * 17.2.3-17.2.4). VM entry's injection does none of that, so do it here. */
static void deliver_debug_exception_state(uint64_t qual)
{
    uint64_t dr6 = (debug_reg_read(6) & ~(uint64_t)(DR6_B(0) | DR6_B(1) | DR6_B(2) | DR6_B(3))) | DR6_INIT;
    dr6 |= qual & DB_QUAL_CAUSES;
    if (qual & DR6_RTM)
        dr6 &= ~DR6_RTM;
    debug_reg_write(6, dr6);
    uint64_t dr7 = vmcs_read(VMCS_GUEST_DR7);
    if (dr7 & DR7_GD)
        vmcs_write(VMCS_GUEST_DR7, dr7 & ~DR7_GD);
}

enum exit_result exit_handle_exception_nmi(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmcs_read(VMCS_EXIT_INTR_INFO);
    uint32_t type = info & INTR_TYPE_MASK, vector = info & INTR_VECTOR_MASK;
    if (type == INTR_TYPE_NMI) {
        log_printf("tessera: NMI while guest %s ran (host NMI, not delivered to the guest)\n", v->vm->name);
        return EXIT_CONTINUE;
    }
    if (vector == VEC_MC) {
        guest_dump_state(v, EXIT_REASON_EXCEPTION_NMI);
        return vm_stop(v->vm, "machine check while running this guest");
    }
    /* What the CPU would have done as it delivered the exception, and the exit prevented. */
    bool page_fault = type == INTR_TYPE_HW_EXCEPTION && vector == VEC_PF;
    if (type == INTR_TYPE_HW_EXCEPTION && vector == VEC_DB)
        deliver_debug_exception_state(vmcs_read(VMCS_EXIT_QUALIFICATION));
    /* Same type and vector: INT3/INTO (software exceptions) and INT1 must be delivered past the
     * instruction, with its length, or the handler would return onto it again. RFLAGS.RF needs
     * nothing: the exit saved it as this delivery would have pushed it (27.3.3). A #PF's
     * faulting address (the exit qualification) goes to CR2 as the queue commits it. */
    bool software = type == INTR_TYPE_SW_EXCEPTION || type == INTR_TYPE_PRIV_SW_EXCEPTION;
    return vcpu_queue_event(v, &(struct queued_event){
        .info = info & (INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR | INTR_TYPE_MASK | INTR_VECTOR_MASK),
        .error = (info & INTR_INFO_DELIVER_ERROR) ? (uint32_t)vmcs_read(VMCS_EXIT_INTR_ERROR) : 0,
        .instr_len = software ? (uint32_t)vmcs_read(VMCS_EXIT_INSTR_LEN) : 0,
        .has_cr2 = page_fault,
        .cr2 = page_fault ? vmcs_read(VMCS_EXIT_QUALIFICATION) : 0,
    });
}

/* Interrupt- and NMI-window exits: the event queue asked for them because an event was waiting
 * for the guest to unblock it. Nothing to do here: the commit before the next entry injects
 * that event and clears the control it no longer needs. */
enum exit_result exit_handle_event_window(struct vcpu *v)
{
    (void)v;
    return EXIT_CONTINUE;
}
