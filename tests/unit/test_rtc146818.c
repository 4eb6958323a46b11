/* Tests for the MC146818A RTC model: time keeping and date arithmetic, formats, UIP, SET, the
 * divider, periodic/alarm/update interrupts with register C, NMI mask and CMOS memory bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/rtc146818.h"

#define KHZ 32768u                       /* one divider tick per 1000 TSC ticks */
#define TICK 1000ull
#define SECOND (RTC_DIVIDER_HZ * TICK)

static struct rtc146818 rtc;
static struct { unsigned rises; bool level; } line;
static uint64_t now;

static void line_set(void *ctx, unsigned pin, bool level)
{
    (void)ctx;
    assert_int_equal(pin, 8);
    if (level && !line.level)
        line.rises++;
    line.level = level;
}

static void start(uint16_t y, uint8_t mo, uint8_t d, uint8_t h, uint8_t mi, uint8_t s)
{
    struct rtc_datetime dt = { y, mo, d, h, mi, s };
    struct irq_line irq = { .set = line_set, .ctx = NULL, .pin = 8 };
    memset(&line, 0, sizeof(line));
    now = 0;
    rtc_init(&rtc, KHZ, &dt, &irq, 0);
}

static uint8_t rd(uint8_t index)
{
    uint32_t v;
    rtc_port_write(&rtc, now, RTC_PORT_INDEX, 1, index);
    rtc_port_read(&rtc, now, RTC_PORT_DATA, 1, &v);
    return (uint8_t)v;
}

static void wr(uint8_t index, uint8_t value)
{
    rtc_port_write(&rtc, now, RTC_PORT_INDEX, 1, index);
    rtc_port_write(&rtc, now, RTC_PORT_DATA, 1, value);
}

static void test_initial_time_in_bcd(void **state)
{
    (void)state;
    start(2024, 3, 15, 13, 45, 30);
    assert_int_equal(rd(RTC_SECONDS), 0x30);
    assert_int_equal(rd(RTC_MINUTES), 0x45);
    assert_int_equal(rd(RTC_HOURS), 0x13);
    assert_int_equal(rd(RTC_DAY_OF_MONTH), 0x15);
    assert_int_equal(rd(RTC_MONTH), 0x03);
    assert_int_equal(rd(RTC_YEAR), 0x24);
    assert_int_equal(rd(CMOS_CENTURY), 0x20);
    assert_int_equal(rd(RTC_DAY_OF_WEEK), 6);    /* a Friday */
    assert_int_equal(rd(RTC_REG_A), 0x26);
    assert_int_equal(rd(RTC_REG_B), RTC_B_24H);
    assert_int_equal(rd(RTC_REG_D), RTC_D_VRT);
}

static void test_ticks_with_uip_before_update(void **state)
{
    (void)state;
    start(2024, 3, 15, 13, 45, 30);
    now = SECOND - 9 * TICK;
    assert_false(rd(RTC_REG_A) & RTC_A_UIP);
    now = SECOND - 8 * TICK;                     /* 244 us before the update */
    assert_true(rd(RTC_REG_A) & RTC_A_UIP);
    assert_int_equal(rd(RTC_SECONDS), 0x30);
    now = SECOND;
    assert_false(rd(RTC_REG_A) & RTC_A_UIP);
    assert_int_equal(rd(RTC_SECONDS), 0x31);
    /* PF is set by the 1024 Hz rate whatever PIE says; no IRQF: no enable is on. */
    assert_int_equal(rd(RTC_REG_C), RTC_C_UF | RTC_C_PF);
    assert_int_equal(rd(RTC_REG_C), 0);          /* cleared on read */
    wr(RTC_REG_A, 0xA6);                         /* UIP is read-only */
    assert_int_equal(rd(RTC_REG_A) & 0x7F, 0x26);
}

static void test_carries_month_leap_year_and_century(void **state)
{
    (void)state;
    start(2024, 2, 28, 23, 59, 59);
    now = SECOND;
    assert_int_equal(rd(RTC_DAY_OF_MONTH), 0x29);    /* 2024 is a leap year */
    assert_int_equal(rd(RTC_MONTH), 0x02);
    assert_int_equal(rd(RTC_HOURS), 0x00);
    start(2100, 2, 28, 23, 59, 59);
    now = SECOND;
    assert_int_equal(rd(RTC_DAY_OF_MONTH), 0x01);    /* 2100 is not */
    assert_int_equal(rd(RTC_MONTH), 0x03);
    start(1999, 12, 31, 23, 59, 58);
    assert_int_equal(rd(RTC_DAY_OF_WEEK), 6);
    now = 2 * SECOND;
    assert_int_equal(rd(RTC_YEAR), 0x00);
    assert_int_equal(rd(CMOS_CENTURY), 0x20);
    assert_int_equal(rd(RTC_MONTH), 0x01);
    assert_int_equal(rd(RTC_DAY_OF_MONTH), 0x01);
    assert_int_equal(rd(RTC_DAY_OF_WEEK), 7);        /* 2000-01-01 was a Saturday */
}

