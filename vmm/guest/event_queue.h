/* A vCPU's pending events (exceptions, NMI, external interrupts) as data, and the SDM rules that
 * combine two exceptions. The queue operations themselves take the vCPU (guest/vcpu.h). */
#ifndef TESSERA_GUEST_EVENT_QUEUE_H
#define TESSERA_GUEST_EVENT_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Interruptibility state bit 3 (SDM Vol. 3C table 24-3): an NMI is being handled, or with
 * virtual NMIs a virtual NMI is. */
#define INTERRUPTIBILITY_NMI (1u << 3)

/* Where a vCPU's external interrupts come from: its LAPIC (issue 8), or a test's fake. Consulted
 * when the queue is committed, just before VM entry, so the vector is the one deliverable then. */
struct interrupt_source {
    /* The highest-priority vector the source would deliver now, or -1 when it has none. */
    int (*highest_deliverable)(void *ctx);
    /* The CPU took that vector (INTA): the source marks it in service. */
    void (*acknowledge)(void *ctx, uint8_t vector);
    void *ctx;
};

/* One event in VM-entry interruption-information format (SDM Vol. 3C 24.8.3). */
struct queued_event {
    uint32_t info;              /* INTR_INFO_VALID set */
    uint32_t error;             /* delivered when info has INTR_INFO_DELIVER_ERROR */
    uint32_t instr_len;         /* software events only: the length of INT n/INT3/INTO/INT1 */
    bool has_cr2;               /* a #PF whose faulting address goes to CR2 at commit */
    uint64_t cr2;
};

/* The queue. At most one exception-class event is pending: a second one combines with it
 * (event_combine). An NMI and the interrupt source wait behind it; one event enters the VMCS
 * per VM entry, the others ask for a window exit. */
struct vcpu_events {
    bool has_event;             /* an exception, software event, or an event an exit interrupted */
    struct queued_event event;
    bool nmi_pending;
    struct interrupt_source irq;        /* highest_deliverable NULL: no source */
    bool interrupt_window;      /* what the VMCS's interrupt-window exiting control is set to */
    bool nmi_window;            /* and its NMI-window exiting control */
};

/* What a second exception raised while delivering a first one becomes (SDM Vol. 3A 6.15,
 * table 6-5): handled serially (the second replaces the first, whose instruction re-executes
 * and raises it again if it still applies), a double fault, or a triple fault (shutdown). */
enum event_combination { EVENT_SERIAL, EVENT_DOUBLE_FAULT, EVENT_TRIPLE_FAULT };
enum event_combination event_combine(uint32_t first_info, uint32_t second_info);

#endif
