/* Tests for minidisk translation, the read/write helpers (nothing outside the window is
 * touched, read-only honoured) and the partition sharing rule. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "disk/minidisk.h"
#include "host_stubs.h"
#include "mem_blkdev.h"

static struct gpt_partition part(const char *name, uint64_t first, uint64_t last)
{
    struct gpt_partition p;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, name);
    p.type_guid[0] = 0xAF;          /* any non-ESP type */
    p.first_lba = first;
    p.last_lba = last;
    return p;
}

static void test_translate_bounds(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(1000, 512, 0);
    struct gpt_partition p = part("g", 100, 199);
    struct minidisk md;
    uint64_t phys = 12345;
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), 0);
    assert_int_equal(md.sectors, 100);

    assert_int_equal(minidisk_translate(&md, 0, 1, &phys), 0);
    assert_int_equal(phys, 100);
    assert_int_equal(minidisk_translate(&md, 99, 1, &phys), 0);
    assert_int_equal(phys, 199);
    assert_int_equal(minidisk_translate(&md, 0, 100, &phys), 0);
    assert_int_equal(phys, 100);
    assert_int_equal(minidisk_translate(&md, 50, 50, &phys), 0);
    assert_int_equal(phys, 150);

    phys = 12345;
    assert_int_equal(minidisk_translate(&md, 99, 2, &phys), BLKDEV_ERANGE);       /* crosses the end */
    assert_int_equal(minidisk_translate(&md, 0, 101, &phys), BLKDEV_ERANGE);
    assert_int_equal(minidisk_translate(&md, 100, 1, &phys), BLKDEV_ERANGE);      /* starts at the end */
    assert_int_equal(minidisk_translate(&md, UINT64_MAX, 1, &phys), BLKDEV_ERANGE);
    assert_int_equal(minidisk_translate(&md, UINT64_MAX, 0, &phys), BLKDEV_ERANGE);
    assert_int_equal(minidisk_translate(&md, 1, UINT64_MAX, &phys), BLKDEV_ERANGE);  /* s + count wraps */
    assert_int_equal(minidisk_translate(&md, 2, UINT64_MAX - 1, &phys), BLKDEV_ERANGE);
    assert_int_equal(phys, 12345);

    /* count 0: valid inside the disk, not at or past its end */
    assert_int_equal(minidisk_translate(&md, 99, 0, &phys), 0);
    assert_int_equal(phys, 199);
    assert_int_equal(minidisk_translate(&md, 100, 0, &phys), BLKDEV_ERANGE);
    mem_blkdev_free(m);
}

static void test_init_refuses_bad_geometry(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(1000, 512, 0);
    struct mem_blkdev *big = mem_blkdev_new(100, 4096, 0);
    struct minidisk md;
    struct gpt_partition p = part("g", 900, 1000);        /* one past the disk */
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), BLKDEV_EINVAL);
    p = part("g", 10, 9);
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), BLKDEV_EINVAL);
    p = part("g", 10, 20);
    assert_int_equal(minidisk_init(&md, &big->dev, &p, false), BLKDEV_EINVAL);   /* 4 KiB sectors */
    p = part("whole", 0, 999);
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), 0);
    assert_int_equal(md.sectors, 1000);
    assert_string_equal(md.part_name, "whole");
    mem_blkdev_free(m);
    mem_blkdev_free(big);
}

