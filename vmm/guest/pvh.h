/* The Xen PVH boot protocol as Tessera uses it: the entry note of the kernel's ELF file and the
 * hvm_start_info structures (version 1) handed to the guest in EBX. Layouts as in Xen's
 * public/arch-x86/hvm/start_info.h. */
#ifndef TESSERA_GUEST_PVH_H
#define TESSERA_GUEST_PVH_H

#include <stddef.h>
#include <stdint.h>
#include "guest/elf.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define HVM_START_VERSION 1
#define HVM_MEMMAP_TYPE_RAM 1
#define HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;         /* version 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

/* Looks for the "Xen" XEN_ELFNOTE_PHYS32_ENTRY note (4- or 8-byte value below 4 GiB) in a file
 * that passed elf_check_segments(). Returns 1 with *entry, 0 if there is none, -1 with a
 * reason if the notes are malformed or the value is unusable. */
int pvh_find_entry(const struct elf_file *elf, uint32_t *entry, char *why, size_t why_len);

#endif
