/* Tests for the 8254 PIT model: each mode's OUT waveform and reload rules, BCD, access modes,
 * latch and read-back, the channel 2 gate and port 0x61, IRQ 0 edges and deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/pit8254.h"

/* With this TSC rate one PIT clock is exactly 1000 TSC ticks. */
#define KHZ_EXACT 1193182u
#define RB_NO_COUNT_BIT 0x20   /* read-back: do not latch the count */
#define T(ticks) ((uint64_t)(ticks) * 1000)

static struct pit8254 pit;
static struct { unsigned calls; bool level; unsigned rises; } line;

static void line_set(void *ctx, unsigned pin, bool level)
{
    (void)ctx;
    assert_int_equal(pin, 0);
    line.calls++;
    if (level && !line.level)
        line.rises++;
    line.level = level;
}

static int setup(void **state)
{
    (void)state;
    memset(&line, 0, sizeof(line));
    struct irq_line irq = { .set = line_set, .ctx = NULL, .pin = 0 };
    pit_init(&pit, KHZ_EXACT, &irq, 0);
    return 0;
}

static void out8(uint64_t tick, uint16_t port, uint8_t v) { pit_port_write(&pit, T(tick), port, 1, v); }

static uint8_t in8(uint64_t tick, uint16_t port)
{
    uint32_t v;
    pit_port_read(&pit, T(tick), port, 1, &v);
    return (uint8_t)v;
}

/* Control word for channel ch: access LSB then MSB, the given mode, binary. */
static void program(uint64_t tick, unsigned ch, unsigned mode, uint16_t count)
{
    out8(tick, PIT_PORT_CONTROL, (uint8_t)(ch << 6 | 3 << 4 | mode << 1));
    out8(tick, (uint16_t)(PIT_PORT_COUNTER0 + ch), (uint8_t)count);
    out8(tick, (uint16_t)(PIT_PORT_COUNTER0 + ch), (uint8_t)(count >> 8));
}

static uint16_t read_count(uint64_t tick, unsigned ch)
{
    out8(tick, PIT_PORT_CONTROL, (uint8_t)(ch << 6));          /* counter latch */
    uint8_t lo = in8(tick, (uint16_t)(PIT_PORT_COUNTER0 + ch));
    uint8_t hi = in8(tick, (uint16_t)(PIT_PORT_COUNTER0 + ch));
    return (uint16_t)(lo | hi << 8);
}

static bool out_at(unsigned ch, uint64_t tick)
{
    pit_advance(&pit, T(tick));
    return pit_channel_out(&pit, ch);
}

static uint8_t read_status(uint64_t tick, unsigned ch)
{
    out8(tick, PIT_PORT_CONTROL, (uint8_t)(0xC0 | RB_NO_COUNT_BIT | (2u << ch)));
    return in8(tick, (uint16_t)(PIT_PORT_COUNTER0 + ch));
}

static void gate2(uint64_t tick, bool high)
{
    out8(tick, PORT_NMI_STATUS_CTRL, high ? NMI_SC_TIM_CNT2_EN : 0);
}

static void test_reset_state(void **state)
{
    (void)state;
    assert_false(pit_channel_out(&pit, 0));
    assert_int_equal(pit_next_deadline(&pit), DEV_TIME_NEVER);
    pit_advance(&pit, T(100000));
    assert_int_equal(line.calls, 0);
}

static void test_mode0_terminal_count(void **state)
{
    (void)state;
    program(10, 0, 0, 100);
    /* Loaded on the next clock, so OUT rises N + 1 clocks after the write. */
    assert_int_equal(pit_next_deadline(&pit), T(111));
    assert_false(out_at(0, 110));
    assert_int_equal(read_count(110, 0), 1);
    assert_true(out_at(0, 111));
    assert_int_equal(line.rises, 1);
    assert_true(line.level);
    assert_int_equal(pit_next_deadline(&pit), DEV_TIME_NEVER);
    /* The counter wraps and keeps counting; OUT stays high. */
    assert_int_equal(read_count(112, 0), 0xFFFF);
    assert_true(out_at(0, 200000));
    assert_int_equal(line.rises, 1);
}

