/* Minidisk translation and the partition sharing rule. */
#include "disk/minidisk.h"
#include "lib/log.h"
#include "lib/mem.h"

int minidisk_init(struct minidisk *md, struct blkdev *dev, const struct gpt_partition *p, bool read_only)
{
    memset(md, 0, sizeof(*md));
    if (dev->sector_size != BLKDEV_SECTOR_SIZE)
        return BLKDEV_EINVAL;
    if (p->first_lba > p->last_lba || p->last_lba >= dev->sector_count)
        return BLKDEV_EINVAL;
    md->dev = dev;
    md->start_lba = p->first_lba;
    md->sectors = p->last_lba - p->first_lba + 1;
    md->read_only = read_only;
    memcpy(md->part_name, p->name, sizeof(md->part_name));
    md->part_name[sizeof(md->part_name) - 1] = 0;
    return BLKDEV_OK;
}

int minidisk_translate(const struct minidisk *md, uint64_t s, uint64_t count, uint64_t *phys)
{
    if (s >= md->sectors || count > md->sectors - s)
        return BLKDEV_ERANGE;
    *phys = md->start_lba + s;
    return BLKDEV_OK;
}

int minidisk_read_translated(const struct minidisk *md, uint64_t phys, uint64_t count, void *buf)
{
    return blkdev_read(md->dev, phys, count, buf);
}

int minidisk_write_translated(const struct minidisk *md, uint64_t phys, uint64_t count, const void *buf)
{
    if (md->read_only)
        return BLKDEV_EROFS;
    return blkdev_write(md->dev, phys, count, buf);
}

int minidisk_read(const struct minidisk *md, uint64_t s, uint64_t count, void *buf)
{
    uint64_t phys;
    int err = minidisk_translate(md, s, count, &phys);
    return err ? err : minidisk_read_translated(md, phys, count, buf);
}

int minidisk_write(const struct minidisk *md, uint64_t s, uint64_t count, const void *buf)
{
    uint64_t phys;
    if (md->read_only)
        return BLKDEV_EROFS;
    int err = minidisk_translate(md, s, count, &phys);
    return err ? err : minidisk_write_translated(md, phys, count, buf);
}

int minidisk_flush(const struct minidisk *md)
{
    return blkdev_flush(md->dev);
}

void minidisk_allocate(const struct gpt_table *t, const struct bootinfo_guest *guests, unsigned count,
                       struct minidisk_verdict *out)
{
    for (unsigned i = 0; i < count; i++) {
        struct minidisk_verdict *v = &out[i];
        const struct bootinfo_guest *g = &guests[i];
        char spec[DISK_PART_NAME_MAX];
        char why[96];

        memset(v, 0, sizeof(*v));
        memcpy(spec, g->disk_part, sizeof(spec));
        spec[sizeof(spec) - 1] = 0;
        v->read_only = g->disk_readonly != 0;
        if (spec[0] == 0) {
            v->kind = MINIDISK_NONE;
            continue;
        }
        v->part = gpt_find(t, spec, why, sizeof(why));
        if (v->part) {
            v->kind = MINIDISK_GRANTED;
        } else {
            v->kind = MINIDISK_REFUSED;
            fmt_snprintf(v->reason, sizeof(v->reason), "minidisk refused: %s", why);
        }
    }
    /* Sharing is decided on the resolved partition, so a name and a GUID naming the same
     * partition count as the same. */
    for (unsigned i = 0; i < count; i++) {
        if (!out[i].part)
            continue;
        for (unsigned j = 0; j < count; j++) {
            if (j == i || out[j].part != out[i].part)
                continue;
            if (out[i].read_only && out[j].read_only)
                continue;
            char name[GUEST_NAME_MAX];
            memcpy(name, guests[j].name, sizeof(name));
            name[sizeof(name) - 1] = 0;
            out[i].kind = MINIDISK_REFUSED;
            fmt_snprintf(out[i].reason, sizeof(out[i].reason),
                         "minidisk refused: partition \"%s\" is also given to guest %s, and not both read-only",
                         out[i].part->name, name);
            break;
        }
    }
    for (unsigned i = 0; i < count; i++)
        if (out[i].kind == MINIDISK_REFUSED)
            out[i].part = NULL;
}
