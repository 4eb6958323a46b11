/* Folding the firmware's memory map into the hypervisor's few memory types (bootinfo.h), with the
 * loader's own allocations carved out as BOOTINFO_MEM_TESSERA. Pure: it reads a raw UEFI memory
 * map (descriptors of desc_size bytes) and writes a sorted, merged range list. */
#ifndef TESSERA_BOOT_MEMMAP_FOLD_H
#define TESSERA_BOOT_MEMMAP_FOLD_H

#include <stdint.h>
#include "bootinfo.h"

struct memmap_region {
    uint64_t base, size;
};

#define MEMMAP_MAX_OURS 256

/* Returns how many ranges were written to out (at most max). Pieces that do not fit are left
 * out (counted in *dropped): a missing range only ever means "not usable" to the hypervisor.
 * ours: at most MEMMAP_MAX_OURS non-overlapping regions, in any order. */
uint32_t memmap_fold(const void *map, uint64_t map_size, uint64_t desc_size,
                     const struct memmap_region *ours, unsigned n_ours,
                     struct bootinfo_memrange *out, uint32_t max, uint32_t *dropped);

/* The folded type of one UEFI memory type (EFI_MEMORY_TYPE numbering). */
uint32_t memmap_fold_type(uint32_t efi_type);

#endif
