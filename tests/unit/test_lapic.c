/* Tests for the local APIC model: both register interfaces, IA32_APIC_BASE modes, priorities,
 * EOI, errors, LVT entries, IPIs and their routing, and the timer in its three modes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/irq.h"
#include "dev/lapic.h"
#include "x86.h"

#define TSC_KHZ   3000000u    /* 3 GHz guest TSC */
#define TIMER_KHZ 100000u     /* 100 MHz timer clock: 30 TSC ticks per timer tick */
#define TICK      30u
#define APIC_ID   3u
#define MSR(off)  (MSR_X2APIC_FIRST + ((off) >> 4))

static struct lapic l;

static struct {
    struct lapic_ipi ipis[8];
    unsigned ipi_count;
    uint8_t eois[8];
    unsigned eoi_count;
    enum lapic_event events[8];
    uint8_t event_vectors[8];
    unsigned event_count;
    bool mapped;
    uint64_t base;
    unsigned mmio_changes;
} seen;

static void on_ipi(void *ctx, const struct lapic_ipi *ipi)
{
    if (seen.ipi_count < 8)
        seen.ipis[seen.ipi_count] = *ipi;
    seen.ipi_count++;
}

static void on_eoi(void *ctx, uint8_t vector)
{
    if (seen.eoi_count < 8)
        seen.eois[seen.eoi_count] = vector;
    seen.eoi_count++;
}

static void on_event(void *ctx, enum lapic_event event, uint8_t vector)
{
    if (seen.event_count < 8) {
        seen.events[seen.event_count] = event;
        seen.event_vectors[seen.event_count] = vector;
    }
    seen.event_count++;
}

static void on_mmio(void *ctx, bool mapped, uint64_t base)
{
    seen.mapped = mapped;
    seen.base = base;
    seen.mmio_changes++;
}

static const struct lapic_ops ops = {
    .send_ipi = on_ipi, .eoi_broadcast = on_eoi, .event = on_event, .mmio_changed = on_mmio,
};

static int setup(void **state)
{
    memset(&seen, 0, sizeof seen);
    lapic_init(&l, APIC_ID, true, 39, TSC_KHZ, TIMER_KHZ, &ops);
    return 0;
}

static uint32_t rd(uint32_t offset)
{
    uint64_t v = 0xDEAD;
    assert_true(lapic_mmio_read(&l, offset, 4, l.now, &v));
    return (uint32_t)v;
}

static void wr(uint32_t offset, uint32_t value) { assert_true(lapic_mmio_write(&l, offset, 4, value, l.now)); }

static void sw_enable(void) { wr(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF); }

static void to_x2apic(void)
{
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, APIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD, l.now));
}

static uint64_t msr_rd(uint32_t msr)
{
    uint64_t v;
    assert_true(lapic_msr_read(&l, msr, l.now, &v));
    return v;
}

static bool msr_gp_read(uint32_t msr)
{
    uint64_t v;
    return !lapic_msr_read(&l, msr, l.now, &v);
}

static bool irr_has(unsigned v) { return (rd(LAPIC_REG_IRR + (v / 32) * 16) >> (v % 32)) & 1; }

/* ---- reset state, ID, version ---- */

static void test_power_up_state(void **state)
{
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
    assert_int_equal(msr_rd(MSR_IA32_APIC_BASE), APIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP);
    assert_true(seen.mapped);
    assert_int_equal(seen.base, APIC_DEFAULT_BASE);
    assert_int_equal(rd(LAPIC_REG_ID), APIC_ID << 24);
    assert_int_equal(rd(LAPIC_REG_VERSION), 0x01060014u);
    assert_int_equal(rd(LAPIC_REG_SVR), 0xFF);
    assert_int_equal(rd(LAPIC_REG_DFR), 0xFFFFFFFFu);
    assert_int_equal(rd(LAPIC_REG_LDR), 0);
    assert_int_equal(rd(LAPIC_REG_TPR), 0);
    for (uint32_t off = LAPIC_REG_LVT_TIMER; off <= LAPIC_REG_LVT_ERROR; off += 16)
        assert_int_equal(rd(off), LAPIC_LVT_MASKED);
    assert_int_equal(rd(LAPIC_REG_LVT_CMCI), LAPIC_LVT_MASKED);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 0);
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
}

static void test_xapic_id_ldr_dfr_writable_bits(void **state)
{
    wr(LAPIC_REG_ID, 0xFFFFFFFFu);
    assert_int_equal(rd(LAPIC_REG_ID), 0xFF000000u);
    wr(LAPIC_REG_LDR, 0x12345678u);
    assert_int_equal(rd(LAPIC_REG_LDR), 0x12000000u);
    wr(LAPIC_REG_DFR, 0x00000000u);
    assert_int_equal(rd(LAPIC_REG_DFR), 0x0FFFFFFFu);
    wr(LAPIC_REG_VERSION, 0);
    assert_int_equal(rd(LAPIC_REG_VERSION), LAPIC_VERSION_VALUE);
    wr(LAPIC_REG_TPR, 0x1FF);
    assert_int_equal(rd(LAPIC_REG_TPR), 0xFF);
}

