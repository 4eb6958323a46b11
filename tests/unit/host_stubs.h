/* Host-test stand-ins for the hypervisor's console: everything printed is captured so tests
 * can assert on diagnostics. */
#ifndef TESSERA_HOST_STUBS_H
#define TESSERA_HOST_STUBS_H

const char *host_console(void);     /* all output since the last reset, NUL-terminated */
void host_console_reset(void);

/* Stand-in for the CPU's DR0-DR3 and DR6 (exit/debug_regs.h): index 0-3 and 6; reads counted. */
#include <stdint.h>
extern uint64_t host_debug_regs[8];
extern unsigned host_debug_reg_reads;

#endif
