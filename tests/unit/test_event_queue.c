/* Tests for the per-vCPU event queue (guest/event_queue.c) against the soft VMCS: nothing reaches
 * the VM-entry fields before the commit, one event per entry in SDM priority order, double- and
 * triple-fault combination, NMI and interrupt windows requested and cleared, blocking honoured,
 * and events interrupted by an exit going back through the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "exit/dispatch.h"
#include "test_guest_helpers.h"

#define EXC(vector)     (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | (vector))
#define EXC_ERR(vector) (EXC(vector) | INTR_INFO_DELIVER_ERROR)
#define NMI_INFO        (INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI)

static struct vm *vm;
static struct vcpu *vcpu;

/* A fake interrupt source: one pending vector, or none. */
struct fake_lapic {
    int pending;                /* -1: none */
    int acknowledged;           /* the vector taken, -1 until then */
    unsigned asked;
};
static struct fake_lapic lapic;

static int fake_highest(void *ctx)
{
    struct fake_lapic *l = ctx;
    l->asked++;
    return l->pending;
}

static void fake_acknowledge(void *ctx, uint8_t vector)
{
    struct fake_lapic *l = ctx;
    l->acknowledged = vector;
    l->pending = -1;
}

static const struct interrupt_source fake_source = { fake_highest, fake_acknowledge, &lapic };

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("evq", 1 << 20);
    vcpu = test_vcpu(vm);
    lapic = (struct fake_lapic){ .pending = -1, .acknowledged = -1 };
    vmcs_write(VMCS_GUEST_RIP, 0x1000);
    vmcs_write(VMCS_PIN_CONTROLS, PIN_VIRTUAL_NMIS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static uint64_t proc_controls(void)
{
    return vmcs_read(VMCS_PROC_CONTROLS);
}

/* What the next entry injects; the soft VMCS keeps the field, so clear it as the CPU's exit would. */
static uint32_t commit_and_take(void)
{
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
    vcpu_commit_events(vcpu);
    return (uint32_t)vmcs_read(VMCS_ENTRY_INTR_INFO);
}

static void test_empty_queue_commits_nothing(void **state)
{
    (void)state;
    vcpu_commit_events(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    assert_false(soft_vmcs_written(VMCS_PROC_CONTROLS));
}

static void test_exception_reaches_the_vmcs_only_at_commit(void **state)
{
    (void)state;
    assert_int_equal(vcpu_inject_exception(vcpu, VEC_GP, true, 0x18), EXIT_CONTINUE);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    assert_false(soft_vmcs_written(VMCS_ENTRY_EXCEPTION_ERROR));
    assert_non_null(vcpu_pending_event(vcpu));
    assert_int_equal(vcpu_pending_event(vcpu)->info, EXC_ERR(VEC_GP));
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), EXC_ERR(VEC_GP));
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0x18);
    assert_null(vcpu_pending_event(vcpu));
    assert_int_equal(commit_and_take(), 0);             /* delivered once, not again */
}

static void test_page_fault_sets_cr2_at_commit(void **state)
{
    (void)state;
    vcpu_inject_page_fault(vcpu, 2, 0xdead000);
    assert_false(vcpu->cr2_pending);
    vcpu_commit_events(vcpu);
    assert_true(vcpu->cr2_pending);
    assert_int_equal(vcpu->cr2, 0xdead000);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), EXC_ERR(VEC_PF));
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 2);
    assert_int_equal(vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_RF, RFLAGS_RF);  /* a fault */
}

static void test_combination_table(void **state)
{
    (void)state;
    static const struct { uint32_t first, second; enum event_combination result; } cases[] = {
        { EXC_ERR(VEC_GP), EXC_ERR(VEC_NP), EVENT_DOUBLE_FAULT },   /* contributory + contributory */
        { EXC(VEC_DE), EXC_ERR(VEC_TS), EVENT_DOUBLE_FAULT },
        { EXC_ERR(VEC_PF), EXC_ERR(VEC_GP), EVENT_DOUBLE_FAULT },   /* page fault + contributory */
        { EXC_ERR(VEC_PF), EXC_ERR(VEC_PF), EVENT_DOUBLE_FAULT },   /* page fault + page fault */
        { EXC_ERR(VEC_GP), EXC_ERR(VEC_PF), EVENT_SERIAL },         /* contributory + page fault */
        { EXC(VEC_UD), EXC_ERR(VEC_GP), EVENT_SERIAL },             /* benign first */
        { EXC_ERR(VEC_GP), EXC(VEC_DB), EVENT_SERIAL },             /* benign second */
        { EXC_ERR(VEC_DF), EXC_ERR(VEC_GP), EVENT_TRIPLE_FAULT },
        { EXC_ERR(VEC_DF), EXC_ERR(VEC_PF), EVENT_TRIPLE_FAULT },
        { EXC_ERR(VEC_DF), EXC(VEC_DB), EVENT_SERIAL },
        { INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x30, EXC_ERR(VEC_GP), EVENT_SERIAL },
        { INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | VEC_GP, EXC_ERR(VEC_GP), EVENT_SERIAL },  /* INT 13 is no #GP */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(event_combine(cases[i].first, cases[i].second), cases[i].result);
}

static void test_two_contributory_faults_become_a_double_fault(void **state)
{
    (void)state;
    vcpu_inject_exception(vcpu, VEC_GP, true, 0x18);
    vcpu_inject_exception(vcpu, VEC_NP, true, 0x20);
    assert_int_equal(commit_and_take(), EXC_ERR(VEC_DF));
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    assert_int_equal(vm->state, VM_RUNNING);
}

static void test_double_fault_in_real_mode_has_no_error_code(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR0, 0x30);
    vcpu_inject_exception(vcpu, VEC_GP, true, 0);
    vcpu_inject_exception(vcpu, VEC_GP, true, 0);
    assert_int_equal(commit_and_take(), EXC(VEC_DF));
}

