/* ACPI table walking against synthetic tables: each table lives in its own exactly-sized heap
 * buffer at a fake physical address, so any read past a table is an ASan error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "hw/acpi.h"

/* ---- fake physical memory ---------------------------------------------------------------- */

#define MAX_REGIONS 16

struct region {
    uint64_t phys;
    uint8_t *buf;
    uint64_t size;
};

static struct region regions[MAX_REGIONS];
static unsigned region_count;

static const void *fake_phys_to_virt(uint64_t phys, uint64_t len)
{
    for (unsigned i = 0; i < region_count; i++) {
        const struct region *r = &regions[i];
        if (phys >= r->phys && phys - r->phys < r->size && len <= r->size - (phys - r->phys))
            return r->buf + (phys - r->phys);
    }
    return NULL;
}

static uint8_t *place(uint64_t phys, uint64_t size)
{
    assert_true(region_count < MAX_REGIONS);
    uint8_t *buf = calloc(1, size);
    assert_non_null(buf);
    regions[region_count++] = (struct region){ phys, buf, size };
    return buf;
}

static int reset_memory(void **state)
{
    (void)state;
    for (unsigned i = 0; i < region_count; i++)
        free(regions[i].buf);
    region_count = 0;
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void fix_checksum(uint8_t *p, uint32_t len, uint32_t checksum_off)
{
    uint8_t sum = 0;
    p[checksum_off] = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    p[checksum_off] = (uint8_t)-sum;
}

/* ---- table builders ------------------------------------------------------------------------- */

#define RSDP_ADDR   0xE0000ull
#define RSDT_ADDR   0x10000ull
#define XSDT_ADDR   0x100000000ull
#define FADT_ADDR   0x12000ull
#define FADT2_ADDR  0x12800ull
#define DSDT_ADDR   0x13000ull
#define XDSDT_ADDR  0x200000000ull
#define MADT_ADDR   0x14000ull

/* A table with a header (signature, length, checksum) and body copied in; buffer = whole table. */
static uint8_t *place_table(uint64_t phys, const char *sig, const void *body, uint32_t body_len)
{
    uint32_t len = 36 + body_len;
    uint8_t *t = place(phys, len);
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = 2;
    memcpy(t + 10, "TESSER", 6);
    if (body_len)
        memcpy(t + 36, body, body_len);
    fix_checksum(t, len, 9);
    return t;
}

static uint8_t *place_rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
    uint8_t *r = place(RSDP_ADDR, 36);
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "TESSER", 6);
    r[15] = revision;
    put32(r + 16, rsdt);
    put32(r + 20, 36);
    put64(r + 24, xsdt);
    fix_checksum(r, 20, 8);
    fix_checksum(r, 36, 32);
    return r;
}

static uint8_t *place_rsdt(const uint32_t *entries, unsigned n)
{
    uint8_t body[64];
    for (unsigned i = 0; i < n; i++)
        put32(body + 4 * i, entries[i]);
    return place_table(RSDT_ADDR, "RSDT", body, 4 * n);
}

static uint8_t *place_xsdt(const uint64_t *entries, unsigned n)
{
    uint8_t body[128];
    for (unsigned i = 0; i < n; i++)
        put64(body + 8 * i, entries[i]);
    return place_table(XSDT_ADDR, "XSDT", body, 8 * n);
}

struct fadt_spec {
    uint32_t len;           /* whole table: 116 (ACPI 1.0), 244 (ACPI 2.0+) */
    uint32_t dsdt;
    uint64_t x_dsdt;
    uint32_t pm1a, pm1b;
    uint8_t x_pm1a_space;
    uint64_t x_pm1a, x_pm1b;
};

