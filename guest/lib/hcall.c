/* The guarded VMCALL of hcall.h. */
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
