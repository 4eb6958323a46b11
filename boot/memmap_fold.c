/* UEFI memory map -> bootinfo memory ranges. Pure; compiled into the loader. */
#include "memmap_fold.h"
#include "lib/mem.h"

/* UEFI memory types (UEFI spec, EFI_MEMORY_TYPE). */
enum {
    EFI_LOADER_CODE = 1, EFI_LOADER_DATA = 2, EFI_BOOT_SERVICES_CODE = 3, EFI_BOOT_SERVICES_DATA = 4,
    EFI_CONVENTIONAL = 7, EFI_ACPI_RECLAIM = 9,
};

/* The fields of EFI_MEMORY_DESCRIPTOR this fold reads (the firmware's stride may be larger). */
struct efi_desc {
    uint32_t type, pad;
    uint64_t phys, virt, pages, attr;
};

#define PAGE_SHIFT 12

uint32_t memmap_fold_type(uint32_t efi_type)
{
    switch (efi_type) {
    case EFI_LOADER_CODE:
    case EFI_LOADER_DATA:
    case EFI_BOOT_SERVICES_CODE:
    case EFI_BOOT_SERVICES_DATA:
    case EFI_CONVENTIONAL:
        return BOOTINFO_MEM_USABLE;   /* all of it is free once boot services are gone */
    case EFI_ACPI_RECLAIM:
        return BOOTINFO_MEM_ACPI;
    default:
        return BOOTINFO_MEM_RESERVED; /* runtime services, ACPI NVS, MMIO, unusable, unknown */
    }
}

struct fold_out {
    struct bootinfo_memrange *r;
    uint32_t count, max, dropped;
};

/* Insert keeping out sorted by base, merging with touching neighbours of the same type. */
static void emit(struct fold_out *o, uint64_t base, uint64_t size, uint32_t type)
{
    if (size == 0)
        return;
    uint32_t i = 0;
    while (i < o->count && o->r[i].base <= base)
        i++;
    if (i > 0 && o->r[i - 1].type == type && o->r[i - 1].base + o->r[i - 1].size == base) {
        struct bootinfo_memrange *prev = &o->r[i - 1];
        prev->size += size;
        if (i < o->count && o->r[i].type == type && prev->base + prev->size == o->r[i].base) {
            prev->size += o->r[i].size;
            memmove(&o->r[i], &o->r[i + 1], (o->count - i - 1) * sizeof(o->r[0]));
            o->count--;
        }
        return;
    }
    if (i < o->count && o->r[i].type == type && base + size == o->r[i].base) {
        o->r[i].base = base;
        o->r[i].size += size;
        return;
    }
    if (o->count == o->max) {
        o->dropped++;
        return;
    }
    memmove(&o->r[i + 1], &o->r[i], (o->count - i) * sizeof(o->r[0]));
    o->r[i] = (struct bootinfo_memrange){ .base = base, .size = size, .type = type, .pad = 0 };
    o->count++;
}

uint32_t memmap_fold(const void *map, uint64_t map_size, uint64_t desc_size,
                     const struct memmap_region *ours_in, unsigned n_ours,
                     struct bootinfo_memrange *out, uint32_t max, uint32_t *dropped)
{
    struct fold_out o = { out, 0, max, 0 };
    struct memmap_region ours[MEMMAP_MAX_OURS];
    if (n_ours > MEMMAP_MAX_OURS)
        n_ours = MEMMAP_MAX_OURS;
    /* Sorted copy of our regions, so each descriptor is split in one left-to-right pass. */
    for (unsigned i = 0; i < n_ours; i++) {
        unsigned j = i;
        while (j > 0 && ours[j - 1].base > ours_in[i].base) {
            ours[j] = ours[j - 1];
            j--;
        }
        ours[j] = ours_in[i];
    }

    if (desc_size >= sizeof(struct efi_desc)) {
        for (uint64_t off = 0; off + desc_size <= map_size; off += desc_size) {
            struct efi_desc d;
            memcpy(&d, (const uint8_t *)map + off, sizeof(d));
            if (d.pages == 0 || d.pages > (UINT64_MAX >> PAGE_SHIFT) ||
                d.phys > UINT64_MAX - (d.pages << PAGE_SHIFT))
                continue;  /* malformed; a range left out is simply not usable */
            uint64_t cur = d.phys, end = d.phys + (d.pages << PAGE_SHIFT);
            uint32_t type = memmap_fold_type(d.type);
            for (unsigned i = 0; i < n_ours && cur < end; i++) {
                uint64_t rb = ours[i].base, re = ours[i].base + ours[i].size;
                if (re <= cur || rb >= end)
                    continue;
                if (rb > cur)
                    emit(&o, cur, rb - cur, type);
                uint64_t piece_start = rb > cur ? rb : cur, piece_end = re < end ? re : end;
                emit(&o, piece_start, piece_end - piece_start, BOOTINFO_MEM_TESSERA);
                cur = piece_end;
            }
            if (cur < end)
                emit(&o, cur, end - cur, type);
        }
    }
    if (dropped)
        *dropped = o.dropped;
    return o.count;
}
