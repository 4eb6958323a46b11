/* Debug events for instructions Tessera emulates. The CPU raises data and I/O breakpoints and
 * single-step traps for the instructions it executes; for the ones that exit and that Tessera
 * completes instead, these functions decide what the CPU would have raised and report it
 * through the VMCS pending-debug-exceptions field, so the #DB arrives after the instruction
 * exactly as on the CPU. */
#ifndef TESSERA_EXIT_DEBUG_EVENTS_H
#define TESSERA_EXIT_DEBUG_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/guest.h"

/* An emulated instruction accessed [linear, linear + size) (a data access, write or read). */
void debug_note_memory_access(struct vcpu *v, uint64_t linear, unsigned size, bool write);
/* An emulated IN/OUT/INS/OUTS accessed ports [port, port + size). */
void debug_note_io_access(struct vcpu *v, uint16_t port, unsigned size);

#endif
