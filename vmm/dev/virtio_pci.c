/* Virtio 1.x modern PCI transport (spec 4.1): capabilities, the common configuration state
 * machine, ISR, notifications and the PCI_CFG window, over a backend; and the virtio-blk
 * binding that gives a guest with a minidisk its PCI disk. */
#include "dev/virtio_pci.h"
#include "dev/virtio_blk.h"
#include "bootinfo.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/gpa_bus.h"

/* Offsets inside the PCI_CFG capability (struct virtio_pci_cfg_cap). */
#define CAP_BAR       4
#define CAP_OFFSET    8
#define CAP_LENGTH    12
#define CAP_MULT      16     /* notify_off_multiplier, NOTIFY_CFG only */
#define CAP_CFG_DATA  16     /* pci_cfg_data[4], PCI_CFG only */
#define CAP_LEN_PLAIN 16
#define CAP_LEN_EXTRA 20

#define DRIVER_STATUS_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | \
                            VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)

static uint64_t mask_of(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static bool device_needs_reset(const struct virtio_pci *vp)
{
    return vp->setup_error || vp->ops->needs_reset(vp->be);
}

uint8_t virtio_pci_status(const struct virtio_pci *vp)
{
    return (uint8_t)(vp->status | (device_needs_reset(vp) ? VIRTIO_STATUS_NEEDS_RESET : 0));
}

/* INTx is level-triggered and follows the ISR (section 4.1.5.3): high while any ISR bit is set,
 * low once the driver's ISR read acknowledged it. The interrupt controller samples
 * pci_function_intx_asserted once there is one. */
static void set_isr(struct virtio_pci *vp, uint8_t isr)
{
    vp->isr = isr;
    pci_function_set_intx(&vp->fn, isr != 0);
}

void virtio_pci_signal_used(struct virtio_pci *vp, unsigned queue)
{
    (void)queue;
    set_isr(vp, (uint8_t)(vp->isr | VIRTIO_PCI_ISR_QUEUE));
}

void virtio_pci_signal_config(struct virtio_pci *vp)
{
    set_isr(vp, (uint8_t)(vp->isr | VIRTIO_PCI_ISR_CONFIG));
}

static void device_reset(struct virtio_pci *vp)
{
    vp->ops->reset(vp->be);
    vp->device_feature_select = vp->driver_feature_select = 0;
    vp->driver_features = 0;
    vp->status = 0;
    vp->setup_error = false;
    vp->queue_select = 0;
    set_isr(vp, 0);
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_QUEUES; i++) {
        vp->queue[i] = (struct virtio_pci_queue){ 0 };
        if (i < vp->num_queues)
            vp->queue[i].size = vp->ops->queue_max_size(vp->be, i);
    }
}

/* The driver may only accept what is offered, and a modern device insists on VERSION_1. */
static bool features_acceptable(const struct virtio_pci *vp)
{
    uint64_t offered = vp->ops->device_features(vp->be);
    return (vp->driver_features & ~offered) == 0 && (vp->driver_features >> VIRTIO_PCI_FEATURE_VERSION_1) & 1;
}

/* Bits only go up (a driver clears them by resetting); FEATURES_OK sticks only when the
 * features are acceptable, DRIVER_OK only after FEATURES_OK. */
static void write_status(struct virtio_pci *vp, uint8_t value)
{
    if (value == 0) {
        device_reset(vp);
        return;
    }
    uint8_t next = (uint8_t)(vp->status | (value & DRIVER_STATUS_BITS));
    if ((next & VIRTIO_STATUS_FEATURES_OK) && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
        if (features_acceptable(vp)) {
            vp->ops->set_driver_features(vp->be, vp->driver_features);
        } else {
            next &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
            vp->stats.refused_features++;
        }
    }
    if (!(next & VIRTIO_STATUS_FEATURES_OK))
        next &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    vp->status = next;
}

static struct virtio_pci_queue *selected_queue(struct virtio_pci *vp)
{
    return vp->queue_select < vp->num_queues ? &vp->queue[vp->queue_select] : NULL;
}

/* Queue registers are the driver's to set between reset and DRIVER_OK, while the queue is off. */
static struct virtio_pci_queue *writable_queue(struct virtio_pci *vp)
{
    struct virtio_pci_queue *q = selected_queue(vp);
    if (!q || q->enabled || (vp->status & VIRTIO_STATUS_DRIVER_OK) || device_needs_reset(vp))
        return NULL;
    return q;
}

