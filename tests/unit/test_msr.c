/* Tests for RDMSR/WRMSR exits and the MSR bitmap: every emulated MSR, its validation (including
 * which IA32_MISC_ENABLE bits are read/write, read-only or reserved, and their effects), #GP for
 * hidden and unknown MSRs (with no other effect), and which bitmap bits pass through. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "test_guest_helpers.h"
#include "x86.h"

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("msr", 1 << 16);
    vcpu = test_vcpu(vm);
    cpuid_policy_init(0);
    msr_vcpu_init(vcpu);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static enum exit_result rdmsr(uint32_t msr, uint64_t *value)
{
    vcpu->gpr[REG_RCX] = 0xFFFFFFFF00000000ull | msr;     /* only ECX counts */
    vcpu->gpr[REG_RAX] = 0xAAAAAAAAAAAAAAAAull;
    vcpu->gpr[REG_RDX] = 0xBBBBBBBBBBBBBBBBull;
    enum exit_result r = exit_handle_rdmsr(vcpu);
    if (r == EXIT_ADVANCE) {
        assert_true(vcpu->gpr[REG_RAX] <= 0xFFFFFFFFull);
        assert_true(vcpu->gpr[REG_RDX] <= 0xFFFFFFFFull);
        *value = vcpu->gpr[REG_RDX] << 32 | vcpu->gpr[REG_RAX];
    }
    return r;
}

static enum exit_result wrmsr(uint32_t msr, uint64_t value)
{
    vcpu->gpr[REG_RCX] = msr;
    vcpu->gpr[REG_RAX] = 0x5555555500000000ull | (uint32_t)value;   /* upper half ignored */
    vcpu->gpr[REG_RDX] = value >> 32;
    return exit_handle_wrmsr(vcpu);
}

static uint64_t rd_ok(uint32_t msr)
{
    uint64_t v = 0;
    assert_int_equal(rdmsr(msr, &v), EXIT_ADVANCE);
    return v;
}

static void assert_gp(enum exit_result r)
{
    assert_int_equal(r, EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
}

static void test_vcpu_init_values(void **state)
{
    (void)state;
    assert_int_equal(vcpu->apic_base, 0xFEE00900ull);
    assert_int_equal(vcpu->mtrr_def_type, 0);
    assert_true(vcpu->misc_enable & 1);
    assert_int_equal(rd_ok(0x1B), 0xFEE00900ull);
    assert_int_equal(rd_ok(0x1A0) & 1, 1);
    assert_false(soft_vmcs_written(VMCS_GUEST_RIP));
}

static void test_efer(void **state)
{
    (void)state;
    assert_int_equal(wrmsr(0xC0000080u, EFER_SCE | EFER_LME), EXIT_ADVANCE);
    assert_int_equal(rd_ok(0xC0000080u), EFER_SCE | EFER_LME);
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_SCE | EFER_LME);
    assert_gp(wrmsr(0xC0000080u, 1ull << 1));                  /* reserved */
    assert_gp(wrmsr(0xC0000080u, 1ull << 12));                 /* SVME: AMD only */
    assert_gp(wrmsr(0xC0000080u, 1ull << 63));
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_SCE | EFER_LME);
    /* LMA is the CPU's: a written value is ignored */
    assert_int_equal(wrmsr(0xC0000080u, EFER_LME | EFER_LMA), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME);

    uint32_t e1[4];
    cpuid_guest_view(0, 0x80000001u, 0, e1);
    if (e1[3] & (1u << 20)) {
        assert_int_equal(wrmsr(0xC0000080u, EFER_LME | EFER_NXE), EXIT_ADVANCE);
        assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME | EFER_NXE);
    } else {
        assert_gp(wrmsr(0xC0000080u, EFER_LME | EFER_NXE));
    }
}

static void test_efer_lme_locked_while_paging(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR0, 0x80000031ull);
    vmcs_write(VMCS_GUEST_EFER, EFER_LME | EFER_LMA);
    assert_gp(wrmsr(0xC0000080u, 0));
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME | EFER_LMA);
    assert_int_equal(wrmsr(0xC0000080u, EFER_LME | EFER_SCE), EXIT_ADVANCE);  /* LME unchanged: fine */
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME | EFER_LMA | EFER_SCE);
    /* PG as the guest sees it comes from the shadow when Tessera owns it */
    vmcs_write(VMCS_CR0_GUEST_HOST_MASK, 0x80000001ull);
    vmcs_write(VMCS_CR0_READ_SHADOW, 0x11);
    vmcs_write(VMCS_GUEST_EFER, EFER_LME);
    assert_int_equal(wrmsr(0xC0000080u, 0), EXIT_ADVANCE);
}

