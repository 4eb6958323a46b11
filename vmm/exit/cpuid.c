/* CPUID: the host's answers, read once at boot and filtered into a fixed table (one thread,
 * one core, no VMX/SMX/SGX/PT/TSX/MPX, no performance monitoring or power management, no
 * speculation-control MSRs), plus Tessera's own leaves at 0x40000000. The exit path is an
 * array lookup; only leaves 1, 7 and 0xD get a few bits from the guest's current state.
 *
 * Deliberately kept: APIC (leaf 1 EDX 9; guests see an IA32_APIC_BASE MSR), INVPCID and PCID
 * (the lead enables INVPCID in the secondary controls when the CPU allows; CR4.PCIDE works under
 * EPT), RDTSCP (the lead enables it; TSC_AUX is passed through), XSAVEOPT/XSAVEC. */
#include "exit/handlers.h"
#include "x86.h"
#include "hypercall.h"
#include "lib/mem.h"
#include "vmx/vmcs.h"

#define CPUID_BASIC_LIMIT   0x1Fu
#define CPUID_EXT_BASE      0x80000000u
#define CPUID_EXT_LIMIT     0x80000008u
#define CPUID_EXT_COUNT     (CPUID_EXT_LIMIT - CPUID_EXT_BASE + 1)
#define CPUID_HV_BASE       0x40000000u
#define CPUID_HV_RANGE      0x100u          /* 0x40000000-0x400000FF answer from Tessera */
#define SUBLEAF_POOL        96

enum { EAX, EBX, ECX, EDX };
#define BIT(n) (1u << (n))

/* Filtered host answers. Leaves that depend on ECX keep their subleaves in sub_pool:
 * sub_count[leaf] of them starting at sub_first[leaf]; sub_count 0 = ECX is ignored. */
static uint32_t basic_table[CPUID_BASIC_LIMIT + 1][4];
static uint32_t ext_table[CPUID_EXT_COUNT][4];
static uint32_t sub_pool[SUBLEAF_POOL][4];
static uint8_t sub_count[CPUID_BASIC_LIMIT + 1];
static uint8_t sub_first[CPUID_BASIC_LIMIT + 1];
static uint32_t max_basic = 0, max_ext = CPUID_EXT_BASE;
static uint32_t tsc_khz_reported;

/* How many subleaves of each ECX-indexed leaf are kept (the rest read as zeros, which is what
 * the hardware reports past the last valid subleaf). */
static const uint8_t subleaf_cap[CPUID_BASIC_LIMIT + 1] = {
    [0x04] = 8,  [0x07] = 3, [0x0B] = 2, [0x0D] = 64, [0x0F] = 1, [0x10] = 1, [0x12] = 1,
    [0x14] = 1,  [0x17] = 4, [0x18] = 8, [0x1D] = 2,  [0x1F] = 2,
};

static void host_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[EAX]), "=b"(r[EBX]), "=c"(r[ECX]), "=d"(r[EDX])
                     : "a"(leaf), "c"(subleaf));
}

static void zero4(uint32_t r[4])
{
    r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
}

/* Four plain stores: the freestanding memcpy is a byte loop, too slow for the exit path. */
static void copy4(uint32_t dst[4], const uint32_t src[4])
{
    dst[EAX] = src[EAX];
    dst[EBX] = src[EBX];
    dst[ECX] = src[ECX];
    dst[EDX] = src[EDX];
}

static uint32_t *subleaf_slot(uint32_t leaf, uint32_t subleaf)
{
    return sub_pool[sub_first[leaf] + subleaf];
}

/* XCR0 bits of the MPX state components, hidden with MPX. */
#define XCR0_MPX_MASK  ((1ull << 3) | (1ull << 4))

static void filter_leaf1(uint32_t r[4])
{
    r[EBX] = (r[EBX] & 0xFFFFu) | (1u << 16);                  /* APIC id 0, one logical CPU */
    r[ECX] &= ~(BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(11) |
                BIT(14) | BIT(15) | BIT(18) | BIT(21) | BIT(24) | BIT(27));
    r[ECX] |= BIT(31);                                          /* running under a hypervisor */
    /* DS, ACPI thermal MSRs, HTT, TM, PBE, PSN: no such MSRs / one thread / leaf 3 hidden */
    r[EDX] &= ~(BIT(18) | BIT(21) | BIT(22) | BIT(28) | BIT(29) | BIT(31));
}

