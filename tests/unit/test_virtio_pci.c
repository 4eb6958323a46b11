/* Tests for the virtio 1.x PCI transport (vmm/dev/virtio_pci.c) as a guest driver sees it: PCI
 * discovery through ports 0xCF8/0xCFC, the virtio capabilities, BAR0 through gpa_read/gpa_write,
 * the device-status state machine, feature negotiation, queue setup, notifications that run
 * real virtio-blk requests against a RAM disk, NEEDS_RESET, the PCI_CFG window, and attach. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/pci_host.h"
#include "dev/ports.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_pci.h"
#include "mem/gpa_bus.h"
#include "test_guest_helpers.h"
#include "mem_blkdev.h"

#define RAM_SIZE   0x100000ull
#define DESC_GPA   0x1000ull
#define AVAIL_GPA  0x2000ull
#define USED_GPA   0x3000ull
#define HDR_GPA    0x8000ull
#define DATA_GPA   0x9000ull
#define STATUS_GPA 0xA000ull
#define QSIZE      16

#define DISK_SECTORS 4096u
#define PART_FIRST   1000u
#define PART_LAST    1999u

#define F_VERSION_1 (1ull << 32)
#define F_FLUSH     (1ull << VIRTIO_BLK_F_FLUSH)

static struct vm *vm;
static struct vcpu *vcpu;
static struct mem_blkdev *disk;
static uint16_t avail_idx;

/* What discovery found, as a driver would record it. */
static struct {
    unsigned dev;
    uint64_t bar;
    uint32_t common, notify, isr, device, notify_mult, device_len, common_len;
    unsigned pci_cfg;
} d;

static void w16(uint64_t gpa, uint16_t v) { memcpy(vm->ram + gpa, &v, 2); }
static void w32(uint64_t gpa, uint32_t v) { memcpy(vm->ram + gpa, &v, 4); }
static void w64(uint64_t gpa, uint64_t v) { memcpy(vm->ram + gpa, &v, 8); }
static uint16_t r16(uint64_t gpa) { uint16_t v; memcpy(&v, vm->ram + gpa, 2); return v; }
static uint32_t r32(uint64_t gpa) { uint32_t v; memcpy(&v, vm->ram + gpa, 4); return v; }

static uint32_t cfg_read(unsigned dev, unsigned reg, unsigned size)
{
    uint32_t v;
    port_out(vm, PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE | dev << 11 | (reg & 0xFC));
    port_in(vm, (uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 3)), size, &v);
    return v;
}

static void cfg_write(unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
    port_out(vm, PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE | dev << 11 | (reg & 0xFC));
    port_out(vm, (uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 3)), size, v);
}

static uint64_t common_rd(unsigned off, unsigned size) { return gpa_read(vm, d.bar + d.common + off, size); }
static void common_wr(unsigned off, unsigned size, uint64_t v) { gpa_write(vm, d.bar + d.common + off, size, v); }
static uint8_t status(void) { return (uint8_t)common_rd(VIRTIO_PCI_COMMON_STATUS, 1); }
static void set_status(uint8_t s) { common_wr(VIRTIO_PCI_COMMON_STATUS, 1, s); }

