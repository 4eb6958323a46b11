/* Linux 6.1 against Tessera's virtio-blk PCI device: a host-side replay of the configuration
 * space and BAR0 accesses the stock x86-64 kernel makes, from detecting configuration
 * mechanism #1 and enumerating bus 0, through virtio_pci (modern) and virtio_blk probe, to the
 * first read request and its INTx interrupt, asserting every value Linux checks on the way.
 * Each step names the Linux function it models (paths in the 6.1 source tree); the model is
 * written from reading that code, none of it is copied. Guests cannot boot Linux yet (no
 * interrupt controller), so this is where conformance is proven. */
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

#define RAM_SIZE     0x100000ull
#define VRING_GPA    0x10000ull     /* dma_alloc_coherent: page aligned, zeroed */
#define INDIRECT_GPA 0x20000ull     /* kmalloc'd indirect descriptor table */
#define REQ_GPA      0x21000ull     /* struct virtblk_req: out_hdr (16 bytes), then the status byte */
#define PAGE_GPA     0x30000ull     /* the page-cache page the partition scan reads into */
#define PAGE_SIZE    4096u
#define SMP_CACHE_BYTES 64u         /* vring alignment virtio_pci passes on x86-64 */

#define DISK_SECTORS 4096u
#define PART_FIRST   1000u
#define PART_LAST    2999u

/* include/uapi/linux/pci_regs.h values the model uses that pci_host.h does not name. */
#define LX_PCI_CLASS_DEVICE     0x0A
#define LX_PCI_LATENCY_TIMER    0x0D
#define LX_COMMAND_IO           0x0001
#define LX_ROM_ADDRESS_MASK     0xFFFFF800u
#define LX_CAP_ID_PM            0x01
#define LX_CAP_ID_VPD           0x03
#define LX_CAP_ID_MSI           0x05
#define LX_CAP_ID_PCIX          0x07
#define LX_CAP_ID_EXP           0x10
#define LX_CAP_ID_MSIX          0x11
#define LX_CAP_ID_EA            0x14
#define LX_FIND_CAP_TTL         48
#define LX_CLASS_BRIDGE_HOST    0x0600
#define LX_CLASS_BRIDGE_PCI     0x0604
#define LX_CLASS_STORAGE_IDE    0x0101

/* virtio (include/uapi/linux/virtio_*.h) */
#define LX_VIRTIO_F_INDIRECT     28
#define LX_VIRTIO_F_EVENT_IDX    29
#define LX_VIRTIO_F_VERSION_1    32
#define LX_VIRTIO_F_ACCESS_PLAT  33
#define LX_VIRTIO_F_RING_PACKED  34
#define LX_VIRTIO_F_ORDER_PLAT   36
#define LX_VIRTIO_F_SR_IOV       37
#define LX_VIRTIO_F_RING_RESET   40
#define LX_TRANSPORT_F_START     28
#define LX_TRANSPORT_F_END       41
#define LX_BLK_F_SIZE_MAX        1
#define LX_BLK_F_SEG_MAX         2
#define LX_BLK_F_GEOMETRY        4
#define LX_BLK_F_RO              5
#define LX_BLK_F_BLK_SIZE        6
#define LX_BLK_F_FLUSH           9
#define LX_BLK_F_TOPOLOGY        10
#define LX_BLK_F_CONFIG_WCE      11
#define LX_BLK_F_MQ              12
#define LX_BLK_F_DISCARD         13
#define LX_BLK_F_WRITE_ZEROES    14
#define LX_BLK_F_SECURE_ERASE    16
#define LX_BLK_MAX_SG_ELEMS      32768u
#define LX_S_ACKNOWLEDGE         1
#define LX_S_DRIVER              2
#define LX_S_DRIVER_OK           4
#define LX_S_FEATURES_OK         8
#define LX_S_NEEDS_RESET         0x40
#define LX_S_FAILED              0x80
#define LX_MSI_NO_VECTOR         0xFFFF
#define LX_COMMON_CFG_LEN        56   /* sizeof(struct virtio_pci_common_cfg) */
#define LX_MODERN_COMMON_CFG_LEN 60   /* sizeof(struct virtio_pci_modern_common_cfg) */
#define LX_BLK_CONFIG_LEN        72   /* sizeof(struct virtio_blk_config) in 6.1 */
#define LX_DESC_F_NEXT           1
#define LX_DESC_F_WRITE          2
#define LX_DESC_F_INDIRECT       4
#define LX_USED_F_NO_NOTIFY      1
#define LX_ISR_QUEUE             1
#define LX_ISR_CONFIG            2

/* struct virtio_blk_config offsets */
#define CFG_CAPACITY   0
#define CFG_SEG_MAX    12
#define CFG_BLK_SIZE   20

static struct vm *vm;
static struct vcpu *vcpu;
static struct mem_blkdev *disk;

/* ---------------------------------------------------------------------------------------------
 * Configuration mechanism #1 (arch/x86/pci/direct.c: pci_conf1_read/pci_conf1_write, reached
 * through raw_pci_read/raw_pci_write in arch/x86/pci/common.c).
 * ------------------------------------------------------------------------------------------ */

static uint32_t inp(uint16_t port, unsigned size)
{
    uint32_t v = 0;
    assert_int_equal(port_in(vm, port, size, &v), EXIT_ADVANCE);
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void outp(uint16_t port, unsigned size, uint32_t v)
{
    assert_int_equal(port_out(vm, port, size, v), EXIT_ADVANCE);
}

/* raw_pci_read: type 1 serves registers below 256; with no extended-space method (no MMCONFIG,
 * no AMD IO_ECS) anything above is an error before any port is touched. */
static bool conf1_read(unsigned bus, unsigned devfn, unsigned reg, unsigned len, uint32_t *v)
{
    if (bus > 255 || devfn > 255 || reg > 255) {
        *v = 0xFFFFFFFFu;
        return false;
    }
    outp(PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE | bus << 16 | devfn << 8 | (reg & 0xFC));
    if (len == 1)
        *v = inp((uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 3)), 1);
    else if (len == 2)
        *v = inp((uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 2)), 2);
    else
        *v = inp(PCI_PORT_CONFIG_DATA, 4);
    return true;
}

static void conf1_write(unsigned bus, unsigned devfn, unsigned reg, unsigned len, uint32_t v)
{
    assert_true(reg <= 255);
    outp(PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE | bus << 16 | devfn << 8 | (reg & 0xFC));
    if (len == 1)
        outp((uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 3)), 1, v & 0xFF);
    else if (len == 2)
        outp((uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 2)), 2, v & 0xFFFF);
    else
        outp(PCI_PORT_CONFIG_DATA, 4, v);
}

/* ---------------------------------------------------------------------------------------------
 * Linux's view of a function (struct pci_dev, the parts probe.c fills in).
 * ------------------------------------------------------------------------------------------ */

struct lx_resource {
    uint64_t start, size;       /* size 0: no resource */
    bool mem, mem64, prefetch;
    bool claimed;               /* pci_claim_resource succeeded (r->parent set) */
};

struct lx_pci_dev {
    unsigned devfn;
    uint16_t vendor, device, subsystem_vendor, subsystem_device;
    uint32_t class_code;        /* dev->class: base << 16 | sub << 8 | prog-if */
    uint8_t revision, hdr_type, pin;
    unsigned irq;
    bool multifunction, mmio_always_on, broken_intx_masking;
    unsigned cfg_size;
    uint8_t msi_cap, msix_cap, pm_cap, pcie_cap, ea_cap, vpd_cap;
    struct lx_resource res[7];  /* BAR0-5, expansion ROM */
};

static uint32_t rd(const struct lx_pci_dev *d, unsigned reg, unsigned len)
{
    uint32_t v;
    assert_true(conf1_read(0, d->devfn, reg, len, &v));
    return v;
}

static void wr(const struct lx_pci_dev *d, unsigned reg, unsigned len, uint32_t v)
{
    conf1_write(0, d->devfn, reg, len, v);
}

/* drivers/pci/pci.c: __pci_find_next_cap_ttl. The pointer is masked to a dword, values below
 * 0x40 and an id of 0xFF end the walk, and at most 48 hops are taken. */
static uint8_t lx_find_next_cap(const struct lx_pci_dev *d, unsigned pointer_at, uint8_t cap, unsigned *hops)
{
    unsigned pos = rd(d, pointer_at, 1);
    for (int ttl = LX_FIND_CAP_TTL; ttl > 0; ttl--) {
        if (pos < 0x40)
            return 0;
        pos &= ~3u;
        uint16_t ent = (uint16_t)rd(d, pos, 2);
        if (hops)
            (*hops)++;
        if ((ent & 0xFF) == 0xFF)
            return 0;
        if ((ent & 0xFF) == cap)
            return (uint8_t)pos;
        pos = ent >> 8;
    }
    return 0;
}

