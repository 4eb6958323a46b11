/* A vCPU's pending-event queue: exceptions (combined by the SDM's double-fault rules), events an
 * exit interrupted, NMIs and an external-interrupt source, committed to the VMCS once per entry.
 * The only writer of the VM-entry interruption fields. Pure logic over the VMCS accessor. */
#include "guest/vm.h"
#include "x86.h"
#include "vmx/vmcs.h"

/* Interruption types of the information format, bits 10:8: 3-6 are hardware exception,
 * software interrupt, privileged software exception (INT1), software exception (INT3/INTO); 0
 * and 2 are interrupts and NMIs, 7 is no event at all (a pending MTF exit). */
#define INTR_TYPE_OF(info)        (((info) >> 8) & 7)
#define INTR_TYPE_IS_EXCEPTION(t) ((t) >= 3 && (t) <= 6)
#define INTR_TYPE_IS_SOFTWARE(t)  ((t) >= 4 && (t) <= 6)
#define INTR_VECTOR_OF(info)      ((info) & 0xFFu)
#define INTR_INFO_NMI_UNBLOCKING  (1u << 12)    /* exit information only; undefined on entry */

/* Fault-class exceptions (SDM Vol. 3A table 6-1): the CPU delivers them with RF set in the pushed
 * RFLAGS, so the faulting instruction's own instruction breakpoint does not fire again when it
 * is restarted. #DB is a fault only for an instruction breakpoint and then pushes RF as it was;
 * #BP and #OF are traps; #DF and #MC are aborts. */
#define FAULT_VECTORS ((1u << VEC_DE) | (1u << VEC_BR) | (1u << VEC_UD) | (1u << VEC_NM) | (1u << VEC_TS) | \
                       (1u << VEC_NP) | (1u << VEC_SS) | (1u << VEC_GP) | (1u << VEC_PF) | (1u << VEC_MF) | \
                       (1u << VEC_AC) | (1u << VEC_XM) | (1u << VEC_VE) | (1u << VEC_CP))

/* Exception classes for double-fault detection (SDM Vol. 3A table 6-4); the rest are benign. */
#define CONTRIBUTORY_VECTORS ((1u << VEC_DE) | (1u << VEC_TS) | (1u << VEC_NP) | (1u << VEC_SS) | (1u << VEC_GP))

enum exception_class { CLASS_BENIGN, CLASS_CONTRIBUTORY, CLASS_PAGE_FAULT, CLASS_DOUBLE_FAULT };

/* Only hardware exceptions have a class; interrupts, NMIs and software events are benign. */
static enum exception_class exception_class_of(uint32_t info)
{
    if ((info & (7u << 8)) != INTR_TYPE_HW_EXCEPTION)
        return CLASS_BENIGN;
    uint32_t vector = INTR_VECTOR_OF(info);
    if (vector == VEC_DF)
        return CLASS_DOUBLE_FAULT;
    if (vector == VEC_PF)
        return CLASS_PAGE_FAULT;
    if (vector < 32 && ((CONTRIBUTORY_VECTORS >> vector) & 1))
        return CLASS_CONTRIBUTORY;
    return CLASS_BENIGN;
}

enum event_combination event_combine(uint32_t first_info, uint32_t second_info)
{
    enum exception_class first = exception_class_of(first_info), second = exception_class_of(second_info);
    bool second_serious = second == CLASS_CONTRIBUTORY || second == CLASS_PAGE_FAULT;
    switch (first) {
    case CLASS_DOUBLE_FAULT:
        return second_serious ? EVENT_TRIPLE_FAULT : EVENT_SERIAL;
    case CLASS_PAGE_FAULT:
        return second_serious ? EVENT_DOUBLE_FAULT : EVENT_SERIAL;
    case CLASS_CONTRIBUTORY:
        return second == CLASS_CONTRIBUTORY ? EVENT_DOUBLE_FAULT : EVENT_SERIAL;
    default:
        return EVENT_SERIAL;
    }
}

/* Real mode delivers no error codes; neither may we (VM entry would fail). */
static bool delivers_error_code(void)
{
    return vmcs_read(VMCS_GUEST_CR0) & CR0_PE;
}

enum exit_result vcpu_queue_event(struct vcpu *v, const struct queued_event *e)
{
    struct vcpu_events *q = &v->events;
    /* An exception (hardware or software) comes from the instruction at RIP, and a VM entry
     * that injects it leaves no STI or MOV-SS blocking behind (SDM Vol. 3C 26.6.1): that
     * instruction's shadow ends here. Saying so in the VMCS also keeps the entry check of
     * 26.3.1.5 from demanding BS for TF=1 under blocking, which the CPU need not have saved
     * on an exit in a MOV-SS shadow (27.3.4). Interrupts and NMIs are another matter: they
     * must wait for the shadow to end, and the commit checks it. */
    if (INTR_TYPE_IS_EXCEPTION(INTR_TYPE_OF(e->info))) {
        uint64_t intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
        if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
            vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
    }
    struct queued_event next = *e;
    next.info |= INTR_INFO_VALID;
    if (q->has_event) {
        switch (event_combine(q->event.info, next.info)) {
        case EVENT_TRIPLE_FAULT:
            q->has_event = false;
            return vm_stop(v->vm, "triple fault: exception %u while delivering a double fault (a real machine would shut down)",
                           (unsigned)INTR_VECTOR_OF(next.info));
        case EVENT_DOUBLE_FAULT:
            /* #DF pushes an error code of 0. A #PF's CR2 stays loaded: the CPU writes CR2 as it
             * detects the page fault, before it knows the delivery will fail. */
            next = (struct queued_event){
                .info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_DF |
                        (delivers_error_code() ? INTR_INFO_DELIVER_ERROR : 0),
                .has_cr2 = next.has_cr2 || q->event.has_cr2,
                .cr2 = next.has_cr2 ? next.cr2 : q->event.cr2,
            };
            break;
        case EVENT_SERIAL:
            break;
        }
    }
    q->event = next;
    q->has_event = true;
    return EXIT_CONTINUE;
}

