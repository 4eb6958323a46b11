/* Multiboot version 1 as Tessera implements it: finding and checking the kernel's header,
 * the a.out-kludge load fields, and the boot information structures handed over in EBX.
 * Values from the Multiboot Specification 0.6.96. */
#ifndef TESSERA_GUEST_MULTIBOOT_H
#define TESSERA_GUEST_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_HEADER_MAGIC      0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC  0x2BADB002u
#define MULTIBOOT_SEARCH_BYTES      8192

/* Header flags. Bits 0-15 are requirements: a loader must refuse those it does not know. */
#define MULTIBOOT_HF_PAGE_ALIGN     (1u << 0)   /* modules page-aligned: always done */
#define MULTIBOOT_HF_MEMORY_INFO    (1u << 1)   /* mem_* and mmap_*: always given */
#define MULTIBOOT_HF_VIDEO_MODE     (1u << 2)   /* a preference only: no video info is given */
#define MULTIBOOT_HF_UNKNOWN_REQUIRED 0xfff8u   /* bits 3-15 */
#define MULTIBOOT_HF_ADDRESS        (1u << 16)  /* the a.out-kludge load fields are valid */

/* Info flags: which fields of struct multiboot_info are valid. */
#define MULTIBOOT_INFO_MEMORY       (1u << 0)
#define MULTIBOOT_INFO_CMDLINE      (1u << 2)
#define MULTIBOOT_INFO_MODS         (1u << 3)
#define MULTIBOOT_INFO_MEM_MAP      (1u << 6)
#define MULTIBOOT_INFO_LOADER_NAME  (1u << 9)

#define MULTIBOOT_MEMORY_AVAILABLE  1
#define MULTIBOOT_MEMORY_RESERVED   2

struct multiboot_header {
    uint64_t offset;               /* file offset of the magic */
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr; /* if HF_ADDRESS */
};

/* Where the a.out kludge puts the file: [file_offset, +file_size) at paddr, zeroed up to mem_size. */
struct multiboot_load {
    uint64_t file_offset, file_size;
    uint64_t paddr, mem_size;
    uint32_t entry;
};

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper; /* KiB below 640 KiB / above 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info, vbe_mode_info;
    uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
    uint8_t framebuffer[28];       /* framebuffer_* fields: not given (flag bit 12 clear) */
};

struct multiboot_module {
    uint32_t mod_start;
    uint32_t mod_end;              /* first byte after the module */
    uint32_t string;
    uint32_t reserved;
};

/* mmap_addr points at size, which counts the bytes after itself (20). */
struct __attribute__((packed)) multiboot_mmap_entry {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;
};

_Static_assert(sizeof(struct multiboot_info) == 116, "multiboot_info layout");
_Static_assert(sizeof(struct multiboot_module) == 16, "multiboot module layout");
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "multiboot mmap entry layout");

/* Looks for a header (4-byte aligned, within the first 8192 bytes, checksum valid). Returns 1
 * with *hdr, 0 if there is none, -1 with a reason if one is there but unusable (bad checksum,
 * unsupported required flags, address fields cut off by the end of the file). */
int multiboot_find_header(const uint8_t *data, uint64_t size, struct multiboot_header *hdr,
                          char *why, size_t why_len);

/* Turns the address fields of a header with MULTIBOOT_HF_ADDRESS into a load range, checking
 * them against each other and the file. Returns 0, or -1 with a reason. */
int multiboot_kludge_load(const struct multiboot_header *hdr, uint64_t file_size,
                          struct multiboot_load *load, char *why, size_t why_len);

#endif
