/* Tests for the virtio-blk request layer (vmm/dev/virtio_blk.c): a guest with calloc'd RAM,
 * rings built in it, a minidisk over a RAM disk whose access log proves that nothing outside
 * the partition is read or written, and the hostile requests of the minidisk issue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/virtio_blk.h"
#include "test_guest_helpers.h"
#include "mem_blkdev.h"
#include "mem/guest_mem.h"

#define RAM_SIZE   0x100000ull
#define DESC_GPA   0x1000ull
#define AVAIL_GPA  0x2000ull
#define USED_GPA   0x3000ull
#define TABLE_GPA  0x4000ull
#define HDR_GPA    0x8000ull
#define STATUS_GPA 0x9000ull
#define DATA_GPA   0x10000ull

#define DISK_SECTORS 4096u
#define PART_FIRST   1000u
#define PART_LAST    1999u
#define PART_SECTORS (PART_LAST - PART_FIRST + 1)
#define GUARD        0xEE

static struct vm *vm;
static struct vcpu *vcpu;
static struct mem_blkdev *disk;
static struct virtio_blk blk;
static uint16_t avail_idx;
static uint16_t qsize = 16;
static unsigned used_calls, reset_calls;

static void w16(uint64_t gpa, uint16_t v) { memcpy(vm->ram + gpa, &v, 2); }
static void w32(uint64_t gpa, uint32_t v) { memcpy(vm->ram + gpa, &v, 4); }
static void w64(uint64_t gpa, uint64_t v) { memcpy(vm->ram + gpa, &v, 8); }
static uint16_t r16(uint64_t gpa) { uint16_t v; memcpy(&v, vm->ram + gpa, 2); return v; }
static uint32_t r32(uint64_t gpa) { uint32_t v; memcpy(&v, vm->ram + gpa, 4); return v; }

/* Every device operation releases what it pinned: a leaked pin fails the test that leaks it. */
static void expect_no_pins(void)
{
    assert_int_equal(guest_mem_live_pins(vm), 0);
}

static int notify(unsigned queue)
{
    int n = virtio_blk_notify(&blk, queue);
    expect_no_pins();
    return n;
}

static void on_used(void *ctx, struct virtio_blk *b, unsigned queue)
{
    (void)ctx; (void)b;
    assert_int_equal(queue, 0);
    used_calls++;
}

static void on_reset(void *ctx, struct virtio_blk *b)
{
    (void)ctx; (void)b;
    reset_calls++;
}

static void start_queue(void)
{
    struct virtq *q = virtio_blk_queue(&blk, 0);
    assert_non_null(q);
    q->size = qsize;
    q->desc_gpa = DESC_GPA;
    q->avail_gpa = AVAIL_GPA;
    q->used_gpa = USED_GPA;
    assert_int_equal(virtq_enable(q, vm), VIRTQ_OK);
    avail_idx = 0;
    w16(AVAIL_GPA + 2, 0);
    w16(USED_GPA + 2, 0);
}

static void make_device(bool read_only, uint64_t features)
{
    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "guest1");
    p.first_lba = PART_FIRST;
    p.last_lba = PART_LAST;
    assert_int_equal(minidisk_init(&md, &disk->dev, &p, read_only), 0);
    virtio_blk_init(&blk, vm, &md, NULL);
    blk.hooks = (struct virtio_blk_hooks){ on_used, on_reset, NULL };
    virtio_blk_set_driver_features(&blk, features);
    start_queue();
}

static const uint64_t ALL_FEATURES = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
                                     1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_SEG_MAX |
                                     1ull << VIRTIO_BLK_F_BLK_SIZE;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("vm1", RAM_SIZE);
    vcpu = test_vcpu(vm);
    qsize = 16;
    disk = mem_blkdev_new(DISK_SECTORS, 512, 16);
    memset(disk->data, GUARD, (size_t)DISK_SECTORS * 512);
    used_calls = reset_calls = 0;
    make_device(false, ALL_FEATURES);
    return 0;
}

/* Every byte outside the partition still holds the guard pattern, and no driver call
 * touched a sector outside it. */
static void expect_outside_untouched(void)
{
    assert_true(mem_blkdev_all_within(disk, PART_FIRST, PART_LAST));
    for (uint64_t i = 0; i < (uint64_t)DISK_SECTORS * 512; i++)
        if (i < PART_FIRST * 512ull || i >= (PART_LAST + 1) * 512ull)
            if (disk->data[i] != GUARD)
                fail_msg("byte %llu outside the partition changed", (unsigned long long)i);
}

static int teardown(void **state)
{
    (void)state;
    expect_outside_untouched();
    expect_no_pins();
    mem_blkdev_free(disk);
    test_vm_free(vm);
    return 0;
}

static void desc_at(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t d = table + 16ull * i;
    w64(d, addr);
    w32(d + 8, len);
    w16(d + 12, flags);
    w16(d + 14, next);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    desc_at(DESC_GPA, i, addr, len, flags, next);
}

static void header(uint64_t gpa, uint32_t type, uint64_t sector)
{
    w32(gpa, type);
    w32(gpa + 4, 0xFFFFFFFF);     /* reserved: ignored */
    w64(gpa + 8, sector);
}

static void offer(uint16_t head)
{
    w16(AVAIL_GPA + 4 + 2 * (avail_idx % qsize), head);
    avail_idx++;
    w16(AVAIL_GPA + 2, avail_idx);
}

/* The used element of the last completed request. */
static uint32_t last_used_len(void)
{
    uint16_t idx = r16(USED_GPA + 2);
    assert_true(idx > 0);
    return r32(USED_GPA + 4 + 8 * ((idx - 1) % qsize) + 4);
}

static uint32_t last_used_id(void)
{
    uint16_t idx = r16(USED_GPA + 2);
    return r32(USED_GPA + 4 + 8 * ((idx - 1) % qsize));
}

