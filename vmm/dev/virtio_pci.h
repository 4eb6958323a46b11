/* The virtio 1.x modern PCI transport (virtio spec section 4.1) in front of a device model (a
 * "backend", e.g. virtio-blk): the PCI function with its virtio capabilities, and BAR0 holding
 * the common configuration, notification, ISR and device-specific configuration structures.
 * The transport owns device status, feature negotiation and the queue registers; the backend
 * owns the queues' contents and the requests. No MSI-X: interrupts are INTx on pin A, line
 * PCI_HOST_INTX_IRQ, level following the ISR (visible in the PCI status register; not yet wired
 * to an interrupt controller, so drivers poll the used ring until it is). */
#ifndef TESSERA_VIRTIO_PCI_H
#define TESSERA_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/pci_host.h"
#include "guest/vm.h"

#define VIRTIO_PCI_VENDOR        0x1AF4
#define VIRTIO_PCI_DEVICE_BASE   0x1040      /* + virtio device type (block 2 -> 0x1042) */
#define VIRTIO_PCI_REVISION      1           /* modern-only device */
#define VIRTIO_PCI_CLASS_BLOCK   0x018000u   /* mass storage, "other" */

/* Device status bits (section 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER      2u
#define VIRTIO_STATUS_DRIVER_OK   4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED      0x80u

#define VIRTIO_PCI_NO_VECTOR 0xFFFF
#define VIRTIO_PCI_FEATURE_VERSION_1 32

/* ISR status bits (section 4.1.4.5). */
#define VIRTIO_PCI_ISR_QUEUE  1u
#define VIRTIO_PCI_ISR_CONFIG 2u

/* Vendor-specific capability (id 0x09) cfg_type values. */
#define PCI_CAP_ID_VNDR              0x09
#define VIRTIO_PCI_CAP_COMMON_CFG    1
#define VIRTIO_PCI_CAP_NOTIFY_CFG    2
#define VIRTIO_PCI_CAP_ISR_CFG       3
#define VIRTIO_PCI_CAP_DEVICE_CFG    4
#define VIRTIO_PCI_CAP_PCI_CFG       5

/* BAR0 layout: one 4 KiB page per structure. */
#define VIRTIO_PCI_BAR_SIZE        0x4000u
#define VIRTIO_PCI_COMMON_OFFSET   0x0000u
#define VIRTIO_PCI_COMMON_SIZE     0x38u     /* struct virtio_pci_common_cfg of virtio 1.1 */
#define VIRTIO_PCI_ISR_OFFSET      0x1000u
#define VIRTIO_PCI_DEVICE_OFFSET   0x2000u
#define VIRTIO_PCI_NOTIFY_OFFSET   0x3000u
#define VIRTIO_PCI_NOTIFY_MULT     4u        /* queue q is notified at NOTIFY_OFFSET + 4 * q */
#define VIRTIO_PCI_PAGE            0x1000u

/* Common configuration register offsets (section 4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT   0x00   /* le32 device_feature_select */
#define VIRTIO_PCI_COMMON_DF         0x04   /* le32 device_feature (read-only) */
#define VIRTIO_PCI_COMMON_GFSELECT   0x08   /* le32 driver_feature_select */
#define VIRTIO_PCI_COMMON_GF         0x0C   /* le32 driver_feature */
#define VIRTIO_PCI_COMMON_MSIX       0x10   /* le16 config_msix_vector */
#define VIRTIO_PCI_COMMON_NUMQ       0x12   /* le16 num_queues (read-only) */
#define VIRTIO_PCI_COMMON_STATUS     0x14   /* u8 device_status */
#define VIRTIO_PCI_COMMON_CFGGEN     0x15   /* u8 config_generation (read-only) */
#define VIRTIO_PCI_COMMON_Q_SELECT   0x16   /* le16 */
#define VIRTIO_PCI_COMMON_Q_SIZE     0x18   /* le16 */
#define VIRTIO_PCI_COMMON_Q_MSIX     0x1A   /* le16 */
#define VIRTIO_PCI_COMMON_Q_ENABLE   0x1C   /* le16 */
#define VIRTIO_PCI_COMMON_Q_NOFF     0x1E   /* le16 queue_notify_off (read-only) */
#define VIRTIO_PCI_COMMON_Q_DESCLO   0x20   /* le64 queue_desc as two le32 */
#define VIRTIO_PCI_COMMON_Q_DESCHI   0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO  0x28   /* le64 queue_driver */
#define VIRTIO_PCI_COMMON_Q_AVAILHI  0x2C
#define VIRTIO_PCI_COMMON_Q_USEDLO   0x30   /* le64 queue_device */
#define VIRTIO_PCI_COMMON_Q_USEDHI   0x34

#define VIRTIO_PCI_MAX_QUEUES 8u

