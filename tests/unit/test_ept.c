/* Tests for vmx/ept.c on malloc'd tables (virtual address == "physical" address): page sizes
 * chosen by alignment, exact table counts, translation, and refusals (overlap, overflow,
 * misalignment, bad permissions, out of memory) that leave nothing half-mapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmx/ept.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define WB_LEAF (6ull << 3)
#define LARGE (1ull << 7)
#define MISS ((uint64_t)-1)

struct test_pool {
    void *pages[4096];
    int count;
    int limit;         /* allocations allowed in total */
};

static struct test_pool pool;

static void *alloc_page(void *ctx)
{
    struct test_pool *p = ctx;
    if (p->count >= p->limit)
        return NULL;
    void *page = aligned_alloc(4096, 4096);
    assert_non_null(page);
    memset(page, 0, 4096);
    p->pages[p->count++] = page;
    return page;
}

static uint64_t virt_to_phys(void *ctx, void *page)
{
    (void)ctx;
    return (uint64_t)(uintptr_t)page;
}

static void *phys_to_virt(void *ctx, uint64_t phys)
{
    (void)ctx;
    return (void *)(uintptr_t)phys;
}

static const struct ept_allocator allocator = { alloc_page, virt_to_phys, phys_to_virt, &pool };

static int setup(void **state)
{
    (void)state;
    memset(&pool, 0, sizeof(pool));
    pool.limit = 4096;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < pool.count; i++)
        free(pool.pages[i]);
    return 0;
}

static uint64_t *table(uint64_t entry)
{
    return (uint64_t *)(uintptr_t)(entry & 0x000ffffffffff000ull);
}

/* The PD covering gpa (which must be mapped through tables down to PD level). */
static uint64_t *pd_of(const struct ept *e, uint64_t gpa)
{
    uint64_t *pdpt = table(e->pml4[(gpa >> 39) & 511]);
    return table(pdpt[(gpa >> 30) & 511]);
}

static void test_init_and_pointer(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    assert_int_equal(e.pages_used, 1);
    assert_int_equal(e.pml4_phys % 4096, 0);
    assert_int_equal(ept_pointer(&e), e.pml4_phys | 6 | (3 << 3));
    assert_int_equal(ept_translate(&e, 0, NULL), MISS);

    struct ept_allocator broken = allocator;
    broken.phys_to_virt = NULL;
    assert_int_equal(ept_init(&e, &broken, true), -1);
    assert_int_equal(ept_init(&e, NULL, true), -1);
    pool.limit = pool.count;                          /* no memory left */
    assert_int_equal(ept_init(&e, &allocator, true), -1);
    assert_int_equal(ept_map_range(&e, 0, 0, 4096, EPT_RWX), -1);   /* failed init is unusable */
}

static void test_64mib_uses_2mib_leaves(void **state)
{
    (void)state;
    struct ept e;
    const uint64_t hpa = 0x40000000;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    assert_int_equal(ept_map_range(&e, 0, hpa, 64 * MiB, EPT_RWX), 0);
    assert_int_equal(e.pages_used, 3);                /* PML4, PDPT, one PD */
    uint64_t *pd = pd_of(&e, 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(pd[i], (hpa + i * 2 * MiB) | LARGE | WB_LEAF | EPT_RWX);
    assert_int_equal(pd[32], 0);

    uint64_t perms = 0;
    assert_int_equal(ept_translate(&e, 0x123456, &perms), hpa + 0x123456);
    assert_int_equal(perms, EPT_RWX);
    assert_int_equal(ept_translate(&e, 64 * MiB - 1, NULL), hpa + 64 * MiB - 1);
    assert_int_equal(ept_translate(&e, 64 * MiB, &perms), MISS);
    assert_int_equal(ept_translate(&e, 1ull << 48, &perms), MISS);
    assert_int_equal(ept_translate(&e, ~0ull, &perms), MISS);
}

static void test_64mib_without_2mib_uses_4k(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, false), 0);
    assert_int_equal(ept_map_range(&e, 0, 0x40000000, 64 * MiB, EPT_READ | EPT_EXEC), 0);
    assert_int_equal(e.pages_used, 3 + 32);           /* + one page table per 2 MiB */
    uint64_t *pd = pd_of(&e, 0);
    assert_int_equal(pd[0] & LARGE, 0);
    uint64_t *pt = table(pd[5]);
    assert_int_equal(pt[7], (0x40000000 + 5 * 2 * MiB + 7 * 4096) | WB_LEAF | EPT_READ | EPT_EXEC);
    uint64_t perms = 0;
    assert_int_equal(ept_translate(&e, 5 * 2 * MiB + 7 * 4096 + 12, &perms), 0x40000000 + 5 * 2 * MiB + 7 * 4096 + 12);
    assert_int_equal(perms, EPT_READ | EPT_EXEC);
}

