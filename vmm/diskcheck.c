/* The disk self-check's checks and measurements (see diskcheck.h). Pure: the hardware entry is
 * in diskcheck_hw.c, and host tests run this file against a RAM disk. */
#include <stdarg.h>
#include "diskcheck.h"
#include "disk/bench_random.h"
#include "disk/gpt.h"
#include "disk/minidisk.h"
#include "lib/log.h"
#include "lib/mem.h"

#define SECTOR          BLKDEV_SECTOR_SIZE
#define RANDOM_SECTORS  8
#define BIG_BYTES       (256u << 10)
#define UNALIGNED_SECTORS 9
#define SEQ_REQUEST     (1u << 20)
#define RANDOM_BYTES    4096u

struct ctx {
    struct blkdev *d;
    const struct diskcheck_env *env;
    unsigned n, passed, failed;
    uint64_t rng;
};

static struct gpt_table table;      /* large: keep it off the stack */
static uint8_t neighbour_before[SECTOR], neighbour_after[SECTOR], sector_buf[SECTOR];
/* Sector 0 and the last sector as first read, to prove after device errors that the driver
 * still reads the disk correctly (the checks never write them). */
static uint8_t first_sector[BLKDEV_MAX_SECTOR_SIZE], last_sector[BLKDEV_MAX_SECTOR_SIZE];

