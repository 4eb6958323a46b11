/* Tests of the guest image loader: PVH and Multiboot kernels built in memory here, the boot
 * information read back from guest RAM, and hostile files (truncated, overlapping, out of
 * range, malformed notes and headers) refused with RAM left untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bootinfo.h"
#include "guest/image.h"
#include "guest/image_fail.h"
#include "guest/multiboot.h"
#include "guest/pvh.h"

#define RAM_SIZE   (4u << 20)
#define RAM_FILL   0xee
#define FILE_MAX   0x3000
#define SEG_OFFSET 0x1000u
#define SEG_FILESZ 0x200u
#define SEG_MEMSZ  0x3000u
#define SEG_PADDR  0x200000u
#define NOTE_OFFSET 0x800u

static uint8_t *ram;
static uint8_t file[FILE_MAX];
static size_t file_size;
static char why[256];
static struct guest_entry entry;

struct phdr_spec {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

static int setup(void **state)
{
    (void)state;
    ram = malloc(RAM_SIZE);
    assert_non_null(ram);
    memset(ram, RAM_FILL, RAM_SIZE);
    memset(file, 0, sizeof file);
    memset(&entry, 0, sizeof entry);
    why[0] = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

/* ELF header at 0, program headers at 0x40. */
static void put_elf(bool is64, uint64_t entry_addr, const struct phdr_spec *ph, unsigned n)
{
    memset(file, 0, 0x40 + n * 56);
    memcpy(file, "\x7f" "ELF", 4);
    file[4] = is64 ? 2 : 1;
    file[5] = 1;
    file[6] = 1;
    w16(file + 16, 2);
    w16(file + 18, is64 ? 62 : 3);
    w32(file + 20, 1);
    if (is64) {
        w64(file + 24, entry_addr);
        w64(file + 32, 0x40);
        w16(file + 52, 64);
        w16(file + 54, 56);
        w16(file + 56, (uint16_t)n);
    } else {
        w32(file + 24, (uint32_t)entry_addr);
        w32(file + 28, 0x40);
        w16(file + 40, 52);
        w16(file + 42, 32);
        w16(file + 44, (uint16_t)n);
    }
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = file + 0x40 + i * (is64 ? 56 : 32);
        w32(p, ph[i].type);
        if (is64) {
            w32(p + 4, 5);
            w64(p + 8, ph[i].offset);
            w64(p + 16, ph[i].vaddr);
            w64(p + 24, ph[i].paddr);
            w64(p + 32, ph[i].filesz);
            w64(p + 40, ph[i].memsz);
            w64(p + 48, ph[i].align);
        } else {
            w32(p + 4, (uint32_t)ph[i].offset);
            w32(p + 8, (uint32_t)ph[i].vaddr);
            w32(p + 12, (uint32_t)ph[i].paddr);
            w32(p + 16, (uint32_t)ph[i].filesz);
            w32(p + 20, (uint32_t)ph[i].memsz);
            w32(p + 24, 5);
            w32(p + 28, (uint32_t)ph[i].align);
        }
    }
}

static void fill_segment_data(void)
{
    for (unsigned i = 0; i < SEG_FILESZ; i++)
        file[SEG_OFFSET + i] = (uint8_t)(i * 7 + 1);
}

/* Writes a note at off; returns its size in the file (4-aligned). */
static uint32_t put_note(size_t off, uint32_t namesz, const char *name, uint32_t descsz, uint32_t type,
                         uint64_t value)
{
    w32(file + off, namesz);
    w32(file + off + 4, descsz);
    w32(file + off + 8, type);
    memcpy(file + off + 12, name, strlen(name) + 1);
    uint32_t name_span = (namesz + 3) & ~3u;
    if (descsz == 8)
        w64(file + off + 12 + name_span, value);
    else if (descsz == 4)
        w32(file + off + 12 + name_span, (uint32_t)value);
    return 12 + name_span + ((descsz + 3) & ~3u);
}

/* A PVH kernel: one loadable segment (with bss), a note segment holding an unrelated note then
 * the PHYS32 entry note. The file ends with the segment's data. */
