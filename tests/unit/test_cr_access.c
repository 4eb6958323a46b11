/* Tests for control-register exits on the soft VMCS: the policy masks, shadows vs. real values,
 * MOV to CR0/CR3/CR4/CR8 checks and #GP injection, long-mode activation and deactivation, PAE
 * PDPTE loading, CLTS and LMSW. */
#include <stdarg.h>
#include "x86.h"
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "exit/handlers.h"
#include "test_guest_helpers.h"


/* A Skylake-like VMX: CR0 needs PE, NE, PG (lifted by unrestricted guest); CR4 needs VMXE. */
#define FIXED0_CR0 0x80000021ull
#define FIXED1_CR0 0xFFFFFFFFull
#define FIXED0_CR4 0x2000ull
#define FIXED1_CR4 0x3767FFull

enum { TYPE_MOV_TO = 0, TYPE_MOV_FROM = 1, TYPE_CLTS = 2, TYPE_LMSW = 3 };

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("cr", 1 << 20);
    vcpu = test_vcpu(vm);
    cpuid_policy_init(0);
    cr_policy_init(&cr_policy, FIXED0_CR0, FIXED1_CR0, FIXED0_CR4, FIXED1_CR4, 1);
    vmcs_write(VMCS_CR0_GUEST_HOST_MASK, cr_policy.cr0_mask);
    vmcs_write(VMCS_CR4_GUEST_HOST_MASK, cr_policy.cr4_mask);
    cr_set_guest_cr0(CR0_PE | CR0_ET);
    cr_set_guest_cr4(0);
    vmcs_write(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_EFER);
    vmcs_write(VMCS_GUEST_TR_AR, 0x8B);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static uint64_t view_cr0(void)
{
    uint64_t mask = vmcs_read(VMCS_CR0_GUEST_HOST_MASK);
    return (vmcs_read(VMCS_GUEST_CR0) & ~mask) | (vmcs_read(VMCS_CR0_READ_SHADOW) & mask);
}

static uint64_t view_cr4(void)
{
    uint64_t mask = vmcs_read(VMCS_CR4_GUEST_HOST_MASK);
    return (vmcs_read(VMCS_GUEST_CR4) & ~mask) | (vmcs_read(VMCS_CR4_READ_SHADOW) & mask);
}

static enum exit_result cr_exit(unsigned cr, unsigned type, unsigned gpr, uint32_t lmsw_source)
{
    vmcs_write(VMCS_EXIT_QUALIFICATION, cr | (type << 4) | (gpr << 8) | ((uint64_t)lmsw_source << 16));
    return exit_handle_cr_access(vcpu);
}

static enum exit_result mov_to(unsigned cr, unsigned gpr, uint64_t value)
{
    vcpu_gpr_write(vcpu, gpr, value);
    return cr_exit(cr, TYPE_MOV_TO, gpr, 0);
}

static void assert_gp(enum exit_result r)
{
    assert_int_equal(r, EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_true(soft_vmcs_written(VMCS_ENTRY_EXCEPTION_ERROR));
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
}

static void assert_no_event(void)
{
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
}

static void enter_64bit_mode(void)
{
    cr_set_guest_cr4(CR4_PAE);
    cr_set_guest_cr0(CR0_PG | CR0_PE | CR0_ET);
    vmcs_write(VMCS_GUEST_EFER, EFER_LME | EFER_LMA);
    vmcs_write(VMCS_GUEST_CS_AR, 0xA09B);
}

/* ---- policy ---- */

static void test_policy_masks(void **state)
{
    (void)state;
    assert_int_equal(cr_policy.cr0_fixed0, FIXED0_CR0 & ~(CR0_PE | CR0_PG));
    uint64_t m0 = cr_policy.cr0_mask;
    assert_true((m0 & (CR0_PE | CR0_PG | CR0_CD | CR0_NW | CR0_NE)) == (CR0_PE | CR0_PG | CR0_CD | CR0_NW | CR0_NE));
    assert_int_equal(m0 >> 32, 0xFFFFFFFFull);                 /* bits fixed1 forbids */
    assert_int_equal(m0 & (CR0_TS | CR0_MP | CR0_EM), 0);      /* the guest's own */
    uint64_t m4 = cr_policy.cr4_mask;
    assert_true(m4 & CR4_VMXE);
    assert_true(m4 & CR4_SMXE);                                 /* even though fixed1 allows it */
    assert_true(m4 & (1ull << 15));                             /* fixed1 forbids */
    assert_int_equal(m4 & (CR4_PAE | CR4_OSXSAVE | CR4_PCIDE), 0);

    struct cr_policy p;
    cr_policy_init(&p, FIXED0_CR0, FIXED1_CR0, FIXED0_CR4, FIXED1_CR4, 0);
    assert_int_equal(p.cr0_fixed0, FIXED0_CR0);                 /* no unrestricted guest */
}

static void test_vmxe_always_set_underneath(void **state)
{
    (void)state;
    /* even with a (theoretical) CR4_FIXED0 that does not demand it */
    cr_policy_init(&cr_policy, FIXED0_CR0, FIXED1_CR0, 0, FIXED1_CR4, 1);
    cr_set_guest_cr4(CR4_PAE);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR4), CR4_PAE | CR4_VMXE);
    assert_int_equal(vmcs_read(VMCS_CR4_READ_SHADOW), CR4_PAE);
    assert_true(cr_policy.cr4_mask & CR4_VMXE);
}

