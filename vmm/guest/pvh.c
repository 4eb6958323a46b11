/* Xen PVH: finding the 32-bit entry point a PVH-capable kernel (Linux, FreeBSD, ...) announces
 * in an ELF note. The start-info structures themselves are laid out by image.c. */
#include "guest/image_fail.h"
#include "guest/pvh.h"
#include "lib/le.h"
#include "lib/mem.h"

int pvh_find_entry(const struct elf_file *elf, uint32_t *entry, char *why, size_t why_len)
{
    struct elf_note_iter it;
    struct elf_note note;
    int r;

    elf_notes_begin(&it, elf);
    while ((r = elf_notes_next(&it, &note, why, why_len)) == 1) {
        if (note.type != XEN_ELFNOTE_PHYS32_ENTRY || note.namesz != 4 ||
            memcmp(note.name, "Xen", 4) != 0)
            continue;
        if (note.descsz != 4 && note.descsz != 8)
            return image_fail(why, why_len, "PVH entry note has %u bytes (expected 4 or 8)", note.descsz);
        uint64_t value = note.descsz == 8 ? read_le64(note.desc) : read_le32(note.desc);
        if (value > UINT32_MAX)
            return image_fail(why, why_len, "PVH entry point 0x%llx is above 4 GiB", (unsigned long long)value);
        *entry = (uint32_t)value;
        return 1;
    }
    return r;
}
