/* The machine as the firmware left it: serial console, timers and interrupt sources, other
 * CPUs. Hardware access; the few pure parts are in acpi.c. */
#ifndef TESSERA_PLATFORM_H
#define TESSERA_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/byte_ring.h"

/* COM1, 115200 8N1, polled. serial_write sends everything before it returns, except while
 * queueing is on (while guests run): then it queues (64 KiB) and sends what the UART takes at
 * once, serial_drain sends more without waiting (the run loop calls it after exits while
 * output is queued), and only a full queue makes serial_write wait, for the bytes that do not
 * fit. serial_flush waits until everything is sent (before halting or powering off). */
void serial_init(void);
void serial_write(const char *s, uint64_t len);
void serial_set_queueing(bool on);
void serial_drain(void);
void serial_flush(void);
/* Inline: the run loop asks after every exit. */
extern struct byte_ring serial_queue;
static inline bool serial_pending(void) { return !byte_ring_empty(&serial_queue); }

/* Mask the 8259 PICs, every IOAPIC redirection entry (from the MADT) and the LAPIC LVT
 * entries, so no interrupt the firmware left armed fires while Tessera runs. */
void platform_quiesce_interrupts(uint64_t rsdp);

/* Put every other CPU into wait-for-SIPI with INIT IPIs, before firmware memory is reused. */
void platform_park_other_cpus(uint64_t rsdp);

/* TSC frequency in kHz: CPUID 0x15/0x16 when they give it, else measured against the PIT. */
uint64_t tsc_calibrate_khz(void);

#endif
