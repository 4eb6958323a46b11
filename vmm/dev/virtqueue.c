/* Split virtqueue processing over guest RAM (device side). Ring fields are read with the
 * accessors' single-access loads into locals: the driver may rewrite them at any moment, and
 * one read must not become two. The ring areas are checked to be RAM before their fields are
 * read, so a field load that fails (it cannot) only reads as zero / is dropped. */
#include "dev/virtqueue.h"
#include "lib/mem.h"
#include "mem/guest_mem.h"

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static bool in_ram(const struct vm *vm, uint64_t gpa, uint64_t len)
{
    return guest_mem_is_ram(vm, gpa, len);
}

static uint64_t avail_bytes(uint16_t size) { return 6 + 2ull * size; }
static uint64_t used_bytes(uint16_t size) { return 6 + 8ull * size; }

static int fail(struct virtq *q, int err)
{
    q->broken = true;
    q->error = err;
    return err;
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
    q->size = VIRTQ_MAX_SIZE;
}

int virtq_enable(struct virtq *q, const struct vm *vm)
{
    uint16_t n = q->size;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) != 0)
        return VIRTQ_ESETUP;
    if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
        return VIRTQ_ESETUP;
    if (!in_ram(vm, q->desc_gpa, 16ull * n) || !in_ram(vm, q->avail_gpa, avail_bytes(n)) ||
        !in_ram(vm, q->used_gpa, used_bytes(n)))
        return VIRTQ_ESETUP;
    q->enabled = true;
    q->broken = false;
    q->error = VIRTQ_OK;
    q->last_avail_idx = 0;
    q->used_idx = 0;
    return VIRTQ_OK;
}

/* Descriptor idx of the table at table_gpa, which the caller has checked is in RAM. */
static struct desc load_desc(const struct vm *vm, uint64_t table_gpa, uint32_t idx)
{
    uint64_t at = table_gpa + 16ull * idx;
    /* Two loads, not four: len, flags and next share one 8-byte little-endian word. */
    uint64_t addr = 0, rest = 0;
    (void)(guest_mem_load64(vm, at, &addr) && guest_mem_load64(vm, at + 8, &rest));
    return (struct desc){ .addr = addr, .len = (uint32_t)rest, .flags = (uint16_t)(rest >> 32),
                          .next = (uint16_t)(rest >> 48) };
}

int virtq_pop(struct virtq *q, const struct vm *vm, struct virtq_chain *c)
{
    if (!q->enabled)
        return 0;
    if (q->broken)
        return VIRTQ_EBROKEN;
    if (!in_ram(vm, q->avail_gpa, avail_bytes(q->size)) || !in_ram(vm, q->desc_gpa, 16ull * q->size))
        return fail(q, VIRTQ_ERING);

    uint16_t avail_idx = 0;
    if (!guest_mem_load16(vm, q->avail_gpa + 2, &avail_idx))
        return fail(q, VIRTQ_ERING);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail_idx);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return fail(q, VIRTQ_EAVAIL_IDX);
    uint16_t slot = q->last_avail_idx & (q->size - 1);
    uint16_t head = 0;
    if (!guest_mem_load16(vm, q->avail_gpa + 4 + 2ull * slot, &head))
        return fail(q, VIRTQ_ERING);
    if (head >= q->size)
        return fail(q, VIRTQ_EHEAD);

    c->head = head;
    c->count = 0;
    c->bad_seg = -1;

    uint64_t table_gpa = q->desc_gpa;
    uint32_t table_len = q->size;
    uint32_t idx = head;
    uint32_t visited = 0;        /* descriptors read from the current table */
    bool indirect = false;
    for (;;) {
        if (visited++ >= table_len)
            return fail(q, VIRTQ_ELOOP);
        struct desc d = load_desc(vm, table_gpa, idx);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (indirect || !q->indirect_ok || (d.flags & VIRTQ_DESC_F_NEXT) ||
                d.len == 0 || d.len % 16 != 0 || !in_ram(vm, d.addr, d.len))
                return fail(q, VIRTQ_EINDIRECT);
            indirect = true;
            table_gpa = d.addr;
            table_len = d.len / 16;
            idx = 0;
            visited = 0;
            continue;
        }
        /* The spec bounds the whole chain, indirect part included, by the queue size. */
        if (c->count >= q->size)
            return fail(q, VIRTQ_ELOOP);
        struct virtq_seg *s = &c->seg[c->count];
        s->gpa = d.addr;
        s->len = d.len;
        s->writable = (d.flags & VIRTQ_DESC_F_WRITE) != 0;
        s->in_ram = in_ram(vm, d.addr, d.len);
        if (!s->in_ram && c->bad_seg < 0)
            c->bad_seg = (int)c->count;
        c->count++;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        if (d.next >= table_len)
            return fail(q, VIRTQ_ENEXT);
        idx = d.next;
    }
    q->last_avail_idx++;
    return 1;
}

bool virtq_has_available(const struct virtq *q, const struct vm *vm)
{
    uint16_t avail_idx;
    if (!q->enabled || q->broken || !in_ram(vm, q->avail_gpa, avail_bytes(q->size)) ||
        !guest_mem_load16(vm, q->avail_gpa + 2, &avail_idx))
        return false;
    return avail_idx != q->last_avail_idx;
}

int virtq_push(struct virtq *q, struct vm *vm, uint16_t head, uint32_t len)
{
    if (!q->enabled)
        return VIRTQ_ERING;
    if (q->broken)
        return VIRTQ_EBROKEN;
    if (!in_ram(vm, q->used_gpa, used_bytes(q->size)))
        return fail(q, VIRTQ_ERING);
    uint64_t elem = q->used_gpa + 4 + 8ull * (q->used_idx & (q->size - 1));
    if (!guest_mem_store32(vm, elem, head) || !guest_mem_store32(vm, elem + 4, len))
        return fail(q, VIRTQ_ERING);
    q->used_idx++;
    if (!guest_mem_store16(vm, q->used_gpa + 2, q->used_idx))
        return fail(q, VIRTQ_ERING);
    return VIRTQ_OK;
}

bool virtq_interrupt_suppressed(const struct virtq *q, const struct vm *vm)
{
    uint16_t flags;
    if (!q->enabled || !guest_mem_load16(vm, q->avail_gpa, &flags))
        return false;
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) != 0;
}

const char *virtq_strerror(int err)
{
    switch (err) {
    case VIRTQ_OK: return "ok";
    case VIRTQ_EAVAIL_IDX: return "available index jumped more than the queue size";
    case VIRTQ_EHEAD: return "chain head index out of range";
    case VIRTQ_ENEXT: return "next descriptor index out of range";
    case VIRTQ_ELOOP: return "descriptor chain loops or is longer than the queue";
    case VIRTQ_EINDIRECT: return "bad indirect descriptor table";
    case VIRTQ_ERING: return "ring not in guest RAM";
    case VIRTQ_EBROKEN: return "queue broken, waiting for reset";
    case VIRTQ_ESETUP: return "bad queue size or ring address";
    default: return "unknown virtqueue error";
    }
}