static uint8_t *place_fadt(uint64_t phys, const struct fadt_spec *f)
{
    uint8_t t[512] = { 0 };   /* offsets below are table offsets; the header is place_table's */
    put32(t + 40, f->dsdt);
    put32(t + 64, f->pm1a);
    put32(t + 68, f->pm1b);
    if (f->len >= 148)
        put64(t + 140, f->x_dsdt);
    if (f->len >= 184) {
        t[172] = f->x_pm1a_space;
        t[173] = 16;
        put64(t + 176, f->x_pm1a);
    }
    if (f->len >= 196) {
        t[184] = 1;
        t[185] = 16;
        put64(t + 188, f->x_pm1b);
    }
    return place_table(phys, "FACP", t + 36, f->len - 36);
}

static uint8_t *place_dsdt(uint64_t phys, const uint8_t *aml, uint32_t len)
{
    return place_table(phys, "DSDT", aml, len);
}

/* Some unrelated AML, then Name(_S5_, Package(0x04) { 0x05, 0x07, Zero, Zero }) as iasl
 * writes it. */
static const uint8_t S5_BYTES[] = { 0x14, 0x06, 'P', 'T', 'S', '_', 0x01, 0xA3,
                                    0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                                    0x0A, 0x05, 0x0A, 0x07, 0x00, 0x00 };

/* RSDP rev 0 -> RSDT -> FADT (ACPI 1.0 size) -> DSDT. */
static void build_rev0_chain(const uint8_t *aml, uint32_t aml_len)
{
    place_rsdp(0, RSDT_ADDR, 0);
    uint32_t entries[] = { FADT_ADDR };
    place_rsdt(entries, 1);
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0xB004 });
    place_dsdt(DSDT_ADDR, aml, aml_len);
}

static bool poweroff(struct acpi_poweroff *p)
{
    memset(p, 0xA5, sizeof(*p));
    return acpi_find_poweroff(RSDP_ADDR, fake_phys_to_virt, p);
}

static void assert_no_poweroff(void)
{
    struct acpi_poweroff p;
    assert_false(poweroff(&p));
    assert_false(p.valid);
    assert_int_equal(p.pm1a_cnt, 0);
}

/* ---- chains ----------------------------------------------------------------------------------- */

static void test_rsdt_only_rev0(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
    assert_true(p.valid);
    assert_int_equal(p.pm1a_cnt, 0xB004);
    assert_int_equal(p.pm1b_cnt, 0);
    assert_int_equal(p.slp_typa, 5);
    assert_int_equal(p.slp_typb, 7);
}

/* XSDT above 4 GiB, wins over a valid RSDT naming another FADT; X_ fields win over 32-bit ones. */
static void build_rev2_chain(void)
{
    place_rsdp(2, RSDT_ADDR, XSDT_ADDR);
    uint64_t xentries[] = { MADT_ADDR, FADT_ADDR };
    place_xsdt(xentries, 2);
    uint32_t entries[] = { FADT2_ADDR };
    place_rsdt(entries, 1);
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 244, .dsdt = DSDT_ADDR, .x_dsdt = XDSDT_ADDR,
                                               .pm1a = 0x1111, .pm1b = 0x2222, .x_pm1a_space = 1,
                                               .x_pm1a = 0x604, .x_pm1b = 0x608 });
    place_fadt(FADT2_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0x3333 });
    static const uint8_t legacy[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x01 };
    static const uint8_t modern[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x03, 0x00 };
    place_dsdt(DSDT_ADDR, legacy, sizeof(legacy));
    place_dsdt(XDSDT_ADDR, modern, sizeof(modern));
    uint8_t madt_body[8] = { 0 };
    place_table(MADT_ADDR, "APIC", madt_body, sizeof(madt_body));
}

static void test_xsdt_rev2_prefers_64bit_fields(void **state)
{
    build_rev2_chain();
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
    assert_int_equal(p.pm1a_cnt, 0x604);
    assert_int_equal(p.pm1b_cnt, 0x608);
    assert_int_equal(p.slp_typa, 3);
    assert_int_equal(p.slp_typb, 0);
}

