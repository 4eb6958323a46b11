/* Tests of the disk drivers' bounce buffering (drivers/bounce.c): how a transfer the controller
 * cannot reach is split to fit the bounce buffer, what is copied through it and when, and
 * that the first failed piece ends the transfer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "disk/blkdev.h"
#include "drivers/bounce.h"
#include "mem/page_alloc.h"

#define SECTOR      512u
#define MAX_CALLS   16
#define DISK_BYTES  (64u * 4096u)

/* A fake controller: a disk in RAM that records every command and what the bounce buffer held
 * when a write was issued. */
struct fake_disk {
    uint8_t data[DISK_BYTES];
    uint32_t sector_size;
    unsigned calls;
    struct { uint64_t lba; uint32_t count; const uint8_t *dma_buf; bool write; } call[MAX_CALLS];
    unsigned fail_call;         /* 1-based call that fails with BLKDEV_EIO; 0 = none */
};

static struct fake_disk disk;
static uint8_t original[DISK_BYTES];
static uint8_t bounce_mem[4 * 4096 + 1];

static int fake_io(void *driver, uint64_t lba, uint32_t count, uint8_t *dma_buf, bool write)
{
    struct fake_disk *d = driver;
    assert_true(d->calls < MAX_CALLS);
    unsigned n = d->calls++;
    d->call[n].lba = lba;
    d->call[n].count = count;
    d->call[n].dma_buf = dma_buf;
    d->call[n].write = write;
    if (d->fail_call == d->calls) {
        if (!write)
            memset(dma_buf, 0xEE, (size_t)count * d->sector_size);   /* a failed read leaves junk */
        return BLKDEV_EIO;
    }
    uint64_t at = lba * d->sector_size, bytes = (uint64_t)count * d->sector_size;
    assert_true(at < DISK_BYTES && bytes <= DISK_BYTES - at);
    if (write)
        memcpy(d->data + at, dma_buf, bytes);
    else
        memcpy(dma_buf, d->data + at, bytes);
    return BLKDEV_OK;
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static int setup(void **state)
{
    (void)state;
    memset(&disk, 0, sizeof disk);
    disk.sector_size = SECTOR;
    pattern(original, sizeof original, 0x30);
    memcpy(disk.data, original, sizeof disk.data);
    memset(bounce_mem, 0, sizeof bounce_mem);
    return 0;
}

static void test_write_split_to_fit_the_bounce_buffer(void **state)
{
    (void)state;
    struct bounce_buffer b = { bounce_mem, 2 * SECTOR };
    uint8_t src[5 * SECTOR + 1];
    pattern(src, sizeof src, 0x55);
    /* From an odd address, as the AHCI and NVMe drivers get them. */
    assert_int_equal(bounce_transfer(&b, SECTOR, 10, 5, src + 1, true, fake_io, &disk), BLKDEV_OK);
    assert_int_equal(disk.calls, 3);
    const uint64_t lba[] = { 10, 12, 14 };
    const uint32_t count[] = { 2, 2, 1 };
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(disk.call[i].lba, lba[i]);
        assert_int_equal(disk.call[i].count, count[i]);
        assert_ptr_equal(disk.call[i].dma_buf, bounce_mem);     /* only the bounce buffer reaches the disk */
        assert_true(disk.call[i].write);
    }
    assert_memory_equal(disk.data + 10 * SECTOR, src + 1, 5 * SECTOR);
    assert_memory_equal(disk.data, original, 10 * SECTOR);               /* nothing around them */
    assert_memory_equal(disk.data + 15 * SECTOR, original + 15 * SECTOR, DISK_BYTES - 15 * SECTOR);
}

static void test_read_copied_out_piece_by_piece(void **state)
{
    (void)state;
    struct bounce_buffer b = { bounce_mem, 3 * SECTOR };
    uint8_t dst[7 * SECTOR + 2];
    memset(dst, 0xA5, sizeof dst);
    assert_int_equal(bounce_transfer(&b, SECTOR, 3, 7, dst + 1, false, fake_io, &disk), BLKDEV_OK);
    assert_int_equal(disk.calls, 3);
    assert_int_equal(disk.call[0].lba, 3);
    assert_int_equal(disk.call[0].count, 3);
    assert_int_equal(disk.call[1].lba, 6);
    assert_int_equal(disk.call[1].count, 3);
    assert_int_equal(disk.call[2].lba, 9);
    assert_int_equal(disk.call[2].count, 1);
    assert_false(disk.call[2].write);
    assert_memory_equal(dst + 1, disk.data + 3 * SECTOR, 7 * SECTOR);
    assert_int_equal(dst[0], 0xA5);                     /* nothing outside the caller's sectors */
    assert_int_equal(dst[7 * SECTOR + 1], 0xA5);
}

