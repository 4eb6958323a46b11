/* The exit dispatcher: one table indexed by basic exit reason; the table is the list of what
 * Tessera handles. Contract of every handler: see exit/handlers.h. RIP is advanced here, once,
 * after a handler returns EXIT_ADVANCE or EXIT_ADVANCE_YIELD. */
#include "exit/dispatch.h"
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_strings.h"

const exit_handler_fn exit_handlers[EXIT_REASON_COUNT] = {
    [EXIT_REASON_EXCEPTION_NMI] = exit_handle_exception_nmi,
    [EXIT_REASON_EXTERNAL_INTERRUPT] = exit_handle_external_interrupt,
    [EXIT_REASON_TRIPLE_FAULT] = exit_handle_triple_fault,
    [EXIT_REASON_INTERRUPT_WINDOW] = exit_handle_event_window,  /* requested only by the event queue */
    [EXIT_REASON_NMI_WINDOW] = exit_handle_event_window,
    [EXIT_REASON_INIT] = exit_handle_init_signal,
    [EXIT_REASON_CPUID] = exit_handle_cpuid,
    [EXIT_REASON_HLT] = exit_handle_hlt,
    [EXIT_REASON_INVD] = exit_handle_invd_wbinvd,
    [EXIT_REASON_PAUSE] = exit_handle_pause,              /* only while device work is pending */
    [EXIT_REASON_RDPMC] = exit_handle_rdpmc,              /* no performance counters: #GP(0) */
    [EXIT_REASON_WBINVD] = exit_handle_invd_wbinvd,
    [EXIT_REASON_VMCALL] = exit_handle_vmcall,
    [EXIT_REASON_VMCLEAR] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMLAUNCH] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMPTRLD] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMPTRST] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMREAD] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMRESUME] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMWRITE] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMXOFF] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMXON] = exit_handle_vmx_instruction,
    [EXIT_REASON_INVEPT] = exit_handle_vmx_instruction,
    [EXIT_REASON_INVVPID] = exit_handle_vmx_instruction,
    [EXIT_REASON_VMFUNC] = exit_handle_vmx_instruction,
    [EXIT_REASON_GETSEC] = exit_handle_vmx_instruction,   /* SMX is hidden: #UD as on a CPU without it */
    [EXIT_REASON_MONITOR] = exit_handle_vmx_instruction,  /* MONITOR/MWAIT are hidden in CPUID */
    [EXIT_REASON_MWAIT] = exit_handle_vmx_instruction,
    [EXIT_REASON_CR_ACCESS] = exit_handle_cr_access,
    [EXIT_REASON_IO_INSTRUCTION] = exit_handle_io,
    [EXIT_REASON_RDMSR] = exit_handle_rdmsr,
    [EXIT_REASON_WRMSR] = exit_handle_wrmsr,
    [EXIT_REASON_EPT_VIOLATION] = exit_handle_ept_violation,
    [EXIT_REASON_EPT_MISCONFIG] = exit_handle_ept_misconfig,
    [EXIT_REASON_PREEMPTION_TIMER] = exit_handle_preemption_timer,
    [EXIT_REASON_XSETBV] = exit_handle_xsetbv,
};

/* The event goes back through the vCPU's queue; only software events use the instruction length
 * (an INT n, INT3, INTO or INT1 delivered past its instruction). */
void exit_redeliver_interrupted_event(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmcs_read(VMCS_IDT_VECTORING_INFO);
    if (!(info & INTR_INFO_VALID))
        return;
    uint32_t type = (info >> 8) & 7;
    bool software = type >= 4 && type <= 6;
    uint32_t error = (info & INTR_INFO_DELIVER_ERROR) ? (uint32_t)vmcs_read(VMCS_IDT_VECTORING_ERROR) : 0;
    vcpu_requeue_interrupted_event(v, info, error, software ? (uint32_t)vmcs_read(VMCS_EXIT_INSTR_LEN) : 0);
}

enum exit_result exit_unhandled(struct vcpu *v, uint32_t exit_reason)
{
    uint32_t basic = exit_reason & 0xFFFF;
    if (basic < EXIT_REASON_COUNT)
        v->exit_counts[basic]++;
    guest_dump_state(v, exit_reason);
    return vm_stop(v->vm, "unhandled VM exit: reason %u (%s), qualification %#llx", basic, exit_reason_name(basic),
                      (unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
}

enum exit_result exit_dispatch(struct vcpu *v, uint32_t exit_reason)
{
    return exit_dispatch_inline(v, exit_reason);
}
