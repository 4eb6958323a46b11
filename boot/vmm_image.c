/* ELF64 static-PIE loading for the hypervisor image: header checks, segment copy and
 * R_X86_64_RELATIVE relocation. Pure; every offset and size from the file is bounds-checked
 * with overflow-safe arithmetic before use. */
#include "vmm_image.h"
#include "lib/elf_abi.h"
#include "lib/mem.h"

/* Dynamic-section and relocation facts (System V gABI, x86-64 psABI) only this loader needs. */
#define DT_NULL         0
#define DT_PLTRELSZ     2
#define DT_RELA         7
#define DT_RELASZ       8
#define DT_RELAENT      9
#define DT_REL          17
#define DT_RELSZ        18
#define DT_JMPREL       23
#define R_X86_64_NONE     0
#define R_X86_64_RELATIVE 8

#define PAGE_SIZE       4096ull
#define MAX_PHDRS       64

struct elf_header {
    uint8_t ident[ELF_EI_NIDENT];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf_phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

struct elf_dyn {
    int64_t tag;
    uint64_t val;
};

struct elf_rela {
    uint64_t offset, info;
    int64_t addend;
};

_Static_assert(sizeof(struct elf_header) == 64, "ELF64 header layout");
_Static_assert(sizeof(struct elf_phdr) == 56, "ELF64 program header layout");
_Static_assert(sizeof(struct elf_dyn) == 16, "ELF64 dynamic entry layout");
_Static_assert(sizeof(struct elf_rela) == 24, "ELF64 RELA entry layout");

/* Whether [off, off+len) lies inside a buffer of size bytes. */
static int range_ok(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static int refuse(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -1;
}

static void read_phdr(const uint8_t *file, const struct elf_header *eh, unsigned i, struct elf_phdr *ph)
{
    memcpy(ph, file + eh->phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static int check_header(const uint8_t *file, size_t size, struct elf_header *eh, const char **why)
{
    if (!file || size < sizeof(*eh))
        return refuse(why, "file is too small to be an ELF image");
    memcpy(eh, file, sizeof(*eh));
    if (memcmp(eh->ident, ELF_MAGIC, ELF_MAGIC_SIZE) != 0)
        return refuse(why, "not an ELF file (bad magic)");
    if (eh->ident[ELF_EI_CLASS] != ELF_CLASS64)
        return refuse(why, "not a 64-bit ELF file");
    if (eh->ident[ELF_EI_DATA] != ELF_DATA2LSB)
        return refuse(why, "not a little-endian ELF file");
    if (eh->ident[ELF_EI_VERSION] != ELF_EV_CURRENT || eh->version != ELF_EV_CURRENT)
        return refuse(why, "unknown ELF version");
    if (eh->machine != ELF_EM_X86_64)
        return refuse(why, "not an x86-64 ELF file");
    if (eh->type == ELF_ET_EXEC)
        return refuse(why, "not position-independent (ET_EXEC); link with -static -pie");
    if (eh->type != ELF_ET_DYN)
        return refuse(why, "not an executable ELF file");
    if (eh->phentsize != sizeof(struct elf_phdr))
        return refuse(why, "unexpected program header size");
    if (eh->phnum == 0 || eh->phnum > MAX_PHDRS)
        return refuse(why, "bad number of program headers");
    if (!range_ok(eh->phoff, (uint64_t)eh->phnum * sizeof(struct elf_phdr), size))
        return refuse(why, "program headers lie outside the file");
    return 0;
}

int vmm_image_inspect(const void *file_v, size_t size, struct vmm_image_info *info, const char **why)
{
    const uint8_t *file = file_v;
    struct elf_header eh;
    if (check_header(file, size, &eh, why))
        return -1;

    uint64_t span = 0;
    unsigned loads = 0, dynamics = 0;
    for (unsigned i = 0; i < eh.phnum; i++) {
        struct elf_phdr ph;
        read_phdr(file, &eh, i, &ph);
        if (ph.type == ELF_PT_INTERP)
            return refuse(why, "asks for a dynamic linker (PT_INTERP); link with --no-dynamic-linker");
        if (ph.type == ELF_PT_DYNAMIC) {
            if (++dynamics > 1)
                return refuse(why, "more than one PT_DYNAMIC segment");
            if (!range_ok(ph.offset, ph.filesz, size))
                return refuse(why, "PT_DYNAMIC lies outside the file");
            continue;
        }
        if (ph.type != ELF_PT_LOAD)
            continue;
        if (ph.filesz > ph.memsz)
            return refuse(why, "PT_LOAD segment has more file bytes than memory bytes");
        if (!range_ok(ph.offset, ph.filesz, size))
            return refuse(why, "PT_LOAD segment lies outside the file");
        if (!range_ok(ph.vaddr, ph.memsz, VMM_IMAGE_MAX_SPAN))
            return refuse(why, "PT_LOAD segment lies beyond 1 GiB");
        if (ph.align > VMM_IMAGE_ALIGN || (ph.align & (ph.align - 1)))
            return refuse(why, "PT_LOAD segment alignment is not a power of two up to 2 MiB");
        if (ph.memsz == 0)
            continue;
        loads++;
        if (ph.vaddr + ph.memsz > span)
            span = ph.vaddr + ph.memsz;
    }
    if (loads == 0)
        return refuse(why, "no loadable segment");
    span = (span + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

    /* The entry point must be code the image actually loads. */
    int entry_ok = 0;
    for (unsigned i = 0; i < eh.phnum && !entry_ok; i++) {
        struct elf_phdr ph;
        read_phdr(file, &eh, i, &ph);
        if (ph.type == ELF_PT_LOAD && (ph.flags & ELF_PF_X) && eh.entry >= ph.vaddr &&
            eh.entry - ph.vaddr < ph.memsz)
            entry_ok = 1;
    }
    if (!entry_ok)
        return refuse(why, "entry point is not inside an executable segment");

    if (info) {
        info->span = span;
        info->entry = eh.entry;
    }
    return 0;
}

/* Apply the RELA table found through the dynamic section. The table is read from the laid-out
 * image (that is where DT_RELA points); each entry is copied before it is applied. */
static int apply_relocations(const uint8_t *file, const struct elf_phdr *dyn, uint8_t *dest,
                             uint64_t span, uint64_t base, const char **why)
{
    uint64_t rela = 0, relasz = 0, relaent = 0;
    int have_rela = 0;
    for (uint64_t off = 0; off + sizeof(struct elf_dyn) <= dyn->filesz; off += sizeof(struct elf_dyn)) {
        struct elf_dyn d;
        memcpy(&d, file + dyn->offset + off, sizeof(d));
        if (d.tag == DT_NULL)
            break;
        switch (d.tag) {
        case DT_RELA:
            rela = d.val;
            have_rela = 1;
            break;
        case DT_RELASZ:
            relasz = d.val;
            break;
        case DT_RELAENT:
            relaent = d.val;
            break;
        case DT_REL:
        case DT_RELSZ:
            return refuse(why, "uses REL relocations; only RELA is supported");
        case DT_JMPREL:
        case DT_PLTRELSZ:
            if (d.val)
                return refuse(why, "has PLT relocations; link with -fno-plt and no shared libraries");
            break;
        default:
            break;
        }
    }
    if (relasz == 0)
        return 0;
    if (!have_rela)
        return refuse(why, "DT_RELASZ without DT_RELA");
    if (relaent != sizeof(struct elf_rela))
        return refuse(why, "DT_RELAENT is not the size of an ELF64 RELA entry");
    if (relasz % sizeof(struct elf_rela))
        return refuse(why, "DT_RELASZ is not a multiple of the RELA entry size");
    if (!range_ok(rela, relasz, span))
        return refuse(why, "relocation table lies outside the image");

    for (uint64_t off = 0; off < relasz; off += sizeof(struct elf_rela)) {
        struct elf_rela r;
        memcpy(&r, dest + rela + off, sizeof(r));
        uint32_t type = (uint32_t)r.info;
        if (type == R_X86_64_NONE)
            continue;
        if (type != R_X86_64_RELATIVE || (r.info >> 32) != 0)
            return refuse(why, "relocation other than R_X86_64_RELATIVE (the image must be a static PIE)");
        if (!range_ok(r.offset, sizeof(uint64_t), span))
            return refuse(why, "relocation target lies outside the image");
        uint64_t value = base + (uint64_t)r.addend;
        memcpy(dest + r.offset, &value, sizeof(value));
    }
    return 0;
}

int vmm_image_load(const void *file_v, size_t size, void *dest_v, uint64_t dest_size, uint64_t base,
                   const char **why)
{
    const uint8_t *file = file_v;
    uint8_t *dest = dest_v;
    struct vmm_image_info info;
    if (vmm_image_inspect(file, size, &info, why))
        return -1;
    if (!dest || dest_size < info.span)
        return refuse(why, "destination is smaller than the image");

    struct elf_header eh;
    memcpy(&eh, file, sizeof(eh));
    memset(dest, 0, info.span);
    struct elf_phdr dyn = { 0 };
    int have_dyn = 0;
    for (unsigned i = 0; i < eh.phnum; i++) {
        struct elf_phdr ph;
        read_phdr(file, &eh, i, &ph);
        if (ph.type == ELF_PT_DYNAMIC) {
            dyn = ph;
            have_dyn = 1;
        } else if (ph.type == ELF_PT_LOAD && ph.filesz) {
            memcpy(dest + ph.vaddr, file + ph.offset, ph.filesz);
        }
    }
    if (have_dyn)
        return apply_relocations(file, &dyn, dest, info.span, base, why);
    return 0;
}
