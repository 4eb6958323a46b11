/* Tests for the disk self-check against a RAM disk: it passes on a good disk, writes nothing
 * outside selfcheck* partitions, notices lost writes and I/O errors, checks after errors that the
 * disk still reads correctly, stops without a GPT, and computes throughput figures correctly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "diskcheck.h"
#include "disk/crc32.h"
#include "disk/gpt.h"
#include "host_stubs.h"
#include "mem_blkdev.h"

#define SECTORS 16384u          /* 8 MiB */
#define ENTRIES 128u

struct part { const char *name; uint64_t first, last; bool esp; };

static const struct part std_parts[] = {
    { "EFI", 2048, 4095, true },
    { "data", 4096, 6143, false },
    { "selfcheck1", 6144, 12287, false },
    { "selfcheckB", 12288, 14335, false },
};

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void header(struct mem_blkdev *m, uint64_t lba, uint64_t alt, uint64_t entries)
{
    uint8_t *h = mem_blkdev_sector(m, lba);
    memset(h, 0, 512);
    memcpy(h, "EFI PART", 8);
    put32(h + 8, 0x00010000);
    put32(h + 12, 92);
    put64(h + 24, lba);
    put64(h + 32, alt);
    put64(h + 40, 34);
    put64(h + 48, SECTORS - 34);
    h[56] = 0x42;
    put64(h + 72, entries);
    put32(h + 80, ENTRIES);
    put32(h + 84, 128);
    put32(h + 88, crc32(mem_blkdev_sector(m, entries), ENTRIES * 128));
    put32(h + 16, crc32(h, 92));
}

/* A disk with a valid primary and backup GPT; every sector outside the table holds noise, so a
 * stray write anywhere shows as a changed byte. */
static struct mem_blkdev *make_disk(const struct part *parts, unsigned n)
{
    struct mem_blkdev *m = mem_blkdev_new(SECTORS, 512, 128);
    for (uint64_t i = 0; i < (uint64_t)SECTORS * 512; i++)
        m->data[i] = (uint8_t)(i * 2654435761u >> 13);
    memset(mem_blkdev_sector(m, 0), 0, 34 * 512);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = mem_blkdev_sector(m, 2) + i * 128;
        static const uint8_t esp[16] = { 0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                         0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B };
        if (parts[i].esp)
            memcpy(e, esp, 16);
        else
            e[0] = 0xAF;
        e[16] = (uint8_t)(i + 1);               /* unique GUID */
        put64(e + 32, parts[i].first);
        put64(e + 40, parts[i].last);
        for (size_t k = 0; parts[i].name[k]; k++)
            e[56 + 2 * k] = (uint8_t)parts[i].name[k];
    }
    memcpy(mem_blkdev_sector(m, SECTORS - 33), mem_blkdev_sector(m, 2), 32 * 512);
    header(m, 1, SECTORS - 1, 2);
    header(m, SECTORS - 1, 1, SECTORS - 33);
    mem_blkdev_clear_log(m);
    return m;
}

static uint64_t fake_ticks;
static uint64_t fake_now(void) { return fake_ticks += 1000; }

static uint8_t scratch[DISKCHECK_BUF_MIN + 4096];

static struct diskcheck_env env_for_test(void)
{
    struct diskcheck_env e = {
        .now = fake_now, .ticks_per_ms = 1000, .buf = scratch, .buf_size = sizeof(scratch),
        .seed = 42, .seq_bytes = 1u << 20, .random_ops = 32,
    };
    return e;
}

/* The whole self-check on m with the test environment; returns what it printed. */
static const char *run_check(struct mem_blkdev *m, struct diskcheck_result *r)
{
    struct diskcheck_env env = env_for_test();
    host_console_reset();
    diskcheck_execute(&m->dev, &env, r);
    return host_console();
}

static bool inside_scratch(uint64_t lba, uint32_t count)
{
    for (unsigned i = 2; i < 4; i++)
        if (lba >= std_parts[i].first && lba + count - 1 <= std_parts[i].last)
            return true;
    return false;
}

