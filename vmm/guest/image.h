/* Lays a guest kernel out in its RAM the way its boot protocol says: ELF kernels with a Xen PVH
 * entry note (hvm_start_info), or Multiboot v1 ELF kernels (multiboot_info). Pure: a byte
 * buffer for RAM in, the protocol's entry state out; every header field is checked before use.
 *
 * Guest-physical layout it produces:
 *   [0x0000, 0x1000)     left zero (real-mode IVT area)
 *   [0x1000, 0x80000)    boot information: start-info/multiboot info, command lines, module list,
 *                        memory map
 *   [0x100000, ...)      kernel segments (must lie in [0x100000, ram_size)), then modules,
 *                        each page-aligned after the kernel's end
 * Memory map given to the guest: [0, 0x9fc00) RAM, [0x9fc00, 0x100000) reserved,
 * [0x100000, ram_size) RAM. */
#ifndef TESSERA_GUEST_IMAGE_H
#define TESSERA_GUEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct image_blob {
    const uint8_t *data;
    uint64_t size;
    const char *args;            /* module command line, "" if none */
};

enum boot_protocol { BOOT_PVH = 1, BOOT_MULTIBOOT = 2 };

/* Both protocols start the guest in 32-bit protected mode, paging off, flat segments. */
struct guest_entry {
    enum boot_protocol protocol;
    uint32_t eip;
    uint32_t eax;                /* Multiboot: 0x2BADB002; PVH: 0 */
    uint32_t ebx;                /* PVH: hvm_start_info address; Multiboot: multiboot_info address */
};

/* Returns 0 and fills *entry, or -1 with a one-line reason in why (e.g. "ELF program header 2
 * lies outside the file", "no PVH note and no Multiboot header"). RAM outside what it writes
 * is left as it was. */
int guest_image_load(uint8_t *ram, uint64_t ram_size, const struct image_blob *kernel,
                     const char *cmdline, const struct image_blob *modules, unsigned module_count,
                     struct guest_entry *entry, char *why, size_t why_len);

#endif