static void enable_queue(struct virtio_pci *vp, struct virtio_pci_queue *q)
{
    unsigned index = vp->queue_select;
    if (!(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
        vp->stats.bad_accesses++;   /* features first (section 3.1.1): the ring format depends on them */
        return;
    }
    if (vp->ops->queue_enable(vp->be, index, q->size, q->desc, q->driver, q->device) == 0) {
        q->enabled = true;
        return;
    }
    /* Tell the driver its setup failed rather than leaving it waiting on a dead queue. */
    log_printf("tessera: guest %s: virtio queue %u: size %u desc %#llx driver %#llx device %#llx "
               "unusable; device needs reset\n", vp->vm->name, index, q->size, (unsigned long long)q->desc,
               (unsigned long long)q->driver, (unsigned long long)q->device);
    vp->setup_error = true;
    virtio_pci_signal_config(vp);
}

/* Width of the common-configuration field at offset, 0 for none. The three 64-bit queue
 * addresses are reported as 4 (two dwords, as the spec lets drivers write them). */
static unsigned common_field_width(uint64_t offset)
{
    if (offset < VIRTIO_PCI_COMMON_MSIX)
        return (offset & 3) ? 0 : 4;
    if (offset < VIRTIO_PCI_COMMON_STATUS)
        return (offset & 1) ? 0 : 2;
    if (offset < VIRTIO_PCI_COMMON_Q_SELECT)
        return 1;
    if (offset < VIRTIO_PCI_COMMON_Q_DESCLO)
        return (offset & 1) ? 0 : 2;
    if (offset < VIRTIO_PCI_COMMON_SIZE)
        return (offset & 3) ? 0 : 4;
    return 0;
}

static bool is_queue_address(uint64_t offset)
{
    return offset >= VIRTIO_PCI_COMMON_Q_DESCLO && offset < VIRTIO_PCI_COMMON_SIZE;
}

static uint64_t *queue_address_field(struct virtio_pci_queue *q, uint64_t offset)
{
    if (offset < VIRTIO_PCI_COMMON_Q_AVAILLO)
        return &q->desc;
    if (offset < VIRTIO_PCI_COMMON_Q_USEDLO)
        return &q->driver;
    return &q->device;
}

static uint32_t common_read32(struct virtio_pci *vp, uint64_t offset)
{
    struct virtio_pci_queue *q = selected_queue(vp);
    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT: return vp->device_feature_select;
    case VIRTIO_PCI_COMMON_DF:
        if (vp->device_feature_select > 1)
            return 0;
        return (uint32_t)(vp->ops->device_features(vp->be) >> (32 * vp->device_feature_select));
    case VIRTIO_PCI_COMMON_GFSELECT: return vp->driver_feature_select;
    case VIRTIO_PCI_COMMON_GF:
        return vp->driver_feature_select > 1 ? 0 : (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select));
    case VIRTIO_PCI_COMMON_MSIX: return VIRTIO_PCI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_NUMQ: return vp->num_queues;
    case VIRTIO_PCI_COMMON_STATUS: return virtio_pci_status(vp);
    case VIRTIO_PCI_COMMON_CFGGEN: return 0;    /* the configuration never changes under the driver */
    case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_select;
    case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->size : 0;
    case VIRTIO_PCI_COMMON_Q_MSIX: return VIRTIO_PCI_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->enabled : 0;
    case VIRTIO_PCI_COMMON_Q_NOFF: return q ? vp->queue_select : 0;
    default:
        if (!q || !is_queue_address(offset))
            return 0;
        return (uint32_t)(*queue_address_field(q, offset) >> (offset & 4 ? 32 : 0));
    }
}

