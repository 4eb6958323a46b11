/* Lays a guest kernel, its modules and its boot information out in guest RAM (layout in
 * image.h). Everything is planned and checked first; RAM is written only once the whole plan
 * is known to fit, so a refused image leaves RAM untouched. */
#include <stdbool.h>
#include "bootinfo.h"
#include "guest/elf.h"
#include "guest/image.h"
#include "guest/image_fail.h"
#include "guest/multiboot.h"
#include "guest/pvh.h"
#include "lib/mem.h"

#define PAGE_SIZE       0x1000ull
#define INFO_BASE       0x1000ull
#define INFO_END        0x80000ull
#define LOW_RAM_END     0x9fc00ull   /* conventional memory as a PC reports it */
#define KERNEL_BASE     0x100000ull
#define MEMMAP_ENTRIES  3
#define LOADER_NAME     "Tessera"

struct load_segment {
    const uint8_t *src;
    uint64_t filesz;
    uint64_t paddr, vaddr, memsz;
};

struct kernel_plan {
    enum boot_protocol protocol;
    uint32_t entry;
    unsigned count;
    struct load_segment seg[ELF_MAX_LOAD_SEGMENTS];
    uint64_t end;                     /* first byte after the highest segment */
    uint64_t module_addr[BOOTINFO_MAX_MODULES];
};

/* Writes into guest RAM, or (dry run) only checks that a write would stay inside it. */
struct ram_writer {
    uint8_t *ram;
    uint64_t size;
    bool dry_run;
};

/* A bump allocator over the boot-information area [INFO_BASE, INFO_END). */
struct info_area {
    struct ram_writer *w;
    uint64_t next;
    bool full;
};