static void filter_leaf7(uint32_t sub, uint32_t r[4])
{
    if (sub == 0) {
        if (r[EAX] > (uint32_t)sub_count[7] - 1)
            r[EAX] = (uint32_t)sub_count[7] - 1;
        /* TSC_ADJUST MSR, SGX, HLE, RTM, RDT-M, MPX, RDT-A, PT */
        r[EBX] &= ~(BIT(1) | BIT(2) | BIT(4) | BIT(11) | BIT(12) | BIT(14) | BIT(15) | BIT(25));
        /* WAITPKG, CET shadow stack, Key Locker, ENQCMD, SGX launch control, PKS; OSPKE is
         * filled in from the guest's CR4 at exit time */
        r[ECX] &= ~(BIT(4) | BIT(5) | BIT(7) | BIT(23) | BIT(29) | BIT(30) | BIT(31));
        /* UINTR, TSX force-abort, hybrid, TSXLDTRK, PCONFIG, arch LBR, CET IBT, every
         * speculation-control and capability-MSR bit */
        r[EDX] &= ~(BIT(5) | BIT(11) | BIT(13) | BIT(15) | BIT(16) | BIT(18) | BIT(19) | BIT(20) |
                    BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(30) | BIT(31));
    } else if (sub == 1) {
        r[EAX] &= ~(BIT(22) | BIT(26) | BIT(27));               /* HRESET, LAM, MSRLIST */
        r[EBX] = 0;                                             /* PPIN */
        r[ECX] = 0;
    } else {
        zero4(r);                                               /* 7.2 EDX: speculation controls */
    }
}

/* Standard-format XSAVE size for the components in xcr0 (0xD.0 EBX as the CPU computes it). */
static uint32_t xsave_size_standard(uint64_t xcr0)
{
    uint32_t size = 576;
    if (sub_count[0xD] == 0)
        return size;
    for (unsigned i = 2; i < sub_count[0xD]; i++) {
        if (!(xcr0 & (1ull << i)))
            continue;
        const uint32_t *c = subleaf_slot(0xD, i);
        if (c[EBX] + c[EAX] > size)
            size = c[EBX] + c[EAX];
    }
    return size;
}

/* Compacted-format size (0xD.1 EBX): components packed in order, some 64-byte aligned. */
static uint32_t xsave_size_compacted(uint64_t xcr0)
{
    uint32_t size = 576;
    for (unsigned i = 2; i < sub_count[0xD]; i++) {
        if (!(xcr0 & (1ull << i)))
            continue;
        const uint32_t *c = subleaf_slot(0xD, i);
        if (c[ECX] & BIT(1))
            size = (size + 63) & ~63u;
        size += c[EAX];
    }
    return size;
}

static void filter_leafD(void)
{
    uint32_t *main = subleaf_slot(0xD, 0);
    uint64_t user = ((uint64_t)main[EDX] << 32 | main[EAX]) & ~XCR0_MPX_MASK;
    /* Components the guest cannot enable describe nothing; supervisor (XSS) ones neither. */
    for (unsigned i = 2; i < sub_count[0xD]; i++) {
        uint32_t *c = subleaf_slot(0xD, i);
        if (!(user & (1ull << i)) || (c[ECX] & BIT(0)))
            zero4(c);
    }
    main[EAX] = (uint32_t)user;
    main[EDX] = (uint32_t)(user >> 32);
    main[ECX] = xsave_size_standard(user);
    main[EBX] = 576;                                            /* XCR0 = x87 at reset */
    if (sub_count[0xD] > 1) {
        uint32_t *s1 = subleaf_slot(0xD, 1);
        s1[EAX] &= BIT(0) | BIT(1) | BIT(2);                    /* XSAVEOPT, XSAVEC, XGETBV1 */
        s1[EBX] = (s1[EAX] & BIT(1)) ? 576 : 0;
        s1[ECX] = s1[EDX] = 0;                                  /* no IA32_XSS state */
    }
    memcpy(basic_table[0xD], main, sizeof(basic_table[0xD]));
}

/* One thread, one core: SMT level then core level, x2APIC id 0 (leaves 0xB and 0x1F). */
static void synthesize_topology(uint32_t leaf)
{
    uint32_t *smt = subleaf_slot(leaf, 0), *core = subleaf_slot(leaf, 1);
    smt[EAX] = 0;  smt[EBX] = 1;  smt[ECX] = (1u << 8) | 0;  smt[EDX] = 0;
    core[EAX] = 0; core[EBX] = 1; core[ECX] = (2u << 8) | 1; core[EDX] = 0;
    memcpy(basic_table[leaf], smt, sizeof(basic_table[leaf]));
}

