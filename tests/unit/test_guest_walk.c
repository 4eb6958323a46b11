/* Tests for the guest page-table walker: page tables built in a malloc'd guest RAM for each
 * paging mode, translations, #PF error codes, A/D updates, cross-page reads, #PF injection. */
#include <stdarg.h>
#include "x86.h"
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "emu/guest_walk.h"
#include "soft_vmcs.h"
#include "test_guest_helpers.h"
#include "vmx/vmcs.h"

#define RAM_SIZE (16ull << 20)


#define P  1ull
#define RW 2ull
#define US 4ull
#define A  (1ull << 5)
#define D  (1ull << 6)
#define PS (1ull << 7)
#define XD (1ull << 63)

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u
#define PF_RSVD 8u
#define PF_ID 16u

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("walk", RAM_SIZE);
    vcpu = test_vcpu(vm);
    soft_vmcs_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static void put32(uint64_t gpa, uint32_t v) { memcpy(vm->ram + gpa, &v, 4); }
static void put64(uint64_t gpa, uint64_t v) { memcpy(vm->ram + gpa, &v, 8); }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, vm->ram + gpa, 4); return v; }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, vm->ram + gpa, 8); return v; }

static void set_cpl(unsigned cpl)
{
    vmcs_write(VMCS_GUEST_SS_AR, (uint64_t)cpl << 5 | 0x93);
}

static void set_paging(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
    vmcs_write(VMCS_GUEST_CR0, cr0);
    vmcs_write(VMCS_GUEST_CR3, cr3);
    vmcs_write(VMCS_GUEST_CR4, cr4);
    vmcs_write(VMCS_GUEST_EFER, efer);
}

static uint64_t xlate_ok(uint64_t linear, enum walk_access acc)
{
    uint64_t gpa = 0xdead;
    struct walk_fault f = { 0, 0 };
    assert_int_equal(guest_linear_to_gpa(vcpu, linear, acc, &gpa, &f), 0);
    return gpa;
}

static void xlate_fault(uint64_t linear, enum walk_access acc, uint64_t cr2, uint32_t error)
{
    uint64_t gpa = 0x5a5a;
    struct walk_fault f = { 0, 0xffff };
    assert_int_equal(guest_linear_to_gpa(vcpu, linear, acc, &gpa, &f), -1);
    assert_int_equal(f.linear, cr2);
    assert_int_equal(f.error_code, error);
    assert_int_equal(gpa, 0x5a5a);
}

static void test_paging_off(void **state)
{
    (void)state;
    set_paging(CR0_PE, 0x1000, 0, 0);
    assert_int_equal(xlate_ok(0x12345, WALK_READ), 0x12345);
    assert_int_equal(xlate_ok(0xfee00000, WALK_WRITE), 0xfee00000);
    /* linear addresses are 32 bits outside long mode */
    assert_int_equal(xlate_ok(0x100001000ull, WALK_FETCH), 0x1000);
    set_paging(0, 0, 0, 0);          /* real mode */
    assert_int_equal(xlate_ok(0xb8000, WALK_WRITE), 0xb8000);
    /* PG without PE is not paging */
    set_paging(CR0_PG, 0x1000, 0, 0);
    assert_int_equal(xlate_ok(0x4000, WALK_READ), 0x4000);
}

/* 32-bit paging: PD at 0x1000; PDE 1 -> PT at 0x2000; PTE 5 -> 0x7000 (rw, user);
 * PTE 6 -> 0x8000 read-only supervisor; PDE 2 -> 4 MiB page at 0xc00000. */
static void build_32bit(void)
{
    put32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
    put32(0x2000 + 5 * 4, 0x7000 | P | RW | US);
    put32(0x2000 + 6 * 4, 0x8000 | P);
    put32(0x1000 + 2 * 4, 0xc00000 | P | RW | PS);
}

