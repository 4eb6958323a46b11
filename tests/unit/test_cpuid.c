/* Tests for the CPUID policy and exit: Tessera's leaves, hidden features, topology, leaves above
 * the maximum, bits that follow the guest's CR4/XCR0 and IA32_MISC_ENABLE, and register handling
 * of the exit. The first tests build the policy from the CPU running them; the dump tests build it
 * from recorded CPUs (tests/unit/cpuid_dumps/) and check every leaf and subleaf against the rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cpuid.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "hypercall.h"
#include "test_guest_helpers.h"
#include "x86.h"
#include "cpuid_dumps/cpuid_dump.h"
#include "cpuid_dumps/raptor_lake_i7_13700k.h"
#include "cpuid_dumps/alder_lake_i9_12900k.h"
#include "cpuid_dumps/xeon_gold_6252.h"
#include "cpuid_dumps/ryzen7_7800x3d.h"

enum { EAX, EBX, ECX, EDX };
#define BIT(n) (1u << (n))

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("cpu", 1 << 16);
    vcpu = test_vcpu(vm);
    vm->id = 3;
    vcpu->xcr0 = 1;
    cpuid_policy_init(2500000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static void view(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    cpuid_guest_view(vm->id, leaf, subleaf, r);
}

static void host(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    __cpuid_count(leaf, subleaf, r[EAX], r[EBX], r[ECX], r[EDX]);
}

static uint32_t max_basic(void)
{
    uint32_t r[4];
    view(0, 0, r);
    return r[EAX];
}

/* Run the exit with garbage in the upper halves and in RBX/RDX. */
static void exit_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    vcpu->gpr[REG_RAX] = 0xDEAD000000000000ull | leaf;
    vcpu->gpr[REG_RCX] = 0xBEEF000000000000ull | subleaf;
    vcpu->gpr[REG_RBX] = ~0ull;
    vcpu->gpr[REG_RDX] = ~0ull;
    assert_int_equal(exit_handle_cpuid(vcpu), EXIT_ADVANCE);
    for (int i = 0; i < 4; i++)
        assert_true(vcpu->gpr[i] <= 0xFFFFFFFFull);   /* RAX, RCX, RDX, RBX zero-extended */
    r[EAX] = (uint32_t)vcpu->gpr[REG_RAX];
    r[EBX] = (uint32_t)vcpu->gpr[REG_RBX];
    r[ECX] = (uint32_t)vcpu->gpr[REG_RCX];
    r[EDX] = (uint32_t)vcpu->gpr[REG_RDX];
}

static void test_signature_leaf(void **state)
{
    (void)state;
    uint32_t r[4];
    exit_cpuid(CPUID_LEAF_HV_SIGNATURE, 0, r);
    assert_int_equal(r[EAX], 0x40000010u);
    char sig[13];
    memcpy(sig, &r[EBX], 4);
    memcpy(sig + 4, &r[ECX], 4);
    memcpy(sig + 8, &r[EDX], 4);
    sig[12] = 0;
    assert_string_equal(sig, "TesseraVisor");
    assert_false(soft_vmcs_written(VMCS_GUEST_RIP));
}

static void test_info_leaf_has_abi_and_guest_id(void **state)
{
    (void)state;
    uint32_t r[4];
    exit_cpuid(CPUID_LEAF_HV_INFO, 0, r);
    assert_int_equal(r[EAX], HC_ABI_VERSION);
    assert_int_equal(r[EBX], 3);
    vm->id = 0;
    exit_cpuid(CPUID_LEAF_HV_INFO, 0, r);
    assert_int_equal(r[EBX], 0);
}

static void test_timing_leaf(void **state)
{
    (void)state;
    uint32_t r[4];
    exit_cpuid(CPUID_LEAF_HV_TIMING, 0, r);
    assert_int_equal(r[EAX], 2500000);
    assert_int_equal(r[EBX] | r[ECX] | r[EDX], 0);
    cpuid_policy_init(1ull << 40);                 /* absurd frequency saturates, never wraps */
    exit_cpuid(CPUID_LEAF_HV_TIMING, 0, r);
    assert_int_equal(r[EAX], 0xFFFFFFFFu);
    cpuid_policy_init(0);
    exit_cpuid(CPUID_LEAF_HV_TIMING, 0, r);
    assert_int_equal(r[EAX], 0);
}

