/* A guest's emulated PCI configuration space: configuration mechanism #1 (ports 0xCF8/0xCFC),
 * bus 0 only, a host bridge at 00:00.0 and a few single-function devices, each a 256-byte
 * configuration image with per-byte write masks, 64-bit memory BARs that (un)register their
 * MMIO region on the guest-physical bus as the guest moves them or toggles memory decode,
 * and a capability list. */
#ifndef TESSERA_PCI_HOST_H
#define TESSERA_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/vm.h"

#define PCI_PORT_CONFIG_ADDRESS 0xCF8
#define PCI_PORT_CONFIG_DATA    0xCFC   /* 0xCFC-0xCFF: the dword the address selects */
#define PCI_CONFIG_ENABLE       0x80000000u

#define PCI_CFG_SIZE   256u
#define PCI_HOST_SLOTS 8u               /* device numbers 0..7 on bus 0; 0 is the host bridge */
#define PCI_NUM_BARS   6u

/* Standard header (type 0) offsets and bits. */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION_ID      0x08
#define PCI_CLASS_PROG       0x09       /* class code: prog-if 0x09, subclass 0x0A, base 0x0B */
#define PCI_CACHE_LINE_SIZE  0x0C
#define PCI_HEADER_TYPE      0x0E
#define PCI_BAR0             0x10
#define PCI_SUBSYSTEM_VENDOR 0x2C
#define PCI_SUBSYSTEM_ID     0x2E
#define PCI_ROM_ADDRESS      0x30
#define PCI_CAPABILITY_LIST  0x34
#define PCI_INTERRUPT_LINE   0x3C
#define PCI_INTERRUPT_PIN    0x3D
#define PCI_CAP_START        0x40       /* capabilities are placed from here on */

#define PCI_COMMAND_MEMORY        0x0002
#define PCI_COMMAND_MASTER        0x0004
#define PCI_COMMAND_INTX_DISABLE  0x0400
#define PCI_STATUS_INTERRUPT      0x0008   /* INTx level as the function drives it (PCI 2.3) */
#define PCI_STATUS_CAP_LIST       0x0010

#define PCI_BAR_MEM_TYPE_64       0x4u  /* bits 2:1 = 10b */

/* The host bridge at 00:00.0: Intel 82G33/P35 DRAM controller ids, as QEMU's q35 machine uses,
 * so guest tools recognise a plain host bridge. */
#define PCI_HOST_BRIDGE_VENDOR 0x8086
#define PCI_HOST_BRIDGE_DEVICE 0x29C0
#define PCI_CLASS_HOST_BRIDGE  0x060000u

/* Legacy interrupt routing of this board: every INTx pin reaches ISA IRQ 11, the value firmware
 * leaves in a function's interrupt line register. An x86 guest without ACPI or MP tables takes
 * the line as it is when it is below 16 (Linux drops anything else, so 0xFF "unknown" means no
 * interrupt at all, and virtio then has nothing to fall back on without MSI-X); 11 is one of the
 * IRQs PC firmware gives PCI, clear of the timer, keyboard, cascade, serial ports and IDE. */
#define PCI_HOST_INTX_IRQ 11

struct pci_function;

/* Device hooks around configuration accesses, both optional. before_read runs before the
 * bytes [offset, offset + size) are read from the image (to refresh a window such as virtio's
 * PCI_CFG data); after_write runs once the masked write is in the image. size is 1..4 and the
 * span never leaves its dword. */
struct pci_function_hooks {
    void (*before_read)(void *ctx, struct pci_function *f, unsigned offset, unsigned size);
    void (*after_write)(void *ctx, struct pci_function *f, unsigned offset, unsigned size);
};

/* A 64-bit memory BAR occupies slots index and index + 1 (the high dword). */
struct pci_bar {
    uint64_t size;              /* power of two >= 16; 0: slot unused (reads 0, writes dropped) */
    const struct mmio_ops *ops;
    void *dev;
    bool mapped;                /* registered on the guest's bus at mapped_base */
    uint64_t mapped_base;
};

struct pci_function {
    uint8_t cfg[PCI_CFG_SIZE];      /* what the guest reads (BAR dwords hold the masked address) */
    uint8_t wmask[PCI_CFG_SIZE];    /* bits the guest may change, outside the BAR dwords */
    struct pci_bar bar[PCI_NUM_BARS];
    uint8_t cap_next_free;          /* where pci_function_add_cap puts the next capability */
    uint8_t cap_last;               /* offset of the last capability, 0 while there is none */
    const struct pci_function_hooks *hooks;
    void *hook_ctx;
    struct vm *vm;                /* set by pci_host_add */
    uint64_t decode_failures;       /* BAR placements the bus refused (RAM or another device) */
};

