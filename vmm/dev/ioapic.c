/* A guest's IOAPIC (82093AA register model, version 0x20 with the EOI register): turns pin
 * changes into MSI-format messages, with remote IRR holding back level-triggered pins until the
 * local APIC's EOI. Delivery is synchronous, so delivery status always reads idle. */
#include "dev/ioapic.h"
#include "lib/mem.h"
#include "x86.h"

#define IOAPIC_ID_SHIFT       24
#define IOAPIC_ID_MASK        0x0Fu
#define IOAPIC_MAX_ENTRY_SHIFT 16
#define IOREGSEL_INDEX_MASK   0xFFu
#define IOAPIC_EOI_VECTOR_MASK 0xFFu

static bool pin_asserted(const struct ioapic *io, unsigned pin)
{
    bool level = (io->pin_level >> pin) & 1;
    return (io->redtbl[pin] & IOREDTBL_ACTIVE_LOW) ? !level : level;
}

static unsigned entry_delivery_mode(uint64_t entry)
{
    return (unsigned)((entry & IOREDTBL_DELIVERY_MASK) >> IOREDTBL_DELIVERY_SHIFT);
}

/* SMI, NMI, INIT and ExtINT operate only edge-triggered whatever the trigger bit says (ICH
 * IOxAPIC datasheet, redirection table delivery modes); only fixed and lowest-priority
 * interrupts can be level-triggered and hold remote IRR. */
static bool entry_is_level(uint64_t entry)
{
    unsigned mode = entry_delivery_mode(entry);
    return (entry & IOREDTBL_LEVEL) && (mode == MSI_DELIVERY_FIXED || mode == MSI_DELIVERY_LOWEST);
}

/* The redirection hint is set for lowest priority, so the destination mode bit is meaningful to
 * the receiver by the SDM's rule even where it reads "DM is ignored when RH is 0". */
void ioapic_entry_message(uint64_t entry, uint32_t *address, uint32_t *data)
{
    unsigned mode = entry_delivery_mode(entry);
    uint32_t a = MSI_ADDR_BASE | (uint32_t)(entry >> IOREDTBL_DEST_SHIFT) << MSI_ADDR_DEST_SHIFT;
    if (entry & IOREDTBL_DEST_LOGICAL)
        a |= MSI_ADDR_DEST_LOGICAL;
    if (mode == MSI_DELIVERY_LOWEST)
        a |= MSI_ADDR_REDIRECTION_HINT;
    /* An IOAPIC only ever sends assert messages; for edge messages the level bit is unused. */
    uint32_t d = (uint32_t)(entry & IOREDTBL_VECTOR_MASK) | mode << MSI_DATA_DELIVERY_SHIFT |
                 MSI_DATA_LEVEL_ASSERT;
    if (entry_is_level(entry))
        d |= MSI_DATA_TRIGGER_LEVEL;
    *address = a;
    *data = d;
}

static void send(struct ioapic *io, unsigned pin)
{
    uint32_t address, data;
    ioapic_entry_message(io->redtbl[pin], &address, &data);
    if (entry_is_level(io->redtbl[pin]))
        io->redtbl[pin] |= IOREDTBL_REMOTE_IRR;   /* the local APIC accepted it */
    if (io->out.deliver)
        io->out.deliver(io->out.ctx, address, data);
}

/* A level pin is sent while it is asserted, unmasked and not already in service. */
static void level_resample(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->redtbl[pin];
    if (entry_is_level(e) && !(e & (IOREDTBL_MASKED | IOREDTBL_REMOTE_IRR)) && pin_asserted(io, pin))
        send(io, pin);
}

void ioapic_reset(struct ioapic *io, struct msi_target out)
{
    memset(io, 0, sizeof(*io));
    io->out = out;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        io->redtbl[pin] = IOREDTBL_MASKED;
}

void ioapic_set_irq(void *ctx, unsigned pin, bool level)
{
    struct ioapic *io = ctx;
    if (pin >= IOAPIC_PINS)
        return;
    uint32_t bit = 1u << pin;
    io->pin_level = level ? io->pin_level | bit : io->pin_level & ~bit;
    bool asserted = pin_asserted(io, pin);
    uint64_t e = io->redtbl[pin];
    if (entry_is_level(e)) {
        level_resample(io, pin);
    } else if (asserted && !(io->edge_seen & bit) && !(e & IOREDTBL_MASKED)) {
        send(io, pin);     /* a masked edge is lost: nothing remembers it */
    }
    io->edge_seen = asserted ? io->edge_seen | bit : io->edge_seen & ~bit;
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redtbl[pin];
        if (entry_is_level(e) && (e & IOREDTBL_REMOTE_IRR) && (e & IOREDTBL_VECTOR_MASK) == vector) {
            io->redtbl[pin] = e & ~IOREDTBL_REMOTE_IRR;
            level_resample(io, pin);
        }
    }
}

