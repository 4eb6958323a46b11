/* CPUID: the CPU model every guest is given. The host's answers are read once at boot and passed
 * through explicit rules, one per leaf: allow-listed leaves keep allow-listed bits, the topology
 * leaves are synthesized (one thread of one core), every other leaf reads as zeros. Tessera's own
 * leaves sit at 0x40000000. The exit path is a table lookup, shaped by the guest's
 * IA32_MISC_ENABLE (limit CPUID maxval, XD disable) and by its CR4/XCR0 (OSXSAVE, OSPKE, XSAVE
 * sizes).
 *
 * Deliberately kept: APIC (leaf 1 EDX 9; guests see an IA32_APIC_BASE MSR), INVPCID and PCID
 * (the lead enables INVPCID in the secondary controls when the CPU allows; CR4.PCIDE works under
 * EPT), RDTSCP (the lead enables it; TSC_AUX is passed through), XSAVEOPT/XSAVEC, MD_CLEAR. */
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
#define CPUID_LIMITED_MAX   2u              /* CPUID.0:EAX under IA32_MISC_ENABLE.LIMIT_CPUID */

/* Each guest is a one-CPU machine: its processor is the bootstrap processor with APIC ID 0. */
#define GUEST_APIC_ID       0u

enum { EAX, EBX, ECX, EDX };
#define BIT(n) (1u << (n))

/* ECX-indexed leaves keep this many subleaves; later subleaves read as zeros, which is what the
 * CPU reports past its last valid subleaf. Each leaf has storage of its own, sized by these
 * constants, so no leaf can be left without room. */
#define CACHE_SUBLEAVES     8u              /* leaf 4: one per cache level and type */
#define FEATURE_SUBLEAVES   2u              /* leaf 7: 7.0 and 7.1 (7.2 holds speculation controls) */
#define XSAVE_SUBLEAVES     64u             /* leaf 0xD: one per state component */
#define TILE_SUBLEAVES      2u              /* leaf 0x1D: palette count, palette 1 */
#define TMUL_SUBLEAVES      1u              /* leaf 0x1E */

static uint32_t basic_table[CPUID_BASIC_LIMIT + 1][4];     /* leaves that ignore ECX */
static uint32_t cache_leaf[CACHE_SUBLEAVES][4];
static uint32_t feature_leaf[FEATURE_SUBLEAVES][4];
static uint32_t xsave_leaf[XSAVE_SUBLEAVES][4];
static uint32_t tile_leaf[TILE_SUBLEAVES][4];
static uint32_t tmul_leaf[TMUL_SUBLEAVES][4];
static uint32_t ext_table[CPUID_EXT_COUNT][4];

struct subleaf_table {
    uint32_t (*slot)[4];
    uint32_t count;
};

static const struct subleaf_table indexed_leaf[CPUID_BASIC_LIMIT + 1] = {
    [0x04] = { cache_leaf, CACHE_SUBLEAVES },
    [0x07] = { feature_leaf, FEATURE_SUBLEAVES },
    [0x0D] = { xsave_leaf, XSAVE_SUBLEAVES },
    [0x1D] = { tile_leaf, TILE_SUBLEAVES },
    [0x1E] = { tmul_leaf, TMUL_SUBLEAVES },
};

/* One bit per basic leaf whose answer is a plain copy of basic_table (no subleaves, nothing from
 * the guest's state): the exit's fast path. */
_Static_assert(CPUID_BASIC_LIMIT < 32, "one bit per basic leaf");
static uint32_t plain_leaves;

static uint32_t max_basic = 0, max_ext = CPUID_EXT_BASE;
static uint32_t tsc_khz_reported;

static void cpuid_instruction(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[EAX]), "=b"(r[EBX]), "=c"(r[ECX]), "=d"(r[EDX])
                     : "a"(leaf), "c"(subleaf));
}

static void zero4(uint32_t r[4])
{
    r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
}

static void set4(uint32_t r[4], uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    r[EAX] = eax;
    r[EBX] = ebx;
    r[ECX] = ecx;
    r[EDX] = edx;
}