static void test_unaligned_start_uses_4k_up_to_boundary(void **state)
{
    (void)state;
    struct ept e;
    const uint64_t gpa = 0x1000, hpa = 0x80001000, size = 4 * MiB;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    assert_int_equal(ept_map_range(&e, gpa, hpa, size, EPT_RWX), 0);
    /* 511 4K pages to 2 MiB, one 2 MiB page, then one 4K page: PML4, PDPT, PD, two PTs. */
    assert_int_equal(e.pages_used, 5);
    uint64_t *pd = pd_of(&e, 0);
    assert_int_equal(pd[0] & LARGE, 0);
    assert_int_equal(pd[1], (hpa + 2 * MiB - gpa) | LARGE | WB_LEAF | EPT_RWX);
    assert_int_equal(pd[2] & LARGE, 0);
    uint64_t *pt0 = table(pd[0]), *pt2 = table(pd[2]);
    assert_int_equal(pt0[0], 0);
    assert_int_equal(pt0[1], hpa | WB_LEAF | EPT_RWX);
    assert_int_equal(pt0[511], (hpa + 510 * 4096) | WB_LEAF | EPT_RWX);
    assert_int_equal(pt2[0], (hpa + 4 * MiB - 4096) | WB_LEAF | EPT_RWX);
    assert_int_equal(pt2[1], 0);
    assert_int_equal(ept_translate(&e, 0, NULL), MISS);
    for (uint64_t g = gpa; g < gpa + size; g += 4096 * 37)
        assert_int_equal(ept_translate(&e, g + 5, NULL), hpa + (g - gpa) + 5);
    assert_int_equal(ept_translate(&e, gpa + size, NULL), MISS);
}

static void test_mismatched_alignment_uses_4k(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    /* gpa 2 MiB-aligned but hpa not: no 2 MiB page can map it */
    assert_int_equal(ept_map_range(&e, 2 * MiB, 0x40001000, 4 * MiB, EPT_RWX), 0);
    uint64_t *pd = pd_of(&e, 0);
    assert_int_equal(pd[1] & LARGE, 0);
    assert_int_equal(pd[2] & LARGE, 0);
    assert_int_equal(e.pages_used, 5);
    assert_int_equal(ept_translate(&e, 3 * MiB, NULL), 0x40001000 + 1 * MiB);
}

static void test_mapping_above_4gib_and_across_tables(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    /* crosses a PDPT entry (1 GiB) and a PML4 entry (512 GiB) boundary */
    uint64_t gpa = 512 * GiB - 2 * MiB;
    assert_int_equal(ept_map_range(&e, gpa, 0x100000000ull, 4 * MiB, EPT_RWX), 0);
    assert_int_equal(e.pages_used, 1 + 2 * 2);        /* PML4 + (PDPT, PD) on each side */
    assert_int_equal(ept_translate(&e, gpa + 3 * MiB, NULL), 0x100000000ull + 3 * MiB);
    assert_int_equal(ept_translate(&e, gpa - 1, NULL), MISS);
}

static void test_overlap_refused_and_nothing_half_mapped(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    assert_int_equal(ept_map_range(&e, 0, 0x40000000, 4 * MiB, EPT_RWX), 0);
    uint64_t used = e.pages_used;
    /* [2M, 6M) overlaps [2M, 4M): refused, and [4M, 6M) stays unmapped */
    assert_int_equal(ept_map_range(&e, 2 * MiB, 0x50000000, 4 * MiB, EPT_RWX), -1);
    assert_int_equal(ept_translate(&e, 4 * MiB, NULL), MISS);
    assert_int_equal(ept_translate(&e, 2 * MiB, NULL), 0x40000000 + 2 * MiB);   /* old mapping kept */
    assert_int_equal(e.pages_used, used);

    /* a single 4K page inside a 2 MiB page */
    assert_int_equal(ept_map_range(&e, 1 * MiB, 0x50000000, 4096, EPT_RWX), -1);

    /* a 2 MiB candidate over an existing 4K page */
    assert_int_equal(ept_map_range(&e, 6 * MiB + 4096, 0x60000000, 4096, EPT_READ), 0);
    assert_int_equal(ept_map_range(&e, 6 * MiB, 0x70000000, 2 * MiB, EPT_RWX), -1);
    assert_int_equal(ept_translate(&e, 6 * MiB, NULL), MISS);
    uint64_t perms = 0;
    assert_int_equal(ept_translate(&e, 6 * MiB + 4096, &perms), 0x60000000);
    assert_int_equal(perms, EPT_READ);

    /* the same range twice */
    assert_int_equal(ept_map_range(&e, 0, 0x40000000, 4 * MiB, EPT_RWX), -1);
    /* adjacent ranges are fine */
    assert_int_equal(ept_map_range(&e, 4 * MiB, 0x50000000, 2 * MiB, EPT_RWX), 0);
    assert_int_equal(ept_map_range(&e, 6 * MiB, 0x70000000, 4096, EPT_RWX), 0);
}

