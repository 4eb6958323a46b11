/* The 8254 PIT as its datasheet specifies: modes 0-5, binary and BCD counting, the three access
 * modes, counter latch and read-back, gate behaviour per mode, and port 0x61. Counter values and
 * OUT are computed from elapsed clock ticks, so neither reads nor advances loop over time. */
#include "dev/pit8254.h"
#include "dev/dev_clock.h"
#include "lib/mem.h"

#define CW_SELECT_SHIFT   6
#define CW_READ_BACK      3         /* select field value of the read-back command */
#define CW_ACCESS_SHIFT   4
#define CW_ACCESS_LATCH   0
#define CW_ACCESS_LSB     1
#define CW_ACCESS_MSB     2
#define CW_ACCESS_WORD    3
#define CW_MODE_SHIFT     1
#define CW_BCD            0x01
#define RB_NO_COUNT       0x20      /* read-back: 0 latches the counts */
#define RB_NO_STATUS      0x10      /* read-back: 0 latches the status */
#define RB_CHANNEL0       0x02      /* read-back: channel 0 select; 1 and 2 follow */
#define STATUS_OUT        0x80
#define STATUS_NULL_COUNT 0x40
#define BINARY_MODULUS    65536u
#define BCD_MODULUS       10000u
#define REFRESH_TOGGLE_HZ_X3 200000u /* 15 us half-periods: 1 / 15 us = 200000 / 3 Hz */

static uint32_t modulus(const struct pit_channel *c)
{
    return (c->control & CW_BCD) ? BCD_MODULUS : BINARY_MODULUS;
}

static unsigned access_mode(const struct pit_channel *c)
{
    return (c->control >> CW_ACCESS_SHIFT) & 3;
}

/* The counting element as read at tick t: value (0..modulus-1) and OUT. */
static void ce_at(const struct pit_channel *c, uint64_t t, uint32_t *value, bool *out)
{
    if (c->state != PIT_CE_RUNNING || t < c->base_tick) {
        *value = c->held_value;
        *out = c->held_out;
        return;
    }
    uint64_t e = t - c->base_tick;
    uint32_t m = modulus(c), n = c->n;
    switch (c->mode) {
    case 0:
    case 1:
        *value = (uint32_t)((n + m - e % m) % m);
        *out = c->tc_passed || e >= n;
        return;
    case 4:
    case 5:
        *value = (uint32_t)((n + m - e % m) % m);
        *out = c->tc_passed || e != n;          /* low for the one clock at terminal count */
        return;
    case 2: {
        uint32_t pos = (uint32_t)((e + c->phase) % n);
        *value = (n - pos) % m;
        *out = pos != n - 1;                    /* low for the clock in which the count is 1 */
        return;
    }
    default: {                                   /* mode 3 */
        uint32_t pos = (uint32_t)((e + c->phase) % n), high = (n + 1) / 2;
        bool in_high = pos < high;
        uint32_t k = in_high ? pos : pos - high;
        uint32_t v;
        if (k == 0)
            v = n;
        else if (n & 1)                          /* odd counts: N-1 then by 2; N-3 then by 2 */
            v = in_high ? n + 1 - 2 * k : n - 1 - 2 * k;
        else
            v = n - 2 * k;
        *value = v % m;
        *out = in_high;
        return;
    }
    }
}

static bool out_at(const struct pit_channel *c, uint64_t t)
{
    uint32_t v;
    bool o;
    ce_at(c, t, &v, &o);
    return o;
}

static uint32_t value_at(const struct pit_channel *c, uint64_t t)
{
    uint32_t v;
    bool o;
    ce_at(c, t, &v, &o);
    return v;
}

/* Formula OUT at the loading clock itself (e = 0), for the edge from held_out to it. */
static bool out_on_load(const struct pit_channel *c)
{
    struct pit_channel probe = *c;
    probe.state = PIT_CE_RUNNING;
    return out_at(&probe, probe.base_tick);
}