static struct region *region_at(uint64_t phys)
{
    for (unsigned i = 0; i < region_count; i++)
        if (regions[i].phys == phys)
            return &regions[i];
    fail_msg("no region at %llx", (unsigned long long)phys);
    return NULL;
}

static void test_x_pm1a_in_memory_space_uses_legacy_port(void **state)
{
    build_rev2_chain();
    uint8_t *fadt = region_at(FADT_ADDR)->buf;
    fadt[172] = 0;   /* system memory */
    fix_checksum(fadt, 244, 9);
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
    assert_int_equal(p.pm1a_cnt, 0x1111);
    assert_int_equal(p.pm1b_cnt, 0x608);
}

static void test_x_dsdt_invalid_falls_back_to_dsdt(void **state)
{
    build_rev2_chain();
    region_at(XDSDT_ADDR)->buf[20] ^= 1;   /* checksum now wrong */
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
    assert_int_equal(p.slp_typa, 1);
    assert_int_equal(p.slp_typb, 1);
}

static void test_bad_xsdt_falls_back_to_rsdt(void **state)
{
    build_rev2_chain();
    region_at(XSDT_ADDR)->buf[9] ^= 0xFF;
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
    assert_int_equal(p.pm1a_cnt, 0x3333);   /* the RSDT's FADT */
}

static void test_bad_xsdt_and_no_rsdt(void **state)
{
    place_rsdp(2, 0, XSDT_ADDR);
    uint64_t xentries[] = { FADT_ADDR };
    place_xsdt(xentries, 1)[9] ^= 0xFF;
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0xB004 });
    place_dsdt(DSDT_ADDR, S5_BYTES, sizeof(S5_BYTES));
    assert_no_poweroff();
}

/* ---- RSDP and table validation ------------------------------------------------------------------ */

static void test_rsdp_bad_checksum(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    region_at(RSDP_ADDR)->buf[8] ^= 1;
    assert_no_poweroff();
}

static void test_rsdp_bad_signature(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    uint8_t *r = region_at(RSDP_ADDR)->buf;
    r[0] = 'X';
    fix_checksum(r, 20, 8);
    assert_no_poweroff();
}

static void test_rsdp_bad_extended_checksum(void **state)
{
    build_rev2_chain();
    region_at(RSDP_ADDR)->buf[32] ^= 1;
    assert_no_poweroff();
    uint32_t ids[4];
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 4), 0);
}

static void test_rsdp_extended_length_past_mapping(void **state)
{
    build_rev2_chain();
    uint8_t *r = region_at(RSDP_ADDR)->buf;
    put32(r + 20, 64);   /* only 36 bytes mapped */
    fix_checksum(r, 20, 8);
    assert_no_poweroff();
}

static void test_rsdp_unmapped_or_null(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    struct acpi_poweroff p;
    assert_false(acpi_find_poweroff(0, fake_phys_to_virt, &p));
    assert_false(acpi_find_poweroff(0xDEAD0000, fake_phys_to_virt, &p));
    assert_false(p.valid);
    uint32_t ids[4];
    assert_int_equal(acpi_list_cpus(0xDEAD0000, fake_phys_to_virt, ids, 4), 0);
}

static void test_rsdp_at_end_of_mapping(void **state)
{
    /* A rev 0 RSDP is only 20 bytes: it must be readable when nothing follows it. */
    uint8_t *r = place(RSDP_ADDR, 20);
    memcpy(r, "RSD PTR ", 8);
    put32(r + 16, RSDT_ADDR);
    fix_checksum(r, 20, 8);
    uint32_t entries[] = { FADT_ADDR };
    place_rsdt(entries, 1);
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0x404 });
    place_dsdt(DSDT_ADDR, S5_BYTES, sizeof(S5_BYTES));
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
    assert_int_equal(p.pm1a_cnt, 0x404);
}

static void test_fadt_bad_checksum(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    region_at(FADT_ADDR)->buf[50] ^= 0x10;
    assert_no_poweroff();
}

