/* Debug registers and debug exceptions as the SDM (Vol. 3B 17.2-17.3) specifies them, also
 * where Tessera exits or emulates: a data breakpoint survives VM exits and fires again once
 * the handler has cleared DR6; instruction breakpoints with RF; single-step over an emulated
 * CPUID; an I/O breakpoint on an emulated OUT; a data breakpoint on an emulated empty-bus
 * access; general detect (DR7.GD). Every check leaves DR7 = 0x400, DR0-DR3 = 0 and DR6 clean. */
#include "cpu.h"
#include "fault.h"
#include "hcall.h"
#include "suite.h"
#include "tap.h"

/* DR7 LEN encodings (SDM Vol. 3B 17.2.5). */
#define LEN_1 0ull
#define LEN_2 1ull
#define LEN_8 2ull
#define LEN_4 3ull
#define PORT_POST 0x80          /* POST-code port: nobody claims it, Tessera's port space drops it */

static volatile uint32_t watched __attribute__((aligned(8)));

static uint64_t breakpoint(unsigned n, uint64_t rw, uint64_t len)
{
    return DR7_L(n) | (rw | len << 2) << (16 + 4 * n);
}

static void disarm(void)
{
    write_dr7(DR7_INIT);
    write_dr0(0);
    write_dr1(0);
    write_dr2(0);
    write_dr3(0);
    write_dr6(DR6_INIT);
}

/* Exits of three kinds between arming and the access. */
static void cause_exits(void)
{
    cpuid(0, 0);
    hypercall(HC_YIELD, 0, 0, 0);
    cpuid(1, 0);
}

/* Stores v to `watched`; *after gets the address of the next instruction. Returns the vector. */
static int store_watched(uint32_t v, uint64_t *after)
{
    uint64_t at;
    fault_reset();
    asm volatile("leaq .Lfault_landing%=(%%rip), %[at]\n\t"
                 FAULT_ARM
                 "movl %[v], %[mem]"
                 FAULT_LANDING
                 : [at] "=&r"(at), [mem] "=m"(watched) : [v] "r"(v) : "r11", "memory");
    *after = at;
    return fault_end();
}

/* A data breakpoint is a trap: #DB after the write, which has happened, with DR6.Bn. */
static bool data_trap_ok(int vector, uint64_t after, uint64_t dr6, unsigned n)
{
    return vector == VEC_DB && fault_last.rip == after && (dr6 & DR6_B(n)) && !(dr6 & (DR6_BS | DR6_BD));
}

static void report_trap(int vector, uint64_t after, uint64_t dr6)
{
    tap_diag("got %s at rip 0x%lx (want #DB at 0x%lx), DR6 0x%lx", fault_name(vector),
             vector == FAULT_NONE ? 0 : fault_last.rip, after, dr6);
}

static void check_data_breakpoint(void)
{
    disarm();
    watched = 0;
    write_dr0((uint64_t)(uintptr_t)&watched);
    write_dr7(DR7_INIT | breakpoint(0, DR7_RW_WRITE, LEN_4));
    cause_exits();
    uint64_t after;
    int vector = store_watched(1, &after);
    uint64_t dr6 = read_dr6();
    if (!tap_check(data_trap_ok(vector, after, dr6, 0) && watched == 1,
                   "debug: a data breakpoint on RAM (DR0, R/W=01, LEN=4) still fires after CPUID, HC_YIELD, CPUID"))
        report_trap(vector, after, dr6);

    /* 17.2.3: DR6 bits stay set until software clears them; the handler does, and the
     * breakpoint, still armed, must fire again on the next write. */
    write_dr6(DR6_INIT);
    cpuid(0, 0);
    vector = store_watched(2, &after);
    dr6 = read_dr6();
    if (!tap_check(data_trap_ok(vector, after, dr6, 0) && watched == 2,
                   "debug: after the handler clears DR6 the next write fires again"))
        report_trap(vector, after, dr6);
    disarm();
}

/* DR0 on a CPUID (which exits), DR1 on the instruction after it. Each breakpoint is a fault
 * before its instruction; the handler sets RF so the instruction runs, and RF must be clear
 * again once it has completed (SDM 17.3.1.1), also when Tessera emulated it. */
