/* Quieten the machine the firmware handed over: mask the 8259 PICs, every IOAPIC input and the
 * local APIC's LVT entries, and put the other CPUs into wait-for-SIPI with INIT. */
#include <stdbool.h>
#include "x86.h"
#include <stdint.h>
#include "hw/acpi.h"
#include "hw/platform.h"
#include "hw/portio.h"
#include "lib/log.h"

/* ---- 8259 PICs ------------------------------------------------------------------------------ */

#define PIC1_CMD   0x20
#define PIC1_DATA  0x21
#define PIC2_CMD   0xA0
#define PIC2_DATA  0xA1
#define ICW1_INIT_WITH_ICW4 0x11
#define ICW4_8086           0x01
#define PIC1_VECTOR_BASE    0x20
#define PIC2_VECTOR_BASE    0x28
#define PIC_MASK_ALL        0xFF

/* Some old chipsets need time between PIC writes; a write to the POST port provides it. */
static void pic_write(uint16_t port, uint8_t v)
{
    outb(port, v);
    outb(0x80, 0);
}

/* Reprogrammed to vectors 0x20-0x2F first, so even a spurious IRQ 7/15 (delivered despite the
 * mask) cannot arrive on an exception vector, then fully masked. */
static void pic_mask_all(void)
{
    pic_write(PIC1_DATA, PIC_MASK_ALL);
    pic_write(PIC2_DATA, PIC_MASK_ALL);
    pic_write(PIC1_CMD, ICW1_INIT_WITH_ICW4);
    pic_write(PIC2_CMD, ICW1_INIT_WITH_ICW4);
    pic_write(PIC1_DATA, PIC1_VECTOR_BASE);
    pic_write(PIC2_DATA, PIC2_VECTOR_BASE);
    pic_write(PIC1_DATA, 0x04);   /* ICW3: slave on IRQ 2 */
    pic_write(PIC2_DATA, 0x02);   /* ICW3: slave identity 2 */
    pic_write(PIC1_DATA, ICW4_8086);
    pic_write(PIC2_DATA, ICW4_8086);
    pic_write(PIC1_DATA, PIC_MASK_ALL);   /* OCW1 */
    pic_write(PIC2_DATA, PIC_MASK_ALL);
}

/* ---- IOAPICs -------------------------------------------------------------------------------- */

#define IOAPIC_MAX          16
#define IOAPIC_REGSEL       0x00
#define IOAPIC_IOWIN        0x10
#define IOAPIC_REG_VERSION  0x01
#define IOAPIC_REG_REDIR0   0x10
#define IOAPIC_MASKED       (1u << 16)
/* IOREGSEL is 8 bits wide: redirection registers 0x10..0xFF hold at most 120 entries. */
#define IOAPIC_MAX_ENTRIES  120u

static const void *identity_map(uint64_t phys, uint64_t len)
{
    (void)len;
    return (const void *)(uintptr_t)phys;
}

static uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

static void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)addr = v;
}

static uint32_t ioapic_read(uint64_t base, uint8_t reg)
{
    mmio_write32(base + IOAPIC_REGSEL, reg);
    return mmio_read32(base + IOAPIC_IOWIN);
}

static void ioapic_write(uint64_t base, uint8_t reg, uint32_t v)
{
    mmio_write32(base + IOAPIC_REGSEL, reg);
    mmio_write32(base + IOAPIC_IOWIN, v);
}

/* Sets the mask bit of every redirection entry; returns how many entries there were. */
static unsigned ioapic_mask_all(uint64_t base)
{
    uint32_t version = ioapic_read(base, IOAPIC_REG_VERSION);
    if (version == 0xFFFFFFFFu)   /* nothing decodes this address */
        return 0;
    unsigned entries = ((version >> 16) & 0xFF) + 1;
    if (entries > IOAPIC_MAX_ENTRIES)
        entries = IOAPIC_MAX_ENTRIES;
    for (unsigned i = 0; i < entries; i++) {
        uint8_t low = (uint8_t)(IOAPIC_REG_REDIR0 + 2 * i);
        ioapic_write(base, low, ioapic_read(base, low) | IOAPIC_MASKED);
    }
    return entries;
}

/* ---- local APIC (xAPIC MMIO or x2APIC MSRs) ----------------------------------------------------- */

#define APIC_BASE_X2APIC     (1ull << 10)
#define APIC_BASE_ENABLED    (1ull << 11)
#define X2APIC_MSR_BASE      0x800   /* x2APIC MSR = 0x800 + xAPIC offset / 16 */

#define LAPIC_ID             0x020
#define LAPIC_VERSION        0x030
#define LAPIC_ICR_LOW        0x300
#define LAPIC_ICR_HIGH       0x310
#define LAPIC_LVT_CMCI       0x2F0
#define LAPIC_LVT_TIMER      0x320
#define LAPIC_LVT_THERMAL    0x330
#define LAPIC_LVT_PERF       0x340
#define LAPIC_LVT_LINT0      0x350
#define LAPIC_LVT_LINT1      0x360
#define LAPIC_LVT_ERROR      0x370
#define LAPIC_TIMER_INITIAL  0x380
#define LVT_MASKED           (1u << 16)

#define ICR_INIT             0x500
#define ICR_LEVEL_ASSERT     (1u << 14)
#define ICR_TRIGGER_LEVEL    (1u << 15)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_POLL_LIMIT       1000000u