static void test_mode0_new_count_and_first_byte(void **state)
{
    (void)state;
    program(0, 0, 0, 50);
    assert_true(out_at(0, 60));
    /* The first byte stops counting and drops OUT at once. */
    out8(60, PIT_PORT_COUNTER0, 20);
    assert_false(pit_channel_out(&pit, 0));
    assert_false(line.level);
    uint16_t held = read_count(61, 0);
    assert_int_equal(read_count(500, 0), held);
    assert_false(out_at(0, 500));
    /* The second byte loads on the next clock. */
    out8(500, PIT_PORT_COUNTER0, 0);
    assert_int_equal(pit_next_deadline(&pit), T(521));
    assert_true(out_at(0, 521));
    assert_int_equal(line.rises, 2);
}

static void test_mode0_count_zero_is_65536(void **state)
{
    (void)state;
    program(0, 0, 0, 0);
    assert_int_equal(read_count(1, 0), 0);
    assert_int_equal(read_count(2, 0), 0xFFFF);
    assert_false(out_at(0, 65536));
    assert_true(out_at(0, 65537));
}

static void test_mode2_rate_generator(void **state)
{
    (void)state;
    program(0, 0, 2, 10);
    assert_true(pit_channel_out(&pit, 0));
    assert_int_equal(line.rises, 1);            /* mode 0 (low) to mode 2 (high) is an edge */
    assert_int_equal(read_count(1, 0), 10);
    assert_int_equal(read_count(5, 0), 6);
    assert_true(out_at(0, 9));
    assert_false(out_at(0, 10));                /* low for the clock in which the count is 1 */
    assert_true(out_at(0, 11));
    assert_int_equal(read_count(11, 0), 10);
    assert_int_equal(line.rises, 2);
    assert_int_equal(pit_next_deadline(&pit), T(21));
    pit_advance(&pit, T(21));
    assert_int_equal(line.rises, 3);
    assert_int_equal(pit_next_deadline(&pit), T(31));
}

static void test_mode2_smallest_count_is_bounded(void **state)
{
    (void)state;
    program(0, 0, 2, 2);
    unsigned before = line.calls;
    pit_advance(&pit, T(PIT_CLOCK_HZ + 1));     /* one second: 596591 periods */
    assert_true(line.calls - before <= 3);
    assert_true(line.level);
    assert_int_equal(pit.irq0_coalesced, PIT_CLOCK_HZ / 2 - 1);
    assert_int_equal(pit_next_deadline(&pit), T(PIT_CLOCK_HZ + 3));
    before = line.calls;
    pit_advance(&pit, T(PIT_CLOCK_HZ + 2));     /* inside the low clock */
    assert_false(line.level);
    pit_advance(&pit, T(PIT_CLOCK_HZ + 3));
    assert_true(line.level);
    assert_int_equal(line.calls - before, 2);
}

static void test_mode2_new_count_at_period_end(void **state)
{
    (void)state;
    program(0, 0, 2, 100);
    out8(30, PIT_PORT_COUNTER0, 10);
    out8(30, PIT_PORT_COUNTER0, 0);
    assert_int_equal(read_count(50, 0), 51);    /* the current period is not affected */
    assert_int_equal(pit_next_deadline(&pit), T(101));
    assert_int_equal(read_count(102, 0), 9);
    assert_int_equal(pit_next_deadline(&pit), T(111));
}

static void test_mode2_count_one_is_silent(void **state)
{
    (void)state;
    program(0, 0, 2, 1);                        /* outside the datasheet's range: never pulses */
    unsigned rises = line.rises;
    pit_advance(&pit, T(100000));
    assert_int_equal(line.rises, rises);
    assert_int_equal(pit_next_deadline(&pit), DEV_TIME_NEVER);
}

static void test_mode3_even_square_wave(void **state)
{
    (void)state;
    program(0, 0, 3, 8);
    assert_int_equal(read_count(1, 0), 8);
    assert_int_equal(read_count(2, 0), 6);      /* decrements by two */
    assert_true(out_at(0, 4));
    assert_false(out_at(0, 5));
    assert_false(out_at(0, 8));
    assert_true(out_at(0, 9));
    assert_int_equal(pit_next_deadline(&pit), T(17));
}

static void test_mode3_odd_square_wave(void **state)
{
    (void)state;
    program(0, 0, 3, 5);
    /* High for (N+1)/2 = 3 clocks, low for (N-1)/2 = 2. */
    assert_true(out_at(0, 1));
    assert_int_equal(read_count(2, 0), 4);
    assert_true(out_at(0, 3));
    assert_false(out_at(0, 4));
    assert_int_equal(read_count(5, 0), 2);
    assert_true(out_at(0, 6));
}

