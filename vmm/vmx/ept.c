/* Builds and walks a guest's extended page tables (SDM Vol. 3 29.3): 4 levels of 512 entries,
 * write-back leaves, 2 MiB leaves wherever gpa, hpa and the remaining length allow. */
#include "vmx/ept.h"
#include "lib/mem.h"

#define PAGE_4K          (1ull << 12)
#define PAGE_2M          (1ull << 21)
#define PAGE_1G          (1ull << 30)
#define GPA_LIMIT        (1ull << 48)          /* a 4-level walk translates 48 bits */
#define HPA_LIMIT        (1ull << 52)          /* the architectural maximum physical-address width */
#define ENTRY_ADDR_MASK  0x000ffffffffff000ull
#define ENTRY_LARGE      (1ull << 7)           /* a PDE/PDPTE that maps a page instead of a table */
#define LEAF_MEMTYPE_WB  (6ull << 3)
#define EPTP_MEMTYPE_WB  6ull
#define EPTP_WALK_4      (3ull << 3)           /* page-walk length minus one */

static unsigned index_at(uint64_t gpa, unsigned level) /* level 4 = PML4 ... 1 = PT */
{
    return (unsigned)((gpa >> (12 + 9 * (level - 1))) & 511);
}

static bool present(uint64_t entry)
{
    return (entry & EPT_RWX) != 0;   /* EPT has no P bit: an entry with no access maps nothing */
}

static uint64_t *table_at(const struct ept *e, uint64_t entry)
{
    return e->alloc.phys_to_virt(e->alloc.ctx, entry & ENTRY_ADDR_MASK);
}

static bool table_is_empty(const uint64_t *table)
{
    for (unsigned i = 0; i < 512; i++)
        if (present(table[i]))
            return false;
    return true;
}

int ept_init(struct ept *e, const struct ept_allocator *alloc, bool use_2mb)
{
    memset(e, 0, sizeof(*e));
    if (!alloc || !alloc->alloc_page || !alloc->virt_to_phys || !alloc->phys_to_virt)
        return -1;
    e->alloc = *alloc;
    e->use_2mb = use_2mb;
    uint64_t *pml4 = alloc->alloc_page(alloc->ctx);
    if (!pml4)
        return -1;
    uint64_t phys = alloc->virt_to_phys(alloc->ctx, pml4);
    if (phys % PAGE_4K || phys >= HPA_LIMIT)
        return -1;
    e->pml4 = pml4;
    e->pml4_phys = phys;
    e->pages_used = 1;
    return 0;
}

/* The page size used for the piece of a mapping that starts at gpa/hpa with left bytes to go:
 * the same answer in the checking pass and the writing pass. */
static uint64_t piece_size(const struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t left)
{
    if (e->use_2mb && gpa % PAGE_2M == 0 && hpa % PAGE_2M == 0 && left >= PAGE_2M)
        return PAGE_2M;
    return PAGE_4K;
}

/* Does anything already map part of [gpa, gpa + piece)? Empty tables (left behind by an
 * earlier call that ran out of memory) map nothing and do not count. */
static bool piece_is_mapped(const struct ept *e, uint64_t gpa, uint64_t piece)
{
    uint64_t entry = e->pml4[index_at(gpa, 4)];
    if (!present(entry))
        return false;
    entry = table_at(e, entry)[index_at(gpa, 3)];
    if (!present(entry))
        return false;
    if (entry & ENTRY_LARGE)
        return true;
    entry = table_at(e, entry)[index_at(gpa, 2)];
    if (!present(entry))
        return false;
    if (entry & ENTRY_LARGE)
        return true;
    const uint64_t *pt = table_at(e, entry);
    if (piece == PAGE_2M)
        return !table_is_empty(pt);
    return present(pt[index_at(gpa, 1)]);
}

/* The table an entry points to, allocating an empty one when the entry is unused. NULL when
 * out of memory or when the allocator hands back an unusable page. */
static uint64_t *next_table(struct ept *e, uint64_t *entry)
{
    if (present(*entry))
        return table_at(e, *entry);
    uint64_t *table = e->alloc.alloc_page(e->alloc.ctx);
    if (!table)
        return NULL;
    uint64_t phys = e->alloc.virt_to_phys(e->alloc.ctx, table);
    if (phys % PAGE_4K || phys >= HPA_LIMIT)
        return NULL;
    e->pages_used++;
    /* Non-leaf entries grant everything; the leaf alone decides the access. */
    *entry = phys | EPT_RWX;
    return table;
}

