/* PCI for guest programs: configuration mechanism #1 (ports 0xCF8/0xCFC), enumeration of bus 0,
 * BAR decoding (sizing), assignment of memory BARs nobody assigned (no firmware ran, e.g. QEMU's
 * PVH boot without PCI init) and capability-list walking. */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "boot.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA    0xCFC

#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE    0x0E
#define PCI_BAR0           0x10
#define PCI_SUBSYSTEM_ID   0x2E
#define PCI_CAP_POINTER    0x34

#define PCI_COMMAND_IO         0x0001
#define PCI_COMMAND_MEMORY     0x0002
#define PCI_COMMAND_BUS_MASTER 0x0004
#define PCI_STATUS_CAP_LIST    0x0010

#define PCI_CAP_ID_VENDOR 0x09

#define PCI_BARS      6
#define PCI_MAX_DEVICES 64         /* functions remembered by pci_scan_bus0 */

struct pci_bar {
    uint64_t base;                 /* as programmed; 0 = unassigned */
    uint64_t size;                 /* 0 = BAR not implemented */
    bool io;                       /* I/O space BAR */
    bool is64;                     /* 64-bit memory BAR (the next slot holds the high half) */
    bool prefetchable;
};

struct pci_device {
    uint8_t bus, slot, function;
    uint16_t vendor, device;
    uint16_t subsystem;
    uint8_t class_code, subclass, prog_if, header_type;
    struct pci_bar bar[PCI_BARS];  /* filled by pci_decode_bars; an upper half of a 64-bit BAR stays empty */
};

/* A guest-physical range [start, end) where unassigned memory BARs may be placed. */
struct pci_window {
    uint64_t start, end;
};

uint32_t pci_read32(const struct pci_device *d, uint16_t offset);
uint16_t pci_read16(const struct pci_device *d, uint16_t offset);
uint8_t pci_read8(const struct pci_device *d, uint16_t offset);
void pci_write32(const struct pci_device *d, uint16_t offset, uint32_t value);
void pci_write16(const struct pci_device *d, uint16_t offset, uint16_t value);
void pci_write8(const struct pci_device *d, uint16_t offset, uint8_t value);

/* Every function on bus 0 (header type 0 or not), up to max; returns how many were found.
 * BARs are not decoded here (sizing touches the device). */
unsigned pci_scan_bus0(struct pci_device *out, unsigned max);

/* Sizes every BAR of a type-0 header (memory decoding off meanwhile, command restored). */
void pci_decode_bars(struct pci_device *d);

/* The default window for BARs: above RAM and at least 0xC0000000, below the I/O APIC at
 * 0xFEC00000; all below 4 GiB, which lib/long_mode.S maps. */
struct pci_window pci_default_window(const struct boot_info *boot);

/* Gives every implemented memory BAR of d that is 0, overlaps RAM or lies beyond the page
 * tables' reach an address in the window that overlaps no RAM and no BAR of `others` (the
 * decoded devices of the bus; d itself may be among them). Returns how many BARs were assigned,
 * or -1 when one did not fit. Prints a "# pci:" line per assignment. */
int pci_assign_bars(struct pci_device *d, const struct pci_device *others, unsigned n_others,
                    const struct pci_window *window, const struct boot_info *boot);

/* Sets bits in the command register (e.g. PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER). */
void pci_enable(const struct pci_device *d, uint16_t command_bits);

/* Capability walking: the configuration-space offsets of the capabilities in list order, up
 * to max (at most PCI_MAX_CAPS are followed, so a looping list ends); returns the count. */
#define PCI_MAX_CAPS 48
unsigned pci_capabilities(const struct pci_device *d, uint8_t *offsets, unsigned max);

#endif