/* drivers/pci/pci.c: pci_find_capability via __pci_bus_find_cap_start. */
static uint8_t lx_find_capability(const struct lx_pci_dev *d, uint8_t cap)
{
    if (!(rd(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return 0;
    return lx_find_next_cap(d, PCI_CAPABILITY_LIST, cap, NULL);
}

/* drivers/pci/probe.c: pci_size. */
static uint64_t lx_pci_size(uint64_t base, uint64_t maxbase, uint64_t mask)
{
    uint64_t size = mask & maxbase;
    if (!size)
        return 0;
    size &= ~(size - 1);
    if (base == maxbase && ((base | (size - 1)) & mask) != mask)
        return 0;
    return size;
}

/* drivers/pci/probe.c: __pci_read_base. Decoding is off while the BAR holds all ones (unless
 * the quirk says the device must keep decoding); the original value is written back. Returns 1
 * for a 64-bit BAR (its upper half is not a BAR of its own). */
static int lx_read_base(struct lx_pci_dev *d, unsigned index, bool rom)
{
    unsigned pos = rom ? PCI_ROM_ADDRESS : PCI_BAR0 + 4 * index;
    struct lx_resource *r = &d->res[rom ? 6 : index];
    uint32_t mask = rom ? LX_ROM_ADDRESS_MASK : 0xFFFFFFFFu;
    uint16_t orig_cmd = 0;
    bool toggled = false;
    memset(r, 0, sizeof(*r));
    if (!d->mmio_always_on) {
        orig_cmd = (uint16_t)rd(d, PCI_COMMAND, 2);
        if (orig_cmd & (LX_COMMAND_IO | PCI_COMMAND_MEMORY)) {
            wr(d, PCI_COMMAND, 2, orig_cmd & ~(LX_COMMAND_IO | PCI_COMMAND_MEMORY));
            toggled = true;
        }
    }
    uint32_t l = rd(d, pos, 4);
    wr(d, pos, 4, l | mask);
    uint32_t sz = rd(d, pos, 4);
    wr(d, pos, 4, l);
    if (sz == 0xFFFFFFFFu)
        sz = 0;
    if (l == 0xFFFFFFFFu)
        l = 0;
    uint64_t l64, sz64, mask64;
    if (rom) {
        l64 = l & LX_ROM_ADDRESS_MASK;
        sz64 = sz & LX_ROM_ADDRESS_MASK;
        mask64 = LX_ROM_ADDRESS_MASK;
        r->mem = true;
    } else if (l & 1) {
        l64 = l & ~3u;
        sz64 = sz & ~3u;
        mask64 = 0xFFFCu;               /* PCI_BASE_ADDRESS_IO_MASK & IO_SPACE_LIMIT */
    } else {
        r->mem = true;
        r->prefetch = (l & 8) != 0;
        r->mem64 = (l & 6) == 4;
        l64 = l & ~0xFu;
        sz64 = sz & ~0xFu;
        mask64 = 0xFFFFFFF0u;
    }
    if (r->mem64) {
        uint32_t hi = rd(d, pos + 4, 4);
        wr(d, pos + 4, 4, 0xFFFFFFFFu);
        uint32_t hi_sz = rd(d, pos + 4, 4);
        /* The device must not answer at its old address while the BAR holds all ones. */
        if (toggled)
            assert_int_equal(vm->bus.mmio.count, 0);
        wr(d, pos + 4, 4, hi);
        l64 |= (uint64_t)hi << 32;
        sz64 |= (uint64_t)hi_sz << 32;
        mask64 |= ~0ull << 32;
    }
    if (toggled)
        wr(d, PCI_COMMAND, 2, orig_cmd);
    bool mem64 = r->mem64;
    if (!sz64) {
        memset(r, 0, sizeof(*r));
        return mem64;
    }
    r->size = lx_pci_size(l64, sz64, mask64);
    assert_true(r->size != 0);          /* "invalid; can't size" */
    r->start = l64;
    return mem64;
}

/* drivers/pci/probe.c: pci_read_irq. */
static void lx_read_irq(struct lx_pci_dev *d)
{
    d->pin = (uint8_t)rd(d, PCI_INTERRUPT_PIN, 1);
    d->irq = d->pin ? rd(d, PCI_INTERRUPT_LINE, 1) : 0;
}

/* drivers/pci/probe.c: pci_intx_mask_broken. */
static bool lx_intx_mask_broken(const struct lx_pci_dev *d)
{
    uint16_t orig = (uint16_t)rd(d, PCI_COMMAND, 2);
    uint16_t toggle = orig ^ PCI_COMMAND_INTX_DISABLE;
    wr(d, PCI_COMMAND, 2, toggle);
    uint16_t now = (uint16_t)rd(d, PCI_COMMAND, 2);
    wr(d, PCI_COMMAND, 2, orig);
    return now != toggle;
}

/* drivers/pci/probe.c: pci_cfg_space_size (and _ext for host bridges and PCIe). Register 256
 * is out of reach of type 1 without extended methods, so every function has 256 bytes. */
static unsigned lx_cfg_space_size(struct lx_pci_dev *d)
{
    uint32_t v;
    if ((d->class_code >> 8) == LX_CLASS_BRIDGE_HOST || d->pcie_cap) {
        if (!conf1_read(0, d->devfn, 256, 4, &v) || v == 0xFFFFFFFFu)
            return 256;
        return 4096;
    }
    return lx_find_capability(d, LX_CAP_ID_PCIX) ? 4096 : 256;
}

/* drivers/pci/probe.c: pci_bus_generic_read_dev_vendor_id (no CRS on a conventional bus). */
static bool lx_read_vendor_id(unsigned devfn, uint32_t *l)
{
    if (!conf1_read(0, devfn, PCI_VENDOR_ID, 4, l))
        return false;
    if (*l == 0xFFFFFFFFu || *l == 0 || *l == 0x0000FFFFu || *l == 0xFFFF0000u)
        return false;
    assert_int_not_equal(*l & 0xFFFF, 0x0001);      /* CRS: would make Linux poll for a minute */
    return true;
}

/* drivers/pci/probe.c: pci_scan_device + pci_setup_device + pci_device_add's capability probes. */
static bool lx_scan_device(unsigned devfn, struct lx_pci_dev *d)
{
    uint32_t l;
    memset(d, 0, sizeof(*d));
    if (!lx_read_vendor_id(devfn, &l))
        return false;
    d->devfn = devfn;
    d->vendor = (uint16_t)l;
    d->device = (uint16_t)(l >> 16);
    uint8_t hdr = (uint8_t)rd(d, PCI_HEADER_TYPE, 1);
    d->hdr_type = hdr & 0x7F;
    d->multifunction = (hdr & 0x80) != 0;
    d->pcie_cap = lx_find_capability(d, LX_CAP_ID_EXP);        /* set_pcie_port_type */
    uint32_t class_rev = rd(d, PCI_REVISION_ID, 4);
    d->revision = (uint8_t)class_rev;
    d->class_code = class_rev >> 8;
    d->cfg_size = lx_cfg_space_size(d);
    /* Early fixups: quirk_mmio_always_on for host bridges (drivers/pci/quirks.c). */
    d->mmio_always_on = (d->class_code >> 8) == LX_CLASS_BRIDGE_HOST;
    d->broken_intx_masking = lx_intx_mask_broken(d);
    assert_int_equal(d->hdr_type, 0);                            /* anything else: a bridge */
    assert_int_not_equal(d->class_code >> 8, LX_CLASS_BRIDGE_PCI); /* "class bridge, header 0": bad */
    lx_read_irq(d);
    for (unsigned i = 0; i < PCI_NUM_BARS; i++)
        i += (unsigned)lx_read_base(d, i, false);
    lx_read_base(d, 0, true);
    d->subsystem_vendor = (uint16_t)rd(d, PCI_SUBSYSTEM_VENDOR, 2);
    d->subsystem_device = (uint16_t)rd(d, PCI_SUBSYSTEM_ID, 2);
    /* pci_init_capabilities */
    d->ea_cap = lx_find_capability(d, LX_CAP_ID_EA);
    d->msi_cap = lx_find_capability(d, LX_CAP_ID_MSI);
    d->msix_cap = lx_find_capability(d, LX_CAP_ID_MSIX);
    d->pm_cap = lx_find_capability(d, LX_CAP_ID_PM);
    d->vpd_cap = lx_find_capability(d, LX_CAP_ID_VPD);
    return true;
}

/* drivers/pci/probe.c: pci_scan_child_bus_extend -> pci_scan_slot for every device number;
 * functions 1-7 only behind a multi-function function 0 (next_fn), and an empty function 0
 * ends the slot. */
static unsigned lx_scan_bus0(struct lx_pci_dev *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned devfn = 0; devfn < 256; devfn += 8) {
        for (unsigned fn = 0; fn < 8; fn++) {
            struct lx_pci_dev d;
            bool found = lx_scan_device(devfn + fn, &d);
            if (found) {
                assert_true(n < max);
                if (fn > 0)
                    d.multifunction = true;
                out[n++] = d;
            } else if (fn == 0) {
                break;
            }
            if (found && !d.multifunction)
                break;
        }
    }
    return n;
}

/* arch/x86/pci/irq.c: pcibios_fixup_irqs (no $PIR table, no I/O APIC routing, as on a board
 * without ACPI or MP tables): a line of 16 or more is bogus and becomes "no IRQ". */
static void lx_fixup_irqs(struct lx_pci_dev *devs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (devs[i].irq >= 16)
            devs[i].irq = 0;
}

/* arch/x86/pci/i386.c: pcibios_allocate_dev_resources, pass 0 (decode enabled): a BAR with an
 * address is claimed in the root bus window (all of iomem on a legacy x86 root bus) unless it
 * collides with RAM (e820) or with a BAR claimed before it. */
static void lx_claim_resources(struct lx_pci_dev *devs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t cmd = (uint16_t)rd(&devs[i], PCI_COMMAND, 2);
        for (unsigned r = 0; r < 7; r++) {
            struct lx_resource *res = &devs[i].res[r];
            if (!res->size || !res->start || !res->mem || !(cmd & PCI_COMMAND_MEMORY))
                continue;
            bool clash = res->start < RAM_SIZE;
            for (unsigned j = 0; j < i; j++)
                for (unsigned k = 0; k < 7; k++) {
                    const struct lx_resource *o = &devs[j].res[k];
                    if (o->claimed && res->start < o->start + o->size && o->start < res->start + res->size)
                        clash = true;
                }
            res->claimed = !clash;
        }
    }
}

/* drivers/pci/setup-res.c: pci_std_update_resource for a 64-bit memory BAR (decode off while
 * the two halves disagree), with Linux's read-back checks. */
static void lx_update_resource(struct lx_pci_dev *d, unsigned index, uint64_t start)
{
    struct lx_resource *r = &d->res[index];
    unsigned reg = PCI_BAR0 + 4 * index;
    uint32_t flags = (r->mem64 ? 4u : 0u) | (r->prefetch ? 8u : 0u);
    uint32_t want = (uint32_t)start | flags;
    uint16_t cmd = (uint16_t)rd(d, PCI_COMMAND, 2);
    wr(d, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    wr(d, reg, 4, want);
    assert_int_equal((rd(d, reg, 4) ^ want) & 0xFFFFFFF0u, 0);     /* "error updating" */
    wr(d, reg + 4, 4, (uint32_t)(start >> 32));
    assert_int_equal(rd(d, reg + 4, 4), (uint32_t)(start >> 32));
    wr(d, PCI_COMMAND, 2, cmd);
    r->start = start;
}

/* drivers/pci/setup-res.c: pci_enable_resources, from pci_enable_device (x86
 * pcibios_enable_device), followed by do_pci_enable_device's INTx-disable clearing and x86's
 * pirq_enable_irq, which (no routing table, no I/O APIC) keeps the IRQ the line gave. */
static void lx_enable_device(struct lx_pci_dev *d)
{
    uint16_t cmd = (uint16_t)rd(d, PCI_COMMAND, 2), old = cmd;
    for (unsigned r = 0; r < 6; r++) {
        if (!d->res[r].size)
            continue;
        assert_true(d->res[r].claimed);                  /* "not claimed; can't enable device" */
        cmd |= d->res[r].mem ? PCI_COMMAND_MEMORY : LX_COMMAND_IO;
    }
    if (cmd != old)
        wr(d, PCI_COMMAND, 2, cmd);
    assert_int_equal(rd(d, PCI_INTERRUPT_PIN, 1), d->pin);
    if (d->pin) {
        cmd = (uint16_t)rd(d, PCI_COMMAND, 2);
        if (cmd & PCI_COMMAND_INTX_DISABLE)
            wr(d, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INTX_DISABLE);
        /* pirq_enable_irq: without an IRQ, "can't find IRQ for PCI INT A" (a warning, and no
         * INTx later) - unless it is an IDE controller in legacy mode, which this is not. */
        assert_true(d->irq != 0 || (d->class_code >> 8) == LX_CLASS_STORAGE_IDE);
    }
}

/* drivers/pci/pci.c: pci_set_master (and the generic pcibios_set_master, which programs the
 * latency timer of a conventional PCI master and does not check that it stuck). */
static void lx_set_master(struct lx_pci_dev *d)
{
    uint16_t cmd = (uint16_t)rd(d, PCI_COMMAND, 2);
    if (!(cmd & PCI_COMMAND_MASTER))
        wr(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
    if (!d->pcie_cap) {
        uint8_t lat = (uint8_t)rd(d, LX_PCI_LATENCY_TIMER, 1);
        if (lat < 16)
            wr(d, LX_PCI_LATENCY_TIMER, 1, 64);
    }
    assert_true(rd(d, PCI_COMMAND, 2) & PCI_COMMAND_MASTER);
}

/* ---------------------------------------------------------------------------------------------
 * virtio_pci modern (drivers/virtio/virtio_pci_modern_dev.c, virtio_pci_modern.c,
 * virtio_pci_common.c) and the virtio core (drivers/virtio/virtio.c).
 * ------------------------------------------------------------------------------------------ */

/* A range Linux mapped with pci_iomap_range: accesses outside it would fault in the guest. */
struct lx_iomap {
    uint64_t base;
    uint32_t len;
};

static uint64_t lx_ioread(const struct lx_iomap *m, uint32_t off, unsigned size)
{
    assert_true(m->len != 0 && off < m->len && size <= m->len - off);
    return gpa_read(vm, m->base + off, size);
}

static void lx_iowrite(const struct lx_iomap *m, uint32_t off, unsigned size, uint64_t v)
{
    assert_true(m->len != 0 && off < m->len && size <= m->len - off);
    gpa_write(vm, m->base + off, size, v);
}

struct lx_virtio {
    struct lx_pci_dev *pdev;
    uint16_t id_device, id_vendor;          /* mdev->id */
    unsigned modern_bars;
    struct lx_iomap common, isr, notify, device;
    uint32_t notify_offset_multiplier;
    uint64_t features;                      /* vdev->features */
    bool intx_enabled;
    /* the one virtqueue */
    uint16_t num;
    uint64_t desc, avail, used;
    uint32_t notify_off;                    /* vq->priv - notify base */
    uint16_t avail_idx_shadow, last_used_idx, free_head, num_free;
    /* virtio_blk */
    uint32_t sg_elems, blk_size;
    uint64_t capacity;
    bool writeback;
};

/* virtio_pci_modern_dev.c: virtio_pci_find_capability - the first vendor capability of the
 * type whose BAR is a real one with a resource. */
static uint8_t lx_virtio_find_cap(struct lx_virtio *v, uint8_t cfg_type)
{
    const struct lx_pci_dev *d = v->pdev;
    unsigned hops = 0;
    for (uint8_t pos = lx_find_capability(d, PCI_CAP_ID_VNDR); pos;
         pos = lx_find_next_cap(d, pos + 1u, PCI_CAP_ID_VNDR, &hops)) {
        uint8_t type = (uint8_t)rd(d, pos + 3u, 1);
        uint8_t bar = (uint8_t)rd(d, pos + 4u, 1);
        if (bar >= PCI_NUM_BARS)
            continue;
        if (type == cfg_type && d->res[bar].size && d->res[bar].mem) {
            v->modern_bars |= 1u << bar;
            return pos;
        }
    }
    return 0;
}

/* virtio_pci_modern_dev.c: vp_modern_map_capability with every check it makes. */
static struct lx_iomap lx_map_capability(struct lx_virtio *v, uint8_t off, uint32_t minlen, uint32_t align,
                                         uint32_t start, uint32_t size)
{
    const struct lx_pci_dev *d = v->pdev;
    uint8_t bar = (uint8_t)rd(d, off + 4u, 1);
    uint32_t offset = rd(d, off + 8u, 4);
    uint32_t length = rd(d, off + 12u, 4);
    assert_true(bar < PCI_NUM_BARS && (v->modern_bars & (1u << bar)));  /* "bar unexpectedly changed" */
    assert_true(length > start);                                        /* "bad capability len" */
    assert_true(length - start >= minlen);
    length -= start;
    assert_true(start + offset >= offset);                              /* "map wrap-around" */
    offset += start;
    assert_int_equal(offset & (align - 1), 0);                          /* "offset not aligned" */
    if (length > size)
        length = size;
    assert_true(minlen + offset >= minlen && minlen + offset <= d->res[bar].size);  /* "out of range" */
    /* pci_iomap_range maps what is left of the BAR, at most length bytes. */
    assert_true(offset < d->res[bar].size);
    uint32_t room = (uint32_t)(d->res[bar].size - offset);
    return (struct lx_iomap){ d->res[bar].start + offset, length < room ? length : room };
}

/* virtio_pci_modern_dev.c: vp_modern_probe. */
static void lx_vp_modern_probe(struct lx_virtio *v)
{
    const struct lx_pci_dev *d = v->pdev;
    assert_true(d->device >= 0x1000 && d->device <= 0x107F);       /* "we only own" this range */
    assert_true(d->device >= 0x1040);                              /* modern: no subsystem id use */
    v->id_device = (uint16_t)(d->device - 0x1040);
    v->id_vendor = d->subsystem_vendor;
    uint8_t common = lx_virtio_find_cap(v, VIRTIO_PCI_CAP_COMMON_CFG);
    assert_true(common != 0);                                      /* else: "leaving for legacy driver" */
    uint8_t isr = lx_virtio_find_cap(v, VIRTIO_PCI_CAP_ISR_CFG);
    uint8_t notify = lx_virtio_find_cap(v, VIRTIO_PCI_CAP_NOTIFY_CFG);
    assert_true(isr && notify);                                    /* "missing capabilities" */
    uint8_t device = lx_virtio_find_cap(v, VIRTIO_PCI_CAP_DEVICE_CFG);
    v->common = lx_map_capability(v, common, LX_COMMON_CFG_LEN, 4, 0, LX_MODERN_COMMON_CFG_LEN);
    v->isr = lx_map_capability(v, isr, 1, 1, 0, 1);
    v->notify_offset_multiplier = rd(d, notify + 16u, 4);
    uint32_t notify_length = rd(d, notify + 12u, 4);
    uint32_t notify_offset = rd(d, notify + 8u, 4);
    /* Small notify areas are mapped whole now; this device's must be one (else Linux maps one
     * doorbell per queue later, which this model does not follow). */
    assert_true((uint64_t)notify_length + notify_offset % PAGE_SIZE <= PAGE_SIZE);
    v->notify = lx_map_capability(v, notify, 2, 2, 0, notify_length);
    if (device)
        v->device = lx_map_capability(v, device, 0, 4, 0, PAGE_SIZE);
}

/* Common configuration accessors (struct virtio_pci_common_cfg, natural widths). */
static uint64_t common_rd(struct lx_virtio *v, unsigned off, unsigned size) { return lx_ioread(&v->common, off, size); }
static void common_wr(struct lx_virtio *v, unsigned off, unsigned size, uint64_t x) { lx_iowrite(&v->common, off, size, x); }
static uint8_t vp_get_status(struct lx_virtio *v) { return (uint8_t)common_rd(v, VIRTIO_PCI_COMMON_STATUS, 1); }

/* virtio.c: virtio_add_status. */
static void lx_add_status(struct lx_virtio *v, uint8_t bits)
{
    uint8_t s = vp_get_status(v);
    assert_true(((unsigned)s | bits) != 0);              /* vp_set_status: BUG_ON(status == 0) */
    common_wr(v, VIRTIO_PCI_COMMON_STATUS, 1, s | bits);
}

/* virtio_pci_modern.c: vp_reset - write 0, then wait for 0 (msleep(1) each round). */
static void lx_vp_reset(struct lx_virtio *v)
{
    common_wr(v, VIRTIO_PCI_COMMON_STATUS, 1, 0);
    unsigned polls = 0;
    while (vp_get_status(v) != 0)
        assert_true(++polls < 100);                      /* Linux would sleep forever */
}

/* virtio_pci_modern_dev.c: vp_modern_get_features. */
static uint64_t lx_get_features(struct lx_virtio *v)
{
    common_wr(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    uint64_t f = common_rd(v, VIRTIO_PCI_COMMON_DF, 4);
    common_wr(v, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    return f | common_rd(v, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* The virtio_blk driver's feature table (drivers/block/virtio_blk.c: features[]). */
static uint64_t virtio_blk_driver_table(void)
{
    static const unsigned bits[] = { LX_BLK_F_SEG_MAX, LX_BLK_F_SIZE_MAX, LX_BLK_F_GEOMETRY, LX_BLK_F_RO,
                                     LX_BLK_F_BLK_SIZE, LX_BLK_F_FLUSH, LX_BLK_F_TOPOLOGY, LX_BLK_F_CONFIG_WCE,
                                     LX_BLK_F_MQ, LX_BLK_F_DISCARD, LX_BLK_F_WRITE_ZEROES,
                                     LX_BLK_F_SECURE_ERASE };
    uint64_t f = 0;
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        f |= 1ull << bits[i];
    return f;
}

static bool has(const struct lx_virtio *v, unsigned bit) { return (v->features >> bit) & 1; }

/* virtio.c: virtio_dev_probe up to drv->probe - DRIVER, feature negotiation (the transport
 * bits virtio_ring and virtio_pci keep: vring_transport_features, vp_transport_features),
 * vp_finalize_features, virtio_features_ok. */
static void lx_negotiate(struct lx_virtio *v, uint64_t *offered_out)
{
    lx_add_status(v, LX_S_DRIVER);
    uint64_t offered = lx_get_features(v);
    v->features = virtio_blk_driver_table() & offered;
    for (unsigned i = LX_TRANSPORT_F_START; i < LX_TRANSPORT_F_END; i++) {
        bool kept = i == LX_VIRTIO_F_INDIRECT || i == LX_VIRTIO_F_EVENT_IDX || i == LX_VIRTIO_F_VERSION_1 ||
                    i == LX_VIRTIO_F_ACCESS_PLAT || i == LX_VIRTIO_F_RING_PACKED || i == LX_VIRTIO_F_ORDER_PLAT ||
                    i == LX_VIRTIO_F_RING_RESET ||
                    (i == LX_VIRTIO_F_SR_IOV && false /* no SR-IOV extended capability */);
        if (((offered >> i) & 1) && kept)
            v->features |= 1ull << i;
    }
    assert_true(has(v, LX_VIRTIO_F_VERSION_1));  /* "device uses modern interface but does not have VIRTIO_F_VERSION_1" */
    common_wr(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    common_wr(v, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)v->features);
    common_wr(v, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    common_wr(v, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(v->features >> 32));
    lx_add_status(v, LX_S_FEATURES_OK);
    assert_true(vp_get_status(v) & LX_S_FEATURES_OK);   /* "device refuses features" */
    if (offered_out)
        *offered_out = offered;
}

/* virtio_pci_modern.c: vp_get - device_len bounds every access (BUG_ON), 8 bytes are two
 * 32-bit reads. */
static uint64_t lx_vp_get(struct lx_virtio *v, unsigned offset, unsigned len)
{
    assert_true(offset + len <= v->device.len);
    if (len == 8)
        return lx_ioread(&v->device, offset, 4) | lx_ioread(&v->device, offset + 4, 4) << 32;
    return lx_ioread(&v->device, offset, len);
}

/* include/linux/virtio_config.h: virtio_cread - 1/2/4-byte fields in one read, wider ones
 * through __virtio_cread_many's config_generation loop. */
static uint64_t lx_virtio_cread(struct lx_virtio *v, unsigned offset, unsigned len)
{
    if (len <= 4)
        return lx_vp_get(v, offset, len);
    uint8_t gen = (uint8_t)common_rd(v, VIRTIO_PCI_COMMON_CFGGEN, 1), old;
    uint64_t value;
    unsigned rounds = 0;
    do {
        old = gen;
        value = lx_vp_get(v, offset, len);
        gen = (uint8_t)common_rd(v, VIRTIO_PCI_COMMON_CFGGEN, 1);
        assert_true(++rounds < 16);                      /* a generation that never settles */
    } while (gen != old);
    return value;
}

/* virtio_pci_modern.c: setup_vq + vp_active_vq + vp_modern_map_vq_notify for queue 0, in INTx
 * mode (msix_vec == VIRTIO_MSI_NO_VECTOR: queue_msix_vector is not written). */
static void lx_setup_vq0(struct lx_virtio *v)
{
    assert_true(0 < common_rd(v, VIRTIO_PCI_COMMON_NUMQ, 2));       /* index >= num_queues: -EINVAL */
    common_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    uint16_t num = (uint16_t)common_rd(v, VIRTIO_PCI_COMMON_Q_SIZE, 2);
    common_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_true(num != 0 && common_rd(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 0);   /* -ENOENT */
    assert_int_equal(num & (num - 1), 0);                           /* "bad queue size" */
    /* vring_create_virtqueue_split: one zeroed DMA block; vring_init's layout with 64-byte
     * alignment of the used ring. */
    v->num = num;
    v->desc = VRING_GPA;
    v->avail = v->desc + 16ull * num;
    v->used = (v->avail + 4 + 2ull * num + 2 + SMP_CACHE_BYTES - 1) & ~(uint64_t)(SMP_CACHE_BYTES - 1);
    assert_true(v->used + 6 + 8ull * num <= INDIRECT_GPA);
    v->free_head = 0;
    v->num_free = num;
    v->avail_idx_shadow = v->last_used_idx = 0;
    /* vp_active_vq */
    common_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    common_wr(v, VIRTIO_PCI_COMMON_Q_SIZE, 2, num);
    common_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    common_wr(v, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)v->desc);
    common_wr(v, VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(v->desc >> 32));
    common_wr(v, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)v->avail);
    common_wr(v, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, (uint32_t)(v->avail >> 32));
    common_wr(v, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)v->used);
    common_wr(v, VIRTIO_PCI_COMMON_Q_USEDHI, 4, (uint32_t)(v->used >> 32));
    /* vp_modern_map_vq_notify */
    common_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    uint16_t off = (uint16_t)common_rd(v, VIRTIO_PCI_COMMON_Q_NOFF, 2);
    assert_true((uint64_t)off * v->notify_offset_multiplier + 2 <= v->notify.len);   /* "bad notification offset" */
    v->notify_off = off * v->notify_offset_multiplier;
}

/* virtio_pci_common.c: vp_find_vqs - MSI-X with a vector per queue, then MSI-X shared, then
 * INTx if the device has an IRQ; vp_modern_find_vqs then enables every queue. */
static void lx_find_vqs(struct lx_virtio *v)
{
    /* pci_alloc_irq_vectors_affinity(PCI_IRQ_MSIX) fails without an MSI-X capability; both
     * MSI-X attempts give up before touching the device. */
    assert_int_equal(v->pdev->msix_cap, 0);
    assert_true(v->pdev->irq != 0);                     /* "Is there an interrupt? If not give up." */
    v->intx_enabled = true;                             /* request_irq(irq, vp_interrupt, IRQF_SHARED) */
    lx_setup_vq0(v);
    common_wr(v, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    common_wr(v, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

/* drivers/block/virtio_blk.c: virtblk_probe (with init_vq) up to and including
 * virtio_device_ready. */
static void lx_virtblk_probe(struct lx_virtio *v)
{
    assert_true(v->device.len != 0);                    /* "config access disabled" */
    v->sg_elems = has(v, LX_BLK_F_SEG_MAX) ? (uint32_t)lx_virtio_cread(v, CFG_SEG_MAX, 4) : 0;
    if (!v->sg_elems)
        v->sg_elems = 1;
    if (v->sg_elems > LX_BLK_MAX_SG_ELEMS - 2)
        v->sg_elems = LX_BLK_MAX_SG_ELEMS - 2;
    /* init_vq: one queue unless MQ was negotiated (num_queues is read only then). */
    assert_false(has(v, LX_BLK_F_MQ));
    lx_find_vqs(v);
    /* virtblk_update_cache_mode: WCE not configurable, so FLUSH means write-back. */
    assert_false(has(v, LX_BLK_F_CONFIG_WCE));
    v->writeback = has(v, LX_BLK_F_FLUSH);
    /* SIZE_MAX absent: segments limited by DMA only. BLK_SIZE: blk_validate_block_size. */
    assert_false(has(v, LX_BLK_F_SIZE_MAX));
    v->blk_size = 512;
    if (has(v, LX_BLK_F_BLK_SIZE)) {
        v->blk_size = (uint32_t)lx_virtio_cread(v, CFG_BLK_SIZE, 4);
        assert_true(v->blk_size >= 512 && v->blk_size <= PAGE_SIZE && !(v->blk_size & (v->blk_size - 1)));
    }
    /* Fields read only with features this device does not offer. */
    assert_false(has(v, LX_BLK_F_TOPOLOGY));
    assert_false(has(v, LX_BLK_F_DISCARD));
    assert_false(has(v, LX_BLK_F_WRITE_ZEROES));
    assert_false(has(v, LX_BLK_F_SECURE_ERASE));
    /* virtblk_update_capacity: "Host must always specify the capacity." */
    v->capacity = lx_virtio_cread(v, CFG_CAPACITY, 8);
    /* virtio_device_ready */
    uint8_t s = vp_get_status(v);
    assert_int_equal(s & LX_S_DRIVER_OK, 0);            /* WARN_ON(status & DRIVER_OK) */
    common_wr(v, VIRTIO_PCI_COMMON_STATUS, 1, s | LX_S_DRIVER_OK);
}

/* ---------------------------------------------------------------------------------------------
 * Whole-kernel steps.
 * ------------------------------------------------------------------------------------------ */

static struct lx_pci_dev devs[8];
static unsigned ndevs;
static struct lx_virtio lv;

/* arch/x86/pci/direct.c: pci_check_type1 and pci_sanity_check (no DMI, so the check runs). */
static bool lx_check_type1(void)
{
    outp(PCI_PORT_CONFIG_ADDRESS + 3, 1, 0x01);
    uint32_t saved = inp(PCI_PORT_CONFIG_ADDRESS, 4);
    outp(PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE);
    bool works = inp(PCI_PORT_CONFIG_ADDRESS, 4) == PCI_CONFIG_ENABLE;
    if (works) {
        works = false;
        for (unsigned devfn = 0; devfn < 256 && !works; devfn++) {
            uint32_t x;
            if (!conf1_read(0, devfn, LX_PCI_CLASS_DEVICE, 2, &x))
                continue;
            if (x == LX_CLASS_BRIDGE_HOST || x == 0x0300)
                works = true;
            else if (conf1_read(0, devfn, PCI_VENDOR_ID, 2, &x) && (x == 0x8086 || x == 0x0E11))
                works = true;
        }
    }
    outp(PCI_PORT_CONFIG_ADDRESS, 4, saved);
    return works;
}

/* Boot-time PCI: conf1, enumeration, IRQ fixup, resource survey. */
static void lx_pci_subsys_init(void)
{
    assert_true(lx_check_type1());
    ndevs = lx_scan_bus0(devs, 8);
    lx_fixup_irqs(devs, ndevs);
    lx_claim_resources(devs, ndevs);
}

static struct lx_pci_dev *lx_virtio_pci_match(void)
{
    for (unsigned i = 0; i < ndevs; i++)
        if (devs[i].vendor == VIRTIO_PCI_VENDOR)       /* virtio_pci_id_table: vendor, any device */
            return &devs[i];
    return NULL;
}

/* virtio_pci_common.c: virtio_pci_probe -> register_virtio_device -> virtio_dev_probe ->
 * virtblk_probe. */
static void lx_bind_virtio_blk(struct lx_virtio *v, struct lx_pci_dev *pdev, uint64_t *offered)
{
    memset(v, 0, sizeof(*v));
    v->pdev = pdev;
    lx_enable_device(pdev);
    lx_vp_modern_probe(v);
    lx_set_master(pdev);
    /* register_virtio_device */
    lx_vp_reset(v);
    lx_add_status(v, LX_S_ACKNOWLEDGE);
    /* virtio_dev_match: VIRTIO_ID_BLOCK, any vendor */
    assert_int_equal(v->id_device, 2);
    lx_negotiate(v, offered);
    lx_virtblk_probe(v);
    /* virtio_dev_probe: DRIVER_OK must be there now (else it would set it itself) */
    assert_true(vp_get_status(v) & LX_S_DRIVER_OK);
}

static void put16(uint64_t gpa, uint16_t x) { memcpy(vm->ram + gpa, &x, 2); }
static void put32(uint64_t gpa, uint32_t x) { memcpy(vm->ram + gpa, &x, 4); }
static void put64(uint64_t gpa, uint64_t x) { memcpy(vm->ram + gpa, &x, 8); }
static uint16_t get16(uint64_t gpa) { uint16_t x; memcpy(&x, vm->ram + gpa, 2); return x; }
static uint32_t get32(uint64_t gpa) { uint32_t x; memcpy(&x, vm->ram + gpa, 4); return x; }

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    put64(table + 16ull * i, addr);
    put32(table + 16ull * i + 8, len);
    put16(table + 16ull * i + 12, flags);
    put16(table + 16ull * i + 14, next);
}

/* virtio_blk.c: virtio_queue_rq -> virtblk_add_req -> virtqueue_add_sgs (virtio_ring.c:
 * virtqueue_add_split): out header, data, status. With INDIRECT_DESC and more than one sg the
 * chain goes into an indirect table (next = i + 1 throughout, NEXT cleared on the last); the
 * ring descriptor carries only INDIRECT and its free-list next. Then virtqueue_kick_prepare
 * (no EVENT_IDX: notify unless used->flags has NO_NOTIFY) and vp_notify. Returns the head. */
static uint16_t lx_submit(struct lx_virtio *v, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
                          bool device_writes)
{
    put32(REQ_GPA, type);
    put32(REQ_GPA + 4, 0);              /* ioprio */
    put64(REQ_GPA + 8, sector);
    vm->ram[REQ_GPA + 16] = 0xEE;        /* the status byte, not yet written */
    unsigned n = 0;
    uint16_t write = device_writes ? LX_DESC_F_WRITE : 0;
    put_desc(INDIRECT_GPA, n, REQ_GPA, 16, LX_DESC_F_NEXT, (uint16_t)(n + 1)); n++;
    if (len) {
        put_desc(INDIRECT_GPA, n, data, len, (uint16_t)(LX_DESC_F_NEXT | write), (uint16_t)(n + 1)); n++;
    }
    put_desc(INDIRECT_GPA, n, REQ_GPA + 16, 1, LX_DESC_F_WRITE, (uint16_t)(n + 1)); n++;
    assert_true(has(v, LX_VIRTIO_F_INDIRECT) && n > 1 && v->num_free);   /* virtqueue_use_indirect */
    uint16_t head = v->free_head;
    put_desc(v->desc, head, INDIRECT_GPA, 16 * n, LX_DESC_F_INDIRECT, (uint16_t)((head + 1) % v->num));
    v->free_head = (uint16_t)((head + 1) % v->num);
    v->num_free--;
    put16(v->avail + 4 + 2ull * (v->avail_idx_shadow & (v->num - 1)), head);
    v->avail_idx_shadow++;
    put16(v->avail + 2, v->avail_idx_shadow);
    if (!(get16(v->used) & LX_USED_F_NO_NOTIFY))
        lx_iowrite(&v->notify, v->notify_off, 2, 0);    /* iowrite16(vq->index, vq->priv) */
    return head;
}

/* virtio_pci_common.c: vp_interrupt on the shared INTx line, then vring_interrupt and
 * virtqueue_get_buf (virtio_ring.c: more_used_split, virtqueue_get_buf_ctx_split). Returns the
 * ISR value read; *id and *len describe the completed buffer when there was one. */
static uint8_t lx_interrupt(struct lx_virtio *v, bool *got, uint32_t *id, uint32_t *len)
{
    uint8_t isr = (uint8_t)lx_ioread(&v->isr, 0, 1);
    *got = false;
    if (!isr)
        return 0;                                       /* IRQ_NONE: not ours */
    if (get16(v->used + 2) != v->last_used_idx) {
        uint16_t slot = v->last_used_idx & (v->num - 1);
        *id = get32(v->used + 4 + 8ull * slot);
        *len = get32(v->used + 4 + 8ull * slot + 4);
        assert_true(*id < v->num);                      /* BAD_RING "id out of range" */
        v->last_used_idx++;
        v->num_free++;                                  /* detach_buf_split */
        *got = true;
    }
    return isr;
}

/* ---------------------------------------------------------------------------------------------
 * Fixture and tests.
 * ------------------------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("linux", RAM_SIZE);
    vcpu = test_vcpu(vm);
    disk = mem_blkdev_new(DISK_SECTORS, 512, 0);
    struct gpt_partition p;
    struct minidisk md;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "root");
    p.first_lba = PART_FIRST;
    p.last_lba = PART_LAST;
    assert_int_equal(minidisk_init(&md, &disk->dev, &p, false), 0);
    assert_int_equal(virtio_blk_pci_attach(vm, &md, NULL), 0);
    for (unsigned s = 0; s < 16; s++)
        for (unsigned i = 0; i < 512; i++)
            mem_blkdev_sector(disk, PART_FIRST + s)[i] = (uint8_t)(s * 31 + i * 7 + 3);
    memset(devs, 0, sizeof(devs));
    ndevs = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_true(mem_blkdev_all_within(disk, PART_FIRST, PART_LAST));
    virtio_blk_pci_detach(vm);
    mem_blkdev_free(disk);
    test_vm_free(vm);
    return 0;
}

/* pci_direct_probe: conf1 answers the 0x80000000 probe and bus 0 has a host bridge, so Linux
 * uses it; the 0xCFB poke is harmless; the address latch is restored. Without a PCI host the
 * probe fails, as it should (no host bridge to find). */
static void test_conf1_detection(void **state)
{
    (void)state;
    outp(PCI_PORT_CONFIG_ADDRESS, 4, 0x80000810u);
    assert_true(lx_check_type1());
    assert_int_equal(inp(PCI_PORT_CONFIG_ADDRESS, 4), 0x80000810u);
    /* The sanity check is satisfied at 00:00.0 by the class, not by luck further on. */
    uint32_t x;
    assert_true(conf1_read(0, 0, LX_PCI_CLASS_DEVICE, 2, &x));
    assert_int_equal(x, LX_CLASS_BRIDGE_HOST);
    /* pci_mmcfg_check_hostbridge: the host bridge is none of the chipsets whose MMCONFIG Linux
     * would switch to on its own (E7520 0x3590, 945G 0x2770), and nothing answers at the AMD
     * northbridge places (00:18.0, ff:00.0). */
    assert_true(conf1_read(0, 0, PCI_VENDOR_ID, 4, &x));
    assert_int_not_equal(x, 0x35908086u);
    assert_int_not_equal(x, 0x27708086u);
    assert_true(conf1_read(0, 0xC0, PCI_VENDOR_ID, 4, &x));
    assert_int_equal(x, 0xFFFFFFFFu);
    assert_true(conf1_read(0xFF, 0, PCI_VENDOR_ID, 4, &x));
    assert_int_equal(x, 0xFFFFFFFFu);
    /* No host: the latch reads back as the empty bus. */
    struct pci_host *h = vm->pci;
    vm->pci = NULL;
    assert_false(lx_check_type1());
    vm->pci = h;
}

/* pci_scan_root_bus: exactly the host bridge and the virtio-blk function, each as Linux must
 * see it for the later steps. */
static void test_enumeration(void **state)
{
    (void)state;
    lx_pci_subsys_init();
    assert_int_equal(ndevs, 2);

    const struct lx_pci_dev *hb = &devs[0];
    assert_int_equal(hb->devfn, 0);
    assert_int_equal(hb->vendor, PCI_HOST_BRIDGE_VENDOR);
    assert_int_equal(hb->device, PCI_HOST_BRIDGE_DEVICE);
    assert_int_equal(hb->class_code, PCI_CLASS_HOST_BRIDGE);
    assert_false(hb->multifunction);
    assert_true(hb->mmio_always_on);
    assert_int_equal(hb->cfg_size, 256);
    assert_int_equal(hb->pin, 0);
    for (unsigned r = 0; r < 7; r++)
        assert_int_equal(hb->res[r].size, 0);

    const struct lx_pci_dev *vd = &devs[1];
    assert_int_equal(vd->devfn, VIRTIO_BLK_PCI_SLOT << 3);
    assert_int_equal(vd->vendor, 0x1AF4);
    assert_int_equal(vd->device, 0x1042);
    assert_int_equal(vd->revision, 1);                   /* spec 4.1.2.1: modern devices have revision >= 1 */
    assert_int_equal(vd->class_code, VIRTIO_PCI_CLASS_BLOCK);
    assert_int_equal(vd->subsystem_vendor, 0x1AF4);
    assert_false(vd->multifunction);
    assert_false(vd->mmio_always_on);
    assert_false(vd->broken_intx_masking);              /* INTx disable is writable */
    assert_int_equal(vd->cfg_size, 256);
    /* BAR0: 16 KiB 64-bit non-prefetchable memory where firmware left it; nothing else. */
    assert_true(vd->res[0].mem && vd->res[0].mem64 && !vd->res[0].prefetch);
    assert_int_equal(vd->res[0].size, VIRTIO_PCI_BAR_SIZE);
    assert_int_equal(vd->res[0].start, virtio_pci_bar_base(RAM_SIZE));
    assert_true(vd->res[0].claimed);
    for (unsigned r = 1; r < 7; r++)
        assert_int_equal(vd->res[r].size, 0);
    /* Sizing left the BAR as it was and decoding on. */
    assert_int_equal(pci_function_bar_address(&virtio_blk_pci_transport(vm)->fn, 0), vd->res[0].start);
    assert_int_equal(gpa_read(vm, vd->res[0].start + VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    /* Capabilities: vendor-specific only - no MSI, MSI-X, PM, PCIe, PCI-X, EA, VPD. */
    assert_int_equal(vd->msi_cap, 0);
    assert_int_equal(vd->msix_cap, 0);
    assert_int_equal(vd->pm_cap, 0);
    assert_int_equal(vd->pcie_cap, 0);
    assert_int_equal(vd->ea_cap, 0);
    assert_int_equal(vd->vpd_cap, 0);
    unsigned hops = 0;
    assert_int_equal(lx_find_next_cap(vd, PCI_CAPABILITY_LIST, 0xFE, &hops), 0);
    assert_int_equal(hops, 5);                          /* common, notify, ISR, device, PCI_CFG */
    /* INTx: pin A, a line that survives pcibios_fixup_irqs. */
    assert_int_equal(vd->pin, 1);
    assert_int_equal(vd->irq, PCI_HOST_INTX_IRQ);
    /* Everything else on bus 0 is absent the way Linux tests it (all ones). */
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t l;
        if (devfn == 0 || devfn == vd->devfn)
            continue;
        assert_false(lx_read_vendor_id(devfn, &l));
        assert_int_equal(l, 0xFFFFFFFFu);
    }
}

/* The IRQ Linux ends up with, and why it must not be 0xFF: with the line firmware would leave
 * for "unknown", pcibios_fixup_irqs drops it and vp_find_vqs has nothing to fall back on. */
static void test_irq_routing(void **state)
{
    (void)state;
    lx_pci_subsys_init();
    struct lx_pci_dev *vd = lx_virtio_pci_match();
    assert_non_null(vd);
    /* One of the IRQs PC firmware hands PCI (arch/x86/pci/irq.c: pcibios_irq_mask 0xfff8 and no
     * ISA penalty): not the timer, keyboard, cascade, serial, floppy, parallel, mouse, FPU or IDE. */
    assert_true(vd->irq == 5 || (vd->irq >= 9 && vd->irq <= 11));
    assert_true((0xFFF8u >> vd->irq) & 1);
    lx_enable_device(vd);
    assert_true(vd->irq != 0);

    /* Counter-check: the old value. */
    wr(vd, PCI_INTERRUPT_LINE, 1, 0xFF);
    lx_read_irq(vd);
    lx_fixup_irqs(vd, 1);
    assert_int_equal(vd->irq, 0);
    wr(vd, PCI_INTERRUPT_LINE, 1, PCI_HOST_INTX_IRQ);
    lx_read_irq(vd);
    lx_fixup_irqs(vd, 1);
    assert_int_equal(vd->irq, PCI_HOST_INTX_IRQ);
    /* The interrupt pin is read-only. */
    wr(vd, PCI_INTERRUPT_PIN, 1, 0);
    assert_int_equal(rd(vd, PCI_INTERRUPT_PIN, 1), 1);
}

/* pci_assign_unassigned_resources may move a BAR (here: above 4 GiB and back) and Linux then
 * reads every half back; the device follows each move and the driver still binds. */
static void test_bar_reassignment(void **state)
{
    (void)state;
    lx_pci_subsys_init();
    struct lx_pci_dev *vd = lx_virtio_pci_match();
    assert_non_null(vd);
    uint64_t old = vd->res[0].start;
    lx_update_resource(vd, 0, 0x800000000ull);
    assert_int_equal(gpa_read(vm, old + VIRTIO_PCI_COMMON_NUMQ, 2), 0xFFFF);
    assert_int_equal(gpa_read(vm, 0x800000000ull + VIRTIO_PCI_COMMON_NUMQ, 2), 1);
    lx_update_resource(vd, 0, 0xFEB00000ull);
    assert_int_equal(gpa_read(vm, 0x800000000ull + VIRTIO_PCI_COMMON_NUMQ, 2), 0xFFFF);
    assert_int_equal(vm->bus.mmio.count, 1);
    /* Re-sizing at the new place gives the same resource. */
    lx_read_base(vd, 0, false);
    assert_int_equal(vd->res[0].start, 0xFEB00000ull);
    assert_int_equal(vd->res[0].size, VIRTIO_PCI_BAR_SIZE);
    vd->res[0].claimed = true;
    lx_bind_virtio_blk(&lv, vd, NULL);
    assert_int_equal(lv.common.base, 0xFEB00000ull + VIRTIO_PCI_COMMON_OFFSET);
}

/* The whole way: enumeration, virtio_pci modern probe, virtio core, virtio_blk probe, the
 * partition scan's first read (one page of sector 0) and the INTx interrupt that completes it. */
static void test_probe_to_first_read(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    lx_pci_subsys_init();
    struct lx_pci_dev *vd = lx_virtio_pci_match();
    assert_non_null(vd);
    uint64_t offered;
    lx_bind_virtio_blk(&lv, vd, &offered);

    /* vp_modern_probe's mappings. */
    uint64_t bar = vd->res[0].start;
    assert_int_equal(lv.id_vendor, 0x1AF4);
    assert_int_equal(lv.modern_bars, 1);
    assert_int_equal(lv.common.base, bar + VIRTIO_PCI_COMMON_OFFSET);
    assert_true(lv.common.len >= LX_COMMON_CFG_LEN);
    assert_int_equal(lv.isr.base, bar + VIRTIO_PCI_ISR_OFFSET);
    assert_int_equal(lv.isr.len, 1);
    assert_int_equal(lv.notify.base, bar + VIRTIO_PCI_NOTIFY_OFFSET);
    assert_true(lv.notify.len >= 2);
    assert_true(lv.notify_offset_multiplier % 2 == 0);  /* spec 4.1.4.4: even */
    assert_int_equal(lv.device.base, bar + VIRTIO_PCI_DEVICE_OFFSET);
    assert_int_equal(lv.device.len, VIRTIO_BLK_CONFIG_SIZE);
    assert_true(lv.device.len <= LX_BLK_CONFIG_LEN);

    /* Negotiated: everything offered is something virtio_blk or virtio_ring takes. */
    assert_int_equal(lv.features, offered);
    assert_true(has(&lv, LX_VIRTIO_F_INDIRECT));
    assert_false(has(&lv, LX_VIRTIO_F_EVENT_IDX));
    assert_false(has(&lv, LX_VIRTIO_F_ACCESS_PLAT));
    assert_false(has(&lv, LX_VIRTIO_F_RING_PACKED));
    assert_false(has(&lv, LX_VIRTIO_F_RING_RESET));
    assert_int_equal(virtio_blk_pci_device(vm)->driver_features, lv.features);

    /* virtblk_probe's view. */
    assert_int_equal(lv.sg_elems, VIRTQ_MAX_SIZE - 2);
    assert_true(lv.sg_elems + 2 <= lv.num);             /* a full request fits the queue */
    assert_int_equal(lv.blk_size, 512);
    assert_int_equal(lv.capacity, PART_LAST - PART_FIRST + 1);
    assert_true(lv.writeback);
    assert_int_equal(lv.num, VIRTQ_MAX_SIZE);
    assert_int_equal(vp_get_status(&lv), LX_S_ACKNOWLEDGE | LX_S_DRIVER | LX_S_FEATURES_OK | LX_S_DRIVER_OK);
    /* The device took the rings where Linux put them. */
    struct virtq *q = &virtio_blk_pci_device(vm)->vq[0];
    assert_true(q->enabled);
    assert_int_equal(q->size, lv.num);
    assert_int_equal(q->desc_gpa, lv.desc);
    assert_int_equal(q->avail_gpa, lv.avail);
    assert_int_equal(q->used_gpa, lv.used);
    /* MSI-X is absent, so the vectors read "no vector" (what Linux would see had it tried). */
    assert_int_equal(common_rd(&lv, VIRTIO_PCI_COMMON_MSIX, 2), LX_MSI_NO_VECTOR);
    assert_int_equal(common_rd(&lv, VIRTIO_PCI_COMMON_Q_MSIX, 2), LX_MSI_NO_VECTOR);

    /* Nothing pending, so a shared interrupt from another device is not ours. */
    bool got;
    uint32_t id = 0, len = 0;
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), 0);
    assert_false(pci_function_intx_asserted(&vp->fn));

    /* blk_add_partitions -> read_part_sector(0): one 4 KiB page, a 3-entry indirect chain. */
    memset(vm->ram + PAGE_GPA, 0, PAGE_SIZE);
    uint16_t head = lx_submit(&lv, VIRTIO_BLK_T_IN, 0, PAGE_GPA, PAGE_SIZE, true);
    assert_int_equal(vp->stats.notifies, 1);
    /* The device raises INTx (level, pin A) and its status bit; vp_interrupt acknowledges. */
    assert_true(pci_function_intx_asserted(&vp->fn));
    assert_true(rd(vd, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    uint8_t isr = lx_interrupt(&lv, &got, &id, &len);
    assert_int_equal(isr, LX_ISR_QUEUE);                /* no configuration change */
    assert_true(got);
    assert_int_equal(id, head);
    assert_int_equal(len, PAGE_SIZE + 1);               /* data + status */
    assert_int_equal(vm->ram[REQ_GPA + 16], VIRTIO_BLK_S_OK);
    for (unsigned s = 0; s < PAGE_SIZE / 512; s++)
        assert_memory_equal(vm->ram + PAGE_GPA + 512 * s, mem_blkdev_sector(disk, PART_FIRST + s), 512);
    /* ISR is read-to-clear and the line dropped with it. */
    assert_false(pci_function_intx_asserted(&vp->fn));
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), 0);

    /* Nothing Linux did was refused or ignored by the device. */
    assert_int_equal(vp->stats.bad_accesses, 0);
    assert_int_equal(vp->stats.ignored_notifies, 0);
    assert_int_equal(vp->stats.refused_features, 0);
    assert_false(virtio_blk_pci_device(vm)->needs_reset);
}

/* Write-back cache: a write, then the flush Linux sends (FLUSH negotiated), both completed
 * through the interrupt path; a read past the capacity fails with IOERR and nothing else. */
static void test_write_flush_and_range(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    lx_pci_subsys_init();
    lx_bind_virtio_blk(&lv, lx_virtio_pci_match(), NULL);
    bool got;
    uint32_t id, len;
    for (unsigned i = 0; i < 1024; i++)
        vm->ram[PAGE_GPA + i] = (uint8_t)(i ^ 0x5A);
    uint16_t head = lx_submit(&lv, VIRTIO_BLK_T_OUT, 100, PAGE_GPA, 1024, false);
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), LX_ISR_QUEUE);
    assert_true(got && id == head && len == 1);
    assert_int_equal(vm->ram[REQ_GPA + 16], VIRTIO_BLK_S_OK);
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST + 100), vm->ram + PAGE_GPA, 512);
    assert_memory_equal(mem_blkdev_sector(disk, PART_FIRST + 101), vm->ram + PAGE_GPA + 512, 512);
    uint64_t flushes = virtio_blk_pci_device(vm)->stats.flushes;
    head = lx_submit(&lv, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), LX_ISR_QUEUE);
    assert_true(got && id == head);
    assert_int_equal(vm->ram[REQ_GPA + 16], VIRTIO_BLK_S_OK);
    assert_int_equal(virtio_blk_pci_device(vm)->stats.flushes, flushes + 1);
    head = lx_submit(&lv, VIRTIO_BLK_T_IN, lv.capacity, PAGE_GPA, 512, true);
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), LX_ISR_QUEUE);
    assert_true(got && id == head);
    assert_int_equal(vm->ram[REQ_GPA + 16], VIRTIO_BLK_S_IOERR);
    assert_int_equal(vp_get_status(&lv), 0x0F);
    assert_int_equal(vp->stats.bad_accesses, 0);
}

