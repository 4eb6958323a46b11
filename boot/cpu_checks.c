/* CPUID and MSR access for the loader's VT-x checks (with the final jump in efi_main.c, the loader's only
 * inline assembly). */
#include "cpu_checks.h"

#define CPUID1_ECX_VMX (1u << 5)

bool cpu_has_vmx(void)
{
    uint32_t eax = 1, ebx, ecx = 0, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    return (ecx & CPUID1_ECX_VMX) != 0;
}

uint64_t cpu_rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static void cpu_wrmsr(uint32_t msr, uint64_t value)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "memory");
}

/* Only meaningful once cpu_has_vmx() is true: the MSR exists on every CPU that reports VMX. */
enum feature_control_state cpu_feature_control_state(void)
{
    uint64_t fc = cpu_rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK))
        return FEATURE_CONTROL_NEEDS_ENABLE;
    return (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX) ? FEATURE_CONTROL_READY : FEATURE_CONTROL_DISABLED;
}

void cpu_feature_control_enable(void)
{
    uint64_t fc = cpu_rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (fc & FEATURE_CONTROL_LOCK)
        return; /* writing a locked MSR faults */
    cpu_wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK);
}