static void common_write32(struct virtio_pci *vp, uint64_t offset, uint32_t value)
{
    struct virtio_pci_queue *q;
    switch (offset) {
    case VIRTIO_PCI_COMMON_DFSELECT: vp->device_feature_select = value; return;
    case VIRTIO_PCI_COMMON_GFSELECT: vp->driver_feature_select = value; return;
    case VIRTIO_PCI_COMMON_GF: {
        /* Frozen once FEATURES_OK is set: that is what the backend was given. */
        if (vp->driver_feature_select > 1 || (vp->status & VIRTIO_STATUS_FEATURES_OK))
            return;
        unsigned shift = 32 * vp->driver_feature_select;
        vp->driver_features = (vp->driver_features & ~(0xFFFFFFFFull << shift)) | (uint64_t)value << shift;
        return;
    }
    case VIRTIO_PCI_COMMON_STATUS: write_status(vp, (uint8_t)value); return;
    case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_select = (uint16_t)value; return;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        q = writable_queue(vp);
        /* Split rings need a power of two no larger than what the device offers. */
        if (q && value && !(value & (value - 1)) && value <= vp->ops->queue_max_size(vp->be, vp->queue_select))
            q->size = (uint16_t)value;
        return;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        q = writable_queue(vp);
        if (q && value == 1)
            enable_queue(vp, q);
        return;
    default:
        /* device_feature, num_queues, config_generation and queue_notify_off are read-only; the
         * MSI-X vectors stay NO_VECTOR (no MSI-X capability). */
        q = writable_queue(vp);
        if (q && is_queue_address(offset)) {
            uint64_t *field = queue_address_field(q, offset);
            unsigned shift = offset & 4 ? 32 : 0;
            *field = (*field & ~(0xFFFFFFFFull << shift)) | (uint64_t)value << shift;
        }
        return;
    }
}

static bool common_access_ok(uint64_t offset, unsigned size)
{
    if (size == 8)
        return is_queue_address(offset) && (offset & 7) == 0;
    return common_field_width(offset) == size;
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t offset, unsigned size)
{
    if (!common_access_ok(offset, size)) {
        vp->stats.bad_accesses++;
        return 0;
    }
    if (size == 8)
        return common_read32(vp, offset) | (uint64_t)common_read32(vp, offset + 4) << 32;
    return common_read32(vp, offset) & mask_of(size);
}

static void common_write(struct virtio_pci *vp, uint64_t offset, unsigned size, uint64_t value)
{
    if (!common_access_ok(offset, size)) {
        vp->stats.bad_accesses++;
        return;
    }
    if (size == 8) {
        common_write32(vp, offset, (uint32_t)value);
        common_write32(vp, offset + 4, (uint32_t)(value >> 32));
        return;
    }
    common_write32(vp, offset, (uint32_t)(value & mask_of(size)));
}

static void notify(struct virtio_pci *vp, uint64_t offset, unsigned size)
{
    uint64_t index = offset / VIRTIO_PCI_NOTIFY_MULT;
    if (size > 4 || offset % VIRTIO_PCI_NOTIFY_MULT) {
        vp->stats.bad_accesses++;
        return;
    }
    if (index >= vp->num_queues || !vp->queue[index].enabled || !(vp->status & VIRTIO_STATUS_DRIVER_OK) ||
        device_needs_reset(vp)) {
        vp->stats.ignored_notifies++;
        return;
    }
    vp->stats.notifies++;
    vp->ops->queue_notify(vp->be, (unsigned)index);
}

uint64_t virtio_pci_bar_read(struct virtio_pci *vp, uint64_t offset, unsigned size)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset >= VIRTIO_PCI_BAR_SIZE ||
        size > VIRTIO_PCI_BAR_SIZE - offset) {
        vp->stats.bad_accesses++;
        return 0;
    }
    uint64_t page = offset & ~(uint64_t)(VIRTIO_PCI_PAGE - 1), in_page = offset - page;
    switch (page) {
    case VIRTIO_PCI_COMMON_OFFSET:
        return common_read(vp, in_page, size);
    case VIRTIO_PCI_ISR_OFFSET:
        if (in_page == 0 && size <= 4) {
            uint8_t isr = vp->isr;      /* reading acknowledges (section 4.1.4.5) */
            set_isr(vp, 0);
            return isr;
        }
        break;
    case VIRTIO_PCI_DEVICE_OFFSET: {
        uint64_t v;
        if (vp->ops->config_read(vp->be, (uint32_t)in_page, size, &v) == 0)
            return v & mask_of(size);
        break;
    }
    default:
        return 0;                       /* notification area: nothing to read */
    }
    vp->stats.bad_accesses++;
    return 0;
}