static void test_32bit_paging(void **state)
{
    (void)state;
    build_32bit();
    set_paging(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0);
    set_cpl(0);
    assert_int_equal(xlate_ok(0x405123, WALK_READ), 0x7123);
    assert_int_equal(xlate_ok(0x405fff, WALK_FETCH), 0x7fff);
    assert_int_equal(xlate_ok(0x812345, WALK_WRITE), 0xc12345);
    /* upper 32 bits of the linear address do not exist here */
    assert_int_equal(xlate_ok(0xffffffff00405123ull, WALK_READ), 0x7123);
    /* not present: PDE 0, PTE 7; no I/D bit without NX or SMEP */
    xlate_fault(0x1234, WALK_READ, 0x1234, 0);
    xlate_fault(0x1234, WALK_WRITE, 0x1234, PF_W);
    xlate_fault(0x407000, WALK_FETCH, 0x407000, 0);
    /* read-only supervisor page: supervisor writes pass unless CR0.WP */
    assert_int_equal(xlate_ok(0x406010, WALK_WRITE), 0x8010);
    set_paging(CR0_PE | CR0_PG | CR0_WP, 0x1000, CR4_PSE, 0);
    xlate_fault(0x406010, WALK_WRITE, 0x406010, PF_P | PF_W);
    /* user mode: supervisor page and 4 MiB supervisor page fault, user page works */
    set_cpl(3);
    xlate_fault(0x406010, WALK_READ, 0x406010, PF_P | PF_U);
    xlate_fault(0x812345, WALK_READ, 0x812345, PF_P | PF_U);
    xlate_fault(0x3000, WALK_WRITE, 0x3000, PF_U | PF_W);
    assert_int_equal(xlate_ok(0x405001, WALK_WRITE), 0x7001);
}

static void test_32bit_large_pages(void **state)
{
    (void)state;
    build_32bit();
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0);
    /* PSE-36: PDE bits 20:13 are physical bits 39:32 */
    put32(0x1000 + 3 * 4, 0x00400000 | (0x12u << 13) | P | PS);
    assert_int_equal(xlate_ok(0xc00010, WALK_READ), 0x1200400010ull);
    /* bit 21 is reserved in a 4 MiB PDE */
    put32(0x1000 + 3 * 4, 0x00400000 | (1u << 21) | P | PS);
    xlate_fault(0xc00010, WALK_READ, 0xc00010, PF_P | PF_RSVD);
    xlate_fault(0xc00010, WALK_WRITE, 0xc00010, PF_P | PF_RSVD | PF_W);
    /* without CR4.PSE the PS bit is ignored: PDE 2 points at a page table at 0xc00000 */
    set_paging(CR0_PE | CR0_PG, 0x1000, 0, 0);
    put32(0xc00000 + 0x12 * 4, 0x9000 | P);
    assert_int_equal(xlate_ok(0x812345, WALK_READ), 0x9345);
}

static void test_32bit_accessed_dirty(void **state)
{
    (void)state;
    build_32bit();
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0);
    xlate_ok(0x405000, WALK_READ);
    assert_int_equal(get32(0x1004), 0x2000 | P | RW | US | A);
    assert_int_equal(get32(0x2014), 0x7000 | P | RW | US | A);
    xlate_ok(0x405000, WALK_WRITE);
    assert_int_equal(get32(0x2014), 0x7000 | P | RW | US | A | D);
    assert_int_equal(get32(0x1004), 0x2000 | P | RW | US | A);   /* D only in the leaf */
    xlate_ok(0x800000, WALK_WRITE);
    assert_int_equal(get32(0x1008), 0xc00000 | P | RW | PS | A | D);
    /* a faulting walk changes nothing */
    set_cpl(3);
    xlate_fault(0x406000, WALK_READ, 0x406000, PF_P | PF_U);
    assert_int_equal(get32(0x2018), 0x8000 | P);
}

static void test_32bit_table_outside_ram(void **state)
{
    (void)state;
    set_cpl(0);
    /* CR3 beyond RAM: the PDE reads all ones from the empty bus */
    set_paging(CR0_PE | CR0_PG, 0x80000000, CR4_PSE, 0);
    xlate_fault(0x1000, WALK_READ, 0x1000, PF_P | PF_RSVD);
    /* a PDE pointing at a page table beyond RAM */
    set_paging(CR0_PE | CR0_PG, 0x1000, CR4_PSE, 0);
    put32(0x1000, 0xfff00000 | P | RW);
    xlate_fault(0x1000, WALK_WRITE, 0x1000, PF_P | PF_RSVD | PF_W);
    /* the last entry of RAM works; one straddling the end does not exist in 32-bit tables */
    put32(0x1000 + 4 * 4, (uint32_t)(RAM_SIZE - 0x1000) | P);
    put32(RAM_SIZE - 4, 0x5000 | P);
    assert_int_equal(xlate_ok(0x13ff123, WALK_READ), 0x5123);
}

/* PAE: CR3 = 0x3020 (32-byte aligned); PDPTE 1 -> PD 0x4000; PDE 1 -> PT 0x5000;
 * PTE 1 -> 0x9000; PDE 2 -> 2 MiB page at 0x600000 (XD). */
static void build_pae(void)
{
    put64(0x3020 + 1 * 8, 0x4000 | P);
    put64(0x4000 + 1 * 8, 0x5000 | P | RW);
    put64(0x5000 + 1 * 8, 0x9000 | P | RW);
    put64(0x4000 + 2 * 8, 0x600000 | P | RW | PS | XD);
}

