/* The UEFI loader's flow: refuse early and cleanly (VT-x, configuration, files, memory), then
 * take memory for Tessera, describe it all in struct bootinfo, leave the firmware and jump. Any
 * refusal returns to the firmware with everything it allocated freed and no MSR written. */
#include <efi.h>
#include <efilib.h>
#include "bootinfo.h"
#include "config.h"
#include "vmx/caps.h"
#include "lib/mem.h"
#include "cpu_checks.h"
#include "efi_acpi.h"
#include "efi_console.h"
#include "efi_diskloc.h"
#include "efi_file.h"
#include "efi_memory.h"
#include "vmm_image.h"

#define CONFIG_PATH      "/tessera/tessera.cfg"
#define VMM_PATH         "/tessera/tessera.elf"
#define CONFIG_MAX_BYTES (1ull << 20)
#define VMM_FILE_MAX     (256ull << 20)   /* the ELF with its debug sections */
#define MIB              (1ull << 20)
#define HEAP_BASE_BYTES  (16 * MIB)
#define HEAP_PER_GUEST   (1 * MIB)
#define VMM_STACK_BYTES  (64 * 1024)      /* the stack the hypervisor starts on */

/* Page bookkeeping is large (a few KiB): keep it out of the firmware's stack. */
static struct boot_allocs allocs;

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static void copy_str(char *dst, const char *src, size_t cap)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Step 1a-c: VT-x present, enabled (or enable-able) and capable. Reads only. */
static EFI_STATUS check_vtx(enum feature_control_state *fc)
{
    if (!cpu_has_vmx()) {
        boot_say("VT-x not available: this CPU does not report VMX (CPUID.1:ECX bit 5 is clear)");
        return EFI_UNSUPPORTED;
    }
    *fc = cpu_feature_control_state();
    if (*fc == FEATURE_CONTROL_DISABLED) {
        boot_say("VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked without VMX); "
                 "enable Intel Virtualization Technology in the firmware setup");
        return EFI_UNSUPPORTED;
    }
    struct vmx_caps caps;
    char why[192];
    vmx_caps_read(&caps, cpu_rdmsr);
    if (!vmx_caps_check(&caps, why, sizeof(why))) {
        boot_say("VT-x lacks a capability Tessera needs: %s", why);
        return EFI_UNSUPPORTED;
    }
    return EFI_SUCCESS;
}

static void print_config_diag(void *ctx, const char *message)
{
    (void)ctx;
    boot_say("%s", message);
}

/* Step 1d: the configuration, parsed into cfg (pool memory the caller frees). With quiet set,
 * diagnostics are not printed (used to learn the mode before the ordered checks). */
static EFI_STATUS read_config(EFI_FILE_HANDLE root, struct config **cfg, bool quiet)
{
    char status[64];
    void *text;
    UINT64 size;
    EFI_STATUS st = esp_read_small_file(root, CONFIG_PATH, CONFIG_MAX_BYTES, &text, &size);
    if (EFI_ERROR(st)) {
        if (!quiet)
            boot_say("cannot read %s: %s", CONFIG_PATH, boot_status_text(st, status, sizeof(status)));
        return st;
    }
    st = uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, sizeof(**cfg), (void **)cfg);
    if (EFI_ERROR(st)) {
        boot_say("cannot allocate memory for the configuration: %s",
                 boot_status_text(st, status, sizeof(status)));
    } else {
        memset(*cfg, 0, sizeof(**cfg));
        config_parse(text, size, "tessera.cfg", *cfg, quiet ? NULL : print_config_diag, NULL);
    }
    uefi_call_wrapper(BS->FreePool, 1, text);
    return st;
}

