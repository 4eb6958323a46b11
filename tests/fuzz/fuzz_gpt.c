/* Fuzzes the GPT parser: the input becomes a small disk image (optionally with the CRCs of
 * whatever headers it contains recomputed, so the fuzzer gets past them). Whatever the disk
 * holds, gpt_read must only read inside the disk, never write, and anything it accepts must be
 * consistent: entries inside the usable range, ordered, disjoint, names printable, and
 * lookups never yielding the ESP. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "disk/crc32.h"
#include "disk/gpt.h"
#include "mem_blkdev.h"

static struct gpt_table table;

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Recompute the entry-array CRC (when the array lies in the image) and the header CRC. */
static void seal(struct mem_blkdev *m, uint64_t lba)
{
    uint32_t ss = m->dev.sector_size;
    uint8_t *h = mem_blkdev_sector(m, lba);
    uint64_t entries = get64(h + 72);
    uint64_t bytes = (uint64_t)get32(h + 80) * get32(h + 84);
    uint64_t disk_bytes = m->dev.sector_count * ss;
    if (entries < m->dev.sector_count && bytes <= disk_bytes - entries * ss)
        put32(h + 88, crc32(mem_blkdev_sector(m, entries), bytes));
    uint32_t size = get32(h + 12);
    if (size < 92 || size > ss)
        size = 92;
    put32(h + 16, 0);
    put32(h + 16, crc32(h, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    uint32_t ss = (flags & 8) ? 4096 : 512;
    uint64_t sectors = 3 + data[1] % 96;
    data += 2;
    size -= 2;

    struct mem_blkdev *m = mem_blkdev_new(sectors, ss, (flags & 16) ? 1 : 0);
    size_t image = (size_t)sectors * ss;
    memcpy(m->data, data, size < image ? size : image);
    if (flags & 1)
        seal(m, 1);
    if (flags & 2)
        seal(m, sectors - 1);
    if (flags & 4) {             /* one failing sector, chosen by the top bits */
        m->fail_lba = (uint64_t)(flags >> 5) * sectors / 8;
        m->fail_err = BLKDEV_EIO;
    }

    int r = gpt_read(&m->dev, &table);
    for (uint64_t i = 0; i < m->log_count && i < MEM_BLKDEV_LOG_MAX; i++)
        if (m->log[i].kind != MEM_ACCESS_READ)
            abort();
    if (!mem_blkdev_all_within(m, 0, sectors - 1))
        abort();
    if (strnlen(table.diag, sizeof(table.diag)) >= sizeof(table.diag))
        abort();

    if (r == 0) {
        if (table.count > GPT_MAX_PARTITIONS || table.first_usable < 2 ||
            table.first_usable > table.last_usable || table.last_usable > sectors - 2)
            abort();
        for (unsigned i = 0; i < table.count; i++) {
            const struct gpt_partition *p = &table.part[i];
            if (p->first_lba > p->last_lba || p->first_lba < table.first_usable || p->last_lba > table.last_usable)
                abort();
            for (unsigned j = 0; j < i; j++)
                if (p->first_lba <= table.part[j].last_lba && table.part[j].first_lba <= p->last_lba)
                    abort();
            size_t n = strnlen(p->name, sizeof(p->name));
            if (n >= sizeof(p->name))
                abort();
            for (size_t k = 0; k < n; k++)
                if (p->name[k] < 0x20 || p->name[k] > 0x7E)
                    abort();
            const struct gpt_partition *f = gpt_find(&table, p->name, NULL, 0);
            if (f && (gpt_is_esp(f) || strcmp(f->name, p->name) != 0))
                abort();
            char text[GPT_GUID_TEXT_LEN + 1];
            uint8_t back[16];
            gpt_guid_format(p->unique_guid, text);
            if (!gpt_guid_parse(text, back) || memcmp(back, p->unique_guid, 16) != 0)
                abort();
            f = gpt_find(&table, text, NULL, 0);
            if (f && (gpt_is_esp(f) || memcmp(f->unique_guid, p->unique_guid, 16) != 0))
                abort();
        }
    } else if (table.count != 0) {
        abort();
    }
    mem_blkdev_free(m);
    return 0;
}
