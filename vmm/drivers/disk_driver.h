/* What every native disk driver offers the disk selection: open one disk on one controller. */
#ifndef TESSERA_DRIVERS_DISK_DRIVER_H
#define TESSERA_DRIVERS_DISK_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include "disk/blkdev.h"
#include "drivers/pci.h"

#define DISK_MODEL_MAX 48

struct disk_opened {
    struct blkdev *dev;             /* the driver's single instance, ready */
    char model[DISK_MODEL_MAX];
    unsigned position;              /* ATA channel*2+drive, AHCI port, NVMe namespace */
};

/* position: as in bootinfo's boot_disk_port, or DISK_POSITION_ANY for the first disk found.
 * mmio_limit: MMIO BARs must end below it (the hypervisor's identity map). Return BLKDEV_OK or
 * BLKDEV_ENOTREADY with why filled in. Each driver has one instance: opening it again
 * re-initialises it. */
#define DISK_POSITION_ANY 0xFFFFu
int ata_open(const struct pci_storage *c, unsigned position, struct disk_opened *out, char *why, size_t why_len);
int ahci_open(const struct pci_storage *c, unsigned position, uint64_t mmio_limit, struct disk_opened *out,
              char *why, size_t why_len);
int nvme_open(const struct pci_storage *c, unsigned position, uint64_t mmio_limit, struct disk_opened *out,
              char *why, size_t why_len);

#endif
