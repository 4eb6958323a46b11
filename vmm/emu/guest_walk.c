/* Translation of guest linear addresses through the guest's own paging structures (no paging,
 * 32-bit, PAE, 4-level, 5-level), with the permission and reserved-bit checks the guest's CPU
 * applies, so emulated accesses fault exactly where real ones would.
 *
 * Accessed/dirty bits: a successful translation sets A in every entry used and D in the leaf
 * for writes, as the CPU does; otherwise an OS could lose data written by emulation into a page
 * it believes clean. A faulting walk sets nothing.
 *
 * Not modelled: protection keys, segment limits, the VMCS PDPTE fields (PAE PDPTEs are read
 * from memory at CR3), and non-canonical addresses (#GP, the caller's business). */
#include "emu/guest_walk.h"
#include "x86.h"
#include "lib/mem.h"
#include "mem/guest_mem.h"
#include "vmx/vmcs.h"


#define PTE_P    (1ull << 0)
#define PTE_RW   (1ull << 1)
#define PTE_US   (1ull << 2)
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)
#define PTE_XD   (1ull << 63)

#define PF_P     (1u << 0)
#define PF_W     (1u << 1)
#define PF_U     (1u << 2)
#define PF_RSVD  (1u << 3)
#define PF_ID    (1u << 4)

/* Physical-address width assumed for reserved-bit checks. The widest architectural value:
 * being lenient about address bits the guest's CPUID might call reserved only lets an access
 * reach the empty bus, never memory outside the guest. */
#define WALK_MAXPHYADDR 52
#define ADDR_MASK_52 (((1ull << WALK_MAXPHYADDR) - 1) & ~0xfffull)

#define PAGE_SIZE 4096ull

enum paging_mode { PAGING_NONE, PAGING_32, PAGING_PAE, PAGING_4LEVEL, PAGING_5LEVEL };

struct walk_state {
    uint64_t cr0, cr3, cr4, efer;
    bool user;                    /* CPL 3 */
    enum paging_mode paging;
};

static enum paging_mode paging_mode_of(const struct walk_state *s)
{
    if (!(s->cr0 & CR0_PG) || !(s->cr0 & CR0_PE))
        return PAGING_NONE;
    if (!(s->cr4 & CR4_PAE))
        return PAGING_32;
    if (!(s->efer & EFER_LMA))
        return PAGING_PAE;
    return (s->cr4 & CR4_LA57) ? PAGING_5LEVEL : PAGING_4LEVEL;
}

static void load_state(struct walk_state *s)
{
    s->cr0 = vmcs_read(VMCS_GUEST_CR0);
    s->cr3 = vmcs_read(VMCS_GUEST_CR3);
    s->cr4 = vmcs_read(VMCS_GUEST_CR4);
    s->efer = vmcs_read(VMCS_GUEST_EFER);
    s->user = vcpu_cpl() == 3;
    s->paging = paging_mode_of(s);
}

/* Error-code bits describing the access itself; P and RSVD are added by the cause. */
static uint32_t access_error_bits(const struct walk_state *s, enum walk_access access)
{
    uint32_t e = 0;
    if (access == WALK_WRITE)
        e |= PF_W;
    if (s->user)
        e |= PF_U;
    /* I/D is reported only when execute protection could be the reason (SDM 4.7). */
    if (access == WALK_FETCH &&
        ((s->cr4 & CR4_SMEP) || ((s->cr4 & CR4_PAE) && (s->efer & EFER_NXE))))
        e |= PF_ID;
    return e;
}

/* One paging-structure entry as found in guest RAM. */
struct entry_ref {
    uint64_t gpa;
    unsigned size;                /* 4 or 8 */
};

/* An entry is read once per walk, in one access, like the CPU's own page walker does. */
static int read_entry(const struct vm *vm, struct entry_ref ref, uint64_t *value)
{
    if (ref.size == 4) {
        uint32_t v;
        if (!guest_mem_load32(vm, ref.gpa, &v))
            return -1;
        *value = v;
        return 0;
    }
    return guest_mem_load64(vm, ref.gpa, value) ? 0 : -1;
}

/* An entry whose bits are already set is not written again (the usual case for accessed bits),
 * which also leaves alone whatever the guest wrote in the meantime. Forced inline: it runs for
 * every level of every walk, and the notify path of virtio-blk walks on each request. */