/* Four plain stores: the freestanding memcpy is a byte loop, too slow for the exit path. */
static void copy4(uint32_t dst[4], const uint32_t src[4])
{
    set4(dst, src[EAX], src[EBX], src[ECX], src[EDX]);
}

/* ---- allow-lists (SDM Vol. 2A, CPUID) ---- */

/* Leaf 1 ECX: SSE3, PCLMULQDQ, SSSE3, FMA, CMPXCHG16B, PCID, SSE4.1, SSE4.2, MOVBE, POPCNT, AES,
 * XSAVE, AVX, F16C, RDRAND. Not: DTES64/DS-CPL (no DS), MONITOR, VMX, SMX, EIST, TM2, CNXT-ID,
 * SDBG, xTPR, PDCM (no perf MSRs), DCA, x2APIC, TSC-deadline; OSXSAVE follows CR4. */
#define LEAF1_ECX_ALLOWED  (BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(17) | BIT(19) | \
                            BIT(20) | BIT(22) | BIT(23) | BIT(25) | BIT(26) | BIT(28) | BIT(29) | BIT(30))
#define LEAF1_ECX_HYPERVISOR BIT(31)
/* Leaf 1 EDX: FPU..APIC, SEP, MTRR, PGE, MCA, CMOV, PAT, PSE-36, CLFLUSH, MMX, FXSR, SSE, SSE2,
 * SS. Not: PSN (leaf 3 hidden), DS, ACPI thermal MSRs, HTT (one thread), TM, PBE. */
#define LEAF1_EDX_ALLOWED  (0x3FFu | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | \
                            BIT(17) | BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26) | BIT(27))
#define LEAF1_EAX_VERSION  0x0FFF3FFFu      /* family, model, stepping, type */
#define LEAF1_EBX_BRAND_CLFLUSH 0xFFFFu

/* Leaf 7.0 EBX: everything but TSC_ADJUST, SGX, HLE, RTM, RDT-M, MPX, RDT-A, PT (and reserved 22). */
#define LEAF7_EBX_ALLOWED  (~(BIT(1) | BIT(2) | BIT(4) | BIT(11) | BIT(12) | BIT(14) | BIT(15) | \
                              BIT(22) | BIT(25)))
/* Leaf 7.0 ECX: PREFETCHWT1, AVX512_VBMI, UMIP, PKU, AVX512_VBMI2, GFNI, VAES, VPCLMULQDQ,
 * AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ, LA57, RDPID, CLDEMOTE, MOVDIRI, MOVDIR64B.
 * Not: WAITPKG, CET, TME, MPX width, Key Locker, bus-lock detection, ENQCMD, SGX-LC, PKS;
 * OSPKE follows CR4. */
#define LEAF7_ECX_ALLOWED  (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | \
                            BIT(11) | BIT(12) | BIT(14) | BIT(16) | BIT(22) | BIT(25) | BIT(27) | BIT(28))
#define LEAF7_ECX_PKU      BIT(3)
#define LEAF7_ECX_OSPKE    BIT(4)
/* Leaf 7.0 EDX: AVX512_4VNNIW, AVX512_4FMAPS, fast short REP MOV, AVX512_VP2INTERSECT, MD_CLEAR,
 * SERIALIZE, AMX-BF16, AVX512_FP16, AMX-TILE, AMX-INT8. Not: SGX keys, UINTR, SRBDS control,
 * TSX controls, hybrid, TSXLDTRK, PCONFIG, arch LBR, CET-IBT, and bits 26-31 (IBRS/IBPB, STIBP,
 * L1D_FLUSH, ARCH_CAPABILITIES, CORE_CAPABILITIES, SSBD: speculation-control MSRs). */
#define LEAF7_EDX_ALLOWED  (BIT(2) | BIT(3) | BIT(4) | BIT(8) | BIT(10) | BIT(14) | BIT(22) | \
                            BIT(23) | BIT(24) | BIT(25))