/* Rounds up to a page; false if that would pass the top of the address space. */
static bool page_round_up(uint64_t v, uint64_t *out)
{
    if (v > UINT64_MAX - (PAGE_SIZE - 1))
        return false;
    *out = (v + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    return true;
}

static bool fits(uint64_t addr, uint64_t len, uint64_t size)
{
    return addr <= size && len <= size - addr;
}

static void ram_copy(struct ram_writer *w, uint64_t addr, const void *src, uint64_t len)
{
    if (!w->dry_run && len && fits(addr, len, w->size))
        memcpy(w->ram + addr, src, len);
}

static void ram_zero(struct ram_writer *w, uint64_t addr, uint64_t len)
{
    if (!w->dry_run && len && fits(addr, len, w->size))
        memset(w->ram + addr, 0, len);
}

static uint64_t info_reserve(struct info_area *a, uint64_t len, uint64_t align)
{
    uint64_t at = (a->next + align - 1) & ~(align - 1);
    if (a->full || !fits(at, len, INFO_END)) {
        a->full = true;
        return 0;
    }
    a->next = at + len;
    return at;
}

static uint64_t info_put(struct info_area *a, const void *src, uint64_t len, uint64_t align)
{
    uint64_t at = info_reserve(a, len, align);
    if (!a->full)
        ram_copy(a->w, at, src, len);
    return at;
}

/* Writes entry `index` of a table reserved at `table`; nothing once the area is full, since the
 * boot information is then refused as a whole. */
static void info_put_entry(struct info_area *a, uint64_t table, unsigned index, const void *entry, uint64_t size)
{
    if (!a->full)
        ram_copy(a->w, table + index * size, entry, size);
}

static uint64_t info_put_string(struct info_area *a, const char *s)
{
    uint64_t room = INFO_END - INFO_BASE;
    uint64_t len = strnlen(s, room);
    if (len == room) {
        a->full = true;
        return 0;
    }
    return info_put(a, s, len + 1, 1);
}

/* --- kernel: which protocol, which segments, which entry ------------------------------------ */

static int collect_elf_segments(const struct elf_file *elf, struct kernel_plan *plan)
{
    plan->count = 0;
    for (unsigned i = 0; i < elf->phnum; i++) {
        struct elf_phdr ph;
        elf_read_phdr(elf, i, &ph);
        if (ph.type != ELF_PT_LOAD || ph.memsz == 0)
            continue;
        /* elf_check_segments() bounded the count and checked the file range. */
        struct load_segment *s = &plan->seg[plan->count++];
        /* With nothing in the file, p_offset is meaningless (and may be anything). */
        s->src = ph.filesz ? elf->data + ph.offset : elf->data;
        s->filesz = ph.filesz;
        s->paddr = ph.paddr;
        s->vaddr = ph.vaddr;
        s->memsz = ph.memsz;
    }
    return 0;
}

/* Multiboot ELF kernels give a virtual entry when they link high: translate it through the
 * segment that contains it. */
static uint64_t elf_entry_physical(const struct kernel_plan *plan, uint64_t entry)
{
    for (unsigned i = 0; i < plan->count; i++) {
        const struct load_segment *s = &plan->seg[i];
        if (entry >= s->vaddr && entry - s->vaddr < s->memsz)
            return s->paddr + (entry - s->vaddr);
    }
    return entry;
}

static int plan_kernel(const struct image_blob *kernel, struct kernel_plan *plan, char *why,
                       size_t why_len)
{
    struct elf_file elf;
    bool is_elf = elf_has_magic(kernel->data, kernel->size);
    uint64_t entry = 0;

    if (is_elf) {
        if (elf_open(&elf, kernel->data, kernel->size, why, why_len) < 0 ||
            elf_check_segments(&elf, why, why_len) < 0)
            return -1;
        uint32_t pvh_entry;
        int r = pvh_find_entry(&elf, &pvh_entry, why, why_len);
        if (r < 0)
            return -1;
        if (r == 1) {
            plan->protocol = BOOT_PVH;
            collect_elf_segments(&elf, plan);
            plan->entry = pvh_entry;
            return 0;
        }
    }

    struct multiboot_header mb;
    int r = multiboot_find_header(kernel->data, kernel->size, &mb, why, why_len);
    if (r < 0)
        return -1;
    if (r == 0)
        return image_fail(why, why_len, "no PVH note and no Multiboot header");
    plan->protocol = BOOT_MULTIBOOT;
    /* As GRUB does: the address fields win over the ELF headers when flag 16 is set. */
    if (mb.flags & MULTIBOOT_HF_ADDRESS) {
        struct multiboot_load load;
        if (multiboot_kludge_load(&mb, kernel->size, &load, why, why_len) < 0)
            return -1;
        plan->count = 0;
        if (load.mem_size) {
            plan->seg[0] = (struct load_segment){
                .src = kernel->data + load.file_offset,
                .filesz = load.file_size,
                .paddr = load.paddr,
                .vaddr = load.paddr,
                .memsz = load.mem_size,
            };
            plan->count = 1;
        }
        entry = load.entry;
    } else {
        if (!is_elf)
            return image_fail(why, why_len, "Multiboot header without address fields (flag 16) in a "
                                            "kernel that is not ELF");
        collect_elf_segments(&elf, plan);
        entry = elf_entry_physical(plan, elf.entry);
    }
    if (entry > UINT32_MAX)
        return image_fail(why, why_len, "entry point 0x%llx is above 4 GiB", (unsigned long long)entry);
    plan->entry = (uint32_t)entry;
    return 0;
}

static int check_kernel_placement(struct kernel_plan *plan, uint64_t ram_size, char *why,
                                  size_t why_len)
{
    bool entry_loaded = false;

    if (plan->count == 0)
        return image_fail(why, why_len, "kernel has nothing to load");
    plan->end = KERNEL_BASE;
    for (unsigned i = 0; i < plan->count; i++) {
        const struct load_segment *s = &plan->seg[i];
        if (s->paddr < KERNEL_BASE || !fits(s->paddr, s->memsz, ram_size))
            return image_fail(why, why_len, "kernel segment [0x%llx, +0x%llx) lies outside guest RAM "
                                            "[0x100000, 0x%llx)", (unsigned long long)s->paddr,
                              (unsigned long long)s->memsz, (unsigned long long)ram_size);
        if (s->paddr + s->memsz > plan->end)
            plan->end = s->paddr + s->memsz;
        if (plan->entry >= s->paddr && plan->entry - s->paddr < s->memsz)
            entry_loaded = true;
    }
    if (!entry_loaded)
        return image_fail(why, why_len, "entry point 0x%x is not inside a loaded segment", plan->entry);
    return 0;
}

/* Modules go page-aligned after the kernel, in order. Multiboot has 32-bit module fields. */
static int place_modules(struct kernel_plan *plan, uint64_t ram_size, const struct image_blob *modules,
                         unsigned module_count, char *why, size_t why_len)
{
    uint64_t limit = plan->protocol == BOOT_MULTIBOOT && ram_size > UINT32_MAX ? UINT32_MAX : ram_size;
    uint64_t next = plan->end;

    if (module_count > BOOTINFO_MAX_MODULES)
        return image_fail(why, why_len, "too many modules (%u, at most %u)", module_count,
                          BOOTINFO_MAX_MODULES);
    for (unsigned i = 0; i < module_count; i++) {
        uint64_t at;
        if (!modules[i].data && modules[i].size)
            return image_fail(why, why_len, "module %u has no data", i);
        if (!page_round_up(next, &at) || !fits(at, modules[i].size, limit))
            return image_fail(why, why_len, "module %u (%llu bytes) does not fit in guest RAM after the "
                                            "kernel", i, (unsigned long long)modules[i].size);
        plan->module_addr[i] = at;
        next = at + modules[i].size;
    }
    return 0;
}

/* --- boot information ------------------------------------------------------------------------ */

struct memmap_range {
    uint64_t addr, size;
    uint32_t type;
};

static void guest_memmap(uint64_t ram_size, struct memmap_range map[MEMMAP_ENTRIES])
{
    map[0] = (struct memmap_range){ 0, LOW_RAM_END, HVM_MEMMAP_TYPE_RAM };
    map[1] = (struct memmap_range){ LOW_RAM_END, KERNEL_BASE - LOW_RAM_END, HVM_MEMMAP_TYPE_RESERVED };
    map[2] = (struct memmap_range){ KERNEL_BASE, ram_size - KERNEL_BASE, HVM_MEMMAP_TYPE_RAM };
}

static const char *args_of(const struct image_blob *blob)
{
    return blob->args ? blob->args : "";
}

/* Returns the hvm_start_info address, or 0 if the area is full. */
static uint64_t build_pvh_info(struct info_area *a, const struct kernel_plan *plan, uint64_t ram_size,
                               const char *cmdline, const struct image_blob *modules,
                               unsigned module_count)
{
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = HVM_START_VERSION,
        .nr_modules = module_count,
        .memmap_entries = MEMMAP_ENTRIES,
    };
    struct memmap_range map[MEMMAP_ENTRIES];

    uint64_t si_addr = info_reserve(a, sizeof si, 8);
    if (module_count)
        si.modlist_paddr = info_reserve(a, (uint64_t)module_count * sizeof(struct hvm_modlist_entry), 8);
    si.memmap_paddr = info_reserve(a, MEMMAP_ENTRIES * sizeof(struct hvm_memmap_table_entry), 8);
    si.cmdline_paddr = info_put_string(a, cmdline);

    guest_memmap(ram_size, map);
    for (unsigned i = 0; i < MEMMAP_ENTRIES; i++) {
        struct hvm_memmap_table_entry e = { .addr = map[i].addr, .size = map[i].size, .type = map[i].type };
        info_put_entry(a, si.memmap_paddr, i, &e, sizeof e);
    }
    for (unsigned i = 0; i < module_count; i++) {
        struct hvm_modlist_entry m = {
            .paddr = plan->module_addr[i],
            .size = modules[i].size,
            .cmdline_paddr = info_put_string(a, args_of(&modules[i])),
        };
        info_put_entry(a, si.modlist_paddr, i, &m, sizeof m);
    }
    if (a->full)
        return 0;
    ram_copy(a->w, si_addr, &si, sizeof si);
    return si_addr;
}

