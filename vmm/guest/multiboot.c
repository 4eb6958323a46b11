/* Multiboot v1: the kernel's header and its a.out-kludge load fields. The information
 * structure given to the kernel is laid out by image.c. */
#include <stdbool.h>
#include "guest/image_fail.h"
#include "guest/multiboot.h"
#include "lib/le.h"
#include "lib/mem.h"

#define HEADER_BASE_SIZE    12   /* magic, flags, checksum */
#define HEADER_ADDRESS_SIZE 32   /* ... header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr */

int multiboot_find_header(const uint8_t *data, uint64_t size, struct multiboot_header *hdr,
                          char *why, size_t why_len)
{
    uint64_t limit = size < MULTIBOOT_SEARCH_BYTES ? size : MULTIBOOT_SEARCH_BYTES;
    bool bad_checksum_seen = false;
    uint64_t bad_offset = 0;

    memset(hdr, 0, sizeof *hdr);
    /* The whole 12-byte header must lie within the searched area. */
    for (uint64_t off = 0; limit >= HEADER_BASE_SIZE && off <= limit - HEADER_BASE_SIZE; off += 4) {
        const uint8_t *p = data + off;
        if (read_le32(p) != MULTIBOOT_HEADER_MAGIC)
            continue;
        uint32_t flags = read_le32(p + 4);
        if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + read_le32(p + 8)) != 0) {
            /* Could be data that happens to hold the magic: keep looking. */
            if (!bad_checksum_seen)
                bad_offset = off;
            bad_checksum_seen = true;
            continue;
        }
        if (flags & MULTIBOOT_HF_UNKNOWN_REQUIRED)
            return image_fail(why, why_len, "Multiboot header requires features Tessera lacks (flags 0x%x)",
                              flags);
        hdr->offset = off;
        hdr->flags = flags;
        if (flags & MULTIBOOT_HF_ADDRESS) {
            if (HEADER_ADDRESS_SIZE > size - off)
                return image_fail(why, why_len, "Multiboot header address fields run past the end of the file");
            hdr->header_addr = read_le32(p + 12);
            hdr->load_addr = read_le32(p + 16);
            hdr->load_end_addr = read_le32(p + 20);
            hdr->bss_end_addr = read_le32(p + 24);
            hdr->entry_addr = read_le32(p + 28);
        }
        return 1;
    }
    if (bad_checksum_seen)
        return image_fail(why, why_len, "Multiboot header at offset 0x%llx has a bad checksum",
                          (unsigned long long)bad_offset);
    return 0;
}

int multiboot_kludge_load(const struct multiboot_header *hdr, uint64_t file_size,
                          struct multiboot_load *load, char *why, size_t why_len)
{
    /* header_addr is where the header's magic lands; the file is loaded from the offset that
     * corresponds to load_addr. */
    if (hdr->load_addr > hdr->header_addr)
        return image_fail(why, why_len, "Multiboot load_addr 0x%x is above header_addr 0x%x",
                          hdr->load_addr, hdr->header_addr);
    uint64_t lead = hdr->header_addr - hdr->load_addr;
    if (lead > hdr->offset)
        return image_fail(why, why_len, "Multiboot load_addr 0x%x lies before the start of the file",
                          hdr->load_addr);
    load->file_offset = hdr->offset - lead;
    load->paddr = hdr->load_addr;

    if (hdr->load_end_addr == 0) {
        load->file_size = file_size - load->file_offset;
    } else {
        if (hdr->load_end_addr < hdr->load_addr)
            return image_fail(why, why_len, "Multiboot load_end_addr 0x%x is below load_addr 0x%x",
                              hdr->load_end_addr, hdr->load_addr);
        load->file_size = (uint64_t)hdr->load_end_addr - hdr->load_addr;
        if (load->file_size > file_size - load->file_offset)
            return image_fail(why, why_len, "Multiboot load_end_addr 0x%x lies beyond the end of the file",
                              hdr->load_end_addr);
    }
    load->mem_size = load->file_size;
    if (hdr->bss_end_addr != 0) {
        uint64_t data_end = load->paddr + load->file_size;
        if (hdr->bss_end_addr < data_end)
            return image_fail(why, why_len, "Multiboot bss_end_addr 0x%x is below the end of the loaded data",
                              hdr->bss_end_addr);
        load->mem_size = hdr->bss_end_addr - load->paddr;
    }
    if (load->paddr + load->mem_size > 1ull << 32)
        return image_fail(why, why_len, "Multiboot load range wraps past 4 GiB");
    load->entry = hdr->entry_addr;
    return 0;
}