struct pci_host {
    struct vm *vm;
    uint32_t address;               /* the 0xCF8 latch: enable, bus, device, function, register */
    struct pci_function bridge;
    struct pci_function *slot[PCI_HOST_SLOTS];
};

/* Little-endian accessors on a configuration image (no masks, no side effects). */
uint32_t pci_cfg_get(const struct pci_function *f, unsigned offset, unsigned size);
void pci_cfg_set(struct pci_function *f, unsigned offset, unsigned size, uint32_t value);

/* A type-0 header: ids, class (base << 16 | sub << 8 | prog-if), revision; single function,
 * no BARs, no capabilities, interrupt pin none. Writable: command (memory, bus master, INTx
 * disable), cache line size, interrupt line. */
void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint32_t class_code,
                       uint8_t revision);

/* A 64-bit non-prefetchable memory BAR in slots index, index + 1 at guest-physical address
 * base (size-aligned). It decodes once the function is on a host and command.memory is set.
 * Returns 0, or -1 for a bad index, size or alignment. */
int pci_function_add_bar64(struct pci_function *f, unsigned index, uint64_t size, uint64_t base,
                           const struct mmio_ops *ops, void *dev);

/* The address a BAR holds (64-bit BARs: both dwords), whether or not it decodes. */
uint64_t pci_function_bar_address(const struct pci_function *f, unsigned index);

/* Append a capability of len bytes (body[0] is the id; the next pointer at body[1] is filled
 * in) to the list; dword-aligned. Returns its offset, or 0 when it does not fit. */
unsigned pci_function_add_cap(struct pci_function *f, const uint8_t *body, unsigned len);

/* Let the guest write bytes [offset, offset + len) of the image. */
void pci_function_allow_write(struct pci_function *f, unsigned offset, unsigned len);

/* The level the device drives on its INTx pin. The status register's interrupt bit shows it
 * whatever command.INTx_disable says (PCI 2.3); pci_function_intx_asserted says whether it
 * reaches the pin, for the interrupt controller to sample. */
void pci_function_set_intx(struct pci_function *f, bool level);
bool pci_function_intx_asserted(const struct pci_function *f);

/* Configuration accesses as the guest makes them: size 1..4 inside one dword. Reads of an
 * out-of-range access return all ones; writes go through the masks and BAR logic. */
uint32_t pci_function_config_read(struct pci_function *f, unsigned offset, unsigned size);
void pci_function_config_write(struct pci_function *f, unsigned offset, unsigned size, uint32_t value);

/* A host with the bridge at device 0, attached to vm (vm->pci = h). */
void pci_host_init(struct pci_host *h, struct vm *vm);
/* Put f at device number slot (1..PCI_HOST_SLOTS-1) and start its BAR decoding. Returns 0, or
 * -1 when the slot is taken or out of range. */
int pci_host_add(struct pci_host *h, unsigned slot, struct pci_function *f);

/* The function the bus/device/function names, or NULL (bus != 0, function != 0, empty slot). */
struct pci_function *pci_host_function(struct pci_host *h, unsigned bus, unsigned dev, unsigned fn);

/* Port accesses, size 1, 2 or 4, first port in 0xCF8-0xCFF. The address register answers only
 * 32-bit accesses at 0xCF8; narrower ones and 0xCF9-0xCFB (chipset registers such as reset
 * control, not emulated) are empty bus. Data bytes past 0xCFF are empty bus too. A latched
 * address with extended-register bits 27:24 set selects nothing (no function has space above
 * 0xFF). */
uint32_t pci_host_io_read(struct pci_host *h, uint16_t port, unsigned size);
void pci_host_io_write(struct pci_host *h, uint16_t port, unsigned size, uint32_t value);

#define PCI_PORT_COUNT 8                /* 0xCF8-0xCFF */

/* Claim 0xCF8-0xCFF on vm's bus for configuration mechanism #1. The ports answer for whichever
 * host vm->pci names at the time of the access (the empty bus while it is NULL), so a host can
 * be created after the board has placed the ports. Returns 0, or -1 when they are taken. */
int pci_host_register_ports(struct vm *vm);

#endif
