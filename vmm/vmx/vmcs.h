/* The one way the hypervisor touches a VMCS: read/write a field of the current VMCS.
 * On the machine these are VMREAD/VMWRITE (vmcs_hw.c); in host tests a software VMCS
 * (tests/unit/soft_vmcs.c) stands behind the same functions, so exit handlers run unchanged. */
#ifndef TESSERA_VMCS_H
#define TESSERA_VMCS_H

#include <stdint.h>
#include "vmcs_fields.h"

uint64_t vmcs_read(uint32_t field);
void vmcs_write(uint32_t field, uint64_t value);

#endif