static void test_pae_paging(void **state)
{
    (void)state;
    build_pae();
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x3020, CR4_PAE, EFER_NXE);
    assert_int_equal(xlate_ok(0x40201123, WALK_WRITE), 0x9123);
    assert_int_equal(xlate_ok(0x40201123, WALK_FETCH), 0x9123);
    assert_int_equal(xlate_ok(0x40412345, WALK_READ), 0x612345);
    /* execute-disable applies with NXE; I/D is reported */
    xlate_fault(0x40412345, WALK_FETCH, 0x40412345, PF_P | PF_ID);
    /* not present PDPTE: I/D reported on fetches with NXE */
    xlate_fault(0x1000, WALK_FETCH, 0x1000, PF_ID);
    xlate_fault(0x1000, WALK_READ, 0x1000, 0);
    /* without NXE, XD is a reserved bit */
    set_paging(CR0_PE | CR0_PG, 0x3020, CR4_PAE, 0);
    xlate_fault(0x40412345, WALK_READ, 0x40412345, PF_P | PF_RSVD);
    xlate_fault(0x40412345, WALK_FETCH, 0x40412345, PF_P | PF_RSVD);
    /* user access to supervisor mapping; PDPTEs carry no U/S, the PDE/PTE do */
    set_cpl(3);
    xlate_fault(0x40201000, WALK_READ, 0x40201000, PF_P | PF_U);
    put64(0x4000 + 1 * 8, 0x5000 | P | RW | US);
    put64(0x5000 + 1 * 8, 0x9000 | P | US);
    assert_int_equal(xlate_ok(0x40201000, WALK_READ), 0x9000);
    xlate_fault(0x40201000, WALK_WRITE, 0x40201000, PF_P | PF_U | PF_W);
}

static void test_pae_reserved_bits(void **state)
{
    (void)state;
    build_pae();
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x3020, CR4_PAE, EFER_NXE);
    /* PDPTE bits 2:1 are reserved */
    put64(0x3020 + 1 * 8, 0x4000 | P | RW);
    xlate_fault(0x40201000, WALK_READ, 0x40201000, PF_P | PF_RSVD);
    put64(0x3020 + 1 * 8, 0x4000 | P | (1ull << 5));
    xlate_fault(0x40201000, WALK_READ, 0x40201000, PF_P | PF_RSVD);
    put64(0x3020 + 1 * 8, 0x4000 | P);
    /* 2 MiB page: bits 20:13 reserved */
    put64(0x4000 + 2 * 8, 0x600000 | P | PS | (1ull << 13));
    xlate_fault(0x40400000, WALK_READ, 0x40400000, PF_P | PF_RSVD);
    /* PAT bit 12 is fine */
    put64(0x4000 + 2 * 8, 0x600000 | P | PS | (1ull << 12));
    assert_int_equal(xlate_ok(0x40400010, WALK_READ), 0x600010);
    /* PAE reserves bits 62:52 too (4-level paging ignores them) */
    put64(0x5000 + 1 * 8, 0x9000 | P | (1ull << 55));
    xlate_fault(0x40201000, WALK_READ, 0x40201000, PF_P | PF_RSVD);
    /* A/D: set in PD and PT entries, never in the PDPTE */
    put64(0x5000 + 1 * 8, 0x9000 | P | RW);
    xlate_ok(0x40201000, WALK_WRITE);
    assert_int_equal(get64(0x3028), 0x4000 | P);
    assert_int_equal(get64(0x4008), 0x5000 | P | RW | A);
    assert_int_equal(get64(0x5008), 0x9000 | P | RW | A | D);
}

/* 4-level: PML4 0x10000; entry 256 (0xffff800000000000) -> PDPT 0x11000;
 * PDPTE 0 -> PD 0x12000, PDPTE 1 -> 1 GiB page at 0x40000000; PDE 0 -> PT 0x13000,
 * PDE 1 -> 2 MiB page at 0x200000; PTE 1 -> 0x14000 (user rw), PTE 2 -> 0x15000 (XD).
 * PML4 entry 0 -> same PDPT (a low alias). */
static void build_4level(void)
{
    put64(0x10000 + 256 * 8, 0x11000 | P | RW | US);
    put64(0x10000 + 0 * 8, 0x11000 | P | RW | US);
    put64(0x11000 + 0 * 8, 0x12000 | P | RW | US);
    put64(0x11000 + 1 * 8, 0x40000000 | P | RW | PS);
    put64(0x12000 + 0 * 8, 0x13000 | P | RW | US);
    put64(0x12000 + 1 * 8, 0x200000 | P | RW | PS);
    put64(0x13000 + 1 * 8, 0x14000 | P | RW | US);
    put64(0x13000 + 2 * 8, 0x15000 | P | RW | US | XD);
}