static bool periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Rising OUT edges in (a, b], with no pending reload inside the interval. */
static uint64_t rising_edges(const struct pit_channel *c, uint64_t a, uint64_t b)
{
    if (c->state != PIT_CE_RUNNING || b < c->base_tick || b <= a)
        return 0;
    uint64_t edges = 0;
    if (a < c->base_tick && !c->held_out && out_on_load(c))
        edges = 1;
    uint64_t ea = a > c->base_tick ? a - c->base_tick : 0, eb = b - c->base_tick;
    uint64_t n = c->n;
    switch (c->mode) {
    case 0:
    case 1:
        return edges + (!c->tc_passed && ea < n && n <= eb);
    case 4:
    case 5:
        return edges + (!c->tc_passed && ea < n + 1 && n + 1 <= eb);
    default:
        if (n < 2)                               /* count 1 is outside the datasheet's range */
            return edges;
        return edges + (eb + c->phase) / n - (ea + c->phase) / n;
    }
}

/* Tick of the next rising edge strictly after b, or DEV_TIME_NEVER (no reload considered). */
static uint64_t next_rising_plain(const struct pit_channel *c, uint64_t b)
{
    if (c->state != PIT_CE_RUNNING)
        return DEV_TIME_NEVER;
    if (b < c->base_tick && !c->held_out && out_on_load(c))
        return c->base_tick;
    uint64_t e = b > c->base_tick ? b - c->base_tick : 0, n = c->n;
    switch (c->mode) {
    case 0:
    case 1:
        return !c->tc_passed && e < n ? c->base_tick + n : DEV_TIME_NEVER;
    case 4:
    case 5:
        return !c->tc_passed && e < n + 1 ? c->base_tick + n + 1 : DEV_TIME_NEVER;
    default:
        if (n < 2)
            return DEV_TIME_NEVER;
        return c->base_tick + ((e + c->phase) / n + 1) * n - c->phase;
    }
}

/* A periodic mode's new count reaches the counting element at the end of the (half-)cycle. */
static void apply_reload(struct pit_channel *c, uint64_t t)
{
    if (!c->reload_pending || t < c->reload_tick)
        return;
    c->base_tick = c->reload_tick;
    c->n = c->count;
    c->phase = c->reload_phase;
    c->reload_pending = false;
}

static uint64_t next_rising(const struct pit_channel *c, uint64_t b)
{
    uint64_t t = next_rising_plain(c, b);
    if (c->reload_pending && t > c->reload_tick) {
        struct pit_channel after = *c;
        apply_reload(&after, c->reload_tick);
        uint64_t from = b > c->reload_tick ? b : c->reload_tick;
        t = next_rising_plain(&after, from);
    }
    return t;
}

static bool null_count_at(const struct pit_channel *c, uint64_t t)
{
    return c->null_count && t < c->null_clear_tick;
}

/* Starts counting from a freshly loaded count at tick t (the loading clock). */
static void load_count(struct pit_channel *c, uint64_t now, uint64_t t, uint32_t n, bool out_before)
{
    c->held_value = (uint16_t)value_at(c, now);
    c->held_out = out_before;
    c->state = PIT_CE_RUNNING;
    c->base_tick = t;
    c->n = n;
    c->phase = 0;
    c->tc_passed = false;
    c->reload_pending = false;
    c->null_clear_tick = t;
}

/* Freezes the counting element at tick t (gate low, or mode 0's first count byte). */
static void hold(struct pit_channel *c, uint64_t t, bool out)
{
    uint32_t v;
    bool o;
    ce_at(c, t, &v, &o);
    if (c->state == PIT_CE_RUNNING && t >= c->base_tick && !periodic(c))
        c->tc_passed = c->tc_passed || t - c->base_tick >= c->n;
    c->held_value = (uint16_t)v;
    c->held_out = out;
    c->state = PIT_CE_HELD;
    c->reload_pending = false;
}

/* Modes 0 and 4 continue from the held value when the gate rises again. */
static void resume(struct pit_channel *c, uint64_t t)
{
    c->state = PIT_CE_RUNNING;
    c->base_tick = t;
    c->n = c->held_value ? c->held_value : modulus(c);
    c->phase = 0;
}

