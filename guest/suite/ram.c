/* Every 8-byte word of guest RAM (the memory map's RAM ranges) is saved, complemented, read
 * back and restored, including the suite's own code, stack and page tables. The window between
 * complement and restore is one asm statement that touches nothing else, so:
 *   - words of walker A's own code are walked by walker B (an identical copy elsewhere);
 *   - words of the live page tables are walked with CR3 on a spare set of tables;
 *   - interrupts are off and nothing in the window can fault. */
#include "console.h"
#include "cpu.h"
#include "ram_layout.h"
#include "suite.h"
#include "tap.h"

#define WALK_OK 1ull      /* never a word address */

struct walk_failure {
    uint64_t addr, saved, seen, restored;
};

static struct walk_failure failure;

/* Returns WALK_OK, or the address of the first word that did not hold its complement or did
 * not get its value back (details in `failure`). Kept free of calls and stack use. */
#define DEFINE_RAM_WALKER(name, section_name)                                                  \
    __attribute__((noipa, section(section_name))) static uint64_t name(uint64_t start, uint64_t end) \
    {                                                                                          \
        for (uint64_t p = start; p < end; p += 8) {                                            \
            uint64_t saved, seen, restored;                                                    \
            asm volatile("movq (%3), %0\n\t"                                                   \
                         "notq (%3)\n\t"                                                       \
                         "movq (%3), %1\n\t"                                                   \
                         "movq %0, (%3)\n\t"                                                   \
                         "movq (%3), %2"                                                       \
                         : "=&r"(saved), "=&r"(seen), "=&r"(restored) : "r"(p) : "memory");    \
            if (seen != ~saved || restored != saved) {                                         \
                failure = (struct walk_failure){ p, saved, seen, restored };                   \
                return p;                                                                      \
            }                                                                                  \
        }                                                                                      \
        return WALK_OK;                                                                        \
    }
DEFINE_RAM_WALKER(ram_walker_a, ".text.ram_walker_a")
DEFINE_RAM_WALKER(ram_walker_b, ".text.ram_walker_b")

static bool inside(uint64_t addr, const char *start, const char *end)
{
    return addr >= SYMBOL_ADDRESS(start) && addr < SYMBOL_ADDRESS(end);
}

static uint64_t walk_piece(uint64_t start, uint64_t end)
{
    if (inside(start, __ram_walker_a_start, __ram_walker_a_end))
        return ram_walker_b(start, end);
    if (inside(start, __page_tables_start, __page_tables_end)) {
        uint64_t cr3 = read_cr3();
        write_cr3(SYMBOL_ADDRESS(spare_page_tables_root));
        uint64_t result = ram_walker_a(start, end);
        write_cr3(cr3);
        return result;
    }
    return ram_walker_a(start, end);
}

void suite_ram(const struct suite_env *env)
{
    const struct boot_info *b = env->boot;
    const uint64_t marks[] = {
        SYMBOL_ADDRESS(__ram_walker_a_start), SYMBOL_ADDRESS(__ram_walker_a_end),
        SYMBOL_ADDRESS(__page_tables_start), SYMBOL_ADDRESS(__page_tables_end),
    };
    uint64_t walked = 0, bad = WALK_OK;
    uint64_t t0 = rdtsc();
    for (unsigned i = 0; i < b->ram_count && bad == WALK_OK; i++) {
        uint64_t start = (b->ram[i].start + 7) & ~7ull, end = b->ram[i].end & ~7ull;
        for (uint64_t at = start; at < end && bad == WALK_OK;) {
            uint64_t next = next_boundary(at, end, marks, sizeof(marks) / sizeof(marks[0]));
            bad = walk_piece(at, next);
            walked += next - at;
            at = next;
        }
    }
    console_printf("# ram: walked %lu KiB in %lu TSC ticks\n", walked >> 10, rdtsc() - t0);
    if (!tap_check(b->ram_count > 0 && bad == WALK_OK, "ram: every word of RAM (%lu KiB) holds its complement and is restored",
                   walked >> 10))
    {
        if (b->ram_count == 0)
            tap_diag("no RAM in the memory map");
        else
            tap_diag("word at 0x%lx: held 0x%lx, read 0x%lx after NOT, 0x%lx after restore",
                     failure.addr, failure.saved, failure.seen, failure.restored);
    }
}
