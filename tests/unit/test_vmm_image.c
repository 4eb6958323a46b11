/* Host tests for the hypervisor image loader (boot/vmm_image.c): a well-formed static PIE is laid
 * out and relocated; malformed or unsupported images are refused with a reason, never loaded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm_image.h"

#define FILE_SIZE 0x1100
#define PHOFF     0x40
#define CODE_OFF  0x100
#define RELA_OFF  0x200
#define DATA_OFF  0x1000
#define DYN_OFF   0x1040
#define BASE      0x40000000ull

static uint8_t img[FILE_SIZE];

static void put16(size_t off, uint16_t v) { memcpy(img + off, &v, 2); }
static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(img + off, &v, 8); }

static void set_phdr(unsigned i, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
                     uint64_t filesz, uint64_t memsz, uint64_t align)
{
    size_t p = PHOFF + i * 56;
    put32(p, type);
    put32(p + 4, flags);
    put64(p + 8, off);
    put64(p + 16, vaddr);
    put64(p + 24, vaddr);
    put64(p + 32, filesz);
    put64(p + 40, memsz);
    put64(p + 48, align);
}

static void set_rela(unsigned i, uint64_t offset, uint64_t info, int64_t addend)
{
    put64(RELA_OFF + i * 24, offset);
    put64(RELA_OFF + i * 24 + 8, info);
    put64(RELA_OFF + i * 24 + 16, (uint64_t)addend);
}

static void set_dyn(unsigned i, int64_t tag, uint64_t val)
{
    put64(DYN_OFF + i * 16, (uint64_t)tag);
    put64(DYN_OFF + i * 16 + 8, val);
}

/* A small valid image: text (R+X) at 0 holding the code and the RELA table, data (R+W) at 0x1000
 * with 0x100 file bytes and 0x1f00 of bss, the dynamic section inside data. Span 0x3000. */
static void build_good_image(void)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "\x7f" "ELF", 4);
    img[4] = 2; /* 64-bit */
    img[5] = 1; /* little-endian */
    img[6] = 1; /* version */
    put16(16, 3);          /* ET_DYN */
    put16(18, 62);         /* EM_X86_64 */
    put32(20, 1);
    put64(24, CODE_OFF);   /* entry */
    put64(32, PHOFF);
    put16(52, 64);
    put16(54, 56);
    put16(56, 3);
    set_phdr(0, 1, 5, 0, 0, 0x300, 0x300, 0x1000);
    set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0x100, 0x2000, 0x1000);
    set_phdr(2, 2, 6, DYN_OFF, DYN_OFF, 0x40, 0x40, 8);
    memset(img + CODE_OFF, 0xC3, 16);
    set_rela(0, 0x1000, 8, 0x1234);
    set_rela(1, 0x1008, 8, 0x100);
    set_dyn(0, 7, RELA_OFF);
    set_dyn(1, 8, 48);
    set_dyn(2, 9, 24);
    set_dyn(3, 0, 0);
    memset(img + 0x1010, 0x5A, 0x30);  /* initialised data that must be copied */
}

static uint8_t *dest_filled(size_t size)
{
    uint8_t *d = malloc(size);
    assert_non_null(d);
    memset(d, 0xAA, size);
    return d;
}

static void expect_load_refused(const char *reason_part)
{
    const char *why = NULL;
    uint8_t *dest = dest_filled(0x10000);
    assert_int_equal(vmm_image_load(img, sizeof(img), dest, 0x10000, BASE, &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, reason_part));
    free(dest);
}

static void expect_inspect_refused(const char *reason_part)
{
    const char *why = NULL;
    struct vmm_image_info info = { 77, 77 };
    assert_int_equal(vmm_image_inspect(img, sizeof(img), &info, &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, reason_part));
    assert_int_equal(info.span, 77); /* untouched on failure */
    expect_load_refused(reason_part);
}