static void gate_rising(struct pit_channel *c, uint64_t t)
{
    uint32_t v;
    bool o;
    ce_at(c, t, &v, &o);
    switch (c->mode) {
    case 0:
    case 4:
        if (c->state == PIT_CE_HELD && !(c->mode == 0 && c->write_msb_next))
            resume(c, t);
        return;
    default:                     /* 1, 2, 3, 5: a trigger reloads the count on the next clock */
        if (c->count_written)
            load_count(c, t, t + 1, c->count, o);
        return;
    }
}

static void gate_falling(struct pit_channel *c, uint64_t t)
{
    if (c->mode == 0 || c->mode == 4) {
        if (c->state == PIT_CE_RUNNING)
            hold(c, t, out_at(c, t));
    } else if (periodic(c) && c->state == PIT_CE_RUNNING) {
        hold(c, t, true);        /* OUT goes high immediately */
    }
}

static uint32_t bcd_to_count(uint16_t raw)
{
    uint32_t v = 0;
    for (int shift = 12; shift >= 0; shift -= 4)
        v = v * 10 + ((raw >> shift) & 0xF);
    return v % BCD_MODULUS;      /* nibbles above 9 are undefined on the part; keep in range */
}

static uint16_t count_to_bcd(uint32_t v)
{
    uint16_t raw = 0;
    for (int shift = 0; shift < 16; shift += 4, v /= 10)
        raw |= (uint16_t)((v % 10) << shift);
    return raw;
}

/* A complete count has reached the count register at tick t. */
static void count_written(struct pit_channel *c, uint64_t t, uint16_t raw)
{
    uint32_t n = (c->control & CW_BCD) ? bcd_to_count(raw) : raw;
    if (n == 0)
        n = modulus(c);
    c->count = n;
    c->count_written = true;
    c->null_count = true;
    c->null_clear_tick = DEV_TIME_NEVER;
    uint32_t v;
    bool o;
    ce_at(c, t, &v, &o);
    switch (c->mode) {
    case 0:
    case 4:
        load_count(c, t, t + 1, n, c->mode == 0 ? false : o);
        if (!c->gate) {          /* loaded on the next clock, but not counted down */
            c->held_value = (uint16_t)(n % modulus(c));
            c->state = PIT_CE_HELD;
            c->null_clear_tick = t;
        }
        return;
    case 1:
    case 5:
        return;                  /* waits for a gate trigger */
    default:
        if (c->state == PIT_CE_IDLE) {
            load_count(c, t, t + 1, n, o);
            if (!c->gate) {
                c->held_value = (uint16_t)(n % modulus(c));
                c->held_out = true;
                c->state = PIT_CE_HELD;
                c->null_clear_tick = t;
            }
        } else if (c->state == PIT_CE_RUNNING) {
            uint64_t at = t > c->base_tick ? t : c->base_tick;
            uint32_t pos = (uint32_t)((at - c->base_tick + c->phase) % c->n);
            uint32_t high = (c->n + 1) / 2;
            c->reload_pending = true;
            if (c->mode == 3 && pos < high) {   /* end of the high half: the low half follows */
                c->reload_tick = at + (high - pos);
                c->reload_phase = (n + 1) / 2;
            } else {
                c->reload_tick = at + (c->n - pos);
                c->reload_phase = 0;
            }
            c->null_clear_tick = c->reload_tick;
        }
        return;                  /* held: the gate's rising edge loads it */
    }
}

static void write_counter(struct pit_channel *c, uint64_t t, uint8_t byte)
{
    switch (access_mode(c)) {
    case CW_ACCESS_LSB:
        count_written(c, t, byte);
        return;
    case CW_ACCESS_MSB:
        count_written(c, t, (uint16_t)(byte << 8));
        return;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = byte;
            c->write_msb_next = true;
            if (c->mode == 0)    /* the first byte stops counting and drops OUT */
                hold(c, t, false);
            return;
        }
        c->write_msb_next = false;
        count_written(c, t, (uint16_t)(c->write_lsb | byte << 8));
        return;
    }
}

static uint16_t encoded_count(const struct pit_channel *c, uint64_t t)
{
    uint32_t v = value_at(c, t);
    return (c->control & CW_BCD) ? count_to_bcd(v) : (uint16_t)v;
}

