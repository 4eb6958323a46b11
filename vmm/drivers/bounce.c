/* Splitting and copying of bounce-buffered disk transfers (bounce.h). */
#include "disk/blkdev.h"
#include "drivers/bounce.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"

#define PAGE_BYTES 4096u

bool bounce_buffer_alloc(struct bounce_buffer *b)
{
    b->data = page_alloc(BOUNCE_BUFFER_PAGES);
    b->size = b->data ? BOUNCE_BUFFER_PAGES * PAGE_BYTES : 0;
    return b->data != NULL;
}

int bounce_transfer(const struct bounce_buffer *b, uint32_t sector_size, uint64_t lba, uint32_t count,
                    uint8_t *buf, bool write, bounce_io_fn io, void *driver)
{
    uint64_t per_piece = sector_size ? b->size / sector_size : 0;
    if (!b->data || per_piece == 0)
        return BLKDEV_EINVAL;
    while (count) {
        uint32_t n = count < per_piece ? count : (uint32_t)per_piece;
        uint64_t bytes = (uint64_t)n * sector_size;
        if (write)
            memcpy(b->data, buf, bytes);
        int err = io(driver, lba, n, b->data, write);
        if (err)
            return err;
        if (!write)
            memcpy(buf, b->data, bytes);
        lba += n;
        count -= n;
        buf += bytes;
    }
    return BLKDEV_OK;
}
