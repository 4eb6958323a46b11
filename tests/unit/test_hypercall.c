/* The VMCALL ABI (hypercall.h) on a soft VMCS: every call, bad addresses, CPL checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "hypercall.h"
#include "test_guest_helpers.h"

static enum exit_result call(struct guest *g, uint64_t nr, uint64_t a, uint64_t b)
{
    g->vcpu.gpr[REG_RAX] = nr;
    g->vcpu.gpr[REG_RDI] = a;
    g->vcpu.gpr[REG_RSI] = b;
    return exit_handle_vmcall(g);
}

static void identity_calls(void **state)
{
    (void)state;
    struct guest *g = test_guest_new("hc", 1 << 16);
    g->id = 3;
    g->slices = 17;
    assert_int_equal(call(g, HC_VERSION, 0, 0), EXIT_ADVANCE);
    assert_int_equal(g->vcpu.gpr[REG_RAX], HC_ABI_VERSION);
    call(g, HC_GUEST_ID, 0, 0);
    assert_int_equal(g->vcpu.gpr[REG_RAX], 3);
    call(g, HC_SLICES, 0, 0);
    assert_int_equal(g->vcpu.gpr[REG_RAX], 17);
    assert_int_equal(call(g, HC_YIELD, 0, 0), EXIT_ADVANCE_YIELD);
    assert_int_equal(g->vcpu.gpr[REG_RAX], 0);
    test_guest_free(g);
}

static void console_prints_lines_with_guest_name(void **state)
{
    (void)state;
    struct guest *g = test_guest_new("talk", 1 << 16);
    memcpy(g->ram + 0x100, "hello\nworld\x01", 12);
    assert_int_equal(call(g, HC_CONSOLE, 0x100, 12), EXIT_ADVANCE);
    assert_int_equal(g->vcpu.gpr[REG_RAX], 12);
    assert_string_equal(host_console(), "[talk] hello\n[talk] world?\n");
    test_guest_free(g);
}

static void console_refuses_bad_ranges(void **state)
{
    (void)state;
    struct guest *g = test_guest_new("bad", 1 << 16);
    call(g, HC_CONSOLE, (1 << 16) - 4, 8); /* crosses the end of RAM */
    assert_int_equal((int64_t)g->vcpu.gpr[REG_RAX], HC_EFAULT);
    call(g, HC_CONSOLE, ~0ull - 2, 8); /* would wrap */
    assert_int_equal((int64_t)g->vcpu.gpr[REG_RAX], HC_EFAULT);
    call(g, HC_CONSOLE, 0, 4097);
    assert_int_equal((int64_t)g->vcpu.gpr[REG_RAX], HC_EINVAL);
    assert_string_equal(host_console(), "");
    test_guest_free(g);
}

static void unknown_number_and_user_mode(void **state)
{
    (void)state;
    struct guest *g = test_guest_new("nosys", 1 << 16);
    call(g, 999, 0, 0);
    assert_int_equal((int64_t)g->vcpu.gpr[REG_RAX], HC_ENOSYS);
    call(g, ~0ull, 0, 0);
    assert_int_equal((int64_t)g->vcpu.gpr[REG_RAX], HC_ENOSYS);
    vmcs_write(VMCS_GUEST_SS_AR, 0xC0F3); /* DPL 3 */
    call(g, HC_VERSION, 0, 0);
    assert_int_equal((int64_t)g->vcpu.gpr[REG_RAX], HC_EPERM);
    test_guest_free(g);
}

static void exit_call_ends_guest(void **state)
{
    (void)state;
    struct guest *g = test_guest_new("bye", 1 << 16);
    assert_int_equal(call(g, HC_EXIT, 5, 0), EXIT_STOP);
    assert_int_equal(g->state, GUEST_ENDED);
    assert_int_equal(g->outcome, OUTCOME_EXIT_CODE);
    assert_int_equal(g->exit_code, 11);
    assert_false(guest_succeeded(g));
    test_guest_free(g);
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
