/* The virtio-blk driver of virtio_blk.h: PCI transport (spec 4.1), feature negotiation and
 * queue setup (3.1.1), split virtqueue (2.7) and block requests (5.2.6). */
#include "console.h"
#include "virtio_blk.h"

/* struct virtio_pci_common_cfg */
#define COMMON_DEVICE_FEATURE_SELECT 0x00
#define COMMON_DEVICE_FEATURE        0x04
#define COMMON_DRIVER_FEATURE_SELECT 0x08
#define COMMON_DRIVER_FEATURE        0x0C
#define COMMON_CONFIG_MSIX_VECTOR    0x10
#define COMMON_NUM_QUEUES            0x12
#define COMMON_DEVICE_STATUS         0x14
#define COMMON_CONFIG_GENERATION     0x15
#define COMMON_QUEUE_SELECT          0x16
#define COMMON_QUEUE_SIZE            0x18
#define COMMON_QUEUE_MSIX_VECTOR     0x1A
#define COMMON_QUEUE_ENABLE          0x1C
#define COMMON_QUEUE_NOTIFY_OFF      0x1E
#define COMMON_QUEUE_DESC            0x20
#define COMMON_QUEUE_DRIVER          0x28
#define COMMON_QUEUE_DEVICE          0x30
#define COMMON_CFG_MIN_LEN           0x38
#define VIRTIO_MSI_NO_VECTOR         0xFFFF

/* struct virtio_pci_cap (and notify_off_multiplier after it) */
#define CAP_CFG_TYPE   3
#define CAP_BAR        4
#define CAP_OFFSET     8
#define CAP_LENGTH     12
#define CAP_NOTIFY_MULTIPLIER 16
#define CAP_MIN_LEN    16

/* struct virtio_blk_config */
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SEG_MAX  12
#define BLK_CFG_BLK_SIZE 20
#define BLK_CFG_MIN_LEN  24

#define WANTED_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_SEG_MAX) | \
                         (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) | \
                         (1ull << VIRTIO_BLK_F_RO))

/* Polling bounds: spins of the used-ring check, with the device status (an exit under Tessera)
 * looked at every STATUS_EVERY spins. Tessera does a bounded step of the work during the
 * notify write and the rest while this loop spins on PAUSE (which then exits), QEMU completes
 * within microseconds, so the bound only matters when the device never answers. */
#define POLL_SPINS    20000000u
#define STATUS_EVERY  4096u
#define RESET_SPINS   1000000u

/* MMIO as plain MOVs of the access size, the forms an instruction emulator decodes. */
static inline uint8_t mmio_read8(volatile uint8_t *base, unsigned off)
{
    uint8_t v;
    asm volatile("movb (%1), %0" : "=q"(v) : "r"(base + off) : "memory");
    return v;
}

static inline uint16_t mmio_read16(volatile uint8_t *base, unsigned off)
{
    uint16_t v;
    asm volatile("movw (%1), %0" : "=r"(v) : "r"(base + off) : "memory");
    return v;
}

static inline uint32_t mmio_read32(volatile uint8_t *base, unsigned off)
{
    uint32_t v;
    asm volatile("movl (%1), %0" : "=r"(v) : "r"(base + off) : "memory");
    return v;
}

static inline void mmio_write8(volatile uint8_t *base, unsigned off, uint8_t v)
{
    asm volatile("movb %0, (%1)" :: "q"(v), "r"(base + off) : "memory");
}

static inline void mmio_write16(volatile uint8_t *base, unsigned off, uint16_t v)
{
    asm volatile("movw %0, (%1)" :: "r"(v), "r"(base + off) : "memory");
}

static inline void mmio_write32(volatile uint8_t *base, unsigned off, uint32_t v)
{
    asm volatile("movl %0, (%1)" :: "r"(v), "r"(base + off) : "memory");
}

/* 64-bit fields as two 32-bit writes, low half first (4.1.3.1). */
static void mmio_write64(volatile uint8_t *base, unsigned off, uint64_t v)
{
    mmio_write32(base, off, (uint32_t)v);
    mmio_write32(base, off + 4, (uint32_t)(v >> 32));
}