static void test_pat(void **state)
{
    (void)state;
    uint64_t pat = 0x0007040600070406ull;
    assert_int_equal(wrmsr(0x277, pat), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PAT), pat);
    assert_int_equal(rd_ok(0x277), pat);
    assert_gp(wrmsr(0x277, 0x0007040600070402ull));            /* type 2 */
    assert_gp(wrmsr(0x277, 0x0307040600070406ull));            /* type 3 in the top byte */
    assert_gp(wrmsr(0x277, 0x0007040600080406ull));            /* type 8 */
    assert_int_equal(vmcs_read(VMCS_GUEST_PAT), pat);
}

static void test_apic_base(void **state)
{
    (void)state;
    assert_int_equal(wrmsr(0x1B, 0xFED00800ull), EXIT_ADVANCE);  /* move; BSP bit is not writable */
    assert_int_equal(rd_ok(0x1B), 0xFED00900ull);
    assert_int_equal(wrmsr(0x1B, 0xFEE00000ull), EXIT_ADVANCE);  /* disable */
    assert_int_equal(vcpu->apic_base, 0xFEE00100ull);
    assert_gp(wrmsr(0x1B, 0xFEE00C00ull));                      /* x2APIC: hidden */
    assert_gp(wrmsr(0x1B, 0xFEE00801ull));                      /* reserved bit 0 */
    assert_gp(wrmsr(0x1B, 0xFEE00A00ull));                      /* reserved bit 9 */
    assert_gp(wrmsr(0x1B, (1ull << 60) | 0xFEE00800ull));       /* beyond MAXPHYADDR */
    assert_int_equal(vcpu->apic_base, 0xFEE00100ull);
}

static void test_mtrrcap_and_def_type(void **state)
{
    (void)state;
    assert_int_equal(rd_ok(0xFE), 0x508);
    assert_gp(wrmsr(0xFE, 0x508));
    assert_int_equal(wrmsr(0x2FF, 0xC06), EXIT_ADVANCE);
    assert_int_equal(rd_ok(0x2FF), 0xC06);
    assert_gp(wrmsr(0x2FF, 0xC02));                              /* type 2 */
    assert_gp(wrmsr(0x2FF, 0xC07));                              /* 7 is PAT-only */
    assert_gp(wrmsr(0x2FF, 0x1C06));                             /* reserved bit 12 */
    assert_gp(wrmsr(0x2FF, 0x306));                              /* reserved bits 9:8 */
    assert_int_equal(vcpu->mtrr_def_type, 0xC06);
}

static void test_fixed_mtrrs(void **state)
{
    (void)state;
    const uint32_t msrs[11] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26A, 0x26B, 0x26C, 0x26D, 0x26E, 0x26F };
    for (unsigned i = 0; i < 11; i++) {
        uint64_t v = 0x0605040100060504ull + i;                 /* byte 0 varies over 4, 5, 6 */
        if ((v & 0xFF) > 6)
            v = (v & ~0xFFull) | 0x06;
        assert_int_equal(wrmsr(msrs[i], v), EXIT_ADVANCE);
        assert_int_equal(rd_ok(msrs[i]), v);
        assert_int_equal(vcpu->mtrr_fixed[i], v);
    }
    assert_gp(wrmsr(0x250, 0x0606060606060607ull));
    assert_gp(wrmsr(0x26F, 0x0206060606060606ull));
    assert_gp(wrmsr(0x251, 0));                                  /* not an MTRR */
    assert_gp(wrmsr(0x267, 0));
    assert_gp(wrmsr(0x270, 0));
}

static void test_variable_mtrrs(void **state)
{
    (void)state;
    assert_int_equal(wrmsr(0x200, 0x80000006ull), EXIT_ADVANCE);
    assert_int_equal(wrmsr(0x201, 0xFFF80000800ull), EXIT_ADVANCE);
    assert_int_equal(rd_ok(0x200), 0x80000006ull);
    assert_int_equal(rd_ok(0x201), 0xFFF80000800ull);
    assert_int_equal(wrmsr(0x20E, 0x1000), EXIT_ADVANCE);
    assert_int_equal(wrmsr(0x20F, 0x800), EXIT_ADVANCE);
    assert_int_equal(vcpu->mtrr_var[15], 0x800);
    assert_gp(wrmsr(0x200, 0x80000003ull));                      /* type 3 */
    assert_gp(wrmsr(0x200, 0x80000106ull));                      /* reserved bit 8 */
    assert_gp(wrmsr(0x201, 0xFFF80000801ull));                   /* reserved bit 0 */
    assert_gp(wrmsr(0x201, 1ull << 63));                         /* beyond MAXPHYADDR */
    assert_int_equal(vcpu->mtrr_var[0], 0x80000006ull);
    uint64_t v;
    assert_gp(rdmsr(0x210, &v));                                 /* VCNT is 8 */
}