/* ---- MMIO sizes and alignment ---- */

static void test_mmio_sizes(void **state)
{
    wr(LAPIC_REG_TPR, 0x5A);
    uint64_t v;
    assert_true(lapic_mmio_read(&l, LAPIC_REG_VERSION + 2, 1, 0, &v));
    assert_int_equal(v, 0x06);
    assert_true(lapic_mmio_read(&l, LAPIC_REG_VERSION + 2, 2, 0, &v));
    assert_int_equal(v, 0x0106);
    assert_true(lapic_mmio_read(&l, LAPIC_REG_TPR + 4, 4, 0, &v));
    assert_int_equal(v, 0);                         /* upper bytes of the slot */
    assert_true(lapic_mmio_read(&l, LAPIC_REG_TPR, 8, 0, &v));
    assert_int_equal(v, 0x5A);
    /* Partial and misaligned writes have no effect. */
    assert_true(lapic_mmio_write(&l, LAPIC_REG_TPR, 1, 0x11, 0));
    assert_true(lapic_mmio_write(&l, LAPIC_REG_TPR + 4, 4, 0x22, 0));
    assert_true(lapic_mmio_write(&l, LAPIC_REG_TPR, 8, 0x33, 0));
    assert_int_equal(rd(LAPIC_REG_TPR), 0x5A);
    /* Out of the page: nothing, no crash. */
    assert_true(lapic_mmio_read(&l, 0xFFE, 4, 0, &v));
    assert_int_equal(v, 0);
}

static void test_mmio_reserved_offset_sets_illegal_register(void **state)
{
    sw_enable();
    uint64_t v;
    assert_true(lapic_mmio_read(&l, 0x040, 4, 0, &v));
    assert_int_equal(v, 0);
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), LAPIC_ESR_ILLEGAL_REGISTER);
    wr(LAPIC_REG_SELF_IPI, 0x40);                   /* no SELF IPI in xAPIC mode */
    assert_false(irr_has(0x40));
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), LAPIC_ESR_ILLEGAL_REGISTER);
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), 0);
}

/* ---- IA32_APIC_BASE ---- */

static void test_apic_base_transitions(void **state)
{
    uint64_t base = APIC_DEFAULT_BASE;
    /* invalid state EN=0 EXTD=1 */
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, base | APIC_BASE_EXTD, 0));
    /* xAPIC -> x2APIC */
    to_x2apic();
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
    assert_false(seen.mapped);
    uint64_t v;
    assert_false(lapic_mmio_read(&l, LAPIC_REG_ID, 4, 0, &v));
    /* x2APIC -> xAPIC directly is illegal */
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, base | APIC_BASE_EN, 0));
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_X2APIC);
    /* x2APIC -> disabled */
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, base, 0));
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_DISABLED);
    assert_false(msr_rd(MSR_IA32_APIC_BASE) & APIC_BASE_BSP);   /* BSP is read/write */
    /* disabled -> x2APIC is illegal */
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD, 0));
    assert_false(lapic_mmio_read(&l, LAPIC_REG_ID, 4, 0, &v));
    assert_false(lapic_msr_read(&l, MSR(LAPIC_REG_ID), 0, &v));
    /* disabled -> xAPIC at a new base */
    unsigned changes = seen.mmio_changes;
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, 0xFEC00000ull | APIC_BASE_EN | APIC_BASE_BSP, 0));
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
    assert_true(seen.mapped);
    assert_int_equal(seen.base, 0xFEC00000ull);
    assert_int_equal(seen.mmio_changes, changes + 1);
    /* relocation while in xAPIC mode is reported */
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, 0x80000000ull | APIC_BASE_EN, 0));
    assert_int_equal(seen.base, 0x80000000ull);
    assert_int_equal(seen.mmio_changes, changes + 2);
    /* rewriting the same value reports nothing */
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, 0x80000000ull | APIC_BASE_EN, 0));
    assert_int_equal(seen.mmio_changes, changes + 2);
}

static void test_apic_base_reserved_bits(void **state)
{
    uint64_t good = APIC_DEFAULT_BASE | APIC_BASE_EN;
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, good | 1, 0));
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, good | (1ull << 9), 0));
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, good | (1ull << 39), 0));   /* MAXPHYADDR 39 */
    assert_false(lapic_msr_write(&l, MSR_IA32_APIC_BASE, good | (1ull << 63), 0));
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, good | (1ull << 38), 0));
}

static void test_disable_resets_state(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TPR, 0x20);
    wr(LAPIC_REG_ID, 0x7F000000u);
    wr(LAPIC_REG_LVT_LINT0, 0x30);
    assert_true(lapic_accept_interrupt(&l, 0x40, false));
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, APIC_DEFAULT_BASE, 0));
    assert_false(lapic_accept_interrupt(&l, 0x41, false));
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
    assert_true(lapic_msr_write(&l, MSR_IA32_APIC_BASE, APIC_DEFAULT_BASE | APIC_BASE_EN, 0));
    assert_int_equal(rd(LAPIC_REG_ID), APIC_ID << 24);
    assert_int_equal(rd(LAPIC_REG_TPR), 0);
    assert_int_equal(rd(LAPIC_REG_SVR), 0xFF);
    assert_int_equal(rd(LAPIC_REG_LVT_LINT0), LAPIC_LVT_MASKED);
    assert_false(irr_has(0x40));
}