/* Scan bus 0, then walk the capability list for the virtio structures. */
static void discover(void)
{
    memset(&d, 0, sizeof(d));
    d.dev = 0xFF;
    for (unsigned dev = 0; dev < 32; dev++)
        if (cfg_read(dev, PCI_VENDOR_ID, 4) == (0x1042u << 16 | 0x1AF4))
            d.dev = dev;
    assert_int_equal(d.dev, VIRTIO_BLK_PCI_SLOT);
    assert_true(cfg_read(d.dev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    uint32_t bar_lo = cfg_read(d.dev, PCI_BAR0, 4);
    assert_int_equal(bar_lo & 0xF, PCI_BAR_MEM_TYPE_64);
    d.bar = (uint64_t)cfg_read(d.dev, PCI_BAR0 + 4, 4) << 32 | (bar_lo & ~0xFu);
    unsigned seen = 0, hops = 0;
    for (unsigned at = cfg_read(d.dev, PCI_CAPABILITY_LIST, 1); at; at = cfg_read(d.dev, at + 1, 1)) {
        assert_true(++hops < 48);
        assert_int_equal(at & 3, 0);
        if (cfg_read(d.dev, at, 1) != PCI_CAP_ID_VNDR)
            continue;
        unsigned type = cfg_read(d.dev, at + 3, 1);
        assert_int_equal(cfg_read(d.dev, at + 4, 1), 0);     /* BAR0 */
        uint32_t off = cfg_read(d.dev, at + 8, 4), len = cfg_read(d.dev, at + 12, 4);
        seen |= 1u << type;
        switch (type) {
        case VIRTIO_PCI_CAP_COMMON_CFG: d.common = off; d.common_len = len; break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG: d.notify = off; d.notify_mult = cfg_read(d.dev, at + 16, 4); break;
        case VIRTIO_PCI_CAP_ISR_CFG: d.isr = off; assert_true(len >= 1); break;
        case VIRTIO_PCI_CAP_DEVICE_CFG: d.device = off; d.device_len = len; break;
        case VIRTIO_PCI_CAP_PCI_CFG: d.pci_cfg = at; assert_int_equal(cfg_read(d.dev, at + 2, 1), 20); break;
        }
    }
    assert_int_equal(seen, 0x3E);
}

static void setup_queue(uint16_t size)
{
    common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, DESC_GPA);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
    common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, AVAIL_GPA);
    common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
    common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, USED_GPA);
    common_wr(VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
    common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

/* Section 3.1.1, steps 1-8. Returns the status after FEATURES_OK. */
static uint8_t negotiate(uint64_t features)
{
    set_status(0);
    assert_int_equal(status(), 0);
    set_status(VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    common_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    common_wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
    common_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    common_wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(features >> 32));
    set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return status();
}

static void driver_init(uint64_t features)
{
    assert_int_equal(negotiate(features), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                          VIRTIO_STATUS_FEATURES_OK);
    setup_queue(QSIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
               VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(status(), 0x0F);
    avail_idx = 0;
}

static void notify_queue0(void)
{
    uint32_t noff = (uint32_t)common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2);
    gpa_write(vm, d.bar + d.notify + noff * d.notify_mult, 2, 0);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t at = DESC_GPA + 16ull * i;
    w64(at, addr);
    w32(at + 8, len);
    w16(at + 12, flags);
    w16(at + 14, next);
}

static void post_head(uint16_t head)
{
    w16(AVAIL_GPA + 4 + 2ull * (avail_idx % QSIZE), head);
    avail_idx++;
    w16(AVAIL_GPA + 2, avail_idx);
}

/* One sector request: header, data, status. Returns the status byte after the notify. */
static uint8_t request(uint32_t type, uint64_t sector)
{
    w32(HDR_GPA, type);
    w32(HDR_GPA + 4, 0);
    w64(HDR_GPA + 8, sector);
    vm->ram[STATUS_GPA] = 0xAA;
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA_GPA, 512, (uint16_t)(VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0)), 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    post_head(0);
    notify_queue0();
    return vm->ram[STATUS_GPA];
}

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("vm1", RAM_SIZE);
    vcpu = test_vcpu(vm);
    disk = mem_blkdev_new(DISK_SECTORS, 512, 0);
    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "guest1");
    p.first_lba = PART_FIRST;
    p.last_lba = PART_LAST;
    assert_int_equal(minidisk_init(&md, &disk->dev, &p, false), 0);
    assert_int_equal(virtio_blk_pci_attach(vm, &md, NULL), 0);
    discover();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_true(mem_blkdev_all_within(disk, PART_FIRST, PART_LAST));
    virtio_blk_pci_detach(vm);
    assert_null(vm->pci);
    assert_int_equal(vm->bus.mmio.count, 0);
    mem_blkdev_free(disk);
    test_vm_free(vm);
    return 0;
}

