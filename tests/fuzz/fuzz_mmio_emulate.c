/* Fuzzes MMIO emulation end to end: arbitrary paging state, segment bases, registers, RFLAGS,
 * XCR0, exit information, data breakpoints, vector registers and guest RAM contents (instruction
 * bytes and page tables) against a small guest with one device. Whatever the guest holds,
 * emulation must not crash, touch memory outside the guest, hand a device an access outside its
 * region, reach a vector register that does not exist, or change RFLAGS bits an instruction
 * does not own; a fault leaves RIP where it was. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "emu/mmio_emulate.h"
#include "fake_simd_regs.h"
#include "host_stubs.h"
#include "mem/gpa_bus.h"
#include "soft_vmcs.h"
#include "vmx/vmcs.h"
#include "x86.h"

#define FUZZ_RAM_SIZE 0x10000ull
#define FUZZ_DEV_BASE 0x20000ull
#define FUZZ_DEV_SIZE 0x100ull

static struct vm vm;
static uint8_t *ram;
static unsigned dev_accesses;

static void check_access(uint64_t offset, unsigned size)
{
    if (size == 0 || size > 8 || offset >= FUZZ_DEV_SIZE || size > FUZZ_DEV_SIZE - offset)
        abort();
    dev_accesses++;
}

static uint64_t dev_read(void *dev, uint64_t offset, unsigned size)
{
    (void)dev;
    check_access(offset, size);
    return 0x0123456789abcdefull + offset;
}

static void dev_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    (void)dev;
    (void)value;
    check_access(offset, size);
}

static const struct mmio_ops dev_ops = { dev_read, dev_write };

struct fuzz_header {
    uint64_t cr0, cr3, cr4, efer, rflags, rip, rsp, exit_gpa;
    uint64_t cs_base, ds_base, es_base, fs_base, gs_base, ss_base;
    uint32_t cs_ar, ss_ar;
    uint64_t gpr[16];
    uint64_t xcr0, qualification, exit_linear, dr7, dr0;
    uint8_t xmm[SIMD_REG_COUNT][SIMD_XMM_BYTES];
};

/* RFLAGS bits an emulated instruction may change: the arithmetic flags; RF (cleared when it
 * completes, set when it faults or a REP pauses). */
#define RFLAGS_EMULATION_OWNS (RFLAGS_ARITH | RFLAGS_RF)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_header h;
    if (size < sizeof(h))
        return 0;
    memcpy(&h, data, sizeof(h));
    data += sizeof(h);
    size -= sizeof(h);

    if (!ram)
        ram = malloc(FUZZ_RAM_SIZE);
    memset(&vm, 0, sizeof(vm));
    memset(ram, 0, FUZZ_RAM_SIZE);
    memcpy(ram, data, size < FUZZ_RAM_SIZE ? size : FUZZ_RAM_SIZE);
    vm.ram = ram;
    vm.ram_size = FUZZ_RAM_SIZE;
    strcpy(vm.name, "fuzz");
    vm_init_vcpus(&vm, 1);
    if (gpa_add_mmio(&vm, FUZZ_DEV_BASE, FUZZ_DEV_SIZE, &dev_ops, NULL) != 0)
        abort();
    memset(&fake_simd, 0, sizeof(fake_simd));
    memcpy(fake_simd.xmm, h.xmm, sizeof(h.xmm));
    memset(host_debug_regs, 0, sizeof(host_debug_regs));
    host_debug_regs[0] = h.dr0;
    dev_accesses = 0;

    soft_vmcs_reset();
    vmcs_write(VMCS_GUEST_CR0, h.cr0);
    vmcs_write(VMCS_GUEST_CR3, h.cr3);
    /* Keep the usual layouts likely: low CR3 values, mostly-sane control bits. */
    if (h.cr3 & 1)
        vmcs_write(VMCS_GUEST_CR3, h.cr3 % FUZZ_RAM_SIZE);
    vmcs_write(VMCS_GUEST_CR4, h.cr4);
    vmcs_write(VMCS_GUEST_EFER, h.efer);
    vmcs_write(VMCS_GUEST_RFLAGS, h.rflags);
    vmcs_write(VMCS_GUEST_RIP, (h.rip & 1) ? h.rip % FUZZ_RAM_SIZE : h.rip);
    vmcs_write(VMCS_GUEST_RSP, h.rsp);
    vmcs_write(VMCS_GUEST_CS_BASE, h.cs_base);
    vmcs_write(VMCS_GUEST_DS_BASE, h.ds_base);
    vmcs_write(VMCS_GUEST_ES_BASE, h.es_base);
    vmcs_write(VMCS_GUEST_FS_BASE, h.fs_base);
    vmcs_write(VMCS_GUEST_GS_BASE, h.gs_base);
    vmcs_write(VMCS_GUEST_SS_BASE, h.ss_base);
    vmcs_write(VMCS_GUEST_CS_AR, h.cs_ar);
    vmcs_write(VMCS_GUEST_SS_AR, h.ss_ar);
    vmcs_write(VMCS_EXIT_QUALIFICATION, h.qualification);
    vmcs_write(VMCS_GUEST_LINEAR_ADDR, h.exit_linear);
    vmcs_write(VMCS_GUEST_DR7, h.dr7);
    vm.vcpus[0].xcr0 = h.xcr0;
    for (unsigned r = 0; r < 16; r++)
        if (r != REG_RSP)
            vm.vcpus[0].gpr[r] = h.gpr[r];
    /* Device accesses an exit can cause: REP elements (two accesses each), or one vector. */
    const unsigned max_accesses = 2 * 4096;

    uint64_t rip_before = vmcs_read(VMCS_GUEST_RIP);
    uint64_t rflags_before = vmcs_read(VMCS_GUEST_RFLAGS);
    enum exit_result res = mmio_emulate(&vm.vcpus[0], h.exit_gpa);
    if (res != EXIT_CONTINUE && res != EXIT_STOP)
        abort();
    if ((res == EXIT_STOP) != (vm.state == VM_ENDED))
        abort();
    if (res == EXIT_STOP && vmcs_read(VMCS_GUEST_RIP) != rip_before)
        abort();
    vcpu_commit_events(&vm.vcpus[0]);
    if ((vmcs_read(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID) && vmcs_read(VMCS_GUEST_RIP) != rip_before)
        abort();
    if ((vmcs_read(VMCS_GUEST_RFLAGS) ^ rflags_before) & ~(uint64_t)RFLAGS_EMULATION_OWNS)
        abort();
    if (dev_accesses > max_accesses)
        abort();
    return 0;
}
