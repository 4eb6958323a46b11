/* Debug events for instructions Tessera emulates. The CPU raises data and I/O breakpoints and
 * single-step traps for the instructions it executes; for the ones that exit and that Tessera
 * completes instead, these functions decide what the CPU would have raised and report it
 * through the VMCS pending-debug-exceptions field, so the #DB arrives after the instruction
 * exactly as on the CPU. (Single-step is raised by vcpu_advance_rip_by, guest/vcpu.h. General
 * detect needs nothing here: MOV DR does not exit, so the CPU applies DR7.GD itself.) */
#ifndef TESSERA_EXIT_DEBUG_EVENTS_H
#define TESSERA_EXIT_DEBUG_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/vm.h"

/* Pending debug exceptions (SDM Vol. 3C table 24-4): B0-B3 and BS sit where DR6 has them
 * (DR6_B(n), DR6_BS); bit 12 says a matched data or I/O breakpoint was enabled in DR7. Only
 * bit 12 or BS makes VM entry deliver a #DB, which then sets the recorded Bn in DR6. */
#define PENDING_DBG_ENABLED_BP (1ull << 12)

/* An emulated instruction accessed [linear, linear + size) (a data access, write or read; a
 * read-modify-write counts as a write). Call it once the access has happened: a faulting
 * access raises no data breakpoint (the fault's injection drops pending debug exceptions
 * anyway, SDM Vol. 3C 26.6.3).
 * Returns true when an enabled breakpoint matched, i.e. a #DB trap is now pending: a REP
 * string instruction must stop after the current iteration (SDM Vol. 3B 17.3.1.2), leaving RIP
 * on the instruction with vcpu_repeat_instruction() if iterations remain. */
bool debug_note_memory_access(struct vcpu *v, uint64_t linear, unsigned size, bool write);
/* An emulated IN/OUT/INS/OUTS accessed ports [port, port + size); I/O breakpoints need the
 * guest's CR4.DE. Same call rule and result as debug_note_memory_access. */
bool debug_note_io_access(struct vcpu *v, uint16_t port, unsigned size);

#endif