static void test_dsdt_bad_checksum(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    region_at(DSDT_ADDR)->buf[40] ^= 0x10;
    assert_no_poweroff();
}

static void test_dsdt_wrong_signature(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    uint8_t *d = region_at(DSDT_ADDR)->buf;
    memcpy(d, "SSDT", 4);
    fix_checksum(d, 36 + sizeof(S5_BYTES), 9);
    assert_no_poweroff();
}

static void test_fadt_too_short_for_pm1_cnt(void **state)
{
    place_rsdp(0, RSDT_ADDR, 0);
    uint32_t entries[] = { FADT_ADDR };
    place_rsdt(entries, 1);
    uint8_t body[32] = { 0 };   /* 68 bytes: DSDT present, PM1b_CNT cut off */
    put32(body + 4, DSDT_ADDR);
    put32(body + 28, 0xB004);
    place_table(FADT_ADDR, "FACP", body, sizeof(body));
    place_dsdt(DSDT_ADDR, S5_BYTES, sizeof(S5_BYTES));
    assert_no_poweroff();
}

static void test_fadt_without_pm1a(void **state)
{
    place_rsdp(0, RSDT_ADDR, 0);
    uint32_t entries[] = { FADT_ADDR };
    place_rsdt(entries, 1);
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0 });
    place_dsdt(DSDT_ADDR, S5_BYTES, sizeof(S5_BYTES));
    assert_no_poweroff();
}

static void test_table_length_below_header(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    uint8_t *d = region_at(DSDT_ADDR)->buf;
    put32(d + 4, 35);
    fix_checksum(d, 35, 9);
    assert_no_poweroff();
}

static void test_table_length_past_mapping(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    uint8_t *d = region_at(DSDT_ADDR)->buf;
    put32(d + 4, 36 + sizeof(S5_BYTES) + 100);
    assert_no_poweroff();
}

static void test_table_longer_than_one_mib_rejected(void **state)
{
    /* Fully mapped and checksummed, but its length is not believable. */
    place_rsdp(0, RSDT_ADDR, 0);
    uint32_t entries[] = { FADT_ADDR };
    place_rsdt(entries, 1);
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0xB004 });
    uint32_t len = (1u << 20) + 64;
    uint8_t *d = place(DSDT_ADDR, len);
    memcpy(d, "DSDT", 4);
    put32(d + 4, len);
    memcpy(d + 36, S5_BYTES, sizeof(S5_BYTES));
    fix_checksum(d, len, 9);
    assert_no_poweroff();

    /* The same table at exactly 1 MiB is accepted. */
    put32(d + 4, 1u << 20);
    fix_checksum(d, 1u << 20, 9);
    struct acpi_poweroff p;
    assert_true(poweroff(&p));
}

static void test_root_table_entry_past_mapping(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    uint8_t *r = region_at(RSDT_ADDR)->buf;
    put32(r + 4, 36 + 8);   /* claims two entries, only one mapped */
    assert_no_poweroff();
}

/* ---- \_S5_ encodings ------------------------------------------------------------------------- */

static bool s5_from(const uint8_t *aml, uint32_t len, uint16_t *a, uint16_t *b)
{
    build_rev0_chain(aml, len);
    struct acpi_poweroff p;
    bool ok = poweroff(&p);
    *a = p.slp_typa;
    *b = p.slp_typb;
    reset_memory(NULL);
    return ok;
}

