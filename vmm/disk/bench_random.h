/* The random 4 KiB offsets of the disk benchmarks, shared by the hypervisor's driver measurement
 * (diskcheck_measure) and the diskbench guest, so that both visit the same slots in the same
 * order: the minidisk/driver ratio then compares like with like. Header-only: the guest
 * programs include it too. */
#ifndef TESSERA_BENCH_RANDOM_H
#define TESSERA_BENCH_RANDOM_H

#include <stdint.h>

/* SplitMix64's output function: every input bit affects every output bit. */
static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct disk_bench_random {
    uint64_t state, slots;
};

/* slots: how many 4 KiB slots the area has (> 0). */
static inline void disk_bench_random_init(struct disk_bench_random *r, uint64_t seed, uint64_t slots)
{
    r->state = seed ^ 0x5DEECE66Dull;
    r->slots = slots ? slots : 1;
}

/* The next slot, in [0, slots). */
static inline uint64_t disk_bench_random_slot(struct disk_bench_random *r)
{
    r->state = splitmix64(r->state);
    return r->state % r->slots;
}

#endif
