/* Split virtqueue processing over guest RAM (device side). Ring fields are read with volatile
 * loads into locals: the driver may rewrite them at any moment, and the compiler must not turn
 * one read into two. */
#include "dev/virtqueue.h"
#include "lib/mem.h"

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* The caller has checked that [gpa, gpa + n) is guest RAM. A naturally aligned field is one
 * volatile load (x86 reads it in one access, so it cannot tear); others, which only a driver
 * ignoring the spec's alignment rules produces, are read byte by byte. Guest RAM starts on a
 * page boundary, so aligned guest-physical means aligned pointer. */
static uint64_t load_le(const struct vm *vm, uint64_t gpa, unsigned n)
{
    const volatile uint8_t *p = vm->ram + gpa;
    if ((gpa & (n - 1)) == 0) {
        switch (n) {
        case 2: return *(const volatile uint16_t *)(const volatile void *)p;
        case 4: return *(const volatile uint32_t *)(const volatile void *)p;
        case 8: return *(const volatile uint64_t *)(const volatile void *)p;
        default: break;
        }
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void store_le(struct vm *vm, uint64_t gpa, unsigned n, uint64_t v)
{
    volatile uint8_t *p = vm->ram + gpa;
    if ((gpa & (n - 1)) == 0) {
        switch (n) {
        case 2: *(volatile uint16_t *)(volatile void *)p = (uint16_t)v; return;
        case 4: *(volatile uint32_t *)(volatile void *)p = (uint32_t)v; return;
        case 8: *(volatile uint64_t *)(volatile void *)p = v; return;
        default: break;
        }
    }
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool in_ram(const struct vm *vm, uint64_t gpa, uint64_t len)
{
    return vm_ram_ptr(vm, gpa, len) != NULL;
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
    struct desc d;
    d.addr = load_le(vm, at, 8);
    d.len = (uint32_t)load_le(vm, at + 8, 4);
    d.flags = (uint16_t)load_le(vm, at + 12, 2);
    d.next = (uint16_t)load_le(vm, at + 14, 2);
    return d;
}

int virtq_pop(struct virtq *q, const struct vm *vm, struct virtq_chain *c)
{
    if (!q->enabled)
        return 0;
    if (q->broken)
        return VIRTQ_EBROKEN;
    if (!in_ram(vm, q->avail_gpa, avail_bytes(q->size)) || !in_ram(vm, q->desc_gpa, 16ull * q->size))
        return fail(q, VIRTQ_ERING);

    uint16_t avail_idx = (uint16_t)load_le(vm, q->avail_gpa + 2, 2);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail_idx);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return fail(q, VIRTQ_EAVAIL_IDX);
    uint16_t slot = q->last_avail_idx & (q->size - 1);
    uint16_t head = (uint16_t)load_le(vm, q->avail_gpa + 4 + 2ull * slot, 2);
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
    if (!q->enabled || q->broken || !in_ram(vm, q->avail_gpa, avail_bytes(q->size)))
        return false;
    return (uint16_t)load_le(vm, q->avail_gpa + 2, 2) != q->last_avail_idx;
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
    store_le(vm, elem, 4, head);
    store_le(vm, elem + 4, 4, len);
    q->used_idx++;
    store_le(vm, q->used_gpa + 2, 2, q->used_idx);
    return VIRTQ_OK;
}

bool virtq_interrupt_suppressed(const struct virtq *q, const struct vm *vm)
{
    if (!q->enabled || !in_ram(vm, q->avail_gpa, 2))
        return false;
    return (load_le(vm, q->avail_gpa, 2) & VIRTQ_AVAIL_F_NO_INTERRUPT) != 0;
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