static void test_page_fault_then_gp_keeps_cr2_of_the_page_fault(void **state)
{
    (void)state;
    vcpu_inject_page_fault(vcpu, 0, 0x5000);
    vcpu_inject_exception(vcpu, VEC_GP, true, 0);
    assert_int_equal(commit_and_take(), EXC_ERR(VEC_DF));
    assert_true(vcpu->cr2_pending);
    assert_int_equal(vcpu->cr2, 0x5000);
}

static void test_benign_second_exception_replaces_the_first(void **state)
{
    (void)state;
    vcpu_inject_exception(vcpu, VEC_GP, true, 0x18);
    vcpu_inject_exception(vcpu, VEC_UD, false, 0);
    assert_int_equal(commit_and_take(), EXC(VEC_UD));
}

static void test_fault_while_delivering_double_fault_stops_the_vm(void **state)
{
    (void)state;
    vcpu_inject_exception(vcpu, VEC_GP, true, 0);
    vcpu_inject_exception(vcpu, VEC_SS, true, 0);       /* now #DF */
    assert_int_equal(vcpu_inject_exception(vcpu, VEC_GP, true, 0), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_non_null(strstr(vm->stop_reason, "triple fault"));
    assert_null(vcpu_pending_event(vcpu));
}

static void test_nmi_is_injected_when_unblocked(void **state)
{
    (void)state;
    vcpu_queue_nmi(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    assert_int_equal(commit_and_take(), NMI_INFO);
    assert_int_equal(commit_and_take(), 0);
    assert_false(soft_vmcs_written(VMCS_PROC_CONTROLS));
}

static void test_blocked_nmi_requests_the_nmi_window_and_it_is_cleared(void **state)
{
    (void)state;
    static const uint32_t blockers[] = { INTERRUPTIBILITY_NMI, INTERRUPTIBILITY_MOV_SS, INTERRUPTIBILITY_STI };
    for (size_t i = 0; i < sizeof(blockers) / sizeof(blockers[0]); i++) {
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, blockers[i]);
        vcpu_queue_nmi(vcpu);
        assert_int_equal(commit_and_take(), 0);
        assert_true(proc_controls() & PROC_NMI_WINDOW_EXITING);
        /* The window opens: the exit changes nothing, the next commit injects and clears. */
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
        assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_NMI_WINDOW), EXIT_CONTINUE);
        assert_int_equal(commit_and_take(), NMI_INFO);
        assert_false(proc_controls() & PROC_NMI_WINDOW_EXITING);
    }
}

static void test_without_virtual_nmis_a_blocked_nmi_waits_without_window(void **state)
{
    (void)state;
    vmcs_write(VMCS_PIN_CONTROLS, 0);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_NMI);
    vcpu_queue_nmi(vcpu);
    assert_int_equal(commit_and_take(), 0);
    assert_false(proc_controls() & PROC_NMI_WINDOW_EXITING);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
    assert_int_equal(commit_and_take(), NMI_INFO);
}

static void test_interrupt_waits_for_if_and_uses_the_window(void **state)
{
    (void)state;
    vcpu_set_interrupt_source(vcpu, &fake_source);
    lapic.pending = 0x30;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1);       /* IF=0 */
    assert_int_equal(commit_and_take(), 0);
    assert_int_equal(lapic.acknowledged, -1);           /* not taken while it cannot be delivered */
    assert_true(proc_controls() & PROC_INTERRUPT_WINDOW_EXITING);
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_IF);
    assert_int_equal(exit_dispatch(vcpu, EXIT_REASON_INTERRUPT_WINDOW), EXIT_CONTINUE);
    assert_int_equal(commit_and_take(), INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x30);
    assert_int_equal(lapic.acknowledged, 0x30);
    assert_false(proc_controls() & PROC_INTERRUPT_WINDOW_EXITING);
}

