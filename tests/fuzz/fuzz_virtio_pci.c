/* Fuzzes the guest-visible PCI side of the minidisk device: the input is a sequence of port
 * accesses to 0xCF8-0xCFF, BAR0 (and wider guest-physical) reads and writes, guest-RAM writes
 * (to forge rings and descriptors) and notifications, against a guest whose virtio-blk PCI
 * device is optionally initialised first like a driver would, and turns of the guest's pending
 * device work as the run loop takes them. Whatever the guest does, no disk access leaves the
 * minidisk, no single access or turn moves more than one step's budget, pending work always
 * names this guest's device, the bus never holds a region over RAM or overlapping another,
 * and ASan/UBSan see nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dev/pci_host.h"
#include "dev/ports.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_pci.h"
#include "guest/board.h"
#include "mem/gpa_bus.h"
#include "mem_blkdev.h"
#include "fuzz_input.h"

#define RAM_SIZE     0x10000ull
#define DISK_SECTORS 256u
#define PART_FIRST   64u
#define PART_LAST    191u
#define MAX_OPS      512

static struct vm vm;
static uint8_t *ram;
static struct mem_blkdev *disk;


/* A clock that moves on with every look and with the disk's work. */
static uint64_t fake_ticks;
static uint64_t fake_now(void)
{
    fake_ticks += 11;
    return fake_ticks + (disk->dev.stats.sectors_read + disk->dev.stats.sectors_written) * 40;
}

static uint64_t disk_bytes(void)
{
    return (disk->dev.stats.sectors_read + disk->dev.stats.sectors_written) * 512;
}

static void check_invariants(uint64_t disk_bytes_before)
{
    if (!mem_blkdev_all_within(disk, PART_FIRST, PART_LAST))
        abort();
    if (disk_bytes() - disk_bytes_before > VIRTIO_BLK_STEP_BYTES)
        abort();
    struct virtio_blk *b = virtio_blk_pci_device(&vm);
    if (vm.device_work.pending && (vm.device_work.run != virtio_blk_run || vm.device_work.ctx != b))
        abort();
    if (b->needs_reset && vm.device_work.pending)
        abort();
    for (unsigned i = 0; i < vm.bus.mmio.count; i++) {
        const struct io_range *r = io_range_at(&vm.bus.mmio, i);
        if (r->size == 0 || r->base < vm.ram_size || r->base + (r->size - 1) < r->base)
            abort();
        for (unsigned j = i + 1; j < vm.bus.mmio.count; j++) {
            const struct io_range *s = io_range_at(&vm.bus.mmio, j);
            if (r->base <= s->base + (s->size - 1) && s->base <= r->base + (r->size - 1))
                abort();
        }
    }
}

static void bar_write(uint64_t offset, unsigned size, uint64_t v)
{
    gpa_write(&vm, virtio_pci_bar_base(RAM_SIZE) + offset, size, v);
}

/* Reset, ACKNOWLEDGE, DRIVER, VERSION_1 (+ what the input adds), FEATURES_OK, queue 0 with
 * rings at fixed places, DRIVER_OK. */
