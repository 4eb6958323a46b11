/* Tests for the vCPU helpers (guest/vcpu.c, guest/vcpu.h) against a soft VMCS: what the CPU does
 * at the end of an instruction Tessera completes (RIP, STI/MOV-SS shadow, RF, single-step BS
 * with TF and BTF), what it does for an instruction that faults instead (RF set for faults
 * only, no single-step trap, the shadow ended by the injection), and a REP instruction left
 * to resume (RF set). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "test_guest_helpers.h"

#define RFLAGS_BASE RFLAGS_FIXED1

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("vcpu", 1 << 20);
    vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_RIP, 0x1000);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

/* ---- an instruction that completes ---- */

static void test_advance_moves_rip_and_ends_the_shadow(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_IF);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI | (1u << 3));  /* + NMI blocking */
    vcpu_advance_rip(vcpu);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1002);
    assert_int_equal(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY), 1u << 3);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

static void test_advance_clears_rf(void **state)
{
    (void)state;
    /* An EPT-violation exit saves RF=1; the emulated instruction completes, so RF must go or
     * the next instruction's instruction breakpoint would be skipped. */
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_RF | RFLAGS_CF);
    vcpu_advance_rip_by(vcpu, 3);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_CF);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1003);
}

static void test_single_step_sets_bs(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vcpu_advance_rip(vcpu);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_BS);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_TF);
}

static void test_single_step_in_mov_ss_shadow_keeps_held_debug_exceptions(void **state)
{
    (void)state;
    /* The MOV SS before hit an enabled data breakpoint; its #DB was held for this instruction.
     * After it, the blocking is over and one #DB reports both. */
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS);
    vmcs_write(VMCS_GUEST_PENDING_DBG, DR6_B(1) | (1u << 12));
    vcpu_advance_rip(vcpu);
    assert_int_equal(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY), 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_BS | DR6_B(1) | (1u << 12));
}

static void test_single_step_in_sti_shadow(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF | RFLAGS_IF);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    vcpu_advance_rip(vcpu);
    /* No blocking left, so BS alone is consistent (SDM 26.3.1.5 ties it to blocking only). */
    assert_int_equal(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY), 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_BS);
}

static void test_branch_trap_mode_does_not_step_emulated_instructions(void **state)
{
    (void)state;
    /* TF with IA32_DEBUGCTL.BTF=1 traps on taken branches; CPUID, IN, OUT, ... are none. */
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vmcs_write(VMCS_GUEST_DEBUGCTL, DEBUGCTL_BTF);
    vcpu_advance_rip(vcpu);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1002);
}

static void test_single_step_over_emulated_cpuid(void **state)
{
    (void)state;
    cpuid_policy_init(1000);
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vcpu->gpr[REG_RAX] = 0;
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_CPUID), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1002);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_BS);
}

/* ---- an instruction that faults ---- */

static void test_injected_faults_push_rf(void **state)
{
    (void)state;
    static const uint8_t faults[] = { VEC_DE, VEC_BR, VEC_UD, VEC_NM, VEC_TS, VEC_NP, VEC_SS,
                                      VEC_GP, VEC_PF, VEC_MF, VEC_AC, VEC_XM, VEC_VE, VEC_CP };
    for (size_t i = 0; i < sizeof(faults); i++) {
        vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_IF);
        assert_int_equal(vcpu_inject_exception(vcpu, faults[i], false, 0), EXIT_CONTINUE);
        assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_IF | RFLAGS_RF);
        vcpu_commit_events(vcpu);
        assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | faults[i]);
    }
}

static void test_injected_traps_and_aborts_leave_rf(void **state)
{
    (void)state;
    static const uint8_t others[] = { VEC_DB, VEC_BP, VEC_OF, VEC_DF, VEC_MC };
    for (size_t i = 0; i < sizeof(others); i++) {
        vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE);
        vcpu_inject_exception(vcpu, others[i], others[i] == VEC_DF, 0);
        assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE);
    }
}

static void test_gp_from_wrmsr_pushes_rf_and_no_single_step(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vcpu->gpr[REG_RCX] = MSR_IA32_FEATURE_CONTROL;
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_WRMSR), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_TF | RFLAGS_RF);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1000);             /* did not complete */
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG) & DR6_BS, 0); /* so no single-step trap */
}

static void test_ud_from_vmx_instruction_pushes_rf(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_VMXON), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_UD);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_RF);
}

static void test_fault_in_mov_ss_shadow_ends_the_blocking(void **state)
{
    (void)state;
    /* mov ss, ax; wrmsr (bad) with TF=1: the exit may save BS clear (SDM 27.3.4 leaves it to
     * the implementation). Left as it is, MOV-SS blocking with TF=1 and BS=0 fails the entry
     * check of 26.3.1.5; the injection ends the blocking anyway (26.6.1). */
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS | (1u << 3));
    vcpu->gpr[REG_RCX] = MSR_IA32_FEATURE_CONTROL;
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_WRMSR), EXIT_CONTINUE);
    assert_int_equal(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY), 1u << 3);
}

static void test_real_mode_fault_has_no_error_code(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR0, 0x30);
    vcpu_inject_exception(vcpu, VEC_GP, true, 0x18);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_GP);
    assert_false(soft_vmcs_written(VMCS_ENTRY_EXCEPTION_ERROR));
}

/* ---- an instruction left to resume ---- */

static void test_repeat_instruction_in_single_step_mode_traps(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_TF);
    vcpu_repeat_instruction(vcpu);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_TF | RFLAGS_RF);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1000);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_BS);    /* the CPU traps per iteration */
}

static void test_repeat_instruction_sets_rf_and_keeps_rip(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_BASE | RFLAGS_DF);
    vcpu_repeat_instruction(vcpu);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS), RFLAGS_BASE | RFLAGS_DF | RFLAGS_RF);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1000);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_advance_moves_rip_and_ends_the_shadow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advance_clears_rf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_step_sets_bs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_step_in_mov_ss_shadow_keeps_held_debug_exceptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_step_in_sti_shadow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branch_trap_mode_does_not_step_emulated_instructions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_step_over_emulated_cpuid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_faults_push_rf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_traps_and_aborts_leave_rf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gp_from_wrmsr_pushes_rf_and_no_single_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ud_from_vmx_instruction_pushes_rf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_in_mov_ss_shadow_ends_the_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_mode_fault_has_no_error_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_instruction_sets_rf_and_keeps_rip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeat_instruction_in_single_step_mode_traps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
