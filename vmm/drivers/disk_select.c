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

uint64_t disk_mmio_limit(const struct bootinfo *bi)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < bi->memmap_count && i < BOOTINFO_MAX_MEMMAP; i++) {
        const struct bootinfo_memrange *r = &bi->memmap[i];
        if (r->size && r->base <= UINT64_MAX - r->size && r->base + r->size > top)
            top = r->base + r->size;
    }
    /* cpu_setup maps whole GiBs from 0, at least 4 GiB and at most 512 GiB. */
    if (top < (4ull << 30))
        top = 4ull << 30;
    if (top > (512ull << 30))
        top = 512ull << 30;
    return (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
}