static void test_set_guest_cr0_cr4_shadows(void **state)
{
    (void)state;
    cr_set_guest_cr0(CR0_ET);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR0), CR0_ET | CR0_NE);
    assert_int_equal(vmcs_read(VMCS_CR0_READ_SHADOW), CR0_ET);
    cr_set_guest_cr0(CR0_CD | CR0_NW | CR0_PE | CR0_ET);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR0), CR0_PE | CR0_ET | CR0_NE);   /* caching stays on */
    assert_int_equal(view_cr0(), CR0_CD | CR0_NW | CR0_PE | CR0_ET);
    cr_set_guest_cr4(0);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR4), CR4_VMXE);
    assert_int_equal(view_cr4(), 0);
}

/* ---- MOV to CR0 ---- */

static void test_mov_cr0_paging_32bit(void **state)
{
    (void)state;
    assert_int_equal(mov_to(0, REG_RAX, CR0_PG | CR0_PE | CR0_ET), EXIT_ADVANCE);
    assert_no_event();
    assert_int_equal(view_cr0(), CR0_PG | CR0_PE | CR0_ET);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR0), CR0_PG | CR0_PE | CR0_ET | CR0_NE);
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER) & EFER_LMA, 0);
    assert_int_equal(vmcs_read(VMCS_ENTRY_CONTROLS), ENTRY_LOAD_EFER);
    assert_false(soft_vmcs_written(VMCS_GUEST_RIP));
}

static void test_mov_cr0_invalid_combinations(void **state)
{
    (void)state;
    uint64_t before = view_cr0();
    assert_gp(mov_to(0, REG_RAX, CR0_PG | CR0_ET));             /* PG without PE */
    assert_gp(mov_to(0, REG_RAX, CR0_NW | CR0_PE | CR0_ET));    /* NW without CD */
    assert_int_equal(view_cr0(), before);
    assert_int_equal(mov_to(0, REG_RAX, CR0_CD | CR0_NW | CR0_PE), EXIT_ADVANCE);
    assert_int_equal(view_cr0(), CR0_CD | CR0_NW | CR0_PE | CR0_ET);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR0) & (CR0_CD | CR0_NW), 0);
}

static void test_mov_cr0_upper_bits(void **state)
{
    (void)state;
    /* 32-bit code: only EAX counts */
    assert_int_equal(mov_to(0, REG_RAX, 0xFFFFFFFF00000000ull | CR0_PE | CR0_ET), EXIT_ADVANCE);
    assert_int_equal(view_cr0(), CR0_PE | CR0_ET);
    /* 64-bit code: bits 63:32 are reserved */
    enter_64bit_mode();
    uint64_t before = view_cr0();
    assert_gp(mov_to(0, REG_RAX, (1ull << 32) | before));
    assert_int_equal(view_cr0(), before);
}

static void test_mov_cr0_low_reserved_bits_ignored(void **state)
{
    (void)state;
    assert_int_equal(mov_to(0, REG_RDX, CR0_PE | (1ull << 6) | (1ull << 20)), EXIT_ADVANCE);
    assert_int_equal(view_cr0(), CR0_PE | CR0_ET);
}

