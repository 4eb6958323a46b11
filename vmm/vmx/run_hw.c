/* The run loop: picks a vCPU, loads its VMCS and the state the VMCS does not switch (extended
 * FPU/SIMD state and XCR0, DR0-DR3/DR6, SYSCALL MSRs, TSC_AUX, CR2), applies the side-channel
 * mitigations, and enters it until it yields, its VM ends or it uses up its slice. A slice is
 * charged with everything spent on the guest's behalf, root-mode time included. */
#include "arch/cpu.h"
#include "arch/cpu_setup.h"
#include "x86.h"
#include "exit/dispatch.h"
#include "exit/guest_dump.h"
#include "exit/handlers.h"
#include "hw/mitigations.h"
#include "hw/platform.h"
#include "hw/portio.h"
#include "lib/log.h"
#include "sched.h"
#include "vmx/entry_check.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_hw.h"
#include "vmx/vmx_strings.h"
#include "vmx/xstate.h"

#define PREEMPTION_TIMER_MAX 0xFFFFFFFFull   /* the VMCS field is 32 bits */

static void hw_xsetbv0(uint64_t value) { xsetbv(0, value); }
static void hw_xsave(void *area, uint64_t mask) { xsave(area, mask); }
static void hw_xrstor(const void *area, uint64_t mask) { xrstor(area, mask); }
static void hw_fxsave(void *area, uint64_t mask) { (void)mask; fxsave(area); }
static void hw_fxrstor(const void *area, uint64_t mask) { (void)mask; fxrstor(area); }

static struct xstate_cpu xstate;

static void save_unswitched_state(struct vcpu *v)
{
    v->cr2 = read_cr2();
    xstate_save_guest(&xstate, v->xsave_area);
    v->dr[0] = read_dr0();
    v->dr[1] = read_dr1();
    v->dr[2] = read_dr2();
    v->dr[3] = read_dr3();
    v->dr6 = read_dr6();
    v->kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
    v->star = rdmsr(MSR_IA32_STAR);
    v->lstar = rdmsr(MSR_IA32_LSTAR);
    v->cstar = rdmsr(MSR_IA32_CSTAR);
    v->sfmask = rdmsr(MSR_IA32_FMASK);
    if (vmx_host.has_rdtscp)
        v->tsc_aux = rdmsr(MSR_IA32_TSC_AUX);
}

static void load_unswitched_state(struct vcpu *v)
{
    write_cr2(v->cr2);
    v->cr2_pending = false;
    xstate_load_guest(&xstate, v->xsave_area, v->xcr0);
    /* The host sets no breakpoints (DR7 is 0x400 after every exit), so DR0-DR3/DR6 hold the
     * guest's own values from here until it is switched out; exit handlers read them live
     * (exit/debug_regs.h). v->dr and v->dr6 are current only while the guest is not loaded. */
    write_dr0(v->dr[0]);
    write_dr1(v->dr[1]);
    write_dr2(v->dr[2]);
    write_dr3(v->dr[3]);
    write_dr6(v->dr6);
    wrmsr(MSR_IA32_KERNEL_GS_BASE, v->kernel_gs_base);
    wrmsr(MSR_IA32_STAR, v->star);
    wrmsr(MSR_IA32_LSTAR, v->lstar);
    wrmsr(MSR_IA32_CSTAR, v->cstar);
    wrmsr(MSR_IA32_FMASK, v->sfmask);
    if (vmx_host.has_rdtscp)
        wrmsr(MSR_IA32_TSC_AUX, v->tsc_aux);
}

/* Another guest's turn: nothing the previous one trained into the branch predictors may steer
 * this one's indirect branches. */
static void mitigate_guest_switch(void)
{
    if (mitigations_active.ibpb_on_guest_switch)
        wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
}

/* Last thing before VM entry: leave no hypervisor or other-guest data in L1D or the CPU's
 * buffers for the guest to sample. The L1D flush overwrites the buffers too (MD_CLEAR parts). */
static inline void mitigate_before_entry(void)
{
    if (mitigations_active.l1d_flush_on_entry)
        wrmsr(MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D);
    else if (mitigations_active.verw_on_entry)
        verw_clear_cpu_buffers(HOST_DS_SEL);
}

static enum exit_result entry_failed(struct vcpu *v, int vmfail, uint32_t exit_reason)
{
    char why[200];
    if (vmfail == 1) {
        uint32_t err = (uint32_t)vmcs_read(VMCS_VM_INSTR_ERROR);
        if (!vmx_explain_entry_failure(&vmx_host.caps, why, sizeof(why)))
            fmt_snprintf(why, sizeof(why), "no guest-state check explains it");
        return vm_stop(v->vm, "VM entry failed: VM-instruction error %u (%s); %s", err, vm_instruction_error_text(err), why);
    }
    if (vmfail == 2)
        return vm_stop(v->vm, "VM entry failed: no current VMCS (VMfailInvalid)");
    guest_dump_state(v, exit_reason);
    if (!vmx_explain_entry_failure(&vmx_host.caps, why, sizeof(why)))
        fmt_snprintf(why, sizeof(why), "no guest-state check in Tessera explains it (qualification %llu)",
                     (unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION));
    return vm_stop(v->vm, "VM entry failed: %s: %s", exit_reason_name(exit_reason & 0xFFFF), why);
}