static void test_s5_encodings(void **state)
{
    uint16_t a, b;
    static const uint8_t zero_one[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x01 };
    assert_true(s5_from(zero_one, sizeof(zero_one), &a, &b));
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);

    static const uint8_t rooted[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0A, 0x06, 0x0A, 0x02 };
    assert_true(s5_from(rooted, sizeof(rooted), &a, &b));
    assert_int_equal(a, 6);
    assert_int_equal(b, 2);

    static const uint8_t words[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x02, 0x0B, 0x04, 0x00,
                                     0x0C, 0x03, 0x00, 0x00, 0x00 };
    assert_true(s5_from(words, sizeof(words), &a, &b));
    assert_int_equal(a, 4);
    assert_int_equal(b, 3);

    /* Two-byte PkgLength: lead 0x40 | low nibble, next byte the rest (value 0x10 here). */
    uint8_t twobyte[5 + 1 + 16] = { 0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x04,
                                    0x0A, 0x07, 0x0A, 0x05, 0x00, 0x00 };
    assert_true(s5_from(twobyte, sizeof(twobyte), &a, &b));
    assert_int_equal(a, 7);
    assert_int_equal(b, 5);

    /* One packed integer: SLP_TYPa in the low byte, SLP_TYPb in the next. */
    static const uint8_t packed[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0B, 0x05, 0x03 };
    assert_true(s5_from(packed, sizeof(packed), &a, &b));
    assert_int_equal(a, 5);
    assert_int_equal(b, 3);
}

static void test_s5_reference_before_definition(void **state)
{
    /* A method mentioning \_S5_ first (no NameOp), then the real definition. */
    static const uint8_t aml[] = { 0x70, '\\', '_', 'S', '5', '_', 0x60,
                                   0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x00 };
    uint16_t a, b;
    assert_true(s5_from(aml, sizeof(aml), &a, &b));
    assert_int_equal(a, 1);
    assert_int_equal(b, 0);
}

static void test_s5_rejected(void **state)
{
    uint16_t a, b;
    static const uint8_t missing[] = { 0x08, '_', 'S', '4', '_', 0x12, 0x04, 0x02, 0x00, 0x00 };
    assert_false(s5_from(missing, sizeof(missing), &a, &b));

    static const uint8_t no_nameop[] = { 0x70, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x00 };
    assert_false(s5_from(no_nameop, sizeof(no_nameop), &a, &b));

    static const uint8_t not_package[] = { 0x08, '_', 'S', '5', '_', 0x0A, 0x05 };
    assert_false(s5_from(not_package, sizeof(not_package), &a, &b));

    static const uint8_t name_at_end[] = { 0x00, 0x08, '_', 'S', '5', '_' };
    assert_false(s5_from(name_at_end, sizeof(name_at_end), &a, &b));

    static const uint8_t pkg_past_table[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x20, 0x02, 0x00, 0x00 };
    assert_false(s5_from(pkg_past_table, sizeof(pkg_past_table), &a, &b));

    /* PkgLength says the package ends after the first element. */
    static const uint8_t second_outside[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x00, 0x00 };
    assert_false(s5_from(second_outside, sizeof(second_outside), &a, &b));

    static const uint8_t byte_cut[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x05, 0x0A };
    assert_false(s5_from(byte_cut, sizeof(byte_cut), &a, &b));

    static const uint8_t pkglen_cut[] = { 0x08, '_', 'S', '5', '_', 0x12, 0xC0, 0x01 };
    assert_false(s5_from(pkglen_cut, sizeof(pkglen_cut), &a, &b));

    /* Two-byte PkgLength with bits 5:4 set: would read as 5, which fits, but is malformed. */
    static const uint8_t pkglen_reserved_bits[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x75, 0x00, 0x02,
                                                    0x00, 0x00 };
    assert_false(s5_from(pkglen_reserved_bits, sizeof(pkglen_reserved_bits), &a, &b));

    static const uint8_t no_elements[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x00, 0x01, 0x01 };
    assert_false(s5_from(no_elements, sizeof(no_elements), &a, &b));

    static const uint8_t too_big[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x08, 0x00 };
    assert_false(s5_from(too_big, sizeof(too_big), &a, &b));

    static const uint8_t ones[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0xFF };
    assert_false(s5_from(ones, sizeof(ones), &a, &b));

    static const uint8_t name_ref[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 'A', 'B', 'C', 'D', 0x00 };
    assert_false(s5_from(name_ref, sizeof(name_ref), &a, &b));
}

