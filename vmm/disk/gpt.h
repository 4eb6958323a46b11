/* GUID Partition Table (UEFI spec, chapter 5) read through a block device: header and entry
 * validation, fallback to the backup header, and lookup of a guest's partition by name or
 * unique GUID. A table that is damaged beyond its CRCs or inconsistent (entries outside the
 * usable range, reversed, or overlapping) is refused as a whole: a hypervisor that hands disk
 * areas to guests must not guess which of two overlapping partitions is meant. */
#ifndef TESSERA_GPT_H
#define TESSERA_GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bootinfo.h"
#include "disk/blkdev.h"

#define GPT_MAX_PARTITIONS 128      /* used entries we keep; more is refused */
#define GPT_MAX_ENTRIES    4096     /* array entries (used or not) we are willing to read */
#define GPT_DIAG_MAX       200
#define GPT_GUID_TEXT_LEN  36       /* 8-4-4-4-12 hex digits and dashes, no braces */

/* gpt_read results besides BLKDEV_OK (0). */
#define GPT_ENOTABLE      -10       /* neither header (with its entry array) is valid */
#define GPT_EINCONSISTENT -11       /* CRCs good, but the entries contradict each other or the header */

/* GUIDs stay in the on-disk (mixed-endian) byte order: the first three fields little-endian,
 * the last two as bytes, which is also the order of the text form's last 16 digits. */
struct gpt_partition {
    uint32_t index;                 /* entry number in the array, 0-based (sgdisk shows index + 1) */
    uint8_t type_guid[16];
    uint8_t unique_guid[16];
    uint64_t first_lba, last_lba;   /* inclusive */
    uint64_t attributes;
    char name[DISK_PART_NAME_MAX];  /* UTF-16LE name as ASCII; every non-ASCII character is '?' */
};

struct gpt_table {
    uint32_t sector_size;
    uint64_t disk_sectors;
    uint8_t disk_guid[16];
    uint64_t first_usable, last_usable;  /* inclusive */
    bool protective_mbr;            /* LBA 0 is an MBR with a type 0xEE entry (not required) */
    bool used_backup;               /* the primary was bad; diag says why */
    unsigned count;
    struct gpt_partition part[GPT_MAX_PARTITIONS];   /* in entry-array order */
    char diag[GPT_DIAG_MAX];        /* why the table was refused, or a note such as "backup used" */
    uint8_t scratch[BLKDEV_MAX_SECTOR_SIZE];          /* sector buffer, keeps gpt_read off the stack */
};

/* Read and validate the GPT of d (sector size 512 or 4096). Returns BLKDEV_OK with t filled in
 * (t->diag may hold a note), GPT_ENOTABLE, GPT_EINCONSISTENT, or BLKDEV_EINVAL for an unusable
 * device description; t->diag says why in one line. Reads only LBA 0, the header sectors and
 * the entry arrays. */
int gpt_read(struct blkdev *d, struct gpt_table *t);

/* The partition a guest configuration names: if spec is GUID text (case-insensitive) it is
 * matched against unique partition GUIDs, otherwise against names, exactly. Returns NULL, with
 * the reason in why, when nothing or more than one partition matches, or when the match is the
 * EFI system partition (never given to a guest). why may be NULL. */
const struct gpt_partition *gpt_find(const struct gpt_table *t, const char *spec, char *why, size_t why_len);

bool gpt_is_esp(const struct gpt_partition *p);

/* GUID text <-> on-disk bytes. parse accepts exactly 36 characters, hex digits in either case. */
bool gpt_guid_parse(const char *text, uint8_t guid[16]);
void gpt_guid_format(const uint8_t guid[16], char text[GPT_GUID_TEXT_LEN + 1]);

#endif