void virtio_pci_bar_write(struct virtio_pci *vp, uint64_t offset, unsigned size, uint64_t value)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset >= VIRTIO_PCI_BAR_SIZE ||
        size > VIRTIO_PCI_BAR_SIZE - offset) {
        vp->stats.bad_accesses++;
        return;
    }
    uint64_t page = offset & ~(uint64_t)(VIRTIO_PCI_PAGE - 1), in_page = offset - page;
    switch (page) {
    case VIRTIO_PCI_COMMON_OFFSET:
        common_write(vp, in_page, size, value);
        return;
    case VIRTIO_PCI_DEVICE_OFFSET: {
        uint32_t cfg_size = vp->ops->config_size(vp->be);
        if (in_page < cfg_size && size <= cfg_size - in_page)
            vp->ops->config_write(vp->be, (uint32_t)in_page, size, value & mask_of(size));
        else
            vp->stats.bad_accesses++;
        return;
    }
    case VIRTIO_PCI_NOTIFY_OFFSET:
        notify(vp, in_page, size);
        return;
    default:
        vp->stats.bad_accesses++;       /* ISR is read-only */
        return;
    }
}

static uint64_t bar_mmio_read(void *dev, uint64_t offset, unsigned size)
{
    return virtio_pci_bar_read(dev, offset, size);
}

static void bar_mmio_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    virtio_pci_bar_write(dev, offset, size, value);
}

static const struct mmio_ops bar_mmio_ops = { bar_mmio_read, bar_mmio_write };

/* PCI_CFG window (section 4.1.4.9): pci_cfg_data mirrors `length` bytes of BAR `bar` at
 * `offset`. Only BAR0 exists; length must be 1, 2 or 4 and the span inside BAR0, else the
 * data reads 0 and writes go nowhere. Each config access that touches pci_cfg_data makes one
 * BAR access (so a driver reads it with one access of `length` bytes, as the spec intends). */
static bool cfg_window(const struct virtio_pci *vp, uint32_t *offset, uint32_t *length)
{
    const struct pci_function *f = &vp->fn;
    unsigned c = vp->pci_cfg_cap;
    *offset = pci_cfg_get(f, c + CAP_OFFSET, 4);
    *length = pci_cfg_get(f, c + CAP_LENGTH, 4);
    return f->cfg[c + CAP_BAR] == 0 && (*length == 1 || *length == 2 || *length == 4) &&
           *offset < VIRTIO_PCI_BAR_SIZE && *length <= VIRTIO_PCI_BAR_SIZE - *offset;
}

static bool touches_cfg_data(const struct virtio_pci *vp, unsigned offset, unsigned size)
{
    unsigned data = vp->pci_cfg_cap + CAP_CFG_DATA;
    return vp->pci_cfg_cap && offset < data + 4 && data < offset + size;
}

static void cfg_before_read(void *ctx, struct pci_function *f, unsigned offset, unsigned size)
{
    struct virtio_pci *vp = ctx;
    uint32_t at, len;
    if (!touches_cfg_data(vp, offset, size))
        return;
    uint32_t v = cfg_window(vp, &at, &len) ? (uint32_t)virtio_pci_bar_read(vp, at, len) : 0;
    pci_cfg_set(f, vp->pci_cfg_cap + CAP_CFG_DATA, 4, v);
}

static void cfg_after_write(void *ctx, struct pci_function *f, unsigned offset, unsigned size)
{
    struct virtio_pci *vp = ctx;
    uint32_t at, len;
    if (touches_cfg_data(vp, offset, size) && cfg_window(vp, &at, &len))
        virtio_pci_bar_write(vp, at, len, pci_cfg_get(f, vp->pci_cfg_cap + CAP_CFG_DATA, len));
}

static const struct pci_function_hooks cfg_hooks = { cfg_before_read, cfg_after_write };

static unsigned add_virtio_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t length,
                               unsigned cap_len, uint32_t extra)
{
    uint8_t cap[CAP_LEN_EXTRA] = { PCI_CAP_ID_VNDR, 0, (uint8_t)cap_len, type, 0 /* BAR0 */ };
    for (unsigned i = 0; i < 4; i++) {
        cap[CAP_OFFSET + i] = (uint8_t)(offset >> (8 * i));
        cap[CAP_LENGTH + i] = (uint8_t)(length >> (8 * i));
        cap[16 + i] = (uint8_t)(extra >> (8 * i));
    }
    return pci_function_add_cap(&vp->fn, cap, cap_len);
}