static void test_init_signal_keeps_id_and_base(void **state)
{
    sw_enable();
    wr(LAPIC_REG_ID, 0x09000000u);
    wr(LAPIC_REG_TPR, 0x30);
    lapic_init_signal(&l, 0);
    assert_int_equal(rd(LAPIC_REG_ID), 0x09000000u);
    assert_int_equal(rd(LAPIC_REG_TPR), 0);
    assert_int_equal(rd(LAPIC_REG_SVR), 0xFF);
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
}

/* ---- x2APIC MSRs ---- */

static void test_x2apic_id_ldr_and_absent_registers(void **state)
{
    lapic_init(&l, 0x25, false, 39, TSC_KHZ, TIMER_KHZ, &ops);
    to_x2apic();
    assert_int_equal(msr_rd(MSR(LAPIC_REG_ID)), 0x25);
    assert_int_equal(msr_rd(MSR(LAPIC_REG_LDR)), (2u << 16) | (1u << 5));
    assert_int_equal(msr_rd(MSR(LAPIC_REG_VERSION)), LAPIC_VERSION_VALUE);
    assert_true(msr_gp_read(MSR(LAPIC_REG_DFR)));      /* 0x80E */
    assert_true(msr_gp_read(0x831));                   /* no ICR high */
    assert_true(msr_gp_read(MSR(LAPIC_REG_APR)));
    assert_true(msr_gp_read(MSR(LAPIC_REG_EOI)));      /* write-only */
    assert_true(msr_gp_read(MSR(LAPIC_REG_SELF_IPI)));
    assert_true(msr_gp_read(0x800));
    assert_true(msr_gp_read(0x8FF));
    /* read-only registers #GP on write */
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_ID), 0x25, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_LDR), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_VERSION), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_PPR), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_IRR), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_TIMER_CURRENT), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_DFR), 0, 0));
}

static void test_x2apic_reserved_bits_gp(void **state)
{
    to_x2apic();
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_TPR), 0x100, 0));
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_TPR), 0xFF, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_SVR), 0x2000, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_SVR), 1ull << 32, 0));
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_SVR), 0x11FF, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_LVT_TIMER), 1u << 19, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_LVT_TIMER), LAPIC_TIMER_MODE_RESERVED, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_LVT_ERROR), 0x400, 0));   /* no delivery mode */
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_LVT_LINT0), 0x1A7FF & ~LAPIC_LVT_MASKED, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_TIMER_DIVIDE), 0x4, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_TIMER_INITIAL), 1ull << 32, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_ESR), 1, 0));
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_ESR), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_EOI), 1, 0));
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_EOI), 0, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_SELF_IPI), 0x100, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_ICR_LOW), 1u << 13, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_ICR_LOW), 1u << 16, 0));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_ICR_LOW), 1u << 20, 0));
    assert_int_equal(seen.ipi_count, 0);
}

static void test_x2apic_msrs_gp_outside_x2apic_mode(void **state)
{
    uint64_t v;
    assert_false(lapic_msr_read(&l, MSR(LAPIC_REG_TPR), 0, &v));
    assert_false(lapic_msr_write(&l, MSR(LAPIC_REG_TPR), 0, 0));
    assert_false(lapic_owns_msr(0x7FF));
    assert_true(lapic_owns_msr(0x800));
    assert_true(lapic_owns_msr(MSR_IA32_TSC_DEADLINE));
    assert_true(lapic_owns_msr(MSR_IA32_APIC_BASE));
}

static void test_x2apic_icr_is_64_bit(void **state)
{
    to_x2apic();
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_SVR), 0x1FF, 0));
    uint64_t icr = (0x12345678ull << 32) | LAPIC_ICR_LOGICAL | LAPIC_ICR_ASSERT | 0x31;
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_ICR_LOW), icr, 0));
    assert_int_equal(msr_rd(MSR(LAPIC_REG_ICR_LOW)), icr);
    assert_int_equal(seen.ipi_count, 1);
    assert_int_equal(seen.ipis[0].destination, 0x12345678u);
    assert_true(seen.ipis[0].x2apic);
    assert_true(seen.ipis[0].logical);
    assert_int_equal(seen.ipis[0].vector, 0x31);
}

static void test_x2apic_self_ipi(void **state)
{
    to_x2apic();
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_SVR), 0x1FF, 0));
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_SELF_IPI), 0x55, 0));
    assert_int_equal(lapic_highest_deliverable(&l), 0x55);
    assert_int_equal(seen.ipi_count, 0);
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_SELF_IPI), 0x05, 0));
    assert_true(lapic_msr_write(&l, MSR(LAPIC_REG_ESR), 0, 0));
    assert_int_equal(msr_rd(MSR(LAPIC_REG_ESR)), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
}

/* ---- SVR software disable ---- */