static void test_interrupt_waits_for_sti_and_mov_ss_shadows(void **state)
{
    (void)state;
    vcpu_set_interrupt_source(vcpu, &fake_source);
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_IF);
    static const uint32_t shadows[] = { INTERRUPTIBILITY_STI, INTERRUPTIBILITY_MOV_SS };
    for (size_t i = 0; i < sizeof(shadows) / sizeof(shadows[0]); i++) {
        lapic.pending = 0x40;
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, shadows[i]);
        assert_int_equal(commit_and_take(), 0);
        assert_true(proc_controls() & PROC_INTERRUPT_WINDOW_EXITING);
        vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
        assert_int_equal(commit_and_take(), INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x40);
        assert_false(proc_controls() & PROC_INTERRUPT_WINDOW_EXITING);
    }
}

static void test_source_with_nothing_pending_asks_no_window(void **state)
{
    (void)state;
    vcpu_set_interrupt_source(vcpu, &fake_source);
    assert_int_equal(commit_and_take(), 0);
    assert_true(lapic.asked > 0);
    assert_false(soft_vmcs_written(VMCS_PROC_CONTROLS));
}

static void test_one_event_per_entry_exceptions_then_nmi_then_interrupts(void **state)
{
    (void)state;
    vcpu_set_interrupt_source(vcpu, &fake_source);
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_IF);
    lapic.pending = 0x50;
    vcpu_queue_nmi(vcpu);
    vcpu_inject_exception(vcpu, VEC_UD, false, 0);
    assert_int_equal(commit_and_take(), EXC(VEC_UD));
    assert_true(proc_controls() & PROC_NMI_WINDOW_EXITING);
    assert_true(proc_controls() & PROC_INTERRUPT_WINDOW_EXITING);
    assert_int_equal(lapic.acknowledged, -1);
    assert_int_equal(commit_and_take(), NMI_INFO);
    assert_false(proc_controls() & PROC_NMI_WINDOW_EXITING);
    assert_true(proc_controls() & PROC_INTERRUPT_WINDOW_EXITING);
    assert_int_equal(commit_and_take(), INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x50);
    assert_int_equal(proc_controls() & (PROC_NMI_WINDOW_EXITING | PROC_INTERRUPT_WINDOW_EXITING), 0);
}

static void test_interrupted_software_interrupt_is_requeued_with_its_length(void **state)
{
    (void)state;
    vmcs_write(VMCS_IDT_VECTORING_INFO, INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | (1u << 12) | 0x80);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 2);
    vmcs_write(VMCS_GUEST_PHYSICAL_ADDR, 0xC0000000);   /* an EPT misconfiguration on the IDT */
    exit_redeliver_interrupted_event(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), INTR_INFO_VALID | INTR_TYPE_SW_INTERRUPT | 0x80);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INSTR_LEN), 2);
}

static void test_interrupted_hardware_event_carries_no_length(void **state)
{
    (void)state;
    vmcs_write(VMCS_IDT_VECTORING_INFO, EXC_ERR(VEC_PF));
    vmcs_write(VMCS_IDT_VECTORING_ERROR, 6);
    vmcs_write(VMCS_EXIT_INSTR_LEN, 3);
    exit_redeliver_interrupted_event(vcpu);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), EXC_ERR(VEC_PF));
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 6);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INSTR_LEN));
}

static void test_handler_event_wins_over_the_interrupted_one(void **state)
{
    (void)state;
    vcpu_inject_exception(vcpu, VEC_UD, false, 0);
    vcpu_requeue_interrupted_event(vcpu, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x30, 0, 0);
    assert_int_equal(commit_and_take(), EXC(VEC_UD));
    assert_int_equal(commit_and_take(), 0);
}

static void test_requeued_interrupt_goes_before_the_nmi(void **state)
{
    (void)state;
    vcpu_queue_nmi(vcpu);
    vcpu_requeue_interrupted_event(vcpu, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x30, 0, 0);
    assert_int_equal(commit_and_take(), INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x30);
    assert_int_equal(commit_and_take(), NMI_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_empty_queue_commits_nothing),
        T(test_exception_reaches_the_vmcs_only_at_commit),
        T(test_page_fault_sets_cr2_at_commit),
        T(test_combination_table),
        T(test_two_contributory_faults_become_a_double_fault),
        T(test_double_fault_in_real_mode_has_no_error_code),
        T(test_page_fault_then_gp_keeps_cr2_of_the_page_fault),
        T(test_benign_second_exception_replaces_the_first),
        T(test_fault_while_delivering_double_fault_stops_the_vm),
        T(test_nmi_is_injected_when_unblocked),
        T(test_blocked_nmi_requests_the_nmi_window_and_it_is_cleared),
        T(test_without_virtual_nmis_a_blocked_nmi_waits_without_window),
        T(test_interrupt_waits_for_if_and_uses_the_window),
        T(test_interrupt_waits_for_sti_and_mov_ss_shadows),
        T(test_source_with_nothing_pending_asks_no_window),
        T(test_one_event_per_entry_exceptions_then_nmi_then_interrupts),
        T(test_interrupted_software_interrupt_is_requeued_with_its_length),
        T(test_interrupted_hardware_event_carries_no_length),
        T(test_handler_event_wins_over_the_interrupted_one),
        T(test_requeued_interrupt_goes_before_the_nmi),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
