/* Where the boot disk is: the PCI function of its controller and the disk's position on it
 * (ATA channel/drive, AHCI port, NVMe namespace), taken from the ESP's device path. Recorded in
 * bootinfo for the minidisk work; best effort, unknown parts stay 0. */
#ifndef TESSERA_BOOT_EFI_DISKLOC_H
#define TESSERA_BOOT_EFI_DISKLOC_H

#include <efi.h>
#include "bootinfo.h"

void boot_disk_locate(EFI_HANDLE image_handle, struct bootinfo *bi);

#endif
