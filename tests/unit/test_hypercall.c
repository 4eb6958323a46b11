/* The VMCALL ABI (hypercall.h) on a soft VMCS: every call, bad addresses, CPL checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "hypercall.h"
#include "test_guest_helpers.h"

static enum exit_result call(struct vcpu *vcpu, uint64_t nr, uint64_t a, uint64_t b)
{
    vcpu->gpr[REG_RAX] = nr;
    vcpu->gpr[REG_RDI] = a;
    vcpu->gpr[REG_RSI] = b;
    return exit_handle_vmcall(vcpu);
}

static void identity_calls(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("hc", 1 << 16);
    struct vcpu *vcpu = test_vcpu(vm);
    vm->id = 3;
    vcpu->slices = 17;
    assert_int_equal(call(vcpu, HC_VERSION, 0, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], HC_ABI_VERSION);
    call(vcpu, HC_GUEST_ID, 0, 0);
    assert_int_equal(vcpu->gpr[REG_RAX], 3);
    call(vcpu, HC_SLICES, 0, 0);
    assert_int_equal(vcpu->gpr[REG_RAX], 17);
    assert_int_equal(call(vcpu, HC_YIELD, 0, 0), EXIT_ADVANCE_YIELD);
    assert_int_equal(vcpu->gpr[REG_RAX], 0);
    test_vm_free(vm);
}

static void console_prints_lines_with_guest_name(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("talk", 1 << 16);
    struct vcpu *vcpu = test_vcpu(vm);
    memcpy(vm->ram + 0x100, "hello\nworld\x01", 12);
    assert_int_equal(call(vcpu, HC_CONSOLE, 0x100, 12), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 12);
    assert_string_equal(host_console(), "[talk] hello\n[talk] world?\n");
    test_vm_free(vm);
}

static void console_refuses_bad_ranges(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("bad", 1 << 16);
    struct vcpu *vcpu = test_vcpu(vm);
    call(vcpu, HC_CONSOLE, (1 << 16) - 4, 8); /* crosses the end of RAM */
    assert_int_equal((int64_t)vcpu->gpr[REG_RAX], HC_EFAULT);
    call(vcpu, HC_CONSOLE, ~0ull - 2, 8); /* would wrap */
    assert_int_equal((int64_t)vcpu->gpr[REG_RAX], HC_EFAULT);
    call(vcpu, HC_CONSOLE, 0, 4097);
    assert_int_equal((int64_t)vcpu->gpr[REG_RAX], HC_EINVAL);
    assert_string_equal(host_console(), "");
    test_vm_free(vm);
}

static void unknown_number_and_user_mode(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("nosys", 1 << 16);
    struct vcpu *vcpu = test_vcpu(vm);
    call(vcpu, 999, 0, 0);
    assert_int_equal((int64_t)vcpu->gpr[REG_RAX], HC_ENOSYS);
    call(vcpu, ~0ull, 0, 0);
    assert_int_equal((int64_t)vcpu->gpr[REG_RAX], HC_ENOSYS);
    vmcs_write(VMCS_GUEST_SS_AR, 0xC0F3); /* DPL 3 */
    call(vcpu, HC_VERSION, 0, 0);
    assert_int_equal((int64_t)vcpu->gpr[REG_RAX], HC_EPERM);
    test_vm_free(vm);
}

static void exit_call_ends_guest(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("bye", 1 << 16);
    struct vcpu *vcpu = test_vcpu(vm);
    assert_int_equal(call(vcpu, HC_EXIT, 5, 0), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_EXIT_CODE);
    assert_int_equal(vm->exit_code, 11);
    assert_false(vm_succeeded(vm));
    test_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_calls),
        cmocka_unit_test(console_prints_lines_with_guest_name),
        cmocka_unit_test(console_refuses_bad_ranges),
        cmocka_unit_test(unknown_number_and_user_mode),
        cmocka_unit_test(exit_call_ends_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
