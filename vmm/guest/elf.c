/* ELF32/ELF64 header, program header and note parsing for guest kernels. The file is hostile:
 * every offset and size is checked against the file before it is followed. */
#include <stdarg.h>
#include "guest/elf.h"
#include "lib/log.h"
#include "lib/mem.h"

#define EHDR32_SIZE 52
#define EHDR64_SIZE 64
#define PHDR32_SIZE 32
#define PHDR64_SIZE 56
#define NOTE_HEADER_SIZE 12
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define PN_XNUM 0xffff

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static int fail(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

bool elf_has_magic(const uint8_t *data, uint64_t size)
{
    return size >= 4 && data[0] == 0x7f && data[1] == 'E' && data[2] == 'L' && data[3] == 'F';
}

int elf_open(struct elf_file *elf, const uint8_t *data, uint64_t size, char *why, size_t why_len)
{
    memset(elf, 0, sizeof *elf);
    if (!elf_has_magic(data, size))
        return fail(why, why_len, "not an ELF file");
    if (size < 16)
        return fail(why, why_len, "ELF header is truncated");
    if (data[4] != 1 && data[4] != 2)
        return fail(why, why_len, "ELF class %u is neither 32- nor 64-bit", data[4]);
    elf->is64 = data[4] == 2;
    if (data[5] != 1)
        return fail(why, why_len, "ELF file is not little-endian");
    if (data[6] != 1)
        return fail(why, why_len, "ELF version %u is not 1", data[6]);
    if (size < (elf->is64 ? EHDR64_SIZE : EHDR32_SIZE))
        return fail(why, why_len, "ELF header is truncated");

    uint16_t type = rd16(data + 16), machine = rd16(data + 18);
    if (type != ET_EXEC)
        return fail(why, why_len, "ELF type %u is not an executable (ET_EXEC)", type);
    if (machine != (elf->is64 ? EM_X86_64 : EM_386))
        return fail(why, why_len, "ELF machine %u is not %s", machine, elf->is64 ? "x86-64" : "i386");

    uint16_t min_phentsize;
    if (elf->is64) {
        elf->entry = rd64(data + 24);
        elf->phoff = rd64(data + 32);
        elf->phentsize = rd16(data + 54);
        elf->phnum = rd16(data + 56);
        min_phentsize = PHDR64_SIZE;
    } else {
        elf->entry = rd32(data + 24);
        elf->phoff = rd32(data + 28);
        elf->phentsize = rd16(data + 42);
        elf->phnum = rd16(data + 44);
        min_phentsize = PHDR32_SIZE;
    }
    if (elf->phnum == 0)
        return fail(why, why_len, "ELF file has no program headers");
    if (elf->phnum == PN_XNUM)
        return fail(why, why_len, "ELF file has too many program headers (extended numbering)");
    if (elf->phentsize < min_phentsize)
        return fail(why, why_len, "ELF program header size %u is smaller than %u", elf->phentsize,
                    min_phentsize);
    uint64_t table = (uint64_t)elf->phentsize * elf->phnum; /* both 16-bit: no overflow */
    if (elf->phoff >= size || table > size - elf->phoff)
        return fail(why, why_len, "ELF program headers lie outside the file");
    elf->data = data;
    elf->size = size;
    return 0;
}

void elf_read_phdr(const struct elf_file *elf, unsigned index, struct elf_phdr *ph)
{
    const uint8_t *p = elf->data + elf->phoff + (uint64_t)index * elf->phentsize;
    ph->type = rd32(p);
    if (elf->is64) {
        ph->flags = rd32(p + 4);
        ph->offset = rd64(p + 8);
        ph->vaddr = rd64(p + 16);
        ph->paddr = rd64(p + 24);
        ph->filesz = rd64(p + 32);
        ph->memsz = rd64(p + 40);
        ph->align = rd64(p + 48);
    } else {
        ph->offset = rd32(p + 4);
        ph->vaddr = rd32(p + 8);
        ph->paddr = rd32(p + 12);
        ph->filesz = rd32(p + 16);
        ph->memsz = rd32(p + 20);
        ph->flags = rd32(p + 24);
        ph->align = rd32(p + 28);
    }
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
            return fail(why, why_len, "ELF program header %u lies outside the file", i);
        if (ph.type != ELF_PT_LOAD)
            continue;
        if (ph.filesz > ph.memsz)
            return fail(why, why_len, "ELF program header %u: file size 0x%llx exceeds memory size 0x%llx",
                        i, (unsigned long long)ph.filesz, (unsigned long long)ph.memsz);
        if (ph.paddr > limit || ph.memsz > limit - ph.paddr)
            return fail(why, why_len, "ELF program header %u: 0x%llx + 0x%llx wraps around the address space",
                        i, (unsigned long long)ph.paddr, (unsigned long long)ph.memsz);
        if (ph.memsz == 0)
            continue;
        if (load_count == ELF_MAX_LOAD_SEGMENTS)
            return fail(why, why_len, "ELF file has more than %u loadable segments",
                        ELF_MAX_LOAD_SEGMENTS);
        uint64_t start = ph.paddr, end = ph.paddr + ph.memsz;
        for (unsigned j = 0; j < load_count; j++)
            if (start < loads[j].end && loads[j].start < end)
                return fail(why, why_len, "ELF program headers %u and %u overlap", loads[j].index, i);
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
        uint32_t namesz = rd32(p), descsz = rd32(p + 4);
        uint64_t name_at = it->pos + NOTE_HEADER_SIZE;
        uint64_t name_span = align_up(namesz, it->align);
        if (name_span > it->end - name_at)
            return fail(why, why_len, "ELF note in program header %u: name size %u runs past the segment",
                        it->phdr - 1, namesz);
        uint64_t desc_at = name_at + name_span;
        if (descsz > it->end - desc_at)
            return fail(why, why_len, "ELF note in program header %u: descriptor size %u runs past the segment",
                        it->phdr - 1, descsz);
        uint64_t desc_span = align_up(descsz, it->align);
        note->type = rd32(p + 8);
        note->name = elf->data + name_at;
        note->namesz = namesz;
        note->desc = elf->data + desc_at;
        note->descsz = descsz;
        /* The last note's padding may be missing from the file. */
        it->pos = desc_span > it->end - desc_at ? it->end : desc_at + desc_span;
        return 1;
    }
}
