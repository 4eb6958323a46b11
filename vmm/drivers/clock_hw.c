/* TSC-based deadlines and delays for the disk drivers (see clock.h). */
#include "drivers/clock.h"
#include "drivers/hwio.h"

static uint64_t khz = 4000000;

void drv_clock_init(uint64_t tsc_khz)
{
    if (tsc_khz)
        khz = tsc_khz;
}

uint64_t drv_clock_khz(void) { return khz; }
uint64_t drv_now(void) { return rdtsc(); }
uint64_t drv_deadline_ms(uint32_t ms) { return rdtsc() + (uint64_t)ms * khz; }

bool drv_expired(uint64_t deadline)
{
    /* Signed difference: correct even if the TSC wrapped between setting and checking. */
    return (int64_t)(rdtsc() - deadline) >= 0;
}

void drv_delay_us(uint32_t us)
{
    uint64_t end = rdtsc() + (uint64_t)us * khz / 1000 + 1;
    while ((int64_t)(rdtsc() - end) < 0)
        cpu_relax();
}