static inline void barrier(void)
{
    asm volatile("" ::: "memory");
}

uint8_t virtio_blk_device_status(const struct virtio_blk *vb)
{
    return mmio_read8(vb->common, COMMON_DEVICE_STATUS);
}

static void set_status(struct virtio_blk *vb, uint8_t bits)
{
    mmio_write8(vb->common, COMMON_DEVICE_STATUS, (uint8_t)(virtio_blk_device_status(vb) | bits));
}

bool virtio_blk_has(const struct virtio_blk *vb, unsigned feature)
{
    return feature < 64 && (vb->features >> feature & 1);
}

bool virtio_blk_offers(const struct virtio_blk *vb, unsigned feature)
{
    return feature < 64 && (vb->offered >> feature & 1);
}

void virtio_blk_reset(struct virtio_blk *vb)
{
    vb->ready = false;
    mmio_write8(vb->common, COMMON_DEVICE_STATUS, 0);
    /* 4.1.4.3.2: the reset is complete once device status reads 0. */
    for (unsigned i = 0; i < RESET_SPINS && virtio_blk_device_status(vb) != 0; i++)
        asm volatile("pause");
}

/* Fails initialisation: FAILED in device status (3.1.1 step 8) and the reason kept. */
static int init_failed(struct virtio_blk *vb, const char *why)
{
    set_status(vb, VIRTIO_STATUS_FAILED);
    vb->error = why;
    return -1;
}

static uint64_t read_features(struct virtio_blk *vb)
{
    mmio_write32(vb->common, COMMON_DEVICE_FEATURE_SELECT, 0);
    uint64_t low = mmio_read32(vb->common, COMMON_DEVICE_FEATURE);
    mmio_write32(vb->common, COMMON_DEVICE_FEATURE_SELECT, 1);
    uint64_t high = mmio_read32(vb->common, COMMON_DEVICE_FEATURE);
    return high << 32 | low;
}

static void write_features(struct virtio_blk *vb, uint64_t features)
{
    mmio_write32(vb->common, COMMON_DRIVER_FEATURE_SELECT, 0);
    mmio_write32(vb->common, COMMON_DRIVER_FEATURE, (uint32_t)features);
    mmio_write32(vb->common, COMMON_DRIVER_FEATURE_SELECT, 1);
    mmio_write32(vb->common, COMMON_DRIVER_FEATURE, (uint32_t)(features >> 32));
}

/* Reads the fields we use with the generation-count protocol (4.1.4.3.1, 2.5.1). */
static void read_config(struct virtio_blk *vb)
{
    for (unsigned tries = 0; tries < 16; tries++) {
        uint8_t before = mmio_read8(vb->common, COMMON_CONFIG_GENERATION);
        uint64_t low = mmio_read32(vb->device_cfg, BLK_CFG_CAPACITY);
        uint64_t high = mmio_read32(vb->device_cfg, BLK_CFG_CAPACITY + 4);
        vb->capacity = high << 32 | low;
        vb->seg_max = virtio_blk_has(vb, VIRTIO_BLK_F_SEG_MAX) ? mmio_read32(vb->device_cfg, BLK_CFG_SEG_MAX) : 0;
        vb->blk_size = virtio_blk_has(vb, VIRTIO_BLK_F_BLK_SIZE) ? mmio_read32(vb->device_cfg, BLK_CFG_BLK_SIZE)
                                                                 : VIRTIO_BLK_SECTOR;
        if (mmio_read8(vb->common, COMMON_CONFIG_GENERATION) == before)
            return;
    }
}

static void clear_queue_memory(struct virtio_blk *vb)
{
    volatile uint8_t *p = (volatile uint8_t *)vb->desc;
    for (unsigned i = 0; i < sizeof(vb->desc); i++)
        p[i] = 0;
    p = (volatile uint8_t *)&vb->avail;
    for (unsigned i = 0; i < sizeof(vb->avail); i++)
        p[i] = 0;
    p = (volatile uint8_t *)&vb->used;
    for (unsigned i = 0; i < sizeof(vb->used); i++)
        p[i] = 0;
}

