/* Fuzzes the virtio-blk request path end to end: the input becomes the queue set-up (size,
 * ring addresses, indices, features, an optional clock) and the contents of a small guest's
 * RAM (descriptor tables, rings, headers, data), then an order of notifies, deferred turns
 * (vm.device_work.run, as the run loop makes them) and resets. Whatever the guest wrote, no
 * disk access may land outside the minidisk, nothing outside it may change, memory outside
 * guest RAM is never touched (ASan), no step moves more than its budget, pending work always
 * names this device and ends, and after NEEDS_RESET the device stays stopped until reset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/virtio_blk.h"
#include "mem_blkdev.h"
#include "mem/guest_mem.h"

#define RAM_SIZE     0x10000ull
#define DISK_SECTORS 256u
#define PART_FIRST   64u
#define PART_LAST    191u
#define GUARD        0xEE

static struct vm vm;
static struct virtio_blk blk;
static struct mem_blkdev *disk;

struct fuzz_setup {
    uint8_t size_log2, flags;
    uint16_t desc, avail, used;
    uint16_t avail_idx, last_avail;
    uint8_t fail_sector, notifies;
    uint8_t clock_step, actions;    /* clock_step 0: no clock; actions: 2 bits per action */
};

#define MAX_TURNS 100000u           /* far more than any ring of this RAM can need */

/* A clock that moves on with every look and with the disk's work. */
static uint64_t fake_ticks;
static uint64_t fake_now(void)
{
    fake_ticks += 13;
    return fake_ticks + (disk->dev.stats.sectors_read + disk->dev.stats.sectors_written) * 50 +
           disk->dev.stats.flushes * 400;
}

static uint64_t disk_bytes(void)
{
    return (disk->dev.stats.sectors_read + disk->dev.stats.sectors_written) * 512;
}

static void check_pending(void)
{
    if (vm.device_work.pending && (vm.device_work.run != virtio_blk_run || vm.device_work.ctx != &blk))
        abort();
    if (blk.needs_reset && vm.device_work.pending)
        abort();
}

/* One notify or one deferred turn: never more than one step's bytes. */
static int bounded(int (*act)(void))
{
    uint64_t before = disk_bytes();
    int n = act();
    if (disk_bytes() - before > VIRTIO_BLK_STEP_BYTES)
        abort();
    if (guest_mem_live_pins(&vm) != 0)         /* every operation releases what it pinned */
        abort();
    check_pending();
    return n;
}

static unsigned notify_queue;
static int do_notify(void) { return virtio_blk_notify(&blk, notify_queue); }
static int do_turn(void)
{
    if (vm.device_work.pending)
        vm.device_work.run(vm.device_work.ctx);
    return 0;
}

static void check_disk(void)
{
    if (!mem_blkdev_all_within(disk, PART_FIRST, PART_LAST))
        abort();
    static uint8_t guard[PART_FIRST * 512];
    if (guard[0] != GUARD)
        memset(guard, GUARD, sizeof(guard));
    if (memcmp(mem_blkdev_sector(disk, 0), guard, PART_FIRST * 512) != 0 ||
        memcmp(mem_blkdev_sector(disk, PART_LAST + 1), guard, (DISK_SECTORS - PART_LAST - 1) * 512) != 0)
        abort();
}

