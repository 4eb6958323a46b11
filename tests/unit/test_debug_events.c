/* Tests for exit/debug_events.c: data and I/O breakpoints hit by accesses Tessera emulates,
 * matched as the CPU matches them (R/W kinds, LEN ranges aligned down, accesses that straddle
 * a range or wrap at 4 GiB, CR4.DE as the guest sees it) and recorded in the pending debug
 * exceptions (Bn for every match, bit 12 only for an enabled one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "exit/debug_events.h"
#include "test_guest_helpers.h"

enum { LEN1 = 0, LEN2 = 1, LEN8 = 2, LEN4 = 3 };

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("dbg", 1 << 16);
    vcpu = test_vcpu(vm);
    memset(host_debug_regs, 0, sizeof(host_debug_regs));
    host_debug_reg_reads = 0;
    vmcs_write(VMCS_GUEST_DR7, DR7_INIT);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

/* DR7 bits that make breakpoint n watch rw/len, locally enabled or not. */
static uint64_t dr7_bp(unsigned n, unsigned rw, unsigned len, int enabled)
{
    return ((uint64_t)rw << (16 + 4 * n)) | ((uint64_t)len << (18 + 4 * n)) | (enabled ? DR7_L(n) : 0);
}

static void set_bp(unsigned n, uint64_t addr, unsigned rw, unsigned len, int enabled)
{
    host_debug_regs[n] = addr;
    vmcs_write(VMCS_GUEST_DR7, vmcs_read(VMCS_GUEST_DR7) | dr7_bp(n, rw, len, enabled));
}

static uint64_t pending(void)
{
    return vmcs_read(VMCS_GUEST_PENDING_DBG);
}

static void test_nothing_enabled_reads_only_dr7(void **state)
{
    (void)state;
    host_debug_regs[0] = 0x1000;
    vmcs_write(VMCS_GUEST_DR7, DR7_INIT | dr7_bp(0, DR7_RW_READ_WRITE, LEN4, 0));
    assert_false(debug_note_memory_access(vcpu, 0x1000, 4, true));
    assert_false(debug_note_io_access(vcpu, 0x1000, 4));
    assert_int_equal(host_debug_reg_reads, 0);
    assert_false(soft_vmcs_written(VMCS_GUEST_PENDING_DBG));
}

static void test_write_breakpoint_hit_by_write(void **state)
{
    (void)state;
    set_bp(2, 0x1000, DR7_RW_WRITE, LEN4, 1);
    assert_true(debug_note_memory_access(vcpu, 0x1002, 1, true));
    assert_int_equal(pending(), DR6_B(2) | PENDING_DBG_ENABLED_BP);
}

static void test_write_breakpoint_ignores_reads(void **state)
{
    (void)state;
    set_bp(0, 0x1000, DR7_RW_WRITE, LEN4, 1);
    assert_false(debug_note_memory_access(vcpu, 0x1000, 4, false));
    assert_int_equal(pending(), 0);
}

static void test_read_write_breakpoint_hit_by_read(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_DR7, DR7_G(1) | dr7_bp(1, DR7_RW_READ_WRITE, LEN1, 0));  /* globally enabled */
    host_debug_regs[1] = 0x2345;
    assert_true(debug_note_memory_access(vcpu, 0x2345, 1, false));
    assert_int_equal(pending(), DR6_B(1) | PENDING_DBG_ENABLED_BP);
}

static void test_execution_breakpoint_never_matches_data(void **state)
{
    (void)state;
    set_bp(0, 0x1000, DR7_RW_EXEC, LEN1, 1);
    assert_false(debug_note_memory_access(vcpu, 0x1000, 1, true));
    assert_false(debug_note_memory_access(vcpu, 0x1000, 1, false));
    assert_int_equal(pending(), 0);
}

static void test_length_masks_low_address_bits(void **state)
{
    (void)state;
    /* DR0 = 0x1003 with LEN 4 watches 0x1000-0x1003, as the CPU aligns it down. */
    set_bp(0, 0x1003, DR7_RW_WRITE, LEN4, 1);
    assert_true(debug_note_memory_access(vcpu, 0x1000, 1, true));
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    assert_false(debug_note_memory_access(vcpu, 0x1004, 1, true));
    assert_false(debug_note_memory_access(vcpu, 0xFFF, 1, true));
    assert_int_equal(pending(), 0);
}

static void test_each_length_encoding(void **state)
{
    (void)state;
    static const struct { unsigned enc, bytes; } lens[] = { { LEN1, 1 }, { LEN2, 2 }, { LEN4, 4 }, { LEN8, 8 } };
    for (unsigned i = 0; i < 4; i++) {
        vmcs_write(VMCS_GUEST_DR7, DR7_INIT);
        vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
        set_bp(3, 0x4000, DR7_RW_WRITE, lens[i].enc, 1);
        assert_true(debug_note_memory_access(vcpu, 0x4000 + lens[i].bytes - 1, 1, true));
        assert_false(debug_note_memory_access(vcpu, 0x4000 + lens[i].bytes, 1, true));
        assert_int_equal(pending(), DR6_B(3) | PENDING_DBG_ENABLED_BP);
    }
}

static void test_access_straddling_the_range_start(void **state)
{
    (void)state;
    set_bp(1, 0x1000, DR7_RW_WRITE, LEN1, 1);
    assert_true(debug_note_memory_access(vcpu, 0xFFE, 4, true));     /* bytes 0xFFE-0x1001 */
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    assert_false(debug_note_memory_access(vcpu, 0xFFC, 4, true));    /* 0xFFC-0xFFF */
}

