/* Tests for GPT parsing (vmm/disk/gpt.c) and CRC32: disk images are built in memory in the
 * layout sgdisk produces (protective MBR, header at LBA 1, 128 entries from LBA 2, backup
 * entries and header at the end), then damaged in specific ways. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "disk/crc32.h"
#include "disk/gpt.h"
#include "host_stubs.h"
#include "mem_blkdev.h"

#define ENTRIES 128u
#define ENTRY_SIZE 128u

static const char *ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
static const char *LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

struct part_spec {
    const char *name;
    const char *type;
    const char *guid;
    uint64_t first, last;
    uint64_t attributes;
};

struct image {
    struct mem_blkdev *m;
    uint32_t ss;
    uint64_t sectors;
    uint64_t array_sectors;
    uint64_t first_usable, last_usable;
};

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void guid(const char *text, uint8_t *out)
{
    assert_true(gpt_guid_parse(text, out));
}

static void put_name(uint8_t *e, const char *name)
{
    for (size_t i = 0; name[i] && i < 36; i++) {
        e[56 + 2 * i] = (uint8_t)name[i];
        e[56 + 2 * i + 1] = 0;
    }
}

/* Header at lba describing the entry array at entries_lba; CRCs computed. */
static void write_header(struct image *im, uint64_t lba, uint64_t alt, uint64_t entries_lba)
{
    uint8_t *entries = mem_blkdev_sector(im->m, entries_lba);
    uint8_t *h = mem_blkdev_sector(im->m, lba);
    memset(h, 0, im->ss);
    memcpy(h, "EFI PART", 8);
    put32(h + 8, 0x00010000);
    put32(h + 12, 92);
    put64(h + 24, lba);
    put64(h + 32, alt);
    put64(h + 40, im->first_usable);
    put64(h + 48, im->last_usable);
    guid("01234567-89AB-CDEF-0123-456789ABCDEF", h + 56);
    put64(h + 72, entries_lba);
    put32(h + 80, ENTRIES);
    put32(h + 84, ENTRY_SIZE);
    put32(h + 88, crc32(entries, ENTRIES * ENTRY_SIZE));
    put32(h + 16, crc32(h, 92));
}

/* Rewrites both headers after the test changed the entries (so CRCs match again). */
static void reseal(struct image *im)
{
    uint64_t last = im->sectors - 1;
    memcpy(mem_blkdev_sector(im->m, last - im->array_sectors), mem_blkdev_sector(im->m, 2),
           ENTRIES * ENTRY_SIZE);
    write_header(im, 1, last, 2);
    write_header(im, last, 1, last - im->array_sectors);
}

static uint8_t *entry(struct image *im, unsigned i)
{
    return mem_blkdev_sector(im->m, 2) + i * ENTRY_SIZE;
}

static void set_entry(struct image *im, unsigned i, const struct part_spec *p)
{
    uint8_t *e = entry(im, i);
    memset(e, 0, ENTRY_SIZE);
    guid(p->type, e);
    guid(p->guid, e + 16);
    put64(e + 32, p->first);
    put64(e + 40, p->last);
    put64(e + 48, p->attributes);
    put_name(e, p->name);
}

static struct image build(uint64_t sectors, uint32_t ss, const struct part_spec *parts, unsigned n)
{
    struct image im = { 0 };
    im.m = mem_blkdev_new(sectors, ss, 0);
    im.ss = ss;
    im.sectors = sectors;
    im.array_sectors = ENTRIES * ENTRY_SIZE / ss;
    im.first_usable = 2 + im.array_sectors;
    im.last_usable = sectors - 2 - im.array_sectors;
    uint8_t *mbr = mem_blkdev_sector(im.m, 0);
    mbr[446 + 4] = 0xEE;
    put32(mbr + 446 + 8, 1);
    put32(mbr + 446 + 12, (uint32_t)(sectors - 1));
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    for (unsigned i = 0; i < n; i++)
        set_entry(&im, i, &parts[i]);
    reseal(&im);
    mem_blkdev_clear_log(im.m);
    return im;
}

static const struct part_spec std_parts[] = {
    { "EFI system", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "11111111-2222-3333-4444-555555555555", 2048, 4095, 0 },
    { "guest1", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "A1B2C3D4-E5F6-0718-293A-4B5C6D7E8F90", 4096, 6143, 0 },
    { "guest2", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "00000000-0000-0000-0000-000000000002", 6144, 8191, 1ull << 60 },
};

static struct gpt_table table;

static struct image std_image(void)
{
    return build(16384, 512, std_parts, 3);
}

