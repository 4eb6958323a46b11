/* The local APIC model: registers as SDM Vol. 3A chapter 11 specifies, one register file reached
 * through the xAPIC page or the x2APIC MSRs, and a timer in exact timer-clock ticks. */
#include "dev/lapic.h"
#include "dev/irq.h"
#include "x86.h"

#define PRIORITY_CLASS(v) ((uint32_t)(v) & 0xF0u)

/* Writable bits per LVT entry (SDM Figure 11-8); delivery status and remote IRR are read-only. */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
    [LAPIC_LVT_CMCI_INDEX]    = LAPIC_LVT_VECTOR | LAPIC_LVT_DELIVERY_MODE | LAPIC_LVT_MASKED,
    [LAPIC_LVT_TIMER_INDEX]   = LAPIC_LVT_VECTOR | LAPIC_LVT_MASKED | LAPIC_LVT_TIMER_MODE,
    [LAPIC_LVT_THERMAL_INDEX] = LAPIC_LVT_VECTOR | LAPIC_LVT_DELIVERY_MODE | LAPIC_LVT_MASKED,
    [LAPIC_LVT_PERFMON_INDEX] = LAPIC_LVT_VECTOR | LAPIC_LVT_DELIVERY_MODE | LAPIC_LVT_MASKED,
    [LAPIC_LVT_LINT0_INDEX]   = LAPIC_LVT_VECTOR | LAPIC_LVT_DELIVERY_MODE | LAPIC_LVT_POLARITY |
                                LAPIC_LVT_LEVEL | LAPIC_LVT_MASKED,
    [LAPIC_LVT_LINT1_INDEX]   = LAPIC_LVT_VECTOR | LAPIC_LVT_DELIVERY_MODE | LAPIC_LVT_POLARITY |
                                LAPIC_LVT_LEVEL | LAPIC_LVT_MASKED,
    [LAPIC_LVT_ERROR_INDEX]   = LAPIC_LVT_VECTOR | LAPIC_LVT_MASKED,
};

#define SVR_WRITABLE (LAPIC_SVR_VECTOR | LAPIC_SVR_ENABLE | LAPIC_SVR_FOCUS_OFF | LAPIC_SVR_EOI_SUPPRESS)
#define ICR_LOW_WRITABLE (LAPIC_ICR_VECTOR | (7u << 8) | LAPIC_ICR_LOGICAL | LAPIC_ICR_ASSERT | \
                          LAPIC_ICR_LEVEL | (3u << LAPIC_ICR_SHORTHAND_SHIFT))
#define ICR_HIGH_XAPIC_WRITABLE 0xFF000000u
#define DIVIDE_WRITABLE 0xBu
#define X2APIC_BROADCAST 0xFFFFFFFFu
#define XAPIC_BROADCAST 0xFFu

/* ---- vector bitmaps (IRR, ISR, TMR: 256 bits in eight 32-bit registers) ---- */

static void vec_set(uint32_t *map, unsigned v) { map[(v >> 5) & 7] |= 1u << (v & 31); }
static void vec_clear(uint32_t *map, unsigned v) { map[(v >> 5) & 7] &= ~(1u << (v & 31)); }
static bool vec_test(const uint32_t *map, unsigned v) { return map[(v >> 5) & 7] & (1u << (v & 31)); }

static int vec_highest(const uint32_t *map)
{
    for (int i = 7; i >= 0; i--)
        if (map[i])
            return i * 32 + 31 - __builtin_clz(map[i]);
    return LAPIC_NO_VECTOR;
}

/* ---- time: exact a * mul / div for 32-bit rates without 128-bit division, saturating ---- */

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint64_t muldiv(uint64_t a, uint32_t mul, uint32_t div, bool round_up)
{
    uint64_t q = a / div, r = a % div;
    if (q && mul > UINT64_MAX / q)
        return UINT64_MAX;
    uint64_t part = r * mul;          /* r < 2^32 and mul < 2^32: no overflow */
    uint64_t frac = part / div + (round_up && part % div ? 1 : 0);
    return sat_add(q * mul, frac);
}

/* Timer-clock ticks from the timer's start to TSC time t (never before the start: time only
 * moves forward), and the first TSC time at which tick b has come. */
static uint64_t bus_at(const struct lapic *l, uint64_t t)
{
    return muldiv(t - l->timer_start_tsc, l->timer_khz, l->tsc_khz, false);
}

static uint64_t tsc_of_bus(const struct lapic *l, uint64_t b)
{
    return sat_add(l->timer_start_tsc, muldiv(b, l->tsc_khz, l->timer_khz, true));
}