/* Keeps descriptor addresses mostly inside RAM so the fuzzer reaches the request layer. */
static void tame_descriptors(uint64_t table, unsigned n)
{
    for (unsigned i = 0; i < n && table + 16ull * (i + 1) <= RAM_SIZE; i++) {
        uint8_t *d = vm.ram + table + 16ull * i;
        uint64_t addr;
        uint32_t len;
        memcpy(&addr, d, 8);
        memcpy(&len, d + 8, 4);
        addr &= RAM_SIZE - 1;
        len &= 0x1FFF;
        memcpy(d, &addr, 8);
        memcpy(d + 8, &len, 4);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_setup f;
    if (size < sizeof(f))
        return 0;
    memcpy(&f, data, sizeof(f));
    data += sizeof(f);
    size -= sizeof(f);

    if (!disk) {
        disk = mem_blkdev_new(DISK_SECTORS, 512, 4);
        memset(disk->data, GUARD, DISK_SECTORS * 512);   /* outside the partition it must stay so */
        vm.ram = malloc(RAM_SIZE);
        vm.ram_size = RAM_SIZE;
        strcpy(vm.name, "fuzz");
        vm_init_vcpus(&vm, 1);
    }
    mem_blkdev_clear_log(disk);
    memset(&disk->dev.stats, 0, sizeof(disk->dev.stats));
    disk->dev.ready = true;
    disk->fail_err = (f.flags & 4) ? BLKDEV_EIO : 0;
    disk->fail_lba = f.fail_sector;
    disk->fail_once = false;
    disk->fail_flush = (f.flags & 8) ? BLKDEV_EIO : 0;
    size_t used = size < RAM_SIZE ? size : RAM_SIZE;
    memcpy(vm.ram, data, used);
    memset(vm.ram + used, 0, RAM_SIZE - used);

    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "fuzzpart");
    p.first_lba = PART_FIRST;
    p.last_lba = PART_LAST;
    if (minidisk_init(&md, &disk->dev, &p, (f.flags & 1) != 0))
        abort();
    vm.device_work = (struct deferred_work){ 0 };
    vm.pin_piece_max = (f.flags & 128) ? 4096 : 0;      /* memory that is not one host range */
    const struct virtio_blk_clock clock = { fake_now, f.clock_step * 64u };
    virtio_blk_init(&blk, &vm, &md, f.clock_step ? &clock : NULL);
    virtio_blk_set_driver_features(&blk, (f.flags & 2) ? ~0ull : 1ull << VIRTIO_F_VERSION_1);

    struct virtq *q = virtio_blk_queue(&blk, 0);
    q->size = (uint16_t)(1u << (f.size_log2 % 10));     /* 1..512: 512 must be refused */
    q->desc_gpa = f.desc;
    q->avail_gpa = f.avail;
    q->used_gpa = f.used;
    if (virtq_enable(q, &vm) != VIRTQ_OK) {
        if (virtio_blk_notify(&blk, 0) > 0)             /* a disabled queue does nothing */
            abort();
        check_disk();
        return 0;
    }
    if (q->size > VIRTQ_MAX_SIZE)
        abort();
    q->last_avail_idx = f.last_avail;
    q->used_idx = f.last_avail;
    memcpy(vm.ram + f.avail + 2, &f.avail_idx, 2);
    if (f.flags & 16)
        tame_descriptors(f.desc, q->size);
    if (f.flags & 32)
        tame_descriptors(0x8000, 64);                    /* a likely place for indirect tables */

    unsigned rounds = 1 + f.notifies % 4;
    for (unsigned r = 0; r < rounds; r++) {
        unsigned action = (f.actions >> (2 * r)) & 3;
        if (action == 3 && r > 0) {                 /* the driver resets the device */
            virtio_blk_reset(&blk);
            if (vm.device_work.pending)
                abort();
            break;
        }
        if (action == 2 && r > 0) {                 /* a turn of the guest's device work */
            bounded(do_turn);
            continue;
        }
        notify_queue = (f.flags & 64) && r == 0 ? 1 : 0;
        int n = bounded(do_notify);
        if (blk.needs_reset && n >= 0)
            abort();
        /* Not q->size: a used ring laid over the avail ring makes the device's own completions
         * look like new requests; what bounds a notify is the step's budget: the request an
         * earlier step left unfinished, plus as many new ones as the budget charges for. */
        if (n > (int)(VIRTIO_BLK_STEP_BYTES / VIRTIO_BLK_REQUEST_COST) + 1)
            abort();
    }
    /* The guest's later turns finish whatever is left, and then stop asking for more. */
    for (unsigned turns = 0; vm.device_work.pending; turns++) {
        if (turns >= MAX_TURNS)
            abort();
        bounded(do_turn);
    }
    if (blk.req.phase != VIRTIO_BLK_IDLE && !blk.needs_reset)
        abort();
    /* At most one used entry per avail entry taken, however often the ring names a head. */
    if ((uint16_t)(q->used_idx - f.last_avail) > (uint16_t)(q->last_avail_idx - f.last_avail))
        abort();
    if (blk.needs_reset && virtio_blk_notify(&blk, 0) != -1)
        abort();
    check_disk();
    if ((f.flags & 1) && disk->dev.stats.writes != 0)
        abort();
    return 0;
}
