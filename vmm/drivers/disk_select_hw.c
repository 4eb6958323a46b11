/* Opening the boot disk: PCI scan, the loader's hint, the driver for the controller's kind. */
#include "arch/cpu_setup.h"
#include "drivers/disk_select.h"
#include "lib/log.h"
#include "lib/mem.h"

#define MAX_CONTROLLERS 16

static int open_controller(const struct pci_storage *c, unsigned position, uint64_t limit, struct disk_opened *out,
                           char *why, size_t why_len)
{
    switch (c->kind) {
    case DISK_KIND_ATA: return ata_open(c, position, out, why, why_len);
    case DISK_KIND_AHCI: return ahci_open(c, position, limit, out, why, why_len);
    case DISK_KIND_NVME: return nvme_open(c, position, limit, out, why, why_len);
    default: fmt_snprintf(why, why_len, "not a disk controller"); return BLKDEV_ENOTREADY;
    }
}

int disk_select_open(const struct bootinfo *bi, struct disk_opened *out, struct pci_storage *controller, char *why,
                     size_t why_len)
{
    static struct pci_storage list[MAX_CONTROLLERS];
    unsigned n = pci_find_storage(list, MAX_CONTROLLERS);
    if (n > MAX_CONTROLLERS)
        n = MAX_CONTROLLERS;
    uint64_t limit = identity_map_end;
    char reason[128] = "no storage controller found";
    memset(out, 0, sizeof(*out));

    unsigned first = 0, last = n;
    unsigned position = DISK_POSITION_ANY;
    if (disk_boot_location_known(bi)) {
        int i = disk_find_boot_controller(bi, list, n);
        if (i < 0) {
            fmt_snprintf(why, why_len, "no storage controller at the boot disk's location %04x:%02x:%02x.%x",
                         bi->boot_pci_segment, bi->boot_pci_bus, bi->boot_pci_dev, bi->boot_pci_fn);
            return BLKDEV_ENOTREADY;
        }
        first = (unsigned)i;
        last = first + 1;
        if (bi->boot_disk_kind == list[i].kind)
            position = bi->boot_disk_port;
    }
    for (unsigned i = first; i < last; i++) {
        const struct pci_storage *c = &list[i];
        char r[96];
        if (open_controller(c, position, limit, out, r, sizeof(r)) != BLKDEV_OK) {
            log_printf("tessera: disk: %s at PCI %02x:%02x.%x: %s\n", disk_kind_name(c->kind), c->loc.bus, c->loc.dev,
                       c->loc.fn, r);
            fmt_snprintf(reason, sizeof(reason), "%s at PCI %02x:%02x.%x: %s", disk_kind_name(c->kind), c->loc.bus,
                         c->loc.dev, c->loc.fn, r);
            continue;
        }
        *controller = *c;
        log_printf("tessera: disk: %s at PCI %02x:%02x.%x, %llu sectors of %u bytes, model %s\n",
                   disk_kind_name(c->kind), c->loc.bus, c->loc.dev, c->loc.fn,
                   (unsigned long long)out->dev->sector_count, out->dev->sector_size, out->model);
        return BLKDEV_OK;
    }
    fmt_snprintf(why, why_len, "%s", reason);
    return BLKDEV_ENOTREADY;
}