static EFI_STATUS read_blob(EFI_FILE_HANDLE root, const char *path, const char *args,
                            struct bootinfo_blob *blob)
{
    void *data;
    UINT64 size;
    EFI_STATUS st = esp_read_file(root, path, &allocs, &data, &size);
    if (EFI_ERROR(st))
        return st;
    blob->addr = (uint64_t)(UINTN)data;
    blob->size = size;
    copy_str(blob->path, path, sizeof(blob->path));
    copy_str(blob->args, args, sizeof(blob->args));
    return EFI_SUCCESS;
}

/* Step 1d, per guest: its kernel and modules into memory that survives boot services. A file
 * that cannot be read drops this guest only (its files already read are freed). */
static bool load_guest_files(EFI_FILE_HANDLE root, const struct config_guest *cg, struct bootinfo_guest *g)
{
    char status[64];
    const char *failed = cg->kernel;
    EFI_STATUS st = read_blob(root, cg->kernel, "", &g->kernel);
    unsigned loaded = 0;
    for (; !EFI_ERROR(st) && loaded < cg->module_count && loaded < BOOTINFO_MAX_MODULES; loaded++) {
        failed = cg->module_path[loaded];
        st = read_blob(root, cg->module_path[loaded], cg->module_args[loaded], &g->modules[loaded]);
        if (EFI_ERROR(st))
            break;
    }
    if (EFI_ERROR(st)) {
        for (unsigned i = 0; i < loaded; i++)
            boot_free_region(&allocs, g->modules[i].addr);
        if (failed != cg->kernel)
            boot_free_region(&allocs, g->kernel.addr);
        memset(g, 0, sizeof(*g));
        boot_say("guest %s skipped: cannot read %s: %s", cg->name, failed,
                 boot_status_text(st, status, sizeof(status)));
        return false;
    }
    copy_str(g->name, cg->name, sizeof(g->name));
    copy_str(g->cmdline, cg->cmdline, sizeof(g->cmdline));
    g->ram_size = cg->memory;
    g->timeout_ms = cg->timeout_ms;
    g->module_count = loaded;
    copy_str(g->disk_part, cg->disk, sizeof(g->disk_part));
    g->disk_readonly = cg->disk_readonly ? 1 : 0;
    return true;
}

/* Step 1e: everything still to be allocated must fit in free memory. */
static EFI_STATUS check_memory(const struct bootinfo *bi, uint64_t vmm_span, uint64_t heap_bytes)
{
    char status[64];
    uint64_t need = vmm_span + heap_bytes + VMM_STACK_BYTES, free_bytes;
    for (uint32_t i = 0; i < bi->guest_count; i++)
        need += round_up(bi->guests[i].ram_size, BOOT_ALIGN_2M);
    EFI_STATUS st = boot_free_conventional(&free_bytes);
    if (EFI_ERROR(st)) {
        boot_say("cannot read the memory map: %s", boot_status_text(st, status, sizeof(status)));
        return st;
    }
    if (need > free_bytes) {
        boot_say("not enough memory: need %llu MiB, %llu MiB free",
                 (unsigned long long)((need + MIB - 1) / MIB), (unsigned long long)(free_bytes / MIB));
        return EFI_OUT_OF_RESOURCES;
    }
    return EFI_SUCCESS;
}

static EFI_STATUS alloc_or_say(uint64_t bytes, uint64_t align, const char *what, const char *name,
                               EFI_PHYSICAL_ADDRESS *out)
{
    char status[64];
    EFI_STATUS st = boot_alloc_bytes(&allocs, bytes, align, out);
    if (EFI_ERROR(st))
        boot_say("cannot allocate %llu KiB for %s%s: %s", (unsigned long long)((bytes + 1023) / 1024),
                 what, name, boot_status_text(st, status, sizeof(status)));
    return st;
}

/* Calls void entry(struct bootinfo *) (System V) on a stack Tessera owns, interrupts off.
 * Firmware memory (its stack included) is fair game for the hypervisor after this point. */
