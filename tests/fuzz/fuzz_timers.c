/* libFuzzer harness over the PIT, RTC and PM timer: random port accesses and time advances,
 * checking that deadlines are never in the past, IRQ lines follow the models' outputs with a
 * bounded number of changes per call, counts stay in range and the PM timer never runs back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "dev/pit8254.h"
#include "dev/pm_timer.h"
#include "dev/rtc146818.h"

#define TSC_KHZ 2000000u
#define PM_PORT 0x608

struct line_probe { bool level; unsigned changes; };

static void probe_set(void *ctx, unsigned pin, bool level)
{
    struct line_probe *p = ctx;
    (void)pin;
    if (level == p->level)
        abort();                 /* set() is only called on a change */
    p->level = level;
    p->changes++;
}

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* The PM timer's count at now, computed independently of the model. */
static uint64_t ticks_now(uint64_t now)
{
    return (uint64_t)((unsigned __int128)now * 3579545u / (TSC_KHZ * 1000ull));
}

static const uint16_t pit_ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61, 0x44 };

static bool bcd_ok(uint16_t v)
{
    for (int s = 0; s < 16; s += 4)
        if (((v >> s) & 0xF) > 9)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pit8254 pit;
    static struct rtc146818 rtc;
    static struct pm_timer pm;
    struct line_probe irq0 = { 0 }, irq8 = { 0 };
    struct irq_line l0 = { probe_set, &irq0, 0 }, l8 = { probe_set, &irq8, 8 };
    struct rtc_datetime dt = { 2024, 2, 28, 23, 59, 50 };
    uint64_t now = 1000;
    pit_init(&pit, TSC_KHZ, &l0, now);
    rtc_init(&rtc, TSC_KHZ, &dt, &l8, now);
    pm_timer_init(&pm, TSC_KHZ, PM_PORT, size & 1);
    uint32_t pm_last = pm_timer_value(&pm, now);
    uint64_t pm_ticks_last = ticks_now(now);

    for (size_t i = 0; i + 2 < size; i += 3) {
        uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
        uint32_t v;
        unsigned before0 = irq0.changes, before8 = irq8.changes;
        switch (op % 6) {
        case 0: {                /* advance: from a few TSC ticks to minutes */
            uint64_t step = (uint64_t)(a | b << 8) << ((op >> 3) % 24);
            now += step;
            pit_advance(&pit, now);
            rtc_advance(&rtc, now);
            check(irq0.changes - before0 <= 3);
            uint64_t d = pit_next_deadline(&pit);
            check(d == DEV_TIME_NEVER || d > now);
            d = rtc_next_deadline(&rtc);
            check(d == DEV_TIME_NEVER || d > now);
            break;
        }
        case 1:
            pit_port_write(&pit, now, pit_ports[a % 6], 1 + (op >> 6) % 2, b);
            check(irq0.changes - before0 <= 4);
            break;
        case 2: {
            unsigned sz = 1 + (op >> 6) % 4;
            pit_port_read(&pit, now, pit_ports[a % 6], sz, &v);
            if (sz < 4)
                check(v < (1u << (8 * sz)));
            break;
        }
        case 3:
            rtc_port_write(&rtc, now, (a & 1) ? RTC_PORT_DATA : RTC_PORT_INDEX, 1, b);
            check(irq8.changes - before8 <= 2);
            break;
        case 4:
            rtc_port_read(&rtc, now, (a & 1) ? RTC_PORT_DATA : RTC_PORT_INDEX, 1, &v);
            check(v <= 0xFF);
            break;
        default: {
            pm_timer_port_read(&pm, now, PM_PORT, 4, &v);
            uint64_t ticks = ticks_now(now);
            uint32_t mask = pm.ext32 ? 0xFFFFFFFFu : 0xFFFFFFu;
            check((v & ~mask) == 0);
            check(((v - pm_last) & mask) == ((ticks - pm_ticks_last) & mask));
            pm_last = v;
            pm_ticks_last = ticks;
            break;
        }
        }
        check(irq0.level == pit.irq0_level);
        check(irq0.level == pit_channel_out(&pit, 0));
        check(irq8.level == rtc.irq8_level);
        for (unsigned c = 0; c < PIT_CHANNELS; c++) {
            const struct pit_channel *ch = &pit.ch[c];
            check(ch->mode <= 5);
            if (ch->state == PIT_CE_RUNNING)
                check(ch->n >= 1 && ch->n <= 65536 && ch->phase <= ch->n);
            if (ch->count_latched && (ch->control & 1))
                check(bcd_ok(ch->latched_count));
        }
    }
    return 0;
}
