/* The run loop: picks a guest, loads its VMCS and the state the VMCS does not switch (extended
 * FPU/SIMD state, XCR0, SYSCALL MSRs), enters it until it yields, ends or uses up its slice. */
#include "arch/cpu.h"
#include "x86.h"
#include "exit/dispatch.h"
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "hw/portio.h"
#include "lib/log.h"
#include "sched.h"
#include "vmx/entry_check.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_hw.h"
#include "vmx/vmx_strings.h"


static uint64_t hw_xcr0;

static void save_unswitched_state(struct guest *g)
{
    struct vcpu *v = &g->vcpu;
    v->cr2 = read_cr2();
    if (vmx_host.has_xsave)
        xsave(v->xsave_area, hw_xcr0);
    else
        fxsave(v->xsave_area);
    v->kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
    v->star = rdmsr(MSR_IA32_STAR);
    v->lstar = rdmsr(MSR_IA32_LSTAR);
    v->cstar = rdmsr(MSR_IA32_CSTAR);
    v->sfmask = rdmsr(MSR_IA32_FMASK);
    if (vmx_host.has_rdtscp)
        v->tsc_aux = rdmsr(MSR_IA32_TSC_AUX);
}

static void load_unswitched_state(struct guest *g)
{
    struct vcpu *v = &g->vcpu;
    write_cr2(v->cr2);
    v->cr2_pending = false;
    if (vmx_host.has_xsave) {
        if (hw_xcr0 != v->xcr0) {
            xsetbv(0, v->xcr0);
            hw_xcr0 = v->xcr0;
        }
        xrstor(v->xsave_area, hw_xcr0);
    } else {
        fxrstor(v->xsave_area);
    }
    wrmsr(MSR_IA32_KERNEL_GS_BASE, v->kernel_gs_base);
    wrmsr(MSR_IA32_STAR, v->star);
    wrmsr(MSR_IA32_LSTAR, v->lstar);
    wrmsr(MSR_IA32_CSTAR, v->cstar);
    wrmsr(MSR_IA32_FMASK, v->sfmask);
    if (vmx_host.has_rdtscp)
        wrmsr(MSR_IA32_TSC_AUX, v->tsc_aux);
}

static enum exit_result entry_failed(struct guest *g, int vmfail, uint32_t exit_reason)
{
    char why[200];
    if (vmfail == 1) {
        uint32_t err = (uint32_t)vmcs_read(VMCS_VM_INSTR_ERROR);
        if (!vmx_explain_entry_failure(&vmx_host.caps, why, sizeof(why)))
            fmt_snprintf(why, sizeof(why), "no guest-state check explains it");
        return guest_stop(g, "VM entry failed: VM-instruction error %u (%s); %s", err, vm_instruction_error_text(err), why);
    }
    if (vmfail == 2)
        return guest_stop(g, "VM entry failed: no current VMCS (VMfailInvalid)");
    guest_dump_state(g, exit_reason);
    if (!vmx_explain_entry_failure(&vmx_host.caps, why, sizeof(why)))
        fmt_snprintf(why, sizeof(why), "no guest-state check in Tessera explains it (qualification %llu)",
                     (unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
    return guest_stop(g, "VM entry failed: %s: %s", exit_reason_name(exit_reason & 0xFFFF), why);
}

/* Runs g until it yields, ends or its slice is over. */
static void run_slice(struct guest *g)
{
    const bool timer_saved = vmx_host.controls.save_preemption_timer;
    const unsigned shift = vmx_host.controls.preemption_timer_shift;
    uint64_t start = rdtsc();
    vmcs_write(VMCS_PREEMPTION_TIMER, vmx_host.slice_tsc >> shift);
    if (vmx_host.has_xsave && hw_xcr0 != g->vcpu.xcr0) { /* XSETBV just before a yield */
        xsetbv(0, g->vcpu.xcr0);
        hw_xcr0 = g->vcpu.xcr0;
    }
    for (;;) {
        int vmfail = vmx_enter(&g->vcpu, g->vcpu.launched);
        if (vmfail) {
            entry_failed(g, vmfail, 0);
            break;
        }
        g->vcpu.launched = true;
        uint32_t reason = (uint32_t)vmcs_read(VMCS_EXIT_REASON);
        if (reason & EXIT_REASON_FAILED_ENTRY) {
            g->exits_total++;
            entry_failed(g, 0, reason);
            break;
        }
        enum exit_result r = exit_dispatch_inline(g, reason);
        if (r == EXIT_STOP || r == EXIT_YIELD || r == EXIT_ADVANCE_YIELD)
            break;
        if (r == EXIT_CONTINUE && g->vcpu.cr2_pending) { /* an emulated #PF is being delivered */
            write_cr2(g->vcpu.cr2);
            g->vcpu.cr2_pending = false;
        }
        if (reason == EXIT_REASON_XSETBV && hw_xcr0 != g->vcpu.xcr0) { /* only XSETBV changes it */
            xsetbv(0, g->vcpu.xcr0);
            hw_xcr0 = g->vcpu.xcr0;
        }
        if (!timer_saved) {
            /* Without "save preemption timer" every entry reloads it: charge what was used. */
            uint64_t used = rdtsc() - start;
            if (used >= vmx_host.slice_tsc)
                break;
            vmcs_write(VMCS_PREEMPTION_TIMER, (vmx_host.slice_tsc - used) >> shift);
        }
    }
    sched_account(g, rdtsc() - start, vmx_host.tsc_khz);
}

void vmx_run_guests(struct guest *guests, unsigned count)
{
    struct guest *loaded = NULL;
    unsigned cursor = 0;
    hw_xcr0 = vmx_host.has_xsave ? xgetbv(0) : 0;
    for (struct guest *g; (g = sched_pick(guests, count, &cursor));) {
        if (g != loaded) {
            if (loaded)
                save_unswitched_state(loaded);
            if (vmptrld(g->vcpu.vmcs_pa)) {
                guest_stop(g, "VMPTRLD of its VMCS failed");
                loaded = NULL;
                continue;
            }
            load_unswitched_state(g);
            loaded = g;
        }
        g->slices++;
        run_slice(g);
    }
    /* Hand the CPU back as the host had it. */
    if (vmx_host.has_xsave && hw_xcr0 != vmx_host.host_xcr0)
        xsetbv(0, vmx_host.host_xcr0);
}
