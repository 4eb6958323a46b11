/* NVMe namespaces: the controller is reset and brought up with one admin queue pair and one
 * I/O queue pair of our own, polled (no interrupts). A failed command returns BLKDEV_EIO; a
 * command that times out resets the controller (which aborts it, so it cannot write into the
 * caller's buffer later) and rebuilds the queues. */
#include "drivers/bounce.h"
#include "drivers/clock.h"
#include "drivers/disk_driver.h"
#include "drivers/hwio.h"
#include "drivers/nvme.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"

#define QUEUE_ENTRIES  64       /* 64 x 64-byte SQ entries = one page */
#define TIMEOUT_CMD_MS 10000
#define PRP_LIST_MAX   (NVME_PAGE_SIZE / 8)
#define MAX_BYTES      (PRP_LIST_MAX * NVME_PAGE_SIZE)   /* what one PRP list page can describe */

struct nvme_queue {
    struct nvme_sqe *sq;
    volatile struct nvme_cqe *cq;
    uint16_t qid, size, sq_tail, cq_head;
    uint16_t phase;
};

struct nvme_disk {
    struct blkdev dev;
    uint64_t bar;
    struct nvme_cap cap;
    uint32_t nsid;
    struct nvme_queue admin, io;
    uint16_t next_cid;
    uint8_t *identify_buf;
    uint64_t *prp_list;
    struct bounce_buffer bounce;    /* for buffers PRPs cannot describe */
    struct nvme_ctrl_info ctrl;
};

static struct nvme_disk disk;
static char disk_name[16];

static uint32_t reg_read32(const struct nvme_disk *n, uint32_t reg) { return mmio_read32(n->bar + reg); }
static void reg_write32(const struct nvme_disk *n, uint32_t reg, uint32_t v) { mmio_write32(n->bar + reg, v); }

static bool wait_ready(const struct nvme_disk *n, bool ready)
{
    /* CAP.TO is the worst case the controller promises; give it at least 500 ms. */
    uint32_t ms = n->cap.timeout_ms < 500 ? 500 : n->cap.timeout_ms;
    uint64_t deadline = drv_deadline_ms(ms);
    for (;;) {
        uint32_t csts = reg_read32(n, NVME_REG_CSTS);
        if (csts == 0xFFFFFFFFu)
            return false;       /* device gone */
        if (ready && (csts & NVME_CSTS_CFS))
            return false;
        if (((csts & NVME_CSTS_RDY) != 0) == ready)
            return true;
        if (drv_expired(deadline))
            return false;
        cpu_relax();
    }
}

#define SUBMIT_TIMEOUT (-1)     /* no completion before the deadline */
#define SUBMIT_OTHER   (-2)     /* a completion for another command: the queue is out of step */

/* Submit c on q and wait for its completion. Returns the status field (0 = success),
 * SUBMIT_TIMEOUT or SUBMIT_OTHER; after either of the last two only a controller reset puts the
 * queue back in step with the driver. */
static int submit(struct nvme_disk *n, struct nvme_queue *q, struct nvme_sqe *c, uint32_t timeout_ms)
{
    uint16_t cid = ++n->next_cid;
    nvme_set_cid(c, cid);
    q->sq[q->sq_tail] = *c;
    q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->size);
    dma_barrier();
    reg_write32(n, (uint32_t)nvme_sq_doorbell(q->qid, n->cap.doorbell_stride), q->sq_tail);

    uint64_t deadline = drv_deadline_ms(timeout_ms);
    volatile struct nvme_cqe *e = &q->cq[q->cq_head];
    while ((e->status & 1) != q->phase) {
        if (drv_expired(deadline))
            return SUBMIT_TIMEOUT;
        cpu_relax();
    }
    dma_barrier();
    struct nvme_cqe done = { e->dw0, e->dw1, e->sq_head, e->sq_id, e->cid, e->status };
    q->cq_head = (uint16_t)((q->cq_head + 1) % q->size);
    if (q->cq_head == 0)
        q->phase ^= 1;
    reg_write32(n, (uint32_t)nvme_cq_doorbell(q->qid, n->cap.doorbell_stride), q->cq_head);
    if (done.cid != cid)
        return SUBMIT_OTHER;    /* never taken for ours: its status says nothing about our command */
    return nvme_cqe_status(&done) & 0x7FF;
}

