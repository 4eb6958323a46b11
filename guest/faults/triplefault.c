/* A guest that triple-faults on purpose: with an empty IDT (limit 0) the breakpoint cannot be
 * delivered, nor the #GP, nor the #DF that follow. Tessera must stop this guest alone. */
#include "boot.h"
#include "console.h"

struct idt_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

void guest_main(const struct boot_info *boot)
{
    (void)boot;
    console_printf("triplefault: loading an empty IDT, then int3\n");
    static const struct idt_pointer empty = { .limit = 0, .base = 0 };
    asm volatile("lidt %0\n\t"
                 "int3\n\t"
                 "ud2" :: "m"(empty) : "memory");
    console_printf("triplefault: still running after int3, which should not happen\n");
    guest_exit(1);
}
