/* The ACPI root pointer from the UEFI configuration table, for the hypervisor's power-off and
 * CPU discovery. */
#ifndef TESSERA_BOOT_EFI_ACPI_H
#define TESSERA_BOOT_EFI_ACPI_H

#include <stdint.h>

/* Physical address of the ACPI 2.0 RSDP, else the ACPI 1.0 one, else 0. */
uint64_t boot_find_rsdp(void);

#endif
