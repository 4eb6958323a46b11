/* The disk self-check: runs the native driver, the GPT reader and the minidisk layer against
 * the real boot disk and reports one `ok N - ...` / `not ok N - ...` line per check, ending with
 * `N passed, M failed`. Partitions named selfcheck* are scratch space and get written; every
 * other partition is only read. Also measures the driver's own throughput, the baseline against
 * which the minidisk overhead is judged. If the device reported errors, a last check proves that
 * the driver recovered (the disk still reads correctly). Needs no VMX. */
#ifndef TESSERA_DISKCHECK_H
#define TESSERA_DISKCHECK_H

#include <stddef.h>
#include <stdint.h>
#include "bootinfo.h"
#include "disk/blkdev.h"

#define DISKCHECK_PREFIX   "selfcheck"
#define DISKCHECK_BUF_MIN  ((256u << 10) + 4096u)   /* scratch the checks need */

struct diskcheck_env {
    uint64_t (*now)(void);      /* a monotonic tick counter (the TSC on the machine) */
    uint64_t ticks_per_ms;      /* tsc_calibrate_khz() */
    uint8_t *buf;               /* scratch of buf_size >= DISKCHECK_BUF_MIN bytes */
    size_t buf_size;
    uint64_t seed;              /* patterns and random offsets; any value */
    uint64_t seq_bytes;         /* bytes per sequential test (clipped to the partition) */
    uint32_t seq_request_bytes; /* bytes per sequential request; 0 = 1 MiB (clipped to buf_size) */
    uint32_t random_ops;        /* 4 KiB requests per random test */
};

struct diskcheck_perf {
    uint64_t seq_write_bytes, seq_write_ticks;
    uint64_t seq_read_bytes, seq_read_ticks;
    uint64_t rand_write_ops, rand_write_ticks;
    uint64_t rand_read_ops, rand_read_ticks;
};

struct diskcheck_result {
    unsigned passed, failed;
    int measured;               /* perf holds figures */
    struct diskcheck_perf perf;
};

/* All checks on d, printed as they run. Pure apart from d's driver. */
void diskcheck_execute(struct blkdev *d, const struct diskcheck_env *env, struct diskcheck_result *out);

/* Driver throughput over physical sectors [first, first + sectors) of d, which it overwrites:
 * sequential write then read of min(env->seq_bytes, the range) in requests of
 * env->seq_request_bytes, then env->random_ops 4 KiB random writes and reads, at the offsets
 * disk_bench_random_slot() gives for env->seed. BLKDEV_OK, or the first I/O error. */
int diskcheck_measure(struct blkdev *d, uint64_t first, uint64_t sectors, const struct diskcheck_env *env,
                      struct diskcheck_perf *out);

/* Rates from a measurement: MB/s in tenths (10^6 bytes) and requests per second; 0 when the
 * elapsed ticks are 0. */
uint64_t diskcheck_mbps_tenths(uint64_t bytes, uint64_t ticks, uint64_t ticks_per_ms);
uint64_t diskcheck_iops(uint64_t ops, uint64_t ticks, uint64_t ticks_per_ms);

/* On the machine: open the boot disk, run diskcheck_execute, print the summary, power off.
 * Called by vmm_main instead of the VMX part when bi->flags has BOOTINFO_F_DISKCHECK. */
void diskcheck_run(const struct bootinfo *bi);

#endif