static void filter_basic(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    switch (leaf) {
    case 0x0:
        r[EAX] = max_basic;
        break;
    case 0x1:
        filter_leaf1(r);
        break;
    case 0x4:
        r[EAX] &= 0x00003FFFu;          /* one core per package, one thread per cache */
        break;
    case 0x7:
        filter_leaf7(sub, r);
        break;
    case 0x3:                           /* serial number */
    case 0x5:                           /* MONITOR/MWAIT */
    case 0x6:                           /* thermal and power */
    case 0xA:                           /* performance monitoring */
    case 0xF: case 0x10:                /* resource director */
    case 0x12:                          /* SGX */
    case 0x14:                          /* processor trace */
    case 0x19:                          /* Key Locker */
    case 0x1A:                          /* hybrid core type */
    case 0x1B:                          /* PCONFIG */
    case 0x1C:                          /* architectural LBR */
        zero4(r);
        break;
    default:
        break;
    }
}

static void filter_extended(uint32_t leaf, uint32_t r[4])
{
    switch (leaf) {
    case 0x80000000:
        r[EAX] = max_ext;
        r[EBX] = r[ECX] = r[EDX] = 0;
        break;
    case 0x80000001:
        /* Intel's definitions only (an AMD host would leak SVM and friends otherwise) */
        r[EAX] = r[EBX] = 0;
        r[ECX] &= BIT(0) | BIT(5) | BIT(8);                     /* LAHF, LZCNT, PREFETCHW */
        r[EDX] &= BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29); /* SYSCALL NX 1G RDTSCP LM */
        break;
    case 0x80000007:
        r[EAX] = r[EBX] = r[ECX] = 0;
        r[EDX] &= BIT(8);                                       /* invariant TSC */
        break;
    case 0x80000008:
        r[EBX] &= BIT(9);                                       /* WBNOINVD */
        r[ECX] = r[EDX] = 0;
        break;
    default:
        break;
    }
}

void cpuid_policy_init(uint64_t tsc_khz)
{
    uint32_t r[4];
    memset(basic_table, 0, sizeof(basic_table));
    memset(ext_table, 0, sizeof(ext_table));
    memset(sub_pool, 0, sizeof(sub_pool));
    memset(sub_count, 0, sizeof(sub_count));
    memset(sub_first, 0, sizeof(sub_first));
    tsc_khz_reported = tsc_khz > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)tsc_khz;

    host_cpuid(0, 0, r);
    max_basic = r[EAX] > CPUID_BASIC_LIMIT ? CPUID_BASIC_LIMIT : r[EAX];
    host_cpuid(CPUID_EXT_BASE, 0, r);
    max_ext = r[EAX] < CPUID_EXT_BASE ? CPUID_EXT_BASE
            : r[EAX] > CPUID_EXT_LIMIT ? CPUID_EXT_LIMIT : r[EAX];

    /* Raw host answers first: leaf 0xD filtering needs every subleaf, leaf 7 its own count. */
    unsigned pool_used = 0;
    for (uint32_t leaf = 0; leaf <= max_basic; leaf++) {
        host_cpuid(leaf, 0, basic_table[leaf]);
        unsigned n = subleaf_cap[leaf];
        if (leaf == 7 && basic_table[7][EAX] + 1 < n)
            n = basic_table[7][EAX] + 1;
        if (n == 0 || pool_used + n > SUBLEAF_POOL)
            continue;
        sub_first[leaf] = (uint8_t)pool_used;
        sub_count[leaf] = (uint8_t)n;
        pool_used += n;
        for (uint32_t s = 0; s < n; s++)
            host_cpuid(leaf, s, subleaf_slot(leaf, s));
    }

    for (uint32_t leaf = 0; leaf <= max_basic; leaf++) {
        if (leaf == 0xD || leaf == 0xB || leaf == 0x1F)
            continue;
        filter_basic(leaf, 0, basic_table[leaf]);
        for (uint32_t s = 0; s < sub_count[leaf]; s++)
            filter_basic(leaf, s, subleaf_slot(leaf, s));
    }
    if (sub_count[0xD])
        filter_leafD();
    if (sub_count[0xB])
        synthesize_topology(0xB);
    if (sub_count[0x1F])
        synthesize_topology(0x1F);

    for (uint32_t leaf = CPUID_EXT_BASE; leaf <= max_ext; leaf++) {
        uint32_t *e = ext_table[leaf - CPUID_EXT_BASE];
        host_cpuid(leaf, 0, e);
        filter_extended(leaf, e);
    }
}

static void hypervisor_leaf(unsigned guest_id, uint32_t leaf, uint32_t r[4])
{
    zero4(r);
    switch (leaf) {
    case CPUID_LEAF_HV_SIGNATURE:
        r[EAX] = CPUID_LEAF_HV_TIMING;
        r[EBX] = CPUID_HV_SIGNATURE_EBX;
        r[ECX] = CPUID_HV_SIGNATURE_ECX;
        r[EDX] = CPUID_HV_SIGNATURE_EDX;
        break;
    case CPUID_LEAF_HV_INFO:
        r[EAX] = HC_ABI_VERSION;
        r[EBX] = guest_id;
        break;
    case CPUID_LEAF_HV_TIMING:
        r[EAX] = tsc_khz_reported;
        break;
    default:
        break;
    }
}

