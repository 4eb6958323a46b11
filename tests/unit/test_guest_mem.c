/* Tests for the guest-memory accessors (vmm/mem/guest_mem.c): ranges at the edges of RAM,
 * wrap-around, zero length, pins that report a shorter piece, balanced pin counts, and the
 * ring-field loads and stores. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "mem/guest_mem.h"
#include "test_guest_helpers.h"

#define RAM_SIZE 0x10000ull
#define PAGE     0x1000ull

static struct vm *vm;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("mem", RAM_SIZE);
    for (uint64_t i = 0; i < RAM_SIZE; i++)
        vm->ram[i] = (uint8_t)(i * 7 + 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(guest_mem_live_pins(vm), 0);
    test_vm_free(vm);
    return 0;
}

static void test_is_ram_edges(void **state)
{
    (void)state;
    assert_true(guest_mem_is_ram(vm, 0, RAM_SIZE));
    assert_true(guest_mem_is_ram(vm, RAM_SIZE - 1, 1));
    assert_false(guest_mem_is_ram(vm, RAM_SIZE - 1, 2));
    assert_false(guest_mem_is_ram(vm, 0, RAM_SIZE + 1));
    assert_false(guest_mem_is_ram(vm, RAM_SIZE, 1));
    /* a zero-length range is RAM when its address is */
    assert_true(guest_mem_is_ram(vm, 0, 0));
    assert_true(guest_mem_is_ram(vm, RAM_SIZE - 1, 0));
    assert_false(guest_mem_is_ram(vm, RAM_SIZE, 0));
}

/* gpa + len wraps to a small number: a check that computed the end would accept these. */
static void test_wrapping_ranges_refused(void **state)
{
    (void)state;
    uint8_t buf[16];
    assert_false(guest_mem_is_ram(vm, 0x10, UINT64_MAX));
    assert_false(guest_mem_is_ram(vm, UINT64_MAX, 2));
    assert_false(guest_mem_is_ram(vm, UINT64_MAX - 7, 16));
    assert_false(guest_mem_read(vm, UINT64_MAX - 7, buf, 16));
    assert_false(guest_mem_write(vm, UINT64_MAX - 7, buf, 16));
    struct guest_pin pin;
    assert_false(guest_mem_pin(vm, 0x10, UINT64_MAX, false, &pin));
    assert_null(pin.vm);
    assert_int_equal(guest_mem_live_pins(vm), 0);
}

static void test_read_write_whole_or_nothing(void **state)
{
    (void)state;
    uint8_t buf[32], before[32];
    assert_true(guest_mem_read(vm, RAM_SIZE - 32, buf, 32));
    assert_memory_equal(buf, vm->ram + RAM_SIZE - 32, 32);

    memset(buf, 0x5A, sizeof(buf));
    memcpy(before, vm->ram + RAM_SIZE - 16, 16);
    assert_false(guest_mem_write(vm, RAM_SIZE - 16, buf, 32));     /* half outside RAM */
    assert_memory_equal(vm->ram + RAM_SIZE - 16, before, 16);     /* nothing written */

    uint8_t untouched[32];
    memset(untouched, 0xC3, sizeof(untouched));
    memcpy(buf, untouched, sizeof(buf));
    assert_false(guest_mem_read(vm, RAM_SIZE - 16, buf, 32));
    assert_memory_equal(buf, untouched, 32);                       /* nothing copied */

    assert_true(guest_mem_write(vm, RAM_SIZE - 32, untouched, 32));
    assert_memory_equal(vm->ram + RAM_SIZE - 32, untouched, 32);
    assert_true(guest_mem_read(vm, 5, buf, 0));
    assert_false(guest_mem_write(vm, RAM_SIZE, buf, 0));
}

static void test_pin_whole_range(void **state)
{
    (void)state;
    struct guest_pin pin;
    assert_true(guest_mem_pin(vm, 0x1800, 0x3000, true, &pin));
    assert_int_equal(guest_mem_live_pins(vm), 1);
    assert_ptr_equal(pin.host, vm->ram + 0x1800);
    assert_int_equal(pin.gpa, 0x1800);
    assert_int_equal(pin.len, 0x3000);          /* RAM is one host range: one piece */
    assert_true(pin.writable);
    guest_mem_unpin(&pin);
    assert_int_equal(guest_mem_live_pins(vm), 0);
    assert_null(pin.vm);
    guest_mem_unpin(&pin);                      /* unpinning an empty pin changes nothing */
    assert_int_equal(guest_mem_live_pins(vm), 0);
}

static void test_pin_refuses_bad_ranges(void **state)
{
    (void)state;
    struct guest_pin pin;
    assert_false(guest_mem_pin(vm, 0x100, 0, false, &pin));             /* nothing to pin */
    assert_false(guest_mem_pin(vm, RAM_SIZE - PAGE, PAGE + 1, false, &pin));
    assert_false(guest_mem_pin(vm, RAM_SIZE, 1, false, &pin));
    assert_null(pin.vm);
    assert_int_equal(guest_mem_live_pins(vm), 0);
    assert_true(guest_mem_pin(vm, RAM_SIZE - 1, 1, false, &pin));
    assert_int_equal(pin.len, 1);
    guest_mem_unpin(&pin);
}

