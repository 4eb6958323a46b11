/* The host CPU as Tessera needs it: its own GDT/TSS/IDT (the firmware's are gone with boot
 * services), an identity map of physical memory, and CR4 bits for XSAVE. Also the root-mode
 * exception dump: an exception in the hypervisor prints the registers and halts. */
#include <stdbool.h>
#include <stdint.h>
#include "arch/cpu.h"
#include "arch/cpu_setup.h"
#include "hw/portio.h"
#include "hw/platform.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/page_alloc.h"

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

struct __attribute__((packed)) idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
};

static uint64_t gdt[5] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static uint8_t fault_stack[16384] __attribute__((aligned(16)));

extern char exc_stub_0[], exc_stub_1[], exc_stub_3[], exc_stub_4[], exc_stub_5[], exc_stub_6[],
    exc_stub_7[], exc_stub_8[], exc_stub_9[], exc_stub_10[], exc_stub_11[], exc_stub_12[],
    exc_stub_13[], exc_stub_14[], exc_stub_15[], exc_stub_16[], exc_stub_17[], exc_stub_18[],
    exc_stub_19[], exc_stub_20[], exc_stub_21[], exc_stub_22[], exc_stub_23[], exc_stub_24[],
    exc_stub_25[], exc_stub_26[], exc_stub_27[], exc_stub_28[], exc_stub_29[], exc_stub_30[],
    exc_stub_31[], nmi_stub[];

static void *const exception_stubs[32] = {
    exc_stub_0, exc_stub_1, nmi_stub, exc_stub_3, exc_stub_4, exc_stub_5, exc_stub_6, exc_stub_7,
    exc_stub_8, exc_stub_9, exc_stub_10, exc_stub_11, exc_stub_12, exc_stub_13, exc_stub_14,
    exc_stub_15, exc_stub_16, exc_stub_17, exc_stub_18, exc_stub_19, exc_stub_20, exc_stub_21,
    exc_stub_22, exc_stub_23, exc_stub_24, exc_stub_25, exc_stub_26, exc_stub_27, exc_stub_28,
    exc_stub_29, exc_stub_30, exc_stub_31,
};

