/* PCI configuration mechanism #1, bus-0 enumeration, BAR sizing and assignment, capabilities. */
#include "console.h"
#include "cpu.h"
#include "pci.h"

#define CONFIG_ENABLE      0x80000000u
#define BAR_IO             0x1u
#define BAR_MEM_TYPE_MASK  0x6u
#define BAR_MEM_TYPE_64    0x4u
#define BAR_MEM_PREFETCH   0x8u
#define BAR_MEM_ADDR_MASK  0xFFFFFFF0u
#define BAR_IO_ADDR_MASK   0xFFFFFFFCu
#define HEADER_MULTI_FUNCTION 0x80
#define HEADER_TYPE_MASK   0x7F
#define WINDOW_FLOOR       0xC0000000ull
#define WINDOW_CEILING     0xFEC00000ull      /* I/O APIC, HPET, local APIC, BIOS flash above */
#define WINDOW_ALIGN       0x10000000ull
#define MAPPED_LIMIT       (8ull << 30)       /* what lib/long_mode.S maps */
#define FOUR_GIB           (1ull << 32)

static uint32_t config_address(const struct pci_device *d, uint16_t offset)
{
    return CONFIG_ENABLE | (uint32_t)d->bus << 16 | (uint32_t)(d->slot & 31) << 11 |
           (uint32_t)(d->function & 7) << 8 | (offset & 0xFC);
}