static void entry_write(struct ioapic *io, unsigned pin, bool high, uint32_t value)
{
    unsigned shift = high ? 32 : 0;
    uint64_t old = io->redtbl[pin];
    uint64_t e = (old & ~(0xFFFFFFFFull << shift)) | (uint64_t)value << shift;
    e = (e & IOREDTBL_WRITABLE) | (old & IOREDTBL_REMOTE_IRR);
    /* Remote IRR is undefined for edge entries; Intel's IOAPICs clear it when an entry becomes
     * edge-triggered, which older Linux relies on to acknowledge without an EOI register. */
    if (!entry_is_level(e))
        e &= ~IOREDTBL_REMOTE_IRR;
    io->redtbl[pin] = e;
    /* Reprogramming is never an edge: the next one must come from the pin. */
    uint32_t bit = 1u << pin;
    io->edge_seen = pin_asserted(io, pin) ? io->edge_seen | bit : io->edge_seen & ~bit;
    level_resample(io, pin);   /* a masked level still asserted is sent when unmasked */
}

static uint32_t register_read(const struct ioapic *io, unsigned reg)
{
    switch (reg) {
    case IOAPIC_REG_ID:
        return (uint32_t)io->id << IOAPIC_ID_SHIFT;
    case IOAPIC_REG_VERSION:
        return (IOAPIC_PINS - 1u) << IOAPIC_MAX_ENTRY_SHIFT | IOAPIC_VERSION;
    case IOAPIC_REG_ARB:
        return (uint32_t)io->arb_id << IOAPIC_ID_SHIFT;
    }
    if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
        uint64_t e = io->redtbl[(reg - IOAPIC_REG_REDTBL) / 2];
        return (uint32_t)(reg & 1 ? e >> 32 : e);
    }
    return 0;
}

static void register_write(struct ioapic *io, unsigned reg, uint32_t value)
{
    if (reg == IOAPIC_REG_ID) {
        io->id = (value >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
        io->arb_id = io->id;   /* the datasheet loads both from one write */
    } else if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
        entry_write(io, (reg - IOAPIC_REG_REDTBL) / 2, reg & 1, value);
    }
    /* version, arbitration and unimplemented registers are read-only */
}

/* The 32-bit register at a dword-aligned offset, as a read sees it. */
static uint32_t dword_read(const struct ioapic *io, uint64_t dword)
{
    switch (dword) {
    case IOAPIC_IOREGSEL:
        return io->ioregsel;
    case IOAPIC_IOWIN:
        return register_read(io, io->ioregsel);
    }
    return 0;   /* the EOI register is write-only; everything else is reserved */
}

/* bytes: which byte lanes of the dword the access wrote (bit per byte). */
static void dword_write(struct ioapic *io, uint64_t dword, uint32_t value, unsigned bytes)
{
    uint32_t lanes = 0;
    for (unsigned i = 0; i < 4; i++)
        if (bytes & (1u << i))
            lanes |= 0xFFu << (8 * i);
    uint32_t merged = (dword_read(io, dword) & ~lanes) | (value & lanes);
    switch (dword) {
    case IOAPIC_IOREGSEL:
        io->ioregsel = merged & IOREGSEL_INDEX_MASK;
        break;
    case IOAPIC_IOWIN:
        register_write(io, io->ioregsel, merged);
        break;
    case IOAPIC_EOI:
        if (bytes & 1)   /* the vector is byte 0 */
            ioapic_eoi(io, (uint8_t)(value & IOAPIC_EOI_VECTOR_MASK));
        break;
    }
}

static bool access_valid(uint64_t offset, unsigned size)
{
    return size >= 1 && size <= 8 && offset < IOAPIC_MMIO_SIZE && size <= IOAPIC_MMIO_SIZE - offset;
}

uint64_t ioapic_mmio_read(void *dev, uint64_t offset, unsigned size)
{
    const struct ioapic *io = dev;
    if (!access_valid(offset, size))
        return 0;
    uint64_t result = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t a = offset + i;
        uint32_t byte = (dword_read(io, a & ~3ull) >> (8 * (a & 3))) & 0xFF;
        result |= (uint64_t)byte << (8 * i);
    }
    return result;
}

/* The bytes of one access that fall in the same dword are written together, so a 32-bit write
 * changes a redirection entry in one step and never passes through a half-written state. */
void ioapic_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    struct ioapic *io = dev;
    if (!access_valid(offset, size))
        return;
    unsigned i = 0;
    while (i < size) {
        uint64_t dword = (offset + i) & ~3ull;
        uint32_t data = 0;
        unsigned bytes = 0;
        for (; i < size && ((offset + i) & ~3ull) == dword; i++) {
            unsigned lane = (unsigned)((offset + i) & 3);
            data |= (uint32_t)((value >> (8 * i)) & 0xFF) << (8 * lane);
            bytes |= 1u << lane;
        }
        dword_write(io, dword, data, bytes);
    }
}
