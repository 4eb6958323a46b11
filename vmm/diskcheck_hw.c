/* The disk self-check on the machine: open the boot disk, run the checks, power off. */
#include "diskcheck.h"
#include "drivers/clock.h"
#include "drivers/disk_select.h"
#include "drivers/hwio.h"
#include "hw/acpi.h"
#include "hw/platform.h"
#include "lib/log.h"
#include "mem/page_alloc.h"

#define SCRATCH_PAGES ((1u << 20) / 4096 + 1)   /* 1 MiB requests plus room for unaligned offsets */
#define SEQ_BYTES     (32ull << 20)
#define RANDOM_OPS    512

static uint64_t tsc_now(void) { return rdtsc(); }

static const void *identity(uint64_t phys, uint64_t len)
{
    (void)len;
    return (const void *)(uintptr_t)phys;
}

static void finish(const struct bootinfo *bi)
{
    struct acpi_poweroff po = { 0 };
    if (bi->rsdp)
        acpi_find_poweroff(bi->rsdp, identity, &po);
    acpi_power_off(&po);
}

void diskcheck_run(const struct bootinfo *bi)
{
    log_printf("tessera: disk self-check\n");
    uint64_t khz = drv_clock_khz();   /* calibrated once by vmm_main */

    struct disk_opened disk;
    struct pci_storage controller;
    char why[160];
    if (disk_select_open(bi, &disk, &controller, why, sizeof(why)) != BLKDEV_OK) {
        log_printf("not ok 1 - open the boot disk: %s\n0 passed, 1 failed\n", why);
        finish(bi);
    }
    struct diskcheck_env env = {
        .now = tsc_now,
        .ticks_per_ms = khz,
        .buf = page_alloc(SCRATCH_PAGES),
        .buf_size = SCRATCH_PAGES * 4096ull,
        .seed = rdtsc(),
        .seq_bytes = SEQ_BYTES,
        .random_ops = RANDOM_OPS,
    };
    if (!env.buf)
        env.buf_size = 0;   /* diskcheck_execute reports it */
    struct diskcheck_result result;
    diskcheck_execute(disk.dev, &env, &result);
    const struct blkdev_stats *s = &disk.dev->stats;
    log_printf("tessera: disk %s: %llu reads, %llu writes, %llu flushes, %llu errors\n", disk.dev->name,
               (unsigned long long)s->reads, (unsigned long long)s->writes, (unsigned long long)s->flushes,
               (unsigned long long)(s->read_errors + s->write_errors + s->flush_errors));
    finish(bi);
}
