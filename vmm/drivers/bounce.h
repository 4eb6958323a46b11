/* Bounce buffering for the DMA disk drivers (AHCI, NVMe): a transfer whose buffer the controller
 * cannot use (above what it addresses, or misaligned for its descriptors) goes through a buffer
 * of the driver's that it can, piece by piece. Pure: the command itself is the driver's. */
#ifndef TESSERA_DRIVERS_BOUNCE_H
#define TESSERA_DRIVERS_BOUNCE_H

#include <stdbool.h>
#include <stdint.h>

#define BOUNCE_BUFFER_PAGES 32      /* 128 KiB per driver */

struct bounce_buffer {
    uint8_t *data;              /* reachable by the controller */
    uint64_t size;              /* bytes */
};

/* BOUNCE_BUFFER_PAGES zeroed, page-aligned pages of the hypervisor's pool (identity-mapped, so
 * usable for DMA); false when the pool is exhausted. */
bool bounce_buffer_alloc(struct bounce_buffer *b);

/* The driver's command: sectors [lba, lba + count) to or from dma_buf, which the controller can
 * reach. Returns BLKDEV_OK or a BLKDEV_E* code. */
typedef int (*bounce_io_fn)(void *driver, uint64_t lba, uint32_t count, uint8_t *dma_buf, bool write);

/* Moves count sectors of sector_size bytes between buf and sectors [lba, lba + count) in pieces
 * of as many whole sectors as the bounce buffer holds: a write piece is copied in before its
 * command, a read piece copied out after its command succeeded. The first failed piece ends the
 * transfer with its error (earlier pieces are done; a failed read is not copied out).
 * BLKDEV_EINVAL, without a command, if not even one sector fits. */
int bounce_transfer(const struct bounce_buffer *b, uint32_t sector_size, uint64_t lba, uint32_t count,
                    uint8_t *buf, bool write, bounce_io_fn io, void *driver);

#endif