#define HIGH 0xffff800000000000ull

static void test_4level_paging(void **state)
{
    (void)state;
    build_4level();
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG | CR0_WP, 0x10000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE);
    assert_int_equal(xlate_ok(HIGH + 0x1234, WALK_READ), 0x14234);
    assert_int_equal(xlate_ok(0x1234, WALK_WRITE), 0x14234);
    assert_int_equal(xlate_ok(HIGH + 0x212345, WALK_WRITE), 0x212345);
    assert_int_equal(xlate_ok(HIGH + 0x7fedcba9, WALK_FETCH), 0x7fedcba9);
    /* full 64-bit linear address in CR2 */
    xlate_fault(HIGH + 0x3000, WALK_READ, HIGH + 0x3000, 0);
    xlate_fault(0x0000100000000000ull, WALK_WRITE, 0x0000100000000000ull, PF_W);
    /* NX page */
    assert_int_equal(xlate_ok(HIGH + 0x2000, WALK_READ), 0x15000);
    xlate_fault(HIGH + 0x2000, WALK_FETCH, HIGH + 0x2000, PF_P | PF_ID);
    /* supervisor-only 1 GiB and 2 MiB pages from user mode; WP'd read-only */
    set_cpl(3);
    xlate_fault(HIGH + 0x40000000, WALK_READ, HIGH + 0x40000000, PF_P | PF_U);
    xlate_fault(HIGH + 0x200000, WALK_FETCH, HIGH + 0x200000, PF_P | PF_U | PF_ID);
    assert_int_equal(xlate_ok(HIGH + 0x1008, WALK_WRITE), 0x14008);
    put64(0x13000 + 1 * 8, 0x14000 | P | US);
    xlate_fault(HIGH + 0x1008, WALK_WRITE, HIGH + 0x1008, PF_P | PF_U | PF_W);
    set_cpl(0);
    xlate_fault(HIGH + 0x1008, WALK_WRITE, HIGH + 0x1008, PF_P | PF_W);
    /* bits 62:52 are ignored in 4-level entries */
    put64(0x13000 + 1 * 8, 0x14000 | P | RW | US | (0x7ffull << 52));
    assert_int_equal(xlate_ok(HIGH + 0x1008, WALK_WRITE), 0x14008);
}

static void test_4level_reserved_and_ram(void **state)
{
    (void)state;
    build_4level();
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x10000, CR4_PAE, EFER_LME | EFER_LMA);
    /* XD without NXE */
    xlate_fault(HIGH + 0x2000, WALK_READ, HIGH + 0x2000, PF_P | PF_RSVD);
    /* PS in a PML4E */
    put64(0x10000 + 5 * 8, 0x11000 | P | PS);
    xlate_fault(5ull << 39, WALK_READ, 5ull << 39, PF_P | PF_RSVD);
    /* 1 GiB page: bits 29:13 reserved */
    put64(0x11000 + 2 * 8, 0x80000000 | P | PS | (1ull << 20));
    xlate_fault(0x80000000, WALK_READ, 0x80000000, PF_P | PF_RSVD);
    /* PDPT outside RAM (all ones from the empty bus) */
    put64(0x10000 + 6 * 8, 0x100000000ull | P | RW);
    xlate_fault(6ull << 39, WALK_WRITE, 6ull << 39, PF_P | PF_RSVD | PF_W);
    /* CR3 outside RAM */
    set_paging(CR0_PE | CR0_PG, 0xfffff000, CR4_PAE, EFER_LME | EFER_LMA);
    xlate_fault(0x1000, WALK_READ, 0x1000, PF_P | PF_RSVD);
}

static void test_smep_smap(void **state)
{
    (void)state;
    build_4level();
    set_cpl(0);
    uint64_t efer = EFER_LME | EFER_LMA | EFER_NXE;
    set_paging(CR0_PE | CR0_PG, 0x10000, CR4_PAE | CR4_SMEP, efer);
    xlate_fault(0x1000, WALK_FETCH, 0x1000, PF_P | PF_ID);            /* user page */
    assert_int_equal(xlate_ok(0x200000, WALK_FETCH), 0x200000);    /* supervisor page */
    assert_int_equal(xlate_ok(0x1000, WALK_READ), 0x14000);
    set_paging(CR0_PE | CR0_PG, 0x10000, CR4_PAE | CR4_SMAP, efer);
    xlate_fault(0x1000, WALK_READ, 0x1000, PF_P);
    xlate_fault(0x1000, WALK_WRITE, 0x1000, PF_P | PF_W);
    assert_int_equal(xlate_ok(0x1000, WALK_FETCH), 0x14000);
    vmcs_write(VMCS_GUEST_RFLAGS, (1ull << 18) | 2);                /* AC allows it */
    assert_int_equal(xlate_ok(0x1000, WALK_WRITE), 0x14000);
    set_cpl(3);
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    assert_int_equal(xlate_ok(0x1000, WALK_WRITE), 0x14000);       /* SMAP is for supervisors */
}