/* Data bytes the disk moved (successful driver calls). */
static uint64_t disk_bytes(void)
{
    return (disk->dev.stats.sectors_read + disk->dev.stats.sectors_written) * 512;
}

/* One turn of the deferred work, as the run loop takes it before the guest's next entry; no
 * turn may move more than the step budget. */
static void run_pending(void)
{
    assert_true(vm->device_work.pending);
    assert_ptr_equal(vm->device_work.run, virtio_blk_run);
    assert_ptr_equal(vm->device_work.ctx, &blk);
    uint64_t before = disk_bytes();
    vm->device_work.run(vm->device_work.ctx);
    assert_true(disk_bytes() - before <= VIRTIO_BLK_STEP_BYTES);
    expect_no_pins();
}

/* Turns until the device has nothing left; returns how many it took. */
static unsigned drain(void)
{
    unsigned turns = 0;
    while (vm->device_work.pending) {
        assert_true(turns < 100000);
        run_pending();
        turns++;
    }
    return turns;
}

/* A three-descriptor request: header, optional data, status. Returns the status byte. */
static int request(uint32_t type, uint64_t sector, uint32_t data_len)
{
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    header(HDR_GPA, type, sector);
    vm->ram[STATUS_GPA] = 0xAA;
    if (data_len) {
        desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
        desc(1, DATA_GPA, data_len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), 2);
        desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    } else {
        desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
        desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    }
    offer(0);
    uint16_t used_before = r16(USED_GPA + 2);
    int n = notify(0);
    if (n < 0)
        return -1;
    drain();
    assert_int_equal((uint16_t)(r16(USED_GPA + 2) - used_before), 1);
    assert_int_equal(last_used_id(), 0);
    return vm->ram[STATUS_GPA];
}

static void test_features(void **state)
{
    (void)state;
    uint64_t f = virtio_blk_device_features(&blk);
    assert_true(f & 1ull << 32);
    assert_true(f & 1ull << 28);
    assert_true(f & 1ull << 2);
    assert_true(f & 1ull << 6);
    assert_true(f & 1ull << 9);
    assert_false(f & 1ull << 5);
    assert_false(f & 1ull << 1);                /* SIZE_MAX not offered */
    virtio_blk_set_driver_features(&blk, ~0ull);
    assert_int_equal(blk.driver_features, f);
    make_device(true, ALL_FEATURES);
    assert_true(virtio_blk_device_features(&blk) & 1ull << VIRTIO_BLK_F_RO);
}

static void test_config_space(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(virtio_blk_config_read(&blk, 0, 8, &v), 0);
    assert_int_equal(v, PART_SECTORS);
    assert_int_equal(virtio_blk_config_read(&blk, 0, 4, &v), 0);
    assert_int_equal(v, PART_SECTORS);
    assert_int_equal(virtio_blk_config_read(&blk, 4, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(virtio_blk_config_read(&blk, 12, 4, &v), 0);
    assert_int_equal(v, 254);                           /* seg_max */
    assert_int_equal(virtio_blk_config_read(&blk, 20, 4, &v), 0);
    assert_int_equal(v, 512);                           /* blk_size */
    assert_int_equal(virtio_blk_config_read(&blk, 21, 1, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(virtio_blk_config_read(&blk, 56, 4, &v), 0);
    v = 77;
    assert_int_equal(virtio_blk_config_read(&blk, 60, 1, &v), -1);
    assert_int_equal(virtio_blk_config_read(&blk, 57, 4, &v), -1);
    assert_int_equal(virtio_blk_config_read(&blk, 0, 3, &v), -1);
    assert_int_equal(virtio_blk_config_read(&blk, 0, 16, &v), -1);
    assert_int_equal(virtio_blk_config_read(&blk, UINT64_MAX, 1, &v), -1);
    assert_int_equal(virtio_blk_config_read(&blk, UINT64_MAX - 2, 4, &v), -1);
    assert_int_equal(v, 77);
}

static void test_first_and_last_sectors(void **state)
{
    (void)state;
    memset(vm->ram + DATA_GPA, 0x11, 512);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), 1);
    memset(vm->ram + DATA_GPA, 0x22, 512);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, PART_SECTORS - 1, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(mem_blkdev_sector(disk, PART_FIRST)[0], 0x11);
    assert_int_equal(mem_blkdev_sector(disk, PART_FIRST)[511], 0x11);
    assert_int_equal(mem_blkdev_sector(disk, PART_LAST)[0], 0x22);
    assert_int_equal(mem_blkdev_sector(disk, PART_LAST - 1)[0], GUARD);

    memset(vm->ram + DATA_GPA, 0, 1024);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), 513);
    assert_int_equal(vm->ram[DATA_GPA + 511], 0x11);
    assert_int_equal(vm->ram[DATA_GPA + 512], 0);
    assert_int_equal(request(VIRTIO_BLK_T_IN, PART_SECTORS - 2, 1024), VIRTIO_BLK_S_OK);
    assert_int_equal(vm->ram[DATA_GPA], GUARD);         /* partition sector 998 was never written */
    assert_int_equal(vm->ram[DATA_GPA + 512], 0x22);
    assert_int_equal(blk.stats.reads, 2);
    assert_int_equal(blk.stats.writes, 2);
    assert_int_equal(used_calls, 4);
}

static void test_whole_partition_in_one_request(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < PART_SECTORS * 512; i++)
        vm->ram[DATA_GPA + i] = (uint8_t)(i / 512 + i);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, PART_SECTORS * 512), VIRTIO_BLK_S_OK);
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST), vm->ram + DATA_GPA, PART_SECTORS * 512);
    memset(vm->ram + DATA_GPA, 0, PART_SECTORS * 512);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, PART_SECTORS * 512), VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), PART_SECTORS * 512 + 1);
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST), vm->ram + DATA_GPA, PART_SECTORS * 512);
}

