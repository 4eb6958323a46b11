/* Fuzzes the local APIC model: the input is a sequence of xAPIC MMIO and x2APIC/APIC-base/TSC-
 * deadline MSR accesses, interrupts arriving, acknowledgements, EOIs, LINT pin changes, CR8 writes,
 * INIT signals and time advances, with IPIs routed back into the same APIC. After every step the
 * model is consistent: no IRR/ISR bit below vector 16, current count <= initial count, no deadline
 * left behind the model's time, which never goes back, masked sources deliver nothing, each step
 * does a bounded number of callbacks, and ASan/UBSan see nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/irq.h"
#include "dev/lapic.h"
#include "x86.h"
#include "fuzz_input.h"

#define MAX_OPS            1024
#define MAX_CALLBACKS_STEP 8

static struct lapic apic;
static unsigned callbacks;


/* The router of a one-APIC machine: every IPI that targets this APIC comes back into it. */
static void route_ipi(void *ctx, const struct lapic_ipi *ipi)
{
    callbacks++;
    if (lapic_ipi_targets(&apic, ipi, true))
        lapic_deliver(&apic, (enum lapic_delivery_mode)ipi->delivery_mode, ipi->vector, ipi->level);
}

static void count_eoi(void *ctx, uint8_t vector) { callbacks++; }
static void count_event(void *ctx, enum lapic_event event, uint8_t vector) { callbacks++; }
static void count_mmio(void *ctx, bool mapped, uint64_t base) { callbacks++; }

static const struct lapic_ops ops = {
    .send_ipi = route_ipi, .eoi_broadcast = count_eoi, .event = count_event, .mmio_changed = count_mmio,
};

static const uint64_t time_steps[] = { 0, 1, 7, 30, 1000, 123456, 10000000, 1ull << 40 };

static uint32_t current_count(void)
{
    uint64_t v = 0;
    if (lapic_mode(&apic) == LAPIC_MODE_XAPIC)
        lapic_mmio_read(&apic, LAPIC_REG_TIMER_CURRENT, 4, apic.now, &v);
    else if (lapic_mode(&apic) == LAPIC_MODE_X2APIC)
        lapic_msr_read(&apic, MSR_X2APIC_FIRST + (LAPIC_REG_TIMER_CURRENT >> 4), apic.now, &v);
    return (uint32_t)v;
}

static bool irr_grew(const uint32_t *before)
{
    for (unsigned i = 0; i < 8; i++)
        if (apic.irr[i] & ~before[i])
            return true;
    return false;
}

static void check_invariants(uint64_t now_before)
{
    if ((apic.irr[0] | apic.isr[0]) & 0xFFFF)
        abort();
    if (apic.now < now_before)
        abort();
    uint64_t next = lapic_next_deadline(&apic);
    if (next != DEV_TIME_NEVER && next <= apic.now)
        abort();
    if (current_count() > apic.timer_initial)
        abort();
    if ((apic.apic_base & APIC_BASE_EXTD) && !(apic.apic_base & APIC_BASE_EN))
        abort();
    if (lapic_mode(&apic) == LAPIC_MODE_DISABLED) {
        for (unsigned i = 0; i < 8; i++)
            if (apic.irr[i] | apic.isr[i])
                abort();
    }
    if (!(apic.svr & LAPIC_SVR_ENABLE))
        for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
            if (!(apic.lvt[i] & LAPIC_LVT_MASKED))
                abort();
    if (apic.tpr > 0xFF || lapic_ppr(&apic) > 0xFF)
        abort();
    if (callbacks > MAX_CALLBACKS_STEP)
        abort();
}

static uint32_t pick_msr(struct cursor *c)
{
    uint8_t sel = (uint8_t)take(c, 1);
    if (sel < 16)
        return MSR_IA32_APIC_BASE;
    if (sel < 40)
        return MSR_IA32_TSC_DEADLINE;
    return MSR_X2APIC_FIRST + (uint32_t)take(c, 1);
}

