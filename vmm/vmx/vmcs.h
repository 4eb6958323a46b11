/* The one way the hypervisor touches a VMCS: read/write a field of the current VMCS.
 * In the hypervisor these are VMREAD/VMWRITE, inlined (they sit on every exit path); in host
 * tests a software VMCS (tests/unit/soft_vmcs.c) stands behind the same names, so exit
 * handlers run unchanged. A failing VMREAD/VMWRITE would mean a field this CPU lacks, which
 * vmx_caps_check rules out before any VMCS exists. */
#ifndef TESSERA_VMCS_H
#define TESSERA_VMCS_H

#include <stdint.h>
#include "vmcs_fields.h"

#ifdef TESSERA_HOST_TEST
uint64_t vmcs_read(uint32_t field);
void vmcs_write(uint32_t field, uint64_t value);
#else
static inline uint64_t vmcs_read(uint32_t field)
{
    uint64_t value;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"((uint64_t)field) : "cc");
    return value;
}

static inline void vmcs_write(uint32_t field, uint64_t value)
{
    __asm__ volatile("vmwrite %1, %0" ::"r"((uint64_t)field), "r"(value) : "cc");
}
#endif

#endif