static void test_out_of_range_requests(void **state)
{
    (void)state;
    static const struct { uint64_t sector; uint32_t len; } bad[] = {
        { PART_SECTORS - 1, 1024 },         /* crosses the end */
        { PART_SECTORS, 512 },              /* starts at the end */
        { PART_SECTORS, 0 },
        { PART_SECTORS + 1, 512 },
        { UINT64_MAX, 512 },
        { UINT64_MAX, 0 },
        { UINT64_MAX - 1, 1024 },
        { 1, PART_SECTORS * 512 },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mem_blkdev_clear_log(disk);
        assert_int_equal(request(VIRTIO_BLK_T_IN, bad[i].sector, bad[i].len), VIRTIO_BLK_S_IOERR);
        assert_int_equal(last_used_len(), 1);
        assert_int_equal(request(VIRTIO_BLK_T_OUT, bad[i].sector, bad[i].len), VIRTIO_BLK_S_IOERR);
        assert_int_equal(disk->log_count, 0);          /* the disk was not touched at all */
    }
    assert_int_equal(blk.stats.range_errors, 16);
    /* and the device is fine */
    assert_int_equal(request(VIRTIO_BLK_T_IN, PART_SECTORS - 1, 512), VIRTIO_BLK_S_OK);
    assert_false(blk.needs_reset);
}

static void test_bad_data_lengths(void **state)
{
    (void)state;
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 511), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 513), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(disk->log_count, 0);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 5, 0), VIRTIO_BLK_S_OK);     /* empty read: nothing to do */
    assert_int_equal(disk->log_count, 0);
}

static void test_flush(void **state)
{
    (void)state;
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
    assert_int_equal(disk->log_count, 1);
    assert_int_equal(disk->log[0].kind, MEM_ACCESS_FLUSH);
    disk->fail_flush = BLKDEV_EIO;
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk.stats.device_errors, 1);
    disk->fail_flush = 0;
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
}

static void test_write_through_without_flush_feature(void **state)
{
    (void)state;
    make_device(false, 1ull << VIRTIO_F_VERSION_1);
    mem_blkdev_clear_log(disk);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 3, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(disk->log_count, 2);
    assert_int_equal(disk->log[0].kind, MEM_ACCESS_WRITE);
    assert_int_equal(disk->log[1].kind, MEM_ACCESS_FLUSH);
}

static void test_get_id(void **state)
{
    (void)state;
    memset(vm->ram + DATA_GPA, 0x77, 32);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20), VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), 21);
    assert_memory_equal(vm->ram + DATA_GPA, "tessera-vm1-guest1\0\0", 20);
    assert_int_equal(vm->ram[DATA_GPA + 20], 0x77);
    assert_int_equal(disk->log_count, 0);
    /* a short buffer gets what fits */
    memset(vm->ram + DATA_GPA, 0x77, 32);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 7), VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), 8);
    assert_memory_equal(vm->ram + DATA_GPA, "tessera\x77", 8);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 0), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk.stats.get_ids, 3);
}

static void test_get_id_truncated_to_20(void **state)
{
    (void)state;
    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "a-very-long-partition-name");
    p.first_lba = PART_FIRST;
    p.last_lba = PART_LAST;
    assert_int_equal(minidisk_init(&md, &disk->dev, &p, false), 0);
    virtio_blk_init(&blk, vm, &md, NULL);
    virtio_blk_set_driver_features(&blk, ALL_FEATURES);
    start_queue();
    memset(vm->ram + DATA_GPA, 0x77, 32);
    assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20), VIRTIO_BLK_S_OK);
    assert_memory_equal(vm->ram + DATA_GPA, "tessera-vm1-a-very-l", 20);
}

static void test_read_only(void **state)
{
    (void)state;
    make_device(true, ALL_FEATURES);
    mem_blkdev_clear_log(disk);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(disk->log_count, 0);
    assert_int_equal(blk.stats.readonly_errors, 1);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < disk->log_count; i++)
        assert_int_not_equal(disk->log[i].kind, MEM_ACCESS_WRITE);
}

static void test_unsupported_types(void **state)
{
    (void)state;
    static const uint32_t types[] = { 11 /* DISCARD */, 13 /* WRITE_ZEROES */, 2, 0xFFFFFFFF };
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(request(types[i], 0, 512), VIRTIO_BLK_S_UNSUPP);
        assert_int_equal(last_used_len(), 1);
    }
    assert_int_equal(disk->log_count, 0);
    assert_int_equal(blk.stats.unsupported, 4);
}

static void test_device_error(void **state)
{
    (void)state;
    disk->fail_lba = PART_FIRST + 20;
    disk->fail_err = BLKDEV_EIO;
    disk->fail_once = true;
    assert_int_equal(request(VIRTIO_BLK_T_IN, 16, 8 * 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk.stats.device_errors, 1);
    assert_int_equal(disk->dev.stats.read_errors, 1);
    assert_non_null(strstr(host_console(), "read at LBA 1016 failed: I/O error"));
    assert_int_equal(request(VIRTIO_BLK_T_IN, 16, 8 * 512), VIRTIO_BLK_S_OK);
    disk->fail_err = BLKDEV_EIO;
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 20, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk.stats.device_errors, 2);
    disk->dev.ready = false;
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_IOERR);
    assert_false(blk.needs_reset);
}

