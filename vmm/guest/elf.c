/* ELF32/ELF64 header, program header and note parsing for guest kernels. The file is hostile:
 * every offset and size is checked against the file before it is followed. */
#include "guest/elf.h"
#include "guest/image_fail.h"
#include "lib/le.h"
#include "lib/mem.h"

#define NOTE_HEADER_SIZE 12

/* ELF32 and ELF64 hold the same header fields at other offsets and widths (System V gABI):
 * addresses and offsets are 4 or 8 bytes, and p_flags moves in the program header. */
struct elf_layout {
    uint8_t word;                       /* bytes of an address or offset */
    uint8_t ehdr_size, e_entry, e_phoff, e_phentsize, e_phnum;
    uint8_t phdr_size, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

static const struct elf_layout elf32_layout = {
    .word = 4, .ehdr_size = 52, .e_entry = 24, .e_phoff = 28, .e_phentsize = 42, .e_phnum = 44,
    .phdr_size = 32, .p_flags = 24, .p_offset = 4, .p_vaddr = 8, .p_paddr = 12, .p_filesz = 16,
    .p_memsz = 20, .p_align = 28,
};

static const struct elf_layout elf64_layout = {
    .word = 8, .ehdr_size = 64, .e_entry = 24, .e_phoff = 32, .e_phentsize = 54, .e_phnum = 56,
    .phdr_size = 56, .p_flags = 4, .p_offset = 8, .p_vaddr = 16, .p_paddr = 24, .p_filesz = 32,
    .p_memsz = 40, .p_align = 48,
};

static const struct elf_layout *layout_of(bool is64)
{
    return is64 ? &elf64_layout : &elf32_layout;
}

static uint64_t read_word(const struct elf_layout *l, const uint8_t *p)
{
    return l->word == 8 ? read_le64(p) : read_le32(p);
}

bool elf_has_magic(const uint8_t *data, uint64_t size)
{
    return size >= ELF_MAGIC_SIZE && memcmp(data, ELF_MAGIC, ELF_MAGIC_SIZE) == 0;
}

int elf_open(struct elf_file *elf, const uint8_t *data, uint64_t size, char *why, size_t why_len)
{
    memset(elf, 0, sizeof *elf);
    if (!elf_has_magic(data, size))
        return image_fail(why, why_len, "not an ELF file");
    if (size < ELF_EI_NIDENT)
        return image_fail(why, why_len, "ELF header is truncated");
    uint8_t class = data[ELF_EI_CLASS];
    if (class != ELF_CLASS32 && class != ELF_CLASS64)
        return image_fail(why, why_len, "ELF class %u is neither 32- nor 64-bit", class);
    elf->is64 = class == ELF_CLASS64;
    if (data[ELF_EI_DATA] != ELF_DATA2LSB)
        return image_fail(why, why_len, "ELF file is not little-endian");
    if (data[ELF_EI_VERSION] != ELF_EV_CURRENT)
        return image_fail(why, why_len, "ELF version %u is not 1", data[ELF_EI_VERSION]);
    const struct elf_layout *l = layout_of(elf->is64);
    if (size < l->ehdr_size)
        return image_fail(why, why_len, "ELF header is truncated");

    uint16_t type = read_le16(data + 16), machine = read_le16(data + 18);
    if (type != ELF_ET_EXEC)
        return image_fail(why, why_len, "ELF type %u is not an executable (ET_EXEC)", type);
    if (machine != (elf->is64 ? ELF_EM_X86_64 : ELF_EM_386))
        return image_fail(why, why_len, "ELF machine %u is not %s", machine, elf->is64 ? "x86-64" : "i386");

    elf->entry = read_word(l, data + l->e_entry);
    elf->phoff = read_word(l, data + l->e_phoff);
    elf->phentsize = read_le16(data + l->e_phentsize);
    elf->phnum = read_le16(data + l->e_phnum);
    if (elf->phnum == 0)
        return image_fail(why, why_len, "ELF file has no program headers");
    if (elf->phnum == ELF_PN_XNUM)
        return image_fail(why, why_len, "ELF file has too many program headers (extended numbering)");
    if (elf->phentsize < l->phdr_size)
        return image_fail(why, why_len, "ELF program header size %u is smaller than %u", elf->phentsize,
                          l->phdr_size);
    uint64_t table = (uint64_t)elf->phentsize * elf->phnum; /* both 16-bit: no overflow */
    if (elf->phoff >= size || table > size - elf->phoff)
        return image_fail(why, why_len, "ELF program headers lie outside the file");
    elf->data = data;
    elf->size = size;
    return 0;
}

void elf_read_phdr(const struct elf_file *elf, unsigned index, struct elf_phdr *ph)
{
    const struct elf_layout *l = layout_of(elf->is64);
    const uint8_t *p = elf->data + elf->phoff + (uint64_t)index * elf->phentsize;
    ph->type = read_le32(p);
    ph->flags = read_le32(p + l->p_flags);
    ph->offset = read_word(l, p + l->p_offset);
    ph->vaddr = read_word(l, p + l->p_vaddr);
    ph->paddr = read_word(l, p + l->p_paddr);
    ph->filesz = read_word(l, p + l->p_filesz);
    ph->memsz = read_word(l, p + l->p_memsz);
    ph->align = read_word(l, p + l->p_align);
}

int elf_check_segments(const struct elf_file *elf, char *why, size_t why_len)
{
    /* ELF32 addresses are 32-bit: a segment may end at 4 GiB but not beyond. */
    uint64_t limit = elf->is64 ? UINT64_MAX : 1ull << 32;
    struct { uint64_t start, end; unsigned index; } loads[ELF_MAX_LOAD_SEGMENTS];
    unsigned load_count = 0;

    for (unsigned i = 0; i < elf->phnum; i++) {
        struct elf_phdr ph;
        elf_read_phdr(elf, i, &ph);
        if (ph.type != ELF_PT_LOAD && ph.type != ELF_PT_NOTE)
            continue;
        if (ph.filesz && (ph.offset >= elf->size || ph.filesz > elf->size - ph.offset))
            return image_fail(why, why_len, "ELF program header %u lies outside the file", i);
        if (ph.type != ELF_PT_LOAD)
            continue;
        if (ph.filesz > ph.memsz)
            return image_fail(why, why_len, "ELF program header %u: file size 0x%llx exceeds memory size "
                              "0x%llx", i, (unsigned long long)ph.filesz, (unsigned long long)ph.memsz);
        if (ph.paddr > limit || ph.memsz > limit - ph.paddr)
            return image_fail(why, why_len, "ELF program header %u: 0x%llx + 0x%llx wraps around the address "
                              "space", i, (unsigned long long)ph.paddr, (unsigned long long)ph.memsz);
        if (ph.memsz == 0)
            continue;
        if (load_count == ELF_MAX_LOAD_SEGMENTS)
            return image_fail(why, why_len, "ELF file has more than %u loadable segments",
                              ELF_MAX_LOAD_SEGMENTS);
        uint64_t start = ph.paddr, end = ph.paddr + ph.memsz;
        for (unsigned j = 0; j < load_count; j++)
            if (start < loads[j].end && loads[j].start < end)
                return image_fail(why, why_len, "ELF program headers %u and %u overlap", loads[j].index, i);
        loads[load_count].start = start;
        loads[load_count].end = end;
        loads[load_count].index = i;
        load_count++;
    }
    return 0;
}

void elf_notes_begin(struct elf_note_iter *it, const struct elf_file *elf)
{
    it->elf = elf;
    it->phdr = 0;
    it->pos = it->end = it->align = 0;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
    /* v is a 32-bit note size: cannot overflow. */
    return (v + align - 1) & ~(align - 1);
}

int elf_notes_next(struct elf_note_iter *it, struct elf_note *note, char *why, size_t why_len)
{
    const struct elf_file *elf = it->elf;
    for (;;) {
        /* Fewer bytes than a note header left: end of this segment (trailing padding). */
        if (it->end - it->pos < NOTE_HEADER_SIZE) {
            struct elf_phdr ph;
            do {
                if (it->phdr >= elf->phnum)
                    return 0;
                elf_read_phdr(elf, it->phdr++, &ph);
            } while (ph.type != ELF_PT_NOTE || ph.filesz == 0);
            /* elf_check_segments() made [offset, offset + filesz) lie inside the file. */
            it->pos = ph.offset;
            it->end = ph.offset + ph.filesz;
            it->align = ph.align == 8 ? 8 : 4;
            continue;
        }
        const uint8_t *p = elf->data + it->pos;
        uint32_t namesz = read_le32(p), descsz = read_le32(p + 4);
        uint64_t name_at = it->pos + NOTE_HEADER_SIZE;
        uint64_t name_span = align_up(namesz, it->align);
        if (name_span > it->end - name_at)
            return image_fail(why, why_len, "ELF note in program header %u: name size %u runs past the "
                              "segment", it->phdr - 1, namesz);
        uint64_t desc_at = name_at + name_span;
        if (descsz > it->end - desc_at)
            return image_fail(why, why_len, "ELF note in program header %u: descriptor size %u runs past "
                              "the segment", it->phdr - 1, descsz);
        uint64_t desc_span = align_up(descsz, it->align);
        note->type = read_le32(p + 8);
        note->name = elf->data + name_at;
        note->namesz = namesz;
        note->desc = elf->data + desc_at;
        note->descsz = descsz;
        /* The last note's padding may be missing from the file. */
        it->pos = desc_span > it->end - desc_at ? it->end : desc_at + desc_span;
        return 1;
    }
}
