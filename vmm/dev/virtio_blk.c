/* virtio-blk request processing over a minidisk, in bounded steps. Layout of a request
 * (section 5.2.6): a device-readable 16-byte header (it may span descriptors; it is copied out
 * once), data buffers, and a device-writable status byte, the last byte of the chain. All
 * validation happens when a request is taken, before the disk is touched; every sector goes
 * through minidisk_translate. Data moves in transfers that fit the step's budget, so a request
 * may span several steps; its progress lives in b->req. */
#include "dev/virtio_blk.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/guest_mem.h"

#define HEADER_BYTES 16u               /* type, reserved, sector (le32, le32, le64) */

static void cursor_init(struct virtio_blk_cursor *k, struct vm *vm, const struct virtq_chain *c, unsigned seg,
                        uint64_t left)
{
    *k = (struct virtio_blk_cursor){ vm, c, seg, 0, left };
}

/* Moves past used-up (and empty) segments so that off lies inside seg, or seg == count. */
static void cursor_settle(struct virtio_blk_cursor *k)
{
    while (k->seg < k->c->count && k->off >= k->c->seg[k->seg].len) {
        k->off -= k->c->seg[k->seg].len;
        k->seg++;
    }
}

/* How many bytes at the cursor are contiguous in guest-physical memory, at most max; 0 when the
 * stream is done. Segments that follow each other in guest-physical memory form one span: a
 * guest that splits a buffer into page-sized descriptors (as drivers do) still reaches the disk
 * with one large transfer instead of one per page. Segments were checked to be in RAM (so
 * gpa + len cannot overflow) before any cursor is used. */
static uint64_t cursor_span(struct virtio_blk_cursor *k, uint64_t max)
{
    cursor_settle(k);
    if (!k->left || k->seg >= k->c->count)
        return 0;
    const struct virtq_seg *s = &k->c->seg[k->seg];
    uint64_t n = s->len - k->off;
    uint64_t limit = k->left < max ? k->left : max;
    uint64_t end = s->gpa + s->len;
    for (unsigned i = k->seg + 1; n < limit && i < k->c->count && k->c->seg[i].gpa == end; i++) {
        n += k->c->seg[i].len;
        end += k->c->seg[i].len;
    }
    return n < limit ? n : limit;
}

/* Pins the guest memory at the cursor, at most max bytes: pin->len says how much that is (the
 * span, or less where the guest's memory is not one host range). 0 when the stream is done. */
static uint64_t cursor_pin(struct virtio_blk_cursor *k, uint64_t max, bool writable, struct guest_pin *pin)
{
    uint64_t n = cursor_span(k, max);
    if (!n || !guest_mem_pin(k->vm, k->c->seg[k->seg].gpa + k->off, n, writable, pin))
        return 0;
    return pin->len;
}

static void cursor_advance(struct virtio_blk_cursor *k, uint64_t n)
{
    k->off += n;
    k->left -= n;
}

/* Copies n bytes out of / into the stream; returns the bytes moved. */
static uint64_t cursor_read(struct virtio_blk_cursor *k, void *dst, uint64_t n)
{
    uint8_t *d = dst;
    uint64_t done = 0, len;
    struct guest_pin pin;
    while (done < n && (len = cursor_pin(k, n - done, false, &pin)) != 0) {
        memcpy(d + done, pin.host, len);
        guest_mem_unpin(&pin);
        cursor_advance(k, len);
        done += len;
    }
    return done;
}

static void cursor_skip(struct virtio_blk_cursor *k, uint64_t n)
{
    uint64_t len;
    while (n && (len = cursor_span(k, n)) != 0) {
        cursor_advance(k, len);
        n -= len;
    }
}

static uint64_t cursor_write(struct virtio_blk_cursor *k, const void *src, uint64_t n)
{
    const uint8_t *s = src;
    uint64_t done = 0, len;
    struct guest_pin pin;
    while (done < n && (len = cursor_pin(k, n - done, true, &pin)) != 0) {
        memcpy(pin.host, s + done, len);
        guest_mem_unpin(&pin);
        cursor_advance(k, len);
        done += len;
    }
    return done;
}

