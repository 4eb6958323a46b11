/* virtio-blk request processing over a minidisk. Layout of a request (section 5.2.6): a
 * device-readable 16-byte header (it may span descriptors; it is copied out once), data
 * buffers, and a device-writable status byte, the last byte of the chain. All validation
 * happens before the disk is touched; every sector goes through minidisk_translate. */
#include "dev/virtio_blk.h"
#include "lib/log.h"
#include "lib/mem.h"

#define HEADER_BYTES 16u

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

/* Walks a run of segments of a chain as one byte stream of `left` bytes. */
struct cursor {
    struct guest *g;
    const struct virtq_chain *c;
    unsigned seg;
    uint64_t off;               /* may run past seg until cursor_settle */
    uint64_t left;
};

static void cursor_init(struct cursor *k, struct guest *g, const struct virtq_chain *c, unsigned seg,
                        uint64_t left)
{
    *k = (struct cursor){ g, c, seg, 0, left };
}

/* Moves past used-up (and empty) segments so that off lies inside seg, or seg == count. */
static void cursor_settle(struct cursor *k)
{
    while (k->seg < k->c->count && k->off >= k->c->seg[k->seg].len) {
        k->off -= k->c->seg[k->seg].len;
        k->seg++;
    }
}

/* The contiguous guest memory at the cursor, at most max bytes; 0 when the stream is done.
 * Segments that follow each other in guest-physical memory form one span: a guest that splits
 * a buffer into page-sized descriptors (as drivers do) still reaches the disk with one large
 * transfer instead of one per page. Segments were checked to be in RAM (so gpa + len cannot
 * overflow) before any cursor is used. */
static uint64_t cursor_span(struct cursor *k, uint64_t max, uint8_t **p)
{
    cursor_settle(k);
    if (!k->left || k->seg >= k->c->count)
        return 0;
    const struct virtq_seg *s = &k->c->seg[k->seg];
    uint64_t start = s->gpa + k->off;
    uint64_t n = s->len - k->off;
    uint64_t limit = k->left < max ? k->left : max;
    uint64_t end = s->gpa + s->len;
    for (unsigned i = k->seg + 1; n < limit && i < k->c->count && k->c->seg[i].gpa == end; i++) {
        n += k->c->seg[i].len;
        end += k->c->seg[i].len;
    }
    if (n > limit)
        n = limit;
    *p = guest_ram_ptr(k->g, start, n);
    if (!*p && n > s->len - k->off) {
        /* Adjacent in guest-physical space but not one host range: one segment at a time. */
        n = s->len - k->off < limit ? s->len - k->off : limit;
        *p = guest_ram_ptr(k->g, start, n);
    }
    return *p ? n : 0;
}

static void cursor_advance(struct cursor *k, uint64_t n)
{
    k->off += n;
    k->left -= n;
}

/* Copies n bytes out of / into the stream; returns the bytes moved. */
static uint64_t cursor_read(struct cursor *k, void *dst, uint64_t n)
{
    uint8_t *d = dst, *p;
    uint64_t done = 0, len;
    while (done < n && (len = cursor_span(k, n - done, &p)) != 0) {
        memcpy(d + done, p, len);
        cursor_advance(k, len);
        done += len;
    }
    return done;
}

static void cursor_skip(struct cursor *k, uint64_t n)
{
    uint8_t *p;
    uint64_t len;
    while (n && (len = cursor_span(k, n, &p)) != 0) {
        cursor_advance(k, len);
        n -= len;
    }
}

static uint64_t cursor_write(struct cursor *k, const void *src, uint64_t n)
{
    const uint8_t *s = src;
    uint8_t *p;
    uint64_t done = 0, len;
    while (done < n && (len = cursor_span(k, n - done, &p)) != 0) {
        memcpy(p, s + done, len);
        cursor_advance(k, len);
        done += len;
    }
    return done;
}

void virtio_blk_init(struct virtio_blk *b, struct guest *g, const struct minidisk *md)
{
    char id[64];
    memset(b, 0, sizeof(*b));
    b->g = g;
    b->md = *md;
    fmt_snprintf(id, sizeof(id), "tessera-%s-%s", g->name, md->part_name);
    size_t n = strnlen(id, VIRTIO_BLK_ID_BYTES);
    memcpy(b->id, id, n);
    virtq_reset(&b->vq);
}

void virtio_blk_reset(struct virtio_blk *b)
{
    virtq_reset(&b->vq);
    b->driver_features = 0;
    b->needs_reset = false;
    b->reset_reason[0] = 0;
}

uint64_t virtio_blk_device_features(const struct virtio_blk *b)
{
    uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
                 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH;
    if (b->md.read_only)
        f |= 1ull << VIRTIO_BLK_F_RO;
    return f;
}

void virtio_blk_set_driver_features(struct virtio_blk *b, uint64_t features)
{
    b->driver_features = features & virtio_blk_device_features(b);
    b->vq.indirect_ok = (b->driver_features >> VIRTIO_F_INDIRECT_DESC) & 1;
}

