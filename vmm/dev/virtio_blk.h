/* The virtio-blk device model (virtio 1.x, section 5.2) over a minidisk, independent of the
 * transport: feature bits, configuration space, and request processing on its virtqueues in
 * bounded steps. The virtio-pci transport owns device status, feature selection registers and
 * queue registers; it calls in here to read config, to enable/notify a queue and to learn
 * whether the device needs a reset. */
#ifndef TESSERA_VIRTIO_BLK_H
#define TESSERA_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include "dev/virtqueue.h"
#include "disk/minidisk.h"
#include "guest/vm.h"

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

/* The budget of one step (see virtio_blk_notify), whichever runs out first. */
#define VIRTIO_BLK_STEP_BYTES   (256u << 10)   /* data bytes between disk and guest */
#define VIRTIO_BLK_REQUEST_COST 4096u          /* charged per request: bounds those without data */
#define VIRTIO_BLK_STEP_US      500u           /* with a clock: a twentieth of the default slice */
/* Sectors of the first transfer timed on a clock: small, since the disk's speed is unknown. */
#define VIRTIO_BLK_PROBE_SECTORS 1u

/* The time source of the step budget. Without one (NULL, or now NULL) steps are bounded by
 * bytes and requests only. */
struct virtio_blk_clock {
    uint64_t (*now)(void);      /* monotonic ticks (the TSC on the machine) */
    uint64_t step_ticks;        /* ticks one step may take; 0: no time bound */
};

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
    uint64_t steps;             /* notifies and deferred turns that did work */
    uint64_t budget_stops;      /* steps that ended at their budget with work left */
};

/* A position in a chain's data: the byte stream of segments from seg on, left bytes long. */
struct virtio_blk_cursor {
    struct vm *vm;
    const struct virtq_chain *c;
    unsigned seg;
    uint64_t off;               /* may run past seg until settled */
    uint64_t left;
};

enum virtio_blk_phase {
    VIRTIO_BLK_IDLE,            /* no request in progress */
    VIRTIO_BLK_TRANSFER,        /* moving data (IN, OUT) a chunk at a time */
    VIRTIO_BLK_FLUSH,           /* FLUSH, or the write-through flush after an OUT */
    VIRTIO_BLK_DONE,            /* status decided; the used entry is still to be written */
};

/* The request being served, kept across steps: its chain is b->chain, its header was copied
 * once when it was taken, and data records how far the transfer got. */
struct virtio_blk_request {
    enum virtio_blk_phase phase;
    unsigned queue;
    uint32_t type;
    uint64_t sector;            /* first guest sector */
    uint64_t phys;              /* its physical LBA, from the request's one minidisk_translate */
    uint64_t bytes, done;       /* data bytes to move, moved so far */
    bool flush_after;           /* write-through: FLUSH not negotiated */
    uint64_t status_gpa;        /* the chain's last byte, checked to be in RAM */
    uint8_t status;             /* VIRTIO_BLK_S_*, once phase is DONE */
    uint32_t written;           /* bytes stored into the guest's buffers */
    struct virtio_blk_cursor data;
};

_Static_assert(VIRTIO_BLK_QUEUES <= 32, "virtio_blk.notified has one bit per queue");

struct virtio_blk {
    struct vm *vm;
    struct minidisk md;
    char id[VIRTIO_BLK_ID_BYTES];        /* GET_ID answer, NUL-padded, not necessarily terminated */
    uint64_t driver_features;            /* negotiated: accepted by the driver and offered */
    struct virtq vq[VIRTIO_BLK_QUEUES];
    bool needs_reset;                    /* transport ORs VIRTIO_STATUS_DEVICE_NEEDS_RESET into status */
    char reset_reason[96];
    struct virtio_blk_hooks hooks;
    struct virtio_blk_stats stats;
    struct virtio_blk_clock clock;
    uint64_t ticks_per_sector;           /* the disk's speed, from the last timed transfer */
    bool speed_known;
    uint32_t notified;                   /* bit per queue: notified, not yet seen empty */
    unsigned next_queue;                 /* round robin: the queue served next */
    struct virtio_blk_request req;
    struct virtq_chain chain;            /* the chain of req */
    uint8_t bounce[VIRTIO_BLK_SECTOR];   /* a sector split across guest buffers */
};

/* md and clock (NULL: none) are copied. id becomes "tessera-<guest>-<partition>" cut to 20
 * bytes. */
void virtio_blk_init(struct virtio_blk *b, struct vm *vm, const struct minidisk *md,
                     const struct virtio_blk_clock *clock);

/* Device reset (driver wrote 0 to device status): queues, features and NEEDS_RESET cleared;
 * the request in progress is dropped (no used entry) and pending device work cancelled. */
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
 * The transport writes size/addresses into it and calls virtq_enable(q, b->vm). */
struct virtq *virtio_blk_queue(struct virtio_blk *b, unsigned index);

/* The driver notified queue index: the device does one step, then returns to the guest. A step
 * continues the request in progress and takes further requests from the notified queues, round
 * robin, until its budget is used: VIRTIO_BLK_STEP_BYTES of data (each request also costs
 * VIRTIO_BLK_REQUEST_COST) or the clock's step_ticks, whichever comes first; a large request is
 * split into transfers sized to fit (on a clock, from the disk's measured speed, so that a slow
 * disk cannot overrun the time either) and carried over to later steps. Each avail entry is taken
 * once; a request's used entry is written only when all of it is done (a disk error part-way
 * fails it with IOERR). When work is left, the step sets vm->device_work to virtio_blk_run, so
 * the rest is done a step at a time in the guest's own turns, charged to its time.
 * Returns the requests completed in this step, or -1 when the index is out of range (ignored,
 * counted) or the device is (now) in NEEDS_RESET. A chain without a usable status byte, or a
 * broken ring, puts the device in NEEDS_RESET and stops it until reset; a request that merely
 * fails gets IOERR/UNSUPP and the next one is processed normally. */
int virtio_blk_notify(struct virtio_blk *b, unsigned index);

/* The deferred work (struct deferred_work.run, ctx = the device): one more step. Clears
 * vm->device_work.pending when nothing is left, the device needs a reset or was reset. A guest
 * has one device_work: one device per guest uses it. */
void virtio_blk_run(void *ctx);

#endif