static void make_pvh(bool is64, uint32_t entry_descsz)
{
    uint32_t notes = put_note(NOTE_OFFSET, 4, "GNU", 4, 3, 0x1234);
    notes += put_note(NOTE_OFFSET + notes, 4, "Xen", entry_descsz, XEN_ELFNOTE_PHYS32_ENTRY, SEG_PADDR + 0x10);
    struct phdr_spec ph[] = {
        { 6 /* PT_PHDR: ignored */, 0x40, 0, 0, 0x70, 0x70, 8 },
        { 1, SEG_OFFSET, 0xffffffff80000000ull, SEG_PADDR, SEG_FILESZ, SEG_MEMSZ, 0x1000 },
        { 4, NOTE_OFFSET, 0, 0, notes, notes, 4 },
    };
    if (!is64)
        ph[1].vaddr = 0xc0000000u;
    put_elf(is64, 0xdeadbeef /* ignored by PVH */, ph, 3);
    fill_segment_data();
    file_size = SEG_OFFSET + SEG_FILESZ;
}

/* A Multiboot ELF kernel linked high: the header opens the loaded segment. */
static void make_multiboot_elf(uint32_t flags)
{
    struct phdr_spec ph[] = {
        { 1, SEG_OFFSET, 0xc0000000u + SEG_PADDR, SEG_PADDR, SEG_FILESZ, SEG_MEMSZ, 0x1000 },
    };
    put_elf(false, 0xc0000000u + SEG_PADDR + 0x20, ph, 1);
    fill_segment_data();
    w32(file + SEG_OFFSET, MULTIBOOT_HEADER_MAGIC);
    w32(file + SEG_OFFSET + 4, flags);
    w32(file + SEG_OFFSET + 8, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + flags));
    file_size = SEG_OFFSET + SEG_FILESZ;
}

#define KLUDGE_LOAD 0x100000u

/* A flat binary with the a.out-kludge fields: header at 0x40, all 0x400 bytes loaded. */
static void make_kludge(uint32_t header_addr, uint32_t load_end, uint32_t bss_end, uint32_t entry_addr)
{
    uint32_t flags = MULTIBOOT_HF_PAGE_ALIGN | MULTIBOOT_HF_MEMORY_INFO | MULTIBOOT_HF_ADDRESS;
    for (unsigned i = 0; i < 0x400; i++)
        file[i] = (uint8_t)(i * 13 + 5);
    w32(file + 0x40, MULTIBOOT_HEADER_MAGIC);
    w32(file + 0x44, flags);
    w32(file + 0x48, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + flags));
    w32(file + 0x4c, header_addr);
    w32(file + 0x50, KLUDGE_LOAD);
    w32(file + 0x54, load_end);
    w32(file + 0x58, bss_end);
    w32(file + 0x5c, entry_addr);
    file_size = 0x400;
}

static int load_sized(uint64_t ram_size, size_t size, const char *cmdline, const struct image_blob *mods,
                      unsigned n)
{
    struct image_blob k = { .data = file, .size = size, .args = "" };
    return guest_image_load(ram, ram_size, &k, cmdline, mods, n, &entry, why, sizeof why);
}

static int load(const char *cmdline, const struct image_blob *mods, unsigned n)
{
    return load_sized(RAM_SIZE, file_size, cmdline, mods, n);
}

static bool untouched(uint64_t addr, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++)
        if (ram[addr + i] != RAM_FILL)
            return false;
    return true;
}

/* Refused with a reason containing text, and nothing written where a load would write. */
static void expect_refused(const char *text)
{
    assert_int_equal(load("cmd", NULL, 0), -1);
    if (!strstr(why, text))
        fail_msg("reason \"%s\" does not contain \"%s\"", why, text);
    assert_true(untouched(0, 0x2000));
    assert_true(untouched(0x100000, 0x110000));
}

static void expect_segment_loaded(uint64_t paddr, const uint8_t *src, uint64_t filesz, uint64_t memsz)
{
    assert_memory_equal(ram + paddr, src, filesz);
    for (uint64_t i = filesz; i < memsz; i++)
        if (ram[paddr + i] != 0)
            fail_msg("bss byte at 0x%llx is not zero", (unsigned long long)(paddr + i));
}

static const char *ram_string(uint64_t addr)
{
    assert_true(addr > 0 && addr < 0x80000);
    return (const char *)ram + addr;
}

static uint8_t mod_a[5000], mod_b[10];

