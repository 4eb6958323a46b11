/* A guest whose IDT lies on the empty bus above its RAM, so delivering any exception reads
 * the gate from guest-physical space that is no RAM: the VM exit comes with the event in the
 * IDT-vectoring information. First a #GP from a load through a non-canonical address (a MOV,
 * which an MMIO emulator could decode and "complete"), then int3. Tessera must not emulate the
 * instruction at RIP and drop the event: it handles the delivery as the CPU would on that bus
 * or stops this guest with a diagnostic naming the lost event. Reaching a line after either
 * exception means the event was lost. */
#include "boot.h"
#include "console.h"

#define NON_CANONICAL 0x8000000000000000ull
#define IDT_LIMIT     (256 * 16 - 1)
#define EMPTY_BUS_MIN 0x100001000ull      /* 4 GiB + 4 KiB, mapped by lib/long_mode.S */
#define MAPPED_LIMIT  (8ull << 30)

struct idt_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

void guest_main(const struct boot_info *boot)
{
    uint64_t above = (boot->ram_end + 0x1fffffull) & ~0x1fffffull;
    uint64_t base = above + 0x1000 > EMPTY_BUS_MIN ? above + 0x1000 : EMPTY_BUS_MIN;
    if (base + IDT_LIMIT + 1 > MAPPED_LIMIT) {
        console_printf("lostevent: RAM reaches too high for an empty-bus IDT below 8 GiB\n");
        guest_exit(2);
    }
    struct idt_pointer idt = { .limit = IDT_LIMIT, .base = base };
    console_printf("lostevent: IDT at 0x%lx (no RAM there), then a #GP from a load of 0x%llx\n", base, NON_CANONICAL);
    uint64_t loaded = 0;
    asm volatile("lidt %1\n\t"
                 "movq (%2), %0"
                 : "+r"(loaded) : "m"(idt), "r"(NON_CANONICAL) : "memory");
    console_printf("lostevent: the #GP was lost: the load went on and gave 0x%lx\n", loaded);
    asm volatile("int3" ::: "memory");
    console_printf("lostevent: the #BP was lost too: int3 went on\n");
    guest_exit(1);
}