static uint64_t pick_apic_base(struct cursor *c)
{
    static const uint64_t modes[] = { 0, APIC_BASE_EN, APIC_BASE_EN | APIC_BASE_EXTD, APIC_BASE_EXTD };
    uint8_t sel = (uint8_t)take(c, 1);
    if (sel & 0x80)
        return take(c, 8);                    /* anything, reserved bits included */
    uint64_t base = (sel & 0x40) ? APIC_DEFAULT_BASE : (take(c, 4) << 12);
    return base | modes[sel & 3] | ((sel & 4) ? APIC_BASE_BSP : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = { data, size };
    uint32_t tsc_khz = 1 + (uint32_t)take(&c, 3), timer_khz = 1 + (uint32_t)take(&c, 3);
    lapic_init(&apic, (uint32_t)take(&c, 1), true, 39, tsc_khz, timer_khz, &ops);
    uint64_t now = 0;
    for (unsigned op = 0; op < MAX_OPS && c.left; op++) {
        uint8_t kind = (uint8_t)take(&c, 1);
        uint64_t now_before = apic.now, v;
        uint32_t irr_before[8];
        memcpy(irr_before, apic.irr, sizeof irr_before);
        uint32_t timer_lvt = apic.lvt[LAPIC_LVT_TIMER_INDEX];
        callbacks = 0;
        switch (kind % 13) {
        case 0: {
            uint64_t offset = take(&c, 2) & 0xFFF;
            offset = (kind & 0x80) ? offset : (offset & 0xFF0);   /* mostly register offsets */
            lapic_mmio_write(&apic, offset, 1u << (take(&c, 1) & 3), take(&c, 4), now);
            break;
        }
        case 1:
            lapic_mmio_read(&apic, take(&c, 2) & 0xFFF, 1u << (take(&c, 1) & 3), now, &v);
            break;
        case 2: {
            uint32_t msr = pick_msr(&c);
            lapic_msr_write(&apic, msr, msr == MSR_IA32_APIC_BASE ? pick_apic_base(&c) : take(&c, 8), now);
            break;
        }
        case 3:
            lapic_msr_read(&apic, pick_msr(&c), now, &v);
            break;
        case 4:
            lapic_accept_interrupt(&apic, (uint8_t)take(&c, 1), kind & 0x80);
            break;
        case 5: {
            int vector = lapic_acknowledge(&apic);
            if (vector != LAPIC_NO_VECTOR && (vector < LAPIC_FIRST_VALID_VECTOR || vector > 255))
                abort();
            break;
        }
        case 6:
            if (lapic_mode(&apic) == LAPIC_MODE_XAPIC)
                lapic_mmio_write(&apic, LAPIC_REG_EOI, 4, 0, now);
            else
                lapic_msr_write(&apic, MSR_X2APIC_FIRST + (LAPIC_REG_EOI >> 4), 0, now);
            break;
        case 7: {
            uint64_t step = time_steps[take(&c, 1) & 7] + take(&c, 1);
            now = now > UINT64_MAX - step ? UINT64_MAX : now + step;
            lapic_advance(&apic, now);
            /* only the timer (and the error it may raise) can fire on its own */
            if ((timer_lvt & LAPIC_LVT_MASKED) && (irr_grew(irr_before) || callbacks))
                abort();
            break;
        }
        case 8:
            lapic_deliver(&apic, (enum lapic_delivery_mode)(take(&c, 1) & 7), (uint8_t)take(&c, 1), kind & 0x80);
            break;
        case 9: {
            unsigned pin = (unsigned)take(&c, 1) & 1;
            bool masked = apic.lvt[LAPIC_LVT_LINT0_INDEX + pin] & LAPIC_LVT_MASKED;
            lapic_set_lint(&apic, pin, kind & 0x80);
            if (masked && (irr_grew(irr_before) || callbacks))
                abort();
            break;
        }
        case 10:
            lapic_write_cr8(&apic, take(&c, 1) & 0x1F);
            break;
        case 11:
            lapic_init_signal(&apic, now);
            break;
        case 12:
            now = apic.now > 50 ? apic.now - 50 : 0;      /* a caller's clock that went back */
            lapic_advance(&apic, now);
            now = apic.now;
            break;
        }
        check_invariants(now_before);
    }
    return 0;
}