static void test_long_advance_is_one_step(void **state)
{
    (void)state;
    start(2023, 1, 1, 0, 0, 0);
    now = (uint64_t)(365 + 31) * 86400 * SECOND + 3661 * SECOND;  /* to 2024-02-01 01:01:01 */
    assert_int_equal(rd(RTC_YEAR), 0x24);
    assert_int_equal(rd(RTC_MONTH), 0x02);
    assert_int_equal(rd(RTC_DAY_OF_MONTH), 0x01);
    assert_int_equal(rd(RTC_HOURS), 0x01);
    assert_int_equal(rd(RTC_MINUTES), 0x01);
    assert_int_equal(rd(RTC_SECONDS), 0x01);
    assert_int_equal(rd(RTC_DAY_OF_WEEK), 5);        /* a Thursday */
}

static void test_binary_and_12_hour_modes(void **state)
{
    (void)state;
    start(2024, 6, 1, 0, 0, 0);
    wr(RTC_REG_B, RTC_B_SET | RTC_B_DM_BINARY);      /* 12-hour binary */
    wr(RTC_HOURS, 11 | RTC_HOUR_PM);                 /* 11 PM */
    wr(RTC_MINUTES, 59);
    wr(RTC_SECONDS, 59);
    wr(RTC_REG_B, RTC_B_DM_BINARY);
    now = SECOND;
    assert_int_equal(rd(RTC_HOURS), 12);             /* midnight is 12 AM */
    assert_int_equal(rd(RTC_MINUTES), 0);
    assert_int_equal(rd(RTC_DAY_OF_MONTH), 2);
    now = 13 * 3600 * SECOND;
    assert_int_equal(rd(RTC_HOURS), 12 | RTC_HOUR_PM);  /* noon is 12 PM */
    now += 3600 * SECOND;
    assert_int_equal(rd(RTC_HOURS), 1 | RTC_HOUR_PM);
}

static void test_set_inhibits_updates(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    wr(RTC_REG_B, RTC_B_SET | RTC_B_24H);
    now = SECOND - 4 * TICK;
    assert_false(rd(RTC_REG_A) & RTC_A_UIP);         /* SET clears UIP */
    now = 5 * SECOND;
    assert_int_equal(rd(RTC_SECONDS), 0x00);
    assert_int_equal(rd(RTC_REG_C) & RTC_C_UF, 0);
    wr(RTC_REG_B, RTC_B_24H);
    now = 6 * SECOND;
    assert_int_equal(rd(RTC_SECONDS), 0x01);
}

static void test_divider_reset_then_half_second(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    wr(RTC_REG_A, 0x70);                             /* DV = 111: divider held in reset */
    now = 10 * SECOND;
    assert_int_equal(rd(RTC_SECONDS), 0x00);
    wr(RTC_REG_A, 0x26);
    now += SECOND / 2 - TICK;
    assert_int_equal(rd(RTC_SECONDS), 0x00);
    now += TICK;
    assert_int_equal(rd(RTC_SECONDS), 0x01);
}

static void test_periodic_interrupt(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    assert_int_equal(rtc_next_deadline(&rtc), DEV_TIME_NEVER);
    wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);            /* RS = 6: 1024 Hz, 32 ticks */
    assert_int_equal(rtc_next_deadline(&rtc), 32 * TICK);
    rtc_advance(&rtc, 31 * TICK);
    assert_false(line.level);
    rtc_advance(&rtc, 32 * TICK);
    assert_true(line.level);
    assert_int_equal(rtc_next_deadline(&rtc), DEV_TIME_NEVER);   /* held until C is read */
    now = 100 * TICK;
    assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    assert_false(line.level);
    assert_int_equal(rtc_next_deadline(&rtc), 128 * TICK);
    wr(RTC_REG_A, 0x2F);                             /* RS = 15: 2 Hz */
    assert_int_equal(rtc_next_deadline(&rtc), 16384 * TICK);
    wr(RTC_REG_A, 0x21);                             /* RS = 1: 256 Hz with a 32.768 kHz base */
    assert_int_equal(rtc_next_deadline(&rtc), 128 * TICK);
    assert_int_equal(line.rises, 1);
}

static void test_update_interrupt(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    assert_int_equal(rtc_next_deadline(&rtc), SECOND);
    rtc_advance(&rtc, SECOND);
    assert_true(line.level);
    now = SECOND;
    assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_UF | RTC_C_PF);
    assert_false(line.level);
}