static __attribute__((noreturn)) void enter_hypervisor(uint64_t entry, struct bootinfo *bi, uint64_t stack_top)
{
    __asm__ volatile("cli\n\t"
                     "mov %0, %%rsp\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "call *%1\n"
                     "1:\n\t"
                     "cli\n\t"
                     "hlt\n\t"
                     "jmp 1b"
                     : : "r"(stack_top), "r"(entry), "D"(bi) : "memory");
    __builtin_unreachable();
}

/* Everything between the checks and the jump. On failure all of allocs is freed by the caller. */
static EFI_STATUS prepare(EFI_HANDLE image, EFI_FILE_HANDLE root, const struct config *cfg,
                          struct bootinfo **out_bi, uint64_t *entry, uint64_t *stack_top)
{
    char status[64];
    EFI_PHYSICAL_ADDRESS addr;
    EFI_STATUS st = alloc_or_say(sizeof(struct bootinfo), BOOT_ALIGN_PAGE, "the boot information", "", &addr);
    if (EFI_ERROR(st))
        return st;
    struct bootinfo *bi = (struct bootinfo *)(UINTN)addr;
    memset(bi, 0, sizeof(*bi));
    bi->magic = BOOTINFO_MAGIC;
    bi->version = BOOTINFO_VERSION;
    bi->size = sizeof(*bi);
    bi->slice_ms = cfg->slice_ms;
    bi->flags = config_bootinfo_flags(cfg);

    /* The disk self-check runs no guests: their files are not even read. */
    for (unsigned i = 0; !cfg->diskcheck && i < cfg->guest_count && i < BOOTINFO_MAX_GUESTS; i++)
        if (load_guest_files(root, &cfg->guests[i], &bi->guests[bi->guest_count]))
            bi->guest_count++;
    if (bi->guest_count == 0 && !cfg->diskcheck) {
        boot_say("no guest to start: %s declares no usable guest", CONFIG_PATH);
        return EFI_NOT_FOUND;
    }

    void *vmm_file;
    UINT64 vmm_file_size;
    st = esp_read_small_file(root, VMM_PATH, VMM_FILE_MAX, &vmm_file, &vmm_file_size);
    if (EFI_ERROR(st)) {
        boot_say("cannot read %s: %s", VMM_PATH, boot_status_text(st, status, sizeof(status)));
        return st;
    }
    struct vmm_image_info info;
    const char *why = "";
    uint64_t heap_bytes = HEAP_BASE_BYTES + HEAP_PER_GUEST * bi->guest_count;
    if (vmm_image_inspect(vmm_file, vmm_file_size, &info, &why)) {
        boot_say("hypervisor image %s refused: %s", VMM_PATH, why);
        st = EFI_LOAD_ERROR;
    } else {
        st = check_memory(bi, info.span, heap_bytes);
    }
    if (!EFI_ERROR(st))
        st = alloc_or_say(info.span, VMM_IMAGE_ALIGN, "the hypervisor image", "", &addr);
    if (!EFI_ERROR(st)) {
        bi->vmm_base = addr;
        bi->vmm_size = info.span;
        if (vmm_image_load(vmm_file, vmm_file_size, (void *)(UINTN)addr, info.span, addr, &why)) {
            boot_say("hypervisor image %s refused: %s", VMM_PATH, why);
            st = EFI_LOAD_ERROR;
        }
    }
    uefi_call_wrapper(BS->FreePool, 1, vmm_file);
    if (EFI_ERROR(st))
        return st;
    *entry = bi->vmm_base + info.entry;

    st = alloc_or_say(heap_bytes, BOOT_ALIGN_PAGE, "the hypervisor heap", "", &addr);
    if (EFI_ERROR(st))
        return st;
    bi->heap_base = addr;
    bi->heap_size = heap_bytes;

    st = alloc_or_say(VMM_STACK_BYTES, BOOT_ALIGN_PAGE, "the hypervisor stack", "", &addr);
    if (EFI_ERROR(st))
        return st;
    *stack_top = addr + VMM_STACK_BYTES;

