/* Gives every guest that names a minidisk its partition of the physical disk, as a virtio-blk
 * PCI device. Pure over a block device, so host tests run it on a RAM disk. */
#ifndef TESSERA_MINIDISK_SETUP_H
#define TESSERA_MINIDISK_SETUP_H

#include <stdbool.h>
#include <stdint.h>
#include "bootinfo.h"
#include "disk/blkdev.h"
#include "guest/vm.h"

/* Does any configured guest ask for a minidisk? (Only then is the disk opened at all.) */
bool minidisks_wanted(const struct bootinfo *bi);

/* dev is the opened physical disk, or NULL with why_no_disk saying why none could be opened.
 * A guest whose minidisk cannot be given (no disk, no GPT, unknown or shared partition, device
 * setup failure) is stopped with the reason: it was configured to rely on that disk. Guests that
 * already ended are skipped. now is a monotonic tick counter (the TSC) running at ticks_per_ms:
 * each device's steps are bounded by VIRTIO_BLK_STEP_US of it as well as by bytes (now NULL or
 * ticks_per_ms 0: bytes only). */
void minidisks_attach(struct blkdev *dev, const char *why_no_disk, const struct bootinfo *bi,
                      struct vm *vms, unsigned count, uint64_t (*now)(void), uint64_t ticks_per_ms);

#endif
