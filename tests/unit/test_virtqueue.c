/* Tests for split-virtqueue parsing (vmm/dev/virtqueue.c) against rings built in a guest's
 * calloc'd RAM: queue set-up checks, chains, index wrap, indirect tables, and every hostile
 * ring the device must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/virtqueue.h"
#include "test_guest_helpers.h"

#define RAM_SIZE  0x100000ull
#define DESC_GPA  0x1000ull
#define AVAIL_GPA 0x2000ull
#define USED_GPA  0x3000ull
#define TABLE_GPA 0x5000ull    /* indirect tables */

static struct vm *vm;
static struct vcpu *vcpu;
static struct virtq q;
static struct virtq_chain chain;
static uint16_t avail_idx;

static void w16(uint64_t gpa, uint16_t v) { memcpy(vm->ram + gpa, &v, 2); }
static void w32(uint64_t gpa, uint32_t v) { memcpy(vm->ram + gpa, &v, 4); }
static void w64(uint64_t gpa, uint64_t v) { memcpy(vm->ram + gpa, &v, 8); }
static uint16_t r16(uint64_t gpa) { uint16_t v; memcpy(&v, vm->ram + gpa, 2); return v; }
static uint32_t r32(uint64_t gpa) { uint32_t v; memcpy(&v, vm->ram + gpa, 4); return v; }

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

static void offer(uint16_t head)
{
    w16(AVAIL_GPA + 4 + 2 * (avail_idx % q.size), head);
    avail_idx++;
    w16(AVAIL_GPA + 2, avail_idx);
}

