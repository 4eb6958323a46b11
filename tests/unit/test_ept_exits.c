/* EPT-violation exits through the dispatcher, on a soft VMCS: a violation while the CPU was
 * delivering an event (IDT-vectoring information valid) stops the guest naming the lost event
 * and leaves the instruction at RIP alone; an ordinary one is emulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "emu/mmio_emulate.h"
#include "exit/dispatch.h"
#include "exit/handlers.h"
#include "test_guest_helpers.h"

#define RAM_SIZE  (1u << 20)
#define CODE      0x1000u
#define NOT_RAM   0xfee00000u

static struct vm *vm;
static struct vcpu *vcpu;

/* 32-bit protected mode, no paging: mov [eax], ecx at CODE, EAX pointing past RAM. */
static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("vec", RAM_SIZE);
    vcpu = test_vcpu(vm);
    memcpy(vm->ram + CODE, "\x89\x08", 2);
    vmcs_write(VMCS_GUEST_RIP, CODE);
    vcpu->gpr[REG_RAX] = NOT_RAM;
    vcpu->gpr[REG_RCX] = 0x1234;
    vmcs_write(VMCS_GUEST_PHYSICAL_ADDR, NOT_RAM);
    vmcs_write(VMCS_GUEST_LINEAR_ADDR, NOT_RAM);
    vmcs_write(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

/* The exit stops the guest, RIP and the event injection fields untouched. */
static void expect_lost_event(const char *what)
{
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EPT_VIOLATION), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_STOPPED);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), CODE);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    if (!strstr(vm->stop_reason, what))
        fail_msg("stop reason \"%s\" lacks \"%s\"", vm->stop_reason, what);
    assert_non_null(strstr(vm->stop_reason, "guest-physical 0xfee00000"));
    assert_non_null(strstr(host_console(), "guest vec stopped"));
    assert_non_null(strstr(host_console(), "[vec] RIP"));          /* the register dump */
}

static void exception_delivery_into_non_ram_stops_guest(void **state)
{
    (void)state;
    /* e.g. a #PF whose handler's stack lies outside RAM */
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    vmcs_write(VMCS_IDT_VECTORING_ERROR, 2);
    expect_lost_event("hardware exception vector 14, error code 0x2 lost");
}

static void interrupt_delivery_into_non_ram_stops_guest(void **state)
{
    (void)state;
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x20);
    expect_lost_event("external interrupt vector 32 lost");
    assert_null(strstr(vm->stop_reason, "error code"));
}

static void nmi_and_software_events_are_named(void **state)
{
    (void)state;
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI);
    expect_lost_event("NMI vector 2 lost");

    teardown(state);
    setup(state);
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | 0x80);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 2);
    expect_lost_event("software interrupt vector 128 lost");

    teardown(state);
    setup(state);
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_SW_EXCEPTION | VEC_BP);
    expect_lost_event("software exception vector 3 lost");
}

static void ordinary_violation_is_emulated(void **state)
{
    (void)state;
    /* IDT-vectoring information not valid (bits without the valid bit mean nothing) */
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_TYPE_HW_EXCEPTION | VEC_PF);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EPT_VIOLATION), EXIT_CONTINUE);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), CODE + 2);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
}

static void violation_inside_ram_is_still_a_bug_report(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_PHYSICAL_ADDR, 0x2000);
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x20);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_EPT_VIOLATION), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "inside guest RAM"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(exception_delivery_into_non_ram_stops_guest),
        T(interrupt_delivery_into_non_ram_stops_guest),
        T(nmi_and_software_events_are_named),
        T(ordinary_violation_is_emulated),
        T(violation_inside_ram_is_still_a_bug_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
