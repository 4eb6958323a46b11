/* The ACPI power-management timer (ACPI spec 4.8.3.3): a free-running 3.579545 MHz counter read
 * as one 32-bit port, 24 bits wide or 32 when the FADT sets TMR_VAL_EXT. Pure: time is guest TSC. */
#ifndef TESSERA_PM_TIMER_H
#define TESSERA_PM_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define PM_TIMER_HZ 3579545u

struct pm_timer {
    uint16_t port;          /* PM_TMR_BLK, as the FADT will name it */
    bool ext32;             /* TMR_VAL_EXT: 32-bit counter */
    uint64_t tsc_hz;
    uint64_t last_ticks;    /* the counter never runs backwards, even if time passed in does */
};

void pm_timer_init(struct pm_timer *pm, uint32_t tsc_khz, uint16_t port, bool ext32);
/* A 4-byte read at the port returns the counter; narrower or offset reads (port..port+3)
 * return the matching bytes, bytes outside the block read 0xFF. */
void pm_timer_port_read(struct pm_timer *pm, uint64_t now, uint16_t port, unsigned size, uint32_t *value);
/* The register is read-only: writes are ignored. */
void pm_timer_port_write(struct pm_timer *pm, uint64_t now, uint16_t port, unsigned size, uint32_t value);
/* The counter value at now (masked to 24 or 32 bits). */
uint32_t pm_timer_value(struct pm_timer *pm, uint64_t now);

#endif
