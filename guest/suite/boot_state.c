/* Checks on the state the boot left: the boot information parsed, and long mode entered the
 * architectural way (CR4.PAE, EFER.LME, CR0.PG) with the registers reading that back. */
#include "console.h"
#include "cpu.h"
#include "suite.h"
#include "tap.h"

void suite_boot_state(const struct suite_env *env)
{
    const struct boot_info *b = env->boot;
    if (!tap_check(b->problem == 0, "boot: entry protocol recognised and memory map read"))
        tap_diag("%s", b->problem);
    for (unsigned i = 0; i < b->ram_count; i++)
        console_printf("# ram: [0x%lx, 0x%lx)\n", b->ram[i].start, b->ram[i].end);

    uint64_t efer = rdmsr(MSR_IA32_EFER);
    if (!tap_check((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "long mode: EFER.LME and EFER.LMA read 1"))
        tap_diag("EFER=0x%lx", efer);
    uint64_t cr4 = read_cr4();
    if (!tap_check(cr4 & CR4_PAE, "long mode: CR4.PAE reads 1"))
        tap_diag("CR4=0x%lx", cr4);
    uint64_t cr0 = read_cr0();
    if (!tap_check((cr0 & (CR0_PG | CR0_PE)) == (CR0_PG | CR0_PE), "long mode: CR0.PG and CR0.PE read 1"))
        tap_diag("CR0=0x%lx", cr0);
    extern char page_tables_root[];
    uint64_t cr3 = read_cr3();
    if (!tap_check((cr3 & ~0xfffull) == (uint64_t)(uintptr_t)page_tables_root, "long mode: CR3 reads back our page tables"))
        tap_diag("CR3=0x%lx expected 0x%lx", cr3, (uint64_t)(uintptr_t)page_tables_root);
}
