/* Tests for a VM's I/O bus (dev/io_bus.h) and the port space on it (dev/ports.h): sorted
 * insertion and binary-search lookup, overlaps refused, growth past the inline slots from the
 * page allocator (and refusal when it has nothing), removal, and port accesses routed to the
 * device holding their first port, the empty bus elsewhere, and a device ending its guest
 * through the VM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dev/io_bus.h"
#include "dev/ports.h"
#include "mem/page_alloc.h"
#include "test_guest_helpers.h"

#define HEAP_BYTES (64u * 4096u)

static int dummy_ops;           /* the table only stores ops; any non-NULL pointer will do */
static int devs[200];

static void test_empty_table(void **state)
{
    (void)state;
    struct io_range_table t = { 0 };
    assert_null(io_range_find(&t, 0));
    assert_null(io_range_find(&t, ~0ull));
    assert_null(io_range_at(&t, 0));
    assert_int_equal(io_range_remove(&t, 0), -1);
}

static void test_sorted_insert_and_lookup(void **state)
{
    (void)state;
    struct io_range_table t = { 0 };
    const uint64_t bases[] = { 0x5000, 0x1000, 0x9000, 0x3000, 0x7000 };
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(io_range_add(&t, bases[i], 0x100, &dummy_ops, &devs[i]), 0);
    assert_int_equal(t.count, 5);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(io_range_at(&t, i)->base, 0x1000 + 0x2000 * i);
    assert_null(io_range_at(&t, 5));
    /* first byte, last byte, one past each end */
    assert_ptr_equal(io_range_find(&t, 0x5000)->dev, &devs[0]);
    assert_ptr_equal(io_range_find(&t, 0x50FF)->dev, &devs[0]);
    assert_null(io_range_find(&t, 0x5100));
    assert_null(io_range_find(&t, 0x4FFF));
    assert_ptr_equal(io_range_find(&t, 0x9080)->dev, &devs[2]);
    assert_null(io_range_find(&t, 0));
    assert_null(io_range_find(&t, ~0ull));
}

static void test_overlaps_and_bad_ranges_refused(void **state)
{
    (void)state;
    struct io_range_table t = { 0 };
    assert_int_equal(io_range_add(&t, 0x1000, 0x1000, &dummy_ops, NULL), 0);
    assert_int_equal(io_range_add(&t, 0x1FFF, 1, &dummy_ops, NULL), -1);      /* last byte */
    assert_int_equal(io_range_add(&t, 0xFFF, 2, &dummy_ops, NULL), -1);       /* first byte */
    assert_int_equal(io_range_add(&t, 0x800, 0x10000, &dummy_ops, NULL), -1); /* covers it */
    assert_int_equal(io_range_add(&t, 0x1800, 0x10, &dummy_ops, NULL), -1);   /* inside it */
    assert_int_equal(io_range_add(&t, 0x5000, 0, &dummy_ops, NULL), -1);      /* empty */
    assert_int_equal(io_range_add(&t, 0x5000, 1, NULL, NULL), -1);            /* no ops */
    assert_int_equal(io_range_add(&t, ~0ull - 0xFF, 0x200, &dummy_ops, NULL), -1); /* wraps */
    assert_int_equal(t.count, 1);
    /* adjacent on both sides, and a range ending at the very top */
    assert_int_equal(io_range_add(&t, 0x2000, 0x1000, &dummy_ops, NULL), 0);
    assert_int_equal(io_range_add(&t, 0x0, 0x1000, &dummy_ops, NULL), 0);
    assert_int_equal(io_range_add(&t, ~0ull - 0xFFF, 0x1000, &dummy_ops, &devs[1]), 0);
    assert_ptr_equal(io_range_find(&t, ~0ull)->dev, &devs[1]);
    assert_int_equal(io_range_add(&t, ~0ull, 1, &dummy_ops, NULL), -1);
    assert_int_equal(t.count, 4);
}

static void test_remove_keeps_order(void **state)
{
    (void)state;
    struct io_range_table t = { 0 };
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(io_range_add(&t, 0x100 * (i + 1), 0x10, &dummy_ops, &devs[i]), 0);
    assert_int_equal(io_range_remove(&t, 0x201), -1);   /* must start exactly there */
    assert_int_equal(io_range_remove(&t, 0x200), 0);
    assert_int_equal(t.count, 3);
    assert_null(io_range_find(&t, 0x200));
    assert_int_equal(io_range_at(&t, 0)->base, 0x100);
    assert_int_equal(io_range_at(&t, 1)->base, 0x300);
    assert_int_equal(io_range_at(&t, 2)->base, 0x400);
    assert_int_equal(io_range_remove(&t, 0x200), -1);
    assert_int_equal(io_range_add(&t, 0x200, 0x10, &dummy_ops, &devs[9]), 0);
    assert_ptr_equal(io_range_find(&t, 0x20F)->dev, &devs[9]);
}

/* Past the inline slots the table grows from the page allocator: many ranges, inserted out of
 * order, all found again by binary search; and with no memory the add is refused cleanly. */
