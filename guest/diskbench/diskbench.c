/* diskbench: the minidisk overhead. Asks Tessera to measure its own disk driver on this guest's
 * minidisk (HC_DISK_BENCH, benchmark mode only), then does the same work through its virtio-blk
 * device: a sequential write then read from sector 0, then 4 KiB random writes and reads at the
 * slots disk/bench_random.h draws from the same seed. Prints both rates per pattern and their
 * ratio, minidisk / driver (1.000 = no overhead). Overwrites its whole minidisk's start.
 *
 * Command line: seq_kib=N (default 8192), request_kib=N (default 1024, at most 1024),
 * random_ops=N (default 1000), seed=N (default 1).
 * Output (scripts/bench.sh reads these lines):
 *   diskbench: seq_write driver=12.3 MB/s minidisk=12.1 MB/s ratio=0.984 extra_ticks_per_request=9000
 *   diskbench: rand_read_4k driver=1550 IOPS minidisk=1480 IOPS ratio=0.955 extra_ticks_per_request=2100
 * and TAP lines for the steps, then "N passed, M failed". */
#include "boot.h"
#include "console.h"
#include "cpu.h"
#include "disk/bench_random.h"
#include "hcall.h"
#include "tap.h"
#include "virtio_blk.h"

#define RANDOM_SECTORS 8u            /* 4 KiB */

enum pattern { SEQ_WRITE, SEQ_READ, RAND_WRITE, RAND_READ, PATTERNS };
static const char *const pattern_names[PATTERNS] = { "seq_write", "seq_read", "rand_write_4k", "rand_read_4k" };

/* Work done (bytes for sequential, requests for random) and the TSC ticks it took. */
struct perf {
    uint64_t amount[PATTERNS], ticks[PATTERNS];
};

static struct virtio_blk vb;
static uint8_t buffer[HC_DISK_BENCH_REQUEST_MAX] __attribute__((aligned(4096)));
static struct hc_disk_bench request;

/* The guest's half: what diskcheck_measure does in the hypervisor, through virtio-blk.
 * Returns VIRTIO_BLK_S_OK or the first failing request's result (*at: its sector). */
static int measure_minidisk(uint64_t seq_bytes, uint32_t request_sectors, uint64_t random_ops, uint64_t seed,
                            struct perf *out, uint64_t *at)
{
    uint64_t total = seq_bytes / VIRTIO_BLK_SECTOR < vb.capacity ? seq_bytes / VIRTIO_BLK_SECTOR : vb.capacity;
    for (int write = 1; write >= 0; write--) {
        uint64_t start = rdtsc();
        for (uint64_t done = 0; done < total;) {
            uint32_t n = total - done < request_sectors ? (uint32_t)(total - done) : request_sectors;
            int r = write ? virtio_blk_write(&vb, done, buffer, n) : virtio_blk_read(&vb, done, buffer, n);
            if (r != VIRTIO_BLK_S_OK) {
                *at = done;
                return r;
            }
            done += n;
        }
        enum pattern p = write ? SEQ_WRITE : SEQ_READ;
        out->ticks[p] = rdtsc() - start;
        out->amount[p] = total * VIRTIO_BLK_SECTOR;
    }
    uint64_t slots = vb.capacity / RANDOM_SECTORS;
    if (slots == 0)
        return VIRTIO_BLK_S_OK;
    for (int write = 1; write >= 0; write--) {
        struct disk_bench_random rng;
        disk_bench_random_init(&rng, seed, slots);
        uint64_t start = rdtsc();
        for (uint64_t i = 0; i < random_ops; i++) {
            uint64_t sector = disk_bench_random_slot(&rng) * RANDOM_SECTORS;
            int r = write ? virtio_blk_write(&vb, sector, buffer, RANDOM_SECTORS)
                          : virtio_blk_read(&vb, sector, buffer, RANDOM_SECTORS);
            if (r != VIRTIO_BLK_S_OK) {
                *at = sector;
                return r;
            }
        }
        enum pattern p = write ? RAND_WRITE : RAND_READ;
        out->ticks[p] = rdtsc() - start;
        out->amount[p] = random_ops;
    }
    return VIRTIO_BLK_S_OK;
}

/* Prints " NAME=12.3 MB/s" or " NAME=1550 IOPS" (raw ticks when the TSC rate is unknown). */
static void print_rate(const char *name, enum pattern p, uint64_t amount, uint64_t ticks, uint64_t khz)
{
    if (khz == 0 || ticks == 0)
        console_printf(" %s=%lu ticks", name, ticks);
    else if (p == SEQ_WRITE || p == SEQ_READ) {
        uint64_t tenths = amount * khz / ticks / 100;     /* MB/s (10^6 bytes) in tenths */
        console_printf(" %s=%lu.%lu MB/s", name, tenths / 10, tenths % 10);
    } else
        console_printf(" %s=%lu IOPS", name, amount * khz * 1000 / ticks);
}

