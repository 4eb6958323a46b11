/* The guest's IDT and the recovery mechanism of fault.h. */
#include "cpu.h"
#include "fault.h"
#include "tap.h"

#define IDT_VECTORS 32
#define SEL_CODE64 0x08
#define GATE_INTERRUPT_PRESENT 0x8E

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
};

struct idt_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern const uint64_t exception_stubs[IDT_VECTORS];   /* vectors.S */

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));
volatile uint64_t fault_recovery_rip;
volatile struct fault_info fault_last = { .vector = FAULT_NONE };
volatile struct debug_log debug_log;
static volatile bool debug_resuming;

void fault_init(void)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        uint64_t target = exception_stubs[v];
        idt[v] = (struct idt_gate){
            .offset_low = (uint16_t)target,
            .selector = SEL_CODE64,
            .type_attr = GATE_INTERRUPT_PRESENT,
            .offset_mid = (uint16_t)(target >> 16),
            .offset_high = (uint32_t)(target >> 32),
        };
    }
    struct idt_pointer ptr = { .limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt };
    asm volatile("lidt %0" :: "m"(ptr));
}

const char *fault_name(int vector)
{
    static const char *const names[IDT_VECTORS] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
        "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    };
    if (vector == FAULT_NONE)
        return "no fault";
    if (vector >= 0 && vector < IDT_VECTORS && names[vector])
        return names[vector];
    return "reserved vector";
}

void debug_resume_begin(void)
{
    debug_log.count = 0;
    write_dr6(DR6_INIT);
    debug_resuming = true;
}

void debug_resume_end(void)
{
    debug_resuming = false;
}

/* What a debugger's #DB handler does (see fault.h); DR6 must be cleared by software (SDM Vol. 3B
 * 17.2.3: the processor never clears its bits). */
static void resume_debug_event(struct fault_frame *frame)
{
    unsigned n = debug_log.count;
    if (n < DEBUG_LOG_MAX) {
        debug_log.event[n].rip = frame->rip;
        debug_log.event[n].dr6 = read_dr6();
        debug_log.event[n].rflags = frame->rflags;
    }
    debug_log.count = n + 1;
    write_dr6(DR6_INIT);
    frame->rflags = (frame->rflags | RFLAGS_RF) & ~RFLAGS_TF;
}

void fault_dispatch(struct fault_frame *frame)
{
    if (frame->vector == VEC_DB && debug_resuming) {
        resume_debug_event(frame);
        return;
    }
    uint64_t resume = fault_recovery_rip;
    if (resume != 0) {
        fault_recovery_rip = 0;
        fault_last.vector = (int)frame->vector;
        fault_last.error_code = frame->error_code;
        fault_last.rip = frame->rip;
        fault_last.rflags = frame->rflags;
        frame->rip = resume;
        return;
    }
    fault_recovery_rip = 0;
    tap_bail_out("unexpected exception",
                 "vector %lu (%s) at rip=0x%lx error_code=0x%lx cr2=0x%lx rsp=0x%lx rflags=0x%lx",
                 frame->vector, fault_name((int)frame->vector), frame->rip, frame->error_code,
                 read_cr2(), frame->rsp, frame->rflags);
}

int rdmsr_checked(uint32_t msr, uint64_t *value)
{
    uint32_t lo = 0, hi = 0;
    fault_reset();
    asm volatile(FAULT_ARM "rdmsr" FAULT_LANDING : "+a"(lo), "+d"(hi) : "c"(msr) : "r11", "memory");
    *value = (uint64_t)hi << 32 | lo;
    return fault_end();
}

int wrmsr_checked(uint32_t msr, uint64_t value)
{
    fault_reset();
    asm volatile(FAULT_ARM "wrmsr" FAULT_LANDING
                 :: "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "r11", "memory");
    return fault_end();
}

int write_cr4_checked(uint64_t value)
{
    fault_reset();
    asm volatile(FAULT_ARM "mov %0, %%cr4" FAULT_LANDING :: "r"(value) : "r11", "memory");
    return fault_end();
}

int xsetbv_checked(uint32_t xcr, uint64_t value)
{
    fault_reset();
    asm volatile(FAULT_ARM "xsetbv" FAULT_LANDING
                 :: "c"(xcr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "r11", "memory");
    return fault_end();
}