static void test_other_hypervisor_leaves_are_zero(void **state)
{
    (void)state;
    uint32_t leaves[] = { 0x40000002u, 0x4000000Fu, 0x40000011u, 0x400000FFu };
    for (unsigned i = 0; i < 4; i++) {
        uint32_t r[4];
        exit_cpuid(leaves[i], 0, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    }
}

static void test_leaf0_vendor_and_cap(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    view(0, 0, r);
    host(0, 0, h);
    assert_true(r[EAX] <= 0x1F);
    assert_int_equal(r[EAX], h[EAX] < 0x1F ? h[EAX] : 0x1F);
    assert_int_equal(r[EBX], h[EBX]);
    assert_int_equal(r[ECX], h[ECX]);
    assert_int_equal(r[EDX], h[EDX]);
    view(0x80000000u, 0, r);
    assert_true(r[EAX] >= 0x80000000u && r[EAX] <= 0x80000008u);
}

static void test_leaf1_filtering(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    exit_cpuid(1, 0, r);
    host(1, 0, h);
    assert_int_equal(r[EAX], h[EAX]);
    assert_true(r[ECX] & BIT(31));                  /* hypervisor present */
    uint32_t hidden_ecx = BIT(3) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(11) | BIT(15) | BIT(18) |
                          BIT(21) | BIT(24);
    assert_int_equal(r[ECX] & hidden_ecx, 0);
    assert_int_equal(r[EDX] & (BIT(22) | BIT(28) | BIT(29) | BIT(31)), 0);
    assert_int_equal(r[EDX] & BIT(9), h[EDX] & BIT(9));       /* APIC kept */
    assert_int_equal(r[EBX] >> 24, 0);                         /* initial APIC id */
    assert_int_equal((r[EBX] >> 16) & 0xFF, 1);                /* one logical processor */
    assert_int_equal(r[EBX] & 0xFFFF, h[EBX] & 0xFFFF);
    /* features not on the hidden list pass through (SSE2, XSAVE where present) */
    assert_int_equal(r[EDX] & BIT(26), h[EDX] & BIT(26));
    assert_int_equal(r[ECX] & BIT(26), h[ECX] & BIT(26));
}

static void test_osxsave_follows_guest_cr4(void **state)
{
    (void)state;
    uint32_t r[4];
    vmcs_write(VMCS_GUEST_CR4, 0x2000);
    exit_cpuid(1, 0, r);
    assert_int_equal(r[ECX] & BIT(27), 0);
    vmcs_write(VMCS_GUEST_CR4, 0x2000 | (1u << 18));
    exit_cpuid(1, 0, r);
    assert_true(r[ECX] & BIT(27));
    /* the static view never claims it */
    view(1, 0, r);
    assert_int_equal(r[ECX] & BIT(27), 0);
}

static void test_leaf7_hidden_features(void **state)
{
    (void)state;
    if (max_basic() < 7)
        skip();
    uint32_t r[4], h[4];
    exit_cpuid(7, 0, r);
    host(7, 0, h);
    assert_int_equal(r[EBX] & (BIT(1) | BIT(2) | BIT(4) | BIT(11) | BIT(12) | BIT(14) | BIT(15) | BIT(25)), 0);
    assert_int_equal(r[ECX] & (BIT(5) | BIT(30)), 0);
    assert_int_equal(r[EDX] & (BIT(15) | BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(31)), 0);
    assert_int_equal(r[EBX] & (BIT(0) | BIT(3) | BIT(5) | BIT(10)), h[EBX] & (BIT(0) | BIT(3) | BIT(5) | BIT(10)));
    assert_true(r[EAX] <= 2);
    exit_cpuid(7, 2, r);                            /* 7.2: speculation controls only */
    assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    exit_cpuid(7, 9, r);                            /* past the last subleaf */
    assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
}

static void test_zeroed_leaves(void **state)
{
    (void)state;
    uint32_t leaves[] = { 5, 6, 0xA, 0xF, 0x10, 0x12, 0x14 };
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        if (leaves[i] > max_basic())
            continue;
        uint32_t r[4];
        exit_cpuid(leaves[i], 0, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
        exit_cpuid(leaves[i], 1, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    }
}

static void test_leaf4_reports_one_core(void **state)
{
    (void)state;
    for (uint32_t s = 0; s < 8; s++) {
        uint32_t r[4];
        exit_cpuid(4, s, r);
        assert_int_equal(r[EAX] >> 14, 0);
    }
}

static void test_topology_leaf_b(void **state)
{
    (void)state;
    if (max_basic() < 0xB)
        skip();
    uint32_t r[4];
    exit_cpuid(0xB, 0, r);
    assert_int_equal(r[EBX], 1);
    assert_int_equal(r[ECX], 0x100);                /* SMT level, number 0 */
    assert_int_equal(r[EDX], 0);                    /* x2APIC id */
    exit_cpuid(0xB, 1, r);
    assert_int_equal(r[EBX], 1);
    assert_int_equal(r[ECX], 0x201);                /* core level, number 1 */
    exit_cpuid(0xB, 5, r);
    assert_int_equal(r[EAX] | r[EBX] | r[EDX], 0);
    assert_int_equal(r[ECX], 5);                    /* invalid level echoes its number */
}

static void test_leaf_above_max_is_highest_basic(void **state)
{
    (void)state;
    uint32_t top[4], r[4];
    uint32_t max = max_basic();
    view(max, 0, top);
    uint32_t leaves[] = { max + 1, 0x3FFFFFFFu, 0x40000100u, 0x7FFFFFFFu, 0x80000009u, 0x8FFFFFFFu, 0xFFFFFFFFu };
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        view(leaves[i], 0, r);
        assert_memory_equal(r, top, sizeof(r));
    }
    /* the exit agrees (the highest leaf's dynamic bits, if any, apply to the alias too) */
    uint32_t e1[4], e2[4];
    exit_cpuid(max, 0, e1);
    exit_cpuid(0x7FFFFFFFu, 0, e2);
    assert_memory_equal(e1, e2, sizeof(e1));
}

static void test_extended_leaves(void **state)
{
    (void)state;
    uint32_t r[4], h[4];
    view(0x80000001u, 0, r);
    host(0x80000001u, 0, h);
    assert_int_equal(r[EDX] & BIT(29), h[EDX] & BIT(29));      /* LM */
    assert_int_equal(r[EDX] & BIT(20), h[EDX] & BIT(20));      /* NX */
    assert_int_equal(r[EDX] & BIT(11), h[EDX] & BIT(11));      /* SYSCALL */
    assert_int_equal(r[ECX] & BIT(0), h[ECX] & BIT(0));        /* LAHF */
    assert_int_equal(r[ECX] & BIT(2), 0);                      /* never SVM */
    uint32_t max_ext[4];
    view(0x80000000u, 0, max_ext);
    if (max_ext[EAX] >= 0x80000007u) {
        view(0x80000007u, 0, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX], 0);
        assert_int_equal(r[EDX] & ~BIT(8), 0);
    }
    if (max_ext[EAX] >= 0x80000008u) {
        view(0x80000008u, 0, r);
        host(0x80000008u, 0, h);
        assert_int_equal(r[EAX], h[EAX] & 0xFFFF);      /* physical, linear; not AMD's guest width */
    }
}