static void test_software_disable_forces_lvt_masks(void **state)
{
    wr(LAPIC_REG_LVT_LINT0, 0x30);                 /* disabled after reset: mask stays */
    assert_int_equal(rd(LAPIC_REG_LVT_LINT0), LAPIC_LVT_MASKED | 0x30);
    sw_enable();
    wr(LAPIC_REG_LVT_LINT0, 0x30);
    wr(LAPIC_REG_LVT_TIMER, 0x31);
    assert_int_equal(rd(LAPIC_REG_LVT_LINT0), 0x30);
    wr(LAPIC_REG_SVR, 0xFF);                        /* software disable */
    assert_int_equal(rd(LAPIC_REG_LVT_LINT0), LAPIC_LVT_MASKED | 0x30);
    assert_int_equal(rd(LAPIC_REG_LVT_TIMER), LAPIC_LVT_MASKED | 0x31);
    assert_false(lapic_accept_interrupt(&l, 0x40, false));     /* fixed refused */
    assert_true(lapic_deliver(&l, LAPIC_DM_NMI, 0, false));    /* NMI still taken */
    assert_int_equal(seen.event_count, 1);
    sw_enable();
    assert_int_equal(rd(LAPIC_REG_LVT_LINT0), LAPIC_LVT_MASKED | 0x30);   /* stays masked */
    assert_int_equal(rd(LAPIC_REG_SVR), 0x1FF);
    wr(LAPIC_REG_SVR, 0xFFFFFFFFu);
    assert_int_equal(rd(LAPIC_REG_SVR), 0x13FF);
}

/* ---- priorities, IRR/ISR, EOI ---- */

static void test_priority_and_acknowledge(void **state)
{
    sw_enable();
    assert_true(lapic_accept_interrupt(&l, 0x41, false));
    assert_true(lapic_accept_interrupt(&l, 0x62, false));
    assert_true(lapic_accept_interrupt(&l, 0x35, true));
    assert_int_equal(lapic_highest_deliverable(&l), 0x62);
    assert_int_equal(lapic_acknowledge(&l), 0x62);
    assert_int_equal(rd(LAPIC_REG_ISR + 3 * 16), 1u << 2);
    assert_int_equal(rd(LAPIC_REG_PPR), 0x60);
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);    /* 0x41 below class 6 */
    assert_true(lapic_accept_interrupt(&l, 0x6F, false));
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);    /* same class: blocked */
    assert_true(lapic_accept_interrupt(&l, 0x70, false));
    assert_int_equal(lapic_acknowledge(&l), 0x70);                         /* nested */
    wr(LAPIC_REG_EOI, 0);
    assert_int_equal(rd(LAPIC_REG_PPR), 0x60);
    wr(LAPIC_REG_EOI, 0);
    assert_int_equal(rd(LAPIC_REG_PPR), 0);
    assert_int_equal(lapic_acknowledge(&l), 0x6F);
    wr(LAPIC_REG_EOI, 0);
    assert_int_equal(lapic_acknowledge(&l), 0x41);
    wr(LAPIC_REG_EOI, 0);
    assert_int_equal(lapic_acknowledge(&l), 0x35);
    assert_int_equal(rd(LAPIC_REG_TMR + 16), 1u << (0x35 - 32));
    assert_int_equal(seen.eoi_count, 0);
    wr(LAPIC_REG_EOI, 0);
    assert_int_equal(seen.eoi_count, 1);                                  /* level: broadcast */
    assert_int_equal(seen.eois[0], 0x35);
    wr(LAPIC_REG_EOI, 0);                                                 /* empty ISR: nothing */
    assert_int_equal(seen.eoi_count, 1);
    assert_int_equal(lapic_acknowledge(&l), LAPIC_NO_VECTOR);
}

static void test_tpr_ppr_and_cr8(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TPR, 0x45);
    assert_int_equal(rd(LAPIC_REG_PPR), 0x45);
    assert_int_equal(lapic_read_cr8(&l), 4);
    assert_true(lapic_accept_interrupt(&l, 0x4F, false));
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
    assert_true(lapic_write_cr8(&l, 3));
    assert_int_equal(rd(LAPIC_REG_TPR), 0x30);                  /* TPR[3:0] cleared */
    assert_int_equal(lapic_highest_deliverable(&l), 0x4F);
    assert_false(lapic_write_cr8(&l, 0x10));
    assert_int_equal(rd(LAPIC_REG_TPR), 0x30);
    lapic_acknowledge(&l);
    assert_int_equal(rd(LAPIC_REG_PPR), 0x40);                  /* ISR class above TPR */
    wr(LAPIC_REG_TPR, 0x52);
    assert_int_equal(rd(LAPIC_REG_PPR), 0x52);
}

static void test_eoi_broadcast_suppressed(void **state)
{
    wr(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | LAPIC_SVR_EOI_SUPPRESS | 0xFF);
    assert_true(lapic_accept_interrupt(&l, 0x50, true));
    assert_int_equal(lapic_acknowledge(&l), 0x50);
    wr(LAPIC_REG_EOI, 0);
    assert_int_equal(seen.eoi_count, 0);
    assert_int_equal(rd(LAPIC_REG_ISR + 2 * 16), 0);
}