enum exit_result vcpu_inject_event(struct vcpu *v, uint32_t info, uint32_t error, uint32_t instr_len)
{
    return vcpu_queue_event(v, &(struct queued_event){ .info = info, .error = error, .instr_len = instr_len });
}

static uint32_t exception_info(uint8_t vector, bool has_error)
{
    uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;
    if (has_error && delivers_error_code())
        info |= INTR_INFO_DELIVER_ERROR;
    return info;
}

static void set_resume_flag_for_fault(uint8_t vector)
{
    if (vector < 32 && ((FAULT_VECTORS >> vector) & 1)) {
        uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
        if (!(rflags & RFLAGS_RF))
            vmcs_write(VMCS_GUEST_RFLAGS, rflags | RFLAGS_RF);
    }
}

enum exit_result vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    set_resume_flag_for_fault(vector);
    return vcpu_inject_event(v, exception_info(vector, has_error), error, 0);
}

enum exit_result vcpu_inject_page_fault(struct vcpu *v, uint32_t error, uint64_t linear)
{
    set_resume_flag_for_fault(VEC_PF);
    return vcpu_queue_event(v, &(struct queued_event){
        .info = exception_info(VEC_PF, true), .error = error, .has_cr2 = true, .cr2 = linear });
}

void vcpu_requeue_interrupted_event(struct vcpu *v, uint32_t info, uint32_t error, uint32_t instr_len)
{
    struct vcpu_events *q = &v->events;
    if (!(info & INTR_INFO_VALID) || q->has_event)
        return;
    q->event = (struct queued_event){
        .info = info & ~INTR_INFO_NMI_UNBLOCKING,
        .error = (info & INTR_INFO_DELIVER_ERROR) ? error : 0,
        .instr_len = instr_len,
    };
    q->has_event = true;
}

void vcpu_queue_nmi(struct vcpu *v)
{
    v->events.nmi_pending = true;
}

void vcpu_set_interrupt_source(struct vcpu *v, const struct interrupt_source *source)
{
    v->events.irq = source ? *source : (struct interrupt_source){ 0 };
}

static void write_entry_event(const struct queued_event *e)
{
    if (e->info & INTR_INFO_DELIVER_ERROR)
        vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, e->error);
    if (e->instr_len)  /* only software events use it (SDM Vol. 3C 24.8.3) */
        vmcs_write(VMCS_ENTRY_INSTR_LEN, e->instr_len);
    vmcs_write(VMCS_ENTRY_INTR_INFO, e->info);
}

/* Window-exiting controls: the VMCS is written only when what is wanted changes. */
static void set_windows(struct vcpu_events *q, bool interrupt_window, bool nmi_window)
{
    if (interrupt_window == q->interrupt_window && nmi_window == q->nmi_window)
        return;
    uint64_t proc = vmcs_read(VMCS_PROC_CONTROLS) & ~(uint64_t)(PROC_INTERRUPT_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING);
    if (interrupt_window)
        proc |= PROC_INTERRUPT_WINDOW_EXITING;
    if (nmi_window)
        proc |= PROC_NMI_WINDOW_EXITING;
    vmcs_write(VMCS_PROC_CONTROLS, proc);
    q->interrupt_window = interrupt_window;
    q->nmi_window = nmi_window;
}

void vcpu_commit_events_slow(struct vcpu *v)
{
    struct vcpu_events *q = &v->events;
    bool injected = false, want_interrupt_window = false, want_nmi_window = false;
    /* 1. An exception, software event or interrupted event: it belongs to the instruction at RIP. */
    if (q->has_event) {
        write_entry_event(&q->event);
        if (q->event.has_cr2) {
            v->cr2 = q->event.cr2;
            v->cr2_pending = true;  /* the run loop loads CR2 before this entry */
        }
        q->has_event = false;
        injected = true;
    }
    uint64_t intr = (q->nmi_pending || q->irq.highest_deliverable) ? vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) : 0;
    /* 2. An NMI, unless one is being handled or a shadow holds it (some CPUs let STI blocking
     * block NMIs too, and VM entry may refuse an NMI under it: SDM Vol. 3C 26.3.1.5). Without
     * virtual NMIs there is no NMI-window exiting; the NMI then waits for a later entry. */
    if (q->nmi_pending) {
        if (!injected && !(intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI))) {
            write_entry_event(&(struct queued_event){ .info = INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI });
            q->nmi_pending = false;
            injected = true;
        } else {
            want_nmi_window = vmcs_read(VMCS_PIN_CONTROLS) & PIN_VIRTUAL_NMIS;
        }
    }
    /* 3. An external interrupt, only with RFLAGS.IF=1 and no STI or MOV-SS shadow; it is taken
     * from the source (acknowledged) only when it is injected. */
    if (q->irq.highest_deliverable) {
        int vector = q->irq.highest_deliverable(q->irq.ctx);
        if (vector >= 0 && vector <= 0xFF) {
            bool open = (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
                        !(intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
            if (!injected && open) {
                if (q->irq.acknowledge)
                    q->irq.acknowledge(q->irq.ctx, (uint8_t)vector);
                write_entry_event(&(struct queued_event){ .info = INTR_INFO_VALID | INTR_TYPE_EXTERNAL | (uint32_t)vector });
            } else {
                want_interrupt_window = true;
            }
        }
    }
    set_windows(q, want_interrupt_window, want_nmi_window);
}
