/* Turns one configured guest into a runnable one: RAM and kernel from the boot information,
 * EPT, VMCS, initial register state. A guest that cannot be set up is stopped with the reason;
 * the others are unaffected. */
#include "arch/cpu.h"
#include "arch/cpu_setup.h"
#include "exit/handlers.h"
#include "guest/board.h"
#include "guest/guest_setup.h"
#include "guest/image.h"
#include "hw/portio.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"
#include "vmx/ept.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_init.h"
#include "vmx/vmx_hw.h"
#include "vmx/xstate.h"

static void *ept_alloc_page(void *ctx)
{
    (void)ctx;
    return page_alloc(1);
}
static uint64_t ept_virt_to_phys(void *ctx, void *p)
{
    (void)ctx;
    return (uint64_t)p;
}
static void *ept_phys_to_virt(void *ctx, uint64_t pa)
{
    (void)ctx;
    return (void *)pa;
}

bool guest_setup(struct vm *vm, unsigned id, const struct bootinfo_guest *cfg)
{
    memset(vm, 0, sizeof(*vm));
    /* One vCPU per VM for now: the boot processor, which the loaded image starts on. */
    vm_init_vcpus(vm, 1);
    struct vcpu *v = &vm->vcpus[0];
    vm->id = id;
    memcpy(vm->name, cfg->name, sizeof(vm->name));
    vm->name[sizeof(vm->name) - 1] = 0;
    vm->config = cfg;
    vm->state = VM_RUNNING;
    vm->ram = (uint8_t *)cfg->ram_base;
    vm->ram_hpa = cfg->ram_base;
    vm->ram_size = cfg->ram_size;
    vm->timeout_tsc = cfg->timeout_ms * vmx_host.tsc_khz;
    if (board_assemble(vm)) {
        vm_stop(vm, "cannot place its devices on its I/O bus");
        return false;
    }
    msr_vcpu_init(v);
    v->xcr0 = 1;

    uint64_t xsave_pages = (vmx_host.xsave_size + 4095) / 4096;
    v->xsave_area = page_alloc(xsave_pages ? xsave_pages : 1);
    if (!v->xsave_area) {
        vm_stop(vm, "out of hypervisor memory (extended-state area)");
        return false;
    }
    /* The architectural reset state, so that neither the firmware's values nor another guest's
     * reach this one; the run loop loads it before the first entry. */
    xstate_reset_image(v->xsave_area, vmx_host.xsave_size, vmx_host.has_xsave);
    v->dr6 = DR6_INIT;     /* DR0-DR3 0 (memset above); DR7 0x400 is in the VMCS */

    struct image_blob kernel = { (const uint8_t *)cfg->kernel.addr, cfg->kernel.size, "" };
    struct image_blob modules[BOOTINFO_MAX_MODULES];
    unsigned module_count = cfg->module_count < BOOTINFO_MAX_MODULES ? cfg->module_count : BOOTINFO_MAX_MODULES;
    for (unsigned i = 0; i < module_count; i++)
        modules[i] = (struct image_blob){ (const uint8_t *)cfg->modules[i].addr, cfg->modules[i].size, cfg->modules[i].args };
    struct guest_entry entry;
    char why[160];
    if (guest_image_load(vm->ram, vm->ram_size, &kernel, cfg->cmdline, modules, module_count, &entry, why, sizeof(why))) {
        vm_stop(vm, "cannot load kernel %s: %s", cfg->kernel.path, why);
        return false;
    }

    struct ept ept;
    struct ept_allocator alloc = { ept_alloc_page, ept_virt_to_phys, ept_phys_to_virt, NULL };
    if (ept_init(&ept, &alloc, vmx_host.controls.has_2mb_pages) ||
        ept_map_range(&ept, 0, vm->ram_hpa, vm->ram_size, EPT_RWX)) {
        vm_stop(vm, "cannot build its EPT (out of hypervisor memory or misaligned RAM)");
        return false;
    }
    vm->eptp = ept_pointer(&ept);

    if (!vmx_vmcs_create(v)) {
        vm_stop(vm, "cannot create its VMCS");
        return false;
    }
    struct desc_ptr gdtr, idtr;
    uint16_t tr;
    __asm__ volatile("sgdt %0; sidt %1; str %2" : "=m"(gdtr), "=m"(idtr), "=r"(tr));
    uint64_t tss_lo = ((uint64_t *)gdtr.base)[tr >> 3], tss_hi = ((uint64_t *)gdtr.base)[(tr >> 3) + 1];
    struct host_state host = {
        .cr0 = read_cr0(), .cr3 = read_cr3(), .cr4 = read_cr4(),
        .gdtr_base = gdtr.base, .idtr_base = idtr.base,
        .tr_base = ((tss_lo >> 16) & 0xFFFFFF) | (((tss_lo >> 56) & 0xFF) << 24) | (tss_hi << 32),
        .efer = rdmsr(0xC0000080), .pat = rdmsr(0x277), .rip = (uint64_t)vmx_exit,
        .cs_sel = HOST_CS_SEL, .ds_sel = HOST_DS_SEL, .tr_sel = tr,
    };
    vmcs_init_host(&host);
    struct guest_vmcs_params params = {
        .controls = &vmx_host.controls,
        .vpid = vmx_host.controls.has_vpid ? (uint16_t)(id + 1) : 0,
        .eptp = vm->eptp,
        .msr_bitmap_pa = vmx_host.msr_bitmap_pa,
        .eip = entry.eip, .eax = entry.eax, .ebx = entry.ebx,
    };
    vmcs_init_guest(&params);
    v->gpr[REG_RAX] = entry.eax;
    v->gpr[REG_RBX] = entry.ebx;
    if (vmx_host.caps.ept_vpid & EPT_CAP_INVEPT_SINGLE)
        invept(1, vm->eptp);
    log_printf("tessera: guest %s started: %s kernel %s, %llu MiB RAM, entry %#x, EPT %llu table pages\n", vm->name,
               entry.protocol == BOOT_PVH ? "PVH" : "Multiboot", cfg->kernel.path,
               (unsigned long long)(vm->ram_size >> 20), entry.eip, (unsigned long long)ept.pages_used);
    return true;
}
