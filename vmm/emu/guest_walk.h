/* Walks the guest's own page tables (none, 32-bit, PAE, 4-level) to turn a linear address into
 * a guest-physical one, the way the guest's CPU would. Reads page tables from guest RAM only. */
#ifndef TESSERA_GUEST_WALK_H
#define TESSERA_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/vm.h"

enum walk_access { WALK_READ = 0, WALK_WRITE = 1, WALK_FETCH = 2 };

struct walk_fault {
    uint64_t linear;        /* -> CR2 */
    uint32_t error_code;    /* #PF error code (P, W/R, U/S, RSVD, I/D bits) */
};

/* Current paging state comes from the VMCS (CR0, CR3, CR4, EFER, CS access rights for CPL).
 * Returns 0 and *gpa, or -1 and *fault describing the #PF the guest must receive. */
int guest_linear_to_gpa(struct vcpu *v, uint64_t linear, enum walk_access access,
                        uint64_t *gpa, struct walk_fault *fault);

/* Copy len bytes at a linear address out of guest memory (page by page; bytes not in RAM
 * read as the empty bus does). Returns 0 or -1 with *fault. */
int guest_read_linear(struct vcpu *v, uint64_t linear, void *buf, size_t len,
                      enum walk_access access, struct walk_fault *fault);

/* Inject the #PF described by fault (sets CR2). Returns EXIT_CONTINUE. */
enum exit_result guest_inject_page_fault(struct vcpu *v, const struct walk_fault *fault);

#endif