static void test_xsave_leaf(void **state)
{
    (void)state;
    uint32_t l1[4];
    view(1, 0, l1);
    if (max_basic() < 0xD || !(l1[ECX] & BIT(26)))
        skip();
    uint32_t r[4], s1[4], s2[4];
    view(0xD, 0, r);
    assert_true(r[EAX] & 1);
    assert_int_equal(r[EAX] & (BIT(3) | BIT(4)), 0);            /* MPX state hidden */
    view(0xD, 1, s1);
    assert_int_equal(s1[EAX] & (BIT(3) | BIT(4)), 0);           /* no XSAVES/XFD */
    assert_int_equal(s1[ECX] | s1[EDX], 0);                     /* no IA32_XSS components */
    view(0xD, 3, r);
    assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);

    vcpu->xcr0 = 1;
    exit_cpuid(0xD, 0, r);
    assert_int_equal(r[EBX], 576);
    view(0xD, 2, s2);
    if (s2[EAX]) {                                              /* AVX state exists */
        vcpu->xcr0 = 7;
        exit_cpuid(0xD, 0, r);
        assert_int_equal(r[EBX], s2[EBX] + s2[EAX]);
        assert_true(r[ECX] >= r[EBX]);
        if (s1[EAX] & BIT(1)) {                                 /* XSAVEC: compacted size */
            exit_cpuid(0xD, 1, r);
            assert_int_equal(r[EBX], 576 + s2[EAX]);
        }
    }
}

static void test_repeated_calls_and_reinit_are_consistent(void **state)
{
    (void)state;
    uint32_t leaves[] = { 0, 1, 4, 7, 0xB, 0xD, 0x80000000u, 0x80000001u, 0x80000008u, 0x40000000u };
    uint32_t first[10][4];
    for (unsigned i = 0; i < 10; i++)
        view(leaves[i], 0, first[i]);
    for (int round = 0; round < 3; round++) {
        cpuid_policy_init(2500000);
        for (unsigned i = 0; i < 10; i++) {
            uint32_t r[4];
            view(leaves[i], 0, r);
            assert_memory_equal(r, first[i], sizeof(r));
        }
    }
}

/* ---- the policy over recorded CPUs ----
 * What the policy allows, stated independently of vmm/exit/cpuid.c: for each register of each
 * leaf, the host bits a guest may see. Everything not listed must read as zero. */

#define CPUID_BASIC_CAP        0x1Fu        /* Tessera's highest basic leaf */
#define CPUID_EXT_CAP          0x80000008u  /* and highest extended leaf */
#define SUBLEAVES_PROBED       70u          /* past 0xD's 63 state components */