/* A broken chain (head beyond the ring) makes the device want a reset: the configuration
 * bit in ISR sends Linux to vp_config_changed -> virtblk_config_changed_work, which re-reads
 * the capacity through the generation loop; the status shows NEEDS_RESET. */
static void test_config_change_interrupt(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    lx_pci_subsys_init();
    lx_bind_virtio_blk(&lv, lx_virtio_pci_match(), NULL);
    host_console_reset();
    put16(lv.avail + 4 + 2ull * (lv.avail_idx_shadow & (lv.num - 1)), 0xFFFF);
    lv.avail_idx_shadow++;
    put16(lv.avail + 2, lv.avail_idx_shadow);
    lx_iowrite(&lv.notify, lv.notify_off, 2, 0);
    assert_true(pci_function_intx_asserted(&vp->fn));
    bool got;
    uint32_t id, len;
    uint8_t isr = lx_interrupt(&lv, &got, &id, &len);
    assert_true(isr & LX_ISR_CONFIG);
    assert_false(got);
    assert_int_equal(lx_virtio_cread(&lv, CFG_CAPACITY, 8), PART_LAST - PART_FIRST + 1);
    assert_true(vp_get_status(&lv) & LX_S_NEEDS_RESET);
    assert_false(pci_function_intx_asserted(&vp->fn));
    assert_non_null(strstr(host_console(), "needs reset"));
}

