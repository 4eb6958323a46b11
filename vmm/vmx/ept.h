/* Builds a guest's EPT: 4-level tables, write-back memory, 2 MiB pages where alignment allows.
 * Pure: tables are allocated through callbacks so host tests run it on malloc'd memory. */
#ifndef TESSERA_EPT_H
#define TESSERA_EPT_H

#include <stdbool.h>
#include <stdint.h>

#define EPT_READ   (1ull << 0)
#define EPT_WRITE  (1ull << 1)
#define EPT_EXEC   (1ull << 2)
#define EPT_RWX    (EPT_READ | EPT_WRITE | EPT_EXEC)

struct ept_allocator {
    void *(*alloc_page)(void *ctx);          /* zeroed 4 KiB page, or NULL */
    uint64_t (*virt_to_phys)(void *ctx, void *page);
    void *(*phys_to_virt)(void *ctx, uint64_t phys);
    void *ctx;
};

struct ept {
    uint64_t *pml4;
    uint64_t pml4_phys;
    struct ept_allocator alloc;
    bool use_2mb;
    uint64_t pages_used;                    /* table pages allocated, for the summary */
};

int ept_init(struct ept *e, const struct ept_allocator *alloc, bool use_2mb);
/* Map [gpa, gpa+size) to [hpa, hpa+size) with perms (EPT_*), WB. gpa, hpa, size 4 KiB aligned.
 * Returns 0, or -1 on misalignment, overflow, out of memory or a range already mapped. */
int ept_map_range(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t perms);
/* Look up a gpa: returns the hpa and sets *perms, or returns (uint64_t)-1 when unmapped. */
uint64_t ept_translate(const struct ept *e, uint64_t gpa, uint64_t *perms);
/* The EPT pointer value for the VMCS: WB, 4-level walk. */
uint64_t ept_pointer(const struct ept *e);

#endif