static uint32_t timer_divisor(const struct lapic *l)
{
    uint32_t code = (l->timer_divide_reg & 3) | ((l->timer_divide_reg >> 1) & 4);
    return code == 7 ? 1 : 2u << code;
}

static uint32_t timer_mode(const struct lapic *l) { return l->lvt[LAPIC_LVT_TIMER_INDEX] & LAPIC_LVT_TIMER_MODE; }
static uint64_t timer_period(const struct lapic *l) { return (uint64_t)l->timer_initial * timer_divisor(l); }

enum lapic_mode lapic_mode(const struct lapic *l)
{
    if (!(l->apic_base & APIC_BASE_EN))
        return LAPIC_MODE_DISABLED;
    return (l->apic_base & APIC_BASE_EXTD) ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}

static bool software_enabled(const struct lapic *l) { return l->svr & LAPIC_SVR_ENABLE; }

/* ---- errors ---- */

static void lvt_deliver(struct lapic *l, enum lapic_lvt_index index);

/* Only newly seen error bits raise the error interrupt: an illegal vector in the error LVT
 * itself then stops after one round instead of recursing. */
static void signal_error(struct lapic *l, uint32_t bit)
{
    if (l->esr_pending & bit)
        return;
    l->esr_pending |= bit;
    lvt_deliver(l, LAPIC_LVT_ERROR_INDEX);
}

/* ---- acceptance and delivery ---- */

