/* Round-robin picking, halted-guest deadlock, time limits, and the summary's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "sched.h"
#include "summary.h"
#include "test_guest_helpers.h"

static struct guest gs[3];

static void reset_guests(void)
{
    memset(gs, 0, sizeof(gs));
    for (int i = 0; i < 3; i++) {
        snprintf(gs[i].name, sizeof(gs[i].name), "g%d", i);
        gs[i].state = GUEST_RUNNABLE;
        uart_init(&gs[i].uart, gs[i].name);
    }
    host_console_reset();
}

static void picks_round_robin_and_skips_ended(void **state)
{
    (void)state;
    reset_guests();
    unsigned cursor = 0;
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[0]);
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[1]);
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[2]);
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[0]);
    gs[1].state = GUEST_ENDED;
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[2]);
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[0]);
    gs[0].state = gs[2].state = GUEST_ENDED;
    assert_null(sched_pick(gs, 3, &cursor));
}

static void halted_guests_alone_are_stopped(void **state)
{
    (void)state;
    reset_guests();
    unsigned cursor = 0;
    gs[0].state = GUEST_HALTED;
    assert_ptr_equal(sched_pick(gs, 3, &cursor), &gs[1]);
    gs[1].state = GUEST_ENDED;
    gs[2].state = GUEST_ENDED;
    assert_null(sched_pick(gs, 3, &cursor));
    assert_int_equal(gs[0].state, GUEST_ENDED);
    assert_non_null(strstr(gs[0].stop_reason, "no interrupt source"));
}

static void time_limit_stops_guest(void **state)
{
    (void)state;
    reset_guests();
    gs[0].timeout_tsc = 5000 * 1000; /* 5000 ms at 1000 kHz */
    sched_account(&gs[0], 4999999, 1000);
    assert_int_equal(gs[0].state, GUEST_RUNNABLE);
    sched_account(&gs[0], 1, 1000);
    assert_int_equal(gs[0].state, GUEST_ENDED);
    assert_non_null(strstr(gs[0].stop_reason, "time limit of 5000 ms"));
    sched_account(&gs[1], ~0ull / 2, 1000); /* no limit set: never stopped */
    assert_int_equal(gs[1].state, GUEST_RUNNABLE);
}

static void summary_counts_successes(void **state)
{
    (void)state;
    reset_guests();
    guest_end(&gs[0], OUTCOME_EXIT_CODE, 1);
    guest_end(&gs[1], OUTCOME_SHUTDOWN, 0);
    guest_stop(&gs[2], "triple fault");
    gs[0].exit_counts[EXIT_REASON_CPUID] = 42;
    host_console_reset();
    assert_int_equal(summary_print(gs, 3, 1000), 1);
    const char *out = host_console();
    assert_non_null(strstr(out, "tessera: summary"));
    assert_non_null(strstr(out, "exit status 1 (success)"));
    assert_non_null(strstr(out, "stopped: triple fault"));
    assert_non_null(strstr(out, "=42"));
    assert_non_null(strstr(out, "tessera: all guests ended: 2 succeeded, 1 failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_round_robin_and_skips_ended),
        cmocka_unit_test(halted_guests_alone_are_stopped),
        cmocka_unit_test(time_limit_stops_guest),
        cmocka_unit_test(summary_counts_successes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