/* Returns the multiboot_info address, or 0 if the area is full. */
static uint64_t build_multiboot_info(struct info_area *a, const struct kernel_plan *plan,
                                     uint64_t ram_size, const char *cmdline,
                                     const struct image_blob *modules, unsigned module_count)
{
    struct multiboot_info mi;
    struct memmap_range map[MEMMAP_ENTRIES];
    uint64_t upper_kib = (ram_size - KERNEL_BASE) / 1024;

    memset(&mi, 0, sizeof mi);
    mi.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
               MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_LOADER_NAME;
    mi.mem_lower = (uint32_t)(LOW_RAM_END / 1024);
    mi.mem_upper = upper_kib > UINT32_MAX ? UINT32_MAX : (uint32_t)upper_kib;
    mi.mods_count = module_count;

    /* Every address below is inside the info area, below 0x80000: 32 bits suffice. */
    uint64_t mi_addr = info_reserve(a, sizeof mi, 8);
    if (module_count)
        mi.mods_addr = (uint32_t)info_reserve(a, (uint64_t)module_count * sizeof(struct multiboot_module), 8);
    mi.mmap_length = MEMMAP_ENTRIES * sizeof(struct multiboot_mmap_entry);
    mi.mmap_addr = (uint32_t)info_reserve(a, mi.mmap_length, 8);
    mi.cmdline = (uint32_t)info_put_string(a, cmdline);
    mi.boot_loader_name = (uint32_t)info_put_string(a, LOADER_NAME);

    guest_memmap(ram_size, map);
    for (unsigned i = 0; i < MEMMAP_ENTRIES; i++) {
        struct multiboot_mmap_entry e = {
            .size = sizeof e - sizeof e.size,
            .addr = map[i].addr,
            .len = map[i].size,
            .type = map[i].type == HVM_MEMMAP_TYPE_RAM ? MULTIBOOT_MEMORY_AVAILABLE : MULTIBOOT_MEMORY_RESERVED,
        };
        info_put_entry(a, mi.mmap_addr, i, &e, sizeof e);
    }
    for (unsigned i = 0; i < module_count; i++) {
        /* place_modules() kept every module's end within 32 bits. */
        struct multiboot_module m = {
            .mod_start = (uint32_t)plan->module_addr[i],
            .mod_end = (uint32_t)(plan->module_addr[i] + modules[i].size),
            .string = (uint32_t)info_put_string(a, args_of(&modules[i])),
        };
        info_put_entry(a, mi.mods_addr, i, &m, sizeof m);
    }
    if (a->full)
        return 0;
    ram_copy(a->w, mi_addr, &mi, sizeof mi);
    return mi_addr;
}

