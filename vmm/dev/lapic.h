/* A pure model of one local APIC (Intel SDM Vol. 3A chapter 11): the xAPIC MMIO page, the x2APIC
 * MSRs, IA32_APIC_BASE and IA32_TSC_DEADLINE, the timer, and the interface the injection code uses.
 * Time is guest TSC ticks (dev/irq.h); everything leaving the APIC goes through struct lapic_ops. */
#ifndef TESSERA_LAPIC_H
#define TESSERA_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* xAPIC register offsets within the 4 KiB page (x2APIC MSR = 0x800 + offset / 16). */
#define LAPIC_REG_ID        0x020
#define LAPIC_REG_VERSION   0x030
#define LAPIC_REG_TPR       0x080
#define LAPIC_REG_APR       0x090
#define LAPIC_REG_PPR       0x0A0
#define LAPIC_REG_EOI       0x0B0
#define LAPIC_REG_RRD       0x0C0
#define LAPIC_REG_LDR       0x0D0
#define LAPIC_REG_DFR       0x0E0
#define LAPIC_REG_SVR       0x0F0
#define LAPIC_REG_ISR       0x100   /* 8 registers, 16 bytes apart */
#define LAPIC_REG_TMR       0x180
#define LAPIC_REG_IRR       0x200
#define LAPIC_REG_ESR       0x280
#define LAPIC_REG_LVT_CMCI  0x2F0
#define LAPIC_REG_ICR_LOW   0x300
#define LAPIC_REG_ICR_HIGH  0x310
#define LAPIC_REG_LVT_TIMER 0x320
#define LAPIC_REG_LVT_THERMAL 0x330
#define LAPIC_REG_LVT_PERFMON 0x340
#define LAPIC_REG_LVT_LINT0 0x350
#define LAPIC_REG_LVT_LINT1 0x360
#define LAPIC_REG_LVT_ERROR 0x370
#define LAPIC_REG_TIMER_INITIAL 0x380
#define LAPIC_REG_TIMER_CURRENT 0x390
#define LAPIC_REG_TIMER_DIVIDE  0x3E0
#define LAPIC_REG_SELF_IPI  0x3F0   /* x2APIC only (MSR 0x83F) */
#define LAPIC_PAGE_SIZE     0x1000

/* Version register: integrated APIC, 7 LVT entries (max LVT index 6), and EOI-broadcast
 * suppression offered (SVR bit 12), which the IOAPIC model needs for directed EOI. */
#define LAPIC_VERSION_ID          0x14u
#define LAPIC_LVT_COUNT           7u
#define LAPIC_VERSION_EOI_SUPPRESS (1u << 24)
#define LAPIC_VERSION_VALUE (LAPIC_VERSION_ID | ((LAPIC_LVT_COUNT - 1) << 16) | LAPIC_VERSION_EOI_SUPPRESS)

/* Spurious-interrupt vector register. */
#define LAPIC_SVR_VECTOR      0xFFu
#define LAPIC_SVR_ENABLE      (1u << 8)
#define LAPIC_SVR_FOCUS_OFF   (1u << 9)
#define LAPIC_SVR_EOI_SUPPRESS (1u << 12)
#define LAPIC_SVR_RESET       0xFFu

/* LVT fields (SDM Figure 11-8). */
#define LAPIC_LVT_VECTOR      0xFFu
#define LAPIC_LVT_DELIVERY_MODE (7u << 8)
#define LAPIC_LVT_DELIVERY_STATUS (1u << 12)   /* read-only; always idle here */
#define LAPIC_LVT_POLARITY    (1u << 13)       /* LINT0/1 only */
#define LAPIC_LVT_REMOTE_IRR  (1u << 14)       /* LINT0/1 only, read-only */
#define LAPIC_LVT_LEVEL       (1u << 15)       /* LINT0/1 only: trigger mode */
#define LAPIC_LVT_MASKED      (1u << 16)
#define LAPIC_LVT_TIMER_MODE  (3u << 17)
#define LAPIC_TIMER_ONESHOT   (0u << 17)
#define LAPIC_TIMER_PERIODIC  (1u << 17)
#define LAPIC_TIMER_TSC_DEADLINE (2u << 17)
#define LAPIC_TIMER_MODE_RESERVED (3u << 17)