static void check_pvh(bool is64, uint32_t descsz)
{
    struct image_blob mods[] = {
        { mod_a, sizeof mod_a, "a=1 b" },
        { mod_b, sizeof mod_b, NULL },
    };
    memset(mod_a, 0xa1, sizeof mod_a);
    memset(mod_b, 0xb2, sizeof mod_b);
    make_pvh(is64, descsz);

    assert_int_equal(load("console=ttyS0 quiet", mods, 2), 0);
    assert_string_equal(why, "");
    assert_int_equal(entry.protocol, BOOT_PVH);
    assert_int_equal(entry.eip, SEG_PADDR + 0x10);
    assert_int_equal(entry.eax, 0);
    assert_int_equal(entry.ebx, 0x1000);

    expect_segment_loaded(SEG_PADDR, file + SEG_OFFSET, SEG_FILESZ, SEG_MEMSZ);
    /* Modules page-aligned after the kernel's end (0x203000), gaps left alone. */
    assert_memory_equal(ram + 0x203000, mod_a, sizeof mod_a);
    assert_true(untouched(0x203000 + sizeof mod_a, 0x205000 - 0x203000 - sizeof mod_a));
    assert_memory_equal(ram + 0x205000, mod_b, sizeof mod_b);
    assert_true(untouched(0x205000 + sizeof mod_b, RAM_SIZE - 0x205000 - sizeof mod_b));
    assert_true(untouched(0, 0x1000));
    assert_true(untouched(0x80000, SEG_PADDR - 0x80000));

    struct hvm_start_info si;
    memcpy(&si, ram + entry.ebx, sizeof si);
    assert_int_equal(si.magic, 0x336ec578);
    assert_int_equal(si.version, 1);
    assert_int_equal(si.flags, 0);
    assert_int_equal(si.nr_modules, 2);
    assert_int_equal(si.rsdp_paddr, 0);
    assert_int_equal(si.reserved, 0);
    assert_string_equal(ram_string(si.cmdline_paddr), "console=ttyS0 quiet");
    assert_true(si.modlist_paddr % 8 == 0 && si.modlist_paddr >= 0x1000 && si.modlist_paddr < 0x80000);

    struct hvm_modlist_entry m[2];
    memcpy(m, ram + si.modlist_paddr, sizeof m);
    assert_int_equal(m[0].paddr, 0x203000);
    assert_int_equal(m[0].size, sizeof mod_a);
    assert_string_equal(ram_string(m[0].cmdline_paddr), "a=1 b");
    assert_int_equal(m[0].reserved, 0);
    assert_int_equal(m[1].paddr, 0x205000);
    assert_int_equal(m[1].size, sizeof mod_b);
    assert_string_equal(ram_string(m[1].cmdline_paddr), "");

    assert_int_equal(si.memmap_entries, 3);
    struct hvm_memmap_table_entry mm[3];
    memcpy(mm, ram + si.memmap_paddr, sizeof mm);
    assert_int_equal(mm[0].addr, 0);
    assert_int_equal(mm[0].size, 0x9fc00);
    assert_int_equal(mm[0].type, 1);
    assert_int_equal(mm[1].addr, 0x9fc00);
    assert_int_equal(mm[1].size, 0x100000 - 0x9fc00);
    assert_int_equal(mm[1].type, 2);
    assert_int_equal(mm[2].addr, 0x100000);
    assert_int_equal(mm[2].size, RAM_SIZE - 0x100000);
    assert_int_equal(mm[2].type, 1);
    assert_int_equal(mm[2].reserved, 0);
}

static void test_pvh_elf64(void **state)
{
    (void)state;
    check_pvh(true, 4);
}

static void test_pvh_elf32_8_byte_entry(void **state)
{
    (void)state;
    check_pvh(false, 8);
}

static void test_pvh_no_modules(void **state)
{
    (void)state;
    make_pvh(true, 4);
    assert_int_equal(load(NULL, NULL, 0), 0);
    struct hvm_start_info si;
    memcpy(&si, ram + entry.ebx, sizeof si);
    assert_int_equal(si.nr_modules, 0);
    assert_int_equal(si.modlist_paddr, 0);
    assert_string_equal(ram_string(si.cmdline_paddr), "");
}

