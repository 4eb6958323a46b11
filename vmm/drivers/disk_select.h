/* Which physical disk the hypervisor uses: the controller the loader booted from (bootinfo's
 * boot_pci_* / boot_disk_*), else the first storage controller with a usable disk. */
#ifndef TESSERA_DRIVERS_DISK_SELECT_H
#define TESSERA_DRIVERS_DISK_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bootinfo.h"
#include "drivers/disk_driver.h"
#include "drivers/pci.h"

/* Pure: whether the loader named a boot disk location. */
bool disk_boot_location_known(const struct bootinfo *bi);
/* Pure: index in list[0..n) of the controller at the loader's location, or -1. */
int disk_find_boot_controller(const struct bootinfo *bi, const struct pci_storage *list, unsigned n);

/* Hardware: scan, pick, open, and log "tessera: disk: <kind> at PCI bb:dd.f, ...". If the
 * loader named a location, only that controller is used: falling back to another disk would hand
 * the wrong disk's sectors to guests. BLKDEV_OK with *out filled, else BLKDEV_ENOTREADY with why. */
int disk_select_open(const struct bootinfo *bi, struct disk_opened *out, struct pci_storage *controller, char *why,
                     size_t why_len);

#endif