static void test_5level_paging(void **state)
{
    (void)state;
    /* PML5 at 0x20000, entry 1 -> PML4 0x21000, entry 0 -> PDPT 0x22000, 1 GiB page at 0 */
    put64(0x20000 + 1 * 8, 0x21000 | P | RW);
    put64(0x21000, 0x22000 | P | RW);
    put64(0x22000 + 3 * 8, 0xc0000000 | P | RW | PS);
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x20000, CR4_PAE | CR4_LA57, EFER_LME | EFER_LMA);
    assert_int_equal(xlate_ok((1ull << 48) + 0xc0001234ull, WALK_WRITE), 0xc0001234ull);
    xlate_fault(0xc0001234ull, WALK_READ, 0xc0001234ull, 0);
    /* PS is reserved in a PML5E */
    put64(0x20000 + 2 * 8, 0x21000 | P | PS);
    xlate_fault(2ull << 48, WALK_READ, 2ull << 48, PF_P | PF_RSVD);
}

static void test_read_linear_across_pages(void **state)
{
    (void)state;
    build_4level();
    /* PTE 3 -> 0x16000, PTE 4 -> 0x1c000 (not contiguous), PTE 5 -> beyond RAM, PTE 6 absent */
    put64(0x13000 + 3 * 8, 0x16000 | P);
    put64(0x13000 + 4 * 8, 0x1c000 | P);
    put64(0x13000 + 5 * 8, 0x7000000000ull | P);
    set_cpl(0);
    set_paging(CR0_PE | CR0_PG, 0x10000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE);
    memcpy(vm->ram + 0x16ffc, "abcd", 4);
    memcpy(vm->ram + 0x1c000, "efgh", 4);
    char buf[16];
    struct walk_fault f;
    assert_int_equal(guest_read_linear(vcpu, 0x3ffc, buf, 8, WALK_READ, &f), 0);
    assert_memory_equal(buf, "abcdefgh", 8);
    /* bytes of a page mapped outside RAM read as the empty bus */
    memcpy(vm->ram + 0x1cffe, "ij", 2);
    assert_int_equal(guest_read_linear(vcpu, 0x4ffe, buf, 6, WALK_FETCH, &f), 0);
    assert_memory_equal(buf, "ij\xff\xff\xff\xff", 6);
    /* the second page faults: reported with its own address */
    assert_int_equal(guest_read_linear(vcpu, 0x5ffe, buf, 4, WALK_READ, &f), -1);
    assert_int_equal(f.linear, 0x6000);
    assert_int_equal(f.error_code, 0);
    /* zero length reads nothing and succeeds */
    assert_int_equal(guest_read_linear(vcpu, 0x9000, buf, 0, WALK_READ, &f), 0);
    /* paging off, RAM end straddled */
    set_paging(CR0_PE, 0, 0, 0);
    memcpy(vm->ram + RAM_SIZE - 2, "kl", 2);
    assert_int_equal(guest_read_linear(vcpu, RAM_SIZE - 2, buf, 4, WALK_READ, &f), 0);
    assert_memory_equal(buf, "kl\xff\xff", 4);
}

static void test_inject_page_fault(void **state)
{
    (void)state;
    set_paging(CR0_PE | CR0_PG, 0, 0, 0);
    struct walk_fault f = { 0xffff800000003000ull, PF_W | PF_U };
    assert_int_equal(guest_inject_page_fault(vcpu, &f), EXIT_CONTINUE);
    assert_int_equal(vcpu->cr2, 0xffff800000003000ull);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), PF_W | PF_U);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_paging_off),
        T(test_32bit_paging),
        T(test_32bit_large_pages),
        T(test_32bit_accessed_dirty),
        T(test_32bit_table_outside_ram),
        T(test_pae_paging),
        T(test_pae_reserved_bits),
        T(test_4level_paging),
        T(test_4level_reserved_and_ram),
        T(test_smep_smap),
        T(test_5level_paging),
        T(test_read_linear_across_pages),
        T(test_inject_page_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
