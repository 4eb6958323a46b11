/* flood: a guest that floods its virtio-blk queue with maximal requests until a deadline, to
 * prove that no guest can make the hypervisor work for it without bound in one exit. Every
 * descriptor of the queue is in use: chains of a header, as many data segments as SEG_MAX
 * allows and a status byte, each chain reading the whole minidisk (or as much of it as the
 * buffer holds); every available-ring entry names one of those chains, so the same head is made
 * available many times per notify. Then notify, poll a little, notify again, and refill the ring
 * whenever the device has used everything. Each notify is timed: the MMIO write must return
 * within a small fraction of a time slice (notifies the guest was preempted during are not
 * counted). After the deadline the device is reset and must read back, correctly, the sectors
 * written before the flood.
 *
 * Command line: run_ms=N (default 4000), notify_limit_us=N (default 5000).
 * Output: TAP lines, "N passed, M failed"; exit status 0 through port 0xF4 when all passed. */
#include "console.h"
#include "cpu.h"
#include "diskpattern.h"
#include "hcall.h"
#include "tap.h"
#include "virtio_blk.h"

#define DEFAULT_RUN_MS          4000u
#define DEFAULT_NOTIFY_LIMIT_US 5000u
#define BUFFER_BYTES            (8u << 20)   /* the largest request: the whole minidisk up to this */
#define CHECK_SECTORS           8u           /* pattern sectors at each end of the disk */
#define POLL_US                 500u         /* polling between two notifies */
#define STATUS_EVERY            1024u        /* device status (an exit) every this many polls */
#define PATTERN_NAME            "flood"

static struct virtio_blk vb;
static uint8_t buffer[BUFFER_BYTES] __attribute__((aligned(4096)));
static uint8_t check[2 * CHECK_SECTORS * VIRTIO_BLK_SECTOR] __attribute__((aligned(4096)));
static struct virtio_blk_req_header header __attribute__((aligned(64)));
static volatile uint8_t status[VBLK_QUEUE_MAX];
static struct virtq_desc table[VBLK_QUEUE_MAX];
static uint16_t heads[VBLK_QUEUE_MAX];

struct flood {
    uint64_t khz;
    unsigned chains, descriptors, segments_per_chain;
    uint64_t request_bytes;
    uint64_t rounds, notifies, timed_notifies, preempted_notifies, longest_notify_ticks;
    uint64_t completions, not_ok, resets;
};

/* The chains: as many as fit, each with up to SEG_MAX data segments (the last one takes the
 * descriptors left over, if at least three). Returns how many descriptors are in use. */