static void test_pci_identity(void **state)
{
    (void)state;
    assert_int_equal(cfg_read(0, PCI_VENDOR_ID, 4), 0x29C08086);       /* host bridge */
    assert_int_equal(cfg_read(d.dev, PCI_REVISION_ID, 4), 0x01800001); /* class 01/80/00, rev 1 */
    assert_int_equal(cfg_read(d.dev, PCI_SUBSYSTEM_VENDOR, 4), 0x00021AF4);
    /* INTA on the board's legacy IRQ: a line Linux keeps (below 16), so it can fall back to INTx. */
    assert_int_equal(cfg_read(d.dev, PCI_INTERRUPT_LINE, 2), 0x0100 | PCI_HOST_INTX_IRQ);
    assert_true(PCI_HOST_INTX_IRQ > 2 && PCI_HOST_INTX_IRQ < 16);
    assert_int_equal(cfg_read(d.dev, PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(cfg_read(d.dev, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_int_equal(d.bar, 0xE0000000ull);
    assert_int_equal(d.common, VIRTIO_PCI_COMMON_OFFSET);
    assert_true(d.common_len >= 0x38);
    assert_int_equal(d.notify_mult, 4);
    assert_int_equal(d.device_len, VIRTIO_BLK_CONFIG_SIZE);
    /* BAR0 sizing: 16 KiB, 64-bit. */
    cfg_write(d.dev, PCI_BAR0, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(d.dev, PCI_BAR0, 4), 0xFFFFC004);
    cfg_write(d.dev, PCI_BAR0, 4, 0xE0000000);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    /* Capacity through the device configuration, 64-bit and as two dwords. */
    assert_int_equal(gpa_read(vm, d.bar + d.device, 8), PART_LAST - PART_FIRST + 1);
    assert_int_equal(gpa_read(vm, d.bar + d.device, 4), PART_LAST - PART_FIRST + 1);
    assert_int_equal(gpa_read(vm, d.bar + d.device + 4, 4), 0);
    assert_int_equal(gpa_read(vm, d.bar + d.device + 20, 4), 512);      /* blk_size */
}

static void test_bar_placement_rule(void **state)
{
    (void)state;
    assert_int_equal(virtio_pci_bar_base(0), 0xE0000000ull);
    assert_int_equal(virtio_pci_bar_base(RAM_SIZE), 0xE0000000ull);
    assert_int_equal(virtio_pci_bar_base(0xE0000000ull), 0xE0000000ull);
    assert_int_equal(virtio_pci_bar_base(0xE0000001ull), 0x100000000ull);
    assert_int_equal(virtio_pci_bar_base(0x100000000ull), 0x100000000ull);
    assert_int_equal(virtio_pci_bar_base(0x100000001ull), 0x200000000ull);
    assert_int_equal(virtio_pci_bar_base(64ull << 30), 64ull << 30);
    for (uint64_t ram = 0; ram <= (64ull << 30); ram += 0x7FF01000ull) {
        uint64_t base = virtio_pci_bar_base(ram);
        assert_true(base >= ram);
        assert_int_equal(base & (VIRTIO_PCI_BAR_SIZE - 1), 0);
    }
    assert_int_equal(virtio_pci_bar_base(~0ull), 0);
}

static void test_full_init_and_io(void **state)
{
    (void)state;
    common_wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    uint64_t offered = common_rd(VIRTIO_PCI_COMMON_DF, 4);
    common_wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    offered |= common_rd(VIRTIO_PCI_COMMON_DF, 4) << 32;
    struct virtio_blk *b = virtio_blk_pci_device(vm);
    assert_int_equal(offered, virtio_blk_device_features(b));
    assert_true(offered & F_VERSION_1);
    driver_init(F_VERSION_1 | F_FLUSH);
    assert_int_equal(b->driver_features, F_VERSION_1 | F_FLUSH);

    /* Write a pattern to guest sector 5, then read it back into cleared RAM. */
    for (unsigned i = 0; i < 512; i++)
        vm->ram[DATA_GPA + i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(request(VIRTIO_BLK_T_OUT, 5), VIRTIO_BLK_S_OK);
    assert_int_equal(r16(USED_GPA + 2), 1);
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST + 5), vm->ram + DATA_GPA, 512);
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), 1);      /* used-ring bit, cleared by the read */
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), 0);

    memset(vm->ram + DATA_GPA, 0, 512);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 5), VIRTIO_BLK_S_OK);
    assert_int_equal(r16(USED_GPA + 2), 2);
    assert_int_equal(r32(USED_GPA + 4 + 8 + 4), 513);         /* second used element: data + status */
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST + 5), vm->ram + DATA_GPA, 512);

    /* Out of the minidisk: IOERR from the backend, device still fine. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, PART_LAST - PART_FIRST + 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
    assert_int_equal(status(), 0x0F);
    assert_int_equal(virtio_blk_pci_transport(vm)->stats.notifies, 4);
}

static void test_feature_negotiation(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    /* A feature the device does not offer (bit 0: legacy BARRIER; bit 40): refused. */
    assert_int_equal(negotiate(F_VERSION_1 | 1), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    assert_int_equal(negotiate(F_VERSION_1 | 1ull << 40), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    /* No VERSION_1: a legacy driver; refused. */
    assert_int_equal(negotiate(F_FLUSH), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    assert_int_equal(vp->stats.refused_features, 3);
    /* DRIVER_OK without FEATURES_OK does not stick, and the queue cannot be enabled. */
    set_status(0x07);
    assert_int_equal(status(), 0x03);
    setup_queue(QSIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(virtio_blk_pci_device(vm)->driver_features, 0);
    /* The driver may read back what it wrote; selectors beyond 1 read 0. */
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_GFSELECT, 4), 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
    common_wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_DF, 4), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 2);
    common_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 7);
    common_wr(VIRTIO_PCI_COMMON_GF, 4, 0xFFFFFFFF);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
    /* Accepted: the subset reaches the backend; later driver_feature writes are ignored. */
    assert_int_equal(negotiate(F_VERSION_1), 0x0B);
    common_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    common_wr(VIRTIO_PCI_COMMON_GF, 4, 1u << VIRTIO_BLK_F_FLUSH);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
    assert_int_equal(virtio_blk_pci_device(vm)->driver_features, F_VERSION_1);
    /* Status bits are only cleared by a reset; NEEDS_RESET cannot be set by the driver. */
    set_status(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(status(), 0x0B);
    set_status(0x0B | VIRTIO_STATUS_FAILED);
    assert_int_equal(status(), 0x8B);
}

