/* Recorded CPUID dumps of real CPUs, replayed as the CPU itself would answer, so the CPUID policy
 * can be built from them on any host (cpuid_policy_init_from(cpuid_dump_source, ...)). */
#ifndef TESSERA_TEST_CPUID_DUMP_H
#define TESSERA_TEST_CPUID_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cpuid_dump_entry {
    uint32_t leaf, subleaf;
    uint32_t regs[4];           /* EAX, EBX, ECX, EDX */
};

struct cpuid_dump {
    const char *name;
    const struct cpuid_dump_entry *entries;
    size_t count;
};

#define CPUID_DUMP(array) { #array, array, sizeof(array) / sizeof(array[0]) }

static const struct cpuid_dump *cpuid_dump_current;

static inline void cpuid_dump_select(const struct cpuid_dump *d)
{
    cpuid_dump_current = d;
}

static inline const struct cpuid_dump_entry *cpuid_dump_find(uint32_t leaf, uint32_t subleaf)
{
    for (size_t i = 0; i < cpuid_dump_current->count; i++)
        if (cpuid_dump_current->entries[i].leaf == leaf && cpuid_dump_current->entries[i].subleaf == subleaf)
            return &cpuid_dump_current->entries[i];
    return NULL;
}

/* Leaves whose answer depends on ECX (SDM Vol. 2A CPUID; AMD APM Vol. 3 for 0x8000001D/20/26). */
static inline int cpuid_dump_leaf_is_indexed(uint32_t leaf)
{
    static const uint32_t indexed[] = {
        0x04, 0x07, 0x0B, 0x0D, 0x0F, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1B, 0x1D, 0x1E, 0x1F, 0x20,
        0x23, 0x24, 0x8000001Du, 0x80000020u, 0x80000026u,
    };
    for (size_t i = 0; i < sizeof(indexed) / sizeof(indexed[0]); i++)
        if (indexed[i] == leaf)
            return 1;
    return 0;
}

static inline int cpuid_dump_leaf_is_topology(uint32_t leaf)
{
    return leaf == 0x0B || leaf == 0x1F || leaf == 0x80000026u;
}

static inline int cpuid_dump_is_intel(void)
{
    const struct cpuid_dump_entry *e = cpuid_dump_find(0, 0);
    return e && e->regs[1] == 0x756E6547u;       /* "Genu" */
}

/* What the recorded CPU answers for (leaf, subleaf): a listed value; past the last valid subleaf
 * of an ECX-indexed leaf, zeros (a topology leaf reports the invalid level: ECX[7:0] echoes the
 * subleaf, EDX keeps the x2APIC ID); a leaf within range that the dump leaves out, zeros; a leaf
 * past the maximum, the highest basic leaf's data on Intel (SDM: "the data for the highest basic
 * information leaf is returned") and zeros on AMD. */
static inline void cpuid_dump_source(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    const struct cpuid_dump_entry *max_basic = cpuid_dump_find(0, 0);
    const struct cpuid_dump_entry *max_ext = cpuid_dump_find(0x80000000u, 0);
    uint32_t top_basic = max_basic ? max_basic->regs[0] : 0;
    uint32_t top_ext = max_ext ? max_ext->regs[0] : 0;
    int in_range = leaf <= top_basic || (leaf >= 0x80000000u && leaf <= top_ext);

    memset(out, 0, 4 * sizeof(uint32_t));
    if (!in_range) {
        if (!cpuid_dump_is_intel())
            return;
        leaf = top_basic;
    }
    if (!cpuid_dump_leaf_is_indexed(leaf))
        subleaf = 0;
    const struct cpuid_dump_entry *e = cpuid_dump_find(leaf, subleaf);
    if (e) {
        memcpy(out, e->regs, 4 * sizeof(uint32_t));
        return;
    }
    if (cpuid_dump_leaf_is_topology(leaf)) {
        const struct cpuid_dump_entry *level0 = cpuid_dump_find(leaf, 0);
        out[2] = subleaf & 0xFF;
        out[3] = level0 ? level0->regs[3] : 0;
    }
}

#endif
