/* A guest that never ends by itself: interrupts off, one jump to itself. Tessera must keep the
 * other guests running (preemption timer) and end this one by its time limit. */
#include "boot.h"
#include "console.h"

void guest_main(const struct boot_info *boot)
{
    (void)boot;
    console_printf("spinning forever\n");
    asm volatile("cli\n1:\n\tjmp 1b" ::: "memory");
    __builtin_unreachable();
}
