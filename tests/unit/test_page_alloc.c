/* Tests for mem/page_alloc.c: alignment, zeroing, exhaustion and overflow-safe sizes of the bump
 * allocator, on a malloc'd heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mem/page_alloc.h"

#define PAGE 4096ull
#define HEAP_PAGES 64

static uint8_t *heap;

static int setup(void **state)
{
    (void)state;
    heap = aligned_alloc(PAGE, (HEAP_PAGES + 1) * PAGE);
    assert_non_null(heap);
    memset(heap, 0xAA, (HEAP_PAGES + 1) * PAGE);    /* allocations must come back zeroed */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(heap);
    return 0;
}

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static bool all_zero(uint64_t a, uint64_t len)
{
    const uint8_t *p = (const uint8_t *)(uintptr_t)a;
    for (uint64_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static void test_unaligned_base_is_rounded_up(void **state)
{
    (void)state;
    struct page_pool p;
    page_pool_init(&p, addr(heap) + 100, HEAP_PAGES * PAGE);
    assert_int_equal(p.base, addr(heap) + PAGE);
    assert_int_equal(p.size, (HEAP_PAGES - 1) * PAGE);   /* the partial pages at both ends are dropped */
    uint64_t a = page_pool_alloc(&p, 1, 1);
    assert_int_equal(a, addr(heap) + PAGE);
    assert_true(all_zero(a, PAGE));
    assert_int_equal(heap[PAGE - 1], 0xAA);              /* nothing before the pool touched */
}

static void test_sequential_zeroed_and_exhausted(void **state)
{
    (void)state;
    struct page_pool p;
    page_pool_init(&p, addr(heap), HEAP_PAGES * PAGE);
    uint64_t a = page_pool_alloc(&p, 2, 1);
    uint64_t b = page_pool_alloc(&p, 3, 0);              /* alignment 0 means 1 */
    assert_int_equal(a, addr(heap));
    assert_int_equal(b, a + 2 * PAGE);
    assert_true(all_zero(a, 5 * PAGE));
    assert_int_equal(heap[5 * PAGE], 0xAA);              /* only what was asked for is cleared */
    uint64_t rest = page_pool_alloc(&p, HEAP_PAGES - 5, 1);
    assert_int_equal(rest, a + 5 * PAGE);
    assert_int_equal(page_pool_alloc(&p, 1, 1), 0);       /* exhausted */
    assert_int_equal(heap[HEAP_PAGES * PAGE], 0xAA);     /* past the end untouched */
}

static void test_alignment(void **state)
{
    (void)state;
    struct page_pool p;
    page_pool_init(&p, addr(heap), HEAP_PAGES * PAGE);
    assert_int_not_equal(page_pool_alloc(&p, 1, 1), 0);
    uint64_t a = page_pool_alloc(&p, 1, 8);
    assert_int_equal(a % (8 * PAGE), 0);
    uint64_t b = page_pool_alloc(&p, 1, 3);              /* any alignment, not only powers of two */
    assert_int_equal(b % (3 * PAGE), 0);
    assert_true(b > a);
    /* an alignment whose padding alone exceeds the pool fails without moving the pool */
    uint64_t before = p.next;
    assert_int_equal(page_pool_alloc(&p, 1, 1ull << 40), 0);
    assert_int_equal(p.next, before);
}

static void test_bad_sizes_refused(void **state)
{
    (void)state;
    struct page_pool p;
    page_pool_init(&p, addr(heap), HEAP_PAGES * PAGE);
    uint64_t before = p.next;
    assert_int_equal(page_pool_alloc(&p, 0, 1), 0);
    assert_int_equal(page_pool_alloc(&p, HEAP_PAGES + 1, 1), 0);
    assert_int_equal(page_pool_alloc(&p, UINT64_MAX, 1), 0);            /* count * 4096 overflows */
    assert_int_equal(page_pool_alloc(&p, (UINT64_MAX >> 12) + 1, 1), 0);
    assert_int_equal(page_pool_alloc(&p, 1, UINT64_MAX), 0);            /* align * 4096 overflows */
    assert_int_equal(page_pool_alloc(&p, 1, (UINT64_MAX >> 12) + 1), 0);
    assert_int_equal(p.next, before);
    assert_int_equal(page_pool_alloc(&p, HEAP_PAGES, 1), addr(heap));   /* still all there */
}

static void test_degenerate_pools(void **state)
{
    (void)state;
    struct page_pool p;
    page_pool_init(&p, addr(heap) + 1, PAGE);            /* less than a page once aligned */
    assert_int_equal(p.size, 0);
    assert_int_equal(page_pool_alloc(&p, 1, 1), 0);

    page_pool_init(&p, 0, 16 * PAGE);                    /* address 0 is the failure value */
    assert_int_equal(p.base, PAGE);
    assert_int_equal(p.size, 15 * PAGE);

    page_pool_init(&p, 0xfffffffffffff000ull, 0x10000);  /* would wrap the address space */
    assert_true(p.size == 0 || p.base + p.size > p.base);
    assert_int_equal(page_pool_alloc(&p, 1, 1), 0);

    page_pool_init(&p, 0xffffffffffffe000ull, 0x10000);  /* one whole page before the top */
    assert_int_equal(p.size, PAGE);                      /* [top-8K, top-4K) fits; the last page would end at 2^64 */
    assert_int_equal(page_pool_alloc(&p, 2, 1), 0);      /* refused without touching memory */

    page_pool_init(&p, addr(heap), 0);
    assert_int_equal(page_pool_alloc(&p, 1, 1), 0);
}

static void test_page_alloc_uses_hv_pages(void **state)
{
    (void)state;
    page_pool_init(&hv_pages, addr(heap), 4 * PAGE);
    uint8_t *a = page_alloc(3);
    assert_ptr_equal(a, heap);
    assert_true(all_zero(addr(a), 3 * PAGE));
    assert_non_null(page_alloc(1));
    assert_null(page_alloc(1));
    assert_null(page_alloc(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unaligned_base_is_rounded_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequential_zeroed_and_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sizes_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degenerate_pools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_alloc_uses_hv_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
