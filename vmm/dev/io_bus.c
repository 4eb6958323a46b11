/* Sorted range tables for a VM's I/O bus (see dev/io_bus.h): binary search on lookup, insertion
 * that keeps the order and refuses overlaps, and growth from the page allocator once the inline
 * slots are full. Pages are never returned (guests live for the whole run); growth doubles, so
 * what is left behind is at most what the table finally holds. */
#include <stdbool.h>
#include "dev/io_bus.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"

#define IO_BUS_PAGE_SIZE 4096u

static struct io_range *slots(struct io_range_table *t)
{
    return t->grown ? t->grown : t->inline_slots;
}

static const struct io_range *slots_const(const struct io_range_table *t)
{
    return t->grown ? t->grown : t->inline_slots;
}

static unsigned capacity(const struct io_range_table *t)
{
    return t->grown ? t->capacity : IO_BUS_INLINE_RANGES;
}

static uint64_t range_last(const struct io_range *r)
{
    return r->base + (r->size - 1);
}

/* Index of the first range whose base is above addr (0..count). */
static unsigned upper_bound(const struct io_range_table *t, uint64_t addr)
{
    const struct io_range *s = slots_const(t);
    unsigned lo = 0, hi = t->count < capacity(t) ? t->count : capacity(t);
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (s[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool grow(struct io_range_table *t)
{
    uint64_t want = (uint64_t)capacity(t) * 2 * sizeof(struct io_range);
    uint64_t pages = (want + IO_BUS_PAGE_SIZE - 1) / IO_BUS_PAGE_SIZE;
    struct io_range *bigger = page_alloc(pages);
    if (!bigger)
        return false;
    memcpy(bigger, slots(t), t->count * sizeof(struct io_range));
    t->grown = bigger;
    t->capacity = (unsigned)(pages * IO_BUS_PAGE_SIZE / sizeof(struct io_range));
    return true;
}

int io_range_add(struct io_range_table *t, uint64_t base, uint64_t size, const void *ops, void *dev)
{
    if (!ops || size == 0 || base + (size - 1) < base)
        return -1;
    uint64_t last = base + (size - 1);
    unsigned at = upper_bound(t, base);
    const struct io_range *s = slots_const(t);
    /* Sorted and disjoint: only the neighbours on either side can overlap. */
    if (at > 0 && range_last(&s[at - 1]) >= base)
        return -1;
    if (at < t->count && s[at].base <= last)
        return -1;
    if (t->count >= capacity(t) && !grow(t))
        return -1;
    struct io_range *w = slots(t);
    memmove(&w[at + 1], &w[at], (t->count - at) * sizeof(struct io_range));
    w[at] = (struct io_range){ .base = base, .size = size, .ops = ops, .dev = dev };
    t->count++;
    return 0;
}

int io_range_remove(struct io_range_table *t, uint64_t base)
{
    unsigned at = upper_bound(t, base);
    struct io_range *w = slots(t);
    if (at == 0 || w[at - 1].base != base)
        return -1;
    at--;
    memmove(&w[at], &w[at + 1], (t->count - at - 1) * sizeof(struct io_range));
    t->count--;
    memset(&w[t->count], 0, sizeof(struct io_range));
    return 0;
}

const struct io_range *io_range_find(const struct io_range_table *t, uint64_t addr)
{
    unsigned at = upper_bound(t, addr);
    if (at == 0)
        return NULL;
    const struct io_range *r = &slots_const(t)[at - 1];
    return addr - r->base < r->size ? r : NULL;
}

const struct io_range *io_range_at(const struct io_range_table *t, unsigned i)
{
    return i < t->count && i < capacity(t) ? &slots_const(t)[i] : NULL;
}

int io_bus_add_ports(struct io_bus *bus, uint16_t first, unsigned count, const struct port_ops *ops, void *dev)
{
    if (!ops || !ops->read || !ops->write || count == 0 || count > IO_PORT_SPACE - first)
        return -1;
    return io_range_add(&bus->ports, first, count, ops, dev);
}

int io_bus_add_mmio(struct io_bus *bus, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *dev)
{
    if (!ops || !ops->read || !ops->write)
        return -1;
    return io_range_add(&bus->mmio, base, size, ops, dev);
}

const struct io_range *io_bus_find_port(const struct io_bus *bus, uint16_t port)
{
    return io_range_find(&bus->ports, port);
}