static void test_illegal_vector_received(void **state)
{
    sw_enable();
    wr(LAPIC_REG_LVT_ERROR, 0xE0);
    assert_false(lapic_accept_interrupt(&l, 15, false));
    for (unsigned w = 0; w < 8; w++)
        assert_int_equal(rd(LAPIC_REG_IRR + w * 16) & (w == 0 ? 0xFFFF : 0), 0);
    assert_int_equal(rd(LAPIC_REG_ESR), 0);                      /* visible after a write */
    assert_int_equal(lapic_highest_deliverable(&l), 0xE0);       /* error interrupt */
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), LAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), 0);
}

static void test_error_lvt_with_illegal_vector_is_bounded(void **state)
{
    sw_enable();
    wr(LAPIC_REG_LVT_ERROR, 0x03);
    assert_false(lapic_accept_interrupt(&l, 2, false));
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), LAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
}

/* ---- LVT entries ---- */

static void test_lvt_writable_bits(void **state)
{
    sw_enable();
    static const struct { uint32_t offset, bits; } lvts[] = {
        {LAPIC_REG_LVT_TIMER, 0x700FF},   {LAPIC_REG_LVT_THERMAL, 0x107FF},
        {LAPIC_REG_LVT_PERFMON, 0x107FF}, {LAPIC_REG_LVT_LINT0, 0x1A7FF},
        {LAPIC_REG_LVT_LINT1, 0x1A7FF},   {LAPIC_REG_LVT_ERROR, 0x100FF},
        {LAPIC_REG_LVT_CMCI, 0x107FF},
    };
    for (unsigned i = 0; i < sizeof lvts / sizeof lvts[0]; i++) {
        wr(lvts[i].offset, 0xFFFFFFFFu);
        uint32_t expect = lvts[i].bits;
        if (lvts[i].offset == LAPIC_REG_LVT_TIMER)
            expect &= ~LAPIC_LVT_TIMER_MODE;         /* the reserved mode 11 is not taken */
        assert_int_equal(rd(lvts[i].offset), expect);
        assert_false(rd(lvts[i].offset) & LAPIC_LVT_DELIVERY_STATUS);
    }
}

static void test_lvt_delivery_modes(void **state)
{
    sw_enable();
    wr(LAPIC_REG_LVT_LINT0, LAPIC_DM_EXTINT << 8);
    wr(LAPIC_REG_LVT_LINT1, LAPIC_DM_NMI << 8);
    lapic_set_lint(&l, 0, true);
    lapic_set_lint(&l, 1, true);
    lapic_set_lint(&l, 1, true);                     /* no new edge */
    assert_int_equal(seen.event_count, 2);
    assert_int_equal(seen.events[0], LAPIC_EVENT_EXTINT);
    assert_int_equal(seen.events[1], LAPIC_EVENT_NMI);
    lapic_set_lint(&l, 1, false);
    wr(LAPIC_REG_LVT_LINT1, LAPIC_LVT_MASKED | (LAPIC_DM_NMI << 8));
    lapic_set_lint(&l, 1, true);
    assert_int_equal(seen.event_count, 2);            /* masked */
    wr(LAPIC_REG_LVT_THERMAL, LAPIC_DM_SMI << 8);
    wr(LAPIC_REG_LVT_PERFMON, LAPIC_DM_INIT << 8);
    assert_int_equal(lapic_mode(&l), LAPIC_MODE_XAPIC);
}