/* Header split 4 + 12, data split 100 + 412 + 1000 + 24 (sectors straddle buffers). */
static void test_scattered_buffers(void **state)
{
    (void)state;
    static const uint32_t lens[] = { 100, 412, 1000, 24 };
    uint64_t addr[4] = { DATA_GPA + 0x3000, DATA_GPA, DATA_GPA + 0x5001, DATA_GPA + 0x200 };
    for (int pass = 0; pass < 2; pass++) {
        bool in = pass == 1;
        header(HDR_GPA, in ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 7);
        desc(0, HDR_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
        desc(1, HDR_GPA + 4, 12, VIRTQ_DESC_F_NEXT, 2);
        for (unsigned i = 0; i < 4; i++) {
            desc(2 + i, addr[i], lens[i], VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), (uint16_t)(3 + i));
            for (uint32_t j = 0; j < lens[i]; j++)
                vm->ram[addr[i] + j] = in ? 0 : (uint8_t)(i * 50 + j);
        }
        desc(6, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
        offer(0);
        assert_int_equal(notify(0), 1);
        assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
        assert_int_equal(last_used_len(), in ? 1537 : 1);
    }
    /* on disk: the buffers concatenated, at partition sector 7 */
    uint8_t *d = mem_blkdev_sector(disk, PART_FIRST + 7);
    unsigned pos = 0;
    for (unsigned i = 0; i < 4; i++)
        for (uint32_t j = 0; j < lens[i]; j++, pos++) {
            assert_int_equal(d[pos], (uint8_t)(i * 50 + j));
            assert_int_equal(vm->ram[addr[i] + j], (uint8_t)(i * 50 + j));   /* read back */
        }
    assert_int_equal(d[1536], GUARD);
}

/* Descriptors that follow each other in guest-physical memory reach the disk as one transfer:
 * five data segments in two adjacent runs (2560 + 1536 bytes) are two driver calls, not five. */
static void test_adjacent_segments_one_transfer(void **state)
{
    (void)state;
    static const uint32_t lens[] = { 1024, 1024, 512, 1024, 512 };
    static const uint64_t addr[] = { DATA_GPA, DATA_GPA + 1024, DATA_GPA + 2048, DATA_GPA + 0x4000,
                                     DATA_GPA + 0x4400 };
    for (int pass = 0; pass < 2; pass++) {
        bool in = pass == 1;
        header(HDR_GPA, in ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 20);
        desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
        for (unsigned i = 0; i < 5; i++) {
            desc(1 + i, addr[i], lens[i], VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), (uint16_t)(2 + i));
            for (uint32_t j = 0; j < lens[i]; j++)
                vm->ram[addr[i] + j] = in ? 0 : (uint8_t)(i * 40 + j / 3);
        }
        desc(6, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
        mem_blkdev_clear_log(disk);
        offer(0);
        assert_int_equal(notify(0), 1);
        assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
        assert_int_equal(disk->log_count, 2);
        assert_int_equal(disk->log[0].kind, in ? MEM_ACCESS_READ : MEM_ACCESS_WRITE);
        assert_int_equal(disk->log[0].lba, PART_FIRST + 20);
        assert_int_equal(disk->log[0].count, 5);
        assert_int_equal(disk->log[1].lba, PART_FIRST + 25);
        assert_int_equal(disk->log[1].count, 3);
    }
    /* on disk and read back: the buffers in chain order */
    const uint8_t *d = mem_blkdev_sector(disk, PART_FIRST + 20);
    unsigned pos = 0;
    for (unsigned i = 0; i < 5; i++)
        for (uint32_t j = 0; j < lens[i]; j++, pos++) {
            assert_int_equal(d[pos], (uint8_t)(i * 40 + j / 3));
            assert_int_equal(vm->ram[addr[i] + j], (uint8_t)(i * 40 + j / 3));
        }
    assert_int_equal(d[4096], GUARD);
}

/* A run of adjacent segments that ends inside a sector: the whole sectors go straight to the
 * disk, the split sector through the bounce buffer, and the bytes land where they belong. */
static void test_adjacent_segments_with_split_sector(void **state)
{
    (void)state;
    static const uint32_t lens[] = { 700, 900, 448 };
    static const uint64_t addr[] = { DATA_GPA, DATA_GPA + 700, DATA_GPA + 0x4000 };
    header(HDR_GPA, VIRTIO_BLK_T_OUT, 3);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    for (unsigned i = 0; i < 3; i++) {
        desc(1 + i, addr[i], lens[i], VIRTQ_DESC_F_NEXT, (uint16_t)(2 + i));
        for (uint32_t j = 0; j < lens[i]; j++)
            vm->ram[addr[i] + j] = (uint8_t)(i * 70 + j);
    }
    desc(4, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    mem_blkdev_clear_log(disk);
    offer(0);
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(disk->log_count, 2);
    assert_int_equal(disk->log[0].count, 3);          /* 1536 of the 1600 adjacent bytes */
    assert_int_equal(disk->log[1].count, 1);          /* 64 + 448 bounced */
    const uint8_t *d = mem_blkdev_sector(disk, PART_FIRST + 3);
    unsigned pos = 0;
    for (unsigned i = 0; i < 3; i++)
        for (uint32_t j = 0; j < lens[i]; j++, pos++)
            assert_int_equal(d[pos], (uint8_t)(i * 70 + j));
}

static void test_indirect_request(void **state)
{
    (void)state;
    header(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
    memset(vm->ram + DATA_GPA, 0x3C, 1024);
    desc_at(TABLE_GPA, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc_at(TABLE_GPA, 1, DATA_GPA, 1024, VIRTQ_DESC_F_NEXT, 2);
    desc_at(TABLE_GPA, 2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    desc(4, TABLE_GPA, 48, VIRTQ_DESC_F_INDIRECT, 0);
    offer(4);
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_id(), 4);
    assert_int_equal(mem_blkdev_sector(disk, PART_FIRST + 1)[511], 0x3C);
}

static void test_layout_errors_fail_the_request_only(void **state)
{
    (void)state;
    /* header shorter than 16 bytes */
    header(HDR_GPA, VIRTIO_BLK_T_IN, 0);
    desc(0, HDR_GPA, 15, VIRTQ_DESC_F_NEXT, 1);
    desc(1, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    /* readable data after writable data */
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA_GPA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, DATA_GPA + 512, 512, VIRTQ_DESC_F_NEXT, 3);
    desc(3, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    vm->ram[STATUS_GPA] = 0xAA;
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    /* IN with extra readable data, OUT with writable data */
    desc(1, DATA_GPA, 512, VIRTQ_DESC_F_NEXT, 3);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    offer(0);
    vm->ram[STATUS_GPA] = 0xAA;
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);

    /* data buffers outside RAM or overflowing, with a good status byte */
    static const struct { uint64_t addr; uint32_t len; } bad[] = {
        { RAM_SIZE, 512 }, { RAM_SIZE - 256, 512 }, { UINT64_MAX - 255, 512 }, { DATA_GPA, 0xFFFFFE00u },
    };
    for (unsigned i = 0; i < 4; i++) {
        for (int in = 0; in < 2; in++) {
            header(HDR_GPA, in ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, 0);
            desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
            desc(1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0), 2);
            desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
            offer(0);
            vm->ram[STATUS_GPA] = 0xAA;
            mem_blkdev_clear_log(disk);
            assert_int_equal(notify(0), 1);
            assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
            assert_int_equal(disk->log_count, 0);
        }
    }
    /* header outside RAM */
    desc(0, RAM_SIZE - 8, 16, VIRTQ_DESC_F_NEXT, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    assert_false(blk.needs_reset);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(reset_calls, 0);
}

/* A chain whose status byte cannot be written: NEEDS_RESET; nothing more until reset. */
static void expect_needs_reset_then_recover(void)
{
    offer(0);
    mem_blkdev_clear_log(disk);
    assert_int_equal(notify(0), -1);
    assert_true(blk.needs_reset);
    assert_int_equal(reset_calls, 1);
    assert_int_equal(disk->log_count, 0);
    assert_non_null(strstr(host_console(), "guest vm1: virtio-blk:"));
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), -1);      /* stopped */
    assert_int_equal(reset_calls, 1);

    virtio_blk_reset(&blk);
    assert_false(blk.needs_reset);
    virtio_blk_set_driver_features(&blk, ALL_FEATURES);
    start_queue();
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
    reset_calls = 0;
    host_console_reset();
}

static void test_missing_status_needs_reset(void **state)
{
    (void)state;
    header(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA_GPA, 512, 0, 0);                       /* last descriptor not writable */
    expect_needs_reset_then_recover();
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, RAM_SIZE, 1, VIRTQ_DESC_F_WRITE, 0);        /* status outside RAM */
    expect_needs_reset_then_recover();
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, STATUS_GPA, 0, VIRTQ_DESC_F_WRITE, 0);      /* zero-length status */
    expect_needs_reset_then_recover();
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, UINT64_MAX, 2, VIRTQ_DESC_F_WRITE, 0);      /* status address wraps */
    expect_needs_reset_then_recover();
}