static void enable(uint16_t size)
{
    virtq_reset(&q);
    q.size = size;
    q.desc_gpa = DESC_GPA;
    q.avail_gpa = AVAIL_GPA;
    q.used_gpa = USED_GPA;
    q.indirect_ok = true;
    assert_int_equal(virtq_enable(&q, vm), VIRTQ_OK);
    avail_idx = 0;
    w16(AVAIL_GPA + 2, 0);
}

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("vq", RAM_SIZE);
    vcpu = test_vcpu(vm);
    enable(16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static void expect_broken(int err)
{
    assert_int_equal(virtq_pop(&q, vm, &chain), err);
    assert_true(q.broken);
    assert_int_equal(q.error, err);
    assert_int_equal(virtq_pop(&q, vm, &chain), VIRTQ_EBROKEN);
    assert_int_equal(virtq_push(&q, vm, 0, 0), VIRTQ_EBROKEN);
}

static void test_enable_checks(void **state)
{
    (void)state;
    static const struct { uint16_t size; uint64_t desc, avail, used; } bad[] = {
        { 0, DESC_GPA, AVAIL_GPA, USED_GPA },
        { 3, DESC_GPA, AVAIL_GPA, USED_GPA },
        { 512, DESC_GPA, AVAIL_GPA, USED_GPA },
        { 16, DESC_GPA + 8, AVAIL_GPA, USED_GPA },                /* descriptors 16-aligned */
        { 16, DESC_GPA, AVAIL_GPA + 1, USED_GPA },                /* avail 2-aligned */
        { 16, DESC_GPA, AVAIL_GPA, USED_GPA + 2 },                /* used 4-aligned */
        { 16, RAM_SIZE - 16 * 15, AVAIL_GPA, USED_GPA },          /* table runs off RAM */
        { 16, DESC_GPA, RAM_SIZE - 36, USED_GPA },                /* avail needs 6 + 2 * 16 */
        { 16, DESC_GPA, AVAIL_GPA, RAM_SIZE - 132 },              /* used needs 6 + 8 * 16 */
        { 16, UINT64_MAX - 15, AVAIL_GPA, USED_GPA },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        virtq_reset(&q);
        q.size = bad[i].size;
        q.desc_gpa = bad[i].desc;
        q.avail_gpa = bad[i].avail;
        q.used_gpa = bad[i].used;
        assert_int_equal(virtq_enable(&q, vm), VIRTQ_ESETUP);
        assert_false(q.enabled);
        assert_int_equal(virtq_pop(&q, vm, &chain), 0);       /* disabled: nothing */
    }
    virtq_reset(&q);
    assert_int_equal(q.size, VIRTQ_MAX_SIZE);
    q.desc_gpa = DESC_GPA;
    q.avail_gpa = RAM_SIZE - 6 - 2 * 256;                     /* exactly fits */
    q.used_gpa = USED_GPA;
    assert_int_equal(virtq_enable(&q, vm), VIRTQ_OK);
    q.size = 1;
    assert_int_equal(virtq_enable(&q, vm), VIRTQ_OK);
}

static void test_chain_and_used_ring(void **state)
{
    (void)state;
    assert_int_equal(virtq_pop(&q, vm, &chain), 0);
    desc(5, 0x10000, 16, VIRTQ_DESC_F_NEXT, 9);
    desc(9, 0x20000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, 0x30000, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(5);
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_int_equal(chain.head, 5);
    assert_int_equal(chain.count, 3);
    assert_int_equal(chain.bad_seg, -1);
    assert_int_equal(chain.seg[0].gpa, 0x10000);
    assert_int_equal(chain.seg[0].len, 16);
    assert_false(chain.seg[0].writable);
    assert_true(chain.seg[1].writable);
    assert_int_equal(chain.seg[1].len, 4096);
    assert_int_equal(chain.seg[2].gpa, 0x30000);
    assert_true(chain.seg[2].in_ram);
    assert_int_equal(virtq_pop(&q, vm, &chain), 0);           /* consumed */

    assert_int_equal(virtq_push(&q, vm, 5, 4097), VIRTQ_OK);
    assert_int_equal(r16(USED_GPA + 2), 1);
    assert_int_equal(r32(USED_GPA + 4), 5);
    assert_int_equal(r32(USED_GPA + 8), 4097);
    /* our used index is our own: a guest scribbling on used->idx changes nothing */
    w16(USED_GPA + 2, 999);
    assert_int_equal(virtq_push(&q, vm, 7, 1), VIRTQ_OK);
    assert_int_equal(r16(USED_GPA + 2), 2);
    assert_int_equal(r32(USED_GPA + 12), 7);
}

static void test_index_wraparound(void **state)
{
    (void)state;
    desc(0, 0x10000, 8, 0, 0);
    q.last_avail_idx = 65534;
    q.used_idx = 65535;
    avail_idx = 65534;
    for (int i = 0; i < 4; i++) {
        offer(0);
        assert_int_equal(virtq_pop(&q, vm, &chain), 1);
        assert_int_equal(virtq_push(&q, vm, 0, 0), VIRTQ_OK);
    }
    assert_int_equal(q.last_avail_idx, 2);
    assert_int_equal(r16(USED_GPA + 2), 3);
    assert_int_equal(virtq_pop(&q, vm, &chain), 0);
}

static void test_several_pending(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 16; i++) {
        desc(i, 0x10000 + i, 1, 0, 0);
        offer((uint16_t)i);
    }
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(virtq_pop(&q, vm, &chain), 1);
        assert_int_equal(chain.head, i);
    }
    assert_int_equal(virtq_pop(&q, vm, &chain), 0);
}

static void test_avail_index_jump(void **state)
{
    (void)state;
    desc(0, 0x10000, 8, 0, 0);
    w16(AVAIL_GPA + 2, 16);          /* exactly size ahead: allowed */
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    enable(16);
    w16(AVAIL_GPA + 2, 17);
    expect_broken(VIRTQ_EAVAIL_IDX);
    enable(16);                       /* re-enabling (after reset) recovers */
    w16(AVAIL_GPA + 2, 0xFFFF);      /* "behind" us is also a jump */
    expect_broken(VIRTQ_EAVAIL_IDX);
}