static void test_long_mode_activation(void **state)
{
    (void)state;
    cr_set_guest_cr4(CR4_PAE);
    vmcs_write(VMCS_GUEST_EFER, EFER_LME);
    vmcs_write(VMCS_GUEST_TR_AR, 0x83);             /* 16-bit busy TSS left from real mode */
    assert_int_equal(mov_to(0, REG_RBX, CR0_PG | CR0_PE | CR0_ET), EXIT_ADVANCE);
    assert_no_event();
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME | EFER_LMA);
    assert_int_equal(vmcs_read(VMCS_ENTRY_CONTROLS), ENTRY_LOAD_EFER | ENTRY_IA32E_MODE_GUEST);
    assert_int_equal(vmcs_read(VMCS_GUEST_TR_AR), 0x8B);
    assert_false(soft_vmcs_written(VMCS_GUEST_PDPTE0));           /* long mode: no PDPTEs */
    assert_int_equal(vcpu_mode(), MODE_COMPAT32);
}

static void test_long_mode_needs_pae(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_EFER, EFER_LME);
    assert_gp(mov_to(0, REG_RAX, CR0_PG | CR0_PE | CR0_ET));
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME);
    assert_int_equal(vmcs_read(VMCS_ENTRY_CONTROLS), ENTRY_LOAD_EFER);
    assert_int_equal(view_cr0() & CR0_PG, 0);
}

static void test_long_mode_deactivation(void **state)
{
    (void)state;
    enter_64bit_mode();
    vmcs_write(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_EFER | ENTRY_IA32E_MODE_GUEST);
    /* in 64-bit code, clearing PG is refused */
    assert_gp(mov_to(0, REG_RAX, CR0_PE | CR0_ET));
    assert_true(vmcs_read(VMCS_GUEST_EFER) & EFER_LMA);
    /* from compatibility mode it leaves IA-32e mode */
    vmcs_write(VMCS_GUEST_CS_AR, 0xC09B);
    assert_int_equal(mov_to(0, REG_RAX, CR0_PE | CR0_ET), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_EFER), EFER_LME);
    assert_int_equal(vmcs_read(VMCS_ENTRY_CONTROLS), ENTRY_LOAD_EFER);
    assert_int_equal(view_cr0(), CR0_PE | CR0_ET);
}

static void write_pdptes(uint64_t at, const uint64_t e[4])
{
    memcpy(vm->ram + at, e, 32);
}

static void test_pae_paging_loads_pdptes(void **state)
{
    (void)state;
    const uint64_t good[4] = { 0x3001, 0x1E6 /* not present: ignored */, 0x4001, 0 };
    write_pdptes(0x2000, good);
    vmcs_write(VMCS_GUEST_CR3, 0x2000);
    cr_set_guest_cr4(CR4_PAE);
    assert_int_equal(mov_to(0, REG_RAX, CR0_PG | CR0_PE | CR0_ET), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PDPTE0), 0x3001);
    assert_int_equal(vmcs_read(VMCS_GUEST_PDPTE1), 0x1E6);
    assert_int_equal(vmcs_read(VMCS_GUEST_PDPTE2), 0x4001);
    assert_int_equal(vmcs_read(VMCS_GUEST_PDPTE3), 0);

    /* MOV to CR3 in PAE mode reloads them from the new table */
    const uint64_t other[4] = { 0x5001, 0x6001, 0x7001, 0x8001 };
    write_pdptes(0x2040, other);
    assert_int_equal(mov_to(3, REG_RCX, 0x2040), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR3), 0x2040);
    assert_int_equal(vmcs_read(VMCS_GUEST_PDPTE3), 0x8001);

    /* a bad entry: #GP, nothing changes */
    const uint64_t bad[4] = { 0x5003 /* bit 1 reserved */, 0, 0, 0 };
    write_pdptes(0x2080, bad);
    assert_gp(mov_to(3, REG_RCX, 0x2080));
    assert_int_equal(vmcs_read(VMCS_GUEST_CR3), 0x2040);
    assert_int_equal(vmcs_read(VMCS_GUEST_PDPTE0), 0x5001);
    /* outside RAM: #GP */
    assert_gp(mov_to(3, REG_RCX, 0xFFFFFFE0ull));
    /* reserved physical-address bits */
    const uint64_t high[4] = { (1ull << 62) | 1, 0, 0, 0 };
    write_pdptes(0x20C0, high);
    assert_gp(mov_to(3, REG_RCX, 0x20C0));
}

