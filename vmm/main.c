/* The hypervisor's bring-up, in the order the machine demands: console, own CPU tables and
 * paging, quiet platform, VMX, guests, run, report, power off. */
#include "arch/cpu.h"
#include "arch/cpu_setup.h"
#include "bootinfo.h"
#include "diskcheck.h"
#include "exit/disk_bench.h"
#include "exit/handlers.h"
#include "drivers/clock.h"
#include "drivers/disk_select.h"
#include "guest/guest_setup.h"
#include "guest/minidisk_setup.h"
#include "hw/acpi.h"
#include "hw/mitigations.h"
#include "hw/platform.h"
#include "hw/portio.h"
#include "hypercall.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"
#include "summary.h"
#include "vmx/caps.h"
#include "vmx/vmx_hw.h"
#include "vmx/xstate.h"

#define SLICE_MS_DEFAULT 10

static struct vm vms[BOOTINFO_MAX_GUESTS];

static const void *identity_map(uint64_t phys, uint64_t len)
{
    (void)len;
    return (const void *)phys;
}

static __attribute__((noreturn)) void power_off(uint64_t rsdp)
{
    struct acpi_poweroff po = { 0 };
    if (rsdp)
        acpi_find_poweroff(rsdp, identity_map, &po);
    acpi_power_off(&po);
}

static uint64_t highest_physical_address(const struct bootinfo *bi)
{
    uint64_t top = 0;
    for (uint32_t i = 0; i < bi->memmap_count && i < BOOTINFO_MAX_MEMMAP; i++) {
        const struct bootinfo_memrange *r = &bi->memmap[i];
        if (r->size && r->base + r->size > top && r->base + r->size > r->base)
            top = r->base + r->size;
    }
    return top;
}

/* XCR0 bits a guest may set: CPUID 0xD.0 EDX:EAX as the CPUID policy answers it. */
static uint64_t guest_xcr0_allowed(void)
{
    uint32_t r[4];
    cpuid_guest_view(0, 0, 0, r);
    if (r[0] < 0xD)
        return 0;
    cpuid_guest_view(0, 0xD, 0, r);
    return ((uint64_t)r[3] << 32) | r[0];
}

/* After cpuid_policy_init: the extended state Tessera switches depends on what guests may use. */
static void detect_host_features(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    vmx_host.has_xsave = r[2] & (1u << 26);
    cpuid(0x80000001, 0, r);
    vmx_host.has_rdtscp = r[3] & (1u << 27);
    vmx_host.xsave_size = XSAVE_LEGACY_SIZE;
    if (vmx_host.has_xsave) {
        /* Hold every component a guest can reach in XCR0 while switching, so that one XSAVE
         * and one XRSTOR cover all of a guest's state whatever its own XCR0 (vmx/xstate.h). */
        cpuid(0xD, 0, r);
        vmx_host.host_xcr0 = xstate_switch_xcr0(((uint64_t)r[3] << 32) | r[0], guest_xcr0_allowed());
        xsetbv(0, vmx_host.host_xcr0);
        cpuid(0xD, 0, r);
        vmx_host.xsave_size = r[2]; /* ECX: size for every component the CPU supports */
        log_printf("tessera: extended state: XCR0 %#llx while switching guests, %u-byte XSAVE area\n",
                   (unsigned long long)vmx_host.host_xcr0, vmx_host.xsave_size);
    }
}

static uint64_t tsc_now(void) { return rdtsc(); }

/* Benchmark mode: let guests ask for the driver's own throughput on their minidisk
 * (HC_DISK_BENCH), measured with the same clock the guests read. */
static void enable_disk_bench(void)
{
    const uint64_t pages = HC_DISK_BENCH_REQUEST_MAX / 4096 + 1;
    uint8_t *buf = page_alloc(pages);
    if (!buf) {
        log_printf("tessera: benchmark mode: no memory for the disk measurement buffer; HC_DISK_BENCH off\n");
        return;
    }
    struct diskcheck_env host = { .now = tsc_now, .ticks_per_ms = vmx_host.tsc_khz, .buf = buf,
                                  .buf_size = pages * 4096 };
    disk_bench_enable(&host);
    log_printf("tessera: benchmark mode: guests may measure the disk driver on their minidisk (HC_DISK_BENCH)\n");
}