static void test_s5_nameop_must_be_in_body(void **state)
{
    /* The byte before the name is the header's last byte (0x08 here), not AML. */
    build_rev0_chain((const uint8_t[]){ '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0x00 }, 9);
    uint8_t *d = region_at(DSDT_ADDR)->buf;
    d[35] = 0x08;
    fix_checksum(d, 36 + 9, 9);
    assert_no_poweroff();
}

/* ---- MADT ------------------------------------------------------------------------------------ */

static uint32_t madt_len;
static uint8_t madt_body[256];

static void madt_add(const uint8_t *entry, uint8_t len)
{
    memcpy(madt_body + madt_len, entry, len);
    madt_len += len;
}

static void madt_lapic(uint8_t apic_id, uint32_t flags)
{
    uint8_t e[8] = { 0, 8, apic_id, apic_id };
    put32(e + 4, flags);
    madt_add(e, sizeof(e));
}

static void madt_x2apic(uint32_t id, uint32_t flags)
{
    uint8_t e[16] = { 9, 16 };
    put32(e + 4, id);
    put32(e + 8, flags);
    madt_add(e, sizeof(e));
}

static void madt_ioapic(uint32_t addr)
{
    uint8_t e[12] = { 1, 12, 0 };
    put32(e + 4, addr);
    madt_add(e, sizeof(e));
}

static void madt_start(void)
{
    memset(madt_body, 0, sizeof(madt_body));
    put32(madt_body, 0xFEE00000);   /* local APIC address */
    put32(madt_body + 4, 1);        /* PCAT_COMPAT */
    madt_len = 8;
}

/* RSDP rev 2 -> XSDT -> MADT built from madt_body. */
static void madt_place(void)
{
    place_rsdp(2, 0, XSDT_ADDR);
    uint64_t entries[] = { FADT_ADDR, MADT_ADDR };
    place_xsdt(entries, 2);
    place_fadt(FADT_ADDR, &(struct fadt_spec){ .len = 116, .dsdt = DSDT_ADDR, .pm1a = 0xB004 });
    place_table(MADT_ADDR, "APIC", madt_body, madt_len);
}

static void test_madt_cpus(void **state)
{
    madt_start();
    madt_lapic(0, 1);
    madt_lapic(1, 0);            /* disabled */
    madt_lapic(2, 2);            /* online-capable */
    madt_ioapic(0xFEC00000);
    madt_lapic(0xFF, 1);         /* broadcast id: not a CPU */
    madt_x2apic(0x100, 1);
    madt_x2apic(0x101, 0);       /* disabled */
    madt_x2apic(0, 1);           /* same CPU as the first entry */
    madt_x2apic(0xFFFFFFFF, 1);
    madt_place();

    uint32_t ids[8];
    memset(ids, 0xEE, sizeof(ids));
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 8), 3);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 0x100);
    assert_int_equal(ids[3], 0xEEEEEEEE);

    memset(ids, 0xEE, sizeof(ids));
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 2), 2);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 0xEEEEEEEE);
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 0), 0);
}

static void test_madt_malformed_entries(void **state)
{
    madt_start();
    madt_lapic(0, 1);
    uint8_t short_lapic[6] = { 0, 6, 5, 5, 1, 0 };   /* too short to hold flags: skipped */
    madt_add(short_lapic, sizeof(short_lapic));
    madt_lapic(3, 1);
    uint8_t zero_len[2] = { 0, 0 };                   /* cannot advance: walk stops */
    madt_add(zero_len, sizeof(zero_len));
    madt_lapic(4, 1);
    madt_place();
    uint32_t ids[8];
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 8), 2);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[1], 3);
}