static void test_lint_level_triggered_remote_irr(void **state)
{
    sw_enable();
    wr(LAPIC_REG_LVT_LINT0, LAPIC_LVT_LEVEL | 0x38);
    lapic_set_lint(&l, 0, true);
    assert_true(rd(LAPIC_REG_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
    assert_int_equal(lapic_acknowledge(&l), 0x38);
    lapic_set_lint(&l, 0, true);
    assert_false(irr_has(0x38));                      /* held by remote IRR */
    wr(LAPIC_REG_EOI, 0);                             /* still asserted: taken again */
    assert_true(irr_has(0x38));
    assert_int_equal(lapic_acknowledge(&l), 0x38);
    lapic_set_lint(&l, 0, false);
    wr(LAPIC_REG_EOI, 0);
    assert_false(rd(LAPIC_REG_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
    assert_false(irr_has(0x38));
    wr(LAPIC_REG_LVT_LINT0, LAPIC_LVT_REMOTE_IRR | 0x38);   /* read-only bit */
    assert_false(rd(LAPIC_REG_LVT_LINT0) & LAPIC_LVT_REMOTE_IRR);
}

/* ---- ICR and routing ---- */

static void test_icr_send_and_delivery_status_idle(void **state)
{
    sw_enable();
    wr(LAPIC_REG_ICR_HIGH, 0x05FFFFFFu);
    assert_int_equal(rd(LAPIC_REG_ICR_HIGH), 0x05000000u);
    wr(LAPIC_REG_ICR_LOW, 0xFFFFFFFFu & ~(7u << 8) & ~(3u << 18));    /* fixed, no shorthand */
    assert_int_equal(seen.ipi_count, 1);
    assert_false(rd(LAPIC_REG_ICR_LOW) & LAPIC_ICR_DELIVERY_STATUS);
    assert_int_equal(seen.ipis[0].destination, 5);
    assert_int_equal(seen.ipis[0].vector, 0xFF);
    assert_true(seen.ipis[0].logical && seen.ipis[0].level && seen.ipis[0].assert);

    static const enum lapic_delivery_mode modes[] = {
        LAPIC_DM_LOWEST, LAPIC_DM_SMI, LAPIC_DM_NMI, LAPIC_DM_INIT, LAPIC_DM_STARTUP,
    };
    for (unsigned i = 0; i < 5; i++) {
        wr(LAPIC_REG_ICR_LOW, (modes[i] << 8) | LAPIC_ICR_ASSERT | 0x20);
        assert_int_equal(seen.ipi_count, 2 + i);
        assert_int_equal(seen.ipis[(1 + i) % 8].delivery_mode, modes[i]);
    }
    wr(LAPIC_REG_ICR_LOW, (3u << 8) | 0x20);          /* reserved delivery mode: not sent */
    wr(LAPIC_REG_ICR_LOW, (7u << 8) | 0x20);
    assert_int_equal(seen.ipi_count, 6);
}

static void test_icr_shorthands(void **state)
{
    sw_enable();
    wr(LAPIC_REG_ICR_LOW, (LAPIC_SH_SELF << LAPIC_ICR_SHORTHAND_SHIFT) | 0x66);
    assert_int_equal(seen.ipi_count, 0);
    assert_int_equal(lapic_highest_deliverable(&l), 0x66);
    wr(LAPIC_REG_ICR_LOW, (LAPIC_SH_SELF << LAPIC_ICR_SHORTHAND_SHIFT) | (LAPIC_DM_NMI << 8));
    assert_int_equal(seen.event_count, 0);            /* self goes with fixed only */
    wr(LAPIC_REG_ICR_LOW, (LAPIC_SH_ALL_INCLUDING_SELF << LAPIC_ICR_SHORTHAND_SHIFT) | 0x67);
    wr(LAPIC_REG_ICR_LOW, (LAPIC_SH_ALL_EXCLUDING_SELF << LAPIC_ICR_SHORTHAND_SHIFT) | (LAPIC_DM_INIT << 8) |
                          LAPIC_ICR_ASSERT);
    assert_int_equal(seen.ipi_count, 2);
    assert_int_equal(seen.ipis[0].shorthand, LAPIC_SH_ALL_INCLUDING_SELF);
    assert_int_equal(seen.ipis[1].shorthand, LAPIC_SH_ALL_EXCLUDING_SELF);
    assert_true(lapic_ipi_targets(&l, &seen.ipis[0], true));
    assert_true(lapic_ipi_targets(&l, &seen.ipis[0], false));
    assert_false(lapic_ipi_targets(&l, &seen.ipis[1], true));
    assert_true(lapic_ipi_targets(&l, &seen.ipis[1], false));
}

static void test_icr_send_illegal_vector(void **state)
{
    sw_enable();
    wr(LAPIC_REG_ICR_LOW, 0x0F);
    assert_int_equal(seen.ipi_count, 0);
    wr(LAPIC_REG_ESR, 0);
    assert_int_equal(rd(LAPIC_REG_ESR), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
    wr(LAPIC_REG_ICR_LOW, (LAPIC_DM_NMI << 8) | 0x02);    /* NMI ignores the vector */
    assert_int_equal(seen.ipi_count, 1);
}

static void test_physical_and_logical_destinations(void **state)
{
    struct lapic_ipi ipi = { .destination = APIC_ID };
    assert_true(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = APIC_ID + 1;
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = 0xFF;
    assert_true(lapic_ipi_targets(&l, &ipi, false));
    /* flat */
    wr(LAPIC_REG_LDR, 0x24000000u);
    ipi = (struct lapic_ipi){ .destination = 0x04, .logical = true };
    assert_true(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = 0x08;
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    /* cluster: LDR cluster 2, member bit 2 */
    wr(LAPIC_REG_DFR, 0x0FFFFFFFu);
    ipi.destination = 0x24;
    assert_true(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = 0x34;
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = 0x2B;
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    /* INIT level de-assert goes nowhere */
    ipi = (struct lapic_ipi){ .destination = APIC_ID, .delivery_mode = LAPIC_DM_INIT, .level = true };
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    /* x2APIC: cluster = id >> 4, member bit = id & 15 */
    lapic_init(&l, 0x25, false, 39, TSC_KHZ, TIMER_KHZ, &ops);
    to_x2apic();
    ipi = (struct lapic_ipi){ .destination = 0x25, .x2apic = true };
    assert_true(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = 0x125;
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    ipi = (struct lapic_ipi){ .destination = (2u << 16) | 0x20, .logical = true, .x2apic = true };
    assert_true(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = (3u << 16) | 0x20;
    assert_false(lapic_ipi_targets(&l, &ipi, false));
    ipi.destination = 0xFFFFFFFFu;
    assert_true(lapic_ipi_targets(&l, &ipi, false));
}

static void test_deliver_modes_report_events(void **state)
{
    sw_enable();
    assert_true(lapic_deliver(&l, LAPIC_DM_SMI, 0, false));
    assert_true(lapic_deliver(&l, LAPIC_DM_INIT, 0, false));
    assert_true(lapic_deliver(&l, LAPIC_DM_STARTUP, 0x9A, false));
    assert_true(lapic_deliver(&l, LAPIC_DM_EXTINT, 0, false));
    assert_int_equal(seen.event_count, 4);
    assert_int_equal(seen.events[0], LAPIC_EVENT_SMI);
    assert_int_equal(seen.events[1], LAPIC_EVENT_INIT);
    assert_int_equal(seen.events[2], LAPIC_EVENT_STARTUP);
    assert_int_equal(seen.event_vectors[2], 0x9A);
    assert_int_equal(seen.events[3], LAPIC_EVENT_EXTINT);
    assert_true(lapic_deliver(&l, LAPIC_DM_LOWEST, 0x77, true));
    assert_int_equal(lapic_highest_deliverable(&l), 0x77);
    assert_false(lapic_deliver(&l, (enum lapic_delivery_mode)3, 0x77, false));
}

/* ---- timer ---- */

static void test_divide_configuration(void **state)
{
    sw_enable();
    static const struct { uint32_t dcr, divisor; } table[] = {
        {0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16}, {0x8, 32}, {0x9, 64}, {0xA, 128}, {0xB, 1},
    };
    for (unsigned i = 0; i < 8; i++) {
        lapic_init(&l, APIC_ID, true, 39, TSC_KHZ, TIMER_KHZ, &ops);
        sw_enable();
        wr(LAPIC_REG_TIMER_DIVIDE, table[i].dcr | 0xFFFFFFF4u);
        assert_int_equal(rd(LAPIC_REG_TIMER_DIVIDE), table[i].dcr);
        wr(LAPIC_REG_LVT_TIMER, 0x40);
        wr(LAPIC_REG_TIMER_INITIAL, 1000);
        assert_int_equal(lapic_next_deadline(&l), 1000ull * table[i].divisor * TICK);
        lapic_advance(&l, 10ull * table[i].divisor * TICK);
        assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 990);
    }
}

static void test_one_shot(void **state)
{
    sw_enable();
    lapic_advance(&l, 5000);
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 100);
    assert_int_equal(rd(LAPIC_REG_TIMER_INITIAL), 100);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 100);
    uint64_t due = lapic_next_deadline(&l);
    assert_int_equal(due, 5000 + 100 * TICK);
    lapic_advance(&l, due - 1);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 1);
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
    lapic_advance(&l, due);
    assert_int_equal(lapic_highest_deliverable(&l), 0x40);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 0);
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
    lapic_acknowledge(&l);
    lapic_advance(&l, due + 1000000);
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
    /* writing 0 stops a running timer */
    wr(LAPIC_REG_TIMER_INITIAL, 100);
    wr(LAPIC_REG_TIMER_INITIAL, 0);
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
}

static void test_masked_timer_counts_but_does_not_deliver(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_TIMER_PERIODIC | 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 10);
    lapic_advance(&l, 10 * TICK);
    assert_int_equal(l.timer_expiries, 1);
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
    assert_int_equal(lapic_next_deadline(&l), 20 * TICK);
}

static void test_periodic_never_drifts(void **state)
{
    /* 7 TSC ticks per 3 timer ticks: every period is a fraction of TSC ticks. */
    lapic_init(&l, APIC_ID, true, 39, 7000, 3000, &ops);
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_TIMER_PERIODIC | 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 1);                  /* 2.333 TSC ticks per period */
    for (uint64_t k = 1; k <= 30000; k++) {
        uint64_t due = lapic_next_deadline(&l);
        assert_int_equal(due, (k * 7 + 2) / 3);      /* ceil(k * 7 / 3), exact */
        lapic_advance(&l, due);
        assert_int_equal(lapic_acknowledge(&l), 0x40);
        wr(LAPIC_REG_EOI, 0);
    }
    assert_int_equal(l.timer_expiries, 30000);
    assert_int_equal(l.timer_missed, 0);
}

static void test_one_tick_periodic_is_bounded(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_TIMER_PERIODIC | 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 1);
    lapic_advance(&l, 1000000ull * TICK + 5);        /* a million periods at once */
    assert_int_equal(l.timer_expiries, 1);
    assert_int_equal(l.timer_missed, 999999);
    assert_int_equal(lapic_next_deadline(&l), 1000001ull * TICK);
    assert_int_equal(lapic_acknowledge(&l), 0x40);
    assert_int_equal(lapic_acknowledge(&l), LAPIC_NO_VECTOR);   /* one delivery, not a million */
    assert_true(rd(LAPIC_REG_TIMER_CURRENT) <= 1);
    /* a huge time jump does not loop either */
    lapic_advance(&l, UINT64_MAX / 2);
    assert_int_equal(l.timer_expiries, 2);
}

static void test_divide_change_keeps_count(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 100);
    lapic_advance(&l, 40 * TICK);
    wr(LAPIC_REG_TIMER_DIVIDE, 0x0);                 /* divide by 2 from now on */
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 60);
    assert_int_equal(lapic_next_deadline(&l), 40 * TICK + 120 * TICK);
}

