/* RAM disk for host tests and fuzzers: see mem_blkdev.h. */
#include <stdlib.h>
#include <string.h>
#include "mem_blkdev.h"

static void record(struct mem_blkdev *m, enum mem_access_kind kind, uint64_t lba, uint32_t count)
{
    if (m->log_count < MEM_BLKDEV_LOG_MAX)
        m->log[m->log_count] = (struct mem_access){ kind, lba, count };
    m->log_count++;
    if (kind == MEM_ACCESS_FLUSH || count == 0)
        return;
    if (lba < m->touched_lo)
        m->touched_lo = lba;
    if (lba + count - 1 > m->touched_hi)
        m->touched_hi = lba + count - 1;
}

/* The wrappers promise in-range calls; a driver-level violation is a bug worth crashing on. */
static void check_driver_call(const struct mem_blkdev *m, uint64_t lba, uint32_t count)
{
    if (count == 0 || lba >= m->dev.sector_count || count > m->dev.sector_count - lba)
        abort();
    if (m->dev.max_transfer && count > m->dev.max_transfer)
        abort();
}

static int injected(struct mem_blkdev *m, uint64_t lba, uint32_t count)
{
    if (!m->fail_err || m->fail_lba < lba || m->fail_lba - lba >= count)
        return 0;
    int err = m->fail_err;
    if (m->fail_once)
        m->fail_err = 0;
    return err;
}

static int mem_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
    struct mem_blkdev *m = (struct mem_blkdev *)d;
    check_driver_call(m, lba, count);
    record(m, MEM_ACCESS_READ, lba, count);
    int err = injected(m, lba, count);
    if (err)
        return err;
    memcpy(buf, m->data + lba * d->sector_size, (size_t)count * d->sector_size);
    return 0;
}

static int mem_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf)
{
    struct mem_blkdev *m = (struct mem_blkdev *)d;
    check_driver_call(m, lba, count);
    record(m, MEM_ACCESS_WRITE, lba, count);
    int err = injected(m, lba, count);
    if (err)
        return err;
    memcpy(m->data + lba * d->sector_size, buf, (size_t)count * d->sector_size);
    return 0;
}

static int mem_flush(struct blkdev *d)
{
    struct mem_blkdev *m = (struct mem_blkdev *)d;
    record(m, MEM_ACCESS_FLUSH, 0, 0);
    return m->fail_flush;
}

static const struct blkdev_ops mem_ops = { mem_read, mem_write, mem_flush };

struct mem_blkdev *mem_blkdev_new(uint64_t sector_count, uint32_t sector_size, uint32_t max_transfer)
{
    struct mem_blkdev *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->data = calloc(sector_count ? sector_count : 1, sector_size);
    if (!m->data)
        abort();
    m->dev.ops = &mem_ops;
    m->dev.driver = m;
    m->dev.name = "mem0";
    m->dev.sector_count = sector_count;
    m->dev.sector_size = sector_size;
    m->dev.max_transfer = max_transfer;
    m->dev.ready = true;
    mem_blkdev_clear_log(m);
    return m;
}

void mem_blkdev_free(struct mem_blkdev *m)
{
    if (!m)
        return;
    free(m->data);
    free(m);
}

void mem_blkdev_clear_log(struct mem_blkdev *m)
{
    m->log_count = 0;
    m->touched_lo = UINT64_MAX;
    m->touched_hi = 0;
}

bool mem_blkdev_all_within(const struct mem_blkdev *m, uint64_t first, uint64_t last)
{
    if (m->log_count > MEM_BLKDEV_LOG_MAX)
        return m->touched_lo > m->touched_hi ||
               (m->touched_lo >= first && m->touched_hi <= last);
    for (uint64_t i = 0; i < m->log_count; i++) {
        const struct mem_access *a = &m->log[i];
        if (a->kind == MEM_ACCESS_FLUSH)
            continue;
        if (a->lba < first || a->lba > last || a->count - 1 > last - a->lba)
            return false;
    }
    return true;
}

uint8_t *mem_blkdev_sector(struct mem_blkdev *m, uint64_t lba)
{
    return m->data + lba * m->dev.sector_size;
}