bool lapic_accept_interrupt(struct lapic *l, uint8_t vector, bool level)
{
    /* A software-disabled APIC takes only NMI, SMI, INIT and SIPI (SDM 11.4.7.2). */
    if (lapic_mode(l) == LAPIC_MODE_DISABLED || !software_enabled(l))
        return false;
    if (vector < LAPIC_FIRST_VALID_VECTOR) {
        signal_error(l, LAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
        return false;
    }
    vec_set(l->irr, vector);
    if (level)
        vec_set(l->tmr, vector);
    else
        vec_clear(l->tmr, vector);
    return true;
}

static void report_event(struct lapic *l, enum lapic_event event, uint8_t vector)
{
    if (l->ops.event)
        l->ops.event(l->ops.ctx, event, vector);
}

bool lapic_deliver(struct lapic *l, enum lapic_delivery_mode mode, uint8_t vector, bool level)
{
    if (lapic_mode(l) == LAPIC_MODE_DISABLED)
        return false;
    switch (mode) {
    case LAPIC_DM_FIXED:
    case LAPIC_DM_LOWEST:   /* the router chose this APIC as the lowest-priority one */
        return lapic_accept_interrupt(l, vector, level);
    case LAPIC_DM_SMI:     report_event(l, LAPIC_EVENT_SMI, 0); return true;
    case LAPIC_DM_NMI:     report_event(l, LAPIC_EVENT_NMI, 0); return true;
    case LAPIC_DM_INIT:    report_event(l, LAPIC_EVENT_INIT, 0); return true;
    case LAPIC_DM_STARTUP: report_event(l, LAPIC_EVENT_STARTUP, vector); return true;
    case LAPIC_DM_EXTINT:  report_event(l, LAPIC_EVENT_EXTINT, 0); return true;
    }
    return false;   /* reserved encodings */
}

/* A local source fires: nothing while masked; LVT entries without a delivery-mode field (timer,
 * error) are fixed and edge-triggered, LINT entries may be level-triggered. */
static void lvt_deliver(struct lapic *l, enum lapic_lvt_index index)
{
    uint32_t lvt = l->lvt[index];
    if (lvt & LAPIC_LVT_MASKED)
        return;
    uint8_t vector = lvt & LAPIC_LVT_VECTOR;
    unsigned mode = LAPIC_DM_FIXED;
    if (lvt_writable[index] & LAPIC_LVT_DELIVERY_MODE)
        mode = (lvt & LAPIC_LVT_DELIVERY_MODE) >> 8;
    bool level = (lvt_writable[index] & LAPIC_LVT_LEVEL) && (lvt & LAPIC_LVT_LEVEL) && mode == LAPIC_DM_FIXED;
    if (mode == LAPIC_DM_LOWEST || mode == LAPIC_DM_STARTUP)
        return;     /* not valid in an LVT entry */
    if (lapic_deliver(l, (enum lapic_delivery_mode)mode, vector, level) && level)
        l->lvt[index] |= LAPIC_LVT_REMOTE_IRR;
}

static bool lint_asserted(const struct lapic *l, unsigned pin)
{
    bool active_low = l->lvt[LAPIC_LVT_LINT0_INDEX + pin] & LAPIC_LVT_POLARITY;
    return l->lint_level[pin] != active_low;
}

/* A level-triggered fixed LINT input is taken once per assertion: remote IRR holds it until EOI. */
static void lint_sample(struct lapic *l, unsigned pin, bool was_asserted)
{
    enum lapic_lvt_index index = LAPIC_LVT_LINT0_INDEX + pin;
    uint32_t lvt = l->lvt[index];
    bool asserted = lint_asserted(l, pin);
    bool level_fixed = (lvt & LAPIC_LVT_LEVEL) && ((lvt & LAPIC_LVT_DELIVERY_MODE) >> 8) == LAPIC_DM_FIXED;
    if (level_fixed) {
        if (asserted && !(lvt & LAPIC_LVT_REMOTE_IRR))
            lvt_deliver(l, index);
    } else if (asserted && !was_asserted) {
        lvt_deliver(l, index);
    }
}

void lapic_set_lint(struct lapic *l, unsigned pin, bool level)
{
    if (pin > 1)
        return;
    bool was_asserted = lint_asserted(l, pin);
    l->lint_level[pin] = level;
    lint_sample(l, pin, was_asserted);
}

/* ---- priorities ---- */

uint32_t lapic_ppr(const struct lapic *l)
{
    int isrv = vec_highest(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : PRIORITY_CLASS(isrv);
    return PRIORITY_CLASS(l->tpr) >= isr_class ? (l->tpr & 0xFF) : isr_class;
}

/* Arbitration priority (SDM 11.6.2.4), for lowest-priority arbitration. */
static uint32_t lapic_apr(const struct lapic *l)
{
    int irrv = vec_highest(l->irr), isrv = vec_highest(l->isr);
    int highest = irrv > isrv ? irrv : isrv;
    uint32_t highest_class = highest < 0 ? 0 : PRIORITY_CLASS(highest);
    return PRIORITY_CLASS(l->tpr) >= highest_class ? (l->tpr & 0xFF) : highest_class;
}

int lapic_highest_deliverable(const struct lapic *l)
{
    if (lapic_mode(l) == LAPIC_MODE_DISABLED)
        return LAPIC_NO_VECTOR;
    int v = vec_highest(l->irr);
    if (v < 0 || PRIORITY_CLASS(v) <= PRIORITY_CLASS(lapic_ppr(l)))
        return LAPIC_NO_VECTOR;
    return v;
}

int lapic_acknowledge(struct lapic *l)
{
    int v = lapic_highest_deliverable(l);
    if (v < 0)
        return LAPIC_NO_VECTOR;
    vec_clear(l->irr, (unsigned)v);
    vec_set(l->isr, (unsigned)v);
    return v;
}

static void eoi(struct lapic *l)
{
    int v = vec_highest(l->isr);
    if (v < 0)
        return;
    vec_clear(l->isr, (unsigned)v);
    if (vec_test(l->tmr, (unsigned)v) && !(l->svr & LAPIC_SVR_EOI_SUPPRESS) && l->ops.eoi_broadcast)
        l->ops.eoi_broadcast(l->ops.ctx, (uint8_t)v);
    for (unsigned pin = 0; pin < 2; pin++) {
        uint32_t *lvt = &l->lvt[LAPIC_LVT_LINT0_INDEX + pin];
        if ((*lvt & LAPIC_LVT_REMOTE_IRR) && (*lvt & LAPIC_LVT_VECTOR) == (uint32_t)v) {
            *lvt &= ~LAPIC_LVT_REMOTE_IRR;
            lint_sample(l, pin, true);   /* still asserted: taken again */
        }
    }
}

uint64_t lapic_read_cr8(const struct lapic *l) { return (l->tpr >> 4) & 0xF; }

bool lapic_write_cr8(struct lapic *l, uint64_t cr8)
{
    if (cr8 & ~0xFull)
        return false;
    l->tpr = (uint32_t)cr8 << 4;
    return true;
}

/* ---- destinations and IPIs ---- */

static uint32_t x2apic_ldr(uint32_t id) { return ((id >> 4) << 16) | (1u << (id & 0xF)); }

static bool xapic_matches(const struct lapic *t, uint32_t dest8, bool logical)
{
    if (dest8 == XAPIC_BROADCAST)
        return true;
    if (!logical)
        return dest8 == t->xapic_id >> 24;
    uint32_t ldr8 = t->ldr >> 24;
    if ((t->dfr >> 28) == LAPIC_DFR_FLAT)
        return (dest8 & ldr8) != 0;
    return (dest8 >> 4) == (ldr8 >> 4) && (dest8 & ldr8 & 0xF) != 0;
}

bool lapic_ipi_targets(const struct lapic *t, const struct lapic_ipi *ipi, bool target_is_sender)
{
    enum lapic_mode mode = lapic_mode(t);
    if (mode == LAPIC_MODE_DISABLED)
        return false;
    if (ipi->delivery_mode == LAPIC_DM_INIT && ipi->level && !ipi->assert)
        return false;   /* INIT level de-assert: no effect on P4 and later */
    switch (ipi->shorthand) {
    case LAPIC_SH_SELF: return target_is_sender;
    case LAPIC_SH_ALL_INCLUDING_SELF: return true;
    case LAPIC_SH_ALL_EXCLUDING_SELF: return !target_is_sender;
    default: break;
    }
    uint32_t dest = ipi->destination;
    if (mode == LAPIC_MODE_X2APIC) {
        if (!ipi->x2apic)   /* an xAPIC sender's 8-bit broadcast reaches x2APIC receivers too */
            dest = (dest & 0xFF) == XAPIC_BROADCAST ? X2APIC_BROADCAST : (dest & 0xFF);
        if (dest == X2APIC_BROADCAST)
            return true;
        if (!ipi->logical)
            return dest == t->initial_id;
        return (dest >> 16) == (t->ldr >> 16) && (dest & t->ldr & 0xFFFF) != 0;
    }
    if (ipi->x2apic) {
        if (dest == X2APIC_BROADCAST)
            dest = XAPIC_BROADCAST;
        else if (dest > 0xFF)
            return false;
    }
    return xapic_matches(t, dest & 0xFF, ipi->logical);
}

/* Send what the ICR holds. Delivery status always reads idle: the send completes here. */
static void send_icr(struct lapic *l)
{
    uint32_t low = l->icr_low;
    struct lapic_ipi ipi = {
        .destination = lapic_mode(l) == LAPIC_MODE_X2APIC ? l->icr_high : l->icr_high >> 24,
        .vector = low & LAPIC_ICR_VECTOR,
        .delivery_mode = (low >> 8) & 7,
        .shorthand = (low >> LAPIC_ICR_SHORTHAND_SHIFT) & 3,
        .logical = low & LAPIC_ICR_LOGICAL,
        .level = low & LAPIC_ICR_LEVEL,
        .assert = low & LAPIC_ICR_ASSERT,
        .x2apic = lapic_mode(l) == LAPIC_MODE_X2APIC,
    };
    bool fixed_like = ipi.delivery_mode == LAPIC_DM_FIXED || ipi.delivery_mode == LAPIC_DM_LOWEST;
    if (ipi.delivery_mode == 3 || ipi.delivery_mode == LAPIC_DM_EXTINT)
        return;     /* reserved in the ICR */
    if (fixed_like && ipi.vector < LAPIC_FIRST_VALID_VECTOR) {
        signal_error(l, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    /* Self and all-including-self go with fixed delivery only (SDM Table 11-3, 11-4). */
    if ((ipi.shorthand == LAPIC_SH_SELF || ipi.shorthand == LAPIC_SH_ALL_INCLUDING_SELF) &&
        ipi.delivery_mode != LAPIC_DM_FIXED)
        return;
    if (ipi.shorthand == LAPIC_SH_SELF) {
        lapic_accept_interrupt(l, ipi.vector, ipi.level);
        return;
    }
    if (l->ops.send_ipi)
        l->ops.send_ipi(l->ops.ctx, &ipi);
}

/* ---- timer ---- */

static void timer_stop(struct lapic *l)
{
    l->timer_armed = false;
    l->tsc_deadline = 0;
}

static void timer_start_count(struct lapic *l, uint64_t now)
{
    l->timer_armed = l->timer_initial != 0;
    l->timer_start_tsc = now;
    l->timer_next_bus = timer_period(l);
}

static void timer_fire(struct lapic *l)
{
    l->timer_expiries++;
    lvt_deliver(l, LAPIC_LVT_TIMER_INDEX);
}

/* Expiries up to l->now. A periodic timer that fell behind counts the missed periods and
 * delivers one interrupt, so even a one-tick period costs constant work per call. */
static void timer_update(struct lapic *l)
{
    if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE) {
        if (l->tsc_deadline && l->now >= l->tsc_deadline) {
            l->tsc_deadline = 0;
            timer_fire(l);
        }
        return;
    }
    if (!l->timer_armed)
        return;
    uint64_t bus = bus_at(l, l->now);
    if (bus < l->timer_next_bus)
        return;
    if (timer_mode(l) == LAPIC_TIMER_PERIODIC) {
        uint64_t period = timer_period(l);
        uint64_t missed = (bus - l->timer_next_bus) / period;
        l->timer_missed += missed;
        uint64_t step = missed + 1;
        if (step > (UINT64_MAX - l->timer_next_bus) / period)
            l->timer_armed = false;     /* the next expiry is past the end of time */
        else
            l->timer_next_bus += step * period;
    } else {
        l->timer_armed = false;
    }
    timer_fire(l);
}

static uint32_t timer_current_count(const struct lapic *l)
{
    if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE || !l->timer_armed)
        return 0;
    uint64_t bus = bus_at(l, l->now);
    if (bus >= l->timer_next_bus)
        return 0;
    uint64_t remaining = l->timer_next_bus - bus;
    uint64_t div = timer_divisor(l);
    uint64_t count = (remaining + div - 1) / div;
    return count > l->timer_initial ? l->timer_initial : (uint32_t)count;
}

static void set_now(struct lapic *l, uint64_t now)
{
    if (now > l->now)
        l->now = now;
}

void lapic_advance(struct lapic *l, uint64_t now)
{
    set_now(l, now);
    timer_update(l);
}

uint64_t lapic_next_deadline(const struct lapic *l)
{
    if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
        return l->tsc_deadline ? l->tsc_deadline : DEV_TIME_NEVER;
    if (!l->timer_armed)
        return DEV_TIME_NEVER;
    return tsc_of_bus(l, l->timer_next_bus);
}

/* A divide change keeps the count where it is and counts on at the new rate. */
static void timer_set_divide(struct lapic *l, uint32_t value)
{
    uint32_t count = timer_current_count(l);
    l->timer_divide_reg = value & DIVIDE_WRITABLE;
    if (l->timer_armed)
        l->timer_next_bus = sat_add(bus_at(l, l->now), (uint64_t)count * timer_divisor(l));
}

/* ---- state resets ---- */

static void reset_registers(struct lapic *l)
{
    l->tpr = 0;
    l->ldr = lapic_mode(l) == LAPIC_MODE_X2APIC ? x2apic_ldr(l->initial_id) : 0;
    l->dfr = 0xFFFFFFFFu;
    l->svr = LAPIC_SVR_RESET;
    for (unsigned i = 0; i < 8; i++)
        l->irr[i] = l->isr[i] = l->tmr[i] = 0;
    l->esr = l->esr_pending = 0;
    l->icr_low = l->icr_high = 0;
    for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
        l->lvt[i] = LAPIC_LVT_MASKED;
    l->timer_initial = 0;
    l->timer_divide_reg = 0;
    timer_stop(l);
}

static void report_mmio(struct lapic *l)
{
    if (l->ops.mmio_changed)
        l->ops.mmio_changed(l->ops.ctx, lapic_mode(l) == LAPIC_MODE_XAPIC, l->apic_base & APIC_BASE_ADDR_MASK);
}

void lapic_init(struct lapic *l, uint32_t apic_id, bool bsp, unsigned maxphyaddr, uint32_t tsc_khz,
                uint32_t timer_khz, const struct lapic_ops *ops)
{
    *l = (struct lapic){0};
    if (ops)
        l->ops = *ops;
    l->initial_id = apic_id;
    l->maxphyaddr = maxphyaddr < 32 ? 32 : maxphyaddr > 52 ? 52 : maxphyaddr;
    l->tsc_khz = tsc_khz ? tsc_khz : 1;
    l->timer_khz = timer_khz ? timer_khz : 1;
    l->apic_base = APIC_DEFAULT_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
    l->xapic_id = apic_id << 24;
    reset_registers(l);
    report_mmio(l);
}

void lapic_init_signal(struct lapic *l, uint64_t now)
{
    set_now(l, now);
    reset_registers(l);
}

static bool write_apic_base(struct lapic *l, uint64_t value)
{
    uint64_t addr_mask = APIC_BASE_ADDR_MASK & ((1ull << l->maxphyaddr) - 1);
    if (value & ~(addr_mask | APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN))
        return false;
    enum lapic_mode old_mode = lapic_mode(l);
    if ((value & APIC_BASE_EXTD) && !(value & APIC_BASE_EN))
        return false;   /* the invalid state */
    enum lapic_mode new_mode = !(value & APIC_BASE_EN) ? LAPIC_MODE_DISABLED
                             : (value & APIC_BASE_EXTD) ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
    /* SDM Figure 11-27: x2APIC leaves only to disabled, and x2APIC is entered only from xAPIC. */
    if (old_mode == LAPIC_MODE_X2APIC && new_mode == LAPIC_MODE_XAPIC)
        return false;
    if (old_mode == LAPIC_MODE_DISABLED && new_mode == LAPIC_MODE_X2APIC)
        return false;
    uint64_t old_base = l->apic_base;
    l->apic_base = value;
    if (new_mode == LAPIC_MODE_DISABLED && old_mode != LAPIC_MODE_DISABLED) {
        /* The APIC returns to its power-up state (SDM 11.4.3); re-enabled, it has its first ID. */
        l->xapic_id = l->initial_id << 24;
        reset_registers(l);
    }
    if (old_mode == LAPIC_MODE_XAPIC && new_mode == LAPIC_MODE_X2APIC)
        l->ldr = x2apic_ldr(l->initial_id);
    bool was_mapped = old_mode == LAPIC_MODE_XAPIC, mapped = new_mode == LAPIC_MODE_XAPIC;
    if (was_mapped != mapped || (mapped && ((old_base ^ value) & APIC_BASE_ADDR_MASK)))
        report_mmio(l);
    return true;
}

/* ---- the register file, shared by both interfaces ---- */

static bool lvt_index_of(uint32_t offset, enum lapic_lvt_index *index)
{
    switch (offset) {
    case LAPIC_REG_LVT_CMCI:    *index = LAPIC_LVT_CMCI_INDEX; return true;
    case LAPIC_REG_LVT_TIMER:   *index = LAPIC_LVT_TIMER_INDEX; return true;
    case LAPIC_REG_LVT_THERMAL: *index = LAPIC_LVT_THERMAL_INDEX; return true;
    case LAPIC_REG_LVT_PERFMON: *index = LAPIC_LVT_PERFMON_INDEX; return true;
    case LAPIC_REG_LVT_LINT0:   *index = LAPIC_LVT_LINT0_INDEX; return true;
    case LAPIC_REG_LVT_LINT1:   *index = LAPIC_LVT_LINT1_INDEX; return true;
    case LAPIC_REG_LVT_ERROR:   *index = LAPIC_LVT_ERROR_INDEX; return true;
    }
    return false;
}

/* Reads a register at a 16-byte aligned offset; false if there is none there in this mode. */
static bool reg_read(struct lapic *l, uint32_t offset, uint32_t *value)
{
    bool x2 = lapic_mode(l) == LAPIC_MODE_X2APIC;
    enum lapic_lvt_index index;
    if (lvt_index_of(offset, &index)) {
        *value = l->lvt[index];
        return true;
    }
    if (offset >= LAPIC_REG_ISR && offset < LAPIC_REG_ESR) {
        unsigned word = (offset >> 4) & 7;
        const uint32_t *map = offset < LAPIC_REG_TMR ? l->isr : offset < LAPIC_REG_IRR ? l->tmr : l->irr;
        *value = map[word];
        return true;
    }
    switch (offset) {
    case LAPIC_REG_ID:        *value = x2 ? l->initial_id : l->xapic_id; return true;
    case LAPIC_REG_VERSION:   *value = LAPIC_VERSION_VALUE; return true;
    case LAPIC_REG_TPR:       *value = l->tpr; return true;
    case LAPIC_REG_APR:       *value = lapic_apr(l); return !x2;
    case LAPIC_REG_PPR:       *value = lapic_ppr(l); return true;
    case LAPIC_REG_EOI:       *value = 0; return !x2;        /* write-only: x2APIC #GP */
    case LAPIC_REG_RRD:       *value = 0; return !x2;        /* remote read is not offered */
    case LAPIC_REG_LDR:       *value = l->ldr; return true;
    case LAPIC_REG_DFR:       *value = l->dfr; return !x2;
    case LAPIC_REG_SVR:       *value = l->svr; return true;
    case LAPIC_REG_ESR:       *value = l->esr; return true;
    case LAPIC_REG_ICR_LOW:   *value = l->icr_low; return true;
    case LAPIC_REG_ICR_HIGH:  *value = l->icr_high; return !x2;
    case LAPIC_REG_TIMER_INITIAL: *value = l->timer_initial; return true;
    case LAPIC_REG_TIMER_CURRENT: *value = timer_current_count(l); return true;
    case LAPIC_REG_TIMER_DIVIDE:  *value = l->timer_divide_reg; return true;
    }
    return false;
}

static void write_lvt(struct lapic *l, enum lapic_lvt_index index, uint32_t value)
{
    uint32_t old = l->lvt[index];
    uint32_t keep = old & LAPIC_LVT_REMOTE_IRR;
    uint32_t lvt = (value & lvt_writable[index]) | keep;
    if (!software_enabled(l))
        lvt |= LAPIC_LVT_MASKED;     /* SDM 11.4.7.2: masks cannot be cleared while disabled */
    if (index == LAPIC_LVT_TIMER_INDEX) {
        if ((lvt & LAPIC_LVT_TIMER_MODE) == LAPIC_TIMER_MODE_RESERVED)
            lvt = (lvt & ~LAPIC_LVT_TIMER_MODE) | (old & LAPIC_LVT_TIMER_MODE);
        if ((lvt ^ old) & LAPIC_LVT_TIMER_MODE)
            timer_stop(l);           /* SDM 11.5.4.1: a mode change disarms the timer */
    }
    bool lint = index == LAPIC_LVT_LINT0_INDEX || index == LAPIC_LVT_LINT1_INDEX;
    if (lint && !(lvt & LAPIC_LVT_LEVEL))
        lvt &= ~LAPIC_LVT_REMOTE_IRR;
    l->lvt[index] = lvt;
    if (lint)   /* an unmasked level-triggered input that is asserted is taken now */
        lint_sample(l, index - LAPIC_LVT_LINT0_INDEX, true);
}

static void write_svr(struct lapic *l, uint32_t value)
{
    l->svr = value & SVR_WRITABLE;
    if (!software_enabled(l))
        for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
            l->lvt[i] |= LAPIC_LVT_MASKED;
}

/* Writes a register at a 16-byte aligned offset with its architectural masks; read-only and
 * absent registers ignore the write (the x2APIC path has refused those already). */
static void reg_write(struct lapic *l, uint32_t offset, uint32_t value)
{
    bool x2 = lapic_mode(l) == LAPIC_MODE_X2APIC;
    enum lapic_lvt_index index;
    if (lvt_index_of(offset, &index)) {
        write_lvt(l, index, value);
        return;
    }
    switch (offset) {
    case LAPIC_REG_ID:
        if (!x2)
            l->xapic_id = value & 0xFF000000u;
        break;
    case LAPIC_REG_TPR: l->tpr = value & 0xFF; break;
    case LAPIC_REG_EOI: eoi(l); break;
    case LAPIC_REG_LDR:
        if (!x2)
            l->ldr = value & 0xFF000000u;
        break;
    case LAPIC_REG_DFR:
        if (!x2)
            l->dfr = value | 0x0FFFFFFFu;
        break;
    case LAPIC_REG_SVR: write_svr(l, value); break;
    case LAPIC_REG_ESR:
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case LAPIC_REG_ICR_LOW:
        l->icr_low = value & ICR_LOW_WRITABLE;
        send_icr(l);
        break;
    case LAPIC_REG_ICR_HIGH:
        if (!x2)
            l->icr_high = value & ICR_HIGH_XAPIC_WRITABLE;
        break;
    case LAPIC_REG_TIMER_INITIAL:
        if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE)
            break;                   /* ignored in TSC-deadline mode */
        l->timer_initial = value;
        timer_start_count(l, l->now);
        break;
    case LAPIC_REG_TIMER_DIVIDE: timer_set_divide(l, value); break;
    case LAPIC_REG_SELF_IPI:
        if (x2) {
            if ((value & 0xFF) < LAPIC_FIRST_VALID_VECTOR)
                signal_error(l, LAPIC_ESR_SEND_ILLEGAL_VECTOR);
            else
                lapic_accept_interrupt(l, value & 0xFF, false);
        }
        break;
    }
}

/* ---- xAPIC MMIO ---- */

bool lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size, uint64_t now, uint64_t *value)
{
    if (lapic_mode(l) != LAPIC_MODE_XAPIC)
        return false;
    lapic_advance(l, now);
    *value = 0;
    if (size == 0 || size > 8 || offset >= LAPIC_PAGE_SIZE || size > LAPIC_PAGE_SIZE - offset)
        return true;
    bool illegal = false;
    for (unsigned i = 0; i < size; i++) {
        uint64_t at = offset + i;
        if ((at & 0xF) >= 4)
            continue;               /* the upper 12 bytes of every 16-byte slot read 0 */
        uint32_t reg;
        if (!reg_read(l, (uint32_t)(at & ~0xFull), &reg)) {
            illegal = true;
            continue;
        }
        *value |= (uint64_t)((reg >> (8 * (at & 3))) & 0xFF) << (8 * i);
    }
    if (illegal)
        signal_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
    return true;
}

