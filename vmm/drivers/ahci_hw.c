/* AHCI SATA disks: one port, one command slot, polled. The firmware already initialised the
 * HBA, so it is not reset; only the chosen port's command engine is stopped, pointed at our own
 * command list, FIS area and command table, and restarted. Errors recover the port (stop and
 * restart the engine, CLO or COMRESET when the device stays busy), timeouts reset it (COMRESET);
 * both return BLKDEV_EIO, and a port that does not come back disables the disk. */
#include "drivers/ahci.h"
#include "drivers/bounce.h"
#include "drivers/clock.h"
#include "drivers/disk_driver.h"
#include "drivers/hwio.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"

#define PRDT_ENTRIES      8
#define MAX_SECTORS       16384u            /* 8 MiB per command: two 4 MiB PRD entries */
#define TIMEOUT_ENGINE_MS 500
#define TIMEOUT_LINK_MS   1000
#define TIMEOUT_CMD_MS    10000
#define TIMEOUT_FLUSH_MS  30000

struct ahci_disk {
    struct blkdev dev;
    uint64_t abar, port_base;
    unsigned port;
    bool s64a, sclo;
    struct ahci_cmd_header *cmd_list;       /* 32 headers, 1 KiB aligned */
    uint8_t *fis_area;                      /* 256 bytes, 256 aligned */
    uint8_t *cmd_table;                     /* 128 aligned: CFIS, ATAPI cmd, PRDT */
    struct bounce_buffer bounce;            /* for buffers the HBA cannot reach */
    struct ata_identity id;
};

static struct ahci_disk disk;
static char disk_name[16];

static uint32_t port_read(const struct ahci_disk *a, uint32_t reg) { return mmio_read32(a->port_base + reg); }
static void port_write(const struct ahci_disk *a, uint32_t reg, uint32_t v) { mmio_write32(a->port_base + reg, v); }

static bool wait_port_clear(const struct ahci_disk *a, uint32_t reg, uint32_t bits, uint32_t ms)
{
    uint64_t deadline = drv_deadline_ms(ms);
    while (port_read(a, reg) & bits) {
        if (drv_expired(deadline))
            return false;
        cpu_relax();
    }
    return true;
}

static bool stop_engine(struct ahci_disk *a)
{
    port_write(a, AHCI_PxCMD, port_read(a, AHCI_PxCMD) & ~AHCI_PxCMD_ST);
    return wait_port_clear(a, AHCI_PxCMD, AHCI_PxCMD_CR, TIMEOUT_ENGINE_MS);
}

/* COMRESET (AHCI 10.4.2), with the command engine stopped: DET = 1 for at least 1 ms, then 0;
 * wait for the link (DET = 3) and for the device's signature FIS to clear BSY. This is what
 * aborts a command the device is still working on: stopping the engine alone does not. */
static bool port_reset(struct ahci_disk *a)
{
    uint32_t sctl = port_read(a, AHCI_PxSCTL) & ~0xFu;
    port_write(a, AHCI_PxSCTL, sctl | 1);
    drv_delay_us(2000);
    port_write(a, AHCI_PxSCTL, sctl);
    uint64_t deadline = drv_deadline_ms(TIMEOUT_LINK_MS);
    while ((port_read(a, AHCI_PxSSTS) & 0xF) != 3) {
        if (drv_expired(deadline))
            return false;
        cpu_relax();
    }
    port_write(a, AHCI_PxSERR, 0xFFFFFFFFu);
    return wait_port_clear(a, AHCI_PxTFD, ATA_SR_BSY | ATA_SR_DRQ, TIMEOUT_CMD_MS);
}

/* The device must be idle (BSY and DRQ clear) before ST is set; CLO or a COMRESET makes it so
 * after an error. */
static bool start_engine(struct ahci_disk *a)
{
    if (port_read(a, AHCI_PxTFD) & (ATA_SR_BSY | ATA_SR_DRQ)) {
        if (a->sclo) {
            port_write(a, AHCI_PxCMD, port_read(a, AHCI_PxCMD) | AHCI_PxCMD_CLO);
            wait_port_clear(a, AHCI_PxCMD, AHCI_PxCMD_CLO, TIMEOUT_ENGINE_MS);
        }
        if ((port_read(a, AHCI_PxTFD) & (ATA_SR_BSY | ATA_SR_DRQ)) && !port_reset(a))
            return false;
    }
    port_write(a, AHCI_PxIS, 0xFFFFFFFFu);
    port_write(a, AHCI_PxCMD, port_read(a, AHCI_PxCMD) | AHCI_PxCMD_ST);
    return true;
}