static void test_good_image_is_laid_out_and_relocated(void **state)
{
    (void)state;
    build_good_image();
    struct vmm_image_info info;
    const char *why = NULL;
    assert_int_equal(vmm_image_inspect(img, sizeof(img), &info, &why), 0);
    assert_int_equal(info.span, 0x3000);
    assert_int_equal(info.entry, CODE_OFF);

    uint8_t *dest = dest_filled(0x3000);
    assert_int_equal(vmm_image_load(img, sizeof(img), dest, 0x3000, BASE, &why), 0);
    uint64_t v;
    memcpy(&v, dest + 0x1000, 8);
    assert_int_equal(v, BASE + 0x1234);
    memcpy(&v, dest + 0x1008, 8);
    assert_int_equal(v, BASE + 0x100);
    assert_memory_equal(dest + CODE_OFF, img + CODE_OFF, 16);
    assert_memory_equal(dest + 0x1010, img + 0x1010, 0x30);
    for (size_t i = 0x300; i < 0x1000; i++) /* gap between segments */
        assert_int_equal(dest[i], 0);
    for (size_t i = 0x1100; i < 0x3000; i++) /* bss */
        assert_int_equal(dest[i], 0);
    free(dest);
}

static void test_image_without_dynamic_needs_no_relocation(void **state)
{
    (void)state;
    build_good_image();
    set_phdr(2, 4 /* PT_NOTE */, 0, 0, 0, 0, 0, 0);
    uint8_t *dest = dest_filled(0x3000);
    const char *why = NULL;
    assert_int_equal(vmm_image_load(img, sizeof(img), dest, 0x3000, BASE, &why), 0);
    uint64_t v;
    memcpy(&v, dest + 0x1000, 8);
    assert_int_equal(v, 0);
    free(dest);
}

static void test_bad_headers_are_refused(void **state)
{
    (void)state;
    const char *why = NULL;
    struct vmm_image_info info;
    assert_int_equal(vmm_image_inspect(NULL, 0, &info, &why), -1);
    build_good_image();
    assert_int_equal(vmm_image_inspect(img, 63, &info, &why), -1);
    assert_non_null(strstr(why, "too small"));

    build_good_image(); img[1] = 'X';       expect_inspect_refused("magic");
    build_good_image(); img[4] = 1;         expect_inspect_refused("64-bit");
    build_good_image(); img[5] = 2;         expect_inspect_refused("little-endian");
    build_good_image(); put32(20, 2);       expect_inspect_refused("version");
    build_good_image(); put16(18, 3);       expect_inspect_refused("x86-64");
    build_good_image(); put16(16, 2);       expect_inspect_refused("ET_EXEC");
    build_good_image(); put16(16, 1);       expect_inspect_refused("not an executable");
    build_good_image(); put16(54, 32);      expect_inspect_refused("program header size");
    build_good_image(); put16(56, 0);       expect_inspect_refused("number of program headers");
    build_good_image(); put16(56, 65);      expect_inspect_refused("number of program headers");
    build_good_image(); put64(32, FILE_SIZE - 100); expect_inspect_refused("program headers lie outside");
    build_good_image(); put64(32, UINT64_MAX - 10); expect_inspect_refused("program headers lie outside");
}

static void test_bad_segments_are_refused(void **state)
{
    (void)state;
    build_good_image(); set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0x3000, 0x2000, 0x1000);
    expect_inspect_refused("more file bytes");
    build_good_image(); set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0x200, 0x2000, 0x1000);
    expect_inspect_refused("outside the file");
    build_good_image(); set_phdr(1, 1, 6, UINT64_MAX - 8, 0x1000, 0x100, 0x2000, 0x1000);
    expect_inspect_refused("outside the file");
    build_good_image(); set_phdr(1, 1, 6, DATA_OFF, UINT64_MAX - 0xfff, 0x100, 0x2000, 0x1000);
    expect_inspect_refused("beyond 1 GiB");
    build_good_image(); set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0x100, 1ull << 31, 0x1000);
    expect_inspect_refused("beyond 1 GiB");
    build_good_image(); set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0x100, 0x2000, 0x3000);
    expect_inspect_refused("alignment");
    build_good_image(); set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0x100, 0x2000, 4ull << 20);
    expect_inspect_refused("alignment");
    build_good_image(); set_phdr(2, 3, 4, DYN_OFF, 0, 0x10, 0x10, 1);
    expect_inspect_refused("PT_INTERP");
    build_good_image(); set_phdr(2, 2, 6, FILE_SIZE - 8, DYN_OFF, 0x40, 0x40, 8);
    expect_inspect_refused("PT_DYNAMIC lies outside");
    build_good_image(); set_phdr(0, 6, 4, PHOFF, PHOFF, 0, 0, 8); set_phdr(1, 2, 6, DYN_OFF, DYN_OFF, 0x40, 0x40, 8);
    expect_inspect_refused("more than one PT_DYNAMIC");
    build_good_image(); set_phdr(0, 4, 4, 0, 0, 0, 0, 0); set_phdr(1, 1, 6, DATA_OFF, 0x1000, 0, 0, 0x1000);
    expect_inspect_refused("no loadable segment");
}