static const uint32_t leaf1_ecx_allowed =
    BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(17) | BIT(19) | BIT(20) | BIT(22) | BIT(23) |
    BIT(25) | BIT(26) | BIT(28) | BIT(29) | BIT(30);        /* SSE3 ... RDRAND; never OSXSAVE statically */
static const uint32_t leaf1_edx_allowed =
    0x3FFu /* FPU..APIC */ | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | BIT(17) |
    BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26) | BIT(27);
static const uint32_t leaf7_ebx_allowed =
    ~(BIT(1) | BIT(2) | BIT(4) | BIT(11) | BIT(12) | BIT(14) | BIT(15) | BIT(22) | BIT(25));
static const uint32_t leaf7_ecx_allowed =
    BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | BIT(11) | BIT(12) |
    BIT(14) | BIT(16) | BIT(22) | BIT(25) | BIT(27) | BIT(28);
static const uint32_t leaf7_edx_allowed =
    BIT(2) | BIT(3) | BIT(4) | BIT(8) | BIT(10) | BIT(14) | BIT(22) | BIT(23) | BIT(24) | BIT(25);
static const uint32_t leaf7_1_eax_allowed =
    BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(7) | BIT(10) | BIT(11) | BIT(12) |
    BIT(21) | BIT(23);
static const uint32_t leaf7_1_edx_allowed = BIT(4) | BIT(5) | BIT(8) | BIT(10) | BIT(14);
static const uint64_t xcr0_allowed =
    XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU | XCR0_TILECFG | XCR0_TILEDATA;

static const struct cpuid_dump dump_raptor_lake = CPUID_DUMP(raptor_lake_i7_13700k);
static const struct cpuid_dump dump_alder_lake = CPUID_DUMP(alder_lake_i9_12900k);
static const struct cpuid_dump dump_cascade_lake = CPUID_DUMP(xeon_gold_6252);
static const struct cpuid_dump dump_zen4 = CPUID_DUMP(ryzen7_7800x3d);

static void use_dump(void **state)
{
    const struct cpuid_dump *d = *state;
    cpuid_dump_select(d);
    cpuid_policy_init_from(cpuid_dump_source, 2500000);
    vmcs_write(VMCS_GUEST_CR4, 0);
    vcpu->xcr0 = 1;
    msr_vcpu_init(vcpu);
}

static void raw(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    cpuid_dump_source(leaf, subleaf, r);
}

static uint32_t dump_max_basic(void)
{
    uint32_t r[4];
    raw(0, 0, r);
    return r[EAX] < CPUID_BASIC_CAP ? r[EAX] : CPUID_BASIC_CAP;
}

static uint32_t dump_max_ext(void)
{
    uint32_t r[4];
    raw(0x80000000u, 0, r);
    if (r[EAX] < 0x80000000u)
        return 0x80000000u;
    return r[EAX] < CPUID_EXT_CAP ? r[EAX] : CPUID_EXT_CAP;
}

static void expect(const uint32_t got[4], uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
                   uint32_t leaf, uint32_t subleaf)
{
    if (got[EAX] != eax || got[EBX] != ebx || got[ECX] != ecx || got[EDX] != edx)
        fail_msg("leaf %#x.%u: got %08x %08x %08x %08x, policy allows %08x %08x %08x %08x", leaf, subleaf,
                 got[EAX], got[EBX], got[ECX], got[EDX], eax, ebx, ecx, edx);
}

/* The one thread of the guest's one core: x2APIC ID 0, as leaf 1 reports its initial APIC ID. */
static void expect_topology(uint32_t leaf, uint32_t subleaf, const uint32_t r[4])
{
    if (subleaf == 0)
        expect(r, 0, 1, 0x100, 0, leaf, subleaf);                       /* SMT level, 1 thread */
    else if (subleaf == 1)
        expect(r, 0, 1, 0x201, 0, leaf, subleaf);                       /* core level, 1 in package */
    else
        expect(r, 0, 0, subleaf & 0xFF, 0, leaf, subleaf);              /* invalid level */
}