static void test_queue_registers(void **state)
{
    (void)state;
    assert_int_equal(negotiate(F_VERSION_1), 0x0B);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    common_wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_CFGGEN, 1), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_PCI_NO_VECTOR);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
    static const uint16_t bad_sizes[] = { 0, 3, 24, 512, 0x8000 };
    for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, bad_sizes[i]);
        assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    }
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 1);
    /* 64-bit addresses: as two dwords, and as one 8-byte access. */
    common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x11223340);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0x55);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x5511223340ull);
    common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 8, 0x123456789Aull);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_AVAILLO, 4), 0x3456789A);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_AVAILHI, 4), 0x12);
    /* A queue that does not exist: size 0, nothing sticks. */
    common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 16);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, DESC_GPA);
    common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0xFFFF);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    /* Enabled: the registers freeze; writing 0 to queue_enable does not disable. */
    setup_queue(QSIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x5000);
    common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QSIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), DESC_GPA);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    assert_int_equal(virtio_blk_pci_device(vm)->vq[0].size, QSIZE);
    assert_int_equal(virtio_blk_pci_device(vm)->vq[0].used_gpa, USED_GPA);
    /* After DRIVER_OK nothing about the queue changes either. */
    set_status(0x0F);
    set_status(0);
    assert_int_equal(negotiate(F_VERSION_1), 0x0B);
    set_status(0x0F);
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
    common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
}

