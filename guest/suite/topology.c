/* CPU topology as CPUID describes it to a one-vCPU guest: leaves 1, 0xB and (when the maximum
 * basic leaf reaches it) 0x1F must agree on one logical processor and on one x2APIC ID (SDM
 * Vol. 2A CPUID; Vol. 3A 10.9 on topology enumeration). */
#include "cpu.h"
#include "suite.h"
#include "tap.h"

#define LEVEL_TYPE(ecx)    (((ecx) >> 8) & 0xFF)      /* 0 = invalid, 1 = SMT, 2 = core, ... */
#define LEVEL_NUMBER(ecx)  ((ecx) & 0xFF)
#define LEVEL_COUNT(ebx)   ((ebx) & 0xFFFF)           /* logical processors at this level */
#define MAX_SUBLEAVES      16u

/* Walks the subleaves of 0xB or 0x1F: every valid level counts one logical processor, every
 * subleaf (the first invalid one included) names the same x2APIC ID and echoes its number. */
static void check_extended_topology(uint32_t leaf, uint32_t initial_apic_id)
{
    struct cpuid_regs first = cpuid(leaf, 0);
    unsigned levels = 0, wrong = 0;
    uint32_t bad_sub = 0;
    struct cpuid_regs bad = { 0 };
    for (uint32_t sub = 0; sub < MAX_SUBLEAVES; sub++) {
        struct cpuid_regs r = cpuid(leaf, sub);
        bool valid = LEVEL_TYPE(r.ecx) != 0;
        bool ok = r.edx == first.edx && LEVEL_NUMBER(r.ecx) == sub && (!valid || LEVEL_COUNT(r.ebx) == 1);
        if (!valid && (r.eax != 0 || r.ebx != 0))
            ok = false;                              /* an invalid level reports EAX = EBX = 0 */
        if (!ok && wrong++ == 0) {
            bad_sub = sub;
            bad = r;
        }
        if (!valid)
            break;
        levels++;
    }
    bool apic_agrees = (first.edx & 0xFF) == initial_apic_id;
    if (!tap_check(levels >= 1 && wrong == 0 && apic_agrees,
                   "topology: leaf 0x%X: one logical processor at every level, one x2APIC ID agreeing with leaf 1",
                   leaf)) {
        tap_diag("%u valid levels; x2APIC ID 0x%x, leaf 1 initial APIC ID 0x%x", levels, first.edx, initial_apic_id);
        if (wrong)
            tap_diag("subleaf %u: EAX 0x%x EBX 0x%x ECX 0x%x EDX 0x%x", bad_sub, bad.eax, bad.ebx, bad.ecx, bad.edx);
    }
}

void suite_topology(const struct suite_env *env)
{
    (void)env;
    uint32_t max = cpuid_max_basic();
    struct cpuid_regs l1 = cpuid(1, 0);
    uint32_t initial_apic_id = l1.ebx >> 24;
    uint32_t addressable = (l1.ebx >> 16) & 0xFF;
    /* EBX[23:16] counts addressable IDs only when HTT is set; HTT clear means one. */
    bool one = !(l1.edx & CPUID1_EDX_HTT) || addressable <= 1;
    if (!tap_check(one, "topology: leaf 1 describes one logical processor (HTT clear or EBX[23:16] <= 1)"))
        tap_diag("EBX 0x%x EDX 0x%x", l1.ebx, l1.edx);
    if (max >= 0xB)
        check_extended_topology(0xB, initial_apic_id);
    else
        tap_skip("topology: leaf 0xB agrees", "maximum basic leaf below 0xB");
    if (max >= 0x1F)
        check_extended_topology(0x1F, initial_apic_id);
    else
        tap_skip("topology: leaf 0x1F agrees", "maximum basic leaf below 0x1F");
}