static void test_multiboot_elf(void **state)
{
    (void)state;
    struct image_blob mods[] = { { mod_a, sizeof mod_a, "initrd rw" } };
    memset(mod_a, 0x5a, sizeof mod_a);
    make_multiboot_elf(MULTIBOOT_HF_PAGE_ALIGN | MULTIBOOT_HF_MEMORY_INFO | MULTIBOOT_HF_VIDEO_MODE);

    assert_int_equal(load("root=/dev/ram0", mods, 1), 0);
    assert_int_equal(entry.protocol, BOOT_MULTIBOOT);
    assert_int_equal(entry.eip, SEG_PADDR + 0x20); /* high virtual entry translated */
    assert_int_equal(entry.eax, 0x2BADB002);
    assert_int_equal(entry.ebx, 0x1000);
    expect_segment_loaded(SEG_PADDR, file + SEG_OFFSET, SEG_FILESZ, SEG_MEMSZ);
    assert_memory_equal(ram + 0x203000, mod_a, sizeof mod_a);

    struct multiboot_info mi;
    memcpy(&mi, ram + entry.ebx, sizeof mi);
    assert_int_equal(mi.flags, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
    assert_int_equal(mi.mem_lower, 639);
    assert_int_equal(mi.mem_upper, (RAM_SIZE - 0x100000) / 1024);
    assert_string_equal(ram_string(mi.cmdline), "root=/dev/ram0");
    assert_string_equal(ram_string(mi.boot_loader_name), "Tessera");
    assert_int_equal(mi.mods_count, 1);

    struct multiboot_module m;
    memcpy(&m, ram + mi.mods_addr, sizeof m);
    assert_int_equal(m.mod_start, 0x203000);
    assert_int_equal(m.mod_end, 0x203000 + sizeof mod_a);
    assert_string_equal(ram_string(m.string), "initrd rw");
    assert_int_equal(m.reserved, 0);

    assert_int_equal(mi.mmap_length, 3 * 24);
    struct multiboot_mmap_entry mm[3];
    memcpy(mm, ram + mi.mmap_addr, sizeof mm);
    assert_int_equal(mm[0].size, 20);
    assert_int_equal(mm[0].addr, 0);
    assert_int_equal(mm[0].len, 0x9fc00);
    assert_int_equal(mm[0].type, 1);
    assert_int_equal(mm[1].size, 20);
    assert_int_equal(mm[1].addr, 0x9fc00);
    assert_int_equal(mm[1].type, 2);
    assert_int_equal(mm[2].addr, 0x100000);
    assert_int_equal(mm[2].len, RAM_SIZE - 0x100000);
    assert_int_equal(mm[2].type, 1);
}

static void test_multiboot_kludge(void **state)
{
    (void)state;
    struct image_blob mods[] = { { mod_b, sizeof mod_b, "m" } };
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x400, KLUDGE_LOAD + 0x2000, KLUDGE_LOAD + 0x80);
    assert_int_equal(load("", mods, 1), 0);
    assert_int_equal(entry.protocol, BOOT_MULTIBOOT);
    assert_int_equal(entry.eip, KLUDGE_LOAD + 0x80);
    assert_int_equal(entry.eax, 0x2BADB002);
    expect_segment_loaded(KLUDGE_LOAD, file, 0x400, 0x2000);
    assert_memory_equal(ram + KLUDGE_LOAD + 0x2000, mod_b, sizeof mod_b);

    /* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss. Header not at load start. */
    memset(ram, RAM_FILL, RAM_SIZE);
    make_kludge(KLUDGE_LOAD + 0x1040, 0, 0, KLUDGE_LOAD + 0x1100);
    w32(file + 0x50, KLUDGE_LOAD + 0x1000);
    w32(file + 0x48, (uint32_t)-(MULTIBOOT_HEADER_MAGIC + (MULTIBOOT_HF_PAGE_ALIGN | MULTIBOOT_HF_MEMORY_INFO | MULTIBOOT_HF_ADDRESS)));
    assert_int_equal(load("", NULL, 0), 0);
    expect_segment_loaded(KLUDGE_LOAD + 0x1000, file, 0x400, 0x400);
    assert_true(untouched(KLUDGE_LOAD + 0x1400, 0x1000));
    assert_true(untouched(KLUDGE_LOAD, 0x1000));
}

/* Every proper prefix of a valid image is refused cleanly (the last byte of each image is
 * needed), read through an exact-size copy so ASan sees any over-read. */