static void test_mode_change_disarms(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 100);
    wr(LAPIC_REG_LVT_TIMER, 0x41);                   /* same mode: keeps running */
    assert_int_equal(lapic_next_deadline(&l), 100 * TICK);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_TIMER_PERIODIC | 0x40);
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 0);
    lapic_advance(&l, 1000 * TICK);
    assert_int_equal(l.timer_expiries, 0);
}

static void test_tsc_deadline(void **state)
{
    sw_enable();
    /* not in TSC-deadline mode: the MSR reads 0 and ignores writes */
    assert_true(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 1000, 0));
    assert_int_equal(msr_rd(MSR_IA32_TSC_DEADLINE), 0);
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_TIMER_TSC_DEADLINE | 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 50);                 /* ignored in this mode */
    assert_int_equal(rd(LAPIC_REG_TIMER_INITIAL), 0);
    assert_true(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 1000, 0));
    assert_int_equal(msr_rd(MSR_IA32_TSC_DEADLINE), 1000);
    assert_int_equal(lapic_next_deadline(&l), 1000);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 0);
    lapic_advance(&l, 999);
    assert_int_equal(lapic_highest_deliverable(&l), LAPIC_NO_VECTOR);
    lapic_advance(&l, 1000);
    assert_int_equal(lapic_highest_deliverable(&l), 0x40);
    assert_int_equal(msr_rd(MSR_IA32_TSC_DEADLINE), 0);            /* cleared on expiry */
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
    lapic_acknowledge(&l);
    wr(LAPIC_REG_EOI, 0);
    /* a deadline already past fires at once; 0 disarms */
    assert_true(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 10, 2000));
    assert_int_equal(lapic_highest_deliverable(&l), 0x40);
    lapic_acknowledge(&l);
    assert_true(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 5000, 2000));
    assert_true(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 0, 2000));
    lapic_advance(&l, 6000);
    assert_int_equal(l.timer_expiries, 2);
    /* leaving TSC-deadline mode disarms */
    assert_true(lapic_msr_write(&l, MSR_IA32_TSC_DEADLINE, 9000, 6000));
    wr(LAPIC_REG_LVT_TIMER, 0x40);
    wr(LAPIC_REG_LVT_TIMER, LAPIC_TIMER_TSC_DEADLINE | 0x40);
    assert_int_equal(msr_rd(MSR_IA32_TSC_DEADLINE), 0);
    assert_int_equal(lapic_next_deadline(&l), DEV_TIME_NEVER);
}

