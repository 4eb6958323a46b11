/* The checked entry points to a physical block device: range checks, transfer splitting and
 * error accounting, so drivers stay small and every caller gets the same guarantees. */
#include "disk/blkdev.h"
#include "lib/log.h"

/* Log the first few errors of each device, then every 1024th, so a dying disk cannot flood
 * the console and starve the guests of CPU time. */
static void report(struct blkdev *d, const char *what, uint64_t lba, int err, uint64_t nth)
{
    if (nth <= 8 || (nth & 1023) == 0)
        log_printf("tessera: disk %s: %s at LBA %llu failed: %s (error #%llu)\n",
                   d->name ? d->name : "?", what, (unsigned long long)lba, blkdev_strerror(err),
                   (unsigned long long)nth);
}

static uint64_t total_errors(const struct blkdev_stats *s)
{
    return s->read_errors + s->write_errors + s->flush_errors;
}

static int check(struct blkdev *d, uint64_t lba, uint64_t count, const void *buf)
{
    if (!d->ops || !d->ready)
        return BLKDEV_ENOTREADY;
    if (!buf || d->sector_size == 0)
        return BLKDEV_EINVAL;
    if (lba >= d->sector_count || count > d->sector_count - lba) {
        d->stats.range_errors++;
        return BLKDEV_ERANGE;
    }
    return BLKDEV_OK;
}

static uint32_t chunk(const struct blkdev *d, uint64_t remaining)
{
    uint64_t max = d->max_transfer ? d->max_transfer : UINT32_MAX;
    return (uint32_t)(remaining < max ? remaining : max);
}

int blkdev_read(struct blkdev *d, uint64_t lba, uint64_t count, void *buf)
{
    if (count == 0)
        return BLKDEV_OK;
    int err = check(d, lba, count, buf);
    if (err)
        return err;
    uint8_t *p = buf;
    while (count) {
        uint32_t n = chunk(d, count);
        err = d->ops->read(d, lba, n, p);
        if (err) {
            err = err == BLKDEV_ENOTREADY ? err : BLKDEV_EIO;
            d->stats.read_errors++;
            report(d, "read", lba, err, total_errors(&d->stats));
            return err;
        }
        d->stats.reads++;
        d->stats.sectors_read += n;
        lba += n;
        count -= n;
        p += (uint64_t)n * d->sector_size;
    }
    return BLKDEV_OK;
}

int blkdev_write(struct blkdev *d, uint64_t lba, uint64_t count, const void *buf)
{
    if (count == 0)
        return BLKDEV_OK;
    int err = check(d, lba, count, buf);
    if (err)
        return err;
    const uint8_t *p = buf;
    while (count) {
        uint32_t n = chunk(d, count);
        err = d->ops->write(d, lba, n, p);
        if (err) {
            err = err == BLKDEV_ENOTREADY ? err : BLKDEV_EIO;
            d->stats.write_errors++;
            report(d, "write", lba, err, total_errors(&d->stats));
            return err;
        }
        d->stats.writes++;
        d->stats.sectors_written += n;
        lba += n;
        count -= n;
        p += (uint64_t)n * d->sector_size;
    }
    return BLKDEV_OK;
}

int blkdev_flush(struct blkdev *d)
{
    if (!d->ops || !d->ready)
        return BLKDEV_ENOTREADY;
    if (!d->ops->flush)
        return BLKDEV_OK;
    int err = d->ops->flush(d);
    if (err) {
        err = err == BLKDEV_ENOTREADY ? err : BLKDEV_EIO;
        d->stats.flush_errors++;
        report(d, "flush", 0, err, total_errors(&d->stats));
        return err;
    }
    d->stats.flushes++;
    return BLKDEV_OK;
}

const char *blkdev_strerror(int err)
{
    switch (err) {
    case BLKDEV_OK: return "ok";
    case BLKDEV_EIO: return "I/O error";
    case BLKDEV_ERANGE: return "out of range";
    case BLKDEV_ENOTREADY: return "device not ready";
    case BLKDEV_EINVAL: return "invalid request";
    case BLKDEV_EROFS: return "read-only";
    default: return "unknown error";
    }
}
