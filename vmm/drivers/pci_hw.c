/* PCI configuration mechanism #1 and the storage-controller scan. */
#include "drivers/hwio.h"
#include "drivers/pci.h"

#define PCI_ADDR_PORT 0xCF8
#define PCI_DATA_PORT 0xCFC

uint32_t pci_read32(struct pci_location loc, uint8_t reg)
{
    outl(PCI_ADDR_PORT, pci_cf8_address(loc, reg));
    return inl(PCI_DATA_PORT);
}

void pci_write16(struct pci_location loc, uint8_t reg, uint16_t v)
{
    outl(PCI_ADDR_PORT, pci_cf8_address(loc, reg));
    outw((uint16_t)(PCI_DATA_PORT + (reg & 2)), v);
}

static void consider(struct pci_location loc, struct pci_storage *out, unsigned max, unsigned *found)
{
    uint32_t id = pci_read32(loc, PCI_REG_VENDOR);
    uint32_t class_reg = pci_read32(loc, PCI_REG_CLASS);
    enum disk_kind kind = pci_storage_kind(class_reg);
    if (kind == DISK_KIND_NONE)
        return;
    /* Only type-0 headers have six BARs. */
    if (((pci_read32(loc, PCI_REG_HEADER) >> 16) & 0x7F) != 0)
        return;
    if (*found < max) {
        struct pci_storage *s = &out[*found];
        s->loc = loc;
        s->kind = kind;
        s->vendor = (uint16_t)id;
        s->device = (uint16_t)(id >> 16);
        s->prog_if = (uint8_t)(class_reg >> 8);
        for (unsigned i = 0; i < 6; i++)
            s->bar_raw[i] = pci_read32(loc, (uint8_t)(PCI_REG_BAR0 + 4 * i));
    }
    (*found)++;
}

/* Brute force over every bus: 8192 vendor-id reads, a few milliseconds, and it finds devices
 * behind bridges whatever the firmware numbered them. */
unsigned pci_find_storage(struct pci_storage *out, unsigned max)
{
    unsigned found = 0;
    for (unsigned bus = 0; bus < 256; bus++) {
        for (uint8_t dev = 0; dev < 32; dev++) {
            struct pci_location loc = { (uint8_t)bus, dev, 0 };
            uint32_t id = pci_read32(loc, PCI_REG_VENDOR);
            if ((id & 0xFFFF) == 0xFFFF || (id & 0xFFFF) == 0)
                continue;
            bool multi = (pci_read32(loc, PCI_REG_HEADER) >> 16) & 0x80;
            for (uint8_t fn = 0; fn < (multi ? 8 : 1); fn++) {
                loc.fn = fn;
                if (fn && (pci_read32(loc, PCI_REG_VENDOR) & 0xFFFF) == 0xFFFF)
                    continue;
                consider(loc, out, max, &found);
            }
        }
    }
    return found;
}

void pci_enable_device(struct pci_location loc, uint16_t decoders)
{
    uint16_t cmd = (uint16_t)pci_read32(loc, PCI_REG_COMMAND);
    cmd |= (uint16_t)(decoders & (PCI_CMD_IO | PCI_CMD_MEMORY)) | PCI_CMD_BUS_MASTER | PCI_CMD_INTX_OFF;
    pci_write16(loc, PCI_REG_COMMAND, cmd);
}