/* The static answer; returns the basic leaf actually answered (an out-of-range leaf is
 * answered as the highest basic leaf, as Intel CPUs do), or the leaf itself otherwise. */
static inline __attribute__((always_inline)) uint32_t cpuid_lookup(unsigned guest_id, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    if (leaf - CPUID_EXT_BASE <= max_ext - CPUID_EXT_BASE) {
        copy4(r, ext_table[leaf - CPUID_EXT_BASE]);
        return leaf;
    }
    if (leaf - CPUID_HV_BASE < CPUID_HV_RANGE) {
        hypervisor_leaf(guest_id, leaf, r);
        return leaf;
    }
    if (leaf > max_basic)
        leaf = max_basic;
    unsigned n = sub_count[leaf];
    if (n == 0)
        copy4(r, basic_table[leaf]);
    else if (subleaf < n)
        copy4(r, subleaf_slot(leaf, subleaf));
    else {
        zero4(r);
        if (leaf == 0xB || leaf == 0x1F)
            r[ECX] = subleaf & 0xFF;    /* invalid level: only the level number echoes */
    }
    return leaf;
}

void cpuid_guest_view(unsigned guest_id, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    cpuid_lookup(guest_id, leaf, subleaf, out);
}

unsigned cpuid_guest_maxphyaddr(unsigned guest_id)
{
    uint32_t r[4];
    cpuid_guest_view(guest_id, 0x80000000u, 0, r);
    if (r[0] < 0x80000008u)
        return 36;
    cpuid_guest_view(guest_id, 0x80000008u, 0, r);
    unsigned bits = r[0] & 0xFF;
    return (bits >= 32 && bits <= 52) ? bits : 36;
}


/* Out of line: its register pressure would otherwise cost the fast path a prologue. */
static __attribute__((noinline)) enum exit_result cpuid_answer_general(struct guest *g);

enum exit_result exit_handle_cpuid(struct guest *g)
{
    /* Fast path: a basic leaf without subleaves whose answer does not depend on the guest's
     * state (leaf 1 reflects CR4.OSXSAVE) is a plain table copy. */
    uint32_t leaf = (uint32_t)g->vcpu.gpr[REG_RAX];
    if (leaf <= max_basic && leaf != 1 && sub_count[leaf] == 0) {
        const uint32_t *r = basic_table[leaf];
        g->vcpu.gpr[REG_RAX] = r[EAX];
        g->vcpu.gpr[REG_RBX] = r[EBX];
        g->vcpu.gpr[REG_RCX] = r[ECX];
        g->vcpu.gpr[REG_RDX] = r[EDX];
        return EXIT_ADVANCE;
    }
    return cpuid_answer_general(g);
}

static enum exit_result cpuid_answer_general(struct guest *g)
{
    uint32_t r[4];
    uint32_t subleaf = (uint32_t)g->vcpu.gpr[REG_RCX];
    uint32_t leaf = cpuid_lookup(g->id, (uint32_t)g->vcpu.gpr[REG_RAX], subleaf, r);

    /* Bits the hardware derives from the current CR4/XCR0 (the actual CR4: Tessera does not
     * own OSXSAVE or PKE, so it equals what the guest wrote). */
    switch (leaf) {
    case 0x1:
        if (vmcs_read(VMCS_GUEST_CR4) & CR4_OSXSAVE)
            r[ECX] |= BIT(27);
        break;
    case 0x7:
        if (subleaf == 0 && (r[ECX] & BIT(3)) && (vmcs_read(VMCS_GUEST_CR4) & CR4_PKE))
            r[ECX] |= BIT(4);
        break;
    case 0xD:
        if (subleaf == 0 && sub_count[0xD])
            r[EBX] = xsave_size_standard(g->vcpu.xcr0 | 1);
        else if (subleaf == 1 && (r[EAX] & BIT(1)))
            r[EBX] = xsave_size_compacted(g->vcpu.xcr0 | 1);
        break;
    default:
        break;
    }
    g->vcpu.gpr[REG_RAX] = r[EAX];
    g->vcpu.gpr[REG_RBX] = r[EBX];
    g->vcpu.gpr[REG_RCX] = r[ECX];
    g->vcpu.gpr[REG_RDX] = r[EDX];
    return EXIT_ADVANCE;
}