static inline __attribute__((always_inline)) void set_entry_bits(struct vm *vm, struct entry_ref ref, uint64_t bits)
{
    if (ref.size == 4) {
        uint32_t v;
        if (guest_mem_load32(vm, ref.gpa, &v) && (v & (uint32_t)bits) != (uint32_t)bits)
            guest_mem_store32(vm, ref.gpa, v | (uint32_t)bits);
    } else {
        uint64_t v;
        if (guest_mem_load64(vm, ref.gpa, &v) && (v & bits) != bits)
            guest_mem_store64(vm, ref.gpa, v | bits);
    }
}

#define MAX_LEVELS 5

struct walk_result {
    uint64_t gpa;
    bool writable, user, exec_disabled;
    struct entry_ref used[MAX_LEVELS];
    unsigned used_count;
};

enum walk_status { WALK_OK, WALK_NOT_PRESENT, WALK_RESERVED };

/* Entries are 8 bytes: PAE, 4- and 5-level paging. levels counts from the root (5, 4 or 2
 * below a PAE PDPTE); table is the physical address of the root table. */
static enum walk_status walk_long_entries(struct vcpu *v, const struct walk_state *s, uint64_t linear,
                                          uint64_t table, unsigned levels, struct walk_result *r)
{
    bool nxe = s->efer & EFER_NXE;
    /* PAE entries reserve bits 62:MAXPHYADDR; 4/5-level ones leave 62:52 to software. */
    uint64_t high_reserved = s->paging == PAGING_PAE ? 0x7ff0000000000000ull : 0;
    if (!nxe)
        high_reserved |= PTE_XD;
    for (unsigned level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        struct entry_ref ref = { table + ((linear >> shift) & 511) * 8, 8 };
        uint64_t e;
        /* A table outside RAM reads as all ones from the empty bus: present, reserved bits set. */
        if (read_entry(v->vm, ref, &e) < 0)
            return WALK_RESERVED;
        if (!(e & PTE_P))
            return WALK_NOT_PRESENT;
        if (e & high_reserved)
            return WALK_RESERVED;
        bool large = (e & PTE_PS) && (level == 2 || level == 3);
        if ((e & PTE_PS) && level >= 4)
            return WALK_RESERVED;
        r->used[r->used_count++] = ref;
        r->writable = r->writable && (e & PTE_RW);
        r->user = r->user && (e & PTE_US);
        r->exec_disabled = r->exec_disabled || (nxe && (e & PTE_XD));
        if (large) {
            /* Bits 12 (PAT) up to the page size are address in small pages only. */
            uint64_t page_mask = (1ull << shift) - 1;
            if (e & page_mask & ~0x1fffull)
                return WALK_RESERVED;
            r->gpa = (e & ADDR_MASK_52 & ~page_mask) | (linear & page_mask);
            return WALK_OK;
        }
        if (level == 1) {
            r->gpa = (e & ADDR_MASK_52) | (linear & 0xfff);
            return WALK_OK;
        }
        table = e & ADDR_MASK_52;
    }
    return WALK_RESERVED;   /* not reached: level 1 always returns */
}

static enum walk_status walk_pae(struct vcpu *v, const struct walk_state *s, uint64_t linear,
                                 struct walk_result *r)
{
    struct entry_ref ref = { (s->cr3 & 0xffffffe0ull) + ((linear >> 30) & 3) * 8, 8 };
    uint64_t pdpte;
    if (read_entry(v->vm, ref, &pdpte) < 0)
        return WALK_RESERVED;
    if (!(pdpte & PTE_P))
        return WALK_NOT_PRESENT;
    /* PDPTEs reserve bits 2:1, 8:5 and 63:MAXPHYADDR; they carry no permissions or A bit. */
    if (pdpte & (0x6ull | 0x1e0ull | ~((1ull << WALK_MAXPHYADDR) - 1)))
        return WALK_RESERVED;
    return walk_long_entries(v, s, linear, pdpte & ADDR_MASK_52, 2, r);
}

