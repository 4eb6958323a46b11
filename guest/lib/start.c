/* The first C code of every guest program: exceptions first, then the boot information. */
#include "boot.h"
#include "cpu.h"
#include "fault.h"
#include "hypercall.h"

void start64(uint32_t boot_magic, uint32_t info_paddr) __attribute__((noreturn, used));

static struct boot_info boot;

void start64(uint32_t boot_magic, uint32_t info_paddr)
{
    fault_init();
    boot_info_parse(boot_magic, info_paddr, &boot);
    guest_main(&boot);
}

void guest_exit(uint8_t code)
{
    outb(PORT_DEBUG_EXIT, code);
    halt_forever();
    __builtin_unreachable();
}
