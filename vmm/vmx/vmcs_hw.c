/* VMREAD/VMWRITE on the current VMCS: the machine side of vmx/vmcs.h. A failure here means a
 * field Tessera uses does not exist on this CPU, which vmx_caps_check rules out beforehand. */
#include "vmx/vmcs.h"

uint64_t vmcs_read(uint32_t field)
{
    uint64_t value;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"((uint64_t)field) : "cc");
    return value;
}

void vmcs_write(uint32_t field, uint64_t value)
{
    __asm__ volatile("vmwrite %1, %0" ::"r"((uint64_t)field), "r"(value) : "cc");
}