static int setup_queue(struct virtio_blk *vb)
{
    volatile uint8_t *c = vb->common;
    if (mmio_read16(c, COMMON_NUM_QUEUES) == 0)
        return init_failed(vb, "the device has no queues");
    mmio_write16(c, COMMON_QUEUE_SELECT, 0);
    uint16_t max = mmio_read16(c, COMMON_QUEUE_SIZE);
    if (max == 0)
        return init_failed(vb, "queue 0 is not available (size 0)");
    if (mmio_read16(c, COMMON_QUEUE_ENABLE) != 0)
        return init_failed(vb, "queue 0 is enabled right after reset");
    uint16_t size = 1;
    while ((unsigned)size * 2 <= max && (unsigned)size * 2 <= VBLK_QUEUE_MAX)
        size = (uint16_t)(size * 2);
    vb->queue_size = size;
    vb->avail_idx = 0;
    vb->last_used = 0;
    clear_queue_memory(vb);
    vb->avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;

    mmio_write16(c, COMMON_QUEUE_SIZE, size);
    mmio_write16(c, COMMON_QUEUE_MSIX_VECTOR, VIRTIO_MSI_NO_VECTOR);
    mmio_write64(c, COMMON_QUEUE_DESC, (uint64_t)(uintptr_t)vb->desc);
    mmio_write64(c, COMMON_QUEUE_DRIVER, (uint64_t)(uintptr_t)&vb->avail);
    mmio_write64(c, COMMON_QUEUE_DEVICE, (uint64_t)(uintptr_t)&vb->used);

    uint64_t notify_offset = (uint64_t)mmio_read16(c, COMMON_QUEUE_NOTIFY_OFF) * vb->notify_multiplier;
    if (vb->notify_len < 2 || notify_offset > vb->notify_len - 2)
        return init_failed(vb, "queue 0's doorbell lies outside the notification structure");
    vb->notify = (volatile uint16_t *)(vb->notify_base + notify_offset);
    mmio_write16(c, COMMON_QUEUE_ENABLE, 1);
    return 0;
}

int virtio_blk_init(struct virtio_blk *vb)
{
    vb->error = 0;
    virtio_blk_reset(vb);
    if (virtio_blk_device_status(vb) != 0)
        return init_failed(vb, "device status does not read 0 after reset");
    set_status(vb, VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(vb, VIRTIO_STATUS_DRIVER);

    vb->offered = read_features(vb);
    vb->features = vb->offered & WANTED_FEATURES;
    if (!virtio_blk_has(vb, VIRTIO_F_VERSION_1))
        return init_failed(vb, "the device does not offer VIRTIO_F_VERSION_1");
    write_features(vb, vb->features);
    set_status(vb, VIRTIO_STATUS_FEATURES_OK);
    if (!(virtio_blk_device_status(vb) & VIRTIO_STATUS_FEATURES_OK))
        return init_failed(vb, "the device refused our features (FEATURES_OK did not stick)");

    if (setup_queue(vb) != 0)
        return -1;
    set_status(vb, VIRTIO_STATUS_DRIVER_OK);
    uint8_t status = virtio_blk_device_status(vb);
    if (status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED) || !(status & VIRTIO_STATUS_DRIVER_OK))
        return init_failed(vb, "the device did not accept DRIVER_OK");
    read_config(vb);
    if (vb->blk_size < VIRTIO_BLK_SECTOR || (vb->blk_size & (vb->blk_size - 1)) != 0)
        return init_failed(vb, "blk_size is not a power of two >= 512");
    vb->ready = true;
    return 0;
}

/* The address a capability's (bar, offset, length) names, or NULL when it does not fit in an
 * assigned memory BAR. */
