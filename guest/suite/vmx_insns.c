/* VMX instructions in a guest: Tessera offers no nested VMX, so each must raise #UD. */
#include <stdint.h>
#include "fault.h"
#include "suite.h"
#include "tap.h"

/* Runs one asm template with its memory operand (if any) in %0 and returns the vector. */
#define PROBE(insn, ...)                                                              \
    ({                                                                                \
        fault_reset();                                                                \
        asm volatile(FAULT_ARM insn FAULT_LANDING :: __VA_ARGS__ : "r11", "memory");  \
        fault_end();                                                                  \
    })

static void expect_ud(int vector, const char *name)
{
    if (!tap_check(vector == VEC_UD, "vmx: %s raises #UD", name))
        tap_diag("got %s", fault_name(vector));
}

void suite_vmx_insns(const struct suite_env *env)
{
    (void)env;
    /* A page-aligned, zeroed region stands in for VMXON/VMCS memory and INVEPT descriptors. */
    static uint64_t region[512] __attribute__((aligned(4096)));
    uint64_t region_pa = (uint64_t)(uintptr_t)region;
    uint64_t scratch = 0;

    expect_ud(PROBE("vmxon %0", "m"(region_pa)), "VMXON");
    expect_ud(PROBE("vmxoff"), "VMXOFF");
    expect_ud(PROBE("vmread %0, %1", "r"((uint64_t)0x4400), "m"(scratch)), "VMREAD");
    expect_ud(PROBE("vmwrite %0, %1", "r"((uint64_t)0), "r"((uint64_t)0x681e)), "VMWRITE");
    expect_ud(PROBE("vmptrld %0", "m"(region_pa)), "VMPTRLD");
    expect_ud(PROBE("vmptrst %0", "m"(scratch)), "VMPTRST");
    expect_ud(PROBE("vmclear %0", "m"(region_pa)), "VMCLEAR");
    expect_ud(PROBE("vmlaunch"), "VMLAUNCH");
    expect_ud(PROBE("vmresume"), "VMRESUME");
    expect_ud(PROBE("invept %0, %1", "m"(region[0]), "r"((uint64_t)2)), "INVEPT");
    expect_ud(PROBE("invvpid %0, %1", "m"(region[0]), "r"((uint64_t)2)), "INVVPID");
}