static uint64_t build_boot_info(struct ram_writer *w, const struct kernel_plan *plan,
                                const char *cmdline, const struct image_blob *modules,
                                unsigned module_count)
{
    struct info_area area = { .w = w, .next = INFO_BASE };
    if (plan->protocol == BOOT_PVH)
        return build_pvh_info(&area, plan, w->size, cmdline, modules, module_count);
    return build_multiboot_info(&area, plan, w->size, cmdline, modules, module_count);
}

static void write_kernel_and_modules(struct ram_writer *w, const struct kernel_plan *plan,
                                     const struct image_blob *modules, unsigned module_count)
{
    for (unsigned i = 0; i < plan->count; i++) {
        const struct load_segment *s = &plan->seg[i];
        ram_copy(w, s->paddr, s->src, s->filesz);
        ram_zero(w, s->paddr + s->filesz, s->memsz - s->filesz);
    }
    for (unsigned i = 0; i < module_count; i++)
        ram_copy(w, plan->module_addr[i], modules[i].data, modules[i].size);
}

int guest_image_load(uint8_t *ram, uint64_t ram_size, const struct image_blob *kernel,
                     const char *cmdline, const struct image_blob *modules, unsigned module_count,
                     struct guest_entry *entry, char *why, size_t why_len)
{
    struct kernel_plan plan;

    if (why && why_len)
        why[0] = 0;
    if (!ram || ram_size <= KERNEL_BASE)
        return image_fail(why, why_len, "guest RAM (%llu bytes) does not reach past 1 MiB",
                          (unsigned long long)ram_size);
    if (!kernel || !kernel->data || kernel->size == 0)
        return image_fail(why, why_len, "kernel file is empty");
    if (module_count && !modules)
        return image_fail(why, why_len, "module list is missing");
    if (!cmdline)
        cmdline = "";

    memset(&plan, 0, sizeof plan);
    if (plan_kernel(kernel, &plan, why, why_len) < 0 ||
        check_kernel_placement(&plan, ram_size, why, why_len) < 0 ||
        place_modules(&plan, ram_size, modules, module_count, why, why_len) < 0)
        return -1;

    struct ram_writer w = { .ram = ram, .size = ram_size, .dry_run = true };
    if (build_boot_info(&w, &plan, cmdline, modules, module_count) == 0)
        return image_fail(why, why_len, "command lines do not fit in the boot information area "
                                        "[0x1000, 0x80000)");

    w.dry_run = false;
    write_kernel_and_modules(&w, &plan, modules, module_count);
    uint64_t info = build_boot_info(&w, &plan, cmdline, modules, module_count);

    entry->protocol = plan.protocol;
    entry->eip = plan.entry;
    entry->eax = plan.protocol == BOOT_MULTIBOOT ? MULTIBOOT_BOOTLOADER_MAGIC : 0;
    entry->ebx = (uint32_t)info;
    return 0;
}