/* With pieces of a page, a pin ends at the next page boundary, and a caller that loops
 * covers the whole range exactly once. */
static void test_pin_pieces_end_on_page_boundaries(void **state)
{
    (void)state;
    vm->pin_piece_max = PAGE;
    struct guest_pin pin;
    assert_true(guest_mem_pin(vm, 0x1F00, 0x2200, false, &pin));
    assert_int_equal(pin.len, 0x100);
    guest_mem_unpin(&pin);
    assert_true(guest_mem_pin(vm, 0x2000, 0x10, false, &pin));
    assert_int_equal(pin.len, 0x10);            /* inside one page: all of it */
    guest_mem_unpin(&pin);
    /* the last byte of RAM is still pinnable on its own */
    assert_true(guest_mem_pin(vm, RAM_SIZE - 1, 1, false, &pin));
    assert_int_equal(pin.len, 1);
    guest_mem_unpin(&pin);

    uint64_t gpa = 0x1F00, left = 0x2200, pieces = 0, sum = 0;
    while (left) {
        assert_true(guest_mem_pin(vm, gpa, left, false, &pin));
        assert_int_equal(guest_mem_live_pins(vm), 1);
        assert_ptr_equal(pin.host, vm->ram + gpa);
        assert_true(pin.len <= PAGE);
        for (uint64_t i = 0; i < pin.len; i++)
            sum += ((uint8_t *)pin.host)[i];
        gpa += pin.len;
        left -= pin.len;
        pieces++;
        guest_mem_unpin(&pin);
    }
    assert_int_equal(pieces, 4);                /* 0x100 + 0x1000 + 0x1000 + 0x100 */
    uint64_t expect = 0;
    for (uint64_t i = 0x1F00; i < 0x4100; i++)
        expect += vm->ram[i];
    assert_int_equal(sum, expect);
}

static void test_nested_pins_counted(void **state)
{
    (void)state;
    struct guest_pin a, b;
    assert_true(guest_mem_pin(vm, 0, 16, false, &a));
    assert_true(guest_mem_pin(vm, 0, 16, true, &b));
    assert_int_equal(guest_mem_live_pins(vm), 2);
    guest_mem_unpin(&a);
    assert_int_equal(guest_mem_live_pins(vm), 1);
    guest_mem_unpin(&b);
    assert_int_equal(guest_mem_live_pins(vm), 0);
}

static void test_loads_and_stores(void **state)
{
    (void)state;
    uint8_t v8; uint16_t v16; uint32_t v32; uint64_t v64;
    assert_true(guest_mem_store64(vm, 0x100, 0x1122334455667788ull));
    assert_true(guest_mem_load64(vm, 0x100, &v64));
    assert_int_equal(v64, 0x1122334455667788ull);
    assert_true(guest_mem_load32(vm, 0x104, &v32));
    assert_int_equal(v32, 0x11223344);          /* little-endian */
    assert_true(guest_mem_load16(vm, 0x100, &v16));
    assert_int_equal(v16, 0x7788);
    assert_true(guest_mem_load8(vm, 0x101, &v8));
    assert_int_equal(v8, 0x77);
    /* unaligned fields, byte by byte, same values */
    assert_true(guest_mem_store32(vm, 0x201, 0xA1B2C3D4));
    assert_int_equal(vm->ram[0x201], 0xD4);
    assert_int_equal(vm->ram[0x204], 0xA1);
    assert_true(guest_mem_load32(vm, 0x201, &v32));
    assert_int_equal(v32, 0xA1B2C3D4);
    assert_true(guest_mem_store16(vm, 0x303, 0xBEEF));
    assert_true(guest_mem_load16(vm, 0x303, &v16));
    assert_int_equal(v16, 0xBEEF);
    assert_true(guest_mem_store8(vm, RAM_SIZE - 1, 0x42));
    assert_int_equal(vm->ram[RAM_SIZE - 1], 0x42);
}

static void test_loads_and_stores_at_the_edge(void **state)
{
    (void)state;
    uint16_t v16 = 0x1234; uint32_t v32 = 0x1234; uint64_t v64 = 0x1234;
    uint8_t last = vm->ram[RAM_SIZE - 1];
    assert_false(guest_mem_load16(vm, RAM_SIZE - 1, &v16));
    assert_false(guest_mem_load32(vm, RAM_SIZE - 2, &v32));
    assert_false(guest_mem_load64(vm, RAM_SIZE - 4, &v64));
    assert_int_equal(v16, 0x1234);              /* left alone on failure */
    assert_int_equal(v32, 0x1234);
    assert_int_equal(v64, 0x1234);
    assert_false(guest_mem_store16(vm, RAM_SIZE - 1, 0xFFFF));
    assert_false(guest_mem_store64(vm, UINT64_MAX - 3, 0));
    assert_int_equal(vm->ram[RAM_SIZE - 1], last);
    assert_true(guest_mem_load64(vm, RAM_SIZE - 8, &v64));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_is_ram_edges),
        T(test_wrapping_ranges_refused),
        T(test_read_write_whole_or_nothing),
        T(test_pin_whole_range),
        T(test_pin_refuses_bad_ranges),
        T(test_pin_pieces_end_on_page_boundaries),
        T(test_nested_pins_counted),
        T(test_loads_and_stores),
        T(test_loads_and_stores_at_the_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
