/* diskfill: writes the pattern of lib/diskpattern.h (which documents it byte by byte) across the
 * guest's whole minidisk, flushes, reads every sector back and compares. The host-side checker
 * tests/integration/diskimage_check.c then verifies the disk image.
 *
 * Command line:
 *   name=NAME             the name in the pattern (default guest<HC_GUEST_ID>, or "guest")
 *   diskfill=fill|verify  fill (default): write, flush, read back, compare.
 *                         verify: only read and compare: the pattern of a previous boot must
 *                         still be there (persistence across a power-off). persist=check is the
 *                         same as diskfill=verify; persist=write the same as diskfill=fill.
 *   pci=assign            re-place the device's memory BARs even when already assigned
 * Output: "diskfill: wrote and verified N sectors" (or "verified N sectors from a previous boot"),
 * one "ok 1 - ..." line, and "1 passed, 0 failed"; exit status 0 through port 0xF4 on success. */
#include "console.h"
#include "diskpattern.h"
#include "identity.h"
#include "tap.h"
#include "virtio_blk.h"

#define CHUNK_SECTORS 128u          /* 64 KiB per request, split into 4 KiB segments */

static struct virtio_blk vb;
static uint8_t data[CHUNK_SECTORS * VIRTIO_BLK_SECTOR] __attribute__((aligned(4096)));
static uint8_t expected[DISKPATTERN_SECTOR];

struct run {
    const char *name;
    uint32_t seed;
    uint64_t mismatched_sectors, first_bad_sector;
    int error;                      /* first failing request's result, or VIRTIO_BLK_S_OK */
    uint64_t error_sector;
};

static void note_error(struct run *run, int result, uint64_t sector)
{
    if (run->error == VIRTIO_BLK_S_OK) {
        run->error = result;
        run->error_sector = sector;
    }
    if (!vb.ready && virtio_blk_init(&vb) != 0)
        console_printf("diskfill: re-initialising the device failed: %s\n", vb.error);
}

static void fill(struct run *run)
{
    for (uint64_t at = 0; at < vb.capacity; at += CHUNK_SECTORS) {
        uint32_t count = vb.capacity - at < CHUNK_SECTORS ? (uint32_t)(vb.capacity - at) : CHUNK_SECTORS;
        for (uint32_t i = 0; i < count; i++)
            diskpattern_sector(data + i * DISKPATTERN_SECTOR, run->name, run->seed, at + i);
        int r = virtio_blk_write(&vb, at, data, count);
        if (r != VIRTIO_BLK_S_OK)
            note_error(run, r, at);
    }
    if (virtio_blk_has(&vb, VIRTIO_BLK_F_FLUSH)) {
        int r = virtio_blk_flush(&vb);
        if (r != VIRTIO_BLK_S_OK)
            note_error(run, r, 0);
    }
}

static void verify(struct run *run)
{
    for (uint64_t at = 0; at < vb.capacity; at += CHUNK_SECTORS) {
        uint32_t count = vb.capacity - at < CHUNK_SECTORS ? (uint32_t)(vb.capacity - at) : CHUNK_SECTORS;
        for (uint32_t i = 0; i < count * DISKPATTERN_SECTOR; i++)
            data[i] = 0;
        int r = virtio_blk_read(&vb, at, data, count);
        if (r != VIRTIO_BLK_S_OK) {
            note_error(run, r, at);
            if (run->mismatched_sectors == 0)
                run->first_bad_sector = at;
            run->mismatched_sectors += count;
            continue;
        }
        for (uint32_t i = 0; i < count; i++) {
            diskpattern_sector(expected, run->name, run->seed, at + i);
            const uint8_t *got = data + i * DISKPATTERN_SECTOR;
            bool same = true;
            for (unsigned b = 0; b < DISKPATTERN_SECTOR && same; b++)
                same = got[b] == expected[b];
            if (!same && run->mismatched_sectors++ == 0)
                run->first_bad_sector = at + i;
        }
    }
}

void guest_main(const struct boot_info *boot)
{
    char name[GUEST_NAME_MAX], mode[8], persist[8];
    guest_name(boot, name, sizeof(name));
    cmdline_string(boot, "diskfill", mode, sizeof(mode));
    cmdline_string(boot, "persist", persist, sizeof(persist));
    bool verify_only = mode[0] == 'v' || (mode[0] == '\0' && persist[0] == 'c');
    console_printf("diskfill: guest \"%s\", %s\n", name, verify_only ? "verify only" : "fill and verify");

    int found = virtio_blk_probe(&vb, boot, cmdline_has_word(boot, "pci=assign"));
    if (found != 0) {
        tap_check(false, "diskfill: virtio-blk device found and initialised");
        tap_diag("%s", found == 1 ? "no virtio-blk function on PCI bus 0" : vb.error);
        tap_finish();
    }
    console_printf("diskfill: capacity %lu sectors, seg_max %u, queue size %u%s\n", vb.capacity, vb.seg_max,
                   vb.queue_size, virtio_blk_offers(&vb, VIRTIO_BLK_F_RO) ? ", read-only" : "");

    struct run run = { .name = name, .seed = diskpattern_seed(name), .error = VIRTIO_BLK_S_OK };
    if (!verify_only)
        fill(&run);
    verify(&run);
    virtio_blk_reset(&vb);

    bool ok = run.error == VIRTIO_BLK_S_OK && run.mismatched_sectors == 0 && vb.capacity != 0;
    if (ok)
        console_printf(verify_only ? "diskfill: verified %lu sectors from a previous boot\n"
                                   : "diskfill: wrote and verified %lu sectors\n", vb.capacity);
    if (!tap_check(ok, "diskfill: pattern of \"%s\" on all %lu sectors", name, vb.capacity)) {
        if (run.error != VIRTIO_BLK_S_OK)
            tap_diag("first failed request at sector %lu: %s", run.error_sector, virtio_blk_result_name(run.error));
        if (run.mismatched_sectors)
            tap_diag("%lu sectors wrong or unreadable, the first is %lu", run.mismatched_sectors,
                     run.first_bad_sector);
    }
    tap_finish();
}