static void queue_reset(struct nvme_queue *q, uint16_t qid, uint16_t size)
{
    q->size = size;
    memset(q->sq, 0, NVME_PAGE_SIZE);
    memset((void *)q->cq, 0, NVME_PAGE_SIZE);
    q->qid = qid;
    q->sq_tail = q->cq_head = 0;
    q->phase = 1;
}

/* Disable, set up the admin queue, enable, and create the I/O queue pair. */
static bool controller_start(struct nvme_disk *n, char *why, size_t why_len)
{
    reg_write32(n, NVME_REG_CC, reg_read32(n, NVME_REG_CC) & ~NVME_CC_EN);
    if (!wait_ready(n, false)) {
        fmt_snprintf(why, why_len, "controller does not stop (CSTS %#x)", reg_read32(n, NVME_REG_CSTS));
        return false;
    }
    /* MQES bounds the I/O queues only; the admin queue may have up to 4096 entries. */
    uint16_t io_entries = n->cap.max_queue_entries < QUEUE_ENTRIES ? (uint16_t)n->cap.max_queue_entries : QUEUE_ENTRIES;
    queue_reset(&n->admin, 0, QUEUE_ENTRIES);
    queue_reset(&n->io, 1, io_entries);
    reg_write32(n, NVME_REG_AQA, ((QUEUE_ENTRIES - 1u) << 16) | (QUEUE_ENTRIES - 1u));
    mmio_write64(n->bar + NVME_REG_ASQ, (uint64_t)(uintptr_t)n->admin.sq);
    mmio_write64(n->bar + NVME_REG_ACQ, (uint64_t)(uintptr_t)n->admin.cq);
    reg_write32(n, NVME_REG_CC, NVME_CC_IOCQES_16 | NVME_CC_IOSQES_64 | NVME_CC_EN);  /* MPS 4 KiB, NVM set */
    if (!wait_ready(n, true)) {
        fmt_snprintf(why, why_len, "controller does not become ready (CSTS %#x)", reg_read32(n, NVME_REG_CSTS));
        return false;
    }
    struct nvme_sqe c;
    nvme_cmd_create_cq(&c, 1, io_entries, (uint64_t)(uintptr_t)n->io.cq);
    int st = submit(n, &n->admin, &c, TIMEOUT_CMD_MS);
    if (st) {
        fmt_snprintf(why, why_len, "CREATE I/O CQ failed (status %#x)", st);
        return false;
    }
    nvme_cmd_create_sq(&c, 1, io_entries, 1, (uint64_t)(uintptr_t)n->io.sq);
    st = submit(n, &n->admin, &c, TIMEOUT_CMD_MS);
    if (st) {
        fmt_snprintf(why, why_len, "CREATE I/O SQ failed (status %#x)", st);
        return false;
    }
    return true;
}

/* A failed I/O command. A status from the controller is an I/O error and the queues stay usable,
 * unless the controller also declares itself failed (CSTS.CFS) or its registers read all ones
 * (gone). A timeout or a stray completion means the queue and the driver disagree. Those get a
 * controller reset, which also aborts the command, so it cannot write into the caller's buffer
 * later, and rebuilds the queues; a controller that does not come back disables the disk. */