static void test_ring_errors_need_reset(void **state)
{
    (void)state;
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);   /* loop */
    expect_needs_reset_then_recover();
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 99);                          /* next out of range */
    expect_needs_reset_then_recover();
    desc(0, TABLE_GPA, 40, VIRTQ_DESC_F_INDIRECT, 0);                     /* bad indirect length */
    expect_needs_reset_then_recover();
    w16(AVAIL_GPA + 4 + 2 * (avail_idx % 16), 16);                         /* head out of range */
    avail_idx++;
    w16(AVAIL_GPA + 2, avail_idx);
    assert_int_equal(notify(0), -1);
    assert_true(blk.needs_reset);
    assert_int_equal(blk.vq[0].error, VIRTQ_EHEAD);
}

static void test_notify_bad_queue_index(void **state)
{
    (void)state;
    assert_int_equal(notify(1), -1);
    assert_int_equal(notify(0xFFFFFFFF), -1);
    assert_int_equal(blk.stats.bad_notifies, 2);
    assert_false(blk.needs_reset);
    assert_null(virtio_blk_queue(&blk, 1));
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
}

static void test_several_requests_one_notify(void **state)
{
    (void)state;
    /* three reads of sectors 0, 1, 2 into separate buffers, one notification */
    for (unsigned i = 0; i < 3; i++) {
        mem_blkdev_sector(disk, PART_FIRST + i)[0] = (uint8_t)(0x40 + i);
        header(HDR_GPA + 16 * i, VIRTIO_BLK_T_IN, i);
        desc(3 * i, HDR_GPA + 16 * i, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(3 * i + 1));
        desc(3 * i + 1, DATA_GPA + 512 * i, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(3 * i + 2));
        desc(3 * i + 2, STATUS_GPA + i, 1, VIRTQ_DESC_F_WRITE, 0);
        offer((uint16_t)(3 * i));
    }
    assert_int_equal(notify(0), 3);
    assert_int_equal(used_calls, 1);
    assert_int_equal(r16(USED_GPA + 2), 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(vm->ram[STATUS_GPA + i], 0);
        assert_int_equal(vm->ram[DATA_GPA + 512 * i], 0x40 + i);
        assert_int_equal(r32(USED_GPA + 4 + 8 * i), 3 * i);
        assert_int_equal(r32(USED_GPA + 8 + 8 * i), 513);
    }
    assert_int_equal(notify(0), 0);
    assert_int_equal(used_calls, 1);
    assert_int_equal(blk.stats.requests, 3);
}


/* ---- Bounded work per step: a notify does one budget's worth, the rest waits in
 * vm->device_work for the guest's later turns. ---- */

#define BIG_RAM          (20ull << 20)
#define BIG_PART_FIRST   64u
#define BIG_PART_SECTORS ((16u << 20) / 512)          /* a 16 MiB minidisk */
#define BIG_DISK_SECTORS (BIG_PART_FIRST + BIG_PART_SECTORS + 64u)
#define BIG_DATA_GPA     (1ull << 20)
#define BIG_REQUEST      (16u << 20)                   /* the whole minidisk in one request */

