/* A virtual CPU: its registers, VMCS, the state the VMCS does not switch, its run state and
 * statistics, and the small helpers every exit handler uses. The machine it belongs to (memory,
 * devices, outcome) is its struct vm (guest/vm.h). Pure data; nothing here touches hardware. */
#ifndef TESSERA_GUEST_VCPU_H
#define TESSERA_GUEST_VCPU_H

#include <stdbool.h>
#include "x86.h"
#include <stddef.h>
#include "guest/event_queue.h"
#include <stdint.h>
#include "vmx/vmcs.h"

/* General-purpose registers by their x86 encoding number. gpr[REG_RSP] is not used while the
 * guest runs: the VMCS holds RSP; use vcpu_gpr_read/write. */
enum gpr_index {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

#define MTRR_VAR_COUNT 8

struct vm;                      /* guest/vm.h */

enum vcpu_state {
    VCPU_RUNNABLE,
    VCPU_HALTED,                /* executed HLT; waits for an event */
    VCPU_STOPPED,               /* its VM has ended: it never runs again */
};

struct vcpu {
    uint64_t gpr[16];           /* saved and restored by vmx_enter(); keep first (asm offsets) */
    uint64_t cr2;               /* not in the VMCS: kept in the CPU while the guest is loaded */
    bool cr2_pending;           /* an emulated #PF set cr2: load it before the next entry */
    bool launched;              /* VMLAUNCH done; next entry is VMRESUME */
    bool pause_exiting;         /* PAUSE exits: on only while its VM has device work pending */
    bool waits_for_device;      /* it spun on PAUSE while device work was pending */
    uint64_t vmcs_pa;
    void *vmcs;

    /* Architectural state the VMCS does not hold, kept per vCPU and swapped when another vCPU is loaded. */
    uint64_t xcr0;
    void *xsave_area;           /* 64-byte aligned, sized from CPUID 0xD */
    uint64_t kernel_gs_base, star, lstar, cstar, sfmask, tsc_aux;
    uint64_t dr[4], dr6;        /* DR7 and DEBUGCTL live in the VMCS (load/save debug controls) */

    /* Emulated MSRs and registers */
    uint64_t apic_base;
    uint64_t mtrr_def_type;
    uint64_t mtrr_fixed[11];
    uint64_t mtrr_var[2 * MTRR_VAR_COUNT];
    uint64_t misc_enable;
    uint8_t cr8;                /* task-priority register as the guest sees it */

    struct vm *vm;              /* the machine this vCPU belongs to */
    unsigned index;             /* its place in vm->vcpus */
    enum vcpu_state state;
    struct vcpu_events events;  /* pending events; they reach the VMCS only in vcpu_commit_events */

    /* Statistics; the summary reports them per VM, summed over its vCPUs. */
    uint64_t exit_counts[EXIT_REASON_COUNT];
    uint64_t exits_total;
    uint64_t slices;            /* times the scheduler picked this vCPU */
    uint64_t run_tsc;           /* TSC ticks spent in this vCPU (guest + its exits) */
    uint64_t max_slice_tsc;     /* the longest slice it was given, root-mode time included */
};

/* What an exit handler asks the dispatcher to do next. The dispatcher, not the handler,
 * advances RIP, so every handler that emulates an instruction simply returns EXIT_ADVANCE. */
enum exit_result {
    EXIT_CONTINUE,              /* re-enter without touching RIP (fault injected, or restart) */
    EXIT_ADVANCE,               /* the instruction is done: RIP += exit instruction length */
    EXIT_ADVANCE_YIELD,         /* as EXIT_ADVANCE, then let another vCPU run */
    EXIT_YIELD,                 /* let another vCPU run; RIP untouched */
    EXIT_STOP,                  /* the VM has ended (vm_end/vm_stop was called) */
};

/* Register access that knows RSP lives in the VMCS. */
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned reg);
void vcpu_gpr_write(struct vcpu *v, unsigned reg, uint64_t value);

/* Event injection. Every event reaches the VM-entry interruption fields through the vCPU's queue
 * (v->events) and vcpu_commit_events, once per VM entry; nothing else writes those fields. An
 * exception queued while another is pending combines with it as the SDM says (event_combine); a
 * triple fault stops the VM, and the queue functions then return EXIT_STOP. */

/* Queue a hardware exception for the next VM entry, raised by the instruction at RIP (which
 * therefore does not complete). For a fault-class vector it sets RFLAGS.RF, which the CPU
 * pushes set for every fault but an instruction-breakpoint #DB (SDM Vol. 3B 17.3.1.1): VM entry
 * pushes the guest's RFLAGS as it is. Returns EXIT_CONTINUE (EXIT_STOP after a triple fault). */
enum exit_result vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
/* The same for #PF, with the faulting linear address that goes to CR2 as the event is committed. */
enum exit_result vcpu_inject_page_fault(struct vcpu *v, uint32_t error, uint64_t linear);
/* Queue an event exactly as the CPU described it (interruption-information format, with its
 * error code and, for software events, instruction length); RFLAGS is left alone. For
 * reflecting an event the CPU itself raised: the exit saved RF as that event's delivery would
 * have pushed it (SDM Vol. 3C 27.3.3). An exception ends the STI/MOV-SS shadow of the
 * instruction that raised it, as the injecting entry does. Returns as vcpu_inject_exception. */