static void put_le(uint8_t *p, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int virtio_blk_config_read(const struct virtio_blk *b, uint64_t offset, unsigned size, uint64_t *value)
{
    uint8_t cfg[VIRTIO_BLK_CONFIG_SIZE] = { 0 };
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset >= sizeof(cfg) ||
        size > sizeof(cfg) - offset)
        return -1;
    put_le(cfg + 0, 8, b->md.sectors);                   /* capacity, 512-byte sectors */
    put_le(cfg + 12, 4, VIRTQ_MAX_SIZE - 2);             /* seg_max: chain minus header and status */
    put_le(cfg + 20, 4, VIRTIO_BLK_SECTOR);              /* blk_size */
    put_le(cfg + 34, 2, VIRTIO_BLK_QUEUES);              /* num_queues (meaningful with MQ only) */
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)cfg[offset + i] << (8 * i);
    *value = v;
    return 0;
}

struct virtq *virtio_blk_queue(struct virtio_blk *b, unsigned index)
{
    return index < VIRTIO_BLK_QUEUES ? &b->vq : NULL;
}

/* Moves `bytes` (a multiple of 512) between guest sector `sector` and the stream. Sectors
 * wholly inside one guest buffer go straight to the disk; a sector split across buffers goes
 * through the bounce buffer. Returns BLKDEV_OK or the first error; *done counts the bytes moved. */
static int transfer(struct virtio_blk *b, struct cursor *k, uint64_t sector, uint64_t bytes, bool to_guest,
                    uint64_t *done)
{
    *done = 0;
    while (*done < bytes) {
        uint8_t *p;
        uint64_t len = cursor_span(k, bytes - *done, &p);
        uint64_t s = sector + *done / VIRTIO_BLK_SECTOR;
        int err;
        if (len == 0)
            return BLKDEV_EINVAL;            /* cannot happen: lengths were summed beforehand */
        if (len >= VIRTIO_BLK_SECTOR) {
            uint64_t n = len / VIRTIO_BLK_SECTOR;
            err = to_guest ? minidisk_read(&b->md, s, n, p) : minidisk_write(&b->md, s, n, p);
            if (err)
                return err;
            cursor_advance(k, n * VIRTIO_BLK_SECTOR);
            *done += n * VIRTIO_BLK_SECTOR;
        } else if (to_guest) {
            err = minidisk_read(&b->md, s, 1, b->bounce);
            if (err)
                return err;
            cursor_write(k, b->bounce, VIRTIO_BLK_SECTOR);
            *done += VIRTIO_BLK_SECTOR;
        } else {
            cursor_read(k, b->bounce, VIRTIO_BLK_SECTOR);
            err = minidisk_write(&b->md, s, 1, b->bounce);
            if (err)
                return err;
            *done += VIRTIO_BLK_SECTOR;
        }
    }
    return BLKDEV_OK;
}

static uint8_t disk_error(struct virtio_blk *b, int err)
{
    if (err == BLKDEV_ERANGE)
        b->stats.range_errors++;
    else if (err == BLKDEV_EROFS)
        b->stats.readonly_errors++;
    else
        b->stats.device_errors++;
    return VIRTIO_BLK_S_IOERR;
}

/* Executes a request whose layout has been checked. readable/writable exclude header/status.
 * Returns the status; *written counts data bytes stored in guest memory. */
static uint8_t execute(struct virtio_blk *b, const struct blk_header *h, unsigned first_writable,
                       uint64_t readable, uint64_t writable, uint32_t *written)
{
    const struct virtq_chain *c = &b->chain;
    struct cursor k;
    uint64_t phys, done;
    int err;

    switch (h->type) {
    case VIRTIO_BLK_T_IN:
        b->stats.reads++;
        if (readable != 0 || writable % VIRTIO_BLK_SECTOR != 0) {
            b->stats.malformed++;
            return VIRTIO_BLK_S_IOERR;
        }
        if (minidisk_translate(&b->md, h->sector, writable / VIRTIO_BLK_SECTOR, &phys))
            return disk_error(b, BLKDEV_ERANGE);
        cursor_init(&k, b->g, c, first_writable, writable);
        err = transfer(b, &k, h->sector, writable, true, &done);
        *written = (uint32_t)done;
        return err ? disk_error(b, err) : VIRTIO_BLK_S_OK;

    case VIRTIO_BLK_T_OUT:
        b->stats.writes++;
        if (writable != 0 || readable % VIRTIO_BLK_SECTOR != 0) {
            b->stats.malformed++;
            return VIRTIO_BLK_S_IOERR;
        }
        if (b->md.read_only)
            return disk_error(b, BLKDEV_EROFS);
        if (minidisk_translate(&b->md, h->sector, readable / VIRTIO_BLK_SECTOR, &phys))
            return disk_error(b, BLKDEV_ERANGE);
        cursor_init(&k, b->g, c, 0, HEADER_BYTES + readable);
        cursor_skip(&k, HEADER_BYTES);
        err = transfer(b, &k, h->sector, readable, false, &done);
        if (!err && !((b->driver_features >> VIRTIO_BLK_F_FLUSH) & 1))
            err = minidisk_flush(&b->md);
        return err ? disk_error(b, err) : VIRTIO_BLK_S_OK;

    case VIRTIO_BLK_T_FLUSH:
        b->stats.flushes++;
        err = minidisk_flush(&b->md);
        return err ? disk_error(b, err) : VIRTIO_BLK_S_OK;

    case VIRTIO_BLK_T_GET_ID:
        b->stats.get_ids++;
        if (writable == 0) {
            b->stats.malformed++;
            return VIRTIO_BLK_S_IOERR;
        }
        cursor_init(&k, b->g, c, first_writable, writable);
        *written = (uint32_t)cursor_write(&k, b->id, writable < VIRTIO_BLK_ID_BYTES ? writable : VIRTIO_BLK_ID_BYTES);
        return VIRTIO_BLK_S_OK;

    default:
        b->stats.unsupported++;
        return VIRTIO_BLK_S_UNSUPP;
    }
}