static unsigned build_chains(struct flood *f)
{
    unsigned queue = vb.queue_size;
    unsigned max_segments = vb.seg_max != 0 && vb.seg_max < queue - 2 ? vb.seg_max : queue - 2;
    uint64_t sectors = vb.capacity < BUFFER_BYTES / VIRTIO_BLK_SECTOR ? vb.capacity : BUFFER_BYTES / VIRTIO_BLK_SECTOR;
    if (sectors < max_segments)
        max_segments = (unsigned)sectors;
    f->request_bytes = sectors * VIRTIO_BLK_SECTOR;
    f->segments_per_chain = max_segments;
    header = (struct virtio_blk_req_header){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
    unsigned used = 0;
    f->chains = 0;
    while (queue - used >= 3 && max_segments > 0) {
        unsigned segments = queue - used - 2 < max_segments ? queue - used - 2 : max_segments;
        uint16_t head = (uint16_t)used;
        table[used] = (struct virtq_desc){ .addr = (uint64_t)(uintptr_t)&header, .len = sizeof(header),
                                           .flags = VIRTQ_DESC_F_NEXT, .next = (uint16_t)(used + 1) };
        used++;
        /* The whole request split over `segments` descriptors, sectors spread evenly. */
        uint64_t per = sectors / segments, extra = sectors % segments, at = 0;
        for (unsigned s = 0; s < segments; s++) {
            uint64_t n = per + (s < extra ? 1 : 0);
            table[used] = (struct virtq_desc){ .addr = (uint64_t)(uintptr_t)buffer + at * VIRTIO_BLK_SECTOR,
                                               .len = (uint32_t)(n * VIRTIO_BLK_SECTOR),
                                               .flags = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
                                               .next = (uint16_t)(used + 1) };
            at += n;
            used++;
        }
        status[f->chains] = 0xFF;
        table[used] = (struct virtq_desc){ .addr = (uint64_t)(uintptr_t)&status[f->chains], .len = 1,
                                           .flags = VIRTQ_DESC_F_WRITE };
        used++;
        heads[f->chains++] = head;
    }
    virtio_blk_place_descriptors(&vb, table, used);
    return used;
}

static void restart_device(struct flood *f)
{
    f->resets++;
    if (virtio_blk_init(&vb) == 0)
        build_chains(f);
}

static void notify_timed(struct flood *f)
{
    int64_t slices_before = hypercall(HC_SLICES, 0, 0, 0);
    uint64_t start = rdtsc();
    virtio_blk_notify(&vb);
    uint64_t took = rdtsc() - start;
    int64_t slices_after = hypercall(HC_SLICES, 0, 0, 0);
    f->notifies++;
    if (slices_before != slices_after) {
        f->preempted_notifies++;      /* other guests ran meanwhile: says nothing about the exit */
        return;
    }
    f->timed_notifies++;
    if (took > f->longest_notify_ticks)
        f->longest_notify_ticks = took;
}

static void flood_until(struct flood *f, uint64_t deadline)
{
    uint16_t posted_to = vb.avail_idx, seen = virtio_blk_used_idx(&vb);
    for (uint64_t now = rdtsc(); now < deadline; now = rdtsc()) {
        if (seen == posted_to) {
            for (unsigned c = 0; c < f->chains; c++)
                status[c] = 0xFF;
            virtio_blk_make_available(&vb, heads, f->chains, vb.queue_size);
            posted_to = vb.avail_idx;
            f->rounds++;
        }
        notify_timed(f);
        bool restarted = false;
        uint64_t poll_end = rdtsc() + POLL_US * f->khz / 1000;
        for (unsigned spin = 1; rdtsc() < poll_end && seen != posted_to; spin++) {
            uint16_t used = virtio_blk_used_idx(&vb);
            if (used != seen) {
                f->completions += (uint16_t)(used - seen);
                seen = used;
            }
            if (spin % STATUS_EVERY == 0 && (virtio_blk_device_status(&vb) & VIRTIO_STATUS_NEEDS_RESET)) {
                restart_device(f);            /* the rings start over at index 0 */
                posted_to = seen = virtio_blk_used_idx(&vb);
                restarted = true;
                break;
            }
            asm volatile("pause");
        }
        if (seen == posted_to && !restarted) {
            for (unsigned c = 0; c < f->chains; c++)
                f->not_ok += status[c] != VIRTIO_BLK_S_OK;
        }
    }
}

static uint64_t last_sectors_at(void)
{
    return vb.capacity - CHECK_SECTORS;
}

static void fill_check_pattern(uint8_t *out)
{
    uint32_t seed = diskpattern_seed(PATTERN_NAME);
    for (unsigned i = 0; i < CHECK_SECTORS; i++) {
        diskpattern_sector(out + i * VIRTIO_BLK_SECTOR, PATTERN_NAME, seed, i);
        diskpattern_sector(out + (CHECK_SECTORS + i) * VIRTIO_BLK_SECTOR, PATTERN_NAME, seed, last_sectors_at() + i);
    }
}

/* Reads both ends and compares them with the pattern; returns the failing result or 0. */
static int read_and_compare(unsigned *wrong_sectors)
{
    static uint8_t expected[sizeof(check)];
    fill_check_pattern(expected);
    for (unsigned i = 0; i < sizeof(check); i++)
        check[i] = 0;
    int r = virtio_blk_read(&vb, 0, check, CHECK_SECTORS);
    if (r == VIRTIO_BLK_S_OK)
        r = virtio_blk_read(&vb, last_sectors_at(), check + CHECK_SECTORS * VIRTIO_BLK_SECTOR, CHECK_SECTORS);
    *wrong_sectors = 0;
    for (unsigned s = 0; s < 2 * CHECK_SECTORS; s++) {
        bool same = true;
        for (unsigned b = 0; b < VIRTIO_BLK_SECTOR && same; b++)
            same = check[s * VIRTIO_BLK_SECTOR + b] == expected[s * VIRTIO_BLK_SECTOR + b];
        *wrong_sectors += !same;
    }
    return r;
}

void guest_main(const struct boot_info *boot)
{
    static struct flood f;
    uint64_t start = rdtsc();
    f.khz = hv_tsc_khz();
    if (f.khz == 0)
        tap_bail_out("flood: the TSC rate is known (CPUID 0x40000010)", "no TSC rate from Tessera");
    uint64_t deadline = start + cmdline_number(boot, "run_ms", DEFAULT_RUN_MS) * f.khz;
    uint64_t limit_us = cmdline_number(boot, "notify_limit_us", DEFAULT_NOTIFY_LIMIT_US);

    int found = virtio_blk_probe(&vb, boot, false);
    if (!tap_check(found == 0 && vb.capacity >= 2 * CHECK_SECTORS && !virtio_blk_offers(&vb, VIRTIO_BLK_F_RO),
                   "flood: a writable virtio-blk device found and initialised")) {
        tap_diag("%s; capacity %lu", found == 1 ? "no virtio-blk function on PCI bus 0" : found ? vb.error : "ok",
                 vb.capacity);
        tap_finish();
    }

    fill_check_pattern(check);
    int w = virtio_blk_write(&vb, 0, check, CHECK_SECTORS);
    if (w == VIRTIO_BLK_S_OK)
        w = virtio_blk_write(&vb, last_sectors_at(), check + CHECK_SECTORS * VIRTIO_BLK_SECTOR, CHECK_SECTORS);
    unsigned wrong = 0;
    int r = w == VIRTIO_BLK_S_OK ? read_and_compare(&wrong) : w;
    if (!tap_check(r == VIRTIO_BLK_S_OK && wrong == 0, "flood: %u sectors at each end written and read back",
                   CHECK_SECTORS))
        tap_diag("%s, %u sectors wrong", virtio_blk_result_name(r), wrong);

    f.descriptors = build_chains(&f);
    console_printf("flood: queue %u, seg_max %u: %u chains of up to %u segments, %u descriptors, %lu bytes per "
                   "request, %u requests per notify\n", vb.queue_size, vb.seg_max, f.chains, f.segments_per_chain,
                   f.descriptors, f.request_bytes, vb.queue_size);
    flood_until(&f, deadline);
    uint64_t longest_us = f.longest_notify_ticks * 1000 / f.khz;
    console_printf("flood: %lu refills, %lu notifies (%lu preempted), %lu completions (%lu not OK), %lu resets, "
                   "longest notify %lu us\n", f.rounds, f.notifies, f.preempted_notifies, f.completions, f.not_ok,
                   f.resets, longest_us);

    if (!tap_check(f.descriptors == vb.queue_size && f.rounds > 0 && f.notifies > 1,
                   "flood: every descriptor of the queue in use, the ring refilled and notified until the deadline"))
        tap_diag("%u of %u descriptors, %lu refills, %lu notifies", f.descriptors, vb.queue_size, f.rounds, f.notifies);
    if (!tap_check(f.timed_notifies > 0 && longest_us <= limit_us, "flood: every notify returned within %lu us",
                   limit_us))
        tap_diag("longest %lu us over %lu timed notifies", longest_us, f.timed_notifies);
    if (!tap_check(f.not_ok == 0, "flood: every flood request the device completed reported OK"))
        tap_diag("%lu completed with another status", f.not_ok);

    virtio_blk_reset(&vb);
    int init = virtio_blk_init(&vb);
    r = init == 0 ? read_and_compare(&wrong) : VBLK_ENOTREADY;
    if (!tap_check(init == 0 && r == VIRTIO_BLK_S_OK && wrong == 0,
                   "flood: after a reset the device reads the %u sectors back correctly", 2 * CHECK_SECTORS))
        tap_diag("%s; %s, %u sectors wrong", init == 0 ? "re-initialised" : vb.error, virtio_blk_result_name(r), wrong);
    tap_finish();
}