static void test_read_write_stay_inside(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(1000, 512, 8);
    memset(m->data, 0xEE, 1000 * 512);
    struct gpt_partition p = part("g", 100, 199);
    struct minidisk md;
    uint8_t buf[100 * 512];
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), 0);

    memset(buf, 0x5A, sizeof(buf));
    assert_int_equal(minidisk_write(&md, 0, 100, buf), 0);     /* whole minidisk, split by 8 */
    assert_int_equal(m->dev.stats.writes, 13);
    assert_int_equal(minidisk_write(&md, 99, 2, buf), BLKDEV_ERANGE);
    assert_int_equal(minidisk_write(&md, UINT64_MAX, 1, buf), BLKDEV_ERANGE);
    assert_int_equal(minidisk_read(&md, 100, 1, buf), BLKDEV_ERANGE);
    assert_int_equal(minidisk_read(&md, 0, 101, buf), BLKDEV_ERANGE);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(minidisk_read(&md, 99, 1, buf), 0);
    assert_int_equal(buf[0], 0x5A);
    assert_int_equal(buf[511], 0x5A);
    assert_int_equal(minidisk_flush(&md), 0);

    assert_true(mem_blkdev_all_within(m, 100, 199));
    assert_false(mem_blkdev_all_within(m, 101, 199));
    for (unsigned i = 0; i < 1000; i++) {
        uint8_t expect = (i >= 100 && i <= 199) ? 0x5A : 0xEE;
        assert_int_equal(m->data[i * 512], expect);
        assert_int_equal(m->data[i * 512 + 511], expect);
    }
    mem_blkdev_free(m);
}

static void test_read_only_refuses_writes(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(1000, 512, 0);
    struct gpt_partition p = part("g", 100, 199);
    struct minidisk md;
    uint8_t buf[512] = { 1 };
    assert_int_equal(minidisk_init(&md, &m->dev, &p, true), 0);
    assert_int_equal(minidisk_write(&md, 0, 1, buf), BLKDEV_EROFS);
    assert_int_equal(m->log_count, 0);
    assert_int_equal(minidisk_read(&md, 0, 1, buf), 0);
    assert_int_equal(m->log_count, 1);
    mem_blkdev_free(m);
}

static void test_device_errors_counted(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(1000, 512, 0);
    struct gpt_partition p = part("g", 100, 199);
    struct minidisk md;
    uint8_t buf[4 * 512];
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), 0);
    host_console_reset();
    m->fail_lba = 102;
    m->fail_err = BLKDEV_EIO;
    assert_int_equal(minidisk_read(&md, 0, 4, buf), BLKDEV_EIO);
    assert_int_equal(minidisk_write(&md, 1, 2, buf), BLKDEV_EIO);
    assert_int_equal(minidisk_read(&md, 3, 1, buf), 0);
    m->fail_flush = BLKDEV_EIO;
    assert_int_equal(minidisk_flush(&md), BLKDEV_EIO);
    m->dev.ready = false;
    assert_int_equal(minidisk_read(&md, 3, 1, buf), BLKDEV_ENOTREADY);
    assert_int_equal(m->dev.stats.read_errors, 1);
    assert_int_equal(m->dev.stats.write_errors, 1);
    assert_int_equal(m->dev.stats.flush_errors, 1);
    assert_non_null(strstr(host_console(), "disk mem0: read at LBA 100 failed: I/O error"));
    mem_blkdev_free(m);
}

/* The bounds check runs once per request: minidisk_read/write check and translate a guest range
 * themselves; a caller that translated a whole request (virtio-blk) moves its pieces with the
 * *_translated calls, which take physical sectors as they are. Out of range fails before the disk
 * is asked anything; in range reaches start + s. */
