/* ATA disks on an IDE controller, PIO data transfer (what Bochs and QEMU's pc machine offer).
 * Every wait is bounded; an error or timeout is logged with the device's registers, resets the
 * channel and returns BLKDEV_EIO (BLKDEV_ENOTREADY, disk disabled, if the channel stays busy). */
#include "drivers/ata.h"
#include "drivers/clock.h"
#include "drivers/disk_driver.h"
#include "drivers/hwio.h"
#include "lib/log.h"
#include "lib/mem.h"

/* Command block registers (offsets from cmd) and control block bits. */
#define REG_DATA     0
#define REG_FEATURES 1
#define REG_ERROR    1
#define REG_COUNT    2
#define REG_LBA0     3
#define REG_LBA1     4
#define REG_LBA2     5
#define REG_DEVICE   6
#define REG_STATUS   7
#define REG_COMMAND  7
#define CTL_NIEN     0x02
#define CTL_SRST     0x04

#define TIMEOUT_PROBE_MS   2000
#define TIMEOUT_CMD_MS    10000
#define TIMEOUT_FLUSH_MS  30000
#define TIMEOUT_RESET_MS  10000

struct ata_disk {
    struct blkdev dev;
    uint16_t cmd, ctl;
    uint8_t drive;              /* 0 master, 1 slave */
    struct ata_identity id;
};

static struct ata_disk disk;
static char disk_name[16];

static uint8_t alt_status(const struct ata_disk *a) { return inb(a->ctl); }

/* The status register is valid 400 ns after a command or device selection. */
static void settle(const struct ata_disk *a)
{
    for (int i = 0; i < 5; i++)
        (void)alt_status(a);
}

static bool wait_not_busy(const struct ata_disk *a, uint32_t ms, uint8_t *status)
{
    uint64_t deadline = drv_deadline_ms(ms);
    for (;;) {
        uint8_t st = alt_status(a);
        if (!(st & ATA_SR_BSY)) {
            *status = st;
            return true;
        }
        if (drv_expired(deadline))
            return false;
        cpu_relax();
    }
}

/* A data block is ready: BSY clear, DRQ set, no error. */
static bool wait_drq(const struct ata_disk *a, uint32_t ms)
{
    uint8_t st;
    if (!wait_not_busy(a, ms, &st))
        return false;
    return (st & (ATA_SR_ERR | ATA_SR_DF | ATA_SR_DRQ)) == ATA_SR_DRQ;
}

/* Software reset of the channel: the way back from an error or a device that stopped answering. */
static void channel_reset(struct ata_disk *a)
{
    uint8_t st;
    outb(a->ctl, CTL_SRST | CTL_NIEN);
    drv_delay_us(10);
    outb(a->ctl, CTL_NIEN);
    drv_delay_us(2000);
    if (!wait_not_busy(a, TIMEOUT_RESET_MS, &st)) {
        log_printf("tessera: disk %s: channel stays busy after reset; disk disabled\n", a->dev.name);
        a->dev.ready = false;
    }
}

static bool issue(struct ata_disk *a, const struct ata_taskfile *tf)
{
    uint8_t st;
    if (!wait_not_busy(a, TIMEOUT_CMD_MS, &st))
        return false;
    uint8_t dev = (uint8_t)(0xA0 | tf->device | (a->drive << 4));
    outb((uint16_t)(a->cmd + REG_DEVICE), dev);
    settle(a);
    if (!wait_not_busy(a, TIMEOUT_CMD_MS, &st) || (st & ATA_SR_DRQ))
        return false;
    if (tf->lba48) {
        /* High-order bytes first: each register is a two-deep FIFO. */
        outb((uint16_t)(a->cmd + REG_FEATURES), (uint8_t)(tf->features >> 8));
        outb((uint16_t)(a->cmd + REG_COUNT), (uint8_t)(tf->count >> 8));
        outb((uint16_t)(a->cmd + REG_LBA0), (uint8_t)(tf->lba >> 24));
        outb((uint16_t)(a->cmd + REG_LBA1), (uint8_t)(tf->lba >> 32));
        outb((uint16_t)(a->cmd + REG_LBA2), (uint8_t)(tf->lba >> 40));
    }
    outb((uint16_t)(a->cmd + REG_FEATURES), (uint8_t)tf->features);
    outb((uint16_t)(a->cmd + REG_COUNT), (uint8_t)tf->count);
    outb((uint16_t)(a->cmd + REG_LBA0), (uint8_t)tf->lba);
    outb((uint16_t)(a->cmd + REG_LBA1), (uint8_t)(tf->lba >> 8));
    outb((uint16_t)(a->cmd + REG_LBA2), (uint8_t)(tf->lba >> 16));
    outb((uint16_t)(a->cmd + REG_COMMAND), tf->command);
    settle(a);
    return true;
}