static void test_pae_enable_with_bad_pdpte_faults(void **state)
{
    (void)state;
    const uint64_t bad[4] = { 0x3021 /* bit 5 reserved */, 0, 0, 0 };
    write_pdptes(0x2000, bad);
    vmcs_write(VMCS_GUEST_CR3, 0x2000);
    cr_set_guest_cr4(CR4_PAE);
    assert_gp(mov_to(0, REG_RAX, CR0_PG | CR0_PE | CR0_ET));
    assert_int_equal(view_cr0() & CR0_PG, 0);
}

/* ---- MOV to CR4 ---- */

static void test_mov_cr4_vmxe_smxe_gp(void **state)
{
    (void)state;
    assert_gp(mov_to(4, REG_RAX, CR4_VMXE));
    assert_gp(mov_to(4, REG_RAX, CR4_SMXE | CR4_PAE));
    assert_int_equal(view_cr4(), 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR4), CR4_VMXE);    /* VMX itself stays on */
}

static void test_mov_cr4_reserved_bits_gp(void **state)
{
    (void)state;
    assert_gp(mov_to(4, REG_RAX, 1ull << 15));
    assert_gp(mov_to(4, REG_RAX, 1ull << 31));
    assert_gp(mov_to(4, REG_RAX, 1ull << 23));                  /* CET: hidden */
    enter_64bit_mode();
    assert_gp(mov_to(4, REG_RAX, (1ull << 40) | CR4_PAE));
}

static void test_mov_cr4_accepts_supported_bits(void **state)
{
    (void)state;
    assert_int_equal(mov_to(4, REG_RSI, CR4_PAE | (1ull << 9) | (1ull << 10)), EXIT_ADVANCE);
    assert_int_equal(view_cr4(), CR4_PAE | (1ull << 9) | (1ull << 10));
    assert_true(vmcs_read(VMCS_GUEST_CR4) & CR4_VMXE);
    assert_int_equal(vmcs_read(VMCS_CR4_READ_SHADOW), CR4_PAE | (1ull << 9) | (1ull << 10));

    uint32_t l1[4];
    cpuid_guest_view(0, 1, 0, l1);
    if (l1[2] & (1u << 26)) {
        assert_int_equal(mov_to(4, REG_RSI, CR4_OSXSAVE), EXIT_ADVANCE);
        assert_int_equal(view_cr4(), CR4_OSXSAVE);
    } else {
        assert_gp(mov_to(4, REG_RSI, CR4_OSXSAVE));
    }
}

static void test_mov_cr4_long_mode_rules(void **state)
{
    (void)state;
    assert_gp(mov_to(4, REG_RAX, CR4_PCIDE | CR4_PAE));         /* PCIDE outside IA-32e mode */
    enter_64bit_mode();
    assert_gp(mov_to(4, REG_RAX, 0));                           /* PAE off while LMA */
    assert_int_equal(view_cr4(), CR4_PAE);
    uint32_t l1[4];
    cpuid_guest_view(0, 1, 0, l1);
    if (l1[2] & (1u << 17)) {
        vmcs_write(VMCS_GUEST_CR3, 0x5001);                     /* PCID bits non-zero */
        assert_gp(mov_to(4, REG_RAX, CR4_PAE | CR4_PCIDE));
        vmcs_write(VMCS_GUEST_CR3, 0x5000);
        assert_int_equal(mov_to(4, REG_RAX, CR4_PAE | CR4_PCIDE), EXIT_ADVANCE);
        assert_int_equal(view_cr4(), CR4_PAE | CR4_PCIDE);
        /* MOV to CR3 with bit 63: "keep the TLB" hint, not part of CR3 */
        vmcs_write(VMCS_GUEST_CS_AR, 0xA09B);
        assert_int_equal(mov_to(3, REG_RAX, (1ull << 63) | 0x6002), EXIT_ADVANCE);
        assert_int_equal(vmcs_read(VMCS_GUEST_CR3), 0x6002);
        /* with PCIDE, clearing PG is refused even from compatibility mode */
        vmcs_write(VMCS_GUEST_CS_AR, 0xC09B);
        assert_gp(mov_to(0, REG_RAX, CR0_PE | CR0_ET));
    }
}

/* ---- CLTS, LMSW ---- */