static bool xapic_register_exists(struct lapic *l, uint32_t offset)
{
    uint32_t ignored;
    return reg_read(l, offset, &ignored);
}

bool lapic_mmio_write(struct lapic *l, uint64_t offset, unsigned size, uint64_t value, uint64_t now)
{
    if (lapic_mode(l) != LAPIC_MODE_XAPIC)
        return false;
    lapic_advance(l, now);
    if (offset >= LAPIC_PAGE_SIZE)
        return true;
    uint32_t reg = (uint32_t)(offset & ~0xFull);
    if (!xapic_register_exists(l, reg)) {
        signal_error(l, LAPIC_ESR_ILLEGAL_REGISTER);
        return true;
    }
    if (size != 4 || (offset & 0xF))
        return true;               /* partial and misaligned writes are dropped */
    reg_write(l, reg, (uint32_t)value);
    timer_update(l);               /* a deadline written in the past fires now */
    return true;
}

/* ---- MSRs ---- */

bool lapic_owns_msr(uint32_t msr)
{
    return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
           (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

static uint32_t x2apic_offset(uint32_t msr) { return (msr - MSR_X2APIC_FIRST) << 4; }

/* Bits that must be zero in a WRMSR to an x2APIC register (SDM 11.12.1.3); 0 = no such
 * writable register (read-only, absent), which #GPs. */
static bool x2apic_writable(const struct lapic *l, uint32_t offset, uint64_t *allowed)
{
    enum lapic_lvt_index index;
    if (lvt_index_of(offset, &index)) {
        *allowed = lvt_writable[index] | LAPIC_LVT_DELIVERY_STATUS |
                   (index == LAPIC_LVT_LINT0_INDEX || index == LAPIC_LVT_LINT1_INDEX ? LAPIC_LVT_REMOTE_IRR : 0);
        return true;
    }
    switch (offset) {
    case LAPIC_REG_TPR:           *allowed = 0xFF; return true;
    case LAPIC_REG_EOI:           *allowed = 0; return true;
    case LAPIC_REG_SVR:           *allowed = SVR_WRITABLE; return true;
    case LAPIC_REG_ESR:           *allowed = 0; return true;
    case LAPIC_REG_ICR_LOW:       *allowed = 0xFFFFFFFF00000000ull | ICR_LOW_WRITABLE | LAPIC_ICR_DELIVERY_STATUS; return true;
    case LAPIC_REG_TIMER_INITIAL: *allowed = 0xFFFFFFFFu; return true;
    case LAPIC_REG_TIMER_DIVIDE:  *allowed = DIVIDE_WRITABLE; return true;
    case LAPIC_REG_SELF_IPI:      *allowed = 0xFF; return true;
    }
    return false;
}

bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t now, uint64_t *value)
{
    lapic_advance(l, now);
    if (msr == MSR_IA32_APIC_BASE) {
        *value = l->apic_base;
        return true;
    }
    if (msr == MSR_IA32_TSC_DEADLINE) {
        *value = timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
        return true;
    }
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || lapic_mode(l) != LAPIC_MODE_X2APIC)
        return false;
    uint32_t offset = x2apic_offset(msr), reg;
    if (offset == LAPIC_REG_EOI || offset == LAPIC_REG_SELF_IPI || !reg_read(l, offset, &reg))
        return false;
    *value = reg;
    if (offset == LAPIC_REG_ICR_LOW)
        *value |= (uint64_t)l->icr_high << 32;
    return true;
}

bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value, uint64_t now)
{
    lapic_advance(l, now);
    if (msr == MSR_IA32_APIC_BASE)
        return write_apic_base(l, value);
    if (msr == MSR_IA32_TSC_DEADLINE) {
        if (timer_mode(l) == LAPIC_TIMER_TSC_DEADLINE) {   /* otherwise ignored */
            l->tsc_deadline = value;
            timer_update(l);
        }
        return true;
    }
    if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || lapic_mode(l) != LAPIC_MODE_X2APIC)
        return false;
    uint32_t offset = x2apic_offset(msr);
    uint64_t allowed;
    if (!x2apic_writable(l, offset, &allowed) || (value & ~allowed))
        return false;
    if (offset == LAPIC_REG_LVT_TIMER && (value & LAPIC_LVT_TIMER_MODE) == LAPIC_TIMER_MODE_RESERVED)
        return false;
    if (offset == LAPIC_REG_ICR_LOW)
        l->icr_high = (uint32_t)(value >> 32);
    reg_write(l, offset, (uint32_t)value);
    timer_update(l);
    return true;
}