static uint8_t big_pattern(uint64_t byte) { return (uint8_t)(byte / 512 * 7 + byte % 251); }

static int setup_big(void **state)
{
    (void)state;
    vm = test_vm_new("vm1", BIG_RAM);
    vcpu = test_vcpu(vm);
    qsize = VIRTQ_MAX_SIZE;
    disk = mem_blkdev_new(BIG_DISK_SECTORS, 512, 256);
    memset(disk->data, GUARD, (size_t)BIG_DISK_SECTORS * 512);
    uint8_t *part = mem_blkdev_sector(disk, BIG_PART_FIRST);
    for (uint64_t i = 0; i < (uint64_t)BIG_PART_SECTORS * 512; i++)
        part[i] = big_pattern(i);
    used_calls = reset_calls = 0;
    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "big");
    p.first_lba = BIG_PART_FIRST;
    p.last_lba = BIG_PART_FIRST + BIG_PART_SECTORS - 1;
    assert_int_equal(minidisk_init(&md, &disk->dev, &p, false), 0);
    virtio_blk_init(&blk, vm, &md, NULL);
    blk.hooks = (struct virtio_blk_hooks){ on_used, on_reset, NULL };
    virtio_blk_set_driver_features(&blk, ALL_FEATURES);
    start_queue();
    return 0;
}

static int teardown_big(void **state)
{
    (void)state;
    assert_true(mem_blkdev_all_within(disk, BIG_PART_FIRST, BIG_PART_FIRST + BIG_PART_SECTORS - 1));
    expect_no_pins();
    mem_blkdev_free(disk);
    test_vm_free(vm);
    return 0;
}

/* The denial of service of the issue: the avail ring names the same 16 MiB read 256 times.
 * One notify moves at most the step budget and leaves the rest pending; the guest's later
 * turns finish every request, each avail entry exactly once, with the right data. */
static void test_notify_bounded_by_bytes(void **state)
{
    (void)state;
    header(HDR_GPA, VIRTIO_BLK_T_IN, 0);
    vm->ram[STATUS_GPA] = 0xAA;
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, BIG_DATA_GPA, BIG_REQUEST, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
        offer(0);

    assert_int_equal(notify(0), 0);       /* nothing finished yet */
    assert_true(disk_bytes() > 0);
    assert_true(disk_bytes() <= VIRTIO_BLK_STEP_BYTES);
    assert_true(vm->device_work.pending);
    assert_int_equal(r16(USED_GPA + 2), 0);                 /* no used entry before the end */
    assert_int_equal(vm->ram[STATUS_GPA], 0xAA);

    unsigned turns = drain();
    assert_true(turns >= (uint64_t)VIRTQ_MAX_SIZE * BIG_REQUEST / VIRTIO_BLK_STEP_BYTES - 1);
    assert_false(vm->device_work.pending);
    assert_int_equal(disk_bytes(), (uint64_t)VIRTQ_MAX_SIZE * BIG_REQUEST);
    assert_int_equal(r16(USED_GPA + 2), VIRTQ_MAX_SIZE);
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++) {
        assert_int_equal(r32(USED_GPA + 4 + 8 * i), 0);
        assert_int_equal(r32(USED_GPA + 8 + 8 * i), BIG_REQUEST + 1);
    }
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_memory_equal(vm->ram + BIG_DATA_GPA, mem_blkdev_sector(disk, BIG_PART_FIRST), BIG_REQUEST);
    assert_int_equal(blk.stats.requests, VIRTQ_MAX_SIZE);
    assert_int_equal(blk.stats.reads, VIRTQ_MAX_SIZE);
    /* Drained: a turn now (a stale call) and a notify do nothing. */
    uint64_t moved = disk_bytes();
    virtio_blk_run(&blk);
    assert_int_equal(notify(0), 0);
    assert_int_equal(disk_bytes(), moved);
    assert_false(vm->device_work.pending);
}

/* Requests without data are bounded too: a full ring of GET_IDs (again one head) takes
 * several steps, each completing at most STEP_BYTES / REQUEST_COST of them. */
static void test_notify_bounded_by_request_count(void **state)
{
    (void)state;
    header(HDR_GPA, VIRTIO_BLK_T_GET_ID, 0);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, BIG_DATA_GPA, VIRTIO_BLK_ID_BYTES, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
        offer(0);
    const int per_step = VIRTIO_BLK_STEP_BYTES / VIRTIO_BLK_REQUEST_COST;
    assert_int_equal(notify(0), per_step);
    assert_int_equal(r16(USED_GPA + 2), per_step);
    assert_int_equal(used_calls, 1);
    assert_true(vm->device_work.pending);
    assert_int_equal(drain(), VIRTQ_MAX_SIZE / per_step - 1);
    assert_int_equal(r16(USED_GPA + 2), VIRTQ_MAX_SIZE);
    assert_int_equal(used_calls, VIRTQ_MAX_SIZE / per_step);       /* one signal per step */
    assert_memory_equal(vm->ram + BIG_DATA_GPA, "tessera-vm1-big\0\0\0\0\0", 20);
}

/* A fake clock: the disk takes SECTOR_TICKS per sector moved and FLUSH_TICKS per flush. */
#define STEP_TICKS   40000u
#define SECTOR_TICKS 1000u
#define FLUSH_TICKS  STEP_TICKS

static uint64_t fake_now(void)
{
    return 123456789u + (disk->dev.stats.sectors_read + disk->dev.stats.sectors_written) * SECTOR_TICKS +
           disk->dev.stats.flushes * FLUSH_TICKS;
}