static enum walk_status walk_32bit(struct vcpu *v, const struct walk_state *s, uint64_t linear,
                                   struct walk_result *r)
{
    struct entry_ref pde_ref = { (s->cr3 & 0xfffff000ull) + ((linear >> 22) & 1023) * 4, 4 };
    uint64_t pde;
    if (read_entry(v->vm, pde_ref, &pde) < 0)
        return WALK_RESERVED;
    if (!(pde & PTE_P))
        return WALK_NOT_PRESENT;
    r->used[r->used_count++] = pde_ref;
    r->writable = pde & PTE_RW;
    r->user = pde & PTE_US;
    if ((pde & PTE_PS) && (s->cr4 & CR4_PSE)) {
        /* 4 MiB page; PSE-36 puts physical bits 39:32 in bits 20:13, bit 21 is reserved. */
        if (pde & (1ull << 21))
            return WALK_RESERVED;
        r->gpa = (pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32) | (linear & 0x3fffff);
        return WALK_OK;
    }
    struct entry_ref pte_ref = { (pde & 0xfffff000ull) + ((linear >> 12) & 1023) * 4, 4 };
    uint64_t pte;
    if (read_entry(v->vm, pte_ref, &pte) < 0)
        return WALK_RESERVED;
    if (!(pte & PTE_P))
        return WALK_NOT_PRESENT;
    r->used[r->used_count++] = pte_ref;
    r->writable = r->writable && (pte & PTE_RW);
    r->user = r->user && (pte & PTE_US);
    r->gpa = (pte & 0xfffff000ull) | (linear & 0xfff);
    return WALK_OK;
}

/* May this access use a page with the collected permissions? (SDM 4.6) */
static bool access_allowed(const struct walk_state *s, enum walk_access access, const struct walk_result *r)
{
    if (s->user && !r->user)
        return false;
    switch (access) {
    case WALK_WRITE:
        if (!r->writable && (s->user || (s->cr0 & CR0_WP)))
            return false;
        break;
    case WALK_FETCH:
        if (r->exec_disabled)
            return false;
        if (!s->user && r->user && (s->cr4 & CR4_SMEP))
            return false;
        return true;
    case WALK_READ:
        break;
    }
    /* SMAP: supervisor data accesses to user pages, unless RFLAGS.AC allows them. */
    if (!s->user && r->user && (s->cr4 & CR4_SMAP) && !(vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_AC))
        return false;
    return true;
}

int guest_linear_to_gpa(struct vcpu *v, uint64_t linear, enum walk_access access,
                        uint64_t *gpa, struct walk_fault *fault)
{
    struct walk_state s;
    load_state(&s);
    if (!(s.efer & EFER_LMA))
        linear &= 0xffffffffull;
    if (s.paging == PAGING_NONE) {
        *gpa = linear;
        return 0;
    }

    struct walk_result r = { .writable = true, .user = true, .exec_disabled = false };
    enum walk_status st;
    switch (s.paging) {
    case PAGING_32:     st = walk_32bit(v, &s, linear, &r); break;
    case PAGING_PAE:    st = walk_pae(v, &s, linear, &r); break;
    case PAGING_4LEVEL: st = walk_long_entries(v, &s, linear, s.cr3 & ADDR_MASK_52, 4, &r); break;
    default:            st = walk_long_entries(v, &s, linear, s.cr3 & ADDR_MASK_52, 5, &r); break;
    }

    uint32_t error = access_error_bits(&s, access);
    if (st == WALK_NOT_PRESENT || st == WALK_RESERVED || !access_allowed(&s, access, &r)) {
        if (st == WALK_RESERVED)
            error |= PF_P | PF_RSVD;
        else if (st == WALK_OK)
            error |= PF_P;
        fault->linear = linear;
        fault->error_code = error;
        return -1;
    }

    for (unsigned i = 0; i < r.used_count; i++)
        set_entry_bits(v->vm, r.used[i], PTE_A);
    if (access == WALK_WRITE && r.used_count)
        set_entry_bits(v->vm, r.used[r.used_count - 1], PTE_D);
    *gpa = r.gpa;
    return 0;
}

int guest_read_linear(struct vcpu *v, uint64_t linear, void *buf, size_t len,
                      enum walk_access access, struct walk_fault *fault)
{
    uint8_t *out = buf;
    while (len) {
        size_t chunk = PAGE_SIZE - (linear & (PAGE_SIZE - 1));
        if (chunk > len)
            chunk = len;
        uint64_t gpa;
        if (guest_linear_to_gpa(v, linear, access, &gpa, fault) < 0)
            return -1;
        if (!guest_mem_read(v->vm, gpa, out, chunk)) {
            /* Not (all) RAM: bytes outside RAM read as the empty bus, devices untouched. */
            for (size_t i = 0; i < chunk; i++)
                if (!guest_mem_load8(v->vm, gpa + i, &out[i]))
                    out[i] = 0xff;
        }
        out += chunk;
        linear += chunk;
        len -= chunk;
    }
    return 0;
}

enum exit_result guest_inject_page_fault(struct vcpu *v, const struct walk_fault *fault)
{
    v->cr2 = fault->linear;
    v->cr2_pending = true; /* the run loop loads it into CR2 before the entry */
    return vcpu_inject_exception(v, VEC_PF, true, fault->error_code);
}