static void check_instruction_breakpoints(void)
{
    disarm();
    uint64_t at_cpuid, at_next, ran = 0;
    uint64_t dr7 = DR7_INIT | breakpoint(0, DR7_RW_EXEC, LEN_1) | breakpoint(1, DR7_RW_EXEC, LEN_1);
    debug_resume_begin();
    asm volatile("leaq 1f(%%rip), %[c]\n\t"
                 "leaq 2f(%%rip), %[n]\n\t"
                 "movq %[c], %%dr0\n\t"
                 "movq %[n], %%dr1\n\t"
                 "movq %[dr7], %%dr7\n\t"
                 "xorl %%eax, %%eax\n\t"
                 "xorl %%ecx, %%ecx\n"
                 "1:\tcpuid\n"
                 "2:\tincq %[ran]\n\t"
                 "movq %[off], %%dr7"
                 : [c] "=&r"(at_cpuid), [n] "=&r"(at_next), [ran] "+m"(ran)
                 : [dr7] "r"(dr7), [off] "r"(DR7_INIT)
                 : "rax", "rbx", "rcx", "rdx", "memory");
    debug_resume_end();
    volatile struct debug_log *log = &debug_log;
    bool ok = log->count == 2 && ran == 1 && log->event[0].rip == at_cpuid && (log->event[0].dr6 & DR6_B(0)) &&
              log->event[1].rip == at_next && (log->event[1].dr6 & DR6_B(1));
    if (!tap_check(ok, "debug: instruction breakpoints on an exiting CPUID and the next instruction fire in turn "
                   "(handler sets RF)")) {
        tap_diag("%u #DB (want 2), the instruction after ran %lu times; CPUID at 0x%lx, next at 0x%lx", log->count,
                 ran, at_cpuid, at_next);
        for (unsigned i = 0; i < log->count && i < DEBUG_LOG_MAX; i++)
            tap_diag("#DB %u at 0x%lx, DR6 0x%lx, RFLAGS 0x%lx", i, log->event[i].rip, log->event[i].dr6,
                     log->event[i].rflags);
    }
    disarm();
}

/* POPF sets TF: the single-step trap comes after the instruction that follows (17.3.1.4), here
 * a CPUID that exits; the saved RIP is the one right after CPUID, DR6.BS set. */
static void check_single_step(void)
{
    disarm();
    uint64_t after;
    debug_resume_begin();
    asm volatile("leaq 1f(%%rip), %[after]\n\t"
                 "xorl %%eax, %%eax\n\t"
                 "xorl %%ecx, %%ecx\n\t"
                 "pushfq\n\t"
                 "orq %[tf], (%%rsp)\n\t"
                 "popfq\n\t"
                 "cpuid\n"
                 "1:\tnop\n\t"
                 "nop\n\t"
                 "pushfq\n\t"
                 "andq %[not_tf], (%%rsp)\n\t"
                 "popfq"
                 : [after] "=&r"(after)
                 : [tf] "i"(RFLAGS_TF), [not_tf] "i"(~RFLAGS_TF)
                 : "rax", "rbx", "rcx", "rdx", "cc", "memory");
    debug_resume_end();
    volatile struct debug_log *log = &debug_log;
    bool ok = log->count == 1 && log->event[0].rip == after && (log->event[0].dr6 & DR6_BS);
    if (!tap_check(ok, "debug: single-step (TF) over an emulated CPUID traps right after it with DR6.BS")) {
        tap_diag("%u #DB (want 1), want RIP 0x%lx", log->count, after);
        for (unsigned i = 0; i < log->count && i < DEBUG_LOG_MAX; i++)
            tap_diag("#DB %u at 0x%lx, DR6 0x%lx", i, log->event[i].rip, log->event[i].dr6);
    }
    disarm();
}

/* With CR4.DE, R/W=10 is an I/O breakpoint (17.2.4): a trap after the IN/OUT. */
static void check_io_breakpoint(void)
{
    uint64_t cr4 = read_cr4();
    int cr4_vector = write_cr4_checked(cr4 | CR4_DE);
    disarm();
    write_dr0(PORT_POST);
    write_dr7(DR7_INIT | breakpoint(0, DR7_RW_IO, LEN_1));
    uint64_t at;
    fault_reset();
    asm volatile("leaq .Lfault_landing%=(%%rip), %[at]\n\t"
                 FAULT_ARM
                 "outb %%al, %[port]"
                 FAULT_LANDING
                 : [at] "=&r"(at) : "a"(0x5A), [port] "i"(PORT_POST) : "r11", "memory");
    int vector = fault_end();
    uint64_t dr6 = read_dr6();
    disarm();
    write_cr4_checked(cr4);
    if (!tap_check(cr4_vector == FAULT_NONE && data_trap_ok(vector, at, dr6, 0),
                   "debug: an I/O breakpoint (CR4.DE, R/W=10) on OUT to port 0x%x traps after it with DR6.B0",
                   PORT_POST)) {
        tap_diag("setting CR4.DE: %s", fault_name(cr4_vector));
        report_trap(vector, at, dr6);
    }
}