static void test_time_never_runs_backwards(void **state)
{
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, 0x40);
    lapic_advance(&l, 1000);
    wr(LAPIC_REG_TIMER_INITIAL, 10);
    uint64_t due = lapic_next_deadline(&l);
    lapic_advance(&l, 0);                             /* an older time is taken as "now" */
    assert_int_equal(lapic_next_deadline(&l), due);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 10);
}

static void test_timer_clock_rate(void **state)
{
    /* a 25 MHz crystal under a 2.5 GHz TSC: 100 TSC ticks per timer tick */
    lapic_init(&l, APIC_ID, true, 39, 2500000, 25000, &ops);
    sw_enable();
    wr(LAPIC_REG_TIMER_DIVIDE, 0xB);
    wr(LAPIC_REG_LVT_TIMER, 0x40);
    wr(LAPIC_REG_TIMER_INITIAL, 25000);               /* 1 ms */
    assert_int_equal(lapic_next_deadline(&l), 2500000);
    lapic_advance(&l, 1250000);
    assert_int_equal(rd(LAPIC_REG_TIMER_CURRENT), 12500);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_power_up_state), T(test_xapic_id_ldr_dfr_writable_bits), T(test_mmio_sizes),
        T(test_mmio_reserved_offset_sets_illegal_register), T(test_apic_base_transitions),
        T(test_apic_base_reserved_bits), T(test_disable_resets_state), T(test_init_signal_keeps_id_and_base),
        T(test_x2apic_id_ldr_and_absent_registers), T(test_x2apic_reserved_bits_gp),
        T(test_x2apic_msrs_gp_outside_x2apic_mode), T(test_x2apic_icr_is_64_bit), T(test_x2apic_self_ipi),
        T(test_software_disable_forces_lvt_masks), T(test_priority_and_acknowledge), T(test_tpr_ppr_and_cr8),
        T(test_eoi_broadcast_suppressed), T(test_illegal_vector_received),
        T(test_error_lvt_with_illegal_vector_is_bounded), T(test_lvt_writable_bits), T(test_lvt_delivery_modes),
        T(test_lint_level_triggered_remote_irr), T(test_icr_send_and_delivery_status_idle), T(test_icr_shorthands),
        T(test_icr_send_illegal_vector), T(test_physical_and_logical_destinations),
        T(test_deliver_modes_report_events), T(test_divide_configuration), T(test_one_shot),
        T(test_masked_timer_counts_but_does_not_deliver), T(test_periodic_never_drifts),
        T(test_one_tick_periodic_is_bounded), T(test_divide_change_keeps_count), T(test_mode_change_disarms),
        T(test_tsc_deadline), T(test_time_never_runs_backwards), T(test_timer_clock_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
