/* HC_DISK_BENCH (vmm/exit/disk_bench.c) through the VMCALL handler: off outside benchmark mode,
 * every guest-supplied field checked, the measurement confined to the caller's minidisk and at
 * the offsets disk/bench_random.h promises the guest, results copied back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "disk/bench_random.h"
#include "disk/minidisk.h"
#include "exit/disk_bench.h"
#include "exit/handlers.h"
#include "hypercall.h"
#include "mem_blkdev.h"
#include "test_guest_helpers.h"

#define RAM_SIZE     (1u << 16)
#define REQ_GPA      0x1000u
#define DISK_SECTORS 8192u
#define PART_FIRST   2048u
#define PART_LAST    4095u

static struct vm *vm;
static struct vcpu *vcpu;
static struct mem_blkdev *disk;
static struct minidisk md;
static uint8_t scratch[64 << 10];
static uint64_t clock_ticks;

/* Every reading of the clock is 1000 ticks after the previous one. */
static uint64_t fake_now(void) { return clock_ticks += 1000; }

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("bench", RAM_SIZE);
    vcpu = test_vcpu(vm);
    disk = mem_blkdev_new(DISK_SECTORS, 512, 0);
    struct gpt_partition p = { .first_lba = PART_FIRST, .last_lba = PART_LAST };
    strcpy(p.name, "benchdisk");
    assert_int_equal(minidisk_init(&md, &disk->dev, &p, false), BLKDEV_OK);
    vm->disk = &md;
    struct diskcheck_env host = { .now = fake_now, .ticks_per_ms = 1000, .buf = scratch, .buf_size = sizeof(scratch) };
    disk_bench_enable(&host);
    clock_ticks = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    disk_bench_enable(NULL);
    mem_blkdev_free(disk);
    test_vm_free(vm);
    return 0;
}

static struct hc_disk_bench *shared(void) { return (struct hc_disk_bench *)(void *)(vm->ram + REQ_GPA); }

static int64_t call(uint64_t gpa, uint64_t size)
{
    vcpu->gpr[REG_RAX] = HC_DISK_BENCH;
    vcpu->gpr[REG_RDI] = gpa;
    vcpu->gpr[REG_RSI] = size;
    assert_int_equal(exit_handle_vmcall(vcpu), EXIT_ADVANCE);
    return (int64_t)vcpu->gpr[REG_RAX];
}

static void ask(uint64_t seq_bytes, uint64_t request_bytes, uint64_t random_ops, uint64_t seed)
{
    *shared() = (struct hc_disk_bench){ .seq_bytes = seq_bytes, .request_bytes = request_bytes,
                                        .random_ops = random_ops, .seed = seed };
}

static void measures_the_callers_minidisk(void **state)
{
    (void)state;
    ask(256 << 10, 32 << 10, 10, 1234);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), 0);
    const struct hc_disk_bench *r = shared();
    assert_int_equal(r->seq_bytes, 256 << 10);                /* inputs left as they were */
    assert_int_equal(r->seq_write_bytes, 256 << 10);
    assert_int_equal(r->seq_read_bytes, 256 << 10);
    assert_int_equal(r->seq_write_ticks, 1000);               /* one clock step per test */
    assert_int_equal(r->seq_read_ticks, 1000);
    assert_int_equal(r->rand_write_ops, 10);
    assert_int_equal(r->rand_read_ops, 10);
    assert_int_equal(r->rand_write_ticks, 1000);
    assert_true(mem_blkdev_all_within(disk, PART_FIRST, PART_LAST));

    /* 8 sequential writes of 64 sectors from the partition's start, 8 reads, then the random
     * slots the guest computes from the same seed: first the writes, then reads at the same slots. */
    assert_int_equal(disk->log_count, 8 + 8 + 10 + 10);
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(disk->log[i].kind, i < 8 ? MEM_ACCESS_WRITE : MEM_ACCESS_READ);
        assert_int_equal(disk->log[i].lba, PART_FIRST + 64 * (i % 8));
        assert_int_equal(disk->log[i].count, 64);
    }
    for (unsigned pass = 0; pass < 2; pass++) {
        struct disk_bench_random rng;
        disk_bench_random_init(&rng, 1234, (PART_LAST - PART_FIRST + 1) / 8);
        for (unsigned i = 0; i < 10; i++) {
            const struct mem_access *a = &disk->log[16 + 10 * pass + i];
            assert_int_equal(a->kind, pass == 0 ? MEM_ACCESS_WRITE : MEM_ACCESS_READ);
            assert_int_equal(a->lba, PART_FIRST + 8 * disk_bench_random_slot(&rng));
            assert_int_equal(a->count, 8);
        }
    }
}

