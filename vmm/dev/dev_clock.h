/* Conversions between guest TSC time and a device's own clock (the PIT's 1.193182 MHz, the
 * RTC's 32.768 kHz divider, the PM timer's 3.579545 MHz), shared by the timer models. Exact
 * integer arithmetic without 128-bit division: tsc_hz is capped at DEV_TSC_HZ_MAX so that
 * (t % hz) * f stays within 64 bits for every device clock f below it. */
#ifndef TESSERA_DEV_CLOCK_H
#define TESSERA_DEV_CLOCK_H

#include <stdint.h>
#include "dev/irq.h"

#define DEV_TSC_HZ_MAX 100000000000ull /* 100 GHz */

/* floor(t * f / hz): device ticks elapsed by TSC time t. */
static inline uint64_t ticks_from_tsc(uint64_t t, uint64_t hz, uint64_t f)
{
    return (t / hz) * f + ((t % hz) * f) / hz;
}

/* The first TSC time at which ticks_from_tsc() reaches n (saturating below DEV_TIME_NEVER). */
static inline uint64_t tsc_from_ticks(uint64_t n, uint64_t f, uint64_t hz)
{
    uint64_t whole = n / f;
    if (whole > (UINT64_MAX - hz) / hz)
        return DEV_TIME_NEVER - 1;
    return whole * hz + ((n % f) * hz + f - 1) / f;
}

#endif