static void expect_xsave(uint32_t subleaf, const uint32_t r[4], const uint32_t h[4])
{
    uint32_t h0[4];
    raw(0xD, 0, h0);
    uint64_t offered = ((uint64_t)h0[EDX] << 32 | h0[EAX]) & xcr0_allowed;
    if (!(offered & XCR0_X87)) {
        expect(r, 0, 0, 0, 0, 0xD, subleaf);                            /* no XSAVE */
    } else if (subleaf == 0) {
        uint32_t max_size = 576;
        for (unsigned i = 2; i < 64; i++) {
            uint32_t c[4];
            raw(0xD, i, c);
            if ((offered >> i) & 1 && c[EBX] + c[EAX] > max_size)
                max_size = c[EBX] + c[EAX];
        }
        expect(r, (uint32_t)offered, 576, max_size, (uint32_t)(offered >> 32), 0xD, 0);
    } else if (subleaf == 1) {
        uint32_t eax = h[EAX] & (BIT(0) | BIT(1) | BIT(2));            /* XSAVEOPT, XSAVEC, XGETBV1 */
        expect(r, eax, (eax & BIT(1)) ? 576 : 0, 0, 0, 0xD, 1);         /* no IA32_XSS state */
    } else if (subleaf < 64 && ((offered >> subleaf) & 1)) {
        expect(r, h[EAX], h[EBX], h[ECX] & BIT(1), 0, 0xD, subleaf);
    } else {
        expect(r, 0, 0, 0, 0, 0xD, subleaf);
    }
}

/* Leaf 4 keeps cache geometry; the sharing and core-count fields say one thread, one core. */
static void expect_cache(uint32_t subleaf, const uint32_t r[4], const uint32_t h[4])
{
    for (uint32_t s = 0; s <= subleaf; s++) {
        uint32_t c[4];
        raw(4, s, c);
        if ((c[EAX] & 0x1F) == 0) {
            expect(r, 0, 0, 0, 0, 4, subleaf);                          /* at or past the null level */
            return;
        }
    }
    expect(r, h[EAX] & 0x3FF, h[EBX], h[ECX], h[EDX] & 7, 4, subleaf);
}

static void expect_basic(uint32_t leaf, uint32_t subleaf, const uint32_t r[4])
{
    uint32_t h[4], l7[4];
    raw(leaf, subleaf, h);
    switch (leaf) {
    case 0x0:
        expect(r, dump_max_basic(), h[EBX], h[ECX], h[EDX], leaf, subleaf);
        break;
    case 0x1:
        expect(r, h[EAX] & 0x0FFF3FFF, (h[EBX] & 0xFFFF) | (1u << 16),
               (h[ECX] & leaf1_ecx_allowed) | BIT(31), h[EDX] & leaf1_edx_allowed, leaf, subleaf);
        break;
    case 0x2:
        expect(r, h[EAX], h[EBX], h[ECX], h[EDX], leaf, subleaf);       /* cache/TLB descriptors */
        break;
    case 0x4:
        expect_cache(subleaf, r, h);
        break;
    case 0x7:
        raw(7, 0, l7);
        if (subleaf == 0)
            expect(r, h[EAX] < 1 ? h[EAX] : 1, h[EBX] & leaf7_ebx_allowed, h[ECX] & leaf7_ecx_allowed,
                   h[EDX] & leaf7_edx_allowed, leaf, subleaf);
        else if (subleaf == 1 && l7[EAX] >= 1)
            expect(r, h[EAX] & leaf7_1_eax_allowed, 0, 0, h[EDX] & leaf7_1_edx_allowed, leaf, subleaf);
        else
            expect(r, 0, 0, 0, 0, leaf, subleaf);                       /* 7.2: speculation controls */
        break;
    case 0xB:
    case 0x1F:
        expect_topology(leaf, subleaf, r);
        break;
    case 0xD:
        expect_xsave(subleaf, r, h);
        break;
    case 0x15:
        expect(r, h[EAX], h[EBX], h[ECX], 0, leaf, subleaf);            /* TSC/crystal ratio */
        break;
    case 0x16:
        expect(r, h[EAX] & 0xFFFF, h[EBX] & 0xFFFF, h[ECX] & 0xFFFF, 0, leaf, subleaf);
        break;
    case 0x1D:
    case 0x1E:
        raw(7, 0, l7);
        if ((l7[EDX] & BIT(24)) && subleaf < (leaf == 0x1D ? 2u : 1u))  /* AMX tile information */
            expect(r, h[EAX], h[EBX], h[ECX], h[EDX], leaf, subleaf);
        else
            expect(r, 0, 0, 0, 0, leaf, subleaf);
        break;
    default:                /* 3, 5, 6, 8-0xA, 0xC, 0xE-0x14, 0x17-0x1C: hidden or reserved */
        expect(r, 0, 0, 0, 0, leaf, subleaf);
        break;
    }
}