static void test_clts(void **state)
{
    (void)state;
    cr_set_guest_cr0(CR0_PE | CR0_ET | CR0_TS | CR0_MP);
    assert_int_equal(cr_exit(0, TYPE_CLTS, 0, 0), EXIT_ADVANCE);
    assert_int_equal(view_cr0(), CR0_PE | CR0_ET | CR0_MP);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR0) & CR0_TS, 0);
}

static void test_lmsw(void **state)
{
    (void)state;
    cr_set_guest_cr0(CR0_ET);                       /* real mode */
    assert_int_equal(cr_exit(0, TYPE_LMSW, 0, 0xFFF1), EXIT_ADVANCE);   /* only bits 3:0 count */
    assert_int_equal(view_cr0(), CR0_ET | CR0_PE);
    assert_int_equal(cr_exit(0, TYPE_LMSW, 0, 0xE), EXIT_ADVANCE);
    assert_int_equal(view_cr0(), CR0_ET | CR0_PE | CR0_MP | CR0_EM | CR0_TS);  /* PE not cleared */
    assert_int_equal(cr_exit(0, TYPE_LMSW, 0, 0x0), EXIT_ADVANCE);
    assert_int_equal(view_cr0(), CR0_ET | CR0_PE);
}

/* ---- CR3, CR8 ---- */

static void test_mov_cr3_through_rsp(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR3, 0x9000);
    assert_int_equal(cr_exit(3, TYPE_MOV_FROM, REG_RSP, 0), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_RSP), 0x9000);
    assert_int_equal(vcpu->gpr[REG_RSP], 0);                  /* RSP lives in the VMCS */
    vmcs_write(VMCS_GUEST_RSP, 0xFFFFFFFF00123000ull);
    assert_int_equal(cr_exit(3, TYPE_MOV_TO, REG_RSP, 0), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR3), 0x123000);      /* 32-bit code */
}

static void test_mov_cr3_long_mode(void **state)
{
    (void)state;
    enter_64bit_mode();
    assert_int_equal(mov_to(3, REG_R12, 0x7000), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_CR3), 0x7000);
    assert_false(soft_vmcs_written(VMCS_GUEST_PDPTE0));
    assert_gp(mov_to(3, REG_R12, 1ull << 62));                  /* beyond MAXPHYADDR */
    assert_int_equal(vmcs_read(VMCS_GUEST_CR3), 0x7000);
    assert_int_equal(cr_exit(3, TYPE_MOV_FROM, REG_R13, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_R13], 0x7000);
}

static void test_cr8(void **state)
{
    (void)state;
    enter_64bit_mode();
    assert_int_equal(mov_to(8, REG_R9, 5), EXIT_ADVANCE);
    assert_int_equal(vcpu->cr8, 5);
    assert_gp(mov_to(8, REG_R9, 0x10));
    assert_gp(mov_to(8, REG_R9, 1ull << 63));
    assert_int_equal(vcpu->cr8, 5);
    vcpu->gpr[REG_R10] = ~0ull;
    assert_int_equal(cr_exit(8, TYPE_MOV_FROM, REG_R10, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_R10], 5);
}

static void test_mov_from_cr0_returns_guest_view(void **state)
{
    (void)state;
    cr_set_guest_cr0(CR0_PE | CR0_ET | CR0_CD);
    vcpu->gpr[REG_RDI] = ~0ull;
    assert_int_equal(cr_exit(0, TYPE_MOV_FROM, REG_RDI, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RDI], CR0_PE | CR0_ET | CR0_CD);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_policy_masks),
        T(test_vmxe_always_set_underneath),
        T(test_set_guest_cr0_cr4_shadows),
        T(test_mov_cr0_paging_32bit),
        T(test_mov_cr0_invalid_combinations),
        T(test_mov_cr0_upper_bits),
        T(test_mov_cr0_low_reserved_bits_ignored),
        T(test_long_mode_activation),
        T(test_long_mode_needs_pae),
        T(test_long_mode_deactivation),
        T(test_pae_paging_loads_pdptes),
        T(test_pae_enable_with_bad_pdpte_faults),
        T(test_mov_cr4_vmxe_smxe_gp),
        T(test_mov_cr4_reserved_bits_gp),
        T(test_mov_cr4_accepts_supported_bits),
        T(test_mov_cr4_long_mode_rules),
        T(test_clts),
        T(test_lmsw),
        T(test_mov_cr3_through_rsp),
        T(test_mov_cr3_long_mode),
        T(test_cr8),
        T(test_mov_from_cr0_returns_guest_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