/* What a device model provides. be is the backend's own state. All callbacks are required. */
struct virtio_backend_ops {
    uint16_t device_type;                               /* virtio device id (block: 2) */
    uint32_t pci_class;                                 /* class code for the PCI header */
    uint64_t (*device_features)(void *be);
    /* Called once, at FEATURES_OK, with a subset of device_features that includes VERSION_1. */
    void (*set_driver_features)(void *be, uint64_t features);
    uint32_t (*config_size)(void *be);                  /* bytes of device configuration */
    /* size 1, 2, 4 or 8 inside config_size: 0 and *value, or -1. */
    int (*config_read)(void *be, uint32_t offset, unsigned size, uint64_t *value);
    void (*config_write)(void *be, uint32_t offset, unsigned size, uint64_t value);
    unsigned (*num_queues)(void *be);                   /* clamped to VIRTIO_PCI_MAX_QUEUES */
    uint16_t (*queue_max_size)(void *be, unsigned index);
    /* The driver enabled queue index with these rings: 0, or -1 when unusable. */
    int (*queue_enable)(void *be, unsigned index, uint16_t size, uint64_t desc, uint64_t driver,
                        uint64_t device);
    /* The driver notified queue index (after DRIVER_OK, queue enabled). The backend works for a
     * bounded time in this exit and may leave the rest to the guest's device_work (virtio-blk:
     * virtio_blk_notify); a device reset cancels that work. */
    void (*queue_notify)(void *be, unsigned index);
    /* The device failed (a hostile ring, ...) and waits for a reset: DEVICE_NEEDS_RESET. */
    bool (*needs_reset)(void *be);
    /* Device reset: queues, features and error state back to power-on. */
    void (*reset)(void *be);
};

/* The driver's view of one queue before it is enabled (and the state after). */
struct virtio_pci_queue {
    uint16_t size;
    bool enabled;
    uint64_t desc, driver, device;
};

struct virtio_pci_stats {
    uint64_t notifies;              /* notifications handed to the backend */
    uint64_t ignored_notifies;      /* before DRIVER_OK, queue disabled or absent, or NEEDS_RESET */
    uint64_t bad_accesses;          /* wrong size or offset: read 0 / dropped */
    uint64_t refused_features;      /* FEATURES_OK attempts refused */
};

struct virtio_pci {
    struct pci_function fn;
    struct vm *vm;
    const struct virtio_backend_ops *ops;
    void *be;
    unsigned num_queues;
    unsigned pci_cfg_cap;           /* configuration-space offset of the PCI_CFG capability */

    uint32_t device_feature_select, driver_feature_select;
    uint64_t driver_features;       /* as written; handed to the backend at FEATURES_OK */
    uint8_t status;                 /* driver-written bits; NEEDS_RESET is ORed in on read */
    bool setup_error;               /* the transport itself needs a reset (queue_enable refused) */
    uint16_t queue_select;
    struct virtio_pci_queue queue[VIRTIO_PCI_MAX_QUEUES];
    uint8_t isr;                    /* bit 0 used-ring update, bit 1 configuration change */
    struct virtio_pci_stats stats;
};

/* Build the PCI function (ids from ops->device_type, class ops->pci_class, capabilities, BAR0
 * at bar_base, command = memory | bus master as firmware would leave it). The function is not
 * on a host yet: pci_host_add(h, slot, &vp->fn) makes it visible and decoding. */
void virtio_pci_init(struct virtio_pci *vp, struct vm *vm, const struct virtio_backend_ops *ops, void *be,
                     uint64_t bar_base);

/* BAR0 accesses (offset inside BAR0, size 1, 2, 4 or 8): what the MMIO region calls. */
uint64_t virtio_pci_bar_read(struct virtio_pci *vp, uint64_t offset, unsigned size);
void virtio_pci_bar_write(struct virtio_pci *vp, uint64_t offset, unsigned size, uint64_t value);

/* Device-status value a driver reads (driver bits, plus NEEDS_RESET when the device failed). */
uint8_t virtio_pci_status(const struct virtio_pci *vp);

/* Backend events; the interrupt controller work hooks INTx in here. */
void virtio_pci_signal_used(struct virtio_pci *vp, unsigned queue);
void virtio_pci_signal_config(struct virtio_pci *vp);

/* Where a guest with ram_size bytes of RAM finds its first PCI BAR: 0xE0000000 when RAM ends
 * at or below it, else the first 4 GiB boundary at or above the end of RAM. Never overlaps RAM. */
uint64_t virtio_pci_bar_base(uint64_t ram_size);

/* A virtio-blk PCI device over md for guest vm, its steps timed by clock (NULL: bounded by bytes
 * only; see virtio_blk_init): creates vm's PCI host (bridge at 00:00.0) if it has none, puts the
 * device at 00:01.0 with BAR0 at virtio_pci_bar_base(vm->ram_size), and registers BAR0 on vm's bus.
 * State comes from a static pool of BOOTINFO_MAX_GUESTS entries. Returns 0, or -1 (pool
 * exhausted, guest already has one, BAR placement refused). */
#define VIRTIO_BLK_PCI_SLOT 1
struct minidisk;
struct virtio_blk;
struct virtio_blk_clock;
int virtio_blk_pci_attach(struct vm *vm, const struct minidisk *md, const struct virtio_blk_clock *clock);
/* Undo virtio_blk_pci_attach (tests, and a guest torn down): BAR unregistered, pool entry
 * freed, vm->pci cleared when this pool created it, the device's pending work dropped. */
void virtio_blk_pci_detach(struct vm *vm);
/* The attached device's parts, or NULL. */
struct virtio_pci *virtio_blk_pci_transport(struct vm *vm);
struct virtio_blk *virtio_blk_pci_device(struct vm *vm);

#endif
