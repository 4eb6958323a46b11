/* Power the machine off once every guest has ended: ACPI S5 through the PM1 control registers,
 * then Bochs' shutdown port, then halt for good. */
#include <stdint.h>
#include "hw/acpi.h"
#include "hw/platform.h"
#include "hw/portio.h"
#include "lib/log.h"

#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK  (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN        (1u << 13)

#define BOCHS_SHUTDOWN_PORT 0x8900
#define DELAY_PORT          0x61  /* NMI status/control: reading it has no side effect */

/* Roughly 1 us per ISA-speed port read on real hardware; emulators do not care. */
static void delay_port_reads(unsigned reads)
{
    for (unsigned i = 0; i < reads; i++)
        (void)inb(DELAY_PORT);
}

/* PM1 control with SLP_TYP set and SLP_EN clear; the other bits (SCI_EN above all) are kept
 * as the firmware left them, since the spec asks OSPM to preserve them. */
static uint16_t pm1_with_sleep_type(uint16_t port, uint16_t slp_typ)
{
    uint32_t v = inw(port) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);
    return (uint16_t)(v | (((uint32_t)slp_typ << PM1_SLP_TYP_SHIFT) & PM1_SLP_TYP_MASK));
}

/* SLP_TYP first, then SLP_EN, to both blocks, as ACPICA does. */
static void pm1_enter_s5(uint16_t port_a, uint16_t typ_a, uint16_t port_b, uint16_t typ_b)
{
    uint16_t a = pm1_with_sleep_type(port_a, typ_a);
    uint16_t b = port_b ? pm1_with_sleep_type(port_b, typ_b) : 0;
    outw(port_a, a);
    if (port_b)
        outw(port_b, b);
    outw(port_a, (uint16_t)(a | PM1_SLP_EN));
    if (port_b)
        outw(port_b, (uint16_t)(b | PM1_SLP_EN));
}

__attribute__((noreturn)) void acpi_power_off(const struct acpi_poweroff *p)
{
    log_printf("tessera: powering off\n");
    serial_flush();
    /* Let the UART's FIFO (16 bytes, ~1.4 ms at 115200) drain before the power goes. */
    delay_port_reads(5000);

    if (p && p->valid && p->pm1a_cnt) {
        pm1_enter_s5(p->pm1a_cnt, p->slp_typa, p->pm1b_cnt, p->slp_typb);
        delay_port_reads(1000000);   /* ~1 s: still running after that means S5 did not take */
    }

    static const char bochs_shutdown[] = "Shutdown";
    for (unsigned i = 0; i < sizeof(bochs_shutdown) - 1; i++)
        outb(BOCHS_SHUTDOWN_PORT, (uint8_t)bochs_shutdown[i]);

    for (;;)
        __asm__ volatile("cli; hlt");
}
