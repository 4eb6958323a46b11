/* RSDP lookup in the system table's configuration table (ACPI 2.0 GUID first). */
#include <efi.h>
#include <efilib.h>
#include "efi_acpi.h"

static uint64_t find_table(EFI_GUID *guid)
{
    for (UINTN i = 0; i < ST->NumberOfTableEntries; i++)
        if (CompareGuid(&ST->ConfigurationTable[i].VendorGuid, guid) == 0)
            return (uint64_t)(UINTN)ST->ConfigurationTable[i].VendorTable;
    return 0;
}

uint64_t boot_find_rsdp(void)
{
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    uint64_t rsdp = find_table(&acpi20);
    return rsdp ? rsdp : find_table(&acpi10);
}
