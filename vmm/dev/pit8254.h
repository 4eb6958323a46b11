/* A guest's Intel 8254 programmable interval timer (ports 0x40-0x43) and the PC's NMI status and
 * control register at port 0x61 that gates channel 2 and shows its OUT. Pure: time is guest TSC. */
#ifndef TESSERA_PIT8254_H
#define TESSERA_PIT8254_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/irq.h"

#define PIT_CLOCK_HZ          1193182u  /* 14.31818 MHz / 12 */
#define PIT_PORT_COUNTER0     0x40
#define PIT_PORT_COUNTER2     0x42
#define PIT_PORT_CONTROL      0x43
#define PORT_NMI_STATUS_CTRL  0x61      /* PIIX/ICH NMI status and control register */
#define PIT_CHANNELS          3

/* Port 0x61 bits (Intel ICH datasheets, NMI_SC). */
#define NMI_SC_TIM_CNT2_EN    0x01      /* channel 2 gate */
#define NMI_SC_SPKR_DAT_EN    0x02      /* speaker data (ANDed with channel 2 OUT) */
#define NMI_SC_PCI_SERR_EN    0x04      /* 1 disables SERR# NMIs */
#define NMI_SC_IOCHK_NMI_EN   0x08      /* 1 disables IOCHK# NMIs */
#define NMI_SC_WRITABLE       0x0F
#define NMI_SC_REF_TOGGLE     0x10      /* flips every 15 us */
#define NMI_SC_TMR2_OUT_STS   0x20

enum pit_ce_state {
    PIT_CE_IDLE,      /* no count since the control word (or modes 1/5 waiting for a trigger) */
    PIT_CE_RUNNING,   /* counting from base_tick */
    PIT_CE_HELD,      /* counting suspended (gate low, or mode 0 between the two count bytes) */
};

/* One counter. The counting element is not stepped tick by tick: its value and OUT are
 * functions of the elapsed clock ticks since base_tick, so any advance costs the same. */
struct pit_channel {
    uint8_t control;          /* bits 5-0 of the last control word; the status byte echoes them */
    uint8_t mode;             /* 0-5 (6 and 7 are 2 and 3) */
    bool gate;

    bool count_written;       /* the count register holds a count written after the control word */
    bool write_msb_next;      /* LSB-then-MSB access: the LSB has been written */
    uint8_t write_lsb;
    uint32_t count;           /* initial count in clock ticks: 1..65536 (binary) or 1..10000 (BCD) */
    bool null_count;
    uint64_t null_clear_tick; /* null count clears when the count reaches the counting element */

    enum pit_ce_state state;
    uint64_t base_tick;       /* PIT tick at which the counting element was (re)loaded */
    uint32_t n;               /* count loaded: ticks to terminal count (0,1,4,5) or period (2,3) */
    uint32_t phase;           /* modes 2, 3: ticks into the period at base_tick */
    bool tc_passed;           /* modes 0, 1, 4, 5: terminal count already reached */
    uint16_t held_value;      /* what the counter reads before base_tick and while not running */
    bool held_out;            /* OUT before base_tick and while not running */
    bool reload_pending;      /* modes 2, 3: the new count loads at reload_tick */
    uint64_t reload_tick;
    uint32_t reload_phase;

    bool count_latched, status_latched, read_msb_next;
    uint16_t latched_count;
    uint8_t latched_status;
};

struct pit8254 {
    struct pit_channel ch[PIT_CHANNELS];
    uint64_t tsc_hz;
    uint64_t tick;            /* PIT clock ticks up to which the model has been advanced */
    uint64_t last_tsc;
    struct irq_line irq0;     /* channel 0 OUT; edge consumers latch its rising edges */
    bool irq0_level;
    uint64_t irq0_coalesced;  /* rising edges merged into one because they fell in one advance */
    uint8_t nmi_sc;           /* the writable bits of port 0x61 */
};

/* All channels start as after a mode 0 control word with no count: OUT low, not counting. */
void pit_init(struct pit8254 *pit, uint32_t tsc_khz, const struct irq_line *irq0, uint64_t now);
/* Brings the counters to now and delivers channel 0's OUT changes: when several rising edges
 * fell in the interval, one low-high transition is delivered and the rest are counted in
 * irq0_coalesced. At most three irq_line calls per advance. Time never goes backwards. */
void pit_advance(struct pit8254 *pit, uint64_t now);
/* TSC time of channel 0's next rising OUT edge, DEV_TIME_NEVER when none is scheduled.
 * Falling edges are delivered at the next advance; no interrupt depends on them. */
uint64_t pit_next_deadline(const struct pit8254 *pit);
/* Ports 0x40-0x43 and 0x61, byte registers: wider accesses touch consecutive ports, and bytes
 * outside those ports read 0xFF and ignore writes. */
void pit_port_read(struct pit8254 *pit, uint64_t now, uint16_t port, unsigned size, uint32_t *value);
void pit_port_write(struct pit8254 *pit, uint64_t now, uint16_t port, unsigned size, uint32_t value);
/* OUT of a channel at the time the model was last advanced to. */
bool pit_channel_out(const struct pit8254 *pit, unsigned channel);

#endif
