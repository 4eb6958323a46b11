/* A guest's minidisk (as in VM/370): a window {start, sectors} of a physical block device.
 * Every guest sector is translated with an overflow-safe bounds check; nothing outside the
 * window is ever read or written. Also the rule deciding which guests may have which partition. */
#ifndef TESSERA_MINIDISK_H
#define TESSERA_MINIDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bootinfo.h"
#include "disk/blkdev.h"
#include "disk/gpt.h"

struct minidisk {
    struct blkdev *dev;
    uint64_t start_lba;         /* physical LBA of guest sector 0 */
    uint64_t sectors;           /* capacity in 512-byte sectors */
    bool read_only;
    char part_name[DISK_PART_NAME_MAX];   /* for GET_ID and diagnostics */
};

/* Set up md over the partition p of dev. Refuses (BLKDEV_EINVAL) a device whose sector size
 * is not 512 (see blkdev.h) and a partition that does not lie inside the device. */
int minidisk_init(struct minidisk *md, struct blkdev *dev, const struct gpt_partition *p, bool read_only);

/* The bounds check, done once per request: physical LBA of guest sectors [s, s + count):
 * BLKDEV_OK with *phys set when s < capacity && count <= capacity - s, else BLKDEV_ERANGE
 * (*phys untouched). count 0 is valid for any s inside the disk. */
int minidisk_translate(const struct minidisk *md, uint64_t s, uint64_t count, uint64_t *phys);

/* Translate, then call the device. Writes to a read-only minidisk fail with BLKDEV_EROFS
 * without reaching the device. buf holds count * 512 bytes. */
int minidisk_read(const struct minidisk *md, uint64_t s, uint64_t count, void *buf);
int minidisk_write(const struct minidisk *md, uint64_t s, uint64_t count, const void *buf);
int minidisk_flush(const struct minidisk *md);

/* For a caller that translated a whole request once and moves it in pieces: physical sectors
 * [phys, phys + count), which must lie in a range minidisk_translate returned, go to the device
 * as they are (the blkdev layer still keeps them inside the device). Read-only is still
 * enforced: BLKDEV_EROFS without reaching the device. */
int minidisk_read_translated(const struct minidisk *md, uint64_t phys, uint64_t count, void *buf);
int minidisk_write_translated(const struct minidisk *md, uint64_t phys, uint64_t count, const void *buf);

/* Allocation: which configured guest gets which partition. */
enum minidisk_verdict_kind {
    MINIDISK_NONE,              /* the guest asked for no disk */
    MINIDISK_GRANTED,           /* part is the guest's; read_only as configured */
    MINIDISK_REFUSED,           /* reason says why; the guest must not get a disk */
};

struct minidisk_verdict {
    enum minidisk_verdict_kind kind;
    const struct gpt_partition *part;   /* GRANTED only */
    bool read_only;
    char reason[128];
};

/* For each of the count guests, resolves disk_part in t (gpt_find: name or unique GUID, never
 * the ESP) and applies the sharing rule: a partition named by two or more guests is refused
 * to all of them unless every one of them uses it read-only. Pure; out has count entries. */
void minidisk_allocate(const struct gpt_table *t, const struct bootinfo_guest *guests, unsigned count,
                       struct minidisk_verdict *out);

#endif
