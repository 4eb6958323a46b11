/* Round-robin picking, halted-guest deadlock, slice and time-limit accounting (root-mode time
 * included), and the summary's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "sched.h"
#include "summary.h"
#include "test_guest_helpers.h"

static struct vm vms[3];

/* The one vCPU of VM i. */
static struct vcpu *cpu(int i)
{
    return &vms[i].vcpus[0];
}

static void reset_guests(void)
{
    memset(vms, 0, sizeof(vms));
    for (int i = 0; i < 3; i++) {
        snprintf(vms[i].name, sizeof(vms[i].name), "g%d", i);
        vms[i].state = VM_RUNNING;
        vm_init_vcpus(&vms[i], 1);
        uart_init(&vms[i].uart, vms[i].name);
    }
    host_console_reset();
}

static void picks_round_robin_and_skips_ended(void **state)
{
    (void)state;
    reset_guests();
    unsigned cursor = 0;
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(0));
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(1));
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(2));
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(0));
    vms[1].state = VM_ENDED;
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(2));
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(0));
    vms[0].state = vms[2].state = VM_ENDED;
    assert_null(sched_pick(vms, 3, &cursor));
}

static void halted_guests_alone_are_stopped(void **state)
{
    (void)state;
    reset_guests();
    unsigned cursor = 0;
    cpu(0)->state = VCPU_HALTED;
    assert_ptr_equal(sched_pick(vms, 3, &cursor), cpu(1));
    vms[1].state = VM_ENDED;
    vms[2].state = VM_ENDED;
    assert_null(sched_pick(vms, 3, &cursor));
    assert_int_equal(vms[0].state, VM_ENDED);
    assert_int_equal(cpu(0)->state, VCPU_STOPPED);          /* stopping a VM stops its vCPUs */
    assert_non_null(strstr(vms[0].stop_reason, "no interrupt source"));
}

static void time_limit_stops_guest(void **state)
{
    (void)state;
    reset_guests();
    vms[0].timeout_tsc = 5000 * 1000; /* 5000 ms at 1000 kHz */
    sched_account(cpu(0), 4999999, 1000);
    assert_int_equal(vms[0].state, VM_RUNNING);
    sched_account(cpu(0), 1, 1000);
    assert_int_equal(vms[0].state, VM_ENDED);
    assert_non_null(strstr(vms[0].stop_reason, "time limit of 5000 ms"));
    sched_account(cpu(1), ~0ull / 2, 1000); /* no limit set: never stopped */
    assert_int_equal(vms[1].state, VM_RUNNING);
}

/* The VMX-preemption timer counts only guest time; the slice is charged with everything since it
 * started, root-mode time on the guest's exits included. */
static void slice_left_charges_root_mode_time(void **state)
{
    (void)state;
    reset_guests();
    const uint64_t slice = 10000, start = 1000;
    assert_int_equal(sched_slice_left(cpu(0), start, start, slice), slice);
    assert_int_equal(sched_slice_left(cpu(0), start, start + 4000, slice), 6000);
    assert_int_equal(sched_slice_left(cpu(0), start, start + slice - 1, slice), 1);
    assert_int_equal(sched_slice_left(cpu(0), start, start + slice, slice), 0);
    assert_int_equal(sched_slice_left(cpu(0), start, start + 5 * slice, slice), 0); /* no wrap-around */
    /* A TSC near its top wraps: the difference is still right. */
    assert_int_equal(sched_slice_left(cpu(0), ~0ull - 99, 900, slice), slice - 1000);
}

/* An exit-heavy guest: each exit costs 100 ticks in the guest and 900 in root mode. However the
 * guest behaves, its slice ends within one exit of the configured length. */
static void exit_heavy_slice_stays_within_one_exit_of_its_length(void **state)
{
    (void)state;
    reset_guests();
    const uint64_t slice = 10000, guest_part = 100, root_part = 900;
    uint64_t now = 5000, start = now, guest_time = 0;
    for (uint64_t left; (left = sched_slice_left(cpu(0), start, now, slice));) {
        uint64_t ran = left < guest_part ? left : guest_part;   /* the timer stops the guest at left */
        guest_time += ran;
        now += ran + root_part;
    }
    uint64_t used = now - start;
    assert_true(used >= slice);
    assert_true(used < slice + guest_part + root_part);
    assert_true(guest_time < slice);                          /* only a tenth of it ran in the guest */
    sched_account(cpu(0), used, 1000);
    assert_int_equal(cpu(0)->run_tsc, used);
}

