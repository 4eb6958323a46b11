/* A software VMCS for host tests: the same vmcs_read/vmcs_write the hypervisor uses, backed by
 * a table, so exit handlers run unchanged on the host. */
#ifndef TESSERA_SOFT_VMCS_H
#define TESSERA_SOFT_VMCS_H

#include <stdint.h>

void soft_vmcs_reset(void);                 /* every field reads 0 */
/* Has the field been written since the last reset? */
int soft_vmcs_written(uint32_t field);

#endif