void guest_main(const struct boot_info *boot)
{
    uint64_t seq_bytes = cmdline_number(boot, "seq_kib", 8192) << 10;
    uint64_t request_kib = cmdline_number(boot, "request_kib", 1024);
    uint64_t random_ops = cmdline_number(boot, "random_ops", 1000);
    uint64_t seed = cmdline_number(boot, "seed", 1);
    if (request_kib == 0 || request_kib > HC_DISK_BENCH_REQUEST_MAX >> 10)
        request_kib = HC_DISK_BENCH_REQUEST_MAX >> 10;
    if (random_ops > HC_DISK_BENCH_RANDOM_MAX)
        random_ops = HC_DISK_BENCH_RANDOM_MAX;
    for (size_t i = 0; i < sizeof(buffer); i++)
        buffer[i] = 0xA5;

    int found = virtio_blk_probe(&vb, boot, false);
    if (!tap_check(found == 0 && !virtio_blk_offers(&vb, VIRTIO_BLK_F_RO),
                   "diskbench: a writable virtio-blk minidisk found and initialised")) {
        tap_diag("%s", found == 1 ? "no virtio-blk function on PCI bus 0" : found ? vb.error : "it is read-only");
        tap_finish();
    }
    uint64_t khz = hv_tsc_khz();
    console_printf("diskbench: capacity %lu sectors; sequential %lu KiB in %lu KiB requests, %lu random 4 KiB "
                   "requests each way; TSC %lu kHz\n", vb.capacity, seq_bytes >> 10, request_kib, random_ops, khz);

    request = (struct hc_disk_bench){ .seq_bytes = seq_bytes, .request_bytes = request_kib << 10,
                                      .random_ops = random_ops, .seed = seed };
    int64_t hc = hypercall(HC_DISK_BENCH, (uint64_t)(uintptr_t)&request, sizeof(request), 0);
    bool have_driver = tap_check(hc == 0, "diskbench: Tessera measured its disk driver on this minidisk");
    if (!have_driver)
        tap_diag("HC_DISK_BENCH returned %ld%s", hc, hc == HC_EPERM ? " (not in benchmark mode: bench=yes)" : "");
    struct perf driver = {
        .amount = { request.seq_write_bytes, request.seq_read_bytes, request.rand_write_ops, request.rand_read_ops },
        .ticks = { request.seq_write_ticks, request.seq_read_ticks, request.rand_write_ticks, request.rand_read_ticks },
    };

    struct perf minidisk = { 0 };
    uint64_t at = 0;
    int r = measure_minidisk(seq_bytes, (uint32_t)(request_kib << 10) / VIRTIO_BLK_SECTOR, random_ops, seed,
                             &minidisk, &at);
    if (!tap_check(r == VIRTIO_BLK_S_OK, "diskbench: the same work through the minidisk"))
        tap_diag("request at sector %lu: %s", at, virtio_blk_result_name(r));
    bool same_work = true;
    for (unsigned p = 0; p < PATTERNS; p++)
        same_work = same_work && driver.amount[p] == minidisk.amount[p];
    if (have_driver && r == VIRTIO_BLK_S_OK && !tap_check(same_work, "diskbench: driver and minidisk did the same work"))
        tap_diag("driver %lu/%lu bytes, %lu/%lu requests; minidisk %lu/%lu bytes, %lu/%lu requests",
                 driver.amount[0], driver.amount[1], driver.amount[2], driver.amount[3], minidisk.amount[0],
                 minidisk.amount[1], minidisk.amount[2], minidisk.amount[3]);

    if (r == VIRTIO_BLK_S_OK) {
        for (unsigned p = 0; p < PATTERNS; p++) {
            if (minidisk.amount[p] == 0)
                continue;
            console_printf("diskbench: %s", pattern_names[p]);
            if (have_driver && same_work && minidisk.ticks[p] != 0)
                print_rate("driver", p, driver.amount[p], driver.ticks[p], khz);
            print_rate("minidisk", p, minidisk.amount[p], minidisk.ticks[p], khz);
            if (!have_driver || !same_work || minidisk.ticks[p] == 0) {
                console_printf("\n");
                continue;
            }
            uint64_t milli = driver.ticks[p] * 1000 / minidisk.ticks[p];
            /* What each request costs on top of the driver, in TSC ticks: the figure that carries
             * over to other disks, since it does not depend on the device's own speed. */
            uint64_t extra = minidisk.ticks[p] > driver.ticks[p] ? minidisk.ticks[p] - driver.ticks[p] : 0;
            uint64_t requests = p == SEQ_WRITE || p == SEQ_READ
                                    ? (minidisk.amount[p] + (request_kib << 10) - 1) / (request_kib << 10)
                                    : minidisk.amount[p];
            console_printf(" ratio=%lu.%03lu extra_ticks_per_request=%lu\n", milli / 1000, milli % 1000,
                           extra / requests);
        }
    }
    virtio_blk_reset(&vb);
    tap_finish();
}