static int io_failed(struct nvme_disk *n, int st, const char *what)
{
    if (st > 0) {
        log_printf("tessera: disk %s: %s failed, status %#x (SCT %u, SC %#x)\n", n->dev.name, what, st,
                   (st >> 8) & 7, st & 0xFF);
        uint32_t csts = reg_read32(n, NVME_REG_CSTS);
        if (csts != 0xFFFFFFFFu && !(csts & NVME_CSTS_CFS))
            return BLKDEV_EIO;
        log_printf("tessera: disk %s: controller %s (CSTS %#x); resetting the controller\n", n->dev.name,
                   csts == 0xFFFFFFFFu ? "does not answer" : "reports a fatal error", csts);
    } else {
        log_printf("tessera: disk %s: %s %s; resetting the controller\n", n->dev.name, what,
                   st == SUBMIT_TIMEOUT ? "timed out" : "got another command's completion");
    }
    char why[96];
    if (!controller_start(n, why, sizeof(why))) {
        log_printf("tessera: disk %s: reset failed: %s; disk disabled\n", n->dev.name, why);
        n->dev.ready = false;
        return BLKDEV_ENOTREADY;
    }
    return BLKDEV_EIO;
}

/* One READ/WRITE of count blocks; dma_buf must be dword aligned (PRP entries are). */
static int rw_command(void *driver, uint64_t lba, uint32_t count, uint8_t *dma_buf, bool write)
{
    struct nvme_disk *n = driver;
    struct nvme_sqe c;
    uint64_t bytes = (uint64_t)count * n->dev.sector_size;
    if (!nvme_cmd_rw(&c, write, n->nsid, lba, count) ||
        nvme_build_prps((uint64_t)(uintptr_t)dma_buf, bytes, n->prp_list, (uint64_t)(uintptr_t)n->prp_list,
                        PRP_LIST_MAX, &c.prp1, &c.prp2) < 0)
        return BLKDEV_EIO;
    int st = submit(n, &n->io, &c, TIMEOUT_CMD_MS);
    return st ? io_failed(n, st, write ? "write" : "read") : BLKDEV_OK;
}

static int transfer(struct blkdev *d, uint64_t lba, uint32_t count, uint8_t *buf, bool write)
{
    struct nvme_disk *n = d->driver;
    /* PRP entries must be dword aligned: other buffers go through the bounce buffer. */
    if (((uintptr_t)buf & 3) == 0)
        return rw_command(n, lba, count, buf, write);
    return bounce_transfer(&n->bounce, d->sector_size, lba, count, buf, write, rw_command, n);
}

static int nvme_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
    return transfer(d, lba, count, buf, false);
}

static int nvme_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf)
{
    return transfer(d, lba, count, (uint8_t *)(uintptr_t)buf, true);
}

static int nvme_flush(struct blkdev *d)
{
    struct nvme_disk *n = d->driver;
    struct nvme_sqe c;
    nvme_cmd_flush(&c, n->nsid);
    int st = submit(n, &n->io, &c, TIMEOUT_CMD_MS);
    return st ? io_failed(n, st, "flush") : BLKDEV_OK;
}

static const struct blkdev_ops nvme_ops = { nvme_read, nvme_write, nvme_flush };
static const struct blkdev_ops nvme_ops_nocache = { nvme_read, nvme_write, NULL };

static bool allocate(struct nvme_disk *n)
{
    static bool done;
    if (done)
        return true;
    n->admin.sq = page_alloc(1);
    n->admin.cq = page_alloc(1);
    n->io.sq = page_alloc(1);
    n->io.cq = page_alloc(1);
    n->identify_buf = page_alloc(1);
    n->prp_list = page_alloc(1);
    bool bounce = bounce_buffer_alloc(&n->bounce);
    done = n->admin.sq && n->admin.cq && n->io.sq && n->io.cq && n->identify_buf && n->prp_list && bounce;
    return done;
}

