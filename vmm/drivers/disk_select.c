/* Pure parts of the boot-disk choice (see disk_select.h). */
#include "drivers/disk_select.h"

bool disk_boot_location_known(const struct bootinfo *bi)
{
    return bi->boot_disk_kind != DISK_KIND_NONE || bi->boot_pci_bus || bi->boot_pci_dev || bi->boot_pci_fn;
}

int disk_find_boot_controller(const struct bootinfo *bi, const struct pci_storage *list, unsigned n)
{
    if (bi->boot_pci_segment != 0)
        return -1;      /* only segment 0 is reachable through ports 0xCF8/0xCFC */
    for (unsigned i = 0; i < n; i++)
        if (list[i].loc.bus == bi->boot_pci_bus && list[i].loc.dev == bi->boot_pci_dev &&
            list[i].loc.fn == bi->boot_pci_fn)
            return (int)i;
    return -1;
}
