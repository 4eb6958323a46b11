/* Side-channel mitigation decisions (hw/mitigations.c) over CPU profiles: an old affected Intel
 * part, Intel parts with RDCL_NO/MDS_NO (with and without TSX), one told by a hypervisor below
 * that no L1D flush is needed, AMD, and Bochs (none of the bits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hw/mitigations.h"
#include "x86.h"

static struct mitigations decide(bool intel, uint32_t ebx, uint32_t edx, uint64_t arch_cap)
{
    struct cpu_security_facts f = { intel, ebx, edx, arch_cap };
    struct mitigations m;
    memset(&m, 0xA5, sizeof(m));
    mitigations_decide(&f, &m);
    return m;
}

static const char *describe(const struct mitigations *m)
{
    static char line[400];
    mitigations_describe(m, line, sizeof(line));
    assert_null(strchr(line, '\n'));
    return line;
}

#define SPEC_EDX (CPUID7_EDX_MD_CLEAR | CPUID7_EDX_IBRS_IBPB | CPUID7_EDX_L1D_FLUSH)

/* Skylake with 2019 microcode: L1TF and MDS affected, every control present, no ARCH_CAPABILITIES. */
static void old_affected_intel_flushes_l1d_and_barriers_predictors(void **state)
{
    (void)state;
    struct mitigations m = decide(true, CPUID7_EBX_RTM, SPEC_EDX, 0);
    assert_true(m.ibpb_on_guest_switch);
    assert_true(m.l1d_flush_on_entry);
    assert_false(m.verw_on_entry);                   /* the L1D flush overwrites the buffers too */
    assert_int_equal(m.l1tf, L1TF_FLUSH_ON_ENTRY);
    assert_int_equal(m.mds, MDS_COVERED_BY_L1D_FLUSH);
    const char *s = describe(&m);
    assert_non_null(strstr(s, "IBPB on guest switch"));
    assert_non_null(strstr(s, "L1D flush on VM entry"));
    assert_non_null(strstr(s, "RDCL_NO"));
    assert_non_null(strstr(s, "MD_CLEAR"));
}

/* The same part without the L1D_FLUSH microcode but with MD_CLEAR: VERW on entry, L1TF open. */
static void affected_intel_without_flush_cmd_uses_verw(void **state)
{
    (void)state;
    struct mitigations m = decide(true, 0, CPUID7_EDX_MD_CLEAR | CPUID7_EDX_IBRS_IBPB, 0);
    assert_true(m.ibpb_on_guest_switch);
    assert_false(m.l1d_flush_on_entry);
    assert_true(m.verw_on_entry);
    assert_int_equal(m.l1tf, L1TF_NOT_MITIGATED);
    assert_int_equal(m.mds, MDS_VERW_ON_ENTRY);
    assert_non_null(strstr(describe(&m), "not mitigated"));
    assert_non_null(strstr(describe(&m), "VERW on VM entry"));
}

/* Ice Lake server-like: RDCL_NO, SKIP_L1DFL_VMENTRY, MDS_NO, TAA_NO. Only IBPB is needed. */
static void intel_with_rdcl_no_and_mds_no_needs_only_ibpb(void **state)
{
    (void)state;
    uint64_t cap = ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_MDS_NO | ARCH_CAP_TAA_NO;
    struct mitigations m = decide(true, CPUID7_EBX_RTM, SPEC_EDX | CPUID7_EDX_ARCH_CAPABILITIES, cap);
    assert_true(m.ibpb_on_guest_switch);
    assert_false(m.l1d_flush_on_entry);
    assert_false(m.verw_on_entry);
    assert_int_equal(m.l1tf, L1TF_NOT_AFFECTED_RDCL_NO);
    assert_int_equal(m.mds, MDS_NOT_AFFECTED);
    assert_non_null(strstr(describe(&m), "not affected"));
}

/* Cascade Lake-like: MDS_NO but TSX without TAA_NO: VERW still clears the buffers (TAA). */
static void intel_with_mds_no_but_tsx_needs_verw_for_taa(void **state)
{
    (void)state;
    uint64_t cap = ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_MDS_NO;
    struct mitigations m = decide(true, CPUID7_EBX_RTM, SPEC_EDX | CPUID7_EDX_ARCH_CAPABILITIES, cap);
    assert_false(m.l1d_flush_on_entry);
    assert_true(m.verw_on_entry);
    assert_true(m.taa_only);
    assert_non_null(strstr(describe(&m), "TAA"));
    /* Without TSX the same part needs nothing. */
    m = decide(true, 0, SPEC_EDX | CPUID7_EDX_ARCH_CAPABILITIES, cap);
    assert_false(m.verw_on_entry);
    assert_int_equal(m.mds, MDS_NOT_AFFECTED);
}