void virtio_pci_init(struct virtio_pci *vp, struct vm *vm, const struct virtio_backend_ops *ops, void *be,
                     uint64_t bar_base)
{
    memset(vp, 0, sizeof(*vp));
    vp->vm = vm;
    vp->ops = ops;
    vp->be = be;
    unsigned n = ops->num_queues(be);
    vp->num_queues = n < VIRTIO_PCI_MAX_QUEUES ? n : VIRTIO_PCI_MAX_QUEUES;

    struct pci_function *f = &vp->fn;
    pci_function_init(f, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_type),
                      ops->pci_class, VIRTIO_PCI_REVISION);
    pci_cfg_set(f, PCI_SUBSYSTEM_VENDOR, 2, VIRTIO_PCI_VENDOR);
    pci_cfg_set(f, PCI_SUBSYSTEM_ID, 2, ops->device_type);
    /* INTA, and the IRQ the board routes it to: without MSI-X, Linux's virtio_pci falls back
     * to INTx only when the line names an IRQ (virtio_pci_common.c: vp_find_vqs). */
    pci_cfg_set(f, PCI_INTERRUPT_PIN, 1, 1);
    pci_cfg_set(f, PCI_INTERRUPT_LINE, 1, PCI_HOST_INTX_IRQ);
    pci_cfg_set(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    f->hooks = &cfg_hooks;
    f->hook_ctx = vp;

    add_virtio_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_COMMON_SIZE,
                   CAP_LEN_PLAIN, 0);
    add_virtio_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET,
                   VIRTIO_PCI_NOTIFY_MULT * (vp->num_queues ? vp->num_queues : 1), CAP_LEN_EXTRA,
                   VIRTIO_PCI_NOTIFY_MULT);
    add_virtio_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, 1, CAP_LEN_PLAIN, 0);
    uint32_t cfg_size = ops->config_size(be);
    if (cfg_size > VIRTIO_PCI_PAGE)
        cfg_size = VIRTIO_PCI_PAGE;
    if (cfg_size)
        add_virtio_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET, cfg_size, CAP_LEN_PLAIN, 0);
    vp->pci_cfg_cap = add_virtio_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, CAP_LEN_EXTRA, 0);
    pci_function_allow_write(f, vp->pci_cfg_cap + CAP_BAR, 1);
    pci_function_allow_write(f, vp->pci_cfg_cap + CAP_OFFSET, 12);  /* offset, length, data */

    pci_function_add_bar64(f, 0, VIRTIO_PCI_BAR_SIZE, bar_base, &bar_mmio_ops, vp);
    device_reset(vp);
}

uint64_t virtio_pci_bar_base(uint64_t ram_size)
{
    const uint64_t below_4g = 0xE0000000ull, four_g = 1ull << 32;
    if (ram_size <= below_4g)
        return below_4g;
    if (ram_size > ~0ull - (four_g - 1))
        return 0;               /* no room: gpa_add_mmio refuses address 0 over RAM */
    return (ram_size + four_g - 1) & ~(four_g - 1);
}

/* ---- virtio-blk over this transport ---- */

static uint64_t blk_device_features(void *be) { return virtio_blk_device_features(be); }
static void blk_set_driver_features(void *be, uint64_t f) { virtio_blk_set_driver_features(be, f); }
static uint32_t blk_config_size(void *be) { (void)be; return VIRTIO_BLK_CONFIG_SIZE; }
static unsigned blk_num_queues(void *be) { (void)be; return VIRTIO_BLK_QUEUES; }
static uint16_t blk_queue_max_size(void *be, unsigned index) { (void)be; (void)index; return VIRTQ_MAX_SIZE; }
static void blk_queue_notify(void *be, unsigned index) { virtio_blk_notify(be, index); }
static bool blk_needs_reset(void *be) { return ((struct virtio_blk *)be)->needs_reset; }
static void blk_reset(void *be) { virtio_blk_reset(be); }

static int blk_config_read(void *be, uint32_t offset, unsigned size, uint64_t *value)
{
    return virtio_blk_config_read(be, offset, size, value);
}

static void blk_config_write(void *be, uint32_t offset, unsigned size, uint64_t value)
{
    (void)be; (void)offset; (void)size; (void)value;   /* no writable field is offered */
}

static int blk_queue_enable(void *be, unsigned index, uint16_t size, uint64_t desc, uint64_t driver,
                            uint64_t device)
{
    struct virtio_blk *b = be;
    struct virtq *q = virtio_blk_queue(b, index);
    if (!q)
        return -1;
    q->size = size;
    q->desc_gpa = desc;
    q->avail_gpa = driver;
    q->used_gpa = device;
    return virtq_enable(q, b->vm) == VIRTQ_OK ? 0 : -1;
}