static void test_access_sizes(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    driver_init(F_VERSION_1);
    uint64_t bad = vp->stats.bad_accesses;
    /* Common configuration: natural widths only. */
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_DF, 1), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_DF, 2), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_DF, 8), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_STATUS, 4), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_STATUS, 2), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_NUMQ, 4), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE + 1, 1), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO + 2, 4), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_DESCHI, 8), 0);     /* 8-byte must be aligned */
    assert_int_equal(common_rd(0x38, 4), 0);                            /* past the structure */
    assert_int_equal(common_rd(0xFFC, 4), 0);
    common_wr(VIRTIO_PCI_COMMON_STATUS, 4, 0);                          /* not a reset: ignored */
    common_wr(VIRTIO_PCI_COMMON_STATUS, 2, 0);
    assert_int_equal(status(), 0x0F);
    assert_int_equal(vp->stats.bad_accesses, bad + 13);
    /* Device configuration: any width inside it; outside reads 0; writes go nowhere. */
    assert_int_equal(gpa_read(vm, d.bar + d.device, 1), (PART_LAST - PART_FIRST + 1) & 0xFF);
    assert_int_equal(gpa_read(vm, d.bar + d.device, 2), PART_LAST - PART_FIRST + 1);
    assert_int_equal(gpa_read(vm, d.bar + d.device + VIRTIO_BLK_CONFIG_SIZE - 2, 4), 0);
    assert_int_equal(gpa_read(vm, d.bar + d.device + 0x800, 4), 0);
    gpa_write(vm, d.bar + d.device, 8, 0);
    assert_int_equal(gpa_read(vm, d.bar + d.device, 8), PART_LAST - PART_FIRST + 1);
    /* ISR is read-only; notification area reads 0; BAR0 accesses at its end split cleanly. */
    gpa_write(vm, d.bar + d.isr, 1, 0xFF);
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), 0);
    assert_int_equal(gpa_read(vm, d.bar + d.notify, 4), 0);
    assert_int_equal(gpa_read(vm, d.bar + VIRTIO_PCI_BAR_SIZE - 2, 4), 0xFFFF0000);
    /* A notify at a misaligned offset or of 8 bytes is not a notify. */
    uint64_t notifies = vp->stats.notifies;
    gpa_write(vm, d.bar + d.notify + 1, 1, 0);
    gpa_write(vm, d.bar + d.notify, 8, 0);
    assert_int_equal(vp->stats.notifies, notifies);
    /* Direct calls with sizes the bus never produces. */
    assert_int_equal(virtio_pci_bar_read(vp, 0, 3), 0);
    assert_int_equal(virtio_pci_bar_read(vp, VIRTIO_PCI_BAR_SIZE, 1), 0);
    assert_int_equal(virtio_pci_bar_read(vp, ~0ull, 8), 0);
    virtio_pci_bar_write(vp, VIRTIO_PCI_COMMON_STATUS, 0, 0);
    assert_int_equal(status(), 0x0F);
}

/* INTx follows the ISR: the status register's interrupt bit rises with a used-ring update or a
 * configuration change and falls with the ISR read that acknowledges it, or with a reset;
 * command.INTx_disable keeps it off the pin but not out of the status bit. */
