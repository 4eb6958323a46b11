/* The CPU's debug registers DR0-DR3 and DR6 as they are while a guest is loaded. The run loop
 * switches them eagerly on guest switch and root mode sets no breakpoints, so between exit and
 * entry they hold the loaded guest's own values (DR7 lives in the VMCS instead). */
#ifndef TESSERA_EXIT_DEBUG_REGS_H
#define TESSERA_EXIT_DEBUG_REGS_H

#include <stdint.h>

/* n is 0-3 or 6; any other n reads 0 and writes nothing. In host tests a table stands in
 * (tests/unit/host_stubs.c). */
uint64_t debug_reg_read(unsigned n);
void debug_reg_write(unsigned n, uint64_t value);

#endif