/* Make sure the tables down to the level where this piece's leaf goes exist. Returns the table
 * holding the leaf (a PD for 2 MiB pieces, a PT for 4 KiB ones), or NULL when out of memory. */
static uint64_t *leaf_table(struct ept *e, uint64_t gpa, uint64_t piece)
{
    uint64_t *pdpt = next_table(e, &e->pml4[index_at(gpa, 4)]);
    if (!pdpt)
        return NULL;
    uint64_t *pd = next_table(e, &pdpt[index_at(gpa, 3)]);
    if (!pd || piece == PAGE_2M)
        return pd;
    return next_table(e, &pd[index_at(gpa, 2)]);
}

static bool perms_valid(uint64_t perms)
{
    /* Write without read is an EPT misconfiguration; execute-only needs a CPU capability
     * Tessera does not check, so every mapping must at least be readable. */
    return perms && !(perms & ~EPT_RWX) && (perms & EPT_READ);
}

/* A mapping is made in three passes so that a failing call maps nothing: first every piece is
 * checked against existing mappings, then every table the range needs is allocated (running out
 * of memory here leaves only empty tables behind, which map nothing and are reused later), and
 * only then are the leaves written, which cannot fail. */
int ept_map_range(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t perms)
{
    if (!e->pml4 || !perms_valid(perms))
        return -1;
    if (gpa % PAGE_4K || hpa % PAGE_4K || size % PAGE_4K)
        return -1;
    if (size == 0)
        return 0;
    if (gpa >= GPA_LIMIT || size > GPA_LIMIT - gpa || hpa >= HPA_LIMIT || size > HPA_LIMIT - hpa)
        return -1;

    for (uint64_t off = 0, piece; off < size; off += piece) {
        piece = piece_size(e, gpa + off, hpa + off, size - off);
        if (piece_is_mapped(e, gpa + off, piece))
            return -1;
    }
    for (uint64_t off = 0, piece; off < size; off += piece) {
        piece = piece_size(e, gpa + off, hpa + off, size - off);
        if (!leaf_table(e, gpa + off, piece))
            return -1;
    }
    uint64_t leaf_bits = perms | LEAF_MEMTYPE_WB;
    for (uint64_t off = 0, piece; off < size; off += piece) {
        uint64_t g = gpa + off, h = hpa + off;
        piece = piece_size(e, g, h, size - off);
        uint64_t *table = leaf_table(e, g, piece);   /* all exist now: allocates nothing */
        if (piece == PAGE_4K) {
            table[index_at(g, 1)] = h | leaf_bits;
            continue;
        }
        uint64_t *pde = &table[index_at(g, 2)];
        if (present(*pde)) {
            /* An empty page table is already linked here: fill it rather than leak it. */
            uint64_t *pt = table_at(e, *pde);
            for (unsigned i = 0; i < 512; i++)
                pt[i] = (h + i * PAGE_4K) | leaf_bits;
        } else {
            *pde = h | ENTRY_LARGE | leaf_bits;
        }
    }
    return 0;
}

uint64_t ept_translate(const struct ept *e, uint64_t gpa, uint64_t *perms)
{
    if (!e->pml4 || gpa >= GPA_LIMIT)
        return (uint64_t)-1;
    const uint64_t *table = e->pml4;
    for (unsigned level = 4; level >= 1; level--) {
        uint64_t entry = table[index_at(gpa, level)];
        if (!present(entry))
            return (uint64_t)-1;
        uint64_t page = level == 1 ? PAGE_4K : level == 2 ? PAGE_2M : level == 3 ? PAGE_1G : 0;
        if (level == 1 || ((level == 2 || level == 3) && (entry & ENTRY_LARGE))) {
            if (perms)
                *perms = entry & EPT_RWX;
            return (entry & ENTRY_ADDR_MASK & ~(page - 1)) | (gpa & (page - 1));
        }
        table = table_at(e, entry);
    }
    return (uint64_t)-1;
}

uint64_t ept_pointer(const struct ept *e)
{
    return e->pml4_phys | EPTP_MEMTYPE_WB | EPTP_WALK_4;
}