/* A command that did not finish cleanly: log why (from the registers, before the reset clears
 * them), then reset the channel, the one way back that works whether the device reported an
 * error, stopped answering or lost track of the protocol. */
static int failed(struct ata_disk *a, const char *what)
{
    uint8_t st = alt_status(a);
    enum ata_failure why = ata_classify_failure(st);
    bool has_error_reg = why == ATA_FAILURE_ERROR || why == ATA_FAILURE_DEVICE_FAULT;
    uint8_t err = has_error_reg ? inb((uint16_t)(a->cmd + REG_ERROR)) : 0;
    log_printf("tessera: disk %s: %s: %s (status %#x, error %#x); resetting the channel\n", a->dev.name, what,
               ata_failure_text(why), st, err);
    channel_reset(a);
    return a->dev.ready ? BLKDEV_EIO : BLKDEV_ENOTREADY;
}

static int ata_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
    struct ata_disk *a = d->driver;
    struct ata_taskfile tf;
    if (!ata_build_rw(&tf, lba, count, false, false, a->id.lba48))
        return BLKDEV_EIO;
    if (!issue(a, &tf))
        return failed(a, "read");
    uint8_t *p = buf;
    for (uint32_t i = 0; i < count; i++, p += d->sector_size) {
        if (!wait_drq(a, TIMEOUT_CMD_MS))
            return failed(a, "read");
        hw_insw(a->cmd, p, d->sector_size / 2);
    }
    uint8_t st;
    if (!wait_not_busy(a, TIMEOUT_CMD_MS, &st) || (st & (ATA_SR_ERR | ATA_SR_DF | ATA_SR_DRQ)))
        return failed(a, "read");
    return BLKDEV_OK;
}

static int ata_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf)
{
    struct ata_disk *a = d->driver;
    struct ata_taskfile tf;
    if (!ata_build_rw(&tf, lba, count, true, false, a->id.lba48))
        return BLKDEV_EIO;
    if (!issue(a, &tf))
        return failed(a, "write");
    const uint8_t *p = buf;
    for (uint32_t i = 0; i < count; i++, p += d->sector_size) {
        if (!wait_drq(a, TIMEOUT_CMD_MS))
            return failed(a, "write");
        hw_outsw(a->cmd, p, d->sector_size / 2);
        settle(a);
    }
    /* The write is done when the device drops BSY after the last block without an error. */
    uint8_t st;
    if (!wait_not_busy(a, TIMEOUT_CMD_MS, &st) || (st & (ATA_SR_ERR | ATA_SR_DF | ATA_SR_DRQ)))
        return failed(a, "write");
    return BLKDEV_OK;
}

static int ata_flush(struct blkdev *d)
{
    struct ata_disk *a = d->driver;
    struct ata_taskfile tf;
    ata_build_flush(&tf, a->id.lba48 && a->id.flush_ext);
    uint8_t st;
    if (!issue(a, &tf) || !wait_not_busy(a, TIMEOUT_FLUSH_MS, &st) || (st & (ATA_SR_ERR | ATA_SR_DF)))
        return failed(a, "flush");
    return BLKDEV_OK;
}

static const struct blkdev_ops ata_ops = { ata_read, ata_write, ata_flush };
static const struct blkdev_ops ata_ops_noflush = { ata_read, ata_write, NULL };

