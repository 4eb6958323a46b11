/* Control-register read shadows (the guest reads back what it wrote even where VMX forces
 * other bits in hardware), CR4.VMXE refused, and the cache instructions that must just return. */
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

void suite_control_regs(const struct suite_env *env)
{
    (void)env;
    uint64_t cr4 = read_cr4();
    if (!tap_check(!(cr4 & CR4_VMXE), "cr4: VMXE reads 0"))
        tap_diag("CR4=0x%lx", cr4);

    int vector = write_cr4_checked(cr4 | CR4_VMXE);
    uint64_t after = read_cr4();
    if (vector == FAULT_NONE)
        write_cr4_checked(cr4);            /* do not stay with VMXE set */
    if (!tap_check(vector == VEC_GP && !(after & CR4_VMXE), "cr4: setting VMXE raises #GP and leaves it clear"))
        tap_diag("got %s (vector %d), CR4 after=0x%lx", fault_name(vector), vector, after);

    uint64_t cr0 = read_cr0();
    write_cr0(cr0 & ~CR0_NE);
    uint64_t ne_cleared = read_cr0();
    write_cr0(cr0 | CR0_NE);
    uint64_t ne_set = read_cr0();
    write_cr0(cr0);
    if (!tap_check(!(ne_cleared & CR0_NE), "cr0: NE cleared reads back cleared"))
        tap_diag("CR0 after clearing NE=0x%lx", ne_cleared);
    if (!tap_check(ne_set & CR0_NE, "cr0: NE set again reads back set"))
        tap_diag("CR0 after setting NE=0x%lx", ne_set);
    if (!tap_check((ne_cleared | CR0_NE) == (cr0 | CR0_NE), "cr0: clearing NE changed no other bit"))
        tap_diag("CR0 before=0x%lx after=0x%lx", cr0, ne_cleared);

    write_cr0(cr0 ^ CR0_WP);
    uint64_t wp_toggled = read_cr0();
    write_cr0(cr0);
    uint64_t wp_restored = read_cr0();
    if (!tap_check(wp_toggled == (cr0 ^ CR0_WP) && wp_restored == cr0, "cr0: WP toggle round-trips"))
        tap_diag("CR0 was 0x%lx, toggled 0x%lx, restored 0x%lx", cr0, wp_toggled, wp_restored);
}

void suite_caches(const struct suite_env *env)
{
    (void)env;
    fault_reset();
    asm volatile(FAULT_ARM "invd" FAULT_LANDING ::: "r11", "memory");
    int vector = fault_end();
    if (!tap_check(vector == FAULT_NONE, "cache: INVD returns"))
        tap_diag("raised %s", fault_name(vector));

    fault_reset();
    asm volatile(FAULT_ARM "wbinvd" FAULT_LANDING ::: "r11", "memory");
    vector = fault_end();
    if (!tap_check(vector == FAULT_NONE, "cache: WBINVD returns"))
        tap_diag("raised %s", fault_name(vector));
}