static void expect_extended(uint32_t leaf, const uint32_t r[4])
{
    uint32_t h[4];
    raw(leaf, 0, h);
    switch (leaf) {
    case 0x80000000:
        expect(r, dump_max_ext(), 0, 0, 0, leaf, 0);
        break;
    case 0x80000001:        /* LAHF, LZCNT, PREFETCHW; SYSCALL, NX, 1G pages, RDTSCP, LM */
        expect(r, 0, 0, h[ECX] & (BIT(0) | BIT(5) | BIT(8)),
               h[EDX] & (BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29)), leaf, 0);
        break;
    case 0x80000002: case 0x80000003: case 0x80000004:
        expect(r, h[EAX], h[EBX], h[ECX], h[EDX], leaf, 0);             /* brand string */
        break;
    case 0x80000006:
        expect(r, 0, 0, h[ECX] & 0xFFFFF0FF, 0, leaf, 0);               /* L2 line size, ways, size */
        break;
    case 0x80000007:
        expect(r, 0, 0, 0, h[EDX] & BIT(8), leaf, 0);                   /* invariant TSC */
        break;
    case 0x80000008:
        expect(r, h[EAX] & 0xFFFF, h[EBX] & BIT(9), 0, 0, leaf, 0);     /* address sizes, WBNOINVD */
        break;
    default:
        expect(r, 0, 0, 0, 0, leaf, 0);
        break;
    }
}

/* Every basic and extended leaf, every subleaf probed, through the view and through the exit
 * (whose dynamic bits are clear with CR4 = 0 and XCR0 = 1): exactly what the rules allow. */
static void test_dump_every_leaf_follows_the_rules(void **state)
{
    use_dump(state);
    uint32_t r[4], e[4];
    for (uint32_t leaf = 0; leaf <= dump_max_basic(); leaf++) {
        for (uint32_t s = 0; s < SUBLEAVES_PROBED; s++) {
            view(leaf, s, r);
            expect_basic(leaf, s, r);
            exit_cpuid(leaf, s, e);
            assert_memory_equal(e, r, sizeof(r));
        }
        const uint32_t far[] = { 0x100, 0x1FF, 0x80000000u, 0xFFFFFFFFu };
        for (unsigned i = 0; i < 4; i++) {
            view(leaf, far[i], r);
            expect_basic(leaf, far[i], r);
        }
    }
    for (uint32_t leaf = 0x80000000u; leaf <= dump_max_ext(); leaf++) {
        for (uint32_t s = 0; s < 4; s++) {
            view(leaf, s, r);
            expect_extended(leaf, r);
            exit_cpuid(leaf, s, e);
            assert_memory_equal(e, r, sizeof(r));
        }
    }
}

/* Leaves 1, 4, 0xB and 0x1F describe the same machine: one core, one thread, x2APIC ID 0. */
static void test_dump_topology_agrees_across_leaves(void **state)
{
    use_dump(state);
    uint32_t l1[4], r[4];
    exit_cpuid(1, 0, l1);
    uint32_t apic_id = l1[EBX] >> 24;
    assert_int_equal(apic_id, 0);
    assert_int_equal((l1[EBX] >> 16) & 0xFF, 1);
    assert_int_equal(l1[EDX] & BIT(28), 0);                         /* no HTT */
    for (uint32_t s = 0; s < 16; s++) {
        exit_cpuid(4, s, r);
        assert_int_equal((r[EAX] >> 14) & 0xFFF, 0);                /* threads sharing - 1 */
        assert_int_equal(r[EAX] >> 26, 0);                          /* cores in package - 1 */
    }
    const uint32_t topo[] = { 0xB, 0x1F };
    for (unsigned t = 0; t < 2; t++) {
        if (topo[t] > dump_max_basic())
            continue;
        for (uint32_t s = 0; s < 300; s++) {
            exit_cpuid(topo[t], s, r);
            assert_int_equal(r[EDX], apic_id);                      /* x2APIC ID on every level */
            assert_int_equal(r[ECX] & 0xFF, s & 0xFF);              /* level number echoes ECX */
            uint32_t type = (r[ECX] >> 8) & 0xFF;
            assert_int_equal(type, s == 0 ? 1 : s == 1 ? 2 : 0);    /* SMT, core, then invalid */
            assert_int_equal(r[EBX] & 0xFFFF, s < 2 ? 1 : 0);
            assert_int_equal(r[EAX] & 0x1F, 0);                     /* no x2APIC ID bits per level */
        }
    }
    uint32_t max_ext[4];
    exit_cpuid(0x80000000u, 0, max_ext);
    if (max_ext[EAX] >= 0x80000008u) {
        exit_cpuid(0x80000008u, 0, r);
        assert_int_equal(r[ECX], 0);                                /* AMD core count */
    }
}