/* The empty bus is emulated through EPT violations: the breakpoint must fire as on RAM. */
static void check_empty_bus_breakpoint(const struct suite_env *env)
{
    if (env->empty_bus == 0) {
        tap_skip("debug: data breakpoints on the empty bus", "RAM reaches the end of our page tables");
        return;
    }
    uint64_t addr = env->empty_bus + 0x40, at;
    disarm();
    write_dr0(addr);
    write_dr7(DR7_INIT | breakpoint(0, DR7_RW_WRITE, LEN_4));
    fault_reset();
    asm volatile("leaq .Lfault_landing%=(%%rip), %[at]\n\t"
                 FAULT_ARM
                 "movl %%eax, (%[p])"
                 FAULT_LANDING
                 : [at] "=&r"(at) : "a"(0), [p] "r"(addr) : "r11", "memory");
    int vector = fault_end();
    uint64_t dr6 = read_dr6();
    disarm();
    if (!tap_check(data_trap_ok(vector, at, dr6, 0),
                   "debug: a data breakpoint (R/W=01) on an empty-bus address fires on an emulated write"))
        report_trap(vector, at, dr6);

    uint32_t loaded = 0;
    write_dr0(addr);
    write_dr7(DR7_INIT | breakpoint(0, DR7_RW_READ_WRITE, LEN_4));
    fault_reset();
    asm volatile("leaq .Lfault_landing%=(%%rip), %[at]\n\t"
                 FAULT_ARM
                 "movl (%[p]), %[v]"
                 FAULT_LANDING
                 : [at] "=&r"(at), [v] "+r"(loaded) : [p] "r"(addr) : "r11", "memory");
    vector = fault_end();
    dr6 = read_dr6();
    disarm();
    if (!tap_check(data_trap_ok(vector, at, dr6, 0) && loaded == 0xFFFFFFFFu,
                   "debug: a data breakpoint (R/W=11) on an empty-bus address fires on an emulated read, "
                   "which completes")) {
        report_trap(vector, at, dr6);
        tap_diag("loaded 0x%x", loaded);
    }
}

/* MOV from DR6 that cannot take the guest down if DR7.GD were left set. */
static int read_dr6_checked(uint64_t *v)
{
    uint64_t value = 0;
    fault_reset();
    asm volatile(FAULT_ARM "movq %%dr6, %0" FAULT_LANDING : "+r"(value) :: "r11", "memory");
    *v = value;
    return fault_end();
}

static int read_dr7_checked(uint64_t *v)
{
    uint64_t value = 0;
    fault_reset();
    asm volatile(FAULT_ARM "movq %%dr7, %0" FAULT_LANDING : "+r"(value) :: "r11", "memory");
    *v = value;
    return fault_end();
}

/* 17.2.4: with DR7.GD the next MOV DR is a #DB fault (RIP at the MOV) with DR6.BD; the CPU
 * clears GD when it delivers it, so the handler can use the debug registers. */
static void check_general_detect(void)
{
    disarm();
    write_dr7(DR7_INIT | DR7_GD);
    cpuid(0, 0);
    uint64_t at, scratch = 0;
    fault_reset();
    asm volatile("leaq 1f(%%rip), %[at]\n\t"
                 FAULT_ARM
                 "1:\tmovq %%dr0, %[scratch]"
                 FAULT_LANDING
                 : [at] "=&r"(at), [scratch] "+r"(scratch) :: "r11", "memory");
    int vector = fault_end();
    uint64_t rip = fault_last.rip;
    uint64_t dr6 = 0, dr7 = 0;
    int dr6_vector = read_dr6_checked(&dr6);
    int dr7_vector = read_dr7_checked(&dr7);
    bool ok = vector == VEC_DB && rip == at && dr6_vector == FAULT_NONE && (dr6 & DR6_BD) &&
              dr7_vector == FAULT_NONE && !(dr7 & DR7_GD);
    if (!tap_check(ok, "debug: DR7.GD (kept across an exit) makes the next MOV DR a #DB fault with DR6.BD, GD cleared"))
        tap_diag("got %s at 0x%lx (want #DB at 0x%lx); reading DR6 %s: 0x%lx, DR7 %s: 0x%lx", fault_name(vector),
                 vector == FAULT_NONE ? 0 : rip, at, fault_name(dr6_vector), dr6, fault_name(dr7_vector), dr7);
    /* Whatever happened above, leave no GD behind (a MOV DR with GD set is caught). */
    fault_reset();
    asm volatile(FAULT_ARM "movq %0, %%dr7" FAULT_LANDING :: "r"(DR7_INIT) : "r11", "memory");
    if (fault_end() != FAULT_NONE) {
        fault_reset();
        asm volatile(FAULT_ARM "movq %0, %%dr7" FAULT_LANDING :: "r"(DR7_INIT) : "r11", "memory");
        fault_end();
    }
    disarm();
}

void suite_debug_regs(const struct suite_env *env)
{
    check_data_breakpoint();
    check_instruction_breakpoints();
    check_single_step();
    check_io_breakpoint();
    check_empty_bus_breakpoint(env);
    check_general_detect();
}
