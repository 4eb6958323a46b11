/* Interrupt lines and device time, the two conventions every interrupt-capable device model
 * shares: a device raises or lowers a line object; the controller that owns the line listens.
 * Time is guest time in TSC ticks; a device with timers says when it next needs attention.
 * Pure: no device model touches hardware or knows which controller its line goes to. */
#ifndef TESSERA_DEV_IRQ_H
#define TESSERA_DEV_IRQ_H

#include <stdbool.h>
#include <stdint.h>

/* One wire from a device to an interrupt controller input (a PIC or IOAPIC pin). set() is
 * called with the new level on every change; edge-triggered consumers see a rising edge as
 * set(true) after set(false). A line with no listener (set == NULL) goes nowhere. */
struct irq_line {
    void (*set)(void *ctx, unsigned pin, bool level);
    void *ctx;
    unsigned pin;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
    if (l && l->set)
        l->set(l->ctx, l->pin, level);
}

/* A pulse: what an edge-triggered source with no level to hold (the PIT's OUT in mode 2, an
 * RTC periodic tick into an edge input) delivers. */
static inline void irq_line_pulse(const struct irq_line *l)
{
    irq_line_set(l, true);
    irq_line_set(l, false);
}

/* An MSI-style message to the local APICs: the 32-bit address (0xFEExxxxx) and data written
 * by a device or an IOAPIC redirection entry. deliver() routes it to the destination vCPUs. */
struct msi_target {
    void (*deliver)(void *ctx, uint32_t address, uint32_t data);
    void *ctx;
};

/* Time of a device that has none pending. */
#define DEV_TIME_NEVER UINT64_MAX

#endif
