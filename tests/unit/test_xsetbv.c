/* Tests for the XSETBV exit: #UD without CR4.OSXSAVE, #GP for a bad index, CPL > 0 and every
 * invalid XCR0 combination, acceptance of valid values (against the CPUID policy of the CPU
 * running the tests). */
#include <stdarg.h>
#include "x86.h"
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "test_guest_helpers.h"


static struct vm *vm;
static struct vcpu *vcpu;
static uint64_t supported;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("xs", 1 << 16);
    vcpu = test_vcpu(vm);
    cpuid_policy_init(0);
    uint32_t r[4];
    cpuid_guest_view(0, 0, 0, r);
    supported = 0;
    if (r[0] >= 0xD) {
        cpuid_guest_view(0, 0xD, 0, r);
        supported = (uint64_t)r[3] << 32 | r[0];
    }
    vmcs_write(VMCS_GUEST_CR4, 0x2000 | CR4_OSXSAVE);
    vcpu->xcr0 = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static enum exit_result xsetbv(uint64_t rcx, uint64_t value)
{
    vcpu->gpr[REG_RCX] = rcx;
    vcpu->gpr[REG_RAX] = 0xFFFFFFFF00000000ull | (uint32_t)value;   /* upper half ignored */
    vcpu->gpr[REG_RDX] = value >> 32;
    return exit_handle_xsetbv(vcpu);
}

static void assert_fault(enum exit_result r, uint8_t vector, int has_error)
{
    assert_int_equal(r, EXIT_CONTINUE);
    uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector | (has_error ? INTR_INFO_DELIVER_ERROR : 0);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), info);
    if (has_error)
        assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
    assert_int_equal(vcpu->xcr0, 1);                  /* unchanged */
}

#define assert_gp(r) assert_fault((r), VEC_GP, 1)

static void need(uint64_t bits)
{
    if ((supported & bits) != bits)
        skip();
}

static void test_ud_without_osxsave(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR4, 0x2000);
    assert_fault(xsetbv(0, 3), VEC_UD, 0);
}

static void test_accepts_x87_sse(void **state)
{
    (void)state;
    need(3);
    assert_int_equal(xsetbv(0, 3), EXIT_ADVANCE);
    assert_int_equal(vcpu->xcr0, 3);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
    assert_false(soft_vmcs_written(VMCS_GUEST_RIP));
    assert_int_equal(xsetbv(0, 1), EXIT_ADVANCE);
    assert_int_equal(vcpu->xcr0, 1);
}

static void test_bad_index(void **state)
{
    (void)state;
    assert_gp(xsetbv(1, 3));
    assert_gp(xsetbv(0xFFFFFFFFull, 3));
    need(3);
    assert_int_equal(xsetbv(0x100000000ull, 3), EXIT_ADVANCE);   /* only ECX counts */
    assert_int_equal(vcpu->xcr0, 3);
}

static void test_cpl_nonzero(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_SS_AR, 0xC093 | (3u << 5));
    assert_gp(xsetbv(0, 3));
}

static void test_x87_required(void **state)
{
    (void)state;
    assert_gp(xsetbv(0, 0));
    assert_gp(xsetbv(0, 2));
}

static void test_avx_needs_sse(void **state)
{
    (void)state;
    need(7);
    assert_gp(xsetbv(0, 5));
    assert_int_equal(xsetbv(0, 7), EXIT_ADVANCE);
    assert_int_equal(vcpu->xcr0, 7);
}

static void test_avx512_all_or_none_and_needs_avx(void **state)
{
    (void)state;
    need(0xE7);
    assert_gp(xsetbv(0, 0x27));
    assert_gp(xsetbv(0, 0x67));
    assert_gp(xsetbv(0, 0xA7));
    assert_gp(xsetbv(0, 0xE3));                         /* AVX-512 without AVX */
    assert_int_equal(xsetbv(0, 0xE7), EXIT_ADVANCE);
    assert_int_equal(vcpu->xcr0, 0xE7);
}

static void test_unsupported_bits(void **state)
{
    (void)state;
    assert_gp(xsetbv(0, 1 | (1ull << 63)));
    assert_gp(xsetbv(0, 1 | (1ull << 32)));
    /* MPX is hidden: BNDREG/BNDCSR are never offered, alone or together */
    assert_int_equal(supported & 0x18, 0);
    assert_gp(xsetbv(0, 3 | 0x08));
    assert_gp(xsetbv(0, 3 | 0x18));
    /* anything the policy does not list */
    for (unsigned bit = 2; bit < 64; bit++)
        if (!(supported & (1ull << bit)))
            assert_gp(xsetbv(0, 3 | (1ull << bit)));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ud_without_osxsave),
        T(test_accepts_x87_sse),
        T(test_bad_index),
        T(test_cpl_nonzero),
        T(test_x87_required),
        T(test_avx_needs_sse),
        T(test_avx512_all_or_none_and_needs_avx),
        T(test_unsupported_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
