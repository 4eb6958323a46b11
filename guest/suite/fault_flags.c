/* The RFLAGS image a fault pushes: for every fault-class exception except an instruction-
 * breakpoint #DB the pushed RF is 1 (SDM Vol. 3B 17.3.1.1), whether the CPU delivers the
 * fault itself or Tessera injects it for an instruction it intercepted. */
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

#define MSR_NONEXISTENT 0xC0DE0001u          /* no CPU defines it */
#define NON_CANONICAL   0x8000000000000000ull
#define CR4_RESERVED_15 (1ull << 15)         /* reserved in every CR4 layout */

static void expect_gp_with_rf(const char *what, int vector)
{
    uint64_t rflags = fault_last.rflags;
    if (!tap_check(vector == VEC_GP && (rflags & RFLAGS_RF), "rf: the #GP from %s pushes RFLAGS with RF set", what))
        tap_diag("got %s, RFLAGS image 0x%lx", fault_name(vector), vector == FAULT_NONE ? 0 : rflags);
}

void suite_fault_flags(const struct suite_env *env)
{
    (void)env;
    /* The reference: a #GP the CPU raises and delivers without any exit. */
    uint64_t v = 0;
    fault_reset();
    asm volatile(FAULT_ARM "movq (%1), %0" FAULT_LANDING : "+r"(v) : "r"(NON_CANONICAL) : "r11", "memory");
    expect_gp_with_rf("a load through a non-canonical address (delivered by the CPU)", fault_end());

    expect_gp_with_rf("WRMSR to a nonexistent MSR", wrmsr_checked(MSR_NONEXISTENT, 1));
    uint64_t value;
    expect_gp_with_rf("RDMSR of a nonexistent MSR", rdmsr_checked(MSR_NONEXISTENT, &value));

    uint64_t cr4 = read_cr4();
    int vector = write_cr4_checked(cr4 | CR4_RESERVED_15);
    if (vector == FAULT_NONE)
        write_cr4(cr4);
    expect_gp_with_rf("MOV to CR4 setting reserved bit 15", vector);

    if (cpuid1_ecx(CPUID1_ECX_XSAVE)) {
        write_cr4(cr4 | CR4_OSXSAVE);
        uint64_t xcr0 = xgetbv(0);
        vector = xsetbv_checked(0, XCR0_SSE);          /* x87 cleared: #GP */
        if (vector == FAULT_NONE)
            xsetbv_checked(0, xcr0);
        write_cr4(cr4);
        expect_gp_with_rf("XSETBV clearing XCR0.x87", vector);
    } else {
        tap_skip("rf: the #GP from XSETBV clearing XCR0.x87 pushes RFLAGS with RF set", "no XSAVE");
    }
}