static void slice_left_stops_at_the_time_limit(void **state)
{
    (void)state;
    reset_guests();
    const uint64_t slice = 10000;
    vms[0].timeout_tsc = 5000;
    cpu(0)->run_tsc = 4000;
    assert_int_equal(sched_slice_left(cpu(0), 0, 0, slice), 1000);   /* the limit is nearer than the slice end */
    assert_int_equal(sched_slice_left(cpu(0), 0, 600, slice), 400);
    assert_int_equal(sched_slice_left(cpu(0), 0, 1000, slice), 0);
    assert_int_equal(vms[0].state, VM_RUNNING);                   /* deciding does not stop it... */
    sched_account(cpu(0), 1000, 1000);                                /* ...charging at the limit does */
    assert_int_equal(vms[0].state, VM_ENDED);
    assert_non_null(strstr(vms[0].stop_reason, "time limit of 5 ms"));
    cpu(1)->run_tsc = 9000;
    vms[1].timeout_tsc = 5000;                                         /* already past it */
    assert_int_equal(sched_slice_left(cpu(1), 0, 0, slice), 0);
    cpu(2)->run_tsc = ~0ull - 10;                                       /* no limit: only the slice counts */
    assert_int_equal(sched_slice_left(cpu(2), 0, 10, slice), slice - 10);
}

static void account_records_the_longest_slice(void **state)
{
    (void)state;
    reset_guests();
    sched_account(cpu(0), 300, 1000);
    sched_account(cpu(0), 10700, 1000);
    sched_account(cpu(0), 500, 1000);
    assert_int_equal(cpu(0)->max_slice_tsc, 10700);
    assert_int_equal(cpu(0)->run_tsc, 11500);
    assert_int_equal(cpu(1)->max_slice_tsc, 0);
}

static void summary_counts_successes(void **state)
{
    (void)state;
    reset_guests();
    vm_end(&vms[0], OUTCOME_EXIT_CODE, 1);
    vm_end(&vms[1], OUTCOME_SHUTDOWN, 0);
    vm_stop(&vms[2], "triple fault");
    cpu(0)->exit_counts[EXIT_REASON_CPUID] = 42;
    host_console_reset();
    assert_int_equal(summary_print(vms, 3, 1000), 1);
    const char *out = host_console();
    assert_non_null(strstr(out, "tessera: summary"));
    assert_non_null(strstr(out, "exit status 1 (success)"));
    assert_non_null(strstr(out, "stopped: triple fault"));
    assert_non_null(strstr(out, "=42"));
    assert_non_null(strstr(out, "tessera: all guests ended: 2 succeeded, 1 failed"));
}

/* The longest slice each guest got, in ms with one decimal, so a scenario can check that every
 * slice stayed close to slice_ms. */
static void summary_shows_the_longest_slice(void **state)
{
    (void)state;
    reset_guests();
    cpu(0)->max_slice_tsc = 10349;            /* 10.349 ms at 1000 kHz: 10.3 */
    cpu(1)->max_slice_tsc = 3100000;          /* 3100.0 ms */
    cpu(2)->max_slice_tsc = 0;
    host_console_reset();
    summary_print(vms, 3, 1000);
    const char *out = host_console();
    assert_non_null(strstr(out, "max-slice-ms"));
    assert_non_null(strstr(out, " 10.3 "));
    assert_non_null(strstr(out, " 3100.0 "));
    assert_non_null(strstr(out, " 0.0 "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_round_robin_and_skips_ended),
        cmocka_unit_test(halted_guests_alone_are_stopped),
        cmocka_unit_test(time_limit_stops_guest),
        cmocka_unit_test(slice_left_charges_root_mode_time),
        cmocka_unit_test(exit_heavy_slice_stays_within_one_exit_of_its_length),
        cmocka_unit_test(slice_left_stops_at_the_time_limit),
        cmocka_unit_test(account_records_the_longest_slice),
        cmocka_unit_test(summary_counts_successes),
        cmocka_unit_test(summary_shows_the_longest_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
