/* Tests for the CPUID policy and exit: Tessera's leaves, hidden features, topology, leaves above
 * the maximum, bits that follow the guest's CR4/XCR0, and register handling of the exit.
 * The policy is built from the CPU running the tests, so expectations compare with it. */
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

enum { EAX, EBX, ECX, EDX };
#define BIT(n) (1u << (n))

static struct guest *g;

static int setup(void **state)
{
    (void)state;
    g = test_guest_new("cpu", 1 << 16);
    g->id = 3;
    g->vcpu.xcr0 = 1;
    cpuid_policy_init(2500000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_guest_free(g);
    return 0;
}

static void view(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    cpuid_guest_view(g->id, leaf, subleaf, r);
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
    g->vcpu.gpr[REG_RAX] = 0xDEAD000000000000ull | leaf;
    g->vcpu.gpr[REG_RCX] = 0xBEEF000000000000ull | subleaf;
    g->vcpu.gpr[REG_RBX] = ~0ull;
    g->vcpu.gpr[REG_RDX] = ~0ull;
    assert_int_equal(exit_handle_cpuid(g), EXIT_ADVANCE);
    for (int i = 0; i < 4; i++)
        assert_true(g->vcpu.gpr[i] <= 0xFFFFFFFFull);   /* RAX, RCX, RDX, RBX zero-extended */
    r[EAX] = (uint32_t)g->vcpu.gpr[REG_RAX];
    r[EBX] = (uint32_t)g->vcpu.gpr[REG_RBX];
    r[ECX] = (uint32_t)g->vcpu.gpr[REG_RCX];
    r[EDX] = (uint32_t)g->vcpu.gpr[REG_RDX];
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
    g->id = 0;
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
        assert_int_equal(r[EAX], h[EAX]);
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

    g->vcpu.xcr0 = 1;
    exit_cpuid(0xD, 0, r);
    assert_int_equal(r[EBX], 576);
    view(0xD, 2, s2);
    if (s2[EAX]) {                                              /* AVX state exists */
        g->vcpu.xcr0 = 7;
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

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