/* Nothing left for later: the guest's pending device work, if it is ours, ends. */
static void cancel_deferred(struct virtio_blk *b)
{
    if (b->vm->device_work.ctx == b)
        b->vm->device_work.pending = false;
}

void virtio_blk_init(struct virtio_blk *b, struct vm *vm, const struct minidisk *md,
                     const struct virtio_blk_clock *clock)
{
    char id[64];
    memset(b, 0, sizeof(*b));
    b->vm = vm;
    b->md = *md;
    if (clock)
        b->clock = *clock;
    fmt_snprintf(id, sizeof(id), "tessera-%s-%s", vm->name, md->part_name);
    size_t n = strnlen(id, VIRTIO_BLK_ID_BYTES);
    memcpy(b->id, id, n);
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUES; i++)
        virtq_reset(&b->vq[i]);
    cancel_deferred(b);
}

void virtio_blk_reset(struct virtio_blk *b)
{
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUES; i++)
        virtq_reset(&b->vq[i]);
    b->driver_features = 0;
    b->needs_reset = false;
    b->reset_reason[0] = 0;
    /* The driver forgets every buffer it gave us: drop the request in progress unanswered. */
    b->req = (struct virtio_blk_request){ .phase = VIRTIO_BLK_IDLE };
    b->notified = 0;
    b->next_queue = 0;
    cancel_deferred(b);
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
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUES; i++)
        b->vq[i].indirect_ok = (b->driver_features >> VIRTIO_F_INDIRECT_DESC) & 1;
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
    return index < VIRTIO_BLK_QUEUES ? &b->vq[index] : NULL;
}

/* Moves `bytes` (a multiple of 512) between physical sector `phys` (inside the range the request
 * translated once) and the stream. Sectors wholly inside one pinned piece of guest memory go
 * straight to the disk; a sector split across buffers (or pieces) goes through the bounce buffer. Returns BLKDEV_OK or the
 * first error; *done counts the bytes moved. */
