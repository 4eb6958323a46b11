/* Tests for exception exits (exit/events.c): an exception the CPU raised is reflected exactly as
 * it was raised, with what its delivery would have done and the exit prevented (CR2 for #PF,
 * DR6 and DR7.GD for #DB), software exceptions past their instruction, RFLAGS.RF untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "test_guest_helpers.h"

#define TYPE_PRIV_SW_EXCEPTION (5u << 8)

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("evt", 1 << 20);
    vcpu = test_vcpu(vm);
    memset(host_debug_regs, 0, sizeof(host_debug_regs));
    vmcs_write(VMCS_GUEST_RIP, 0x2000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static enum exit_result exception_exit(uint32_t info, uint64_t qual)
{
    vmcs_write(VMCS_EXIT_INTR_INFO, INTR_INFO_VALID | info);
    vmcs_write(VMCS_EXIT_QUALIFICATION, qual);
    return exit_dispatch(vcpu, EXIT_REASON_EXCEPTION_NMI);
}

static void test_general_protection_reflected_with_error_code(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_RF);   /* saved by the CPU for a fault */
    vmcs_write(VMCS_EXIT_INTR_ERROR, 0x28);
    assert_int_equal(exception_exit(INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP, 0), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0x28);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_FIXED1 | RFLAGS_RF);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x2000);
}

static void test_page_fault_reflected_with_cr2(void **state)
{
    (void)state;
    vmcs_write(VMCS_EXIT_INTR_ERROR, 2);
    exception_exit(INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF, 0xdead000);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    assert_int_equal(vcpu->cr2, 0xdead000);
    assert_true(vcpu->cr2_pending);
}

static void test_int3_reflected_as_software_exception_past_the_instruction(void **state)
{
    (void)state;
    vmcs_write(VMCS_EXIT_INSTR_LEN, 1);
    exception_exit(INTR_TYPE_SW_EXCEPTION | VEC_BP, 0);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_SW_EXCEPTION | VEC_BP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INSTR_LEN), 1);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x2000);            /* delivery pushes RIP + 1 */
}

static void test_icebp_reflected_as_privileged_software_exception(void **state)
{
    (void)state;
    host_debug_regs[6] = DR6_INIT;
    vmcs_write(VMCS_EXIT_INSTR_LEN, 1);
    exception_exit(TYPE_PRIV_SW_EXCEPTION | VEC_DB, 0);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | TYPE_PRIV_SW_EXCEPTION | VEC_DB);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INSTR_LEN), 1);
    assert_int_equal(host_debug_regs[6], DR6_INIT);                 /* INT1 reports no cause in DR6 */
}

static void test_debug_exception_reflected_updates_dr6_and_clears_gd(void **state)
{
    (void)state;
    host_debug_regs[6] = DR6_INIT | DR6_B(2) | DR6_BD;              /* stale from an earlier #DB */
    vmcs_write(VMCS_GUEST_DR7, DR7_INIT | DR7_GD | DR7_L(0));
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_TF);
    exception_exit(INTR_TYPE_HW_EXCEPTION | VEC_DB, DR6_B(0) | DR6_BS);
    /* B0-B3 replaced, BD kept (never cleared by the CPU), BS set; GD cleared for the handler. */
    assert_int_equal(host_debug_regs[6], DR6_INIT | DR6_B(0) | DR6_BD | DR6_BS);
    assert_int_equal(vmcs_read(VMCS_GUEST_DR7), DR7_INIT | DR7_L(0));
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_DB);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_FIXED1 | RFLAGS_TF);  /* no RF for #DB */
}

static void test_rtm_debug_exception_clears_active_low_rtm_bit(void **state)
{
    (void)state;
    host_debug_regs[6] = DR6_INIT;
    exception_exit(INTR_TYPE_HW_EXCEPTION | VEC_DB, DR6_B(1) | DR6_RTM);
    assert_int_equal(host_debug_regs[6], (DR6_INIT & ~DR6_RTM) | DR6_B(1));
}

static void test_reflected_exception_ends_the_shadow(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS | (1u << 3));
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_TF);
    exception_exit(INTR_TYPE_HW_EXCEPTION | VEC_UD, 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY), 1u << 3);
}

static void test_host_nmi_is_not_reflected(void **state)
{
    (void)state;
    exception_exit(INTR_TYPE_NMI | 2, 0);
    vcpu_commit_events(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_general_protection_reflected_with_error_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_fault_reflected_with_cr2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int3_reflected_as_software_exception_past_the_instruction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icebp_reflected_as_privileged_software_exception, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_exception_reflected_updates_dr6_and_clears_gd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtm_debug_exception_clears_active_low_rtm_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflected_exception_ends_the_shadow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_nmi_is_not_reflected, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