static void sequential_size_clipped_to_the_minidisk(void **state)
{
    (void)state;
    ask(UINT64_MAX, 64 << 10, 0, 1);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), 0);
    assert_int_equal(shared()->seq_write_bytes, (PART_LAST - PART_FIRST + 1) * 512ull);
    assert_int_equal(shared()->rand_write_ops, 0);
    assert_true(mem_blkdev_all_within(disk, PART_FIRST, PART_LAST));
}

static void off_outside_benchmark_mode(void **state)
{
    (void)state;
    disk_bench_enable(NULL);
    ask(4096, 4096, 1, 1);
    shared()->seq_write_bytes = 0x7777777777777777ull;
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EPERM);
    assert_int_equal(disk->log_count, 0);
    assert_int_equal(shared()->seq_write_bytes, 0x7777777777777777ull);   /* untouched */
}

static void bad_addresses_and_sizes(void **state)
{
    (void)state;
    ask(4096, 4096, 1, 1);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench) - 8), HC_EINVAL);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench) + 8), HC_EINVAL);
    assert_int_equal(call(RAM_SIZE - 16, sizeof(struct hc_disk_bench)), HC_EFAULT);
    assert_int_equal(call(UINT64_MAX - 15, sizeof(struct hc_disk_bench)), HC_EFAULT);
    assert_int_equal(call(RAM_SIZE, sizeof(struct hc_disk_bench)), HC_EFAULT);
    assert_int_equal(disk->log_count, 0);
}

static void bad_parameters(void **state)
{
    (void)state;
    static const uint64_t bad_requests[] = { 0, 100, 513, HC_DISK_BENCH_REQUEST_MAX + 512,
                                             sizeof(scratch) + 512, UINT64_MAX };
    for (unsigned i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
        ask(4096, bad_requests[i], 1, 1);
        assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EINVAL);
    }
    ask(4096, 4096, HC_DISK_BENCH_RANDOM_MAX + 1ull, 1);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EINVAL);
    ask(4096, 4096, UINT64_MAX, 1);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EINVAL);
    assert_int_equal(disk->log_count, 0);
}

static void no_disk_or_read_only(void **state)
{
    (void)state;
    ask(4096, 4096, 1, 1);
    vm->disk = NULL;
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_ENODEV);
    md.read_only = true;
    vm->disk = &md;
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EROFS);
    assert_int_equal(disk->log_count, 0);
}

static void disk_error_is_eio(void **state)
{
    (void)state;
    disk->fail_lba = PART_FIRST + 8;
    disk->fail_err = BLKDEV_EIO;
    ask(64 << 10, 4096, 4, 1);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EIO);
    assert_int_equal(shared()->seq_write_bytes, 0);   /* still the request: no results */
    assert_non_null(strstr(host_console(), "disk driver measurement failed"));
}

static void user_mode_refused(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_SS_AR, 0xC0F3);   /* DPL 3: CPL 3 */
    ask(4096, 4096, 1, 1);
    assert_int_equal(call(REQ_GPA, sizeof(struct hc_disk_bench)), HC_EPERM);
    assert_int_equal(disk->log_count, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(measures_the_callers_minidisk),
        T(sequential_size_clipped_to_the_minidisk),
        T(off_outside_benchmark_mode),
        T(bad_addresses_and_sizes),
        T(bad_parameters),
        T(no_disk_or_read_only),
        T(disk_error_is_eio),
        T(user_mode_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