static void test_mode3_new_count_at_half_cycle(void **state)
{
    (void)state;
    program(0, 0, 3, 100);
    out8(10, PIT_PORT_COUNTER0, 20);
    out8(10, PIT_PORT_COUNTER0, 0);
    assert_true(out_at(0, 50));                 /* the high half of 100 runs to its end */
    assert_false(out_at(0, 51));                /* then the low half of the new count: 10 */
    assert_false(out_at(0, 60));
    assert_true(out_at(0, 61));
    assert_false(out_at(0, 71));
}

static void test_mode4_strobe(void **state)
{
    (void)state;
    program(0, 0, 4, 10);
    assert_true(pit_channel_out(&pit, 0));
    unsigned rises = line.rises;
    assert_true(out_at(0, 10));
    assert_false(out_at(0, 11));                /* N + 1 clocks after the write */
    assert_true(out_at(0, 12));
    assert_int_equal(line.rises, rises + 1);
    assert_true(out_at(0, 100000));
    assert_int_equal(line.rises, rises + 1);
}

static void test_mode4_strobe_coalesced_into_one_edge(void **state)
{
    (void)state;
    program(0, 0, 4, 10);
    unsigned rises = line.rises;
    assert_int_equal(pit_next_deadline(&pit), T(12));
    pit_advance(&pit, T(50));                   /* the whole pulse fell inside one advance */
    assert_int_equal(line.rises, rises + 1);
    assert_true(line.level);
}

static void test_mode1_gate_triggered_one_shot(void **state)
{
    (void)state;
    program(0, 2, 1, 10);
    assert_true(out_at(2, 5));
    assert_true(out_at(2, 500));                /* no trigger yet */
    gate2(500, true);
    assert_false(out_at(2, 501));
    assert_false(out_at(2, 510));
    assert_true(out_at(2, 511));
    /* Retriggering restarts the one-shot with the latest count. */
    gate2(520, false);
    out8(520, PIT_PORT_COUNTER2, 30);
    out8(520, PIT_PORT_COUNTER2, 0);
    assert_true(out_at(2, 530));
    gate2(530, true);
    assert_false(out_at(2, 560));
    assert_true(out_at(2, 561));
    assert_true(in8(561, PORT_NMI_STATUS_CTRL) & NMI_SC_TMR2_OUT_STS);
}

static void test_mode5_gate_triggered_strobe(void **state)
{
    (void)state;
    program(0, 2, 5, 4);
    gate2(10, true);
    assert_true(out_at(2, 14));
    assert_false(out_at(2, 15));
    assert_true(out_at(2, 16));
}

static void test_gate_low_holds_mode0(void **state)
{
    (void)state;
    program(0, 2, 0, 100);                      /* channel 2 gate starts low */
    assert_int_equal(read_count(50, 2), 100);
    gate2(50, true);
    assert_int_equal(read_count(60, 2), 90);
    gate2(60, false);
    assert_int_equal(read_count(1000, 2), 90);
    gate2(1000, true);
    assert_false(out_at(2, 1089));
    assert_true(out_at(2, 1090));
}

static void test_gate_low_forces_mode2_out_high_and_rising_reloads(void **state)
{
    (void)state;
    program(0, 2, 2, 10);
    gate2(0, true);
    assert_int_equal(read_count(4, 2), 7);
    assert_false(out_at(2, 10));
    gate2(10, false);                           /* OUT high immediately */
    assert_true(pit_channel_out(&pit, 2));
    assert_int_equal(read_count(100, 2), read_count(11, 2));
    gate2(100, true);                           /* reload on the next clock */
    assert_int_equal(read_count(101, 2), 10);
    assert_false(out_at(2, 110));
}

static void test_bcd_counting(void **state)
{
    (void)state;
    out8(0, PIT_PORT_CONTROL, 0x31);            /* channel 0, word, mode 0, BCD */
    out8(0, PIT_PORT_COUNTER0, 0x00);
    out8(0, PIT_PORT_COUNTER0, 0x00);           /* 0 means 10000 */
    assert_int_equal(read_count(2, 0), 0x9999);
    assert_int_equal(read_count(1001, 0), 0x9000);
    assert_false(out_at(0, 10000));
    assert_true(out_at(0, 10001));
    out8(10001, PIT_PORT_CONTROL, 0x31);
    out8(10001, PIT_PORT_COUNTER0, 0x34);
    out8(10001, PIT_PORT_COUNTER0, 0x12);       /* 1234 decimal */
    assert_int_equal(read_count(10002 + 34, 0), 0x1200);
    assert_false(out_at(0, 10002 + 1233));
    assert_true(out_at(0, 10002 + 1234));
}

