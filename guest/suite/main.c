/* The exit regression suite: runs every group of checks in an order where the destructive
 * ones (whole-RAM walks) come late, then prints the summary and exits with its verdict. The
 * instruction-emulation groups come last of all: an emulator that cannot decode a form stops
 * the guest, and every other group has reported by then. */
#include "console.h"
#include "hcall.h"
#include "suite.h"
#include "tap.h"

#define EMPTY_BUS_DEFAULT  0x100001000ull   /* 4 GiB + 4 KiB */
#define MAPPED_LIMIT       (8ull << 30)

static const char *protocol_name(enum boot_protocol p)
{
    return p == BOOTED_PVH ? "Xen PVH" : p == BOOTED_MULTIBOOT ? "Multiboot v1" : "unknown";
}

/* Above RAM and inside what long_mode.S maps; 0 if RAM reaches too high for that. */
static uint64_t pick_empty_bus(uint64_t ram_end)
{
    uint64_t above = (ram_end + 0x1fffffull) & ~0x1fffffull;
    uint64_t addr = above + 0x1000 > EMPTY_BUS_DEFAULT ? above + 0x1000 : EMPTY_BUS_DEFAULT;
    return addr + 0x1000 <= MAPPED_LIMIT ? addr : 0;
}

static bool same_word(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

void guest_main(const struct boot_info *boot)
{
    console_printf("# tessera exit suite, %s entry\n", protocol_name(boot->protocol));
    console_printf("# cmdline: %s\n", boot->cmdline);

    int64_t id = hypercall(HC_GUEST_ID, 0, 0, 0);
    struct suite_env env = {
        .boot = boot,
        .guest_id = id == HC_FAULTED ? -1 : id,
        .empty_bus = pick_empty_bus(boot->ram_end),
    };

    /* In order: the destructive RAM groups late, the new emulation forms last. */
    static const struct {
        const char *name;
        void (*run)(const struct suite_env *);
    } groups[] = {
        { "boot", suite_boot_state }, { "cpuid", suite_cpuid }, { "topology", suite_topology },
        { "cr", suite_control_regs }, { "msr", suite_msrs }, { "misc_enable", suite_misc_enable },
        { "rf", suite_fault_flags }, { "vmx", suite_vmx_insns }, { "uart", suite_uart }, { "ports", suite_ports },
        { "emptybus", suite_empty_bus }, { "debug", suite_debug_regs }, { "xsetbv", suite_xsetbv },
        { "hypercalls", suite_hypercalls }, { "disk", suite_disk }, { "caches", suite_caches }, { "ram", suite_ram },
        { "isolation", suite_isolation }, { "emptybus_alu", suite_empty_bus_alu },
        { "emptybus_simd", suite_empty_bus_simd },
    };
    /* only=GROUP runs one group (e.g. only=disk under plain QEMU, where other groups hang). */
    char only[24];
    cmdline_string(boot, "only", only, sizeof(only));
    for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (only[0] == '\0' || same_word(only, groups[i].name))
            groups[i].run(&env);
    }
    tap_finish();
}
