/* ACPI, just enough to power the machine off (S5) when every guest has ended, and to find the
 * other CPUs. Table parsing is pure (checksums, bounds) so host tests feed it synthetic tables. */
#ifndef TESSERA_ACPI_H
#define TESSERA_ACPI_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_poweroff {
    uint16_t pm1a_cnt, pm1b_cnt;   /* I/O ports; 0 = absent */
    uint16_t slp_typa, slp_typb;   /* \_S5 package values */
    bool valid;
};

/* Walk RSDP -> XSDT/RSDT -> FADT -> DSDT (\_S5_). phys_to_virt maps a physical address for
 * reading (identity on the machine). Every table's length and checksum is verified. */
bool acpi_find_poweroff(uint64_t rsdp_phys, const void *(*phys_to_virt)(uint64_t phys, uint64_t len),
                        struct acpi_poweroff *out);

/* APIC ids of enabled processors from the MADT; returns how many (at most max). */
unsigned acpi_list_cpus(uint64_t rsdp_phys, const void *(*phys_to_virt)(uint64_t phys, uint64_t len),
                        uint32_t *apic_ids, unsigned max);

/* Physical addresses of the IOAPICs from the MADT (entry type 1); returns how many (at most max). */
unsigned acpi_list_ioapics(uint64_t rsdp_phys, const void *(*phys_to_virt)(uint64_t phys, uint64_t len),
                           uint64_t *addrs, unsigned max);

/* On the machine: SLP_TYP|SLP_EN to PM1 control; then Bochs/QEMU's fallback ports. Does not return. */
__attribute__((noreturn)) void acpi_power_off(const struct acpi_poweroff *p);

#endif
