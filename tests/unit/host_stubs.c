/* Console capture for host tests: the hypervisor's serial_write lands here. */
#include <stdint.h>
#include <string.h>
#include "host_stubs.h"
#include "hw/platform.h"

static char console[1 << 16];
static size_t console_len;

void serial_write(const char *s, uint64_t len)
{
    for (uint64_t i = 0; i < len && console_len + 1 < sizeof(console); i++)
        console[console_len++] = s[i];
    console[console_len] = 0;
}

const char *host_console(void)
{
    return console;
}

void host_console_reset(void)
{
    console_len = 0;
    console[0] = 0;
}

/* The external-interrupt handler talks to the local APIC (interrupt_hw.c); the dispatch table
 * references it, so host tests get a stand-in that counts calls. */
#include "exit/handlers.h"
unsigned host_external_interrupts;
enum exit_result exit_handle_external_interrupt(struct vcpu *v)
{
    (void)v;
    host_external_interrupts++;
    return EXIT_CONTINUE;
}

/* The live debug registers (exit/debug_regs_hw.c) as a table tests fill, indexed by register
 * number, with a count of reads so tests can tell that the common path reads none. */
#include "exit/debug_regs.h"
uint64_t host_debug_regs[8];
unsigned host_debug_reg_reads;
uint64_t debug_reg_read(unsigned n)
{
    host_debug_reg_reads++;
    return (n < 4 || n == 6) ? host_debug_regs[n] : 0;
}
void debug_reg_write(unsigned n, uint64_t value)
{
    if (n < 4 || n == 6)
        host_debug_regs[n] = value;
}
