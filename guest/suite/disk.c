/* The minidisk as the guest sees it: a virtio-blk device found on PCI bus 0 and driven by
 * lib/virtio_blk.c. Capacity and block size, reads and writes at both ends, requests outside the
 * disk, FLUSH, GET_ID, an unknown request type, the read-only case, hostile descriptor chains
 * and a persistence marker.
 *
 * Command line:
 *   disk=none|check      none: skip everything; check: a device must be present (default: check
 *                        when one is present, otherwise one SKIP line)
 *   disk_sectors=N       the capacity the configuration gave this guest
 *   disk_ro=yes|no       whether the device must offer VIRTIO_BLK_F_RO
 *   disk_scratch=yes     do not restore the sectors the write checks overwrite
 *   pci=assign           re-place the device's memory BARs even when already assigned
 *   persist=write|check  write / look for the marker in sector 1 ("tessera-persist NAME N\n",
 *                        N from persist_tag=N, default the HC_GUEST_ID or 0)
 *   name=NAME            the name in the marker (default guest<ID>)
 *
 * Every request the hostile-chain checks submit is a read, so none of them can change the disk.
 * Such a chain must either complete with IOERR or put the device in NEEDS_RESET (then the driver
 * resets and re-initialises it); either way the next good read must return the right data. */
#include "console.h"
#include "hcall.h"
#include "identity.h"
#include "suite.h"
#include "tap.h"
#include "virtio_blk.h"

#define SECTOR       VIRTIO_BLK_SECTOR
#define MULTI_SECTORS 32u                          /* 16 KiB: four 4 KiB segments */
#define PERSIST_SECTOR 1u
#define FAR_BEYOND_RAM 0x8000000000ull            /* 512 GiB: no RAM, no device */
#define STATUS_UNTOUCHED 0xEE

static struct virtio_blk vb;
static uint8_t reference[SECTOR] __attribute__((aligned(SECTOR)));     /* sector 0 as first read */
static uint8_t buf[MULTI_SECTORS * SECTOR] __attribute__((aligned(4096)));
static uint8_t saved[MULTI_SECTORS * SECTOR] __attribute__((aligned(4096)));
static uint8_t pattern[MULTI_SECTORS * SECTOR] __attribute__((aligned(4096)));
static struct virtio_blk_req_header hostile_header;
static uint8_t hostile_data[SECTOR] __attribute__((aligned(SECTOR)));
static volatile uint8_t hostile_status;

static bool same(const uint8_t *a, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

static void fill_pattern(uint8_t *p, unsigned n, uint64_t sector, uint8_t salt)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 13u + (unsigned)(sector + i / SECTOR) * 7u + salt);
}

/* After a request that left the driver out of step with the device: reset and start again. */
static bool recover(void)
{
    if (vb.ready)
        return true;
    if (virtio_blk_init(&vb) == 0)
        return true;
    tap_diag("re-initialisation failed: %s", vb.error);
    return false;
}

static void expect_status(const char *what, int got, int want)
{
    if (!tap_check(got == want, "virtio-blk: %s -> %s", what, virtio_blk_result_name(want)))
        tap_diag("got %s (%d)", virtio_blk_result_name(got), got);
    recover();
}

static void report_device(void)
{
    tap_diag("features offered 0x%lx, negotiated 0x%lx; queue size %u; capacity %lu; blk_size %u; seg_max %u",
             vb.offered, vb.features, vb.queue_size, vb.capacity, vb.blk_size, vb.seg_max);
}

static void check_geometry(const struct suite_env *env)
{
    uint64_t want = cmdline_number(env->boot, "disk_sectors", 0);
    if (!tap_check(vb.capacity != 0 && (want == 0 || vb.capacity == want), "virtio-blk: capacity non-zero%s",
                   want ? " and as configured (disk_sectors)" : ""))
        tap_diag("capacity %lu, configured %lu", vb.capacity, want);
    if (!tap_check(vb.blk_size == SECTOR, "virtio-blk: blk_size is 512"))
        tap_diag("blk_size %u (BLK_SIZE %s)", vb.blk_size,
                 virtio_blk_has(&vb, VIRTIO_BLK_F_BLK_SIZE) ? "negotiated" : "not offered");
    char ro[8];
    if (cmdline_string(env->boot, "disk_ro", ro, sizeof(ro))) {
        bool want_ro = ro[0] == 'y';
        if (!tap_check(virtio_blk_offers(&vb, VIRTIO_BLK_F_RO) == want_ro, "virtio-blk: VIRTIO_BLK_F_RO %s",
                       want_ro ? "offered (read-only minidisk)" : "not offered (writable minidisk)"))
            report_device();
    }
}