static void load_descriptor_tables(void)
{
    gdt[0] = 0;
    gdt[HOST_CS_SEL >> 3] = 0x00AF9A000000FFFFull; /* 64-bit code, DPL 0 */
    gdt[HOST_DS_SEL >> 3] = 0x00CF92000000FFFFull; /* data, DPL 0 */
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    gdt[HOST_TR_SEL >> 3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                            (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt[(HOST_TR_SEL >> 3) + 1] = base >> 32;
    /* Double fault, NMI and machine check run on their own stack: the faulting stack may be bad. */
    tss.ist[0] = (uint64_t)(fault_stack + sizeof(fault_stack));
    tss.iomap_base = sizeof(tss);

    struct desc_ptr gp = { sizeof(gdt) - 1, (uint64_t)gdt };
    lgdt(&gp);
    __asm__ volatile("pushq %0\n\t"
                     "lea 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %1, %%ds\n\t mov %1, %%es\n\t mov %1, %%ss\n\t"
                     "mov %1, %%fs\n\t mov %1, %%gs"
                     :
                     : "i"((uint64_t)HOST_CS_SEL), "r"((uint32_t)HOST_DS_SEL)
                     : "rax", "memory");
    ltr(HOST_TR_SEL);

    for (unsigned v = 0; v < 32; v++) {
        uint64_t off = (uint64_t)exception_stubs[v];
        idt[v] = (struct idt_gate){
            .offset_low = off & 0xFFFF, .selector = HOST_CS_SEL,
            .ist = (v == 2 || v == 8 || v == 18) ? 1 : 0, .type_attr = 0x8E,
            .offset_mid = (off >> 16) & 0xFFFF, .offset_high = off >> 32,
        };
    }
    struct desc_ptr ip = { sizeof(idt) - 1, (uint64_t)idt };
    lidt(&ip);
}

uint64_t identity_map_end;

/* Identity map physical memory: 2 MiB pages below 4 GiB (where RAM and MMIO with different MTRR
 * types sit close together); above, 1 GiB pages up to the CPU's physical address width, because
 * firmware puts 64-bit BARs (NVMe, GPUs) high above RAM. Without 1 GiB pages, 2 MiB pages up to
 * the highest memory-map address (at least 4 GiB, at most 512 GiB). */
static bool build_identity_map(uint64_t phys_limit)
{
    uint32_t r[4];
    cpuid(0x80000001, 0, r);
    bool gb_pages = r[3] & (1u << 26);
    cpuid(0x80000000, 0, r);
    unsigned phys_bits = 36;
    if (r[0] >= 0x80000008) {
        cpuid(0x80000008, 0, r);
        phys_bits = r[0] & 0xFF;
    }
    if (phys_bits > 46)
        phys_bits = 46; /* 64 TiB: 128 page-directory-pointer tables, 512 KiB */
    uint64_t limit = gb_pages ? 1ull << phys_bits : phys_limit;
    if (limit < (4ull << 30))
        limit = 4ull << 30;
    if (!gb_pages && limit > (512ull << 30))
        limit = 512ull << 30;
    uint64_t gigabytes = (limit + (1ull << 30) - 1) >> 30;

    uint64_t *pml4 = page_alloc(1), *pdpt = NULL;
    if (!pml4)
        return false;
    for (uint64_t gb = 0; gb < gigabytes; gb++) {
        if (gb % 512 == 0) {
            if (!(pdpt = page_alloc(1)))
                return false;
            pml4[gb / 512] = (uint64_t)pdpt | 3;
        }
        if (gb >= 4 && gb_pages) {
            pdpt[gb % 512] = (gb << 30) | 0x83;
            continue;
        }
        uint64_t *pd = page_alloc(1);
        if (!pd)
            return false;
        for (uint64_t i = 0; i < 512; i++)
            pd[i] = (gb << 30) | (i << 21) | 0x83;
        pdpt[gb % 512] = (uint64_t)pd | 3;
    }
    write_cr3((uint64_t)pml4);
    identity_map_end = gigabytes << 30;
    return true;
}

bool cpu_setup(uint64_t phys_limit)
{
    load_descriptor_tables();
    if (!build_identity_map(phys_limit))
        return false;
    uint32_t r[4];
    cpuid(1, 0, r);
    uint64_t cr4 = read_cr4() | (1u << 9) | (1u << 10); /* OSFXSR, OSXMMEXCPT: guests use SSE */
    if (r[2] & (1u << 26))
        cr4 |= 1u << 18; /* OSXSAVE: needed to switch guests' XCR0 and extended state */
    write_cr4(cr4);
    return true;
}

struct exception_frame {
    uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

__attribute__((noreturn)) void exception_report(const struct exception_frame *f);
void exception_report(const struct exception_frame *f)
{
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    log_printf("\ntessera: PANIC: exception %llu (error code %#llx) in the hypervisor at RIP %016llx\n",
               (unsigned long long)f->vector, (unsigned long long)f->error, (unsigned long long)f->rip);
    log_printf("tessera:   RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", (unsigned long long)f->rax,
               (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
    log_printf("tessera:   RSI %016llx RDI %016llx RBP %016llx RSP %016llx\n", (unsigned long long)f->rsi,
               (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->rsp);
    log_printf("tessera:   R8  %016llx R9  %016llx R10 %016llx R11 %016llx\n", (unsigned long long)f->r8,
               (unsigned long long)f->r9, (unsigned long long)f->r10, (unsigned long long)f->r11);
    log_printf("tessera:   R12 %016llx R13 %016llx R14 %016llx R15 %016llx\n", (unsigned long long)f->r12,
               (unsigned long long)f->r13, (unsigned long long)f->r14, (unsigned long long)f->r15);
    log_printf("tessera:   CS %04llx SS %04llx RFLAGS %016llx CR2 %016llx CR3 %016llx\n",
               (unsigned long long)f->cs, (unsigned long long)f->ss, (unsigned long long)f->rflags,
               (unsigned long long)cr2, (unsigned long long)read_cr3());
    log_printf("tessera: halted\n");
    serial_flush();
    halt_forever();
    __builtin_unreachable();
}