enum exit_result vcpu_inject_event(struct vcpu *v, uint32_t info, uint32_t error, uint32_t instr_len);
/* The same, with everything in one struct queued_event (a #PF's CR2 among it). */
enum exit_result vcpu_queue_event(struct vcpu *v, const struct queued_event *e);
/* An event whose delivery an exit interrupted (IDT-vectoring information, SDM 27.2.4) goes back
 * in the queue to be delivered again, with its instruction length if it is a software event.
 * An event a handler queued for this exit comes first and this one is dropped, as the CPU
 * would raise it again when the instruction re-executes. */
void vcpu_requeue_interrupted_event(struct vcpu *v, uint32_t info, uint32_t error, uint32_t instr_len);
/* An NMI for this vCPU: delivered when nothing blocks NMIs, otherwise NMI-window exiting (with
 * virtual NMIs) brings the vCPU back as soon as they unblock. */
void vcpu_queue_nmi(struct vcpu *v);
/* Where this vCPU's external interrupts come from; NULL for none. */
void vcpu_set_interrupt_source(struct vcpu *v, const struct interrupt_source *source);
/* The event the next commit would inject from the exception slot, or NULL. */
static inline const struct queued_event *vcpu_pending_event(const struct vcpu *v)
{
    return v->events.has_event ? &v->events.event : NULL;
}

/* Just before VM entry: move at most one event into the VMCS, in SDM priority order (an
 * exception or an interrupted event, then an NMI, then an external interrupt), set v->cr2 with
 * cr2_pending for a committed #PF, and set or clear the window-exiting controls for what must
 * still wait. Inline: its fast path (nothing pending, no window open) runs on every entry. */
void vcpu_commit_events_slow(struct vcpu *v);
static inline void vcpu_commit_events(struct vcpu *v)
{
    const struct vcpu_events *q = &v->events;
    if (q->has_event || q->nmi_pending || q->irq.highest_deliverable || q->interrupt_window || q->nmi_window)
        vcpu_commit_events_slow(v);
}

/* The guest's current CPL and execution mode, read from the VMCS. */
unsigned vcpu_cpl(void);
enum cpu_mode { MODE_REAL, MODE_PROT16, MODE_PROT32, MODE_LONG64, MODE_COMPAT16, MODE_COMPAT32 };
enum cpu_mode vcpu_mode(void);

/* Single-step mode as the CPU applies it: RFLAGS.TF=1 traps after every instruction, and after
 * every iteration of a REP string instruction, unless IA32_DEBUGCTL.BTF=1 turns it into a trap
 * on taken branches (SDM Vol. 3B 17.3.1.4, 17.4.3); no instruction Tessera completes is a
 * branch. The trap is BS in the pending debug exceptions (the same bit as in DR6), delivered
 * after VM entry. */
static inline bool vcpu_single_step_mode(uint64_t rflags)
{
    return (rflags & RFLAGS_TF) && !(vmcs_read(VMCS_GUEST_DEBUGCTL) & DEBUGCTL_BTF);
}

static inline void vcpu_raise_single_step(void)
{
    vmcs_write(VMCS_GUEST_PENDING_DBG, vmcs_read(VMCS_GUEST_PENDING_DBG) | DR6_BS);
}

/* The instruction at RIP completed: RIP += length, and what the CPU does at the end of an
 * instruction. Inline: it runs on almost every exit.
 * - STI and MOV-SS blocking last one instruction: this one.
 * - RF is cleared by every instruction that completes; an instruction exit saves it as 0, an
 *   EPT-violation exit as 1 (SDM Vol. 3C 27.3.3), so an emulated MMIO access must clear it.
 * - In single-step mode the instruction ends with a single-step trap. Also in a MOV-SS or STI
 *   shadow: the trap was held only until this instruction's end, and the blocking is gone
 *   now, so the entry check of SDM 26.3.1.5 (BS with TF under blocking) no longer applies.
 *   Bits already pending (a data breakpoint the MOV SS before hit) stay and come with it. */
static inline void vcpu_advance_rip_by(struct vcpu *v, uint64_t length)
{
    (void)v;
    uint64_t rip = vmcs_read(VMCS_GUEST_RIP) + length;
    /* Outside 64-bit mode EIP wraps at 4 GiB; only a RIP past it needs the (costly) mode. */
    if ((rip >> 32) && vcpu_mode() != MODE_LONG64)
        rip &= 0xffffffffull;
    vmcs_write(VMCS_GUEST_RIP, rip);
    uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    if (rflags & RFLAGS_RF)
        vmcs_write(VMCS_GUEST_RFLAGS, rflags & ~RFLAGS_RF);
    if (vcpu_single_step_mode(rflags))
        vcpu_raise_single_step();
}

/* An iteration of the REP string instruction at RIP completed and more remain (it stopped at
 * a batch limit, after an iteration that hit a data or I/O breakpoint, or after the one
 * iteration single-step mode allows): RIP stays on it, and the CPU's rules for an event
 * between iterations apply (SDM Vol. 3B 17.3.1.1): RF is set, so the instruction breakpoint
 * already reported when it began does not fire again as it resumes (an instruction exit saved
 * RF as 0, Vol. 3C 27.3.3); in single-step mode this iteration ends with the trap. Not for a
 * REP stopped by a fault: vcpu_inject_exception does what that needs. */
static inline void vcpu_repeat_instruction(struct vcpu *v)
{
    (void)v;
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    if (!(rflags & RFLAGS_RF))
        vmcs_write(VMCS_GUEST_RFLAGS, rflags | RFLAGS_RF);
    if (vcpu_single_step_mode(rflags))
        vcpu_raise_single_step();
}

/* The same with the exit's own instruction length (instruction exits report it). */
static inline void vcpu_advance_rip(struct vcpu *v)
{
    vcpu_advance_rip_by(v, vmcs_read(VMCS_EXIT_INSTR_LEN));
}

#endif