static void test_access_modes(void **state)
{
    (void)state;
    out8(0, PIT_PORT_CONTROL, 0x14);            /* LSB only, mode 2 */
    out8(0, PIT_PORT_COUNTER0, 50);
    assert_int_equal(in8(1, PIT_PORT_COUNTER0), 50);
    assert_int_equal(in8(1, PIT_PORT_COUNTER0), 50);   /* every read is the LSB */
    out8(1, PIT_PORT_CONTROL, 0x24);            /* MSB only, mode 2: count 0x0200 */
    out8(1, PIT_PORT_COUNTER0, 2);
    assert_int_equal(in8(2, PIT_PORT_COUNTER0), 2);
    assert_int_equal(in8(258, PIT_PORT_COUNTER0), 1);  /* 0x100 left */
    assert_int_equal(pit_next_deadline(&pit), T(2 + 512));
}

static void test_latch_holds_until_read(void **state)
{
    (void)state;
    program(0, 0, 2, 1000);
    out8(101, PIT_PORT_CONTROL, 0x00);          /* latch: 900 */
    out8(200, PIT_PORT_CONTROL, 0x00);          /* ignored: the first latch is unread */
    assert_int_equal(in8(300, PIT_PORT_COUNTER0), 900 & 0xFF);
    assert_int_equal(in8(400, PIT_PORT_COUNTER0), 900 >> 8);
    assert_int_equal(read_count(501, 0), 500);  /* released: live again */
}

static void test_read_back_status_and_count(void **state)
{
    (void)state;
    out8(0, PIT_PORT_CONTROL, 0x34);            /* channel 0, word, mode 2 */
    assert_int_equal(read_status(0, 0), 0x80 | 0x40 | 0x34);  /* OUT high, null count */
    out8(0, PIT_PORT_COUNTER0, 100);
    out8(0, PIT_PORT_COUNTER0, 0);
    assert_int_equal(read_status(0, 0) & 0x40, 0x40);         /* not yet loaded */
    assert_int_equal(read_status(1, 0), 0x80 | 0x34);         /* loaded on the next clock */
    /* Both latched: status first, then the count; a repeated read-back does not overwrite. */
    out8(11, PIT_PORT_CONTROL, 0xC2);
    out8(50, PIT_PORT_CONTROL, 0xC2);
    assert_int_equal(in8(60, PIT_PORT_COUNTER0), 0x80 | 0x34);
    assert_int_equal(in8(60, PIT_PORT_COUNTER0), 90);
    assert_int_equal(in8(60, PIT_PORT_COUNTER0), 0);
    /* Mode 0's status shows OUT low until terminal count. */
    program(60, 1, 0, 5);
    assert_int_equal(read_status(61, 1), 0x30);
    assert_int_equal(read_status(66, 1), 0x80 | 0x30);
}

static void test_read_back_multiple_channels(void **state)
{
    (void)state;
    program(0, 0, 2, 100);
    program(0, 1, 2, 200);
    out8(11, PIT_PORT_CONTROL, 0xD6);           /* latch counts of channels 0 and 1 */
    assert_int_equal(in8(50, PIT_PORT_COUNTER0), 90);
    assert_int_equal(in8(50, PIT_PORT_COUNTER0), 0);
    assert_int_equal(in8(50, 0x41), 190);
    assert_int_equal(in8(50, 0x41), 0);
}