static void test_good_disk_passes_and_writes_only_scratch(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    uint8_t *before = malloc((size_t)SECTORS * 512);
    memcpy(before, m->data, (size_t)SECTORS * 512);
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.passed, 2 + 2 + 2 * 7 + 4);
    assert_null(strstr(out, "not ok"));
    assert_non_null(strstr(out, "ok 1 - device"));
    assert_non_null(strstr(out, "selfcheckB: requests crossing or past the end refused"));
    assert_non_null(strstr(out, "22 passed, 0 failed\n"));
    assert_null(strstr(out, "still answers"));     /* no errors: nothing to recover from */
    assert_true(r.measured);
    assert_int_equal(r.perf.seq_write_bytes, 1u << 20);
    assert_int_equal(r.perf.rand_read_ops, 32);

    /* Every write lay inside a selfcheck partition, and every byte outside them is unchanged. */
    unsigned writes = 0;
    for (uint64_t i = 0; i < m->log_count && i < MEM_BLKDEV_LOG_MAX; i++) {
        if (m->log[i].kind != MEM_ACCESS_WRITE)
            continue;
        writes++;
        assert_true(inside_scratch(m->log[i].lba, m->log[i].count));
    }
    assert_true(writes > 0);
    assert_memory_equal(m->data, before, std_parts[2].first * 512);
    assert_memory_equal(m->data + (std_parts[3].last + 1) * 512, before + (std_parts[3].last + 1) * 512,
                        (SECTORS - std_parts[3].last - 1) * 512);
    assert_int_not_equal(memcmp(m->data + std_parts[2].first * 512, before + std_parts[2].first * 512, 512), 0);
    free(before);
    mem_blkdev_free(m);
}

static void test_no_scratch_partition_means_no_writes(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 2);
    struct diskcheck_result r;
    run_check(m, &r);
    assert_int_equal(r.failed, 0);
    assert_int_equal(r.passed, 4);
    assert_false(r.measured);
    assert_non_null(strstr(host_console(), "no selfcheck* partition"));
    for (uint64_t i = 0; i < m->log_count; i++)
        assert_int_not_equal(m->log[i].kind, MEM_ACCESS_WRITE);
    mem_blkdev_free(m);
}

static int lost_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf)
{
    (void)d, (void)lba, (void)count, (void)buf;
    return BLKDEV_OK;   /* claims success, stores nothing */
}

static void test_lost_writes_are_noticed(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    struct blkdev_ops ops = *m->dev.ops;
    ops.write = lost_write;
    m->dev.ops = &ops;
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_true(r.failed >= 8);     /* four round trips on each scratch partition */
    assert_non_null(strstr(out, "not ok 5 - selfcheck1: first and last sector written, flushed, read back"));
    assert_non_null(strstr(out, "unaligned buffers"));
    mem_blkdev_free(m);
}

static void test_io_error_is_reported(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    m->fail_lba = std_parts[3].last;        /* the last sector of selfcheckB */
    m->fail_err = BLKDEV_EIO;
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_non_null(strstr(out, "not ok 12 - selfcheckB: first and last sector"));
    assert_non_null(strstr(out, "ok 5 - selfcheck1: first and last"));
    assert_true(r.failed >= 1);
    assert_true(r.measured);                /* measured on selfcheck1, unaffected */
    mem_blkdev_free(m);
}

/* One device error (the first read of data's last sector): the check on it fails, every other
 * check passes, and a last check proves the disk still reads correctly afterwards. */
static void test_recovery_checked_after_an_error(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    m->fail_lba = std_parts[1].last;
    m->fail_err = BLKDEV_EIO;
    m->fail_once = true;
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_non_null(strstr(out, "not ok 4 - data: first and last sector read"));
    assert_non_null(strstr(out, "ok 23 - device: still answers after 1 I/O error: sector 0 and last sector read back "
                                "unchanged\n22 passed, 1 failed\n"));
    assert_int_equal(r.failed, 1);
    assert_int_equal(m->dev.stats.read_errors, 1);
    mem_blkdev_free(m);

    /* Every flush fails: one error per scratch partition, and the disk still reads. */
    m = make_disk(std_parts, 4);
    m->fail_flush = BLKDEV_EIO;
    run_check(m, &r);
    assert_non_null(strstr(host_console(), "not ok 9 - selfcheck1: flush\n"));
    assert_non_null(strstr(host_console(), "ok 23 - device: still answers after 2 I/O errors"));
    assert_int_equal(r.failed, 2);
    mem_blkdev_free(m);
}