static int disable(struct ahci_disk *a, const char *why)
{
    log_printf("tessera: disk %s: %s; disk disabled\n", a->dev.name, why);
    a->dev.ready = false;
    return BLKDEV_ENOTREADY;
}

/* After a failed command (AHCI 6.2.2.1): stop the engine (which clears PxCI), clear the error
 * state, restart. A command that timed out may still be active in the device, and an engine
 * that does not stop is hung: both get a COMRESET first. */
static int recover(struct ahci_disk *a, const char *what, bool timed_out)
{
    uint32_t is = port_read(a, AHCI_PxIS), tfd = port_read(a, AHCI_PxTFD), serr = port_read(a, AHCI_PxSERR);
    log_printf("tessera: disk %s: %s (PxIS %#x, PxTFD %#x, PxSERR %#x); %s\n", a->dev.name, what, is, tfd, serr,
               timed_out ? "resetting the port" : "recovering the port");
    bool stopped = stop_engine(a);
    if (!stopped || timed_out) {
        if (!port_reset(a))
            return disable(a, "port does not come back after COMRESET");
        if (!stopped && !stop_engine(a))
            return disable(a, "command engine does not stop");
    }
    port_write(a, AHCI_PxSERR, 0xFFFFFFFFu);
    port_write(a, AHCI_PxIS, 0xFFFFFFFFu);
    if (!start_engine(a))
        return disable(a, "port does not come back after reset");
    return BLKDEV_EIO;
}

/* One command through slot 0; buf (bytes long, may be NULL when bytes is 0) must be reachable
 * by the HBA. */
static int run_command(struct ahci_disk *a, const struct ata_taskfile *tf, uint64_t buf, uint64_t bytes, bool write,
                       uint32_t timeout_ms)
{
    struct ahci_prd *prdt = (struct ahci_prd *)(a->cmd_table + AHCI_CMD_TABLE_PRDT);
    unsigned prds = 0;
    if (bytes) {
        prds = ahci_build_prdt(prdt, PRDT_ENTRIES, buf, bytes, AHCI_PRD_MAX_BYTES);
        if (!prds)
            return BLKDEV_EIO;
    }
    ahci_build_h2d_fis(a->cmd_table, tf);
    ahci_build_cmd_header(&a->cmd_list[0], (uint64_t)(uintptr_t)a->cmd_table, prds, write);
    port_write(a, AHCI_PxIS, 0xFFFFFFFFu);
    dma_barrier();
    port_write(a, AHCI_PxCI, 1);

    uint64_t deadline = drv_deadline_ms(timeout_ms);
    for (;;) {
        uint32_t is = port_read(a, AHCI_PxIS);
        if (is & AHCI_PxIS_ERRORS)
            return recover(a, "command failed", false);
        if (!(port_read(a, AHCI_PxCI) & 1))
            break;
        if (drv_expired(deadline))
            return recover(a, "command timed out", true);
        cpu_relax();
    }
    dma_barrier();
    if (port_read(a, AHCI_PxTFD) & (ATA_SR_ERR | ATA_SR_DF))
        return recover(a, "device reported an error", false);
    if (bytes && a->cmd_list[0].prdbc != bytes)
        return recover(a, "short transfer", false);
    return BLKDEV_OK;
}

static bool reachable(const struct ahci_disk *a, uint64_t addr, uint64_t bytes)
{
    if (addr & 1)
        return false;
    return a->s64a || (addr < (1ull << 32) && bytes <= (1ull << 32) - addr);
}

/* One READ/WRITE DMA (EXT) of count sectors; dma_buf must be reachable by the HBA. */
static int rw_command(void *driver, uint64_t lba, uint32_t count, uint8_t *dma_buf, bool write)
{
    struct ahci_disk *a = driver;
    struct ata_taskfile tf;
    if (!ata_build_rw(&tf, lba, count, write, true, a->id.lba48))
        return BLKDEV_EIO;
    return run_command(a, &tf, (uint64_t)(uintptr_t)dma_buf, (uint64_t)count * a->dev.sector_size, write,
                       TIMEOUT_CMD_MS);
}

static int transfer(struct blkdev *d, uint64_t lba, uint32_t count, uint8_t *buf, bool write)
{
    struct ahci_disk *a = d->driver;
    if (reachable(a, (uint64_t)(uintptr_t)buf, (uint64_t)count * d->sector_size))
        return rw_command(a, lba, count, buf, write);
    return bounce_transfer(&a->bounce, d->sector_size, lba, count, buf, write, rw_command, a);
}