/* A bounce buffer that is not a whole number of sectors holds as many whole sectors as fit. */
static void test_partial_sector_of_bounce_space_unused(void **state)
{
    (void)state;
    struct bounce_buffer b = { bounce_mem, 2 * SECTOR + 300 };
    uint8_t dst[4 * SECTOR];
    assert_int_equal(bounce_transfer(&b, SECTOR, 0, 4, dst, false, fake_io, &disk), BLKDEV_OK);
    assert_int_equal(disk.calls, 2);
    assert_int_equal(disk.call[0].count, 2);
    assert_int_equal(disk.call[1].count, 2);
    assert_memory_equal(dst, disk.data, sizeof dst);
}

static void test_large_sectors(void **state)
{
    (void)state;
    disk.sector_size = 4096;
    struct bounce_buffer b = { bounce_mem, 4 * 4096 };
    static uint8_t src[9 * 4096];
    pattern(src, sizeof src, 0x11);
    assert_int_equal(bounce_transfer(&b, 4096, 2, 9, src, true, fake_io, &disk), BLKDEV_OK);
    assert_int_equal(disk.calls, 3);
    assert_int_equal(disk.call[2].lba, 10);
    assert_int_equal(disk.call[2].count, 1);
    assert_memory_equal(disk.data + 2 * 4096, src, sizeof src);
}

/* The first failed piece ends the transfer with its error: no later command, and a failed read
 * is not copied out over the caller's buffer. */
static void test_first_error_ends_the_transfer(void **state)
{
    (void)state;
    struct bounce_buffer b = { bounce_mem, 2 * SECTOR };
    uint8_t dst[6 * SECTOR];
    memset(dst, 0xA5, sizeof dst);
    disk.fail_call = 2;
    assert_int_equal(bounce_transfer(&b, SECTOR, 0, 6, dst, false, fake_io, &disk), BLKDEV_EIO);
    assert_int_equal(disk.calls, 2);
    assert_memory_equal(dst, disk.data, 2 * SECTOR);
    for (unsigned i = 2 * SECTOR; i < sizeof dst; i++)
        assert_int_equal(dst[i], 0xA5);

    setup(NULL);
    disk.fail_call = 1;
    uint8_t src[3 * SECTOR];
    pattern(src, sizeof src, 0x77);
    assert_int_equal(bounce_transfer(&b, SECTOR, 4, 3, src, true, fake_io, &disk), BLKDEV_EIO);
    assert_int_equal(disk.calls, 1);
}

static void test_degenerate_requests(void **state)
{
    (void)state;
    uint8_t buf[SECTOR];
    struct bounce_buffer tiny = { bounce_mem, SECTOR - 1 };
    struct bounce_buffer none = { NULL, 0 };
    struct bounce_buffer b = { bounce_mem, SECTOR };
    /* No room for one sector: refused, the disk never asked (a loop would never end). */
    assert_int_equal(bounce_transfer(&tiny, SECTOR, 0, 1, buf, false, fake_io, &disk), BLKDEV_EINVAL);
    assert_int_equal(bounce_transfer(&none, SECTOR, 0, 1, buf, true, fake_io, &disk), BLKDEV_EINVAL);
    assert_int_equal(bounce_transfer(&b, 0, 0, 1, buf, true, fake_io, &disk), BLKDEV_EINVAL);
    assert_int_equal(disk.calls, 0);
    /* Nothing to move: done without a command. */
    assert_int_equal(bounce_transfer(&b, SECTOR, 0, 0, buf, false, fake_io, &disk), BLKDEV_OK);
    assert_int_equal(disk.calls, 0);
}

/* The drivers' buffers come from the hypervisor's page pool, whole pages, and a pool too small
 * for them is reported rather than handed out short. */
static void test_buffer_from_the_page_pool(void **state)
{
    (void)state;
    const size_t pool = (BOUNCE_BUFFER_PAGES + 1) * 4096u;
    uint8_t *heap = aligned_alloc(4096, pool);
    assert_non_null(heap);
    memset(heap, 0xA5, pool);
    page_pool_init(&hv_pages, (uint64_t)(uintptr_t)heap, pool);
    struct bounce_buffer b;
    assert_true(bounce_buffer_alloc(&b));
    assert_int_equal(b.size, BOUNCE_BUFFER_PAGES * 4096u);
    assert_true(b.data >= heap && b.data + b.size <= heap + pool);
    assert_int_equal((uintptr_t)b.data % 4096, 0);
    for (uint64_t i = 0; i < b.size; i++)
        if (b.data[i] != 0)
            fail_msg("bounce byte %llu is not zeroed", (unsigned long long)i);
    assert_false(bounce_buffer_alloc(&b));      /* one page left */
    assert_null(b.data);
    assert_int_equal(b.size, 0);
    page_pool_init(&hv_pages, 0, 0);
    free(heap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_write_split_to_fit_the_bounce_buffer, setup),
        cmocka_unit_test_setup(test_read_copied_out_piece_by_piece, setup),
        cmocka_unit_test_setup(test_partial_sector_of_bounce_space_unused, setup),
        cmocka_unit_test_setup(test_large_sectors, setup),
        cmocka_unit_test_setup(test_first_error_ends_the_transfer, setup),
        cmocka_unit_test_setup(test_degenerate_requests, setup),
        cmocka_unit_test(test_buffer_from_the_page_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
