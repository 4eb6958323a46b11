/* Tests for the ACPI PM timer: rate from the TSC, 24- and 32-bit wrap, monotonicity, byte reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "dev/pm_timer.h"

#define PORT 0x608
#define KHZ_EXACT 3579545u    /* one PM timer tick per 1000 TSC ticks */

static uint32_t rd(struct pm_timer *pm, uint64_t now)
{
    uint32_t v;
    pm_timer_port_read(pm, now, PORT, 4, &v);
    return v;
}

static void test_rate_from_tsc(void **state)
{
    (void)state;
    struct pm_timer pm;
    pm_timer_init(&pm, 3000000, PORT, false);          /* 3 GHz */
    assert_int_equal(rd(&pm, 0), 0);
    assert_int_equal(rd(&pm, 3000000000ull / 1000), 3579);   /* 1 ms: 3579.545 ticks */
    assert_int_equal(rd(&pm, 3000000000ull), PM_TIMER_HZ);
}

static void test_wraps_at_24_bits(void **state)
{
    (void)state;
    struct pm_timer pm;
    pm_timer_init(&pm, KHZ_EXACT, PORT, false);
    assert_int_equal(rd(&pm, 0xFFFFFFull * 1000), 0xFFFFFF);
    assert_int_equal(rd(&pm, 0x1000000ull * 1000), 0);
    assert_int_equal(rd(&pm, 0x1000005ull * 1000), 5);
}

static void test_wraps_at_32_bits_when_extended(void **state)
{
    (void)state;
    struct pm_timer pm;
    pm_timer_init(&pm, KHZ_EXACT, PORT, true);
    assert_int_equal(rd(&pm, 0x1000000ull * 1000), 0x1000000);
    assert_int_equal(rd(&pm, 0xFFFFFFFFull * 1000), 0xFFFFFFFFu);
    assert_int_equal(rd(&pm, 0x100000001ull * 1000), 1);
}

static void test_never_goes_backwards(void **state)
{
    (void)state;
    struct pm_timer pm;
    pm_timer_init(&pm, KHZ_EXACT, PORT, false);
    assert_int_equal(rd(&pm, 50000), 50);
    assert_int_equal(rd(&pm, 20000), 50);             /* an earlier time does not rewind it */
    assert_int_equal(rd(&pm, 60000), 60);
}

static void test_byte_reads_and_other_ports(void **state)
{
    (void)state;
    struct pm_timer pm;
    pm_timer_init(&pm, KHZ_EXACT, PORT, false);
    uint32_t v;
    pm_timer_port_read(&pm, 0x123456ull * 1000, PORT + 1, 1, &v);
    assert_int_equal(v, 0x34);
    pm_timer_port_read(&pm, 0x123456ull * 1000, PORT + 2, 4, &v);
    assert_int_equal(v, 0xFFFF0012);                  /* bytes beyond the block read 0xFF */
    pm_timer_port_write(&pm, 0x123456ull * 1000, PORT, 4, 0);
    assert_int_equal(rd(&pm, 0x123456ull * 1000), 0x123456);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_from_tsc),
        cmocka_unit_test(test_wraps_at_24_bits),
        cmocka_unit_test(test_wraps_at_32_bits_when_extended),
        cmocka_unit_test(test_never_goes_backwards),
        cmocka_unit_test(test_byte_reads_and_other_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