/* An affected part told by the hypervisor below that it flushes L1D itself: no flush here, so
 * the buffers are not covered by one and VERW does it. */
static void skip_l1dfl_vmentry_skips_the_flush_and_keeps_verw(void **state)
{
    (void)state;
    struct mitigations m =
        decide(true, 0, SPEC_EDX | CPUID7_EDX_ARCH_CAPABILITIES, ARCH_CAP_SKIP_L1DFL_VMENTRY);
    assert_false(m.l1d_flush_on_entry);
    assert_int_equal(m.l1tf, L1TF_FLUSH_NOT_NEEDED);
    assert_true(m.verw_on_entry);
    assert_int_equal(m.mds, MDS_VERW_ON_ENTRY);
    assert_non_null(strstr(describe(&m), "SKIP_L1DFL_VMENTRY"));
}

/* AMD: neither L1TF nor MDS; IBPB only where CPUID leaf 7 advertises it. */
static void amd_is_not_affected_by_l1tf_or_mds(void **state)
{
    (void)state;
    struct mitigations m = decide(false, 0, 0, 0);
    assert_false(m.ibpb_on_guest_switch);
    assert_false(m.l1d_flush_on_entry);
    assert_false(m.verw_on_entry);
    assert_int_equal(m.l1tf, L1TF_NOT_AFFECTED_VENDOR);
    assert_int_equal(m.mds, MDS_NOT_AFFECTED_VENDOR);
    m = decide(false, 0, CPUID7_EDX_IBRS_IBPB, 0);
    assert_true(m.ibpb_on_guest_switch);
}

/* Bochs: an Intel CPU model with none of the bits. Nothing may touch an MSR it lacks (a #GP in
 * root mode halts the machine), and the log says what stays open. */
static void bochs_like_cpu_uses_no_msr_and_says_so(void **state)
{
    (void)state;
    struct mitigations m = decide(true, 0, 0, 0);
    assert_false(m.ibpb_on_guest_switch);
    assert_false(m.l1d_flush_on_entry);
    assert_false(m.verw_on_entry);
    assert_int_equal(m.ibpb, IBPB_NOT_AVAILABLE);
    assert_int_equal(m.l1tf, L1TF_NOT_MITIGATED);
    assert_int_equal(m.mds, MDS_NOT_MITIGATED);
    const char *s = describe(&m);
    assert_non_null(strstr(s, "no IBPB"));
    assert_non_null(strstr(s, "CPUID.7.0:EDX[28]"));
    assert_non_null(strstr(s, "CPUID.7.0:EDX[10]"));
}

/* A value of IA32_ARCH_CAPABILITIES is only believed when CPUID says the MSR exists. */
static void arch_capabilities_ignored_without_its_cpuid_bit(void **state)
{
    (void)state;
    struct mitigations m = decide(true, 0, SPEC_EDX, ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO);
    assert_true(m.l1d_flush_on_entry);
    assert_int_equal(m.mds, MDS_COVERED_BY_L1D_FLUSH);
}

static void describe_truncates_safely(void **state)
{
    (void)state;
    struct mitigations m = decide(true, 0, SPEC_EDX, 0);
    char small[12];
    mitigations_describe(&m, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_affected_intel_flushes_l1d_and_barriers_predictors),
        cmocka_unit_test(affected_intel_without_flush_cmd_uses_verw),
        cmocka_unit_test(intel_with_rdcl_no_and_mds_no_needs_only_ibpb),
        cmocka_unit_test(intel_with_mds_no_but_tsx_needs_verw_for_taa),
        cmocka_unit_test(skip_l1dfl_vmentry_skips_the_flush_and_keeps_verw),
        cmocka_unit_test(amd_is_not_affected_by_l1tf_or_mds),
        cmocka_unit_test(bochs_like_cpu_uses_no_msr_and_says_so),
        cmocka_unit_test(arch_capabilities_ignored_without_its_cpuid_bit),
        cmocka_unit_test(describe_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
