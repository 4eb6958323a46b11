/* VMCALL hypercalls (ABI in vmm/hypercall.h). The call is guarded: where VMCALL raises an
 * exception (no Tessera underneath) the result is HC_FAULTED instead of a crash. */
#ifndef GUEST_HCALL_H
#define GUEST_HCALL_H

#include <stdint.h>
#include "hypercall.h"

#define HC_FAULTED INT64_MIN

int64_t hypercall(uint64_t number, uint64_t arg0, uint64_t arg1, uint64_t arg2);

/* The TSC rate in kHz from Tessera's CPUID leaf 0x40000010, or 0 when there is no such leaf. */
uint64_t hv_tsc_khz(void);

#endif