static volatile uint8_t *cap_region(const struct virtio_blk *vb, uint8_t cap, uint32_t min_len, uint32_t *len_out)
{
    uint8_t bar_index = pci_read8(&vb->pci, (uint16_t)(cap + CAP_BAR));
    uint32_t offset = pci_read32(&vb->pci, (uint16_t)(cap + CAP_OFFSET));
    uint32_t length = pci_read32(&vb->pci, (uint16_t)(cap + CAP_LENGTH));
    if (bar_index >= PCI_BARS)
        return 0;
    const struct pci_bar *bar = &vb->pci.bar[bar_index];
    if (bar->io || bar->size == 0 || bar->base == 0 || length < min_len || offset >= bar->size ||
        length > bar->size - offset)
        return 0;
    if (len_out)
        *len_out = length;
    return (volatile uint8_t *)(uintptr_t)(bar->base + offset);
}

/* Finds the four structures among the vendor capabilities; the first of each type wins (4.1.4). */
static int map_capabilities(struct virtio_blk *vb)
{
    uint8_t caps[PCI_MAX_CAPS];
    unsigned n = pci_capabilities(&vb->pci, caps, PCI_MAX_CAPS);
    for (unsigned i = 0; i < n; i++) {
        uint8_t at = caps[i];
        if (pci_read8(&vb->pci, at) != PCI_CAP_ID_VENDOR || pci_read8(&vb->pci, (uint16_t)(at + 2)) < CAP_MIN_LEN)
            continue;
        switch (pci_read8(&vb->pci, (uint16_t)(at + CAP_CFG_TYPE))) {
        case VIRTIO_PCI_CAP_COMMON_CFG:
            if (!vb->common)
                vb->common = cap_region(vb, at, COMMON_CFG_MIN_LEN, 0);
            break;
        case VIRTIO_PCI_CAP_NOTIFY_CFG:
            if (!vb->notify_base && pci_read8(&vb->pci, (uint16_t)(at + 2)) >= CAP_MIN_LEN + 4) {
                vb->notify_base = cap_region(vb, at, 2, &vb->notify_len);
                vb->notify_multiplier = pci_read32(&vb->pci, (uint16_t)(at + CAP_NOTIFY_MULTIPLIER));
            }
            break;
        case VIRTIO_PCI_CAP_ISR_CFG:
            if (!vb->isr)
                vb->isr = cap_region(vb, at, 1, 0);
            break;
        case VIRTIO_PCI_CAP_DEVICE_CFG:
            if (!vb->device_cfg)
                vb->device_cfg = cap_region(vb, at, BLK_CFG_MIN_LEN, &vb->device_cfg_len);
            break;
        }
    }
    if (!vb->common)
        vb->error = "no usable common configuration capability";
    else if (!vb->notify_base)
        vb->error = "no usable notification capability";
    else if (!vb->isr)
        vb->error = "no usable ISR capability";
    else if (!vb->device_cfg)
        vb->error = "no usable device configuration capability";
    return vb->error ? -1 : 0;
}