static uint64_t fake_ticks_of(void (*step)(void))
{
    uint64_t t0 = fake_now();
    step();
    return fake_now() - t0;
}

static void notify_queue0(void) { assert_true(notify(0) >= 0); }
static void one_turn(void) { run_pending(); }

/* On a slow disk the time budget ends a step long before the byte budget: each step's disk
 * time stays within step_ticks, and the request still completes with the right data. */
static void test_time_budget_fake_clock(void **state)
{
    (void)state;
    struct minidisk md = blk.md;
    const struct virtio_blk_clock clock = { fake_now, STEP_TICKS };
    virtio_blk_init(&blk, vm, &md, &clock);
    blk.hooks = (struct virtio_blk_hooks){ on_used, on_reset, NULL };
    virtio_blk_set_driver_features(&blk, ALL_FEATURES);
    start_queue();
    for (unsigned i = 0; i < PART_SECTORS; i++)
        memset(mem_blkdev_sector(disk, PART_FIRST + i), (int)(i * 3 + 1), 512);

    header(HDR_GPA, VIRTIO_BLK_T_IN, 0);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA_GPA, PART_SECTORS * 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    assert_true(fake_ticks_of(notify_queue0) <= STEP_TICKS);
    assert_true(disk_bytes() < VIRTIO_BLK_STEP_BYTES / 4);     /* time, not bytes, ended it */
    unsigned turns = 0;
    while (vm->device_work.pending) {
        uint64_t bytes = disk_bytes();
        uint64_t ticks = fake_ticks_of(one_turn);
        assert_true(ticks <= STEP_TICKS);
        assert_true(disk_bytes() - bytes >= STEP_TICKS / SECTOR_TICKS / 2 * 512);   /* and progress */
        assert_true(++turns < 1000);
    }
    assert_true(turns >= PART_SECTORS * SECTOR_TICKS / STEP_TICKS - 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), PART_SECTORS * 512 + 1);
    assert_memory_equal(vm->ram + DATA_GPA, mem_blkdev_sector(disk, PART_FIRST), PART_SECTORS * 512);

    /* A flush that takes a whole step's time: one per step, whatever the byte budget says. */
    for (unsigned i = 0; i < 3; i++) {
        header(HDR_GPA + 16 * i, VIRTIO_BLK_T_FLUSH, 0);
        desc(3 * i, HDR_GPA + 16 * i, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(3 * i + 2));
        desc(3 * i + 2, STATUS_GPA + 1 + i, 1, VIRTQ_DESC_F_WRITE, 0);
        offer((uint16_t)(3 * i));
    }
    assert_int_equal(notify(0), 1);
    assert_true(vm->device_work.pending);
    run_pending();
    assert_true(vm->device_work.pending);
    run_pending();
    assert_false(vm->device_work.pending);                      /* the ring is empty: done */
    assert_int_equal(blk.stats.flushes, 3);
    assert_int_equal(r16(USED_GPA + 2), 4);
}

/* The whole partition (more than one step) as a request that is still running. */
static void start_whole_partition_read(void)
{
    header(HDR_GPA, VIRTIO_BLK_T_IN, 0);
    vm->ram[STATUS_GPA] = 0xAA;
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA_GPA, PART_SECTORS * 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    assert_int_equal(notify(0), 0);
    assert_true(vm->device_work.pending);
}

/* A device reset by the driver drops the request in progress and cancels the pending work:
 * no used entry, no status, no further disk access; the device then works as new. */
static void test_reset_while_pending(void **state)
{
    (void)state;
    start_whole_partition_read();
    uint64_t moved = disk_bytes();
    virtio_blk_reset(&blk);
    assert_false(vm->device_work.pending);
    virtio_blk_run(&blk);                   /* a turn taken anyway changes nothing */
    assert_int_equal(disk_bytes(), moved);
    assert_int_equal(r16(USED_GPA + 2), 0);
    assert_int_equal(vm->ram[STATUS_GPA], 0xAA);
    assert_int_equal(blk.stats.requests, 0);

    virtio_blk_set_driver_features(&blk, ALL_FEATURES);
    start_queue();
    memset(mem_blkdev_sector(disk, PART_FIRST + 9), 0x5A, 512);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 9, 512), VIRTIO_BLK_S_OK);
    assert_int_equal(vm->ram[DATA_GPA], 0x5A);
    assert_false(vm->device_work.pending);
}

/* A disk error in a later step fails that request (IOERR, one used entry, no more disk access
 * for it), as a real device may; the next request is served normally. */
static void test_request_failing_part_way(void **state)
{
    (void)state;
    disk->fail_lba = PART_FIRST + 700;
    disk->fail_err = BLKDEV_EIO;
    disk->fail_once = true;
    start_whole_partition_read();
    assert_int_equal(blk.stats.device_errors, 0);       /* the first step went well */
    drain();
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    assert_int_equal(r16(USED_GPA + 2), 1);
    assert_true(last_used_len() >= 1 && last_used_len() <= 700 * 512 + 1);
    assert_int_equal(blk.stats.device_errors, 1);
    for (unsigned i = 0; i < disk->log_count && i < MEM_BLKDEV_LOG_MAX; i++)
        assert_true(disk->log[i].lba <= PART_FIRST + 700);    /* nothing after the failure */

    /* A write failing part-way: IOERR, and the write-through flush is not attempted. */
    make_device(false, 1ull << VIRTIO_F_VERSION_1);
    mem_blkdev_clear_log(disk);
    disk->fail_lba = PART_FIRST + 800;
    disk->fail_err = BLKDEV_EIO;
    disk->fail_once = true;
    header(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA_GPA, PART_SECTORS * 512, VIRTQ_DESC_F_NEXT, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    assert_int_equal(notify(0), 0);
    drain();
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);
    assert_int_equal(last_used_len(), 1);
    for (unsigned i = 0; i < disk->log_count; i++)
        assert_int_not_equal(disk->log[i].kind, MEM_ACCESS_FLUSH);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
}