static void test_dump_hidden_features_stay_hidden(void **state)
{
    use_dump(state);
    uint32_t r[4];
    vmcs_write(VMCS_GUEST_CR4, CR4_OSXSAVE | CR4_PKE);           /* dynamic bits on: still hidden */
    exit_cpuid(1, 0, r);
    assert_int_equal(r[ECX] & (BIT(3) | BIT(5) | BIT(6) | BIT(15) | BIT(21) | BIT(24)), 0);
    assert_true(r[ECX] & BIT(31));
    const uint32_t zero_leaves[] = { 5, 6, 0xA };                  /* MONITOR, power, perfmon */
    for (unsigned i = 0; i < 3; i++) {
        if (zero_leaves[i] > dump_max_basic())
            continue;
        for (uint32_t s = 0; s < 4; s++) {
            exit_cpuid(zero_leaves[i], s, r);
            assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
        }
    }
    if (dump_max_basic() >= 7) {
        exit_cpuid(7, 0, r);
        assert_int_equal(r[EDX] & 0xFC000000u, 0);                 /* IBRS..SSBD: speculation MSRs */
        assert_int_equal(r[EBX] & (BIT(4) | BIT(11)), 0);          /* HLE, RTM */
        exit_cpuid(7, 2, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    }
    exit_cpuid(0x80000001u, 0, r);
    assert_int_equal(r[ECX] & BIT(2), 0);                          /* SVM */
    exit_cpuid(0x80000008u, 0, r);
    assert_int_equal(r[EBX] & ~BIT(9), 0);                         /* AMD IBPB/IBRS/STIBP/SSBD */
}

/* Leaves past the maximum answer as the highest basic leaf does, subleaf included (Intel). */
static void test_dump_leaves_past_the_maximum(void **state)
{
    use_dump(state);
    uint32_t max = dump_max_basic();
    const uint32_t leaves[] = { max + 1, 0x20, 0x21, 0x3FFFFFFFu, 0x40000100u, 0x4FFFFFFFu, 0x7FFFFFFFu,
                                dump_max_ext() + 1, 0x8000001Eu, 0x80000026u, 0xC0000000u, 0xFFFFFFFFu };
    const uint32_t subs[] = { 0, 1, 2, 5 };
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        if (leaves[i] <= max)
            continue;
        for (unsigned j = 0; j < 4; j++) {
            uint32_t top[4], r[4];
            exit_cpuid(max, subs[j], top);
            exit_cpuid(leaves[i], subs[j], r);
            assert_memory_equal(r, top, sizeof(r));
        }
    }
}

static void test_dump_hypervisor_leaves(void **state)
{
    use_dump(state);
    uint32_t r[4];
    exit_cpuid(CPUID_LEAF_HV_SIGNATURE, 0, r);
    expect(r, CPUID_LEAF_HV_TIMING, CPUID_HV_SIGNATURE_EBX, CPUID_HV_SIGNATURE_ECX, CPUID_HV_SIGNATURE_EDX,
           CPUID_LEAF_HV_SIGNATURE, 0);
    exit_cpuid(CPUID_LEAF_HV_INFO, 0, r);
    expect(r, HC_ABI_VERSION, vm->id, 0, 0, CPUID_LEAF_HV_INFO, 0);
    exit_cpuid(CPUID_LEAF_HV_TIMING, 0, r);
    expect(r, 2500000, 0, 0, 0, CPUID_LEAF_HV_TIMING, 0);
    for (uint32_t leaf = CPUID_LEAF_HV_SIGNATURE + 2; leaf < CPUID_LEAF_HV_SIGNATURE + 0x100; leaf++) {
        if (leaf == CPUID_LEAF_HV_TIMING)
            continue;
        exit_cpuid(leaf, 0, r);
        expect(r, 0, 0, 0, 0, leaf, 0);
    }
}

/* ---- CPUID as IA32_MISC_ENABLE shapes it ---- */

static void write_misc_enable(uint64_t value)
{
    vcpu->gpr[REG_RCX] = MSR_IA32_MISC_ENABLE;
    vcpu->gpr[REG_RAX] = (uint32_t)value;
    vcpu->gpr[REG_RDX] = value >> 32;
    assert_int_equal(exit_handle_wrmsr(vcpu), EXIT_ADVANCE);
}

static uint64_t read_misc_enable(void)
{
    vcpu->gpr[REG_RCX] = MSR_IA32_MISC_ENABLE;
    assert_int_equal(exit_handle_rdmsr(vcpu), EXIT_ADVANCE);
    return (vcpu->gpr[REG_RDX] << 32) | (uint32_t)vcpu->gpr[REG_RAX];
}

/* Bit 22: CPUID.0:EAX reads 2 and every basic leaf above it answers as leaf 2, the highest basic
 * leaf the guest now has; extended and Tessera's leaves are unaffected. */