static void check_truncations(void)
{
    size_t full = file_size;
    uint8_t *copy = malloc(full);
    assert_non_null(copy);
    for (size_t len = 0; len < full; len++) {
        memcpy(copy, file, len);
        struct image_blob k = { .data = copy, .size = len, .args = "" };
        why[0] = 0;
        int r = guest_image_load(ram, RAM_SIZE, &k, "c", NULL, 0, &entry, why, sizeof why);
        if (r != -1 || why[0] == 0)
            fail_msg("prefix of %zu of %zu bytes: r=%d why=\"%s\"", len, full, r, why);
        assert_true(untouched(0x1000, 0x1000));
        assert_true(untouched(0x100000, 0x110000));
    }
    free(copy);
    struct image_blob whole = { .data = file, .size = full, .args = "" };
    assert_int_equal(guest_image_load(ram, RAM_SIZE, &whole, "c", NULL, 0, &entry, why, sizeof why), 0);
}

static void test_truncated_pvh64(void **state) { (void)state; make_pvh(true, 4); check_truncations(); }
static void test_truncated_pvh32(void **state) { (void)state; make_pvh(false, 8); check_truncations(); }
static void test_truncated_multiboot_elf(void **state)
{
    (void)state;
    make_multiboot_elf(MULTIBOOT_HF_MEMORY_INFO);
    check_truncations();
}
static void test_truncated_kludge(void **state)
{
    (void)state;
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x400, 0, KLUDGE_LOAD + 0x80);
    check_truncations();
}

static void test_segment_checks(void **state)
{
    (void)state;
    struct phdr_spec two[] = {
        { 1, SEG_OFFSET, SEG_PADDR, SEG_PADDR, 0x100, 0x1000, 0x1000 },
        { 1, SEG_OFFSET + 0x100, SEG_PADDR + 0xfff, SEG_PADDR + 0xfff, 0x100, 0x100, 0x1000 },
        { 4, NOTE_OFFSET, 0, 0, 0, 0, 4 },
    };
    uint32_t notes = put_note(NOTE_OFFSET, 4, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, SEG_PADDR);
    two[2].filesz = two[2].memsz = notes;
    file_size = SEG_OFFSET + SEG_FILESZ;

    put_elf(true, 0, two, 3);
    expect_refused("ELF program headers 0 and 1 overlap");
    two[1].paddr = SEG_PADDR + 0x1000; /* adjacent is fine */
    put_elf(true, 0, two, 3);
    assert_int_equal(load("", NULL, 0), 0);
    memset(ram, RAM_FILL, RAM_SIZE);

    struct phdr_spec one[] = {
        { 1, SEG_OFFSET, 0, 0xff000, 0x100, 0x1000, 0x1000 },
        { 4, NOTE_OFFSET, 0, 0, notes, notes, 4 },
    };
    put_note(NOTE_OFFSET, 4, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, 0xff000);
    put_elf(true, 0, one, 2);
    expect_refused("lies outside guest RAM [0x100000, 0x400000)");

    one[0].paddr = RAM_SIZE - 0x800; /* runs past the end of RAM */
    put_note(NOTE_OFFSET, 4, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, RAM_SIZE - 0x800);
    put_elf(true, 0, one, 2);
    expect_refused("lies outside guest RAM");
    one[0].paddr = RAM_SIZE; /* starts at the end */
    put_elf(true, 0, one, 2);
    expect_refused("lies outside guest RAM");

    one[0].paddr = SEG_PADDR;
    put_note(NOTE_OFFSET, 4, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, SEG_PADDR);
    one[0].filesz = 0x1001;
    file_size = 0x2100;
    put_elf(true, 0, one, 2);
    expect_refused("ELF program header 0: file size 0x1001 exceeds memory size 0x1000");

    one[0].filesz = 0x100;
    one[0].paddr = 0xfffffffffffff000ull;
    one[0].memsz = 0x2000;
    put_elf(true, 0, one, 2);
    expect_refused("ELF program header 0: 0xfffffffffffff000 + 0x2000 wraps around");
    one[0].paddr = 0xfffff000u;
    put_elf(false, 0, one, 2);
    expect_refused("wraps around");

    one[0].paddr = SEG_PADDR;
    one[0].memsz = 0x1000;
    one[0].offset = FILE_MAX - 0x80; /* data past the end of the file */
    put_elf(true, 0, one, 2);
    expect_refused("ELF program header 0 lies outside the file");
    one[0].offset = 0xffffffffffffff00ull;
    put_elf(true, 0, one, 2);
    expect_refused("ELF program header 0 lies outside the file");

    /* A pure-bss segment's p_offset means nothing and may be anything. */
    struct phdr_spec bss[] = {
        { 1, SEG_OFFSET, SEG_PADDR, SEG_PADDR, 0x100, 0x1000, 0x1000 },
        { 1, 0xffffffffffffff00ull, 0, SEG_PADDR + 0x1000, 0, 0x1000, 0x1000 },
        { 4, NOTE_OFFSET, 0, 0, notes, notes, 4 },
    };
    put_note(NOTE_OFFSET, 4, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, SEG_PADDR);
    fill_segment_data();
    put_elf(true, 0, bss, 3);
    assert_int_equal(load("", NULL, 0), 0);
    expect_segment_loaded(SEG_PADDR, file + SEG_OFFSET, 0x100, 0x2000);
    memset(ram, RAM_FILL, RAM_SIZE);

    /* The entry must be inside what is loaded. */
    one[0].offset = SEG_OFFSET;
    put_note(NOTE_OFFSET, 4, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, SEG_PADDR + 0x1000);
    put_elf(true, 0, one, 2);
    expect_refused("entry point 0x201000 is not inside a loaded segment");
}