static bool report(struct ctx *c, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool report(struct ctx *c, bool ok, const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    c->n++;
    if (ok)
        c->passed++;
    else
        c->failed++;
    log_printf("%sok %u - %s\n", ok ? "" : "not ", c->n, text);
    return ok;
}

static uint64_t next_random(struct ctx *c)
{
    c->rng = splitmix64(c->rng);
    return c->rng;
}

/* Content of sector lba under seed: every word differs, so a misplaced or stale sector shows. */
static void fill(uint8_t *buf, uint64_t lba, uint64_t count, uint64_t seed)
{
    for (uint64_t s = 0; s < count; s++)
        for (unsigned w = 0; w < SECTOR / 8; w++) {
            uint64_t v = splitmix64(seed ^ ((lba + s) << 9) ^ w);
            memcpy(buf + s * SECTOR + w * 8, &v, 8);
        }
}

static bool matches(const uint8_t *buf, uint64_t lba, uint64_t count, uint64_t seed)
{
    for (uint64_t s = 0; s < count; s++)
        for (unsigned w = 0; w < SECTOR / 8; w++) {
            uint64_t v = splitmix64(seed ^ ((lba + s) << 9) ^ w), got;
            memcpy(&got, buf + s * SECTOR + w * 8, 8);
            if (got != v)
                return false;
        }
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Write count sectors at s from buf with the pattern, read them back into rbuf, compare. */
static bool round_trip_write(const struct minidisk *md, uint64_t s, uint64_t count, uint8_t *buf, uint64_t seed)
{
    fill(buf, md->start_lba + s, count, seed);
    return minidisk_write(md, s, count, buf) == BLKDEV_OK;
}

static bool round_trip_read(const struct minidisk *md, uint64_t s, uint64_t count, uint8_t *buf, uint64_t seed)
{
    memset(buf, 0, count * SECTOR);
    return minidisk_read(md, s, count, buf) == BLKDEV_OK && matches(buf, md->start_lba + s, count, seed);
}

static void check_read_only(struct ctx *c, const struct gpt_partition *p)
{
    struct minidisk md;
    uint8_t *buf = c->env->buf;
    if (minidisk_init(&md, c->d, p, true) != BLKDEV_OK) {
        report(c, false, "%s: minidisk refused (sector size %u)", p->name, c->d->sector_size);
        return;
    }
    struct blkdev_stats before = c->d->stats;
    bool ok = minidisk_read(&md, 0, 1, buf) == BLKDEV_OK && minidisk_read(&md, md.sectors - 1, 1, buf) == BLKDEV_OK;
    uint64_t calls = c->d->stats.reads;
    bool refused = minidisk_write(&md, 0, 1, buf) == BLKDEV_EROFS && c->d->stats.writes == before.writes &&
                   c->d->stats.reads == calls && c->d->stats.write_errors == before.write_errors;
    report(c, ok && refused, "%s: first and last sector read; a write to the read-only minidisk is refused", p->name);
}

static void check_scratch(struct ctx *c, const struct gpt_partition *p)
{
    struct minidisk md;
    uint8_t *buf = c->env->buf;
    uint64_t seed = next_random(c);
    if (minidisk_init(&md, c->d, p, false) != BLKDEV_OK) {
        report(c, false, "%s: minidisk refused (sector size %u)", p->name, c->d->sector_size);
        return;
    }
    uint64_t S = md.sectors;

    /* The sectors just outside the partition, to prove afterwards that nothing spilled. */
    bool has_before = p->first_lba > 0, has_after = p->last_lba + 1 < c->d->sector_count;
    bool neighbours_read = (!has_before || blkdev_read(c->d, p->first_lba - 1, 1, neighbour_before) == BLKDEV_OK) &&
                           (!has_after || blkdev_read(c->d, p->last_lba + 1, 1, neighbour_after) == BLKDEV_OK);

    bool edges = round_trip_write(&md, 0, 1, buf, seed) && round_trip_write(&md, S - 1, 1, buf, seed);
    uint64_t random_s[RANDOM_SECTORS];
    bool randoms = true;
    for (unsigned i = 0; i < RANDOM_SECTORS; i++) {
        random_s[i] = next_random(c) % S;
        randoms = round_trip_write(&md, random_s[i], 1, buf, seed) && randoms;
    }
    uint64_t big = BIG_BYTES / SECTOR < S ? BIG_BYTES / SECTOR : S;
    uint64_t big_s = next_random(c) % (S - big + 1);
    bool big_ok = round_trip_write(&md, big_s, big, buf, seed);
    uint64_t odd = UNALIGNED_SECTORS < S ? UNALIGNED_SECTORS : S;
    uint64_t odd_s = next_random(c) % (S - odd + 1);
    bool odd_ok = round_trip_write(&md, odd_s, odd, buf + 1, seed);      /* odd address: bounce paths */

    bool flushed = minidisk_flush(&md) == BLKDEV_OK;

    edges = edges && round_trip_read(&md, 0, 1, buf, seed) && round_trip_read(&md, S - 1, 1, buf, seed);
    report(c, edges, "%s: first and last sector written, flushed, read back", p->name);
    for (unsigned i = 0; i < RANDOM_SECTORS; i++)
        randoms = round_trip_read(&md, random_s[i], 1, buf, seed) && randoms;
    report(c, randoms, "%s: %u random sectors written, flushed, read back", p->name, RANDOM_SECTORS);
    big_ok = big_ok && round_trip_read(&md, big_s, big, buf, seed);
    report(c, big_ok, "%s: %llu-sector transfer at sector %llu round trip", p->name, (unsigned long long)big,
           (unsigned long long)big_s);
    odd_ok = odd_ok && round_trip_read(&md, odd_s, odd, buf + 2, seed) && round_trip_read(&md, odd_s, odd, buf + 3, seed);
    report(c, odd_ok, "%s: unaligned buffers (write from +1, read into +2 and +3) round trip", p->name);
    report(c, flushed, "%s: flush", p->name);

    /* Requests that cross or lie past the end: refused by the translation, the driver never called. */
    struct blkdev_stats before = c->d->stats;
    uint64_t phys = 0;
    static const struct { uint64_t s_from_end, count; bool from_end; } cases[] = {
        { 1, 2, true }, { 0, 1, true }, { 1, 1000000, true }, { UINT64_MAX, 1, false }, { 1, UINT64_MAX, false },
    };
    bool refused = true;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t s = cases[i].from_end ? S - cases[i].s_from_end : cases[i].s_from_end;
        uint64_t count = cases[i].count;
        refused = refused && minidisk_translate(&md, s, count, &phys) == BLKDEV_ERANGE &&
                  minidisk_read(&md, s, count, buf) == BLKDEV_ERANGE &&
                  minidisk_write(&md, s, count, buf) == BLKDEV_ERANGE;
    }
    refused = refused && memcmp(&before, &c->d->stats, sizeof(before)) == 0;
    report(c, refused, "%s: requests crossing or past the end refused before the driver", p->name);

    bool untouched = neighbours_read;
    if (has_before)
        untouched = untouched && blkdev_read(c->d, p->first_lba - 1, 1, sector_buf) == BLKDEV_OK &&
                    memcmp(sector_buf, neighbour_before, SECTOR) == 0;
    if (has_after)
        untouched = untouched && blkdev_read(c->d, p->last_lba + 1, 1, sector_buf) == BLKDEV_OK &&
                    memcmp(sector_buf, neighbour_after, SECTOR) == 0;
    report(c, untouched, "%s: sectors next to the partition unchanged", p->name);
}

/* After device errors: the driver must have brought the port or controller back, so the two
 * sectors read at the start read again, unchanged. Only run when errors happened (a good disk's
 * report stays as it was); on a real machine it tells whether the disk is still usable after
 * its errors, or whether the driver gave up on it. */
static void check_still_answers(struct ctx *c, bool ends_read)
{
    const struct blkdev_stats *s = &c->d->stats;
    uint64_t errors = s->read_errors + s->write_errors + s->flush_errors;
    if (errors == 0)
        return;
    if (!ends_read) {
        log_printf("# device errors, but sector 0 or the last sector was unreadable from the start: "
                   "recovery not checked\n");
        return;
    }
    uint32_t ss = c->d->sector_size;
    uint8_t *buf = c->env->buf;
    bool ok = blkdev_read(c->d, 0, 1, buf) == BLKDEV_OK && memcmp(buf, first_sector, ss) == 0 &&
              blkdev_read(c->d, c->d->sector_count - 1, 1, buf) == BLKDEV_OK && memcmp(buf, last_sector, ss) == 0;
    report(c, ok, "device: still answers after %llu I/O error%s: sector 0 and last sector read back unchanged",
           (unsigned long long)errors, errors == 1 ? "" : "s");
}

uint64_t diskcheck_mbps_tenths(uint64_t bytes, uint64_t ticks, uint64_t ticks_per_ms)
{
    if (ticks == 0)
        return 0;
    /* bytes / (ticks / (ticks_per_ms * 1000)) / 10^6 * 10 = bytes * ticks_per_ms / (ticks * 100);
     * divide early when the product would overflow. */
    if (ticks_per_ms && bytes > UINT64_MAX / ticks_per_ms)
        return bytes / ticks * ticks_per_ms / 100;
    return bytes * ticks_per_ms / ticks / 100;
}

uint64_t diskcheck_iops(uint64_t ops, uint64_t ticks, uint64_t ticks_per_ms)
{
    if (ticks == 0)
        return 0;
    uint64_t per_s = ticks_per_ms * 1000;
    if (ops && per_s > UINT64_MAX / ops)
        return ops / ticks * per_s;
    return ops * per_s / ticks;
}

int diskcheck_measure(struct blkdev *d, uint64_t first, uint64_t sectors, const struct diskcheck_env *env,
                      struct diskcheck_perf *out)
{
    memset(out, 0, sizeof(*out));
    if (d->sector_size == 0 || sectors == 0 || env->buf_size < RANDOM_BYTES)
        return BLKDEV_EINVAL;
    uint64_t ss = d->sector_size;
    uint64_t request = env->seq_request_bytes ? env->seq_request_bytes : SEQ_REQUEST;
    if (request > env->buf_size)
        request = env->buf_size;
    uint64_t req_sectors = request / ss;
    if (req_sectors == 0)
        return BLKDEV_EINVAL;
    uint64_t total = env->seq_bytes / ss < sectors ? env->seq_bytes / ss : sectors;
    uint8_t *buf = env->buf;
    int err;
    memset(buf, 0xA5, request);

    for (int write = 1; write >= 0; write--) {
        uint64_t t0 = env->now();
        for (uint64_t done = 0; done < total;) {
            uint64_t n = total - done < req_sectors ? total - done : req_sectors;
            err = write ? blkdev_write(d, first + done, n, buf) : blkdev_read(d, first + done, n, buf);
            if (err)
                return err;
            done += n;
        }
        uint64_t t = env->now() - t0;
        if (write) {
            out->seq_write_bytes = total * ss;
            out->seq_write_ticks = t;
        } else {
            out->seq_read_bytes = total * ss;
            out->seq_read_ticks = t;
        }
    }

    uint64_t per = RANDOM_BYTES / ss ? RANDOM_BYTES / ss : 1;
    uint64_t slots = sectors / per;
    if (slots == 0)
        return BLKDEV_OK;
    for (int write = 1; write >= 0; write--) {
        struct disk_bench_random rng;
        disk_bench_random_init(&rng, env->seed, slots);
        uint64_t t0 = env->now();
        for (uint32_t i = 0; i < env->random_ops; i++) {
            uint64_t lba = first + disk_bench_random_slot(&rng) * per;
            err = write ? blkdev_write(d, lba, per, buf) : blkdev_read(d, lba, per, buf);
            if (err)
                return err;
        }
        uint64_t t = env->now() - t0;
        if (write) {
            out->rand_write_ops = env->random_ops;
            out->rand_write_ticks = t;
        } else {
            out->rand_read_ops = env->random_ops;
            out->rand_read_ticks = t;
        }
    }
    return BLKDEV_OK;
}

static void report_rate(struct ctx *c, const char *what, uint64_t bytes, uint64_t ticks)
{
    uint64_t t = diskcheck_mbps_tenths(bytes, ticks, c->env->ticks_per_ms);
    report(c, true, "driver %s: %llu.%llu MB/s (%llu KiB)", what, (unsigned long long)(t / 10),
           (unsigned long long)(t % 10), (unsigned long long)(bytes >> 10));
}

static void report_iops(struct ctx *c, const char *what, uint64_t ops, uint64_t ticks)
{
    uint64_t iops = diskcheck_iops(ops, ticks, c->env->ticks_per_ms);
    uint64_t t = diskcheck_mbps_tenths(ops * RANDOM_BYTES, ticks, c->env->ticks_per_ms);
    report(c, true, "driver 4 KiB random %s: %llu IOPS, %llu.%llu MB/s (%llu requests)", what,
           (unsigned long long)iops, (unsigned long long)(t / 10), (unsigned long long)(t % 10),
           (unsigned long long)ops);
}

static void measure(struct ctx *c, const struct gpt_partition *p, struct diskcheck_result *out)
{
    struct diskcheck_perf *perf = &out->perf;
    int err = diskcheck_measure(c->d, p->first_lba, p->last_lba - p->first_lba + 1, c->env, perf);
    if (err) {
        report(c, false, "driver throughput on %s: %s", p->name, blkdev_strerror(err));
        return;
    }
    out->measured = 1;
    log_printf("# throughput measured on %s, TSC %llu kHz\n", p->name, (unsigned long long)c->env->ticks_per_ms);
    report_rate(c, "sequential write", perf->seq_write_bytes, perf->seq_write_ticks);
    report_rate(c, "sequential read", perf->seq_read_bytes, perf->seq_read_ticks);
    if (perf->rand_write_ops) {
        report_iops(c, "write", perf->rand_write_ops, perf->rand_write_ticks);
        report_iops(c, "read", perf->rand_read_ops, perf->rand_read_ticks);
    }
}

void diskcheck_execute(struct blkdev *d, const struct diskcheck_env *env, struct diskcheck_result *out)
{
    struct ctx c = { .d = d, .env = env, .rng = env->seed ^ 0x7E55E4Aull };
    bool ends = false;
    memset(out, 0, sizeof(*out));
    if (!env->buf || env->buf_size < DISKCHECK_BUF_MIN) {
        report(&c, false, "scratch memory for the checks");
        goto done;
    }
    uint64_t last = d->sector_count ? d->sector_count - 1 : 0;
    ends = d->sector_size <= BLKDEV_MAX_SECTOR_SIZE && blkdev_read(d, 0, 1, first_sector) == BLKDEV_OK &&
           blkdev_read(d, last, 1, last_sector) == BLKDEV_OK;
    report(&c, ends, "device: sector 0 and last sector %llu read", (unsigned long long)last);

    int err = gpt_read(d, &table);
    if (!report(&c, err == BLKDEV_OK, "GPT read: %s", err == BLKDEV_OK ? "valid" : table.diag))
        goto done;
    if (table.diag[0])
        log_printf("# GPT: %s\n", table.diag);
    log_printf("# %u partitions on %llu sectors of %u bytes\n", table.count, (unsigned long long)table.disk_sectors,
               table.sector_size);
    for (unsigned i = 0; i < table.count; i++) {
        const struct gpt_partition *p = &table.part[i];
        log_printf("#   %u: \"%s\" sectors %llu-%llu (%llu KiB)%s%s\n", p->index + 1, p->name,
                   (unsigned long long)p->first_lba, (unsigned long long)p->last_lba,
                   (unsigned long long)((p->last_lba - p->first_lba + 1) * table.sector_size / 1024),
                   gpt_is_esp(p) ? " ESP" : "", starts_with(p->name, DISKCHECK_PREFIX) ? " scratch" : "");
    }

    const struct gpt_partition *bench = NULL;
    for (unsigned i = 0; i < table.count; i++) {
        const struct gpt_partition *p = &table.part[i];
        if (starts_with(p->name, DISKCHECK_PREFIX)) {
            check_scratch(&c, p);
            if (!bench)
                bench = p;
        } else {
            check_read_only(&c, p);
        }
    }
    if (bench)
        measure(&c, bench, out);
    else
        log_printf("# no %s* partition: write checks and throughput skipped\n", DISKCHECK_PREFIX);
done:
    check_still_answers(&c, ends);
    out->passed = c.passed;
    out->failed = c.failed;
    log_printf("%u passed, %u failed\n", c.passed, c.failed);
}
