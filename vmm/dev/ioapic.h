/* A guest's IOAPIC: the 82093AA register model with 24 pins and the version-0x20 EOI register
 * (ICH-style IOxAPIC), sending MSI-format messages to the local APICs. Pure. */
#ifndef TESSERA_IOAPIC_H
#define TESSERA_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/irq.h"

#define IOAPIC_PINS          24
#define IOAPIC_DEFAULT_BASE  0xFEC00000ull
#define IOAPIC_MMIO_SIZE     0x1000ull

/* MMIO offsets from the base */
#define IOAPIC_IOREGSEL      0x00
#define IOAPIC_IOWIN         0x10
#define IOAPIC_EOI           0x40   /* version 0x20 and later */

/* Indirect registers selected by IOREGSEL */
#define IOAPIC_REG_ID        0x00
#define IOAPIC_REG_VERSION   0x01
#define IOAPIC_REG_ARB       0x02
#define IOAPIC_REG_REDTBL    0x10   /* entry n: low dword at 0x10 + 2n, high at 0x11 + 2n */

/* 0x20 is the IOxAPIC of Intel's ICH chipsets: the 82093AA's register set plus the EOI register
 * at offset 0x40, which lets a guest clear remote IRR without reprogramming the entry. */
#define IOAPIC_VERSION       0x20

/* Redirection-table entry fields (82093AA datasheet 3.2.4) */
#define IOREDTBL_VECTOR_MASK     0xFFull
#define IOREDTBL_DELIVERY_SHIFT  8
#define IOREDTBL_DELIVERY_MASK   (7ull << 8)
#define IOREDTBL_DEST_LOGICAL    (1ull << 11)
#define IOREDTBL_DELIVERY_STATUS (1ull << 12)   /* read-only */
#define IOREDTBL_ACTIVE_LOW      (1ull << 13)
#define IOREDTBL_REMOTE_IRR      (1ull << 14)   /* read-only */
#define IOREDTBL_LEVEL           (1ull << 15)
#define IOREDTBL_MASKED          (1ull << 16)
#define IOREDTBL_DEST_SHIFT      56
#define IOREDTBL_WRITABLE        (IOREDTBL_VECTOR_MASK | IOREDTBL_DELIVERY_MASK | \
                                  IOREDTBL_DEST_LOGICAL | IOREDTBL_ACTIVE_LOW | IOREDTBL_LEVEL | \
                                  IOREDTBL_MASKED | (0xFFull << IOREDTBL_DEST_SHIFT))

struct ioapic {
    struct msi_target out;
    uint32_t ioregsel;           /* only bits 7:0 exist */
    uint8_t id;                  /* 4 bits, register bits 27:24 */
    uint8_t arb_id;              /* loaded from the ID on every ID write */
    uint64_t redtbl[IOAPIC_PINS];
    uint32_t pin_level;          /* raw input levels, bit per pin, before polarity */
    uint32_t edge_seen;          /* last asserted state an edge pin was evaluated at */
};

/* Power-on state: every entry masked, ID 0, all pins low. out receives every message. */
void ioapic_reset(struct ioapic *io, struct msi_target out);

/* An input pin, compatible with struct irq_line (ctx is the struct ioapic). Pins >= 24 are
 * ignored. level is the electrical level: an active-low entry sees it inverted. */
void ioapic_set_irq(void *ctx, unsigned pin, bool level);

/* The EOI a local APIC broadcasts for a level-triggered vector (and what the EOI register
 * does): every level entry with this vector and remote IRR set is cleared and resampled. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* MMIO accessors in the form of struct mmio_ops (offset from the base, size 1, 2, 4 or 8).
 * Byte lanes behave as on Intel's IOxAPICs: a narrower access reads or writes those bytes of
 * the 32-bit register; bytes at reserved offsets read 0 and ignore writes. */
uint64_t ioapic_mmio_read(void *dev, uint64_t offset, unsigned size);
void ioapic_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value);

/* The message an entry sends, as the MSI address and data (exposed for tests and the fuzzer). */
void ioapic_entry_message(uint64_t entry, uint32_t *address, uint32_t *data);

#endif