static void test_tsc_write_sets_offset(void **state)
{
    (void)state;
    uint64_t target = 1000000000000ull;
    assert_int_equal(wrmsr(0x10, target), EXIT_ADVANCE);
    assert_true(soft_vmcs_written(VMCS_TSC_OFFSET));
    uint64_t now = rd_ok(0x10);
    assert_true(now >= target);
    assert_true(now - target < 10000000000ull);                 /* well under seconds later */
    assert_int_equal(wrmsr(0x10, 0), EXIT_ADVANCE);
    assert_true(rd_ok(0x10) < 10000000000ull);
}

static void test_identification_msrs(void **state)
{
    (void)state;
    assert_int_equal(rd_ok(0x3A), 1);                           /* locked, VMX off */
    assert_gp(wrmsr(0x3A, 5));
    assert_int_equal(rd_ok(0x8B), 0);
    assert_int_equal(wrmsr(0x8B, 0x1234567800000000ull), EXIT_ADVANCE);
    assert_int_equal(rd_ok(0x8B), 0);
    assert_int_equal(rd_ok(0x17), 0);
    assert_gp(wrmsr(0x17, 0));
    assert_int_equal(rd_ok(0x179), 0);
    assert_int_equal(rd_ok(0x17A), 0);
    assert_int_equal(wrmsr(0x179, 0), EXIT_ADVANCE);
    assert_int_equal(wrmsr(0x17A, 0), EXIT_ADVANCE);
    assert_gp(wrmsr(0x179, 1));
    assert_gp(wrmsr(0x17A, 4));
}

static void test_vmx_msrs_are_hidden(void **state)
{
    (void)state;
    for (uint32_t msr = 0x480; msr <= 0x491; msr++) {
        uint64_t v;
        assert_gp(rdmsr(msr, &v));
        assert_int_equal(vcpu->gpr[REG_RAX], 0xAAAAAAAAAAAAAAAAull);    /* untouched */
        assert_int_equal(vcpu->gpr[REG_RDX], 0xBBBBBBBBBBBBBBBBull);
        assert_gp(wrmsr(msr, 0));
    }
}

static void test_unknown_msrs_gp_without_effect(void **state)
{
    (void)state;
    const uint32_t msrs[] = { 0x48 /* SPEC_CTRL */, 0x3B /* TSC_ADJUST */, 0x1D9, 0x6E0,
                              0xC0010000u, 0x40000000u, 0xFFFFFFFFu, 0x12345678u };
    struct vcpu before = *vcpu;
    for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
        uint64_t v;
        assert_gp(rdmsr(msrs[i], &v));
        assert_gp(wrmsr(msrs[i], 0));
    }
    assert_int_equal(vcpu->apic_base, before.apic_base);
    assert_int_equal(vcpu->misc_enable, before.misc_enable);
    assert_memory_equal(vcpu->mtrr_var, before.mtrr_var, sizeof(before.mtrr_var));
    assert_false(soft_vmcs_written(VMCS_GUEST_EFER));
    assert_false(soft_vmcs_written(VMCS_GUEST_PAT));
    assert_false(soft_vmcs_written(VMCS_TSC_OFFSET));
    assert_false(soft_vmcs_written(VMCS_GUEST_RIP));
}

/* ---- IA32_MISC_ENABLE (SDM Vol. 4, Table 2-2) ---- */

#define MISC_ENABLE_RW    (MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_TCC | MISC_ENABLE_EIST | \
                           MISC_ENABLE_MONITOR_FSM | MISC_ENABLE_LIMIT_CPUID | MISC_ENABLE_XTPR_DISABLE | \
                           MISC_ENABLE_XD_DISABLE)
#define MISC_ENABLE_RO    (MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)

/* A CPU model to build the CPUID policy from: "modern" (basic leaves to 0xD, SSE3, NX) or
 * "bare" (basic leaves to 2, no SSE3, no NX), where the SDM lets MISC_ENABLE writes #GP. */
static int bare_cpu;