static uint8_t read_counter(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->latched_status;
    }
    uint16_t v = c->count_latched ? c->latched_count : encoded_count(c, t);
    uint8_t byte;
    switch (access_mode(c)) {
    case CW_ACCESS_LSB:
        byte = (uint8_t)v;
        c->count_latched = false;
        break;
    case CW_ACCESS_MSB:
        byte = (uint8_t)(v >> 8);
        c->count_latched = false;
        break;
    default:
        byte = c->read_msb_next ? (uint8_t)(v >> 8) : (uint8_t)v;
        if (c->read_msb_next)
            c->count_latched = false;
        c->read_msb_next = !c->read_msb_next;
        break;
    }
    return byte;
}

static void latch_count(struct pit_channel *c, uint64_t t)
{
    if (c->count_latched)        /* a second latch before the first is read is ignored */
        return;
    c->latched_count = encoded_count(c, t);
    c->count_latched = true;
}

static void latch_status(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched)
        return;
    c->latched_status = (uint8_t)((out_at(c, t) ? STATUS_OUT : 0) |
                                  (null_count_at(c, t) ? STATUS_NULL_COUNT : 0) | c->control);
    c->status_latched = true;
}

static void control_word(struct pit_channel *c, uint64_t t, uint8_t cw)
{
    uint32_t v = value_at(c, t);
    bool gate = c->gate;
    memset(c, 0, sizeof(*c));
    c->gate = gate;
    c->control = cw & 0x3F;
    c->mode = (cw >> CW_MODE_SHIFT) & 7;
    if (c->mode >= 6)
        c->mode -= 4;
    c->state = PIT_CE_IDLE;
    c->held_value = (uint16_t)(v % modulus(c));
    c->held_out = c->mode != 0;  /* mode 0 starts low, every other mode high */
    c->null_count = true;
    c->null_clear_tick = DEV_TIME_NEVER;
}

static void write_control(struct pit8254 *pit, uint8_t cw)
{
    unsigned select = cw >> CW_SELECT_SHIFT;
    if (select == CW_READ_BACK) {
        for (unsigned i = 0; i < PIT_CHANNELS; i++) {
            if (!(cw & (RB_CHANNEL0 << i)))
                continue;
            if (!(cw & RB_NO_COUNT))
                latch_count(&pit->ch[i], pit->tick);
            if (!(cw & RB_NO_STATUS))
                latch_status(&pit->ch[i], pit->tick);
        }
        return;
    }
    if (((cw >> CW_ACCESS_SHIFT) & 3) == CW_ACCESS_LATCH)
        latch_count(&pit->ch[select], pit->tick);
    else
        control_word(&pit->ch[select], pit->tick, cw);
}

/* Makes IRQ 0 follow channel 0's OUT after a change that is not a timed edge. */
static void irq0_follow(struct pit8254 *pit)
{
    bool out = out_at(&pit->ch[0], pit->tick);
    if (out != pit->irq0_level) {
        pit->irq0_level = out;
        irq_line_set(&pit->irq0, out);
    }
}

void pit_init(struct pit8254 *pit, uint32_t tsc_khz, const struct irq_line *irq0, uint64_t now)
{
    memset(pit, 0, sizeof(*pit));
    pit->tsc_hz = (uint64_t)tsc_khz * 1000;
    if (pit->tsc_hz <= PIT_CLOCK_HZ)          /* the conversions need a TSC faster than the PIT */
        pit->tsc_hz = PIT_CLOCK_HZ + 1;
    if (pit->tsc_hz > DEV_TSC_HZ_MAX)         /* and (t % hz) * f within 64 bits */
        pit->tsc_hz = DEV_TSC_HZ_MAX;
    if (irq0)
        pit->irq0 = *irq0;
    pit->last_tsc = now;
    pit->tick = ticks_from_tsc(now, pit->tsc_hz, PIT_CLOCK_HZ);
    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        control_word(&pit->ch[i], pit->tick, (uint8_t)(CW_ACCESS_WORD << CW_ACCESS_SHIFT));
        pit->ch[i].gate = i != 2;             /* channels 0 and 1: gate tied high */
    }
}