void vmm_main(struct bootinfo *bi);
void vmm_main(struct bootinfo *bi)
{
    serial_init();
    log_printf("\ntessera: hypervisor started\n");
    if (!bi || bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION || bi->size != sizeof(*bi)) {
        log_printf("tessera: PANIC: boot information missing or from another loader version; halting\n");
        serial_flush();
        halt_forever();
    }
    page_pool_init(&hv_pages, bi->heap_base, bi->heap_size);
    if (!cpu_setup(highest_physical_address(bi))) {
        log_printf("tessera: PANIC: out of memory for page tables; halting\n");
        serial_flush();
        halt_forever();
    }
    platform_quiesce_interrupts(bi->rsdp);
    platform_park_other_cpus(bi->rsdp);
    /* One clock for everything: the scheduler's slices and the disk drivers' deadlines. */
    vmx_host.tsc_khz = tsc_calibrate_khz();
    drv_clock_init(vmx_host.tsc_khz);
    /* The disk self-check needs no VMX: it tests the driver, GPT and minidisk layers against the
     * real controller before anyone trusts a disk to Tessera, and powers off. */
    if (bi->flags & BOOTINFO_F_DISKCHECK)
        diskcheck_run(bi);
    vmx_host.slice_tsc = vmx_host.tsc_khz * (bi->slice_ms ? bi->slice_ms : SLICE_MS_DEFAULT);

    char why[200];
    vmx_caps_read(&vmx_host.caps, rdmsr);
    if (!vmx_caps_check(&vmx_host.caps, why, sizeof(why)) ||
        !vmx_controls_compute(&vmx_host.caps, &vmx_host.controls, why, sizeof(why)) || !vmx_enable(why, sizeof(why))) {
        log_printf("tessera: cannot use VT-x: %s\n", why);
        power_off(bi->rsdp);
    }
    log_printf("tessera: VMX on: VMCS revision %#x, VPID %s, 2 MiB EPT pages %s, preemption timer TSC/%u\n",
               vmx_host.controls.vmcs_revision, vmx_host.controls.has_vpid ? "yes" : "no",
               vmx_host.controls.has_2mb_pages ? "yes" : "no", 1u << vmx_host.controls.preemption_timer_shift);

    cpuid_policy_init(vmx_host.tsc_khz);
    detect_host_features();
    mitigations_init();
    cr_policy_init(&cr_policy, vmx_host.caps.cr0_fixed0, vmx_host.caps.cr0_fixed1, vmx_host.caps.cr4_fixed0,
                   vmx_host.caps.cr4_fixed1, 1);
    uint8_t *bitmap = page_alloc(1);
    if (!bitmap) {
        log_printf("tessera: out of memory for the MSR bitmap\n");
        power_off(bi->rsdp);
    }
    msr_bitmap_init(bitmap);
    vmx_host.msr_bitmap_pa = (uint64_t)bitmap;

    unsigned count = bi->guest_count < BOOTINFO_MAX_GUESTS ? bi->guest_count : BOOTINFO_MAX_GUESTS;
    for (unsigned i = 0; i < count; i++)
        guest_setup(&vms[i], i, &bi->guests[i]);
    if (minidisks_wanted(bi)) {
        struct disk_opened disk;
        struct pci_storage controller;
        bool opened = disk_select_open(bi, &disk, &controller, why, sizeof(why)) == BLKDEV_OK;
        minidisks_attach(opened ? disk.dev : NULL, why, bi, vms, count, tsc_now, vmx_host.tsc_khz);
    }
    if (bi->flags & BOOTINFO_F_DISK_BENCH)
        enable_disk_bench();
    vmx_run_guests(vms, count);
    summary_print(vms, count, vmx_host.tsc_khz);
    power_off(bi->rsdp);
}
