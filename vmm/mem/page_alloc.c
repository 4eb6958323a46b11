/* A bump allocator over the heap the loader reserved: pages are handed out in order and never
 * returned (guests live for the whole run). Every size computation is checked for overflow. */
#include "mem/page_alloc.h"
#include "lib/mem.h"

#define PAGE_SIZE 4096ull

struct page_pool hv_pages;

void page_pool_init(struct page_pool *p, uint64_t base, uint64_t size)
{
    p->base = p->size = p->next = 0;
    /* Round the start up to a page; address 0 is the failure value, so never hand it out. */
    uint64_t skip = (PAGE_SIZE - (base % PAGE_SIZE)) % PAGE_SIZE;
    if (base == 0)
        skip = PAGE_SIZE;
    if (skip >= size)
        return;
    size -= skip;
    base += skip;
    if (size > UINT64_MAX - base)       /* the pool may not wrap around the address space */
        size = UINT64_MAX - base;
    size -= size % PAGE_SIZE;
    p->base = base;
    p->size = size;
    p->next = base;
}

uint64_t page_pool_alloc(struct page_pool *p, uint64_t count, uint64_t align_pages)
{
    if (count == 0 || p->size == 0)
        return 0;
    if (align_pages == 0)
        align_pages = 1;
    if (count > UINT64_MAX / PAGE_SIZE || align_pages > UINT64_MAX / PAGE_SIZE)
        return 0;
    uint64_t bytes = count * PAGE_SIZE, align = align_pages * PAGE_SIZE;
    uint64_t end = p->base + p->size;   /* cannot wrap: page_pool_init clamps size */
    uint64_t pad = (align - p->next % align) % align;
    if (pad > end - p->next)
        return 0;
    uint64_t start = p->next + pad;
    if (bytes > end - start)
        return 0;
    memset((void *)(uintptr_t)start, 0, (size_t)bytes);
    p->next = start + bytes;
    return start;
}

void *page_alloc(uint64_t count)
{
    return (void *)(uintptr_t)page_pool_alloc(&hv_pages, count, 1);
}