#define LEAF7_EDX_AMX_TILE BIT(24)
/* Leaf 7.1 EAX: SHA512, SM3, SM4, RAO-INT, AVX-VNNI, AVX512_BF16, CMPCCXADD, fast zero-length
 * MOVSB, fast short STOSB and CMPSB/SCASB, AMX-FP16, AVX-IFMA. Not: LASS, perfmon extensions,
 * FRED, LKGS, WRMSRNS, HRESET, LAM, MSRLIST. EDX: AVX-VNNI-INT8, AVX-NE-CONVERT, AMX-COMPLEX,
 * AVX-VNNI-INT16, PREFETCHI; not CET supervisor shadow stacks, AVX10 (leaf 0x24), APX. */
#define LEAF7_1_EAX_ALLOWED (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(7) | BIT(10) | \
                             BIT(11) | BIT(12) | BIT(21) | BIT(23))
#define LEAF7_1_EDX_ALLOWED (BIT(4) | BIT(5) | BIT(8) | BIT(10) | BIT(14))

/* XCR0 components a guest may enable: x87, SSE, AVX, AVX-512, PKRU, AMX. MPX is hidden (and its
 * state with it), APX and supervisor (IA32_XSS) components are not offered. */
#define XCR0_OFFERED  (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU | XCR0_TILECFG | XCR0_TILEDATA)
#define XSAVE_LEGACY_SIZE   576u            /* legacy region + header: the x87-only area */
#define XSAVE_D1_EAX_ALLOWED (BIT(0) | BIT(1) | BIT(2))   /* XSAVEOPT, XSAVEC, XGETBV ECX=1 */
#define XSAVE_D1_XSAVEC     BIT(1)
#define XSAVE_COMP_ALIGN64  BIT(1)          /* 0xD.i ECX: 64-byte aligned when compacted */

#define CACHE_EAX_ALLOWED   0x3FFu          /* type, level, self-init, fully associative */
#define CACHE_EDX_ALLOWED   0x7u            /* WBINVD scope, inclusive, complex indexing */
#define CACHE_TYPE(eax)     ((eax) & 0x1F)  /* 0: no more caches */

#define FREQ_MHZ_MASK       0xFFFFu         /* leaf 0x16 fields */

/* Extended leaves, Intel's definitions only (an AMD host would leak SVM and friends otherwise). */
#define EXT1_ECX_ALLOWED    (BIT(0) | BIT(5) | BIT(8))    /* LAHF, LZCNT, PREFETCHW */
#define EXT1_EDX_ALLOWED    (BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29)) /* SYSCALL NX 1G RDTSCP LM */
#define EXT1_EDX_NX         BIT(20)
#define EXT6_ECX_ALLOWED    0xFFFFF0FFu     /* L2 line size, associativity, size */
#define EXT7_EDX_ALLOWED    BIT(8)          /* invariant TSC */
#define EXT8_EAX_ALLOWED    0xFFFFu         /* physical and linear address bits */
#define EXT8_EBX_ALLOWED    BIT(9)          /* WBNOINVD */

/* ---- the rules, applied once at boot ---- */

static void filter_leaf1(uint32_t r[4])
{
    set4(r, r[EAX] & LEAF1_EAX_VERSION,
         (r[EBX] & LEAF1_EBX_BRAND_CLFLUSH) | (1u << 16) | (GUEST_APIC_ID << 24), /* one logical CPU */
         (r[ECX] & LEAF1_ECX_ALLOWED) | LEAF1_ECX_HYPERVISOR,
         r[EDX] & LEAF1_EDX_ALLOWED);
}

/* Leaf 4: cache geometry passes; the fields counting threads sharing a cache (25:14) and cores
 * in the package (31:26) are zero: one thread, one core. Once a level reports the null type,
 * it and every later subleaf are zeros. */