static void test_bounds_checked_once_per_request(void **state)
{
    (void)state;
    struct mem_blkdev *m = mem_blkdev_new(1000, 512, 0);
    struct gpt_partition p = part("g", 100, 199);
    struct minidisk md;
    uint8_t buf[4 * 512];
    assert_int_equal(minidisk_init(&md, &m->dev, &p, false), 0);
    for (unsigned i = 0; i < 1000; i++)
        memset(mem_blkdev_sector(m, i), (int)(i & 0xFF), 512);

    static const struct { uint64_t s, count; } outside[] = {
        { 99, 2 }, { 100, 1 }, { UINT64_MAX, 1 }, { 1, UINT64_MAX }, { 0, 101 },
    };
    for (unsigned i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        assert_int_equal(minidisk_read(&md, outside[i].s, outside[i].count, buf), BLKDEV_ERANGE);
        assert_int_equal(minidisk_write(&md, outside[i].s, outside[i].count, buf), BLKDEV_ERANGE);
    }
    assert_int_equal(m->log_count, 0);          /* the disk was not touched */

    assert_int_equal(minidisk_read(&md, 7, 3, buf), 0);
    assert_int_equal(m->log_count, 1);
    assert_int_equal(m->log[0].kind, MEM_ACCESS_READ);
    assert_int_equal(m->log[0].lba, 107);
    assert_int_equal(m->log[0].count, 3);
    assert_int_equal(buf[0], 107);
    assert_int_equal(buf[2 * 512], 109);

    /* A request of guest sectors [10, 14) translated once, then moved in two pieces. */
    uint64_t phys = 0;
    assert_int_equal(minidisk_translate(&md, 10, 4, &phys), 0);
    assert_int_equal(phys, 110);
    mem_blkdev_clear_log(m);
    assert_int_equal(minidisk_read_translated(&md, phys, 1, buf), 0);
    assert_int_equal(minidisk_read_translated(&md, phys + 1, 3, buf + 512), 0);
    assert_int_equal(m->log_count, 2);
    assert_int_equal(m->log[0].lba, 110);       /* not translated a second time (210) */
    assert_int_equal(m->log[1].lba, 111);
    assert_int_equal(m->log[1].count, 3);
    assert_int_equal(buf[0], 110);
    assert_int_equal(buf[3 * 512], 113);
    memset(buf, 0x5A, sizeof buf);
    assert_int_equal(minidisk_write_translated(&md, phys, 4, buf), 0);
    assert_int_equal(m->log[2].kind, MEM_ACCESS_WRITE);
    assert_int_equal(m->log[2].lba, 110);
    assert_int_equal(mem_blkdev_sector(m, 113)[511], 0x5A);
    assert_int_equal(mem_blkdev_sector(m, 114)[0], 114);
    assert_true(mem_blkdev_all_within(m, 100, 199));

    /* Read-only is not a bounds question: still refused on the translated path. */
    struct minidisk ro;
    assert_int_equal(minidisk_init(&ro, &m->dev, &p, true), 0);
    mem_blkdev_clear_log(m);
    assert_int_equal(minidisk_write_translated(&ro, 110, 1, buf), BLKDEV_EROFS);
    assert_int_equal(m->log_count, 0);
    mem_blkdev_free(m);
}

/* Sharing rule. */

static struct gpt_table table;

static void setup_table(void)
{
    memset(&table, 0, sizeof(table));
    table.count = 4;
    table.part[0] = part("EFI system", 34, 99);
    static const uint8_t esp[16] = { 0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                     0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B };
    memcpy(table.part[0].type_guid, esp, 16);
    table.part[1] = part("data", 100, 199);
    table.part[2] = part("shared", 200, 299);
    table.part[3] = part("other", 300, 399);
    assert_true(gpt_guid_parse("AAAAAAAA-0000-0000-0000-000000000001", table.part[1].unique_guid));
}

static void guest(struct bootinfo_guest *g, const char *name, const char *disk, int ro)
{
    memset(g, 0, sizeof(*g));
    strcpy(g->name, name);
    strcpy(g->disk_part, disk);
    g->disk_readonly = (uint8_t)ro;
}

