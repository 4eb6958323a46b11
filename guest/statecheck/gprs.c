/* The general-register round of gprs.h. The register blocks are globals the asm addresses
 * RIP-relative by name, since no register is free to point at them. */
#include "cpu.h"
#include "gprs.h"
#include "hypercall.h"
#include "pattern.h"

#define GPRS 15                        /* all but RSP */
#define GPR_PATTERN_BASE 0x200000u
#define CALIBRATION_RUNS 5
#define CALIBRATION_ITERATIONS 20000u

static const char *const gpr_names[GPRS] = {
    "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
};

uint64_t statecheck_gpr_in[GPRS], statecheck_gpr_yield[GPRS], statecheck_gpr_spin[GPRS];
volatile uint64_t statecheck_spin_left;

#define LOAD(reg, i) "movq statecheck_gpr_in+" #i "*8(%%rip), %%" #reg "\n\t"
#define LOAD_ALL_BUT_RAX                                                                     \
    LOAD(rbx, 1) LOAD(rcx, 2) LOAD(rdx, 3) LOAD(rsi, 4) LOAD(rdi, 5) LOAD(rbp, 6) LOAD(r8, 7) \
    LOAD(r9, 8) LOAD(r10, 9) LOAD(r11, 10) LOAD(r12, 11) LOAD(r13, 12) LOAD(r14, 13) LOAD(r15, 14)
#define STORE(block, reg, i) "movq %%" #reg ", " #block "+" #i "*8(%%rip)\n\t"
#define STORE_ALL(b)                                                                                   \
    STORE(b, rax, 0) STORE(b, rbx, 1) STORE(b, rcx, 2) STORE(b, rdx, 3) STORE(b, rsi, 4) STORE(b, rdi, 5) \
    STORE(b, rbp, 6) STORE(b, r8, 7) STORE(b, r9, 8) STORE(b, r10, 9) STORE(b, r11, 10) STORE(b, r12, 11) \
    STORE(b, r13, 12) STORE(b, r14, 13) STORE(b, r15, 14)
#define SPIN "1:\n\tdecq statecheck_spin_left(%%rip)\n\tjnz 1b\n\t"

uint64_t gprs_busy_iterations(uint64_t ticks)
{
    uint64_t fastest = UINT64_MAX;
    for (unsigned run = 0; run < CALIBRATION_RUNS; run++) {
        statecheck_spin_left = CALIBRATION_ITERATIONS;
        uint64_t start = rdtsc();
        asm volatile(SPIN ::: "cc", "memory");
        uint64_t took = rdtsc() - start;
        if (took < fastest)
            fastest = took;
    }
    if (fastest == 0)
        fastest = 1;
    uint64_t n = ticks / fastest * CALIBRATION_ITERATIONS + ticks % fastest * CALIBRATION_ITERATIONS / fastest;
    return n ? n : 1;
}

static int owner(uint64_t v, unsigned guest)
{
    int o = pattern_word_owner(v);
    return o == (int)guest ? -1 : o;
}

void gprs_round(unsigned guest, uint64_t iterations, struct diff *after_yield, struct diff *after_spin,
                int64_t *yield_result)
{
    for (unsigned i = 0; i < GPRS; i++) {
        statecheck_gpr_in[i] = pattern_word(guest, GPR_PATTERN_BASE + i);
        statecheck_gpr_yield[i] = statecheck_gpr_spin[i] = 0;
    }
    statecheck_spin_left = iterations ? iterations : 1;
    /* RBP is the compiler's to keep: saved on the stack around the block. */
    asm volatile("pushq %%rbp\n\t"
                 LOAD_ALL_BUT_RAX
                 "movl %[yield], %%eax\n\t"
                 "vmcall\n\t"
                 STORE_ALL(statecheck_gpr_yield)
                 LOAD(rax, 0) LOAD_ALL_BUT_RAX
                 SPIN
                 STORE_ALL(statecheck_gpr_spin)
                 "popq %%rbp"
                 :: [yield] "i"(HC_YIELD)
                 : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
                   "cc", "memory");
    *after_yield = (struct diff){ 0 };
    *after_spin = (struct diff){ 0 };
    *yield_result = (int64_t)statecheck_gpr_yield[0];
    for (unsigned i = 1; i < GPRS; i++)      /* RAX holds the VMCALL's result */
        diff_note(after_yield, gpr_names[i], 0, statecheck_gpr_yield[i], statecheck_gpr_in[i],
                  owner(statecheck_gpr_yield[i], guest));
    for (unsigned i = 0; i < GPRS; i++)
        diff_note(after_spin, gpr_names[i], 0, statecheck_gpr_spin[i], statecheck_gpr_in[i],
                  owner(statecheck_gpr_spin[i], guest));
}