static void model_cpu(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    (void)subleaf;
    r[0] = r[1] = r[2] = r[3] = 0;
    switch (leaf) {
    case 0:
        r[0] = bare_cpu ? 2 : 0xD;
        r[1] = 0x756E6547; r[2] = 0x6C65746E; r[3] = 0x49656E69;       /* GenuineIntel */
        break;
    case 1:
        r[0] = 0x000506E3;
        r[2] = bare_cpu ? 0 : 1;                                        /* SSE3 */
        r[3] = 0x0781ABFF;                                              /* FPU..SSE2, no HTT */
        break;
    case 0x80000000:
        r[0] = 0x80000008;
        break;
    case 0x80000001:
        r[3] = (1u << 29) | (1u << 11) | (bare_cpu ? 0 : 1u << 20);    /* LM, SYSCALL, NX */
        break;
    case 0x80000008:
        r[0] = 0x3027;
        break;
    default:
        break;
    }
}

static void use_cpu(int bare)
{
    bare_cpu = bare;
    cpuid_policy_init_from(model_cpu, 0);
    msr_vcpu_init(vcpu);
}

static void test_misc_enable_reset_value(void **state)
{
    (void)state;
    use_cpu(0);
    /* fast strings on; no perfmon, BTS or PEBS (hidden with DS and leaf 0xA); MONITOR FSM off,
     * as on a CPU whose CPUID reports no MONITOR */
    assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_RO);
}

/* The read/write bits read back what was written: the write of issue 7 first, then each alone. */
static void test_misc_enable_rw_bits_read_back(void **state)
{
    (void)state;
    use_cpu(0);
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, 0x400c51809ull), EXIT_ADVANCE);
    assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), 0x400c51809ull);
    for (int bit = 0; bit < 64; bit++) {
        uint64_t b = 1ull << bit;
        if (!(MISC_ENABLE_RW & b))
            continue;
        assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, MISC_ENABLE_RO | b), EXIT_ADVANCE);
        assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), MISC_ENABLE_RO | b);
    }
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, MISC_ENABLE_RO), EXIT_ADVANCE);
    assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), MISC_ENABLE_RO);
}

/* BTS/PEBS unavailable (RO): changing them faults. Performance monitoring available (R): a write
 * to it is ignored. */
static void test_misc_enable_read_only_bits(void **state)
{
    (void)state;
    use_cpu(0);
    uint64_t v = rd_ok(MSR_IA32_MISC_ENABLE);
    assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, v & ~MISC_ENABLE_BTS_UNAVAIL));
    assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, v & ~MISC_ENABLE_PEBS_UNAVAIL));
    assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, (v & ~MISC_ENABLE_RO) | MISC_ENABLE_TCC));
    assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), v);
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, v | MISC_ENABLE_PERFMON_AVAIL | MISC_ENABLE_EIST), EXIT_ADVANCE);
    assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), v | MISC_ENABLE_EIST);
}

static void test_misc_enable_reserved_bits_gp(void **state)
{
    (void)state;
    use_cpu(0);
    uint64_t v = rd_ok(MSR_IA32_MISC_ENABLE);
    for (int bit = 0; bit < 64; bit++) {
        uint64_t b = 1ull << bit;
        if ((MISC_ENABLE_RW | MISC_ENABLE_RO | MISC_ENABLE_PERFMON_AVAIL) & b)
            continue;
        assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, v | b));
        assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), v);
    }
    assert_false(soft_vmcs_written(VMCS_GUEST_EFER));
}

/* XD disable: NX leaves CPUID, EFER.NXE becomes reserved (a write setting it faults), and an
 * EFER.NXE already set is cleared. */
static void test_misc_enable_xd_disable_takes_nx_away(void **state)
{
    (void)state;
    use_cpu(0);
    uint64_t v = rd_ok(MSR_IA32_MISC_ENABLE);
    assert_int_equal(wrmsr(MSR_IA32_EFER, EFER_SCE | EFER_NXE), EXIT_ADVANCE);
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, v | MISC_ENABLE_XD_DISABLE), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_SCE);
    assert_gp(wrmsr(MSR_IA32_EFER, EFER_SCE | EFER_NXE));
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_SCE);
    assert_int_equal(wrmsr(MSR_IA32_EFER, EFER_SCE | EFER_LME), EXIT_ADVANCE);
    /* enabled again: NXE is writable again */
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, v), EXIT_ADVANCE);
    assert_int_equal(wrmsr(MSR_IA32_EFER, EFER_SCE | EFER_LME | EFER_NXE), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_SCE | EFER_LME | EFER_NXE);
}

/* Where the SDM says a write may #GP, the CPU Tessera presents refuses it: limit CPUID maxval
 * with basic leaves only to 2, XD disable without NX, MONITOR FSM without SSE3. */
