/* Split virtqueues (virtio 1.x, section 2.7) in guest RAM, from the device side: validate the
 * ring addresses the driver chose, pop descriptor chains (every address and length checked
 * against guest RAM, loops and over-long chains refused, indirect tables supported), and push
 * used elements. The driver may change the rings at any time, so every ring field is read
 * exactly once per operation into a local, and only the local is used. */
#ifndef TESSERA_VIRTQUEUE_H
#define TESSERA_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/vm.h"

#define VIRTQ_MAX_SIZE 256u         /* largest queue we accept (reported as QueueNumMax) */

#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

#define VIRTIO_F_INDIRECT_DESC 28   /* feature bit: offered, see virtq.indirect_ok */
#define VIRTIO_F_VERSION_1     32

/* virtq_pop / virtq_push results. Negative values are device errors: the queue is marked broken
 * and the transport must set DEVICE_NEEDS_RESET; only a device reset clears it. */
#define VIRTQ_OK          0
#define VIRTQ_EAVAIL_IDX  -1   /* avail->idx ran more than the queue size ahead of us */
#define VIRTQ_EHEAD       -2   /* avail ring names a descriptor index >= queue size */
#define VIRTQ_ENEXT       -3   /* a next index outside the (direct or indirect) table */
#define VIRTQ_ELOOP       -4   /* chain loops or is longer than the queue size */
#define VIRTQ_EINDIRECT   -5   /* bad indirect descriptor: nested, with NEXT, length 0 or not a
                                  multiple of 16, table outside RAM, or not negotiated */
#define VIRTQ_ERING       -6   /* ring area not in guest RAM (cannot happen after virtq_enable) */
#define VIRTQ_EBROKEN     -7   /* the queue already failed; waiting for reset */
#define VIRTQ_ESETUP      -8   /* virtq_enable: size or ring addresses unusable */

/* One buffer of a chain, in chain order. in_ram says whether [gpa, gpa + len) is guest RAM. */
struct virtq_seg {
    uint64_t gpa;
    uint32_t len;
    bool writable;              /* device-writable (VIRTQ_DESC_F_WRITE) */
    bool in_ram;
};

/* A popped chain. A segment outside RAM does not break the queue (the device can still fail
 * the request through its status byte); bad_seg names the first such segment, or is -1. */
struct virtq_chain {
    uint16_t head;              /* what virtq_push must return */
    unsigned count;
    int bad_seg;
    struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

struct virtq {
    /* Set by the transport from the driver's writes before virtq_enable. */
    uint16_t size;              /* power of two, 1..VIRTQ_MAX_SIZE */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool indirect_ok;           /* VIRTIO_F_INDIRECT_DESC negotiated */

    /* Device state. */
    bool enabled;
    bool broken;
    int error;                  /* the VIRTQ_E* that broke it */
    uint16_t last_avail_idx;    /* next avail ring slot to consume */
    uint16_t used_idx;          /* our copy; the guest's used->idx is only ever written */
};

/* Back to the reset state (size = VIRTQ_MAX_SIZE, addresses 0, disabled, not broken). */
void virtq_reset(struct virtq *q);

/* Validate size (power of two <= VIRTQ_MAX_SIZE) and the three areas (inside guest RAM, with
 * the alignment of section 2.7: descriptors 16, avail 2, used 4) and enable the queue.
 * VIRTQ_OK or VIRTQ_ESETUP (queue stays disabled). */
int virtq_enable(struct virtq *q, const struct vm *vm);

/* Take the next available chain. 1: c filled in; 0: nothing available (or queue disabled);
 * negative: VIRTQ_E*, the queue is now broken. */
int virtq_pop(struct virtq *q, const struct vm *vm, struct virtq_chain *c);

/* Whether the avail ring holds an entry not yet taken (false when disabled or broken). Takes
 * nothing; a later virtq_pop may still refuse what it finds. */
bool virtq_has_available(const struct virtq *q, const struct vm *vm);

/* Return chain head to the driver with len bytes written into its buffers. */
int virtq_push(struct virtq *q, struct vm *vm, uint16_t head, uint32_t len);

/* Whether the driver asked not to be interrupted (avail->flags NO_INTERRUPT), for the
 * interrupt path to come. */
bool virtq_interrupt_suppressed(const struct virtq *q, const struct vm *vm);

const char *virtq_strerror(int err);

#endif
