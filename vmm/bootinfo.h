/* The hand-over from the UEFI loader (boot/) to the hypervisor (vmm/): a self-describing,
 * position-independent structure. After the jump no firmware service is used, so everything
 * the hypervisor needs from the firmware world is in here. */
#ifndef TESSERA_BOOTINFO_H
#define TESSERA_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC   0x4152455353455431ull /* "1TESSERA" little-endian */
#define BOOTINFO_VERSION 1

#define BOOTINFO_MAX_GUESTS    16
#define BOOTINFO_MAX_MODULES   8
#define BOOTINFO_MAX_MEMMAP    256
#define GUEST_NAME_MAX         16  /* including the terminating NUL */
#define GUEST_CMDLINE_MAX      256
#define GUEST_PATH_MAX         128
#define DISK_PART_NAME_MAX     37  /* GPT names are 36 UTF-16 units; we keep ASCII */

/* A span of host-physical memory holding a file the loader read from the ESP. */
struct bootinfo_blob {
    uint64_t addr;   /* host-physical == host-virtual (identity mapped) */
    uint64_t size;
    char path[GUEST_PATH_MAX];
    char args[GUEST_CMDLINE_MAX]; /* module command line; empty for kernels */
};

/* One guest as the configuration declared it, with its files loaded and its RAM reserved.
 * The hypervisor lays the kernel out in RAM itself (vmm/guest/), so a corrupt image is
 * reported by the hypervisor, for that guest only. */
struct bootinfo_guest {
    char name[GUEST_NAME_MAX];
    char cmdline[GUEST_CMDLINE_MAX];
    uint64_t ram_base;          /* host-physical, 2 MiB aligned */
    uint64_t ram_size;          /* bytes, multiple of 4 KiB */
    uint64_t timeout_ms;        /* 0 = no limit; else the guest is stopped after this much run time */
    struct bootinfo_blob kernel;
    uint32_t module_count;
    uint32_t flags;             /* reserved, 0 */
    struct bootinfo_blob modules[BOOTINFO_MAX_MODULES];
    /* Minidisk (later issue): GPT partition name or GUID text; empty = none. */
    char disk_part[DISK_PART_NAME_MAX];
    uint8_t disk_readonly;
};

/* Memory map entry, firmware types folded into the few the hypervisor cares about. */
enum bootinfo_mem_type {
    BOOTINFO_MEM_USABLE = 1,     /* free after ExitBootServices (conventional, boot-services) */
    BOOTINFO_MEM_RESERVED = 2,   /* firmware runtime, MMIO, ACPI NVS, unusable */
    BOOTINFO_MEM_ACPI = 3,       /* ACPI reclaimable tables */
    BOOTINFO_MEM_TESSERA = 4,    /* taken by the loader for the hypervisor, its heap or guest RAM */
};

struct bootinfo_memrange {
    uint64_t base;
    uint64_t size;
    uint32_t type;
    uint32_t pad;
};

struct bootinfo {
    uint64_t magic;
    uint32_t version;
    uint32_t size;              /* sizeof(struct bootinfo) as the loader saw it */

    uint64_t vmm_base;          /* where the hypervisor image lies */
    uint64_t vmm_size;
    uint64_t heap_base;         /* page-aligned memory the hypervisor allocates from */
    uint64_t heap_size;
    uint64_t rsdp;              /* ACPI RSDP (2.0 preferred), 0 if none */

    /* Boot disk, for the minidisk work: PCI location of the controller the ESP was read from. */
    uint16_t boot_pci_segment;
    uint8_t boot_pci_bus, boot_pci_dev, boot_pci_fn;
    uint8_t boot_disk_kind;     /* 0 unknown, 1 ATA, 2 AHCI, 3 NVMe */
    uint16_t boot_disk_port;    /* ATA channel*2+drive, AHCI port, or NVMe namespace id */

    uint32_t flags;             /* BOOTINFO_F_* */
    uint32_t guest_count;
    uint32_t slice_ms;          /* scheduler time slice; 0 = the hypervisor's default */
    uint32_t reserved0;
    struct bootinfo_guest guests[BOOTINFO_MAX_GUESTS];

    uint32_t memmap_count;
    uint32_t pad;
    struct bootinfo_memrange memmap[BOOTINFO_MAX_MEMMAP];
};

/* bench=yes: guests may ask Tessera to benchmark its own disk driver on their own minidisk
 * (HC_DISK_BENCH, exit/disk_bench.h), which overwrites that minidisk and stops the other guests
 * meanwhile. */
#define BOOTINFO_F_DISK_BENCH (1u << 0)
#define BOOTINFO_F_DISKCHECK  (1u << 1) /* run the disk self-check (vmm/diskcheck.h) instead of guests */

#endif