    for (uint32_t i = 0; i < bi->guest_count; i++) {
        struct bootinfo_guest *g = &bi->guests[i];
        uint64_t bytes = round_up(g->ram_size, BOOT_ALIGN_2M);
        st = alloc_or_say(bytes, BOOT_ALIGN_2M, "the RAM of guest ", g->name, &addr);
        if (EFI_ERROR(st))
            return st;
        boot_zero(addr, bytes);
        g->ram_base = addr;
        boot_say("guest %s: %llu MiB RAM at 0x%llx, kernel %s (%llu bytes), %u module(s)", g->name,
                 (unsigned long long)(g->ram_size / MIB), (unsigned long long)g->ram_base, g->kernel.path,
                 (unsigned long long)g->kernel.size, g->module_count);
    }

    bi->rsdp = boot_find_rsdp();
    boot_disk_locate(image, bi);
    *out_bi = bi;
    return EFI_SUCCESS;
}

/* Entered from gnu-efi's crt0 (System V ABI) after it has relocated this image. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);

    char status[64];
    EFI_FILE_HANDLE root;
    EFI_STATUS st = esp_open_root(image, &root);
    if (EFI_ERROR(st)) {
        boot_say("cannot open the boot volume: %s", boot_status_text(st, status, sizeof(status)));
        return st;
    }
    /* Only the disk self-check may run without VT-x; learn the mode first, quietly (the
     * configuration's diagnostics are printed at their place in the ordered checks). */
    struct config *cfg = NULL;
    bool diskcheck = !EFI_ERROR(read_config(root, &cfg, true)) && cfg->diskcheck;
    if (cfg)
        uefi_call_wrapper(BS->FreePool, 1, cfg);
    cfg = NULL;

    enum feature_control_state fc = FEATURE_CONTROL_READY; /* self-check: leave the MSR alone */
    if (diskcheck) {
        boot_say("disk self-check mode: VT-x is not needed and not touched");
    } else {
        st = check_vtx(&fc);
        if (EFI_ERROR(st)) {
            uefi_call_wrapper(root->Close, 1, root);
            return st;
        }
    }
    st = read_config(root, &cfg, false);
    struct bootinfo *bi = NULL;
    uint64_t entry = 0, stack_top = 0;
    if (!EFI_ERROR(st))
        st = prepare(image, root, cfg, &bi, &entry, &stack_top);
    if (cfg)
        uefi_call_wrapper(BS->FreePool, 1, cfg);
    uefi_call_wrapper(root->Close, 1, root);
    if (EFI_ERROR(st)) {
        boot_free_all(&allocs);
        return st;
    }

    boot_say("hypervisor at 0x%llx (%llu KiB), entry 0x%llx, heap %llu MiB at 0x%llx, RSDP 0x%llx",
             (unsigned long long)bi->vmm_base, (unsigned long long)(bi->vmm_size / 1024),
             (unsigned long long)entry, (unsigned long long)(bi->heap_size / MIB),
             (unsigned long long)bi->heap_base, (unsigned long long)bi->rsdp);
    boot_say("boot disk: PCI %04x:%02x:%02x.%x, kind %u, port %u", bi->boot_pci_segment, bi->boot_pci_bus,
             bi->boot_pci_dev, bi->boot_pci_fn, bi->boot_disk_kind, bi->boot_disk_port);

    /* Every check has passed: only now is the machine changed. */
    if (fc == FEATURE_CONTROL_NEEDS_ENABLE)
        cpu_feature_control_enable();
    boot_say("starting hypervisor (%u guests)", bi->guest_count);

    st = boot_exit_boot_services(image, &allocs, bi);
    if (EFI_ERROR(st)) {
        /* Boot services may be partly shut down: the console is the best we can still try. */
        boot_say("cannot exit boot services: %s", boot_status_text(st, status, sizeof(status)));
        return st;
    }
    enter_hypervisor(entry, bi, stack_top);
}