static const struct virtio_backend_ops blk_ops = {
    .device_type = VIRTIO_ID_BLOCK,
    .pci_class = VIRTIO_PCI_CLASS_BLOCK,
    .device_features = blk_device_features,
    .set_driver_features = blk_set_driver_features,
    .config_size = blk_config_size,
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .num_queues = blk_num_queues,
    .queue_max_size = blk_queue_max_size,
    .queue_enable = blk_queue_enable,
    .queue_notify = blk_queue_notify,
    .needs_reset = blk_needs_reset,
    .reset = blk_reset,
};

static void blk_used(void *ctx, struct virtio_blk *b, unsigned queue)
{
    (void)b;
    virtio_pci_signal_used(ctx, queue);
}

static void blk_failed(void *ctx, struct virtio_blk *b)
{
    (void)b;
    virtio_pci_signal_config(ctx);
}

struct virtio_blk_pci {
    struct vm *vm;            /* NULL: free */
    bool owns_host;
    struct pci_host host;
    struct virtio_blk blk;
    struct virtio_pci vp;
};

static struct virtio_blk_pci blk_pci_pool[BOOTINFO_MAX_GUESTS];

static struct virtio_blk_pci *blk_pci_of(const struct vm *vm)
{
    for (unsigned i = 0; i < BOOTINFO_MAX_GUESTS; i++)
        if (vm && blk_pci_pool[i].vm == vm)
            return &blk_pci_pool[i];
    return NULL;
}

int virtio_blk_pci_attach(struct vm *vm, const struct minidisk *md, const struct virtio_blk_clock *clock)
{
    if (blk_pci_of(vm))
        return -1;
    struct virtio_blk_pci *e = NULL;
    for (unsigned i = 0; i < BOOTINFO_MAX_GUESTS && !e; i++)
        if (!blk_pci_pool[i].vm)
            e = &blk_pci_pool[i];
    if (!e) {
        log_printf("tessera: guest %s: no virtio-blk PCI slot left\n", vm->name);
        return -1;
    }
    memset(e, 0, sizeof(*e));
    virtio_blk_init(&e->blk, vm, md, clock);
    e->blk.hooks = (struct virtio_blk_hooks){ .used = blk_used, .needs_reset = blk_failed, .ctx = &e->vp };
    virtio_pci_init(&e->vp, vm, &blk_ops, &e->blk, virtio_pci_bar_base(vm->ram_size));
    struct pci_host *h = vm->pci;
    if (!h) {
        pci_host_init(&e->host, vm);
        h = &e->host;
        e->owns_host = true;
    }
    if (pci_host_add(h, VIRTIO_BLK_PCI_SLOT, &e->vp.fn) != 0 || !e->vp.fn.bar[0].mapped) {
        log_printf("tessera: guest %s: cannot place virtio-blk at 00:%02x.0 with BAR0 at %#llx\n", vm->name,
                   VIRTIO_BLK_PCI_SLOT, (unsigned long long)virtio_pci_bar_base(vm->ram_size));
        if (h->slot[VIRTIO_BLK_PCI_SLOT] == &e->vp.fn)
            h->slot[VIRTIO_BLK_PCI_SLOT] = NULL;
        if (e->owns_host)
            vm->pci = NULL;
        return -1;
    }
    e->vm = vm;
    return 0;
}

void virtio_blk_pci_detach(struct vm *vm)
{
    struct virtio_blk_pci *e = blk_pci_of(vm);
    if (!e)
        return;
    if (e->vp.fn.bar[0].mapped)
        gpa_remove_mmio(vm, e->vp.fn.bar[0].mapped_base);
    if (vm->pci && vm->pci->slot[VIRTIO_BLK_PCI_SLOT] == &e->vp.fn)
        vm->pci->slot[VIRTIO_BLK_PCI_SLOT] = NULL;
    if (e->owns_host && vm->pci == &e->host)
        vm->pci = NULL;
    if (vm->device_work.ctx == &e->blk)
        vm->device_work = (struct deferred_work){ 0 };   /* no turn may reach a freed device */
    e->vm = NULL;
}

struct virtio_pci *virtio_blk_pci_transport(struct vm *vm)
{
    struct virtio_blk_pci *e = blk_pci_of(vm);
    return e ? &e->vp : NULL;
}

struct virtio_blk *virtio_blk_pci_device(struct vm *vm)
{
    struct virtio_blk_pci *e = blk_pci_of(vm);
    return e ? &e->blk : NULL;
}
