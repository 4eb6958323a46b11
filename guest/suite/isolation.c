/* Isolation between guests: all RAM outside the suite's own image gets a pattern naming this
 * guest, the other guests run for several time slices, and then every word must still hold it.
 * `isolation=off` on the command line skips the wait-and-verify (one-guest configurations). */
#include "console.h"
#include "fault.h"
#include "hcall.h"
#include "ram_layout.h"
#include "suite.h"
#include "tap.h"

#define SLICES_TO_WAIT 5
#define MAX_YIELDS     200000

static uint64_t pattern(uint64_t guest_id, uint64_t addr)
{
    return 0x5A5A000000000000ull | (guest_id & 0xFFFF) << 32 | (addr & 0xFFFFFFFFull);
}

/* Calls visit(start, end) for every 8-byte-aligned RAM piece outside the image. */
static void for_each_piece(const struct boot_info *b, void (*visit)(uint64_t, uint64_t, uint64_t), uint64_t id)
{
    const uint64_t marks[] = { SYMBOL_ADDRESS(__image_start), SYMBOL_ADDRESS(__image_end) };
    for (unsigned i = 0; i < b->ram_count; i++) {
        uint64_t start = (b->ram[i].start + 7) & ~7ull, end = b->ram[i].end & ~7ull;
        for (uint64_t at = start; at < end;) {
            uint64_t next = next_boundary(at, end, marks, 2);
            if (!(at >= marks[0] && at < marks[1]))
                visit(at, next, id);
            at = next;
        }
    }
}

static uint64_t filled, mismatches, first_bad_addr, first_bad_value;

static void fill(uint64_t start, uint64_t end, uint64_t id)
{
    for (uint64_t p = start; p < end; p += 8)
        *(volatile uint64_t *)(uintptr_t)p = pattern(id, p);
    filled += end - start;
}

static void verify(uint64_t start, uint64_t end, uint64_t id)
{
    for (uint64_t p = start; p < end; p += 8) {
        uint64_t v = *(volatile uint64_t *)(uintptr_t)p;
        if (v != pattern(id, p) && mismatches++ == 0) {
            first_bad_addr = p;
            first_bad_value = v;
        }
    }
}

void suite_isolation(const struct suite_env *env)
{
    if (cmdline_has_word(env->boot, "isolation=off")) {
        tap_skip("isolation: RAM pattern survives the other guests' slices", "isolation=off");
        return;
    }
    uint64_t id = env->guest_id >= 0 ? (uint64_t)env->guest_id : 0;
    for_each_piece(env->boot, fill, id);
    console_printf("# isolation: %lu KiB filled with pattern 0x5a5a%04lx_<address>, waiting %d slices\n",
                   filled >> 10, id & 0xFFFF, SLICES_TO_WAIT);

    int64_t start = hypercall(HC_SLICES, 0, 0, 0), now = start;
    unsigned yields = 0;
    while (start >= 0 && now >= 0 && now < start + SLICES_TO_WAIT && yields < MAX_YIELDS) {
        hypercall(HC_YIELD, 0, 0, 0);
        yields++;
        now = hypercall(HC_SLICES, 0, 0, 0);
    }
    if (!tap_check(start >= 0 && now >= start + SLICES_TO_WAIT, "isolation: %d time slices passed while the pattern sat in RAM",
                   SLICES_TO_WAIT))
    {
        if (start == HC_FAULTED || now == HC_FAULTED)
            tap_diag("VMCALL raised %s", fault_name(fault_last.vector));
        else
            tap_diag("HC_SLICES %ld then %ld after %u yields", start, now, yields);
    }

    for_each_piece(env->boot, verify, id);
    if (!tap_check(filled > 0 && mismatches == 0, "isolation: all %lu KiB of the pattern intact", filled >> 10))
        tap_diag("%lu words differ, first at 0x%lx: 0x%lx, want 0x%lx", mismatches, first_bad_addr,
                 first_bad_value, pattern(id, first_bad_addr));
}