/* Stand-ins for a driver that recovers badly, wrapped around the RAM disk's own read. */
static const struct blkdev_ops *ram_ops;
static bool had_error;

/* After an error it returns stale data for sector 0 (as a controller would that was restarted
 * with the failed command still running): only the recovery check can notice. */
static int stale_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
    int err = ram_ops->read(d, lba, count, buf);
    had_error = had_error || err;
    if (!err && had_error && lba == 0)
        memset(buf, 0x5A, d->sector_size);
    return err;
}

/* After an error it gives up on the disk, as a driver does whose reset failed. */
static int giving_up_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
    int err = ram_ops->read(d, lba, count, buf);
    if (err) {
        d->ready = false;
        return BLKDEV_ENOTREADY;
    }
    return BLKDEV_OK;
}

static struct mem_blkdev *disk_with_read(int (*read)(struct blkdev *, uint64_t, uint32_t, void *),
                                         struct blkdev_ops *ops)
{
    struct mem_blkdev *m = make_disk(std_parts, 4);
    ram_ops = m->dev.ops;
    *ops = *m->dev.ops;
    ops->read = read;
    m->dev.ops = ops;
    had_error = false;
    m->fail_lba = std_parts[1].last;        /* data's last sector, read once by its check */
    m->fail_err = BLKDEV_EIO;
    m->fail_once = true;
    return m;
}

static void test_recovery_check_notices_stale_data(void **state)
{
    (void)state;
    struct blkdev_ops ops;
    struct mem_blkdev *m = disk_with_read(stale_read, &ops);
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_true(had_error);
    assert_non_null(strstr(out, "not ok 4 - data: first and last sector read"));
    assert_non_null(strstr(out, "not ok 23 - device: still answers after 1 I/O error"));
    assert_non_null(strstr(out, "21 passed, 2 failed\n"));
    mem_blkdev_free(m);
}

static void test_recovery_check_notices_a_disabled_disk(void **state)
{
    (void)state;
    struct blkdev_ops ops;
    struct mem_blkdev *m = disk_with_read(giving_up_read, &ops);
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_false(m->dev.ready);
    assert_int_equal(m->dev.stats.read_errors, 1);  /* later calls are refused, not counted */
    /* The throughput measurement fails as one check instead of four figures: check 20. */
    assert_non_null(strstr(out, "not ok 20 - device: still answers after 1 I/O error"));
    /* Passed: device, GPT and ESP before the error, and the two range refusals, which never
     * reach the driver. */
    assert_int_equal(r.passed, 5);
    assert_int_equal(r.failed, 15);
    mem_blkdev_free(m);
}

/* Errors from the start (sector 0 unreadable): there is no baseline, so no recovery check. */
static void test_no_recovery_check_without_a_baseline(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    m->fail_lba = 0;
    m->fail_err = BLKDEV_EIO;
    struct diskcheck_result r;
    const char *out = run_check(m, &r);
    assert_non_null(strstr(out, "not ok 1 - device: sector 0 and last sector"));
    assert_non_null(strstr(out, "# device errors, but sector 0 or the last sector was unreadable from the start: "
                                "recovery not checked\n"));
    assert_null(strstr(out, "still answers"));
    mem_blkdev_free(m);
}

