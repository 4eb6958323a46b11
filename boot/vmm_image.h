/* Loading the hypervisor image (tessera.elf, a static PIE) at an address chosen at boot: ELF
 * validation, segment copy and R_X86_64_RELATIVE relocation. Pure (bytes in, bytes out), so the
 * host tests feed it malformed images; the loader supplies the memory. */
#ifndef TESSERA_BOOT_VMM_IMAGE_H
#define TESSERA_BOOT_VMM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define VMM_IMAGE_ALIGN (2ull << 20)   /* the hypervisor is placed on a 2 MiB boundary */
#define VMM_IMAGE_MAX_SPAN (1ull << 30) /* anything bigger is not our hypervisor */

struct vmm_image_info {
    uint64_t span;   /* bytes to reserve: from address 0 of the image to the end of its last
                        segment, rounded up to 4 KiB */
    uint64_t entry;  /* offset of the entry point from the image base */
};

/* Check the ELF header and program headers of file[0..size). Returns 0 and fills info, or -1 with
 * a one-line reason in *why (a static string). Nothing is written besides info and why. */
int vmm_image_inspect(const void *file, size_t size, struct vmm_image_info *info, const char **why);

/* Lay the image out in dest[0..dest_size) (dest_size >= info.span), which will live at address
 * base: zero it, copy the PT_LOAD segments, apply the DT_RELA relocations (only
 * R_X86_64_RELATIVE is accepted). Returns 0, or -1 with a reason in *why; on failure dest holds
 * garbage and must not be run. */
int vmm_image_load(const void *file, size_t size, void *dest, uint64_t dest_size, uint64_t base,
                   const char **why);

#endif
