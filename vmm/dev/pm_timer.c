/* The ACPI PM timer derived from the guest TSC: floor(tsc * 3.579545 MHz / TSC rate), taken
 * modulo 2^24 or 2^32 so it wraps exactly where the hardware counter does. */
#include "dev/pm_timer.h"
#include "dev/dev_clock.h"

#define PM_TIMER_WIDTH_24 0x00FFFFFFu
#define PM_TIMER_WIDTH_32 0xFFFFFFFFu
#define PM_TIMER_BYTES    4

void pm_timer_init(struct pm_timer *pm, uint32_t tsc_khz, uint16_t port, bool ext32)
{
    pm->port = port;
    pm->ext32 = ext32;
    pm->tsc_hz = (uint64_t)tsc_khz * 1000;
    if (pm->tsc_hz <= PM_TIMER_HZ)
        pm->tsc_hz = PM_TIMER_HZ + 1;
    if (pm->tsc_hz > DEV_TSC_HZ_MAX)
        pm->tsc_hz = DEV_TSC_HZ_MAX;
    pm->last_ticks = 0;
}

uint32_t pm_timer_value(struct pm_timer *pm, uint64_t now)
{
    uint64_t ticks = ticks_from_tsc(now, pm->tsc_hz, PM_TIMER_HZ);
    if (ticks > pm->last_ticks)
        pm->last_ticks = ticks;
    return (uint32_t)pm->last_ticks & (pm->ext32 ? PM_TIMER_WIDTH_32 : PM_TIMER_WIDTH_24);
}

void pm_timer_port_read(struct pm_timer *pm, uint64_t now, uint16_t port, unsigned size, uint32_t *value)
{
    uint32_t counter = pm_timer_value(pm, now), v = 0;
    for (unsigned i = 0; i < size && i < PM_TIMER_BYTES; i++) {
        uint32_t p = (uint32_t)port + i, byte = 0xFF;
        if (p >= pm->port && p < (uint32_t)pm->port + PM_TIMER_BYTES)
            byte = (counter >> (8 * (p - pm->port))) & 0xFF;
        v |= byte << (8 * i);
    }
    *value = v;
}

void pm_timer_port_write(struct pm_timer *pm, uint64_t now, uint16_t port, unsigned size, uint32_t value)
{
    (void)pm;
    (void)now;
    (void)port;
    (void)size;
    (void)value;
}
