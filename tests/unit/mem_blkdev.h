/* Host-test block device: a RAM disk with injectable errors and a record of every access that
 * reached the "driver", so tests can prove that nothing outside a partition was touched. */
#ifndef TESSERA_MEM_BLKDEV_H
#define TESSERA_MEM_BLKDEV_H

#include <stdbool.h>
#include <stdint.h>
#include "disk/blkdev.h"

enum mem_access_kind { MEM_ACCESS_READ, MEM_ACCESS_WRITE, MEM_ACCESS_FLUSH };

struct mem_access {
    enum mem_access_kind kind;
    uint64_t lba;
    uint32_t count;
};

#define MEM_BLKDEV_LOG_MAX 4096

struct mem_blkdev {
    struct blkdev dev;          /* first: a struct blkdev * is a struct mem_blkdev * */
    uint8_t *data;              /* sector_count * sector_size bytes */
    /* Error injection: an access whose range contains fail_lba fails with fail_err
     * (fail_err 0 = off); fail_flush makes flush fail. fail_once clears it after one hit. */
    uint64_t fail_lba;
    int fail_err;
    bool fail_once;
    int fail_flush;
    /* Every driver call, in order; log_count keeps counting past the array. */
    struct mem_access log[MEM_BLKDEV_LOG_MAX];
    uint64_t log_count;
    /* The lowest and highest LBA any read or write touched (lo > hi while none did). */
    uint64_t touched_lo, touched_hi;
};

/* sector_count * sector_size bytes of zeroed RAM; max_transfer 0 = unlimited. */
struct mem_blkdev *mem_blkdev_new(uint64_t sector_count, uint32_t sector_size, uint32_t max_transfer);
void mem_blkdev_free(struct mem_blkdev *m);
void mem_blkdev_clear_log(struct mem_blkdev *m);
/* True when every logged read and write lies inside [first, last] (inclusive LBAs). */
bool mem_blkdev_all_within(const struct mem_blkdev *m, uint64_t first, uint64_t last);
/* Pointer to sector lba's bytes (for building images and checking results). */
uint8_t *mem_blkdev_sector(struct mem_blkdev *m, uint64_t lba);

#endif
