/* Time for the disk drivers: TSC deadlines, so that every wait on a device is bounded. */
#ifndef TESSERA_DRIVERS_CLOCK_H
#define TESSERA_DRIVERS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* tsc_khz from tsc_calibrate_khz(); 0 (unknown) assumes a fast 4 GHz TSC, which only makes
 * timeouts shorter than asked on a slower clock, never endless. */
void drv_clock_init(uint64_t tsc_khz);
uint64_t drv_clock_khz(void);
uint64_t drv_now(void);                     /* TSC ticks */
uint64_t drv_deadline_ms(uint32_t ms);      /* drv_now() + ms */
bool drv_expired(uint64_t deadline);
void drv_delay_us(uint32_t us);

#endif