/* IDENTIFY DEVICE on one drive. False (why set) when nothing or a non-ATA device answers. */
static bool identify(struct ata_disk *a, char *why, size_t why_len)
{
    static uint16_t words[256];
    uint8_t st;
    outb(a->ctl, CTL_NIEN);
    outb((uint16_t)(a->cmd + REG_DEVICE), (uint8_t)(0xA0 | (a->drive << 4)));
    settle(a);
    st = inb((uint16_t)(a->cmd + REG_STATUS));
    if (st == 0xFF || st == 0x7F) {
        fmt_snprintf(why, why_len, "no device (floating bus)");
        return false;
    }
    if (!wait_not_busy(a, TIMEOUT_PROBE_MS, &st)) {
        fmt_snprintf(why, why_len, "device stays busy");
        return false;
    }
    struct ata_taskfile tf;
    ata_build_identify(&tf);
    outb((uint16_t)(a->cmd + REG_COUNT), 0);
    outb((uint16_t)(a->cmd + REG_LBA0), 0);
    outb((uint16_t)(a->cmd + REG_LBA1), 0);
    outb((uint16_t)(a->cmd + REG_LBA2), 0);
    outb((uint16_t)(a->cmd + REG_COMMAND), tf.command);
    settle(a);
    if (inb((uint16_t)(a->cmd + REG_STATUS)) == 0) {
        fmt_snprintf(why, why_len, "no device");
        return false;
    }
    if (!wait_not_busy(a, TIMEOUT_PROBE_MS, &st)) {
        channel_reset(a);
        fmt_snprintf(why, why_len, "IDENTIFY timed out");
        return false;
    }
    /* ATAPI and SATA-bridge packet devices abort IDENTIFY and leave a signature in LBA1/LBA2. */
    uint8_t sig1 = inb((uint16_t)(a->cmd + REG_LBA1)), sig2 = inb((uint16_t)(a->cmd + REG_LBA2));
    if (sig1 || sig2 || (st & (ATA_SR_ERR | ATA_SR_DF)) || !(st & ATA_SR_DRQ)) {
        fmt_snprintf(why, why_len, "not an ATA disk (status %#x, signature %02x%02x)", st, sig2, sig1);
        return false;
    }
    hw_insw(a->cmd, words, 256);
    return ata_parse_identify(words, &a->id, why, why_len);
}

int ata_open(const struct pci_storage *c, unsigned position, struct disk_opened *out, char *why, size_t why_len)
{
    char reason[96] = "no drive";
    unsigned first = position == DISK_POSITION_ANY ? 0 : position;
    unsigned last = position == DISK_POSITION_ANY ? 3 : position;
    if (first > 3) {
        fmt_snprintf(why, why_len, "no ATA position %u", position);
        return BLKDEV_ENOTREADY;
    }
    pci_enable_device(c->loc, PCI_CMD_IO);
    for (unsigned pos = first; pos <= last; pos++) {
        memset(&disk, 0, sizeof(disk));
        if (!ata_channel_ports(c->prog_if, c->bar_raw, pos / 2, &disk.cmd, &disk.ctl)) {
            fmt_snprintf(reason, sizeof(reason), "channel %u: no usable ports", pos / 2);
            continue;
        }
        disk.drive = (uint8_t)(pos & 1);
        disk.dev.name = disk_name;
        disk.dev.ready = true;
        fmt_snprintf(disk_name, sizeof(disk_name), "ata%u", pos);
        char r[80];
        if (!identify(&disk, r, sizeof(r))) {
            fmt_snprintf(reason, sizeof(reason), "position %u: %s", pos, r);
            continue;
        }
        disk.dev.ops = (disk.id.flush || disk.id.flush_ext) ? &ata_ops : &ata_ops_noflush;
        disk.dev.driver = &disk;
        disk.dev.sector_count = disk.id.sectors;
        disk.dev.sector_size = disk.id.sector_size;
        disk.dev.max_transfer = disk.id.lba48 ? ATA_MAX_COUNT48 : ATA_MAX_COUNT28;
        out->dev = &disk.dev;
        out->position = pos;
        fmt_snprintf(out->model, sizeof(out->model), "%s", disk.id.model);
        return BLKDEV_OK;
    }
    fmt_snprintf(why, why_len, "%s", reason);
    return BLKDEV_ENOTREADY;
}