static void driver_init(uint32_t extra_features, uint16_t qsize)
{
    bar_write(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    bar_write(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    bar_write(VIRTIO_PCI_COMMON_GF, 4, extra_features);
    bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    bar_write(VIRTIO_PCI_COMMON_GF, 4, 1);
    bar_write(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
    bar_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    bar_write(VIRTIO_PCI_COMMON_Q_SIZE, 2, qsize);
    bar_write(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x1000);
    bar_write(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, 0x2000);
    bar_write(VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0x3000);
    bar_write(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    bar_write(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
}

/* A well-formed request for the input to mutate: header, data, status chained from
 * descriptor 0 and made available, so the fuzzer starts next to the request layer. */
static void plant_request(uint32_t type, uint64_t sector, uint16_t sectors)
{
    static const struct { uint64_t addr; uint32_t len; uint16_t flags, next; } chain[3] = {
        { 0x4000, 16, VIRTQ_DESC_F_NEXT, 1 },
        { 0x5000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 },
        { 0x7000, 1, VIRTQ_DESC_F_WRITE, 0 },
    };
    for (unsigned i = 0; i < 3; i++) {
        uint8_t *d = ram + 0x1000 + 16 * i;
        uint32_t len = i == 1 ? 512u * (sectors & 7) : chain[i].len;
        uint16_t flags = chain[i].flags;
        if (i == 1 && (type & 1))
            flags &= (uint16_t)~VIRTQ_DESC_F_WRITE;    /* OUT: the data is device-readable */
        memcpy(d, &chain[i].addr, 8);
        memcpy(d + 8, &len, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &chain[i].next, 2);
    }
    memcpy(ram + 0x4000, &type, 4);
    memcpy(ram + 0x4008, &sector, 8);
    uint16_t one = 1;
    memcpy(ram + 0x2002, &one, 2);                      /* avail->idx = 1, ring[0] = head 0 */
}

static unsigned pick_size(uint8_t b)
{
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    return sizes[b & 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = { data, size };
    if (!disk) {
        disk = mem_blkdev_new(DISK_SECTORS, 512, 8);
        ram = malloc(RAM_SIZE);
    }
    virtio_blk_pci_detach(&vm);
    memset(&vm, 0, sizeof(vm));
    memset(ram, 0, RAM_SIZE);
    strcpy(vm.name, "fuzz");
    vm_init_vcpus(&vm, 1);
    vm.ram = ram;
    vm.ram_size = RAM_SIZE;
    board_assemble(&vm);
    mem_blkdev_clear_log(disk);

    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "fz");
    p.first_lba = PART_FIRST;
    p.last_lba = PART_LAST;
    uint8_t mode = (uint8_t)take(&c, 1);
    const struct virtio_blk_clock clock = { fake_now, take(&c, 1) * 32u };
    if (minidisk_init(&md, &disk->dev, &p, mode & 0x80) != 0 ||
        virtio_blk_pci_attach(&vm, &md, clock.step_ticks ? &clock : NULL) != 0)
        abort();
    if (mode & 1) {
        driver_init((uint32_t)take(&c, 4), (uint16_t)(1u << ((mode >> 1) & 7)));
        uint32_t type = (uint32_t)take(&c, 1) % 10;
        uint64_t sector = take(&c, 1) & 0x80 ? take(&c, 8) : take(&c, 1);
        plant_request(type, sector, (uint16_t)take(&c, 1));
    }

    for (unsigned n = 0; n < MAX_OPS && c.left; n++) {
        uint64_t bytes_before = disk_bytes();
        uint8_t op = (uint8_t)take(&c, 1);
        uint8_t arg = (uint8_t)take(&c, 1);
        uint32_t v32;
        switch (op & 7) {
        case 0:     /* configuration port write */
            port_out(&vm, (uint16_t)(PCI_PORT_CONFIG_ADDRESS + (arg & 7)), pick_size(arg >> 3) & 7,
                     (uint32_t)take(&c, 4));
            break;
        case 1:     /* configuration port read */
            port_in(&vm, (uint16_t)(PCI_PORT_CONFIG_ADDRESS + (arg & 7)), pick_size(arg >> 3) & 7, &v32);
            break;
        case 2: {   /* BAR0 write where it was placed (a moved BAR leaves this empty) */
            uint64_t off = take(&c, 2) & 0x7FFF;
            bar_write(off, pick_size(arg), take(&c, 8));
            break;
        }
        case 3:
            (void)gpa_read(&vm, virtio_pci_bar_base(RAM_SIZE) + (take(&c, 2) & 0x7FFF), pick_size(arg));
            break;
        case 4: {   /* forge guest RAM: mostly the rings, descriptors and headers */
            uint64_t off = take(&c, 2) & (arg & 1 ? RAM_SIZE - 8 : 0x7FF8);
            uint64_t v = take(&c, 8);
            memcpy(ram + off, &v, 8);
            break;
        }
        case 5:     /* notify queue (arg & 3) at wherever BAR0 now is, or a run-loop turn */
            if (arg & 0x80) {
                if (vm.device_work.pending)
                    vm.device_work.run(vm.device_work.ctx);
                break;
            }
            gpa_write(&vm, pci_function_bar_address(&virtio_blk_pci_transport(&vm)->fn, 0) +
                      VIRTIO_PCI_NOTIFY_OFFSET + 4 * (arg & 3), 2, arg & 3);
            break;
        case 6: {   /* anywhere in guest-physical space */
            uint64_t gpa = take(&c, 8);
            if (arg & 0x80)
                gpa_write(&vm, gpa, pick_size(arg), take(&c, 8));
            else
                (void)gpa_read(&vm, gpa, pick_size(arg));
            break;
        }
        default: {  /* direct BAR0 access, any offset and size */
            struct virtio_pci *vp = virtio_blk_pci_transport(&vm);
            uint64_t off = take(&c, 8);
            if (arg & 0x80)
                virtio_pci_bar_write(vp, off, arg & 15, take(&c, 8));
            else
                (void)virtio_pci_bar_read(vp, off, arg & 15);
            break;
        }
        }
        check_invariants(bytes_before);
    }
    /* Left alone, the guest's turns finish the work and then stop. */
    for (unsigned turns = 0; vm.device_work.pending; turns++) {
        uint64_t bytes_before = disk_bytes();
        if (turns >= 100000)
            abort();
        vm.device_work.run(vm.device_work.ctx);
        check_invariants(bytes_before);
    }
    return 0;
}
