/* Guest-physical RAM as the hypervisor reaches it: every device, hypercall, virtqueue and page
 * walk goes through these accessors, never through a pointer of its own, so that guest memory
 * can later be paged (issue 11) without touching them: an access pages in and pins what it needs.
 *
 * Contract. A range is RAM when every byte of [gpa, gpa + len) is below vm->ram_size; the checks
 * never compute gpa + len, so no range wraps. A zero-length range is RAM when its address is
 * (below ram_size), as a descriptor of length 0 at the last byte of RAM is. Guests are hostile:
 * what the accessors return is a copy or a value, read once; only a pin hands out a pointer. */
#ifndef TESSERA_GUEST_MEM_H
#define TESSERA_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/vm.h"
#include "lib/mem.h"

/* Every accessor is inline: devices and the page walker call them once per ring field, paging
 * entry or buffer, and a call is most of what they cost (each request's per-field accesses are on
 * the virtio fast path). Their one host-address computation is guest_mem_host_ (below), private
 * to this header. */
static inline uint8_t *guest_mem_host_(const struct vm *vm, uint64_t gpa, uint64_t len);

/* Whether [gpa, gpa + len) is guest RAM. Touches nothing (pages nothing in). */
static inline bool guest_mem_is_ram(const struct vm *vm, uint64_t gpa, uint64_t len)
{
    return guest_mem_host_(vm, gpa, len) != NULL;
}

/* Copy len bytes between guest RAM and the hypervisor. Succeed only when the whole range is RAM;
 * on failure nothing was copied. */
static inline bool guest_mem_read(const struct vm *vm, uint64_t gpa, void *dst, uint64_t len);
static inline bool guest_mem_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);

/* A pinned piece of guest RAM: host points at len (>= 1) contiguous bytes that stay where they
 * are until guest_mem_unpin. A pin covers only what it reports: pinning a range may give back a
 * shorter prefix (vm->pin_piece_max, for guests whose memory is not one host range), so callers
 * loop, pinning the rest after the piece they used. */
struct guest_pin {
    struct vm *vm;              /* NULL: nothing pinned */
    void *host;
    uint64_t gpa;
    uint64_t len;
    bool writable;              /* the holder may write through host (device-to-guest DMA) */
};

/* Pin the first host-contiguous piece of [gpa, gpa + len). false, with nothing pinned, unless
 * len > 0 and the whole range is RAM, so a caller learns at once that its range is bad. Every
 * successful pin must be released with guest_mem_unpin, before the exit that made it ends. */
static inline bool guest_mem_pin(struct vm *vm, uint64_t gpa, uint64_t len, bool writable,
                                 struct guest_pin *pin);
/* Release a pin (no-op for one that pinned nothing); the pin is then empty. */
static inline void guest_mem_unpin(struct guest_pin *pin);
/* Pins not yet released on vm: zero whenever no device operation is in progress (tests check). */
static inline unsigned guest_mem_live_pins(const struct vm *vm);

/* One little-endian ring field, read or written with a single access when naturally aligned (x86
 * cannot tear it, and the compiler may not split or repeat it: the driver may change the field at
 * any time, so the caller reads it once and uses only its copy). Unaligned fields, which only a
 * driver ignoring the spec's alignment rules produces, go byte by byte. false: not RAM, and
 * *value is left alone. */
static inline bool guest_mem_load8(const struct vm *vm, uint64_t gpa, uint8_t *value);
static inline bool guest_mem_load16(const struct vm *vm, uint64_t gpa, uint16_t *value);
static inline bool guest_mem_load32(const struct vm *vm, uint64_t gpa, uint32_t *value);
static inline bool guest_mem_load64(const struct vm *vm, uint64_t gpa, uint64_t *value);
static inline bool guest_mem_store8(struct vm *vm, uint64_t gpa, uint8_t value);
static inline bool guest_mem_store16(struct vm *vm, uint64_t gpa, uint16_t value);
static inline bool guest_mem_store32(struct vm *vm, uint64_t gpa, uint32_t value);
static inline bool guest_mem_store64(struct vm *vm, uint64_t gpa, uint64_t value);

/* ---- Inline implementation ---- */

/* Host address of [gpa, gpa + len), or NULL unless the whole range is RAM. Overflow-safe: never
 * computes gpa + len. Today RAM is one host range; paging will look the page up here. */
static inline uint8_t *guest_mem_host_(const struct vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa >= vm->ram_size || len > vm->ram_size - gpa)
        return NULL;
    return vm->ram + gpa;
}

