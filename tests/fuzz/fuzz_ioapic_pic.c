/* Fuzzes the IOAPIC and the 8259A pair together: the input is a sequence of IOAPIC MMIO reads
 * and writes, PIC/ELCR port reads and writes, pin changes on both, local-APIC EOIs and INTA
 * cycles. Whatever the guest does: every IOAPIC message is the one an unmasked entry programs,
 * remote IRR is cleared only by an EOI for the entry's vector (or by the entry becoming
 * edge-triggered), every INTA vector is the spurious IR7 of a chip, open bus, or an unmasked
 * request of a programmed base, slave vectors come only through the master's IR2, the INT line
 * the LAPIC sees matches the model, and ASan/UBSan see nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/ioapic.h"
#include "dev/pic8259.h"
#include "x86.h"
#include "fuzz_input.h"

#define MAX_OPS 1024

static struct ioapic io;
static struct pic8259 pic;
static bool intr_seen;


static bool entry_level(uint64_t e)
{
    unsigned mode = (unsigned)((e & IOREDTBL_DELIVERY_MASK) >> IOREDTBL_DELIVERY_SHIFT);
    return (e & IOREDTBL_LEVEL) && (mode == MSI_DELIVERY_FIXED || mode == MSI_DELIVERY_LOWEST);
}

/* Called from inside the model: the entry sending it is already in its final state. */
static void check_message(void *ctx, uint32_t address, uint32_t data)
{
    (void)ctx;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io.redtbl[pin];
        uint32_t a, d;
        ioapic_entry_message(e, &a, &d);
        if (!(e & IOREDTBL_MASKED) && a == address && d == data)
            return;
    }
    abort();   /* a vector no unmasked entry programs */
}

static void record_intr(void *ctx, unsigned pin, bool level)
{
    (void)ctx;
    (void)pin;
    if (level == intr_seen)
        abort();   /* set() only on a change */
    intr_seen = level;
}

static const uint64_t ioapic_offsets[] = { IOAPIC_IOREGSEL, IOAPIC_IOWIN, IOAPIC_EOI,
                                           IOAPIC_IOWIN + 1, IOAPIC_IOWIN + 3, 0x0E };
static const uint16_t pic_ports[] = { PIC_MASTER_CMD, PIC_MASTER_DATA, PIC_SLAVE_CMD,
                                      PIC_SLAVE_DATA, PIC_ELCR_MASTER, PIC_ELCR_SLAVE, 0x1F, 0xFFFF };
static const unsigned sizes[] = { 1, 2, 4, 8 };

/* The vector an EOI-register write in this access carries, or -1. */
static int eoi_register_vector(uint64_t offset, unsigned size, uint64_t value)
{
    if (offset <= IOAPIC_EOI && IOAPIC_EOI - offset < size)
        return (int)((value >> (8 * (IOAPIC_EOI - offset))) & 0xFF);
    return -1;
}

static bool is_spurious_or_open_bus(uint8_t v)
{
    return v == PIC_OPEN_BUS_VECTOR || v == (pic.master.vector_base | 7) ||
           v == (pic.slave.vector_base | 7);
}

static void check_acknowledge(void)
{
    struct pic8259 before = pic;
    uint8_t v = pic8259_acknowledge(&pic);
    if (is_spurious_or_open_bus(v))
        return;
    unsigned ir = v & 7;
    bool from_master = (v & 0xF8) == before.master.vector_base &&
                       (before.master.irr & ~before.master.imr & (1u << ir));
    bool from_slave = (v & 0xF8) == before.slave.vector_base &&
                      (before.slave.irr & ~before.slave.imr & (1u << ir));
    if (!from_master && !from_slave)
        abort();   /* neither chip had that request unmasked */
    if (from_slave && !from_master) {
        /* only through IR2, with the master treating it as the slave's input */
        if (before.master.single || !(before.master.icw3 & (1u << PIC_CASCADE_IR)) ||
            !(before.master.irr & ~before.master.imr & (1u << PIC_CASCADE_IR)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = { data, size };
    intr_seen = false;
    ioapic_reset(&io, (struct msi_target){ .deliver = check_message });
    memset(&pic, 0, sizeof(pic));
    pic8259_reset(&pic, (struct irq_line){ .set = record_intr });
    if (take(&c, 1) & 1)
        pic8259_firmware_init(&pic);

    for (unsigned n = 0; n < MAX_OPS && c.left; n++) {
        uint64_t irr_before[IOAPIC_PINS];
        for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
            irr_before[pin] = io.redtbl[pin];
        int eoi_vector = -1;
        bool entries_written = false;

        unsigned op = (unsigned)take(&c, 1);
        switch (op % 8) {
        case 0: {
            unsigned pick = (unsigned)take(&c, 1);
            uint64_t offset = pick & 0x80 ? take(&c, 2) & 0xFFF
                                          : ioapic_offsets[pick % (sizeof(ioapic_offsets) / sizeof(ioapic_offsets[0]))];
            unsigned sz = sizes[take(&c, 1) & 3];
            uint64_t value = take(&c, 8);
            eoi_vector = eoi_register_vector(offset, sz, value);
            entries_written = true;
            ioapic_mmio_write(&io, offset, sz, value);
            break;
        }
        case 1:
            (void)ioapic_mmio_read(&io, take(&c, 2) & 0x1FFF, sizes[take(&c, 1) & 3]);
            break;
        case 2: {
            unsigned v = (unsigned)take(&c, 1);
            ioapic_set_irq(&io, v % (IOAPIC_PINS + 2), v & 0x80);
            break;
        }
        case 3:
            eoi_vector = (int)take(&c, 1);
            ioapic_eoi(&io, (uint8_t)eoi_vector);
            break;
        case 4: {
            uint16_t port = pic_ports[take(&c, 1) % (sizeof(pic_ports) / sizeof(pic_ports[0]))];
            unsigned sz = sizes[take(&c, 1) % 3];
            pic8259_port_write(&pic, port, sz, (uint32_t)take(&c, 4));
            break;
        }
        case 5: {
            uint16_t port = pic_ports[take(&c, 1) % (sizeof(pic_ports) / sizeof(pic_ports[0]))];
            (void)pic8259_port_read(&pic, port, sizes[take(&c, 1) % 3]);
            break;
        }
        case 6: {
            unsigned v = (unsigned)take(&c, 1);
            pic8259_set_irq(&pic, v % (PIC_IRQS + 2), v & 0x80);
            break;
        }
        case 7:
            check_acknowledge();
            break;
        }

        for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
            uint64_t e = io.redtbl[pin];
            if (e & IOREDTBL_DELIVERY_STATUS)
                abort();   /* delivery is synchronous */
            if ((e & IOREDTBL_REMOTE_IRR) && !entry_level(e))
                abort();
            bool cleared = (irr_before[pin] & IOREDTBL_REMOTE_IRR) && !(e & IOREDTBL_REMOTE_IRR);
            bool by_eoi = eoi_vector == (int)(irr_before[pin] & IOREDTBL_VECTOR_MASK);
            if (cleared && !by_eoi && !(entries_written && !entry_level(e)))
                abort();   /* remote IRR cleared without a matching EOI */
        }
        if (intr_seen != pic.intr_level)
            abort();
        if (pic.master.lowest_priority > 7 || pic.slave.lowest_priority > 7)
            abort();
    }
    return 0;
}