static void test_access_wrapping_at_4g_outside_long_mode(void **state)
{
    (void)state;
    set_bp(0, 0x0, DR7_RW_WRITE, LEN1, 1);
    assert_true(debug_note_memory_access(vcpu, 0xFFFFFFFEull, 4, true));  /* ..FFFE, FFFF, 0, 1 */
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    /* In 64-bit mode the same access goes on to 0x1_0000_0000 instead. */
    vmcs_write(VMCS_GUEST_EFER, EFER_LME | EFER_LMA);
    vmcs_write(VMCS_GUEST_CS_AR, 0xA09B);
    assert_false(debug_note_memory_access(vcpu, 0xFFFFFFFEull, 4, true));
    set_bp(1, 0x100000000ull, DR7_RW_WRITE, LEN1, 1);
    assert_true(debug_note_memory_access(vcpu, 0xFFFFFFFEull, 4, true));
    assert_int_equal(pending(), DR6_B(1) | PENDING_DBG_ENABLED_BP);
}

static void test_disabled_match_records_b_bit_without_enabled_bit(void **state)
{
    (void)state;
    set_bp(0, 0x8000, DR7_RW_WRITE, LEN1, 1);       /* enabled, elsewhere */
    set_bp(1, 0x1000, DR7_RW_WRITE, LEN1, 0);       /* matching, disabled */
    assert_false(debug_note_memory_access(vcpu, 0x1000, 1, true));
    assert_int_equal(pending(), DR6_B(1));
    /* Both matching: both Bn, and bit 12 for the enabled one. */
    set_bp(0, 0x1000, DR7_RW_READ_WRITE, LEN2, 1);
    assert_true(debug_note_memory_access(vcpu, 0x1000, 1, true));
    assert_int_equal(pending(), DR6_B(0) | DR6_B(1) | PENDING_DBG_ENABLED_BP);
}

static void test_pending_bits_accumulate(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_PENDING_DBG, DR6_BS);     /* e.g. held back by a MOV SS */
    set_bp(2, 0x1000, DR7_RW_WRITE, LEN1, 1);
    assert_true(debug_note_memory_access(vcpu, 0x1000, 1, true));
    assert_int_equal(pending(), DR6_BS | DR6_B(2) | PENDING_DBG_ENABLED_BP);
}

static void test_io_breakpoint_needs_cr4_de(void **state)
{
    (void)state;
    set_bp(0, 0x3F8, DR7_RW_IO, LEN1, 1);
    assert_false(debug_note_io_access(vcpu, 0x3F8, 1));
    assert_int_equal(pending(), 0);
    vmcs_write(VMCS_GUEST_CR4, CR4_DE);
    assert_true(debug_note_io_access(vcpu, 0x3F8, 1));
    assert_int_equal(pending(), DR6_B(0) | PENDING_DBG_ENABLED_BP);
}

static void test_io_breakpoint_reads_cr4_de_as_the_guest_sees_it(void **state)
{
    (void)state;
    set_bp(0, 0x80, DR7_RW_IO, LEN1, 1);
    /* DE owned by Tessera: the shadow says what the guest set. */
    vmcs_write(VMCS_CR4_GUEST_HOST_MASK, CR4_DE);
    vmcs_write(VMCS_GUEST_CR4, 0);
    vmcs_write(VMCS_CR4_READ_SHADOW, CR4_DE);
    assert_true(debug_note_io_access(vcpu, 0x80, 1));
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    vmcs_write(VMCS_GUEST_CR4, CR4_DE);
    vmcs_write(VMCS_CR4_READ_SHADOW, 0);
    assert_false(debug_note_io_access(vcpu, 0x80, 1));
    assert_int_equal(pending(), 0);
}

static void test_io_breakpoint_ranges(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR4, CR4_DE);
    set_bp(3, 0xCFE, DR7_RW_IO, LEN2, 1);           /* ports 0xCFE-0xCFF */
    assert_true(debug_note_io_access(vcpu, 0xCFC, 4));
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    assert_false(debug_note_io_access(vcpu, 0xCFC, 2));
    assert_false(debug_note_io_access(vcpu, 0xD00, 1));
    /* An I/O breakpoint is not a data breakpoint, nor the reverse. */
    assert_false(debug_note_memory_access(vcpu, 0xCFE, 1, true));
    set_bp(1, 0x60, DR7_RW_READ_WRITE, LEN1, 1);
    assert_false(debug_note_io_access(vcpu, 0x60, 1));
    assert_int_equal(pending(), 0);
    /* The port is compared with all of DRn. */
    set_bp(2, 0x10060, DR7_RW_IO, LEN1, 1);
    assert_false(debug_note_io_access(vcpu, 0x60, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_enabled_reads_only_dr7, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_breakpoint_hit_by_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_breakpoint_ignores_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_write_breakpoint_hit_by_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execution_breakpoint_never_matches_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_length_masks_low_address_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_length_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_straddling_the_range_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_wrapping_at_4g_outside_long_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_match_records_b_bit_without_enabled_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_bits_accumulate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_breakpoint_needs_cr4_de, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_breakpoint_reads_cr4_de_as_the_guest_sees_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_breakpoint_ranges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