static void build_cache_leaf(cpuid_source_fn cpu)
{
    for (uint32_t s = 0; s < CACHE_SUBLEAVES; s++) {
        uint32_t r[4];
        cpu(4, s, r);
        if (CACHE_TYPE(r[EAX]) == 0)
            break;
        set4(cache_leaf[s], r[EAX] & CACHE_EAX_ALLOWED, r[EBX], r[ECX], r[EDX] & CACHE_EDX_ALLOWED);
    }
}

static void build_feature_leaf(cpuid_source_fn cpu)
{
    uint32_t r[4];
    cpu(7, 0, r);
    uint32_t last_subleaf = r[EAX];
    set4(feature_leaf[0], last_subleaf < FEATURE_SUBLEAVES - 1 ? last_subleaf : FEATURE_SUBLEAVES - 1,
         r[EBX] & LEAF7_EBX_ALLOWED, r[ECX] & LEAF7_ECX_ALLOWED, r[EDX] & LEAF7_EDX_ALLOWED);
    if (last_subleaf >= 1) {
        cpu(7, 1, r);
        set4(feature_leaf[1], r[EAX] & LEAF7_1_EAX_ALLOWED, 0 /* PPIN */, 0, r[EDX] & LEAF7_1_EDX_ALLOWED);
    }
}

static uint64_t xcr0_offered(void)
{
    return ((uint64_t)xsave_leaf[0][EDX] << 32) | xsave_leaf[0][EAX];
}

/* Standard-format XSAVE size for the components in xcr0 (0xD.0 EBX as the CPU computes it). */
static uint32_t xsave_size_standard(uint64_t xcr0)
{
    uint32_t size = XSAVE_LEGACY_SIZE;
    for (unsigned i = 2; i < XSAVE_SUBLEAVES; i++) {
        const uint32_t *c = xsave_leaf[i];
        if ((xcr0 >> i) & 1 && c[EBX] + c[EAX] > size)
            size = c[EBX] + c[EAX];
    }
    return size;
}

/* Compacted-format size (0xD.1 EBX): components packed in order, some 64-byte aligned. */
static uint32_t xsave_size_compacted(uint64_t xcr0)
{
    uint32_t size = XSAVE_LEGACY_SIZE;
    for (unsigned i = 2; i < XSAVE_SUBLEAVES; i++) {
        const uint32_t *c = xsave_leaf[i];
        if (!((xcr0 >> i) & 1))
            continue;
        if (c[ECX] & XSAVE_COMP_ALIGN64)
            size = (size + 63) & ~63u;
        size += c[EAX];
    }
    return size;
}

static void build_xsave_leaf(cpuid_source_fn cpu)
{
    uint32_t r[4];
    cpu(0xD, 0, r);
    uint64_t offered = (((uint64_t)r[EDX] << 32) | r[EAX]) & XCR0_OFFERED;
    if (!(offered & XCR0_X87))
        return;                                                 /* no XSAVE: the leaf is zeros */
    for (uint32_t i = 2; i < XSAVE_SUBLEAVES; i++) {
        if (!((offered >> i) & 1))
            continue;
        cpu(0xD, i, r);
        set4(xsave_leaf[i], r[EAX], r[EBX], r[ECX] & XSAVE_COMP_ALIGN64, 0);
    }
    /* EBX: the size for the XCR0 at reset (x87 only); the exit computes the current one. */
    set4(xsave_leaf[0], (uint32_t)offered, XSAVE_LEGACY_SIZE, 0, (uint32_t)(offered >> 32));
    xsave_leaf[0][ECX] = xsave_size_standard(offered);
    cpu(0xD, 1, r);
    uint32_t d1 = r[EAX] & XSAVE_D1_EAX_ALLOWED;
    set4(xsave_leaf[1], d1, (d1 & XSAVE_D1_XSAVEC) ? XSAVE_LEGACY_SIZE : 0, 0, 0); /* no IA32_XSS state */
}