/* Delivery modes, in LVT bits 10:8 and ICR bits 10:8. */
enum lapic_delivery_mode {
    LAPIC_DM_FIXED = 0,
    LAPIC_DM_LOWEST = 1,
    LAPIC_DM_SMI = 2,
    LAPIC_DM_NMI = 4,
    LAPIC_DM_INIT = 5,
    LAPIC_DM_STARTUP = 6,
    LAPIC_DM_EXTINT = 7,
};

/* ICR fields (SDM Figure 11-12, 11-28). */
#define LAPIC_ICR_VECTOR      0xFFu
#define LAPIC_ICR_LOGICAL     (1u << 11)
#define LAPIC_ICR_DELIVERY_STATUS (1u << 12)
#define LAPIC_ICR_ASSERT      (1u << 14)
#define LAPIC_ICR_LEVEL       (1u << 15)
#define LAPIC_ICR_SHORTHAND_SHIFT 18
enum lapic_shorthand {
    LAPIC_SH_NONE = 0,
    LAPIC_SH_SELF = 1,
    LAPIC_SH_ALL_INCLUDING_SELF = 2,
    LAPIC_SH_ALL_EXCLUDING_SELF = 3,
};

/* Error status register bits (SDM Figure 11-9). */
#define LAPIC_ESR_SEND_ILLEGAL_VECTOR    (1u << 5)
#define LAPIC_ESR_RECEIVE_ILLEGAL_VECTOR (1u << 6)
#define LAPIC_ESR_ILLEGAL_REGISTER       (1u << 7)

/* DFR models (bits 31:28). */
#define LAPIC_DFR_FLAT    0xFu
#define LAPIC_DFR_CLUSTER 0x0u

#define LAPIC_NO_VECTOR (-1)
#define LAPIC_FIRST_VALID_VECTOR 16   /* 0-15 are illegal for fixed interrupts */

enum lapic_mode { LAPIC_MODE_DISABLED, LAPIC_MODE_XAPIC, LAPIC_MODE_X2APIC };

/* An interprocessor interrupt as written to the ICR, for the router that finds its targets
 * (lapic_ipi_targets) and calls lapic_deliver on each of them, this APIC included. */
struct lapic_ipi {
    uint32_t destination;     /* 8-bit xAPIC or 32-bit x2APIC destination field */
    uint8_t vector;
    uint8_t delivery_mode;    /* enum lapic_delivery_mode */
    uint8_t shorthand;        /* enum lapic_shorthand, never LAPIC_SH_SELF (handled inside) */
    bool logical;
    bool level;               /* trigger mode: level */
    bool assert;              /* level bit; INIT with level=0 is the legacy de-assert */
    bool x2apic;              /* sent in x2APIC mode: destination is 32 bits */
};

/* What the APIC asks its CPU to do besides a fixed interrupt. */
enum lapic_event { LAPIC_EVENT_NMI, LAPIC_EVENT_SMI, LAPIC_EVENT_INIT, LAPIC_EVENT_STARTUP, LAPIC_EVENT_EXTINT };

/* Every output. Any member may be NULL. Callbacks are made after the model's state is updated,
 * so they may call back into the model (an IPI router delivering to the sender, say). */
struct lapic_ops {
    void (*send_ipi)(void *ctx, const struct lapic_ipi *ipi);
    /* A level-triggered interrupt was EOIed and SVR does not suppress the broadcast. */
    void (*eoi_broadcast)(void *ctx, uint8_t vector);
    /* NMI, SMI, INIT, SIPI (vector = start page) or ExtINT (ask the PIC for the vector). */
    void (*event)(void *ctx, enum lapic_event event, uint8_t vector);
    /* The xAPIC MMIO page appeared, moved or went away (x2APIC or disabled mode). */
    void (*mmio_changed)(void *ctx, bool mapped, uint64_t base);
    void *ctx;
};

enum lapic_lvt_index {
    LAPIC_LVT_CMCI_INDEX, LAPIC_LVT_TIMER_INDEX, LAPIC_LVT_THERMAL_INDEX, LAPIC_LVT_PERFMON_INDEX,
    LAPIC_LVT_LINT0_INDEX, LAPIC_LVT_LINT1_INDEX, LAPIC_LVT_ERROR_INDEX,
};

struct lapic {
    struct lapic_ops ops;
    uint32_t initial_id;      /* x2APIC ID given by the "hardware" (the board) */
    unsigned maxphyaddr;
    uint32_t tsc_khz, timer_khz;  /* guest TSC and timer input clock rates */