static int transfer(struct virtio_blk *b, struct virtio_blk_cursor *k, uint64_t phys, uint64_t bytes,
                    bool to_guest, uint64_t *done)
{
    *done = 0;
    while (*done < bytes) {
        /* Zero-copy: the disk moves whole sectors straight into or out of the pinned piece. */
        struct guest_pin pin;
        uint64_t len = cursor_pin(k, bytes - *done, to_guest, &pin);
        uint64_t s = phys + *done / VIRTIO_BLK_SECTOR;
        int err;
        if (len == 0)
            return BLKDEV_EINVAL;            /* cannot happen: lengths were summed beforehand */
        if (len >= VIRTIO_BLK_SECTOR) {
            uint64_t n = len / VIRTIO_BLK_SECTOR;
            err = to_guest ? minidisk_read_translated(&b->md, s, n, pin.host)
                           : minidisk_write_translated(&b->md, s, n, pin.host);
            guest_mem_unpin(&pin);
            if (err)
                return err;
            cursor_advance(k, n * VIRTIO_BLK_SECTOR);
            *done += n * VIRTIO_BLK_SECTOR;
            continue;
        }
        guest_mem_unpin(&pin);
        if (to_guest) {
            err = minidisk_read_translated(&b->md, s, 1, b->bounce);
            if (err)
                return err;
            cursor_write(k, b->bounce, VIRTIO_BLK_SECTOR);
            *done += VIRTIO_BLK_SECTOR;
        } else {
            cursor_read(k, b->bounce, VIRTIO_BLK_SECTOR);
            err = minidisk_write_translated(&b->md, s, 1, b->bounce);
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

/* ---- The step budget ---- */

struct step_budget {
    uint64_t bytes_left;
    uint64_t start;             /* clock ticks when the step began */
    unsigned ops;               /* operations so far: the first is always allowed, so every
                                   step makes progress */
};

static bool has_clock(const struct virtio_blk *b)
{
    return b->clock.now && b->clock.step_ticks;
}

static uint64_t ticks_left(const struct virtio_blk *b, const struct step_budget *bud)
{
    uint64_t used = b->clock.now() - bud->start;
    return used < b->clock.step_ticks ? b->clock.step_ticks - used : 0;
}

static bool budget_allows(const struct virtio_blk *b, const struct step_budget *bud)
{
    if (bud->ops == 0)
        return true;
    return bud->bytes_left > 0 && (!has_clock(b) || ticks_left(b, bud) > 0);
}

static void charge(struct step_budget *bud, uint64_t bytes)
{
    bud->bytes_left = bytes < bud->bytes_left ? bud->bytes_left - bytes : 0;
    bud->ops++;
}

/* Bytes the next transfer of a request with `remaining` bytes to go may move: what is left of
 * the byte budget and, on a clock, what the disk's measured speed fits into the time left
 * (one probe sector while the speed is unknown). Whole sectors; 0 means the step is over.
 * The time check alone would not do: one transfer on a slow disk (IDE PIO) could take longer
 * than a slice. */
static uint64_t transfer_limit(const struct virtio_blk *b, const struct step_budget *bud, uint64_t remaining)
{
    uint64_t sectors = (remaining < bud->bytes_left ? remaining : bud->bytes_left) / VIRTIO_BLK_SECTOR;
    if (has_clock(b)) {
        uint64_t fit = !b->speed_known ? VIRTIO_BLK_PROBE_SECTORS
                     : b->ticks_per_sector ? ticks_left(b, bud) / b->ticks_per_sector : sectors;
        if (fit < sectors)
            sectors = fit;
    }
    if (sectors == 0 && bud->ops == 0)
        sectors = 1;                    /* remaining is a non-zero multiple of a sector */
    return sectors * VIRTIO_BLK_SECTOR;
}

/* ---- Taking a request ---- */

static void finish(struct virtio_blk_request *r, uint8_t status)
{
    r->status = status;
    r->phase = VIRTIO_BLK_DONE;
}

/* After a transfer: an OUT without FLUSH negotiated still has its flush to do. */
static void transfer_done(struct virtio_blk_request *r)
{
    if (r->done < r->bytes)
        return;
    if (r->type == VIRTIO_BLK_T_OUT && r->flush_after)
        r->phase = VIRTIO_BLK_FLUSH;
    else
        finish(r, VIRTIO_BLK_S_OK);
}

/* Sets up b->req for the chain just popped from queue: the status byte located, the layout
 * checked, the header copied once, the range translated. Requests that need no disk (and those
 * that fail these checks) are finished here. Returns false when the chain has no usable status
 * byte (a device error: NEEDS_RESET). */
static bool take_request(struct virtio_blk *b, unsigned queue)
{
    const struct virtq_chain *c = &b->chain;
    struct virtio_blk_request *r = &b->req;
    *r = (struct virtio_blk_request){ .phase = VIRTIO_BLK_IDLE, .queue = queue };
    if (c->count == 0)
        return false;
    const struct virtq_seg *last = &c->seg[c->count - 1];
    if (!last->writable || last->len == 0 || !last->in_ram)
        return false;
    r->status_gpa = last->gpa + last->len - 1;
    if (!guest_mem_is_ram(b->vm, r->status_gpa, 1))
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
    /* The used length (data + status) must fit in 32 bits. */
    if (!layout_ok || readable < HEADER_BYTES || writable > UINT32_MAX) {
        b->stats.malformed++;
        finish(r, VIRTIO_BLK_S_IOERR);
        return true;
    }
    readable -= HEADER_BYTES;
    writable -= 1;                      /* the status byte */

    uint8_t raw[HEADER_BYTES];
    struct virtio_blk_cursor k;
    cursor_init(&k, b->vm, c, 0, HEADER_BYTES);
    cursor_read(&k, raw, HEADER_BYTES);
    r->type = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
    for (unsigned i = 0; i < 8; i++)
        r->sector |= (uint64_t)raw[8 + i] << (8 * i);

    switch (r->type) {
    case VIRTIO_BLK_T_IN:
        b->stats.reads++;
        if (readable != 0 || writable % VIRTIO_BLK_SECTOR != 0) {
            b->stats.malformed++;
            finish(r, VIRTIO_BLK_S_IOERR);
        } else if (minidisk_translate(&b->md, r->sector, writable / VIRTIO_BLK_SECTOR, &r->phys)) {
            finish(r, disk_error(b, BLKDEV_ERANGE));
        } else {
            r->bytes = writable;
            cursor_init(&r->data, b->vm, c, first_writable, writable);
            r->phase = VIRTIO_BLK_TRANSFER;
            transfer_done(r);           /* an empty read is done */
        }
        break;

    case VIRTIO_BLK_T_OUT:
        b->stats.writes++;
        if (writable != 0 || readable % VIRTIO_BLK_SECTOR != 0) {
            b->stats.malformed++;
            finish(r, VIRTIO_BLK_S_IOERR);
        } else if (b->md.read_only) {
            finish(r, disk_error(b, BLKDEV_EROFS));
        } else if (minidisk_translate(&b->md, r->sector, readable / VIRTIO_BLK_SECTOR, &r->phys)) {
            finish(r, disk_error(b, BLKDEV_ERANGE));
        } else {
            r->bytes = readable;
            r->flush_after = !((b->driver_features >> VIRTIO_BLK_F_FLUSH) & 1);
            cursor_init(&r->data, b->vm, c, 0, HEADER_BYTES + readable);
            cursor_skip(&r->data, HEADER_BYTES);
            r->phase = VIRTIO_BLK_TRANSFER;
            transfer_done(r);
        }
        break;

    case VIRTIO_BLK_T_FLUSH:
        b->stats.flushes++;
        r->phase = VIRTIO_BLK_FLUSH;
        break;

    case VIRTIO_BLK_T_GET_ID:
        b->stats.get_ids++;
        if (writable == 0) {
            b->stats.malformed++;
            finish(r, VIRTIO_BLK_S_IOERR);
            break;
        }
        cursor_init(&k, b->vm, c, first_writable, writable);
        r->written = (uint32_t)cursor_write(&k, b->id, writable < VIRTIO_BLK_ID_BYTES ? writable : VIRTIO_BLK_ID_BYTES);
        finish(r, VIRTIO_BLK_S_OK);
        break;

    default:
        b->stats.unsupported++;
        finish(r, VIRTIO_BLK_S_UNSUPP);
        break;
    }
    return true;
}

/* ---- Serving the request in progress ---- */

/* One transfer of as much as the budget allows. false: the budget is used up. */
static bool transfer_step(struct virtio_blk *b, struct step_budget *bud)
{
    struct virtio_blk_request *r = &b->req;
    uint64_t limit = transfer_limit(b, bud, r->bytes - r->done);
    if (limit == 0)
        return false;
    bool to_guest = r->type == VIRTIO_BLK_T_IN;
    uint64_t t0 = has_clock(b) ? b->clock.now() : 0, moved;
    int err = transfer(b, &r->data, r->phys + r->done / VIRTIO_BLK_SECTOR, limit, to_guest, &moved);
    if (has_clock(b) && !err) {
        b->ticks_per_sector = (b->clock.now() - t0) / (limit / VIRTIO_BLK_SECTOR);
        b->speed_known = true;
    }
    charge(bud, limit);
    r->done += moved;
    if (to_guest)
        r->written += (uint32_t)moved;      /* at most the writable length, checked to fit */
    if (err)
        finish(r, disk_error(b, err));      /* fails the request part-way, as a disk may */
    else
        transfer_done(r);
    return true;
}

/* Advances b->req within the budget, up to DONE when it fits. */
static void serve(struct virtio_blk *b, struct step_budget *bud)
{
    struct virtio_blk_request *r = &b->req;
    while (r->phase != VIRTIO_BLK_DONE && budget_allows(b, bud)) {
        if (r->phase == VIRTIO_BLK_TRANSFER) {
            if (!transfer_step(b, bud))
                return;
        } else {
            int err = minidisk_flush(&b->md);
            charge(bud, 0);
            finish(r, err ? disk_error(b, err) : VIRTIO_BLK_S_OK);
        }
    }
}

static void enter_needs_reset(struct virtio_blk *b, const char *why)
{
    b->req.phase = VIRTIO_BLK_IDLE;
    if (b->needs_reset)
        return;
    b->needs_reset = true;
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUES; i++)
        b->vq[i].broken = true;
    fmt_snprintf(b->reset_reason, sizeof(b->reset_reason), "%s", why);
    log_printf("tessera: guest %s: virtio-blk: %s; device needs reset\n", b->vm->name, why);
    if (b->hooks.needs_reset)
        b->hooks.needs_reset(b->hooks.ctx, b);
}

/* The status byte, then the used entry: only now does the driver see the request end. */
static bool complete(struct virtio_blk *b)
{
    struct virtio_blk_request *r = &b->req;
    guest_mem_store8(b->vm, r->status_gpa, r->status);   /* checked to be RAM when taken */
    r->phase = VIRTIO_BLK_IDLE;
    int err = virtq_push(&b->vq[r->queue], b->vm, b->chain.head, r->written + 1);
    if (err < 0) {
        enter_needs_reset(b, virtq_strerror(err));
        return false;
    }
    b->stats.requests++;
    return true;
}

/* Takes the next request, round robin over the notified queues: each queue gets one request
 * before the next gets another. false: nothing to take, or the ring is broken. */
static bool take_next(struct virtio_blk *b, struct step_budget *bud)
{
    for (unsigned i = 0; i < VIRTIO_BLK_QUEUES; i++) {
        unsigned q = (b->next_queue + i) % VIRTIO_BLK_QUEUES;
        if (!(b->notified & (1u << q)))
            continue;
        int got = virtq_pop(&b->vq[q], b->vm, &b->chain);
        if (got == 0) {
            b->notified &= ~(1u << q);
            continue;
        }
        if (got < 0) {
            enter_needs_reset(b, virtq_strerror(got));
            return false;
        }
        b->next_queue = (q + 1) % VIRTIO_BLK_QUEUES;
        charge(bud, VIRTIO_BLK_REQUEST_COST);
        if (!take_request(b, q)) {
            enter_needs_reset(b, "request without a device-writable status byte in guest RAM");
            return false;
        }
        return true;
    }
    return false;
}

/* Work left for a later step: the request in progress, or a notified queue with entries. */
static bool work_left(struct virtio_blk *b)
{
    if (b->needs_reset)
        return false;
    if (b->req.phase != VIRTIO_BLK_IDLE)
        return true;
    for (unsigned q = 0; q < VIRTIO_BLK_QUEUES; q++) {
        if (!(b->notified & (1u << q)))
            continue;
        if (virtq_has_available(&b->vq[q], b->vm))
            return true;
        b->notified &= ~(1u << q);
    }
    return false;
}

/* One step: serve, take and complete requests until the budget is used or nothing is left;
 * signal each queue that got used entries; leave the rest to the guest's next turn. */
static int step(struct virtio_blk *b)
{
    struct step_budget bud = { VIRTIO_BLK_STEP_BYTES, has_clock(b) ? b->clock.now() : 0, 0 };
    uint32_t used_queues = 0;
    int completed = 0;
    while (!b->needs_reset) {
        if (b->req.phase == VIRTIO_BLK_IDLE && (!budget_allows(b, &bud) || !take_next(b, &bud)))
            break;
        serve(b, &bud);
        if (b->req.phase != VIRTIO_BLK_DONE)
            break;                          /* the budget ran out in the middle of it */
        unsigned q = b->req.queue;
        if (!complete(b))
            break;
        used_queues |= 1u << q;
        completed++;
    }
    if (bud.ops)
        b->stats.steps++;
    for (unsigned q = 0; q < VIRTIO_BLK_QUEUES; q++)
        if ((used_queues & (1u << q)) && b->hooks.used)
            b->hooks.used(b->hooks.ctx, b, q);
    if (work_left(b)) {
        b->stats.budget_stops++;
        b->vm->device_work = (struct deferred_work){ virtio_blk_run, b, true };
    } else {
        cancel_deferred(b);
    }
    return completed;
}

int virtio_blk_notify(struct virtio_blk *b, unsigned index)
{
    if (index >= VIRTIO_BLK_QUEUES) {
        b->stats.bad_notifies++;
        return -1;
    }
    if (b->needs_reset)
        return -1;
    b->notified |= 1u << index;
    int completed = step(b);
    return b->needs_reset ? -1 : completed;
}

void virtio_blk_run(void *ctx)
{
    step(ctx);
}