static void test_header_checks(void **state)
{
    (void)state;
    make_pvh(true, 4);
    file[5] = 2;
    expect_refused("not little-endian");
    make_pvh(true, 4);
    file[4] = 3;
    expect_refused("ELF class 3");
    make_pvh(true, 4);
    w16(file + 18, 3);
    expect_refused("ELF machine 3 is not x86-64");
    make_pvh(true, 4);
    w16(file + 16, 3);
    expect_refused("not an executable");
    make_pvh(true, 4);
    w64(file + 32, file_size - 0x40); /* table runs past the end */
    expect_refused("ELF program headers lie outside the file");
    make_pvh(true, 4);
    w64(file + 32, 0xfffffffffffffff0ull);
    expect_refused("ELF program headers lie outside the file");
    make_pvh(true, 4);
    w16(file + 56, 0xfffe);
    expect_refused("ELF program headers lie outside the file");
    make_pvh(true, 4);
    w16(file + 56, 0);
    expect_refused("no program headers");
    make_pvh(true, 4);
    w16(file + 54, 32);
    expect_refused("program header size 32 is smaller than 56");
}

static void test_note_checks(void **state)
{
    (void)state;
    size_t xen_note = NOTE_OFFSET + 20; /* after the 20-byte GNU note */

    make_pvh(true, 4);
    w32(file + xen_note, 0xffffffffu); /* namesz */
    expect_refused("name size 4294967295 runs past the segment");
    make_pvh(true, 4);
    w32(file + xen_note, 0xfffffffdu);
    expect_refused("runs past the segment");
    make_pvh(true, 4);
    w32(file + xen_note + 4, 0xfffffffcu); /* descsz */
    expect_refused("descriptor size 4294967292 runs past the segment");
    make_pvh(true, 4);
    w32(file + xen_note + 4, 5);
    expect_refused("descriptor size 5 runs past the segment");

    /* Sizes that fit but are not a PVH entry value. */
    make_pvh(true, 4);
    put_note(xen_note, 4, "Xen", 2, XEN_ELFNOTE_PHYS32_ENTRY, 0);
    expect_refused("PVH entry note has 2 bytes (expected 4 or 8)");
    make_pvh(true, 8);
    w64(file + xen_note + 16, 0x100000000ull);
    expect_refused("PVH entry point 0x100000000 is above 4 GiB");

    /* A note with another name or type is not the entry: no PVH, and no Multiboot either. */
    make_pvh(true, 4);
    memcpy(file + xen_note + 12, "Xem", 4);
    expect_refused("no PVH note and no Multiboot header");
}