/* virtblk_remove + virtio_dev_remove, then the driver again (module reload, rebind): the reset
 * clears everything setup_vq looks at, so the second probe sees a fresh device. */
static void test_remove_and_rebind(void **state)
{
    (void)state;
    struct virtio_pci *vp = virtio_blk_pci_transport(vm);
    lx_pci_subsys_init();
    struct lx_pci_dev *vd = lx_virtio_pci_match();
    lx_bind_virtio_blk(&lv, vd, NULL);
    bool got;
    uint32_t id, len;
    lx_submit(&lv, VIRTIO_BLK_T_IN, 3, PAGE_GPA, 512, true);
    /* Removal before the interrupt was handled: the reset must drop the pending INTx. */
    assert_true(pci_function_intx_asserted(&vp->fn));
    lx_vp_reset(&lv);                                   /* virtblk_remove: virtio_reset_device */
    assert_false(pci_function_intx_asserted(&vp->fn));
    assert_int_equal(vp_get_status(&lv), 0);            /* virtio_dev_remove: WARN_ON_ONCE(get_status) */
    lx_add_status(&lv, LX_S_ACKNOWLEDGE);
    /* Rebind: the ring memory is new (zeroed) as Linux allocates it again. */
    memset(vm->ram + VRING_GPA, 0, INDIRECT_GPA - VRING_GPA);
    lx_bind_virtio_blk(&lv, vd, NULL);
    uint16_t head = lx_submit(&lv, VIRTIO_BLK_T_IN, 3, PAGE_GPA, 512, true);
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), LX_ISR_QUEUE);
    assert_true(got && id == head && len == 513);
    assert_memory_equal(vm->ram + PAGE_GPA, mem_blkdev_sector(disk, PART_FIRST + 3), 512);
    assert_int_equal(vp->stats.bad_accesses, 0);
}

/* A read-only minidisk: RO is offered and taken (set_disk_ro), and a write fails with IOERR. */
static void test_read_only_disk(void **state)
{
    (void)state;
    struct minidisk md = virtio_blk_pci_device(vm)->md;
    virtio_blk_pci_detach(vm);
    md.read_only = true;
    assert_int_equal(virtio_blk_pci_attach(vm, &md, NULL), 0);
    lx_pci_subsys_init();
    lx_bind_virtio_blk(&lv, lx_virtio_pci_match(), NULL);
    assert_true(has(&lv, LX_BLK_F_RO));
    bool got;
    uint32_t id, len;
    lx_submit(&lv, VIRTIO_BLK_T_OUT, 0, PAGE_GPA, 512, false);
    assert_int_equal(lx_interrupt(&lv, &got, &id, &len), LX_ISR_QUEUE);
    assert_true(got);
    assert_int_equal(vm->ram[REQ_GPA + 16], VIRTIO_BLK_S_IOERR);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_conf1_detection),
        T(test_enumeration),
        T(test_irq_routing),
        T(test_bar_reassignment),
        T(test_probe_to_first_read),
        T(test_write_flush_and_range),
        T(test_config_change_interrupt),
        T(test_remove_and_rebind),
        T(test_read_only_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