int nvme_open(const struct pci_storage *c, unsigned position, uint64_t mmio_limit, struct disk_opened *out,
              char *why, size_t why_len)
{
    struct nvme_disk *n = &disk;
    struct pci_bar bar;
    if (!pci_bar_decode(c->bar_raw, 0, &bar) || bar.io) {
        fmt_snprintf(why, why_len, "no NVMe memory BAR (BAR 0)");
        return BLKDEV_ENOTREADY;
    }
    if (bar.base >= mmio_limit || mmio_limit - bar.base < 0x2000) {
        fmt_snprintf(why, why_len, "BAR 0 at %#llx lies outside the identity map", (unsigned long long)bar.base);
        return BLKDEV_ENOTREADY;
    }
    if (!allocate(n)) {
        fmt_snprintf(why, why_len, "out of memory");
        return BLKDEV_ENOTREADY;
    }
    pci_enable_device(c->loc, PCI_CMD_MEMORY);
    n->bar = bar.base;
    nvme_decode_cap(mmio_read64(n->bar + NVME_REG_CAP), &n->cap);
    if (!n->cap.nvm_command_set || n->cap.min_page_size > NVME_PAGE_SIZE) {
        fmt_snprintf(why, why_len, "controller lacks the NVM command set or 4 KiB pages");
        return BLKDEV_ENOTREADY;
    }
    if (mmio_limit - bar.base < nvme_cq_doorbell(1, n->cap.doorbell_stride) + 4) {
        fmt_snprintf(why, why_len, "doorbells lie outside the identity map");
        return BLKDEV_ENOTREADY;
    }
    fmt_snprintf(disk_name, sizeof(disk_name), "nvme0n%u", position == DISK_POSITION_ANY || !position ? 1 : position);
    n->dev.name = disk_name;
    if (!controller_start(n, why, why_len))
        return BLKDEV_ENOTREADY;

    struct nvme_sqe cmd;
    nvme_cmd_identify(&cmd, NVME_CNS_CONTROLLER, 0, (uint64_t)(uintptr_t)n->identify_buf);
    int st = submit(n, &n->admin, &cmd, TIMEOUT_CMD_MS);
    if (st) {
        fmt_snprintf(why, why_len, "IDENTIFY controller failed (status %#x)", st);
        return BLKDEV_ENOTREADY;
    }
    nvme_parse_id_ctrl(n->identify_buf, n->cap.min_page_size, &n->ctrl);
    n->nsid = position == DISK_POSITION_ANY || position == 0 ? 1 : position;
    if (n->nsid > n->ctrl.namespaces) {
        fmt_snprintf(why, why_len, "namespace %u does not exist (%u namespaces)", n->nsid, n->ctrl.namespaces);
        return BLKDEV_ENOTREADY;
    }
    nvme_cmd_identify(&cmd, NVME_CNS_NAMESPACE, n->nsid, (uint64_t)(uintptr_t)n->identify_buf);
    st = submit(n, &n->admin, &cmd, TIMEOUT_CMD_MS);
    struct nvme_ns_info ns;
    char r[80];
    if (st) {
        fmt_snprintf(why, why_len, "IDENTIFY namespace %u failed (status %#x)", n->nsid, st);
        return BLKDEV_ENOTREADY;
    }
    if (!nvme_parse_id_ns(n->identify_buf, &ns, r, sizeof(r))) {
        fmt_snprintf(why, why_len, "namespace %u: %s", n->nsid, r);
        return BLKDEV_ENOTREADY;
    }
    uint64_t max_bytes = MAX_BYTES;
    if (n->ctrl.max_transfer_bytes && n->ctrl.max_transfer_bytes < max_bytes)
        max_bytes = n->ctrl.max_transfer_bytes;
    uint64_t max_blocks = max_bytes / ns.block_size;
    if (max_blocks == 0) {
        fmt_snprintf(why, why_len, "maximum transfer smaller than one block");
        return BLKDEV_ENOTREADY;
    }
    n->dev.ops = n->ctrl.volatile_cache ? &nvme_ops : &nvme_ops_nocache;
    n->dev.driver = n;
    n->dev.sector_count = ns.blocks;
    n->dev.sector_size = ns.block_size;
    n->dev.max_transfer = (uint32_t)(max_blocks < NVME_MAX_BLOCKS ? max_blocks : NVME_MAX_BLOCKS);
    n->dev.ready = true;
    memset(&n->dev.stats, 0, sizeof(n->dev.stats));
    out->dev = &n->dev;
    out->position = n->nsid;
    fmt_snprintf(out->model, sizeof(out->model), "%s", n->ctrl.model);
    return BLKDEV_OK;
}
