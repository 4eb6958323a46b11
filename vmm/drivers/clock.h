/* Time for the disk drivers: TSC deadlines, so that every wait on a device is bounded. */
#ifndef TESSERA_DRIVERS_CLOCK_H
#define TESSERA_DRIVERS_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Called once by vmm_main with tsc_calibrate_khz(), before any driver runs. 0 (unknown) keeps
 * the assumption of a fast 4 GHz TSC: on a slower clock the same tick count lasts longer, so
 * timeouts come out longer than asked, never shorter (no device is declared dead early) and
 * never endless. */
void drv_clock_init(uint64_t tsc_khz);
uint64_t drv_clock_khz(void);
uint64_t drv_now(void);                     /* TSC ticks */
uint64_t drv_deadline_ms(uint32_t ms);      /* drv_now() + ms */
bool drv_expired(uint64_t deadline);
void drv_delay_us(uint32_t us);

#endif