/* Write a pattern at `sector`, read it back, compare, then restore what was there. */
static void check_round_trip(const char *what, uint64_t sector, uint32_t sectors, bool restore)
{
    uint32_t bytes = sectors * SECTOR;
    int r = virtio_blk_read(&vb, sector, saved, sectors);
    fill_pattern(pattern, bytes, sector, 0x5A);
    int w = r == VIRTIO_BLK_S_OK ? virtio_blk_write(&vb, sector, pattern, sectors) : r;
    for (unsigned i = 0; i < bytes; i++)
        buf[i] = 0;
    int rb = w == VIRTIO_BLK_S_OK ? virtio_blk_read(&vb, sector, buf, sectors) : w;
    bool ok = rb == VIRTIO_BLK_S_OK && same(buf, pattern, bytes);
    int back = VIRTIO_BLK_S_OK;
    if (restore && r == VIRTIO_BLK_S_OK && w == VIRTIO_BLK_S_OK)
        back = virtio_blk_write(&vb, sector, saved, sectors);
    if (!tap_check(ok && back == VIRTIO_BLK_S_OK, "virtio-blk: write and read back %s", what))
        tap_diag("save %s, write %s, read back %s (%s), restore %s", virtio_blk_result_name(r),
                 virtio_blk_result_name(w), virtio_blk_result_name(rb), ok ? "data right" : "data WRONG",
                 virtio_blk_result_name(back));
    recover();
}

static void check_read_only(void)
{
    fill_pattern(pattern, SECTOR, 0, 0xA5);
    int w = virtio_blk_write(&vb, 0, pattern, 1);
    recover();
    int r = virtio_blk_read(&vb, 0, buf, 1);
    bool unchanged = r == VIRTIO_BLK_S_OK && same(buf, reference, SECTOR);
    if (!tap_check(w == VIRTIO_BLK_S_IOERR && unchanged, "virtio-blk: write to a read-only minidisk -> IOERR, data unchanged"))
        tap_diag("write %s, read %s, data %s", virtio_blk_result_name(w), virtio_blk_result_name(r),
                 unchanged ? "unchanged" : "CHANGED or unreadable");
    recover();
}

static void check_out_of_range(bool writable)
{
    uint64_t last = vb.capacity - 1;
    expect_status("read crossing the end (last sector, 2 sectors)", virtio_blk_read(&vb, last, buf, 2),
                  VIRTIO_BLK_S_IOERR);
    expect_status("read starting at the capacity", virtio_blk_read(&vb, vb.capacity, buf, 1), VIRTIO_BLK_S_IOERR);
    expect_status("read of sector 2^64-1", virtio_blk_read(&vb, UINT64_MAX, buf, 1), VIRTIO_BLK_S_IOERR);
    expect_status("read of sector 2^64-1, 2 sectors (wraps)", virtio_blk_read(&vb, UINT64_MAX, buf, 2),
                  VIRTIO_BLK_S_IOERR);
    if (!writable)
        return;
    /* The write crossing the end must not touch the last sector either. */
    int before = virtio_blk_read(&vb, last, saved, 1);
    fill_pattern(pattern, 2 * SECTOR, last, 0x3C);
    int w = virtio_blk_write(&vb, last, pattern, 2);
    recover();
    int after = virtio_blk_read(&vb, last, buf, 1);
    bool unchanged = before == VIRTIO_BLK_S_OK && after == VIRTIO_BLK_S_OK && same(buf, saved, SECTOR);
    if (!tap_check(w == VIRTIO_BLK_S_IOERR && unchanged,
                   "virtio-blk: write crossing the end -> IOERR, last sector unchanged"))
        tap_diag("write %s, last sector %s", virtio_blk_result_name(w), unchanged ? "unchanged" : "CHANGED or unreadable");
    recover();
    expect_status("write starting at the capacity", virtio_blk_write(&vb, vb.capacity, pattern, 1),
                  VIRTIO_BLK_S_IOERR);
    expect_status("write of sector 2^64-1", virtio_blk_write(&vb, UINT64_MAX, pattern, 1), VIRTIO_BLK_S_IOERR);
}

