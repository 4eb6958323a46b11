/* The guarded VMCALL of hcall.h. */
#include "cpu.h"
#include "fault.h"
#include "hcall.h"

int64_t hypercall(uint64_t number, uint64_t arg0, uint64_t arg1, uint64_t arg2)
{
    uint64_t result = number;
    fault_reset();
    asm volatile(FAULT_ARM "vmcall" FAULT_LANDING
                 : "+a"(result) : "D"(arg0), "S"(arg1), "d"(arg2) : "r11", "memory");
    if (fault_end() != FAULT_NONE)
        return HC_FAULTED;
    return (int64_t)result;
}

uint64_t hv_tsc_khz(void)
{
    if (!(cpuid(1, 0).ecx & (1u << 31)) || cpuid(CPUID_LEAF_HV_SIGNATURE, 0).eax < CPUID_LEAF_HV_TIMING)
        return 0;
    return cpuid(CPUID_LEAF_HV_TIMING, 0).eax;
}