static void test_bad_entry_is_refused(void **state)
{
    (void)state;
    build_good_image(); put64(24, 0x1800);  /* inside data, not executable */
    expect_inspect_refused("entry point");
    build_good_image(); put64(24, 0x300);   /* one past the end of text */
    expect_inspect_refused("entry point");
    build_good_image(); put64(24, UINT64_MAX);
    expect_inspect_refused("entry point");
}

static void test_bad_relocations_are_refused(void **state)
{
    (void)state;
    build_good_image(); set_rela(1, 0x1008, 1 /* R_X86_64_64 */, 0);
    expect_load_refused("R_X86_64_RELATIVE");
    build_good_image(); set_rela(1, 0x1008, (5ull << 32) | 8, 0);  /* RELATIVE naming a symbol */
    expect_load_refused("R_X86_64_RELATIVE");
    build_good_image(); set_rela(1, 0x2ff9, 8, 0);   /* straddles the end of the image */
    expect_load_refused("target lies outside");
    build_good_image(); set_rela(1, UINT64_MAX - 3, 8, 0);
    expect_load_refused("target lies outside");
    build_good_image(); set_dyn(2, 9, 16);
    expect_load_refused("DT_RELAENT");
    build_good_image(); set_dyn(1, 8, 40);
    expect_load_refused("multiple");
    build_good_image(); set_dyn(0, 7, 0x2ff0);
    expect_load_refused("relocation table lies outside");
    build_good_image(); set_dyn(0, 7, UINT64_MAX - 8);
    expect_load_refused("relocation table lies outside");
    build_good_image(); set_dyn(0, 0x6ffffff9 /* DT_RELACOUNT, ignored */, 2);
    expect_load_refused("DT_RELASZ without DT_RELA");
    build_good_image(); set_dyn(3, 17, 0x200);
    expect_load_refused("REL relocations");
    build_good_image(); set_dyn(3, 23, 0x200); set_dyn(4, 2, 24);
    expect_load_refused("PLT");
}

static void test_none_relocations_are_skipped(void **state)
{
    (void)state;
    build_good_image();
    set_rela(1, UINT64_MAX, 0 /* R_X86_64_NONE */, 0);
    uint8_t *dest = dest_filled(0x3000);
    const char *why = NULL;
    assert_int_equal(vmm_image_load(img, sizeof(img), dest, 0x3000, BASE, &why), 0);
    uint64_t v;
    memcpy(&v, dest + 0x1000, 8);
    assert_int_equal(v, BASE + 0x1234);
    free(dest);
}

static void test_small_destination_is_refused(void **state)
{
    (void)state;
    build_good_image();
    const char *why = NULL;
    uint8_t *dest = dest_filled(0x3000);
    assert_int_equal(vmm_image_load(img, sizeof(img), dest, 0x2fff, BASE, &why), -1);
    assert_non_null(strstr(why, "smaller"));
    assert_int_equal(dest[0], 0xAA); /* nothing written */
    assert_int_equal(vmm_image_load(img, sizeof(img), NULL, 0x3000, BASE, &why), -1);
    free(dest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_image_is_laid_out_and_relocated),
        cmocka_unit_test(test_image_without_dynamic_needs_no_relocation),
        cmocka_unit_test(test_bad_headers_are_refused),
        cmocka_unit_test(test_bad_segments_are_refused),
        cmocka_unit_test(test_bad_entry_is_refused),
        cmocka_unit_test(test_bad_relocations_are_refused),
        cmocka_unit_test(test_none_relocations_are_skipped),
        cmocka_unit_test(test_small_destination_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
