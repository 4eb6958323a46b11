/* Minidisk assignment at boot (see minidisk_setup.h). */
#include "dev/virtio_blk.h"
#include "dev/virtio_pci.h"
#include "disk/gpt.h"
#include "disk/minidisk.h"
#include "guest/board.h"
#include "guest/minidisk_setup.h"
#include "lib/log.h"

static struct gpt_table disk_table;
static struct minidisk_verdict verdicts[BOOTINFO_MAX_GUESTS];
static struct minidisk minidisks[BOOTINFO_MAX_GUESTS];

bool minidisks_wanted(const struct bootinfo *bi)
{
    for (unsigned i = 0; i < bi->guest_count && i < BOOTINFO_MAX_GUESTS; i++)
        if (bi->guests[i].disk_part[0])
            return true;
    return false;
}

void minidisks_attach(struct blkdev *dev, const char *why_no_disk, const struct bootinfo *bi,
                      struct vm *vms, unsigned count, uint64_t (*now)(void), uint64_t ticks_per_ms)
{
    if (count > BOOTINFO_MAX_GUESTS)
        count = BOOTINFO_MAX_GUESTS;
    /* No guest request may hold the CPU for more than a small part of a slice. */
    const struct virtio_blk_clock clock = { now, ticks_per_ms * VIRTIO_BLK_STEP_US / 1000 };
    int table_err = dev ? gpt_read(dev, &disk_table) : BLKDEV_ENOTREADY;
    if (dev && table_err == BLKDEV_OK && disk_table.diag[0])
        log_printf("tessera: disk %s: GPT note: %s\n", dev->name, disk_table.diag);
    if (table_err == BLKDEV_OK)
        minidisk_allocate(&disk_table, bi->guests, count, verdicts);

    for (unsigned i = 0; i < count; i++) {
        struct vm *vm = &vms[i];
        const struct bootinfo_guest *cfg = &bi->guests[i];
        if (!cfg->disk_part[0] || vm->state == VM_ENDED)
            continue;
        if (!dev) {
            vm_stop(vm, "its minidisk '%s' is unavailable: %s", cfg->disk_part, why_no_disk);
            continue;
        }
        if (table_err != BLKDEV_OK) {
            vm_stop(vm, "its minidisk '%s' is unavailable: the disk's GPT is unusable: %s", cfg->disk_part,
                       disk_table.diag);
            continue;
        }
        const struct minidisk_verdict *v = &verdicts[i];
        if (v->kind != MINIDISK_GRANTED) {
            vm_stop(vm, "its minidisk '%s' is refused: %s", cfg->disk_part, v->reason);
            continue;
        }
        struct minidisk *md = &minidisks[i];
        int err = minidisk_init(md, dev, v->part, v->read_only);
        if (err) {
            vm_stop(vm, "its minidisk '%s' cannot be used: %s", cfg->disk_part, blkdev_strerror(err));
            continue;
        }
        if (board_attach_minidisk(vm, md, &clock)) {
            vm_stop(vm, "its minidisk '%s' cannot be attached as a virtio-blk device", cfg->disk_part);
            continue;
        }
        vm->disk = md;
        log_printf("tessera: guest %s: minidisk '%s' = %s sectors %llu..%llu (%llu MiB)%s, virtio-blk at PCI 00:%02x.0\n",
                   vm->name, cfg->disk_part, dev->name, (unsigned long long)v->part->first_lba,
                   (unsigned long long)v->part->last_lba,
                   (unsigned long long)((v->part->last_lba - v->part->first_lba + 1) >> 11),
                   v->read_only ? ", read-only" : "", VIRTIO_BLK_PCI_SLOT);
    }
}