/* Processes one chain. Returns false when it has no usable status byte (device error);
 * otherwise the status is stored and *used_len is what goes into the used ring. */
static bool process_request(struct virtio_blk *b, uint32_t *used_len)
{
    const struct virtq_chain *c = &b->chain;
    if (c->count == 0)
        return false;
    const struct virtq_seg *last = &c->seg[c->count - 1];
    if (!last->writable || last->len == 0 || !last->in_ram)
        return false;
    volatile uint8_t *status = guest_ram_ptr(b->g, last->gpa + last->len - 1, 1);
    if (!status)
        return false;

    /* Device-readable buffers come first (section 2.7.4.2); sum both kinds. */
    uint64_t readable = 0, writable = 0;
    unsigned first_writable = c->count;
    bool layout_ok = c->bad_seg < 0;
    for (unsigned i = 0; i < c->count; i++) {
        if (c->seg[i].writable) {
            if (first_writable == c->count)
                first_writable = i;
            writable += c->seg[i].len;
        } else {
            if (first_writable != c->count)
                layout_ok = false;
            readable += c->seg[i].len;
        }
    }

    uint32_t written = 0;
    uint8_t st;
    /* The used length (data + status) must fit in 32 bits. */
    if (!layout_ok || readable < HEADER_BYTES || writable > UINT32_MAX) {
        b->stats.malformed++;
        st = VIRTIO_BLK_S_IOERR;
    } else {
        uint8_t raw[HEADER_BYTES];
        struct cursor k;
        cursor_init(&k, b->g, c, 0, HEADER_BYTES);
        cursor_read(&k, raw, HEADER_BYTES);
        struct blk_header h;
        h.type = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
        h.reserved = 0;
        h.sector = 0;
        for (unsigned i = 0; i < 8; i++)
            h.sector |= (uint64_t)raw[8 + i] << (8 * i);
        st = execute(b, &h, first_writable, readable - HEADER_BYTES, writable - 1, &written);
    }
    *status = st;
    *used_len = written + 1;
    return true;
}

static void enter_needs_reset(struct virtio_blk *b, const char *why)
{
    if (b->needs_reset)
        return;
    b->needs_reset = true;
    b->vq.broken = true;
    fmt_snprintf(b->reset_reason, sizeof(b->reset_reason), "%s", why);
    log_printf("tessera: guest %s: virtio-blk: %s; device needs reset\n", b->g->name, why);
    if (b->hooks.needs_reset)
        b->hooks.needs_reset(b->hooks.ctx, b);
}

int virtio_blk_notify(struct virtio_blk *b, unsigned index)
{
    if (index >= VIRTIO_BLK_QUEUES) {
        b->stats.bad_notifies++;
        return -1;
    }
    if (b->needs_reset)
        return -1;
    int completed = 0;
    /* One CPU: the guest is not running, so at most size chains can be pending. */
    for (unsigned i = 0; i < b->vq.size; i++) {
        int r = virtq_pop(&b->vq, b->g, &b->chain);
        if (r == 0)
            break;
        if (r < 0) {
            enter_needs_reset(b, virtq_strerror(r));
            break;
        }
        uint32_t used_len;
        if (!process_request(b, &used_len)) {
            enter_needs_reset(b, "request without a device-writable status byte in guest RAM");
            break;
        }
        r = virtq_push(&b->vq, b->g, b->chain.head, used_len);
        if (r < 0) {
            enter_needs_reset(b, virtq_strerror(r));
            break;
        }
        b->stats.requests++;
        completed++;
    }
    if (completed && b->hooks.used)
        b->hooks.used(b->hooks.ctx, b, index);
    return b->needs_reset ? -1 : completed;
}
