/* Page allocation bookkeeping for the loader and the hand-over of the memory map. */
#include <efi.h>
#include <efilib.h>
#include "efi_memory.h"

#define PAGE 4096ull

static UINT64 pages_of(UINT64 bytes)
{
    return (bytes + PAGE - 1) / PAGE;
}

EFI_STATUS boot_alloc_bytes(struct boot_allocs *a, UINT64 bytes, UINT64 align, EFI_PHYSICAL_ADDRESS *out)
{
    if (a->count == BOOT_MAX_ALLOCS)
        return EFI_OUT_OF_RESOURCES;
    if (bytes == 0 || bytes > (1ull << 46) || align < PAGE || (align & (align - 1)))
        return EFI_INVALID_PARAMETER;
    UINT64 pages = pages_of(bytes);
    UINT64 slack = align / PAGE - 1;
    EFI_PHYSICAL_ADDRESS raw = 0;
    EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
                                      pages + slack, &raw);
    if (EFI_ERROR(st))
        return st;
    /* Over-allocate by align - 4 KiB, then give back what lies before and after the aligned span. */
    EFI_PHYSICAL_ADDRESS aligned = (raw + align - 1) & ~(align - 1);
    UINT64 head = (aligned - raw) / PAGE, tail = slack - head;
    if (head)
        uefi_call_wrapper(BS->FreePages, 2, raw, head);
    if (tail)
        uefi_call_wrapper(BS->FreePages, 2, aligned + pages * PAGE, tail);
    a->r[a->count++] = (struct memmap_region){ aligned, pages * PAGE };
    *out = aligned;
    return EFI_SUCCESS;
}

void boot_free_region(struct boot_allocs *a, EFI_PHYSICAL_ADDRESS base)
{
    for (unsigned i = 0; i < a->count; i++) {
        if (a->r[i].base != base)
            continue;
        uefi_call_wrapper(BS->FreePages, 2, a->r[i].base, a->r[i].size / PAGE);
        a->r[i] = a->r[--a->count];
        return;
    }
}

void boot_free_all(struct boot_allocs *a)
{
    while (a->count) {
        a->count--;
        uefi_call_wrapper(BS->FreePages, 2, a->r[a->count].base, a->r[a->count].size / PAGE);
    }
}

void boot_zero(EFI_PHYSICAL_ADDRESS addr, UINT64 bytes)
{
    UINT64 qwords = bytes / 8;
    void *dst = (void *)(UINTN)addr;
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(qwords) : "a"(0ull) : "memory");
}

/* A pool buffer holding the current memory map, with room for extra descriptors because
 * allocating the buffer itself can split a free range. */
static EFI_STATUS get_map(void **map, UINTN *cap, UINTN *size, UINTN *key, UINTN *desc_size)
{
    UINT32 desc_version;
    UINTN need = 0;
    EFI_STATUS st = uefi_call_wrapper(BS->GetMemoryMap, 5, &need, NULL, key, desc_size, &desc_version);
    if (st != EFI_BUFFER_TOO_SMALL)
        return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
    *cap = need + 16 * *desc_size;
    st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, *cap, map);
    if (EFI_ERROR(st))
        return st;
    *size = *cap;
    st = uefi_call_wrapper(BS->GetMemoryMap, 5, size, *map, key, desc_size, &desc_version);
    if (EFI_ERROR(st))
        uefi_call_wrapper(BS->FreePool, 1, *map);
    return st;
}

EFI_STATUS boot_free_conventional(UINT64 *bytes)
{
    void *map;
    UINTN cap, size, key, desc_size;
    EFI_STATUS st = get_map(&map, &cap, &size, &key, &desc_size);
    if (EFI_ERROR(st))
        return st;
    UINT64 total = 0;
    for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((UINT8 *)map + off);
        if (d->Type == EfiConventionalMemory)
            total += d->NumberOfPages * PAGE;
    }
    uefi_call_wrapper(BS->FreePool, 1, map);
    *bytes = total;
    return EFI_SUCCESS;
}

EFI_STATUS boot_exit_boot_services(EFI_HANDLE image, const struct boot_allocs *a, struct bootinfo *bi)
{
    void *map;
    UINTN cap, size, key, desc_size;
    UINT32 desc_version;
    EFI_STATUS st = get_map(&map, &cap, &size, &key, &desc_size);
    if (EFI_ERROR(st))
        return st;
    st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
    if (st == EFI_INVALID_PARAMETER) {
        /* The map changed since we read it (a firmware event allocated memory). After a failed
         * ExitBootServices only GetMemoryMap may be used, so re-read into the same buffer. */
        size = cap;
        st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, map, &key, &desc_size, &desc_version);
        if (!EFI_ERROR(st))
            st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
    }
    if (EFI_ERROR(st))
        return st;
    /* No firmware is left to field an interrupt. */
    __asm__ volatile("cli" : : : "memory");

    uint32_t dropped = 0;
    bi->memmap_count = memmap_fold(map, size, desc_size, a->r, a->count, bi->memmap,
                                   BOOTINFO_MAX_MEMMAP, &dropped);
    return EFI_SUCCESS;
}