/* Device work an earlier exit left over runs in this guest's own slice, one bounded step at a
 * time with the slice checked after each, so it delays nobody else by more than a step: one
 * step before each entry while the guest computes, as many as the slice holds while it waits
 * (it spun on PAUSE or yielded; a polling driver would otherwise get one step per slice).
 * Returns what is left of the slice. */
static uint64_t run_device_work(struct vcpu *v, uint64_t start, uint64_t budget, bool guest_waits)
{
    struct deferred_work *w = &v->vm->device_work;
    uint64_t left = sched_budget_left(budget, start, rdtsc());
    if (w->pending && left) {
        do {
            w->run(w->ctx);
            left = sched_budget_left(budget, start, rdtsc());
        } while (guest_waits && left && w->pending);
    }
    return left;
}

/* PAUSE exits only while there is device work to give a spinning guest's time to. */
static void set_pause_exiting(struct vcpu *v, bool on)
{
    if (!vmx_host.controls.has_pause_exiting || v->pause_exiting == on)
        return;
    uint64_t proc = vmcs_read(VMCS_PROC_CONTROLS);
    vmcs_write(VMCS_PROC_CONTROLS, on ? proc | PROC_PAUSE_EXITING : proc & ~(uint64_t)PROC_PAUSE_EXITING);
    v->pause_exiting = on;
}

/* Runs v from TSC start until it yields, its VM ends, it uses up its slice or the VM reaches its
 * time limit.
 * The VMX-preemption timer counts only guest time, so after every exit it is reloaded with
 * what is left of the slice by the TSC, root-mode time included. */
static void run_slice(struct vcpu *v, uint64_t start)
{
    const uint64_t budget = sched_slice_budget(v, vmx_host.slice_tsc);
    const unsigned shift = vmx_host.controls.preemption_timer_shift;
    for (;;) {
        uint64_t left = run_device_work(v, start, budget, v->waits_for_device);
        v->waits_for_device = false;
        if (v->vm->state == VM_ENDED || !left)
            break;
        set_pause_exiting(v, v->vm->device_work.pending);
        uint64_t ticks = left >> shift;
        vmcs_write(VMCS_PREEMPTION_TIMER, ticks < PREEMPTION_TIMER_MAX ? ticks : PREEMPTION_TIMER_MAX);
        xstate_use_xcr0(&xstate, v->xcr0);    /* XSETBV exits only update v->xcr0 */
        vcpu_commit_events(v);      /* the one place events enter the VMCS */
        if (v->cr2_pending) {       /* a #PF is being delivered: its address goes to CR2 */
            write_cr2(v->cr2);
            v->cr2_pending = false;
        }
        mitigate_before_entry();
        int vmfail = vmx_enter(v, v->launched);
        if (vmfail) {
            entry_failed(v, vmfail, 0);
            break;
        }
        v->launched = true;
        uint32_t reason = (uint32_t)vmcs_read(VMCS_EXIT_REASON);
        if (reason & EXIT_REASON_FAILED_ENTRY) {
            v->exits_total++;
            entry_failed(v, 0, reason);
            break;
        }
        enum exit_result r = exit_dispatch_inline(v, reason);
        if (serial_pending()) /* console output queued by this or an earlier exit */
            serial_drain();
        if (r == EXIT_STOP)
            break;
        if (r == EXIT_YIELD || r == EXIT_ADVANCE_YIELD) {
            run_device_work(v, start, budget, true); /* it has nothing to do but wait */
            break;
        }
    }
    sched_account(v, rdtsc() - start, vmx_host.tsc_khz);
}

static void xstate_setup(void)
{
    xstate = (struct xstate_cpu){
        .has_xsave = vmx_host.has_xsave,
        .switch_xcr0 = vmx_host.host_xcr0,
        .xcr0 = vmx_host.has_xsave ? xgetbv(0) : 0,
        .set_xcr0 = hw_xsetbv0,
        .save = vmx_host.has_xsave ? hw_xsave : hw_fxsave,
        .restore = vmx_host.has_xsave ? hw_xrstor : hw_fxrstor,
    };
}

void vmx_run_guests(struct vm *vms, unsigned count)
{
    struct vcpu *loaded = NULL;
    unsigned cursor = 0;
    xstate_setup();
    serial_set_queueing(true); /* a guest's console line must not hold its exit for milliseconds */
    for (struct vcpu *v; (v = sched_pick(vms, count, &cursor));) {
        /* The slice starts now: switching to the vCPU is done on its behalf. */
        uint64_t start = rdtsc();
        if (v != loaded) {
            if (loaded)
                save_unswitched_state(loaded);
            mitigate_guest_switch();
            if (vmptrld(v->vmcs_pa)) {
                vm_stop(v->vm, "VMPTRLD of its VMCS failed");
                loaded = NULL;
                continue;
            }
            load_unswitched_state(v);
            loaded = v;
        }
        v->slices++;
        run_slice(v, start);
    }
    serial_set_queueing(false);
    /* Hand the CPU back as the host had it. */
    xstate_use_xcr0(&xstate, vmx_host.host_xcr0);
}