/* AMX palette and TMUL information: only with AMX offered. */
static void build_tile_leaves(cpuid_source_fn cpu)
{
    if (!(feature_leaf[0][EDX] & LEAF7_EDX_AMX_TILE) || !(xcr0_offered() & XCR0_TILEDATA))
        return;
    for (uint32_t s = 0; s < TILE_SUBLEAVES; s++)
        cpu(0x1D, s, tile_leaf[s]);
    for (uint32_t s = 0; max_basic >= 0x1E && s < TMUL_SUBLEAVES; s++)
        cpu(0x1E, s, tmul_leaf[s]);
}

/* Basic leaves that ignore ECX. Every leaf is named: a leaf not listed reads as zeros. */
static void build_plain_leaf(uint32_t leaf, const uint32_t host[4], uint32_t r[4])
{
    zero4(r);
    switch (leaf) {
    case 0x0:
        set4(r, max_basic, host[EBX], host[ECX], host[EDX]);    /* vendor */
        break;
    case 0x1:
        copy4(r, host);
        filter_leaf1(r);
        break;
    case 0x2:                           /* cache and TLB descriptors */
        copy4(r, host);
        break;
    case 0x15:                          /* TSC/crystal ratio: the TSC runs at the host's rate */
        set4(r, host[EAX], host[EBX], host[ECX], 0);
        break;
    case 0x16:                          /* base, maximum and bus frequency */
        set4(r, host[EAX] & FREQ_MHZ_MASK, host[EBX] & FREQ_MHZ_MASK, host[ECX] & FREQ_MHZ_MASK, 0);
        break;
    case 0x3:                           /* serial number */
    case 0x5:                           /* MONITOR/MWAIT */
    case 0x6:                           /* thermal and power (ARAT, turbo, HWP) */
    case 0x8: case 0xC: case 0xE:       /* reserved */
    case 0x11: case 0x13:
    case 0x9:                           /* direct cache access */
    case 0xA:                           /* performance monitoring */
    case 0xF: case 0x10:                /* resource director */
    case 0x12:                          /* SGX */
    case 0x14:                          /* processor trace */
    case 0x17:                          /* SoC vendor attributes */
    case 0x18:                          /* address translation: counts the threads sharing TLBs */
    case 0x19:                          /* Key Locker */
    case 0x1A:                          /* hybrid core type */
    case 0x1B:                          /* PCONFIG */
    case 0x1C:                          /* architectural LBR */
    default:
        break;
    }
}

static void build_extended_leaf(uint32_t leaf, uint32_t r[4])
{
    uint32_t host[4];
    copy4(host, r);
    zero4(r);
    switch (leaf) {
    case 0x80000000:
        r[EAX] = max_ext;
        break;
    case 0x80000001:
        r[ECX] = host[ECX] & EXT1_ECX_ALLOWED;
        r[EDX] = host[EDX] & EXT1_EDX_ALLOWED;
        break;
    case 0x80000002: case 0x80000003: case 0x80000004:          /* brand string */
        copy4(r, host);
        break;
    case 0x80000006:
        r[ECX] = host[ECX] & EXT6_ECX_ALLOWED;
        break;
    case 0x80000007:
        r[EDX] = host[EDX] & EXT7_EDX_ALLOWED;
        break;
    case 0x80000008:
        r[EAX] = host[EAX] & EXT8_EAX_ALLOWED;
        r[EBX] = host[EBX] & EXT8_EBX_ALLOWED;                  /* ECX: AMD core count, hidden */
        break;
    default:                                                    /* 0x80000005: reserved */
        break;
    }
}

void cpuid_policy_init(uint64_t tsc_khz)
{
    cpuid_policy_init_from(cpuid_instruction, tsc_khz);
}