static void check_requests(const struct suite_env *env)
{
    if (virtio_blk_offers(&vb, VIRTIO_BLK_F_FLUSH))
        expect_status("FLUSH", virtio_blk_flush(&vb), VIRTIO_BLK_S_OK);
    else
        tap_skip("virtio-blk: FLUSH -> OK", "the device does not offer VIRTIO_BLK_F_FLUSH");

    char id[VIRTIO_BLK_ID_BYTES];
    for (unsigned i = 0; i < sizeof(id); i++)
        id[i] = (char)0xAA;
    int r = virtio_blk_get_id(&vb, id);
    /* Printable characters, then NULs up to 20 bytes (or 20 characters). */
    unsigned len = 0, bad_padding = 0;
    while (len < sizeof(id) && id[len] >= 0x20 && id[len] < 0x7F)
        len++;
    for (unsigned i = len; i < sizeof(id); i++)
        bad_padding += id[i] != '\0';
    char text[VIRTIO_BLK_ID_BYTES + 1];
    for (unsigned i = 0; i < len; i++)
        text[i] = id[i];
    text[len] = '\0';
    /* QEMU writes only strlen + 1 bytes, so the padding is only required under Tessera. */
    bool tessera = env->guest_id >= 0;
    bool ok = r == VIRTIO_BLK_S_OK && (len == sizeof(id) || id[len] == '\0') &&
              (!tessera || (bad_padding == 0 && len > 0));
    if (!tap_check(ok, "virtio-blk: GET_ID -> OK, NUL-padded string"))
        tap_diag("status %s, id \"%s\", %u bytes of padding not NUL", virtio_blk_result_name(r), text, bad_padding);
    else
        tap_diag("id \"%s\"", text);
    recover();

    expect_status("request type 0xFF", virtio_blk_request(&vb, 0xFF, 0, 0, 0), VIRTIO_BLK_S_UNSUPP);
}

/* Submits a hostile chain and checks the outcome and the next good read. `status_writable`:
 * whether the chain's last descriptor is a writable status byte the device may set to IOERR. */
static bool under_tessera;

