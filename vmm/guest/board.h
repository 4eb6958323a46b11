/* The machine a guest gets, assembled in one place: which devices it has, at which ports and
 * guest-physical addresses, on which interrupt lines, and the guest-physical map they make.
 * Everything else (exit handlers, device models) finds devices through the VM's bus. */
#ifndef TESSERA_GUEST_BOARD_H
#define TESSERA_GUEST_BOARD_H

#include <stdint.h>
#include "dev/ioapic.h"
#include "dev/irq.h"
#include "dev/pic8259.h"
#include "guest/vm.h"
#include "hypercall.h"
#include "x86.h"

/* Ports */
#define BOARD_UART_PORT        PORT_COM1
#define BOARD_DEBUG_EXIT_PORT  PORT_DEBUG_EXIT
#define BOARD_SHUTDOWN_PORT    PORT_BOCHS_SHUTDOWN

/* Guest-physical addresses. The device window is the top of the first 4 GiB: PCI memory BARs
 * from its start, then the IOAPIC and the local APIC at the addresses PC firmware and OSes
 * assume. A guest whose RAM reaches into the window (more than 3.5 GiB) gets its PCI window
 * above RAM instead, and no APICs yet: the hole in RAM that fixes this is issue 8's. */
#define BOARD_DEVICE_WINDOW_BASE 0xE0000000ull
#define BOARD_IOAPIC_BASE        IOAPIC_DEFAULT_BASE
#define BOARD_LAPIC_BASE         APIC_DEFAULT_BASE
#define BOARD_LAPIC_SIZE         0x1000ull
#define BOARD_HIGH_PCI_WINDOW    (1ull << 32)   /* size of the PCI window above large RAM */

enum board_region_kind {
    BOARD_REGION_RAM,
    BOARD_REGION_PCI_MMIO,      /* where PCI memory BARs are placed */
    BOARD_REGION_IOAPIC,
    BOARD_REGION_LAPIC,
};

struct board_region {
    uint64_t base, size;
    enum board_region_kind kind;
};

#define BOARD_MAP_MAX 4

/* The guest-physical map of a guest with ram_size bytes of RAM, in address order; returns how
 * many regions out[] holds (RAM first, at 0). What the boot protocols' memory maps describe. */
unsigned board_memory_map(uint64_t ram_size, struct board_region out[BOARD_MAP_MAX]);

/* Every guest's devices: the UART, the debug-exit and Bochs shutdown ports, and the PCI
 * configuration ports (answering once a host exists, see pci_host_register_ports). Call once
 * on a zeroed VM with its name set. Returns 0, or -1 when the bus refused a device. */
int board_assemble(struct vm *vm);

/* The guest's minidisk as a virtio-blk function at PCI 00:VIRTIO_BLK_PCI_SLOT.0, its BAR in
 * the PCI window (creating the PCI host if the guest has none). Returns 0 or -1. */
struct minidisk;
struct virtio_blk_clock;
int board_attach_minidisk(struct vm *vm, const struct minidisk *md, const struct virtio_blk_clock *clock);

/* Interrupt controllers, where they sit on this board. Not yet part of board_assemble (issue 8
 * wires them); each returns 0, or -1 when the bus refused a range. */
int board_attach_pic(struct vm *vm, struct pic8259 *pic);       /* 0x20-0x21, 0xA0-0xA1, ELCR */
int board_attach_ioapic(struct vm *vm, struct ioapic *io);      /* MMIO at BOARD_IOAPIC_BASE */

/* ISA interrupt line irq (0-15) into the PIC pair: what a legacy device is given to raise. */
struct irq_line board_isa_irq_line(struct pic8259 *pic, unsigned irq);

#endif