static void test_multiboot_checks(void **state)
{
    (void)state;
    make_multiboot_elf(MULTIBOOT_HF_MEMORY_INFO);
    w32(file + SEG_OFFSET + 8, 0x12345678);
    expect_refused("Multiboot header at offset 0x1000 has a bad checksum");

    make_multiboot_elf(MULTIBOOT_HF_MEMORY_INFO | (1u << 3));
    expect_refused("Multiboot header requires features Tessera lacks (flags 0xa)");
    make_multiboot_elf(1u << 15);
    expect_refused("flags 0x8000");

    /* Bits 17-31 are optional: ignored. */
    make_multiboot_elf(MULTIBOOT_HF_MEMORY_INFO | (1u << 20));
    assert_int_equal(load("", NULL, 0), 0);
    memset(ram, RAM_FILL, RAM_SIZE);

    /* The header must be within the first 8192 bytes and 4-byte aligned. */
    memset(file, 0, sizeof file);
    w32(file + 0x2000, MULTIBOOT_HEADER_MAGIC);
    w32(file + 0x2008, (uint32_t)-MULTIBOOT_HEADER_MAGIC);
    file_size = 0x2100;
    expect_refused("no PVH note and no Multiboot header");
    memset(file, 0, sizeof file);
    w32(file + 0x42, MULTIBOOT_HEADER_MAGIC);
    w32(file + 0x4a, (uint32_t)-MULTIBOOT_HEADER_MAGIC);
    file_size = 0x400;
    expect_refused("no PVH note and no Multiboot header");

    /* A header without address fields needs an ELF file to say where things go. */
    memset(file, 0, sizeof file);
    w32(file + 0x40, MULTIBOOT_HEADER_MAGIC);
    w32(file + 0x48, (uint32_t)-MULTIBOOT_HEADER_MAGIC);
    expect_refused("not ELF");

    make_kludge(KLUDGE_LOAD - 0x40, KLUDGE_LOAD + 0x400, 0, KLUDGE_LOAD + 0x80);
    expect_refused("load_addr 0x100000 is above header_addr 0xfffc0");
    make_kludge(KLUDGE_LOAD + 0x80, KLUDGE_LOAD + 0x400, 0, KLUDGE_LOAD + 0x80);
    expect_refused("lies before the start of the file");
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x401, 0, KLUDGE_LOAD + 0x80);
    expect_refused("load_end_addr 0x100401 lies beyond the end of the file");
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD - 1, 0, KLUDGE_LOAD + 0x80);
    expect_refused("is below load_addr");
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x400, KLUDGE_LOAD + 0x3ff, KLUDGE_LOAD + 0x80);
    expect_refused("bss_end_addr 0x1003ff is below the end of the loaded data");
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x400, 0, KLUDGE_LOAD + 0x400);
    expect_refused("entry point 0x100400 is not inside a loaded segment");
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x400, 0xffffffffu, KLUDGE_LOAD + 0x80);
    expect_refused("lies outside guest RAM");
    make_kludge(KLUDGE_LOAD + 0x40, KLUDGE_LOAD + 0x400, 0, KLUDGE_LOAD + 0x80);
    file_size = 0x58; /* address fields cut off */
    expect_refused("address fields run past the end of the file");
}

static void test_module_and_area_limits(void **state)
{
    (void)state;
    struct image_blob big = { mod_a, RAM_SIZE - 0x203000 + 1, "" };
    make_pvh(true, 4);
    assert_int_equal(load("", &big, 1), -1);
    assert_string_equal(why, "module 0 (2084865 bytes) does not fit in guest RAM after the kernel");
    assert_true(untouched(0x1000, 0x1000) && untouched(SEG_PADDR, SEG_MEMSZ));

    /* A module that ends exactly at the end of RAM is fine. */
    uint8_t *fill = malloc(RAM_SIZE - 0x203000);
    assert_non_null(fill);
    memset(fill, 0x77, RAM_SIZE - 0x203000);
    big = (struct image_blob){ fill, RAM_SIZE - 0x203000, "" };
    assert_int_equal(load("", &big, 1), 0);
    assert_memory_equal(ram + 0x203000, fill, RAM_SIZE - 0x203000);
    free(fill);
    memset(ram, RAM_FILL, RAM_SIZE);

    struct image_blob none[BOOTINFO_MAX_MODULES + 1];
    for (unsigned i = 0; i <= BOOTINFO_MAX_MODULES; i++)
        none[i] = (struct image_blob){ mod_b, 0, "" };
    assert_int_equal(load("", none, BOOTINFO_MAX_MODULES + 1), -1);
    assert_string_equal(why, "too many modules (9, at most 8)");

    char *huge = malloc(0x80000);
    assert_non_null(huge);
    memset(huge, 'x', 0x80000 - 1);
    huge[0x80000 - 1] = 0;
    int r = load(huge, NULL, 0);
    free(huge);
    assert_int_equal(r, -1);
    assert_string_equal(why, "command lines do not fit in the boot information area [0x1000, 0x80000)");
    assert_true(untouched(0x1000, 0x7f000) && untouched(SEG_PADDR, SEG_MEMSZ));

    assert_int_equal(load_sized(0x100000, file_size, "", NULL, 0), -1);
    assert_string_equal(why, "guest RAM (1048576 bytes) does not reach past 1 MiB");
    /* RAM just large enough for the kernel and nothing else. */
    assert_int_equal(load_sized(SEG_PADDR + SEG_MEMSZ, file_size, "", NULL, 0), 0);
    struct image_blob empty = { file, 0, "" };
    assert_int_equal(guest_image_load(ram, RAM_SIZE, &empty, "", NULL, 0, &entry, why, sizeof why), -1);
    assert_string_equal(why, "kernel file is empty");
}