void cpuid_policy_init_from(cpuid_source_fn cpu, uint64_t tsc_khz)
{
    uint32_t r[4];
    memset(basic_table, 0, sizeof(basic_table));
    memset(cache_leaf, 0, sizeof(cache_leaf));
    memset(feature_leaf, 0, sizeof(feature_leaf));
    memset(xsave_leaf, 0, sizeof(xsave_leaf));
    memset(tile_leaf, 0, sizeof(tile_leaf));
    memset(tmul_leaf, 0, sizeof(tmul_leaf));
    memset(ext_table, 0, sizeof(ext_table));
    plain_leaves = 0;
    tsc_khz_reported = tsc_khz > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)tsc_khz;

    cpu(0, 0, r);
    max_basic = r[EAX] > CPUID_BASIC_LIMIT ? CPUID_BASIC_LIMIT : r[EAX];
    cpu(CPUID_EXT_BASE, 0, r);
    max_ext = r[EAX] < CPUID_EXT_BASE ? CPUID_EXT_BASE
            : r[EAX] > CPUID_EXT_LIMIT ? CPUID_EXT_LIMIT : r[EAX];

    /* In leaf order: the AMX leaves (0x1D, 0x1E) depend on leaves 7 and 0xD. */
    for (uint32_t leaf = 0; leaf <= max_basic; leaf++) {
        switch (leaf) {
        case 0x4:  build_cache_leaf(cpu); break;
        case 0x7:  build_feature_leaf(cpu); break;
        case 0xD:  build_xsave_leaf(cpu); break;
        case 0x1D: build_tile_leaves(cpu); break;
        case 0x1E: break;                                       /* built with 0x1D */
        case 0xB: case 0x1F: break;                             /* topology_leaf() */
        default:
            cpu(leaf, 0, r);
            build_plain_leaf(leaf, r, basic_table[leaf]);
            if (leaf != 1)                                      /* OSXSAVE follows CR4 */
                plain_leaves |= BIT(leaf);
            break;
        }
    }

    for (uint32_t leaf = CPUID_EXT_BASE; leaf <= max_ext; leaf++) {
        uint32_t *e = ext_table[leaf - CPUID_EXT_BASE];
        cpu(leaf, 0, e);
        build_extended_leaf(leaf, e);
    }
}

/* ---- the answers ---- */

/* Leaves 0xB and 0x1F (SDM Vol. 2A): level 0 is the SMT level, level 1 the core level, each with
 * one logical processor and no x2APIC ID bits; every higher level is invalid (type 0, EAX=EBX=0).
 * ECX[7:0] echoes the level asked for and EDX is the x2APIC ID on every level. */
static void topology_leaf(uint32_t subleaf, uint32_t r[4])
{
    enum { LEVEL_INVALID = 0, LEVEL_SMT = 1, LEVEL_CORE = 2 };
    uint32_t level = subleaf & 0xFF;
    if (subleaf == 0)
        set4(r, 0, 1, (LEVEL_SMT << 8) | level, GUEST_APIC_ID);
    else if (subleaf == 1)
        set4(r, 0, 1, (LEVEL_CORE << 8) | level, GUEST_APIC_ID);
    else
        set4(r, 0, 0, (LEVEL_INVALID << 8) | level, GUEST_APIC_ID);
}

