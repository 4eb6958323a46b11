/* The virtio-blk device model (virtio 1.x, section 5.2) over a minidisk, independent of the
 * transport: feature bits, configuration space, and request processing on its one virtqueue.
 * The virtio-pci transport owns device status, feature selection registers and queue
 * registers; it calls in here to read config, to enable/notify the queue and to learn whether
 * the device needs a reset. */
#ifndef TESSERA_VIRTIO_BLK_H
#define TESSERA_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/virtqueue.h"
#include "disk/minidisk.h"
#include "guest/guest.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64

#define VIRTIO_BLK_ID_BYTES    20
#define VIRTIO_BLK_SECTOR      512u
#define VIRTIO_BLK_CONFIG_SIZE 60   /* struct virtio_blk_config up to the write-zeroes fields */
#define VIRTIO_BLK_QUEUES      1

struct virtio_blk;

/* Completion hooks, both optional. used: the queue has new used entries (where the interrupt
 * will be raised once there is an interrupt controller; check virtq_interrupt_suppressed).
 * needs_reset: the device entered DEVICE_NEEDS_RESET (send a configuration-change interrupt). */
struct virtio_blk_hooks {
    void (*used)(void *ctx, struct virtio_blk *b, unsigned queue);
    void (*needs_reset)(void *ctx, struct virtio_blk *b);
    void *ctx;
};

struct virtio_blk_stats {
    uint64_t requests;          /* chains completed through the used ring */
    uint64_t reads, writes, flushes, get_ids, unsupported;
    uint64_t range_errors;      /* IN/OUT outside the minidisk: IOERR, disk untouched */
    uint64_t malformed;         /* bad layout or buffer outside RAM, but a status byte: IOERR */
    uint64_t readonly_errors;   /* OUT on a read-only minidisk */
    uint64_t device_errors;     /* the disk failed: IOERR */
    uint64_t bad_notifies;      /* notification of a queue that does not exist */
};

struct virtio_blk {
    struct guest *g;
    struct minidisk md;
    char id[VIRTIO_BLK_ID_BYTES];        /* GET_ID answer, NUL-padded, not necessarily terminated */
    uint64_t driver_features;            /* negotiated: accepted by the driver and offered */
    struct virtq vq;
    bool needs_reset;                    /* transport ORs VIRTIO_STATUS_DEVICE_NEEDS_RESET into status */
    char reset_reason[96];
    struct virtio_blk_hooks hooks;
    struct virtio_blk_stats stats;
    struct virtq_chain chain;            /* scratch for the chain being processed */
    uint8_t bounce[VIRTIO_BLK_SECTOR];   /* a sector split across guest buffers */
};

/* md is copied. id becomes "tessera-<guest>-<partition>" cut to 20 bytes. */
void virtio_blk_init(struct virtio_blk *b, struct guest *g, const struct minidisk *md);

/* Device reset (driver wrote 0 to device status): queue, features and NEEDS_RESET cleared. */
void virtio_blk_reset(struct virtio_blk *b);

/* Offered features: VERSION_1, INDIRECT_DESC, SEG_MAX, BLK_SIZE, FLUSH, and RO when read-only. */
uint64_t virtio_blk_device_features(const struct virtio_blk *b);
/* At FEATURES_OK: keeps the offered subset. Without FLUSH negotiated every write is followed by
 * a device flush (section 5.2.6.2: write-through when the driver cannot flush). */
void virtio_blk_set_driver_features(struct virtio_blk *b, uint64_t features);

/* Configuration space: size 1, 2, 4 or 8, entirely inside VIRTIO_BLK_CONFIG_SIZE. Returns 0
 * with *value (little-endian bytes as a number), or -1. Writes are ignored (no writable field
 * is offered). */
int virtio_blk_config_read(const struct virtio_blk *b, uint64_t offset, unsigned size, uint64_t *value);

/* The queue the transport's queue_select names, or NULL when index >= VIRTIO_BLK_QUEUES.
 * The transport writes size/addresses into it and calls virtq_enable(q, b->g). */
struct virtq *virtio_blk_queue(struct virtio_blk *b, unsigned index);

/* The driver notified queue index: process every available request. Returns the number of
 * requests completed, or -1 when the index is out of range (ignored, counted) or the device is
 * (now) in NEEDS_RESET. A chain without a usable status byte, or a broken ring, puts the
 * device in NEEDS_RESET and stops the queue until reset; a request that merely fails gets
 * IOERR/UNSUPP and the next one is processed normally. */
int virtio_blk_notify(struct virtio_blk *b, unsigned index);

#endif