static void hostile(const char *what, const struct virtq_desc *chain, unsigned count, uint16_t head,
                    bool status_writable)
{
    hostile_header = (struct virtio_blk_req_header){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
    hostile_status = STATUS_UNTOUCHED;
    struct vblk_completion c = virtio_blk_submit_raw(&vb, chain, count, head);
    const char *outcome;
    bool refused;
    if (c.result == 0 && status_writable) {
        refused = hostile_status == VIRTIO_BLK_S_IOERR;
        outcome = hostile_status == STATUS_UNTOUCHED ? "completed, status byte not written"
                                                     : virtio_blk_result_name(hostile_status);
    } else if (c.result == 0) {
        refused = hostile_status == STATUS_UNTOUCHED;   /* it must not write a read-only buffer */
        outcome = refused ? "completed, read-only status byte untouched" : "completed, read-only status byte WRITTEN";
    } else {
        refused = c.result == VBLK_ENEEDS_RESET;
        outcome = virtio_blk_result_name(c.result);
    }
    bool reinit = !vb.ready;
    bool recovered = recover();
    for (unsigned i = 0; i < SECTOR; i++)
        buf[i] = 0;
    int r = recovered ? virtio_blk_read(&vb, 0, buf, 1) : VBLK_ENOTREADY;
    bool intact = r == VIRTIO_BLK_S_OK && same(buf, reference, SECTOR);
    /* QEMU (no Tessera underneath) completes DMA to unassigned addresses, dropping the data:
     * there a buffer outside RAM is no error, so only the next read is checked. */
    if (!under_tessera && c.result == 0 && hostile_status == VIRTIO_BLK_S_OK && intact) {
        tap_skipf("outside Tessera the device may accept it (QEMU discards DMA to unassigned addresses); next read intact",
                  "virtio-blk: hostile chain (%s) refused, next read intact", what);
        recover();
        return;
    }
    if (!tap_check(refused && intact, "virtio-blk: hostile chain (%s) refused, next read intact", what))
        tap_diag("outcome %s; next read %s, data %s", outcome, virtio_blk_result_name(r), intact ? "right" : "WRONG");
    else
        tap_diag("outcome: %s%s", outcome, reinit ? ", device re-initialised" : "");
    recover();
}

static void check_hostile_chains(const struct suite_env *env)
{
    under_tessera = env->guest_id >= 0;
    const uint64_t header = (uint64_t)(uintptr_t)&hostile_header;
    const uint64_t data = (uint64_t)(uintptr_t)hostile_data;
    const uint64_t status = (uint64_t)(uintptr_t)&hostile_status;
    const uint16_t n = vb.queue_size;
    const uint16_t chained = VIRTQ_DESC_F_NEXT, w_chained = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE;
    struct virtq_desc hdr = { header, sizeof(hostile_header), chained, 1 };
    struct virtq_desc st = { status, 1, VIRTQ_DESC_F_WRITE, 0 };
    uint64_t ram_end = env->boot->ram_end;

    struct virtq_desc far[3] = { hdr, { FAR_BEYOND_RAM, SECTOR, w_chained, 2 }, st };
    hostile("data buffer far beyond guest RAM", far, 3, 0, true);

    if (ram_end > SECTOR) {
        struct virtq_desc straddle[3] = { hdr, { ram_end - SECTOR / 2, SECTOR, w_chained, 2 }, st };
        hostile("data buffer straddling the end of RAM", straddle, 3, 0, true);
    }

    struct virtq_desc wrap[3] = { hdr, { UINT64_MAX - SECTOR + 1, 2 * SECTOR, w_chained, 2 }, st };
    hostile("data buffer whose address + length wraps", wrap, 3, 0, true);

    struct virtq_desc huge[3] = { hdr, { data, UINT32_MAX, w_chained, 2 }, st };
    hostile("data length 0xFFFFFFFF", huge, 3, 0, true);

    struct virtq_desc loop[3] = { hdr, { data, SECTOR, w_chained, 2 }, { status, 1, w_chained, 1 } };
    hostile("chain loops back to an earlier descriptor", loop, 3, 0, true);

    /* Every descriptor of the table in one cycle: longer than the queue. */
    static struct virtq_desc cycle[VBLK_QUEUE_MAX];
    cycle[0] = hdr;
    for (uint16_t i = 1; i < n; i++)
        cycle[i] = (struct virtq_desc){ data, SECTOR, w_chained, (uint16_t)((i + 1) % n) };
    hostile("chain longer than the queue: every descriptor in one cycle", cycle, n, 0, true);

    struct virtq_desc ro_status[3] = { hdr, { data, SECTOR, w_chained, 2 }, { status, 1, 0, 0 } };
    hostile("status descriptor not device-writable", ro_status, 3, 0, false);

    struct virtq_desc bad_next[3] = { { header, sizeof(hostile_header), chained, (uint16_t)(n + 3) },
                                      { data, SECTOR, w_chained, 2 }, st };
    hostile("next index beyond the queue size", bad_next, 3, 0, true);

    struct virtq_desc good[3] = { hdr, { data, SECTOR, w_chained, 2 }, st };
    hostile("available ring names a head beyond the queue size", good, 3, (uint16_t)(n + 7), true);

    struct virtq_desc short_header[3] = { { header, 8, chained, 1 }, { data, SECTOR, w_chained, 2 }, st };
    hostile("request header shorter than 16 bytes", short_header, 3, 0, true);
}

/* Builds the marker sector; returns the length of its text without the newline. */
static unsigned persist_marker(char *out, const struct suite_env *env)
{
    char name[GUEST_NAME_MAX];
    guest_name(env->boot, name, sizeof(name));
    uint64_t tag = cmdline_number(env->boot, "persist_tag", env->guest_id >= 0 ? (uint64_t)env->guest_id : 0);
    for (unsigned i = 0; i < SECTOR; i++)
        out[i] = 0;
    static const char prefix[] = "tessera-persist ";
    unsigned n = 0;
    for (unsigned i = 0; prefix[i]; i++)
        out[n++] = prefix[i];
    for (unsigned i = 0; name[i]; i++)
        out[n++] = name[i];
    out[n++] = ' ';
    char digits[20];
    unsigned count = 0;
    do {
        digits[count++] = (char)('0' + tag % 10);
        tag /= 10;
    } while (tag);
    while (count)
        out[n++] = digits[--count];
    out[n] = '\n';
    return n;
}

static void check_persistence(const struct suite_env *env, bool writing, bool writable)
{
    char mode[8];
    if (!cmdline_string(env->boot, "persist", mode, sizeof(mode)))
        return;
    bool write_mode = mode[0] == 'w';
    if (write_mode != writing)
        return;
    if (vb.capacity <= PERSIST_SECTOR) {
        tap_skip("persistence: marker in sector 1", "the minidisk has no sector 1");
        return;
    }
    unsigned text_len = persist_marker((char *)pattern, env);
    char text[SECTOR];
    for (unsigned i = 0; i < text_len; i++)
        text[i] = (char)pattern[i];
    text[text_len] = '\0';
    if (write_mode) {
        if (!writable) {
            tap_skip("persistence: marker written to sector 1", "read-only minidisk");
            return;
        }
        int w = virtio_blk_write(&vb, PERSIST_SECTOR, pattern, 1);
        int f = w == VIRTIO_BLK_S_OK && virtio_blk_offers(&vb, VIRTIO_BLK_F_FLUSH) ? virtio_blk_flush(&vb) : w;
        int r = f == VIRTIO_BLK_S_OK ? virtio_blk_read(&vb, PERSIST_SECTOR, buf, 1) : f;
        if (!tap_check(r == VIRTIO_BLK_S_OK && same(buf, pattern, SECTOR), "persistence: marker written to sector 1"))
            tap_diag("write %s, flush %s, read %s", virtio_blk_result_name(w), virtio_blk_result_name(f),
                     virtio_blk_result_name(r));
        else
            tap_diag("marker: %s", text);
    } else {
        int r = virtio_blk_read(&vb, PERSIST_SECTOR, buf, 1);
        bool found = r == VIRTIO_BLK_S_OK && same(buf, pattern, SECTOR);
        if (!tap_check(found, "persistence: marker from the previous boot found"))
            tap_diag("read %s; want \"%s\\n\" and NULs", virtio_blk_result_name(r), text);
    }
    recover();
}

void suite_disk(const struct suite_env *env)
{
    char mode[8];
    cmdline_string(env->boot, "disk", mode, sizeof(mode));
    if (mode[0] == 'n') {
        tap_skip("virtio-blk: all checks", "disk=none");
        return;
    }
    int found = virtio_blk_probe(&vb, env->boot, cmdline_has_word(env->boot, "pci=assign"));
    if (found == 1 && mode[0] != 'c') {
        tap_skip("virtio-blk: no device", "no minidisk configured");
        return;
    }
    if (!tap_check(found == 0, "virtio-blk: device found and initialised")) {
        tap_diag("%s", found == 1 ? "no virtio-blk function on PCI bus 0" : vb.error);
        return;
    }
    report_device();
    check_geometry(env);
    if (vb.capacity == 0) {
        virtio_blk_reset(&vb);
        return;
    }

    bool writable = !virtio_blk_offers(&vb, VIRTIO_BLK_F_RO);
    bool restore = !cmdline_has_word(env->boot, "disk_scratch=yes");
    check_persistence(env, false, writable);
    int r = virtio_blk_read(&vb, 0, reference, 1);
    if (!tap_check(r == VIRTIO_BLK_S_OK, "virtio-blk: read of the first sector"))
        tap_diag("%s", virtio_blk_result_name(r));
    recover();
    r = virtio_blk_read(&vb, vb.capacity - 1, buf, 1);
    if (!tap_check(r == VIRTIO_BLK_S_OK, "virtio-blk: read of the last sector"))
        tap_diag("%s", virtio_blk_result_name(r));
    recover();

    if (writable) {
        check_round_trip("the first sector", 0, 1, restore);
        check_round_trip("the last sector", vb.capacity - 1, 1, restore);
        if (vb.capacity >= MULTI_SECTORS)
            check_round_trip("32 sectors in one request (4 segments)", vb.capacity - MULTI_SECTORS, MULTI_SECTORS,
                             restore);
        /* The hostile checks compare against sector 0 as it is now. */
        virtio_blk_read(&vb, 0, reference, 1);
        recover();
    } else {
        check_read_only();
        tap_skip("virtio-blk: write and read back the first and last sectors", "read-only minidisk");
    }
    check_out_of_range(writable);
    check_requests(env);
    check_hostile_chains(env);
    check_persistence(env, true, writable);
    /* The RAM checks that follow rewrite the rings: the device must not be using them. */
    virtio_blk_reset(&vb);
}