/* The guest keeps notifying while a large request runs: every notify is one bounded step,
 * requests complete in ring order, and the small one waits for the large one. */
static void test_interleaved_notifies(void **state)
{
    (void)state;
    start_whole_partition_read();
    header(HDR_GPA + 16, VIRTIO_BLK_T_OUT, 5);
    memset(vm->ram + DATA_GPA + 0x80000, 0x6B, 512);
    desc(3, HDR_GPA + 16, 16, VIRTQ_DESC_F_NEXT, 4);
    desc(4, DATA_GPA + 0x80000, 512, VIRTQ_DESC_F_NEXT, 5);
    desc(5, STATUS_GPA + 1, 1, VIRTQ_DESC_F_WRITE, 0);
    vm->ram[STATUS_GPA + 1] = 0xAA;
    offer(3);
    unsigned notifies = 0;
    while (r16(USED_GPA + 2) < 2) {
        uint64_t before = disk_bytes();
        if (r16(USED_GPA + 2) == 0)
            assert_int_equal(vm->ram[STATUS_GPA + 1], 0xAA);     /* not before the first */
        assert_true(notify(0) >= 0);
        assert_true(disk_bytes() - before <= VIRTIO_BLK_STEP_BYTES);
        assert_true(++notifies < 100);
    }
    assert_true(notifies >= 1);
    assert_false(vm->device_work.pending);
    assert_int_equal(r32(USED_GPA + 4), 0);
    assert_int_equal(r32(USED_GPA + 8), PART_SECTORS * 512 + 1);
    assert_int_equal(r32(USED_GPA + 12), 3);
    assert_int_equal(r32(USED_GPA + 16), 1);
    assert_int_equal(vm->ram[STATUS_GPA + 1], VIRTIO_BLK_S_OK);
    assert_int_equal(mem_blkdev_sector(disk, PART_FIRST + 5)[0], 0x6B);
    /* the read was served before the write: it holds the old sector 5 */
    assert_int_equal(vm->ram[DATA_GPA + 5 * 512], GUARD);
}

/* A broken ring found after a request in progress: that request completes, then NEEDS_RESET
 * ends the pending work. */
static void test_needs_reset_ends_pending_work(void **state)
{
    (void)state;
    start_whole_partition_read();
    offer(16);                                  /* head out of range */
    drain();
    assert_true(blk.needs_reset);
    assert_false(vm->device_work.pending);
    assert_int_equal(r16(USED_GPA + 2), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(reset_calls, 1);
    assert_int_equal(notify(0), -1);
    assert_false(vm->device_work.pending);
}

/* ---- Guest memory that is not one host range ---- */

/* Pins end at every page, as they will where paging backs a guest page by page. */
static int setup_pieces(void **state)
{
    setup(state);
    vm->pin_piece_max = 0x1000;
    return 0;
}

/* One 8 KiB buffer that starts 0x100 into a page: the transfer goes to the disk piece by piece,
 * the sectors that straddle a page boundary through the bounce buffer, and every byte lands
 * where it belongs, both ways. */
static void test_pieces_split_one_buffer(void **state)
{
    (void)state;
    const uint64_t buf = DATA_GPA + 0x100;
    const uint32_t len = 0x2000;
    for (uint32_t i = 0; i < len; i++)
        vm->ram[buf + i] = (uint8_t)(i * 13 + i / 512);
    header(HDR_GPA, VIRTIO_BLK_T_OUT, 40);
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, buf, len, VIRTQ_DESC_F_NEXT, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    mem_blkdev_clear_log(disk);
    offer(0);
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    /* pieces 0xF00, 0x1000, 0x100: 7 sectors, 1 bounced, 7, 1 bounced: never one call */
    assert_true(disk->log_count > 1);
    for (unsigned i = 0; i < disk->log_count; i++)
        assert_true(disk->log[i].count <= 8);
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST + 40), vm->ram + buf, len);

    memset(vm->ram + buf, 0, len);
    header(HDR_GPA, VIRTIO_BLK_T_IN, 40);
    desc(1, buf, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    offer(0);
    assert_int_equal(notify(0), 1);
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(last_used_len(), len + 1);
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(vm->ram[buf + i], (uint8_t)(i * 13 + i / 512));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_features),
        T(test_config_space),
        T(test_first_and_last_sectors),
        T(test_whole_partition_in_one_request),
        T(test_out_of_range_requests),
        T(test_bad_data_lengths),
        T(test_flush),
        T(test_write_through_without_flush_feature),
        T(test_get_id),
        T(test_get_id_truncated_to_20),
        T(test_read_only),
        T(test_unsupported_types),
        T(test_device_error),
        T(test_scattered_buffers),
        T(test_adjacent_segments_one_transfer),
        T(test_adjacent_segments_with_split_sector),
        T(test_indirect_request),
        T(test_layout_errors_fail_the_request_only),
        T(test_missing_status_needs_reset),
        T(test_ring_errors_need_reset),
        T(test_notify_bad_queue_index),
        T(test_several_requests_one_notify),
        T(test_time_budget_fake_clock),
        T(test_reset_while_pending),
        T(test_request_failing_part_way),
        T(test_interleaved_notifies),
        T(test_needs_reset_ends_pending_work),
        cmocka_unit_test_setup_teardown(test_pieces_split_one_buffer, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_first_and_last_sectors, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_whole_partition_in_one_request, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_scattered_buffers, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_get_id, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_request, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_request_failing_part_way, setup_pieces, teardown),
        cmocka_unit_test_setup_teardown(test_notify_bounded_by_bytes, setup_big, teardown_big),
        cmocka_unit_test_setup_teardown(test_notify_bounded_by_request_count, setup_big, teardown_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
