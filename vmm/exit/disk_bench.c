/* HC_DISK_BENCH: runs diskcheck_measure on the caller's minidisk with the caller's parameters.
 * The request is copied out of guest memory once, checked, and the answer copied back. */
#include "exit/disk_bench.h"
#include "disk/minidisk.h"
#include "hypercall.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/guest_mem.h"

static struct diskcheck_env bench_host;
static bool bench_enabled;

void disk_bench_enable(const struct diskcheck_env *host)
{
    bench_enabled = host != NULL;
    if (host)
        bench_host = *host;
}

int64_t hypercall_disk_bench(struct vm *vm, uint64_t gpa, uint64_t size)
{
    if (!bench_enabled)
        return HC_EPERM;
    if (size != sizeof(struct hc_disk_bench))
        return HC_EINVAL;
    struct hc_disk_bench req;
    if (!guest_mem_read(vm, gpa, &req, sizeof(req)))
        return HC_EFAULT;

    const struct minidisk *md = vm->disk;
    if (!md)
        return HC_ENODEV;
    if (md->read_only)
        return HC_EROFS;
    if (req.request_bytes == 0 || req.request_bytes % BLKDEV_SECTOR_SIZE != 0 ||
        req.request_bytes > HC_DISK_BENCH_REQUEST_MAX || req.request_bytes > bench_host.buf_size ||
        req.random_ops > HC_DISK_BENCH_RANDOM_MAX)
        return HC_EINVAL;

    struct diskcheck_env env = bench_host;
    env.seq_bytes = req.seq_bytes;
    env.seq_request_bytes = (uint32_t)req.request_bytes;
    env.random_ops = (uint32_t)req.random_ops;
    env.seed = req.seed;
    log_printf("tessera: guest %s: measuring the disk driver on its minidisk '%s' (HC_DISK_BENCH); other guests "
               "wait\n", vm->name, md->part_name);
    struct diskcheck_perf perf;
    int err = diskcheck_measure(md->dev, md->start_lba, md->sectors, &env, &perf);
    if (err != BLKDEV_OK) {
        log_printf("tessera: guest %s: disk driver measurement failed: %s\n", vm->name, blkdev_strerror(err));
        return err == BLKDEV_EINVAL ? HC_EINVAL : HC_EIO;
    }
    req.seq_write_bytes = perf.seq_write_bytes;
    req.seq_write_ticks = perf.seq_write_ticks;
    req.seq_read_bytes = perf.seq_read_bytes;
    req.seq_read_ticks = perf.seq_read_ticks;
    req.rand_write_ops = perf.rand_write_ops;
    req.rand_write_ticks = perf.rand_write_ticks;
    req.rand_read_ops = perf.rand_read_ops;
    req.rand_read_ticks = perf.rand_read_ticks;
    if (!guest_mem_write(vm, gpa, &req, sizeof(req)))
        return HC_EFAULT;
    return 0;
}
