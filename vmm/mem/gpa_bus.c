/* The guest-physical bus behind emulated accesses: RAM, registered device regions, and the
 * empty bus (reads all ones, writes dropped) everywhere else. */
#include <stdbool.h>
#include "mem/gpa_bus.h"
#include "lib/mem.h"

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* The region holding the whole span [gpa, gpa + size), or NULL. Overflow-safe. */
static const struct mmio_region *region_covering(const struct vm *vm, uint64_t gpa, unsigned size)
{
    for (unsigned i = 0; i < vm->mmio_count && i < GUEST_MAX_MMIO; i++) {
        const struct mmio_region *r = &vm->mmio[i];
        if (gpa >= r->base && gpa - r->base < r->size && size <= r->size - (gpa - r->base))
            return r;
    }
    return NULL;
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
    const uint8_t *p = vm_ram_ptr(vm, gpa, 1);
    if (p)
        return *p;
    const struct mmio_region *r = region_covering(vm, gpa, 1);
    if (r)
        return (uint8_t)r->ops->read(r->dev, gpa - r->base, 1);
    return 0xff;
}

static void write_byte(struct vm *vm, uint64_t gpa, uint8_t value)
{
    uint8_t *p = vm_ram_ptr(vm, gpa, 1);
    if (p) {
        *p = value;
        return;
    }
    const struct mmio_region *r = region_covering(vm, gpa, 1);
    if (r)
        r->ops->write(r->dev, gpa - r->base, 1, value);
}

uint64_t gpa_read(struct vm *vm, uint64_t gpa, unsigned size)
{
    if (size == 0 || size > 8)
        return ~0ull;
    const uint8_t *p = vm_ram_ptr(vm, gpa, size);
    if (p) {
        uint64_t v = 0;
        memcpy(&v, p, size);    /* x86 and the guest are both little-endian */
        return v;
    }
    const struct mmio_region *r = region_covering(vm, gpa, size);
    if (r)
        return r->ops->read(r->dev, gpa - r->base, size) & size_mask(size);
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
    uint8_t *p = vm_ram_ptr(vm, gpa, size);
    if (p) {
        memcpy(p, &value, size);
        return;
    }
    const struct mmio_region *r = region_covering(vm, gpa, size);
    if (r) {
        r->ops->write(r->dev, gpa - r->base, size, value & size_mask(size));
        return;
    }
    if (!span_touches_anything(vm, gpa, size))
        return;
    for (unsigned i = 0; i < size && byte_exists(gpa, i); i++)
        write_byte(vm, gpa + i, (uint8_t)(value >> (8 * i)));
}

/* Regions are [base, base + size - 1] inclusive, so one ending at the very top of the
 * address space is representable while a span that wraps past it is not. */
int gpa_add_mmio(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *dev)
{
    if (!ops || !ops->read || !ops->write || size == 0 || vm->mmio_count >= GUEST_MAX_MMIO)
        return -1;
    uint64_t last = base + (size - 1);
    if (last < base)
        return -1;
    if (base < vm->ram_size)
        return -1;
    for (unsigned i = 0; i < vm->mmio_count; i++) {
        const struct mmio_region *r = &vm->mmio[i];
        uint64_t r_last = r->base + (r->size - 1);
        if (base <= r_last && r->base <= last)
            return -1;
    }
    vm->mmio[vm->mmio_count++] = (struct mmio_region){ .base = base, .size = size, .ops = ops, .dev = dev };
    return 0;
}

int gpa_remove_mmio(struct vm *vm, uint64_t base)
{
    for (unsigned i = 0; i < vm->mmio_count && i < GUEST_MAX_MMIO; i++) {
        if (vm->mmio[i].base != base)
            continue;
        for (unsigned j = i + 1; j < vm->mmio_count && j < GUEST_MAX_MMIO; j++)
            vm->mmio[j - 1] = vm->mmio[j];
        vm->mmio_count--;
        memset(&vm->mmio[vm->mmio_count], 0, sizeof(vm->mmio[0]));
        return 0;
    }
    return -1;
}
