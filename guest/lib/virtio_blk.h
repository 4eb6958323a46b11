/* A virtio 1.x modern PCI driver for virtio-blk (virtio spec 4.1 and 5.2): finds the device on
 * bus 0, maps its vendor capabilities, negotiates features, sets up queue 0 in guest RAM and
 * submits requests one at a time, polling the used ring with a bound (no interrupts: the
 * available ring asks the device not to send any). Requests are synchronous, so every chain
 * starts at descriptor 0. Tests can also place raw (malformed) descriptor chains. */
#ifndef GUEST_VIRTIO_BLK_H
#define GUEST_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include "boot.h"
#include "pci.h"

#define VIRTIO_PCI_VENDOR            0x1AF4
#define VIRTIO_PCI_DEVICE_BLK        0x1042   /* 0x1040 + device type 2 */
#define VIRTIO_PCI_DEVICE_BLK_LEGACY 0x1001   /* transitional; accepted when it has modern caps */

/* virtio_pci_cap.cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* Device status bits */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Feature bits */
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_F_VERSION_1    32

/* Request types and status values */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR   512u

#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VBLK_QUEUE_MAX   256u    /* largest queue this driver sets up */
#define VBLK_SEGMENT     4096u   /* data is split into segments of at most this, SEG_MAX allowing */

/* Negative results of the request functions (non-negative ones are VIRTIO_BLK_S_* values). */
#define VBLK_ETIMEOUT     (-1)   /* no used entry and no NEEDS_RESET within the poll bound */
#define VBLK_ENEEDS_RESET (-2)   /* the device set DEVICE_NEEDS_RESET */
#define VBLK_EINVAL       (-3)   /* the request cannot be expressed (length, segments) */
#define VBLK_ENOTREADY    (-4)   /* the driver must re-initialise first (virtio_blk_init) */
#define VBLK_EBADUSED     (-5)   /* the used entry names another chain head */

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags, idx;
    uint16_t ring[VBLK_QUEUE_MAX];
    uint16_t used_event;
};

struct virtq_used_elem {
    uint32_t id, len;
};

struct virtq_used {
    uint16_t flags, idx;
    struct virtq_used_elem ring[VBLK_QUEUE_MAX];
    uint16_t avail_event;
};

struct virtio_blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

/* What a submitted chain came to. */
struct vblk_completion {
    int result;              /* 0 = a used entry arrived, else VBLK_ETIMEOUT / VBLK_ENEEDS_RESET / VBLK_EBADUSED */
    uint32_t used_id, used_len;
};

struct virtio_blk {
    struct pci_device pci;
    volatile uint8_t *common;        /* common configuration structure */
    volatile uint8_t *isr;
    volatile uint8_t *device_cfg;
    volatile uint8_t *notify_base;
    uint32_t notify_multiplier;
    uint32_t notify_len;             /* length of the notification structure */
    uint32_t device_cfg_len;
    volatile uint16_t *notify;       /* queue 0's doorbell */

    uint64_t offered, features;      /* device features; the negotiated subset */
    uint16_t queue_size;
    uint16_t avail_idx, last_used;   /* our copy of avail->idx; used entries consumed */
    bool ready;                      /* DRIVER_OK and the ring state is in step with the device */

    uint64_t capacity;               /* 512-byte sectors */
    uint32_t blk_size, seg_max;
    const char *error;               /* why the last init failed */

    /* Queue memory (guest RAM, identity-mapped): the layout virtio 1.x split queues need. */
    struct virtq_desc desc[VBLK_QUEUE_MAX] __attribute__((aligned(4096)));
    struct virtq_avail avail __attribute__((aligned(4096)));
    struct virtq_used used __attribute__((aligned(4096)));
    struct virtio_blk_req_header header __attribute__((aligned(64)));
    volatile uint8_t status;
};

/* Finds the first virtio-blk function on bus 0, decodes its BARs (assigning the ones nobody
 * assigned: `force_assign` re-places them even when set, to exercise that path), maps the
 * capabilities and initialises it. Returns 0, 1 when there is no device, or -1 with vb->error. */
int virtio_blk_probe(struct virtio_blk *vb, const struct boot_info *boot, bool force_assign);

/* Reset, ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK, queue 0, DRIVER_OK, config.
 * Also the recovery after NEEDS_RESET or a timeout. 0, or -1 with vb->error. */
int virtio_blk_init(struct virtio_blk *vb);
/* Writes 0 to device status and waits (bounded) until it reads back 0. */
void virtio_blk_reset(struct virtio_blk *vb);
uint8_t virtio_blk_device_status(const struct virtio_blk *vb);
bool virtio_blk_has(const struct virtio_blk *vb, unsigned feature);    /* negotiated */
bool virtio_blk_offers(const struct virtio_blk *vb, unsigned feature); /* offered by the device */

/* One request: header (type, sector), `len` bytes of data at buf (device-written for IN and
 * GET_ID, device-read otherwise; len may be 0) split into segments, and the status byte.
 * Returns the status byte (VIRTIO_BLK_S_*) or a negative VBLK_E* value. */
int virtio_blk_request(struct virtio_blk *vb, uint32_t type, uint64_t sector, void *buf, uint32_t len);
int virtio_blk_read(struct virtio_blk *vb, uint64_t sector, void *buf, uint32_t sectors);
int virtio_blk_write(struct virtio_blk *vb, uint64_t sector, const void *buf, uint32_t sectors);
int virtio_blk_flush(struct virtio_blk *vb);
int virtio_blk_get_id(struct virtio_blk *vb, char id[VIRTIO_BLK_ID_BYTES]);

/* Places descriptors[0..count) verbatim at the start of the descriptor table (count <=
 * queue_size), puts `head` (which may be out of range) into the available ring, notifies and
 * polls. After any result but a used entry naming `head`, vb->ready is false. */
struct vblk_completion virtio_blk_submit_raw(struct virtio_blk *vb, const struct virtq_desc *descriptors,
                                             unsigned count, uint16_t head);

/* Batches, for guests that drive the ring themselves (the flood guest): descriptors placed
 * verbatim (count <= queue_size), `count` available-ring entries naming heads[i % nheads]
 * published with one index update, a notify, and the device's used index. Nothing is
 * waited for; vb->ready becomes false, since the rings no longer follow the one-request
 * discipline of the functions above (virtio_blk_init starts over). */
void virtio_blk_place_descriptors(struct virtio_blk *vb, const struct virtq_desc *descriptors, unsigned count);
void virtio_blk_make_available(struct virtio_blk *vb, const uint16_t *heads, unsigned nheads, unsigned count);
void virtio_blk_notify(struct virtio_blk *vb);
uint16_t virtio_blk_used_idx(const struct virtio_blk *vb);

/* "IOERR", "NEEDS_RESET", "timeout", ... for diagnostics. */
const char *virtio_blk_result_name(int result);

#endif