static void expect_std_partitions(void)
{
    assert_int_equal(table.count, 3);
    assert_string_equal(table.part[0].name, "EFI system");
    assert_true(gpt_is_esp(&table.part[0]));
    assert_string_equal(table.part[1].name, "guest1");
    assert_int_equal(table.part[1].first_lba, 4096);
    assert_int_equal(table.part[1].last_lba, 6143);
    assert_int_equal(table.part[1].index, 1);
    assert_false(gpt_is_esp(&table.part[1]));
    assert_string_equal(table.part[2].name, "guest2");
    assert_int_equal(table.part[2].attributes, 1ull << 60);
    assert_int_equal(table.first_usable, 34);
    assert_int_equal(table.last_usable, 16384 - 34);
}

static void test_crc32_known_values(void **state)
{
    (void)state;
    assert_int_equal(crc32("", 0), 0);
    assert_int_equal(crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(crc32("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    uint32_t s = crc32_begin();
    s = crc32_update(s, "1234", 4);
    s = crc32_update(s, "56789", 5);
    assert_int_equal(crc32_end(s), 0xCBF43926u);
}

static void test_valid_table(void **state)
{
    (void)state;
    struct image im = std_image();
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    expect_std_partitions();
    assert_true(table.protective_mbr);
    assert_false(table.used_backup);
    assert_string_equal(table.diag, "");
    /* Reads: LBA 0, the header, the 32 entry sectors; nothing in the usable area. */
    assert_true(mem_blkdev_all_within(im.m, 0, 33));
    for (uint64_t i = 0; i < im.m->log_count; i++)
        assert_int_equal(im.m->log[i].kind, MEM_ACCESS_READ);
    mem_blkdev_free(im.m);
}

static void test_no_protective_mbr_is_only_noted(void **state)
{
    (void)state;
    struct image im = std_image();
    memset(mem_blkdev_sector(im.m, 0), 0, 512);
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_false(table.protective_mbr);
    assert_int_equal(table.count, 3);
    mem_blkdev_free(im.m);
}

static void test_bad_header_crc_uses_backup(void **state)
{
    (void)state;
    struct image im = std_image();
    mem_blkdev_sector(im.m, 1)[40] ^= 1;        /* FirstUsableLBA changed, CRC not updated */
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_true(table.used_backup);
    assert_non_null(strstr(table.diag, "primary header bad (header CRC mismatch)"));
    assert_non_null(strstr(table.diag, "backup at LBA 16383"));
    expect_std_partitions();
    mem_blkdev_free(im.m);
}

static void test_bad_entries_crc_uses_backup(void **state)
{
    (void)state;
    struct image im = std_image();
    entry(&im, 1)[32] ^= 0x80;                  /* guest1's first LBA in the primary array */
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_true(table.used_backup);
    assert_non_null(strstr(table.diag, "entry array CRC mismatch"));
    expect_std_partitions();
    mem_blkdev_free(im.m);
}

static void test_both_headers_bad(void **state)
{
    (void)state;
    struct image im = std_image();
    mem_blkdev_sector(im.m, 1)[0] = 'X';
    mem_blkdev_sector(im.m, 16383)[20] ^= 1;    /* reserved field: CRC breaks */
    assert_int_equal(gpt_read(&im.m->dev, &table), GPT_ENOTABLE);
    assert_int_equal(table.count, 0);
    assert_non_null(strstr(table.diag, "primary: no \"EFI PART\" signature"));
    assert_non_null(strstr(table.diag, "backup: header CRC mismatch"));
    mem_blkdev_free(im.m);
}

static void test_header_field_checks(void **state)
{
    (void)state;
    static const struct { unsigned off; uint64_t value; unsigned width; const char *reason; } cases[] = {
        { 8, 0x00020000, 4, "unsupported revision" },
        { 12, 91, 4, "header size 91" },
        { 12, 513, 4, "header size 513" },
        { 24, 2, 8, "MyLBA 2, expected 1" },
        { 40, 1, 8, "usable range" },                 /* first usable covers the header */
        { 48, 16383, 8, "usable range" },             /* last usable covers the backup header */
        { 40, 9000, 8, "usable range" },              /* first > last... not quite: 9000 < last */
        { 84, 64, 4, "entry size 64" },
        { 84, 192, 4, "entry size 192" },
        { 84, 1024, 4, "entry size 1024" },           /* more than a sector */
        { 80, 0, 4, "entry count 0" },
        { 80, GPT_MAX_ENTRIES + 1, 4, "entry count" },
        { 72, 1, 8, "misplaced" },                    /* array over the header */
        { 72, 20, 8, "misplaced" },                   /* array runs into the usable range */
        { 72, 16380, 8, "misplaced" },                /* array runs off the disk */
        { 72, UINT64_MAX, 8, "misplaced" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct image im = std_image();
        uint8_t *h = mem_blkdev_sector(im.m, 1);
        uint8_t *b = mem_blkdev_sector(im.m, 16383);
        if (cases[i].width == 4)
            put32(h + cases[i].off, (uint32_t)cases[i].value);
        else
            put64(h + cases[i].off, cases[i].value);
        put32(h + 16, 0);
        put32(h + 16, crc32(h, cases[i].off == 12 && cases[i].value > 92 && cases[i].value <= 512
                                   ? (size_t)cases[i].value : 92));
        if (cases[i].off == 12 && cases[i].value == 513)
            put32(h + 16, 0);    /* CRC of 513 bytes does not exist; the size check comes first */
        int r = gpt_read(&im.m->dev, &table);
        if (cases[i].off == 40 && cases[i].value == 9000) {
            /* a header that is itself valid but leaves entries outside its usable range */
            assert_int_equal(r, GPT_EINCONSISTENT);
            assert_non_null(strstr(table.diag, "outside the usable range"));
        } else {
            assert_int_equal(r, 0);
            assert_true(table.used_backup);
            assert_non_null(strstr(table.diag, cases[i].reason));
            expect_std_partitions();
        }
        /* the backup header itself was never changed */
        assert_memory_equal(b, "EFI PART", 8);
        mem_blkdev_free(im.m);
    }
}

static void test_primary_read_error_uses_backup(void **state)
{
    (void)state;
    struct image im = std_image();
    im.m->fail_lba = 5;
    im.m->fail_err = BLKDEV_EIO;
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_true(table.used_backup);
    assert_non_null(strstr(table.diag, "entry array read failed at LBA 5: I/O error"));
    assert_int_equal(im.m->dev.stats.read_errors, 1);
    expect_std_partitions();

    im.m->fail_lba = 16383;      /* and now the backup header too */
    mem_blkdev_sector(im.m, 1)[0] = 0;
    assert_int_equal(gpt_read(&im.m->dev, &table), GPT_ENOTABLE);
    assert_non_null(strstr(table.diag, "backup: read failed: I/O error"));
    mem_blkdev_free(im.m);
}

static void expect_refused(const struct part_spec *parts, unsigned n, const char *reason)
{
    struct image im = build(16384, 512, parts, n);
    assert_int_equal(gpt_read(&im.m->dev, &table), GPT_EINCONSISTENT);
    assert_int_equal(table.count, 0);
    assert_non_null(strstr(table.diag, reason));
    assert_non_null(strstr(table.diag, "GPT refused"));
    mem_blkdev_free(im.m);
}

static void test_overlapping_entries_refused(void **state)
{
    (void)state;
    struct part_spec p[3] = { std_parts[0], std_parts[1], std_parts[2] };
    p[2].first = 6143;           /* shares one sector with guest1 */
    expect_refused(p, 3, "entries 2 \"guest1\" and 3 \"guest2\" overlap");
    p[2].first = 4000;           /* contains guest1's start and overlaps the ESP */
    p[2].last = 9000;
    expect_refused(p, 3, "overlap");
    p[1] = std_parts[1];
    p[2] = std_parts[1];         /* identical */
    expect_refused(p, 3, "overlap");
}

static void test_entries_outside_usable_range_refused(void **state)
{
    (void)state;
    struct part_spec p[2] = { std_parts[1], std_parts[2] };
    p[1].last = 16384 - 33;      /* one past last usable, on the backup array */
    expect_refused(p, 2, "outside the usable range 34..16350");
    p[1] = std_parts[2];
    p[1].first = 33;             /* on the primary array */
    p[1].last = 40;
    expect_refused(p, 2, "outside the usable range");
    p[1] = std_parts[2];
    p[1].first = 8191;
    p[1].last = 8190;            /* reversed */
    expect_refused(p, 2, "ends (LBA 8190) before it starts (LBA 8191)");
    p[1].first = 20000;
    p[1].last = UINT64_MAX;
    expect_refused(p, 2, "outside the usable range");
}

static void test_edge_partitions_accepted(void **state)
{
    (void)state;
    struct part_spec p[2] = { std_parts[1], std_parts[2] };
    p[0].first = 34;             /* exactly the usable range's ends, one sector each */
    p[0].last = 34;
    p[1].first = 16350;
    p[1].last = 16350;
    struct image im = build(16384, 512, p, 2);
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_int_equal(table.count, 2);
    mem_blkdev_free(im.m);
}

static void test_unused_entries_skipped(void **state)
{
    (void)state;
    struct image im = build(16384, 512, NULL, 0);
    set_entry(&im, 7, &std_parts[1]);
    set_entry(&im, 127, &std_parts[2]);
    reseal(&im);
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_int_equal(table.count, 2);
    assert_int_equal(table.part[0].index, 7);
    assert_int_equal(table.part[1].index, 127);
    mem_blkdev_free(im.m);
}

static void test_names_converted_to_ascii(void **state)
{
    (void)state;
    struct image im = build(16384, 512, std_parts + 1, 2);
    uint8_t *e = entry(&im, 0);
    memset(e + 56, 0, 72);
    const uint16_t name[] = { 'd', 0xE9, 't', 0xD83D, 0xDE00, '!', 0x7F, 0xDC00, 'x', 0 };
    for (unsigned i = 0; i < sizeof(name) / 2; i++) {
        e[56 + 2 * i] = (uint8_t)name[i];
        e[57 + 2 * i] = (uint8_t)(name[i] >> 8);
    }
    e = entry(&im, 1);           /* 36 units, no terminator */
    for (unsigned i = 0; i < 36; i++) {
        e[56 + 2 * i] = (uint8_t)('a' + i % 26);
        e[57 + 2 * i] = 0;
    }
    reseal(&im);
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_string_equal(table.part[0].name, "d?t?!??x");
    assert_string_equal(table.part[1].name, "abcdefghijklmnopqrstuvwxyzabcdefghij");
    mem_blkdev_free(im.m);
}

static void test_guid_text(void **state)
{
    (void)state;
    uint8_t g[16], h[16];
    char text[GPT_GUID_TEXT_LEN + 1];
    static const uint8_t esp_bytes[16] = { 0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                           0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B };
    assert_true(gpt_guid_parse(ESP_TYPE, g));
    assert_memory_equal(g, esp_bytes, 16);
    assert_true(gpt_guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", h));
    assert_memory_equal(h, esp_bytes, 16);
    gpt_guid_format(g, text);
    assert_string_equal(text, ESP_TYPE);
    assert_true(gpt_guid_parse(LINUX_TYPE, g));
    gpt_guid_format(g, text);
    assert_string_equal(text, LINUX_TYPE);

    assert_false(gpt_guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93", g));    /* short */
    assert_false(gpt_guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B0", g));  /* long */
    assert_false(gpt_guid_parse("C12A7328F-81F-11D2-BA4B-00A0C93EC93B", g));   /* dash moved */
    assert_false(gpt_guid_parse("G12A7328-F81F-11D2-BA4B-00A0C93EC93B", g));   /* not hex */
    assert_false(gpt_guid_parse("{12A7328-F81F-11D2-BA4B-00A0C93EC93B", g));
    assert_false(gpt_guid_parse("", g));
}

static void test_find_by_name_and_guid(void **state)
{
    (void)state;
    struct image im = std_image();
    char why[128];
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);

    const struct gpt_partition *p = gpt_find(&table, "guest2", why, sizeof(why));
    assert_non_null(p);
    assert_int_equal(p->first_lba, 6144);
    assert_string_equal(why, "");
    assert_null(gpt_find(&table, "Guest2", why, sizeof(why)));          /* exact match only */
    assert_string_equal(why, "no partition named \"Guest2\"");
    assert_null(gpt_find(&table, "guest", why, sizeof(why)));
    assert_null(gpt_find(&table, "", why, sizeof(why)));

    p = gpt_find(&table, "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90", why, sizeof(why));
    assert_non_null(p);
    assert_string_equal(p->name, "guest1");
    /* byte order matters: the same digits read as plain big-endian bytes are another GUID */
    assert_null(gpt_find(&table, "D4C3B2A1-F6E5-1807-293A-4B5C6D7E8F90", why, sizeof(why)));
    assert_non_null(strstr(why, "no partition with GUID"));
    assert_non_null(gpt_find(&table, "guest1", NULL, 0));      /* why is optional */
    mem_blkdev_free(im.m);
}

static void test_esp_never_returned(void **state)
{
    (void)state;
    struct image im = std_image();
    char why[128];
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_null(gpt_find(&table, "EFI system", why, sizeof(why)));
    assert_non_null(strstr(why, "EFI system partition"));
    assert_null(gpt_find(&table, "11111111-2222-3333-4444-555555555555", why, sizeof(why)));
    assert_non_null(strstr(why, "EFI system partition"));
    mem_blkdev_free(im.m);
}

static void test_ambiguous_names_refused(void **state)
{
    (void)state;
    struct part_spec p[2] = { std_parts[1], std_parts[2] };
    p[1].name = "guest1";
    struct image im = build(16384, 512, p, 2);
    char why[128];
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_null(gpt_find(&table, "guest1", why, sizeof(why)));
    assert_string_equal(why, "several partitions named \"guest1\"");
    /* each is still reachable by its unique GUID */
    assert_non_null(gpt_find(&table, "00000000-0000-0000-0000-000000000002", why, sizeof(why)));
    mem_blkdev_free(im.m);
}

static void test_4k_sectors(void **state)
{
    (void)state;
    struct part_spec p[1] = { { "big", "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                                "00000000-0000-0000-0000-000000000009", 256, 511, 0 } };
    struct image im = build(2048, 4096, p, 1);
    assert_int_equal(gpt_read(&im.m->dev, &table), 0);
    assert_int_equal(table.sector_size, 4096);
    assert_int_equal(table.first_usable, 6);
    assert_int_equal(table.count, 1);
    assert_int_equal(table.part[0].last_lba, 511);
    mem_blkdev_free(im.m);
}

static void test_unusable_disks(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(2, 512, 0);
    assert_int_equal(gpt_read(&m->dev, &table), BLKDEV_EINVAL);
    mem_blkdev_free(m);
    m = mem_blkdev_new(64, 1024, 0);
    assert_int_equal(gpt_read(&m->dev, &table), BLKDEV_EINVAL);
    assert_non_null(strstr(table.diag, "unusable disk"));
    mem_blkdev_free(m);
    m = mem_blkdev_new(64, 512, 0);        /* blank disk */
    assert_int_equal(gpt_read(&m->dev, &table), GPT_ENOTABLE);
    mem_blkdev_free(m);
}

static void test_too_many_partitions(void **state)
{
    (void)state;
    /* 256 entries of 128 bytes (sgdisk -n with a larger table) all in use: refused */
    struct mem_blkdev *m = mem_blkdev_new(4096, 512, 0);
    struct image im = { m, 512, 4096, 64, 66, 4096 - 66 };
    for (unsigned i = 0; i < 256; i++) {
        uint8_t *e = mem_blkdev_sector(m, 2) + i * 128;
        guid(LINUX_TYPE, e);
        put64(e + 32, 100 + i);
        put64(e + 40, 100 + i);
    }
    for (int which = 0; which < 2; which++) {
        uint64_t lba = which ? 4095 : 1, entries = which ? 4095 - 64 : 2;
        if (which)
            memcpy(mem_blkdev_sector(m, entries), mem_blkdev_sector(m, 2), 256 * 128);
        uint8_t *h = mem_blkdev_sector(m, lba);
        memset(h, 0, 512);
        memcpy(h, "EFI PART", 8);
        put32(h + 8, 0x00010000);
        put32(h + 12, 92);
        put64(h + 24, lba);
        put64(h + 40, im.first_usable);
        put64(h + 48, im.last_usable);
        put64(h + 72, entries);
        put32(h + 80, 256);
        put32(h + 84, 128);
        put32(h + 88, crc32(mem_blkdev_sector(m, entries), 256 * 128));
        put32(h + 16, crc32(h, 92));
    }
    assert_int_equal(gpt_read(&m->dev, &table), GPT_ENOTABLE);
    assert_non_null(strstr(table.diag, "more than 128 partitions"));
    mem_blkdev_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_known_values),
        cmocka_unit_test(test_valid_table),
        cmocka_unit_test(test_no_protective_mbr_is_only_noted),
        cmocka_unit_test(test_bad_header_crc_uses_backup),
        cmocka_unit_test(test_bad_entries_crc_uses_backup),
        cmocka_unit_test(test_both_headers_bad),
        cmocka_unit_test(test_header_field_checks),
        cmocka_unit_test(test_primary_read_error_uses_backup),
        cmocka_unit_test(test_overlapping_entries_refused),
        cmocka_unit_test(test_entries_outside_usable_range_refused),
        cmocka_unit_test(test_edge_partitions_accepted),
        cmocka_unit_test(test_unused_entries_skipped),
        cmocka_unit_test(test_names_converted_to_ascii),
        cmocka_unit_test(test_guid_text),
        cmocka_unit_test(test_find_by_name_and_guid),
        cmocka_unit_test(test_esp_never_returned),
        cmocka_unit_test(test_ambiguous_names_refused),
        cmocka_unit_test(test_4k_sectors),
        cmocka_unit_test(test_unusable_disks),
        cmocka_unit_test(test_too_many_partitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
