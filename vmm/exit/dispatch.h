/* The exit dispatcher, inline so the run loop pays no call for it: count the exit, call the
 * handler from the table in dispatch.c (the table is the list of what Tessera handles), advance
 * RIP once for handlers that emulated an instruction, and re-deliver an event the exit
 * interrupted. Unknown reasons stop the guest with a register dump. */
#ifndef TESSERA_EXIT_DISPATCH_H
#define TESSERA_EXIT_DISPATCH_H

#include "exit/handlers.h"
#include "vmx/vmcs.h"

typedef enum exit_result (*exit_handler_fn)(struct vcpu *v);
extern const exit_handler_fn exit_handlers[EXIT_REASON_COUNT];

/* The slow paths, out of line. */
enum exit_result exit_unhandled(struct vcpu *v, uint32_t exit_reason);
void exit_redeliver_interrupted_event(struct vcpu *v);

/* Exits that can interrupt the delivery of an event to the guest; that event must be
 * delivered again on the next entry (SDM 27.2.4). Instruction exits never do. */
#define VECTORING_EXITS ((1ull << EXIT_REASON_EXCEPTION_NMI) | (1ull << EXIT_REASON_EXTERNAL_INTERRUPT) | \
                         (1ull << EXIT_REASON_TASK_SWITCH) | (1ull << EXIT_REASON_EPT_VIOLATION) |        \
                         (1ull << EXIT_REASON_EPT_MISCONFIG) | (1ull << EXIT_REASON_APIC_ACCESS) |        \
                         (1ull << EXIT_REASON_PREEMPTION_TIMER))

static inline enum exit_result exit_dispatch_inline(struct vcpu *v, uint32_t exit_reason)
{
    uint32_t basic = exit_reason & 0xFFFF;
    v->exits_total++;
    if (basic >= EXIT_REASON_COUNT || !exit_handlers[basic])
        return exit_unhandled(v, exit_reason);
    v->exit_counts[basic]++;
    enum exit_result r = exit_handlers[basic](v);
    if (r == EXIT_ADVANCE || r == EXIT_ADVANCE_YIELD)
        vcpu_advance_rip(v);
    else if (r != EXIT_STOP && basic < 64 && ((VECTORING_EXITS >> basic) & 1))
        exit_redeliver_interrupted_event(v);
    return r;
}

#endif