static void test_limit_cpuid_maxval_limits_basic_leaves(void **state)
{
    use_dump(state);
    uint32_t normal_max[4], ext_max[4], hv[4], leaf2[4], r[4];
    exit_cpuid(0, 0, normal_max);
    exit_cpuid(0x80000000u, 0, ext_max);
    exit_cpuid(CPUID_LEAF_HV_SIGNATURE, 0, hv);
    assert_true(normal_max[EAX] > 2);

    write_misc_enable(read_misc_enable() | MISC_ENABLE_LIMIT_CPUID);
    exit_cpuid(0, 0, r);
    expect(r, 2, normal_max[EBX], normal_max[ECX], normal_max[EDX], 0, 0);
    exit_cpuid(2, 0, leaf2);
    const uint32_t above[] = { 3, 4, 7, 0xB, 0xD, 0x1F, 0x20, 0x3FFFFFFFu, 0x80000009u, 0xFFFFFFFFu };
    for (unsigned i = 0; i < sizeof(above) / sizeof(above[0]); i++)
        for (uint32_t s = 0; s < 3; s++) {
            exit_cpuid(above[i], s, r);
            assert_memory_equal(r, leaf2, sizeof(r));
        }
    exit_cpuid(0x80000000u, 0, r);
    assert_memory_equal(r, ext_max, sizeof(r));
    exit_cpuid(CPUID_LEAF_HV_SIGNATURE, 0, r);
    assert_memory_equal(r, hv, sizeof(r));
    /* the CPU model behind it keeps its features (CR4/XCR0 checks use it) */
    view(0, 0, r);
    assert_int_equal(r[EAX], normal_max[EAX]);

    write_misc_enable(read_misc_enable() & ~MISC_ENABLE_LIMIT_CPUID);
    exit_cpuid(0, 0, r);
    assert_memory_equal(r, normal_max, sizeof(r));
}

/* Bit 34: CPUID.80000001H:EDX.NX reads 0 while XD is disabled. */
static void test_xd_disable_hides_nx(void **state)
{
    use_dump(state);
    uint32_t before[4], r[4];
    exit_cpuid(0x80000001u, 0, before);
    assert_true(before[EDX] & BIT(20));
    write_misc_enable(read_misc_enable() | MISC_ENABLE_XD_DISABLE);
    exit_cpuid(0x80000001u, 0, r);
    expect(r, before[EAX], before[EBX], before[ECX], before[EDX] & ~BIT(20), 0x80000001u, 0);
    write_misc_enable(read_misc_enable() & ~MISC_ENABLE_XD_DISABLE);
    exit_cpuid(0x80000001u, 0, r);
    assert_memory_equal(r, before, sizeof(r));
}

/* Bit 18 (MONITOR FSM) either way: MONITOR stays hidden, leaf 5 stays zero. */
static void test_monitor_stays_hidden_whatever_misc_enable_says(void **state)
{
    use_dump(state);
    uint32_t r[4];
    const uint64_t settings[] = { read_misc_enable() | MISC_ENABLE_MONITOR_FSM,
                                  read_misc_enable() & ~MISC_ENABLE_MONITOR_FSM };
    for (unsigned i = 0; i < 2; i++) {
        write_misc_enable(settings[i]);
        exit_cpuid(1, 0, r);
        assert_int_equal(r[ECX] & BIT(3), 0);
        exit_cpuid(5, 0, r);
        assert_int_equal(r[EAX] | r[EBX] | r[ECX] | r[EDX], 0);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
/* A test run once per recorded CPU, named after it. */
#define D(f, dump) { #f "(" #dump ")", f, setup, teardown, (void *)&dump }
#define ON_EVERY_DUMP(f) D(f, dump_raptor_lake), D(f, dump_alder_lake), D(f, dump_cascade_lake), D(f, dump_zen4)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_signature_leaf),
        T(test_info_leaf_has_abi_and_guest_id),
        T(test_timing_leaf),
        T(test_other_hypervisor_leaves_are_zero),
        T(test_leaf0_vendor_and_cap),
        T(test_leaf1_filtering),
        T(test_osxsave_follows_guest_cr4),
        T(test_leaf7_hidden_features),
        T(test_zeroed_leaves),
        T(test_leaf4_reports_one_core),
        T(test_topology_leaf_b),
        T(test_leaf_above_max_is_highest_basic),
        T(test_extended_leaves),
        T(test_xsave_leaf),
        T(test_repeated_calls_and_reinit_are_consistent),
        ON_EVERY_DUMP(test_dump_every_leaf_follows_the_rules),
        ON_EVERY_DUMP(test_dump_topology_agrees_across_leaves),
        ON_EVERY_DUMP(test_dump_hidden_features_stay_hidden),
        ON_EVERY_DUMP(test_dump_leaves_past_the_maximum),
        ON_EVERY_DUMP(test_dump_hypervisor_leaves),
        D(test_limit_cpuid_maxval_limits_basic_leaves, dump_raptor_lake),
        D(test_limit_cpuid_maxval_limits_basic_leaves, dump_zen4),
        D(test_xd_disable_hides_nx, dump_raptor_lake),
        D(test_monitor_stays_hidden_whatever_misc_enable_says, dump_raptor_lake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