static void make_bad_elf_class(void) { make_pvh(true, 4); file[4] = 3; }
static void make_bad_note_size(void) { make_pvh(true, 4); w32(file + NOTE_OFFSET + 20 + 4, 5); }
static void make_bad_pvh_entry(void)
{
    make_pvh(true, 4);
    put_note(NOTE_OFFSET + 20, 4, "Xen", 2, XEN_ELFNOTE_PHYS32_ENTRY, 0);
}
static void make_bad_multiboot_checksum(void)
{
    make_multiboot_elf(MULTIBOOT_HF_MEMORY_INFO);
    w32(file + SEG_OFFSET + 8, 0x12345678);
}
static void make_no_protocol(void) { make_pvh(true, 4); memcpy(file + NOTE_OFFSET + 20 + 12, "Xem", 4); }

/* The reason convention every loader shares (guest/image_fail.h): -1 back, the reason cut to
 * the caller's buffer and always terminated, nothing written without a buffer. */
static void test_failure_reason_convention(void **state)
{
    (void)state;
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(image_fail(why, sizeof why, "module %u of %s", 3u, "guest"), -1);
    assert_string_equal(why, "module 3 of guest");
    assert_int_equal(image_fail(small, sizeof small, "a reason longer than eight"), -1);
    assert_string_equal(small, "a reaso");
    memset(small, 'x', sizeof small);
    assert_int_equal(image_fail(small, 0, "nothing"), -1);
    assert_int_equal(small[0], 'x');
    assert_int_equal(image_fail(NULL, 64, "nothing"), -1);

    /* Each parser's refusals follow it: ELF header, ELF note, PVH entry, Multiboot, layout. */
    struct { void (*make)(void); const char *full; } cases[] = {
        { make_bad_elf_class, "ELF class 3 is neither 32- nor 64-bit" },
        { make_bad_note_size, "ELF note in program header 2: descriptor size 5 runs past the segment" },
        { make_bad_pvh_entry, "PVH entry note has 2 bytes (expected 4 or 8)" },
        { make_bad_multiboot_checksum, "Multiboot header at offset 0x1000 has a bad checksum" },
        { make_no_protocol, "no PVH note and no Multiboot header" },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image_blob k;
        cases[i].make();
        k = (struct image_blob){ .data = file, .size = file_size, .args = "" };
        assert_int_equal(load("", NULL, 0), -1);
        assert_string_equal(why, cases[i].full);
        memset(small, 'x', sizeof small);
        assert_int_equal(guest_image_load(ram, RAM_SIZE, &k, "", NULL, 0, &entry, small, sizeof small), -1);
        assert_int_equal(strlen(small), sizeof small - 1);
        assert_memory_equal(small, cases[i].full, sizeof small - 1);
        assert_int_equal(guest_image_load(ram, RAM_SIZE, &k, "", NULL, 0, &entry, NULL, 0), -1);
        assert_true(untouched(0, RAM_SIZE));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pvh_elf64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pvh_elf32_8_byte_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pvh_no_modules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiboot_elf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiboot_kludge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_pvh64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_pvh32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_multiboot_elf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_kludge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_note_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiboot_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_and_area_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_reason_convention, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