static void test_alarm_with_dont_care(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    wr(RTC_SECONDS_ALARM, 0x30);
    wr(RTC_MINUTES_ALARM, 0xFF);
    wr(RTC_HOURS_ALARM, 0xC0);                       /* every minute at :30 */
    wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
    assert_int_equal(rtc_next_deadline(&rtc), 30 * SECOND);
    rtc_advance(&rtc, 29 * SECOND);
    assert_false(line.level);
    rtc_advance(&rtc, 30 * SECOND);
    assert_true(line.level);
    now = 31 * SECOND;
    assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF | RTC_C_PF);
    assert_int_equal(rtc_next_deadline(&rtc), 90 * SECOND);
    /* A specific time, reached inside one long advance. */
    wr(RTC_HOURS_ALARM, 0x23);
    wr(RTC_MINUTES_ALARM, 0x15);
    wr(RTC_SECONDS_ALARM, 0x00);
    assert_int_equal(rtc_next_deadline(&rtc), (13 * 3600 + 15 * 60) * SECOND);
    now = 20 * 3600 * SECOND;                        /* 06:00 next day */
    assert_int_equal(rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
    /* An alarm value no time can equal never fires. */
    wr(RTC_HOURS_ALARM, 0x25);
    assert_int_equal(rtc_next_deadline(&rtc), DEV_TIME_NEVER);
    now += 2 * 86400 * SECOND;
    assert_int_equal(rd(RTC_REG_C) & RTC_C_AF, 0);
}

static void test_enabling_pie_with_pf_pending_raises_irq(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    rtc_advance(&rtc, 40 * TICK);                    /* PF set, PIE off: no interrupt */
    assert_false(line.level);
    now = 40 * TICK;
    wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    assert_true(line.level);
    assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
}

static void test_nmi_mask_ram_and_read_only_registers(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    uint32_t v;
    rtc_port_write(&rtc, 0, RTC_PORT_INDEX, 1, 0x80 | 0x40);
    assert_true(rtc_nmi_masked(&rtc));
    rtc_port_write(&rtc, 0, RTC_PORT_DATA, 1, 0x5A);
    rtc_port_read(&rtc, 0, RTC_PORT_DATA, 1, &v);
    assert_int_equal(v, 0x5A);
    rtc_port_read(&rtc, 0, RTC_PORT_INDEX, 1, &v);
    assert_int_equal(v, 0xFF);                       /* port 0x70 is write-only */
    rtc_port_write(&rtc, 0, RTC_PORT_INDEX, 1, 0x7F);
    assert_false(rtc_nmi_masked(&rtc));
    wr(RTC_REG_D, 0);
    assert_int_equal(rd(RTC_REG_D), RTC_D_VRT);
    wr(RTC_REG_C, 0xF0);
    assert_int_equal(rd(RTC_REG_C), 0);
}

static void test_cmos_memory_bytes(void **state)
{
    (void)state;
    start(2024, 6, 1, 10, 0, 0);
    rtc_cmos_set_memory(&rtc, 3ull << 30, 5ull << 30);  /* 3 GiB below 4 GiB, 5 GiB above */
    assert_int_equal(rd(0x15) | rd(0x16) << 8, 640);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 0xFFFF);
    assert_int_equal(rd(0x30) | rd(0x31) << 8, 0xFFFF);
    assert_int_equal(rd(0x34) | rd(0x35) << 8, ((3ull << 30) - (16 << 20)) >> 16);
    assert_int_equal(rd(0x5B) | rd(0x5C) << 8 | rd(0x5D) << 16, (5ull << 30) >> 16);
    rtc_cmos_set_memory(&rtc, 32ull << 20, 0);
    assert_int_equal(rd(0x17) | rd(0x18) << 8, 31 * 1024);
    assert_int_equal(rd(0x34) | rd(0x35) << 8, (16 << 20) >> 16);
    assert_int_equal(rd(0x5B) | rd(0x5C) | rd(0x5D), 0);
}

static void test_date_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(rtc_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(rtc_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(rtc_day_of_week(0), 5);          /* Thursday */
    assert_int_equal(rtc_days_in_month(2024, 2), 29);
    assert_int_equal(rtc_days_in_month(2023, 2), 28);
    assert_int_equal(rtc_days_in_month(2000, 2), 29);
    assert_int_equal(rtc_days_in_month(1900, 2), 28);
    assert_int_equal(rtc_days_in_month(2024, 4), 30);
    assert_int_equal(rtc_days_in_month(2024, 12), 31);
    int64_t y;
    unsigned m, d;
    rtc_civil_from_days(rtc_days_from_civil(2024, 13, 32), &y, &m, &d);  /* carried */
    assert_int_equal(y, 2025);
    assert_int_equal(m, 2);
    assert_int_equal(d, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_time_in_bcd),
        cmocka_unit_test(test_ticks_with_uip_before_update),
        cmocka_unit_test(test_carries_month_leap_year_and_century),
        cmocka_unit_test(test_long_advance_is_one_step),
        cmocka_unit_test(test_binary_and_12_hour_modes),
        cmocka_unit_test(test_set_inhibits_updates),
        cmocka_unit_test(test_divider_reset_then_half_second),
        cmocka_unit_test(test_periodic_interrupt),
        cmocka_unit_test(test_update_interrupt),
        cmocka_unit_test(test_alarm_with_dont_care),
        cmocka_unit_test(test_enabling_pie_with_pf_pending_raises_irq),
        cmocka_unit_test(test_nmi_mask_ram_and_read_only_registers),
        cmocka_unit_test(test_cmos_memory_bytes),
        cmocka_unit_test(test_date_arithmetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
