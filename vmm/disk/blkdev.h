/* The physical block device interface: what a disk driver (ATA, AHCI, NVMe) provides and what
 * the partition and minidisk layers use. Drivers fill in the ops; everyone else calls the
 * blkdev_* wrappers, which check ranges, split transfers and count errors in one place. */
#ifndef TESSERA_BLKDEV_H
#define TESSERA_BLKDEV_H

#include <stdbool.h>
#include <stdint.h>

/* Error codes: 0 is success, every failure is one of these negative values. */
#define BLKDEV_OK         0
#define BLKDEV_EIO       -1   /* the device reported an error or timed out */
#define BLKDEV_ERANGE    -2   /* the request lies (partly) outside the device / minidisk */
#define BLKDEV_ENOTREADY -3   /* the device is absent, not initialised, or has failed */
#define BLKDEV_EINVAL    -4   /* malformed call: NULL buffer, unsupported sector size, ... */
#define BLKDEV_EROFS     -5   /* write to a read-only minidisk */

/* The only logical sector size the minidisk layer serves. Devices with 4096-byte sectors
 * (NVMe "4Kn" namespaces) can be opened and their GPT read, but minidisk_init refuses them:
 * translating 512-byte guest writes would need read-modify-write of shared physical sectors,
 * which would let one guest's failed write damage another's data. */
#define BLKDEV_SECTOR_SIZE 512u
#define BLKDEV_MAX_SECTOR_SIZE 4096u

struct blkdev;

/* Implemented by drivers. Synchronous: return only when the device has finished (for write,
 * when the device has accepted the data; for flush, when its volatile cache is on media).
 * The wrappers guarantee: count >= 1, count <= max_transfer (if set), lba < sector_count and
 * count <= sector_count - lba, buf != NULL. buf may have any alignment and lies in hypervisor
 * memory (identity-mapped: virtual == physical on the machine, so it can be used for DMA, but
 * it may be guest RAM and may cross page boundaries; bounce if the controller needs it).
 * Return BLKDEV_OK, BLKDEV_EIO or BLKDEV_ENOTREADY. */
struct blkdev_ops {
    int (*read)(struct blkdev *d, uint64_t lba, uint32_t count, void *buf);
    int (*write)(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf);
    int (*flush)(struct blkdev *d);     /* NULL: the device has no volatile write cache */
};

struct blkdev_stats {
    uint64_t reads, writes, flushes;           /* successful driver calls */
    uint64_t sectors_read, sectors_written;
    uint64_t read_errors, write_errors, flush_errors;
    uint64_t range_errors;                     /* refused before reaching the driver */
};

struct blkdev {
    const struct blkdev_ops *ops;
    void *driver;               /* driver-private state */
    const char *name;           /* for diagnostics, e.g. "ahci0p1" or "nvme0n1" */
    uint64_t sector_count;      /* in sectors of sector_size bytes */
    uint32_t sector_size;       /* 512 or 4096 */
    uint32_t max_transfer;      /* sectors per driver call; 0 = no limit */
    bool ready;                 /* the driver clears this when the device has failed for good */
    struct blkdev_stats stats;
};

/* Range-checked, split into max_transfer pieces, counted; failures are logged (rate-limited).
 * count 0 returns BLKDEV_OK without touching the device. */
int blkdev_read(struct blkdev *d, uint64_t lba, uint64_t count, void *buf);
int blkdev_write(struct blkdev *d, uint64_t lba, uint64_t count, const void *buf);
int blkdev_flush(struct blkdev *d);

/* Text for an error code, for diagnostics. */
const char *blkdev_strerror(int err);

#endif
