/* The console output queue: order kept, nothing lost or invented at the edges, index wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "lib/byte_ring.h"

static void fifo_order_and_full(void **state)
{
    (void)state;
    uint8_t buf[8];
    struct byte_ring r;
    byte_ring_init(&r, buf, sizeof(buf));
    assert_true(byte_ring_empty(&r));
    for (unsigned i = 0; i < 8; i++)
        assert_true(byte_ring_put(&r, (uint8_t)i));
    assert_false(byte_ring_put(&r, 99)); /* full: refused, nothing overwritten */
    assert_int_equal(byte_ring_free(&r), 0);
    uint8_t c;
    for (unsigned i = 0; i < 8; i++) {
        assert_true(byte_ring_get(&r, &c));
        assert_int_equal(c, i);
    }
    assert_false(byte_ring_get(&r, &c));
}

static void indices_wrap_around_32_bits(void **state)
{
    (void)state;
    uint8_t buf[4];
    struct byte_ring r;
    byte_ring_init(&r, buf, sizeof(buf));
    r.head = r.tail = 0xFFFFFFFEu;
    for (unsigned i = 0; i < 4; i++)
        assert_true(byte_ring_put(&r, (uint8_t)(10 + i)));
    assert_false(byte_ring_put(&r, 0));
    assert_int_equal(byte_ring_used(&r), 4);
    uint8_t c;
    for (unsigned i = 0; i < 4; i++) {
        assert_true(byte_ring_get(&r, &c));
        assert_int_equal(c, 10 + i);
    }
    assert_true(byte_ring_empty(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_order_and_full),
        cmocka_unit_test(indices_wrap_around_32_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