static void test_no_gpt_stops(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    memset(mem_blkdev_sector(m, 1), 0, 512);
    memset(mem_blkdev_sector(m, SECTORS - 1), 0, 512);
    struct diskcheck_result r;
    run_check(m, &r);
    assert_int_equal(r.passed, 1);
    assert_int_equal(r.failed, 1);
    assert_non_null(strstr(host_console(), "not ok 2 - GPT read"));
    assert_non_null(strstr(host_console(), "1 passed, 1 failed\n"));
    for (uint64_t i = 0; i < m->log_count; i++)
        assert_int_not_equal(m->log[i].kind, MEM_ACCESS_WRITE);
    mem_blkdev_free(m);
}

static void test_small_scratch_refused(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    struct diskcheck_env env = env_for_test();
    env.buf_size = DISKCHECK_BUF_MIN - 1;
    struct diskcheck_result r;
    host_console_reset();
    diskcheck_execute(&m->dev, &env, &r);
    assert_int_equal(r.failed, 1);
    assert_int_equal(m->log_count, 0);
    mem_blkdev_free(m);
}

static void test_measure(void **state)
{
    (void)state;
    struct mem_blkdev *m = make_disk(std_parts, 4);
    struct diskcheck_env env = env_for_test();
    struct diskcheck_perf p;
    env.seq_bytes = 64u << 20;              /* more than the range: clipped */
    assert_int_equal(diskcheck_measure(&m->dev, 6144, 100, &env, &p), BLKDEV_OK);
    assert_int_equal(p.seq_write_bytes, 100 * 512);
    assert_int_equal(p.seq_read_bytes, 100 * 512);
    assert_int_equal(p.seq_read_ticks, 1000);   /* one now() call apart */
    assert_int_equal(p.rand_write_ops, 32);
    assert_true(mem_blkdev_all_within(m, 6144, 6243));
    for (uint64_t i = 0; i < m->log_count; i++)
        if (m->log[i].count == 8)
            assert_int_equal((m->log[i].lba - 6144) % 8, 0);    /* 4 KiB aligned inside the range */
    /* A range too small for one 4 KiB request: sequential only. */
    assert_int_equal(diskcheck_measure(&m->dev, 6144, 7, &env, &p), BLKDEV_OK);
    assert_int_equal(p.rand_write_ops, 0);
    m->fail_lba = 6150;
    m->fail_err = BLKDEV_EIO;
    assert_int_equal(diskcheck_measure(&m->dev, 6144, 100, &env, &p), BLKDEV_EIO);
    assert_int_equal(diskcheck_measure(&m->dev, 6144, 0, &env, &p), BLKDEV_EINVAL);
    mem_blkdev_free(m);
}

static void test_rates(void **state)
{
    (void)state;
    /* 10^6 bytes in 1 ms: 1000 MB/s. */
    assert_int_equal(diskcheck_mbps_tenths(1000000, 1000, 1000), 10000);
    /* 32 MiB in 0.5 s at 2.6 GHz: 67.1 MB/s. */
    assert_int_equal(diskcheck_mbps_tenths(32ull << 20, 1300000000ull, 2600000), 671);
    assert_int_equal(diskcheck_mbps_tenths(123, 0, 1000), 0);
    /* No overflow with huge byte counts. */
    assert_int_equal(diskcheck_mbps_tenths(1ull << 60, 1ull << 40, 1000), ((1ull << 60) >> 40) * 1000 / 100);
    assert_int_equal(diskcheck_iops(100, 1000, 1000), 100000);
    assert_int_equal(diskcheck_iops(512, 2600000000ull, 2600000), 512);
    assert_int_equal(diskcheck_iops(5, 0, 1000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_disk_passes_and_writes_only_scratch),
        cmocka_unit_test(test_no_scratch_partition_means_no_writes),
        cmocka_unit_test(test_lost_writes_are_noticed),
        cmocka_unit_test(test_io_error_is_reported),
        cmocka_unit_test(test_recovery_checked_after_an_error),
        cmocka_unit_test(test_recovery_check_notices_stale_data),
        cmocka_unit_test(test_recovery_check_notices_a_disabled_disk),
        cmocka_unit_test(test_no_recovery_check_without_a_baseline),
        cmocka_unit_test(test_no_gpt_stops),
        cmocka_unit_test(test_small_scratch_refused),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