static void test_intx_follows_isr(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    driver_init(F_VERSION_1);
    assert_int_equal(cfg_read(d.dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    assert_false(pci_function_intx_asserted(&vp->fn));
    assert_int_equal(request(VIRTIO_BLK_T_IN, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(cfg_read(d.dev, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);
    assert_true(pci_function_intx_asserted(&vp->fn));
    /* Masked by the driver: still pending in status, no longer on the pin. */
    cfg_write(d.dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    assert_false(pci_function_intx_asserted(&vp->fn));
    assert_true(cfg_read(d.dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    cfg_write(d.dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_true(pci_function_intx_asserted(&vp->fn));
    /* The status register is read-only: the guest cannot clear the bit there. */
    cfg_write(d.dev, PCI_STATUS, 2, 0xFFFF);
    assert_true(cfg_read(d.dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    /* A 4-byte ISR read acknowledges too. */
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 4), VIRTIO_PCI_ISR_QUEUE);
    assert_int_equal(cfg_read(d.dev, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    assert_false(pci_function_intx_asserted(&vp->fn));
    /* Both bits, then the reset drops the line without an ISR read. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, 1), VIRTIO_BLK_S_OK);
    virtio_pci_signal_config(vp);
    assert_true(pci_function_intx_asserted(&vp->fn));
    set_status(0);
    assert_false(pci_function_intx_asserted(&vp->fn));
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), 0);
    /* Reading the ISR through the PCI_CFG window acknowledges as well. */
    virtio_pci_signal_config(vp);
    cfg_write(d.dev, d.pci_cfg + 4, 1, 0);
    cfg_write(d.dev, d.pci_cfg + 8, 4, VIRTIO_PCI_ISR_OFFSET);
    cfg_write(d.dev, d.pci_cfg + 12, 4, 1);
    assert_int_equal(cfg_read(d.dev, d.pci_cfg + 16, 1), VIRTIO_PCI_ISR_CONFIG);
    assert_false(pci_function_intx_asserted(&vp->fn));
}

static void test_notify_needs_driver_ok(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    assert_int_equal(negotiate(F_VERSION_1), 0x0B);
    setup_queue(QSIZE);
    avail_idx = 0;
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0), 0xAA);       /* not processed */
    assert_int_equal(r16(USED_GPA + 2), 0);
    assert_int_equal(vp->stats.ignored_notifies, 1);
    set_status(0x0F);
    notify_queue0();
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(r16(USED_GPA + 2), 1);
    /* Notifying a queue that does not exist: ignored. */
    gpa_write(vm, d.bar + d.notify + 4, 2, 1);
    gpa_write(vm, d.bar + d.notify + 0xFFC, 4, 1);
    assert_int_equal(vp->stats.ignored_notifies, 3);
}

static void test_needs_reset_and_recovery(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    driver_init(F_VERSION_1);
    (void)gpa_read(vm, d.bar + d.isr, 1);
    host_console_reset();
    post_head(200);                                 /* head index beyond the queue size */
    notify_queue0();
    assert_int_equal(status(), 0x0F | VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), 2);      /* configuration change */
    assert_non_null(strstr(host_console(), "needs reset"));
    /* Until reset: notifies ignored, queue registers frozen. */
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0), 0xAA);
    assert_true(vp->stats.ignored_notifies >= 1);
    /* Reset clears it all; a fresh initialisation works. */
    set_status(0);
    assert_int_equal(status(), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
    assert_int_equal(virtio_blk_pci_device(vm)->driver_features, 0);
    w16(USED_GPA + 2, 0);
    driver_init(F_VERSION_1);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 3), VIRTIO_BLK_S_OK);
    assert_int_equal(r16(USED_GPA + 2), 1);
}

static void test_bad_ring_address_needs_reset(void **state)
{
    (void)state;
    assert_int_equal(negotiate(F_VERSION_1), 0x0B);
    host_console_reset();
    common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
    common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)RAM_SIZE - 16);   /* runs past RAM */
    common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, AVAIL_GPA);
    common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, USED_GPA);
    common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    assert_int_equal(status(), 0x0B | VIRTIO_STATUS_NEEDS_RESET);
    assert_non_null(strstr(host_console(), "unusable"));
    set_status(0x0F);
    assert_int_equal(status(), 0x0F | VIRTIO_STATUS_NEEDS_RESET);
    set_status(0);
    assert_int_equal(status(), 0);
    driver_init(F_VERSION_1);
}

static void test_pci_cfg_window(void **state)
{
    (void)state;
    unsigned c = d.pci_cfg;
    assert_true(c != 0);
    /* Read device_status through the window, then write ACKNOWLEDGE through it. */
    cfg_write(d.dev, c + 4, 1, 0);                                   /* bar */
    cfg_write(d.dev, c + 8, 4, VIRTIO_PCI_COMMON_STATUS);            /* offset */
    cfg_write(d.dev, c + 12, 4, 1);                                  /* length */
    assert_int_equal(cfg_read(d.dev, c + 16, 4), 0);
    cfg_write(d.dev, c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(status(), VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(cfg_read(d.dev, c + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
    /* Capacity, four bytes at a time. */
    cfg_write(d.dev, c + 8, 4, VIRTIO_PCI_DEVICE_OFFSET);
    cfg_write(d.dev, c + 12, 4, 4);
    assert_int_equal(cfg_read(d.dev, c + 16, 4), PART_LAST - PART_FIRST + 1);
    assert_int_equal(cfg_read(d.dev, c + 8, 4), VIRTIO_PCI_DEVICE_OFFSET);
    /* Bad windows: length 3 or 8, past BAR0, BAR1: the data reads 0, writes go nowhere. */
    cfg_write(d.dev, c + 12, 4, 3);
    assert_int_equal(cfg_read(d.dev, c + 16, 4), 0);
    cfg_write(d.dev, c + 12, 4, 8);
    assert_int_equal(cfg_read(d.dev, c + 16, 4), 0);
    cfg_write(d.dev, c + 12, 4, 4);
    cfg_write(d.dev, c + 8, 4, VIRTIO_PCI_BAR_SIZE - 2);
    assert_int_equal(cfg_read(d.dev, c + 16, 4), 0);
    cfg_write(d.dev, c + 8, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(d.dev, c + 16, 4), 0);
    cfg_write(d.dev, c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    cfg_write(d.dev, c + 12, 4, 1);
    cfg_write(d.dev, c + 4, 1, 1);
    assert_int_equal(cfg_read(d.dev, c + 16, 1), 0);
    cfg_write(d.dev, c + 16, 1, 0);                                  /* would be a reset */
    assert_int_equal(status(), VIRTIO_STATUS_ACKNOWLEDGE);
    /* The capability header itself is read-only. */
    cfg_write(d.dev, c, 4, 0);
    assert_int_equal(cfg_read(d.dev, c, 1), PCI_CAP_ID_VNDR);
    assert_int_equal(cfg_read(d.dev, c + 3, 1), VIRTIO_PCI_CAP_PCI_CFG);
    /* The window works with memory decode off (that is what it is for). */
    cfg_write(d.dev, c + 4, 1, 0);
    cfg_write(d.dev, PCI_COMMAND, 2, 0);
    assert_int_equal(gpa_read(vm, d.bar + d.common + VIRTIO_PCI_COMMON_STATUS, 1), 0xFF);
    assert_int_equal(cfg_read(d.dev, c + 16, 1), VIRTIO_STATUS_ACKNOWLEDGE);
}

static void test_memory_decode_off(void **state)
{
    (void)state;
    driver_init(F_VERSION_1);
    cfg_write(d.dev, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    assert_int_equal(gpa_read(vm, d.bar + VIRTIO_PCI_COMMON_NUMQ, 2), 0xFFFF);
    assert_int_equal(request(VIRTIO_BLK_T_IN, 0), 0xAA);        /* the notify went nowhere */
    gpa_write(vm, d.bar + VIRTIO_PCI_COMMON_STATUS, 1, 0);       /* nor does this reset */
    cfg_write(d.dev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_int_equal(status(), 0x0F);
    notify_queue0();
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    /* Moved by the guest: the device follows. */
    cfg_write(d.dev, PCI_BAR0 + 4, 4, 2);
    assert_int_equal(gpa_read(vm, 0xE0000000ull + VIRTIO_PCI_COMMON_NUMQ, 2), 0xFFFF);
    assert_int_equal(gpa_read(vm, 0x2E0000000ull + VIRTIO_PCI_COMMON_NUMQ, 2), 1);
}

static void test_attach_rules(void **state)
{
    (void)state;
    struct minidisk md = virtio_blk_pci_device(vm)->md;
    assert_int_equal(virtio_blk_pci_attach(vm, &md, NULL), -1);        /* one per guest */
    assert_null(virtio_blk_pci_transport(NULL));

    /* Big RAM: BAR0 goes to the first 4 GiB boundary above it. */
    struct vm big;
    memset(&big, 0, sizeof(big));
    strcpy(big.name, "big");
    big.ram_size = 0xF0000000ull;
    assert_int_equal(virtio_blk_pci_attach(&big, &md, NULL), 0);
    assert_int_equal(big.bus.mmio.count, 1);
    assert_int_equal(io_range_at(&big.bus.mmio, 0)->base, 0x100000000ull);
    assert_non_null(big.pci);
    assert_int_equal(pci_function_bar_address(&virtio_blk_pci_transport(&big)->fn, 0), 0x100000000ull);

    /* The pool holds BOOTINFO_MAX_GUESTS devices; g and big use two. */
    static struct vm more[BOOTINFO_MAX_GUESTS];
    unsigned attached = 0;
    for (unsigned i = 0; i < BOOTINFO_MAX_GUESTS; i++) {
        memset(&more[i], 0, sizeof(more[i]));
        more[i].ram_size = RAM_SIZE;
        if (virtio_blk_pci_attach(&more[i], &md, NULL) == 0)
            attached++;
    }
    assert_int_equal(attached, BOOTINFO_MAX_GUESTS - 2);
    for (unsigned i = 0; i < BOOTINFO_MAX_GUESTS; i++)
        virtio_blk_pci_detach(&more[i]);
    virtio_blk_pci_detach(&big);
    assert_null(big.pci);
    assert_int_equal(big.bus.mmio.count, 0);

    /* A guest whose BAR place is taken by another device: refused, nothing left behind. */
    struct vm busy;
    memset(&busy, 0, sizeof(busy));
    busy.ram_size = RAM_SIZE;
    assert_int_equal(gpa_add_mmio(&busy, 0xE0000000ull, 0x1000, io_range_at(&vm->bus.mmio, 0)->ops, NULL), 0);
    assert_int_equal(virtio_blk_pci_attach(&busy, &md, NULL), -1);
    assert_null(busy.pci);
    assert_null(virtio_blk_pci_transport(&busy));
    assert_int_equal(busy.bus.mmio.count, 1);
}


/* A request larger than one step, posted and notified (the rest waits in vm->device_work). */
#define BIG_DATA_GPA 0x10000ull
#define PART_BYTES   ((PART_LAST - PART_FIRST + 1) * 512u)

static void post_whole_partition_read(void)
{
    w32(HDR_GPA, VIRTIO_BLK_T_IN);
    w32(HDR_GPA + 4, 0);
    w64(HDR_GPA + 8, 0);
    vm->ram[STATUS_GPA] = 0xAA;
    desc(0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, BIG_DATA_GPA, PART_BYTES, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    post_head(0);
    notify_queue0();
    assert_true(vm->device_work.pending);
    assert_int_equal(vm->ram[STATUS_GPA], 0xAA);
}

/* The run loop's turns finish the request and raise the interrupt; a driver reset (status 0)
 * or a detach while work is pending cancels it: nothing more is read, no used entry appears. */
static void test_reset_cancels_deferred_work(void **state)
{
    (void)state;
    driver_init(F_VERSION_1 | F_FLUSH);
    (void)gpa_read(vm, d.bar + d.isr, 1);
    post_whole_partition_read();
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), 0);      /* nothing completed yet */
    for (unsigned turns = 0; vm->device_work.pending; turns++) {
        assert_true(turns < 100);
        vm->device_work.run(vm->device_work.ctx);
    }
    assert_int_equal(vm->ram[STATUS_GPA], VIRTIO_BLK_S_OK);
    assert_int_equal(r16(USED_GPA + 2), 1);
    assert_int_equal(gpa_read(vm, d.bar + d.isr, 1), VIRTIO_PCI_ISR_QUEUE);
    assert_memory_equal(vm->ram + BIG_DATA_GPA, mem_blkdev_sector(disk, PART_FIRST), PART_BYTES);

    post_whole_partition_read();
    uint64_t sectors = disk->dev.stats.sectors_read;
    set_status(0);
    assert_false(vm->device_work.pending);
    assert_int_equal(status(), 0);
    virtio_blk_run(virtio_blk_pci_device(vm));           /* a stale turn does nothing */
    assert_int_equal(disk->dev.stats.sectors_read, sectors);
    assert_int_equal(vm->ram[STATUS_GPA], 0xAA);
    assert_int_equal(r16(USED_GPA + 2), 1);

    w16(USED_GPA + 2, 0);
    driver_init(F_VERSION_1 | F_FLUSH);
    post_whole_partition_read();
    virtio_blk_pci_detach(vm);
    assert_false(vm->device_work.pending);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_pci_identity),
        T(test_bar_placement_rule),
        T(test_full_init_and_io),
        T(test_feature_negotiation),
        T(test_queue_registers),
        T(test_access_sizes),
        T(test_intx_follows_isr),
        T(test_notify_needs_driver_ok),
        T(test_needs_reset_and_recovery),
        T(test_bad_ring_address_needs_reset),
        T(test_pci_cfg_window),
        T(test_memory_decode_off),
        T(test_attach_rules),
        T(test_reset_cancels_deferred_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
