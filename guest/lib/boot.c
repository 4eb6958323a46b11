/* Reads the boot loader's structures (Xen PVH hvm_start_info or Multiboot v1 multiboot_info)
 * into struct boot_info. Everything is copied, since tests later overwrite that memory. */
#include "boot.h"

struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

struct multiboot_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};

struct multiboot_mmap_entry {
    uint32_t size;                /* of the rest of the entry */
    uint64_t base, length;
    uint32_t type;
} __attribute__((packed));

#define MEMMAP_TYPE_RAM 1
#define MB_INFO_MEMORY  (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)
/* Our page tables map 0..8 GiB; boot structures beyond that cannot be read. */
#define MAPPED_LIMIT    (8ull << 30)

static void copy_cmdline(struct boot_info *out, uint64_t paddr)
{
    if (paddr == 0 || paddr >= MAPPED_LIMIT)
        return;
    const volatile char *src = (const volatile char *)(uintptr_t)paddr;
    unsigned i = 0;
    while (i + 1 < BOOT_CMDLINE_MAX && src[i] != '\0') {
        out->cmdline[i] = src[i];
        i++;
    }
    out->cmdline[i] = '\0';
}

static void add_ram(struct boot_info *out, uint64_t start, uint64_t length, uint32_t type)
{
    if (type != MEMMAP_TYPE_RAM || length == 0 || start > UINT64_MAX - length)
        return;
    if (out->ram_count == BOOT_RAM_RANGES_MAX)
        return;
    out->ram[out->ram_count].start = start;
    out->ram[out->ram_count].end = start + length;
    out->ram_count++;
    if (start + length > out->ram_end)
        out->ram_end = start + length;
}

static void parse_pvh(uint32_t info_paddr, struct boot_info *out)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)info_paddr;
    if (si->magic != PVH_START_MAGIC) {
        out->problem = "hvm_start_info magic is wrong";
        return;
    }
    out->protocol = BOOTED_PVH;
    copy_cmdline(out, si->cmdline_paddr);
    if (si->version < 1 || si->memmap_paddr == 0 || si->memmap_paddr >= MAPPED_LIMIT) {
        out->problem = "hvm_start_info has no memory map";
        return;
    }
    const struct hvm_memmap_entry *map = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
    for (uint32_t i = 0; i < si->memmap_entries && i < 128; i++)
        add_ram(out, map[i].addr, map[i].size, map[i].type);
}

static void parse_multiboot(uint32_t info_paddr, struct boot_info *out)
{
    const struct multiboot_info *mbi = (const struct multiboot_info *)(uintptr_t)info_paddr;
    out->protocol = BOOTED_MULTIBOOT;
    if (mbi->flags & MB_INFO_CMDLINE)
        copy_cmdline(out, mbi->cmdline);
    if (mbi->flags & MB_INFO_MMAP) {
        uint64_t pos = mbi->mmap_addr, end = (uint64_t)mbi->mmap_addr + mbi->mmap_length;
        while (pos + sizeof(struct multiboot_mmap_entry) <= end) {
            const struct multiboot_mmap_entry *e = (const struct multiboot_mmap_entry *)(uintptr_t)pos;
            add_ram(out, e->base, e->length, e->type);
            pos += (uint64_t)e->size + sizeof(e->size);
        }
    } else if (mbi->flags & MB_INFO_MEMORY) {
        add_ram(out, 0, (uint64_t)mbi->mem_lower << 10, MEMMAP_TYPE_RAM);
        add_ram(out, 1ull << 20, (uint64_t)mbi->mem_upper << 10, MEMMAP_TYPE_RAM);
    } else {
        out->problem = "multiboot_info has no memory information";
    }
}

void boot_info_parse(uint32_t boot_magic, uint32_t info_paddr, struct boot_info *out)
{
    *out = (struct boot_info){ .protocol = BOOTED_UNKNOWN };
    if (boot_magic == PVH_START_MAGIC)
        parse_pvh(info_paddr, out);
    else if (boot_magic == MULTIBOOT_BOOTLOADER_MAGIC)
        parse_multiboot(info_paddr, out);
    else
        out->problem = "entered without a known boot magic";
    if (out->ram_count == 0 && out->problem == 0)
        out->problem = "the memory map lists no RAM";
}

/* Start of `word` or `word=` as a whole space-separated token, or NULL. */
static const char *find_token(const char *s, const char *word, bool with_value)
{
    unsigned n = 0;
    while (word[n])
        n++;
    for (const char *p = s; *p; p++) {
        if (p != s && p[-1] != ' ')
            continue;
        unsigned i = 0;
        while (i < n && p[i] == word[i])
            i++;
        if (i < n)
            continue;
        if (with_value ? p[n] == '=' : (p[n] == ' ' || p[n] == '\0'))
            return p + n;
    }
    return 0;
}

bool cmdline_has_word(const struct boot_info *b, const char *word)
{
    return find_token(b->cmdline, word, false) != 0;
}

uint64_t cmdline_number(const struct boot_info *b, const char *key, uint64_t fallback)
{
    const char *p = find_token(b->cmdline, key, true);
    if (!p || p[1] < '0' || p[1] > '9')
        return fallback;
    uint64_t v = 0;
    for (p++; *p >= '0' && *p <= '9'; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return fallback;
        v = v * 10 + digit;
    }
    return v;
}

size_t cmdline_string(const struct boot_info *b, const char *key, char *out, size_t size)
{
    if (size == 0)
        return 0;
    const char *p = find_token(b->cmdline, key, true);
    size_t n = 0;
    if (p) {
        for (p++; *p && *p != ' ' && n + 1 < size; p++)
            out[n++] = *p;
    }
    out[n] = '\0';
    return p ? n : 0;
}