static void test_bad_arguments_refused(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    /* misalignment */
    assert_int_equal(ept_map_range(&e, 0x10, 0, 4096, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 0, 0x10, 4096, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 0, 0, 4095, EPT_RWX), -1);
    /* overflow and limits */
    assert_int_equal(ept_map_range(&e, (1ull << 48) - 4096, 0, 8192, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 1ull << 48, 0, 4096, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 4096, 0, ~0ull & ~0xfffull, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 0xfffffffffffff000ull, 0, 0x2000, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 0, (1ull << 52) - 4096, 8192, EPT_RWX), -1);
    assert_int_equal(ept_map_range(&e, 0, 0xfffffffffffff000ull, 0x2000, EPT_RWX), -1);
    /* permissions */
    assert_int_equal(ept_map_range(&e, 0, 0, 4096, 0), -1);
    assert_int_equal(ept_map_range(&e, 0, 0, 4096, EPT_WRITE), -1);                 /* W without R */
    assert_int_equal(ept_map_range(&e, 0, 0, 4096, EPT_WRITE | EPT_EXEC), -1);
    assert_int_equal(ept_map_range(&e, 0, 0, 4096, EPT_RWX | (1ull << 7)), -1);     /* not a permission */
    assert_int_equal(e.pages_used, 1);                /* nothing was built for any of them */
    /* the top of the 48-bit space is reachable exactly */
    assert_int_equal(ept_map_range(&e, (1ull << 48) - 4096, (1ull << 52) - 4096, 4096, EPT_RWX), 0);
    assert_int_equal(ept_translate(&e, (1ull << 48) - 1, NULL), (1ull << 52) - 1);
    /* empty range: nothing to do */
    assert_int_equal(ept_map_range(&e, 0, 0, 0, EPT_RWX), 0);
    assert_int_equal(ept_translate(&e, 0, NULL), MISS);
}

static void test_out_of_memory_refused_cleanly(void **state)
{
    (void)state;
    struct ept e;
    assert_int_equal(ept_init(&e, &allocator, true), 0);
    /* [4K, 4M+4K) needs PDPT, PD and two page tables; allow only the first three */
    pool.limit = pool.count + 3;
    assert_int_equal(ept_map_range(&e, 0x1000, 0x40001000, 4 * MiB, EPT_RWX), -1);
    for (uint64_t g = 0; g < 5 * MiB; g += 4096)
        assert_int_equal(ept_translate(&e, g, NULL), MISS);      /* nothing half-mapped */
    assert_int_equal(e.pages_used, 4);                          /* the empty tables stay, reusable */

    /* the left-over empty page table under PD[0] is filled, not leaked, by a 2 MiB mapping */
    assert_int_equal(ept_map_range(&e, 0, 0x40000000, 2 * MiB, EPT_RWX), 0);
    assert_int_equal(e.pages_used, 4);
    assert_int_equal(ept_translate(&e, 0x1ff123, NULL), 0x401ff123);

    /* with memory again, the rest maps */
    pool.limit = 4096;
    assert_int_equal(ept_map_range(&e, 2 * MiB, 0x40200000, 4 * MiB, EPT_RWX), 0);
    assert_int_equal(ept_translate(&e, 5 * MiB, NULL), 0x40000000 + 5 * MiB);
    assert_int_equal(e.pages_used, 4);                          /* two 2 MiB leaves in the existing PD */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_and_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_64mib_uses_2mib_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_64mib_without_2mib_uses_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unaligned_start_uses_4k_up_to_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_alignment_uses_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mapping_above_4gib_and_across_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlap_refused_and_nothing_half_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory_refused_cleanly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
