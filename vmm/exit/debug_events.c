/* Data and I/O breakpoints hit by emulated accesses (see debug_events.h): DR7 says which of
 * DR0-DR3 watch what, the live DR0-DR3 say where (exit/debug_regs.h), matched as the CPU matches
 * them (SDM Vol. 3B 17.2.4-17.2.5, 17.3.1.2). */
#include "exit/debug_events.h"
#include "exit/debug_regs.h"
#include "x86.h"
#include "vmx/vmcs.h"

#define BREAKPOINTS 4

/* LENn encodings: 00 one byte, 01 two, 10 eight, 11 four. */
static const uint8_t breakpoint_len[4] = { 1, 2, 8, 4 };

#define KIND(rw) (1u << (rw))

/* Do [start, start + size) and breakpoint [bp, bp + len) share a byte? Overflow-safe: two
 * unsigned differences instead of end addresses. */
static bool ranges_meet(uint64_t bp, unsigned len, uint64_t start, uint64_t size)
{
    return bp - start < size || start - bp < len;
}

/* Bn for each breakpoint whose R/W field is one of kinds and whose range meets the access.
 * The CPU ignores the address bits below LEN (an unaligned DRn counts from its aligned-down
 * address). Outside 64-bit mode linear addresses are 32 bits, so an access that runs past
 * 4 GiB continues at 0 (wrap_at_4g). */
static uint64_t matching_breakpoints(uint64_t dr7, unsigned kinds, uint64_t start, unsigned size, bool wrap_at_4g)
{
    uint64_t first = size, rest = 0;
    if (wrap_at_4g) {
        start &= 0xFFFFFFFFull;
        uint64_t room = (1ull << 32) - start;
        if (size > room) {
            first = room;
            rest = size - room;
        }
    }
    uint64_t hits = 0;
    for (unsigned n = 0; n < BREAKPOINTS; n++) {
        if (!(kinds & KIND(DR7_RW(dr7, n))))
            continue;
        unsigned len = breakpoint_len[DR7_LEN(dr7, n)];
        uint64_t bp = debug_reg_read(n) & ~(uint64_t)(len - 1);
        if (ranges_meet(bp, len, start, first) || (rest && ranges_meet(bp, len, 0, rest)))
            hits |= DR6_B(n);
    }
    return hits;
}

/* Record matches as the CPU does for an instruction it executes: Bn for every match, enabled
 * in DR7 or not (the SDM allows Bn of a disabled breakpoint; they reach DR6 only with a #DB
 * that something else raised), and bit 12 when at least one of them is enabled. */
static bool record_matches(uint64_t dr7, uint64_t hits)
{
    if (!hits)
        return false;
    bool enabled = false;
    for (unsigned n = 0; n < BREAKPOINTS; n++)
        if ((hits & DR6_B(n)) && (dr7 & (DR7_L(n) | DR7_G(n))))
            enabled = true;
    uint64_t pending = vmcs_read(VMCS_GUEST_PENDING_DBG) | hits;
    if (enabled)
        pending |= PENDING_DBG_ENABLED_BP;
    vmcs_write(VMCS_GUEST_PENDING_DBG, pending);
    return enabled;
}

/* CR4 as the guest sees it: the bits Tessera owns come from the read shadow. */
static uint64_t guest_cr4(void)
{
    uint64_t owned = vmcs_read(VMCS_CR4_GUEST_HOST_MASK);
    return (vmcs_read(VMCS_GUEST_CR4) & ~owned) | (vmcs_read(VMCS_CR4_READ_SHADOW) & owned);
}

/* With no breakpoint enabled nothing is evaluated (one VMCS read): the B bits of disabled
 * breakpoints would only ever show with some other #DB, and the SDM leaves them unspecified. */

bool debug_note_memory_access(struct vcpu *v, uint64_t linear, unsigned size, bool write)
{
    (void)v;
    uint64_t dr7 = vmcs_read(VMCS_GUEST_DR7);
    if (!(dr7 & DR7_ENABLES) || size == 0)
        return false;
    unsigned kinds = KIND(DR7_RW_READ_WRITE) | (write ? KIND(DR7_RW_WRITE) : 0);
    return record_matches(dr7, matching_breakpoints(dr7, kinds, linear, size, vcpu_mode() != MODE_LONG64));
}

bool debug_note_io_access(struct vcpu *v, uint16_t port, unsigned size)
{
    (void)v;
    uint64_t dr7 = vmcs_read(VMCS_GUEST_DR7);
    if (!(dr7 & DR7_ENABLES) || size == 0)
        return false;
    /* R/W = 10 means I/O only with CR4.DE=1; without it the encoding is undefined and the
     * CPU's I/O breakpoints are off. */
    if (!(guest_cr4() & CR4_DE))
        return false;
    /* Port addresses are zero-extended and compared with all of DRn. */
    return record_matches(dr7, matching_breakpoints(dr7, KIND(DR7_RW_IO), port, size, false));
}