static void test_head_out_of_range(void **state)
{
    (void)state;
    offer(16);
    expect_broken(VIRTQ_EHEAD);
    enable(16);
    offer(0xFFFF);
    expect_broken(VIRTQ_EHEAD);
}

static void test_next_out_of_range(void **state)
{
    (void)state;
    desc(0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 16);
    offer(0);
    expect_broken(VIRTQ_ENEXT);
}

static void test_loops(void **state)
{
    (void)state;
    desc(3, 0x10000, 8, VIRTQ_DESC_F_NEXT, 3);               /* self loop */
    offer(3);
    expect_broken(VIRTQ_ELOOP);
    enable(16);
    desc(0, 0x10000, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(1, 0x10000, 8, VIRTQ_DESC_F_NEXT, 2);
    desc(2, 0x10000, 8, VIRTQ_DESC_F_NEXT, 0);
    offer(0);
    expect_broken(VIRTQ_ELOOP);
    /* a chain using every descriptor once is fine */
    enable(16);
    for (unsigned i = 0; i < 16; i++)
        desc(i, 0x10000, 8, i < 15 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    offer(0);
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_int_equal(chain.count, 16);
}

static void test_segments_outside_ram(void **state)
{
    (void)state;
    static const struct { uint64_t addr; uint32_t len; } bad[] = {
        { RAM_SIZE, 1 },
        { RAM_SIZE, 0 },
        { RAM_SIZE - 16, 17 },
        { RAM_SIZE - 16, 0xFFFFFFFF },         /* addr + len would still fit in 64 bits */
        { UINT64_MAX, 2 },                     /* addr + len wraps to 1 */
        { UINT64_MAX - 0xFFFFFFFEull, 0xFFFFFFFF },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        desc(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);
        desc(1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_NEXT, 2);
        desc(2, 0x30000, 1, VIRTQ_DESC_F_WRITE, 0);
        offer(0);
        assert_int_equal(virtq_pop(&q, vm, &chain), 1);       /* not a ring error */
        assert_int_equal(chain.bad_seg, 1);
        assert_false(chain.seg[1].in_ram);
        assert_true(chain.seg[2].in_ram);
        assert_false(q.broken);
    }
    desc(0, RAM_SIZE - 16, 16, 0, 0);                        /* the last bytes of RAM are RAM */
    offer(0);
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_int_equal(chain.bad_seg, -1);
}

static void test_indirect_table(void **state)
{
    (void)state;
    desc(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);              /* direct, then indirect */
    desc(1, TABLE_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    desc_at(TABLE_GPA, 0, 0x11000, 512, VIRTQ_DESC_F_NEXT, 2);
    desc_at(TABLE_GPA, 2, 0x12000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc_at(TABLE_GPA, 1, 0x13000, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_int_equal(chain.count, 4);
    assert_int_equal(chain.seg[0].gpa, 0x10000);
    assert_int_equal(chain.seg[1].gpa, 0x11000);
    assert_false(chain.seg[1].writable);     /* the WRITE flag of the indirect descriptor is ignored */
    assert_int_equal(chain.seg[2].gpa, 0x12000);
    assert_int_equal(chain.seg[3].gpa, 0x13000);
    assert_true(chain.seg[3].writable);
}

static void bad_indirect(uint64_t addr, uint32_t len, uint16_t flags, int err)
{
    enable(16);
    desc(0, addr, len, flags, 1);
    desc(1, 0x10000, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    expect_broken(err);
}

static void test_bad_indirect_tables(void **state)
{
    (void)state;
    desc_at(TABLE_GPA, 0, 0x11000, 16, 0, 0);
    bad_indirect(TABLE_GPA, 0, VIRTQ_DESC_F_INDIRECT, VIRTQ_EINDIRECT);
    bad_indirect(TABLE_GPA, 24, VIRTQ_DESC_F_INDIRECT, VIRTQ_EINDIRECT);
    bad_indirect(TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, VIRTQ_EINDIRECT);
    bad_indirect(RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, VIRTQ_EINDIRECT);
    bad_indirect(UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, VIRTQ_EINDIRECT);
    bad_indirect(TABLE_GPA, 0xFFFFFFF0u, VIRTQ_DESC_F_INDIRECT, VIRTQ_EINDIRECT);

    /* nested */
    desc_at(TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    bad_indirect(TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, VIRTQ_EINDIRECT);
    /* next outside the indirect table (which is 2 entries long) */
    desc_at(TABLE_GPA, 0, 0x11000, 16, VIRTQ_DESC_F_NEXT, 2);
    bad_indirect(TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, VIRTQ_ENEXT);
    /* loop inside the indirect table */
    desc_at(TABLE_GPA, 0, 0x11000, 16, VIRTQ_DESC_F_NEXT, 1);
    desc_at(TABLE_GPA, 1, 0x11000, 16, VIRTQ_DESC_F_NEXT, 0);
    bad_indirect(TABLE_GPA, 32, VIRTQ_DESC_F_INDIRECT, VIRTQ_ELOOP);
    /* not negotiated */
    desc_at(TABLE_GPA, 0, 0x11000, 16, 0, 0);
    enable(16);
    q.indirect_ok = false;
    desc(0, TABLE_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
    expect_broken(VIRTQ_EINDIRECT);
}

static void test_chain_longer_than_queue(void **state)
{
    (void)state;
    /* queue of 4; an indirect table of 8 chained entries is a chain of 8 */
    enable(4);
    for (unsigned i = 0; i < 8; i++)
        desc_at(TABLE_GPA, i, 0x11000, 16, i < 7 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    desc(0, TABLE_GPA, 8 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
    expect_broken(VIRTQ_ELOOP);
    /* 4 is fine */
    enable(4);
    desc_at(TABLE_GPA, 3, 0x11000, 16, 0, 0);
    desc(0, TABLE_GPA, 8 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_int_equal(chain.count, 4);
    /* direct part plus indirect part count together */
    enable(4);
    desc(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, TABLE_GPA, 8 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
    expect_broken(VIRTQ_ELOOP);
}

static void test_interrupt_suppression_flag(void **state)
{
    (void)state;
    assert_false(virtq_interrupt_suppressed(&q, vm));
    w16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
    assert_true(virtq_interrupt_suppressed(&q, vm));
    w16(AVAIL_GPA, 0);
}

/* Whether anything waits in the avail ring, without taking it: what the device asks before it
 * leaves work for later. A disabled or broken queue has nothing. */
static void test_has_available(void **state)
{
    (void)state;
    assert_false(virtq_has_available(&q, vm));
    desc(0, 0x8000, 16, 0, 0);
    offer(0);
    offer(0);
    assert_true(virtq_has_available(&q, vm));
    assert_true(virtq_has_available(&q, vm));                  /* asking takes nothing */
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_true(virtq_has_available(&q, vm));
    assert_int_equal(virtq_pop(&q, vm, &chain), 1);
    assert_false(virtq_has_available(&q, vm));
    w16(AVAIL_GPA + 2, (uint16_t)(avail_idx + 100));         /* a jump: pop will refuse it */
    assert_true(virtq_has_available(&q, vm));
    expect_broken(VIRTQ_EAVAIL_IDX);
    assert_false(virtq_has_available(&q, vm));
    virtq_reset(&q);
    assert_false(virtq_has_available(&q, vm));
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(virtq_strerror(VIRTQ_ELOOP), "descriptor chain loops or is longer than the queue");
    assert_string_equal(virtq_strerror(-100), "unknown virtqueue error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enable_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_and_used_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_index_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segments_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_indirect_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_longer_than_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_suppression_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_has_available, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strerror, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
