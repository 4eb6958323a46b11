/* Pure PCI decoding: class codes of storage controllers, configuration addresses, BARs. */
#include "drivers/pci.h"

enum disk_kind pci_storage_kind(uint32_t class_reg)
{
    uint8_t cls = (uint8_t)(class_reg >> 24), sub = (uint8_t)(class_reg >> 16), prog_if = (uint8_t)(class_reg >> 8);
    if (cls != 0x01)
        return DISK_KIND_NONE;
    if (sub == 0x01)
        return DISK_KIND_ATA;                   /* IDE: any programming interface */
    if (sub == 0x06 && prog_if == 0x01)
        return DISK_KIND_AHCI;                  /* SATA, AHCI 1.x */
    if (sub == 0x08 && prog_if == 0x02)
        return DISK_KIND_NVME;                  /* NVM Express I/O controller */
    return DISK_KIND_NONE;
}

const char *disk_kind_name(enum disk_kind k)
{
    switch (k) {
    case DISK_KIND_ATA: return "ATA";
    case DISK_KIND_AHCI: return "AHCI";
    case DISK_KIND_NVME: return "NVMe";
    default: return "none";
    }
}

uint32_t pci_cf8_address(struct pci_location loc, uint8_t reg)
{
    return 0x80000000u | ((uint32_t)loc.bus << 16) | ((uint32_t)(loc.dev & 31) << 11) |
           ((uint32_t)(loc.fn & 7) << 8) | (reg & 0xFCu);
}

bool pci_bar_decode(const uint32_t raw[6], unsigned i, struct pci_bar *out)
{
    if (i > 5)
        return false;
    uint32_t lo = raw[i];
    out->base = 0;
    out->io = out->is64 = out->prefetchable = false;
    if (lo & 1) {
        out->io = true;
        out->base = lo & 0xFFFFFFFCu;
        return out->base != 0;
    }
    out->prefetchable = (lo & 8) != 0;
    switch ((lo >> 1) & 3) {
    case 0:
        out->base = lo & 0xFFFFFFF0u;
        break;
    case 2:
        if (i == 5)
            return false;
        out->is64 = true;
        out->base = (lo & 0xFFFFFFF0u) | ((uint64_t)raw[i + 1] << 32);
        break;
    default:
        return false;               /* type 1 (below 1 MiB, PCI 2.x) and 3 are reserved */
    }
    return out->base != 0;
}