void pit_advance(struct pit8254 *pit, uint64_t now)
{
    if (now <= pit->last_tsc)
        return;
    pit->last_tsc = now;
    uint64_t to = ticks_from_tsc(now, pit->tsc_hz, PIT_CLOCK_HZ);
    if (to <= pit->tick)
        return;
    struct pit_channel *c0 = &pit->ch[0];
    uint64_t from = pit->tick, edges = 0;
    if (c0->reload_pending && c0->reload_tick <= to) {
        edges += rising_edges(c0, from, c0->reload_tick);
        from = c0->reload_tick;
        apply_reload(c0, from);
    }
    edges += rising_edges(c0, from, to);
    for (unsigned i = 1; i < PIT_CHANNELS; i++)
        apply_reload(&pit->ch[i], to);
    pit->tick = to;
    bool out = out_at(c0, to);
    if (edges) {
        if (pit->irq0_level)
            irq_line_set(&pit->irq0, false);
        irq_line_set(&pit->irq0, true);
        pit->irq0_coalesced += edges - 1;
        pit->irq0_level = true;
    }
    if (out != pit->irq0_level) {
        pit->irq0_level = out;
        irq_line_set(&pit->irq0, out);
    }
}

uint64_t pit_next_deadline(const struct pit8254 *pit)
{
    uint64_t tick = next_rising(&pit->ch[0], pit->tick);
    if (tick == DEV_TIME_NEVER)
        return DEV_TIME_NEVER;
    return tsc_from_ticks(tick, PIT_CLOCK_HZ, pit->tsc_hz);
}

bool pit_channel_out(const struct pit8254 *pit, unsigned channel)
{
    return channel < PIT_CHANNELS && out_at(&pit->ch[channel], pit->tick);
}

static uint8_t nmi_sc_read(const struct pit8254 *pit)
{
    uint64_t half_periods = ticks_from_tsc(pit->last_tsc, pit->tsc_hz, REFRESH_TOGGLE_HZ_X3) / 3;
    return (uint8_t)(pit->nmi_sc | ((half_periods & 1) ? NMI_SC_REF_TOGGLE : 0) |
                     (pit_channel_out(pit, 2) ? NMI_SC_TMR2_OUT_STS : 0));
}

static void nmi_sc_write(struct pit8254 *pit, uint8_t value)
{
    struct pit_channel *c2 = &pit->ch[2];
    bool gate = value & NMI_SC_TIM_CNT2_EN;
    pit->nmi_sc = value & NMI_SC_WRITABLE;
    if (gate == c2->gate)
        return;
    if (gate)
        gate_rising(c2, pit->tick);
    else
        gate_falling(c2, pit->tick);
    c2->gate = gate;
}

static uint8_t read_byte(struct pit8254 *pit, uint32_t port)
{
    if (port >= PIT_PORT_COUNTER0 && port <= PIT_PORT_COUNTER2)
        return read_counter(&pit->ch[port - PIT_PORT_COUNTER0], pit->tick);
    if (port == PORT_NMI_STATUS_CTRL)
        return nmi_sc_read(pit);
    return 0xFF;                              /* the control port is write-only */
}

static void write_byte(struct pit8254 *pit, uint32_t port, uint8_t value)
{
    if (port >= PIT_PORT_COUNTER0 && port <= PIT_PORT_COUNTER2)
        write_counter(&pit->ch[port - PIT_PORT_COUNTER0], pit->tick, value);
    else if (port == PIT_PORT_CONTROL)
        write_control(pit, value);
    else if (port == PORT_NMI_STATUS_CTRL)
        nmi_sc_write(pit, value);
}

void pit_port_read(struct pit8254 *pit, uint64_t now, uint16_t port, unsigned size, uint32_t *value)
{
    pit_advance(pit, now);
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++)
        v |= (uint32_t)read_byte(pit, (uint32_t)port + i) << (8 * i);
    *value = v;
}

void pit_port_write(struct pit8254 *pit, uint64_t now, uint16_t port, unsigned size, uint32_t value)
{
    pit_advance(pit, now);
    for (unsigned i = 0; i < size && i < 4; i++)
        write_byte(pit, (uint32_t)port + i, (uint8_t)(value >> (8 * i)));
    irq0_follow(pit);
}
