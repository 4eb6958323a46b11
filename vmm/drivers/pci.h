/* PCI for the disk drivers: configuration space through mechanism #1 (ports 0xCF8/0xCFC), a
 * scan for storage controllers, and the pure decoding (class codes, BARs) the scan relies on.
 * Only the chosen disk controller is ever written to. */
#ifndef TESSERA_DRIVERS_PCI_H
#define TESSERA_DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Same values as bootinfo's boot_disk_kind. */
enum disk_kind { DISK_KIND_NONE = 0, DISK_KIND_ATA = 1, DISK_KIND_AHCI = 2, DISK_KIND_NVME = 3 };

#define PCI_REG_VENDOR     0x00
#define PCI_REG_COMMAND    0x04
#define PCI_REG_CLASS      0x08     /* revision, prog-if, subclass, class (low to high byte) */
#define PCI_REG_HEADER     0x0C     /* header type in bits 23:16 */
#define PCI_REG_BAR0       0x10
#define PCI_CMD_IO         (1u << 0)
#define PCI_CMD_MEMORY     (1u << 1)
#define PCI_CMD_BUS_MASTER (1u << 2)
#define PCI_CMD_INTX_OFF   (1u << 10)

struct pci_location {
    uint8_t bus, dev, fn;
};

struct pci_bar {
    uint64_t base;      /* address (memory) or port (I/O); flag bits removed */
    bool io;
    bool is64;          /* memory BAR using this and the next register */
    bool prefetchable;
};

struct pci_storage {
    struct pci_location loc;
    enum disk_kind kind;
    uint16_t vendor, device;
    uint8_t prog_if;
    uint32_t bar_raw[6];    /* as read; decode with pci_bar_decode */
};

/* Pure helpers. */
enum disk_kind pci_storage_kind(uint32_t class_reg);    /* PCI_REG_CLASS dword -> kind */
const char *disk_kind_name(enum disk_kind k);           /* "ATA", "AHCI", "NVMe" */
/* Mechanism #1 address for a dword-aligned register (reg & 0xFC). */
uint32_t pci_cf8_address(struct pci_location loc, uint8_t reg);
/* Decode BAR index i of raw[0..5]. False for an unimplemented BAR (0), a 64-bit BAR in slot 5
 * (no upper half), or a reserved memory type. */
bool pci_bar_decode(const uint32_t raw[6], unsigned i, struct pci_bar *out);

/* Hardware. */
uint32_t pci_read32(struct pci_location loc, uint8_t reg);
void pci_write16(struct pci_location loc, uint8_t reg, uint16_t v);
/* Every storage controller (IDE, AHCI, NVMe) on buses 0-255, in bus/device/function order;
 * returns how many were found, at most max are stored. Reads configuration space only. */
unsigned pci_find_storage(struct pci_storage *out, unsigned max);
/* Turn on the decoders named (PCI_CMD_IO / PCI_CMD_MEMORY) and bus mastering, and INTx off:
 * the drivers poll. */
void pci_enable_device(struct pci_location loc, uint16_t decoders);

#endif
