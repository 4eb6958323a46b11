/* Host-side check of the ten-guest minidisk scenario: given the disk image before and after the
 * run and where each guest's minidisk lies, proves that every sector of each minidisk holds
 * exactly the diskfill pattern of its guest (guest/lib/diskpattern.h) and that every byte outside
 * the minidisks (protective MBR, GPT headers and entries, ESP, gaps, backup GPT, partitions no
 * guest was given) is unchanged.
 *
 *   diskimage_check BEFORE.img AFTER.img FIRST_LBA:LAST_LBA:GUEST_NAME...
 *
 * LBAs are 512-byte sectors, both inclusive (as `sgdisk -p` prints them); GUEST_NAME is the name
 * the guest used in its pattern (its `name=` command-line value). Output: one "ok - ..." or
 * "not ok - ..." line per minidisk and one for the rest of the disk. Exit status 0 when all
 * hold, 1 when something differs, 2 on bad arguments or unreadable images. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "diskpattern.h"

#define SECTOR        DISKPATTERN_SECTOR
#define CHUNK_SECTORS 2048u        /* 1 MiB per read */
#define MAX_MINIDISKS 64

struct minidisk {
    uint64_t first, last;          /* inclusive LBAs in the image */
    const char *name;
    uint32_t seed;
    uint64_t wrong_sectors, first_wrong;   /* first_wrong: minidisk-relative sector */
    size_t first_wrong_byte;
};

static int usage(const char *why)
{
    fprintf(stderr, "diskimage_check: %s\nusage: diskimage_check BEFORE.img AFTER.img FIRST_LBA:LAST_LBA:GUEST_NAME...\n",
            why);
    return 2;
}

static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
    if (s == end)
        return false;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t digit = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

static bool parse_minidisk(const char *arg, struct minidisk *md)
{
    const char *c1 = strchr(arg, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || !parse_u64(arg, c1, &md->first) || !parse_u64(c1 + 1, c2, &md->last) || md->first > md->last ||
        c2[1] == '\0')
        return false;
    md->name = c2 + 1;
    md->seed = diskpattern_seed(md->name);
    if (strlen(md->name) > DISKPATTERN_NAME_BYTES)
        fprintf(stderr, "diskimage_check: note: name '%s' is cut to %u bytes in the pattern\n", md->name,
                DISKPATTERN_NAME_BYTES);
    return true;
}

static int by_first(const void *a, const void *b)
{
    const struct minidisk *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return i;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage("need two images and at least one minidisk");
    static struct minidisk disks[MAX_MINIDISKS];
    unsigned n = 0;
    for (int i = 3; i < argc; i++) {
        if (n == MAX_MINIDISKS)
            return usage("too many minidisks");
        if (!parse_minidisk(argv[i], &disks[n]))
            return usage("bad minidisk (want FIRST_LBA:LAST_LBA:GUEST_NAME, FIRST <= LAST)");
        n++;
    }
    qsort(disks, n, sizeof(disks[0]), by_first);
    for (unsigned i = 1; i < n; i++) {
        if (disks[i].first <= disks[i - 1].last)
            return usage("minidisks overlap");
    }

    FILE *before = fopen(argv[1], "rb"), *after = fopen(argv[2], "rb");
    if (!before || !after) {
        fprintf(stderr, "diskimage_check: cannot open %s: %s\n", !before ? argv[1] : argv[2], strerror(errno));
        return 2;
    }
    struct stat sb, sa;
    if (fstat(fileno(before), &sb) != 0 || fstat(fileno(after), &sa) != 0)
        return usage("cannot stat the images");
    if (sb.st_size != sa.st_size) {
        printf("not ok - image size unchanged (before %jd bytes, after %jd)\n", (intmax_t)sb.st_size,
               (intmax_t)sa.st_size);
        return 1;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size % SECTOR != 0)
        return usage("image size is not a whole number of 512-byte sectors");
    uint64_t sectors = size / SECTOR;
    if (disks[n - 1].last >= sectors)
        return usage("a minidisk reaches beyond the end of the image");

    static uint8_t old[CHUNK_SECTORS * SECTOR], now[CHUNK_SECTORS * SECTOR];
    uint8_t want[SECTOR];
    uint64_t outside_bytes = 0, outside_changed = 0, first_changed = 0;
    unsigned current = 0;          /* first minidisk not yet behind us */
    for (uint64_t at = 0; at < sectors; at += CHUNK_SECTORS) {
        size_t count = sectors - at < CHUNK_SECTORS ? (size_t)(sectors - at) : CHUNK_SECTORS;
        if (fread(old, SECTOR, count, before) != count || fread(now, SECTOR, count, after) != count) {
            fprintf(stderr, "diskimage_check: short read at sector %" PRIu64 "\n", at);
            return 2;
        }
        for (size_t i = 0; i < count; i++) {
            uint64_t lba = at + i;
            while (current < n && disks[current].last < lba)
                current++;
            const uint8_t *o = old + i * SECTOR, *c = now + i * SECTOR;
            if (current < n && lba >= disks[current].first) {
                struct minidisk *md = &disks[current];
                diskpattern_sector(want, md->name, md->seed, lba - md->first);
                size_t diff = first_difference(c, want, SECTOR);
                if (diff < SECTOR && md->wrong_sectors++ == 0) {
                    md->first_wrong = lba - md->first;
                    md->first_wrong_byte = diff;
                }
            } else {
                outside_bytes += SECTOR;
                size_t diff = first_difference(o, c, SECTOR);
                if (diff < SECTOR) {
                    if (outside_changed == 0)
                        first_changed = lba * SECTOR + diff;
                    for (size_t b = diff; b < SECTOR; b++)
                        outside_changed += o[b] != c[b];
                }
            }
        }
    }

    int status = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct minidisk *md = &disks[i];
        uint64_t len = md->last - md->first + 1;
        if (md->wrong_sectors == 0) {
            printf("ok - minidisk at LBA %" PRIu64 "..%" PRIu64 " holds the pattern of '%s' on all %" PRIu64
                   " sectors\n", md->first, md->last, md->name, len);
        } else {
            printf("not ok - minidisk at LBA %" PRIu64 "..%" PRIu64 " holds the pattern of '%s' on all %" PRIu64
                   " sectors\n  # %" PRIu64 " sectors differ; the first is minidisk sector %" PRIu64
                   " (LBA %" PRIu64 "), byte %zu\n", md->first, md->last, md->name, len, md->wrong_sectors,
                   md->first_wrong, md->first + md->first_wrong, md->first_wrong_byte);
            status = 1;
        }
    }
    if (outside_changed == 0) {
        printf("ok - all %" PRIu64 " bytes outside the minidisks are unchanged\n", outside_bytes);
    } else {
        printf("not ok - all %" PRIu64 " bytes outside the minidisks are unchanged\n  # %" PRIu64
               " bytes changed; the first at image offset %" PRIu64 " (LBA %" PRIu64 ")\n", outside_bytes,
               outside_changed, first_changed, first_changed / SECTOR);
        status = 1;
    }
    return status;
}