static inline bool guest_mem_read(const struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
    const uint8_t *p = guest_mem_host_(vm, gpa, len);
    if (!p)
        return false;
    memcpy(dst, p, len);
    return true;
}

static inline bool guest_mem_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
    uint8_t *p = guest_mem_host_(vm, gpa, len);
    if (!p)
        return false;
    memcpy(p, src, len);
    return true;
}

static inline bool guest_mem_pin(struct vm *vm, uint64_t gpa, uint64_t len, bool writable,
                                 struct guest_pin *pin)
{
    uint8_t *p = len ? guest_mem_host_(vm, gpa, len) : NULL;
    if (!p) {
        pin->vm = NULL;
        return false;
    }
    uint64_t piece = vm->pin_piece_max;
    if (piece) {
        /* Pieces end on multiples of pin_piece_max: what a page-granular backing would give. */
        uint64_t to_boundary = piece - gpa % piece;
        if (len > to_boundary)
            len = to_boundary;
    }
    *pin = (struct guest_pin){ .vm = vm, .host = p, .gpa = gpa, .len = len, .writable = writable };
    vm->pins_live++;
    return true;
}

static inline void guest_mem_unpin(struct guest_pin *pin)
{
    if (!pin->vm)
        return;
    pin->vm->pins_live--;
    pin->vm = NULL;
}

static inline unsigned guest_mem_live_pins(const struct vm *vm)
{
    return vm->pins_live;
}

/* Guest RAM starts on a page boundary, so an aligned guest-physical address is an aligned host
 * pointer, and one volatile access of its width is one access. n is a constant at every call,
 * so each helper below compiles to a bounds check and one move. */
static inline bool guest_mem_load_le_(const struct vm *vm, uint64_t gpa, unsigned n, uint64_t *value)
{
    const volatile uint8_t *p = guest_mem_host_(vm, gpa, n);
    if (!p)
        return false;
    if ((gpa & (n - 1)) == 0) {
        switch (n) {
        case 1: *value = *p; return true;
        case 2: *value = *(const volatile uint16_t *)(const volatile void *)p; return true;
        case 4: *value = *(const volatile uint32_t *)(const volatile void *)p; return true;
        case 8: *value = *(const volatile uint64_t *)(const volatile void *)p; return true;
        default: break;
        }
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    *value = v;
    return true;
}

static inline bool guest_mem_store_le_(struct vm *vm, uint64_t gpa, unsigned n, uint64_t v)
{
    volatile uint8_t *p = guest_mem_host_(vm, gpa, n);
    if (!p)
        return false;
    if ((gpa & (n - 1)) == 0) {
        switch (n) {
        case 1: *p = (uint8_t)v; return true;
        case 2: *(volatile uint16_t *)(volatile void *)p = (uint16_t)v; return true;
        case 4: *(volatile uint32_t *)(volatile void *)p = (uint32_t)v; return true;
        case 8: *(volatile uint64_t *)(volatile void *)p = v; return true;
        default: break;
        }
    }
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return true;
}

static inline bool guest_mem_load8(const struct vm *vm, uint64_t gpa, uint8_t *value)
{
    uint64_t v;
    if (!guest_mem_load_le_(vm, gpa, 1, &v))
        return false;
    *value = (uint8_t)v;
    return true;
}

static inline bool guest_mem_load16(const struct vm *vm, uint64_t gpa, uint16_t *value)
{
    uint64_t v;
    if (!guest_mem_load_le_(vm, gpa, 2, &v))
        return false;
    *value = (uint16_t)v;
    return true;
}

static inline bool guest_mem_load32(const struct vm *vm, uint64_t gpa, uint32_t *value)
{
    uint64_t v;
    if (!guest_mem_load_le_(vm, gpa, 4, &v))
        return false;
    *value = (uint32_t)v;
    return true;
}

static inline bool guest_mem_load64(const struct vm *vm, uint64_t gpa, uint64_t *value)
{
    return guest_mem_load_le_(vm, gpa, 8, value);
}

static inline bool guest_mem_store8(struct vm *vm, uint64_t gpa, uint8_t value)
{
    return guest_mem_store_le_(vm, gpa, 1, value);
}

static inline bool guest_mem_store16(struct vm *vm, uint64_t gpa, uint16_t value)
{
    return guest_mem_store_le_(vm, gpa, 2, value);
}

static inline bool guest_mem_store32(struct vm *vm, uint64_t gpa, uint32_t value)
{
    return guest_mem_store_le_(vm, gpa, 4, value);
}

static inline bool guest_mem_store64(struct vm *vm, uint64_t gpa, uint64_t value)
{
    return guest_mem_store_le_(vm, gpa, 8, value);
}

#endif