static void test_growth(void **state)
{
    (void)state;
    void *heap = aligned_alloc(4096, HEAP_BYTES);
    page_pool_init(&hv_pages, (uint64_t)(uintptr_t)heap, HEAP_BYTES);
    struct io_range_table t = { 0 };
    const unsigned n = 150;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (k * 7) % n;           /* 7 and 150 are coprime: every index once */
        assert_int_equal(io_range_add(&t, 0x10000 + 0x100 * (uint64_t)i, 0x80, &dummy_ops, &devs[i]), 0);
    }
    assert_int_equal(t.count, n);
    assert_non_null(t.grown);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(io_range_at(&t, i)->base, 0x10000 + 0x100 * (uint64_t)i);
        assert_ptr_equal(io_range_find(&t, 0x10000 + 0x100 * (uint64_t)i + 0x7F)->dev, &devs[i]);
        assert_null(io_range_find(&t, 0x10000 + 0x100 * (uint64_t)i + 0x80));
    }
    page_pool_init(&hv_pages, 0, 0);
    free(heap);

    struct io_range_table full = { 0 };
    for (unsigned i = 0; i < IO_BUS_INLINE_RANGES; i++)
        assert_int_equal(io_range_add(&full, 0x1000 * (uint64_t)i, 0x10, &dummy_ops, NULL), 0);
    assert_int_equal(io_range_add(&full, 0x100000, 0x10, &dummy_ops, NULL), -1);
    assert_int_equal(full.count, IO_BUS_INLINE_RANGES);
    assert_null(full.grown);
}

/* ---- ports ---- */

struct port_dev {
    uint16_t last_port;
    unsigned last_size, writes;
    uint32_t last_value;
    struct vm *vm;              /* set: a write ends the guest, as debug-exit does */
};

static uint32_t pd_read(void *dev, uint16_t port, unsigned size)
{
    struct port_dev *d = dev;
    d->last_port = port;
    d->last_size = size;
    return 0xA5A5A5A5u;         /* deliberately wider than size: the caller's RAX merge masks */
}

static void pd_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct port_dev *d = dev;
    d->last_port = port;
    d->last_size = size;
    d->last_value = value;
    d->writes++;
    if (d->vm)
        vm_end(d->vm, OUTCOME_EXIT_CODE, 7);
}

static const struct port_ops pd_ops = { pd_read, pd_write };

static void test_port_registration_limits(void **state)
{
    (void)state;
    struct io_bus bus = { 0 };
    struct port_dev d = { 0 };
    static const struct port_ops half = { pd_read, NULL };
    assert_int_equal(io_bus_add_ports(&bus, 0x100, 0, &pd_ops, &d), -1);
    assert_int_equal(io_bus_add_ports(&bus, 0xFFFF, 2, &pd_ops, &d), -1);  /* past port 0xFFFF */
    assert_int_equal(io_bus_add_ports(&bus, 0x100, 1, &half, &d), -1);
    assert_int_equal(io_bus_add_ports(&bus, 0x100, 1, NULL, &d), -1);
    assert_int_equal(io_bus_add_ports(&bus, 0xFFFF, 1, &pd_ops, &d), 0);
    assert_int_equal(io_bus_add_ports(&bus, 0x0, 0x10, &pd_ops, &d), 0);
    assert_int_equal(io_bus_add_ports(&bus, 0xF, 1, &pd_ops, &d), -1);     /* overlap */
    assert_ptr_equal(io_bus_find_port(&bus, 0xFFFF)->dev, &d);
    assert_null(io_bus_find_port(&bus, 0x10));
}

static void test_port_access_routing(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("ports", 1u << 16);
    struct port_dev d = { 0 };
    assert_int_equal(io_bus_add_ports(&vm->bus, 0x500, 4, &pd_ops, &d), 0);
    uint32_t v = 0;
    /* the device sees the absolute port and the size; the caller gets what it returned */
    assert_int_equal(port_in(vm, 0x502, 2, &v), EXIT_ADVANCE);
    assert_int_equal(d.last_port, 0x502);
    assert_int_equal(d.last_size, 2);
    assert_int_equal(v, 0xA5A5A5A5u);
    /* routed by the first port: one running past the range's end still goes to it */
    assert_int_equal(port_out(vm, 0x503, 4, 0x11223344u), EXIT_ADVANCE);
    assert_int_equal(d.last_port, 0x503);
    assert_int_equal(d.last_value, 0x11223344u);
    /* a write carries only size bytes; a bad size is taken as 1 */
    assert_int_equal(port_out(vm, 0x500, 1, 0xFFFFFF42u), EXIT_ADVANCE);
    assert_int_equal(d.last_value, 0x42);
    assert_int_equal(port_out(vm, 0x500, 3, 0x1234u), EXIT_ADVANCE);
    assert_int_equal(d.last_size, 1);
    assert_int_equal(d.last_value, 0x34);
    /* the empty bus, right next to it: first port outside */
    unsigned writes = d.writes;
    assert_int_equal(port_in(vm, 0x4FF, 2, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0xFFFF);
    assert_int_equal(port_in(vm, 0x504, 4, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_int_equal(port_out(vm, 0x4FF, 4, 0), EXIT_ADVANCE);
    assert_int_equal(d.writes, writes);
    test_vm_free(vm);
}

/* A device does not decide the exit: it asks the VM to end, and the port layer reports it. */
static void test_device_ends_guest_through_vm(void **state)
{
    (void)state;
    struct vm *vm = test_vm_new("ender", 1u << 16);
    struct port_dev d = { 0 };
    d.vm = vm;
    assert_int_equal(io_bus_add_ports(&vm->bus, 0x600, 1, &pd_ops, &d), 0);
    uint32_t v;
    assert_int_equal(port_in(vm, 0x600, 1, &v), EXIT_ADVANCE);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(port_out(vm, 0x600, 1, 1), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_EXIT_CODE);
    assert_int_equal(vm->exit_code, 7);
    test_vm_free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_sorted_insert_and_lookup),
        cmocka_unit_test(test_overlaps_and_bad_ranges_refused),
        cmocka_unit_test(test_remove_keeps_order),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_port_registration_limits),
        cmocka_unit_test(test_port_access_routing),
        cmocka_unit_test(test_device_ends_guest_through_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
