/* Completes a guest memory access that EPT could not satisfy (a device region or the empty
 * bus): fetches the instruction at CS:RIP through the guest's page tables, decodes it, performs
 * it against the guest-physical bus and updates registers. */
#ifndef TESSERA_MMIO_EMULATE_H
#define TESSERA_MMIO_EMULATE_H

#include "guest/guest.h"

/* gpa: the faulting guest-physical address from the EPT-violation exit.
 * EPT-violation exits report no instruction length, so this function moves RIP itself
 * (vcpu_advance_rip_by with the decoded length) and returns EXIT_CONTINUE when done; also
 * EXIT_CONTINUE when a fault was injected or a long REP was cut short (RCX/RSI/RDI updated, RIP
 * kept so the CPU re-executes it). EXIT_STOP when the instruction cannot be emulated (the guest
 * is stopped with guest_stop naming the bytes). */
enum exit_result mmio_emulate(struct guest *g, uint64_t gpa);

#endif