static void test_misc_enable_refused_where_the_cpu_refuses(void **state)
{
    (void)state;
    use_cpu(1);
    uint64_t v = rd_ok(MSR_IA32_MISC_ENABLE);
    assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, v | MISC_ENABLE_LIMIT_CPUID));
    assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, v | MISC_ENABLE_XD_DISABLE));
    assert_gp(wrmsr(MSR_IA32_MISC_ENABLE, v ^ MISC_ENABLE_MONITOR_FSM));
    assert_int_equal(rd_ok(MSR_IA32_MISC_ENABLE), v);
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, v | MISC_ENABLE_TCC | MISC_ENABLE_XTPR_DISABLE), EXIT_ADVANCE);
    /* the same writes on the modern model succeed */
    use_cpu(0);
    v = rd_ok(MSR_IA32_MISC_ENABLE);
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, v | MISC_ENABLE_LIMIT_CPUID | MISC_ENABLE_XD_DISABLE |
                                                 MISC_ENABLE_MONITOR_FSM), EXIT_ADVANCE);
}

/* Limit CPUID maxval changes what CPUID shows, not what the vCPU implements: EFER.NXE and the
 * MAXPHYADDR-based checks still work. */
static void test_misc_enable_cpuid_limit_keeps_features(void **state)
{
    (void)state;
    use_cpu(0);
    assert_int_equal(wrmsr(MSR_IA32_MISC_ENABLE, rd_ok(MSR_IA32_MISC_ENABLE) | MISC_ENABLE_LIMIT_CPUID), EXIT_ADVANCE);
    assert_int_equal(wrmsr(MSR_IA32_EFER, EFER_LME | EFER_NXE), EXIT_ADVANCE);
    assert_int_equal(wrmsr(0x1B, 0xFED00800ull), EXIT_ADVANCE);
    assert_gp(wrmsr(0x1B, (1ull << 40) | 0xFEE00800ull));          /* MAXPHYADDR 39 */
}

/* ---- bitmap ---- */

static int exits(const uint8_t *bm, uint32_t msr, int write)
{
    unsigned base = (msr >= 0xC0000000u ? 0x400 : 0) + (write ? 0x800 : 0);
    unsigned index = msr & 0x1FFF;
    return (bm[base + index / 8] >> (index % 8)) & 1;
}

static void test_bitmap(void **state)
{
    (void)state;
    static uint8_t bm[4096];
    memset(bm, 0, sizeof(bm));
    msr_bitmap_init(bm);
    const uint32_t native[] = { 0xC0000100u, 0xC0000101u, 0xC0000102u, 0x174, 0x175, 0x176,
                                0xC0000081u, 0xC0000082u, 0xC0000083u, 0xC0000084u, 0xC0000103u };
    for (unsigned i = 0; i < sizeof(native) / sizeof(native[0]); i++) {
        assert_false(exits(bm, native[i], 0));
        assert_false(exits(bm, native[i], 1));
    }
    assert_false(exits(bm, 0x10, 0));                           /* TSC reads native */
    assert_true(exits(bm, 0x10, 1));                            /* TSC writes emulated */
    const uint32_t emulated[] = { 0xC0000080u, 0x277, 0x1B, 0x1A0, 0x3A, 0x480, 0x48, 0xFE, 0x2FF,
                                  0x200, 0x177, 0x173, 0xC0000104u, 0x1FFF, 0xC0001FFFu };
    for (unsigned i = 0; i < sizeof(emulated) / sizeof(emulated[0]); i++) {
        assert_true(exits(bm, emulated[i], 0));
        assert_true(exits(bm, emulated[i], 1));
    }
    unsigned clear_bits = 0;
    for (unsigned i = 0; i < sizeof(bm); i++)
        for (int b = 0; b < 8; b++)
            clear_bits += !((bm[i] >> b) & 1);
    assert_int_equal(clear_bits, 2 * 11 + 1);                   /* nothing else passes through */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_vcpu_init_values),
        T(test_efer),
        T(test_efer_lme_locked_while_paging),
        T(test_pat),
        T(test_apic_base),
        T(test_mtrrcap_and_def_type),
        T(test_fixed_mtrrs),
        T(test_variable_mtrrs),
        T(test_tsc_write_sets_offset),
        T(test_identification_msrs),
        T(test_vmx_msrs_are_hidden),
        T(test_unknown_msrs_gp_without_effect),
        T(test_bitmap),
        T(test_misc_enable_reset_value),
        T(test_misc_enable_rw_bits_read_back),
        T(test_misc_enable_read_only_bits),
        T(test_misc_enable_reserved_bits_gp),
        T(test_misc_enable_xd_disable_takes_nx_away),
        T(test_misc_enable_refused_where_the_cpu_refuses),
        T(test_misc_enable_cpuid_limit_keeps_features),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
