/* A fixed-size byte FIFO: the console's output queue, so a guest's console line costs its exit
 * a copy instead of the milliseconds the UART needs to send it. Pure; one producer and one
 * consumer on one CPU, no locking. */
#ifndef TESSERA_BYTE_RING_H
#define TESSERA_BYTE_RING_H

#include <stdbool.h>
#include <stdint.h>

struct byte_ring {
    uint8_t *buf;
    uint32_t size;              /* a power of two */
    uint32_t head, tail;        /* free-running: head - tail bytes are queued */
};

static inline void byte_ring_init(struct byte_ring *r, uint8_t *buf, uint32_t size_pow2)
{
    r->buf = buf;
    r->size = size_pow2;
    r->head = r->tail = 0;
}

static inline uint32_t byte_ring_used(const struct byte_ring *r) { return r->head - r->tail; }
static inline uint32_t byte_ring_free(const struct byte_ring *r) { return r->size - byte_ring_used(r); }
static inline bool byte_ring_empty(const struct byte_ring *r) { return r->head == r->tail; }

/* Queue one byte; false (and nothing queued) when full. */
static inline bool byte_ring_put(struct byte_ring *r, uint8_t c)
{
    if (byte_ring_free(r) == 0)
        return false;
    r->buf[r->head++ & (r->size - 1)] = c;
    return true;
}

/* Take the oldest byte; false when empty. */
static inline bool byte_ring_get(struct byte_ring *r, uint8_t *c)
{
    if (byte_ring_empty(r))
        return false;
    *c = r->buf[r->tail++ & (r->size - 1)];
    return true;
}

#endif