static void test_allocation_rules(void **state)
{
    (void)state;
    struct bootinfo_guest g[7];
    struct minidisk_verdict v[7];
    setup_table();
    guest(&g[0], "vm0", "data", 0);
    guest(&g[1], "vm1", "shared", 1);
    guest(&g[2], "vm2", "shared", 1);
    guest(&g[3], "vm3", "", 0);
    guest(&g[4], "vm4", "EFI system", 1);
    guest(&g[5], "vm5", "missing", 0);
    guest(&g[6], "vm6", "other", 1);
    minidisk_allocate(&table, g, 7, v);

    assert_int_equal(v[0].kind, MINIDISK_GRANTED);
    assert_ptr_equal(v[0].part, &table.part[1]);
    assert_false(v[0].read_only);
    assert_int_equal(v[1].kind, MINIDISK_GRANTED);                     /* both read-only: shared */
    assert_int_equal(v[2].kind, MINIDISK_GRANTED);
    assert_true(v[1].read_only);
    assert_int_equal(v[3].kind, MINIDISK_NONE);
    assert_int_equal(v[4].kind, MINIDISK_REFUSED);
    assert_null(v[4].part);
    assert_non_null(strstr(v[4].reason, "EFI system partition"));
    assert_int_equal(v[5].kind, MINIDISK_REFUSED);
    assert_non_null(strstr(v[5].reason, "no partition named \"missing\""));
    assert_int_equal(v[6].kind, MINIDISK_GRANTED);
}

static void test_shared_writable_refused_to_all(void **state)
{
    (void)state;
    struct bootinfo_guest g[3];
    struct minidisk_verdict v[3];
    setup_table();
    guest(&g[0], "vm0", "shared", 1);
    guest(&g[1], "vm1", "shared", 0);
    guest(&g[2], "vm2", "other", 0);
    minidisk_allocate(&table, g, 3, v);
    assert_int_equal(v[0].kind, MINIDISK_REFUSED);
    assert_int_equal(v[1].kind, MINIDISK_REFUSED);
    assert_null(v[0].part);
    assert_non_null(strstr(v[0].reason, "\"shared\" is also given to guest vm1"));
    assert_non_null(strstr(v[1].reason, "also given to guest vm0"));
    assert_int_equal(v[2].kind, MINIDISK_GRANTED);

    /* two writers */
    guest(&g[0], "vm0", "other", 0);
    minidisk_allocate(&table, g, 3, v);
    assert_int_equal(v[0].kind, MINIDISK_REFUSED);
    assert_int_equal(v[2].kind, MINIDISK_REFUSED);
    assert_int_equal(v[1].kind, MINIDISK_GRANTED);      /* now alone on "shared" */
}

static void test_same_partition_by_name_and_guid(void **state)
{
    (void)state;
    struct bootinfo_guest g[2];
    struct minidisk_verdict v[2];
    setup_table();
    guest(&g[0], "vm0", "data", 0);
    guest(&g[1], "vm1", "aaaaaaaa-0000-0000-0000-000000000001", 1);
    minidisk_allocate(&table, g, 2, v);
    assert_int_equal(v[0].kind, MINIDISK_REFUSED);
    assert_int_equal(v[1].kind, MINIDISK_REFUSED);
    g[0].disk_readonly = 1;
    minidisk_allocate(&table, g, 2, v);
    assert_int_equal(v[0].kind, MINIDISK_GRANTED);
    assert_int_equal(v[1].kind, MINIDISK_GRANTED);
    assert_ptr_equal(v[0].part, v[1].part);
}

static void test_unterminated_config_name(void **state)
{
    (void)state;
    struct bootinfo_guest g;
    struct minidisk_verdict v;
    setup_table();
    guest(&g, "vm0", "", 0);
    memset(g.disk_part, 'x', sizeof(g.disk_part));     /* no NUL: must not be read past */
    minidisk_allocate(&table, &g, 1, &v);
    assert_int_equal(v.kind, MINIDISK_REFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_translate_bounds),
        cmocka_unit_test(test_init_refuses_bad_geometry),
        cmocka_unit_test(test_read_write_stay_inside),
        cmocka_unit_test(test_read_only_refuses_writes),
        cmocka_unit_test(test_device_errors_counted),
        cmocka_unit_test(test_bounds_checked_once_per_request),
        cmocka_unit_test(test_allocation_rules),
        cmocka_unit_test(test_shared_writable_refused_to_all),
        cmocka_unit_test(test_same_partition_by_name_and_guid),
        cmocka_unit_test(test_unterminated_config_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