int virtio_blk_probe(struct virtio_blk *vb, const struct boot_info *boot, bool force_assign)
{
    static struct pci_device devices[PCI_MAX_DEVICES];
    unsigned n = pci_scan_bus0(devices, PCI_MAX_DEVICES);
    int found = -1;
    for (unsigned i = 0; i < n; i++) {
        pci_decode_bars(&devices[i]);
        bool blk = devices[i].vendor == VIRTIO_PCI_VENDOR &&
                   (devices[i].device == VIRTIO_PCI_DEVICE_BLK ||
                    (devices[i].device == VIRTIO_PCI_DEVICE_BLK_LEGACY && devices[i].subsystem == 2));
        if (blk && found < 0)
            found = (int)i;
    }
    vb->common = vb->isr = vb->device_cfg = vb->notify_base = 0;
    vb->notify = 0;
    vb->ready = false;
    vb->error = 0;
    if (found < 0)
        return 1;
    vb->pci = devices[found];
    console_printf("# virtio-blk: %02x:%02x.%x %04x:%04x\n", vb->pci.bus, vb->pci.slot, vb->pci.function,
                   vb->pci.vendor, vb->pci.device);
    if (force_assign) {
        for (unsigned i = 0; i < PCI_BARS; i++) {
            if (!vb->pci.bar[i].io)
                vb->pci.bar[i].base = 0;
        }
    }
    struct pci_window window = pci_default_window(boot);
    if (pci_assign_bars(&vb->pci, devices, n, &window, boot) < 0) {
        vb->error = "its memory BARs could not be placed";
        return -1;
    }
    pci_enable(&vb->pci, PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
    if (map_capabilities(vb) != 0)
        return -1;
    return virtio_blk_init(vb);
}

void virtio_blk_notify(struct virtio_blk *vb)
{
    asm volatile("mfence" ::: "memory");   /* the ring updates reach memory before the doorbell */
    asm volatile("movw %0, (%1)" :: "r"((uint16_t)0), "r"(vb->notify) : "memory");
}

/* Makes `head` available, notifies queue 0 and polls for its used entry. */
static struct vblk_completion submit(struct virtio_blk *vb, uint16_t head)
{
    struct vblk_completion done = { .result = VBLK_ETIMEOUT };
    volatile struct virtq_avail *avail = &vb->avail;
    volatile struct virtq_used *used = &vb->used;
    avail->ring[vb->avail_idx % vb->queue_size] = head;
    barrier();                    /* x86 keeps stores in order; the compiler must too */
    vb->avail_idx++;
    avail->idx = vb->avail_idx;
    virtio_blk_notify(vb);

    for (unsigned spin = 0; spin < POLL_SPINS; spin++) {
        if (used->idx != vb->last_used) {
            barrier();
            const volatile struct virtq_used_elem *e = &used->ring[vb->last_used % vb->queue_size];
            done.used_id = e->id;
            done.used_len = e->len;
            vb->last_used++;
            done.result = done.used_id == head ? 0 : VBLK_EBADUSED;
            break;
        }
        if (spin % STATUS_EVERY == 0 && (virtio_blk_device_status(vb) & VIRTIO_STATUS_NEEDS_RESET)) {
            done.result = VBLK_ENEEDS_RESET;
            break;
        }
        asm volatile("pause");
    }
    /* A request that did not come back leaves the rings out of step: re-initialise first. */
    if (done.result != 0)
        vb->ready = false;
    return done;
}

struct vblk_completion virtio_blk_submit_raw(struct virtio_blk *vb, const struct virtq_desc *descriptors,
                                             unsigned count, uint16_t head)
{
    if (!vb->ready)
        return (struct vblk_completion){ .result = VBLK_ENOTREADY };
    if (count > vb->queue_size)
        return (struct vblk_completion){ .result = VBLK_EINVAL };
    volatile struct virtq_desc *table = vb->desc;
    for (unsigned i = 0; i < count; i++) {
        table[i].addr = descriptors[i].addr;
        table[i].len = descriptors[i].len;
        table[i].flags = descriptors[i].flags;
        table[i].next = descriptors[i].next;
    }
    return submit(vb, head);
}

void virtio_blk_place_descriptors(struct virtio_blk *vb, const struct virtq_desc *descriptors, unsigned count)
{
    volatile struct virtq_desc *table = vb->desc;
    vb->ready = false;
    for (unsigned i = 0; i < count && i < vb->queue_size; i++) {
        table[i].addr = descriptors[i].addr;
        table[i].len = descriptors[i].len;
        table[i].flags = descriptors[i].flags;
        table[i].next = descriptors[i].next;
    }
}

void virtio_blk_make_available(struct virtio_blk *vb, const uint16_t *heads, unsigned nheads, unsigned count)
{
    volatile struct virtq_avail *avail = &vb->avail;
    vb->ready = false;
    if (nheads == 0)
        return;
    for (unsigned i = 0; i < count; i++)
        avail->ring[(uint16_t)(vb->avail_idx + i) % vb->queue_size] = heads[i % nheads];
    barrier();                    /* entries before the index that publishes them */
    vb->avail_idx = (uint16_t)(vb->avail_idx + count);
    avail->idx = vb->avail_idx;
}

uint16_t virtio_blk_used_idx(const struct virtio_blk *vb)
{
    return ((const volatile struct virtq_used *)&vb->used)->idx;
}

int virtio_blk_request(struct virtio_blk *vb, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
    if (!vb->ready)
        return VBLK_ENOTREADY;
    bool device_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    unsigned max_segments = vb->queue_size - 2u;
    if (vb->seg_max != 0 && vb->seg_max < max_segments)
        max_segments = vb->seg_max;
    if (max_segments == 0 && len != 0)
        return VBLK_EINVAL;
    uint32_t segment = VBLK_SEGMENT;
    if (len != 0 && (len - 1) / segment + 1 > max_segments) {
        /* Fewer, larger segments, each still a whole number of sectors. */
        uint64_t per = ((uint64_t)len + max_segments - 1) / max_segments;
        segment = (uint32_t)((per + VIRTIO_BLK_SECTOR - 1) & ~(uint64_t)(VIRTIO_BLK_SECTOR - 1));
    }

    vb->header = (struct virtio_blk_req_header){ .type = type, .sector = sector };
    vb->status = 0xFF;            /* no device writes this value */
    volatile struct virtq_desc *table = vb->desc;
    unsigned n = 0;
    table[n++] = (struct virtq_desc){ .addr = (uint64_t)(uintptr_t)&vb->header, .len = sizeof(vb->header),
                                      .flags = VIRTQ_DESC_F_NEXT, .next = 1 };
    uint64_t data = (uint64_t)(uintptr_t)buf;
    for (uint32_t done = 0; done < len; done += segment) {
        uint32_t piece = len - done < segment ? len - done : segment;
        table[n] = (struct virtq_desc){ .addr = data + done, .len = piece,
                                        .flags = (uint16_t)(VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0)),
                                        .next = (uint16_t)(n + 1) };
        n++;
    }
    table[n] = (struct virtq_desc){ .addr = (uint64_t)(uintptr_t)&vb->status, .len = 1, .flags = VIRTQ_DESC_F_WRITE };
    struct vblk_completion done = submit(vb, 0);
    if (done.result != 0)
        return done.result;
    return vb->status;
}