static void test_madt_entry_past_end(void **state)
{
    madt_start();
    madt_lapic(7, 1);
    uint8_t runs_over[8] = { 0, 40, 8, 8, 1, 0, 0, 0 };
    madt_add(runs_over, sizeof(runs_over));
    madt_place();
    uint32_t ids[8];
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 8), 1);
    assert_int_equal(ids[0], 7);

    /* A lone type byte at the very end is ignored without reading its length. */
    reset_memory(NULL);
    madt_start();
    madt_lapic(9, 1);
    madt_body[madt_len++] = 0;
    madt_place();
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 8), 1);
    assert_int_equal(ids[0], 9);
}

static void test_madt_missing_or_short(void **state)
{
    build_rev0_chain(S5_BYTES, sizeof(S5_BYTES));
    uint32_t ids[4];
    uint64_t addrs[4];
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 4), 0);
    assert_int_equal(acpi_list_ioapics(RSDP_ADDR, fake_phys_to_virt, addrs, 4), 0);
    reset_memory(NULL);

    madt_start();
    madt_len = 4;   /* no room for the flags word */
    madt_place();
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 4), 0);
}

static void test_madt_ioapics(void **state)
{
    madt_start();
    madt_lapic(0, 1);
    madt_ioapic(0xFEC00000);
    madt_ioapic(0);              /* no address: skipped */
    madt_ioapic(0xFEC01000);
    madt_ioapic(0xFEC00000);     /* duplicate */
    uint8_t short_ioapic[8] = { 1, 8, 0, 0, 0, 0x20, 0xC0, 0xFE };
    madt_add(short_ioapic, sizeof(short_ioapic));
    madt_place();
    uint64_t addrs[4] = { 0 };
    assert_int_equal(acpi_list_ioapics(RSDP_ADDR, fake_phys_to_virt, addrs, 4), 2);
    assert_int_equal(addrs[0], 0xFEC00000);
    assert_int_equal(addrs[1], 0xFEC01000);
    assert_int_equal(acpi_list_ioapics(RSDP_ADDR, fake_phys_to_virt, addrs, 1), 1);
}

static void test_madt_bad_checksum(void **state)
{
    madt_start();
    madt_lapic(0, 1);
    madt_ioapic(0xFEC00000);
    madt_place();
    region_at(MADT_ADDR)->buf[44] ^= 1;
    uint32_t ids[4];
    uint64_t addrs[4];
    assert_int_equal(acpi_list_cpus(RSDP_ADDR, fake_phys_to_virt, ids, 4), 0);
    assert_int_equal(acpi_list_ioapics(RSDP_ADDR, fake_phys_to_virt, addrs, 4), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, reset_memory)
    const struct CMUnitTest tests[] = {
        T(test_rsdt_only_rev0),
        T(test_xsdt_rev2_prefers_64bit_fields),
        T(test_x_pm1a_in_memory_space_uses_legacy_port),
        T(test_x_dsdt_invalid_falls_back_to_dsdt),
        T(test_bad_xsdt_falls_back_to_rsdt),
        T(test_bad_xsdt_and_no_rsdt),
        T(test_rsdp_bad_checksum),
        T(test_rsdp_bad_signature),
        T(test_rsdp_bad_extended_checksum),
        T(test_rsdp_extended_length_past_mapping),
        T(test_rsdp_unmapped_or_null),
        T(test_rsdp_at_end_of_mapping),
        T(test_fadt_bad_checksum),
        T(test_dsdt_bad_checksum),
        T(test_dsdt_wrong_signature),
        T(test_fadt_too_short_for_pm1_cnt),
        T(test_fadt_without_pm1a),
        T(test_table_length_below_header),
        T(test_table_length_past_mapping),
        T(test_table_longer_than_one_mib_rejected),
        T(test_root_table_entry_past_mapping),
        T(test_s5_encodings),
        T(test_s5_reference_before_definition),
        T(test_s5_rejected),
        T(test_s5_nameop_must_be_in_body),
        T(test_madt_cpus),
        T(test_madt_malformed_entries),
        T(test_madt_entry_past_end),
        T(test_madt_missing_or_short),
        T(test_madt_ioapics),
        T(test_madt_bad_checksum),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