struct lapic {
    bool x2apic;
    uint64_t mmio;
};

/* False when the firmware left the local APIC globally disabled. */
static bool lapic_open(struct lapic *l)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    if (!(base & APIC_BASE_ENABLED))
        return false;
    l->x2apic = (base & APIC_BASE_X2APIC) != 0;
    l->mmio = base & APIC_BASE_ADDR_MASK;
    return true;
}

static uint32_t lapic_read(const struct lapic *l, uint32_t reg)
{
    if (l->x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
    return mmio_read32(l->mmio + reg);
}

static void lapic_write(const struct lapic *l, uint32_t reg, uint32_t v)
{
    if (l->x2apic)
        wrmsr(X2APIC_MSR_BASE + (reg >> 4), v);
    else
        mmio_write32(l->mmio + reg, v);
}

static uint32_t lapic_self_id(const struct lapic *l)
{
    uint32_t id = lapic_read(l, LAPIC_ID);
    return l->x2apic ? id : id >> 24;
}

/* LVT entries beyond the four every APIC has exist only when the version register's
 * max-LVT field counts them; in x2APIC mode touching a missing one faults. */
static void lapic_mask_lvts(const struct lapic *l)
{
    unsigned max_lvt = (lapic_read(l, LAPIC_VERSION) >> 16) & 0xFF;
    uint32_t lvts[7];
    unsigned n = 0;
    lvts[n++] = LAPIC_LVT_TIMER;
    lvts[n++] = LAPIC_LVT_LINT0;
    lvts[n++] = LAPIC_LVT_LINT1;
    lvts[n++] = LAPIC_LVT_ERROR;
    if (max_lvt >= 4)
        lvts[n++] = LAPIC_LVT_PERF;
    if (max_lvt >= 5)
        lvts[n++] = LAPIC_LVT_THERMAL;
    if (max_lvt >= 6)
        lvts[n++] = LAPIC_LVT_CMCI;
    for (unsigned i = 0; i < n; i++)
        lapic_write(l, lvts[i], lapic_read(l, lvts[i]) | LVT_MASKED);
    lapic_write(l, LAPIC_TIMER_INITIAL, 0);   /* a zero initial count stops the timer */
}

void platform_quiesce_interrupts(uint64_t rsdp)
{
    pic_mask_all();

    uint64_t ioapics[IOAPIC_MAX];
    unsigned n_ioapics = acpi_list_ioapics(rsdp, identity_map, ioapics, IOAPIC_MAX);
    unsigned n_entries = 0;
    for (unsigned i = 0; i < n_ioapics; i++)
        n_entries += ioapic_mask_all(ioapics[i]);

    struct lapic l;
    bool have_lapic = lapic_open(&l);
    if (have_lapic)
        lapic_mask_lvts(&l);

    log_printf("tessera: masked the 8259 PICs, %u IOAPIC(s) with %u input(s)%s\n", n_ioapics,
               n_entries, have_lapic ? ", and the local APIC's LVT entries" : "; local APIC disabled");
}

/* ---- INIT to the other CPUs --------------------------------------------------------------------- */

#define MAX_CPUS 1024

static bool xapic_icr_idle(const struct lapic *l)
{
    for (uint32_t i = 0; i < ICR_POLL_LIMIT; i++)
        if (!(lapic_read(l, LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING))
            return true;
    return false;
}

static bool xapic_send(const struct lapic *l, uint32_t apic_id, uint32_t icr_low)
{
    if (!xapic_icr_idle(l))
        return false;
    lapic_write(l, LAPIC_ICR_HIGH, apic_id << 24);
    lapic_write(l, LAPIC_ICR_LOW, icr_low);   /* writing the low half sends */
    return xapic_icr_idle(l);
}

static bool send_init(const struct lapic *l, uint32_t apic_id)
{
    if (l->x2apic) {
        /* One 64-bit ICR write; x2APIC has no delivery status and no INIT de-assert. */
        wrmsr(X2APIC_MSR_BASE + (LAPIC_ICR_LOW >> 4),
              (uint64_t)apic_id << 32 | ICR_LEVEL_ASSERT | ICR_INIT);
        return true;
    }
    if (apic_id >= 0xFF)   /* not addressable with an 8-bit xAPIC destination (0xFF broadcasts) */
        return false;
    /* Assert, then de-assert: CPUs before the Pentium 4 need the second message. */
    return xapic_send(l, apic_id, ICR_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL) &&
           xapic_send(l, apic_id, ICR_INIT | ICR_TRIGGER_LEVEL);
}

void platform_park_other_cpus(uint64_t rsdp)
{
    static uint32_t apic_ids[MAX_CPUS];
    unsigned n = acpi_list_cpus(rsdp, identity_map, apic_ids, MAX_CPUS);

    struct lapic l;
    if (!lapic_open(&l)) {
        log_printf("tessera: local APIC disabled; cannot park the other CPUs\n");
        return;
    }
    uint32_t self = lapic_self_id(&l);
    unsigned parked = 0, failed = 0;
    for (unsigned i = 0; i < n; i++) {
        if (apic_ids[i] == self)
            continue;
        if (send_init(&l, apic_ids[i]))
            parked++;
        else
            failed++;
    }
    log_printf("tessera: parked %u other CPU(s) with INIT\n", parked);
    if (failed)
        log_printf("tessera: %u CPU(s) could not be sent INIT\n", failed);
}