static int ahci_read(struct blkdev *d, uint64_t lba, uint32_t count, void *buf)
{
    return transfer(d, lba, count, buf, false);
}

static int ahci_write(struct blkdev *d, uint64_t lba, uint32_t count, const void *buf)
{
    return transfer(d, lba, count, (uint8_t *)(uintptr_t)buf, true);
}

static int ahci_flush(struct blkdev *d)
{
    struct ahci_disk *a = d->driver;
    struct ata_taskfile tf;
    ata_build_flush(&tf, a->id.lba48 && a->id.flush_ext);
    return run_command(a, &tf, 0, 0, false, TIMEOUT_FLUSH_MS);
}

static const struct blkdev_ops ahci_ops = { ahci_read, ahci_write, ahci_flush };
static const struct blkdev_ops ahci_ops_noflush = { ahci_read, ahci_write, NULL };

/* BIOS/OS handoff (AHCI 10.6): ask for ownership, give the firmware up to 2 s to finish. */
static void take_ownership(uint64_t abar)
{
    if (!(mmio_read32(abar + AHCI_CAP2) & AHCI_CAP2_BOH))
        return;
    mmio_write32(abar + AHCI_BOHC, mmio_read32(abar + AHCI_BOHC) | AHCI_BOHC_OOS);
    uint64_t deadline = drv_deadline_ms(25);
    while ((mmio_read32(abar + AHCI_BOHC) & AHCI_BOHC_BOS) && !drv_expired(deadline))
        cpu_relax();
    if (mmio_read32(abar + AHCI_BOHC) & (AHCI_BOHC_BOS | AHCI_BOHC_BB)) {
        deadline = drv_deadline_ms(2000);
        while ((mmio_read32(abar + AHCI_BOHC) & (AHCI_BOHC_BOS | AHCI_BOHC_BB)) && !drv_expired(deadline))
            cpu_relax();
    }
}

static bool below4g(const void *p, uint64_t bytes)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    return a < (1ull << 32) && bytes <= (1ull << 32) - a;
}

static int port_setup(struct ahci_disk *a, char *why, size_t why_len)
{
    if (!stop_engine(a)) {
        fmt_snprintf(why, why_len, "port %u: command engine does not stop", a->port);
        return BLKDEV_ENOTREADY;
    }
    port_write(a, AHCI_PxCMD, port_read(a, AHCI_PxCMD) & ~AHCI_PxCMD_FRE);
    if (!wait_port_clear(a, AHCI_PxCMD, AHCI_PxCMD_FR, TIMEOUT_ENGINE_MS)) {
        fmt_snprintf(why, why_len, "port %u: FIS receive does not stop", a->port);
        return BLKDEV_ENOTREADY;
    }
    uint64_t cl = (uint64_t)(uintptr_t)a->cmd_list, fb = (uint64_t)(uintptr_t)a->fis_area;
    port_write(a, AHCI_PxCLB, (uint32_t)cl);
    port_write(a, AHCI_PxCLBU, (uint32_t)(cl >> 32));
    port_write(a, AHCI_PxFB, (uint32_t)fb);
    port_write(a, AHCI_PxFBU, (uint32_t)(fb >> 32));
    port_write(a, AHCI_PxIE, 0);
    port_write(a, AHCI_PxSERR, 0xFFFFFFFFu);
    port_write(a, AHCI_PxIS, 0xFFFFFFFFu);
    port_write(a, AHCI_PxCMD, port_read(a, AHCI_PxCMD) | AHCI_PxCMD_FRE);
    if (!start_engine(a)) {
        fmt_snprintf(why, why_len, "port %u: device stays busy", a->port);
        return BLKDEV_ENOTREADY;
    }
    return BLKDEV_OK;
}

static int identify(struct ahci_disk *a, char *why, size_t why_len)
{
    struct ata_taskfile tf;
    ata_build_identify(&tf);
    memset(a->bounce.data, 0, 512);
    if (run_command(a, &tf, (uint64_t)(uintptr_t)a->bounce.data, 512, false, TIMEOUT_CMD_MS)) {
        fmt_snprintf(why, why_len, "port %u: IDENTIFY failed", a->port);
        return BLKDEV_ENOTREADY;
    }
    uint16_t words[256];
    memcpy(words, a->bounce.data, sizeof(words));
    char r[64];
    if (!ata_parse_identify(words, &a->id, r, sizeof(r))) {
        fmt_snprintf(why, why_len, "port %u: %s", a->port, r);
        return BLKDEV_ENOTREADY;
    }
    return BLKDEV_OK;
}

