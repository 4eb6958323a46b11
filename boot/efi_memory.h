/* Memory the loader takes for Tessera (hypervisor image, heap, guest RAM, file copies, the
 * bootinfo): page allocations recorded so a refusal frees them all and the final memory map can
 * mark them BOOTINFO_MEM_TESSERA. Also the last firmware call: GetMemoryMap + ExitBootServices. */
#ifndef TESSERA_BOOT_EFI_MEMORY_H
#define TESSERA_BOOT_EFI_MEMORY_H

#include <efi.h>
#include "bootinfo.h"
#include "memmap_fold.h"

#define BOOT_ALIGN_PAGE 0x1000ull
#define BOOT_ALIGN_2M   0x200000ull
#define BOOT_MAX_ALLOCS MEMMAP_MAX_OURS

struct boot_allocs {
    unsigned count;
    struct memmap_region r[BOOT_MAX_ALLOCS];
};

/* Allocate bytes (rounded up to pages) of EfiLoaderData at an address aligned to align
 * (BOOT_ALIGN_PAGE or BOOT_ALIGN_2M) and record it. */
EFI_STATUS boot_alloc_bytes(struct boot_allocs *a, UINT64 bytes, UINT64 align, EFI_PHYSICAL_ADDRESS *out);
/* Free one recorded allocation, by its base address. */
void boot_free_region(struct boot_allocs *a, EFI_PHYSICAL_ADDRESS base);
/* Free everything recorded, newest first. */
void boot_free_all(struct boot_allocs *a);

/* Zero bytes (a multiple of 8) at addr, 8 bytes per store: guest RAM is large and emulators
 * (Bochs) count every iteration of a string instruction. */
void boot_zero(EFI_PHYSICAL_ADDRESS addr, UINT64 bytes);

/* Bytes of EfiConventionalMemory in the current memory map. */
EFI_STATUS boot_free_conventional(UINT64 *bytes);

/* Take the final memory map, exit boot services (retrying once with a fresh map if the map
 * changed), then fold that map into bi->memmap. Prints nothing. On success the firmware's boot
 * services are gone; on failure they may be partly gone too (UEFI allows a partial shutdown). */
EFI_STATUS boot_exit_boot_services(EFI_HANDLE image, const struct boot_allocs *a, struct bootinfo *bi);

#endif
