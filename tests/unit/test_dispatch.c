/* The exit dispatcher and the lifecycle/instruction/event/EPT handlers, on a soft VMCS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "hypercall.h"
#include "test_guest_helpers.h"

static void cpuid_exit_answers_and_advances_rip(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("disp", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    cpuid_policy_init(1000);
    vmcs_write(VMCS_GUEST_RIP, 0x1000);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 2);
    vcpu->gpr[REG_RAX] = CPUID_LEAF_HV_SIGNATURE;
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_CPUID), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x1002);
    assert_int_equal(vcpu->gpr[REG_RBX], CPUID_HV_SIGNATURE_EBX);
    assert_int_equal(vcpu->exit_counts[EXIT_REASON_CPUID], 1);
    assert_int_equal(vcpu->exits_total, 1);
    test_vm_free(vm);
}

static void unknown_reason_stops_guest_with_dump(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("odd", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_EXIT_QUALIFICATION, 0x1234);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_RSM), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_STOPPED);
    assert_non_null(strstr(vm->stop_reason, "unhandled VM exit: reason 17"));
    assert_non_null(strstr(vm->stop_reason, "0x1234"));
    assert_non_null(strstr(host_console(), "[odd] RIP"));
    assert_non_null(strstr(host_console(), "guest odd stopped"));
    assert_int_equal(vcpu->exit_counts[EXIT_REASON_RSM], 1);
    test_vm_free(vm);
}

/* PAUSE exits only while the VM has device work pending (the run loop turns PAUSE exiting on
 * then): it completes as a no-op and marks the vCPU as waiting, so the run loop gives the rest
 * of the slice to that work instead of letting the guest spin. */
static void pause_completes_and_marks_the_vcpu_waiting(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("pause", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_RIP, 0x5000);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 2);
    assert_false(vcpu->waits_for_device);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_PAUSE), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x5002);
    assert_true(vcpu->waits_for_device);
    assert_int_equal(vm->state, VM_RUNNING);
    test_vm_free(vm);
}

/* The performance counters are hidden (CPUID leaf 0xA is zero), so RDPMC behaves as on a CPU
 * with none: #GP(0) for every ECX, whatever CPL and CR4.PCE, and the guest goes on. */
static void rdpmc_raises_gp_in_the_guest(void **state)
{
    (void)state;
    static const uint64_t counters[] = { 0, 1, 1u << 30, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        struct vm *vm = test_vm_new("pmc", 1 << 20);
        struct vcpu *vcpu = test_vcpu(vm);
        vmcs_write(VMCS_GUEST_RIP, 0x5000);
        vmcs_write(VMCS_EXIT_INSTR_LEN, 2);
        vcpu->gpr[REG_RCX] = counters[i];
        vcpu->gpr[REG_RAX] = 0x1111;
        vcpu->gpr[REG_RDX] = 0x2222;
        assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_RDPMC), EXIT_CONTINUE);
        assert_int_equal(vm->state, VM_RUNNING);
        assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x5000);
        vcpu_commit_events(vcpu);
        assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                         INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
        assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
        assert_int_equal(vcpu->gpr[REG_RAX], 0x1111); /* nothing read */
        assert_int_equal(vcpu->gpr[REG_RDX], 0x2222);
        assert_int_equal(vcpu->exit_counts[EXIT_REASON_RDPMC], 1);
        test_vm_free(vm);
    }
}

static void out_of_range_reason_is_bounds_checked(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("far", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    assert_int_equal(exit_dispatch(vcpu, 0xFFFF), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "reason 65535"));
    assert_int_equal(vcpu->exits_total, 1);
    test_vm_free(vm);
}

static void vmx_instruction_injects_ud_without_advancing(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("vmx", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_RIP, 0x2000);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 3);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_VMXOFF), EXIT_CONTINUE);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x2000);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_UD);
    test_vm_free(vm);
}

static void hlt_with_interrupts_off_stops_guest(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("cli", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_HLT), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "interrupts disabled"));
    test_vm_free(vm);
}

static void hlt_with_interrupts_on_yields(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("sti", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_RFLAGS, 0x202);
    vmcs_write(VMCS_GUEST_RIP, 0x3000);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 1);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_HLT), EXIT_ADVANCE_YIELD);
    assert_int_equal(vcpu->state, VCPU_HALTED);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x3001);
    assert_int_equal(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY), 0);
    test_vm_free(vm);
}

static void triple_fault_stops_only_that_guest(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("tf", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_RIP, 0x4444);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_TRIPLE_FAULT), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "triple fault at RIP 0x4444"));
    test_vm_free(vm);
}

static void ept_violation_inside_ram_is_reported_as_bug(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("ram", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_PHYSICAL_ADDR, 0x1000);
    vmcs_write(VMCS_EXIT_QUALIFICATION, 1);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EPT_VIOLATION), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "inside guest RAM"));
    test_vm_free(vm);
}

static void fetch_from_empty_bus_stops_guest(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("jump", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_GUEST_PHYSICAL_ADDR, 0xC0000000);
    vmcs_write(VMCS_EXIT_QUALIFICATION, 4);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EPT_VIOLATION), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "executes from guest-physical 0xc0000000"));
    test_vm_free(vm);
}

static void interrupted_event_is_delivered_again(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("vec", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    vmcs_write(VMCS_IDT_VECTORING_ERROR, 0x18);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_PREEMPTION_TIMER), EXIT_YIELD);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0x18);
    test_vm_free(vm);
}

static void instruction_exits_never_redeliver(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("ins", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_GP);
    vcpu->gpr[REG_RAX] = HC_VERSION;
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_VMCALL), EXIT_ADVANCE);
    vcpu_commit_events(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    test_vm_free(vm);
}

static void host_nmi_is_dropped_and_exception_reflected(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("nmi", 1 << 20);
    struct vcpu *vcpu = test_vcpu(vm);
    vmcs_write(VMCS_EXIT_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EXCEPTION_NMI), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    vmcs_write(VMCS_EXIT_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    vmcs_write(VMCS_EXIT_INTR_ERROR, 2);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EXCEPTION_NMI), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 2);
    test_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpuid_exit_answers_and_advances_rip),
        cmocka_unit_test(unknown_reason_stops_guest_with_dump),
        cmocka_unit_test(out_of_range_reason_is_bounds_checked),
        cmocka_unit_test(vmx_instruction_injects_ud_without_advancing),
        cmocka_unit_test(rdpmc_raises_gp_in_the_guest),
        cmocka_unit_test(pause_completes_and_marks_the_vcpu_waiting),
        cmocka_unit_test(hlt_with_interrupts_off_stops_guest),
        cmocka_unit_test(hlt_with_interrupts_on_yields),
        cmocka_unit_test(triple_fault_stops_only_that_guest),
        cmocka_unit_test(ept_violation_inside_ram_is_reported_as_bug),
        cmocka_unit_test(fetch_from_empty_bus_stops_guest),
        cmocka_unit_test(interrupted_event_is_delivered_again),
        cmocka_unit_test(instruction_exits_never_redeliver),
        cmocka_unit_test(host_nmi_is_dropped_and_exception_reflected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
