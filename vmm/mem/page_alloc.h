/* The hypervisor's memory: 4 KiB pages from the heap the loader reserved. Allocation only
 * (guests live for the whole run); pure so it is tested on the host. */
#ifndef TESSERA_PAGE_ALLOC_H
#define TESSERA_PAGE_ALLOC_H

#include <stdint.h>

struct page_pool {
    uint64_t base, size, next;
};

void page_pool_init(struct page_pool *p, uint64_t base, uint64_t size);
/* count contiguous zeroed pages aligned to align_pages pages; returns the address or 0. */
uint64_t page_pool_alloc(struct page_pool *p, uint64_t count, uint64_t align_pages);

extern struct page_pool hv_pages;
/* Convenience on hv_pages: zeroed, returns NULL when exhausted. */
void *page_alloc(uint64_t count);

#endif
