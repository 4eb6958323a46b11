/* Completes a guest memory access that EPT could not satisfy (a device region or the empty
 * bus): fetches the instruction at CS:RIP through the guest's page tables, decodes it, performs
 * it against the guest-physical bus and updates registers and RFLAGS as the CPU would. */
#ifndef TESSERA_MMIO_EMULATE_H
#define TESSERA_MMIO_EMULATE_H

#include "guest/vm.h"

/* Elements of a REP string instruction done per exit; the rest run when the CPU re-executes it
 * and exits again, so one exit never holds the host for long: 4096 empty-bus STOSB took 1.2 ms
 * under Bochs, 256 take well under a tenth of a millisecond. */
#define MMIO_REP_ELEMENTS_PER_EXIT 256

/* EPT-violation exit qualification (SDM Vol. 3C 28.2.1, Table 28-7). */
#define EPT_QUAL_READ           (1u << 0)
#define EPT_QUAL_WRITE          (1u << 1)
#define EPT_QUAL_FETCH          (1u << 2)
#define EPT_QUAL_LINEAR_VALID   (1u << 7)   /* the guest-linear-address field is valid */
#define EPT_QUAL_TRANSLATION    (1u << 8)   /* with bit 7: the access was to the translation of
                                             * that linear address, not a paging-structure entry */

/* exit_gpa: the faulting guest-physical address from the EPT-violation exit. It (with the
 * exit's guest-linear address) spares a page walk when it is the translation of the operand's
 * linear address; otherwise every address is computed from the instruction and translated
 * through the guest's paging, as the CPU does.
 * EPT-violation exits report no instruction length, so this function moves RIP itself
 * (vcpu_advance_rip_by with the decoded length) and returns EXIT_CONTINUE when done; also
 * EXIT_CONTINUE when an exception was injected (#UD, #NM, #GP, #SS, #PF, #AC, as the CPU
 * would raise them) or a long REP was cut short (RCX/RSI/RDI updated, RIP kept so the CPU
 * re-executes it). EXIT_STOP when the instruction cannot be emulated (the guest is stopped
 * with vm_stop naming the bytes). */
enum exit_result mmio_emulate(struct vcpu *v, uint64_t exit_gpa);

#endif