    uint64_t apic_base;
    uint32_t xapic_id;        /* ID register in xAPIC mode (bits 31:24 writable) */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t esr, esr_pending;    /* visible ESR; errors collected since the last ESR write */
    uint32_t icr_low, icr_high;
    uint32_t lvt[LAPIC_LVT_COUNT];
    bool lint_level[2];

    /* Timer. Counting modes work in the timer clock domain (bus ticks, before the divider),
     * with the next expiry an exact bus tick: periods never accumulate rounding. */
    uint32_t timer_initial, timer_divide_reg;
    bool timer_armed;
    uint64_t timer_start_tsc;  /* when the count was started: bus tick 0 */
    uint64_t timer_next_bus;   /* bus tick of the next expiry (counting modes) */
    uint64_t tsc_deadline;     /* IA32_TSC_DEADLINE, 0 = disarmed */
    uint64_t timer_expiries;   /* timer events seen (delivered or masked) */
    uint64_t timer_missed;     /* periods that elapsed unseen within one advance */
    uint64_t now;              /* latest time seen: time never runs backwards for the model */
};

/* Power-up: xAPIC mode at APIC_DEFAULT_BASE. timer_khz is the APIC timer's input clock. */
void lapic_init(struct lapic *l, uint32_t apic_id, bool bsp, unsigned maxphyaddr, uint32_t tsc_khz,
                uint32_t timer_khz, const struct lapic_ops *ops);
/* An INIT signal: registers to their reset values, ID and IA32_APIC_BASE kept (SDM 11.4.7.3). */
void lapic_init_signal(struct lapic *l, uint64_t now);

enum lapic_mode lapic_mode(const struct lapic *l);

/* xAPIC MMIO at offset (0..0xFFF) of the page. Returns false when the page is not decoded (not
 * in xAPIC mode): the caller treats the access as going elsewhere. Reads of 1, 2 or 4 bytes
 * inside a register's first dword give those bytes, anything else reads 0; only aligned 4-byte
 * writes to a register's offset have an effect (SDM 11.4.1 leaves other sizes model specific). */
bool lapic_mmio_read(struct lapic *l, uint64_t offset, unsigned size, uint64_t now, uint64_t *value);
bool lapic_mmio_write(struct lapic *l, uint64_t offset, unsigned size, uint64_t value, uint64_t now);

/* MSRs the APIC owns: IA32_APIC_BASE, IA32_TSC_DEADLINE and 0x800-0x8FF. */
bool lapic_owns_msr(uint32_t msr);
/* false = #GP(0). */
bool lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t now, uint64_t *value);
bool lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t value, uint64_t now);

/* CR8 is TPR[7:4]; a write clears TPR[3:0]. false = #GP (bits 63:4 set). */
uint64_t lapic_read_cr8(const struct lapic *l);
bool lapic_write_cr8(struct lapic *l, uint64_t cr8);
uint32_t lapic_ppr(const struct lapic *l);

/* --- For the router and the injection code --- */

/* Does this APIC take an IPI? target_is_sender says whether it came from this APIC. */
bool lapic_ipi_targets(const struct lapic *target, const struct lapic_ipi *ipi, bool target_is_sender);
/* A message arriving at this APIC (IPI, MSI, IOAPIC): fixed and lowest priority set the IRR,
 * the others go to ops.event. Returns false if the APIC did not take it. */
bool lapic_deliver(struct lapic *l, enum lapic_delivery_mode mode, uint8_t vector, bool level);
/* A fixed interrupt (level-triggered if level). */
bool lapic_accept_interrupt(struct lapic *l, uint8_t vector, bool level);
/* The LINT0/LINT1 pins (PIC INTR and NMI on a PC), routed as their LVT entries say. */
void lapic_set_lint(struct lapic *l, unsigned pin, bool level);
/* Highest IRR vector whose priority class is above PPR's, or LAPIC_NO_VECTOR. */
int lapic_highest_deliverable(const struct lapic *l);
/* The CPU takes that interrupt: IRR -> ISR. Returns the vector or LAPIC_NO_VECTOR. */
int lapic_acknowledge(struct lapic *l);
/* Timers up to now; then the next time the APIC needs attention (DEV_TIME_NEVER for none). */
void lapic_advance(struct lapic *l, uint64_t now);
uint64_t lapic_next_deadline(const struct lapic *l);

#endif