int ahci_open(const struct pci_storage *c, unsigned position, uint64_t mmio_limit, struct disk_opened *out,
              char *why, size_t why_len)
{
    struct pci_bar bar;
    if (!pci_bar_decode(c->bar_raw, 5, &bar) || bar.io) {
        fmt_snprintf(why, why_len, "no AHCI memory BAR (BAR 5)");
        return BLKDEV_ENOTREADY;
    }
    if (bar.base >= mmio_limit || mmio_limit - bar.base < 0x1100) {
        fmt_snprintf(why, why_len, "ABAR %#llx lies outside the identity map", (unsigned long long)bar.base);
        return BLKDEV_ENOTREADY;
    }
    static bool allocated;
    if (!allocated) {
        uint8_t *page = page_alloc(1);
        disk.cmd_table = page_alloc(1);
        bool bounce = bounce_buffer_alloc(&disk.bounce);
        if (!page || !disk.cmd_table || !bounce) {
            fmt_snprintf(why, why_len, "out of memory");
            return BLKDEV_ENOTREADY;
        }
        disk.cmd_list = (struct ahci_cmd_header *)page;
        disk.fis_area = page + 0x400;
        allocated = true;
    }
    pci_enable_device(c->loc, PCI_CMD_MEMORY);
    uint64_t abar = bar.base;
    take_ownership(abar);
    mmio_write32(abar + AHCI_GHC, (mmio_read32(abar + AHCI_GHC) | AHCI_GHC_AE) & ~AHCI_GHC_IE);
    uint32_t cap = mmio_read32(abar + AHCI_CAP), pi = mmio_read32(abar + AHCI_PI);
    disk.abar = abar;
    disk.s64a = cap & AHCI_CAP_S64A;
    disk.sclo = cap & AHCI_CAP_SCLO;
    if (!disk.s64a && (!below4g(disk.cmd_list, 4096) || !below4g(disk.cmd_table, 4096) ||
                       !below4g(disk.bounce.data, disk.bounce.size))) {
        fmt_snprintf(why, why_len, "32-bit-only HBA but driver memory lies above 4 GiB");
        return BLKDEV_ENOTREADY;
    }

    char reason[96] = "no port with a disk";
    for (unsigned port = 0; port < 32; port++) {
        if (position != DISK_POSITION_ANY && port != position)
            continue;
        if (!(pi & (1u << port))) {
            fmt_snprintf(reason, sizeof(reason), "port %u not implemented", port);
            continue;
        }
        disk.port = port;
        disk.port_base = abar + AHCI_PORT_BASE(port);
        uint32_t ssts = port_read(&disk, AHCI_PxSSTS), sig = port_read(&disk, AHCI_PxSIG);
        if (!ahci_port_has_disk(ssts, sig)) {
            fmt_snprintf(reason, sizeof(reason), "port %u: no ATA disk (SSTS %#x, SIG %#x)", port, ssts, sig);
            continue;
        }
        fmt_snprintf(disk_name, sizeof(disk_name), "ahci%u", port);
        disk.dev.name = disk_name;
        disk.dev.ready = true;
        if (port_setup(&disk, reason, sizeof(reason)) || identify(&disk, reason, sizeof(reason)))
            continue;
        disk.dev.ops = (disk.id.flush || disk.id.flush_ext) ? &ahci_ops : &ahci_ops_noflush;
        disk.dev.driver = &disk;
        disk.dev.sector_count = disk.id.sectors;
        disk.dev.sector_size = disk.id.sector_size;
        disk.dev.max_transfer = disk.id.lba48 ? MAX_SECTORS : ATA_MAX_COUNT28;
        if ((uint64_t)disk.dev.max_transfer * disk.dev.sector_size > (uint64_t)PRDT_ENTRIES * AHCI_PRD_MAX_BYTES)
            disk.dev.max_transfer = PRDT_ENTRIES * (AHCI_PRD_MAX_BYTES / disk.dev.sector_size);
        memset(&disk.dev.stats, 0, sizeof(disk.dev.stats));
        out->dev = &disk.dev;
        out->position = port;
        fmt_snprintf(out->model, sizeof(out->model), "%s", disk.id.model);
        return BLKDEV_OK;
    }
    fmt_snprintf(why, why_len, "%s", reason);
    return BLKDEV_ENOTREADY;
}