static void hypervisor_leaf(unsigned guest_id, uint32_t leaf, uint32_t r[4])
{
    zero4(r);
    switch (leaf) {
    case CPUID_LEAF_HV_SIGNATURE:
        set4(r, CPUID_LEAF_HV_TIMING, CPUID_HV_SIGNATURE_EBX, CPUID_HV_SIGNATURE_ECX, CPUID_HV_SIGNATURE_EDX);
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

/* The highest basic leaf the guest sees: 2 while IA32_MISC_ENABLE limits CPUID (the MSR accepts
 * the bit only when the model has more). */
static uint32_t visible_max_basic(uint64_t misc_enable)
{
    if ((misc_enable & MISC_ENABLE_LIMIT_CPUID) && max_basic > CPUID_LIMITED_MAX)
        return CPUID_LIMITED_MAX;
    return max_basic;
}

/* The static answer; returns the basic leaf actually answered (a leaf past the maximum is answered
 * as the highest basic leaf, as Intel CPUs do), or the leaf itself otherwise. */
static uint32_t cpuid_lookup(unsigned guest_id, uint64_t misc_enable, uint32_t leaf, uint32_t subleaf,
                             uint32_t r[4])
{
    if (leaf - CPUID_EXT_BASE <= max_ext - CPUID_EXT_BASE) {
        copy4(r, ext_table[leaf - CPUID_EXT_BASE]);
        if (leaf == 0x80000001u && (misc_enable & MISC_ENABLE_XD_DISABLE))
            r[EDX] &= ~EXT1_EDX_NX;
        return leaf;
    }
    if (leaf - CPUID_HV_BASE < CPUID_HV_RANGE) {
        hypervisor_leaf(guest_id, leaf, r);
        return leaf;
    }
    uint32_t top = visible_max_basic(misc_enable);
    if (leaf > top)
        leaf = top;
    if (leaf == 0xB || leaf == 0x1F) {
        topology_leaf(subleaf, r);
    } else if (indexed_leaf[leaf].count) {
        if (subleaf < indexed_leaf[leaf].count)
            copy4(r, indexed_leaf[leaf].slot[subleaf]);
        else
            zero4(r);
    } else {
        copy4(r, basic_table[leaf]);
        if (leaf == 0)
            r[EAX] = top;
    }
    return leaf;
}

void cpuid_guest_view(unsigned guest_id, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    cpuid_lookup(guest_id, 0 /* no CPUID-shaping bit, as at reset */, leaf, subleaf, out);
}

void cpuid_guest_answer(const struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    uint32_t answered = cpuid_lookup(v->vm->id, v->misc_enable, leaf, subleaf, r);

    /* Bits the hardware derives from the current CR4/XCR0 (the actual CR4: Tessera does not
     * own OSXSAVE or PKE, so it equals what the guest wrote). */
    switch (answered) {
    case 0x1:
        if (vmcs_read(VMCS_GUEST_CR4) & CR4_OSXSAVE)
            r[ECX] |= BIT(27);
        break;
    case 0x7:
        if (subleaf == 0 && (r[ECX] & LEAF7_ECX_PKU) && (vmcs_read(VMCS_GUEST_CR4) & CR4_PKE))
            r[ECX] |= LEAF7_ECX_OSPKE;
        break;
    case 0xD:
        if (subleaf == 0 && xcr0_offered())
            r[EBX] = xsave_size_standard(v->xcr0 | XCR0_X87);
        else if (subleaf == 1 && (r[EAX] & XSAVE_D1_XSAVEC))
            r[EBX] = xsave_size_compacted(v->xcr0 | XCR0_X87);
        break;
    default:
        break;
    }
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
static __attribute__((noinline)) enum exit_result cpuid_answer_general(struct vcpu *v);

enum exit_result exit_handle_cpuid(struct vcpu *v)
{
    /* Fast path: a basic leaf without subleaves whose answer depends on nothing of the guest's
     * state is a plain table copy (unless MISC_ENABLE limits the leaves the guest sees). */
    uint32_t leaf = (uint32_t)v->gpr[REG_RAX];
    if (leaf <= max_basic && ((plain_leaves >> leaf) & 1) && !(v->misc_enable & MISC_ENABLE_LIMIT_CPUID)) {
        const uint32_t *r = basic_table[leaf];
        v->gpr[REG_RAX] = r[EAX];
        v->gpr[REG_RBX] = r[EBX];
        v->gpr[REG_RCX] = r[ECX];
        v->gpr[REG_RDX] = r[EDX];
        return EXIT_ADVANCE;
    }
    return cpuid_answer_general(v);
}

static enum exit_result cpuid_answer_general(struct vcpu *v)
{
    uint32_t r[4];
    cpuid_guest_answer(v, (uint32_t)v->gpr[REG_RAX], (uint32_t)v->gpr[REG_RCX], r);
    v->gpr[REG_RAX] = r[EAX];
    v->gpr[REG_RBX] = r[EBX];
    v->gpr[REG_RCX] = r[ECX];
    v->gpr[REG_RDX] = r[EDX];
    return EXIT_ADVANCE;
}