int virtio_blk_read(struct virtio_blk *vb, uint64_t sector, void *buf, uint32_t sectors)
{
    if (sectors > UINT32_MAX / VIRTIO_BLK_SECTOR)
        return VBLK_EINVAL;
    return virtio_blk_request(vb, VIRTIO_BLK_T_IN, sector, buf, sectors * VIRTIO_BLK_SECTOR);
}

int virtio_blk_write(struct virtio_blk *vb, uint64_t sector, const void *buf, uint32_t sectors)
{
    if (sectors > UINT32_MAX / VIRTIO_BLK_SECTOR)
        return VBLK_EINVAL;
    return virtio_blk_request(vb, VIRTIO_BLK_T_OUT, sector, (void *)(uintptr_t)buf, sectors * VIRTIO_BLK_SECTOR);
}

int virtio_blk_flush(struct virtio_blk *vb)
{
    return virtio_blk_request(vb, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
}

int virtio_blk_get_id(struct virtio_blk *vb, char id[VIRTIO_BLK_ID_BYTES])
{
    return virtio_blk_request(vb, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
}

const char *virtio_blk_result_name(int result)
{
    switch (result) {
    case VIRTIO_BLK_S_OK: return "OK";
    case VIRTIO_BLK_S_IOERR: return "IOERR";
    case VIRTIO_BLK_S_UNSUPP: return "UNSUPP";
    case 0xFF: return "status byte not written";
    case VBLK_ETIMEOUT: return "timeout";
    case VBLK_ENEEDS_RESET: return "NEEDS_RESET";
    case VBLK_EINVAL: return "request not expressible";
    case VBLK_ENOTREADY: return "driver not ready";
    case VBLK_EBADUSED: return "used entry for another chain";
    default: return "unknown status";
    }
}
