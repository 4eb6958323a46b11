/* Catching the exceptions a test provokes. The guest's IDT sends vectors 0-31 to
 * fault_dispatch(); when a recovery address is armed it records the fault and resumes there,
 * otherwise the fault is unexpected: it is reported as a failed check and the guest exits with
 * a failing status.
 *
 * Use: fault_reset(); asm volatile(FAULT_ARM "the instruction" FAULT_LANDING : ... : "r11",
 * "memory"); then fault_end() gives the vector raised, or FAULT_NONE.
 *
 * Debug exceptions can instead be resumed where they happened, as a debugger's #DB handler
 * does: between debug_resume_begin() and debug_resume_end() every #DB is logged (RIP, DR6,
 * RFLAGS as pushed), DR6 is cleared, and the handler returns to the interrupted RIP with RF set
 * (so an instruction breakpoint lets its instruction run) and TF clear (one step at a time). */
#ifndef GUEST_FAULT_H
#define GUEST_FAULT_H

#include <stdint.h>
#include "x86.h"

#define FAULT_NONE (-1)

/* Arms recovery at the landing label that ends the same asm statement (clobbers R11). */
#define FAULT_ARM "leaq .Lfault_landing%=(%%rip), %%r11\n\tmovq %%r11, fault_recovery_rip(%%rip)\n\t"
#define FAULT_LANDING "\n.Lfault_landing%=:\n\t"

struct fault_info {
    int vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t rflags;             /* the RFLAGS image the event pushed */
};

extern volatile uint64_t fault_recovery_rip;
extern volatile struct fault_info fault_last;

/* The registers exception_common (vectors.S) saves, lowest address first. */
struct fault_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;       /* pushed by the CPU */
};

void fault_init(void);
void fault_dispatch(struct fault_frame *frame);
const char *fault_name(int vector);

static inline void fault_reset(void)
{
    fault_last.vector = FAULT_NONE;
}

/* Disarms recovery and returns the vector caught since fault_reset(), or FAULT_NONE. */
static inline int fault_end(void)
{
    fault_recovery_rip = 0;
    return fault_last.vector;
}

/* Faulting variants of the cpu.h accessors: return the vector raised, or FAULT_NONE. */
int rdmsr_checked(uint32_t msr, uint64_t *value);
int wrmsr_checked(uint32_t msr, uint64_t value);
int write_cr4_checked(uint64_t value);
int xsetbv_checked(uint32_t xcr, uint64_t value);

#define DEBUG_LOG_MAX 8

struct debug_event {
    uint64_t rip, dr6, rflags;
};

struct debug_log {
    unsigned count;              /* every #DB since debug_resume_begin(), even past DEBUG_LOG_MAX */
    struct debug_event event[DEBUG_LOG_MAX];
};

extern volatile struct debug_log debug_log;

void debug_resume_begin(void);
void debug_resume_end(void);

#endif