static void test_port61(void **state)
{
    (void)state;
    out8(0, PORT_NMI_STATUS_CTRL, 0xFF);
    uint8_t v = in8(0, PORT_NMI_STATUS_CTRL);
    assert_int_equal(v & 0xCF, 0x0F);           /* only bits 0-3 are writable; 6, 7 read 0 */
    /* Refresh toggle: flips every 15 us (17.9 PIT clocks at this TSC rate). */
    uint64_t us = KHZ_EXACT / 1000;             /* TSC ticks per microsecond, nearly */
    uint8_t a = in8(0, PORT_NMI_STATUS_CTRL) & NMI_SC_REF_TOGGLE;
    uint32_t b;
    pit_port_read(&pit, 16 * us, PORT_NMI_STATUS_CTRL, 1, &b);
    assert_int_not_equal(a, b & NMI_SC_REF_TOGGLE);
    pit_port_read(&pit, 31 * us, PORT_NMI_STATUS_CTRL, 1, &b);
    assert_int_equal(a, b & NMI_SC_REF_TOGGLE);
    /* Bit 5 follows channel 2 OUT: mode 0 low until terminal count. */
    pit_port_write(&pit, 31 * us, PIT_PORT_CONTROL, 1, 0xB0);
    pit_port_write(&pit, 31 * us, PIT_PORT_COUNTER2, 1, 3);
    pit_port_write(&pit, 31 * us, PIT_PORT_COUNTER2, 1, 0);
    pit_port_read(&pit, 31 * us, PORT_NMI_STATUS_CTRL, 1, &b);
    assert_int_equal(b & NMI_SC_TMR2_OUT_STS, 0);
    pit_port_read(&pit, 31 * us + T(5), PORT_NMI_STATUS_CTRL, 1, &b);
    assert_int_equal(b & NMI_SC_TMR2_OUT_STS, NMI_SC_TMR2_OUT_STS);
}

static void test_wide_access_and_unknown_ports(void **state)
{
    (void)state;
    uint32_t v;
    pit_port_read(&pit, 0, PIT_PORT_CONTROL, 1, &v);
    assert_int_equal(v, 0xFF);                  /* the control port is write-only */
    program(0, 0, 2, 0x1234);
    pit_port_read(&pit, T(1), PIT_PORT_COUNTER0, 2, &v);   /* 0x40 then 0x41 */
    assert_int_equal(v & 0xFF, 0x34);
}

static void test_realistic_tsc_rate(void **state)
{
    (void)state;
    struct irq_line irq = { .set = line_set, .ctx = NULL, .pin = 0 };
    pit_init(&pit, 2500000, &irq, 0);           /* 2.5 GHz */
    pit_port_write(&pit, 0, PIT_PORT_CONTROL, 1, 0x34);
    pit_port_write(&pit, 0, PIT_PORT_COUNTER0, 1, 1193 & 0xFF);
    pit_port_write(&pit, 0, PIT_PORT_COUNTER0, 1, 1193 >> 8);
    uint64_t d = pit_next_deadline(&pit);
    /* 1194 clocks of 838 ns: 1.0007 ms */
    assert_true(d > 2500000ull * 1000 / 1000 && d < 2503000);
    pit_advance(&pit, d - 1);
    unsigned rises = line.rises;
    pit_advance(&pit, d);
    assert_int_equal(line.rises, rises + 1);
    assert_true(pit_next_deadline(&pit) > d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_state, setup),
        cmocka_unit_test_setup(test_mode0_terminal_count, setup),
        cmocka_unit_test_setup(test_mode0_new_count_and_first_byte, setup),
        cmocka_unit_test_setup(test_mode0_count_zero_is_65536, setup),
        cmocka_unit_test_setup(test_mode2_rate_generator, setup),
        cmocka_unit_test_setup(test_mode2_smallest_count_is_bounded, setup),
        cmocka_unit_test_setup(test_mode2_new_count_at_period_end, setup),
        cmocka_unit_test_setup(test_mode2_count_one_is_silent, setup),
        cmocka_unit_test_setup(test_mode3_even_square_wave, setup),
        cmocka_unit_test_setup(test_mode3_odd_square_wave, setup),
        cmocka_unit_test_setup(test_mode3_new_count_at_half_cycle, setup),
        cmocka_unit_test_setup(test_mode4_strobe, setup),
        cmocka_unit_test_setup(test_mode4_strobe_coalesced_into_one_edge, setup),
        cmocka_unit_test_setup(test_mode1_gate_triggered_one_shot, setup),
        cmocka_unit_test_setup(test_mode5_gate_triggered_strobe, setup),
        cmocka_unit_test_setup(test_gate_low_holds_mode0, setup),
        cmocka_unit_test_setup(test_gate_low_forces_mode2_out_high_and_rising_reloads, setup),
        cmocka_unit_test_setup(test_bcd_counting, setup),
        cmocka_unit_test_setup(test_access_modes, setup),
        cmocka_unit_test_setup(test_latch_holds_until_read, setup),
        cmocka_unit_test_setup(test_read_back_status_and_count, setup),
        cmocka_unit_test_setup(test_read_back_multiple_channels, setup),
        cmocka_unit_test_setup(test_port61, setup),
        cmocka_unit_test_setup(test_wide_access_and_unknown_ports, setup),
        cmocka_unit_test_setup(test_realistic_tsc_rate, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