uint32_t pci_read32(const struct pci_device *d, uint16_t offset)
{
    outl(PCI_CONFIG_ADDRESS, config_address(d, offset));
    return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(const struct pci_device *d, uint16_t offset)
{
    outl(PCI_CONFIG_ADDRESS, config_address(d, offset));
    return inw((uint16_t)(PCI_CONFIG_DATA + (offset & 2)));
}

uint8_t pci_read8(const struct pci_device *d, uint16_t offset)
{
    outl(PCI_CONFIG_ADDRESS, config_address(d, offset));
    return inb((uint16_t)(PCI_CONFIG_DATA + (offset & 3)));
}

void pci_write32(const struct pci_device *d, uint16_t offset, uint32_t value)
{
    outl(PCI_CONFIG_ADDRESS, config_address(d, offset));
    outl(PCI_CONFIG_DATA, value);
}

void pci_write16(const struct pci_device *d, uint16_t offset, uint16_t value)
{
    outl(PCI_CONFIG_ADDRESS, config_address(d, offset));
    outw((uint16_t)(PCI_CONFIG_DATA + (offset & 2)), value);
}

void pci_write8(const struct pci_device *d, uint16_t offset, uint8_t value)
{
    outl(PCI_CONFIG_ADDRESS, config_address(d, offset));
    outb((uint16_t)(PCI_CONFIG_DATA + (offset & 3)), value);
}

/* Fills the identification fields; false when no function answers (vendor 0xFFFF). */
static bool probe(struct pci_device *d)
{
    uint32_t id = pci_read32(d, PCI_VENDOR_ID);
    if ((id & 0xFFFF) == 0xFFFF || (id & 0xFFFF) == 0)
        return false;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    uint32_t class_rev = pci_read32(d, PCI_CLASS_REVISION);
    d->class_code = (uint8_t)(class_rev >> 24);
    d->subclass = (uint8_t)(class_rev >> 16);
    d->prog_if = (uint8_t)(class_rev >> 8);
    d->header_type = pci_read8(d, PCI_HEADER_TYPE);
    d->subsystem = (d->header_type & HEADER_TYPE_MASK) == 0 ? pci_read16(d, PCI_SUBSYSTEM_ID) : 0;
    for (unsigned i = 0; i < PCI_BARS; i++)
        d->bar[i] = (struct pci_bar){ 0 };
    return true;
}

unsigned pci_scan_bus0(struct pci_device *out, unsigned max)
{
    unsigned found = 0;
    for (uint8_t slot = 0; slot < 32; slot++) {
        for (uint8_t fn = 0; fn < 8 && found < max; fn++) {
            struct pci_device d = { .bus = 0, .slot = slot, .function = fn };
            if (!probe(&d)) {
                if (fn == 0)
                    break;            /* no function 0: the slot is empty */
                continue;
            }
            out[found++] = d;
            if (fn == 0 && !(d.header_type & HEADER_MULTI_FUNCTION))
                break;
        }
    }
    return found;
}

/* Writes all ones, reads what sticks, writes the original back. */
static uint32_t size_probe(const struct pci_device *d, uint16_t offset, uint32_t original)
{
    pci_write32(d, offset, 0xFFFFFFFFu);
    uint32_t mask = pci_read32(d, offset);
    pci_write32(d, offset, original);
    return mask;
}

void pci_decode_bars(struct pci_device *d)
{
    for (unsigned i = 0; i < PCI_BARS; i++)
        d->bar[i] = (struct pci_bar){ 0 };
    if ((d->header_type & HEADER_TYPE_MASK) != 0)
        return;
    uint16_t command = pci_read16(d, PCI_COMMAND);
    /* Sizing moves the BAR to all ones for a moment: no decoding meanwhile. */
    pci_write16(d, PCI_COMMAND, command & (uint16_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    for (unsigned i = 0; i < PCI_BARS; i++) {
        uint16_t offset = (uint16_t)(PCI_BAR0 + 4 * i);
        uint32_t low = pci_read32(d, offset);
        struct pci_bar *bar = &d->bar[i];
        if (low & BAR_IO) {
            uint32_t mask = size_probe(d, offset, low) & BAR_IO_ADDR_MASK & 0xFFFF;
            bar->io = true;
            bar->base = low & BAR_IO_ADDR_MASK;
            bar->size = mask ? (uint64_t)(~mask & 0xFFFF) + 1 : 0;
            continue;
        }
        bar->prefetchable = (low & BAR_MEM_PREFETCH) != 0;
        bar->is64 = (low & BAR_MEM_TYPE_MASK) == BAR_MEM_TYPE_64 && i + 1 < PCI_BARS;
        uint64_t mask = size_probe(d, offset, low) & BAR_MEM_ADDR_MASK;
        uint64_t base = low & BAR_MEM_ADDR_MASK;
        if (bar->is64) {
            uint16_t high_offset = (uint16_t)(offset + 4);
            uint32_t high = pci_read32(d, high_offset);
            mask |= (uint64_t)size_probe(d, high_offset, high) << 32;
            base |= (uint64_t)high << 32;
        } else {
            mask |= 0xFFFFFFFF00000000ull;
        }
        bar->base = base;
        bar->size = (mask & BAR_MEM_ADDR_MASK) ? ~mask + 1 : 0;
        if (bar->is64)
            i++;                      /* the high half is not a BAR of its own */
    }
    pci_write16(d, PCI_COMMAND, command);
}

struct pci_window pci_default_window(const struct boot_info *boot)
{
    uint64_t ram_top_below_4g = 0;
    for (unsigned i = 0; i < boot->ram_count; i++) {
        uint64_t end = boot->ram[i].end < FOUR_GIB ? boot->ram[i].end : FOUR_GIB;
        if (boot->ram[i].start < FOUR_GIB && end > ram_top_below_4g)
            ram_top_below_4g = end;
    }
    uint64_t start = (ram_top_below_4g + WINDOW_ALIGN - 1) & ~(WINDOW_ALIGN - 1);
    if (start < WINDOW_FLOOR)
        start = WINDOW_FLOOR;
    return (struct pci_window){ .start = start, .end = start < WINDOW_CEILING ? WINDOW_CEILING : start };
}

/* Overflow-safe: neither range end is computed. */
static bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
    return a >= b ? a - b < b_size : b - a < a_size;
}

static bool overlaps_ram(const struct boot_info *boot, uint64_t base, uint64_t size)
{
    for (unsigned i = 0; i < boot->ram_count; i++) {
        if (overlaps(base, size, boot->ram[i].start, boot->ram[i].end - boot->ram[i].start))
            return true;
    }
    return false;
}

/* A memory BAR we can use as it is: assigned, mapped by our page tables, clear of RAM. */
static bool bar_usable(const struct boot_info *boot, const struct pci_bar *bar)
{
    return bar->base != 0 && bar->base < MAPPED_LIMIT && bar->size <= MAPPED_LIMIT - bar->base &&
           !overlaps_ram(boot, bar->base, bar->size);
}

/* Whether [base, base + size) collides with any assigned memory BAR except BAR self_index of d
 * (which may appear in `others` as a copy). */
static bool collides(uint64_t base, uint64_t size, const struct pci_device *d, unsigned self_index,
                     const struct pci_device *others, unsigned n_others)
{
    for (unsigned k = 0; k <= n_others; k++) {
        const struct pci_device *o = k < n_others ? &others[k] : d;
        bool same_function = o->bus == d->bus && o->slot == d->slot && o->function == d->function;
        for (unsigned i = 0; i < PCI_BARS; i++) {
            const struct pci_bar *b = &o->bar[i];
            if (b->io || b->size == 0 || b->base == 0 || (same_function && i == self_index))
                continue;
            if (overlaps(base, size, b->base, b->size))
                return true;
        }
    }
    return false;
}

int pci_assign_bars(struct pci_device *d, const struct pci_device *others, unsigned n_others,
                    const struct pci_window *window, const struct boot_info *boot)
{
    int assigned = 0;
    for (unsigned i = 0; i < PCI_BARS; i++) {
        struct pci_bar *bar = &d->bar[i];
        if (bar->io || bar->size == 0 || bar_usable(boot, bar))
            continue;
        /* Natural alignment (a BAR's size is a power of two), at least one page. */
        uint64_t align = bar->size < 4096 ? 4096 : bar->size;
        uint64_t at = (window->start + align - 1) & ~(align - 1);
        bool placed = false;
        while (at >= window->start && at < window->end && bar->size <= window->end - at) {
            if (!overlaps_ram(boot, at, bar->size) && !collides(at, bar->size, d, i, others, n_others)) {
                placed = true;
                break;
            }
            at += align;
        }
        if (!placed) {
            console_printf("# pci: no room for BAR%u of %02x:%02x.%x (%lu bytes)\n", i, d->bus, d->slot,
                           d->function, bar->size);
            return -1;
        }
        uint16_t offset = (uint16_t)(PCI_BAR0 + 4 * i);
        uint32_t flags = pci_read32(d, offset) & 0xF;
        uint16_t command = pci_read16(d, PCI_COMMAND);
        pci_write16(d, PCI_COMMAND, command & (uint16_t)~PCI_COMMAND_MEMORY);
        pci_write32(d, offset, (uint32_t)at | flags);
        if (bar->is64)
            pci_write32(d, (uint16_t)(offset + 4), (uint32_t)(at >> 32));
        pci_write16(d, PCI_COMMAND, command);
        console_printf("# pci: %02x:%02x.%x BAR%u 0x%lx -> 0x%lx (%lu KiB)\n", d->bus, d->slot, d->function, i,
                       bar->base, at, bar->size >> 10);
        bar->base = at;
        assigned++;
    }
    return assigned;
}

void pci_enable(const struct pci_device *d, uint16_t command_bits)
{
    pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | command_bits);
}

unsigned pci_capabilities(const struct pci_device *d, uint8_t *offsets, unsigned max)
{
    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    unsigned count = 0;
    uint8_t at = pci_read8(d, PCI_CAP_POINTER) & 0xFC;
    for (unsigned steps = 0; at >= 0x40 && steps < PCI_MAX_CAPS && count < max; steps++) {
        offsets[count++] = at;
        at = pci_read8(d, (uint16_t)(at + 1)) & 0xFC;
    }
    return count;
}
