/* The guest-physical bus behind emulated accesses: RAM, registered device regions, and the
 * empty bus (reads all ones, writes dropped) everywhere else. Devices are found on the VM's
 * I/O bus (dev/io_bus.h). */
#include <stdbool.h>
#include "mem/gpa_bus.h"
#include "lib/mem.h"
#include "mem/guest_mem.h"

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* The region holding the whole span [gpa, gpa + size), or NULL. Overflow-safe. */
static const struct io_range *region_covering(const struct vm *vm, uint64_t gpa, unsigned size)
{
    const struct io_range *r = io_range_find(&vm->bus.mmio, gpa);
    if (r && size <= r->size - (gpa - r->base))
        return r;
    return NULL;
}

static const struct mmio_ops *mmio_ops_of(const struct io_range *r)
{
    return r->ops;
}

/* Bytes past the top of the address space do not wrap around to 0: they are empty bus. */
static bool byte_exists(uint64_t gpa, unsigned i)
{
    return gpa + i >= gpa;
}

/* Does any byte of [gpa, gpa + size) fall in RAM or a device region? */
static bool span_touches_anything(const struct vm *vm, uint64_t gpa, unsigned size)
{
    for (unsigned i = 0; i < size && byte_exists(gpa, i); i++) {
        uint64_t a = gpa + i;
        if (a < vm->ram_size || region_covering(vm, a, 1))
            return true;
    }
    return false;
}

static uint8_t read_byte(struct vm *vm, uint64_t gpa)
{
    uint8_t b;
    if (guest_mem_load8(vm, gpa, &b))
        return b;
    const struct io_range *r = region_covering(vm, gpa, 1);
    if (r)
        return (uint8_t)mmio_ops_of(r)->read(r->dev, gpa - r->base, 1);
    return 0xff;
}

static void write_byte(struct vm *vm, uint64_t gpa, uint8_t value)
{
    if (guest_mem_store8(vm, gpa, value))
        return;
    const struct io_range *r = region_covering(vm, gpa, 1);
    if (r)
        mmio_ops_of(r)->write(r->dev, gpa - r->base, 1, value);
}

uint64_t gpa_read(struct vm *vm, uint64_t gpa, unsigned size)
{
    if (size == 0 || size > 8)
        return ~0ull;
    uint64_t ram_value = 0;
    if (guest_mem_read(vm, gpa, &ram_value, size))  /* x86 and the guest are both little-endian */
        return ram_value;
    const struct io_range *r = region_covering(vm, gpa, size);
    if (r)
        return mmio_ops_of(r)->read(r->dev, gpa - r->base, size) & size_mask(size);
    if (!span_touches_anything(vm, gpa, size))
        return size_mask(size);
    /* Straddles RAM, a device and/or the empty bus: each byte goes where it belongs. */
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)(byte_exists(gpa, i) ? read_byte(vm, gpa + i) : 0xff) << (8 * i);
    return v;
}

void gpa_write(struct vm *vm, uint64_t gpa, unsigned size, uint64_t value)
{
    if (size == 0 || size > 8)
        return;
    if (guest_mem_write(vm, gpa, &value, size))
        return;
    const struct io_range *r = region_covering(vm, gpa, size);
    if (r) {
        mmio_ops_of(r)->write(r->dev, gpa - r->base, size, value & size_mask(size));
        return;
    }
    if (!span_touches_anything(vm, gpa, size))
        return;
    for (unsigned i = 0; i < size && byte_exists(gpa, i); i++)
        write_byte(vm, gpa + i, (uint8_t)(value >> (8 * i)));
}

/* RAM is not on the bus, so a device may not claim any of it; the bus refuses the rest. */
int gpa_add_mmio(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *dev)
{
    if (base < vm->ram_size)
        return -1;
    return io_bus_add_mmio(&vm->bus, base, size, ops, dev);
}

int gpa_remove_mmio(struct vm *vm, uint64_t base)
{
    return io_range_remove(&vm->bus.mmio, base);
}
